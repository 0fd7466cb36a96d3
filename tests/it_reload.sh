#!/usr/bin/env bash
# SIGHUP reloads the configuration without dropping the take in progress:
# song metadata, stem names, arm states and connections apply; settings
# that need a restart are reported as such; a broken file changes nothing.
. "$(dirname "$0")/lib.sh"
t_init reload
t_jackd
t_src -m noise
EXTRA_CAPTURE="sample_format = float" t_conf "$T/r.ini" <<CONF
[song]
title = Before
$(t_stems_conf Drums Bass Keys Vox BVs Guitars Synths FX)
CONF
t_daemon "$T/r.ini"
files() { args=(); local i=0 s; for s in "$@"; do args+=("$dir/Before - $s.wav:$((2 * i)),$((2 * i + 1))"); i=$((i + 1)); done; args+=("$dir/Before - Mix.wav:16,17"); }

t_mark
t_cli start >/dev/null
sleep 0.7
cp "$T/r.ini" "$T/r.ini.orig"
sed -i 's/^title = Before$/title = After\nartist = Reloaded/; s/^name = Bass$/name = Bass DI/; s/^format = .*//' "$T/r.ini"
printf '[capture]\nformat = aiff\n' >/dev/null
sed -i 's/^sample_format = float$/sample_format = float\nformat = aiff/' "$T/r.ini"
kill -HUP "$T_DAEMON"
sleep 0.7
check '[ "$(R -m /stemcap/status | cut -d" " -f2)" = s:recording ]' "the take goes on through SIGHUP"
check '[ "$(R -m /stemcap/song/title)" = "/stemcap/song/title s:After" ] && [ "$(R -m /stemcap/song/artist)" = "/stemcap/song/artist s:Reloaded" ]' "song metadata reloaded"
check '[ "$(R -m /stemcap/stem/2/name)" = "/stemcap/stem/2/name s:Bass DI" ]' "stem name reloaded"
check 'grep -q "need a restart of stemcapd (not applied): \[capture\]" "$T/stemcapd.log"' "the format change is reported as needing a restart"
t_cli stop >/dev/null
dir=$(t_take_dir)
files Drums Bass Keys Vox BVs Guitars Synths FX
"$B/tests/checktake" -m noise -l 0 --min-frames 48000 "${args[@]}" >"$T/c.out" 2>&1
rc=$?
check_rt '[ $rc = 0 ]' "the take in progress kept its song and names and lost nothing ($(tail -1 "$T/c.out"))"

# A broken file changes nothing.
echo "garbage line" >>"$T/r.ini"
kill -HUP "$T_DAEMON"
sleep 0.5
check 'grep -q "SIGHUP: .* has errors (above); the running configuration stays" "$T/stemcapd.log"' "a broken file is reported and ignored"
check '[ "$(R -m /stemcap/song/title)" = "/stemcap/song/title s:After" ] && R -m /stemcap/ping | grep -q pong' "and the daemon goes on with what it had"

# Arm states and connections apply when idle.
cp "$T/r.ini.orig" "$T/r.ini"
sed -i '/^\[stem3\]$/,/^armed/{s/^name = Keys$/name = Keys\narmed = false/}' "$T/r.ini"
kill -HUP "$T_DAEMON"
sleep 0.5
check '[ "$(R -m /stemcap/stem/3/arm)" = "/stemcap/stem/3/arm i:0" ]' "arm state reloaded while idle"
t_done
