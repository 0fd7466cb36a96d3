#!/usr/bin/env bash
# bench/soak.sh — an hours-long take, run by `make bench` after bench/run.sh
# (not by `make test`).  See bench/README.md, section 5.
#
# One take of BENCH_SOAK_MINUTES (60) minutes: 18 channels (8 stereo stems +
# the mix, stemcap-testsrc -m stamp: every sample carries the JACK frame it was
# played for; pcm24 WAV, written as RF64) at 64 frames a
# period on a private jackd (-R where the machine allows it).  Every 10 s:
# stemcapd's RSS (anon + file, without JACK's shared memory) and every file's
# header as it is on disk right then, which is what a SIGKILL at that moment
# would leave (read with sox's soxi: it must parse, and its frame count must
# fit in the file and never go back).  At the end stemcapd is killed with
# SIGKILL in the middle of the take, started again (its recovery repairs the
# take), and every file (> 4 GiB in all) is read back with libsndfile and
# every sample checked against its stamp (tests/stampcheck, with the drops and
# torn periods the killed daemon logged).  Drops must be matched by xruns in
# jackd's log.  Writes bench/soak.md (BENCH_SOAK_OUT).
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
MINUTES=${BENCH_SOAK_MINUTES:-60}
OUT=${BENCH_SOAK_OUT:-$TOP/bench/soak.md}
[ "$MINUTES" = 0 ] && { echo "soak: skipped (BENCH_SOAK_MINUTES=0)"; exit 0; }
T_PERIOD=64
t_init soak
need_gb=$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 * 48000 * 18 * 3 / 1e9 + 2 }')
free_gb=$(df -P "$T" | awk 'NR == 2 { printf "%d", $4 / 1e6 }')
if [ "$free_gb" -lt "$need_gb" ]; then
    t_skip "the soak" "it needs $need_gb GB in $T, $free_gb GB are free"
    t_done
