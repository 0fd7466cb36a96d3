#!/usr/bin/env bash
# The timeline under xruns.  A source stamps into every sample the JACK frame
# it was played for (stemcap-testsrc -m stamp: jack_last_frame_time(), as a
# DAW indexes its timeline); xrunhog forces xruns the way a loaded machine
# does (every CPU busy at SCHED_FIFO 95, above a real-time jackd -R, for a
# few ms at random, seeded intervals).  Every sample of every file must be at
# the position its stamp says (jack_start_frame + position) or silence in a
# drop the manifest reports (tests/stampcheck.c); a period JACK may have
# torn must be reported as torn, and the null test must not be fooled.  The
# figures are printed, and summed on the last line.  64 frames a period by
# default (T_PERIOD): the most cycles, so the most xruns, late reads and torn
# cycles.  Without SCHED_FIFO (not root) the test is skipped.
. "$(dirname "$0")/lib.sh"
t_init timeline
# PipeWire (make test-pipewire): at 1024 frames, as its own graph xruns on a
# 2-core machine at small quanta even without the hog; a source's missed
# cycle reaches the recorder as silence there (stampcheck -s counts it apart).
SC_OPTS=()
if [ "$STEMCAP_JACK" = pipewire ]; then
    T_PERIOD=${T_PERIOD:-1024}
    SC_OPTS=(-s)
fi
T_PERIOD=${T_PERIOD:-64}
SUM_X=0 SUM_SAMPLES=0 SUM_MIS=0 SUM_BESIDE=0 SUM_LATE=0 SUM_TORN=0 SUM_COPIES=0 SUM_DROPS=0
HOG_SECONDS=${HOG_SECONDS:-6}

if ! "$B/tests/xrunhog" -d 0.05 >/dev/null 2>"$T/hogprobe.log"; then
    t_skip "the timeline under forced xruns" "$(cat "$T/hogprobe.log")"
    t_done
fi
T_JACKD_RT=1 t_jackd
t_src -m stamp
t_conf "$T/t.ini" <<CONF
[song]
title = Stamp
$(t_stems_conf A B C D E F G H)
CONF
t_daemon "$T/t.ini"

# hogged_take SEED BURSTS PAUSES: one take while xrunhog runs; sets hog (its
# report), xr (xruns in the server's log) and dir (the finished take).
hogged_take() {
    sleep 0.5
    t_mark
    t_cli start >/dev/null
    sleep 0.3
    hog=$("$B/tests/xrunhog" -s "$1" -b "$2" -i "$3" -d "$HOG_SECONDS")
    sleep 0.3
    t_cli stop >/dev/null
    xr=$(t_xruns)
    dir=$(t_take_dir)
    t_wait 50 grep -q '"state": "complete"' "$dir/manifest.json"
}

# take SEED BURSTS PAUSES: a take of the stamped source under xrunhog, checked.
take() {
    local seed=$1 bursts=$2 pauses=$3 out
    hogged_take "$seed" "$bursts" "$pauses"
    local figs
    figs=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); t=m["timeline"]; n=m["null"]
print("%d frames, %d dropped in %d drops, %d late reads placed back (%d dropped as a copy of the next cycle), %d frames in %d torn periods; null %s, worst %s dBFS" % (m["length_frames"], m["dropped_frames"], len(m["drops"]), t["late_reads"], t["late_reads_dropped"], t["torn_frames"], len(t["torn"]), "FLAGGED" if n["flagged"] else "passed", n["worst_residual_db"]))' "$dir/manifest.json")
    out=$("$B/tests/stampcheck" "${SC_OPTS[@]}" "$dir")
    local rc=$?
    t_log "$hog (bursts $bursts ms every $pauses ms, seed $seed): $xr xruns in the $T_XRUNLOG"
    t_log "take: $figs"
    printf '%s\n' "$out" | sed 's/^/    /'
    local line
    line=$(printf '%s\n' "$out" | grep '^stampcheck: .*samples checked')
    SUM_X=$((SUM_X + xr))
    SUM_SAMPLES=$((SUM_SAMPLES + $(t_sc "$line" "samples checked")))
    SUM_MIS=$((SUM_MIS + $(t_sc "$line" misplaced)))
    SUM_BESIDE=$((SUM_BESIDE + $(t_sc "$line" "placed late beside")))
    SUM_DROPS=$((SUM_DROPS + $(echo "$line" | sed 's/.* silent in \([0-9]*\) reported drops.*/\1/')))
    SUM_LATE=$((SUM_LATE + $(t_json "$dir/manifest.json" 'm["timeline"]["late_reads"]')))
    SUM_COPIES=$((SUM_COPIES + $(t_json "$dir/manifest.json" 'm["timeline"]["late_reads_dropped"]')))
    SUM_TORN=$((SUM_TORN + $(t_json "$dir/manifest.json" 'len(m["timeline"]["torn"])')))
    if [ "$xr" = 0 ]; then
        t_skip "take with seed $seed" "xrunhog forced no xrun on this machine"
        return
    fi
    if [ "$rc" = 0 ]; then
        ok "seed $seed: every sample of every file where its stamp says, or silent in a reported drop"
    else
        fail "seed $seed: samples off the timeline ($dir)"
    fi
    # The stems sum to the mix exactly; torn and jumped cycles are no evidence.
    check 'grep -q "\"flagged\": false" "$dir/manifest.json"' "seed $seed: the null test is not fooled by the xruns"
}
take 1 2-12 50-300
take 2 3-8 20-80
take 3 15-40 200-500

# The null test under the same xruns with a full-scale signal (noise), where
# a torn cycle's residual is as loud as the music: it must not be judged a
# broken mix, and the torn periods must be reported.
kill "$T_SRC"; wait "$T_SRC" 2>/dev/null; t_forget "$T_SRC"
t_src -m noise
hogged_take 4 2-12 30-200
figs=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); t=m["timeline"]; n=m["null"]
print("%d dropped, %d late reads, %d torn periods; null %s, worst %s dBFS; %d frames not judged (xruns), their worst residual %s dBFS" % (m["dropped_frames"], t["late_reads"], len(t["torn"]), "FLAGGED" if n["flagged"] else "passed", n["worst_residual_db"], n["xrun_frames_not_judged"], n["xrun_worst_residual_db"]))' "$dir/manifest.json")
t_log "noise: $hog: $xr xruns; $figs"
if [ "$xr" = 0 ]; then
    t_skip "the null test under xruns with noise" "xrunhog forced no xrun on this machine"
else
    check 'grep -q "\"flagged\": false" "$dir/manifest.json"' "noise: the null test is not fooled by $xr xruns ($figs)"
fi
t_log "in all: $SUM_X xruns in the $T_XRUNLOG, $SUM_DROPS drops, $SUM_LATE late reads placed back ($SUM_COPIES dropped as copies of the next cycle), $SUM_TORN torn periods reported; $SUM_SAMPLES samples checked, $SUM_MIS misplaced, $SUM_BESIDE placed late beside a drop"
t_done
