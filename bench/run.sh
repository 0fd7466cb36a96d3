#!/usr/bin/env bash
# bench/run.sh — stemcap's performance benchmark (issue 6), run by `make bench`.
#
# On a private `jackd -d dummy -r 48000` server (realtime -R -P 70 when the
# machine allows it, else -r; the output says which):
#   1. 18 channels (8 stereo stems + mix, pcm24 WAV) from stemcap-testsrc
#      (noise) for BENCH_SECONDS (20) s at 64 frames, recorded alternately by
#      stemcapd and by jack_capture, BENCH_RUNS (5) times each: CPU seconds
#      (user+sys from /proc/PID/stat), peak RSS without JACK's shared memory,
#      xruns, dropped frames; the median ratio stemcapd/jack_capture;
#   2. freewheel bounces of the same 18 channels from stemcap-testdaw with
#      stemcapd following the transport, at 64 and 1024 frames per period
#      (BENCH_FREEWHEEL_PERIODS): throughput as a multiple of real time,
#      dropped frames, every file checked against the source;
#   3. the process-callback figures of `stemcap stats` at 64 and at 16
#      frames per period (18 channels, BENCH_STATS_SECONDS (10) s each).
#   4. a real-time take of BENCH_LOAD_SECONDS (60; 0 skips it) at 64 frames while
#      one core is kept busy: dropped frames and xruns under load.
# Prints a table and writes it as markdown to bench/results.md (BENCH_OUT).
# Every process it starts is stopped on exit; the whole run is bounded by
# BENCH_TIMEOUT (900) seconds.  KEEP=1 keeps the work folder.  See
# bench/README.md.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/shared.sh
. "$TOP/tests/shared.sh"
B=${B:-$TOP/build}
SECS=${BENCH_SECONDS:-20}
RUNS=${BENCH_RUNS:-5}
FW_MS=${BENCH_FREEWHEEL_MS:-6000}
FW_PERIODS=${BENCH_FREEWHEEL_PERIODS:-64 1024}
STATS_SECS=${BENCH_STATS_SECONDS:-10}
LOAD_SECS=${BENCH_LOAD_SECONDS:-60}
IDLE_SECS=${BENCH_IDLE_SECONDS:-5}
LIMIT=${BENCH_TIMEOUT:-900}
OUT=${BENCH_OUT:-$TOP/bench/results.md}
RATE=48000

W=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/stemcap-bench.XXXXXX")
export JACK_DEFAULT_SERVER="stemcap-bench-$$"
export JACK_NO_START_SERVER=1
PORT=$((20000 + (RANDOM * 7 + $$) % 12000)) # below the ephemeral ports (32768 and up)
export STEMCAP_PORT=$PORT
CLK_TCK=$(getconf CLK_TCK)
LOG=$W/bench.log
PIDS=()
JACKD=
JACK_MODE=
WD=
T_START=$(date +%s)

say() { printf '%s\n' "$*" | tee -a "$LOG"; }
note() { printf '    %s\n' "$*" | tee -a "$LOG"; }
die() {
    say "bench: $*"
    exit 1
}

# --- cleanup: every process this script started, by its id --------------------
stop_pid() { # PID [SIGNAL]: signal, wait up to 5 s, then SIGKILL
    local p=$1 n
    [ -n "$p" ] || return 0
    kill -"${2:-TERM}" "$p" 2>/dev/null || return 0
    for n in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    return 0
}
forget() { # PID: drop from the cleanup list
    local i
    for i in "${!PIDS[@]}"; do [ "${PIDS[$i]}" = "$1" ] && unset "PIDS[$i]"; done
}
cleanup() {
    local i
    trap - EXIT INT TERM
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        [ -n "${PIDS[$i]:-}" ] && stop_pid "${PIDS[$i]}"
    done
    [ -n "$JACKD" ] && stop_pid "$JACKD"
    [ -n "$NAP" ] && kill "$NAP" 2>/dev/null
    [ -n "$WD" ] && stop_pid "$WD"
    if [ -n "${KEEP:-}" ]; then echo "(kept $W)"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'say "bench: interrupted"; exit 130' INT TERM
# Watchdog: the whole run is bounded.
(
    trap 'kill $s 2>/dev/null; exit 0' TERM
    sleep "$LIMIT" &
    s=$!
    wait $s && { echo "bench: time limit of $LIMIT s reached, stopping" >&2; kill -TERM $$; }
) &
WD=$!

now() { date +%s.%N; }
# A sleep that a signal interrupts at once (bash runs traps only between
# foreground commands, but right away in `wait`).
NAP=
nap() {
    sleep "$1" &
    NAP=$!
    wait "$NAP"
    NAP=
}
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
r2() { awk -v a="$1" 'BEGIN { if (a == "") print "?"; else printf "%.2f", a }'; }
per10() { awk -v a="$1" -v s="$2" 'BEGIN { printf "%.2f", a * 10 / s }'; }
csub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
fdiv() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.3f", a / b }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- /proc ----------------------------------------------------------------------
# CPU seconds (utime + stime, all threads, reaped threads included) of PID.
cpu_of() { awk -v hz="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# "TID POLICY TICKS STIME_TICKS" for every thread of PID (POLICY 1 = SCHED_FIFO).
threads_of() {
    local t
    for t in /proc/"$1"/task/*; do
        awk -v tid="${t##*/}" '{ sub(/^.*\) /, ""); print tid, $39, $12 + $13, $13 }' "$t/stat" 2>/dev/null
    done
}
# Samples /proc/PID/status at 5 Hz until PID is gone or this is stopped and
# keeps in OUT: "max(RssAnon+RssFile) RssAnon RssFile max(RssShmem)" in kB.
rss_watch() {
    local pid=$1 out=$2 k v _ a f s max=0 ma=0 mf=0 ms=0
    while [ -r "/proc/$pid/status" ]; do
        a=0 f=0 s=0
        while read -r k v _; do
            case $k in RssAnon:) a=$v ;; RssFile:) f=$v ;; RssShmem:) s=$v ;; esac
        done <"/proc/$pid/status" 2>/dev/null
        if ((a + f > max)); then max=$((a + f)) ma=$a mf=$f; fi
        ((s > ms)) && ms=$s
        echo "$max $ma $mf $ms" >"$out"
        sleep 0.2
    done
}
# "busy total" jiffies of the whole machine (all CPUs) from /proc/stat.
sys_cpu() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }
busy_pct() { # "BUSY0 TOTAL0" "BUSY1 TOTAL1": percent of all CPUs busy in between
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]
        if (t <= 0) print "?"; else printf "%.0f", 100 * (y[1] - x[1]) / t }'
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# --- jackd ----------------------------------------------------------------------
jackd_rt() { ps -L -o cls= -p "$JACKD" 2>/dev/null | grep -q FF; }
jackd_xruns() { cat "$W"/jackd-*.log 2>/dev/null | grep -c XRun; }
# Other JACK servers on the machine (other users' tests): the most seen at any
# window boundary goes into the results, as a warning about noise.
OTHER_MAX=0
others() {
    local n=$(($(pgrep -xc jackd) - ${JACKD:+1}))
    ((n > OTHER_MAX)) && OTHER_MAX=$n
    return 0
}
jackd_full() { jack_registry_full "$1"; }
JACKD_N=0
jackd_start() { # PERIOD
    local p=$1 log
    JACKD_N=$((JACKD_N + 1))
    log=$W/jackd-$JACKD_N-p$p.log
    echo "jackd-$JACKD_N-p$p.log ${JACKD_LABEL:-$p frames}" >>"$W/jackd-labels"
    if [ "${BENCH_RT:-1}" != 0 ] && [ "$JACK_MODE" != "non-realtime (-r)" ]; then
        # SIGPIPE ignored, as in tests/lib.sh: a client dying on its way out
        # must not kill jackd before it leaves JACK's registry.
        (trap '' PIPE && exec jackd -R -P 70 -n "$JACK_DEFAULT_SERVER" -d dummy -r $RATE -p "$p") >"$log" 2>&1 &
        JACKD=$!
        if t_wait 100 jack_lsp && jackd_rt; then
            JACK_MODE="realtime (-R -P 70, SCHED_FIFO)"
            return 0
        fi
        if jackd_full "$log"; then
            jackd_registry_full "$log"
            jackd_start "$p"
            return
        fi
        note "realtime jackd (-R -P 70) did not start or got no SCHED_FIFO thread; falling back to -r"
        sed 's/^/      /' "$log" | tail -5 | tee -a "$LOG"
        stop_pid "$JACKD"
        JACKD=
    fi
    (trap '' PIPE && exec jackd -r -n "$JACK_DEFAULT_SERVER" -d dummy -r $RATE -p "$p") >"$log" 2>&1 &
    JACKD=$!
    if ! t_wait 100 jack_lsp; then
        if jackd_full "$log"; then
            jackd_registry_full "$log"
            jackd_start "$p"
            return
        fi
        die "jackd did not start: $(tail -3 "$log")"
    fi
    JACK_MODE="non-realtime (-r)"
}
JACKD_FULL_TRIES=0
jackd_registry_full() { # LOG: 8 servers registered: free dead entries or wait for live ones
    JACKD_FULL_TRIES=$((JACKD_FULL_TRIES + 1))
    [ "$JACKD_FULL_TRIES" -le 15 ] || die "JACK: too many servers already active ($(pgrep -xc jackd) jackd running)"
    stop_pid "$JACKD"
    JACKD=
    if [ -n "$(jack_dead_servers)" ] && [ "${BENCH_RECLAIM:-1}" != 0 ]; then
        note "JACK's server registry is full with entries of servers that were killed: freeing them (BENCH_RECLAIM=0 not to)"
        jack_reclaim "$W/reclaim.log" | while read -r l; do note "$l"; done
    else
        [ -n "$(jack_dead_servers)" ] && die "JACK's server registry is full of dead servers ($(jack_dead_servers | tr '\n' ' ')); with BENCH_RECLAIM=1 the bench frees them"
        note "JACK: 8 servers already active ($(pgrep -xc jackd) jackd running); waiting for one to stop"
        sleep 2
    fi
}
jackd_stop() {
    stop_pid "$JACKD"
    JACKD=
}

