# shellcheck shell=bash
# tests/pipewire.sh — a private PipeWire stack for the tests (bash, sourced
# by tests/lib.sh when STEMCAP_JACK=pipewire).
#
# Everything runs in its own fresh directory DIR (mode 0700): its own session
# D-Bus, pipewire and wireplumber with XDG_RUNTIME_DIR, PIPEWIRE_RUNTIME_DIR,
# HOME, XDG_CONFIG_HOME, XDG_STATE_HOME and XDG_DATA_HOME pointing into DIR, so
# no user configuration is read and no other PipeWire (the user's, another
# test's) is seen or touched.  The graph is driven by a null sink,
# "stemcap-clock" (support.null-audio-sink, node.driver, node.always-process,
# the highest priority.driver), at 48 kHz: no sound card needed.  JACK
# programs then run under pw-jack (prefix "$PW_JACK", i.e. pw-jack with the
# quantum of $PW_QUANTUM, default 512/48000, as PIPEWIRE_QUANTUM).
#
#   pw_start DIR LOG     start dbus-daemon, pipewire, wireplumber and the clock;
#                        exports the environment above; 0 when a JACK client
#                        (jack_lsp under pw-jack) sees the server
#   pw_stop              stop everything pw_start started (idempotent; also
#                        safe after a partial start)
#   pw_settings KEY VAL  set a key of the "settings" metadata
#                        (clock.force-rate, clock.force-quantum, ...)
#   pw_rate              the graph's rate, as a JACK client sees it
#   pw_quantum           the clock's quantum, from pipewire's log (clock.rate
#                        and clock.quantum in the "settings" metadata do not
#                        change with force-*)
#
# PW_PIDS holds the pids started; pw_stop stops them in reverse order
# (wireplumber and pipewire before the bus).

PW_PIDS=()
PW_LOG=/dev/null
PW_QUANTUM=${PW_QUANTUM:-512/48000}

pw_start() {
    local dir=$1 log=$2 addr pid
    PW_LOG=$log

    mkdir -p "$dir/run" "$dir/home" "$dir/config" "$dir/state" "$dir/data"
    chmod 0700 "$dir" "$dir/run"
    export XDG_RUNTIME_DIR=$dir/run PIPEWIRE_RUNTIME_DIR=$dir/run
    export HOME=$dir/home XDG_CONFIG_HOME=$dir/config XDG_STATE_HOME=$dir/state
    export XDG_DATA_HOME=$dir/data
    unset PIPEWIRE_REMOTE PIPEWIRE_CORE PULSE_SERVER DISPLAY WAYLAND_DISPLAY
    export PIPEWIRE_QUANTUM=$PW_QUANTUM
    export PW_JACK=pw-jack

    # A private session bus (wireplumber wants one; nothing else uses it).
    addr=$(dbus-daemon --session --print-address=1 --print-pid=1 --fork \
        --address="unix:path=$dir/run/bus" 2>>"$log") || return 1
    pid=$(echo "$addr" | sed -n 2p)
    addr=$(echo "$addr" | sed -n 1p)
    [ -n "$pid" ] && PW_PIDS+=("$pid")
    export DBUS_SESSION_BUS_ADDRESS=$addr

    # Log level 3 (info): pipewire then logs the graph's rate and quantum
    # changes and its xruns ("XRun!", rate-limited), which t_xruns counts.
    PIPEWIRE_DEBUG=${PW_DEBUG:-3} pipewire >>"$log" 2>&1 &
    PW_PIDS+=($!)
    t_wait 50 pw-cli info 0 || return 1
    wireplumber >>"$log" 2>&1 &
    PW_PIDS+=($!)
    t_wait 50 pw_has_metadata settings || return 1

    # The clock: a null sink that drives the graph by itself.
    pw-cli create-node adapter '{ factory.name=support.null-audio-sink
        node.name=stemcap-clock node.description="stemcap test clock"
        media.class=Audio/Sink object.linger=true audio.position=[FL FR]
        audio.rate=48000 node.driver=true node.always-process=true
        priority.driver=30000 priority.session=30000 }' >>"$log" 2>&1 || return 1
    t_wait 50 pw_has_node stemcap-clock || return 1
    t_wait 100 "$PW_JACK" jack_lsp
}

pw_has_metadata() { pw-metadata -n "$1" 0 2>/dev/null | grep -q .; }
pw_has_node() { pw-cli ls Node 2>/dev/null | grep -q "node.name = \"$1\""; }

pw_stop() {
    local i p
    for ((i = ${#PW_PIDS[@]} - 1; i >= 0; i--)); do
        p=${PW_PIDS[i]}
        kill -TERM "$p" 2>/dev/null || continue
        for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    PW_PIDS=()
PW_LOG=/dev/null
}

pw_settings() { pw-metadata -n settings 0 "$1" "$2" >/dev/null; }

# The graph's rate as a JACK client sees it (a client that opens, asks and
# closes; PIPEWIRE_QUANTUM unset, or PipeWire's libjack would answer with the
# rate the client itself asks for: an inactive client reports its own
# node.latency, not the graph's).
pw_rate() { env -u PIPEWIRE_QUANTUM "$PW_JACK" jack_samplerate 2>/dev/null; }
# The clock's quantum, from pipewire's log ("(stemcap-clock-N) new
# quantum:512->256"): jack_bufsize cannot tell, an inactive client reports
# the settings' clock.quantum (1024) until a force-quantum is set.
pw_quantum() { sed -n 's/.*(stemcap-clock-[0-9]*) new quantum:[0-9]*->\([0-9]*\).*/\1/p' "$PW_LOG" | tail -1; }
