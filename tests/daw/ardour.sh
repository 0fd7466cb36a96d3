#!/usr/bin/env bash
# A stock Ardour 7 bounce, end to end (make test-daw): Debian's Ardour run
# headless (ardour7-lua) on a private jackd dummy at 512 frames per period,
# a session of 4 stereo tracks of known audio, each track's outputs to a
# stem, the master to the mix, as a user sets it up; stemcapd with its
# default settings (no hand-set offset).  Ardour drives the JACK transport
# the way a user makes it: external-sync on, the JACK transport master
# chosen in Ardour's config.  Two takes follow Ardour's transport, one is
# started by hand while Ardour rolls.  Every take: bext TimeReference = the
# JACK frame of its first sample (the roll position for the follow takes),
# every file the same length, every stem (and the mix) equal to the known
# audio through Ardour's unity gain on one timeline offset, the mix's
# 528-sample lag measured and aligned, the live null and stemcap-check pass.
. "$(dirname "$0")/../lib.sh"
t_init ardour
if ! command -v ardour7-lua >/dev/null; then
    echo "  skip ardour7-lua not installed (Debian package ardour)"
    t_done
fi
T_PERIOD=512 t_jackd
TRACKS="Drums Bass Keys Vox"
SECS=10
D=$(dirname "$0")

# A private home: Ardour's config with the JACK transport master, nothing
# else of the machine's user.
export HOME=$T/home XDG_CONFIG_HOME=$T/home/.config
mkdir -p "$XDG_CONFIG_HOME/ardour7"
cat >"$XDG_CONFIG_HOME/ardour7/config" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<Ardour>
  <TransportMasters current="JACK">
    <TransportMaster type="Engine" removeable="0" name="JACK"/>
    <TransportMaster type="MTC" removeable="0" name="MTC"/>
    <TransportMaster type="LTC" removeable="0" name="LTC"/>
    <TransportMaster type="MIDIClock" removeable="0" name="MIDI Clock"/>
  </TransportMasters>
</Ardour>
XML

# 1. The session, its regions recorded, then their files replaced by known audio.
S=$T/bounce
# Ardour 7.3 sometimes sends jack2 two requests at once from two of its
# threads while it builds a session (jackd: "CheckSize error", Ardour: "JACK
# server has been closed"); such a run is thrown away and made again.
for try in 1 2 3; do
    rm -rf "$S"
    # shellcheck disable=SC2086
    timeout 180 ardour7-lua "$D/make_session.lua" "$S" bounce $SECS $TRACKS >"$T/make.log" 2>&1
    grep -q "JACK HALTED" "$T/make.log" || break
    t_log "try $try: Ardour lost its JACK connection while making the session; again"
done
check 'grep -q "SESSION MADE 4 tracks" "$T/make.log" && ! grep -q "JACK HALTED" "$T/make.log"' "Ardour made a session of 4 stereo tracks, each with a region recorded"
A=$S/interchange/bounce/audiofiles
len=$(soxi -s "$A/Take1_Drums-1%L.wav" 2>/dev/null)
check '[ "${len:-0}" -gt $((SECS * 48000 - 48000)) ]' "the regions are $len frames long"
seed=0 known=() refs=()
for t in $TRACKS; do
    for s in L R; do seed=$((seed + 1)); known+=("$A/Take1_$t-1%$s.wav:$seed"); done
    refs+=("$A/Take1_$t-1%L.wav,$A/Take1_$t-1%R.wav")