# --- stemcapd ---------------------------------------------------------------------
R() { "$B/tests/oscraw" -p "$PORT" -t 2000 "$@"; }
arg() { awk -v n=$(($1 + 1)) '{ sub(/^[a-z]:/, "", $n); print $n }'; }
status_field() { R -m /stemcap/status | arg "$1"; } # 1 state 2 take 3 frames 4 xruns 5 dropped
take_dir() { R -m /stemcap/status | sed -n 's/.* s:\(\/.*\) i:[0-9]*\( i:-\{0,1\}[0-9]* s:[^:]*\( s:.*\)\{0,1\}\)\{0,1\}$/\1/p'; }
# stats: mean p99 max dsp ringfill slowestwrite xruns dropped cycles
stats() { R -m /stemcap/stats | awk '{ for (i = 2; i <= NF; i++) { sub(/^[a-z]:/, "", $i); printf "%s%s", $i, (i < NF ? " " : "\n") } }'; }

conf() { # FILE SRC_CLIENT DIR [EXTRA_CAPTURE]
    {
        printf '[jack]\nclient = stemcap\n[osc]\nport = %s\nbind = 127.0.0.1\n' "$PORT"
        printf '[capture]\ndir = %s\nformat = wav\nsample_format = pcm24\nrecord_mix = true\n%s\n' "$3" "${4:-}"
        printf '[song]\ntitle = Bench\n'
        printf '[mix]\nconnect_left = %s:mix_L\nconnect_right = %s:mix_R\n' "$2" "$2"
        local k
        for k in 1 2 3 4 5 6 7 8; do
            printf '[stem%d]\nname = Stem%d\nconnect_left = %s:stem%d_L\nconnect_right = %s:stem%d_R\n' \
                "$k" "$k" "$2" "$k" "$2" "$k"
        done
    } >"$1"
}
DAEMON=
daemon_start() { # CONF LOG
    "$B/stemcapd" -c "$1" >"$2" 2>&1 &
    DAEMON=$!
    PIDS+=("$DAEMON")
    t_wait 100 "$B/stemcap" -t 200 ping || die "stemcapd did not answer ping: $(tail -5 "$2")"
    # idle: all 18 ports connected and the daemon ready
    t_wait 100 sh -c "[ \$(grep -c 'info: connected' '$2') -ge 18 ] && grep -q ' ready ' '$2'" ||
        die "stemcapd did not connect its 18 ports: $(tail -5 "$2")"
    "$B/stemcap" arm all >/dev/null || die "arm all failed"
}
daemon_stop() {
    stop_pid "$DAEMON" TERM
    forget "$DAEMON"
    DAEMON=
}
ring_mb() { sed -n 's/.* ports, \([0-9.]*\) MiB ring.*/\1/p' "$1" | tail -1; }
files_args() { # DIR: checktake FILE:CHL,CHR arguments for the 9 files of a take
    local k
    for k in 1 2 3 4 5 6 7 8; do printf '%s\n' "$1/Bench - Stem$k.wav:$((2 * k - 2)),$((2 * k - 1))"; done
    printf '%s\n' "$1/Bench - Mix.wav:16,17"
}

