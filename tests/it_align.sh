#!/usr/bin/env bash
# The mix's automatic alignment ([mix] auto_offset, on by default): a test
# DAW whose master bus lags its track outputs by 528 samples (as Ardour's
# does at 512 frames per period) while declaring no latency for it, so that
# nothing JACK reports can tell.  With stemcapd's default settings:
#  - measured while idle, the lag is applied at take start ("measured before
#    the take"): the live null passes and the mix FILE is shifted, so every
#    file matches the source on one timeline and stemcap-check passes;
#  - following the transport from silence, the first take waits for the
#    measurement ("measured in the take"), with the same result;
#  - a lag that changes during a take is a reported failure, not re-aligned;
#  - with auto_offset = false the old behaviour stands: the null fails with
#    "mix lags stems by 528", the files are not shifted.
. "$(dirname "$0")/lib.sh"
t_init align
t_jackd
LAG=528

coproc DAW { "$B/tests/stemcap-testdaw" -m noise -M $LAG -B 120 2>"$T/daw.log"; }
T_PIDS+=("$DAW_PID")
daw() { daw_cmd "${DAW[1]}" "${DAW[0]}" 20 "$@"; }
read -r -t 20 line <&"${DAW[0]}"
check '[ "$line" = ready ]' "test DAW ready (mix $LAG samples late, no latency declared)"

