/* jsonfile — writing a JSON document into a folder atomically. */
#ifndef STEMCAP_JSONFILE_H
#define STEMCAP_JSONFILE_H

#include <jansson.h>

/* Writes `root` as <dir>/<name>: to "<name>.tmp" first (never through a
 * symlink), fsync()ed, renamed over <name>, and the folder fsync()ed, so a
 * reader (or a power cut) sees the old document or the new one, never half
 * of one.  `dirfd` is the open folder, `dirpath` its name for messages.
 * Returns 0 or -1 (logged). */
int jsonfile_save(int dirfd, const char *dirpath, const char *name, json_t *root);

#endif