SRC=
src_start() { # testsrc in noise mode
    "$B/tests/stemcap-testsrc" -m noise -q >"$W/src.out" 2>"$W/src.log" &
    SRC=$!
    PIDS+=("$SRC")
    t_wait 100 grep -q ready "$W/src.out" || die "stemcap-testsrc did not become ready: $(cat "$W/src.log")"
}
src_stop() {
    stop_pid "$SRC"
    forget "$SRC"
    SRC=
}

# One stemcapd take of SECS seconds: sets R_* variables.
stemcapd_take() { # TAG SECS [IDLE_SECS]
    local tag=$1 secs=$2 idle=${3:-0} c0 c1 i0 rw x0 d b0
    local dir=$W/takes-$tag
    conf "$W/$tag.ini" stemcap-src "$dir"
    daemon_start "$W/$tag.ini" "$W/stemcapd-$tag.log"
    R_RING=$(ring_mb "$W/stemcapd-$tag.log")
    sleep 1
    R_IDLE=n/a
    if [ "$idle" -gt 0 ]; then
        i0=$(cpu_of "$DAEMON")
        nap "$idle"
        R_IDLE=$(awk -v a="$(cpu_of "$DAEMON")" -v b="$i0" -v s="$idle" 'BEGIN { printf "%.3f", (a - b) * 10 / s }')
    fi
    rss_watch "$DAEMON" "$W/rss-$tag" &
    rw=$!
    PIDS+=("$rw")
    threads_of "$DAEMON" >"$W/thr0-$tag"
    x0=$(jackd_xruns)
    others
    b0=$(sys_cpu)
    c0=$(cpu_of "$DAEMON")
    "$B/stemcap" start >/dev/null || die "stemcap start failed"
    nap "$secs"
    "$B/stemcap" stop >/dev/null || die "stemcap stop failed"
    c1=$(cpu_of "$DAEMON")
    R_BUSY=$(busy_pct "$b0" "$(sys_cpu)")
    others
    threads_of "$DAEMON" >"$W/thr1-$tag"
    R_JX=$(($(jackd_xruns) - x0))
    stop_pid "$rw"
    forget "$rw"
    R_CPU=$(csub "$c1" "$c0")
    read -r R_MEAN R_P99 R_MAX R_DSP R_FILL R_WRITE R_XRUNS R_DROPPED R_CYCLES <<<"$(stats)"
    R_MEAN=$(r2 "$R_MEAN") R_P99=$(r2 "$R_P99") R_MAX=$(r2 "$R_MAX") R_DSP=$(r2 "$R_DSP") R_WRITE=$(r2 "$R_WRITE")
    R_FRAMES=$(status_field 3)
    d=$(take_dir)
    read -r R_RSS R_ANON R_FILE R_SHM <"$W/rss-$tag"
    # where the CPU went, by thread: main (TID = PID), JACK process thread (FF), others
    # (the kernel's share of the other threads is mostly the disk thread's write() calls)
    R_THREADS=$(awk -v pid="$DAEMON" -v hz="$CLK_TCK" -v tot="$R_CPU" '
        NR == FNR { t0[$1] = $3; s0[$1] = $4; next }
        { d = ($3 - t0[$1]) / hz; if ($1 == pid) m += d; else if ($2 == 1) rt += d; else ks += ($4 - s0[$1]) / hz }
        END { printf "main %.2f, JACK process thread %.2f, other threads %.2f (kernel %.2f)", m, rt, tot - m - rt, ks }' "$W/thr0-$tag" "$W/thr1-$tag")
    R_KERNEL=$(sed -n 's/.*(kernel \([0-9.]*\)).*/\1/p' <<<"$R_THREADS")
    # content: every file against the source at one common offset (1 LSB for pcm24)
    local extra=()
    [ "${R_DROPPED:-0}" != 0 ] && extra=(--allow-silence)
    mapfile -t fa < <(files_args "$d")
    if "$B/tests/checktake" "${extra[@]}" -m noise -l 1 --min-frames $((RATE * secs * 9 / 10)) "${fa[@]}" \
        >"$W/check-$tag.out" 2>&1; then
        R_CHECK="ok"
    elif [ "${R_XRUNS:-0}" != 0 ]; then
        R_CHECK="inconclusive ($R_XRUNS xruns: the source itself missed cycles)"
    else
        R_CHECK="MISMATCH"
        note "checktake ($tag): $(head -3 "$W/check-$tag.out" | tr '\n' ' ')"
    fi
    {
        echo "--- stemcapd $tag: cpu $c0 -> $c1, threads: $R_THREADS"
        cat "$W/check-$tag.out"
    } >>"$LOG"
    daemon_stop
    rm -rf "$dir"
}

PORTS=()
for k in 1 2 3 4 5 6 7 8; do PORTS+=(-p "stemcap-src:stem${k}_L" -p "stemcap-src:stem${k}_R"); done
PORTS+=(-p stemcap-src:mix_L -p stemcap-src:mix_R)

# One jack_capture recording of SECS seconds: sets J_* variables.
#   CPU = (user+sys of the whole process, from GNU time / getrusage at its
#   exit) - (utime+stime in /proc/PID/stat once all 18 ports are connected),
#   i.e. from the start of recording through the finished file, without the
#   start-up (the JACK client opening), as stemcapd is measured from idle.
jack_capture_take() { # TAG SECS
    local tag=$1 secs=$2 tp jc c0 c1 x0 rw n u s b0
    /usr/bin/time -f '%U %S' -o "$W/jc-$tag.time" \
        jack_capture -b 24 -c 18 "${PORTS[@]}" -dc -ns "$W/jc-$tag.wav" </dev/null >"$W/jc-$tag.out" 2>&1 &
    tp=$!
    PIDS+=("$tp")
    t_wait 50 pgrep -P "$tp" || die "jack_capture did not start"
    jc=$(pgrep -P "$tp" | head -1)
    PIDS+=("$jc")
    t_wait 100 sh -c "[ \$(jack_lsp -c | grep -c '^   jack_capture') -ge 18 ]" ||
        die "jack_capture did not connect its 18 ports: $(tail -3 "$W/jc-$tag.out")"
    x0=$(jackd_xruns)
    others
    b0=$(sys_cpu)
    c0=$(cpu_of "$jc")
    rss_watch "$jc" "$W/rss-$tag" &
    rw=$!
    PIDS+=("$rw")
    nap "$secs"
    c1=$(cpu_of "$jc")
    J_BUSY=$(busy_pct "$b0" "$(sys_cpu)")
    others
    kill -INT "$jc"
    for n in $(seq 300); do kill -0 "$tp" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$tp" 2>/dev/null && { note "jack_capture did not finish within 30 s of SIGINT"; stop_pid "$jc" KILL; }
    wait "$tp" 2>/dev/null
    forget "$tp"
    forget "$jc"
    stop_pid "$rw"
    forget "$rw"
    J_JX=$(($(jackd_xruns) - x0))
    read -r u s <"$W/jc-$tag.time"
    J_CPU=$(awk -v u="$u" -v s="$s" -v c="$c0" 'BEGIN { printf "%.2f", u + s - c }')
    J_WIN=$(csub "$c1" "$c0")
    read -r J_RSS J_ANON J_FILE J_SHM <"$W/rss-$tag"
    J_XRUNS=$(sed -n 's/.*encountered \([0-9]*\) jack x-runs.*/\1/p' "$W/jc-$tag.out" | tail -1)
    J_OVERRUNS=$(sed -n 's/.*total of \([0-9]*\) overruns.*/\1/p' "$W/jc-$tag.out" | tail -1)
    J_FRAMES=$(soxi -s "$W/jc-$tag.wav" 2>/dev/null || echo "?")
    echo "--- jack_capture $tag: cpu at connect $c0, at SIGINT $c1, process total $u+$s; $(tr -d '\033' <"$W/jc-$tag.out" | tr '\n' ' ')" >>"$LOG"
    rm -f "$W/jc-$tag.wav"
}

# --- checks ---------------------------------------------------------------------
[ -x "$B/stemcapd" ] && [ -x "$B/tests/stemcap-testsrc" ] && [ -x "$B/tests/stemcap-testdaw" ] &&
    [ -x "$B/tests/checktake" ] && [ -x "$B/tests/oscraw" ] || die "build first: make"
missing=
for c in jackd jack_lsp jack_capture soxi /usr/bin/time; do command -v "$c" >/dev/null || missing="$missing $c"; done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing jack-capture sox time (missing:$missing)"
        apt-get install -y --no-install-recommends jack-capture sox time >>"$LOG" 2>&1 || die "apt-get failed"
    else
        die "missing:$missing; run: sudo apt-get install --no-install-recommends jackd2 jack-capture sox time"
    fi
fi

MODEL=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
MACHINE="$(nproc) CPUs, ${MODEL:-unknown CPU}, Linux $(uname -r)"
FS=$(df -PT "$W" | awk 'NR == 2 { print $2 }')
REV=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo "?")
[ -n "$(git -C "$TOP" status --porcelain --untracked-files=no 2>/dev/null)" ] && REV="$REV (with uncommitted changes)"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
say "stemcap bench: $MACHINE; work dir $W ($FS); stemcap $REV"

