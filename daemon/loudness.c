/* loudness — libebur128 over one stereo or mono file's frames as the writer packs
 * them (loudness.h).  Every 100 ms of audio the momentary and short-term
 * loudness are polled for their maxima (EBU Tech 3341's 10 Hz) and all
 * figures are published; libebur128 runs in histogram mode, so a poll costs
 * the same in the first minute and the third hour.  Design: docs/DESIGN.md,
 * section "Loudness". */
#include "loudness.h"

#include <ebur128.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define LOUDNESS_CHUNK 4096  /* frames interleaved at a time */
#define LRA_BINS       10000 /* 0.01 LU from -70 to +30 LUFS */

enum { PUB_I, PUB_LRA, PUB_TPL, PUB_TPR, PUB_M, PUB_S };

static ebur128_state *
loudness_st(const struct loudness *l)
{
    return l->st;
}

static void
loudness_pub(struct loudness *l, int i, double v, double floor)
{
    float f = isfinite(v) && v > floor ? (float)v : (float)floor;
    unsigned u;

    memcpy(&u, &f, sizeof u);
    atomic_store_explicit(&l->pub[i], u, memory_order_relaxed);
}

static float
loudness_read(const struct loudness *l, int i)
{
    unsigned u = atomic_load_explicit(&l->pub[i], memory_order_relaxed);
    float f;

    memcpy(&f, &u, sizeof f);
    return f;
}

void
loudness_off(struct loudness *l)
{
    memset(l, 0, sizeof *l);
    l->max_m = l->max_s = -HUGE_VAL;
    for (int i = 0; i < 6; i++)
        loudness_pub(l, i, -HUGE_VAL, i == PUB_LRA ? 0.0 : LOUDNESS_FLOOR);
}

int
loudness_init(struct loudness *l, uint32_t rate, int nch)
{
    loudness_off(l);
    /* A mono file is one channel of weight 1 (as ffmpeg's ebur128 measures
     * it), not dual mono. */
    l->nch = nch == 1 ? 1 : 2;
    /* The momentary mode keeps 400 ms of K-weighted audio, of which each
     * poll reads the last 100 ms: short-term loudness is made here from 30
     * of those, not by libebur128 summing 3 s of audio at every poll (that
     * took a third of the time and 2.3 MB a file). */
    l->st = ebur128_init((unsigned)l->nch, rate, EBUR128_MODE_TRUE_PEAK | EBUR128_MODE_M);
    l->cap = LOUDNESS_CHUNK;
    l->frames = malloc((size_t)l->nch * l->cap * sizeof(float));
    l->st_hist = calloc(LRA_BINS, sizeof *l->st_hist);
    l->m_hist = calloc(LRA_BINS, sizeof *l->m_hist);
    l->m_energy = calloc(LRA_BINS, sizeof *l->m_energy);
    if (!l->st || !l->frames || !l->st_hist || !l->m_hist || !l->m_energy) {
        log_error("cannot start the loudness measurement: out of memory");
        loudness_free(l);
        return -1;
    }
    l->poll_frames = rate / 10 ? rate / 10 : 1;
    return 0;
}

/* EBU Tech 3342: the short-term values above -70 LUFS and within 20 LU of
 * their power mean; the range between their 10th and 95th percentiles. */
static double
loudness_lra(const struct loudness *l)
{
    double gate, lo = 0.0, hi = 0.0;
    uint64_t n = 0, seen = 0, want_lo, want_hi;
    int first, have_lo = 0;

    if (!l->st_count)
        return 0.0;
    gate = 10.0 * log10(l->st_energy / (double)l->st_count) - 20.0;
    first = (int)ceil((gate + 70.0) * 100.0);
    if (first < 0)
        first = 0;
    for (int b = first; b < LRA_BINS; b++)
        n += l->st_hist[b];
    if (!n)
        return 0.0;
    want_lo = (uint64_t)((double)(n - 1) * 0.10 + 0.5);
    want_hi = (uint64_t)((double)(n - 1) * 0.95 + 0.5);
    for (int b = first; b < LRA_BINS; b++) {
        seen += l->st_hist[b];
        if (!have_lo && seen > want_lo) {
            lo = b / 100.0 - 70.0;
            have_lo = 1;
        }
        if (seen > want_hi) {
            hi = b / 100.0 - 70.0;
            break;
        }
    }
    return hi - lo;
}

/* The bin of loudness V (>= -70 LUFS). */
static int
loudness_bin(double v)
{
    long b = lround((v + 70.0) * 100.0);
    return b < LRA_BINS ? (int)b : LRA_BINS - 1;
}

/* A gating block: momentary loudness V once 400 ms are in. */
static void
loudness_i_add(struct loudness *l, double v)
{
    if (l->nsub < 4 || v < -70.0)
        return;
    int b = loudness_bin(v);
    l->m_hist[b]++;
    l->m_energy[b] += pow(10.0, (v + 0.691) / 10.0);
}

/* BS.1770-4: the blocks above -70 LUFS, then those within 10 LU of their
 * mean; -0.691 + 10 log10 of the mean energy of those. */
