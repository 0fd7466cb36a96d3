#!/usr/bin/env bash
# stemcap-check --profile and --verify on folders made by sox and python3: the built-in
# profiles' rules (PASS/FAIL with the figure, in text and JSON), a house INI profile and its
# file:line error for an unknown key (exit 2); a take folder whose manifest.json carries each
# file's audio MD5 (computed here by python3's own chunk walk and hashlib) and the take's UMID
# (written into the WAV files' bext with python3): PASS, then one flipped audio byte -> FAIL
# (exit 1), and a manifest without checksums -> a warning, exit 0.  No JACK.
. "$(dirname "$0")/lib.sh"
t_init check_rules

CHK=$B/stemcap-check
[ -x "$CHK" ] || { fail "$CHK is not built"; t_done; }
for x in sox python3; do
    command -v $x >/dev/null 2>&1 || { t_skip "$x is not installed"; t_done; }
done

# --- profiles: four 24-bit stems and their sum, at -20 dBFS, 48 kHz ---------------------------
D=$T/del
mkdir -p "$D"
for s in Drums:100 Bass:200 Keys:300 Vox:400; do
    sox -D -q -n -r 48000 -b 24 -c 2 "$D/Song - ${s%%:*}.wav" synth 10 sine "${s#*:}" vol -20dB
done
sox -D -q -m -v 1 "$D/Song - Drums.wav" -v 1 "$D/Song - Bass.wav" -v 1 "$D/Song - Keys.wav" \
    -v 1 "$D/Song - Vox.wav" "$D/Song - Mix.wav"
