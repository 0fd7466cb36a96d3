-- play_session.lua DIR NAME (ardour7-lua -i, commands on stdin): loads the
-- session and syncs it to the JACK transport as a user does: the session
-- option external-sync (Session > Properties > Misc, "External timecode is
-- sync locked", or <Option name="external-sync" value="1"/> in the session
-- file) with the JACK transport master chosen in Ardour's own config
-- (~/.config/ardour7/config, written by the test).  Ardour then starts,
-- stops and locates the JACK transport itself.  Each command prints one
-- "ACK ..." line when done:
--   roll(FRAME, SECONDS)  locate, roll for SECONDS, stop
--   play(FRAME)           locate and roll (returns once rolling)
--   halt()                stop
local dir, name = arg[1], arg[2]
AudioEngine:set_backend("JACK", "ardour", "")
local s = load_session(dir, name)
assert(s, "load_session failed")
Session:cfg():set_external_sync(true)
local TRS = ARDOUR.TransportRequestSource.TRS_UI
function play(at)
  Session:request_locate(at, false, ARDOUR.LocateTransportDisposition.MustStop, TRS)
  sleep(1)
  Session:request_roll(TRS)
  sleep(0.5)
  print("ACK play " .. at .. " rolling " .. tostring(Session:transport_rolling()))
end
function halt()
  Session:request_stop(false, false, TRS)
  sleep(1)
  print("ACK halt at " .. Session:transport_sample())
end
function roll(at, secs)
  Session:request_locate(at, false, ARDOUR.LocateTransportDisposition.MustStop, TRS)
  sleep(1)
  Session:request_roll(TRS)
  sleep(secs)
  Session:request_stop(false, false, TRS)
  sleep(1)
  print("ACK roll " .. at .. " stopped at " .. Session:transport_sample())
end
print("READY external_sync=" .. tostring(Session:cfg():get_external_sync()))
