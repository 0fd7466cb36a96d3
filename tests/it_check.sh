#!/usr/bin/env bash
# Checks stemcap-check against delivery folders written by tests/mkstems (deterministic noise
# stems and their exact sum as the mix, with one defect at a time) and, when sox is installed,
# by sox: a clean folder passes with exit 0, every defect fails its check with exit 1 (16-bit
# and a sounding lead-in only warn), unreadable input exits 2, and --json parses.  No JACK.
. "$(dirname "$0")/lib.sh"
t_init check

CHK=$B/stemcap-check
MK=$B/tests/mkstems
for x in "$CHK" "$MK"; do
    [ -x "$x" ] || { fail "$x is not built"; t_done; }
done

# mkdel NAME MKSTEMS-ARGS...: writes the delivery folder $T/NAME.
mkdel() {
    local d=$T/$1
    shift
    mkdir -p "$d" && "$MK" "$@" "$d" || fail "mkstems $* $d"
}
# run_check NAME [ARGS...]: stemcap-check on $T/NAME; stdout in $T/NAME.out, stderr in
# $T/NAME.err, exit status in $RC.
run_check() {
    local n=$1
    shift
    "$CHK" "$@" "$T/$n" >"$T/$n.out" 2>"$T/$n.err"
    RC=$?
}
has() { grep -q -- "$2" "$T/$1.out"; }
line() { grep -- "^$2 *$3 " "$T/$1.out" | head -1; }
show() { sed 's/^/    | /' "$T/$1.out" "$T/$1.err"; }
resid() { grep -- "^[A-Z]* *null " "$T/$1.out" | grep -o 'worst residual [-0-9.]* dBFS'; }
# json_ok FILE: the file parses as JSON (python3 when present, else the keys are there).
json_ok() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -m json.tool "$1" >/dev/null
    else
        grep -q '"files"' "$1" && grep -q '"checks"' "$1" && grep -q '"null"' "$1" &&
            grep -q '"ok"' "$1"
    fi
}
json_num() { sed -n "s/^ *\"$2\": \(-\{0,1\}[0-9.]*\),\{0,1\}$/\1/p" "$1" | head -1; }

# --- clean folders -------------------------------------------------------------------------

mkdel pcm24 -n 144000 -l 2 -t 48000
run_check pcm24
check '[ $RC = 0 ]' "pcm24 wav, 4 stems + mix, 2 s lead-in: exit 0 (got $RC)"
[ "$RC" = 0 ] || show pcm24
check '[ "$(grep -c "^PASS" "$T/pcm24.out")" = 10 ] && ! grep -q "^WARN\|^FAIL" "$T/pcm24.out"' \
    "pcm24: all 10 checks PASS"
check 'line pcm24 PASS null | grep -q "worst residual -150.0 dBFS"' "pcm24: the stems null exactly ($(resid pcm24))"
check 'line pcm24 PASS lead-in | grep -q "yes: the first 2.0 s are silent"' "pcm24: lead-in silent: yes"
check 'line pcm24 PASS time-reference | grep -q "TimeReference 48000"' "pcm24: every file carries TimeReference 48000"
check 'grep -q "^ Song - Drums.wav  .*WAV 24-bit  *48000   2  *144000  *-14.0  *14.0  48000$" "$T/pcm24.out"' \
    "pcm24: table row: name, format, rate, channels, frames, peak, headroom, TimeReference"
check 'grep -q "^ Song - Mix.wav (mix) " "$T/pcm24.out"' "pcm24: the mix is found by name"

mkdel float -e float -f aiff
run_check float
check '[ $RC = 0 ]' "float aiff: exit 0 (got $RC)"
check 'line float PASS null | grep -q "worst residual -150.0 dBFS"' "float aiff: the stems null exactly"
check 'line float PASS encoding >/dev/null && grep -q "AIFF 32-bit float" "$T/float.out"' "float aiff: 32-bit float accepted"
check 'line float WARN lead-in | grep -q "^WARN lead-in  *no: every file has sound in the first 2.0 s"' \
    "float aiff: a sounding lead-in is only a WARN"
run_check float --lead-in 0
check '[ $RC = 0 ] && line float PASS lead-in | grep -q "not checked"' "--lead-in 0: not checked"

mkdel w64 -e double -m float -f w64 -c 1 -s 8
run_check w64
check '[ $RC = 0 ] && line w64 PASS stems | grep -q "^PASS stems  *8 stems"' "w64, 64-bit float, mono, 8 stems: exit 0 (got $RC)"

mkdel nomix --no-mix
echo '{"song": "Song"}' >"$T/nomix/manifest.json"
run_check nomix
check '[ $RC = 0 ]' "no mix: exit 0 (got $RC)"
check 'line nomix WARN null | grep -q "no mix file: null test skipped"' "no mix: WARN null: no mix file: null test skipped"
check 'grep -q "^ignored (not audio): manifest.json$" "$T/nomix.out"' "manifest.json is ignored"

