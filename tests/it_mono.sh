#!/usr/bin/env bash
# Mono stems (issue 16): [stemN] channels = 1 registers one port, stemcap:stemN
# (no _L/_R), and writes a one-channel file; the live null test and
# stemcap-check add a mono stem into both sides of the stems' sum.  Three
# mono stems (1, 3, 5) and five stereo ones are recorded from the test
# source, whose mix has the mono stems' L channel in both sides (-M): every
# file matches the source (checktake, bit-exact for float, 1 LSB for integer
# PCM, AIFF's big-endian too), the take nulls live and in stemcap-check, the
# manifest says each file's channels, the audio MD5 of the mono files is
# right (stemcap-check --verify), and a mono file's loudness agrees with
# ffmpeg's ebur128 within 0.1 LU.  A mix that holds the mono stems' other
# channel in its right side does not null.  channels = 3 and a mono stem
# with connect_right are configuration errors.
. "$(dirname "$0")/lib.sh"
t_init mono
t_jackd

# Configuration errors: exit 2, one line naming file:line and key.
printf '[stem2]\nchannels = 3\n' >"$T/bad.ini"
"$B/stemcapd" -c "$T/bad.ini" >"$T/bad.out" 2>&1
rc=$?
check '[ $rc = 2 ] && [ "$(grep -c channels "$T/bad.out")" = 1 ] &&
       grep -q "bad.ini:2: \[stem2\] channels: '"'"'3'"'"' is not a number of channels from 1 to 2" "$T/bad.out"' \
    "channels = 3: exit $rc, $(grep channels "$T/bad.out" | cut -d' ' -f3-)"
printf '[stem4]\nchannels = 1\nconnect_left = a:b\nconnect_right = a:c\n' >"$T/bad2.ini"
"$B/stemcapd" -c "$T/bad2.ini" >"$T/bad2.out" 2>&1
rc=$?
check '[ $rc = 2 ] && grep -q "bad2.ini:4: \[stem4\] connect_right: a mono stem" "$T/bad2.out"' \
    "a mono stem with connect_right: exit $rc, $(grep connect_right "$T/bad2.out" | cut -d' ' -f3- | cut -c1-60)..."

# mono_conf FILE FORMAT SAMPLE_FORMAT
mono_conf() {
    EXTRA_CAPTURE="format = $2
sample_format = $3" t_conf "$1" <<CONF
[song]
title = Mono
[null]
threshold_db = -60
[mix]
connect_left = stemcap-src:mix_L
connect_right = stemcap-src:mix_R
[stem1]
name = Kick
channels = 1
connect_left = stemcap-src:stem1_L
[stem2]
name = Keys
channels = 2
connect_left = stemcap-src:stem2_L
connect_right = stemcap-src:stem2_R
[stem3]
name = Bass
channels = 1
connect_left = stemcap-src:stem3_L
[stem4]
name = Pads
connect_left = stemcap-src:stem4_L
connect_right = stemcap-src:stem4_R
[stem5]
name = Vox
channels = 1
connect_left = stemcap-src:stem5_L
$(for k in 6 7 8; do printf '[stem%d]\nconnect_left = stemcap-src:stem%d_L\nconnect_right = stemcap-src:stem%d_R\n' $k $k $k; done)
CONF
}
FILES=(Kick:0 Keys:2,3 Bass:4 Pads:6,7 Vox:8 "Stem 6:10,11" "Stem 7:12,13" "Stem 8:14,15" Mix:16,17)

# The source: stems 1, 3 and 5 mono in its mix.
t_src -m noise -M 1,3,5

# take FORMAT SAMPLE_FORMAT EXT TOLERANCE: records 2 s, checks every file;
# leaves the folder in $DIR.
take() {
    local fmt=$1 sf=$2 ext=$3 tol=$4
    mono_conf "$T/$fmt-$sf.ini" "$fmt" "$sf"
    t_daemon "$T/$fmt-$sf.ini"
    t_cli song "Mono $fmt $sf" >/dev/null
    sleep 0.5
    t_mark
    t_cli start >/dev/null || fail "$fmt/$sf: start"
    sleep 2
    t_cli stop >/dev/null || fail "$fmt/$sf: stop"
    DIR=$(t_take_dir)
    local args=() f
    for f in "${FILES[@]}"; do args+=("$DIR/Mono $fmt $sf - ${f%%:*}.$ext:${f#*:}"); done
    local chans
    chans=$(for a in "${args[@]}"; do soxi -c "${a%:*}" 2>/dev/null; done | tr '\n' ' ')
    check '[ "$chans" = "1 2 1 2 1 2 2 2 2 " ]' "$fmt/$sf: sox reads 1 and 2 channels: Kick Keys Bass Pads Vox Stem6-8 Mix = $chans"
    t_checktake "$fmt/$sf: every file matches the source, the mono ones their stem's L" \
        -m noise -M 1,3,5 -l "$tol" --min-frames 76800 "${args[@]}"
    n=$(R -m /stemcap/null)
    check_rt '[ "$(echo "$n" | arg 5)" = 0 ] && awk -v p="$(echo "$n" | arg 3)" "BEGIN { exit !(p < -60) }"' \
        "$fmt/$sf: the live null holds with the mono stems in both sides (take worst $(echo "$n" | arg 3) dBFS)"
}

