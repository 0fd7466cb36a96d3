#!/usr/bin/env bash
# Surfaces that do not listen on the port they send from (issue 16): a
# sender names its reply port with /stemcap/reply_port, or [osc] reply_port
# names one for every sender, and replies and subscription pushes go there,
# received by liblo's oscdump; OSC over TCP ([osc] tcp_port) takes commands
# from liblo's oscsend and answers over the connection, in both of liblo's
# framings, and a TCP subscriber that disconnects is dropped quietly.
. "$(dirname "$0")/lib.sh"
t_init osc_reply
command -v oscdump >/dev/null && command -v oscsend >/dev/null || {
    fail "oscsend/oscdump missing (Debian package liblo-tools)"
    t_done
}
t_jackd
t_src -m noise
OD=$((PORT + 1))   # where oscdump listens: the surface's "incoming" port
TP=$((PORT + 2))   # the daemon's TCP port
SP=$((PORT + 3))   # the fixed port the surface sends from
t_conf "$T/r.ini" <<CONF
[song]
title = Reply
$(t_stems_conf A B)
CONF
# Into t_conf's [osc] section: TCP on, and one subscriber at a time.
sed -i "s/^bind = 127.0.0.1\$/bind = 127.0.0.1\ntcp_port = $TP\nmax_subscribers = 1/" "$T/r.ini"
t_daemon "$T/r.ini"
check 'grep -q "OSC on tcp 127.0.0.1 port $TP" "$T/stemcapd.log"' "TCP listener on [osc] bind at tcp_port $TP"

oscdump -L "$OD" >"$T/od.txt" 2>"$T/od.err" &
T_PIDS+=($!)
# Ready once a probe sent to it shows up.
t_wait 100 sh -c "oscsend 127.0.0.1 $OD /probe; grep -q /probe '$T/od.txt'"
check 'grep -q " /probe" "$T/od.txt"' "oscdump listening on $OD"

# oscdump's line "TIMETAG /addr types arg..." in oscraw's form "/addr t:arg ...".
od_norm() {
    python3 -c '
import shlex, sys
for line in sys.stdin:
    w = shlex.split(line)
    if len(w) < 2:
        continue
    path, types, args = w[1], (w[2] if len(w) > 2 else ""), w[3:]
    out = [path]
    for t, a in zip(types, args):
        if t == "f":
            a = "%g" % float(a)
        out.append(t + ":" + a)
    print(" ".join(out))'
}
# Lines at oscdump for ADDRESS (normalised).
od_lines() { od_norm <"$T/od.txt" | grep "^$1\( \|\$\)"; }
od_has() { od_lines "$1" | grep -q "${2:-}"; }

