#!/usr/bin/env bash
# Pre-roll ([capture] preroll_seconds): a take started by hand begins that
# much before its start command.  The source stamps every sample with the
# JACK frame it was played for (stemcap-testsrc -m stamp), so stampcheck
# proves that every sample of every file, pre-roll included, sits at
# manifest jack_start_frame + its position: nothing lost or doubled at the
# seam between the pre-roll and the take.  ffprobe reads the bext
# TimeReference back; jack_transport rolls JACK's transport.
. "$(dirname "$0")/lib.sh"
t_init preroll
t_jackd
t_src -m stamp
EXTRA_CAPTURE="preroll_seconds = 2
follow_transport = false" t_conf "$T/p.ini" <<CONF
[song]
title = Preroll
$(t_stems_conf A B C D E F G H)
CONF
echo play | $JACKRUN jack_transport >/dev/null 2>&1
t_daemon "$T/p.ini"
check 'grep -Eq "pre-roll: the last 2 s \(96000 frames\) of 18 channels kept in memory: 10.5 MiB" "$T/stemcapd.log"' \
    "the pre-roll's memory is stated: $(grep -o 'pre-roll: the last.*' "$T/stemcapd.log")"

mf() { t_json "$1/manifest.json" "$2"; }
# take NAME DELAY SECONDS: waits DELAY s, records SECONDS s; sets DIR.
take() {
    sleep "$2"
    # liblo's oscsend: a client nobody here wrote (replies go to its closed port)
    oscsend 127.0.0.1 "$PORT" /stemcap/start || fail "$1: oscsend /stemcap/start"
    sleep "$3"
    oscsend 127.0.0.1 "$PORT" /stemcap/stop || fail "$1: oscsend /stemcap/stop"
    t_wait 100 sh -c "\"$B/tests/oscraw\" -p $PORT -m /stemcap/status | grep -q '^/stemcap/status s:idle'"
    DIR=$(t_take_dir)
    t_wait 50 grep -q '"state": "complete"' "$DIR/manifest.json"
}
# verify NAME WANT: the pre-roll is WANT frames ("<N" for fewer than N, but some).
verify() {
    local name=$1 want=$2 pre start tframe logt lens frames out rc
    pre=$(mf "$DIR" 'm["preroll_frames"]')
    case $want in
    \<*) check '[ "$pre" -gt 0 ] && [ "$pre" -lt "${want#<}" ]' "$name: the take has the pre-roll the history held, $pre frames (fewer than ${want#<})" ;;
    *) check_rt '[ "$pre" = "$want" ]' "$name: manifest preroll_frames $pre (want $want), preroll_seconds $(mf "$DIR" 'm["preroll_seconds"]')" ;;
    esac
    out=$("$B/tests/stampcheck" "$DIR" 2>&1)
    rc=$?
    if [ -n "${CONNECTING:-}" ]; then
        # The pre-roll reaches back to before stemcapd had connected its
        # ports one by one: there the files hold what the ports held,
        # silence (and half a stamp where one side was connected).  After
        # that every sample must be in place.
        local other end
        other=$(printf '%s\n' "$out" | grep ': frames [0-9]*\.\.[0-9]*: ' | grep -v ': \(silence outside any drop\|not a stamp\)$')
        end=$(printf '%s\n' "$out" | sed -n 's/.*: frames [0-9]*\.\.\([0-9]*\): .*/\1/p' | sort -n | tail -1)
        check_rt '[ -z "$other" ] && [ "${end:-0}" -lt "$pre" ]' "$name: every sample in place from frame ${end:-0} on, where the last port was connected (before it only silence and half stamps, as the ports held them)"
        return
    fi
    check_rt '[ $rc = 0 ]' "$name: every sample of the 9 files where its stamp says, from jack_start_frame $(mf "$DIR" 'm["jack_start_frame"]') on, pre-roll included ($(printf '%s\n' "$out" | grep -o '[0-9]* samples checked.*misplaced'))"
    frames=$(mf "$DIR" 'm["length_frames"]')
    lens=$(for f in "$DIR"/*.wav; do soxi -s "$f"; done | sort -u | tr '\n' ' ')
    check '[ "$lens" = "$frames " ] && [ "$(t_status_field 3)" = "$frames" ]' "$name: sox reads $lens frames in every file, as the manifest and the status say"
    # The transport rolled all along: the files start pre-roll frames
    # before the transport frame of the start command.
    start=$(mf "$DIR" 'm["start_frame"]')
    logt=$(sed -n "s/.*take $(mf "$DIR" 'm["take"]') of 'Preroll' recording: .*, transport frame \([0-9]*\)$/\1/p" "$T/stemcapd.log" | tail -1)
    check '[ -n "$logt" ] && [ "$start" = $((logt - pre)) ]' "$name: manifest start_frame $start = the start command's transport frame $logt - $pre"
    tframe=$(ffprobe -v error -show_entries format_tags=time_reference -of default=nw=1:nk=1 "$DIR/Preroll - A.wav")
    check '[ "$tframe" = "$start" ]' "$name: ffprobe reads bext TimeReference $tframe"
}

# An xrun (a jump of JACK's clock) starts the history again: the exact
# pre-roll lengths below are inconclusive after one (check_rt).
t_mark
take first 3 1.5
verify first 96000
check 'grep -q "take 1: its files start with 2.000 s (96000 frames) of pre-roll" "$T/stemcapd.log"' "the log says where the take really starts"
# Straight after a take: the history went on during it.
take back-to-back 0.3 1
verify back-to-back 96000

# A take started before the history holds the whole pre-roll: what it has.
t_daemon_stop || fail "stemcapd exit status"
t_daemon "$T/p.ini"
t_mark
take early 0.2 1
CONNECTING=1 verify early "<96000"

# Off (the default): no pre-roll, nothing kept.
t_daemon_stop || fail "stemcapd exit status"
sed -i '/^preroll_seconds/d' "$T/p.ini"
t_daemon "$T/p.ini"
check '! grep -q "pre-roll: the last" <(tail -30 "$T/stemcapd.log")' "preroll_seconds = 0: no history kept"
take off 1 1
check '[ "$(mf "$DIR" "m[\"preroll_frames\"]")" = 0 ]' "off: manifest preroll_frames 0"
t_daemon_stop || fail "stemcapd exit status"

# Bad values are refused with the key named.
printf '[capture]\npreroll_seconds = 61\n' >"$T/bad.ini"
out=$($JACKRUN "$B/stemcapd" -c "$T/bad.ini" 2>&1)
rc=$?
check '[ $rc != 0 ] && echo "$out" | grep -q "preroll_seconds"' "preroll_seconds = 61 refused: $(echo "$out" | grep preroll_seconds | head -1)"
t_done
