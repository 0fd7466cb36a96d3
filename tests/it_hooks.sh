#!/usr/bin/env bash
# [hooks]: commands run on take events with the take's figures in their environment.
#  - on_take_start / on_take_end get the take's folder, song, number, rate, frames (the frames
#    sox reads back from the files), drops and null verdict; the manifest is complete when
#    on_take_end runs; stdin is /dev/null, no descriptor of the daemon leaks, no signal blocked
#  - without [hooks] shell, quotes group words and nothing is expanded ($HOME, ';' stay
#    literal); with shell = true, /bin/sh -c expands them (applied by SIGHUP)
#  - a hook that hangs is terminated after timeout_s (one that ignores SIGTERM is killed) and
#    logged, while the daemon answers OSC and records
#  - on_null_fail fires once when the mix is not the sum of the stems
#  - config/hooks/check-take keeps stemcap-check's JSON beside the take
#  - a program that does not exist: one error line, the take unaffected
#  - on_error when the take folder is removed while recording
#  - no zombies; at shutdown a hanging hook is given its timeout, then killed
. "$(dirname "$0")/lib.sh"
t_init hooks
t_jackd
t_src -m noise -x 3,4,5,6,7,8

O=$T/out
mkdir -p "$O"
# The hook: its arguments, its STEMCAP_* variables and what it inherited, into $1-<take>.env
# (written whole, then renamed); a copy of the manifest as it was when it ran.
cat >"$T/dump.sh" <<'EOF'
#!/bin/sh
out=$1-${STEMCAP_TAKE:-0}
shift
{
    for a in "$@"; do printf 'arg=%s\n' "$a"; done
    env | grep -E '^(STEMCAP_|HOOKS_TEST_|JOURNAL_STREAM)' | sort
    printf 'stdin=%s\n' "$(readlink /proc/$$/fd/0)"
    printf 'sockets=%s\n' "$(ls -l /proc/$$/fd | grep -c socket:)"
    grep -E '^(SigBlk|SigIgn)' /proc/$$/status | tr -d '\t' | sed 's/:/=/'
} >"$out.tmp"
[ -n "${STEMCAP_MANIFEST:-}" ] && cp "$STEMCAP_MANIFEST" "$out.manifest"
mv "$out.tmp" "$out.env"
echo "dumped $STEMCAP_EVENT of take ${STEMCAP_TAKE:-none}"
EOF
chmod +x "$T/dump.sh"
# v FILE NAME: the value of NAME= in a dump.
v() { sed -n "s/^$2=//p" "$1" | head -1; }
logged() { grep -c -- "$1" "$T/stemcapd.log"; }
reloads=0
# hooks_conf LINES: the test's configuration with these [hooks] lines (then SIGHUP, if running).
hooks_conf() {
    t_conf "$T/h.ini" <<CONF
[song]
title = Hook Song
$(t_stems_conf Drums Bass)
[hooks]
$1
CONF
}
reload() {
    hooks_conf "$1"
    kill -HUP "$T_DAEMON"
    reloads=$((reloads + 1))
    t_wait 50 sh -c "[ \$(grep -c 'configuration reloaded' '$T/stemcapd.log') -ge $reloads ]" ||
        fail "SIGHUP $reloads not applied"
}
take() { # SECONDS: one take
    t_cli start >/dev/null || fail "start"
    sleep "$1"
    t_cli stop >/dev/null || fail "stop"
}

export HOOKS_TEST_INHERITED=yes STEMCAP_ERROR=inherited-must-not-show
export STEMCAP_CHECK=$B/stemcap-check
hooks_conf "on_take_start = $T/dump.sh $O/start 'two  words' \"\$HOME;x\" a\\ b \\\$PATH
on_take_end = $T/dump.sh $O/end
timeout_s = 10"
t_daemon "$T/h.ini"
unset HOOKS_TEST_INHERITED STEMCAP_ERROR