static double
loudness_integrated(const struct loudness *l)
{
    double sum = 0.0, gate;
    uint64_t n = 0;

    for (int b = 0; b < LRA_BINS; b++) {
        n += l->m_hist[b];
        sum += l->m_energy[b];
    }
    if (!n)
        return -HUGE_VAL;
    gate = -0.691 + 10.0 * log10(sum / (double)n) - 10.0;
    sum = 0.0;
    n = 0;
    for (int b = gate > -70.0 ? (int)ceil((gate + 70.0) * 100.0) : 0; b < LRA_BINS; b++) {
        n += l->m_hist[b];
        sum += l->m_energy[b];
    }
    return n ? -0.691 + 10.0 * log10(sum / (double)n) : -HUGE_VAL;
}

/* A short-term value for the loudness range (once 3 s are in). */
static void
loudness_lra_add(struct loudness *l, double v)
{
    if (l->nsub < 30 || v < -70.0)
        return;
    l->st_hist[loudness_bin(v)]++;
    l->st_count++;
    l->st_energy += pow(10.0, v / 10.0);
}

/* Polls the momentary and short-term loudness and the true peaks; publishes
 * the figures (integrated and range every second of audio, and at the end:
 * FINAL). */
static void
loudness_poll(struct loudness *l, int final)
{
    double v, m = 0.0, st = 0.0;

    /* Not at the take's end: its last frames are less than a period. */
    if (!final && ebur128_loudness_window(loudness_st(l), 100, &v) == EBUR128_SUCCESS) {
        l->sub[l->nsub++ % 30] = isfinite(v) ? pow(10.0, (v + 0.691) / 10.0) : 0.0;
        for (uint32_t k = 0; k < 30 && k < l->nsub; k++) {
            double z = l->sub[(l->nsub - 1 - k) % 30];
            m += k < 4 ? z : 0.0;
            st += z;
        }
        if (l->nsub >= 4 && m > 0.0) {
            v = -0.691 + 10.0 * log10(m / 4.0);
            if (v > l->max_m)
                l->max_m = v;
            loudness_i_add(l, v);
        }
        if (l->nsub >= 30 && st > 0.0) {
            v = -0.691 + 10.0 * log10(st / 30.0);
            if (v > l->max_s)
                l->max_s = v;
            loudness_lra_add(l, v);
        }
    }
    loudness_pub(l, PUB_M, l->max_m, LOUDNESS_FLOOR);
    loudness_pub(l, PUB_S, l->max_s, LOUDNESS_FLOOR);
    if (final || ++l->polls % 10 == 0) {
        loudness_pub(l, PUB_I, loudness_integrated(l), LOUDNESS_FLOOR);
        loudness_pub(l, PUB_LRA, loudness_lra(l), 0.0);
    }
    for (unsigned c = 0; c < 2; c++) /* a mono file: its channel on both sides */
        if (ebur128_true_peak(loudness_st(l), c < (unsigned)l->nch ? c : 0, &v) == EBUR128_SUCCESS)
            loudness_pub(l, PUB_TPL + (int)c, v > 0.0 ? 20.0 * log10(v) : -HUGE_VAL,
                         LOUDNESS_FLOOR);
}

void
loudness_feed(struct loudness *l, const float *left, const float *right, uint32_t n)
{
    if (!l->st)
        return;
    for (uint32_t done = 0; done < n;) {
        uint32_t k = n - done;
        if (k > l->cap)
            k = l->cap;
        if (k > l->poll_frames - l->since_poll)
            k = l->poll_frames - l->since_poll;
        if (l->nch == 1 && left)
            memcpy(l->frames, left + done, k * sizeof(float));
        else if (l->nch == 1)
            memset(l->frames, 0, k * sizeof(float));
        for (uint32_t j = 0; l->nch == 2 && j < k; j++) {
            l->frames[2 * j] = left ? left[done + j] : 0.0f;
            l->frames[2 * j + 1] = right ? right[done + j] : 0.0f;
        }
        ebur128_add_frames_float(loudness_st(l), l->frames, k);
        l->fed += k;
        done += k;
        l->since_poll += k;
        if (l->since_poll == l->poll_frames) {
            l->since_poll = 0;
            loudness_poll(l, 0);
        }
    }
}

void
loudness_flush(struct loudness *l)
{
    if (l->st)
        loudness_poll(l, 1);
}

void
loudness_get(const struct loudness *l, struct loudness_figs *f)
{
    f->integrated_lufs = loudness_read(l, PUB_I);
    f->lra_lu = loudness_read(l, PUB_LRA);
    f->true_peak_dbtp[0] = loudness_read(l, PUB_TPL);
    f->true_peak_dbtp[1] = loudness_read(l, PUB_TPR);
    f->max_momentary_lufs = loudness_read(l, PUB_M);
    f->max_short_term_lufs = loudness_read(l, PUB_S);
}

void
loudness_free(struct loudness *l)
{
    ebur128_state *st = l->st;

    if (st)
        ebur128_destroy(&st);
    free(l->frames);
    free(l->st_hist);
    free(l->m_hist);
    free(l->m_energy);
    l->m_hist = NULL;
    l->m_energy = NULL;
    l->st = NULL;
    l->frames = NULL;
    l->st_hist = NULL;
}