# 1. A plain oscsend from an ephemeral port: the reply goes to that port,
#    which nobody listens on (it reaches oscdump only once asked to, below).
oscsend 127.0.0.1 "$PORT" /stemcap/status
# 2. The surface names its port: the reply to that comes at the new port.
check 'R -s "$SP" -n -t 300 -m /stemcap/reply_port i "$OD"' "/stemcap/reply_port i:$OD: no reply at the sending port"
t_wait 50 od_has /stemcap/reply_port
check '[ "$(od_lines /stemcap/reply_port)" = "/stemcap/reply_port i:$OD" ]' "... answered at oscdump: $(od_lines /stemcap/reply_port)"
# 3. Its status query is answered at oscdump, exactly as a plain query is.
R -s "$SP" -n -t 300 -m /stemcap/status >/dev/null
t_wait 50 od_has /stemcap/status
want=$(R -m /stemcap/status)
check '[ "$(od_lines /stemcap/status)" = "$want" ]' "status at oscdump, exact, and only the one asked for there: $(od_lines /stemcap/status)"
check 'grep -q " /stemcap/status sihihssiiss " "$T/od.txt"' "status types sihihssiiss"
# 4. /stemcap/stems: one /stemcap/stem per stem, then /stemcap/stems, exact.
R -s "$SP" -n -t 300 -m /stemcap/stems >/dev/null
t_wait 50 od_has /stemcap/stems
want=$(R -k 3 -m /stemcap/stems)
got=$(od_norm <"$T/od.txt" | grep '^/stemcap/stems\{0,1\} ')
check '[ "$got" = "$want" ]' "/stemcap/stems at oscdump, exact ($(echo "$got" | tr '\n' '|'))"
check 'echo "$got" | grep -q "^/stemcap/stem i:1 s:A i:1 s:stemcap:stem1_L s:stemcap:stem1_R$"' "... stem 1 as configured"
# 5. Another sender is not affected: its reply still comes to its own port.
check 'R -m /stemcap/reply_port | grep -q "^/stemcap/reply_port i:[0-9]"' "another sender's reply port is its own (queried)"
# 6. Its subscription pushes go to oscdump: the periodic feedback and the
#    state changes (a song title set by someone else).
R -s "$SP" -n -t 300 -m /stemcap/subscribe f 10 >/dev/null
t_wait 50 od_has /stemcap/subscribe
check 'od_has /stemcap/subscribe "^/stemcap/subscribe f:10 i:30$"' "subscribe answered at oscdump: $(od_lines /stemcap/subscribe)"
t_wait 50 od_has /stemcap/mix/level
check 'grep -q " /stemcap/stem/1/level ffffffii " "$T/od.txt"' "feedback pushed to oscdump: stem levels"
check 'od_has /stemcap/null && od_has /stemcap/mix/level && [ "$(od_lines /stemcap/status | wc -l)" -ge 2 ]' "... mix level, null and status too ($(od_lines /stemcap/status | wc -l) status lines)"
check 'R -m /stemcap/song s "Pushed Title" | grep -q "^/stemcap/song s:Pushed Title$"' "title set by another sender"
t_wait 50 od_has /stemcap/song/title
check 'od_has /stemcap/song/title "^/stemcap/song/title s:Pushed Title$" && od_has /stemcap/song "^/stemcap/song s:Pushed Title$"' "the change pushed to oscdump"
# 7. Bad arguments: the one-line error reply (from a fresh sender, at its port).
e1=$(R -m /stemcap/reply_port s 9000)
check 'echo "$e1" | grep -q "^/stemcap/error s:/stemcap/reply_port s:expects one int argument"' "string argument refused: $e1"
e2=$(R -m /stemcap/reply_port f 9000)
check 'echo "$e2" | grep -q "^/stemcap/error s:/stemcap/reply_port s:expects one int argument"' "float argument refused"
e3=$(R -m /stemcap/reply_port i 65536)
check 'echo "$e3" | grep -q "^/stemcap/error s:/stemcap/reply_port s:port 65536 is out of range (1..65535, or 0 for the default)$"' "port 65536 refused: $e3"
check 'R -m /stemcap/reply_port i -1 | grep -q "^/stemcap/error s:/stemcap/reply_port s:port -1 is out of range"' "port -1 refused"
check 'R -m /stemcap/reply_port ii 1 2 | grep -q "^/stemcap/error s:/stemcap/reply_port s:expects one int argument"' "two arguments refused"
# ... and from the surface, the error goes to its reply port.
R -s "$SP" -n -t 300 -m /stemcap/reply_port i 70000 >/dev/null
t_wait 50 od_has /stemcap/error
check 'od_has /stemcap/error "^/stemcap/error s:/stemcap/reply_port s:port 70000 is out of range"' "the surface's error at oscdump; its port unchanged"
# 8. Unsubscribed (answered at oscdump); i:0: back to the default, and the
#    answer comes to the sending port.
R -s "$SP" -n -t 300 -m /stemcap/unsubscribe >/dev/null
t_wait 50 od_has /stemcap/unsubscribe
check '[ "$(od_lines /stemcap/unsubscribe)" = "/stemcap/unsubscribe i:1" ]' "the surface unsubscribes, answered at oscdump"
r0=$(R -s "$SP" -m /stemcap/reply_port i 0)
check '[ "$r0" = "/stemcap/reply_port i:$SP" ]' "i:0: answered at the sending port ($r0)"

