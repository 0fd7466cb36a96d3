/* writer — the disk thread: drains the capture ring into the takes' files. */
#ifndef STEMCAP_WRITER_H
#define STEMCAP_WRITER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "engine.h"
#include "recover.h"
#include "take.h"

#define WRITER_SLOTS 2 /* the take recording and the next one, prepared */

/* Writer-thread state of one take. */
struct writer_slot {
    struct take *take; /* NULL = free */
    int finish;        /* control asks to finish (or discard) the take */
    int discard;       /* ... without writing anything more */
    int finished;
    uint64_t tail; /* frames of silence after the last record */
    /* Writer-thread private. */
    int started;  /* first record seen: bext written */
    uint64_t pos; /* frames of the take received (arrival order) */
    double last_header;
    unsigned char *out[TAKE_MAX_FILES]; /* each file's next block, packed */
    uint32_t ofill;                     /* frames in every one of them */
    uint64_t part_left;                 /* frames the current part still takes (split_minutes) */
    int staged;                         /* channels out of step: appends go through the stages */
    uint32_t scap;                      /* frames each stage holds */
    float *stage[ENGINE_MAX_CH];        /* allocated only when a channel has latency */
    uint32_t sfill[ENGINE_MAX_CH];
    uint32_t skip[ENGINE_MAX_CH]; /* frames still to skip: latency advance */
    int pcm_width;                /* 2, 3, 4: integer PCM packed here (pcm.c); 0: float */
    int pcm_big;                  /* ... big-endian (AIFF) */
    /* The mix's alignment (see writer.c): while `hold`, the first record
     * with sound waits in the ring until `aligned` (writer_align) says by
     * how much the mix lags the stems. */
    int hold;
    int aligned;
    int align_off;       /* frames the mix lags the stems (the files' shift) */
    int align_hint;      /* the null test's offset meanwhile: used if it must go on */
    int applied;         /* writer thread: align_off is in the skips and stages */
    uint32_t check_skip; /* frames of the mix skipped for it that must be silent */
};

/* Frames per file per write (24 KB of 24-bit stereo, 85 ms at 48 kHz): the
 * files of a take are written a block each in turn, so a killed daemon
 * leaves them at most one block apart (recover.c relies on that). */
#define WRITER_BLOCK RECOVER_MAX_CUT

struct writer {
    pthread_t thread;
    int running;
    struct ring *ring;
    const atomic_int *hurry; /* non-zero: poll fast (JACK freewheels) */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct writer_slot slot[WRITER_SLOTS]; /* guarded by lock, but see writer.c */
    int quit;
    atomic_int failed;        /* a write error happened (in the current take) */
    char fail_msg[512];       /* ... which: written before `failed` is set */
    atomic_uint write_max_us; /* slowest sf_writef since the last reset */
    const char *stall_path;   /* test hook, see writer.c */
    unsigned long iter;       /* loop iterations, guarded by lock */
    atomic_ulong loops;       /* iter, published for other threads (writer_loops_done) */
    float *rec;               /* one record's samples */
    size_t rec_cap;
    struct engine_hist *hist; /* the pre-roll (engine.h) */
    float *pre;               /* a piece of it, planar in the take's channel plan */
};

/* Starts the thread.  While *hurry is non-zero (JACK freewheels) the
 * thread polls the ring every few milliseconds instead of every 250.  A
 * take's first record may carry a pre-roll, copied from `hist` into the
 * files before it (then hist->busy is cleared).  Returns 0 or -1 (logged). */
int writer_start(struct writer *w, struct ring *ring, const atomic_int *hurry,
                 struct engine_hist *hist);
/* Hands an open take to the writer, before the engine may record it.
 * Returns 0, or -1 when both slots are busy or memory is short (logged). */
int writer_begin(struct writer *w, struct take *t);
/* After the engine ended the take: drains what is left, writes
 * `tail_dropped` frames of silence, closes every file and fills the take's
 * results.  Blocks until done.  Returns 0, or -1 when the take had an
 * error. */
int writer_finish(struct writer *w, struct take *t, uint64_t tail_dropped);
/* The take's alignment: the mix lags the stems by `offset` frames (the
 * stems lead: the mix is advanced; negative: the mix leads and is delayed
 * with silence).  Until it is given, a take whose t->align_hold is set
 * writes its silent start and then waits (in the ring, nothing lost) at its
 * first sound; when the ring gets half full first it goes on with `hint`
 * (writer_align_hint).  Returns 0, or -1 when the files already went on
 * with another offset (the take keeps that one: t->align_applied). */
int writer_align(struct writer *w, struct take *t, int offset);
void writer_align_hint(struct writer *w, struct take *t, int hint);
/* Takes back a take the engine never recorded: closes its files (empty). */
void writer_discard(struct writer *w, struct take *t);
/* Points the writer at another capture ring (NULL: none), and returns once
 * the thread no longer uses the old one.  No take may be held. */
void writer_set_ring(struct writer *w, struct ring *ring);
/* For other threads, without the lock: the thread's loops so far (it loops
 * at least every 250 ms while alive), the slowest write since the last
 * reset in microseconds, and that reset. */
unsigned long writer_loops_done(const struct writer *w);
/* The first write error of the current take ("'folder/file': reason"), ""
 * while there is none; for the control thread. */
const char *writer_fail_msg(const struct writer *w);
unsigned writer_write_max_us(const struct writer *w);
void writer_reset_stats(struct writer *w);
/* Stops the thread (every take must be finished or discarded). */
void writer_stop(struct writer *w);

#endif
