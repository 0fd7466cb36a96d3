#!/usr/bin/env bash
# Hostile files, for both readers of files other people made: stemcap-check
# and stemcapd's startup recovery (takes whose manifest.json says
# "recording").  Real takes are recorded first (stemcapd and the test source
# on a private jackd -d dummy, [mix] auto_offset off so the audio starts at
# once): a delivery of two stems and the mix, a one-file take, a one-file
# take SIGKILLed in its second second; libsndfile's RF64 comes from
# tests/mkstems.  Copies are then damaged: cut inside the RIFF header, the
# fmt chunk, the ds64 chunk, the data chunk header, the audio; a data or
# RIFF size of 0xFFFFFFFF; a LIST chunk that claims 4 GiB; ds64 data sizes
# larger and smaller than the audio; 0 channels; a block align that
# disagrees; symlinks to a file, to /dev/zero, to a FIFO, dangling; a FIFO;
# a folder of 10,000 files.
#
# stemcap-check: exit 1 with one "FAIL files" line naming the file and the
# problem, the same in --json ("rejected"), nothing on stderr, never a hang
# (every run under timeout 20); a FIFO is never opened (a writer waiting at
# its other end stays blocked); 10,000 audio files: exit 2 with one line,
# 10,000 other files: listed as "and N more", both in bounded time and
# memory (/usr/bin/time: max RSS at most 8 MB above that of a run on the
# three-file delivery alone, so that a sanitizer build's shadow memory
# does not count).
# The recovery: every damaged take dealt with in one start, a warning line
# naming the file and the problem where the header is not what a kill
# leaves; a header it cannot trust leaves the file byte for byte as it was;
# a header that lies keeps every whole frame the file held (frames read back
# by soxi = (size - data offset) / 6, the audio bytes compared with cmp);
# symlinks never followed, FIFOs never opened; the 10,000-file take folder
# costs bounded time and memory (its peak RSS against a start on an empty
# capture dir); a second start changes nothing.
. "$(dirname "$0")/lib.sh"
t_init hostile
t_jackd
t_src -m noise -x 3,4,5,6,7,8
CHK=$B/stemcap-check
MAX_RSS_KB=8192 # what 10,000 files add to stemcap-check's max RSS
MAX_HWM_KB=8192  # what the recovery of every take here adds to stemcapd's peak RSS
# Under AddressSanitizer (make SANITIZE=address) every allocation carries
# redzones and its size class's own pages, and the shadow memory grows with
# them: the same recovery measured +0.4 MB without it, +2.3 to +11 MB with
# it (quarantine or not).  The plain build keeps the bound; this one gets 4x.
ldd "$B/stemcapd" 2>/dev/null | grep -q libasan && MAX_HWM_KB=$((4 * MAX_HWM_KB))

# ---- helpers --------------------------------------------------------------------------------

# putN FILE OFFSET VALUE: a little-endian field written in place.
put16() {
    printf "$(printf '\\%03o\\%03o' $(($3 & 255)) $((($3 >> 8) & 255)))" |
        dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
put32() {
    put16 "$1" "$2" $(($3 & 0xFFFF))
    put16 "$1" $(($2 + 2)) $((($3 >> 16) & 0xFFFF))
}
put64() {
    put32 "$1" "$2" $(($3 & 0xFFFFFFFF))
    put32 "$1" $(($2 + 4)) $((($3 >> 32) & 0xFFFFFFFF))
}
get32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
get64() { od -An -tu8 -j "$2" -N8 "$1" | tr -d ' '; }
# offset_of FILE ID: byte offset of the first chunk id ID.
offset_of() { LC_ALL=C grep -obUa -m1 -- "$2" "$1" | head -1 | cut -d: -f1; }
fsize() { stat -c %s "$1"; }
json_ok() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -m json.tool "$1" >/dev/null
    else
        grep -q '"rejected"' "$1" && grep -q '"checks"' "$1"
    fi
}

# fifo_writer FIFO: a writer blocked in open() until someone opens FIFO to
# read; FIFO.opened appears if anyone does.
fifo_writer() {
    (exec 3>"$1" && echo opened >"$1.opened") 2>/dev/null &
    T_PIDS+=("$!")
}
fifo_untouched() { [ ! -e "$1.opened" ]; }

