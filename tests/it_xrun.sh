#!/usr/bin/env bash
# Cycles JACK never ran for stemcapd (the daemon was stopped for a moment,
# as a loaded machine or a page fault storm would) are filled with silence
# in every file, so the take stays on the JACK timeline: the files keep one
# length, match the source everywhere else, and the drop is reported.
. "$(dirname "$0")/lib.sh"
t_init xrun
t_jackd
t_src -m noise
EXTRA_CAPTURE="sample_format = float" t_conf "$T/x.ini" <<CONF
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
