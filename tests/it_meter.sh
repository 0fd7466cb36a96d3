#!/usr/bin/env bash
# Levels and the live null test against known signals: steady sines of known
# level per stem, an exact mix that nulls, a mix with a -40 dBFS error, a mix
# delayed by 32 samples, clip counts, subscriptions that push at the asked
# rate and expire, and the take report.
. "$(dirname "$0")/lib.sh"
t_init meter
t_jackd
# near VALUE EXPECTED TOLERANCE
near() { awk -v v="$1" -v e="$2" -v t="$3" 'BEGIN { d = v - e; if (d < 0) d = -d; exit !(d <= t) }'; }
# arg N of a reply line (1-based, after the address), without its type

EXTRA_CAPTURE="sample_format = float" t_conf "$T/m.ini" <<CONF
[osc]
CONF
# [osc] is already in t_conf's header: add the TTL there instead.
sed -i "s/^bind = 127.0.0.1$/bind = 127.0.0.1\nsubscription_ttl = 2/" "$T/m.ini"
sed -i '/^\[osc\]$/{x;s/^/x/;/^xx$/{x;d};x}' "$T/m.ini"
cat >>"$T/m.ini" <<CONF
[song]
title = Meter
[null]
threshold_db = -60
$(t_stems_conf Drums Bass Keys Vox BVs Guitars Synths FX)
CONF

t_src -m sine
t_mark
t_daemon "$T/m.ini"
sleep 0.5
t_mark
for k in 1 2 3 4 5 6 7 8; do
    l=$(R -m /stemcap/stem/$k/level)
    want=$((-(6 + 2 * k)))
    wrms=$(awk -v w=$want 'BEGIN { print w - 3.0103 }')
    pl=$(echo "$l" | arg 1) pr=$(echo "$l" | arg 2) rl=$(echo "$l" | arg 3) rr=$(echo "$l" | arg 4)
    if near "$pl" $want 0.1 && near "$pr" $want 0.1 && near "$rl" "$wrms" 0.2 && near "$rr" "$wrms" 0.2; then
        ok "stem $k sine: peak $pl/$pr dBFS (want $want +-0.1), RMS $rl/$rr (want $want-3.01 +-0.2)"
    else
        check_rt false "stem $k sine: $l (want peak $want, RMS $want-3.01)"
    fi
done
n=$(R -m /stemcap/null)
check_rt 'awk -v p="$(echo "$n" | arg 1)" "BEGIN { exit !(p < -120) }"' "exact float mix nulls: residual peak $(echo "$n" | arg 1) dBFS (< -120)"
check '[ "$(R -m /stemcap/stem/9/level | cut -d" " -f1)" = /stemcap/error ]' "level of stem 9: error"

# A take with the exact mix: the null holds.
t_cli start >/dev/null
sleep 1
t_cli stop >/dev/null
n=$(R -m /stemcap/null)
check_rt '[ "$(echo "$n" | arg 5)" = 0 ]' "take with an exact mix is not flagged ($n)"
t_cli status >"$T/status.out"
check_rt 'grep -q "Drums .*peak  *-8.0 dBFS  clips 0" "$T/status.out" && grep -q "null OK" "$T/status.out"' "stemcap status shows the take report"

# Reconnecting a port during a take makes the residual jump for a few
# periods: a graph transient, not a deviation.  A mix left disconnected is.
t_cli start >/dev/null
sleep 0.3
t0=$(date +%s%N)
$JACKRUN jack_disconnect stemcap-src:mix_L stemcap:mix_L && $JACKRUN jack_connect stemcap-src:mix_L stemcap:mix_L
ms=$((($(date +%s%N) - t0) / 1000000))
sleep 0.5
t_cli stop >/dev/null
if [ "$ms" -le 150 ]; then
    check_rt '[ "$(R -m /stemcap/null | arg 5)" = 0 ]' "reconnecting mix_L mid-take (${ms} ms) raises no alarm (graph transient)"
else
    t_log "reconnect took ${ms} ms on this machine: longer than a graph transient, not checked"
fi
t_cli start >/dev/null
sleep 0.3
$JACKRUN jack_disconnect stemcap-src:mix_L stemcap:mix_L
sleep 0.7
$JACKRUN jack_connect stemcap-src:mix_L stemcap:mix_L
t_cli stop >/dev/null
check_rt '[ "$(R -m /stemcap/null | arg 5)" = 1 ]' "a mix left disconnected for 0.7 s flags the take"

