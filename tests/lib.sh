# lib.sh — shared helpers for stemcap's integration tests (bash).
#
# Every test gets its own private JACK server (jackd -d dummy, a unique name
# exported as JACK_DEFAULT_SERVER), its own OSC port and its own work folder,
# and everything it started is stopped on exit, pass or fail.
#
#   . tests/lib.sh
#   t_init NAME             work dir $T, server $JACK_DEFAULT_SERVER, port $PORT
#   t_jackd [ARGS]          start jackd -r -d dummy (48 kHz, $T_PERIOD or 512 frames;
#                           T_JACKD_RT=1: jackd -R, real-time, as a studio runs it)
#   t_conf FILE <<EOF       write a config: [jack]/[osc]/[capture] filled in for this test
#   t_daemon CONF           start stemcapd, wait until it answers ping
#   t_src ARGS              start the test source client, wait until it is ready
#   t_cli ARGS              run build/stemcap against this test's daemon
#   t_forget PID            the cleanup need not stop PID (it exited)
#   ok MSG / fail MSG / check COND MSG / t_skip MSG REASON
#   t_done                  print the verdict line, exit 0/1
#   t_skip_pw REASON        under PipeWire: print a skip line with REASON, exit 0
#
# STEMCAP_JACK=pipewire: the same tests against PipeWire's JACK instead.  Then
# t_jackd starts a private PipeWire stack (tests/pipewire.sh: dbus-daemon,
# pipewire, wireplumber and a null-sink clock at 48 kHz, quantum $T_PERIOD or
# 512) in $T/pw, and every JACK program runs under $JACKRUN (pw-jack; empty
# for jackd, so the jackd path runs exactly the commands it always did).
# JACK_DEFAULT_SERVER is still exported, but PipeWire's libjack ignores it:
# the private XDG_RUNTIME_DIR is what keeps the tests apart.  t_mark and
# t_xruns count the lines "XRun!" (a driver's xrun) and "client too slow!" (a
# cycle a client had not finished when the next one was due) in pipewire's
# log, run at PIPEWIRE_DEBUG=3 (info), the level PipeWire logs them at; both
# are rate-limited, so the count is a lower bound: enough to call a check
# inconclusive, not to count xruns.

# shellcheck source=tests/shared.sh
. "$(dirname "${BASH_SOURCE[0]}")/shared.sh"

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${B:-$TOP/build}
T_FAILS=0
T_PASSES=0
T_PIDS=()

T_SKIPS=0
T_MARK=0
STEMCAP_JACK=${STEMCAP_JACK:-jackd}
JACKRUN=
T_XRUNLOG=jackd.log
T_XRUNPAT=XRun
if [ "$STEMCAP_JACK" = pipewire ]; then
    # shellcheck source=tests/pipewire.sh
    . "$(dirname "${BASH_SOURCE[0]}")/pipewire.sh"
    JACKRUN=pw-jack
    T_XRUNLOG=pipewire.log
    T_XRUNPAT='XRun|client too slow'
fi
t_log() { printf '    %s\n' "$*"; }
ok() { T_PASSES=$((T_PASSES + 1)); printf '  ok   %s\n' "$*"; }
fail() { T_FAILS=$((T_FAILS + 1)); printf '  FAIL %s\n' "$*"; }
check() { if eval "$1"; then ok "$2"; else fail "$2   [$1]"; return 1; fi; }

