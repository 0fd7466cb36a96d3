#!/usr/bin/env bash
# Long takes split into parts ([capture] split_minutes): with parts of 3 s
# (0.05 minutes), an 8 s take of the stamping source (every sample says
# which JACK frame it is) makes take-01 (part 1), take-01/part-02 and
# take-01/part-03.  Every file of parts 1 and 2 is exactly 144000 frames
# (soxi), the files of a part are one length, the parts of each file read
# one after another are the take's timeline with no frame lost or repeated
# at a seam (stampcheck follows the manifest's "parts"), each part's bext
# TimeReference is the take's plus its start, the manifest lists the parts,
# and stemcap-check passes each part folder and --verify the whole take.
# kill -9 during part 2, then a restart: the part-02 files are repaired too.
# A part that cannot be made fails the take like a write error, part 1 kept.
# A bad split_minutes is a one-line config error.
. "$(dirname "$0")/lib.sh"
t_init split
PART=144000 # 3 s at 48 kHz
STEMS=(Drums Bass Keys Vox BVs Guitars Synths FX)

t_jackd
t_src -m stamp
EXTRA_CAPTURE="split_minutes = 0.05" t_conf "$T/s.ini" <<CONF
[song]
title = Long
$(t_stems_conf "${STEMS[@]}")
CONF

# Frame counts of the files in folder $1, one per line ("x": unreadable).
lengths() {
    local f
    for f in "${STEMS[@]}" Mix; do soxi -s "$1/Long - $f.wav" 2>/dev/null || echo x; done
}
# The bext TimeReference of a WAV file (RIFF/RF64 chunks walked in python).
timeref() {
    python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
i = 12
while i + 8 <= len(d):
    cid, n = d[i:i + 4], struct.unpack("<I", d[i + 4:i + 8])[0]
    if cid == b"bext":
        lo, hi = struct.unpack("<II", d[i + 8 + 338:i + 8 + 346])
        print(lo + (hi << 32))
        sys.exit(0)
    i += 8 + n + (n & 1)
print("none")
PY
}

t_daemon "$T/s.ini"
t_mark
t_cli start >/dev/null
sleep 8
t_cli stop >/dev/null
xr=$(t_xruns)
dir="$T/takes/Long/take-01"
t_wait 50 grep -q '"state": "complete"' "$dir/manifest.json"
check '[ -d "$dir/part-02" ] && [ -d "$dir/part-03" ] && [ ! -e "$dir/part-01" ]' \
    "an 8 s take in parts of 3 s: take-01, take-01/part-02, take-01/part-03 ($(cd "$dir" && echo part-*))"
l1=$(lengths "$dir")
l2=$(lengths "$dir/part-02")
l3=$(lengths "$dir/part-03")
check '[ "$(sort -u <<<"$l1")" = $PART ]' "every part-1 file is $PART frames (soxi: $(sort -u <<<"$l1" | tr '\n' ' '))"
check '[ "$(sort -u <<<"$l2")" = $PART ]' "every part-2 file is $PART frames (soxi: $(sort -u <<<"$l2" | tr '\n' ' '))"
check '! grep -q x <<<"$l3" && [ "$(sort -u <<<"$l3" | wc -l)" = 1 ] && [ "$(head -1 <<<"$l3")" -gt 0 ]' \
    "the part-3 files are one length ($(head -1 <<<"$l3") frames)"
total=$(t_json "$dir/manifest.json" 'm["length_frames"]')
check '[ "$total" = $((2 * PART + $(head -1 <<<"$l3"))) ]' "the take's length_frames ($total) is the parts' sum"

# No frame lost or repeated at a seam: each file's parts read as one.
out=$("$B/tests/stampcheck" "$dir")
rc=$?
printf '%s\n' "$out" | sed 's/^/    /'
if [ "$rc" = 0 ]; then
    ok "stampcheck over the seams: every sample of every file where its stamp says"
elif [ "$xr" != 0 ]; then
    check_rt false "stampcheck over the seams ($xr xruns: inconclusive)"
