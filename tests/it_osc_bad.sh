#!/usr/bin/env bash
# Malformed, truncated, misaligned, oversized, bundled and wrongly-typed OSC
# datagrams are answered with /stemcap/error (or dropped) while a take keeps
# recording: the daemon never crashes and the take's files stay intact.
. "$(dirname "$0")/lib.sh"
t_init osc_bad
t_jackd
t_src -m noise
EXTRA_CAPTURE="sample_format = float" t_conf "$T/o.ini" <<CONF
[song]
title = Noise
$(t_stems_conf A B)
CONF
t_daemon "$T/o.ini"
t_cli start >/dev/null

err() { # description, oscraw args...
    local d=$1
    shift
    if R "$@" | grep -q '^/stemcap/error'; then ok "$d: error reply"; else fail "$d: no error reply"; fi
}
err "unknown address" -m /stemcap/nonsense
err "wrong argument type for song" -m /stemcap/song i 3
err "argument to ping" -m /stemcap/ping i 1
err "empty song title" -m /stemcap/song s ""
err "stem path without number" -m /stemcap/stem/x/arm
err "stem number overflow" -m /stemcap/stem/99999999999/arm
# '/stemcap/ping' then no type tag string: size 16 but liblo wants a ','.
err "missing type tags" "2f7374656d6361702f70696e67000000"
# Misaligned: 15 bytes.
err "size not a multiple of 4" "2f7374656d6361702f70696e670000"
# Truncated: type tags promise an int32 that is not there.
err "truncated argument" "2f7374656d6361702f736f6e6700000000002c730000"
# Address not terminated within the datagram.
err "unterminated address" "2f7374656d6361702f70696e67676767"
# A bundle holding a ping.
err "bundle" "2362756e646c650000000000000000010000001c2f7374656d6361702f70696e67000000002c000000"
# Type tag with an unknown type.
err "unknown type tag" "2f7374656d6361702f70696e67000000002c5a0000"
# Not OSC at all.
err "garbage" "deadbeefdeadbeef"
# Oversized: 8 KiB.
big=$(head -c 4200 /dev/zero | tr '\0' 'a' | od -An -v -tx1 | tr -d ' \n')
err "oversized datagram" "2f$big"
# Empty datagram: no reply expected, and no crash.
check 'R -n "" >/dev/null 2>&1 || true; R -m /stemcap/ping | grep -q pong' "empty datagram ignored"
# Text that is not UTF-8 (Latin-1 'Caf\xe9'): refused with the reason, the
# running values unchanged, never acknowledged as set.
latin1=$(printf 'Caf\351')
for a in /stemcap/song /stemcap/song/artist /stemcap/stem/1/name; do
    r=$(R -m "$a" s "$latin1")
    check 'echo "$r" | grep -q "^/stemcap/error s:$a s:.*not valid UTF-8 (byte 0xE9 at offset 3)"' "$a 'Caf\\xe9': refused ($r)"
done
check '[ "$(t_status_field 6)" = Noise ] && R -k 3 -t 300 -m /stemcap/stems 2>/dev/null | grep -q "^/stemcap/stem i:1 s:A "' "title and stem name unchanged"
# The same bytes in the config file at SIGHUP: the reload is refused whole.
sed "s/^title = Noise$/title = $latin1/" "$T/o.ini" >"$T/o.new" && cp "$T/o.ini" "$T/o.keep" && cp "$T/o.new" "$T/o.ini"
kill -HUP "$T_DAEMON"
t_wait 50 grep -q "SIGHUP: .* has errors" "$T/stemcapd.log"
check 'grep -q "\[song\] title: is not valid UTF-8 (byte 0xE9 at offset 3)" "$T/stemcapd.log" && [ "$(t_status_field 6)" = Noise ]' "SIGHUP with a Latin-1 title: refused, named ($(grep -m1 "not valid UTF-8" "$T/stemcapd.log" | cut -d' ' -f3-))"
cp "$T/o.keep" "$T/o.ini"
# Random junk of many sizes.
for i in $(seq 200); do
    R -t 50 "$(head -c $(( (RANDOM % 64 + 1) * 4 )) /dev/urandom | od -An -v -tx1 | tr -d ' \n')" >/dev/null 2>&1
done
check 'R -m /stemcap/ping | grep -q "^/stemcap/pong s:"' "still answering after 200 random datagrams"
sleep 1.1 # refill the error budget
# One burst of 60 from one socket: the bucket holds 20, so about 20 are answered
# however slowly this machine starts processes.
replies=$(R -r 60 -k 60 -t 300 -m /stemcap/nonsense 2>/dev/null | grep -c '^/stemcap/error ')
check '[ "$replies" -ge 15 ] && [ "$replies" -le 30 ]' "error replies are rate-limited: $replies of 60 bad requests answered"
check 'grep -q "error replies are rate-limited" "$T/stemcapd.log"' "the rate limit is logged"
sleep 1.1
check 'R -m /stemcap/status | grep -q "^/stemcap/status s:recording"' "take still recording"
sleep 0.5
t_cli stop >/dev/null
dir=$(t_take_dir)
t_checktake "files of the take are intact" -m noise -l 0 "$dir/Noise - A.wav:0,1" "$dir/Noise - B.wav:2,3" "$dir/Noise - Mix.wav:16,17"
check 'kill -0 $T_DAEMON' "daemon alive"
t_done
