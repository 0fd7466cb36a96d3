#!/usr/bin/env bash
# The systemd notification protocol, against tests/notifylisten standing in
# for systemd: READY=1 once the daemon answers, STATUS= with the state,
# WATCHDOG=1 every WATCHDOG_USEC/2 while healthy (and never when
# WATCHDOG_PID names another process), STOPPING=1 on SIGTERM; the daemon runs
# unchanged when nobody listens.  Then systemd-analyze verify of both units
# (skipped when systemd-analyze is not installed).
. "$(dirname "$0")/lib.sh"
t_init notify
NL=$B/tests/notifylisten
[ -x "$NL" ] || { fail "$NL is not built"; t_done; }
t_jackd
t_conf "$T/n.ini" </dev/null

# t_listen NAME: notifylisten on $T/NAME.sock, printing to $T/NAME.out.
t_listen() {
    rm -f "$T/$1.sock"
    "$NL" "$T/$1.sock" >"$T/$1.out" 2>"$T/$1.err" &
    T_PIDS+=($!)
    t_wait 50 test -S "$T/$1.sock" || { cat "$T/$1.err"; fail "notifylisten did not bind"; t_done; }
}
# n_has NAME ERE: a datagram of NAME matches ERE ('|' separates its lines,
# so match a field with (^|\|)FIELD(\||$)).
n_has() { grep -Eq "$2" "$T/$1.out"; }
n_count() { grep -Ec "$2" "$T/$1.out"; }
# n_line NAME ERE: the number of the first datagram of NAME matching ERE (0: none).
n_line() { grep -En "$2" "$T/$1.out" | head -1 | cut -d: -f1 | grep . || echo 0; }
# n_status NAME: the last STATUS= value NAME received.
n_status() { grep -Eo '(^|\|)STATUS=[^|]*' "$T/$1.out" | tail -1 | sed 's/^|//; s/^STATUS=//'; }
WD='(^|\|)WATCHDOG=1(\||$)'

t_listen n
export NOTIFY_SOCKET=$T/n.sock WATCHDOG_USEC=2000000
t_daemon "$T/n.ini"
unset NOTIFY_SOCKET WATCHDOG_USEC
t_wait 10 n_has n '(^|\|)READY=1(\||$)'
rc=$?
check '[ $rc = 0 ]' "READY=1 by the time the daemon answers ping: $(head -1 "$T/n.out")"
check '[ "$(n_count n "(^|\|)READY=1(\||$)")" = 1 ]' "READY=1 sent once"
check 'n_status n | grep -q idle' "STATUS= says idle: $(n_status n)"
n0=$(n_count n "$WD")
sleep 3
n1=$(n_count n "$WD")
check '[ $((n1 - n0)) -ge 2 ]' "WATCHDOG=1 while idle: $((n1 - n0)) in 3 s (WATCHDOG_USEC=2000000: one a second)"

t_cli start >/dev/null
n_recording() { n_status n | grep -q recording; }
t_wait 20 n_recording
rc=$?
check '[ $rc = 0 ]' "STATUS= changes to recording on start: $(n_status n)"
n0=$(n_count n "$WD")
sleep 3
n1=$(n_count n "$WD")
check '[ $((n1 - n0)) -ge 2 ]' "WATCHDOG=1 while recording: $((n1 - n0)) in 3 s"
t_cli stop >/dev/null
n_idle() { n_status n | grep -q idle; }
t_wait 20 n_idle
rc=$?
check '[ $rc = 0 ]' "STATUS= back to idle on stop: $(n_status n)"

t_daemon_stop
rc=$?
check '[ $rc = 0 ]' "SIGTERM: exit status 0"
t_wait 10 n_has n '(^|\|)STOPPING=1(\||$)'
rc=$?
check '[ $rc = 0 ]' "SIGTERM: STOPPING=1"
check '[ "$(n_line n "(^|\|)STOPPING=1")" -gt "$(n_line n "(^|\|)READY=1")" ]' "STOPPING=1 comes after READY=1"

# The watchdog belongs to another process: READY and STATUS, no WATCHDOG.
t_listen p
export NOTIFY_SOCKET=$T/p.sock WATCHDOG_USEC=2000000 WATCHDOG_PID=1
t_daemon "$T/n.ini"
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID
sleep 2.5
check 'n_has p "(^|\|)READY=1(\||$)" && [ "$(n_count p "$WD")" = 0 ]' "WATCHDOG_PID=1 (not us): READY=1 but no WATCHDOG=1"
t_daemon_stop

# Nobody listens on NOTIFY_SOCKET: the daemon works all the same.
export NOTIFY_SOCKET=$T/nobody.sock WATCHDOG_USEC=2000000
t_daemon "$T/n.ini"
unset NOTIFY_SOCKET WATCHDOG_USEC
t_cli start >/dev/null && sleep 1.2 && t_cli stop >/dev/null
rc=$?
check '[ $rc = 0 ]' "NOTIFY_SOCKET without a listener: a take starts and stops"
t_daemon_stop
rc=$?
check '[ $rc = 0 ]' "NOTIFY_SOCKET without a listener: exit status 0 on SIGTERM"

# The units, with ExecStart pointing at this build (verify wants it to exist).
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$T/sys" "$T/user" "$T/xdg"
    chmod 700 "$T/xdg"
    sed "s|^ExecStart=/usr/local/bin/stemcapd|ExecStart=$B/stemcapd|" "$TOP/systemd/stemcapd.service" \
        >"$T/sys/stemcapd.service"
    sed "s|^ExecStart=/usr/local/bin/stemcapd|ExecStart=$B/stemcapd|" \
        "$TOP/systemd/stemcapd.user.service" >"$T/user/stemcapd.service"
    systemd-analyze verify --man=no "$T/sys/stemcapd.service" >"$T/verify.out" 2>&1
    rc=$?
    cat "$T/verify.out"
    check '[ $rc = 0 ] && [ ! -s "$T/verify.out" ]' "systemd-analyze verify stemcapd.service: clean"
    XDG_RUNTIME_DIR=$T/xdg systemd-analyze --user verify --man=no "$T/user/stemcapd.service" \
        >"$T/verify.out" 2>&1
    rc=$?
    cat "$T/verify.out"
    check '[ $rc = 0 ] && [ ! -s "$T/verify.out" ]' "systemd-analyze --user verify stemcapd.user.service: clean"
else
    T_SKIPS=$((T_SKIPS + 1))
    printf '  skip systemd-analyze verify   [systemd-analyze not installed]\n'
fi
t_done
