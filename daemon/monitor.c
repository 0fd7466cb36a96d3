/* monitor — levels and the live null test, on the control thread.  It owns what the meter
 * records of the real-time thread add up to: sliding windows (meter.c), dBFS, peak holds and
 * clip counts since the take started, the take's worst residual and the alarm.  A residual next
 * to a graph change, or in a record the real-time thread marked suspect, is no evidence either
 * way; while the null fails it asks for the lag analysis.
 * Design: docs/DESIGN.md, section "The null test and metering". */
#include "monitor.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define MONITOR_QUIET_SECONDS 0.1
#define MONITOR_SOUND_DB      (-70.0f) /* a mix this loud has sound to compare */
#define MONITOR_SOUND         3.16e-4f /* ... linear */
#define MONITOR_CORR_REPORT   0.7      /* a lag worth reporting */
#define MONITOR_CORR_EXACT    0.9      /* ... and applying, when it nulls */
#define MONITOR_CORR_ALONE    0.98     /* ... or applying though it does not null */
#define MONITOR_CORR_MARGIN   0.02     /* ... when no other lag comes this close */

int
monitor_init(struct monitor *m, struct engine *e, const struct conf *c)
{
    uint64_t wf = (uint64_t)e->rate * (uint64_t)c->meter_window_ms / 1000;
    /* Records of an eighth of the window at most, so the window keeps its
     * length to within an eighth; a few more entries than it needs for the
     * shorter records at take boundaries. */
    uint32_t agg = wf / 8 < ENGINE_METER_FRAMES ? (uint32_t)(wf / 8) : ENGINE_METER_FRAMES;
    if (agg == 0)
        agg = 1;
    uint32_t cap = meter_win_entries(wf ? wf : 1, agg) + 8;
    size_t per = (size_t)cap * (sizeof(float) + sizeof(double) + sizeof(uint32_t));
    unsigned char *p;

    memset(m, 0, sizeof *m);
    m->e = e;
    m->rate = e->rate;
    m->threshold_db = (float)c->null_threshold_db;
    m->thr = (float)pow(10.0, c->null_threshold_db / 20.0);
    monitor_set_period(m, jack_get_buffer_size(e->client));
    m->win_cap = cap;
    m->mem = calloc(ENGINE_MAX_CH + 2, per);
    if (!m->mem) {
        log_error("cannot allocate the meters");
        monitor_free(m);
        return -1;
    }
    p = m->mem;
    for (int i = 0; i < ENGINE_MAX_CH + 2; i++) {
        struct meter_win *w = i < ENGINE_MAX_CH ? &m->win[i] : &m->rwin[i - ENGINE_MAX_CH];
        float *pk = (float *)(void *)p;
        double *ss = (double *)(void *)(p + cap * sizeof(float) + cap * sizeof(uint32_t));
        uint32_t *nf = (uint32_t *)(void *)(p + cap * sizeof(float));
        meter_win_init(w, wf ? wf : 1, cap, pk, ss, nf);
        p += per;
    }
    m->worst = 0.0f;
    m->worst_frame = -1;
    m->first_frame = -1;
    m->cur_offset = m->take_offset = atomic_load(&e->offset);
    lag_init(&m->lag, e);
    atomic_store(&e->meter_frames, agg);
    return 0;
}

void
monitor_set_period(struct monitor *m, uint32_t period)
{
    if (period == m->period)
        return;
    m->period = period;
    m->quiet = (uint64_t)(MONITOR_QUIET_SECONDS * m->rate / (period ? period : 64)) + 4;
}

void
monitor_free(struct monitor *m)
{
    free(m->mem);
    free(m->prov);
    lag_free(&m->lag);
    memset(m, 0, sizeof *m); /* empty windows: queries read silence */
}

void
monitor_stats_reset(struct monitor *m)
{
    m->cb_count = 0;
    m->cb_hist_n = 0;
    m->cb_sum_us = 0;
    m->cb_max_ns = 0;
    memset(m->cb_hist, 0, sizeof m->cb_hist);
    m->ring_fill_max = 0;
}

