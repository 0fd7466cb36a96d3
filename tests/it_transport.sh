#!/usr/bin/env bash
# Following the JACK transport: a test DAW drives the transport (locate,
# play, stop) and plays known signals locked to the transport frame.  Two
# rolls give take-01 and take-02, each matching the source from its start
# frame sample-exactly, with the bext TimeReference equal to that frame in
# every file; a stem behind a latent path (64 frames) is aligned; a relocate
# while rolling starts the next take; a freewheel bounce loses nothing.
. "$(dirname "$0")/lib.sh"
t_init transport
t_jackd

coproc DAW { $JACKRUN "$B/tests/stemcap-testdaw" -m noise -L 3:64 -B 120 2>"$T/daw.log"; }
T_PIDS+=("$DAW_PID")
daw() { daw_cmd "${DAW[1]}" "${DAW[0]}" 20 "$@"; } # one command, acknowledged
read -r -t 20 line <&"${DAW[0]}"
check '[ "$line" = ready ]' "test DAW ready"
[ "$line" = ready ] || t_log "test DAW not ready after 20 s; its threads wait in: $(cat /proc/"$DAW_PID"/task/*/wchan 2>/dev/null | tr '\n' ' ')"

STEMS="Drums Bass Keys Vox BVs Guitars Synths FX"
SRC=stemcap-daw EXTRA_CAPTURE="sample_format = float
follow_transport = true" t_conf "$T/t.ini" <<CONF
[song]
title = Roll
artist = The Testers
isrc = US-S1Z-26-00042
$(SRC=stemcap-daw t_stems_conf $STEMS)
CONF
t_daemon "$T/t.ini"
check '[ "$(R -m /stemcap/status | arg 1)" = waiting ]' "following the transport and armed: state 'waiting'"
check '[ "$(R -m /stemcap/transport/follow)" = "/stemcap/transport/follow i:1" ]' "/stemcap/transport/follow reports 1"
check 'R -m /stemcap/start | grep -q "^/stemcap/error .*following"' "manual start refused while following"

# take DIR START: verify every file of a take against the source.
take_ok() {
    local dir=$1 start=$2 args=() i=0 s
    for s in $STEMS; do args+=("$dir/Roll - $s.wav:$((2 * i)),$((2 * i + 1))"); i=$((i + 1)); done
    args+=("$dir/Roll - Mix.wav:16,17")
    "$B/tests/checktake" -m noise -l 0 --offset "$start" --time-ref "$start" "${args[@]}" >"$T/check.out" 2>&1
    T_RC=$?
    check_rt '[ $T_RC = 0 ]' "$(basename "$dir"): every file matches the source from transport frame $start, bext TimeReference $start ($(tail -1 "$T/check.out"))"
}
roll() { # FRAME MS: locate, play for MS, stop; waits until the daemon is waiting again
    daw locate "$1" && daw play && daw wait-rolling && daw sleep "$2" && daw stop && daw wait-stopped
    t_wait 50 sh -c "\"$B/tests/oscraw\" -p $PORT -m /stemcap/status | grep -q 's:waiting'"
}