# A mix kept elsewhere, named anything, given with --mix.
mkdel elsewhere -e float
mv "$T/elsewhere/Song - Mix.wav" "$T/bounce.wav"
run_check elsewhere --mix "$T/bounce.wav"
check '[ $RC = 0 ] && line elsewhere PASS null | grep -q "sum to bounce.wav"' "--mix FILE outside the folder: nulls, exit 0 (got $RC)"

# Stems from another tool: sox, 24-bit, mixed with unity gain and no dither.
if command -v sox >/dev/null 2>&1; then
    d=$T/sox
    mkdir -p "$d"
    sox -D -n -b 24 -r 48000 -c 2 "$d/Tune - Lead.wav" synth 2 sine 440 gain -12 &&
        sox -D -n -b 24 -r 48000 -c 2 "$d/Tune - Pad.wav" synth 2 pinknoise gain -18 &&
        sox -D -n -b 24 -r 48000 -c 2 "$d/Tune - Sub.wav" synth 2 sine 55 gain -14 &&
        sox -D -m -v 1 "$d/Tune - Lead.wav" -v 1 "$d/Tune - Pad.wav" -v 1 "$d/Tune - Sub.wav" \
            -b 24 "$d/Tune - Mix.wav" || fail "sox could not write the folder"
    run_check sox
    check '[ $RC = 0 ] && line sox PASS null >/dev/null' "sox pcm24 folder: nulls, exit 0 (got $RC; $(resid sox))"
else
    T_SKIPS=$((T_SKIPS + 1))
    echo "  skip sox pcm24 folder   [sox is not installed]"
fi

# --- one defect each -------------------------------------------------------------------------

mkdel stemshift --stem-shift 2:10
run_check stemshift
check '[ $RC = 1 ]' "a stem 10 samples late: exit 1 (got $RC)"
check 'line stemshift FAIL null | grep -q "do not sum"' "a stem 10 samples late: FAIL null ($(resid stemshift))"

mkdel mixshift --mix-shift 32 -m float
run_check mixshift
check '[ $RC = 1 ]' "the mix 32 samples late: exit 1 (got $RC)"
check 'line mixshift FAIL null | grep -q "mix lags the stems by 32 samples"' "the mix 32 samples late: mix lags the stems by 32 samples"
check 'line mixshift FAIL null | grep -q "shifted by that, the residual peak is -1[0-9][0-9].[0-9] dBFS (it would null)"' \
    "the mix 32 samples late: shifted by 32 it nulls ($(line mixshift FAIL null | grep -o 'residual peak is [-0-9.]* dBFS'))"
run_check mixshift --json
check '[ $RC = 1 ] && [ "$(json_num "$T/mixshift.out" lag)" = 32 ]' "the mix 32 samples late: JSON lag 32"

mkdel mixearly --mix-shift -100
run_check mixearly
check '[ $RC = 1 ] && line mixearly FAIL null | grep -q "mix lags the stems by -100 samples"' "the mix 100 samples early: lag -100"

mkdel length --stem-frames 3:95900
run_check length
check '[ $RC = 1 ]' "a stem of another length: exit 1 (got $RC)"
check 'line length FAIL length | grep -q "Song - Keys.wav has 95900 frames; the others have 96000"' \
    "a stem of another length: FAIL length names it"

mkdel pcm16 --stem-enc 2:pcm16
run_check pcm16
check '[ $RC = 0 ]' "a 16-bit stem: exit 0 (got $RC)"
check 'line pcm16 WARN encoding | grep -q "Song - Bass.wav is only 16-bit"' "a 16-bit stem: WARN encoding"
check 'line pcm16 PASS null >/dev/null' "a 16-bit stem: still nulls"

mkdel clip --stem-clip 1
run_check clip
check '[ $RC = 1 ]' "a clipped 24-bit stem: exit 1 (got $RC)"
check 'line clip FAIL peaks | grep -q "Song - Drums.wav reaches 0 dBFS (1 full-scale sample, first at frame 48000)"' \
    "a clipped 24-bit stem: FAIL peaks names it"
check 'grep -q "^ Song - Drums.wav .* 0.0  *0.0  -$" "$T/clip.out"' "a clipped stem: peak 0.0 dBFS, headroom 0.0 dB"

mkdel clipf --stem-clip 3 -e float
run_check clipf
check '[ $RC = 1 ] && line clipf FAIL peaks | grep -q "Song - Keys.wav reaches 0 dBFS"' "a float stem at 1.0: FAIL peaks"

mkdel mixerr --mix-error -40
run_check mixerr
check '[ $RC = 1 ]' "a mix with a -40 dB error: exit 1 (got $RC)"
check 'line mixerr FAIL null | grep -q "worst residual -40.0 dBFS"' "a mix with a -40 dB error: FAIL null, $(resid mixerr)"
check 'line mixerr FAIL null | grep -q "best aligned at lag 0"' "a mix with a -40 dB error: not a timing offset"
run_check mixerr --threshold -30
check '[ $RC = 0 ] && line mixerr PASS null >/dev/null' "--threshold -30 lets the -40 dB residual pass"
run_check mixerr --json
check '[ $RC = 1 ] && json_ok "$T/mixerr.out"' "--json parses"
r=$(json_num "$T/mixerr.out" residual_peak_db)
check 'awk -v r="$r" "BEGIN { exit !(r > -40.1 && r < -39.9) }"' "--json: residual_peak_db $r"
check 'grep -q "\"ok\": false" "$T/mixerr.out" && grep -q "\"nulls\": false" "$T/mixerr.out" &&
       grep -q "\"result\": \"fail\"" "$T/mixerr.out"' "--json: ok false, nulls false, a failed check"

