# tests/jackreg.sh — JACK's server registry, sourced by tests/lib.sh and
# bench/run.sh.
#
# jackd keeps at most 8 servers in /dev/shm/jack-shm-registry.  A server that
# dies without unregistering (SIGKILL, or SIGTERM while clients are still
# connected) leaves its entry behind, and JACK frees it only when a server of
# the same name starts again; with unique server names per test run, eight
# such entries make every later jackd fail with "Too many servers already
# active".
#
#   jack_dead_servers      prints the names of entries whose server is gone
#   jack_reclaim LOGFILE   frees them the way JACK does (a server of that name
#                          starts and stops cleanly); prints one line per name
#   jack_registry_full LOG true when a jackd log says the registry was full

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
    local n p i
    for n in $(jack_dead_servers); do
        jackd -n "$n" -d dummy -r 48000 -p 1024 >"$1" 2>&1 &
        p=$!
        for i in $(seq 50); do JACK_DEFAULT_SERVER=$n jack_lsp >/dev/null 2>&1 && break; sleep 0.1; done
        kill -TERM "$p" 2>/dev/null
        wait "$p" 2>/dev/null
        echo "freed the registry entry of dead JACK server '$n'"
    done
}

jack_registry_full() { grep -q "Too many servers already active" "$1"; }
