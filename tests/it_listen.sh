#!/usr/bin/env bash
# Listening to the null ([monitor] outputs): stemcapd's output ports
# residual_L/R and sum_L/R, recorded by jack_capture (a recorder nobody here
# wrote), hold exactly the stems' sum and the stems' sum minus the mix, sample
# for sample, against the stem and mix files stemcapd recorded in the same
# stretch of time: silence for a mix that nulls, the mix's error for one that
# does not.  Off by default: then no port is registered.
. "$(dirname "$0")/lib.sh"
t_init listen
t_jackd

STEMS="Drums Bass Keys Vox BVs Guitars Synths FX"
conf() { # FILE [monitor keys...]
    local f=$1
    shift
    EXTRA_CAPTURE="sample_format = float" t_conf "$f" <<CONF
[song]
title = Listen
$(t_stems_conf $STEMS)
$(printf '%s\n' "$@")
CONF
}

# 1. Off by default.
t_src -m noise
conf "$T/off.ini"
t_daemon "$T/off.ini"
check '! jack_lsp | grep -q "^stemcap:residual_\|^stemcap:sum_"' "without [monitor] outputs no output port is registered"
t_daemon_stop || fail "stemcapd exit status (outputs off)"

# 2. On: four output ports, metadata, configured connections.
conf "$T/on.ini" "[monitor]" "outputs = true" "connect_residual_left = system:playback_1" \
    "connect_residual_right = system:playback_2"
t_daemon "$T/on.ini"
check '[ "$(jack_lsp stemcap: | grep -c "^stemcap:\(residual\|sum\)_[LR]$")" = 4 ]' "[monitor] outputs registers stemcap:residual_L/R and stemcap:sum_L/R"
check 'jack_lsp -p stemcap:residual_L | grep -q "output"' "residual_L is an output port"
check 'jack_property -p -l stemcap:residual_R | grep -q "pretty-name value: Null residual R"' "residual_R carries the pretty-name 'Null residual R'"
check 'jack_property -p -l stemcap:sum_L | grep -q "port-group value: Stems. sum type"' "sum_L is in the port group \"Stems' sum\""
check 'jack_lsp -c stemcap:residual_L | grep -q "system:playback_1"' "connect_residual_left connected residual_L -> system:playback_1"
check 'jack_lsp -c stemcap:residual_R | grep -q "system:playback_2"' "connect_residual_right connected residual_R -> system:playback_2"

# One take, and jack_capture recording the four outputs inside it.
# capture TAG: sets DIR (the take) and CAP (jack_capture's 4-channel file:
# residual_L, residual_R, sum_L, sum_R).
capture() {
    CAP="$T/$1.wav"
    oscsend 127.0.0.1 "$PORT" /stemcap/start || fail "$1: oscsend /stemcap/start" # liblo's
    t_wait 100 sh -c "\"$B/tests/oscraw\" -p $PORT -m /stemcap/status | grep -q '^/stemcap/status s:recording'"
    sleep 0.5
    t_mark # xruns from here on make the bit-for-bit checks inconclusive
    $JACKRUN jack_capture -c 4 -p stemcap:residual_L -p stemcap:residual_R -p stemcap:sum_L \
        -p stemcap:sum_R -d 2 -dc -ns "$CAP" </dev/null >"$T/$1.jc.out" 2>&1
    sleep 0.5
    t_cli stop >/dev/null || fail "$1: stop"
    DIR=$(t_take_dir)
    check '[ -s "$CAP" ] && [ "$(soxi -c "$CAP")" = 4 ] && [ "$(soxi -e "$CAP")" = "Floating Point PCM" ]' \
        "$1: jack_capture recorded 4 float channels ($(soxi -s "$CAP" 2>/dev/null) frames)"
}
stem_files() { for s in $STEMS; do printf '%s\n' "$DIR/Listen - $s.wav"; done; }

# verify TAG: where jack_capture's recording lies in the take (found on the
# sum), then both outputs bit for bit over all of it.
verify() {
    local tag=$1 off
    mapfile -t files < <(stem_files)
    off=$("$B/tests/wavcmp" -c 3,4 -o 72000 -f 72000 -n 1024 -t -999 "$CAP" "${files[@]}" | sed -n 's/^offset //p')
    check '[ -n "$off" ]' "$tag: jack_capture's first frame found in the take (frame $off of the files)"
    "$B/tests/wavcmp" -c 3,4 -o "$off" -t -999 "$CAP" "${files[@]}" >"$T/$tag.sum" 2>&1
    RC_SUM=$?
    "$B/tests/wavcmp" -c 1,2 -o "$off" -t -999 "$CAP" "${files[@]}" "sub:$DIR/Listen - Mix.wav" >"$T/$tag.res" 2>&1
    RC_RES=$?
    check_rt '[ $RC_SUM = 0 ]' "$tag: sum_L/R equals the float sum of the 8 stem files, bit for bit ($(cat "$T/$tag.sum"))"
    check_rt '[ $RC_RES = 0 ]' "$tag: residual_L/R equals that sum minus the mix file, bit for bit ($(cat "$T/$tag.res"))"
}

capture null
verify null
check 'grep -q "file peak -inf dBFS" "$T/null.res"' "null: the residual of a mix that nulls is silence"
t_daemon_stop || fail "stemcapd exit status (null)"

# 3. A mix that does not null: the source adds a -40 dBFS sine to the mix.
kill "$T_SRC"
wait "$T_SRC" 2>/dev/null
t_src -m noise -e -40
t_daemon "$T/on.ini"
capture broken
verify broken
peak=$(sed -n 's/.*file peak \(-[0-9.]*\) dBFS.*/\1/p' "$T/broken.res")
check 'awk -v p="$peak" "BEGIN { exit !(p > -40.1 && p < -39.9) }"' "broken: the residual is the mix's error, peak $peak dBFS (the source's sine at -40)"
check '[ "$(R -m /stemcap/null | arg 5)" = 1 ]' "broken: the take's null test failed meanwhile (/stemcap/null flagged 1)"
t_daemon_stop || fail "stemcapd exit status (broken)"
t_done
