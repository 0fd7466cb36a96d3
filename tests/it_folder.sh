#!/usr/bin/env bash
# The take folder removed while recording (rm -r, or its disk gone): the
# files can no longer be reached, so the take must fail at once and say so,
# not go on writing into unlinked files and report as if all were well.
# Within a second the take ends, /stemcap/error is pushed, status shows it
# FAILED with the reason, `stemcap stop` exits non-zero naming it; the same
# for one file of a take removed; the next take records normally.
. "$(dirname "$0")/lib.sh"
t_init folder
t_jackd
t_src -m noise
EXTRA_CAPTURE="sample_format = float" t_conf "$T/f.ini" <<CONF
[song]
title = Gone
$(t_stems_conf A B C D E F G H)
CONF
t_daemon "$T/f.ini"

# 1. The whole take folder.
t_cli start >/dev/null
sleep 0.5
"$B/tests/oscraw" -p "$PORT" -t 3000 -k 1000 -m /stemcap/subscribe f 2 >"$T/sub.out" 2>/dev/null &
sub=$!
sleep 0.3
dir=$(t_take_dir)
rm -rf "$dir"
t0=$(date +%s.%N)
t_wait 20 sh -c "\"$B/tests/oscraw\" -p $PORT -m /stemcap/status | grep -q '^/stemcap/status s:idle'"
t1=$(date +%s.%N)
check '[ "$(t_status_field 1)" = idle ]' "the take ends by itself within $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s of its folder being removed"
t_cli status >"$T/status.out"
check 'grep -q "^  FAILED: its folder Gone/take-01 was removed while recording$" "$T/status.out"' "stemcap status: $(grep FAILED "$T/status.out")"
t_cli stop >"$T/stop.out" 2>&1
rc=$?
check '[ $rc != 0 ] && grep -q "not recording: take 1 failed: its folder Gone/take-01 was removed while recording" "$T/stop.out"' "stemcap stop exits $rc: $(head -1 "$T/stop.out")"
wait $sub
check 'grep -q "^/stemcap/error s: s:take 1 failed: its folder Gone/take-01 was removed" "$T/sub.out"' "pushed to a subscriber: $(grep -m1 '^/stemcap/error' "$T/sub.out")"
check 'grep -q "take 1 failed: its folder Gone/take-01 was removed while recording; stopping it" "$T/stemcapd.log"' "logged once, with the reason"

# 2. One file of a take.
t_cli start >/dev/null
sleep 0.5
dir=$(t_take_dir)
rm -f "$dir/Gone - C.wav"
t_wait 20 sh -c "\"$B/tests/oscraw\" -p $PORT -m /stemcap/status | grep -q '^/stemcap/status s:idle'"
t_cli status >"$T/status.out"
check 'grep -q "^  FAILED: its file Gone - C.wav was removed while recording$" "$T/status.out"' "one file removed: $(grep FAILED "$T/status.out")"

# 3. The next take is fine, and reports no failure.
t_cli start >/dev/null
sleep 1
t_cli stop >"$T/stop.out" 2>&1
rc=$?
dir=$(t_take_dir)
check '[ $rc = 0 ] && ! grep -q FAILED "$T/stop.out" && [ -f "$dir/manifest.json" ] && [ "$(ls "$dir"/*.wav | wc -l)" = 9 ]' "the next take ($(basename "$dir")) records normally: stop exits $rc, 9 files and manifest.json"
t_done