void
monitor_stats(const struct monitor *m, struct monitor_stats *out)
{
    uint64_t want = m->cb_hist_n - m->cb_hist_n / 100, seen = 0; /* 99th percentile */
    uint32_t bin = 0;

    memset(out, 0, sizeof *out);
    out->cycles = m->cb_count;
    out->ring_fill_max_pct = m->ring_fill_max / 10.0;
    if (!m->cb_count || !m->cb_hist_n)
        return;
    out->cb_mean_us = m->cb_sum_us / (double)m->cb_count;
    out->cb_max_us = m->cb_max_ns / 1000.0;
    while (bin <= MONITOR_CB_BINS && seen + m->cb_hist[bin] < want)
        seen += m->cb_hist[bin++];
    out->cb_p99_us = bin + 1.0; /* upper edge of the bin */
    if (out->cb_p99_us > out->cb_max_us)
        out->cb_p99_us = out->cb_max_us;
}

void
monitor_take_start(struct monitor *m, unsigned take, uint64_t start_frame, uint64_t lead_frames,
                   int offset, int provisional)
{
    monitor_stats_reset(m);
    m->lead_frames = lead_frames;
    m->lead_covered = 0;
    m->lead_peak = 0.0f;
    m->take = take;
    m->take_start = start_frame;
    memset(m->hold, 0, sizeof m->hold);
    memset(m->clips, 0, sizeof m->clips);
    m->worst = 0.0f;
    m->worst_frame = 0;
    m->flagged = 0;
    m->unjudged = 0;
    m->unjudged_peak = 0.0f;
    m->first_frame = -1;
    m->pending = 0;
    m->alarm = 0;
    m->take_offset = offset;
    m->nprov = 0;
    m->prov_full = 0;
    m->unverified = 0;
    m->sound_until = 0;
    m->first_sound = 0;
    m->provisional = provisional;
    if (provisional && !m->prov && !(m->prov = calloc(MONITOR_PROV, sizeof *m->prov))) {
        log_warn("cannot allocate the records kept while take %u's alignment is not known: %s; "
                 "they are judged as they come",
                 take, strerror(ENOMEM));
        m->provisional = 0;
    }
}

/* Are cycles c0..c1 close to the last graph change? */
static int
monitor_in_transient(const struct monitor *m, uint64_t c0, uint64_t c1)
{
    uint64_t g = atomic_load(&m->e->graph_cycle);
    if (g == 0)
        return 0;
    return g + m->quiet >= c0 && g <= c1 + m->quiet;
}

static void
monitor_commit(struct monitor *m)
{
    if (!m->pending)
        return;
    if (monitor_in_transient(m, m->pending_c0, m->pending_cycle)) {
        m->pending = 0;
        return;
    }
    if (m->last_cycle < m->pending_cycle + m->quiet)
        return; /* not yet sure */
    m->pending = 0;
    if (!m->flagged) {
        m->flagged = 1;
        m->first_frame = m->pending_frame;
        m->alarm = 1;
    }
}

void
monitor_take_end(struct monitor *m)
{
    /* The last periods of the take cannot wait for later ones: an offence
     * still pending counts unless a graph change is already known near it. */
    if (m->pending && !monitor_in_transient(m, m->pending_c0, m->pending_cycle))
        m->last_cycle = m->pending_cycle + m->quiet;
    monitor_commit(m);
}

/* One record of the take, outside graph changes, judged at the take's
 * offset: the take's worst residual and its first offence.  A record the
 * real-time thread compared at another offset (the take's alignment came
 * later, or the engine had not switched yet) is compared again from the lag
 * history; one the history does not hold any more is judged as it was. */
