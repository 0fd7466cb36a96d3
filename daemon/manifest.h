/* manifest — manifest.json of a take folder: what a mastering engineer and
 * a tool need to know about the delivery, written with jansson. */
#ifndef STEMCAP_MANIFEST_H
#define STEMCAP_MANIFEST_H

#include "monitor.h"
#include "take.h"

#define MANIFEST_MAX_WARNINGS 16

struct manifest_extra {
    const char *state; /* "recording", "complete", "failed" */
    int nwarnings;
    char warning[MANIFEST_MAX_WARNINGS][160];
};

/* Writes <take folder>/manifest.json atomically (a temporary file renamed
 * over it).  Returns 0 or -1 (logged). */
int manifest_write(const struct take *t, const struct monitor *m, const struct manifest_extra *x);

#endif