run() { "$CHK" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
run --profile ni-stems --lead-in 0 "$D"
check '[ "$RC" = 0 ] && grep -q "^PASS stem-count  *4 stems: exactly 4" "$T/out"' "ni-stems: 4 stems + mix PASS, exit 0 ($(grep stem-count "$T/out"))"
check 'grep -q "^profile: ni-stems$" "$T/out"' "the report names the profile"
run --profile atmos "$D"
check '[ "$RC" = 1 ] && grep -q "^PASS rate " "$T/out" && grep -q "^PASS true-peak " "$T/out" &&
       grep -q "^FAIL max-loudness  *Song - Mix.wav: -15.1 LUFS" "$T/out"' \
    "atmos: rate, true peak PASS; a -15.1 LUFS mix fails <= -18 LKFS, exit 1 ($(grep '^[A-Z]* max-loudness' "$T/out"))"
sox -D -q -n -r 48000 -b 24 -c 2 "$D/Song - Pad.wav" synth 10 sine 500 vol -20dB
run --profile ni-stems --lead-in 0 "$D"
check '[ "$RC" = 1 ] && grep -q "^FAIL stem-count  *5 stems: exactly 4" "$T/out"' "ni-stems: 5 stems FAIL, exit 1"
run --profile ni-stems --lead-in 0 --json "$D"
check '[ "$(t_json "$T/out" "[r['"'result'"'] for r in m['"'profile'"']['"'rules'"'] if r['"'key'"'] == '"'stems'"'][0]")" = fail ] &&
       [ "$(t_json "$T/out" "m['"'profile'"']['"'name'"']")" = ni-stems ]' "--json: profile name and the stems rule's verdict"
rm "$D/Song - Pad.wav"
sox -D -q -n -r 48000 -b 24 -c 2 "$D/Song - Pad.wav" synth 10 sine 500 vol -3dB
run --profile config/profiles/house-example.ini "$D"
check '[ "$RC" = 1 ] && grep -q "^FAIL sample-peak  *Song - Pad.wav: -3.0 dBFS" "$T/out"' \
    "house-example.ini: a -3 dBFS stem fails max_sample_peak_dbfs -6 ($(grep '^[A-Z]* sample-peak' "$T/out"))"
printf '[profile]\nname = x\nmax_peak_dbfs = -6\n' >"$T/bad.ini"
run --profile "$T/bad.ini" "$D"
check '[ "$RC" = 2 ] && grep -qx "stemcap-check: $T/bad.ini:3: unknown key '"'max_peak_dbfs'"'" "$T/err"' \
    "an unknown key: one line naming file:line and key, exit 2 ($(cat "$T/err"))"
run --profile nosuch "$D"
check '[ "$RC" = 2 ]' "an unknown profile name: exit 2"

# --- verify: a take folder with a manifest ----------------------------------------------------
V=$T/take
mkdir -p "$V"
sox -D -q -n -r 48000 -b 24 -c 2 "$V/take-1 Drums.wav" synth 3 sine 440 vol -20dB
sox -D -q -n -r 48000 -b 24 -c 1 "$V/take-1 Bass.aiff" synth 3 sine 110 vol -20dB
sox -D -q -n -r 48000 -b 16 -c 2 "$V/take-1 Mix.wav" synth 3 sine 220 vol -20dB pad 0 0.00001
UMID=$(python3 -c 'print("060a2b340101010501010d4313" + "00" * 19)')
# bext with the UMID into the WAV files, then the manifest: python3's own chunk walk.
python3 - "$V" "$UMID" <<'PY' || fail "python3 manifest"
import hashlib, json, os, struct, sys
d, umid = sys.argv[1], bytes.fromhex(sys.argv[2])
def add_bext(p):
    b = open(p, "rb").read()
    bext = b"\0" * 256 + b"\0" * 32 + b"\0" * 32 + b"\0" * 10 + b"\0" * 8 + b"\0" * 8 + b"\1\0" + umid + b"\0" * 32 + b"\0" * 190
    body = b[12:] + b"bext" + struct.pack("<I", len(bext)) + bext
    open(p, "wb").write(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body)
def audio(p):
    b = open(p, "rb").read()
    big = b[:4] == b"FORM"
    i = 12
    while i + 8 <= len(b):
        cid, n = b[i:i + 4], struct.unpack(">I" if big else "<I", b[i + 4:i + 8])[0]
        if cid == b"data":
            return b[i + 8:i + 8 + n]
        if cid == b"SSND":
            off = struct.unpack(">I", b[i + 8:i + 12])[0]
            return b[i + 16 + off:i + 8 + n]
        i += 8 + n + (n & 1)
    raise SystemExit("no audio chunk in " + p)
files = []
for n in sorted(os.listdir(d)):
    p = os.path.join(d, n)
    if n.endswith(".wav"):
        add_bext(p)
    files.append({"file": n, "audio_md5": hashlib.md5(audio(p)).hexdigest()})
json.dump({"umid": umid.hex(), "files": files}, open(os.path.join(d, "manifest.json"), "w"), indent=2)
PY
run --verify "$V"
check '[ "$RC" = 0 ] && [ "$(grep -c "^PASS md5 " "$T/out")" = 3 ] && [ "$(grep -c "^PASS umid .*the take.s UMID" "$T/out")" = 2 ]' \
    "verify: 3 files' MD5 and 2 WAV UMIDs PASS, exit 0"
check 'grep -q "^PASS umid  *take-1 Bass.aiff: no bext chunk" "$T/out"' "verify: the AIFF file's UMID skipped with a note"
sed 's/^/    | /' "$T/out"
# flip one audio byte of the mix, 100 bytes into its data chunk
python3 - "$V/take-1 Mix.wav" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
i = b.index(b"data") + 8 + 100
b[i] ^= 0x01
open(p, "wb").write(bytes(b))
PY
run --verify "$V"
check '[ "$RC" = 1 ] && grep -q "^FAIL md5  *take-1 Mix.wav: audio MD5 [0-9a-f]\{32\}, the manifest says" "$T/out"' \
    "verify: one flipped audio byte -> FAIL, exit 1 ($(grep '^FAIL' "$T/out"))"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); [f.pop("audio_md5") for f in m["files"]]; json.dump(m, open(sys.argv[1], "w"))' "$V/manifest.json"
run --verify "$V"
check '[ "$RC" = 0 ] && grep -q "^WARN md5  *no checksums recorded" "$T/out"' "verify: no audio_md5 members -> WARN, exit 0"
t_done
