#!/usr/bin/env bash
# Arming and disarming over OSC and from the CLI decides which files a take
# writes; arming during a take, stems out of range and stems that are not
# registered are refused with /stemcap/error.
. "$(dirname "$0")/lib.sh"
t_init arm
t_jackd
t_src -m noise
EXTRA_CAPTURE="sample_format = float" t_conf "$T/arm.ini" <<CONF
[song]
title = Arms
$(t_stems_conf Drums Bass Keys Vox)
CONF
t_daemon "$T/arm.ini"
check 'jack_property -p -l stemcap:stem1_L | grep -q "pretty-name value: Drums L"' "stem1_L carries the pretty-name 'Drums L'"
check 'jack_property -p -l stemcap:mix_R | grep -q "pretty-name value: Mix R"' "mix_R carries the pretty-name 'Mix R'"
# Port groups and order, so patchbays show the stems as stereo pairs in order.
check 'jack_property -p -l stemcap:stem1_L | grep -q "port-group value: Drums type"' "stem1_L is in port group 'Drums'"
check 'jack_property -p -l stemcap:stem1_R | grep -q "port-group value: Drums type"' "stem1_R is in port group 'Drums'"
check 'jack_property -p -l stemcap:stem2_L | grep -q "port-group value: Bass type"' "stem2_L is in port group 'Bass'"
check 'jack_property -p -l stemcap:mix_L | grep -q "port-group value: Mix type"' "mix_L is in port group 'Mix'"
orders=$(for p in stem1_L stem1_R stem2_L stem2_R stem3_L stem4_R mix_L mix_R; do
    jack_property -p -l "stemcap:$p" | sed -n 's/.*metadata\/order value: \([0-9]*\) type: http:\/\/www.w3.org\/2001\/XMLSchema#int$/\1/p'
done | tr '\n' ' ')
check '[ "$orders" = "1 2 3 4 5 8 17 18 " ]' "ports ordered stem1_L..mix_R as integers (got: $orders)"
check 'jack_property -c -l stemcap | grep -q "pretty-name value: stemcap type"' "the client carries its pretty-name"
check '! jack_lsp | grep -q "^stemcap:stem5_L"' "unlisted stems are not registered"
check 'jack_lsp -c stemcap:stem2_R | grep -q "stemcap-src:stem2_R"' "configured connection made at start"

check '[ "$(R -m /stemcap/stem/2/arm i 0)" = "/stemcap/stem/2/arm i:0" ]' "disarm stem 2 with i 0"
check '[ "$(R -m /stemcap/stem/3/arm f 0.0)" = "/stemcap/stem/3/arm i:0" ]' "disarm stem 3 with f 0.0 (surfaces send floats)"
check '[ "$(R -m /stemcap/stem/3/arm T)" = "/stemcap/stem/3/arm i:1" ]' "arm stem 3 with T"
check '[ "$(R -m /stemcap/stem/3/arm F)" = "/stemcap/stem/3/arm i:0" ]' "disarm stem 3 with F"
check '[ "$(R -m /stemcap/stem/1/arm)" = "/stemcap/stem/1/arm i:1" ]' "query stem 1 with no argument"
check 't_cli disarm 4 >/dev/null' "stemcap disarm 4"
check '[ "$(R -m /stemcap/stem/4/arm)" = "/stemcap/stem/4/arm i:0" ]' "CLI disarm is seen over OSC"
check 'R -m /stemcap/stem/5/arm i 1 | grep -q "^/stemcap/error s:/stemcap/stem/5/arm s:stem 5 is not registered"' "unregistered stem refused"
check 'R -m /stemcap/stem/9/arm i 1 | grep -q "^/stemcap/error .*out of range"' "stem 9 out of range"
check 'R -m /stemcap/stem/0/arm | grep -q "^/stemcap/error .*out of range"' "stem 0 out of range"
check 'R -m /stemcap/stem/1/arm s yes | grep -q "^/stemcap/error"' "string argument refused"
check 'R -m /stemcap/stem/1/arm ii 1 1 | grep -q "^/stemcap/error"' "two arguments refused"

t_cli start >/dev/null
check 'R -m /stemcap/stem/1/arm i 0 | grep -q "^/stemcap/error .*while recording"' "disarming during a take refused"
check '[ "$(R -m /stemcap/stem/1/arm i 1)" = "/stemcap/stem/1/arm i:1" ]' "re-arming an armed stem during a take is a no-op, not an error"
check 'R -m /stemcap/start | grep -q "^/stemcap/error .*already recording"' "second start refused"
sleep 1
t_cli stop >/dev/null
dir=$(t_take_dir)
check '[ "$(cd "$dir" && ls | sort | tr "\n" "|")" = "Arms - Drums.wav|Arms - Mix.wav|manifest.json|" ]' "only the armed stem and the mix were written"
t_checktake "written files match the source" -m noise -l 0 "$dir/Arms - Drums.wav:0,1" "$dir/Arms - Mix.wav:16,17"
check 'R -m /stemcap/stop | grep -q "^/stemcap/error .*not recording"' "stop when idle refused"

check 't_cli arm all >/dev/null' "stemcap arm all"
t_cli start >/dev/null; sleep 0.5; t_cli stop >/dev/null
dir=$(t_take_dir)
check '[ "$(ls "$dir"/*.wav | wc -l)" = 5 ] && [ "$(basename "$dir")" = take-02 ]' "arm all: 4 stems + mix in take-02"
check 't_cli disarm all >/dev/null' "stemcap disarm all"
EXTRA=$(R -m /stemcap/status)
check 'R -m /stemcap/start | grep -q "^/stemcap/start\|^/stemcap/status"' "start with only the mix armed still records the mix"
t_cli stop >/dev/null
t_done