# TCP: oscsend over TCP (liblo's framing: a 4-byte length before each message).
oscsend "osc.tcp://127.0.0.1:$TP" /stemcap/song s "Over TCP"
t_wait 50 sh -c "'$B/tests/oscraw' -p $PORT -m /stemcap/status | grep -q ' s:Over TCP '"
check 'R -m /stemcap/status | grep -q "^/stemcap/status s:[a-z]* i:0 h:0 i:[0-9]* h:[0-9]* s:Over TCP s:"' "oscsend over TCP sets the song title (seen in the status over UDP)"
oscsend "osc.tcp://127.0.0.1:$TP" /stemcap/stem/2/arm i 0
t_wait 50 sh -c "'$B/tests/oscraw' -p $PORT -m /stemcap/stem/2/arm | grep -q 'i:0'"
check '[ "$(R -m /stemcap/stem/2/arm)" = "/stemcap/stem/2/arm i:0" ]' "oscsend over TCP disarms stem 2"
oscsend "osc.tcp://127.0.0.1:$TP" /stemcap/stem/2/arm T
t_wait 50 sh -c "'$B/tests/oscraw' -p $PORT -m /stemcap/stem/2/arm | grep -q 'i:1'"
check '[ "$(R -m /stemcap/stem/2/arm)" = "/stemcap/stem/2/arm i:1" ]' "... and arms it again (T)"
# Replies over the connection, in either framing, exactly as over UDP.
TCP() { python3 "$TOP/tests/osctcp.py" -p "$TP" "$@"; }
for fr in length slip; do
    opt=()
    [ $fr = slip ] && opt=(--slip)
    check '[ "$(TCP "${opt[@]}" /stemcap/status)" = "$(R -m /stemcap/status)" ]' "$fr framing: status over TCP, exact"
    check '[ "$(TCP "${opt[@]}" -k 3 /stemcap/stems)" = "$(R -k 3 -m /stemcap/stems)" ]' "$fr framing: /stemcap/stems over TCP, exact"
    check '[ "$(TCP "${opt[@]}" -k 2 /stemcap/ping -- /stemcap/song/title)" = "$(R -m /stemcap/ping)
