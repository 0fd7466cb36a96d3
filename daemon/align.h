/* align — the mix's alignment to the stems ([mix] auto_offset): when a
 * lag measured between the stems' sum and the mix (monitor.c, lag.c) is
 * applied to the null test and to a take's files.  Control thread only. */
#ifndef STEMCAP_ALIGN_H
#define STEMCAP_ALIGN_H

#include "conf.h"
#include "engine.h"
#include "monitor.h"
#include "take.h"
#include "writer.h"

struct align {
    int on;         /* [mix] auto_offset */
    int offset;     /* the null test's offset now, frames the mix lags */
    int known;      /* measured or confirmed since our connections last changed */
    unsigned graph; /* engine.our_graph when `known` was last set */
    unsigned accept_seen, confirm_seen;
    struct engine *e;
    struct monitor *m;
    struct writer *w;
};

/* Starts from [mix] offset_frames, not known. */
void align_init(struct align *a, const struct conf *c, struct engine *e, struct monitor *m,
                struct writer *w);

/* While no take records: applies a new measurement to the null test (the
 * next take's files follow it), keeps track of confirmations. */
void align_idle(struct align *a);

/* A take started; the null test compared its first cycle at `offset`.
 * Fixes the take's alignment when it is known, else lets the take wait for
 * it (its files and its null verdict): returns 1 then (the monitor keeps
 * the take's records provisionally), else 0. */
int align_take_start(struct align *a, struct take *t, int offset);
/* While the take records: resolves a waiting take once the lag is measured
 * or confirmed (or gives up after ALIGN_GIVE_UP_S of sound); for a fixed
 * one, reports a lag that changed (never re-aligning).  `frame` is the
 * JACK frame the take has reached. */
void align_take_poll(struct align *a, struct take *t, uint64_t frame);
/* The take ends: a take still waiting keeps the offset it was compared at. */
void align_take_end(struct align *a, struct take *t);

/* The source of an alignment for reports ("measured before the take",
 * "measured in the take", "waiting", "not measured", "off"), and the
 * state while idle. */
const char *align_idle_state(const struct align *a);

#endif
