#!/usr/bin/env bash
# Cycles JACK never ran for stemcapd (the daemon was stopped for a moment,
# as a loaded machine or a page fault storm would) are filled with silence
# in every file, so the take stays on the JACK timeline: the files keep one
# length, match the source everywhere else, and the drop is reported; a
# period read on a stale wake-up after the stall that held the next cycle's
# audio is one of the dropped ones (daemon/process.c).
. "$(dirname "$0")/lib.sh"
t_init xrun
t_jackd
t_src -m noise
# No loudness measurement here (it_loudness has it): its 3 % of a CPU on the
# disk thread made a torn period under the sanitizer build in CI, which the
# stale wake-up check below must not see for any other reason.
EXTRA_CAPTURE="sample_format = float
loudness = false" t_conf "$T/x.ini" <<CONF
[song]
title = Xrun
$(t_stems_conf A B C D E F G H)
CONF
t_daemon "$T/x.ini"
# A take during which the daemon is stopped for 0.3 s.
stalled_take() {
    t_cli start >/dev/null
    sleep 0.5
    kill -STOP "$T_DAEMON"
    sleep 0.3
    kill -CONT "$T_DAEMON"
    sleep 0.7
    t_cli stop >/dev/null
}
stalled_take
dir=$(t_take_dir)
dropped=$(t_status_field 5)
frames=$(t_status_field 3)
check '[ "$dropped" -gt 0 ]' "the missed cycles are reported as $dropped dropped frames of $frames"
files=() i=0
for s in A B C D E F G H; do files+=("$dir/Xrun - $s.wav:$((2 * i)),$((2 * i + 1))"); i=$((i + 1)); done
if "$B/tests/checktake" --allow-silence -m noise -l 0 "${files[@]}" "$dir/Xrun - Mix.wav:16,17" >"$T/check.out" 2>&1; then
    ok "files match the source on the timeline, silence where cycles were missed: $(tail -1 "$T/check.out")"
else
    cat "$T/check.out"
    fail "files do not stay on the timeline"
fi
silent=$(sed -n 's/.*Mix.wav: .*, \([0-9]*\) silent frames.*/\1/p' "$T/check.out")
check '[ "$silent" = "$dropped" ]' "silent frames in the files ($silent) = frames reported dropped ($dropped)"
check 'grep -q "frames dropped at frame" "$T/stemcapd.log"' "the drop and its position are logged"

# A source that signals late: it writes its outputs, then stays busy for
# 6 ms of the 10.7 ms cycle before JACK wakes the clients it feeds.  When the
# stopped daemon goes on within that window, jack2 wakes it on the signal
# left from a cycle it missed: it reads this cycle's frame time and this
# cycle's audio, and JACK runs it again for this cycle at once.  That first
# period held the next cycle's audio: it must go as a drop (silence,
# reported), never into the files a period early (a CI run saw it: every
# file 512 frames of the noise ahead at the drop's end).  The stamped
# source says where each sample belongs: nothing misplaced, no period
# excused as torn, until two stalls have provoked it (at most ten).
t_daemon_stop >/dev/null
kill "$T_SRC"; wait "$T_SRC" 2>/dev/null; t_forget "$T_SRC"
t_src -m stamp -H 6000
t_daemon "$T/x.ini"
seen=0 takes=0 bad=0 summary=
while [ "$seen" -lt 2 ] && [ "$takes" -lt 10 ]; do
    takes=$((takes + 1))
    stalled_take
    dir=$(t_take_dir)
    rep=$(t_json "$dir/manifest.json" 'm["timeline"]["late_reads_dropped"]')
    seen=$((seen + rep))
    if ! out=$("$B/tests/stampcheck" "$dir" 2>&1); then
        echo "$out" | head -5
        bad=$((bad + 1))
    fi
    line=$(printf '%s\n' "$out" | grep 'samples checked')
    torn=$(t_sc "$line" "in [0-9]* reported torn periods")
    misplaced=$(t_sc "$line" misplaced)
    late=$(t_sc "$line" "placed late beside a drop")
    [ "$torn" = 0 ] && [ "$misplaced" = 0 ] && [ "$late" = 0 ] || bad=$((bad + 1))
    summary="$summary take $takes: $rep dropped as a copy of the next cycle, $misplaced misplaced, $torn in torn periods;"
done
check '[ "$bad" = 0 ]' "late wake-ups after a stall: every sample where its stamp says or silent in a reported drop ($summary)"
check '[ "$seen" -ge 1 ]' "the stale wake-up was provoked: $seen periods that held the next cycle dropped in $takes takes"

# A mix 32 samples late, aligned by [mix] offset_frames.  Across the missed
# cycles the null test's offset line holds the sum from before the gap beside
# the mix from after it.  That is no failed null: the take stays unflagged.
t_daemon_stop >/dev/null
kill "$T_SRC"; wait "$T_SRC" 2>/dev/null; t_forget "$T_SRC"
t_src -m noise -D 32
EXTRA_CAPTURE="sample_format = float" t_conf "$T/o.ini" <<CONF
[song]
title = Xrun
$(t_stems_conf A B C D E F G H | sed 's/^\[mix\]$/[mix]\noffset_frames = 32\nauto_offset = false/')
CONF
t_daemon "$T/o.ini"
sleep 1.5
stalled_take
n=$(R -m /stemcap/null)
dropped=$(t_status_field 5)
check '[ "$dropped" -gt 0 ] && [ "$(echo "$n" | arg 5)" = 0 ]' "mix aligned by an offset of 32: $dropped frames dropped, the take is not flagged ($n)"
t_done
