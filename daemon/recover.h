/* recover — repairs the takes a killed stemcapd left unfinished (SIGKILL,
 * power cut): audio headers rewritten to the real data length, every file
 * of a take cut to the frames all of them hold, manifest.json completed
 * with state "recovered"; prepared takes that never started are removed.
 * Design: docs/DESIGN.md, section "Recovery after a kill". */
#ifndef STEMCAP_RECOVER_H
#define STEMCAP_RECOVER_H

/* Scans <rootpath>/<Song>/take-* below the capture root's directory fd
 * (never through a symlink) and repairs every take whose manifest.json says
 * "recording".  Call at startup, before any take is prepared.  Returns the
 * number of takes repaired (>= 0), or -1 when the root cannot be read;
 * a take that cannot be repaired is logged and left as it was. */
int recover_takes(int rootfd, const char *rootpath);

/* The promise recovery relies on: the writer writes the files of a take a
 * block of at most this many frames each in turn (writer.h WRITER_BLOCK),
 * so a killed daemon leaves them at most one block apart. */
#define RECOVER_MAX_CUT 4096

#endif
