/* take — a take's folder and files: naming, safe creation, opening and
 * closing.  The control thread opens a take, the writer thread owns it while
 * it records, the control thread gets it back closed. */
#ifndef STEMCAP_TAKE_H
#define STEMCAP_TAKE_H

#include <limits.h>
#include <sndfile.h>
#include <stdint.h>

#include "conf.h"
#include "engine.h"
#include "names.h"

#define TAKE_MAX_FILES     (CONF_MAX_STEMS + 1)
#define TAKE_FILE_NAME_MAX (2 * NAMES_COMPONENT_MAX + 16)

struct take_file {
    SNDFILE *sf;
    int stem;                      /* 1..8, 0 for the mix */
    int ch[2];                     /* positions of L and R in the record's channel plan */
    char name[TAKE_FILE_NAME_MAX]; /* "<Song> - <Stem>.<ext>" */
    uint64_t frames;               /* written so far */
};

struct take {
    unsigned id; /* sequence id carried in ring records */
    int number;  /* NN of take-NN in the song folder */
    char song[CONF_NAME_MAX];
    char dir[PATH_MAX]; /* absolute path of the take folder */
    int dirfd;
    uint32_t rate;
    int nfiles;
    struct take_file file[TAKE_MAX_FILES];
    /* Channel plan: engine channel of each position in a record. */
    uint32_t nch;
    int plan_ch[ENGINE_MAX_CH];
};

/* Checks that libsndfile can write the configured format and sample
 * format.  Returns 0 or -1 (logged). */
int take_check_format(const struct conf *c);

/* Opens the capture root `dir` (created if missing, with parents) as a
 * directory fd, and stores its absolute path in `abs` (PATH_MAX).  Returns
 * the fd or -1 (logged). */
int take_open_root(const char *dir, char *abs);

/* Creates <root>/<Song>/take-NN (next free NN, never reusing one) and
 * creates one file per armed, registered stem of `c` and the mix when
 * c->record_mix, every file new (O_EXCL) and never through a symlink.  On
 * failure nothing is left open and the error is logged; the empty folder
 * may remain.  Returns 0 or -1. */
int take_open(struct take *t, int rootfd, const char *rootpath, const struct conf *c, uint32_t rate,
              unsigned id);

/* Writes the final headers and closes every file.  Returns 0, or -1 when any
 * file could not be finalised (logged). */
int take_close(struct take *t);

#endif