done
python3 "$D/knownaudio.py" "$len" "${known[@]}"
rm -rf "$S/peaks"/*
check '[ "$(soxi -s "$A/Take1_Vox-1%R.wav")" = "$len" ]' "their files are replaced by known audio of the same length (noise, -14 dBFS peak)"

# 2. stemcapd, as a user configures it for Ardour.
EXTRA_CAPTURE="follow_transport = true" t_conf "$T/s.ini" <<CONF
[song]
title = Bounce
[mix]
connect_left = ardour:Master/audio_out 1
connect_right = ardour:Master/audio_out 2
$(i=0; for t in $TRACKS; do i=$((i + 1)); printf '[stem%d]\nname = %s\nconnect_left = ardour:%s/audio_out 1\nconnect_right = ardour:%s/audio_out 2\n' $i "$t" "$t" "$t"; done)
CONF

# 3. Ardour plays the session, commands on a FIFO; stemcapd starts once it
# is loaded (connecting ports while Ardour loads provokes the race above).
start_ardour() { # 0 once Ardour is loaded and still connected to JACK
    rm -f "$T/ardour.in"
    mkfifo "$T/ardour.in"
    timeout 900 ardour7-lua -i "$D/play_session.lua" "$S" bounce <"$T/ardour.in" >"$T/ardour.out" 2>&1 &
    T_ARDOUR=$!
    T_PIDS+=("$T_ARDOUR")
    exec 7>"$T/ardour.in"
    t_wait 300 grep -q '^READY' "$T/ardour.out"
    sleep 2
    grep -q '^READY' "$T/ardour.out" && ! grep -q "JACK HALTED" "$T/ardour.out"
}
for try in 1 2 3; do
    start_ardour && break
    t_log "try $try: Ardour lost its JACK connection while loading the session; again"
    exec 7>&-
    kill "$T_ARDOUR" 2>/dev/null
    wait "$T_ARDOUR" 2>/dev/null
    t_forget "$T_ARDOUR"
done
ardour() { # CMD: one Lua command, until its ACK line
    local n
    n=$(grep -c '^ACK' "$T/ardour.out")
    echo "$1" >&7
    t_wait 300 sh -c "[ \$(grep -c '^ACK' '$T/ardour.out') -gt $n ]" || { fail "Ardour did not answer '$1'"; return 1; }
    t_log "ardour: $(grep '^ACK' "$T/ardour.out" | tail -1)"
}
check 'grep -q "^READY external_sync=true" "$T/ardour.out" && ! grep -q "JACK HALTED" "$T/ardour.out"' "Ardour loaded the session, synced to the JACK transport"
sleep 1
t_daemon "$T/s.ini"
t_wait 100 sh -c "jack_lsp -c stemcap:mix_L | grep -q 'ardour:Master/audio_out 1'"
check 'jack_lsp -c stemcap:mix_L | grep -q "ardour:Master/audio_out 1" && jack_lsp -c stemcap:stem4_R | grep -q "ardour:Vox/audio_out 2"' "stemcapd connected to Ardour's track and master outputs"
# What JACK says about the latencies (all the same on both paths).
t_log "JACK latencies: $(jack_lsp -l stemcap:stem1_L | tr '\n\t' '  '); $(jack_lsp -l stemcap:mix_L | tr '\n\t' '  '); system:playback_1 $(jack_lsp -l system:playback_1 | grep playback | tr -s '\t ' ' ')"
ahead=$(jack_lsp -l system:playback_1 | sed -n 's/.*playback latency = \[ \([0-9]*\) .*/\1/p')