# record SONG SECONDS STEMS... [kill]: a take in $T/takes/SONG/take-01;
# with kill, stemcapd is SIGKILLed after SECONDS and the take copied to
# $T/killed/SONG before any other start can repair it.
record() {
    local song=$1 secs=$2 kill=
    shift 2
    [ "${*: -1}" = kill ] && kill=1 && set -- "${@:1:$#-1}"
    EXTRA_CAPTURE="sample_format = pcm24
record_mix = ${MIX:-true}" t_conf "$T/$song.ini" <<CONF
[song]
title = $song
$(t_stems_conf "$@" | sed '/^\[mix\]$/a auto_offset = false')
CONF
    t_daemon "$T/$song.ini"
    t_cli start >/dev/null
    sleep "$secs"
    if [ -n "$kill" ]; then
        kill -KILL "$T_DAEMON"
        wait "$T_DAEMON" 2>/dev/null
        t_forget "$T_DAEMON"
        mkdir -p "$T/killed"
        cp -r "$T/takes/$song/take-01" "$T/killed/$song"
    else
        t_cli stop >/dev/null
        t_daemon_stop
    fi
}

record Hostile 1 Drums Bass
MIX=false record Solo 1 Drums
MIX=false record Killed 1.6 Drums kill
mkdir -p "$T/del" "$T/rf64" "$T/chk" "$T/rec"
cp "$T/takes/Hostile/take-01"/*.wav "$T/del/"
"$B/tests/mkstems" -f rf64 -n 48000 -s 1 "$T/rf64" >/dev/null || fail "mkstems -f rf64"
cp "$T/del/Hostile - Drums.wav" "$T/elsewhere.wav"
mkfifo "$T/pipe"

B_WAV="Hostile - Bass.wav"
fmt=$(offset_of "$T/del/$B_WAV" "fmt ")
data=$(offset_of "$T/del/$B_WAV" data)
list=$(offset_of "$T/del/$B_WAV" LIST)
declared=$(get32 "$T/del/$B_WAV" $((data + 4)))
R_WAV="Song - Drums.rf64"
ds64=$(offset_of "$T/rf64/$R_WAV" ds64)
rdata=$(get64 "$T/rf64/$R_WAV" $((ds64 + 16)))
t_log "delivery: 3 files of $((declared / 6)) frames, fmt at $fmt, LIST at $list, data at $data; RF64 ds64 at $ds64, $rdata bytes"

# ---- stemcap-check ----------------------------------------------------------------------------

# run_chk NAME: stemcap-check, text and --json, on $T/chk/NAME (RC, RCJ; .out .json .err).
run_chk() {
    local d=$T/chk/$1
    timeout 20 "$CHK" "$d" >"$d.out" 2>"$d.err"
    RC=$?
    timeout 20 "$CHK" --json "$d" >"$d.json" 2>>"$d.err"
    RCJ=$?
}
# copy NAME FROM: $T/chk/NAME, a copy of the delivery FROM ($T/del or $T/rf64).
copy() { rm -rf "$T/chk/$1" && cp -r "$2" "$T/chk/$1"; }
# rejects NAME FILE WORDS: exit 1 both ways, one FAIL files line naming FILE with WORDS, the
# same in the JSON report, which parses; nothing on stderr.
rejects() {
    local n=$1 f=$2 w=$3 d=$T/chk/$1 line
    run_chk "$n"
    line=$(grep "^FAIL files" "$d.out")
    check '[ $RC = 1 ] && [ $RCJ = 1 ] && [ ! -s "$d.err" ] && grep -qF -- "$f: " <<<"$line" &&
           grep -qF -- "$w" <<<"$line" &&
           json_ok "$d.json" && grep -qF -- "\"name\": \"$f\"" "$d.json" && grep -qF -- "$w" "$d.json"' \
        "stemcap-check $n: exit 1 ($RC/$RCJ), $(cut -c 20-200 <<<"$line")"
}

copy clean "$T/del"
run_chk clean
check '[ $RC = 0 ] && [ $RCJ = 0 ] && ! grep -q "^FAIL" "$T/chk/clean.out"' "stemcap-check on the undamaged delivery: exit 0 (got $RC)"
copy rf64 "$T/rf64"
run_chk rf64
check '[ $RC = 0 ] && ! grep -q "^FAIL" "$T/chk/rf64.out"' "stemcap-check on libsndfile's RF64 delivery: exit 0 (got $RC)"

copy cut-riff "$T/del" && truncate -s 10 "$T/chk/cut-riff/$B_WAV"
rejects cut-riff "$B_WAV" "the file ends at byte 10, inside the RIFF header: cut short"
copy cut-fmt "$T/del" && truncate -s $((fmt + 20)) "$T/chk/cut-fmt/$B_WAV"
rejects cut-fmt "$B_WAV" "the fmt chunk is cut short"
copy cut-data "$T/del" && truncate -s $((data + 4)) "$T/chk/cut-data/$B_WAV"
rejects cut-data "$B_WAV" "inside a chunk header: cut short"
copy cut-audio "$T/del" && truncate -s $((data + 8 + 3001)) "$T/chk/cut-audio/$B_WAV"
rejects cut-audio "$B_WAV" "the data chunk declares $declared bytes of audio but only 3001 follow"
copy cut-ds64 "$T/rf64" && truncate -s $((ds64 + 16)) "$T/chk/cut-ds64/$R_WAV"
rejects cut-ds64 "$R_WAV" "the ds64 chunk is cut short"
copy data-ffff "$T/del" && put32 "$T/chk/data-ffff/$B_WAV" $((data + 4)) 0xFFFFFFFF
rejects data-ffff "$B_WAV" "the data chunk's size is 0xFFFFFFFF, which only an RF64 file may say"
copy riff-ffff "$T/del" && put32 "$T/chk/riff-ffff/$B_WAV" 4 0xFFFFFFFF
rejects riff-ffff "$B_WAV" "the RIFF size is 0xFFFFFFFF"
copy list-ffff "$T/del" && put32 "$T/chk/list-ffff/$B_WAV" $((list + 4)) 0xFFFFFFFF
rejects list-ffff "$B_WAV" "the 'LIST' chunk at byte $list declares 4294967295 bytes, past the end of the file"
copy ds64-more "$T/rf64" && put64 "$T/chk/ds64-more/$R_WAV" $((ds64 + 16)) $((rdata + 60000))
rejects ds64-more "$R_WAV" "the ds64 chunk declares $((rdata + 60000)) bytes of audio but only $rdata follow"
copy ds64-less "$T/rf64" && put64 "$T/chk/ds64-less/$R_WAV" $((ds64 + 16)) $((rdata / 2))
rejects ds64-less "$R_WAV" "the ds64 chunk declares $((rdata / 2)) bytes of audio but $rdata bytes follow it, and they are not chunks"
copy ch0 "$T/del" && put16 "$T/chk/ch0/$B_WAV" $((fmt + 10)) 0
rejects ch0 "$B_WAV" "the fmt chunk says 0 channels"
copy align "$T/del" && put16 "$T/chk/align/$B_WAV" $((fmt + 20)) 5
rejects align "$B_WAV" "the fmt chunk's block align 5 disagrees with its 2 channels of 3 bytes (6)"
copy killed "$T/killed/Killed"
rejects killed "Killed - Drums.wav" "a header not updated after the audio was written"

# Symlinks and FIFOs: never followed, never opened, never a hang.
copy link-file "$T/del" && ln -s "$T/elsewhere.wav" "$T/chk/link-file/Hostile - Extra.wav"
rejects link-file "Hostile - Extra.wav" "a symlink to $T/elsewhere.wav: not followed"
copy link-zero "$T/del" && ln -s /dev/zero "$T/chk/link-zero/Hostile - Extra.wav"
rejects link-zero "Hostile - Extra.wav" "a symlink to /dev/zero: not followed"
copy link-none "$T/del" && ln -s "$T/nowhere.wav" "$T/chk/link-none/Hostile - Extra.wav"
rejects link-none "Hostile - Extra.wav" "a symlink to $T/nowhere.wav: not followed"
copy link-fifo "$T/del" && ln -s "$T/pipe" "$T/chk/link-fifo/Hostile - Extra.wav"
rejects link-fifo "Hostile - Extra.wav" "a symlink to $T/pipe: not followed"
copy fifo "$T/del" && mkfifo "$T/chk/fifo/Hostile - Extra.wav"
rejects fifo "Hostile - Extra.wav" "a FIFO, not a regular file: not opened"
fifo_writer "$T/pipe"
fifo_writer "$T/chk/fifo/Hostile - Extra.wav"
run_chk link-fifo
run_chk fifo
check 'fifo_untouched "$T/pipe" && fifo_untouched "$T/chk/fifo/Hostile - Extra.wav"' \
    "stemcap-check never opened a FIFO (writers waiting at their other end are still blocked)"

# A folder of 10,000 files.
/usr/bin/time -f "%e %M" -o "$T/clean.time" "$CHK" "$T/chk/clean" >/dev/null 2>&1
read -r _ clean_rss < <(tail -1 "$T/clean.time")
copy many "$T/del"
seq -f "$T/chk/many/Hostile - Extra %05g.wav" 1 10000 | xargs -d '\n' touch
/usr/bin/time -f "%e %M" -o "$T/many.time" timeout 20 "$CHK" "$T/chk/many" >"$T/chk/many.out" 2>"$T/chk/many.err"
RC=$?
read -r secs rss < <(tail -1 "$T/many.time") # after "Command exited with non-zero status 2"
check '[ $RC = 2 ] && [ ! -s "$T/chk/many.out" ] && [ "$(wc -l <"$T/chk/many.err")" = 1 ] &&
       grep -q "many: 10003 audio files, more than the 64 stemcap-check reads" "$T/chk/many.err" &&
       [ "$rss" -lt $((clean_rss + MAX_RSS_KB)) ]' \
    "stemcap-check on 10,003 audio files: exit 2 ($RC) in $secs s, max RSS $rss KB (the delivery alone: $clean_rss KB): $(cut -c 1-120 "$T/chk/many.err")"
copy notes "$T/del"
seq -f "$T/chk/notes/note %05g.txt" 1 10000 | xargs -d '\n' touch
/usr/bin/time -f "%e %M" -o "$T/notes.time" timeout 20 "$CHK" "$T/chk/notes" >"$T/chk/notes.out" 2>"$T/chk/notes.err"
RC=$?
read -r secs rss < <(tail -1 "$T/notes.time")
timeout 20 "$CHK" --json "$T/chk/notes" >"$T/chk/notes.json" 2>>"$T/chk/notes.err"
check '[ $RC = 0 ] && grep -q "^ignored (not audio): .* and 9900 more$" "$T/chk/notes.out" &&
       grep -q "\"ignored_count\": 10000" "$T/chk/notes.json" && [ "$rss" -lt $((clean_rss + MAX_RSS_KB)) ]' \
    "stemcap-check on a delivery among 10,000 other files: exit 0 ($RC) in $secs s, max RSS $rss KB, 100 of them named, \"and 9900 more\""

# ---- the startup recovery --------------------------------------------------------------------

# take CASE FROM: $T/rec/CASE/take-01, a copy of the take FROM whose manifest says "recording".
take() {
    mkdir -p "$T/rec/$1"
    cp -r "$2" "$T/rec/$1/take-01"
    sed -i 's/"state": "complete"/"state": "recording"/' "$T/rec/$1/take-01/manifest.json"
}
S_WAV="Solo - Drums.wav"
sdata=$(offset_of "$T/takes/Solo/take-01/$S_WAV" data)
sfmt=$(offset_of "$T/takes/Solo/take-01/$S_WAV" "fmt ")

take killed "$T/killed/Killed"
take data-ffff "$T/takes/Solo/take-01" && put32 "$T/rec/data-ffff/take-01/$S_WAV" $((sdata + 4)) 0xFFFFFFFF
take riff-ffff "$T/takes/Solo/take-01" && put32 "$T/rec/riff-ffff/take-01/$S_WAV" 4 0xFFFFFFFF
take cut-audio "$T/takes/Solo/take-01" && truncate -s $((sdata + 8 + 30001)) "$T/rec/cut-audio/take-01/$S_WAV"
for c in ds64-more ds64-less cut-ds64; do
    take $c "$T/takes/Solo/take-01"
    rm "$T/rec/$c/take-01/$S_WAV"
    cp "$T/rf64/$R_WAV" "$T/rec/$c/take-01/"
    sed -i "s/$S_WAV/$R_WAV/" "$T/rec/$c/take-01/manifest.json"
done
put64 "$T/rec/ds64-more/take-01/$R_WAV" $((ds64 + 16)) $((rdata + 60000))
put64 "$T/rec/ds64-less/take-01/$R_WAV" $((ds64 + 16)) $((rdata / 2))
truncate -s $((ds64 + 16)) "$T/rec/cut-ds64/take-01/$R_WAV"
take list-ffff "$T/takes/Solo/take-01"
put32 "$T/rec/list-ffff/take-01/$S_WAV" $(($(offset_of "$T/rec/list-ffff/take-01/$S_WAV" LIST) + 4)) 0xFFFFFFFF
take cut-riff "$T/takes/Solo/take-01" && truncate -s 10 "$T/rec/cut-riff/take-01/$S_WAV"
take cut-fmt "$T/takes/Solo/take-01" && truncate -s $((sfmt + 20)) "$T/rec/cut-fmt/take-01/$S_WAV"
take ch0 "$T/takes/Solo/take-01" && put16 "$T/rec/ch0/take-01/$S_WAV" $((sfmt + 10)) 0
take align "$T/takes/Solo/take-01" && put16 "$T/rec/align/take-01/$S_WAV" $((sfmt + 20)) 5
take links "$T/takes/Solo/take-01"
L=$T/rec/links/take-01
ln -s "$T/elsewhere.wav" "$L/Solo - Link.wav"
ln -s /dev/zero "$L/Solo - Zero.wav"
ln -s "$T/pipe" "$L/Solo - Pipe.wav"
mkfifo "$L/Solo - Fifo.wav"
# The manifest lists a symlink and the FIFO too.
sed -i "s/\"file\": \"$S_WAV\"/&}, {\"file\": \"Solo - Pipe.wav\"}, {\"file\": \"Solo - Fifo.wav\"/" "$L/manifest.json"
fifo_writer "$L/Solo - Fifo.wav"
take many "$T/takes/Solo/take-01"
seq -f "$T/rec/many/take-01/Solo - Extra %05g.wav" 1 10000 | xargs -d '\n' touch
mkdir -p "$T/before"
for d in "$T"/rec/*/take-01; do cp -r "$d" "$T/before/$(basename "$(dirname "$d")")"; done
cp "$T/elsewhere.wav" "$T/elsewhere.before"

