#!/bin/sh
# Code statistics for the restructuring notes: lines per C file, the longest
# functions (universal-ctags' end: field) and the repeated blocks that the
# `duplicates` tool finds (when it is on PATH).  Read-only; prints to stdout.
#   sh bench/codestats.sh [TOP]
set -eu
cd "$(dirname "$0")/.."
top=${1:-15}
files=$(git ls-files '*.c' '*.h' | grep -v '^tests/corpus/')
echo "== lines per file (daemon, common, clients), largest first"
# shellcheck disable=SC2086
wc -l $(echo "$files" | grep -E '^(daemon|common|clients)/') | sort -rn | sed -n "2,$((top + 10))p"
echo "== total lines: daemon $(cat daemon/*.[ch] | wc -l)," \
    "common $(cat common/*.[ch] 2>/dev/null | wc -l)," \
    "clients $(find clients -name '*.[ch]' -exec cat {} + | wc -l)"
echo "== longest functions (lines), daemon, common and clients"
# shellcheck disable=SC2086
ctags -x --c-kinds=f --_xformat='%N %F %n %{end}' $(echo "$files" | grep -E '^(daemon|common|clients)/.*\.c$') |
    awk '{ print $4 - $3 + 1, $2 ":" $3, $1 }' | sort -rn | head -n "$top"
if command -v duplicates >/dev/null 2>&1; then
    echo "== repeated blocks (duplicates, 6+ lines)"
    duplicates --most 12 | head -n 16
fi
