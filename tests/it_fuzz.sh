#!/usr/bin/env bash
# The libFuzzer harnesses (tests/fuzz_osc.c over OSC datagram validation and
# dispatch, tests/fuzz_conf.c over the config parser, tests/fuzz_hdr.c over
# the WAV/RF64/AIFF/W64 header codec and the recovery's rewrite,
# tests/fuzz_recover.c over the startup recovery of a take of two such
# files) build with clang and run for a bounded time each (FUZZ_SECONDS,
# default 15) without a crash, a leak, a sanitizer report or a timeout.  No
# JACK server is needed.  Skipped when clang cannot link -fsanitize=fuzzer
# (Debian: clang libclang-rt-14-dev).  A crash fails the test and names the
# reproducer, kept with the logs; it replays with: $B/fuzz/fuzz_osc FILE (or
# fuzz_conf, fuzz_hdr, fuzz_recover).
. "$(dirname "$0")/lib.sh"
T_NAME=fuzz
T=$(mktemp -d /tmp/stemcap-test-fuzz.XXXXXX)
trap t_cleanup EXIT
echo "== fuzz (dir $T)"
FUZZ_CC=${FUZZ_CC:-clang}
FUZZ_SECONDS=${FUZZ_SECONDS:-15}

skip() {
    T_SKIPS=$((T_SKIPS + 1))
    printf '  skip %s\n' "$*"
}

# Can clang link a libFuzzer program at all?
probe() {
    command -v "$FUZZ_CC" >/dev/null 2>&1 || { echo "$FUZZ_CC not found"; return 1; }
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
        >"$T/probe.c"
    if ! "$FUZZ_CC" -fsanitize=fuzzer,address,undefined -o "$T/probe" "$T/probe.c" >"$T/probe.log" 2>&1; then
        echo "$FUZZ_CC cannot link -fsanitize=fuzzer: $(grep -m1 -i error "$T/probe.log")"
        return 1
    fi
}
if ! why=$(probe); then
    skip "libFuzzer harnesses: $why (install clang libclang-rt-14-dev)"
    t_done
fi

# Build with tests/fuzz.mk on its own (the same rules `make fuzz` uses).
if make -C "$TOP" -f tests/fuzz.mk --no-print-directory B="$B" FUZZ_CC="$FUZZ_CC" fuzz-build >"$T/build.log" 2>&1; then
    ok "fuzzers built with $FUZZ_CC ($B/fuzz/fuzz_osc, fuzz_conf, fuzz_hdr, fuzz_recover)"
else
    tail -20 "$T/build.log"
    fail "fuzzers build (make fuzz-build)"
    t_done
fi

# run_fuzzer NAME MAX_LEN [SEEDS]: NAME's corpus grows in $B/fuzz/corpus/NAME
# (kept between runs); the seeds in tests/corpus/SEEDS (default NAME) are
# only read.
run_fuzzer() {
    local name=$1 max_len=$2 seeds=${3:-$1} bin="$B/fuzz/fuzz_$1" log="$T/$1.log" rc execs repro
    mkdir -p "$B/fuzz/corpus/$name"
    "$bin" -max_total_time="$FUZZ_SECONDS" -max_len="$max_len" -timeout=10 -close_fd_mask=2 \
        -print_final_stats=1 -artifact_prefix="$T/$name-" \
        "$B/fuzz/corpus/$name" "$TOP/tests/corpus/$seeds" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$log" | tail -1)
    if [ "$rc" = 0 ]; then
        ok "fuzz_$name: ${execs:-?} executions in ${FUZZ_SECONDS} s, no crash ($(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1))"
        return
    fi
    grep -E 'ERROR: |SUMMARY: |runtime error|accepted config breaks' "$log" | head -5 | sed 's/^/    /'
    # The first frames in stemcap's own code: where it happened.
    grep -E '^ +#[0-9]+ .* in .*/(daemon|tests)/[^ ]+:[0-9]+' "$log" | head -4 | sed 's/^ */    at /'
    for repro in "$T/$name"-*; do
        [ -f "$repro" ] || continue
        t_log "reproducer: $repro ($(wc -c <"$repro") bytes): $(od -An -v -tx1 "$repro" | tr -d ' \n' | head -c 200)"
        t_log "replay: $bin $repro"
    done
    t_log "log: $log"
    fail "fuzz_$name: exit status $rc after ${execs:-?} executions"
}
run_fuzzer osc 4200
run_fuzzer conf 16384
run_fuzzer hdr 16384
run_fuzzer recover 16384 hdr
t_done