else
    fail "stampcheck over the seams: samples off the timeline ($dir)"
fi

# bext TimeReference: the take's plus the part's start, in every file.
r1=$(timeref "$dir/Long - Drums.wav")
refs_ok=1
for f in "${STEMS[@]}" Mix; do
    [ "$(timeref "$dir/Long - $f.wav")" = "$r1" ] || refs_ok=0
    [ "$(timeref "$dir/part-02/Long - $f.wav")" = $((r1 + PART)) ] || refs_ok=0
    [ "$(timeref "$dir/part-03/Long - $f.wav")" = $((r1 + 2 * PART)) ] || refs_ok=0
done
check '[ "$r1" != none ] && [ $refs_ok = 1 ]' \
    "bext TimeReference: part 1 $r1, part 2 $(timeref "$dir/part-02/Long - Bass.wav"), part 3 $(timeref "$dir/part-03/Long - Mix.wav") in every file"

# The manifest's parts.
parts=$(python3 - "$dir/manifest.json" "$PART" "$r1" "$(head -1 <<<"$l3")" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); part = int(sys.argv[2]); r1 = int(sys.argv[3]); last = int(sys.argv[4])
p = m["parts"]
want = [(1, ".", 0, part), (2, "part-02", part, part), (3, "part-03", 2 * part, last)]
got = [(x["part"], x["folder"], x["start_frame"], x["frames"]) for x in p]
names = [f["file"] for f in m["files"]]
ok = got == want and all([f["file"] for f in x["files"]] == names for x in p) \
    and all(x["time_reference"] == r1 + x["start_frame"] for x in p) \
    and all(len(f["audio_md5"] or "") == 32 for x in p for f in x["files"]) \
    and [f["audio_md5"] for f in m["files"]] == [f["audio_md5"] for f in p[0]["files"]]
print("ok" if ok else "bad: %s" % got)
PY
)
check '[ "$parts" = ok ]' "manifest.json lists the 3 parts: folder, start_frame, frames, time_reference, files with their checksums ($parts)"

# stemcap-check: --verify checks every part's checksums and UMIDs; each part folder passes.
"$B/stemcap-check" --verify "$dir" >"$T/verify.out" 2>&1
rc=$?
npass=$(grep -c "^PASS" "$T/verify.out")
check '[ $rc = 0 ] && [ "$npass" = 54 ] && ! grep -q "^FAIL" "$T/verify.out"' \
    "stemcap-check --verify on the take: exit $rc, $npass PASS lines (md5 and UMID of 9 files x 3 parts)"
for p in . part-02 part-03; do
    "$B/stemcap-check" --lead-in 0 "$dir/$p" >"$T/check-$p.out" 2>&1
    rc=$?
    check '[ $rc = 0 ]' "stemcap-check --lead-in 0 on take-01/$p: exit $rc ($(grep -m1 -i "^result\|verdict" "$T/check-$p.out"))"
done


# kill -9 during part 2 of take-02, then a restart: part 2 is repaired too.
t_mark
t_cli start >/dev/null
sleep 4.8
kill -KILL "$T_DAEMON"
wait "$T_DAEMON" 2>/dev/null
t_forget "$T_DAEMON"
xr=$(t_xruns)
dir2="$T/takes/Long/take-02"
check 'grep -q "\"state\": \"recording\"" "$dir2/manifest.json" && [ -d "$dir2/part-02" ] && [ ! -e "$dir2/part-03" ]' \
    "killed during part 2 of take-02: manifest says recording, part-02 exists"
t_daemon "$T/s.ini"
check 'grep -q "\"state\": \"recovered\"" "$dir2/manifest.json"' "after the restart take-02 is recovered ($(grep -o 'take-02: recovered:.*' "$T/stemcapd.log"))"
k1=$(lengths "$dir2")
k2=$(lengths "$dir2/part-02")
check '[ "$(sort -u <<<"$k1")" = $PART ]' "take-02 part 1: every file $PART frames"
check '! grep -q x <<<"$k2" && [ "$(sort -u <<<"$k2" | wc -l)" = 1 ] && [ "$(head -1 <<<"$k2")" -gt 0 ]' \
    "take-02 part 2: every file readable and of one length after the repair ($(head -1 <<<"$k2") frames)"
