#!/usr/bin/env bash
# Disk full during a take: the take ends cleanly at the failure, every file
# valid and complete up to the same frame, the error logged and pushed over
# OSC (and given to [hooks] on_error); the daemon keeps running and answering,
# and refuses the next take while free space is below [capture] min_free_mb.
# Uses a 3 MB tmpfs.
. "$(dirname "$0")/lib.sh"
t_init diskfull
mkdir -p "$T/full"
if ! mount -t tmpfs -o size=3m tmpfs "$T/full" 2>"$T/mount.err"; then
    echo "  skip cannot mount a tmpfs here: $(cat "$T/mount.err")"
    T_SKIPS=1
    t_done
fi
trap 'umount -l "$T/full" 2>/dev/null; t_cleanup' EXIT
t_jackd
t_src -m noise
EXTRA_CAPTURE="sample_format = float
min_free_mb = 1" t_conf "$T/d.ini" <<CONF
[song]
title = Full
$(t_stems_conf A B)
[hooks]
on_error = $T/on-error.sh
CONF
printf '#!/bin/sh\necho "$STEMCAP_EVENT|${STEMCAP_TAKE:-}|$STEMCAP_ERROR" >>"%s"\n' "$T/errors.log" >"$T/on-error.sh"
chmod +x "$T/on-error.sh"
sed -i "s#^dir = .*#dir = $T/full/takes#" "$T/d.ini"
t_daemon "$T/d.ini"
# (-k: enough messages for the feedback, the loudness pushes included, until the error)
"$B/tests/oscraw" -p "$PORT" -t 8000 -k 400 -m /stemcap/subscribe f 2 >"$T/sub.out" 2>/dev/null &
sub=$!
sleep 0.3
t_mark
t_cli start >/dev/null
t_wait 100 sh -c "\"$B/tests/oscraw\" -p $PORT -m /stemcap/status | grep -q 's:idle'"
check '[ "$(R -m /stemcap/status | cut -d" " -f2)" = s:idle ]' "the take stopped by itself when the disk filled"
check 'R -m /stemcap/ping | grep -q pong' "the daemon keeps running and answering"
check 'grep -q "No space left on device\|write error" "$T/stemcapd.log"' "the write error is logged: $(grep -m1 -o "write error.*" "$T/stemcapd.log" | cut -c1-100)"
wait $sub
check 'grep -q "^/stemcap/error s: s:take 1 stopped by a write error: .*/take-01/.*\.wav.: " "$T/sub.out"' "the error is pushed to subscribers, naming the file and the reason: $(grep -m1 "stopped by a write error" "$T/sub.out" | cut -c1-160)"
dir="$T/full/takes/Full/take-01"
args=("$dir/Full - A.wav:0,1" "$dir/Full - B.wav:2,3" "$dir/Full - Mix.wav:16,17")
"$B/tests/checktake" -m noise -l 0 --min-frames 24000 "${args[@]}" >"$T/check.out" 2>&1
rc=$?
check_rt '[ $rc = 0 ]' "every file valid, complete and equal up to the failure ($(tail -1 "$T/check.out"))"
check 'grep -q "\"state\": \"failed\"" "$dir/manifest.json"' "manifest.json says failed"
out=$(R -m /stemcap/start)
check 'echo "$out" | grep -q "^/stemcap/error .*MB free"' "the next start is refused for lack of space: $(echo "$out" | cut -c1-120)"
t_wait 50 grep -q "MB free" "$T/errors.log"
check 'grep -q "^error|1|take 1 stopped by a write error" "$T/errors.log"' "on_error ran for the write error: $(head -1 "$T/errors.log" | cut -c1-100)"
check 'grep -q "^error||only [0-9]* MB free in .*no take started" "$T/errors.log"' "and for the refused start: $(sed -n 2p "$T/errors.log" | cut -c1-100)"
t_done
