/* manifest — manifest.json of a take folder: what a mastering engineer and
 * a tool need to know about the delivery, written with jansson. */
#ifndef STEMCAP_MANIFEST_H
#define STEMCAP_MANIFEST_H

#include "monitor.h"
#include "take.h"

#define MANIFEST_MAX_WARNINGS 16

/* One verdict of a [mastering] rule: RULE of FILE ("" for the take). */
struct manifest_verdict {
    const char *rule; /* "sample_peak", "true_peak", "plr", "lead_in" */
    char file[TAKE_FILE_NAME_MAX];
    float measured, limit; /* measured: LOUDNESS_FLOOR when not measured */
    int pass;
};
#define MANIFEST_MAX_VERDICTS (2 * TAKE_MAX_FILES + 2)

struct manifest_extra {
    const char *state; /* "recording", "complete", "failed" */
    int nwarnings;
    char warning[MANIFEST_MAX_WARNINGS][160];
    int nverdicts; /* the take's end: the [mastering] rules */
    struct manifest_verdict verdict[MANIFEST_MAX_VERDICTS];
};

/* Writes <take folder>/manifest.json atomically (a temporary file renamed
 * over it).  Returns 0 or -1 (logged). */
int manifest_write(const struct take *t, const struct monitor *m, const struct manifest_extra *x);

#endif