# rec.ini: the test's config with its capture dir on $T/rec; empty.ini on an empty one.
sed "s#^dir = .*#dir = $T/rec#" "$T/Solo.ini" >"$T/rec.ini"
sed "s#^dir = .*#dir = $T/empty#" "$T/Solo.ini" >"$T/empty.ini"
mkdir -p "$T/empty"
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$T_DAEMON/status"; }
t0=$(date +%s%N)
t_daemon "$T/empty.ini"
base_ms=$((($(date +%s%N) - t0) / 1000000))
base_hwm=$(hwm)
t_daemon_stop
mark=$(wc -l <"$T/stemcapd.log")
t0=$(date +%s%N)
t_daemon "$T/rec.ini"
rec_ms=$((($(date +%s%N) - t0) / 1000000))
rec_hwm=$(hwm)
t_daemon_stop
tail -n +$((mark + 1)) "$T/stemcapd.log" >"$T/rec.log"
check '[ $((rec_hwm - base_hwm)) -lt $MAX_HWM_KB ] && [ $rec_ms -lt $((base_ms + 5000)) ]' \
    "recovering every take here (the 10,000-file folder among them): ready in $rec_ms ms (empty capture dir: $base_ms ms), peak RSS $rec_hwm KB ($((rec_hwm - base_hwm)) KB more than on the empty dir; bound $MAX_HWM_KB)"