static void
monitor_judge(struct monitor *m, const struct monitor_prov *p0)
{
    struct monitor_prov p = *p0;
    int64_t rel = (int64_t)(p.frame - m->take_start);

    if (p.offset != m->take_offset) {
        float pk[2];
        uint32_t at[2];
        int got = lag_residual(&m->lag, p.frame, p.nframes, m->take_offset, m->thr, pk, p.over, at);
        if (got < 0) { /* its lag samples may have come after the last drain */
            lag_drain(&m->lag);
            got = lag_residual(&m->lag, p.frame, p.nframes, m->take_offset, m->thr, pk, p.over, at);
        }
        if (got < 0) { /* unknown at the take's offset: no verdict either way */
            m->unverified++;
            return;
        }
        int side = pk[1] > pk[0];
        p.peak = pk[side];
        p.peak_at = at[side];
    }
    if (p.peak > m->worst) {
        m->worst = p.peak;
        m->worst_frame = rel + p.peak_at;
    }
    if (!m->flagged && !m->pending && (p.over[0] >= 0 || p.over[1] >= 0)) {
        int32_t at = p.over[0] < 0           ? p.over[1]
                     : p.over[1] < 0         ? p.over[0]
                     : p.over[0] < p.over[1] ? p.over[0]
                                             : p.over[1];
        m->pending = 1;
        m->pending_c0 = p.c0;
        m->pending_cycle = p.c1;
        m->pending_frame = rel + at;
        m->pending_peak = p.peak;
    }
    monitor_commit(m);
}

void
monitor_take_resolve(struct monitor *m, int offset)
{
    m->take_offset = offset;
    m->provisional = 0;
    for (uint32_t i = 0; i < m->nprov; i++)
        monitor_judge(m, &m->prov[i]);
    m->nprov = 0;
}

void
monitor_want_lag(struct monitor *m, int level)
{
    m->want_lag = level;
}

/* Takes one record in; returns its residual peak, or 0 when it is close to
 * a graph change (connecting ports is not a failed null). */
static float
monitor_feed(struct monitor *m, const struct engine_meter *r)
{
    int in_take = m->take && r->take == m->take;
    uint64_t last = r->cycle + (r->ncycles ? r->ncycles - 1 : 0);
    int transient = r->suspect || monitor_in_transient(m, r->cycle, last);
    float peak = r->rpeak[0] > r->rpeak[1] ? r->rpeak[0] : r->rpeak[1];

    m->cb_count += r->cb_n;
    m->cb_sum_us += r->cb_sum_ns / 1000.0;
    if (r->cb_max_ns > m->cb_max_ns)
        m->cb_max_ns = r->cb_max_ns;
    for (uint32_t k = 0; k < r->ncb && k < ENGINE_METER_CB; k++) {
        uint32_t bin = r->cb[k] / 10; /* 100 ns units to 1 us bins */
        m->cb_hist[bin < MONITOR_CB_BINS ? bin : MONITOR_CB_BINS]++;
        m->cb_hist_n++;
    }
    if (r->ring_fill > m->ring_fill_max)
        m->ring_fill_max = r->ring_fill;

    m->last_cycle = last;
    for (int ch = 0; ch < ENGINE_MAX_CH; ch++) {
        meter_win_push(&m->win[ch], r->peak[ch], r->sumsq[ch], r->nframes);
        if (in_take) {
            if (r->peak[ch] > m->hold[ch])
                m->hold[ch] = r->peak[ch];
            m->clips[ch] += r->clips[ch];
        }
    }
    for (int side = 0; side < 2; side++)
        meter_win_push(&m->rwin[side], r->rpeak[side], r->rsumsq[side], r->nframes);
    if (!in_take)
        return transient ? 0.0f : peak;
    int64_t rel = (int64_t)(r->frame - m->take_start);
    if (rel >= 0 && (uint64_t)rel < m->lead_frames) {
        for (int ch = 0; ch < ENGINE_MAX_CH; ch++)
            if (r->peak[ch] > m->lead_peak)
                m->lead_peak = r->peak[ch];
        uint64_t end = (uint64_t)rel + r->nframes;
        m->lead_covered = end < m->lead_frames ? end : m->lead_frames;
    }
    if (r->suspect) {
        m->unjudged += r->nframes;
        m->unjudged_peak = peak > m->unjudged_peak ? peak : m->unjudged_peak;
    }
    if (transient)
        return 0.0f;
    struct monitor_prov p = {
        .frame = r->frame,
        .c0 = r->cycle,
        .c1 = last,
        .nframes = r->nframes,
        .offset = r->offset,
        .peak = peak,
        .peak_at = r->rpeak_at,
        .over = {r->rover[0], r->rover[1]},
    };
    if (m->provisional) {
        /* Only records near sound can have a residual at any offset. */
        int sound = 0;
        for (int k = 0; k < m->e->nreg; k++)
            sound |= r->peak[m->e->reg_ch[k]] > 0.0f;
        if (sound)
            m->sound_until = r->frame + r->nframes + ENGINE_MAX_OFFSET;
        if (sound && !m->first_sound)
            m->first_sound = r->frame;
        if (!sound && r->frame >= m->sound_until)
            return peak;
        if (m->nprov < MONITOR_PROV) {
            m->prov[m->nprov++] = p;
            return peak;
        }
        m->prov_full = 1; /* judged as it comes: the control thread gives up waiting */
    }
    monitor_judge(m, &p);
    return peak;
}