# A mix 12 dB hot clips: counted on the mix, not on the stems.
kill "$T_SRC"; wait "$T_SRC" 2>/dev/null
t_src -m sine -g 12
t_mark
t_cli start >/dev/null
sleep 0.5
t_cli stop >/dev/null
m=$(R -m /stemcap/mix/level)
check_rt '[ "$(echo "$m" | arg 7)" -gt 0 ] && [ "$(R -m /stemcap/stem/1/level | arg 7)" = 0 ]' "clips counted on the mix ($(echo "$m" | arg 7) in L), none on stem 1"
check '[ "$(echo "$m" | arg 5)" = 0 ] || awk -v h="$(echo "$m" | arg 5)" "BEGIN { exit !(h >= 0) }"' "mix peak hold at or above 0 dBFS ($(echo "$m" | arg 5))"

# A -40 dBFS error in the mix reads -40 and flags the take, with an alarm
# pushed to a subscriber.
kill "$T_SRC"; wait "$T_SRC" 2>/dev/null
t_src -m sine -e -40
t_mark
sleep 0.5
n=$(R -m /stemcap/null)
check_rt 'near "$(echo "$n" | arg 1)" -40 0.5' "a -40 dBFS error in the mix reads $(echo "$n" | arg 1) dBFS (+-0.5)"
"$B/tests/oscraw" -p "$PORT" -t 3000 -k 200 -m /stemcap/subscribe f 10 >"$T/sub.out" 2>/dev/null &
sub=$!
sleep 0.3
t_cli start >/dev/null
sleep 1
t_cli stop >/dev/null
wait $sub
n=$(R -m /stemcap/null)
check_rt '[ "$(echo "$n" | arg 5)" = 1 ]' "the take is flagged"
check_rt 'near "$(echo "$n" | arg 3)" -40 0.5' "take worst residual $(echo "$n" | arg 3) dBFS at frame $(echo "$n" | arg 4)"
check_rt 'grep -q "^/stemcap/null/alarm f:" "$T/sub.out"' "alarm pushed to the subscriber: $(grep -m1 alarm "$T/sub.out")"
check 'grep -q "^/stemcap/start i:1" "$T/sub.out" && grep -q "^/stemcap/stop i:1" "$T/sub.out"' "start/stop pushed on their own addresses"
check 'grep -q "NULL FAILED: the stems do not sum to the mix" "$T/stemcapd.log"' "the failed null is logged"

# Subscriptions: about 10 pushes of each message per second, then expiry
# after the 2 s TTL.
levels=$(grep -c "^/stemcap/stem/1/level" "$T/sub.out")
check '[ "$levels" -ge 14 ] && [ "$levels" -le 30 ]' "10 Hz subscription: $levels stem-1 level pushes in ~2 s (TTL 2 s)"
"$B/tests/oscraw" -p "$PORT" -t 1500 -k 1000 -m /stemcap/subscribe f 1000 >"$T/sub2.out" 2>/dev/null
levels=$(grep -c "^/stemcap/stem/1/level" "$T/sub2.out")
check 'grep -q "^/stemcap/subscribe f:50 i:2" "$T/sub2.out" && [ "$levels" -ge 60 ] && [ "$levels" -le 110 ]' "1000 Hz is capped at 50 Hz: $levels pushes over the 2 s TTL"
sleep 2.5
check 'R -t 500 -k 2 -m /stemcap/ping | [ "$(wc -l)" = 1 ]' "after the TTL nothing more is pushed"
check '[ "$(R -m /stemcap/unsubscribe)" = "/stemcap/unsubscribe i:0" ]' "unsubscribe of an expired subscription says 0"

# A mix delayed by 32 samples: reported as such.
kill "$T_SRC"; wait "$T_SRC" 2>/dev/null
t_src -m noise -D 32
t_mark
sleep 2.5
n=$(R -m /stemcap/null)
check_rt '[ "$(echo "$n" | arg 6)" = 32 ] && [ "$(echo "$n" | arg 7)" = 1 ]' "mix delayed by 32 samples is measured as a lag of $(echo "$n" | arg 6) ($n)"
t_cli null >"$T/null.out"
check_rt 'grep -q "mix lags stems by 32 samples" "$T/null.out"' "stemcap null: $(tail -1 "$T/null.out")"
t_cli levels >"$T/levels.out"
check 'grep -q "^8 FX" "$T/levels.out" && grep -q "^Mix" "$T/levels.out"' "stemcap levels lists every stem and the mix"

# [mix] offset_frames = 32 delays the stems' sum by as much: the same mix nulls.
t_daemon_stop >/dev/null
sed 's/^\[mix\]$/[mix]\noffset_frames = 32/' "$T/m.ini" >"$T/o.ini"
t_daemon "$T/o.ini"
t_mark
sleep 1.5
n=$(R -m /stemcap/null)
check_rt '[ "$(echo "$n" | arg 1)" = -150 ]' "[mix] offset_frames = 32 aligns the stems' sum with the mix delayed by 32: residual peak $(echo "$n" | arg 1) dBFS ($n)"
t_done