take wav float wav 0
# Ports: one per mono stem, two per stereo stem.
ports=$($JACKRUN jack_lsp | grep '^stemcap:' | tr '\n' ' ')
check '[ "$ports" = "stemcap:stem1 stemcap:stem2_L stemcap:stem2_R stemcap:stem3 stemcap:stem4_L stemcap:stem4_R stemcap:stem5 stemcap:stem6_L stemcap:stem6_R stemcap:stem7_L stemcap:stem7_R stemcap:stem8_L stemcap:stem8_R stemcap:mix_L stemcap:mix_R " ]' \
    "jack_lsp: $ports"
check '$JACKRUN jack_lsp -c stemcap:stem3 | grep -q "^   stemcap-src:stem3_L$"' "stemcap:stem3 is connected to connect_left (stemcap-src:stem3_L)"
check '$JACKRUN jack_lsp -p stemcap:stem5 | grep -q "input"' "stemcap:stem5 is an input port"
# /stemcap/stems: the mono stem's right port is "" (the reply's types stay).
st=$(R -k 9 -m /stemcap/stems | grep '^/stemcap/stem ' | sed -n 3p)
check '[ "$(echo "$st" | arg 4)" = stemcap:stem3 ] && echo "$st" | grep -q " s:stemcap:stem3 s:$"' "/stemcap/stem for stem 3: $st"
# Levels: the mono stem's figures on both sides.
l=$(R -m /stemcap/stem/1/level)
check '[ "$(echo "$l" | arg 1)" = "$(echo "$l" | arg 2)" ] && [ "$(echo "$l" | arg 5)" = "$(echo "$l" | arg 6)" ] &&
       awk -v p="$(echo "$l" | arg 5)" "BEGIN { exit !(p > -40 && p < 0) }"' "stem 1 level: both sides the same ($l)"
# Manifest: channels per file.
M="$DIR/manifest.json"
ch=$(t_json "$M" '" ".join("%s=%d" % (f["name"], f["channels"]) for f in m["files"])')
check '[ "$ch" = "Kick=1 Keys=2 Bass=1 Pads=2 Vox=1 Stem 6=2 Stem 7=2 Stem 8=2 Mix=2" ]' "manifest channels: $ch"
# stemcap-check: the take nulls with the mono stems in both sides, and the
# MD5s of the mono files' audio bytes are right.
"$B/stemcap-check" "$DIR" >"$T/sc.out" 2>&1
rc=$?
check_rt 'grep -q "^PASS null" "$T/sc.out"' "stemcap-check: $(grep null "$T/sc.out" | head -1 | cut -c1-110)"
check 'grep -Eq "^ Mono wav float - Kick.wav .* 48000 +1 " "$T/sc.out"' "stemcap-check lists Kick with 1 channel"
check '! grep -q "^FAIL" "$T/sc.out"' "stemcap-check fails nothing (exit $rc)"
"$B/stemcap-check" --verify "$DIR" >"$T/v.out" 2>&1
rc=$?
check '[ $rc = 0 ] && [ "$(grep -c "^PASS" "$T/v.out")" -ge 9 ]' "stemcap-check --verify: the audio MD5 of all 9 files (3 mono) matches (exit $rc)"
# Loudness of a mono file: ffmpeg's ebur128 agrees within 0.1 LU.
if command -v ffmpeg >/dev/null; then
    f="$DIR/Mono wav float - Bass.wav"
    ff=$(ffmpeg -nostats -hide_banner -i "$f" -filter_complex ebur128 -f null - 2>&1 |
        awk '/Summary:/ { s = 1 } s && $1 == "I:" { i = $2 } END { print i }')
    me=$(t_json "$M" '[f for f in m["files"] if f["name"] == "Bass"][0]["loudness"]["integrated_lufs"]')
    check 'awk -v a="$ff" -v b="$me" "BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != \"\" && d <= 0.1) }"' \
        "mono Bass: integrated $me LUFS, ffmpeg ebur128 $ff LUFS (within 0.1 LU)"
    tp=$(t_json "$M" '"%s/%s" % tuple([f for f in m["files"] if f["name"] == "Bass"][0]["loudness"]["true_peak_dbtp"])')
    check '[ "${tp%/*}" = "${tp#*/}" ]' "mono Bass: true peak the same on both sides ($tp)"
else
    t_skip "mono loudness against ffmpeg" "ffmpeg not installed"
