#!/usr/bin/env bash
# stemcap-check's loudness figures against ffmpeg's ebur128 filter, and its noise floor: a
# delivery folder of EBU Tech 3341/3342-style signals made by sox and python3 (a 1 kHz sine at
# -23 dBFS, -20 then -30 dBFS for the loudness range, a 0 dBFS sine at fs/4 with a 45-degree
# phase whose true peak is 3 dB above its sample peak, tone bursts over -50 and -90 dBFS
# white noise, a silent stem), --json figures compared with ffmpeg's within 0.1 LU / 0.1 dB,
# and --noise-floor warning on the hissy stem only.  No JACK.
. "$(dirname "$0")/lib.sh"
t_init loudness_check

CHK=$B/stemcap-check
[ -x "$CHK" ] || { fail "$CHK is not built"; t_done; }
for x in sox ffmpeg python3; do
    command -v $x >/dev/null 2>&1 || { t_skip "$x is not installed"; t_done; }
done

D=$T/del
mkdir -p "$D"
SOX="sox -R -D -q -n -r 48000 -b 24 -c 2"
# mk NAME SOX-SYNTH...: "$D/Song - NAME.wav", 48 kHz 24-bit stereo, from sox's synth.
mk() {
    local n=$1
    shift
    $SOX "$D/Song - $n.wav" "$@" || fail "sox $n"
}
mk Drums synth 40 sine 1000 vol -23dB
$SOX "$T/a.wav" synth 20 sine 1000 vol -20dB && $SOX "$T/b.wav" synth 20 sine 1000 vol -30dB &&
    sox -D -q "$T/a.wav" "$T/b.wav" "$D/Song - Bass.wav" || fail "sox Bass"