mkdel rate --stem-rate 4:44100
run_check rate
check '[ $RC = 1 ]' "a stem at 44.1 kHz: exit 1 (got $RC)"
check 'line rate FAIL sample-rate | grep -q "Song - Vox.wav is at 44100 Hz; the others are at 48000 Hz"' \
    "a stem at 44.1 kHz: FAIL sample-rate names it and both rates"

# A mono stem is summed into both sides of a stereo mix (issue 16): a mix
# made that way nulls; one that holds the stem's other channel does not.
mkdel mono --stem-mono 3
run_check mono
check '[ $RC = 0 ] && line mono PASS null | grep -q "worst residual -150.0 dBFS"' "a mono stem in both sides of a stereo mix: PASS null ($(resid mono))"
check 'grep -q "^ Song - Keys.wav .* 48000   1 " "$T/mono.out"' "the mono stem is listed with 1 channel"
mkdel monobad --stem-ch 3:1
run_check monobad
check '[ $RC = 1 ] && line monobad FAIL null | grep -q "do not sum"' "a mono stem whose mix holds another right channel: FAIL null ($(resid monobad))"
mkdel monochan -c 3 --stem-ch 3:2
run_check monochan
check '[ $RC = 1 ] && line monochan FAIL null | grep -q "Song - Keys.wav has 2 channels, the mix 3"' "a stereo stem with a 3-channel mix: FAIL null, the channel counts named"

mkdel many -s 9
run_check many
check '[ $RC = 1 ] && line many FAIL stems | grep -q "9 stems: at most 8"' "9 stems: FAIL stems"

mkdel tref -t 1000 --stem-tref 2:2000
run_check tref
check '[ $RC = 1 ] && line tref FAIL time-reference | grep -q "Song - Bass.wav has 2000; the others have 1000"' \
    "another bext TimeReference: FAIL time-reference"

mkdel fmt --stem-fmt 2:flac --stem-enc 3:pcm32
run_check fmt
check '[ $RC = 1 ] && line fmt FAIL format | grep -q "Song - Bass.flac is FLAC"' "a FLAC stem: FAIL format"
check 'line fmt FAIL encoding | grep -q "Song - Keys.wav is 32-bit int"' "a 32-bit integer stem: FAIL encoding"

mkdel names
mv "$T/names/Song - Bass.wav" "$T/names/Bass.wav"
run_check names
check '[ $RC = 1 ] && line names FAIL names | grep -q "Bass.wav is not \"Song - <Stem>\""' "a stem not named \"Song - Stem\": FAIL names"

mkdel twomix
cp "$T/twomix/Song - Mix.wav" "$T/twomix/Song - Mix.aiff"
run_check twomix
check '[ $RC = 1 ] && line twomix FAIL null | grep -q "several mix files"' "two mix files: FAIL null, asks for --mix"
run_check twomix --mix "$T/twomix/Song - Mix.wav"
check '[ $RC = 0 ]' "two mix files and --mix: exit 0 (got $RC)"

mkdir -p "$T/empty"
run_check empty
check '[ $RC = 1 ] && line empty FAIL stems | grep -q "no stems"' "an empty folder: FAIL stems"

# --- unreadable input and usage ------------------------------------------------------------

run_check missing
check '[ $RC = 2 ] && grep -q "missing: No such file or directory" "$T/missing.err" && ! [ -s "$T/missing.out" ]' \
    "a missing folder: exit 2 (got $RC)"
mkdel broken
echo "not audio at all" >"$T/broken/Song - Keys.wav"
run_check broken
check '[ $RC = 2 ] && grep -q "Song - Keys.wav: " "$T/broken.err"' "an unreadable file: exit 2, named ($(cat "$T/broken.err"))"
run_check pcm24 --mix "$T/none.wav"
check '[ $RC = 2 ]' "a missing --mix file: exit 2"
run_check pcm24 --threshold loud
check '[ $RC = 2 ] && grep -q "bad threshold" "$T/pcm24.err"' "a bad --threshold: exit 2"
"$CHK" >/dev/null 2>&1
check '[ $? = 2 ]' "no folder: exit 2"
check '"$CHK" --version | grep -q "^stemcap-check [0-9]"' "--version"
check '"$CHK" --help | grep -q "^Usage: stemcap-check"' "--help"

run_check pcm24 --json
check '[ $RC = 0 ] && json_ok "$T/pcm24.out" && grep -q "\"ok\": true" "$T/pcm24.out" && grep -q "\"nulls\": true" "$T/pcm24.out"' \
    "--json on the clean folder parses: ok true, nulls true"
check 'grep -q "\"time_reference\": 48000" "$T/pcm24.out" && grep -q "\"role\": \"mix\"" "$T/pcm24.out"' \
    "--json: time_reference and the mix's role"
t_done
