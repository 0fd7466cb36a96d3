/* process — the JACK process callback: the only real-time code.  Each cycle it ends and starts
 * takes, writes ONE ring record holding the period of every channel of the take, or none, places
 * the periods on JACK's frame clock (timeline.c; the frames between them become silence in every
 * file), keeps the pre-roll history, gathers the meter record and the null residual for the
 * control thread, and writes the residual and the sum to the monitor outputs when they exist.
 *
 * REAL-TIME RULES.  All of this runs on JACK's real-time thread (the freewheel callback
 * excepted): it never allocates, locks, logs, calls libsndfile or blocks, except that in
 * freewheel mode it waits for room in the ring rather than drop audio.  It talks to the other
 * threads only through lock-free SPSC rings (ring.c) and C11 atomics; the memory it touches is
 * allocated, touched and mlock()ed before activation or before its pointer is published with a
 * release store; denormals are flushed to zero.
 * Design: docs/DESIGN.md, section "The real-time path and the frame of a cycle". */
#include <math.h>
#include <sched.h>
#include <time.h>
#include <string.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "process.h"

#include "engine.h"
#include "meter.h"

#include <jack/thread.h> /* after jack.h, which it needs and does not include */

/* Longest clock jump filled with silence: beyond it (a suspended machine,
 * a stopped server) the take just continues. */
#define PROCESS_MAX_GAP_SECONDS 60
/* Longest wait for ring space in freewheel mode before dropping. */
#define PROCESS_FREEWHEEL_WAIT_MS 10000

static void
process_event(struct engine *e, const struct engine_event *ev)
{
    /* Room for both events of a take is checked before it starts. */
    ring_put(&e->event_ring, 0, ev, sizeof *ev);
    ring_publish(&e->event_ring, sizeof *ev);
}

/* The take's first record, which starts the files at frame f0: how much of
 * the pre-roll goes before it (what the history holds contiguously up to
 * f0, at most [capture] preroll_seconds).  With some, the history is the
 * writer's until it has copied it out (hist.busy), stored before the
 * record's publication.  The take's frame count includes it. */
static uint32_t
process_preroll(struct engine *e, uint64_t f0)
{
    uint64_t pre = 0;

    e->rt_first_rec = 0;
    e->rt_hist_frozen = 0;
    if (e->rt_pre_end && f0 <= e->rt_pre_end && e->rt_pre_end - f0 < e->rt_pre_len) {
        pre = e->rt_pre_len - (e->rt_pre_end - f0);
        pre = pre < e->hist.frames ? pre : e->hist.frames;
    }
    if (pre) {
        atomic_store_explicit(&e->hist.busy, 1, memory_order_release);
        atomic_fetch_add_explicit(&e->take_frames, pre, memory_order_relaxed);
    }
    return (uint32_t)pre;
}

/* Every registered channel's period into the pre-roll history, at its
 * frames of the JACK clock; the contiguous stretch it holds grows, or starts
 * again after a jump of the clock (or a pause while it was the writer's). */
static void
process_history(struct engine *e, const float *const *buf, jack_nframes_t nframes)
{
    struct engine_hist *h = &e->hist;
    uint32_t at = (uint32_t)(e->rt_clock % h->cap);
    uint32_t k = h->cap - at < nframes ? h->cap - at : nframes;

    if (e->rt_hist_end != e->rt_clock)
        e->rt_hist_len = 0;
    for (int r = 0; r < e->nreg; r++) {
        float *row = h->buf + (size_t)r * h->cap;
        const float *x = buf[e->reg_ch[r]];
        memcpy(row + at, x, k * sizeof *x);
        memcpy(row, x + k, (nframes - k) * sizeof *x);
    }
    e->rt_hist_end = e->rt_clock + nframes;
    e->rt_hist_len = e->rt_hist_len + nframes < h->cap ? e->rt_hist_len + nframes : h->cap;
}

