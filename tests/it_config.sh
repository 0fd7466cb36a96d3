#!/usr/bin/env bash
# Bad configuration: stemcapd exits 2 before starting anything, with a
# one-line error naming the file, the line and the key.
. "$(dirname "$0")/lib.sh"
t_init config
t_jackd

bad() { # expected-message-regex description  (config on stdin)
    local f="$T/bad.ini"
    cat >"$f"
    "$B/stemcapd" -c "$f" >"$T/out" 2>&1
    local rc=$?
    if [ $rc = 2 ] && grep -Eq -- "$1" "$T/out"; then ok "$2"; else
        cat "$T/out"; fail "$2 (exit $rc)"; fi
}
# [capture] dir naming a file, or a path under one: exit 2 before the OSC
# socket is bound (nothing logged about OSC, the port free), no folder made.
touch "$T/afile"
for d in "$T/afile" "$T/afile/takes"; do
    printf '[capture]\ndir = %s\n[osc]\nbind = 127.0.0.1\nport = %s\n' "$d" "$PORT" >"$T/dir.ini"
    "$B/stemcapd" -c "$T/dir.ini" >"$T/out" 2>&1
    rc=$?
    check '[ $rc = 2 ] && [ "$(wc -l <"$T/out")" = 1 ] && grep -q "is a file, not a folder" "$T/out" && ! grep -q "OSC on" "$T/out"' "[capture] dir = ${d#"$T"/}: exit $rc before anything starts: $(cut -d' ' -f3- "$T/out")"
done
bad "bad.ini:2: \[capture\] buffer_seconds: '0x10'" "numbers are decimal: buffer_seconds = 0x10 refused" <<'EOF2'
[capture]
buffer_seconds = 0x10
EOF2
bad "bad.ini:2: \[null\] threshold_db: '-0x3C'" "numbers are decimal: threshold_db = -0x3C refused" <<'EOF2'
[null]
threshold_db = -0x3C
EOF2
bad "bad.ini:2: \[capture\] sample_format: 'pcm20' is not one of" "bad sample_format" <<'EOF2'
[capture]
sample_format = pcm20
EOF2
bad "bad.ini:3: \[osc\] port: '70000' is not a UDP port" "port out of range" <<'EOF2'
[osc]
bind = 127.0.0.1
port = 70000
EOF2
bad "bad.ini:1: unknown section \[stem9\]" "unknown section" <<'EOF2'
[stem9]
name = Nine
EOF2
bad "bad.ini:2: \[stem1\] nmae: unknown key" "unknown key" <<'EOF2'
[stem1]
nmae = Drums
EOF2
bad "bad.ini:2: \[stem1\] armed: 'maybe' is not a boolean" "bad boolean" <<'EOF2'
[stem1]
armed = maybe
EOF2
bad "bad.ini:2: \[capture\] buffer_seconds: '0.1' is not a number of seconds" "buffer too short" <<'EOF2'
[capture]
buffer_seconds = 0.1
EOF2
bad "same file name 'Drums'" "duplicate stem names" <<'EOF2'
[stem1]
name = Drums
[stem2]
name = Drums.
EOF2
bad "bad.ini:2: syntax error" "syntax error" <<'EOF2'
[song]
this line has no equals sign
EOF2
"$B/stemcapd" -c "$T/does-not-exist.ini" >"$T/out" 2>&1
check '[ $? = 2 ] && grep -q "cannot open config file" "$T/out"' "missing config file: exit 2"
"$B/stemcapd" --bogus >"$T/out" 2>&1
check '[ $? = 2 ]' "unknown option: exit 2"
check '"$B/stemcapd" -V | grep -q "^stemcapd [0-9]"' "--version"
check '"$B/stemcapd" --help | grep -q "usage: stemcapd"' "--help"
check '! jack_lsp | grep -q "^stemcap:"' "no JACK client was left behind by the bad configs"

# Port in use: exit 1, nothing registered with JACK.
t_conf "$T/good.ini" </dev/null
t_daemon "$T/good.ini"
"$B/stemcapd" -c "$T/good.ini" >"$T/out2" 2>&1
check '[ $? = 1 ] && grep -q "cannot bind the OSC socket" "$T/out2"' "second daemon on the same OSC port: exit 1 with the reason"
# Listening beyond loopback: only senders in [osc] allow are served.
t_daemon_stop
t_conf "$T/acl.ini" </dev/null
sed -i "s/^bind = 127.0.0.1$/bind = 0.0.0.0\nallow = 10.1.2.0\/24/" "$T/acl.ini"
"$B/stemcapd" -c "$T/acl.ini" >>"$T/stemcapd.log" 2>&1 &
T_DAEMON=$!
T_PIDS+=("$T_DAEMON")
sleep 1
"$B/tests/oscraw" -p "$PORT" -t 500 -m /stemcap/ping >/dev/null 2>&1
check '[ $? = 3 ] && grep -q "not in \[osc\] allow" "$T/stemcapd.log"' "bind 0.0.0.0 with allow 10.1.2.0/24: a loopback sender gets no answer, the drop is logged"
t_daemon_stop
sed -i "s/^allow = .*/allow = 10.1.2.0\/24 127.0.0.0\/8/" "$T/acl.ini"
t_daemon "$T/acl.ini"
check '"$B/tests/oscraw" -p "$PORT" -m /stemcap/ping | grep -q pong' "with 127.0.0.0/8 in the allow list the loopback sender is served"

# No JACK server: exit 1 with a clear message.
t_conf "$T/nojack.ini" <<'EOF2'
EOF2
sed -i "s/^port = .*/port = $((PORT + 1))/; s/^client = stemcap/server = no-such-server-$$/" "$T/nojack.ini"
"$B/stemcapd" -c "$T/nojack.ini" >"$T/out3" 2>&1
check '[ $? = 1 ] && grep -q "cannot connect to JACK server" "$T/out3"' "no JACK server: exit 1 with the reason"
t_done
