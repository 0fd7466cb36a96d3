#!/usr/bin/env bash
# SIGKILL in the middle of a take: every file is readable up to the last
# header update (at most a second behind); the next start repairs the take
# (headers cover every frame on disk, all files one length, manifest
# "recovered", every frame matches the source).  SIGKILL while following the
# transport leaves a prepared take (folder and empty files, no manifest):
# the next start removes it.  The daemon records on as usual.
. "$(dirname "$0")/lib.sh"
t_init recover
t_jackd
t_src -m noise
STEMS=(Drums Bass Keys Vox BVs Guitars Synths FX)
EXTRA_CAPTURE="sample_format = pcm24" t_conf "$T/r.ini" <<CONF
[song]
title = Crash
$(t_stems_conf "${STEMS[@]}")
CONF

# The checktake arguments for the 9 files of a take folder.
take_args() {
    local i=0 s
    for s in "${STEMS[@]}"; do
        printf '%s\n' "$1/Crash - $s.wav:$((2 * i)),$((2 * i + 1))"
        i=$((i + 1))
    done
    printf '%s\n' "$1/Crash - Mix.wav:16,17"
}
# Frame counts of the take's files as soxi reads them, one per line ("x" when unreadable).
take_lengths() {
    local f
    for f in "${STEMS[@]}" Mix; do soxi -s "$1/Crash - $f.wav" 2>/dev/null || echo x; done
}
json_int() { sed -n "s/^ *\"$2\": \([0-9]*\),*$/\1/p" "$1" | head -1; }

t_daemon "$T/r.ini"
t_cli start >/dev/null
sleep 2.5
at_kill=$(t_status_field 3)
kill -KILL "$T_DAEMON"
wait "$T_DAEMON" 2>/dev/null
t_forget "$T_DAEMON"
dir="$T/takes/Crash/take-01"
t_log "killed at frame ${at_kill:-?} of take-01"

check 'grep -q "\"state\": \"recording\"" "$dir/manifest.json"' "after kill -9 the manifest still says recording"
lengths=$(take_lengths "$dir")
before=$(sort -n <<<"$lengths" | head -1)
check '! grep -q x <<<"$lengths" && [ "$before" -ge 57600 ]' "after kill -9 all 9 files are readable (soxi), at least 1.2 s each (shortest: ${before:-?} frames)"
cp "$dir/Crash - Drums.wav" "$T/drums.before"

# The next start repairs the take.
t_daemon "$T/r.ini"
check 'grep -q "\"state\": \"recovered\"" "$dir/manifest.json"' "after the restart the manifest says recovered"
check 'grep -q "take-01: recovered: 9 files" "$T/stemcapd.log"' "one log line for the repaired take ($(grep -o 'take-01: recovered:.*' "$T/stemcapd.log"))"
lengths=$(take_lengths "$dir")
after=$(head -1 <<<"$lengths")
check '! grep -q x <<<"$lengths" && [ "$(sort -u <<<"$lengths" | wc -l)" = 1 ]' "all 9 files readable and of one length ($after frames)"
check '[ "$after" -ge "$before" ] && [ "$(json_int "$dir/manifest.json" length_frames)" = "$after" ] && [ "$(json_int "$dir/manifest.json" frames_before)" = "$before" ]' \
    "manifest: length_frames $after, frames_before $before (the headers lagged $((after - before)) frames)"
check '[ "$after" -ge $((at_kill - 48000)) ]' "the repaired take reaches within a second of the kill (frame $at_kill; $((at_kill - after)) frames short)"
# The repair rewrote header fields only (the header ends below byte 1024).
check '[ "$(cmp -l "$T/drums.before" "$dir/Crash - Drums.wav" 2>/dev/null | awk "\$1 > 1024" | wc -l)" = 0 ]' "only header bytes changed in the files"

extra=()
grep -q "frames dropped" "$T/stemcapd.log" && extra=(--allow-silence)
mapfile -t args < <(take_args "$dir")
if "$B/tests/checktake" "${extra[@]}" -m noise -l 1 --min-frames $((at_kill - 48000)) "${args[@]}" >"$T/check.out" 2>&1; then
    ok "checktake: 9 repaired files, same length, every frame matches the source ($(tail -1 "$T/check.out"))"
else
    cat "$T/check.out"
    check_rt false "checktake: the repaired files match the source"
fi

# Killed while following the transport: the prepared take goes at the next start.
"$B/tests/oscraw" -p "$PORT" -m /stemcap/transport/follow i 1 >/dev/null
t_wait 50 test -e "$T/takes/Crash/take-02/Crash - Mix.wav"
check '[ ! -e "$T/takes/Crash/take-02/manifest.json" ] && [ "$(ls "$T/takes/Crash/take-02" | wc -l)" = 9 ]' "following the transport: take-02 prepared (9 files, no manifest)"
kill -KILL "$T_DAEMON"
wait "$T_DAEMON" 2>/dev/null
t_forget "$T_DAEMON"
t_daemon "$T/r.ini"
check '[ ! -e "$T/takes/Crash/take-02" ] && [ -d "$dir" ]' "after kill -9 and a restart the prepared take is removed, take-01 kept"
check 'grep -q "take-02: removed the prepared take" "$T/stemcapd.log"' "and that is logged"

# And the daemon records on: the removed take's number is used again.
t_cli start >/dev/null
sleep 1
t_cli stop >/dev/null
check 'grep -q "\"state\": \"complete\"" "$T/takes/Crash/take-02/manifest.json"' "a take recorded after the recovery is complete (take-02)"
t_daemon_stop
rc=$?
check '[ $rc = 0 ]' "stemcapd exits 0"
check 'grep -q "\"state\": \"recovered\"" "$dir/manifest.json" && [ "$(grep -c "recovered:" "$T/stemcapd.log")" = 1 ]' "the recovered take is left alone afterwards"
t_done