# take_ok DIR START: the take's files against the known audio.  Ardour reads
# its tracks ahead by the output latency it compensates (system:playback's
# playback latency, $ahead frames), fades in after its latency pre-roll and
# out at the stop (declick): compared from frame 8192 to 8192 before the end.
take_ok() {
    local dir=$1 start=$2 name=$(basename "$1") files=() f n off rc
    check '[ -f "$dir/manifest.json" ]' "$name: recorded" || return 1
    for t in $TRACKS Mix; do files+=("$dir/Bounce - $t.wav"); done
    n=$(soxi -s "${files[0]}")
    check '[ "$(for f in "${files[@]}"; do soxi -s "$f"; done | sort -u | wc -l)" = 1 ]' "$name: all 5 files are $n frames long"
    "$B/stemcap-check" "$dir" >"$T/sc.out" 2>&1
    check 'grep -q "^PASS time-reference every file carries TimeReference $start$" "$T/sc.out"' "$name: bext TimeReference $start in every file ($(grep time-reference "$T/sc.out" | cut -c21-))"
    check_rt 'grep -q "^PASS null" "$T/sc.out" && [ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"null\"][\"flagged\"])" "$dir/manifest.json")" = False ]' "$name: the live null and stemcap-check pass ($(grep '^PASS null' "$T/sc.out" | cut -c21-))"
    check 'python3 -c "import json,sys; a=json.load(open(sys.argv[1]))[\"mix_alignment\"]; sys.exit(not (a[\"offset_frames\"] == 528 and a[\"files_shift_frames\"] == 528))" "$dir/manifest.json"' "$name: mix aligned by 528 samples: $(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["mix_alignment"]))' "$dir/manifest.json")"
    # Where on Ardour's timeline the stems are: searched, then every file checked there.
    off=$("$B/tests/wavcmp" -f 4096 -o $((start + ahead)) -s 8192 -n 4096 "${files[0]}" "${refs[0]}" | sed -n 's/^offset //p')
    check '[ "$off" = $((start + ahead)) ]' "$name: the stems are Ardour's timeline from $off = TimeReference $start + Ardour's read-ahead $ahead"
    local i=0
    for t in $TRACKS; do
        "$B/tests/wavcmp" -o "$off" -s 8192 -n $((n - 16384)) "${files[$i]}" "${refs[$i]}" >"$T/cmp.out" 2>&1
        rc=$?
        check_rt '[ $rc = 0 ]' "$name: $t equals its known audio at unity gain ($(cut -d: -f2- "$T/cmp.out"))"
        i=$((i + 1))
    done
    "$B/tests/wavcmp" -o "$off" -s 8192 -n $((n - 16384)) -t -120 "${files[4]}" "${refs[@]}" >"$T/cmp.out" 2>&1
    rc=$?
    check_rt '[ $rc = 0 ]' "$name: the mix file equals the sum of the known audio on the same timeline ($(cut -d: -f2- "$T/cmp.out"))"
}
wait_idle() { t_wait 100 sh -c "\"$B/tests/oscraw\" -p $PORT -m /stemcap/status | grep -q 's:waiting'"; }


# 4. Following Ardour's transport: the first roll (from silence).
t_mark
ardour "roll(48000, 3)" && wait_idle
take_ok "$T/takes/Bounce/take-01" 48000
check 'grep -q "\"ended_by\": \"transport stopped\"" "$T/takes/Bounce/take-01/manifest.json" && grep -q "\"source\": \"measured in the take\"" "$T/takes/Bounce/take-01/manifest.json"' "take-01: started and stopped by Ardour's transport; the lag measured in the take"
# 5. By hand, while Ardour rolls.
check '[ "$(R -m /stemcap/transport/follow i 0)" = "/stemcap/transport/follow i:0" ]' "following the transport switched off"
t_mark
ardour "play(96000)"
sleep 1
t_cli start >/dev/null
sleep 2.5
t_cli stop >"$T/stop.out"
ardour "halt()"
dm=$(dirname "$(ls -d "$T"/takes/Bounce/take-*/manifest.json | sort | tail -1)")
start=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["start_frame"])' "$dm/manifest.json")
take_ok "$dm" "$start"
check 'grep -q "measured before the take" "$dm/manifest.json" && grep -q "aligned (measured before the take)" "$T/stop.out"' "$(basename "$dm"): started by hand at transport frame $start; the lag known before the take"

# 6. Following again: a roll from another position.
check '[ "$(R -m /stemcap/transport/follow i 1)" = "/stemcap/transport/follow i:1" ]' "following the transport again"
t_mark
ardour "roll(240000, 2)" && wait_idle
take_ok "$(dirname "$(ls -d "$T"/takes/Bounce/take-*/manifest.json | sort | tail -1)")" 240000

# Ardour leaves first (as a user closes the DAW), then stemcapd stops.
echo "quit()" >&7
exec 7>&-
for _ in $(seq 100); do kill -0 "$T_ARDOUR" 2>/dev/null || break; sleep 0.1; done
t_daemon_stop
rc=$?
check '[ $rc = 0 ]' "stemcapd stops cleanly after Ardour left (exit $rc)"
t_done
