#!/usr/bin/env bash
# run.sh — stemcap's whole test suite: unit tests, then integration tests
# against real jackd -d dummy servers.  Prints one verdict line per test and
# a closing "N passed, N failed" line; exits 1 when anything failed.
#   tests/run.sh [PATTERN]   only tests whose file name contains PATTERN
cd "$(dirname "$0")/.." || exit 2
B=${B:-build}
case $B in /*) ;; *) B=$PWD/$B ;; esac
export B
pat=${1:-}
passed=0 failed=0 failed_names=""

run_one() {
    local name=$1
    shift
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failed_names="$failed_names $name"; fi
}

for t in "$B"/tests/test_*; do
    [ -x "$t" ] || continue
    case $(basename "$t") in *"$pat"*) ;; *) continue ;; esac
    run_one "$(basename "$t")" "$t"
done
for t in tests/it_*.sh; do
    case $(basename "$t") in *"$pat"*) ;; *) continue ;; esac
    run_one "$(basename "$t" .sh)" timeout 300 bash "$t"
done
echo
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
