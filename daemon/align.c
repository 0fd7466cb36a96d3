/* align — when a measured lag of the mix is applied ([mix] auto_offset), on the control thread:
 * to the null test while idle, to a take fixed at its start or at its first measurement
 * (its files and null verdict wait for it, up to ALIGN_GIVE_UP_S of sound), and never changed in
 * the middle of a take: a different lag measured then is reported, not applied.
 * Design: docs/DESIGN.md, section "Alignment of the mix and lag measurement". */
#include "align.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

#define ALIGN_GIVE_UP_S 3

void
align_init(struct align *a, const struct conf *c, struct engine *e, struct monitor *m,
           struct writer *w)
{
    a->on = c->mix_auto_offset;
    a->offset = c->mix_offset_frames;
    a->known = 0;
    a->graph = atomic_load(&e->our_graph);
    a->accept_seen = m->accept.seq;
    a->confirm_seen = m->confirm_seq;
    a->e = e;
    a->m = m;
    a->w = w;
}

/* Our ports' connections changed: what was known may not hold. */
static void
align_check_graph(struct align *a)
{
    unsigned g = atomic_load(&a->e->our_graph);
    if (g != a->graph) {
        a->graph = g;
        a->known = 0;
    }
}

void
align_idle(struct align *a)
{
    struct monitor *m = a->m;

    if (!a->on)
        return;
    align_check_graph(a);
    if (m->confirm_seq != a->confirm_seen) {
        a->confirm_seen = m->confirm_seq;
        if (m->confirm_offset == a->offset)
            a->known = 1;
    }
    /* Until the lag is known the lag history keeps running, so that a
     * take starting now can be judged at the lag measured in it, its first
     * periods included (they compare with the stems' sum before it). */
    monitor_want_lag(m, a->known ? MONITOR_LAG_OFF : MONITOR_LAG_KEEP);
    if (m->accept.seq == a->accept_seen)
        return;
    a->accept_seen = m->accept.seq;
    if (m->accept.lag != a->offset) {
        if (engine_set_offset(a->e, m->accept.lag) < 0)
            return;
        log_info("the mix lags the stems by %d samples: the null test and the next takes' "
                 "files are aligned by it",
                 m->accept.lag);
        a->offset = m->accept.lag;
    }
    a->known = 1;
    monitor_want_lag(m, MONITOR_LAG_OFF);
}

static void
align_record(struct take *t, const struct monitor_accept *acc)
{
    t->align_measured = 1;
    t->align_exact = acc->exact;
    t->align_corr = acc->corr;
    t->align_resid_db = acc->resid_db;
}

int
align_take_start(struct align *a, struct take *t, int offset)
{
    t->align_offset = offset;
    t->align_changed = 0;
    t->align_measured = 0;
    t->align_waiting = 0;
    if (!a->on) {
        t->align_source = "off";
        return 0;
    }
    align_check_graph(a);
    a->accept_seen = a->m->accept.seq;
    a->confirm_seen = a->m->confirm_seq;
    if (a->known && offset == a->offset && writer_align(a->w, t, offset) == 0) {
        t->align_source = "measured before the take";
        if (a->m->accept.seq && a->m->accept.lag == offset)
            align_record(t, &a->m->accept);
        return 0;
    }
    t->align_source = "waiting";
    t->align_waiting = 1;
    writer_align_hint(a->w, t, offset);
    monitor_want_lag(a->m, MONITOR_LAG_KEEP);
    return 1;
}

/* The take's alignment is `offset` from now on. */
static void
align_resolve(struct align *a, struct take *t, int offset, const char *source)
{
    if (offset != t->align_offset) {
        if (writer_align(a->w, t, offset) < 0) {
            offset = t->align_offset; /* the files went on with it: so does the null test */
            source = "not measured";
            log_warn("take %d: the mix's lag was measured only after the capture ring had half "
                     "filled; the take keeps the offset %d",
                     t->number, offset);
        } else if (engine_set_offset(a->e, offset) < 0) {
            log_warn("take %d: the null test cannot apply the offset %d; the files are shifted "
                     "by it all the same",
                     t->number, offset);
        } else {
            a->offset = offset;
            a->known = 1;
        }
    } else if (writer_align(a->w, t, offset) < 0) {
        log_warn("take %d: its files went on with another offset than %d", t->number, offset);
    }
    if (offset == a->offset && strcmp(source, "measured in the take") == 0)
        a->known = 1;
    t->align_offset = offset;
    t->align_source = source;
    t->align_waiting = 0;
    monitor_take_resolve(a->m, offset);
    log_info("take %d: the mix is aligned by %d samples (%s)", t->number, offset, source);
}

void
align_take_poll(struct align *a, struct take *t, uint64_t frame)
{
    struct monitor *m = a->m;

    if (!a->on)
        return;
    /* Lag samples until the take's records come at its offset. */
    monitor_want_lag(m, m->cur_offset != t->align_offset ? MONITOR_LAG_ANALYSE
                        : t->align_waiting               ? MONITOR_LAG_KEEP
                                                         : MONITOR_LAG_OFF);
    if (t->align_waiting) {
        if (m->confirm_seq != a->confirm_seen && m->confirm_offset == t->align_offset) {
            align_resolve(a, t, t->align_offset, "measured in the take");
            return;
        }
        if (m->accept.seq != a->accept_seen) {
            a->accept_seen = m->accept.seq;
            align_record(t, &m->accept);
            align_resolve(a, t, m->accept.lag, "measured in the take");
            return;
        }
        a->confirm_seen = m->confirm_seq;
        uint64_t rate = a->e->rate;
        if (m->prov_full || (m->first_sound && frame > m->first_sound + ALIGN_GIVE_UP_S * rate)) {
            log_warn("take %d: the mix's lag could not be measured in %d s of sound; the take "
                     "keeps the offset %d",
                     t->number, ALIGN_GIVE_UP_S, t->align_offset);
            align_resolve(a, t, t->align_offset, "not measured");
        }
        return;
    }
    /* Until the lag is known the lag history keeps running, so that a
     * take starting now can be judged at the lag measured in it, its first
     * periods included (they compare with the stems' sum before it). */
    monitor_want_lag(m, a->known ? MONITOR_LAG_OFF : MONITOR_LAG_KEEP);
    if (m->accept.seq == a->accept_seen)
        return;
    a->accept_seen = m->accept.seq;
    if (m->accept.lag != t->align_offset && !t->align_changed) {
        t->align_changed = 1;
        t->align_changed_to = m->accept.lag;
        log_warn("take %d: the mix's lag changed during the take, from %d to %d samples; the "
                 "take stays aligned by %d (its null test fails from there)",
                 t->number, t->align_offset, m->accept.lag, t->align_offset);
    }
}

void
align_take_end(struct align *a, struct take *t)
{
    if (t->align_waiting)
        align_resolve(a, t, t->align_offset, "not measured");
    monitor_want_lag(a->m, MONITOR_LAG_OFF);
}

const char *
align_idle_state(const struct align *a)
{
    return !a->on ? "off" : a->known ? "measured" : "not measured";
}