# JACK xruns on a loaded machine (JACK itself skipping or tearing a cycle of
# the source or of stemcapd) change the signal that reaches the daemon.
# Checks of the signal itself use check_rt: a failure after xruns since the
# last t_mark is reported as inconclusive, not as a failure.
t_mark() { T_MARK=$(grep -Ec "$T_XRUNPAT" "$T/$T_XRUNLOG" 2>/dev/null); }
# t_sc LINE WORDS: from tests/stampcheck's summary LINE, the count written
# just before WORDS (a sed pattern: "misplaced", "in [0-9]* reported torn periods").
t_sc() { printf '%s\n' "$1" | sed -n "s/.*[^0-9]\([0-9][0-9]*\) $2.*/\1/p"; }
# t_json FILE EXPR: EXPR (python, the parsed JSON as m) of a manifest.
t_json() { python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
t_xruns() { echo $(($(grep -Ec "$T_XRUNPAT" "$T/$T_XRUNLOG" 2>/dev/null) - T_MARK)); }
check_rt() {
    if eval "$1"; then
        ok "$2"
    elif [ "$(t_xruns)" -gt 0 ]; then
        T_SKIPS=$((T_SKIPS + 1))
        printf '  skip %s   [inconclusive: %s JACK xruns during the check on this machine]\n' "$2" "$(t_xruns)"
    else
        fail "$2   [$1]"
    fi
}

# A port for the test's OSC: below the kernel's ephemeral range (32768 and
# up, where every client socket of the machine takes its port), so that only
# another test can hold it; t_daemon tries another one if one does.
t_pick_port() {
    PORT=$((20000 + (RANDOM * 7 + $$) % 12000))
    export STEMCAP_PORT=$PORT
}

t_init() {
    T_NAME=$1
    if [ "$STEMCAP_JACK" = pipewire ]; then
        T=$(mktemp -d "/tmp/stemcap-test-pw-$1-$$.XXXXXX")
        export JACK_DEFAULT_SERVER="stemcap-test-pw-$1-$$"
    else
        T=$(mktemp -d "/tmp/stemcap-test-$1.XXXXXX")
        export JACK_DEFAULT_SERVER="stemcap-test-$1-$$"
    fi
    t_pick_port
    trap t_cleanup EXIT
    if [ "$STEMCAP_JACK" = pipewire ]; then
        echo "== $T_NAME (PipeWire's JACK, private stack in $T/pw, osc $PORT, dir $T)"
    else
        echo "== $T_NAME (server $JACK_DEFAULT_SERVER, osc $PORT, dir $T)"
    fi
}

t_cleanup() {
    local p
    for p in "${T_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${T_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$p" 2>/dev/null; then
            # Say where it hangs before the SIGKILL: each thread's wait channel.
            t_log "cleanup: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) did not exit within 5 s of SIGTERM; threads waiting in: $(cat /proc/"$p"/task/*/wchan 2>/dev/null | tr '\n' ' ')"
            kill -KILL "$p" 2>/dev/null
        fi
    done
    if [ "$STEMCAP_JACK" = pipewire ]; then
        pw_stop
    elif [ -n "${T_JACKD:-}" ]; then
        kill -TERM "$T_JACKD" 2>/dev/null
        wait "$T_JACKD" 2>/dev/null
        local rc=$?
        # A jackd that died on the way out leaves its entry in JACK's
        # registry of servers (eight make every later jackd fail): free it.
        if jack_dead_servers | grep -qxF "$JACK_DEFAULT_SERVER"; then
            t_log "cleanup: jackd (exit status $rc) left its registry entry; $(jack_reclaim "$T/reclaim.log" "$JACK_DEFAULT_SERVER")"
        fi
    fi
    if [ "$T_FAILS" = 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$T"; else echo "  (kept $T)"; fi
}


t_jackd() {
    local try
    if [ "$STEMCAP_JACK" = pipewire ]; then
        [ $# = 0 ] || t_skip_pw "needs jackd options ($*), which PipeWire has no equivalent of"
        PW_QUANTUM="${T_PERIOD:-512}/48000"
        pw_start "$T/pw" "$T/pipewire.log" && return 0
        tail -30 "$T/pipewire.log"
        fail "the private PipeWire stack did not start"
        t_done
    fi
    for try in 1 2; do
        # SIGPIPE ignored: jackd writing to a client that died on its way
        # out must not kill it before it unregisters (it_jackrestart).
        (trap '' PIPE && exec jackd -n "$JACK_DEFAULT_SERVER" "$([ -n "${T_JACKD_RT:-}" ] && echo -R || echo -r)" -d dummy -r 48000 \
            -p "${T_PERIOD:-512}" "$@") >"$T/jackd.log" 2>&1 &
        T_JACKD=$!
        t_wait 100 $JACKRUN jack_lsp && return 0
        # JACK's registry full of servers killed elsewhere: free them, once.
        [ "$try" = 1 ] && jack_registry_full "$T/jackd.log" && [ -n "$(jack_dead_servers)" ] || break
        wait "$T_JACKD" 2>/dev/null
        jack_reclaim "$T/reclaim.log" | while read -r l; do t_log "$l"; done
    done
    cat "$T/jackd.log"
    fail "jackd did not start"
    t_done
}

# t_conf FILE: config for this test on stdin, after the test's own
# [jack]/[osc]/[capture] basics (write [capture] keys through $EXTRA_CAPTURE).
t_conf() {
    {
        printf '[jack]\nclient = stemcap\n[osc]\nport = %s\nbind = 127.0.0.1\n' "$PORT"
        printf '[capture]\ndir = %s/takes\nbuffer_seconds = 4\n%s\n' "$T" "${EXTRA_CAPTURE:-}"
        cat
    } >"$1"
}

# Config sections for stems named $@ (in order), each connected to the
# test source's ports, plus the mix.
t_stems_conf() {
    local i=1 s
    local src=${SRC:-stemcap-src}
    printf '[mix]\nconnect_left = %s:mix_L\nconnect_right = %s:mix_R\n' "$src" "$src"
    for s in "$@"; do
        printf '[stem%d]\nname = %s\nconnect_left = %s:stem%d_L\nconnect_right = %s:stem%d_R\n' \
            $i "$s" "$src" $i "$src" $i
        i=$((i + 1))
    done
}

t_daemon() {
    local try old
    for try in 1 2 3; do
        $JACKRUN "$B/stemcapd" -c "$1" >>"$T/stemcapd.log" 2>&1 &
        T_DAEMON=$!
        T_PIDS+=("$T_DAEMON")
        t_wait 100 "$B/stemcap" -t 200 ping && return 0
        # Our port taken by another test: the next one (the config's too).
        grep -q "port $PORT: Address already in use" "$T/stemcapd.log" || break
        wait "$T_DAEMON" 2>/dev/null
        t_forget "$T_DAEMON"
        old=$PORT
        t_pick_port
        t_log "OSC port $old in use elsewhere: trying $PORT"
        sed -i "s/^port = $old\$/port = $PORT/" "$1"
    done
    cat "$T/stemcapd.log"
    fail "stemcapd did not answer ping"
    t_done
}

# Drops PID (one that already exited) from what the cleanup stops; the rest
# (the test source above all) must still be stopped before jackd, or jackd
# may leave its entry in JACK's registry of servers.
t_forget() {
    local p keep=()
    for p in "${T_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    T_PIDS=("${keep[@]}")
}

# Stops the daemon with SIGTERM; returns its exit status.
t_daemon_stop() {
    kill -TERM "$T_DAEMON"
    wait "$T_DAEMON"
    local rc=$?
    t_forget "$T_DAEMON"
    return $rc
}

t_src() {
    $JACKRUN "$B/tests/stemcap-testsrc" "$@" >"$T/src.out" 2>"$T/src.log" &
    T_SRC=$!
    T_PIDS+=("$T_SRC")
    if ! t_wait 100 grep -q ready "$T/src.out"; then
        cat "$T/src.log"
        fail "test source did not become ready"
        t_done
    fi
}

t_cli() { "$B/stemcap" -p "$PORT" "$@"; }

# R ARGS: one raw OSC exchange with this test's daemon (tests/oscraw).
R() { "$B/tests/oscraw" -p "$PORT" "$@"; }
# ... | arg N: argument N (1-based, after the address) of a reply line,
# without its type prefix.
arg() { awk -v n=$(($1 + 1)) '{ sub(/^[a-z]:/, "", $n); print $n }'; }

# The take folder the daemon reports in its status (8th argument).
t_take_dir() { "$B/tests/oscraw" -p "$PORT" -m /stemcap/status | sed -n 's/.* s:\(\/.*\) i:[0-9]*\( i:-\{0,1\}[0-9]* s:[^:]*\( s:.*\)\{0,1\}\)\{0,1\}$/\1/p'; }

# Field N (1-based, after the address) of the daemon's status reply, without
# its type prefix: 2 take, 3 frames, 4 xruns, 5 dropped.
t_status_field() { R -m /stemcap/status | arg "$1"; }

# t_checktake DESC CHECKTAKE-ARGS...: verifies the last take against the
# source.  When the daemon reports dropped frames (an xrun on a loaded
# machine skipped a JACK cycle), the check accepts silence exactly where the
# frames were dropped, and says so.
t_checktake() {
    local desc=$1 dropped extra=()
    shift
    dropped=$(t_status_field 5)
    [ "${dropped:-0}" != 0 ] && extra=(--allow-silence)
    if "$B/tests/checktake" "${extra[@]}" "$@" >"$T/check.out" 2>&1; then
        ok "$desc ($(tail -1 "$T/check.out")${extra:+; $dropped frames dropped by xruns, silence in their place})"
    else
        head -3 "$T/check.out"
        check_rt false "$desc"
    fi
}

# t_skip DESC REASON: one check not made, and why.
t_skip() {
    T_SKIPS=$((T_SKIPS + 1))
    printf '  skip %s   [%s]\n' "$1" "$2"
}

# t_skip_pw REASON: under PipeWire's JACK, skips the rest of this test with
# a line that says why (the checks done so far stand); under jackd, nothing.
t_skip_pw() {
    [ "$STEMCAP_JACK" = pipewire ] || return 0
    T_SKIPS=$((T_SKIPS + 1))
    printf '  skip %s   [PipeWire: %s]\n' "${2:-the rest of $T_NAME}" "$1"
    t_done
}

# pw_only: the test is about PipeWire; under jackd it says so and exits 0.
pw_only() {
    [ "$STEMCAP_JACK" = pipewire ] && return 0
    echo "== $1: skip   [PipeWire only: run with STEMCAP_JACK=pipewire, or make test-pipewire]"
    exit 0
}

t_done() {
    echo "$T_NAME: $T_PASSES passed, $T_FAILS failed, $T_SKIPS skipped"
    [ "$T_FAILS" = 0 ] && exit 0
    [ -f "$T/stemcapd.log" ] && { echo "--- stemcapd.log"; tail -30 "$T/stemcapd.log"; }
    exit 1
}