/* The lag analysis, allocated the first time it is wanted (most sessions
 * never need it).  Returns 0 or -1. */
static int
monitor_lag_alloc(struct monitor *m)
{
    if (lag_ready(&m->lag) < 0)
        return -1;
    /* The null test's offset lines start now too: an offset is only ever
     * taken from an estimate, which needs more history than they hold, so
     * they are full of real signal by the time one is applied. */
    (void)engine_tap_alloc(m->e); /* logged; the offset then stays 0 */
    return engine_lag_ring(m->e) ? 0 : -1;
}

/* Confirmations: the null passed, with sound in the mix, at the record's
 * offset (graph changes aside). */
static void
monitor_confirm(struct monitor *m, const struct engine_meter *r, float peak)
{
    float mix = r->peak[ENGINE_MIX_L] > r->peak[ENGINE_MIX_R] ? r->peak[ENGINE_MIX_L]
                                                              : r->peak[ENGINE_MIX_R];
    /* The mix well above the threshold (20 dB), the residual below it. */
    if (mix > MONITOR_SOUND && mix > 10.0f * m->thr && peak <= m->thr && r->rover[0] < 0 &&
        r->rover[1] < 0) {
        m->confirm_seq++;
        m->confirm_offset = r->offset;
    }
}

/* One estimate: kept for the report, and accepted as a measurement when,
 * shifted by its lag, the window nulls (exact), or when it correlates
 * almost perfectly, unambiguously, three times in a row at the same lag
 * (a mix that cannot null, behind a limiter, is still aligned by it). */
static void
monitor_lag_estimate(struct monitor *m)
{
    struct lag_est est;

    if (lag_estimate(&m->lag, m->thr, m->cur_offset, &est) < 0)
        return;
    m->est_run = m->est_valid && est.lag == m->est.lag ? m->est_run + 1 : 1;
    m->est = est;
    m->est_valid = est.corr > MONITOR_CORR_REPORT;
    if (!m->est_valid || est.level_db < MONITOR_SOUND_DB)
        return;
    int exact = est.resid_db < m->threshold_db && est.corr > MONITOR_CORR_EXACT;
    int correlated = est.corr > MONITOR_CORR_ALONE && est.corr2 < est.corr - MONITOR_CORR_MARGIN &&
                     m->est_run >= 3;
    if (!exact && !correlated)
        return;
    if (est.lag != m->accept.lag || !m->accept.seq)
        log_info("null: the mix lags the stems' sum by %d samples (correlation %.4f; shifted by "
                 "that the residual is %.1f dBFS%s)",
                 est.lag, est.corr, est.resid_db, exact ? ", it nulls" : "");
    m->accept.seq++;
    m->accept.lag = est.lag;
    m->accept.exact = exact;
    m->accept.corr = est.corr;
    m->accept.resid_db = est.resid_db;
}