/stemcap/song/title s:Over TCP" ]' "$fr framing: two messages on one connection, answered in order"
done
check 'TCP /stemcap/reply_port i 9000 | grep -q "^/stemcap/error s:/stemcap/reply_port s:replies to a TCP client go back over its connection"' "reply_port over TCP: error reply over the connection"
check 'TCP /stemcap/nonsense | grep -q "^/stemcap/error s:/stemcap/nonsense s:unknown address$"' "unknown address over TCP: the same error"
# A length prefix of 8192: the error, then the daemon ends the connection.
big=$(python3 -c '
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(struct.pack(">I", 8192) + b"/stemcap/ping" + b"\0" * 51)
d = b""
while True:
    c = s.recv(4096)
    if not c:
        break
    d += c
print(d[4:].split(b"\0")[0].decode(), "message too large" in d.decode("latin-1"), "closed")' "$TP" 2>&1)
check '[ "$big" = "/stemcap/error True closed" ]' "a message over 4096 bytes over TCP: error reply, connection closed ($big)"
# A TCP subscriber gets its pushes over the connection, then disconnects:
# with max_subscribers = 1 a UDP subscription succeeds only once the TCP
# one has gone.
TCP -k 6 /stemcap/subscribe f 20 >"$T/tcpsub.txt"
check 'head -1 "$T/tcpsub.txt" | grep -q "^/stemcap/subscribe f:20 i:30$" && grep -q "^/stemcap/mix/level " "$T/tcpsub.txt"' "TCP subscriber: answer and feedback over the connection ($(wc -l <"$T/tcpsub.txt") messages)"
# (From the fixed port: every try is the same sender.  Its feedback may come
# before the answer, so several replies are read.)
usub() { R -s "$SP" -k 3 -t 300 -m /stemcap/subscribe f 1 2>/dev/null | grep -q "^/stemcap/subscribe f:1 i:30$"; }
t_wait 50 usub
check 'usub' "the disconnected TCP subscriber was dropped: a UDP subscription fits"
check 'R -s "$SP" -k 3 -t 300 -m /stemcap/unsubscribe 2>/dev/null | grep -q "^/stemcap/unsubscribe i:1$"' "... and ends"
# One that disconnects in the middle of a push stream, many times over.
hung=0
for i in $(seq 10); do
    TCP -k 2 /stemcap/subscribe f 50 | grep -q "^/stemcap/subscribe f:50 i:30$" && hung=$((hung + 1))
done
check '[ $hung = 10 ]' "$hung of 10 TCP subscribers subscribed, got feedback and hung up (each frees the one place when it goes)"
check 'R -m /stemcap/ping | grep -q "^/stemcap/pong "' "daemon answering after 10 TCP subscribers hung up"
check '! grep -q ": \(warning\|error\):" "$T/stemcapd.log"' "no warnings or errors about them in the log"
check 'kill -0 $T_DAEMON' "daemon alive"
t_daemon_stop
rc=$?
check '[ $rc = 0 ]' "first daemon stopped cleanly"

# [osc] reply_port: every sender's replies go to its host at that port, so a
# plain oscsend (any source port) is answered at oscdump.  (stemcap(1)'s
# ping would not be answered: wait for the log line instead of t_daemon.)
sed -i "s/^tcp_port = $TP\$/reply_port = $OD/" "$T/r.ini"
n0=$(wc -l <"$T/od.txt")
"$B/stemcapd" -c "$T/r.ini" >>"$T/stemcapd2.log" 2>&1 &
T_DAEMON=$!
T_PIDS+=("$T_DAEMON")
t_wait 100 grep -q "ready" "$T/stemcapd2.log"
check 'grep -q "port $OD (\[osc\] reply_port)" "$T/stemcapd2.log"' "[osc] reply_port = $OD logged"
new() { tail -n +$((n0 + 1)) "$T/od.txt" | od_norm; }
oscsend 127.0.0.1 "$PORT" /stemcap/ping
t_wait 50 sh -c "tail -n +$((n0 + 1)) '$T/od.txt' | grep -q /stemcap/pong"
check 'new | grep -q "^/stemcap/pong s:"' "oscsend's ping answered at oscdump: $(new | grep pong)"
oscsend 127.0.0.1 "$PORT" /stemcap/status
t_wait 50 sh -c "tail -n +$((n0 + 1)) '$T/od.txt' | grep -q /stemcap/status"
check 'new | grep -q "^/stemcap/status s:[a-z]* i:[0-9]* h:[0-9]* i:[0-9]* h:[0-9]* s:Reply "' "oscsend's status answered at oscdump: $(new | grep status)"
check '[ "$(R -s "$SP" -m /stemcap/reply_port i "$SP")" = "/stemcap/reply_port i:$SP" ]' "a sender's own reply port overrides [osc] reply_port"
check '[ "$(R -s "$SP" -m /stemcap/status | arg 6)" = Reply ]' "... its status comes back to it"
R -s "$SP" -n -t 300 -m /stemcap/reply_port i 0 >/dev/null
t_wait 50 sh -c "tail -n +$((n0 + 1)) '$T/od.txt' | grep -q /stemcap/reply_port"
check 'new | grep -q "^/stemcap/reply_port i:$OD$"' "i:0: back to [osc] reply_port, answered there"
check 'R -n -t 300 -m /stemcap/ping' "a plain query is not answered at its own port"
t_daemon_stop
rc=$?
check '[ $rc = 0 ]' "second daemon stopped cleanly"
t_done