# 1. on_take_start and on_take_end: arguments literal, the take's figures in the environment.
t_mark
take 1.5
dir=$(t_take_dir)
t_wait 100 test -f "$O/end-1.env" || fail "on_take_end of take 1 did not run"
S=$O/start-1.env E=$O/end-1.env
check '[ -d "$dir" ] && [ "$(v $S STEMCAP_TAKE_DIR)" = "$dir" ] && [ "$(v $E STEMCAP_TAKE_DIR)" = "$dir" ]' "both hooks get the take folder the status reports ($dir)"
check '[ "$(v $S STEMCAP_EVENT)" = take_start ] && [ "$(v $E STEMCAP_EVENT)" = take_end ]' "STEMCAP_EVENT take_start, take_end"
check '[ "$(v $S STEMCAP_TAKE)" = 1 ] && [ "$(v $S STEMCAP_SONG)" = "Hook Song" ] && [ "$(v $S STEMCAP_SONG_DIR)" = "$T/takes/Hook Song" ] && [ "$(v $S STEMCAP_RATE)" = 48000 ]' "take number, song, song folder and rate"
check '[ "$(grep -c ^arg= $S)" = 4 ] && [ "$(sed -n 1p $S)" = "arg=two  words" ] && [ "$(sed -n 2p $S)" = "arg=\$HOME;x" ] && [ "$(sed -n 3p $S)" = "arg=a b" ] && [ "$(sed -n 4p $S)" = "arg=\$PATH" ]' "without a shell: quotes and backslashes group words, \$HOME, \$PATH and ';' stay literal ($(grep ^arg= $S | tr '\n' ' '))"
check '[ -z "$(v $S STEMCAP_NULL)" ] && [ -z "$(v $S STEMCAP_MANIFEST)" ] && [ -z "$(v $E STEMCAP_ERROR)" ]' "take_start has no null verdict yet and no manifest; nothing inherited as STEMCAP_ERROR"
frames=$(t_status_field 3)
lens=$(for f in "$dir"/*.wav; do soxi -s "$f"; done | sort -u | tr '\n' ' ')
check '[ "$(v $E STEMCAP_FRAMES)" = "$frames" ] && [ "$lens" = "$frames " ]' "STEMCAP_FRAMES $(v $E STEMCAP_FRAMES) = the status's frames = what sox reads from every file ($lens)"
check_rt '[ "$(v $E STEMCAP_DROPPED)" = 0 ] && [ "$(v $E STEMCAP_NULL)" = PASS ]' "STEMCAP_DROPPED 0, STEMCAP_NULL PASS (worst residual $(v $E STEMCAP_NULL_WORST_DBFS) dBFS)"
check '[ "$(v $E STEMCAP_ENDED_BY)" = stop ] && [ "$(v $E STEMCAP_STATE)" = complete ] && [ "$(v $E STEMCAP_MANIFEST)" = "$dir/manifest.json" ]' "STEMCAP_ENDED_BY stop, STEMCAP_STATE complete, STEMCAP_MANIFEST"
check '[ "$(t_json "$O/end-1.manifest" "m[\"state\"], m[\"length_frames\"]")" = "('"'"'complete'"'"', $frames)" ]' "the manifest was complete when on_take_end ran"
check '[ "$(v $E HOOKS_TEST_INHERITED)" = yes ]' "the daemon's environment is inherited"
check '[ "$(v $E stdin)" = /dev/null ] && [ "$(v $E sockets)" = 0 ]' "stdin is /dev/null, no socket of the daemon leaked into the hook"
# (glibc's posix_spawn leaves its own internal signals 32 and 33 ignored: not ours to judge)
check '[ "$(v $E SigBlk)" = 0000000000000000 ] && [ $((0x$(v $E SigIgn) & 0x7fffffff)) = 0 ]' "no signal blocked in the hook, none of 1..31 ignored (SIGPIPE is, in stemcapd)"
check 'grep -q "hook on_take_end\[[0-9]*\]: dumped take_end of take 1" "$T/stemcapd.log" && grep -q "hook on_take_end (take 1, pid [0-9]*) exited with status 0" "$T/stemcapd.log"' "the hook's output and its exit status are logged"

# 2. With shell = true the command is /bin/sh -c's (applied by SIGHUP).
reload "on_take_start = $T/dump.sh $O/shell \"\$HOME\" '\$HOME' x\\ y;echo sh-says-\$STEMCAP_EVENT-\$STEMCAP_TAKE
shell = true"
take 0.5
t_wait 100 test -f "$O/shell-2.env" || fail "the shell hook of take 2 did not run"
check '[ "$(sed -n 1p $O/shell-2.env)" = "arg=$HOME" ] && [ "$(sed -n 2p $O/shell-2.env)" = "arg=\$HOME" ] && [ "$(sed -n 3p $O/shell-2.env)" = "arg=x y" ]' "shell = true: the shell expands \$HOME and honours its quoting ($(grep ^arg= $O/shell-2.env | tr '\n' ' '))"
t_wait 50 grep -q "sh-says-take_start-2" "$T/stemcapd.log"
check 'grep -q "hook on_take_start\[[0-9]*\]: sh-says-take_start-2" "$T/stemcapd.log"' "shell = true: ';' runs a second command"

# 3. A hook that hangs: terminated after timeout_s; one that ignores SIGTERM: killed.  The
# daemon answers and records meanwhile.
reload "on_take_end = sleep 1000.25
on_take_start = sh -c 'trap \"\" TERM; exec sleep 1000.5'
timeout_s = 1"
t_cli start >/dev/null
sleep 0.3
t_cli stop >/dev/null
t_cli start >/dev/null || fail "start while a hook hangs"
check 'pgrep -f "sleep 1000.25" >/dev/null && pgrep -f "sleep 1000.5" >/dev/null' "two hooks hang (sleep 1000)"
check '[ "$(t_cli status | grep -c recording)" -ge 1 ]' "stemcap status answers while they hang: recording take 4"
t_wait 100 grep -q "hook on_take_end (take 3, pid [0-9]*) killed by signal 15" "$T/stemcapd.log"
check 'grep -q "hook on_take_end (take 3, pid [0-9]*) still running after 1.[0-9] s (\[hooks\] timeout_s): SIGTERM" "$T/stemcapd.log" && grep -q "hook on_take_end (take 3, pid [0-9]*) killed by signal 15 (Terminated) after .*past its timeout" "$T/stemcapd.log"' "the hanging hook is terminated after timeout_s = 1 and logged"
t_wait 100 grep -q "hook on_take_start (take 4, pid [0-9]*) killed by signal 9" "$T/stemcapd.log"
check 'grep -q "hook on_take_start (take 4, pid [0-9]*) still running 2 s after SIGTERM: SIGKILL" "$T/stemcapd.log" && grep -q "hook on_take_start (take 4, pid [0-9]*) killed by signal 9" "$T/stemcapd.log"' "one that ignores SIGTERM is killed 2 s later"
check '! pgrep -f "sleep 1000.25" && ! pgrep -f "sleep 1000.5"' "neither is left running"
check 'R -m /stemcap/status | grep -q s:recording' "take 4 recorded on all along"
reload "on_take_end = $T/dump.sh $O/end
on_null_fail = $T/dump.sh $O/nullfail"
t_cli stop >/dev/null

check_rt '! grep -q "NULL FAILED" "$T/stemcapd.log" && [ ! -e "$O/nullfail-1.env" ]' "no on_null_fail while the mix is the sum of the stems"

# 4. on_null_fail: a -30 dBFS error in the mix, once per take, before on_take_end.
kill "$T_SRC"
wait "$T_SRC" 2>/dev/null
t_forget "$T_SRC"
t_src -m noise -x 3,4,5,6,7,8 -e -30
sleep 0.5
t_mark
take 2
t_wait 100 test -f "$O/end-5.env"
t_wait 100 test -f "$O/nullfail-5.env"
N=$O/nullfail-5.env
check_rt '[ -f $N ] && [ "$(v $N STEMCAP_EVENT)" = null_fail ] && [ "$(v $N STEMCAP_NULL)" = FAIL ] && [ "$(v $N STEMCAP_NULL_FRAME)" -ge 0 ]' "on_null_fail ran for take 5: residual $(v $N STEMCAP_NULL_WORST_DBFS) dBFS from frame $(v $N STEMCAP_NULL_FRAME)"
check_rt '[ "$(logged "hook on_null_fail (take 5, pid [0-9]*) started")" = 1 ]' "once for the take"
check_rt '[ "$(grep -n "hook on_null_fail (take 5, pid [0-9]*) started" "$T/stemcapd.log" | cut -d: -f1)" -lt "$(grep -n "hook on_take_end (take 5, pid [0-9]*) started" "$T/stemcapd.log" | cut -d: -f1)" ]' "and before on_take_end"
check_rt '[ "$(v $O/end-5.env STEMCAP_NULL)" = FAIL ] && [ "$(t_json $O/end-5.manifest "m[\"null\"][\"flagged\"]")" = True ]' "on_take_end says FAIL too, as the manifest does"
kill "$T_SRC"
wait "$T_SRC" 2>/dev/null
t_forget "$T_SRC"
t_src -m noise -x 3,4,5,6,7,8

# 5. The example config/hooks/check-take, and a program that does not exist.
reload "on_take_end = $TOP/config/hooks/check-take
on_take_start = $T/no/such/program --flag"
take 1.5
dir=$(t_take_dir)
t_wait 300 grep -q "hook on_take_end (take 6, pid [0-9]*) exited" "$T/stemcapd.log"
check 'python3 -m json.tool "$dir/check.json" >/dev/null' "check-take wrote valid JSON beside the take ($dir/check.json)"
check '[ "$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(len([c for c in r[\"checks\"] if c[\"result\"] in (\"pass\",\"warn\",\"fail\")]) > 5 and \"manifest.json\" in r[\"ignored\"])" "$dir/check.json")" = True ]' "with stemcap-check's verdicts ($(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(' '.join(c['result'] for c in r['checks']))" "$dir/check.json" 2>&1 | head -c 200))"
check '! ls -A "$dir" | grep -q "^\.check"' "no temporary file left in the take folder"
check 'grep -q "hook on_take_end\[[0-9]*\]: take 6 of .Hook Song.: .*report in $dir/check.json" "$T/stemcapd.log"' "its summary line is logged"
"$B/stemcap-check" "$dir" >"$T/recheck.out" 2>&1
check 'grep -q "check.json" "$T/recheck.out"' "stemcap-check on the folder again lists check.json as ignored"
check '[ "$(logged "error: hook on_take_start (take 6, not started): cannot run .$T/no/such/program.: No such file or directory")" = 1 ]' "a program that does not exist: one error line"
check '[ "$(t_json "$dir/manifest.json" "m[\"state\"]")" = complete ] && [ "$(ls "$dir" | grep -c "\.wav$")" = 3 ]' "and the take is unaffected: complete, 3 files"

# 6. on_error: the take's folder removed while it records.
reload "on_error = $T/dump.sh $O/error
on_take_end = $T/dump.sh $O/end"
t_cli start >/dev/null
sleep 0.5
rm -rf "$(t_take_dir)"
t_wait 100 test -f "$O/error-7.env"
X=$O/error-7.env
check '[ -f $X ] && [ "$(v $X STEMCAP_EVENT)" = error ] && [ "$(v $X STEMCAP_TAKE)" = 7 ] && v $X STEMCAP_ERROR | grep -q "take 7 failed: its folder .* was removed while recording"' "on_error for take 7: $(v $X STEMCAP_ERROR)"
t_wait 100 test -f "$O/end-7.env"
check '[ "$(v $O/end-7.env STEMCAP_ENDED_BY)" = "folder removed" ]' "and its on_take_end says ended_by 'folder removed'"

# 7. No zombies; at shutdown a hanging hook gets its timeout, then it is killed.
sleep 0.5
check '[ -z "$(ps --ppid "$T_DAEMON" -o pid=,stat=,args=)" ]' "no child left behind, no zombie (ps --ppid)"
reload "on_take_end = sleep 1000.75
timeout_s = 1"
t_cli start >/dev/null
sleep 0.3
t_daemon_stop
rc=$?
check '[ $rc = 0 ]' "stemcapd exits 0 after waiting for the last take's hook"
check 'grep -q "waiting for 1 hook to end" "$T/stemcapd.log" && grep -q "hook on_take_end (take [0-9]*, pid [0-9]*) killed by signal 15" "$T/stemcapd.log"' "the shutdown waited for it and killed it after its timeout"
check '! pgrep -f "sleep 1000.75"' "no hook outlives the daemon"
t_done
