/* timeline — where each period of a take goes on JACK's frame clock.
 *
 * The process callback reads the frame time of each cycle from JACK, but
 * JACK (jack2 and PipeWire's JACK alike) answers with the frame time of the
 * driver's most recent cycle when it is asked, not of the cycle that woke
 * the callback: a callback woken in cycle c that gets the CPU only after
 * cycle c+1 began reads c+1 (a "late read").  A read is therefore an upper
 * bound of its period's frame, and consecutive periods are whole periods
 * apart.  Periods are held back TIMELINE_HOLD cycles and then placed at the
 * latest frame the reads that followed allow (see timeline.c); the gaps
 * between placed periods are frames JACK never gave us, filled with
 * silence by the writer.  Pure arithmetic: real-time safe. */
#ifndef STEMCAP_TIMELINE_H
#define STEMCAP_TIMELINE_H

#include <stdint.h>

#define TIMELINE_HOLD 3 /* periods held back before they are placed */

struct timeline_period {
    uint64_t read;   /* frame time the callback read */
    uint64_t bound;  /* the latest frame the reads so far allow */
    uint64_t tframe; /* transport frame read in the same cycle */
    uint32_t nframes;
    uint32_t bytes;   /* its ring record's size, 0 = lost (no room) */
    uint32_t rolling; /* the transport rolled: tframe moves with the frame */
    uint32_t flags;   /* the caller's, handed back when it is placed */
};

struct timeline {
    struct timeline_period held[TIMELINE_HOLD + 1];
    int nheld;
    int placed;       /* a period of the take was placed */
    uint64_t next;    /* ... and the frame right after it */
    uint64_t max_gap; /* longest gap filled; beyond it the take just goes on */
};

/* Where a period goes: `frame` (its first sample; the transport frame read
 * moves with it while the transport rolled), after `gap` frames JACK never
 * gave us since the period placed before it (0 for the first). */
struct timeline_place {
    uint64_t frame, tframe, gap;
    uint32_t nframes, bytes, flags;
    uint64_t moved; /* frames it was placed before its read (a late read) */
};

/* A new take: nothing held or placed; gaps longer than max_gap frames (a
 * suspended machine, a stopped server) are not filled. */
void timeline_reset(struct timeline *t, uint64_t max_gap);

/* The period read at `read` in this cycle: tightens the bounds of the
 * periods held before it.  Returns the number held, TIMELINE_HOLD + 1 when
 * the oldest is due (call timeline_place). */
int timeline_add(struct timeline *t, uint64_t read, uint64_t tframe, int rolling, uint32_t nframes,
                 uint32_t bytes);

/* Adds `flags` to the newest held period's. */
void timeline_flag_last(struct timeline *t, uint32_t flags);

/* The newest held period's record is no good (process.c: it repeats the
 * next cycle): it becomes lost frames, silence in every file.  Returns the
 * bytes of its record, now free, 0 when it had none. */
uint32_t timeline_forget_last(struct timeline *t);

/* Places the oldest held period into *p and forgets it.  Returns 0, or -1
 * when nothing is held. */
int timeline_place(struct timeline *t, struct timeline_place *p);

#endif