state() { sed -n 's/^ *"state": "\([a-z]*\)",*$/\1/p' "$T/rec/$1/take-01/manifest.json" | head -1; }
# logline CASE FILE WORDS: the log line about CASE's FILE that says WORDS.
logline() { grep -F -- "$T/rec/$1/take-01/$2: " "$T/rec.log" | grep -F -- "$3" | head -1; }
# keeps CASE FILE: recovered; the file holds every whole frame it had, byte for byte.
keeps() {
    local c=$1 f=$2 before=$T/before/$1/$2 after=$T/rec/$1/take-01/$2 off frames
    off=$(($(offset_of "$before" data) + 8))
    frames=$((($(fsize "$before") - off) / 6))
    check '[ "$(state "$c")" = recovered ] && [ "$(soxi -s "$after")" = $frames ] &&
           cmp -s -i $off:$off -n $((frames * 6)) "$before" "$after"' \
        "recovery $c: recovered, all $frames whole frames kept byte for byte (soxi, cmp)${3:+; $3}"
}
# untouched CASE FILE WORDS: the file is logged with WORDS and left byte for byte.
untouched() {
    local c=$1 f=$2 line
    line=$(logline "$c" "$f" "$3")
    check '[ -n "$line" ] && cmp -s "$T/before/$c/$f" "$T/rec/$c/take-01/$f" &&
           grep -A2 "\"unreadable\": \[" "$T/rec/$c/take-01/manifest.json" | grep -qF "\"$f\""' \
        "recovery $c: the file left byte for byte, listed as unreadable ($(sed 's/.*take-01\///' <<<"$line" | cut -c 1-150))"
}

