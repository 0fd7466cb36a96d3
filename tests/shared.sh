# tests/shared.sh — shell helpers of the tests and the bench, sourced by
# tests/lib.sh and bench/run.sh.
#
#   t_wait N CMD...        runs CMD until it succeeds, up to N tenths of a second
#   daw_cmd IN OUT S CMD   sends one command to stemcap-testdaw on fd IN and
#                          waits up to S seconds on fd OUT for its "ok ..." or
#                          "error ..." line, kept in DAW_REPLY; 0 on ok
#
# JACK's server registry:
#
# jackd keeps at most 8 servers in /dev/shm/jack-shm-registry.  A server that
# dies without unregistering (SIGKILL, or SIGTERM while clients are still
# connected) leaves its entry behind, and JACK frees it only when a server of
# the same name starts again; with unique server names per test run, eight
# such entries make every later jackd fail with "Too many servers already
# active".
#
#   jack_dead_servers      prints the names of entries whose server is gone
#   jack_reclaim LOGFILE [NAME...]
#                          frees them (only the NAMEs, if given) the way JACK
#                          does: a server of that name starts and stops
#                          cleanly; prints one line per name
#   jack_registry_full LOG true when a jackd log says the registry was full

t_wait() {
    local n=$1
    shift
    while [ "$n" -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

daw_cmd() {
    local in=$1 out=$2 secs=$3 line
    shift 3
    echo "$*" >&"$in"
    while read -r -t "$secs" line <&"$out"; do
        case $line in ok*) DAW_REPLY=$line; return 0 ;; error*) DAW_REPLY=$line; return 1 ;; esac
    done
    DAW_REPLY="(no answer)"
    return 1
}

jack_dead_servers() {
    local reg=/dev/shm/jack-shm-registry off name pid
    [ -r "$reg" ] || return 0
    strings -t d -n 8 "$reg" | while read -r off name; do
        case $name in "jack-$(id -u):"*:) ;; *) continue ;; esac
        pid=$(od -An -t d4 -j $((off - 4)) -N 4 "$reg" | tr -d ' ')
        if [ "${pid:-0}" -gt 0 ] && [ ! -d "/proc/$pid" ]; then
            name=${name#jack-*:}
            echo "${name%:}"
        fi
    done
}

jack_reclaim() {
    local n p i log=$1
    shift
    for n in $(jack_dead_servers); do
        if [ $# -gt 0 ]; then
            case " $* " in *" $n "*) ;; *) continue ;; esac
        fi
        jackd -n "$n" -d dummy -r 48000 -p 1024 >"$log" 2>&1 &
        p=$!
        local up=0
        for i in $(seq 50); do JACK_DEFAULT_SERVER=$n jack_lsp >/dev/null 2>&1 && up=1 && break; sleep 0.1; done
        kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null
        if [ "$up" = 1 ]; then
            echo "freed the registry entry of dead JACK server '$n'"
        else
            echo "could not free the registry entry of dead JACK server '$n' (see $log)"
        fi
    done
}

jack_registry_full() { grep -q "Too many servers already active" "$1"; }