/* Places the oldest held period (timeline.c) and publishes its record with
 * the frames JACK never gave us before it; a period that found no room in
 * the ring is all dropped frames. */
static void
process_place(struct engine *e)
{
    struct timeline_place p;

    if (timeline_place(&e->rt_tl, &p) < 0)
        return;
    uint64_t lost = p.gap + (p.bytes ? 0 : p.nframes);
    e->rt_pending += lost;
    atomic_fetch_add_explicit(&e->take_frames, p.gap + p.nframes, memory_order_relaxed);
    if (lost)
        atomic_fetch_add_explicit(&e->take_dropped, lost, memory_order_relaxed);
    /* A late read: JACK had begun the next cycle before we read this one,
     * and jack2 runs the sources again for it (ENGINE_REC_TORN). */
    if (p.moved) {
        e->rt_late_reads++;
        p.flags |= ENGINE_REC_TORN;
    }
    if (!p.bytes)
        return;
    uint32_t pre = e->rt_first_rec ? process_preroll(e, p.frame - e->rt_pending) : 0;
    struct engine_rec h = {
        .magic = ENGINE_REC_MAGIC,
        .take = e->rt_cur,
        .nframes = p.nframes,
        .nch = e->plan_nch,
        .frame = p.frame,
        .tframe = p.tframe,
        .dropped_before = e->rt_pending,
        .flags = p.flags,
        .preroll = pre,
    };
    ring_put(&e->ring, 0, &h, sizeof h); /* the oldest held record starts at the head */
    ring_publish(&e->ring, p.bytes);
    e->rt_held_bytes -= p.bytes;
    e->rt_pending = 0;
}

/* Read twice in one JACK cycle: woken late for the cycle before (a stale
 * wake-up, after the process was stopped or starved), the callback read
 * this cycle's frame time, and JACK then ran it again for this cycle.  The
 * first period is placed one period back (timeline.c), which is right when
 * the sources had not yet run for this cycle when it was read (jack2 then
 * hands it the cycle before's audio); when they had (a source that writes
 * and signals late), it holds this cycle's audio, and the cycle before is
 * lost.  The evidence: a channel whose first PROCESS_SAME_MIN frames in the
 * held period are this period's, bit for bit, and not all one value
 * (silence and DC repeat by themselves).  Then the held period goes as
 * lost frames, silence in every file.  Only in the cycle after a repeated
 * read, which only a stall makes: the compare costs a read of 16 frames
 * per channel.  A signal that repeats every period (a tone whose cycle
 * divides the period) looks the same as a copy: that one period is then
 * dropped, and reported, where it would have been right. */
#define PROCESS_SAME_MIN 16
static int
process_repeats(struct engine *e, const float *const *buf, jack_nframes_t nframes)
{
    const struct timeline *t = &e->rt_tl;
    if (!t->nheld || t->held[t->nheld - 1].bytes == 0 || t->held[t->nheld - 1].nframes != nframes)
        return 0;
    uint32_t n = nframes < PROCESS_SAME_MIN ? nframes : PROCESS_SAME_MIN;
    size_t bytes = (size_t)nframes * sizeof(float), len = n * sizeof(float);
    size_t off = e->rt_held_bytes - t->held[t->nheld - 1].bytes + sizeof(struct engine_rec);

    for (uint32_t i = 0; i < e->plan_nch; i++, off += bytes) {
        const float *now = buf[e->plan_ch[i]];
        const unsigned char *p;
        size_t k = ring_unpublished(&e->ring, off, len, &p);
        if (memcmp(p, now, k) || memcmp(e->ring.buf, (const unsigned char *)now + k, len - k))
            continue;
        for (uint32_t j = 1; j < n; j++)
            if (now[j] != now[0])
                return 1;
    }
    return 0;
}

/* This period of every channel of the take goes into the ring after the
 * records held there (its header is written when it is placed), or, with no
 * room, is held as lost. */