rec=$(python3 - "$dir2/manifest.json" "$PART" "$(head -1 <<<"$k2")" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); part = int(sys.argv[2]); k2 = int(sys.argv[3])
got = [(x["part"], x["folder"], x["start_frame"], x["frames"], len(x["files"])) for x in m["parts"]]
ok = got == [(1, ".", 0, part, 9), (2, "part-02", part, k2, 9)] and m["length_frames"] == part + k2 \
    and m["recovery"]["frames_after"] == part + k2
print("ok" if ok else "bad: %s, length %s" % (got, m["length_frames"]))
PY
)
check '[ "$rec" = ok ]' "the recovered manifest lists both parts and length_frames = $PART + $(head -1 <<<"$k2") ($rec)"
out=$("$B/tests/stampcheck" -D "$T/stemcapd.log" "$dir2")
rc=$?
printf '%s\n' "$out" | sed 's/^/    /'
if [ "$rc" = 0 ]; then
    ok "stampcheck over the recovered take's seam: every sample where its stamp says"
elif [ "$xr" != 0 ]; then
    check_rt false "stampcheck over the recovered take's seam ($xr xruns: inconclusive)"
else
    fail "stampcheck over the recovered take's seam ($dir2)"
fi
# A part that cannot be made (a file named part-02 where its folder goes):
# the take fails like at a write error, part 1 complete and kept.
t_cli start >/dev/null
dir3="$T/takes/Long/take-03"
t_wait 50 test -e "$dir3/manifest.json"
touch "$dir3/part-02"
sleep 4.5
t_cli stop >/dev/null 2>&1
t_wait 50 grep -q '"state": "failed"' "$dir3/manifest.json"
l=$(lengths "$dir3")
check 'grep -q "\"state\": \"failed\"" "$dir3/manifest.json" && grep -q "\"ended_by\": \"write error\"" "$dir3/manifest.json"' \
    "part 2 cannot be made: the take fails (state failed, ended_by write error)"
check 'grep -q "take 3: cannot create the folder of part 2, .*File exists" "$T/stemcapd.log"' \
    "and says why: $(grep -o "take 3: cannot create the folder of part 2.*" "$T/stemcapd.log" | sed "s|$T/||")"
check '[ "$(sort -u <<<"$l")" = $PART ] && [ "$(t_json "$dir3/manifest.json" "m[\"length_frames\"]")" = $PART ]' \
    "part 1 is kept whole: every file and length_frames $PART"
"$B/stemcap-check" --verify "$dir3" >"$T/verify3.out" 2>&1
rc=$?
check '[ $rc = 0 ] && [ "$(grep -c "^PASS md5" "$T/verify3.out")" = 9 ]' "stemcap-check --verify: part 1's 9 checksums hold (exit $rc)"
t_cli start >/dev/null && sleep 1 && t_cli stop >/dev/null
check 'grep -q "\"state\": \"complete\"" "$T/takes/Long/take-04/manifest.json"' "the daemon records on (take-04 complete)"
t_daemon_stop
rc=$?
check '[ $rc = 0 ]' "stemcapd exits 0"

# split_minutes out of range or not a number: one line, exit 2.
for v in -1 abc 1441; do
    printf '[capture]\nsplit_minutes = %s\n' "$v" >"$T/bad.ini"
    "$B/stemcapd" -c "$T/bad.ini" >"$T/bad.out" 2>&1
    rc=$?
    check '[ $rc = 2 ] && [ "$(grep -c split_minutes "$T/bad.out")" = 1 ] && grep -q "bad.ini:2: \[capture\] split_minutes: .$v." "$T/bad.out"' \
        "split_minutes = $v: exit $rc, $(head -1 "$T/bad.out" | cut -d" " -f3-)"
done

t_done