fi
if chrt -f 1 true 2>/dev/null; then T_JACKD_RT=1; MODE="jackd -R (real time)"; else MODE="jackd -r"; fi
t_jackd
t_src -m stamp -q
EXTRA_CAPTURE="buffer_seconds = 10" t_conf "$T/soak.ini" <<CONF
[song]
title = Soak
$(t_stems_conf A B C D E F G H)
CONF
sed -i '/^buffer_seconds = 4$/d' "$T/soak.ini" # the tests' short ring: the default here
t_daemon "$T/soak.ini"
sleep 2
t_mark
t_cli start >/dev/null
dir=$(t_take_dir)
t0=$(date +%s)
rss() { awk '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } END { print a + f, a }' "/proc/$T_DAEMON/status"; }
# hdr FILE: frames its header says now, or "bad"
hdr() { soxi -s "$1" 2>/dev/null || echo bad; }
: >"$T/rss.tsv"
checks=0 bad=0 backwards=0
declare -A last
samples=$((MINUTES * 6))
for i in $(seq "$samples"); do
    sleep $((t0 + i * 10 - $(date +%s))) 2>/dev/null
    read -r r a <<<"$(rss)"
    echo "$((i * 10)) $r $a" >>"$T/rss.tsv"
    for f in "$dir"/*.wav; do
        n=$(hdr "$f")
        size=$(stat -c %s "$f")
        checks=$((checks + 1))
        if [ "$n" = bad ] || [ $((n * 6)) -gt "$size" ]; then
            bad=$((bad + 1))
            t_log "header of $(basename "$f") at $((i * 10)) s: $n frames for $size bytes"
        elif [ "$n" -lt "${last[$f]:-0}" ]; then
            backwards=$((backwards + 1))
        fi
        last[$f]=$n
    done
    [ $((i % 30)) = 0 ] && t_log "$((i / 6)) min: RSS $r kB (anon $a), $(du -sh "$dir" | cut -f1) written, $(t_xruns) xruns"
done
frames_before=$(t_status_field 3)
dropped_before=$(t_status_field 5)
kill -KILL "$T_DAEMON"
wait "$T_DAEMON" 2>/dev/null
t_forget "$T_DAEMON"
killed_at=$(date +%s)
xr=$(t_xruns)
ndrop=$(grep -c "frames dropped at frame" "$T/stemcapd.log")
total=$(du -cb "$dir"/*.wav | tail -1 | cut -f1)
# Started again: the take is repaired before anything else.
t_daemon "$T/soak.ini"
t_wait 100 grep -q '"state": "recovered"' "$dir/manifest.json"
recovered=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); r=m["recovery"]; print("state %s, %d frames (the headers said %d, %d found on disk, %d cut)" % (m["state"], m["length_frames"], r["frames_before"], r["frames_after"], r["cut_frames_max"]))' "$dir/manifest.json" 2>&1)
c0=$(date +%s)
"$B/tests/stampcheck" -D "$T/stemcapd.log" "$dir" >"$T/check.out" 2>&1
crc=$?
c1=$(date +%s)
fmt=$(soxi -t "$dir/Soak - Mix.wav" 2>/dev/null)

# RSS after the first minute: flat?
read -r r60 rmax rlast <<<"$(awk '$1 >= 60 { if (!n++) f = $2; if ($2 > m) m = $2; l = $2 } END { print f, m, l }' "$T/rss.tsv")"
growth=$((rmax - r60))
verdict() { [ "$1" = 0 ] && echo "**met**" || echo "**missed**"; }
[ "$bad" = 0 ] && [ "$backwards" = 0 ]; v_hdr=$?
[ "$growth" -le 1024 ]; v_rss=$?
[ "$ndrop" = 0 ] || [ "$ndrop" -le "$xr" ]; v_drops=$?
v_stamps=$crc
check '[ "$bad" = 0 ] && [ "$backwards" = 0 ]' "$checks header reads of live files, every 10 s: every one valid, none going back"
check '[ "$growth" -le 1024 ]' "RSS flat after the first minute: $r60 kB at 60 s, at most $rmax kB after (+$growth kB), $rlast kB at the end"
check '[ "$ndrop" = 0 ] || [ "$ndrop" -le "$xr" ]' "drops ($ndrop, $dropped_before frames) all matched by jackd's xruns ($xr)"
check '[ "$crc" = 0 ]' "all 9 files ($((total / 1048576)) MiB, $fmt) every sample where its stamp says after SIGKILL and recovery ($((c1 - c0)) s)"
sed 's/^/    /' "$T/check.out"
t_log "recovered take: $recovered"
{
    echo "# stemcap soak"
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'), stemcap $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)"
    echo "- $MINUTES min of 18 channels (8 stereo stems + mix, stamped source), pcm24 WAV, 64 frames/period, $MODE, 10 s ring"
    echo "- Machine: $(nproc) CPUs, kernel $(uname -r); files on $(df -P "$T" | awk 'NR == 2 { print $1 }')"
    echo
    echo "| check | measured | |"
    echo "|---|---|---|"
    echo "| RSS (anon + file, w/o JACK shm) flat after 1 min (+1 MiB at most) | $r60 kB at 60 s, max $rmax kB after (+$growth kB), $rlast kB at $((MINUTES)) min | $(verdict "$v_rss") |"
    echo "| headers valid at any point (soxi on the live files every 10 s) | $checks reads, $bad invalid, $backwards going back | $(verdict "$v_hdr") |"
    echo "| drops only where jackd logged xruns | $ndrop drops ($dropped_before frames), $xr xruns in jackd's log | $(verdict "$v_drops") |"
    echo "| SIGKILL at $MINUTES min, then recovery | $frames_before frames recorded; manifest: $recovered | |"
    echo "| files read back, every sample against its stamp | $((total / 1048576)) MiB in 9 files ($fmt): $(grep '^stampcheck: .*checked' "$T/check.out" | sed 's/^stampcheck: //') | $(verdict "$v_stamps") |"
    echo
    echo "RSS samples (s, kB anon+file, kB anon), every 10 s:"
    echo
    echo '```'
    awk '{ printf "%s%s", (NR % 6 == 1 ? "" : "  "), $0; if (NR % 6 == 0) print "" } END { print "" }' "$T/rss.tsv"
    echo '```'
} >"$OUT"
t_log "written to $OUT"
t_done