static void
process_push(struct engine *e, const float *const *buf, jack_nframes_t nframes, uint64_t tframe,
             int rolling, int again)
{
    if (again && process_repeats(e, buf, nframes)) {
        e->rt_held_bytes -= timeline_forget_last(&e->rt_tl);
        e->rt_repeats++;
    }
    size_t bytes = (size_t)nframes * sizeof(float);
    size_t need = sizeof(struct engine_rec) + bytes * e->plan_nch;
    size_t at = e->rt_held_bytes;

    /* In freewheel JACK is not real time, and a bounce must not lose audio:
     * wait for the writer to make room (it wakes us as it frees space). */
    if (ring_write_space(&e->ring) < at + need &&
        (!atomic_load_explicit(&e->freewheeling, memory_order_relaxed) ||
         ring_wait_space(&e->ring, at + need, PROCESS_FREEWHEEL_WAIT_MS) < 0)) {
        need = 0;
    } else {
        size_t off = at + sizeof(struct engine_rec);
        for (uint32_t i = 0; i < e->plan_nch; i++, off += bytes)
            ring_put(&e->ring, off, buf[e->plan_ch[i]], bytes);
        e->rt_held_bytes += need;
    }
    if (timeline_add(&e->rt_tl, e->rt_clock, tframe, rolling, nframes, (uint32_t)need) >
        TIMELINE_HOLD)
        process_place(e);
    /* the next period's record, while we are idle */
    ring_prefetch(&e->ring, e->rt_held_bytes, sizeof(struct engine_rec) + bytes * e->plan_nch);
}

/* Channel ch's samples [off, off+n) delayed by its latency compensation
 * (into `out`), or the port buffer itself when it has none. */
static const float *
process_comp(struct engine *e, int ch, const float *const *buf, uint32_t off, uint32_t n,
             float *out)
{
    uint32_t d = atomic_load_explicit(&e->comp[ch], memory_order_relaxed);
    const float *x = buf[ch] + off;
    float *dl = atomic_load_explicit(&e->cdl[ch], memory_order_acquire);

    if (d == 0 || !dl)
        return x;
    if (d != e->clen[ch]) { /* changed: the graph changed, a transient anyway */
        e->clen[ch] = d;
        e->cpos[ch] = 0;
    }
    uint32_t p = e->cpos[ch];
    for (uint32_t i = 0; i < n; i++) {
        out[i] = dl[p];
        dl[p] = x[i];
        p = p + 1 == d ? 0 : p + 1;
    }
    e->cpos[ch] = p;
    return out;
}

/* The tap lines (see ENGINE_TAP): n frames in at position p, or out. */
static void
process_tap_write(float *line, uint32_t p, const float *x, uint32_t n)
{
    uint32_t k = ENGINE_TAP - p < n ? ENGINE_TAP - p : n;
    memcpy(line + p, x, k * sizeof *x);
    memcpy(line, x + k, (n - k) * sizeof *x);
}

static void
process_tap_read(const float *line, uint32_t p, float *y, uint32_t n)
{
    uint32_t k = ENGINE_TAP - p < n ? ENGINE_TAP - p : n;
    memcpy(y, line + p, k * sizeof *y);
    memcpy(y + k, line, (n - k) * sizeof *y);
}

/* Residual of one side for frames [off, off+n) of the period: the stems'
 * sum (in stem order, as a float mix bus adds) minus the mix, every channel
 * aligned by its capture latency, the sum delayed by the offset (or the
 * mix by -offset) through the tap lines.  Fills `sum` and, unless NULL,
 * `mixout` (both before the offset) for the lag analysis; the period starts
 * `at` frames into the meter record. */
