#!/usr/bin/env bash
# A stalled disk.  Within the ring's length (buffer_seconds) nothing is lost;
# beyond it, periods are dropped identically in every file and replaced by
# silence at their position, the positions are recorded, and the stems
# never lose sync.  The stall is injected with the disk thread's test hook
# ($STEMCAP_TEST_STALL: while that file exists the thread does nothing).
. "$(dirname "$0")/lib.sh"
t_init stall
t_jackd
t_src -m noise
export STEMCAP_TEST_STALL="$T/stall"
EXTRA_CAPTURE="sample_format = float" t_conf "$T/s.ini" <<CONF
[song]
title = Stall
$(t_stems_conf A B C D E F G H)
CONF
sed -i "s/^buffer_seconds = .*/buffer_seconds = 2/" "$T/s.ini"
t_daemon "$T/s.ini"
files() { args=(); local i=0 s; for s in A B C D E F G H; do args+=("$1/Stall - $s.wav:$((2 * i)),$((2 * i + 1))"); i=$((i + 1)); done; args+=("$1/Stall - Mix.wav:16,17"); }

# 1. A 1.2 s stall with a 2 s ring: nothing lost.
t_mark
t_cli start >/dev/null
sleep 0.5
touch "$T/stall"
sleep 1.2
rm "$T/stall"
sleep 0.5
t_cli stop >/dev/null
dir=$(t_take_dir)
check_rt '[ "$(R -m /stemcap/status | arg 5)" = 0 ]' "1.2 s stall within a 2 s ring: 0 frames dropped"
fill=$(R -m /stemcap/stats | arg 5)
check 'awk -v f="$fill" "BEGIN { exit !(f >= 50 && f < 100) }"' "/stemcap/stats: the ring filled to $fill % during the stall (1.2 s of 2 s)"
files "$dir"
"$B/tests/checktake" -m noise -l 0 "${args[@]}" >"$T/c1.out" 2>&1 || true
check_rt 'tail -1 "$T/c1.out" | grep -q "^OK"' "every file complete and in sync ($(tail -1 "$T/c1.out"))"

# 2. A 4 s stall with a 2 s ring: drops, identical in every file.
t_mark
t_cli start >/dev/null
sleep 0.5
touch "$T/stall"
sleep 4
rm "$T/stall"
sleep 1
t_cli stop >/dev/null
dir=$(t_take_dir)
dropped=$(R -m /stemcap/status | arg 5)
frames=$(R -m /stemcap/status | arg 3)
check '[ "$dropped" -gt 48000 ]' "4 s stall with a 2 s ring: $dropped of $frames frames dropped"
files "$dir"
"$B/tests/checktake" --allow-silence -m noise -l 0 "${args[@]}" >"$T/c2.out" 2>&1
rc=$?
check_rt '[ $rc = 0 ]' "the files stay in sync and on the timeline, silence where frames were dropped ($(tail -1 "$T/c2.out"))"
silent=$(sed -n 's/.*Mix.wav: .*, \([0-9]*\) silent frames.*/\1/p' "$T/c2.out")
check_rt '[ "$silent" = "$dropped" ]' "silence in the files ($silent frames) = frames reported dropped ($dropped)"
check 'grep -q "\"dropped_frames\": $dropped" "$dir/manifest.json" && grep -q "\"at_frame\"" "$dir/manifest.json"' "manifest.json records the drops and their positions"
t_done
