#!/usr/bin/env bash
# SIGTERM (and SIGINT) in the middle of a take: the take is finalised, every
# file is valid and complete, the daemon exits 0.
. "$(dirname "$0")/lib.sh"
t_init sigterm
t_jackd
t_src -m noise
EXTRA_CAPTURE="sample_format = pcm24" t_conf "$T/s.ini" <<CONF
[song]
title = Term
$(t_stems_conf Drums Bass Keys Vox BVs Guitars Synths FX)
CONF
for sig in TERM INT; do
    t_daemon "$T/s.ini"
    t_cli start >/dev/null
    sleep 1.5
    kill -$sig "$T_DAEMON"
    wait "$T_DAEMON"
    rc=$?
    t_forget "$T_DAEMON"
    check '[ $rc = 0 ]' "SIG$sig mid-take: exit status 0"
    dir=$(ls -d "$T/takes/Term/take-"* | tail -1)
    args=()
    i=0
    for s in Drums Bass Keys Vox BVs Guitars Synths FX; do args+=("$dir/Term - $s.wav:$((2 * i)),$((2 * i + 1))"); i=$((i + 1)); done
    args+=("$dir/Term - Mix.wav:16,17")
    extra=()
    grep -q "frames dropped" "$T/stemcapd.log" && extra=(--allow-silence)
    if "$B/tests/checktake" "${extra[@]}" -m noise -l 1 --min-frames 48000 "${args[@]}" >"$T/check.out" 2>&1; then
        ok "SIG$sig mid-take: 9 valid files, same length, match the source ($(tail -1 "$T/check.out"))"
    else
        cat "$T/check.out"
        fail "SIG$sig mid-take: files not complete"
    fi
    check 'grep -q "take 1 of .Term. stopped\|take 2 of .Term. stopped" "$T/stemcapd.log"' "SIG$sig: the take was stopped and logged"
    check 'grep -q "\"ended_by\": \"shutdown\"" "$dir/manifest.json"' "SIG$sig: manifest ended_by 'shutdown'"
done
t_done