# =================================================================================
# 1. stemcapd vs jack_capture, alternating
# =================================================================================
JACKD_LABEL="section 1 (64 frames)" jackd_start 64
say "jackd: $JACK_MODE, dummy driver, $RATE Hz, 64 frames per period (server $JACK_DEFAULT_SERVER)"
others
[ "$OTHER_MAX" -gt 0 ] && note "warning: $OTHER_MAX other jackd server(s) running on this machine: the figures will be noisy"
src_start
say "1. 18 channels pcm24 WAV for $SECS s at 64 frames: stemcapd and jack_capture alternately, $RUNS times each"
P1_ROWS=()
CB_MEANS=() CB_P99S=()
# The floor: a client with the same 18 connected inputs doing nothing, measured
# for the same time after every pair (the machine drifts; one short window
# is not enough).
FLOOR_RSS=n/a F_CPUS_RAW=() F_XRUNS_ALL=()
IDLECLIENT=
cc -O2 -o "$W/idleclient" "$TOP/bench/idleclient.c" $(pkg-config --cflags --libs jack) >>"$LOG" 2>&1 &&
    IDLECLIENT=$W/idleclient
# The loudness measurement's own cost (issue 15), apart from the rest: the
# disk thread's libebur128 work for 8 stems and the mix (bench/loudcost.c).
LOUDCOST="not measured"
if cc -O2 -std=c11 -D_GNU_SOURCE -I"$TOP/daemon" -I"$TOP/common" -o "$W/loudcost" \
    "$TOP/bench/loudcost.c" "$TOP/daemon/loudness.c" "$TOP/daemon/log.c" \
    $(pkg-config --cflags --libs libebur128) -lm -pthread >>"$LOG" 2>&1; then
    LOUDCOST=$("$W/loudcost" 60 2>>"$LOG")
    note "$LOUDCOST"
fi
floor_take() { # SECS: appends to F_CPUS_RAW and F_XRUNS_ALL, sets FLOOR_RSS
    local ic c0 x0
    [ -n "$IDLECLIENT" ] || return 0
    "$IDLECLIENT" >"$W/idle.out" 2>&1 &
    ic=$!
    PIDS+=("$ic")
    if t_wait 100 grep -q ready "$W/idle.out"; then
        sleep 1
        c0=$(cpu_of "$ic")
        x0=$(jackd_xruns)
        nap "$1"
        F_CPUS_RAW+=("$(csub "$(cpu_of "$ic")" "$c0")")
        F_XRUNS_ALL+=("$(($(jackd_xruns) - x0))")
        FLOOR_RSS=$(awk '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } END { printf "%.1f MiB (anon %.1f, file %.1f)", (a + f) / 1024, a / 1024, f / 1024 }' "/proc/$ic/status")
    fi
    stop_pid "$ic"
    forget "$ic"
}
S_CPUS=() S_KERNEL=() J_CPUS=() RATIOS=() S_RSS=() S_ANON=() S_IDLE=()
S_DROP_TOTAL=0 S_XRUN_TOTAL=0 J_OVR_TOTAL=0 S_CHECK_ALL=ok
for i in $(seq "$RUNS"); do
    stemcapd_take "s$i" "$SECS" "$IDLE_SECS"
    note "run $i stemcapd:     CPU $R_CPU s (idle $R_IDLE s/10 s); RSS-shm $(mb "$R_RSS") MiB (anon $(mb "$R_ANON"), file $(mb "$R_FILE"); shm $(mb "$R_SHM")); xruns $R_XRUNS (jackd log $R_JX); dropped $R_DROPPED; $R_FRAMES frames; files $R_CHECK; machine busy $R_BUSY %; callback mean $R_MEAN p99 $R_P99 max $R_MAX us; $R_THREADS"
    P1_ROWS+=("| $i | stemcapd | $R_CPU | $(per10 "$R_CPU" "$SECS") | $(mb "$R_RSS") ($(mb "$R_ANON") anon + $(mb "$R_FILE") file) | $(mb "$R_SHM") | $R_XRUNS ($R_JX) | $R_DROPPED | $R_FRAMES, content $R_CHECK | $R_BUSY |")
    S_CPUS+=("$R_CPU") S_KERNEL+=("${R_KERNEL:-0}") S_RSS+=("$R_RSS") S_ANON+=("$R_ANON") S_IDLE+=("$R_IDLE")
    S_DROP_TOTAL=$((S_DROP_TOTAL + R_DROPPED)) S_XRUN_TOTAL=$((S_XRUN_TOTAL + R_XRUNS))
    [ "$R_CHECK" = MISMATCH ] && S_CHECK_ALL="MISMATCH"
    S_THREADS_LAST=$R_THREADS RING=$R_RING
    CB_MEANS+=("$R_MEAN") CB_P99S+=("$R_P99")
    jack_capture_take "j$i" "$SECS"
    note "run $i jack_capture: CPU $J_CPU s (recording window only: $J_WIN s); RSS-shm $(mb "$J_RSS") MiB (anon $(mb "$J_ANON"), file $(mb "$J_FILE"); shm $(mb "$J_SHM")); xruns ${J_XRUNS:-0} (jackd log $J_JX); overruns ${J_OVERRUNS:-0}; $J_FRAMES frames; machine busy $J_BUSY %"
    P1_ROWS+=("| $i | jack_capture | $J_CPU | $(per10 "$J_CPU" "$SECS") | $(mb "$J_RSS") ($(mb "$J_ANON") anon + $(mb "$J_FILE") file) | $(mb "$J_SHM") | ${J_XRUNS:-0} ($J_JX) | ${J_OVERRUNS:-0} overruns | $J_FRAMES | $J_BUSY |")
    J_CPUS+=("$J_CPU")
    J_OVR_TOTAL=$((J_OVR_TOTAL + ${J_OVERRUNS:-0}))
    RATIOS+=("$(fdiv "$R_CPU" "$J_CPU")")
    floor_take "$SECS"
    note "run $i idle client: CPU ${F_CPUS_RAW[-1]:-n/a} s, xruns ${F_XRUNS_ALL[-1]:-n/a}"
