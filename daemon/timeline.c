/* timeline — placing the periods of a take on JACK's frame clock.
 *
 * What JACK says.  jack2's jack_last_frame_time(), jack_get_cycle_times()
 * and jack_frames_since_cycle_start() all read the engine's frame timer,
 * which the driver thread advances at the start of every cycle
 * (JackEngineControl::CycleIncTime), whether or not the clients finished
 * the last one.  PipeWire's JACK copies the driver's position when the
 * client's thread wakes up (cycle_run()), and the driver has moved on by
 * then too if the wake-up was late.  So the frame time a callback reads is
 * that of the newest cycle at the moment it asks.  A callback woken in
 * cycle c but scheduled only after cycle c+1 began (a loaded machine)
 * reads c+1, while its input buffers hold what its sources made in c.
 * jack2 then often runs the client again at once for c+1, which reads c+1
 * a second time.  Seen with a stamped source and SCHED_FIFO bursts above
 * jackd -R (tests/it_timeline.sh): the source played frames c in a
 * callback, the recorder downstream read c+1 for those very frames, then
 * c+1 again for the next period.  Taking each read at its word put those
 * frames a period late and, as the next read repeated it, kept every later
 * period of the take a period late: after a few xruns whole takes were
 * thousands of frames off the timeline while their files still nulled.
 *
 * The rule.  A read is an upper bound of its period's frame (the timer only
 * moves forward), and each period starts at least one period after the one
 * before it.  So period k can start no later than
 *     bound(k) = min over j >= k of (read(j) - frames of periods k..j-1),
 * and a period is placed at its bound once TIMELINE_HOLD more periods have
 * been read, but never before the end of the period placed before it.  The
 * frames between two placed periods are frames JACK never gave us (a
 * skipped cycle, or a period lost for want of room in the ring): silence in
 * every file.  A late read that a later read disproves is thus undone
 * exactly (in the tests every one was undone within two periods); a late
 * read that nothing disproves (woken in c, read c+1, and JACK then skipped
 * c+1 for us) cannot be told from a skipped cycle c through JACK's API: that
 * one period lands a period late, beside the silence, and the take is back
 * on the timeline with the next period.  A period read twice in one cycle
 * may instead hold the next cycle's audio; process.c tells, and forgets
 * its record (timeline_forget_last): lost frames.  A gap longer than
 * max_gap (a suspended machine) is not filled: the take just goes on. */
#include "timeline.h"

void
timeline_reset(struct timeline *t, uint64_t max_gap)
{
    t->nheld = 0;
    t->placed = 0;
    t->next = 0;
    t->max_gap = max_gap;
}

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