# Keys: fs/4 at a 45-degree phase, samples +a +a -a -a at 24-bit full scale: true peak +3.01,
# faded in over 100 ms (an abrupt start overshoots, by 0.1 dB in libebur128's interpolator
# and 0.6 dB in ffmpeg's: that would compare the filters' step responses, not the meters).
python3 - "$D/Song - Keys.wav" <<'PY' || fail "python3 Keys"
import math, struct, sys, wave
a, fade = 8388607, 4800
q = [1, 1, -1, -1]
pk = lambda v: struct.pack("<i", int(round(v)))[:3] * 2
head = b"".join(pk(a * q[i % 4] * (0.5 - 0.5 * math.cos(math.pi * i / fade))) for i in range(fade))
w = wave.open(sys.argv[1], "wb")
w.setnchannels(2); w.setsampwidth(3); w.setframerate(48000)
w.writeframes(head + b"".join(pk(a * v) for v in q) * ((48000 * 40 - fade) // 4))
w.close()
PY
# tone bursts (2 s of -20 dBFS, 2 s off) over white noise (sox -R: the same every run) of RMS
# -50 or -90 dBFS (sox's white noise is uniform: RMS = amplitude / sqrt(3)).
$SOX "$T/bursts.wav" synth 2 sine 440 vol -20dB pad 0 2 repeat 9 || fail "sox bursts"
for n in Pad:-50 Strings:-90; do
    amp=$(python3 -c "print(10 ** (${n#*:} / 20) * 3 ** 0.5)")
    $SOX "$T/noise.wav" synth 40 whitenoise vol "$amp" &&
        sox -D -q -m -v 1 "$T/bursts.wav" -v 1 "$T/noise.wav" "$D/Song - ${n%%:*}.wav" ||
        fail "sox ${n%%:*}"
done
mk Click trim 0 40
sox -D -q -m -v 1 "$D/Song - Drums.wav" -v 1 "$D/Song - Bass.wav" "$D/Song - Mix.wav" ||
    fail "sox Mix"

"$CHK" --json --noise-floor -60 "$D" >"$T/check.json" 2>"$T/check.err"
RC=$?
check '[ "$RC" = 0 ] || [ "$RC" = 1 ]' "stemcap-check --json ran (exit $RC)"
check 'python3 -m json.tool "$T/check.json" >/dev/null' "the JSON report parses"
"$CHK" --noise-floor -60 "$D" >"$T/check.txt" 2>&1

# ffmpeg's figures for each file: its 10 Hz lines (M, S: one decimal) into $T/NAME.ffraw, its
# frame metadata (I, LRA, the running true peak per channel: three decimals) into $T/NAME.ffmd.
for f in "$D"/*.wav; do
    n=$(basename "$f" .wav)
    ffmpeg -nostats -hide_banner -i "$f" -filter_complex ebur128=peak=true -f null - \
        >"$T/$n.ffraw" 2>&1 &&
        ffmpeg -nostats -hide_banner -i "$f" -filter_complex \
            "ebur128=peak=true:metadata=1,ametadata=print:file=$T/$n.ffmd" -f null - \
            >/dev/null 2>&1 || fail "ffmpeg on $n"
done

python3 - "$T/check.json" "$T" >"$T/compare.out" <<'PY'
import json, math, re, sys
rep = json.load(open(sys.argv[1]))
tol = 0.1 + 1e-9
num = lambda s: -math.inf if s == "-inf" else float(s)
for f in rep["files"]:
    name = f["name"][:-4]
    if name.endswith("Click"):
        continue
    raw = open(f"{sys.argv[2]}/{name}.ffraw").read()
    lines = re.findall(r"t:\s*\S+\s+TARGET:\S+ LUFS\s+M:\s*(\S+)\s+S:\s*(\S+)", raw)
    md = dict(l.strip().split("=", 1) for l in open(f"{sys.argv[2]}/{name}.ffmd") if "=" in l)
    tp = lambda c: 20 * math.log10(float(md["lavfi.r128.true_peaks_ch%d" % c]))
    ff = {
        "integrated_lufs": float(md["lavfi.r128.I"]),
        "lra_lu": float(md["lavfi.r128.LRA"]),
        "max_momentary_lufs": max(num(m) for m, s in lines),
        "max_short_term_lufs": max(num(s) for m, s in lines),
        "true_peak_dbtp": [round(tp(0), 3), round(tp(1), 3)],
    }
    ours = f["loudness"]
    for k, v in ff.items():
        for side, (a, b) in enumerate(zip(ours[k], v) if isinstance(v, list) else [(ours[k], v)]):
            key = k + ("[%s]" % "LR"[side] if isinstance(v, list) else "")
            ok = a is not None and abs(a - b) <= tol
            print("%s %s %s: ours %s, ffmpeg %s" % ("ok" if ok else "BAD", f["name"], key,
                                                  a, b))
PY
while read -r v rest; do
    check '[ "$v" = ok ]' "$rest"
done <"$T/compare.out"
check '[ "$(grep -c . "$T/compare.out")" = 36 ]' "36 figures compared (6 files: I, LRA, max M, max S, true peak L and R)"

jq_() { t_json "$T/check.json" "$1"; }
fig() { jq_ "[f for f in m['files'] if f['name'] == 'Song - $1.wav'][0]$2"; }
check 'python3 -c "import sys; sys.exit(not abs($(fig Drums "['"'loudness'"']['"'integrated_lufs'"']") + 23) <= 0.1)"' \
    "Drums (1 kHz at -23 dBFS): -23.0 LUFS ($(fig Drums "['loudness']['integrated_lufs']"))"
check 'python3 -c "import sys; sys.exit(not abs($(fig Bass "['"'loudness'"']['"'lra_lu'"']") - 10) <= 0.1)"' \
    "Bass (-20 then -30 dBFS): LRA 10 LU ($(fig Bass "['loudness']['lra_lu']"))"
check 'python3 -c "import sys; sys.exit(not abs($(fig Keys "['"'loudness'"']['"'true_peak_dbtp'"'][0]") - 3.01) <= 0.1)"' \
    "Keys (fs/4, 45 degrees, 0 dBFS samples): true peak +3.0 dBTP ($(fig Keys "['loudness']['true_peak_dbtp']"))"
check '[ "$(fig Click "['"'loudness'"']")" = "{'"'integrated_lufs'"': None, '"'lra_lu'"': 0.0, '"'true_peak_dbtp'"': [None, None], '"'max_momentary_lufs'"': None, '"'max_short_term_lufs'"': None}" ]' \
    "Click (digital silence): null for -inf ($(fig Click "['loudness']"))"
check '[ "$(fig Click "['"'noise_floor_dbfs'"']")" = None ]' "Click: noise floor null (no window with sound)"

# Noise floor: the 10th percentile of the 400 ms RMS windows.
pad=$(fig Pad "['noise_floor_dbfs']") str=$(fig Strings "['noise_floor_dbfs']")
check 'python3 -c "import sys; sys.exit(not abs($pad + 50) <= 1)"' "Pad (-50 dBFS hiss under bursts): noise floor $pad dBFS"
check 'python3 -c "import sys; sys.exit(not abs($str + 90) <= 1)"' "Strings (-90 dBFS hiss under bursts): noise floor $str dBFS"
check 'grep "^WARN noise-floor " "$T/check.txt" | grep -q "Song - Pad.wav (-50.0 dBFS).*: noise floor above -60.0 dBFS"' \
    "--noise-floor -60: WARN names the -50 dBFS stem"
check '! grep "^WARN noise-floor" "$T/check.txt" | grep -q Strings' "... and not the -90 dBFS one"
check 'grep -q "^ Loudness  *LUFS  *LRA LU  *True peak dBTP  *Max M  *Max S  *Floor dBFS$" "$T/check.txt" &&
       grep -q "^ Song - Drums.wav  *-2[23]\.[09]  *0\.0  *-23\.0/-23\.0 " "$T/check.txt"' "the text report has the loudness table"
"$CHK" "$D" >"$T/plain.txt" 2>&1
check '! grep -q "noise-floor" "$T/plain.txt"' "without --noise-floor: no noise-floor check line"
sed 's/^/    | /' "$T/compare.out"
t_done