keeps killed "Killed - Drums.wav" "$(grep -o 'killed/take-01: recovered:.*' "$T/rec.log")"
keeps data-ffff "$S_WAV" "$(logline data-ffff "$S_WAV" "the data chunk's size is 0xFFFFFFFF" | sed 's/.*take-01\///' | cut -c 1-120)"
check '[ -n "$(logline data-ffff "$S_WAV" "the data chunk'"'"'s size is 0xFFFFFFFF")" ]' "recovery data-ffff: a warning names the file and its 0xFFFFFFFF data size"
keeps riff-ffff "$S_WAV"
check '[ -n "$(logline riff-ffff "$S_WAV" "the RIFF size is 0xFFFFFFFF")" ]' "recovery riff-ffff: a warning names the file and its 0xFFFFFFFF RIFF size"
keeps cut-audio "$S_WAV" "a partial frame cut"
check '[ -n "$(logline cut-audio "$S_WAV" "the data chunk declares")" ] && [ "$(fsize "$T/rec/cut-audio/take-01/$S_WAV")" = $((sdata + 8 + 30000)) ]' \
    "recovery cut-audio: a warning names the file cut short; only the 1 byte of a partial frame is cut"
keeps ds64-more "$R_WAV"
check '[ -n "$(logline ds64-more "$R_WAV" "the ds64 chunk declares $((rdata + 60000)) bytes of audio but only $rdata follow")" ]' \
    "recovery ds64-more: a warning names the file and the ds64 size that lies"
