#!/usr/bin/env bash
# Under a session manager (NSM API 1.1.2, tests/nsmserver as the server):
# nothing opened before /nsm/client/open, then the JACK client named by the
# client id, the session's stemcap.ini and takes/ under the instance path,
# any free control port, save of what OSC changed (during a take, which
# goes on), dirty state, the refused optional GUI, SIGTERM finalising the
# take, a second run loading the session back; a refused announce, a bad
# NSM_URL and a server that does not answer; and without NSM_URL the daemon
# as before.
. "$(dirname "$0")/lib.sh"
t_init nsm
t_jackd
t_src -m noise
TPORT=$PORT
t_conf "$T/start.ini" <<CONF
[song]
title = From Startup
$(t_stems_conf Drums Bass)
CONF
mkdir -p "$T/session"
SESS=$T/session/stemcap.nTEST

# nsm_run LOG [SERVER-ARGS] -- CMD...: the stand-in server as a coproc,
# launching CMD; its "url" line read.
nsm_run() {
    local log=$1
    shift
    coproc NSM { exec "$B/tests/nsmserver" -t 20 "$@" 2>>"$log"; }
    T_PIDS+=("$NSM_PID")
    NSM_SRV=$NSM_PID
    NSM_IN=${NSM[1]}
    NSM_OUT=${NSM[0]}
    read -r -t 10 NSM_URL_LINE <&"$NSM_OUT"
}
nsm() { daw_cmd "$NSM_IN" "$NSM_OUT" 30 "$@"; }
nsm_end() {
    exec {NSM_IN}>&-
    wait "$NSM_SRV" 2>/dev/null
    t_forget "$NSM_SRV"
}
client_ports() { jack_lsp 2>/dev/null | grep -c "^$1:"; }

