#!/usr/bin/env bash
# Song and stem names from OSC and config are made safe: no file lands
# outside the capture dir, no symlink is followed out of it, take numbers
# count up and nothing is ever overwritten.
. "$(dirname "$0")/lib.sh"
t_init names
t_jackd
t_src -m noise -s 2
t_conf "$T/n.ini" <<CONF
[song]
title = ../../escape
$(t_stems_conf "../Drums" ".hidden/stem")
CONF
t_daemon "$T/n.ini"
take() { t_cli start >/dev/null && sleep 0.3 && t_cli stop >/dev/null; }

take
dir=$(t_take_dir)
check '[ "$dir" = "$T/takes/-..-escape/take-01" ]' "song '../../escape' becomes the folder '-..-escape' inside the capture dir"
check '[ -f "$dir/-..-escape - -Drums.wav" ] && [ -f "$dir/-..-escape - hidden-stem.wav" ]' "stem names sanitised: $(ls "$dir" | tr '\n' '|')"
check '[ -z "$(find "$T" -name "*.wav" -not -path "$T/takes/*")" ]' "no file outside the capture dir"

R -m /stemcap/song s "Song: one/two" >/dev/null
take
check '[ -d "$T/takes/Song- one-two/take-01" ]' "slashes and colons in an OSC song title"
take
check '[ -d "$T/takes/Song- one-two/take-02" ]' "second take of the song is take-02"
mkdir "$T/takes/Song- one-two/take-07"
take
check '[ -d "$T/takes/Song- one-two/take-08" ]' "numbering continues after the highest take (take-08)"

# A symlinked song folder pointing outside the root is not followed.
mkdir "$T/outside"
ln -s "$T/outside" "$T/takes/Linked"
R -m /stemcap/song s "Linked" >/dev/null
check 'R -m /stemcap/start | grep -q "^/stemcap/error .*symlink"' "symlinked song folder refused"
check '[ -z "$(ls -A "$T/outside")" ]' "nothing written through the symlink"
R -m /stemcap/song s "$(printf 'Ctrl\001char')" | grep -q '^/stemcap/error' && ok "control character in title refused" || fail "control character in title"
R -m /stemcap/song s "$(head -c 300 /dev/zero | tr '\0' x)" | grep -q '^/stemcap/error' && ok "overlong title refused" || fail "overlong title"
R -m /stemcap/song s "Ünïcödé – Song" >/dev/null
take
check '[ -d "$T/takes/Ünïcödé – Song/take-01" ]' "UTF-8 song title kept"
# Song metadata and stem names over OSC, each answering on its own address.
check '[ "$(R -m /stemcap/song/artist s "The Band")" = "/stemcap/song/artist s:The Band" ]' "/stemcap/song/artist sets and replies"
check '[ "$(R -m /stemcap/song/artist)" = "/stemcap/song/artist s:The Band" ]' "/stemcap/song/artist with no argument queries"
check '[ "$(R -m /stemcap/song/isrc s US-S1Z-26-00001)" = "/stemcap/song/isrc s:US-S1Z-26-00001" ]' "/stemcap/song/isrc"
check 'R -m /stemcap/song/isrc s "not an isrc" | grep -q "^/stemcap/error s:/stemcap/song/isrc s:song isrc: .* is not an ISRC"' "a bad ISRC is refused with the reason"
check 'R -m /stemcap/song/upc s 123 | grep -q "^/stemcap/error .*not a UPC"' "a bad UPC is refused"
check 'R -m /stemcap/song/tempo s 120 | grep -q "^/stemcap/error .*unknown song key"' "an unknown song key is refused"
check '[ "$(R -m /stemcap/stem/1/name s "Kick & Snare")" = "/stemcap/stem/1/name s:Kick & Snare" ]' "/stemcap/stem/1/name renames"
check 'jack_property -p -l stemcap:stem1_L | grep -q "pretty-name value: Kick & Snare L"' "the port's pretty-name follows the new name"
check 'jack_property -p -l stemcap:stem1_R | grep -q "port-group value: Kick & Snare type"' "the port group follows the new name"
check 'R -m /stemcap/stem/2/name s "kick & snare" | grep -q "^/stemcap/error .*same file name as stem 1"' "a name colliding with another stem's file name is refused"
check 'R -m /stemcap/stem/2/name s "Mix" | grep -q "^/stemcap/error .*collide with the mix"' "a stem named Mix is refused while the mix is recorded"
R -m /stemcap/song s "Meta" >/dev/null
take
dir=$(t_take_dir)
check '[ -f "$dir/Meta - Kick & Snare.wav" ]' "the renamed stem's file: $(ls "$dir" | tr '\n' '|')"
check 'grep -q "\"artist\": \"The Band\"" "$dir/manifest.json" && grep -q "\"isrc\": \"US-S1Z-26-00001\"" "$dir/manifest.json"' "OSC metadata lands in the manifest"
t_done