keeps ds64-less "$R_WAV" "manifest: frames_header $(sed -n 's/.*"frames_header": \([0-9]*\).*/\1/p' "$T/rec/ds64-less/take-01/manifest.json" | head -1)"
untouched cut-riff "$S_WAV" "the file ends at byte 10, inside the RIFF header: cut short; left as it is"
untouched cut-fmt "$S_WAV" "the fmt chunk is cut short"
untouched cut-ds64 "$R_WAV" "the ds64 chunk is cut short"
untouched list-ffff "$S_WAV" "declares 4294967295 bytes, past the end of the file"
untouched ch0 "$S_WAV" "the fmt chunk says 0 channels"
untouched align "$S_WAV" "the fmt chunk's block align 5 disagrees"
keeps links "$S_WAV"
check 'grep -qF "$L/Solo - Link.wav is a symlink: not followed" "$T/rec.log" &&
       grep -qF "$L/Solo - Zero.wav is a symlink: not followed" "$T/rec.log" &&
       grep -qF "$L/Solo - Pipe.wav: listed in the manifest but a symlink (not followed)" "$T/rec.log" &&
       grep -qF "$L/Solo - Fifo.wav: listed in the manifest but not a regular file" "$T/rec.log" &&
       cmp -s "$T/elsewhere.before" "$T/elsewhere.wav" && [ -L "$L/Solo - Zero.wav" ] &&
       fifo_untouched "$T/pipe" && fifo_untouched "$L/Solo - Fifo.wav"' \
    "recovery links: symlinks to a file, /dev/zero and a FIFO never followed, a listed FIFO never opened (writers still blocked), each logged"
keeps many "$S_WAV"
check 'grep -qF "$T/rec/many/take-01: more than 64 audio files; the rest are left alone" "$T/rec.log"' \
    "recovery many: 10,000 more files in the take folder: \"more than 64 audio files; the rest are left alone\""

# A second start changes nothing.
find "$T/rec" -type f -newer "$T/rec.ini" -printf '%p %s %T@\n' | sort >"$T/rec.after1"
mark=$(wc -l <"$T/stemcapd.log")
t_daemon "$T/rec.ini"
t_daemon_stop
rc=$?
find "$T/rec" -type f -newer "$T/rec.ini" -printf '%p %s %T@\n' | sort >"$T/rec.after2"
check 'cmp -s "$T/rec.after1" "$T/rec.after2" && ! tail -n +$((mark + 1)) "$T/stemcapd.log" | grep -q "recovered:" &&
       fifo_untouched "$T/pipe" && fifo_untouched "$L/Solo - Fifo.wav" && [ $rc = 0 ]' \
    "a second start repairs nothing and writes no file; stemcapd runs on and exits 0 on SIGTERM ($rc)"
t_done
