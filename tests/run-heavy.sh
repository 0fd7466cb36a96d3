#!/usr/bin/env bash
# run-heavy.sh TEST... — the heavy tests outside `make test` (make test-daw,
# make test-pipewire): each given test script in turn, one verdict line
# each, a closing "N passed, N failed"; exit 1 when anything failed.
cd "$(dirname "$0")/.." || exit 2
B=${B:-build}
case $B in /*) ;; *) B=$PWD/$B ;; esac
export B
passed=0 failed=0 failed_names=""
for t in "$@"; do
    if timeout 900 bash "$t"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failed_names="$failed_names $(basename "$t" .sh)"
    fi
done
echo
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
