#!/usr/bin/env bash
# run-pipewire.sh — the integration tests that run against PipeWire's JACK
# (STEMCAP_JACK=pipewire: a private PipeWire stack per test, see
# tests/pipewire.sh), through tests/run-heavy.sh: one verdict line per
# test, then "N passed, N failed"; exits 1 when anything failed.
#   tests/run-pipewire.sh [TEST...]   only these (names as in tests/it_NAME.sh)
cd "$(dirname "$0")/.." || exit 2
B=${B:-build}
case $B in /*) ;; *) B=$PWD/$B ;; esac
export B STEMCAP_JACK=pipewire
for p in pipewire wireplumber pw-jack pw-cli pw-metadata dbus-daemon; do
    command -v "$p" >/dev/null || { echo "run-pipewire: $p not installed (Debian: pipewire pipewire-jack pipewire-bin wireplumber dbus-daemon)"; exit 2; }
done
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(record meter transport pwrate timeline)
echo "PipeWire's JACK: ${tests[*]}"
files=()
for t in "${tests[@]}"; do files+=("tests/it_$t.sh"); done
exec bash tests/run-heavy.sh "${files[@]}"
