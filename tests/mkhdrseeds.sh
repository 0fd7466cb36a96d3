#!/usr/bin/env bash
# mkhdrseeds.sh [DIR] — makes the seed corpus of tests/fuzz_hdr.c (default
# tests/corpus/hdr/) from real takes: stemcapd records a take in each format
# it writes (WAV as RF64 with auto-downgrade, AIFF, AIFC float, W64) from the
# test source on a private jackd -d dummy; each take is cut to under 8 KB per
# file and repaired by stemcapd's own startup recovery (a copy of the take
# whose manifest says "recording"), so the seeds are stemcapd's headers with
# consistent sizes.  Two takes are SIGKILLed 0.8 s in, before the first
# header update with frames, and cut without a repair (their headers say 0
# frames, audio follows).  [mix] auto_offset is off so that the files get
# audio at once, not after the lag of the mix is measured.  RF64 proper comes from libsndfile
# (tests/mkstems -f rf64), and a few files from sox, whose headers differ.
# Not part of `make test`; run it again when the writer's headers change.
. "$(dirname "$0")/lib.sh"
OUT=$(cd "${1:-$TOP/tests/corpus/hdr}" 2>/dev/null && pwd) || { echo "no folder ${1:-}"; exit 2; }
t_init hdrseeds
t_jackd
t_src -m noise
CUT=7000 # bytes per file before the repair: header and some audio

# record SONG FORMAT SAMPLE_FORMAT SECONDS [kill]: a killed take's files go
# to $T/killed at once (the next start would repair them).
record() {
    EXTRA_CAPTURE="format = $2
sample_format = $3" t_conf "$T/$1.ini" <<CONF
[song]
title = $1
$(t_stems_conf Drums | sed '/^\[mix\]$/a auto_offset = false')
CONF
    t_daemon "$T/$1.ini"
    t_cli start >/dev/null
    sleep "$4"
    if [ "${5:-}" = kill ]; then
        kill -KILL "$T_DAEMON"
        wait "$T_DAEMON" 2>/dev/null
        t_forget "$T_DAEMON"
        mkdir -p "$T/killed"
        cp "$T/takes/$1/take-01"/*" - Mix".* "$T/killed/"
    else
        t_cli stop >/dev/null
        t_daemon_stop
    fi
}

record wav-pcm24 wav pcm24 0.3
record wav-float wav float 0.3
record aiff-pcm24 aiff pcm24 0.3
record aifc-float aiff float 0.3
record w64-double w64 double 0.3
record killed-wav wav pcm24 0.8 kill
record killed-w64 w64 pcm24 0.8 kill

# A copy of every finished take, cut short and marked "recording": the next
# start of stemcapd repairs it.
mkdir -p "$T/shrink"
for d in "$T"/takes/*/take-01; do
    song=$(basename "$(dirname "$d")")
    case $song in killed-*) continue ;; esac
    mkdir -p "$T/shrink/$song"
    cp -r "$d" "$T/shrink/$song/take-01"
    sed -i 's/"state": "complete"/"state": "recording"/' "$T/shrink/$song/take-01/manifest.json"
    for f in "$T/shrink/$song/take-01"/*" - "*; do truncate -s "$CUT" "$f"; done
done
sed "s#^dir = .*#dir = $T/shrink#" "$T/wav-pcm24.ini" >"$T/shrink.ini"
t_daemon "$T/shrink.ini"
t_daemon_stop
for d in "$T"/shrink/*/take-01; do
    song=$(basename "$(dirname "$d")")
    grep -q '"state": "recovered"' "$d/manifest.json" || { fail "$song was not repaired"; continue; }
    f=$(ls "$d"/*" - Mix".*)
    cp "$f" "$OUT/take-$song.${f##*.}"
done
for song in killed-wav killed-w64; do
    f=$(ls "$T/killed/$song - Mix".*)
    head -c 8000 "$f" >"$OUT/take-$song.${f##*.}"
done

# RF64 as libsndfile writes it, and other writers' headers.
mkdir -p "$T/rf64"
"$B/tests/mkstems" -f rf64 -n 300 -s 1 "$T/rf64" && cp "$T/rf64/Song - Mix.rf64" "$OUT/libsndfile-rf64.wav"
if command -v sox >/dev/null 2>&1; then
    sox -D -n -b 16 -r 44100 -c 2 "$OUT/sox-pcm16.wav" synth 300s sine 440 gain -6
    sox -D -n -b 24 -r 48000 -c 1 "$OUT/sox-pcm24.aiff" synth 300s sine 440 gain -6
    sox -D -n -e floating-point -b 32 -r 48000 -c 2 "$OUT/sox-float.w64" synth 300s sine 440 gain -6
fi
ls -l "$OUT"
big=$(find "$OUT" -type f -size +8k)
check '[ -z "$big" ]' "every seed is under 8 KB${big:+ (not: $big)}"
t_done
