#!/usr/bin/env bash
# demo.sh — the main job on an embedded default: record a take of a
# generated 8-stem song and its mix, then show what was written.
#
# Uses the running JACK server when there is one; otherwise starts a private
# "jackd -d dummy" server for the demo and stops it afterwards.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
SECONDS_TO_RECORD=${DEMO_SECONDS:-4}
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if jack_lsp >/dev/null 2>&1; then
    say "using the running JACK server ${JACK_DEFAULT_SERVER:-default}"
else
    export JACK_DEFAULT_SERVER="stemcap-demo-$$"
    say "no JACK server running: starting a private one ($JACK_DEFAULT_SERVER, dummy backend, 48 kHz)"
    jackd -n "$JACK_DEFAULT_SERVER" -r -d dummy -r 48000 -p 256 >/tmp/stemcap-demo-jackd.log 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do jack_lsp >/dev/null 2>&1 && break; sleep 0.1; done
    jack_lsp >/dev/null 2>&1 || { echo "demo: jackd did not start:"; cat /tmp/stemcap-demo-jackd.log; exit 1; }
fi

say "starting stemcapd with config/demo.ini"
"$B/stemcapd" -c config/demo.ini &
daemon=$!
pids=("$daemon" "${pids[@]}")
for _ in $(seq 100); do "$B/stemcap" -t 200 ping >/dev/null 2>&1 && break; sleep 0.1; done
"$B/stemcap" ping || { echo "demo: stemcapd did not start"; exit 1; }

say "playing a generated 8-stem song and its mix into stemcap's ports"
"$B/tests/stemcap-testsrc" -n stemcap-src -m song -c stemcap >/tmp/stemcap-demo-src.out &
pids=("$!" "${pids[@]}")
for _ in $(seq 100); do grep -q ready /tmp/stemcap-demo-src.out 2>/dev/null && break; sleep 0.1; done

say "recording a take of $SECONDS_TO_RECORD seconds over OSC"
"$B/stemcap" start || exit 1
sleep "$SECONDS_TO_RECORD"
"$B/stemcap" status
"$B/stemcap" stop || exit 1

dir=$("$B/stemcap" status | sed -n 's/^ *folder //p')
say "take folder: $dir"
for f in "$dir"/*.wav; do
    peak=$(sox "$f" -n stats 2>&1 | awk '/^Pk lev dB/ {print $4}')
    printf '  %-36s %8s frames  %s Hz  %s-bit  peak %6s dBFS\n' "$(basename "$f")" "$(soxi -s "$f")" \
        "$(soxi -r "$f")" "$(soxi -b "$f")" "$peak"
done

say "checking every file against the source signal (pcm24: within 1 LSB)"
args=()
i=0
for s in Drums Bass Keys "Lead Vocal" "Backing Vocals" Guitars Synths FX; do
    args+=("$dir/Demo Song - $s.wav:$((2 * i)),$((2 * i + 1))")
    i=$((i + 1))
done
args+=("$dir/Demo Song - Mix.wav:16,17")
"$B/tests/checktake" -m song -l 1 "${args[@]}" | tail -1

say "the delivery check: stemcap-check \"$dir\""
"$B/stemcap-check" "$dir" | sed -n '/^PASS\|^WARN\|^FAIL\|^result/p'
say "manifest.json: $(grep -c . "$dir/manifest.json") lines (song, files, latencies, peaks, null result, drops)"
say "stopping"
"$B/stemcap" status