static void
process_residual(struct engine *e, const float *const *buf, int side, uint32_t off, uint32_t n,
                 uint32_t at, float *tap, float *sum, float *mixout, float *cpeak)
{
    struct engine_meter *m = &e->rt_meter;
    float mixbuf[ENGINE_CHUNK], xbuf[ENGINE_CHUNK], dbuf[ENGINE_CHUNK], r[ENGINE_CHUNK];
    const float *mix = process_comp(e, ENGINE_MIX_L + side, buf, off, n, mixbuf);
    const float *a = sum, *b = mix;
    float peak, ss;

    if (e->nstems == 0)
        memset(sum, 0, n * sizeof *sum);
    for (int s = 0; s < e->nstems; s++) {
        const float *x = process_comp(e, e->stem_ch[s] + side, buf, off, n, xbuf);
        if (s == 0)
            memcpy(sum, x, n * sizeof *sum); /* 0 + x, without the pass */
        else
            meter_add(sum, x, n);
    }
    if (mixout)
        memcpy(mixout, mix, n * sizeof *mixout);
    if (tap) { /* written first: an offset below n reads this very chunk */
        uint32_t p = (e->rt_tap_pos + off) & (ENGINE_TAP - 1);
        float *ls = tap + (size_t)side * ENGINE_TAP, *lm = tap + (size_t)(2 + side) * ENGINE_TAP;
        int32_t o = e->rt_offset;
        process_tap_write(ls, p, sum, n);
        process_tap_write(lm, p, mix, n);
        if (o > 0) {
            process_tap_read(ls, (p - (uint32_t)o) & (ENGINE_TAP - 1), dbuf, n);
            a = dbuf;
        } else if (o < 0) {
            process_tap_read(lm, (p - (uint32_t)-o) & (ENGINE_TAP - 1), dbuf, n);
            b = dbuf;
        }
    }
    meter_sub(r, a, b, n);
    if (e->rt_out[ENGINE_OUT_RES_L]) { /* [monitor] outputs: what the null test compares */
        memcpy(e->rt_out[ENGINE_OUT_RES_L + side] + off, r, n * sizeof *r);
        memcpy(e->rt_out[ENGINE_OUT_SUM_L + side] + off, a, n * sizeof *a);
    }
    meter_block(r, n, &peak, &ss);
    if (peak > *cpeak)
        *cpeak = peak;
    m->rsumsq[side] += ss;
    if (m->rover[side] < 0 && peak > e->null_thr) {
        uint32_t i = 0;
        while (fabsf(r[i]) <= e->null_thr)
            i++;
        m->rover[side] = (int32_t)(at + off + i);
    }
}

/* From this cycle on, the next frames of the null test are no evidence:
 * the latency and offset lines hold audio from before and after a jump of
 * the clock (or a torn cycle) side by side for as long as they reach. */
static void
process_suspect(struct engine *e, jack_nframes_t nframes)
{
    uint64_t reach =
        (uint64_t)nframes + (uint64_t)(e->rt_offset < 0 ? -e->rt_offset : e->rt_offset);
    uint32_t comp = 0;
    for (int k = 0; k < e->nreg; k++) {
        uint32_t d = atomic_load_explicit(&e->comp[e->reg_ch[k]], memory_order_relaxed);
        comp = d > comp ? d : comp;
    }
    reach += comp;
    if (reach > e->rt_suspect)
        e->rt_suspect = reach;
}

/* Hands the meter record over.  When the ring is full the record stays and
 * keeps growing, unless `force` (a take boundary): then it is dropped. */
static void
process_meter_flush(struct engine *e, int force)
{
    struct engine_meter *m = &e->rt_meter;

    if (!m->ncycles)
        return;
    /* The ring is only looked at while a take records (the control thread
     * may allocate it again in between: a new sample rate). */
    m->ring_fill = e->rt_fill_max ? (uint32_t)(e->rt_fill_max * 1000 / e->ring.size) : 0;
    if (ring_write_space(&e->meter_ring) >= sizeof *m) {
        ring_put(&e->meter_ring, 0, m, sizeof *m);
        ring_publish(&e->meter_ring, sizeof *m);
    } else if (!force) {
        return;
    }
    m->ncycles = 0;
    e->rt_fill_max = 0;
}