# 1. A new session.
nsm_run "$T/nsm1.log" -l "$T/stemcapd.log" -- "$B/stemcapd" -c "$T/start.ini"
check '[[ $NSM_URL_LINE == "url osc.udp://127.0.0.1:"* ]]' "the stand-in server listens ($NSM_URL_LINE)"
nsm announce
check '[[ $DAW_REPLY == "ok :"* ]]' "stemcapd announces itself ($DAW_REPLY)"
check '[[ $DAW_REPLY != *optional-gui* && $DAW_REPLY != *switch* ]]' "without :optional-gui: or :switch:"
nsm pid
DPID=${DAW_REPLY#ok }
T_PIDS+=("$DPID")
check 'grep -q "^recv /nsm/server/announce s:stemcap s::dirty:message: s:stemcapd i:1 i:[0-9]* i:$DPID$" "$T/nsm1.log"' "announce: name stemcap, executable stemcapd, API 1.x, its pid"
sleep 0.5
check '[ "$(client_ports stemcap.nTEST)" = 0 ] && [ "$(client_ports stemcap)" = 0 ]' "no JACK client before the open"
check '[ ! -e "$T/takes" ]' "nor the startup config's capture dir"
nsm open "$SESS" stemcap stemcap.nTEST
check '[[ $DAW_REPLY == "ok /reply running as JACK client stemcap.nTEST, OSC on port "* ]]' "open answered ($DAW_REPLY)"
check '[ "$(client_ports stemcap.nTEST)" = 6 ]' "the JACK client is named by the client id, with its ports (2 stems and the mix)"
check 'jack_lsp -c | grep -A1 "^stemcap.nTEST:stem1_L" | grep -q "stemcap-src:stem1_L"' "the startup config's connections are made"
check '[ -f "$SESS/stemcap.ini" ] && [ -d "$SESS/takes" ]' "path/stemcap.ini and path/takes/ exist"
check 'grep -qx "dir = takes" "$SESS/stemcap.ini" && grep -qx "client = stemcap.nTEST" "$SESS/stemcap.ini" && ! grep -q "^port" "$SESS/stemcap.ini"' "the new session file: dir = takes, client = the id, no fixed port"
nsm label
PORT=${DAW_REPLY#ok OSC }
check '[ "$PORT" -gt 0 ] && [ "$PORT" != "$TPORT" ]' "the control port is a free one, in the label ($DAW_REPLY)"
check 'grep -q "OSC on udp 127.0.0.1 port $PORT" "$T/stemcapd.log"' "and logged"
check 'R -m /stemcap/ping | grep -q pong' "OSC control on that port"
nsm loaded
check '[ "$(R -m /stemcap/song/title)" = "/stemcap/song/title s:From Startup" ]' "the song of the startup config"
nsm dirty
check '[ "$DAW_REPLY" != "ok dirty" ]' "clean after the open ($DAW_REPLY)"

# Changes over OSC make it dirty; a save during a take writes them.
R -m /stemcap/song/title s "NSM Song" >/dev/null
R -m /stemcap/song/artist s "The Sessions" >/dev/null
R -m /stemcap/stem/2/arm i 0 >/dev/null
for _ in $(seq 30); do nsm dirty && [ "$DAW_REPLY" = "ok dirty" ] && break; sleep 0.1; done
check 'grep -q "^recv /nsm/client/is_dirty" "$T/nsm1.log"' "a song change over OSC: is_dirty"
t_mark
t_cli start >/dev/null
sleep 1
nsm save
check '[ "$DAW_REPLY" = "ok /reply saved" ]' "save during a take answered ($DAW_REPLY)"
check '[ "$(R -m /stemcap/status | cut -d" " -f2)" = s:recording ]' "the take goes on through the save"
check 'grep -qx "title = NSM Song" "$SESS/stemcap.ini" && grep -qx "artist = The Sessions" "$SESS/stemcap.ini"' "the song set over OSC is in path/stemcap.ini"
check 'sed -n "/^\[stem2\]/,/^\[/p" "$SESS/stemcap.ini" | grep -qx "armed = false"' "and stem 2 disarmed"
t_wait 20 grep -q "^recv /nsm/client/is_clean" "$T/nsm1.log"
check 'grep -q "^recv /nsm/client/is_clean" "$T/nsm1.log"' "is_clean after the save"
sleep 0.5
t_cli stop >/dev/null
dir=$(t_take_dir)
check '[ "$dir" = "$SESS/takes/NSM Song/take-01" ]' "the take lands under path/takes ($dir)"
t_checktake "the take matches the source" -m noise -l 0 --min-frames 48000 "$dir/NSM Song - Drums.wav:0,1" "$dir/NSM Song - Mix.wav:16,17"
check '[ ! -e "$dir/NSM Song - Bass.wav" ]' "the disarmed stem is not recorded"

nsm gui show
check '[[ $DAW_REPLY == "ok /error -1 "*"no GUI"* ]]' "show_optional_gui refused ($DAW_REPLY)"
nsm gui hide
check '[[ $DAW_REPLY == "ok /error -1 "*"no GUI"* ]]' "hide_optional_gui refused"
nsm open "$T/session/other" stemcap stemcap.nOTHR
check '[[ $DAW_REPLY == "ok /error -1 "*"cannot switch"* ]]' "a second open of another session refused ($DAW_REPLY)"

# SIGTERM during a take: finalised, exit 0.
t_cli start >/dev/null
sleep 1
nsm term
check '[ "$DAW_REPLY" = "ok exit 0" ]' "SIGTERM mid-take: exit 0 ($DAW_REPLY)"
t_forget "$DPID"
check 'grep -q "\"ended_by\": \"shutdown\"" "$SESS/takes/NSM Song/take-02/manifest.json"' "the take was finalised (manifest ended_by shutdown)"
check '[ "$(grep -c "^recv /nsm/server/announce" "$T/nsm1.log")" = 1 ]' "one announce only"
nsm_end
check '! grep -q "stemcapd: error:" "$T/stemcapd.log"' "no errors logged"

# 2. The same session again, stemcapd without -c: its file is loaded.
nsm_run "$T/nsm2.log" -l "$T/stemcapd2.log" -- "$B/stemcapd"
nsm announce
nsm pid
DPID=${DAW_REPLY#ok }
T_PIDS+=("$DPID")
nsm open "$SESS" stemcap stemcap.nTEST
check '[[ $DAW_REPLY == "ok /reply running as JACK client stemcap.nTEST"* ]]' "reopened ($DAW_REPLY)"
nsm label
PORT=${DAW_REPLY#ok OSC }
check '[ "$(R -m /stemcap/song/title)" = "/stemcap/song/title s:NSM Song" ] && [ "$(R -m /stemcap/stem/2/arm)" = "/stemcap/stem/2/arm i:0" ]' "the saved song and arm state are loaded back"
check '[ "$(R -m /stemcap/stem/1/name)" = "/stemcap/stem/1/name s:Drums" ]' "and the stem names of the startup config"
nsm term
check '[ "$DAW_REPLY" = "ok exit 0" ]' "SIGTERM idle: exit 0"
t_forget "$DPID"
nsm_end

# 3. A server of another API version: exit 1, with its reason.
nsm_run "$T/nsm3.log" -e badapi -l "$T/stemcapd3.log" -- "$B/stemcapd"
nsm announce
check '[[ $DAW_REPLY == "error refused the announce: incompatible API"* ]]' "the server refuses the announce"
nsm wait
check '[ "$DAW_REPLY" = "ok exit 1" ]' "stemcapd exits 1 ($DAW_REPLY)"
check 'grep -q "NSM server at osc.udp://127.0.0.1:[0-9]*/ refused stemcapd: incompatible API version: this server speaks NSM API 2.0 (ERR_INCOMPATIBLE_API, -2)" "$T/stemcapd3.log"' "with the server's reason in one line"
nsm_end

# 4. A malformed NSM_URL, and a server that does not answer.
NSM_URL=garbage "$B/stemcapd" >"$T/bad.log" 2>&1
rc=$?
check '[ $rc = 1 ] && grep -q "NSM_URL .garbage. is not an NSM server address (osc.udp://HOST:PORT/)" "$T/bad.log"' "a malformed NSM_URL: exit 1, one clear line ($(head -1 "$T/bad.log"))"
NSM_URL=osc.udp://127.0.0.1:9/ "$B/stemcapd" >"$T/mute.log" 2>&1
rc=$?
check '[ $rc = 1 ] && grep -q "did not answer the announce within 10 s" "$T/mute.log"' "a server that does not answer: exit 1 after 10 s"
check '[ "$(client_ports stemcap)" = 0 ]' "and no JACK client was opened"

# The desktop entry session managers list stemcapd by.
D=$TOP/desktop/stemcapd.desktop
check 'grep -qx "X-NSM-Capable=true" "$D" && grep -qx "X-NSM-Exec=stemcapd" "$D" && grep -qx "Terminal=false" "$D"' "stemcapd.desktop: X-NSM-Capable, X-NSM-Exec, Terminal=false"
if command -v desktop-file-validate >/dev/null; then
    check 'desktop-file-validate "$D"' "stemcapd.desktop passes desktop-file-validate"
fi

# 5. Without NSM_URL, as before: the JACK client at once, the config's name and port.
PORT=$TPORT
t_daemon "$T/start.ini"
check '[ "$(client_ports stemcap)" = 6 ]' "without NSM_URL: JACK client 'stemcap' at once"
check '[ -d "$T/takes" ] && [ "$(R -m /stemcap/song/title)" = "/stemcap/song/title s:From Startup" ]' "the config's capture dir and song, port $TPORT"
t_daemon_stop
check '[ $? = 0 ]' "exit 0"
t_done
