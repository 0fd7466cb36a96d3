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
R() { "$B/tests/oscraw" -p "$PORT" "$@"; }
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
t_done
