#!/usr/bin/env bash
# features.sh — what issue 16's real-time features cost the JACK callback.
#
# One private jackd (dummy backend, 48 kHz, 256 frames), the test source
# playing noise into 8 stereo stems and the mix, and stemcapd recording a
# take of BENCH_FEATURE_SECONDS (20) with each configuration in turn:
#   base      the defaults
#   preroll   [capture] preroll_seconds = 10 (every channel copied into the
#             history each cycle)
#   outputs   [monitor] outputs = true (residual and sum written to 4 ports)
#   both      the two together
# BENCH_FEATURE_RUNS (3) rounds; for each configuration the median of the
# callback mean and p99 that stemcapd reports itself (/stemcap/stats, reset
# when the take starts), and the daemon's resident memory.  Prints a table;
# bench/results.md keeps the last one.  Not a test: it asserts nothing.
. "$(dirname "$0")/../tests/lib.sh"
SECS=${BENCH_FEATURE_SECONDS:-20}
RUNS=${BENCH_FEATURE_RUNS:-3}
T_PERIOD=256
t_init features
t_jackd
t_src -m noise -q

run() { # NAME PREROLL_SECONDS OUTPUTS: one take; prints "mean p99 rss_kib"
    local name=$1 st
    EXTRA_CAPTURE="sample_format = float
preroll_seconds = $2" t_conf "$T/$name.ini" <<CONF
[song]
title = Bench $name
$(t_stems_conf 1 2 3 4 5 6 7 8)
[monitor]
outputs = $3
CONF
    t_daemon "$T/$name.ini"
    sleep 1
    R -m /stemcap/stats/reset >/dev/null
    t_cli start >/dev/null
    sleep "$SECS"
    st=$(R -m /stemcap/stats)
    t_cli stop >/dev/null
    printf '%s %s %s\n' "$(echo "$st" | arg 1)" "$(echo "$st" | arg 2)" \
        "$(awk '/VmRSS/ { print $2 }' "/proc/$T_DAEMON/status")"
    t_daemon_stop >/dev/null || true
    rm -rf "$T/takes"
}

declare -A MEAN P99 RSS
for r in $(seq "$RUNS"); do
    for cfg in base preroll outputs both; do
        case $cfg in
        base) out=$(run base 0 false | tail -1) ;;
        preroll) out=$(run preroll 10 false | tail -1) ;;
        outputs) out=$(run outputs 0 true | tail -1) ;;
        both) out=$(run both 10 true | tail -1) ;;
        esac
        read -r m p k <<<"$out"
        MEAN[$cfg]+="$m " P99[$cfg]+="$p " RSS[$cfg]+="$k "
        echo "  run $r $cfg: callback mean $m us, p99 $p us, RSS $((k / 1024)) MiB"
    done
done
med() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo
echo "| configuration | callback mean (us) | callback p99 (us) | RSS (MiB) |"
echo "|---|---|---|---|"
for cfg in base preroll outputs both; do
    printf '| %s | %s | %s | %s |\n' "$cfg" "$(echo "${MEAN[$cfg]}" | med)" "$(echo "${P99[$cfg]}" | med)" \
        "$(($(echo "${RSS[$cfg]}" | med) / 1024))"
done
echo "($RUNS rounds of $SECS s takes, 8 stereo stems and the mix, 48 kHz, 256 frames, median)"
t_done