STEMS="Drums Bass Keys Vox BVs Guitars Synths FX"
mkconf() { # FILE FOLLOW [EXTRA [mix] LINES]
    local f=$1 follow=$2 extra=${3:-}
    # No loudness measurement (it_loudness has it): under the sanitizer its
    # disk-thread load kept the mid-take lag change from being measured in time.
    SRC=stemcap-daw EXTRA_CAPTURE="sample_format = float
follow_transport = $follow
loudness = false" t_conf "$f" <<CONF
[song]
title = Late
$(SRC=stemcap-daw t_stems_conf $STEMS | sed "s/^\[mix\]\$/[mix]\n$extra/")
CONF
}
# files_ok DIR START: every file, the mix included, matches the source from
# START (the mix file is the shifted one), bext TimeReference = START.
files_ok() {
    local dir=$1 start=$2 args=() i=0 s
    for s in $STEMS; do args+=("$dir/Late - $s.wav:$((2 * i)),$((2 * i + 1))"); i=$((i + 1)); done
    args+=("$dir/Late - Mix.wav:16,17")
    "$B/tests/checktake" -m noise -l 0 --offset "$start" --time-ref "$start" "${args[@]}" >"$T/check.out" 2>&1
    T_RC=$?
    check_rt '[ $T_RC = 0 ]' "$(basename "$dir"): every file, the mix too, matches the source from frame $start ($(tail -1 "$T/check.out"))"
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }
mf() { python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1/manifest.json" "$2"; }
sc_ok() {
    "$B/stemcap-check" "$1" >"$T/sc.out" 2>&1
    local rc=$?
    check_rt '[ $rc = 0 ] && grep -q "^PASS null" "$T/sc.out"' "stemcap-check passes $(basename "$1") (exit $rc; $(grep "null" "$T/sc.out" | head -1))"
}
last_take() { dirname "$(ls -d "$T"/takes/Late/take-*/manifest.json | sort | tail -1)"; }
wait_state() { t_wait 100 sh -c "\"$B/tests/oscraw\" -p $PORT -m /stemcap/status | grep -q 's:$1'"; }

# 1. Manual takes, the lag measured while idle.
mkconf "$T/m.ini" false
t_daemon "$T/m.ini"
daw locate 48000 && daw play && daw wait-rolling
t_wait 100 sh -c "\"$B/tests/oscraw\" -p $PORT -m /stemcap/status | grep -q 'i:$LAG s:measured'"
sleep 1.2 # the null's 1 s window, all of it at the new offset
st=$(R -m /stemcap/status)
check '[ "$(echo "$st" | arg 9)" = $LAG ] && echo "$st" | grep -q " s:measured s:$"' "idle: the lag is measured and applied to the null test: status '... $(echo "$st" | cut -d' ' -f10-)'"
n=$(R -m /stemcap/null)
check_rt '[ "$(echo "$n" | arg 6)" = $LAG ] && [ "$(echo "$n" | arg 10)" = $LAG ] && lt "$(echo "$n" | arg 1)" -120' "idle null at offset $LAG: residual $(echo "$n" | arg 1) dBFS ($n)"
t_mark
t_cli start >/dev/null
sleep 1.5
t_cli stop >"$T/stop.out"
d1="$T/takes/Late/take-01"
start=$(mf "$d1" 'm["start_frame"]')
check '[ "$(mf "$d1" "m[\"mix_alignment\"][\"source\"]")" = "measured before the take" ] && [ "$(mf "$d1" "m[\"mix_alignment\"][\"offset_frames\"]")" = $LAG ] && [ "$(mf "$d1" "m[\"mix_alignment\"][\"files_shift_frames\"]")" = $LAG ]' "manifest: mix_alignment $(mf "$d1" 'json.dumps(m["mix_alignment"])')"
check 'grep -q "the mix lags the stems by $LAG samples, aligned (measured before the take)" "$T/stop.out"' "stemcap stop names the alignment:$(grep -m1 'aligned (' "$T/stop.out")"
check_rt '[ "$(mf "$d1" "m[\"null\"][\"flagged\"]")" = False ]' "take-01 nulls live (worst $(mf "$d1" 'm["null"]["worst_residual_db"]') dBFS)"
files_ok "$d1" "$start"
sc_ok "$d1"
daw stop && daw wait-stopped
t_daemon_stop

# 2. Following the transport from silence: the first take waits for the
# measurement inside the take.
mkconf "$T/f.ini" true
t_daemon "$T/f.ini"
sleep 1
check '[ "$(R -m /stemcap/status | cut -d" " -f11-)" = "s:not measured s:" ]' "following, transport stopped: the lag is not known yet ($(R -m /stemcap/status | cut -d' ' -f10-))"
t_mark
daw locate 96000 && daw play && daw wait-rolling && daw sleep 2500 && daw stop && daw wait-stopped
wait_state waiting
d2=$(last_take)
check '[ "$(mf "$d2" "m[\"mix_alignment\"][\"source\"]")" = "measured in the take" ] && [ "$(mf "$d2" "m[\"mix_alignment\"][\"files_shift_frames\"]")" = $LAG ]' "$(basename "$d2"), first roll: $(mf "$d2" 'json.dumps(m["mix_alignment"])')"
check_rt '[ "$(mf "$d2" "m[\"null\"][\"flagged\"]")" = False ] && [ "$(mf "$d2" "m[\"dropped_frames\"]")" = 0 ]' "$(basename "$d2") nulls (worst $(mf "$d2" 'm["null"]["worst_residual_db"]') dBFS), 0 dropped"
files_ok "$d2" 96000
sc_ok "$d2"

# A second roll: the lag is known now (measured in take-02).
daw locate 192000 && daw play && daw wait-rolling && daw sleep 1000 && daw stop && daw wait-stopped
wait_state waiting
d3=$(last_take)
check '[ "$(mf "$d3" "m[\"mix_alignment\"][\"source\"]")" = "measured before the take" ]' "$(basename "$d3"), second roll: the lag is known now: $(mf "$d3" 'm["mix_alignment"]["source"]')"
files_ok "$d3" 192000

# 3. The lag changes in the middle of a take: reported, never re-aligned.
daw locate 288000 && daw play && daw wait-rolling && daw sleep 1500
"$B/tests/oscraw" -p "$PORT" -t 2500 -k 10000 -m /stemcap/subscribe f 2 >"$T/sub.out" 2>/dev/null &
sub=$!
daw mixdelay 600 && daw sleep 1800 && daw stop && daw wait-stopped
wait $sub
wait_state waiting
d4=$(last_take)
check '[ "$(mf "$d4" "m[\"mix_alignment\"][\"offset_frames\"]")" = $LAG ] && [ "$(mf "$d4" "m[\"mix_alignment\"][\"changed_to\"]")" = 600 ]' "$(basename "$d4"): the lag changed to 600 mid-take: $(mf "$d4" 'json.dumps(m["mix_alignment"])')"
check '[ "$(mf "$d4" "m[\"null\"][\"flagged\"]")" = True ]' "$(basename "$d4") is flagged: null worst $(mf "$d4" 'm["null"]["worst_residual_db"]') dBFS"
check 'grep -q "lag changed during the take, from $LAG to 600" "$T/stemcapd.log"' "the change is logged: $(grep -m1 'lag changed' "$T/stemcapd.log" | cut -d' ' -f3-)"
check 'grep -q "^/stemcap/error s: s:take 4: the mix.s lag changed during the take, from $LAG to 600" "$T/sub.out"' "pushed to a subscriber: $(grep -m1 '^/stemcap/error' "$T/sub.out")"
daw mixdelay $LAG
t_daemon_stop

# 4. auto_offset = false: as before, the null names the lag, nothing is shifted.
mkconf "$T/o.ini" false "auto_offset = false"
t_daemon "$T/o.ini"
daw locate 48000 && daw play && daw wait-rolling
sleep 2
n=$(R -m /stemcap/null)
check_rt '[ "$(echo "$n" | arg 6)" = $LAG ] && [ "$(echo "$n" | arg 10)" = 0 ] && lt -20 "$(echo "$n" | arg 1)"' "auto_offset = false: the lag is only reported, the null fails ($n)"
t_cli null >"$T/null.out"
check 'grep -q "mix lags stems by $LAG samples" "$T/null.out"' "stemcap null: $(grep -m1 lags "$T/null.out")"
t_cli start >/dev/null
sleep 1
t_cli stop >/dev/null
d5=$(last_take)
check '[ "$(mf "$d5" "m[\"mix_alignment\"][\"source\"]")" = off ] && [ "$(mf "$d5" "m[\"mix_alignment\"][\"files_shift_frames\"]")" = 0 ] && [ "$(mf "$d5" "m[\"null\"][\"flagged\"]")" = True ]' "$(basename "$d5"): alignment off, files not shifted, flagged"
daw stop && daw wait-stopped
t_done