/* Meter figures and the null residual of this period, gathered into the
 * meter record; lag samples for the control thread while it asks for them
 * (a full lag ring drops them, never audio). */
static void
process_meter(struct engine *e, const float *const *buf, jack_nframes_t nframes)
{
    struct engine_meter *m = &e->rt_meter;
    float sum[2][ENGINE_CHUNK], mixc[2][ENGINE_CHUNK], cpeak[2] = {0.0f, 0.0f};
    struct ring *lr = atomic_load_explicit(&e->lag_wanted, memory_order_relaxed)
                          ? atomic_load_explicit(&e->lag_ring, memory_order_acquire)
                          : NULL;
    float *tap = e->rt_tap;
    size_t blk = nframes * sizeof(float);
    size_t lag_bytes = sizeof(struct engine_lag_rec) + ENGINE_LAG_STREAMS * blk;
    uint64_t end = m->frame + m->nframes;

    if (m->ncycles && (m->take != e->rt_cur || e->rt_clock != end || m->offset != e->rt_offset ||
                       (m->frame < e->rt_lead_end && end + nframes > e->rt_lead_end)))
        process_meter_flush(e, 1);
    if (!m->ncycles) {
        memset(m, 0, sizeof *m);
        m->cycle = atomic_load_explicit(&e->cycles, memory_order_relaxed);
        m->frame = e->rt_clock;
        m->take = e->rt_cur;
        m->offset = e->rt_offset;
        m->rover[0] = m->rover[1] = -1;
    }
    uint32_t at = m->nframes;
    for (int k = 0; k < e->nreg; k++) {
        int ch = e->reg_ch[k];
        float p, ss;
        m->clips[ch] += meter_block(buf[ch], nframes, &p, &ss);
        m->peak[ch] = p > m->peak[ch] ? p : m->peak[ch];
        m->sumsq[ch] += ss;
    }
    /* A full lag ring loses lag samples, never audio, and never waits, not
     * even in freewheel: the control thread drains it every 100 ms, so a
     * bounce waiting for it would crawl at a few times real time (the
     * analysis starts afresh after the gap). */
    if (lr && ring_write_space(lr) < lag_bytes)
        lr = NULL;
    if (lr) {
        struct engine_lag_rec h = {.frame = e->rt_clock, .nframes = nframes};
        ring_put(lr, 0, &h, sizeof h);
    }
    for (uint32_t off = 0; off < nframes; off += ENGINE_CHUNK) {
        uint32_t n = nframes - off < ENGINE_CHUNK ? nframes - off : ENGINE_CHUNK;
        process_residual(e, buf, 0, off, n, at, tap, sum[0], lr ? mixc[0] : NULL, &cpeak[0]);
        process_residual(e, buf, 1, off, n, at, tap, sum[1], lr ? mixc[1] : NULL, &cpeak[1]);
        if (lr) {
            size_t lat = sizeof(struct engine_lag_rec) + off * sizeof(float);
            ring_put(lr, lat, sum[0], n * sizeof(float));
            ring_put(lr, lat + blk, sum[1], n * sizeof(float));
            ring_put(lr, lat + 2 * blk, mixc[0], n * sizeof(float));
            ring_put(lr, lat + 3 * blk, mixc[1], n * sizeof(float));
        }
    }
    e->rt_tap_pos = (e->rt_tap_pos + nframes) & (ENGINE_TAP - 1);
    if (lr)
        ring_publish(lr, lag_bytes);
    float was = m->rpeak[0] > m->rpeak[1] ? m->rpeak[0] : m->rpeak[1];
    if (cpeak[0] > was || cpeak[1] > was)
        m->rpeak_at = at;
    for (int side = 0; side < 2; side++)
        m->rpeak[side] = cpeak[side] > m->rpeak[side] ? cpeak[side] : m->rpeak[side];

    uint32_t ns = e->rt_cb_ns;
    if (ns) {
        m->cb_n++;
        m->cb_sum_ns += ns;
        m->cb_max_ns = ns > m->cb_max_ns ? ns : m->cb_max_ns;
        if (m->ncb < ENGINE_METER_CB)
            m->cb[m->ncb++] = (uint16_t)(ns / 100 < UINT16_MAX ? ns / 100 : UINT16_MAX);
    }
    if (e->rt_cur) { /* per mille at the flush */
        size_t fill = ring_read_space(&e->ring);
        e->rt_fill_max = fill > e->rt_fill_max ? fill : e->rt_fill_max;
    }
    /* JACK began the next cycle while this one's inputs were read: jack2
     * runs the graph again for it while a late client still reads, so the
     * sources may have written parts of the next cycle into our inputs. */
    if (jack_last_frame_time(e->client) != e->rt_last) {
        atomic_fetch_add_explicit(&e->torn_cycles, 1, memory_order_relaxed);
        if (e->rt_cur)
            timeline_flag_last(&e->rt_tl, ENGINE_REC_TORN);
        process_suspect(e, nframes);
    }
    if (e->rt_suspect) {
        uint64_t k = e->rt_suspect < nframes ? e->rt_suspect : nframes;
        m->suspect += (uint32_t)k;
        e->rt_suspect -= k;
    }
    m->nframes += nframes;
    m->ncycles++;
    if (m->nframes >= atomic_load_explicit(&e->meter_frames, memory_order_relaxed) ||
        m->ncycles >= ENGINE_METER_CB)
        process_meter_flush(e, 0);
}