fi
t_daemon_stop || fail "wav/float: stemcapd exit status"

take wav pcm24 wav 1
# channels is not live: SIGHUP names it as needing a restart; the port stays.
sed -i '0,/^channels = 1$/s//channels = 2/' "$T/wav-pcm24.ini"
kill -HUP "$T_DAEMON"
t_wait 50 grep -q "need a restart.*\[stem1\] channels" "$T/stemcapd.log"
check 'grep -q "need a restart of stemcapd (not applied): \[stem1\] channels" "$T/stemcapd.log" &&
       $JACKRUN jack_lsp | grep -qx stemcap:stem1' "SIGHUP with [stem1] channels = 2: needs a restart, stemcap:stem1 stays"
t_daemon_stop || fail "wav/pcm24: stemcapd exit status"
take aiff pcm16 aiff 1
"$B/stemcap-check" --verify "$DIR" >"$T/v.out" 2>&1
check '[ $? = 0 ]' "aiff/pcm16: stemcap-check --verify: audio MD5s match (big-endian mono packing)"

# A mix with the mono stems' other channel on its right side: no null.
kill "$T_SRC"
wait "$T_SRC" 2>/dev/null
t_forget "$T_SRC"
t_src -m noise
sleep 0.5
t_mark
t_cli start >/dev/null
sleep 1
t_cli stop >/dev/null
DIR=$(t_take_dir)
n=$(R -m /stemcap/null)
check '[ "$(echo "$n" | arg 5)" = 1 ]' "a mix with the mono stems in its left side only: the live null flags the take (worst $(echo "$n" | arg 3) dBFS)"
"$B/stemcap-check" "$DIR" >"$T/sc2.out" 2>&1
rc=$?
check '[ $rc = 1 ] && grep -q "^FAIL null" "$T/sc2.out"' "stemcap-check: FAIL null, exit $rc ($(grep null "$T/sc2.out" | head -1 | cut -c1-90))"
t_daemon_stop || fail "aiff/pcm16: stemcapd exit status"
kill "$T_SRC"
wait "$T_SRC" 2>/dev/null
t_forget "$T_SRC"

# Latency: stem 2 (stereo) behind a declared 64-frame path, mono stem 3
# behind 32: the mono stems' right slots get compensation lines of their
# own (64 for stems 1 and 5, 32 for stem 3), the live null still holds,
# and every file lines up with the transport frame.
coproc DAW { $JACKRUN "$B/tests/stemcap-testdaw" -m noise -L 2:64 -L 3:32 -O 1,3,5 2>"$T/daw.log"; }
T_PIDS+=("$DAW_PID")
daw() { daw_cmd "${DAW[1]}" "${DAW[0]}" 20 "$@"; }
read -r -t 20 line <&"${DAW[0]}"
check '[ "$line" = ready ]' "test DAW ready (-L 2:64 -L 3:32 -O 1,3,5)"
mono_conf "$T/lat.ini" wav float
sed -i 's/stemcap-src:/stemcap-daw:/; s/^\[capture\]$/[capture]\nfollow_transport = true/' "$T/lat.ini"
sed -i 's/stemcap-src:/stemcap-daw:/g' "$T/lat.ini"
t_daemon "$T/lat.ini"
t_cli song "Latent" >/dev/null
t_mark
daw locate 48000 && daw play && daw wait-rolling && daw sleep 1500 && daw stop && daw wait-stopped
t_wait 50 sh -c "\"$B/tests/oscraw\" -p $PORT -m /stemcap/status | grep -q 's:waiting'"
DIR="$T/takes/Latent/take-01"
args=()
for f in "${FILES[@]}"; do args+=("$DIR/Latent - ${f%%:*}.wav:${f#*:}"); done
"$B/tests/checktake" -m noise -M 1,3,5 -l 0 --offset 48000 "${args[@]}" >"$T/check.out" 2>&1
T_RC=$?
[ $T_RC = 0 ] || head -3 "$T/check.out"
check_rt '[ $T_RC = 0 ]' "latent take: every file matches the source from transport frame 48000 ($(tail -1 "$T/check.out"))"
lat=$(t_json "$DIR/manifest.json" '" ".join("%s=%s" % (f["name"], f["latency_frames"]) for f in m["files"][:3])')
check '[ "$lat" = "Kick=[0, 0] Keys=[64, 64] Bass=[32, 32]" ]' "manifest latency_frames: $lat"
check_rt 'grep -q "\"flagged\": false" "$DIR/manifest.json"' "latent take: the live null holds (latency-compensated, mono in both sides)"
"$B/stemcap-check" "$DIR" >"$T/sc3.out" 2>&1
check_rt 'grep -q "^PASS null" "$T/sc3.out"' "latent take: stemcap-check PASS null"
t_daemon_stop || fail "latent: stemcapd exit status"
t_done
