/* writer — the disk thread: drains the capture ring into the take's files. */
#ifndef STEMCAP_WRITER_H
#define STEMCAP_WRITER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "engine.h"
#include "take.h"

#define WRITER_MAX_DROPS 64 /* drop positions kept per take */

struct writer_drop {
    uint64_t at;     /* frame offset in the take where silence was inserted */
    uint64_t frames; /* how many */
};

/* What the writer reports about a finished take. */
struct writer_result {
    uint64_t frames;  /* frames in every file */
    uint64_t dropped; /* frames of silence written for dropped periods */
    int ndrops;       /* entries in drop[] (capped at WRITER_MAX_DROPS) */
    struct writer_drop drop[WRITER_MAX_DROPS];
    int error; /* a write or close failed (logged) */
};

struct writer {
    pthread_t thread;
    int running;
    struct ring *ring;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* Guarded by lock. */
    struct take *take; /* take being written, NULL when idle */
    int finish;        /* control asks to finish the take */
    uint64_t tail_dropped;
    int finished; /* writer has closed it */
    int quit;
    struct writer_result result;
    /* Published without the lock, for status. */
    atomic_int failed; /* a write error happened in the current take */
    /* Writer-thread private. */
    float *scratch; /* interleave buffer, WRITER_BLOCK frames per file */
    uint32_t *fill; /* frames buffered per file */
    float *rec;     /* one record's samples */
    size_t rec_cap;
};

/* Starts the thread.  Returns 0 or -1 (logged). */
int writer_start(struct writer *w, struct ring *ring);
/* Hands an open take to the writer (before the engine is asked to start). */
void writer_begin(struct writer *w, struct take *t);
/* Called after the engine stopped recording the take: drains what is left,
 * writes `tail_dropped` frames of silence, closes every file and fills `res`.
 * Blocks until done.  Returns 0, or -1 when the take had an error. */
int writer_finish(struct writer *w, uint64_t tail_dropped, struct writer_result *res);
/* Stops the thread (after finishing any take). */
void writer_stop(struct writer *w);

#endif