static void
process_end_take(struct engine *e, uint32_t reason)
{
    while (e->rt_tl.nheld)
        process_place(e);
    struct engine_event ev = {
        .type = ENGINE_EV_END,
        .reason = reason,
        .take = e->rt_cur,
        .frames = atomic_load_explicit(&e->take_frames, memory_order_relaxed),
        .dropped = atomic_load_explicit(&e->take_dropped, memory_order_relaxed),
        .tail_dropped = e->rt_pending,
        .late_reads = e->rt_late_reads,
        .repeats = e->rt_repeats,
    };
    process_meter_flush(e, 1); /* the take's last figures before its end */
    process_event(e, &ev);
    e->rt_hist_frozen = 0; /* no record placed: no pre-roll handed over */
    e->rt_first_rec = 0;
    e->rt_cur = 0;
    e->rt_pending = 0;
    e->rt_lead_end = 0;
    atomic_store_explicit(&e->rt_take, 0, memory_order_release);
}

static void
process_start_take(struct engine *e, const jack_position_t *pos, int manual)
{
    if (ring_write_space(&e->event_ring) < 2 * sizeof(struct engine_event))
        return; /* the control thread is behind: start next cycle */
    unsigned id = atomic_exchange_explicit(&e->next_take, 0, memory_order_acq_rel);
    if (!id)
        return; /* nothing prepared (yet) */
    struct engine_event ev = {
        .type = ENGINE_EV_START,
        .take = id,
        .frame = e->rt_clock,
        .tframe = pos->frame,
        .offset = e->rt_offset, /* what the take's first cycle gets */
    };
    if ((pos->valid & JackPositionBBT) && pos->beats_per_minute > 0.0)
        ev.bar_frames =
            (uint32_t)(pos->beats_per_bar * 60.0 / pos->beats_per_minute * (double)pos->frame_rate);
    e->rt_cur = id;
    e->rt_pending = 0;
    /* The pre-roll of a take started by hand (one that follows the
     * transport starts where it rolls): what the history holds up to this
     * cycle, unless the writer still copies the last take's out of it. */
    e->rt_first_rec = 1;
    e->rt_pre_end = 0;
    if (manual && e->hist.buf && !atomic_load_explicit(&e->hist.busy, memory_order_acquire) &&
        e->rt_hist_end == e->rt_clock && e->rt_hist_len) {
        e->rt_pre_end = e->rt_hist_end;
        e->rt_pre_len = e->rt_hist_len;
        e->rt_hist_frozen = 1;
        e->rt_hist_limit = e->rt_pre_end + (e->hist.cap - e->hist.frames - ENGINE_HIST_MARGIN);
    }
    uint32_t lead = atomic_load_explicit(&e->lead_frames, memory_order_relaxed);
    e->rt_lead_end = e->rt_clock + (lead            ? lead
                                    : ev.bar_frames ? ev.bar_frames
                                                    : ENGINE_DEFAULT_BAR_S * e->rate);
    timeline_reset(&e->rt_tl, (uint64_t)e->rate * PROCESS_MAX_GAP_SECONDS);
    e->rt_held_bytes = 0;
    e->rt_late_reads = 0;
    e->rt_repeats = 0;
    atomic_store_explicit(&e->take_frames, 0, memory_order_relaxed);
    atomic_store_explicit(&e->take_dropped, 0, memory_order_relaxed);
    atomic_store_explicit(&e->take_start, e->rt_clock, memory_order_relaxed);
    atomic_store_explicit(&e->rt_take, id, memory_order_release);
    process_event(e, &ev);
}

