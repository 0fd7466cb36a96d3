#!/usr/bin/env bash
# The stemcap CLI: plain-words output and exit status 0 (ok), 1 (error
# reply), 2 (usage, or no reply).
. "$(dirname "$0")/lib.sh"
t_init cli
t_jackd
t_src -m noise -s 1
t_conf "$T/c.ini" <<CONF
$(t_stems_conf Drums)
CONF
t_daemon "$T/c.ini"
t_cli ping >"$T/o"; check '[ $? = 0 ] && grep -q "stemcapd 0" "$T/o"' "ping: exit 0, prints the version"
t_cli song "CLI Song" >"$T/o"; check '[ $? = 0 ] && grep -q "CLI Song" "$T/o"' "song TITLE"
t_cli status >"$T/o"; check '[ $? = 0 ] && grep -q "idle" "$T/o"' "status when idle"
t_cli start >"$T/o"; check '[ $? = 0 ] && grep -q "recording take 1" "$T/o"' "start: $(head -1 "$T/o")"
sleep 0.5
t_cli status >"$T/o"; check '[ $? = 0 ] && grep -q "recording" "$T/o"' "status while recording"
t_cli start >"$T/o" 2>&1; check '[ $? = 1 ] && grep -q "already recording" "$T/o"' "second start: exit 1 with the reason"
t_cli stop >"$T/o"; check '[ $? = 0 ] && grep -q "stopped take 1" "$T/o"' "stop: $(head -1 "$T/o")"
t_cli arm 5 >"$T/o" 2>&1; check '[ $? = 1 ] && grep -q "not registered" "$T/o"' "arm unregistered stem: exit 1"
t_cli arm 9 >/dev/null 2>&1; check '[ $? = 2 ]' "arm 9: usage error, exit 2"
t_cli frobnicate >/dev/null 2>&1; check '[ $? = 2 ]' "unknown command: exit 2"
t_cli stats >"$T/o"; check '[ $? = 0 ] && grep -q "process callback  mean" "$T/o" && grep -q "slowest write" "$T/o"' "stats: $(head -1 "$T/o")"
# watch: the periodic feedback, sent as separate messages and (after a
# restart with [osc] bundle = true) as one bundle a round: the same lines.
watch_check() {
    timeout --preserve-status -s INT 1.5 "$B/stemcap" -p "$PORT" watch >"$T/w" 2>&1
    local rc=$?
    check '[ $rc = 0 ] && grep -q "^/stemcap/stem/1/level " "$T/w" && grep -q "^/stemcap/mix/level " "$T/w" &&
        grep -q "^/stemcap/null " "$T/w" && grep -q "^/stemcap/status " "$T/w"' \
        "watch, $1: exit $rc, $(grep -c "^/stemcap/stem/1/level " "$T/w") level lines of stem 1 in 1.5 s"
}
watch_check "messages"
t_daemon_stop
sed 's/^bind = 127.0.0.1$/bind = 127.0.0.1\nbundle = true/' "$T/c.ini" >"$T/b.ini"
t_daemon "$T/b.ini"
watch_check "bundles"
"$B/stemcap" -p $((PORT + 1)) -t 300 ping >"$T/o" 2>&1; check '[ $? = 2 ] && grep -q "no reply" "$T/o"' "no daemon: exit 2 with a message"
t_done
