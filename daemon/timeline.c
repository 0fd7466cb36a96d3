/* timeline — places the periods of a take on JACK's frame clock.  A frame time read from JACK
 * is only an upper bound of its period's frame (a late callback reads the next cycle's), so each
 * period is held back TIMELINE_HOLD cycles and placed at the latest frame the reads that followed
 * allow, never before the end of the period placed before it; the frames between are frames JACK
 * never gave us.  Pure arithmetic, real-time safe.  Design: docs/DESIGN.md, section "The
 * real-time path and the frame of a cycle" (what JACK says, with the evidence, and the rule). */
#include "timeline.h"

void
timeline_reset(struct timeline *t, uint64_t max_gap)
{
    t->nheld = 0;
    t->placed = 0;
    t->next = 0;
    t->max_gap = max_gap;
}

/* Each read bounds the periods held before it: period k can start no later than
 *     bound(k) = min over j >= k of (read(j) - frames of periods k..j-1). */
int
timeline_add(struct timeline *t, uint64_t read, uint64_t tframe, int rolling, uint32_t nframes,
             uint32_t bytes)
{
    if (t->nheld > TIMELINE_HOLD) /* the caller did not place: keep the bound logic sound */
        return t->nheld;
    t->held[t->nheld++] = (struct timeline_period){
        .read = read,
        .bound = read,
        .tframe = tframe,
        .nframes = nframes,
        .bytes = bytes,
        .rolling = rolling != 0,
    };
    for (int k = t->nheld - 2; k >= 0; k--) {
        struct timeline_period *p = &t->held[k];
        uint64_t b = t->held[k + 1].bound;
        if (b < p->nframes)
            break; /* before the clock's start: nothing to learn */
        if (b - p->nframes >= p->bound)
            break; /* no tighter: nor are the ones before it */
        p->bound = b - p->nframes;
    }
    return t->nheld;
}

void
timeline_flag_last(struct timeline *t, uint32_t flags)
{
    if (t->nheld)
        t->held[t->nheld - 1].flags |= flags;
}

uint32_t
timeline_forget_last(struct timeline *t)
{
    if (!t->nheld)
        return 0;
    uint32_t bytes = t->held[t->nheld - 1].bytes;
    t->held[t->nheld - 1].bytes = 0;
    return bytes;
}

/* The oldest period goes at its bound, but never before the end of the period placed before it;
 * a gap longer than max_gap (a suspended machine) is not filled: the take just goes on. */
int
timeline_place(struct timeline *t, struct timeline_place *out)
{
    if (t->nheld == 0)
        return -1;
    struct timeline_period p = t->held[0];
    for (int k = 1; k < t->nheld; k++)
        t->held[k - 1] = t->held[k];
    t->nheld--;

    uint64_t frame = p.bound, gap = 0;
    if (t->placed) {
        if (frame < t->next)
            frame = t->next; /* reads that overlap: one after the other */
        gap = frame - t->next;
        if (gap > t->max_gap) {
            frame = t->next;
            gap = 0;
        }
    }
    uint64_t moved = p.read > frame ? p.read - frame : 0;
    *out = (struct timeline_place){
        .frame = frame,
        .tframe = p.rolling ? (p.tframe >= moved ? p.tframe - moved : 0) : p.tframe,
        .gap = gap,
        .nframes = p.nframes,
        .bytes = p.bytes,
        .flags = p.flags,
        .moved = moved,
    };
    t->placed = 1;
    t->next = frame + p.nframes;
    return 0;
}
