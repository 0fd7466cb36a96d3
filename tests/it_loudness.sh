#!/usr/bin/env bash
# Live loudness (issue 15): stemcapd measures EBU R 128 loudness of every
# file while it writes it (libebur128, on the writer thread).  Test signals
# of EBU Tech 3341/3342 made by sox are played into stem 1 and the mix by
# the test source (-f), recorded, and every figure stemcapd wrote into
# manifest.json, the bext chunk (BWF v2) and /stemcap/stem/1/loudness is
# compared with ffmpeg's ebur128 filter reading the same file back:
# integrated loudness and LRA within 0.1 LU, true peak per side and max
# momentary / short-term within 0.1 dB.  The nominal values of the EBU
# cases are checked too.  Also: the audio MD5 in the manifest equals
# python's hashlib over the file's data chunk, and every file of a take
# carries the take's UMID in its bext chunk.
. "$(dirname "$0")/lib.sh"
t_init loudness
command -v ffmpeg >/dev/null || { echo "== loudness: skip   [ffmpeg not installed: make deps]"; exit 0; }
t_jackd

EXTRA_CAPTURE="sample_format = float" t_conf "$T/l.ini" <<CONF
[song]
title = Loud
[mastering]
max_peak_dbfs = -21
max_true_peak_dbtp = -1
limited_plr_db = 8
$(t_stems_conf Drums Bass)
CONF
t_daemon "$T/l.ini"

# near VALUE EXPECTED TOLERANCE (both numbers; "null" never matches)
near() { awk -v v="$1" -v e="$2" -v t="$3" 'BEGIN { if (v == "null" || e == "null") exit 1; d = v - e; if (d < 0) d = -d; exit !(d <= t + 1e-9) }'; }
# ffmpeg's figures of FILE: "I LRA TPK_L TPK_R MAXM MAXS" (the last
# summary and the last per-100 ms line; the maxima over those lines).
ffmpeg_figs() {
    ffmpeg -nostats -hide_banner -loglevel verbose -i "$1" -filter_complex ebur128=peak=true \
        -f null - 2>&1 | awk '
        / t: / { for (i = 1; i <= NF; i++) {
                    if ($i ~ /^M:/) { v = substr($i, 3); if (v == "") v = $(i + 1); if (v + 0 > m || !mseen) { m = v + 0; mseen = 1 } }
                    if ($i ~ /^S:/) { v = substr($i, 3); if (v == "") v = $(i + 1); if (v + 0 > s || !sseen) { s = v + 0; sseen = 1 } }
                    if ($i == "TPK:") { tl = $(i + 1); tr = $(i + 2) } } }
        /Summary:/ { insum = 1 }
        insum && $1 == "I:" { I = $2 }
        insum && $1 == "LRA:" { L = $2 }
        END { print I, L, tl, tr, m, s }'
}

# case [-w] NAME SECONDS SOX-ARGS...: the sox signal plays into stem 1 and
# the mix.  A take records from 0.5 s after its start to 1 s before its end,
# so the file holds the steady signal only; with -w it records the whole
# signal and the silence around it (signals that fade in and out: an abrupt
# start makes every true-peak interpolator ring, each differently).  Leaves
# the take folder in $TAKE.
case_take() {
    local whole=0
    [ "$1" = -w ] && { whole=1; shift; }
    local name=$1 secs=$2
    shift 2
    sox -n -r 48000 -c 2 -b 32 -e floating-point "$T/$name.wav" "$@" 2>"$T/sox.log" ||
        { fail "sox cannot make $name: $(head -1 "$T/sox.log")"; return 1; }
    t_cli song "$name" >/dev/null
    if [ $whole = 1 ]; then
        t_cli start >/dev/null || { fail "$name: no take started"; return 1; }
        t_src -f "$T/$name.wav" -d "$secs" -s 2
        wait "$T_SRC" 2>/dev/null
        t_forget "$T_SRC"
        sleep 0.5
    else
        t_src -f "$T/$name.wav" -d "$secs" -s 2
        sleep 0.5
        t_cli start >/dev/null || { fail "$name: no take started"; return 1; }
        if [ -n "${WATCH:-}" ]; then # the subscription's loudness, while recording
            timeout --preserve-status -s INT 4.5 "$B/stemcap" -p "$PORT" watch >"$T/watch.out" 2>&1
            secs=$(awk -v s="$secs" 'BEGIN { print s - 4.5 }')
        fi
        sleep "$(awk -v s="$secs" 'BEGIN { print s - 1.5 }')"
    fi
    t_cli stop >"$T/stop.out" || { fail "$name: stop failed: $(cat "$T/stop.out")"; return 1; }
    wait "$T_SRC" 2>/dev/null
    t_forget "$T_SRC"
    TAKE=$(ls -d "$T/takes/$name"/take-* | tail -1)
}

