#!/usr/bin/env bash
# What PipeWire's JACK does that jackd does not (PipeWire only; under jackd
# it prints a skip line): ports that appear after stemcapd started, the
# quantum (period) changing under a take, and the graph's sample rate
# changing under a take.  Every take is read back and compared sample by
# sample with the source (tests/checktake; noise mode, which does not depend
# on the rate, and follows the source's JACK frame clock).
#
#   take-01  stemcapd started first, the source after it: its configured
#            connections are made when the ports appear, the take matches
#   take-02  clock.force-quantum 512 -> 256 mid-take: the files stay in step
#            and match the source; silence only where stemcapd reports
#            dropped frames (PipeWire skips one cycle per quantum change)
#   take-03  clock.force-rate 48000 -> 44100 mid-take: the take ends by
#            itself, "ended_by": "sample rate changed", 48000 Hz headers,
#            matches the source up to its end
#   take-04  the next take: 44100 Hz headers, matches the source
. "$(dirname "$0")/lib.sh"
pw_only pwrate
t_init pwrate
t_jackd

STEMS="Drums Bass Keys Vox BVs Guitars Synths FX"
EXTRA_CAPTURE="sample_format = float" t_conf "$T/r.ini" <<CONF
[song]
title = Rate
$(t_stems_conf $STEMS)
CONF

# files DIR: checktake arguments for every file of a take in DIR.
files() {
    local i=0 s
    for s in $STEMS; do
        printf '%s\n' "$1/Rate - $s.wav:$((2 * i)),$((2 * i + 1))"
        i=$((i + 1))
    done
    printf '%s\n' "$1/Rate - Mix.wav:16,17"
}
# check_take DESC DIR [CHECKTAKE-ARGS]: every file of the take matches the
# source; with dropped frames (status field 5), exactly that much silence
# in each file and nothing else differs.
check_take() {
    local desc=$1 dir=$2 dropped args=()
    shift 2
    mapfile -t args < <(files "$dir")
    dropped=$(t_status_field 5)
    if "$B/tests/checktake" -m noise -l 0 --allow-silence "$@" "${args[@]}" >"$T/check.out" 2>&1 &&
        ! grep "silent frames" "$T/check.out" | grep -vq " ${dropped} silent frames$"; then
        check_rt 'grep -q "\"flagged\": false" "$dir/manifest.json"' "$(basename "$dir"): the stems null against the mix"
        ok "$desc ($(tail -1 "$T/check.out"); $dropped dropped, $(sed -n 's/.*, \([0-9]*\) silent frames$/\1/p' "$T/check.out" | head -1) silent frames in each file)"
    else
        head -5 "$T/check.out"
        check_rt false "$desc ($dropped dropped)"
    fi
}
status() { R -m /stemcap/status; }
state_is() { [ "$(status | arg 1)" = "$1" ]; }

# (c) Ports that appear late: stemcapd first, the source afterwards.
t_daemon "$T/r.ini"
check '! $JACKRUN jack_lsp 2>/dev/null | grep -q "^stemcap-src:"' "stemcapd runs before the source exists"
t_src -m noise
nconn() { $JACKRUN jack_lsp -c 2>/dev/null | awk '/^stemcap:/ { p = 1; next } /^[^ ]/ { p = 0 } /^   stemcap-src:/ && p { n++ } END { print n + 0 }'; }
conn_ok() { [ "$(nconn)" = 18 ]; }
t_wait 50 conn_ok
check '[ "$(nconn)" = 18 ]' "the source's ports, appearing after stemcapd, are connected as configured ($(nconn) of 18)"
check 'grep -q "connected stemcap-src:mix_R -> stemcap:mix_R" "$T/stemcapd.log"' "stemcapd logs the connections it made"
t_mark
t_cli start >/dev/null || fail "take-01: start"
sleep 1
t_cli stop >/dev/null || fail "take-01: stop"
d1=$T/takes/Rate/take-01
check_take "take-01: every file matches the source" "$d1" --min-frames 40000

# (b) The quantum changes mid-take.
check '[ "$(pw_quantum)" = 512 ]' "the graph runs at the quantum the clients ask for, 512 ($(pw_quantum))"
t_mark
t_cli start >/dev/null || fail "take-02: start"
sleep 1
pw_settings clock.force-quantum 256
q_is() { [ "$(pw_quantum)" = "$1" ]; }
t_wait 30 q_is 256
q=$(pw_quantum)
sleep 1
t_cli stop >/dev/null || fail "take-02: stop"
d2=$T/takes/Rate/take-02
check '[ "$q" = 256 ]' "clock.force-quantum 256 mid-take: the graph runs at $q"
check 'grep -q "\"ended_by\": \"stop\"" "$d2/manifest.json"' "take-02 went on across the quantum change (ended_by 'stop')"
check_take "take-02: every file matches the source across the quantum change" "$d2" --min-frames 80000
t_log "take-02: $(t_status_field 3) frames, $(t_status_field 5) dropped; stemcapd: $(grep -c 'frames dropped' "$T/stemcapd.log") drop warnings"
pw_settings clock.force-quantum 0

# (a) The sample rate changes mid-take.
check '[ "$(t_status_field 8)" = 48000 ]' "status reports 48000 Hz"
t_mark
t_cli start >/dev/null || fail "take-03: start"
sleep 1
pw_settings clock.force-rate 44100
t_wait 50 state_is idle
check '[ "$(status | arg 1)" = idle ]' "clock.force-rate 44100 mid-take: the take ends by itself ($(status | arg 1))"
d3=$T/takes/Rate/take-03
t_wait 30 test -f "$d3/manifest.json"
check 'grep -q "\"ended_by\": \"sample rate changed\"" "$d3/manifest.json"' "take-03: manifest ended_by 'sample rate changed'"
check 'grep -q "sample rate changed from 48000 to 44100 Hz during the take" "$d3/manifest.json"' "take-03: the manifest says 48000 -> 44100"
check '[ "$(soxi -r "$d3/Rate - Drums.wav" 2>/dev/null)" = 48000 ] && [ "$(soxi -r "$d3/Rate - Mix.wav" 2>/dev/null)" = 48000 ]' "take-03: headers at the old rate ($(soxi -r "$d3/Rate - Drums.wav" 2>/dev/null) Hz)"
check_take "take-03: every file matches the source up to its end" "$d3" --min-frames 40000
rate_is() { [ "$(t_status_field 8)" = "$1" ]; }
t_wait 30 rate_is 44100
check '[ "$(t_status_field 8)" = 44100 ] && [ "$(pw_rate)" = 44100 ]' "status reports the new rate $(t_status_field 8) Hz (a JACK client sees $(pw_rate))"
t_mark
t_cli start >/dev/null || fail "take-04: start"
sleep 1
t_cli stop >/dev/null || fail "take-04: stop"
d4=$T/takes/Rate/take-04
check '[ "$(soxi -r "$d4/Rate - Drums.wav" 2>/dev/null)" = 44100 ] && [ "$(soxi -r "$d4/Rate - Mix.wav" 2>/dev/null)" = 44100 ]' "take-04: headers at the new rate ($(soxi -r "$d4/Rate - Drums.wav" 2>/dev/null) Hz)"
check 'grep -q "\"ended_by\": \"stop\"" "$d4/manifest.json"' "take-04: manifest ended_by 'stop'"
check_take "take-04: every file matches the source at the new rate" "$d4" --min-frames 35000
t_done