t_mark
roll 48000 1000
roll 480000 700
d1="$T/takes/Roll/take-01" d2="$T/takes/Roll/take-02"
check '[ -f "$d1/manifest.json" ] && [ -f "$d2/manifest.json" ] && [ ! -f "$T/takes/Roll/take-03/manifest.json" ]' "two rolls gave take-01 and take-02 (take-03 is prepared, not recorded)"
take_ok "$d1" 48000
take_ok "$d2" 480000
check 'grep -q "\"start_frame\": 48000" "$d1/manifest.json" && grep -q "\"state\": \"complete\"" "$d1/manifest.json"' "manifest.json of take-01: start frame 48000, complete"
check 'grep -A3 "\"file\": \"Roll - Keys.wav\"" "$d1/manifest.json" | grep -A1 latency_frames | grep -q 64' "manifest records stem 3's 64-frame latency"
check 'grep -q "\"bar_from\": \"transport BBT\"" "$d1/manifest.json" && grep -q "\"bar_frames\": 96000" "$d1/manifest.json"' "lead-in bar from the transport's BBT (120 BPM 4/4: 96000 frames)"
check 'grep -q "\"isrc\": \"US-S1Z-26-00042\"" "$d1/manifest.json"' "song metadata in the manifest"
"$B/stemcap-check" "$d1" >"$T/sc.out" 2>&1
rc=$?
check_rt '[ $rc = 0 ] && grep -q "^PASS null" "$T/sc.out" && grep -q "^PASS time-reference" "$T/sc.out"' "stemcap-check passes take-01 (exit $rc: $(grep -c ^PASS "$T/sc.out") PASS, $(grep -c ^WARN "$T/sc.out") WARN)"
check_rt 'grep -q "\"flagged\": false" "$d1/manifest.json" && grep -q "\"flagged\": false" "$d2/manifest.json"' "the latency-compensated stems null against the mix"

# A relocate while rolling ends the take and starts the next one there.
t_mark
daw locate 96000 && daw play && daw wait-rolling && daw sleep 600 && daw locate 960000 && daw sleep 600 && daw stop && daw wait-stopped
t_wait 50 sh -c "\"$B/tests/oscraw\" -p $PORT -m /stemcap/status | grep -q 's:waiting'"
check '[ -d "$T/takes/Roll/take-03" ] && [ -d "$T/takes/Roll/take-04" ]' "relocating while rolling: take-03 and take-04"
check 'grep -q "\"ended_by\": \"transport relocated\"" "$T/takes/Roll/take-03/manifest.json" && grep -q "\"ended_by\": \"transport stopped\"" "$T/takes/Roll/take-04/manifest.json"' "manifest ended_by: take-03 'transport relocated', take-04 'transport stopped'"
take_ok "$T/takes/Roll/take-03" 96000
take_ok "$T/takes/Roll/take-04" 960000

# Freewheel: the DAW bounces faster than real time; nothing is dropped.
if [ "$STEMCAP_JACK" = pipewire ]; then
    # PipeWire 0.3's freewheel driver does not wait for a client that is
    # still in its process callback (stemcapd waiting for ring space): its
    # clock moves on and those cycles never run for stemcapd ("client too
    # slow!" in pipewire.log), so a bounce loses frames whenever the disk is
    # slower than the bounce; the take may not start at the located frame
    # (TimeReference 1536 or 99840 instead of 0 in some runs), and in some
    # runs the graph stayed stopped (448 frames).  Not run: nothing here
    # could be asserted that PipeWire keeps.
    t_skip "freewheel bounce" "PipeWire 0.3.65: its freewheel driver does not wait for a client that blocks (see README)"
else
    t_mark
    daw locate 0 && daw freewheel on && daw play && daw wait-rolling && daw sleep 1000 && daw stop && daw wait-stopped && daw freewheel off
    t_wait 50 sh -c "\"$B/tests/oscraw\" -p $PORT -m /stemcap/status | grep -q 's:waiting'"
    d5="$T/takes/Roll/take-05"
    frames=$(R -m /stemcap/status | arg 3)
    dropped=$(R -m /stemcap/status | arg 5)
    check '[ "$dropped" = 0 ] && [ "$frames" -gt 96000 ]' "freewheel bounce: $frames frames in ~1 s of wall time (faster than real time), $dropped dropped"
    take_ok "$d5" 0
fi

# Turning follow off gives up the prepared take (its empty folder goes).
check '[ "$(R -m /stemcap/transport/follow i 0)" = "/stemcap/transport/follow i:0" ]' "follow off"
next=$(ls -d "$T"/takes/Roll/take-* | sort | tail -1)
check '[ -f "$next/manifest.json" ] && [ "$(R -m /stemcap/status | arg 1)" = idle ]' "the prepared take is removed (last folder $(basename "$next") holds a take), state idle"
t_done