# compare NAME [nolra]: manifest vs ffmpeg of stem 1's file; "nolra" leaves
# out the loudness range (of a signal that fades in and out it depends on
# how each meter steps its short-term windows over the fades: 0.59-0.68
# against ffmpeg's 0.7-0.8).
compare() {
    local name=$1 lra=${2:-lra} file
    file=$(ls "$TAKE"/*" - Drums.wav")
    read -r mi ml mtl mtr mm ms < <(python3 - "$TAKE/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
f = [x for x in m["files"] if x["stem"] == 1][0]["loudness"]
v = lambda x: "null" if x is None else x
print(v(f["integrated_lufs"]), v(f["lra_lu"]), v(f["true_peak_dbtp"][0]), v(f["true_peak_dbtp"][1]),
      v(f["max_momentary_lufs"]), v(f["max_short_term_lufs"]))
PY
)
    read -r fi fl ftl ftr fm fs < <(ffmpeg_figs "$file")
    FIG_I=$mi FIG_LRA=$ml FIG_TP=$mtl
    if [ "$lra" = nolra ]; then
        check 'near "$mi" "$fi" 0.1' "$name: integrated $mi LUFS (ffmpeg $fi); LRA $ml LU (ffmpeg $fl), not compared"
    else
        check 'near "$mi" "$fi" 0.1 && near "$ml" "$fl" 0.1' \
            "$name: integrated $mi LUFS (ffmpeg $fi), LRA $ml LU (ffmpeg $fl)"
    fi
    check 'near "$mtl" "$ftl" 0.1 && near "$mtr" "$ftr" 0.1' \
        "$name: true peak $mtl / $mtr dBTP (ffmpeg $ftl / $ftr)"
    check 'near "$mm" "$fm" 0.1 && near "$ms" "$fs" 0.1' \
        "$name: max momentary $mm, max short-term $ms LUFS (ffmpeg $fm, $fs)"
    # The bext chunk (BWF v2): the same figures in 1/100 units, read back
    # with python from the file itself.
    read -r bver bi btp bumid < <(python3 - "$file" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
i = d.find(b"bext")
n = struct.unpack("<I", d[i + 4:i + 8])[0]
b = d[i + 8:i + 8 + n]
ver = struct.unpack("<H", b[346:348])[0]
lv, lr, tp, mm, ms = struct.unpack("<5h", b[412:422])
print(ver, lv / 100.0, tp / 100.0, b[348:380].hex())
PY
)
    local tpmax
    tpmax=$(awk -v a="$mtl" -v b="$mtr" 'BEGIN { print (a > b ? a : b) }')
    check '[ "$bver" = 2 ] && near "$bi" "$mi" 0.011 && near "$btp" "$tpmax" 0.011' \
        "$name: bext v$bver LoudnessValue $bi, MaxTruePeakLevel $btp"
    BEXT_UMID=$bumid
}

# nominal CHECK DESC: a check of the test signal's nominal figures, which
# only a take without dropped frames can meet (an xrun on a loaded machine
# puts silence into the file: the comparisons with ffmpeg still hold).
nominal() {
    local dropped
    dropped=$(t_json "$TAKE/manifest.json" 'm["dropped_frames"]')
    if [ "${dropped:-0}" != 0 ]; then
        t_skip "$2" "inconclusive: $dropped frames dropped by xruns on this machine, silence in the file"
    else
        check "$1" "$2"
    fi
}

case_take sine-23 20 synth 20 sine 1000 vol -23dB
compare "EBU 3341 case 1 (1 kHz at -23 dBFS)"
nominal 'near "$FIG_I" -23.0 0.1' "EBU 3341 case 1: integrated $FIG_I LUFS, nominal -23.0 +-0.1"

# stemcap status: the take report carries every file's loudness.
t_cli status >"$T/status.out"
nominal 'grep -q "Drums.*I -23.0 LUFS  LRA 0.0 LU  TP -23.0 dBTP" "$T/status.out"' \
    "stemcap status: $(grep Drums "$T/status.out" | sed 's/^ *//')"

# OSC: /stemcap/stem/1/loudness answers the last take's figures.
q=$(R -m /stemcap/stem/1/loudness)
check 'near "$(echo "$q" | arg 1)" "$FIG_I" 0.05' "/stemcap/stem/1/loudness: $q"
q=$(R -m /stemcap/mix/loudness)
check 'near "$(echo "$q" | arg 1)" "$FIG_I" 0.05' "/stemcap/mix/loudness: $q (the mix is stem 1 here)"

# The audio MD5 of every file equals hashlib's over its data chunk, and
# every file carries the take's UMID.
python3 - "$TAKE" >"$T/md5.out" <<'PY'
import hashlib, json, os, struct, sys
take = sys.argv[1]
m = json.load(open(os.path.join(take, "manifest.json")))
for f in m["files"]:
    d = open(os.path.join(take, f["file"]), "rb").read()
    off = 12
    while off + 8 <= len(d):
        cid, n = d[off:off + 4], struct.unpack("<I", d[off + 4:off + 8])[0]
        if cid == b"data":
            data = d[off + 8:off + 8 + n]
            break
        off += 8 + n + (n & 1)
    b = d[d.find(b"bext") + 8:]
    print(f["file"], hashlib.md5(data).hexdigest() == f["audio_md5"], b[348:380].hex() == m["umid"][:64])
PY
check '[ -s "$T/md5.out" ] && ! grep -q False "$T/md5.out"' \
    "audio_md5 and UMID of every file match: $(tr '\n' ' ' <"$T/md5.out")"

# [mastering]: the verdicts of the take in manifest.json.
verdict() { # RULE FILE-SUFFIX -> "VERDICT measured limit"
    python3 - "$TAKE/manifest.json" "$1" "$2" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for v in m.get("mastering", []):
    if v["rule"] == sys.argv[2] and (v["file"] or "").endswith(sys.argv[3]):
        print(v["verdict"], v["measured"], v["limit"])
PY
}
v1=$(verdict sample_peak "Drums.wav") v2=$(verdict true_peak "Drums.wav") v3=$(verdict plr "Mix.wav")
check '[ "${v1%% *}" = PASS ] && [ "${v2%% *}" = PASS ] && [ "${v3%% *}" = FAIL ]' \
    "mastering verdicts: Drums sample peak $v1, true peak $v2; a sine mix looks limited: PLR $v3"
check 'grep -q "the mix looks limited: peak-to-loudness ratio" "$T/stemcapd.log"' "the limited mix is named in the log"
nominal 'grep -q "mastering FAIL plr .*Mix.wav  *-\?0.0 (limit 8.0)" "$T/status.out" && grep -q "mastering PASS sample_peak .*Drums.wav  *-23.0 (limit -21.0)" "$T/status.out"' \
    "stemcap status lists the verdicts: $(grep -c mastering "$T/status.out") lines, e.g. $(grep "mastering FAIL" "$T/status.out" | head -1 | sed 's/^ *//')"

# stemcap-check --verify recomputes the checksums and reads the UMIDs of
# stemcapd's own take; one flipped byte of audio fails it.
"$B/stemcap-check" --verify "$TAKE" >"$T/verify.out" 2>&1
rc=$?
check '[ $rc = 0 ] && [ "$(grep -c "^PASS" "$T/verify.out")" -ge 6 ] && ! grep -q "^FAIL" "$T/verify.out"' \
    "stemcap-check --verify on the take: exit $rc, $(grep -c "^PASS" "$T/verify.out") PASS lines"
cp -r "$TAKE" "$T/tampered"
f="$T/tampered/$(basename "$(ls "$TAKE"/*" - Bass.wav")")"
printf '\x7f' | dd of="$f" bs=1 seek=$(($(stat -c %s "$f") - 1000)) conv=notrunc status=none
"$B/stemcap-check" --verify "$T/tampered" >"$T/verify2.out" 2>&1
rc=$?
check '[ $rc = 1 ] && grep -q "^FAIL.*Bass" "$T/verify2.out"' "a flipped byte in Bass: exit $rc, $(grep "^FAIL" "$T/verify2.out" | head -1)"

# EBU Tech 3342 case 1: 20 s at -20 dBFS, then 20 s at -30 dBFS: LRA 10 LU.
WATCH=1 case_take lra 40 synth 20 sine 1000 vol -20dB : synth 20 sine 1000 vol -30dB
n=$(grep -c "^/stemcap/stem/1/loudness " "$T/watch.out")
check '[ "$n" -ge 3 ] && grep -q "^/stemcap/mix/loudness " "$T/watch.out"' \
    "a subscriber gets the loudness once a second while recording: $n in 4.5 s, last: $(grep "^/stemcap/stem/1/loudness " "$T/watch.out" | tail -1)"
compare "EBU 3342 case 1 (-20 then -30 dBFS)"
nominal 'near "$FIG_LRA" 10 1' "EBU 3342 case 1: LRA $FIG_LRA LU, nominal 10 +-1"
check 'grep -q "^/stemcap/warning .*Drums peaks at -20.0 dBFS, not below \[mastering\] max_peak_dbfs -21.0" "$T/watch.out"' \
    "a live warning while recording: $(grep "^/stemcap/warning" "$T/watch.out" | head -1)"
v1=$(verdict sample_peak "Drums.wav")
check '[ "${v1%% *}" = FAIL ]' "mastering verdict: Drums sample peak $v1 (max_peak_dbfs -21)"

# True peak above the sample peak: a sine at fs/4 whose samples fall 45
# degrees off its crests (sample peak -9 dBFS, true peak -6 dBTP).
case_take -w truepeak 10 synth 10 sine 12000 0 12.5 vol -6dB fade 0.5 10 0.5
compare "true peak (12 kHz, 45 degrees, -6 dBFS crests)" nolra
nominal 'near "$FIG_TP" -6.0 0.2' "true peak $FIG_TP dBTP, nominal -6.0 +-0.2 (sample peak -9)"

t_done