void
monitor_update(struct monitor *m, double now)
{
    struct ring *ring = &m->e->meter_ring;
    struct engine_meter r;
    float recent = 0.0f;
    int fed = 0;

    if (m->lag.end)
        lag_drain(&m->lag); /* analysing: first, as the records below may need it */
    while (ring_read_space(ring) >= sizeof r) {
        ring_peek(ring, 0, &r, sizeof r);
        ring_consume(ring, sizeof r);
        float peak = monitor_feed(m, &r);
        monitor_commit(m);
        fed = 1;
        recent = peak > recent ? peak : recent;
        m->cur_offset = r.offset;
        if (!r.suspect && !monitor_in_transient(m, r.cycle, r.cycle + r.ncycles))
            monitor_confirm(m, &r, peak);
    }
    monitor_commit(m);

    /* Lag samples while the null fails (in what arrived since the last
     * update, graph changes aside: connecting ports one by one is no reason
     * to analyse) or the control thread asks; estimates every quarter
     * window while it waits for a take's alignment, else once a second. */
    if (fed)
        m->failing = recent > m->thr;
    int analyse = (m->failing || m->want_lag == MONITOR_LAG_ANALYSE) && monitor_lag_alloc(m) == 0;
    struct ring *lr = analyse || m->want_lag != MONITOR_LAG_OFF ? engine_lag_ring(m->e) : NULL;
    atomic_store(&m->e->lag_wanted, lr != NULL);
    if (!analyse) {
        /* Kept, not analysed: the newest MONITOR_LAG_KEEP_S only. */
        if (lr)
            lag_trim(&m->lag, (size_t)(MONITOR_LAG_KEEP_S * m->e->rate) * ENGINE_LAG_STREAMS *
                                  sizeof(float));
        lag_reset(&m->lag);
        m->est_run = 0;
        if (m->est_valid && now - m->analysed >= 1.0)
            m->est_valid = 0; /* nothing to report any more */
        return;
    }
    lag_drain(&m->lag);
    m->analysed = now;
    if (m->lag.end < m->est_next || (!m->want_lag && now - m->est_time < 1.0))
        return;
    m->est_time = now;
    m->est_next = m->lag.end + LAG_WINDOW / 4;
    monitor_lag_estimate(m);
}

void
monitor_level(const struct monitor *m, int ch, struct monitor_level *out)
{
    for (int side = 0; side < 2; side++) {
        /* A mono stem: its one channel's figures on both sides, but its
         * clipped samples counted once, on the left (sums stay right). */
        int c = m->e ? engine_source_ch(m->e, ch + side) : ch + side; /* no engine yet */
        out->peak_db[side] = meter_db(meter_win_peak(&m->win[c]));
        out->rms_db[side] = meter_db(meter_win_rms(&m->win[c]));
        out->hold_db[side] = meter_db(m->hold[c]);
        out->clips[side] = c == ch + side ? m->clips[c] : 0;
    }
}

void
monitor_null(const struct monitor *m, struct monitor_null *out)
{
    float p0 = meter_win_peak(&m->rwin[0]), p1 = meter_win_peak(&m->rwin[1]);
    float r0 = meter_win_rms(&m->rwin[0]), r1 = meter_win_rms(&m->rwin[1]);

    out->peak_db = meter_db(p0 > p1 ? p0 : p1);
    out->rms_db = meter_db(r0 > r1 ? r0 : r1);
    out->worst_db = meter_db(m->worst);
    out->worst_frame = m->take ? m->worst_frame : -1;
    out->flagged = m->flagged;
    out->first_frame = m->first_frame;
    out->unjudged = m->unjudged;
    out->unjudged_db = meter_db(m->unjudged_peak);
    /* The lag: as measured while the analysis runs; otherwise the offset
     * applied, once it was confirmed. */
    if (m->est_valid) {
        out->lag = m->est.lag;
        out->lag_valid = 1;
    } else {
        out->lag = m->cur_offset;
        out->lag_valid = m->cur_offset != 0 && m->confirm_seq && m->confirm_offset == m->cur_offset;
    }
    out->threshold_db = m->threshold_db;
    out->offset = m->cur_offset;
}

int
monitor_lead_in(const struct monitor *m, float *peak_db)
{
    *peak_db = meter_db(m->lead_peak);
    return m->lead_frames > 0 && m->lead_covered >= m->lead_frames;
}

int
monitor_take_alarm(struct monitor *m, float *peak_db, int64_t *frame)
{
    if (!m->alarm)
        return 0;
    m->alarm = 0;
    *peak_db = meter_db(m->pending_peak);
    *frame = m->first_frame;
    return 1;
}
