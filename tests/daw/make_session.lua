-- make_session.lua DIR NAME SECONDS TRACK... (ardour7-lua, no GUI): a new
-- session of one stereo audio track per TRACK name, each recording SECONDS
-- of its (silent) inputs from frame 0, so that every track holds one region
-- whose files (interchange/<dir>/audiofiles/Take1_<TRACK>-1%L.wav and %R)
-- the test can overwrite with known audio of the same length.  Lua cannot
-- import audio without the GUI; recording a region can.
local dir, name, secs = arg[1], arg[2], tonumber(arg[3])
AudioEngine:set_backend("JACK", "ardour", "")
local s = create_session(dir, name, 48000)
assert(s, "create_session failed")
for i = 4, #arg do
  -- Inputs left unconnected (silence is recorded); the outputs go to the
  -- master, as Ardour connects them.  One track at a time: Ardour connects
  -- ports from its own thread, and jack2's client channel does not take
  -- requests from two threads at once (seen here: "CheckSize error" in
  -- jackd, then "JACK server has been closed" in Ardour).
  local tl = Session:new_audio_track(2, 2, nil, 1, arg[i], ARDOUR.PresentationInfo.max_order,
                                     ARDOUR.TrackMode.Normal, false)
  sleep(1)
  for t in tl:iter() do t:rec_enable_control():set_value(1, PBD.GroupControlDisposition.NoGroup) end
end
Session:maybe_enable_record(false)
Session:request_locate(0, false, ARDOUR.LocateTransportDisposition.MustStop, ARDOUR.TransportRequestSource.TRS_UI)
sleep(0.5)
Session:request_roll(ARDOUR.TransportRequestSource.TRS_UI)
sleep(secs)
Session:request_stop(false, false, ARDOUR.TransportRequestSource.TRS_UI)
sleep(1)
Session:disable_record(false, false)
for t in Session:get_tracks():iter() do
  t:rec_enable_control():set_value(0, PBD.GroupControlDisposition.NoGroup)
end
Session:save_state("", false, false, false, false, false)
print("SESSION MADE " .. Session:get_tracks():size() .. " tracks")
close_session()
quit()
