#!/usr/bin/env bash
# The JACK server crashes mid-take (kill -9): the take is finalised from
# what was captured, the daemon stays up ("offline") and retries the server
# with back-off; when the server returns it registers its ports again,
# restores the configured connections when the source reappears, and
# records again.  [hooks] on_error and on_take_end hear of the crash.
. "$(dirname "$0")/lib.sh"
t_init jackrestart
t_jackd
t_src -m noise
EXTRA_CAPTURE="sample_format = float" t_conf "$T/j.ini" <<CONF
[song]
title = Crash
$(t_stems_conf A B C D E F G H)
[hooks]
on_error = $T/hook.sh
on_take_end = $T/hook.sh
CONF
printf '#!/bin/sh\necho "$STEMCAP_EVENT|${STEMCAP_TAKE:-}|${STEMCAP_ERROR:-}${STEMCAP_ENDED_BY:-}" >>"%s"\n' "$T/hooks.log" >"$T/hook.sh"
chmod +x "$T/hook.sh"
t_daemon "$T/j.ini"
files() { args=(); local i=0 s; for s in A B C D E F G H; do args+=("$1/Crash - $s.wav:$((2 * i)),$((2 * i + 1))"); i=$((i + 1)); done; args+=("$1/Crash - Mix.wav:16,17"); }

t_mark
t_cli start >/dev/null
sleep 1.5
kill -9 "$T_JACKD"
wait "$T_JACKD" 2>/dev/null
sleep 1.5
check 'R -m /stemcap/ping | grep -q pong' "the daemon survives the server's crash"
check '[ "$(R -m /stemcap/status | arg 1)" = offline ]' "status says offline"
dir="$T/takes/Crash/take-01"
files "$dir"
"$B/tests/checktake" -m noise -l 0 --min-frames 48000 "${args[@]}" >"$T/c1.out" 2>&1
rc=$?
check_rt '[ $rc = 0 ]' "the take was finalised from what was captured: 9 valid files of one length ($(tail -1 "$T/c1.out"))"
check 'grep -q "\"state\": \"complete\"" "$dir/manifest.json"' "its manifest is complete"
check 'grep -qx "error|1|the JACK server went away during take 1" "$T/hooks.log" && grep -qx "take_end|1|JACK server gone" "$T/hooks.log"' "on_error and on_take_end ran: $(tr '\n' ';' <"$T/hooks.log")"
check 'R -m /stemcap/start | grep -q "^/stemcap/error .*not connected to a JACK server"' "a start while offline is refused with the reason"

# The server comes back; so does the source.
kill "$T_SRC" 2>/dev/null
t_jackd
t_wait 150 sh -c 'jack_lsp | grep -q "^stemcap:stem1_L"'
check 'jack_lsp | grep -q "^stemcap:mix_R"' "the daemon reconnected and registered its ports again"
t_src -m noise
t_wait 50 sh -c 'jack_lsp -c stemcap:stem8_R | grep -q stemcap-src:stem8_R'
check 'jack_lsp -c stemcap:stem8_R | grep -q stemcap-src:stem8_R && jack_lsp -c stemcap:mix_L | grep -q stemcap-src:mix_L' "configured connections restored when the source reappeared"
t_mark
t_cli start >/dev/null
sleep 1
t_cli stop >/dev/null
dir=$(t_take_dir)
files "$dir"
"$B/tests/checktake" -m noise -l 0 --min-frames 24000 "${args[@]}" >"$T/c2.out" 2>&1
rc=$?
check_rt '[ $rc = 0 ] && [ "$(basename "$dir")" = take-02 ]' "take-02 after the restart records correctly ($(tail -1 "$T/c2.out"))"
t_done