/* One JACK cycle: the 64-bit clock and the transport, the take's end and start, its ring
 * record, the meter record (docs/DESIGN.md, "Each cycle"). */
static int
process_cycle(jack_nframes_t nframes, void *arg)
{
    struct engine *e = arg;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0); /* vDSO: no system call */
    jack_nframes_t now = jack_last_frame_time(e->client);
    jack_position_t pos;
    int follow = atomic_load_explicit(&e->follow, memory_order_relaxed);
    jack_transport_state_t ts = jack_transport_query(e->client, &pos);
    int rolling = ts == JackTransportRolling;

    /* JACK's frame time is 32 bits and wraps within a day at 48 kHz. */
    int had_cycle = e->rt_clock_valid;
    /* JACK ran us twice in this cycle (never in freewheel: the graph runs
     * through before the next cycle begins) */
    int again = had_cycle && now == e->rt_last &&
                !atomic_load_explicit(&e->freewheeling, memory_order_relaxed);
    e->rt_clock = e->rt_clock_valid ? e->rt_clock + (uint32_t)(now - e->rt_last) : now;
    e->rt_last = now;
    e->rt_clock_valid = 1;
    /* The null test's offset, once per cycle (the take that starts in this
     * cycle is told which). */
    e->rt_tap = atomic_load_explicit(&e->tap, memory_order_acquire);
    e->rt_offset = e->rt_tap ? atomic_load_explicit(&e->offset, memory_order_relaxed) : 0;
    /* A jump of the clock: cycles JACK never ran for us, or a late read
     * (timeline.h) whose inputs the sources may already be rewriting.  The
     * null test's lines now hold audio from before the jump beside audio
     * from after it, so the residual next to it is no evidence of a broken
     * mix; the meter record says so itself (a single "last graph change"
     * would be overwritten by the next xrun before the control thread
     * looks). */
    if (had_cycle && e->rt_clock != e->rt_cnext)
        process_suspect(e, nframes);

    /* A relocate is a jump of the transport that the frame clock did not
     * make too: after an xrun both jumped, and the take goes on. */
    int relocated =
        rolling && e->rt_rolling && pos.frame != e->rt_tnext + (e->rt_clock - e->rt_cnext);
    /* A period at another rate than the take's never goes into its files. */
    int rate_ok = atomic_load_explicit(&e->srate, memory_order_relaxed) ==
                  atomic_load_explicit(&e->arate, memory_order_relaxed);
    if (e->rt_cur) {
        int stop = atomic_exchange_explicit(&e->stop_req, 0, memory_order_acq_rel);
        if (!rate_ok)
            process_end_take(e, ENGINE_END_RATE);
        else if (stop)
            process_end_take(e, ENGINE_END_STOP);
        else if (follow && (relocated || ts == JackTransportStarting)) /* JACK: a locate */
            process_end_take(e, ENGINE_END_RELOCATE);
        else if (follow && !rolling)
            process_end_take(e, ENGINE_END_TRANSPORT);
    }
    if (!e->rt_cur && rate_ok) {
        int start = atomic_load_explicit(&e->start_req, memory_order_acquire);
        if (start || (follow && rolling)) {
            process_start_take(e, &pos, start);
            if (e->rt_cur && start)
                atomic_store_explicit(&e->start_req, 0, memory_order_release);
        }
    }
    e->rt_rolling = rolling;
    e->rt_tnext = pos.frame + nframes;
    e->rt_cnext = e->rt_clock + nframes;
    /* Each port's buffer once per cycle (registered ports only). */
    const float *buf[ENGINE_MAX_CH];
    for (int k = 0; k < e->nreg; k++)
        buf[e->reg_ch[k]] = jack_port_get_buffer(e->port[e->reg_ch[k]], nframes);
    for (int k = 0; k < e->nmono; k++) /* a mono stem's R slot: its one port (engine.h) */
        buf[e->mono_ch[k] + 1] = buf[e->mono_ch[k]];
    for (int k = 0; k < ENGINE_NOUT; k++)
        e->rt_out[k] = e->out[k] ? jack_port_get_buffer(e->out[k], nframes) : NULL;
    if (e->rt_cur)
        process_push(e, buf, nframes, pos.frame, rolling, again);
    if (!rate_ok)
        e->rt_hist_len = 0; /* the pre-roll never spans two rates */
    else if (e->hist.buf &&
             ((!e->rt_hist_frozen && !atomic_load_explicit(&e->hist.busy, memory_order_acquire)) ||
              e->rt_clock + nframes <= e->rt_hist_limit))
        process_history(e, buf, nframes);
    process_meter(e, buf, nframes);
    atomic_fetch_add_explicit(&e->cycles, 1, memory_order_release);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    e->rt_cb_ns = (uint32_t)((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec));
    return 0;
}