done
F_CPUS=() F_RATIOS=()
FLOOR_XRUNS=0
for f in "${F_XRUNS_ALL[@]}"; do FLOOR_XRUNS=$((FLOOR_XRUNS + f)); done
if [ ${#F_CPUS_RAW[@]} -gt 0 ]; then
    for i in "${!F_CPUS_RAW[@]}"; do
        F_CPUS+=("${F_CPUS_RAW[$i]}")
        F_RATIOS+=("$(fdiv "${F_CPUS_RAW[$i]}" "${J_CPUS[$i]}")")
    done
    FLOOR=$(per10 "$(median "${F_CPUS[@]}")" "$SECS")
    FLOOR_RATIO_IDLE=$(median "${F_RATIOS[@]}")
else
    FLOOR=n/a FLOOR_RATIO_IDLE=n/a FLOOR_XRUNS=n/a
fi
note "floor: a JACK client with the same 18 connected inputs doing nothing (bench/idleclient.c), $RUNS times $SECS s between the pairs: median $FLOOR CPU s per 10 s (against each pair's jack_capture: ${F_RATIOS[*]}), RSS w/o shm $FLOOR_RSS, xruns in all its windows: $FLOOR_XRUNS"
src_stop
MED_S=$(median "${S_CPUS[@]}")
MED_J=$(median "${J_CPUS[@]}")
MED_RATIO=$(median "${RATIOS[@]}")
# The floor of a recorder that writes the same bytes: the idle client plus the
# kernel time of stemcapd's disk thread (its write() calls), against jack_capture.
MED_KERNEL=$(median "${S_KERNEL[@]}")
FLOOR_W=$(awk -v f="$FLOOR" -v k="$MED_KERNEL" -v s="$SECS" 'BEGIN { if (f == "n/a") print "n/a"; else printf "%.3f", f + k * 10 / s }')
FLOOR_RATIO=$(awk -v f="$FLOOR_W" -v j="$MED_J" -v s="$SECS" 'BEGIN { if (f == "n/a" || j + 0 == 0) print "n/a"; else printf "%.3f", f / (j * 10 / s) }')
MED_IDLE=$(median "${S_IDLE[@]}")
MAX_RSS=$(printf '%s\n' "${S_RSS[@]}" | sort -n | tail -1)
MAX_ANON=$(printf '%s\n' "${S_ANON[@]}" | sort -n | tail -1)
say "   median CPU: stemcapd $MED_S s, jack_capture $MED_J s; ratios ${RATIOS[*]}; median ratio $MED_RATIO"

# =================================================================================
# 2. freewheel bounce
# =================================================================================
daw() { daw_cmd "$DAW_IN" "$DAW_OUT" 30 "$@"; } # one command to the test DAW, acknowledged
waiting() { t_wait "$1" sh -c "\"$B/tests/oscraw\" -p $PORT -m /stemcap/status | grep -q 's:waiting'"; }
# The floor of a bounce: the same freewheel bounce from the test DAW with
# bench/idleclient (18 inputs connected, a callback that only fetches its
# buffers) in stemcapd's place.  In freewheel the graph runs its clients one
# after the other as fast as they return, so this is as fast as any
# recorder could bounce here: sets FWFLOOR_<PERIOD>.
fw_floor() { # PERIOD
    local p=$1 ic f0 f1 t0 t1 x=n/a
    [ -x "$W/idleclient" ] || { eval "FWFLOOR_$p=n/a"; return; }
    "$W/idleclient" -s stemcap-daw >"$W/idle-fw.out" 2>&1 &
    ic=$!
    PIDS+=("$ic")
    if t_wait 100 grep -q ready "$W/idle-fw.out" && daw locate 0 && daw frame; then
        f0=$(echo "$DAW_REPLY" | awk '{ print $3 }')
        t0=$(now)
        if daw freewheel on && daw play && daw wait-rolling && daw sleep "$FW_MS" && daw stop &&
            daw wait-stopped; then
            t1=$(now)
            f1=$(echo "$DAW_REPLY" | awk '{ print $3 }')
            x=$(awk -v a="$f0" -v b="$f1" -v w="$(fsub "$t1" "$t0")" -v r=$RATE \
                'BEGIN { printf "%.1f", (b - a) / r / w }')
        fi
        daw freewheel off
    fi
    stop_pid "$ic"
    forget "$ic"
    note "$p frames: the same bounce with an idle client in stemcapd's place (the floor): ${x}x real time"
    eval "FWFLOOR_$p=\$x"
}
# One bounce at PERIOD frames: sets FW_* and appends a row to P2_ROWS.
fw_bounce() { # PERIOD
    local p=$1 ok=1 line c_s0 c_d0 c_j0 fb0 t0 t1 dir fa
    JACKD_LABEL="freewheel at $p" jackd_start "$p"
    coproc DAW { exec "$B/tests/stemcap-testdaw" -m noise 2>"$W/daw.log"; }
    DAWPID=$DAW_PID
    PIDS+=("$DAWPID")
    exec {DAW_IN}>&"${DAW[1]}" {DAW_OUT}<&"${DAW[0]}"
    read -r -t 20 line <&"$DAW_OUT"
    [ "${line:-}" = ready ] || die "stemcap-testdaw did not become ready: $(cat "$W/daw.log")"
    conf "$W/fw$p.ini" stemcap-daw "$W/takes-fw$p" "follow_transport = true"
    daemon_start "$W/fw$p.ini" "$W/stemcapd-fw$p.log"
    waiting 50 || die "stemcapd is not waiting for the transport"
    daw locate 0 || ok=0
    c_s0=$(cpu_of "$DAEMON") c_d0=$(cpu_of "$DAWPID") c_j0=$(cpu_of "$JACKD")
    others
    fb0=$(sys_cpu)
    t0=$(now)
    daw freewheel on && daw play && daw wait-rolling || ok=0
    FW_START=$(echo "$DAW_REPLY" | awk '{ print $3 }')
    daw sleep "$FW_MS" && daw stop && daw wait-stopped || ok=0
    t1=$(now)
    FW_BUSY=$(busy_pct "$fb0" "$(sys_cpu)")
    others
    daw freewheel off || ok=0
    [ "$ok" = 1 ] || note "test DAW: $DAW_REPLY"
    FW_WALL=$(fsub "$t1" "$t0")
    FW_CPU_S=$(csub "$(cpu_of "$DAEMON")" "$c_s0") FW_CPU_D=$(csub "$(cpu_of "$DAWPID")" "$c_d0") FW_CPU_J=$(csub "$(cpu_of "$JACKD")" "$c_j0")
    waiting 300 || note "stemcapd did not return to waiting within 30 s"
    FW_FRAMES=$(status_field 3)
    FW_DROPPED=$(status_field 5)
    read -r FW_MEAN FW_P99 FW_MAX FW_DSP FW_FILL FW_WRITE FW_XRUNS FW_DROPPED2 FW_CYCLES <<<"$(stats)"
    FW_MEAN=$(r2 "$FW_MEAN") FW_MAX=$(r2 "$FW_MAX") FW_WRITE=$(r2 "$FW_WRITE")
    FW_X=$(awk -v f="$FW_FRAMES" -v w="$FW_WALL" -v r=$RATE 'BEGIN { printf "%.1f", f / r / w }')
    FW_AUDIO=$(awk -v f="$FW_FRAMES" -v r=$RATE 'BEGIN { printf "%.1f", f / r }')
    dir="$W/takes-fw$p/Bench/take-01"
    mapfile -t fa < <(files_args "$dir")
    FW_FILES=$(soxi -s "$dir/Bench - Mix.wav" 2>/dev/null || echo "?")
    # every file against the source from the transport frame the roll began at (1 LSB for pcm24)
    if "$B/tests/checktake" -m noise -l 1 --offset "${FW_START:-0}" --time-ref "${FW_START:-0}" "${fa[@]}" \
        >"$W/check-fw$p.out" 2>&1; then
        FW_CHECK="ok"
    else
        FW_CHECK="MISMATCH"
    fi
    {
        echo "--- freewheel $p: start frame $FW_START, $DAW_REPLY"
        cat "$W/check-fw$p.out"
    } >>"$LOG"
    note "$p frames: $FW_FRAMES frames ($FW_AUDIO s of audio) in $FW_WALL s of wall time: ${FW_X}x real time; dropped $FW_DROPPED; files ($FW_FILES frames each) $FW_CHECK: $(tail -1 "$W/check-fw$p.out")"
    note "$p frames: ring fill max $FW_FILL %, slowest write $FW_WRITE ms, callback mean $FW_MEAN us max $FW_MAX us; CPU s in the bounce: stemcapd $FW_CPU_S, testdaw $FW_CPU_D, jackd $FW_CPU_J; machine busy $FW_BUSY %"
    P2_ROWS+=("| $p | $FW_FRAMES | $FW_AUDIO | $FW_WALL | **$FW_X** | $FW_DROPPED | $FW_CHECK ($FW_FILES frames per file, from frame ${FW_START:-?}) | $FW_FILL % | $FW_WRITE ms | $FW_CPU_S / $FW_CPU_D / $FW_CPU_J | $FW_BUSY |")
    eval "FWX_$p=\$FW_X FWDROP_$p=\$FW_DROPPED FWCHECK_$p=\$FW_CHECK"
    # Without stemcapd the serial graph (test DAW + jackd) alone could not go faster than this:
    eval "FWGRAPH_$p=\$(awk -v a=\"\$FW_AUDIO\" -v d=\"\$FW_CPU_D\" -v j=\"\$FW_CPU_J\" 'BEGIN { if (d + j > 0) printf \"%.0f\", a / (d + j); else print \"n/a\" }')"
    eval "FWFILL_$p=\$FW_FILL FWCPUS_$p=\$FW_CPU_S FWWALL_$p=\$FW_WALL"
    daemon_stop
    fw_floor "$p"
    echo quit >&"$DAW_IN"
    stop_pid "$DAWPID"
    forget "$DAWPID"
    exec {DAW_IN}>&- {DAW_OUT}<&-
    rm -rf "$W/takes-fw$p"
    jackd_stop
}
jackd_stop
say "2. freewheel bounces of 18 channels pcm24 from stemcap-testdaw (noise), stemcapd following the transport, ~$FW_MS ms of wall time each, at ${FW_PERIODS// /, } frames"
P2_ROWS=()
for p in $FW_PERIODS; do fw_bounce "$p"; done

# =================================================================================
# 3. process callback at 64 and 16 frames
# =================================================================================
say "3. process callback (stemcap stats), 18 channels for $STATS_SECS s at 64 and at 16 frames per period"
P3_ROWS=()
for p in 64 16; do
    JACKD_LABEL="section 3 at $p frames" jackd_start "$p"
    src_start
    stemcapd_take "p$p" "$STATS_SECS"
    src_stop
    jackd_stop
    eval "CB${p}_MEAN=\$R_MEAN CB${p}_P99=\$R_P99 CB${p}_MAX=\$R_MAX CB${p}_DROP=\$R_DROPPED"
    [ "$p" = 64 ] && CB_MEANS+=("$R_MEAN") CB_P99S+=("$R_P99")
    budget=$(awk -v p="$p" -v r=$RATE 'BEGIN { printf "%.0f", p * 1e6 / r }')
    note "$p frames (period $budget us): $R_CYCLES cycles, mean $R_MEAN us, p99 $R_P99 us, max $R_MAX us, DSP load $R_DSP %, ring fill max $R_FILL %, slowest write $R_WRITE ms, xruns $R_XRUNS, dropped $R_DROPPED, CPU $R_CPU s ($R_THREADS), machine busy $R_BUSY %"
    P3_ROWS+=("| $p | $budget | $R_CYCLES | $R_MEAN | $R_P99 | $R_MAX | $R_DSP | $R_FILL | $R_WRITE | $R_XRUNS | $R_DROPPED | $R_CPU | $R_BUSY |")
done

# =================================================================================
# 4. (optional) real-time under load
# =================================================================================
P4_ROW=
if [ "$LOAD_SECS" -gt 0 ]; then
    say "4. $LOAD_SECS s at 64 frames with one core kept busy"
    JACKD_LABEL="section 4 under load" jackd_start 64
    src_start
    (while :; do :; done) &
    HOG=$!
    PIDS+=("$HOG")
    stemcapd_take load "$LOAD_SECS"
    # The same time and load with the idle client in stemcapd's place: the
    # xruns of a graph whose recorder does nothing.
    LOAD_FLOOR=n/a
    if [ -x "$W/idleclient" ]; then
        "$W/idleclient" >"$W/idle-load.out" 2>&1 &
        IC=$!
        PIDS+=("$IC")
        if t_wait 100 grep -q ready "$W/idle-load.out"; then
            sleep 1
            x0=$(jackd_xruns)
            nap "$LOAD_SECS"
            LOAD_FLOOR=$(($(jackd_xruns) - x0))
        fi
        stop_pid "$IC"
        forget "$IC"
    fi
    stop_pid "$HOG"
    forget "$HOG"
    src_stop
    jackd_stop
    note "under load, the idle client in stemcapd's place: $LOAD_FLOOR xruns in $LOAD_SECS s"
    LOAD_DROP=$R_DROPPED
    note "under load: xruns $R_XRUNS (jackd log $R_JX), dropped $R_DROPPED, files $R_CHECK, callback mean $R_MEAN p99 $R_P99 max $R_MAX us"
    P4_ROW="| $LOAD_SECS s, 64 frames, one core busy | $R_XRUNS ($R_JX) | $R_DROPPED | $R_CHECK | $R_MEAN / $R_P99 / $R_MAX |
| the same with an idle client in stemcapd's place | $LOAD_FLOOR | n/a | n/a | n/a |"
fi

# =================================================================================
# results
# =================================================================================
verdict() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { if (a == "n/a" || a == "") { print "n/a"; exit } ok = (op == "<=") ? (a + 0 <= b + 0) : (a + 0 >= b + 0); print ok ? "**met**" : "**missed**" }'; }
RSS_LIMIT_KB=$(awk -v r="${RING:-0}" 'BEGIN { printf "%d", (r + 8) * 1024 }')
CB_MEAN_MED=$(median "${CB_MEANS[@]}")
XRUN_KINDS=$(for f in "$W"/jackd-*.log; do
    [ -f "$f" ] || continue
    awk -v what="$(sed -n "s|^${f##*/} ||p" "$W/jackd-labels" 2>/dev/null)" '
        /JackTimedDriver::Process XRun/ { k["driver woke late"]++ }
        /JackEngine::XRun: client = / { c = $4; st = ($0 ~ /Triggered/) ? "not woken" : "still running"; k[c " " st]++ }
        /JackEngine::XRun: client [^=]* finished after/ { k[$3 " finished late"]++ }
        END { n = 0; printf "%s: ", what; for (x in k) printf "%s%d %s", (n++ ? ", " : ""), k[x], x; if (!n) printf "none"; printf "; " }' "$f"
done)
XRUN_KINDS=${XRUN_KINDS%; }
CB_P99_MED=$(median "${CB_P99S[@]}")
ELAPSED=$(($(date +%s) - T_START))
{
    echo "# stemcap benchmark results"
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'), stemcap $REV"
    echo "- Machine: $(nproc) CPUs ($(nproc) from \`nproc\`), ${MODEL:-unknown}, kernel $(uname -r)"
    echo "- JACK: $(jackd --version 2>/dev/null | sed -n 's/^jackdmp version \([^ ]*\).*/jackdmp \1/p' | head -1), \`jackd -d dummy -r $RATE\`, $JACK_MODE"
    echo "- Files written to $FS (\`/tmp\`); jack_capture $(jack_capture --version 2>/dev/null | head -1 | tr -d '\n')"
    echo "- Other JACK servers (other users' tests) seen at the window boundaries: at most $OTHER_MAX$([ "$OTHER_MAX" -gt 0 ] && echo ": the machine was shared, figures are noisy")"
    echo "- Load average at the start: $LOAD0; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- Run time: $ELAPSED s (\`bash bench/run.sh\`, see bench/README.md for the method)"
    echo
    echo "## 1. Recording 18 channels (8 stereo stems + mix), pcm24 WAV, $SECS s at 64 frames/period"
    echo
    echo "CPU = user+sys seconds over the recording (stemcapd: from idle through \`start\`, $SECS s, \`stop\`;"
    echo "jack_capture: from its 18 ports connected through its exit after SIGINT at $SECS s). RSS = peak of"
    echo "RssAnon+RssFile (sampled at 5 Hz), i.e. resident memory without JACK's shared memory (RssShmem, listed"
    echo "separately). xruns as the recorder reports them (in brackets: XRun lines in the jackd log in the window).
Machine busy = share of all CPUs busy in the window (everything: the recorder, JACK, the source, other users)."
    echo
    echo "| run | recorder | CPU s | CPU s per 10 s | peak RSS w/o shm, MiB | JACK shm, MiB | xruns | dropped | frames | machine busy % |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${P1_ROWS[@]}"
    echo
    echo "- median CPU: stemcapd **$MED_S s**, jack_capture **$MED_J s**; ratio per pair ${RATIOS[*]}; **median ratio $MED_RATIO**"
    echo "- stemcapd idle (connected, armed, metering + null monitor, not recording): median $MED_IDLE CPU s per 10 s"
    echo "- floor: a JACK client with the same 18 connected inputs whose callback only fetches its buffers (bench/idleclient.c): $FLOOR CPU s per 10 s against jack_capture's $(per10 "$MED_J" "$SECS"): a ratio of $FLOOR_RATIO_IDLE (median of the pairs) is the lowest any JACK recorder could reach here"
    echo "- stemcapd CPU by thread in the last run: $S_THREADS_LAST"
    echo "- stemcapd capture ring: ${RING:-?} MiB (buffer_seconds = 10 of 18 channels as float and a small header per period, in whole pages)"
    echo
    echo "## 2. Freewheel bounce, 18 channels pcm24, stemcapd following the transport"
    echo
    echo 'Wall time from `freewheel on` + play to the transport stopped; x real time = recorded frames / 48000 / wall s.'
    echo "Files checked sample by sample against the source from the transport frame the roll began at."
    echo
    echo "| frames/period | audio frames | audio s | wall s | x real time | dropped | files vs source | ring fill max | slowest write | CPU s stemcapd / testdaw / jackd | machine busy % |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${P2_ROWS[@]}"
    echo
    echo "## 3. Process callback (\`stemcap stats\`), 18 channels, $STATS_SECS s"
    echo
    echo "| frames/period | period, us | cycles | mean us | p99 us | max us | DSP load % | ring fill max % | slowest write ms | xruns | dropped | CPU s | machine busy % |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${P3_ROWS[@]}"
    echo
    echo "All takes at 64 frames (section 1's and this one): callback mean ${CB_MEANS[*]} us, p99 ${CB_P99S[*]} us."
    if [ -n "$P4_ROW" ]; then
        echo
        echo "## 4. Real time under load"
        echo
        echo "| run | xruns | dropped | files vs source | callback mean / p99 / max us |"
        echo "|---|---|---|---|---|"
        echo "$P4_ROW"
    fi
    echo
    echo "## What the figures say"
    echo
    echo "- CPU: the idle client's $FLOOR s per 10 s is JACK's own cost of waking a client $((RATE / 64)) times a second;"
    echo "  against jack_capture in the same pairs it puts the lowest reachable ratio at $FLOOR_RATIO_IDLE (median of the pairs)."
    echo "  stemcapd's $(per10 "$MED_S" "$SECS") s per 10 s, by thread in the last take: $S_THREADS_LAST (CPU s per $SECS s);"
    echo "  the kernel time of the other threads is the disk thread's write() calls, which any recorder of the same 18 channels pays too:"
    echo "  the idle client plus that ($FLOOR_W s per 10 s) puts the lowest ratio a recorder that writes these files could reach here at $FLOOR_RATIO."
    echo "- Memory: the idle client (libjack and the libraries it pulls in, nothing else) has $FLOOR_RSS resident without JACK's shared memory;"
    echo "  stemcapd's anon memory beyond the ring is $(awk -v a="$MAX_ANON" -v r="${RING:-0}" 'BEGIN { printf "%.1f", a / 1024 - r }') MiB."
    echo "- xruns with no recorder at work: the idle client in stemcapd's place had $FLOOR_XRUNS xruns in $((RUNS * SECS)) s (section 1's server)$([ -n "$P4_ROW" ] && echo " and $LOAD_FLOOR in $LOAD_SECS s under the load of section 4")."
    echo "- xruns, from every jackd log of the run (the server's own account): $XRUN_KINDS."
    echo "  \"not woken\" (JACK: state Triggered) means the client had been signalled (its inputs were ready) but its process thread had not"
    echo "  started when the cycle ended, i.e. scheduling latency, not a callback that ran too long (\"still running\")."
    for p in $FW_PERIODS; do
        eval "g=\${FWGRAPH_$p:-n/a} f=\${FWFILL_$p:-?} x=\${FWX_$p:-n/a} fl=\${FWFLOOR_$p:-n/a}"
        echo "- Freewheel at $p frames: ${x}x. The same bounce with an idle client in stemcapd's place (nothing recorded, the floor of any recorder): ${fl}x. The test DAW and jackd alone used enough CPU for at most ${g}x even if stemcapd cost nothing$(awk -v f="$f" 'BEGIN { if (f + 0 >= 90) print "; the ring filled up (" f " %): the disk writer set the pace"; else print "; the ring filled at most " f " %: the writer kept up, the JACK graph set the pace" }')."
    done
    echo
    echo "## Targets (issue 6)"
    echo
    echo "| target | measured | |"
    echo "|---|---|---|"
    echo "| CPU stemcapd / jack_capture <= 0.35 | $MED_RATIO (median of $RUNS pairs; floor: idle client $FLOOR_RATIO_IDLE, idle client + the disk writes $FLOOR_RATIO) | $(verdict "$MED_RATIO" "<=" 0.35) |"
    echo "| loudness on the disk thread (issue 15: reported apart) | ${LOUDCOST#loudness of } | (in the CPU row above: [capture] loudness = true) |"
    echo "| callback mean <= 5 us at 64 frames | median $CB_MEAN_MED us of ${#CB_MEANS[@]} takes (${CB_MEANS[*]}) | $(verdict "$CB_MEAN_MED" "<=" 5) |"
    echo "| callback p99 <= 20 us at 64 frames | median $CB_P99_MED us (${CB_P99S[*]}) | $(verdict "$CB_P99_MED" "<=" 20) |"
    for p in $FW_PERIODS; do
        eval "x=\${FWX_$p:-n/a} d=\${FWDROP_$p:-?} c=\${FWCHECK_$p:-?} fl=\${FWFLOOR_$p:-n/a}"
        echo "| freewheel >= 50x real time ($p frames/period) | ${x}x (an idle client: ${fl}x) | $(verdict "$x" ">=" 50) |"
        r=$(awk -v x="$x" -v f="$fl" 'BEGIN { if (x == "n/a" || f == "n/a" || f + 0 == 0) print "n/a"; else printf "%.2f", x / f }')
        echo "| freewheel >= 0.9 of an idle client's bounce ($p frames/period, issue 13) | $r (${x}x against ${fl}x) | $(verdict "$r" ">=" 0.9) |"
        echo "| freewheel at $p frames: 0 dropped, files match the source | $d dropped, files $c | $([ "$d" = 0 ] && [ "$c" = ok ] && echo "**met**" || echo "**missed**") |"
    done
    echo "| RSS w/o shm <= ring + 8 MB ($(awk -v r="${RING:-0}" 'BEGIN { printf "%.1f", r + 8 }') MiB) | $(mb "$MAX_RSS") MiB (anon alone $(mb "$MAX_ANON") MiB, of which the ring $RING MiB; an idle JACK client: $FLOOR_RSS) | $(verdict "$MAX_RSS" "<=" "$RSS_LIMIT_KB") |"
    echo "| 0 dropped in real time (64 frames) | $S_DROP_TOTAL in runs 1-$RUNS, $CB64_DROP in section 3 (64), $CB16_DROP at 16 frames (an idle client: $FLOOR_XRUNS xruns in $((RUNS * SECS)) s) | $([ "$S_DROP_TOTAL" = 0 ] && [ "$CB64_DROP" = 0 ] && echo "**met**" || echo "**missed**") |"
    if [ -n "$P4_ROW" ]; then
        echo "| 0 dropped in $LOAD_SECS s under a one-core load | $LOAD_DROP (an idle client: $LOAD_FLOOR xruns) | $([ "$LOAD_DROP" = 0 ] && echo "**met**" || echo "**missed**") |"
    else
        echo "| 0 dropped in 60 s under a one-core load | not run (BENCH_LOAD_SECONDS=0) | n/a |"
    fi
} >"$W/results.md"
mkdir -p "$(dirname "$OUT")"
cp "$W/results.md" "$OUT"
echo
cat "$OUT"
echo
echo "written to $OUT ($ELAPSED s)"