static void
process_thread_init(void *arg)
{
    (void)arg;
#if defined(__SSE__) || defined(__x86_64__)
    /* Flush-to-zero and denormals-are-zero on the real-time thread. */
    _mm_setcsr(_mm_getcsr() | 0x8040);
#endif
}

static int
process_xrun(void *arg)
{
    struct engine *e = arg;
    atomic_fetch_add_explicit(&e->xruns, 1, memory_order_relaxed);
    return 0;
}

/* Freewheel starts or ends (jack2 calls this on its notification thread,
 * after it took real-time scheduling away from our process thread, so that
 * a runaway graph cannot lock the machine up).  Our callback never spins:
 * when the writer is behind it sleeps on the ring's bell.  So it takes real
 * time back for the bounce: as a normal thread its wake-ups in the chain of
 * clients waited for the disk writer's time slices (1024 frames, 18
 * channels: 158-178x real time, real time again: 206-210x).  JACK gives it
 * back at the end of freewheel itself.  Not with a server that is not real
 * time (its priority -1, read at activation: JACK says -1 during freewheel). */
static void
process_freewheel(int starting, void *arg)
{
    struct engine *e = arg;
    atomic_store_explicit(&e->freewheeling, starting, memory_order_relaxed);
    int prio = atomic_load_explicit(&e->rt_prio, memory_order_relaxed);
    if (starting && prio > 0)
        jack_acquire_real_time_scheduling(jack_client_thread_id(e->client), prio);
}

int
process_install(struct engine *e)
{
    if (jack_set_process_callback(e->client, process_cycle, e) ||
        jack_set_thread_init_callback(e->client, process_thread_init, e) ||
        jack_set_xrun_callback(e->client, process_xrun, e) ||
        jack_set_freewheel_callback(e->client, process_freewheel, e))
        return -1;
    return 0;
}
