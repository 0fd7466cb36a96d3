/* lag — the lag between the stems' sum and the mix, off the real-time thread.  It owns the
 * history of the four streams (sum L/R, mix L/R, latency-compensated, not offset) the real-time
 * thread sends on the lag ring while asked, and answers two questions: by how much the mix lags
 * the sum (lag_estimate()), and the residual of given frames at a given offset (lag_residual()).
 * Design: docs/DESIGN.md, section "Alignment of the mix and lag measurement". */
#include "lag.h"

#include <errno.h>
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "meter.h"

#define LAG_FFT  (4 * LAG_WINDOW) /* >= window + 2 maxlag + window: no wrap */
#define LAG_SPAN (LAG_WINDOW + 2 * LAG_MAXLAG)

struct lag_fft {
    fftwf_plan fwd_a, fwd_b, inv;
    float *a, *b, *c;        /* LAG_FFT reals each */
    fftwf_complex *fa, *fb;  /* LAG_FFT / 2 + 1 each */
    double ea[LAG_SPAN + 1]; /* prefix sums of a^2 */
};

void
lag_init(struct lag *a, struct engine *e)
{
    memset(a, 0, sizeof *a);
    a->e = e;
}

void
lag_free(struct lag *a)
{
    struct lag_fft *f = a->fft;

    if (f) {
        if (f->fwd_a)
            fftwf_destroy_plan(f->fwd_a);
        if (f->fwd_b)
            fftwf_destroy_plan(f->fwd_b);
        if (f->inv)
            fftwf_destroy_plan(f->inv);
        fftwf_free(f->a);
        fftwf_free(f->b);
        fftwf_free(f->c);
        fftwf_free(f->fa);
        fftwf_free(f->fb);
        free(f);
    }
    free(a->hist);
    struct engine *e = a->e;
    memset(a, 0, sizeof *a);
    a->e = e;
}

int
lag_ready(struct lag *a)
{
    struct lag_fft *f;

    if (a->hist && a->fft)
        return 0;
    if (a->nomem)
        return -1;
    if (!a->hist)
        a->hist = calloc((size_t)ENGINE_LAG_STREAMS * LAG_HISTORY, sizeof(float));
    f = a->fft ? a->fft : calloc(1, sizeof *f);
    a->fft = f;
    if (!a->hist || !f)
        goto nomem;
    if (!f->a) {
        f->a = fftwf_alloc_real(LAG_FFT);
        f->b = fftwf_alloc_real(LAG_FFT);
        f->c = fftwf_alloc_real(LAG_FFT);
        f->fa = fftwf_alloc_complex(LAG_FFT / 2 + 1);
        f->fb = fftwf_alloc_complex(LAG_FFT / 2 + 1);
        if (!f->a || !f->b || !f->c || !f->fa || !f->fb)
            goto nomem;
        f->fwd_a = fftwf_plan_dft_r2c_1d(LAG_FFT, f->a, f->fa, FFTW_ESTIMATE);
        f->fwd_b = fftwf_plan_dft_r2c_1d(LAG_FFT, f->b, f->fb, FFTW_ESTIMATE);
        f->inv = fftwf_plan_dft_c2r_1d(LAG_FFT, f->fa, f->c, FFTW_ESTIMATE);
        if (!f->fwd_a || !f->fwd_b || !f->inv)
            goto nomem;
    }
    return 0;
nomem:
    log_warn("cannot allocate the mix alignment analysis (about 2.5 MB): %s; the mix's lag "
             "is not measured",
             strerror(ENOMEM));
    lag_free(a);
    a->nomem = 1;
    return -1;
}

void
lag_reset(struct lag *a)
{
    a->start = a->end = 0;
}

void
lag_trim(struct lag *a, size_t keep)
{
    struct ring *ring = atomic_load(&a->e->lag_ring);
    struct engine_lag_rec h;

    while (ring && ring_read_space(ring) > keep) {
        ring_peek(ring, 0, &h, sizeof h);
        ring_consume(ring, sizeof h + ENGINE_LAG_STREAMS * (size_t)h.nframes * sizeof(float));
    }
}

/* Sample of stream s (0 sum L, 1 sum R, 2 mix L, 3 mix R) at `frame`. */
static float
lag_at(const struct lag *a, int s, uint64_t frame)
{
    return a->hist[(size_t)s * LAG_HISTORY + frame % LAG_HISTORY];
}

void
lag_drain(struct lag *a)
{
    struct ring *ring = atomic_load(&a->e->lag_ring);
    struct engine_lag_rec h;

    if (!ring)
        return;
    while (ring_read_space(ring) >= sizeof h) {
        ring_peek(ring, 0, &h, sizeof h);
        size_t n = h.nframes, blk = n * sizeof(float);
        if (a->hist) {
            if (a->end == 0 || h.frame != a->end)
                a->start = a->end = h.frame; /* a gap: afresh */
            for (size_t k = 0; k < n;) {
                size_t p = (size_t)((h.frame + k) % LAG_HISTORY), c = n - k;
                if (c > LAG_HISTORY - p)
                    c = LAG_HISTORY - p;
                for (int s = 0; s < ENGINE_LAG_STREAMS; s++)
                    ring_peek(ring, sizeof h + s * blk + k * sizeof(float),
                              a->hist + (size_t)s * LAG_HISTORY + p, c * sizeof(float));
                k += c;
            }
            a->end += n;
            if (a->end - a->start > LAG_HISTORY)
                a->start = a->end - LAG_HISTORY;
        }
        ring_consume(ring, sizeof h + ENGINE_LAG_STREAMS * blk);
    }
}

int
lag_residual(const struct lag *a, uint64_t frame, uint32_t n, int offset, float threshold,
             float peak[2], int32_t over[2], uint32_t peak_at[2])
{
    uint64_t back = (uint64_t)(offset < 0 ? -offset : offset);

    if (!a->hist || frame < a->start + back || frame + n > a->end)
        return -1;
    uint64_t ds = offset > 0 ? back : 0, dm = offset < 0 ? back : 0;
    for (int side = 0; side < 2; side++) {
        float p = 0.0f;
        over[side] = -1;
        peak_at[side] = 0;
        for (uint32_t i = 0; i < n; i++) {
            float r = fabsf(lag_at(a, side, frame + i - ds) - lag_at(a, 2 + side, frame + i - dm));
            if (r > p) {
                p = r;
                peak_at[side] = i;
            }
            if (over[side] < 0 && r > threshold)
                over[side] = (int32_t)i;
        }
        peak[side] = p;
    }
    return 0;
}

int
lag_estimate(struct lag *a, float threshold, int prefer, struct lag_est *out)
{
    struct lag_fft *f = a->fft;

    if (!a->hist || !f || a->end - a->start < LAG_SPAN)
        return -1;
    uint64_t t0 = a->end - LAG_MAXLAG - LAG_WINDOW; /* the mix window's first frame */
    uint64_t s0 = t0 - LAG_MAXLAG;                  /* the sum's */
    double eb = 0.0;
    float level = 0.0f;

    memset(f->a, 0, LAG_FFT * sizeof(float));
    memset(f->b, 0, LAG_FFT * sizeof(float));
    f->ea[0] = 0.0;
    for (uint32_t j = 0; j < LAG_SPAN; j++) {
        float x = lag_at(a, 0, s0 + j) + lag_at(a, 1, s0 + j);
        f->a[j] = x;
        f->ea[j + 1] = f->ea[j] + (double)x * x;
    }
    for (uint32_t n = 0; n < LAG_WINDOW; n++) {
        float x = lag_at(a, 2, t0 + n) + lag_at(a, 3, t0 + n);
        f->b[n] = x;
        eb += (double)x * x;
        for (int side = 2; side < 4; side++)
            if (fabsf(lag_at(a, side, t0 + n)) > level)
                level = fabsf(lag_at(a, side, t0 + n));
    }
    if (!(eb > 0.0) || !(f->ea[LAG_SPAN] > 0.0))
        return -1;
    fftwf_execute(f->fwd_a);
    fftwf_execute(f->fwd_b);
    for (size_t k = 0; k < LAG_FFT / 2 + 1; k++) { /* conj(B) A */
        float ar = f->fa[k][0], ai = f->fa[k][1], br = f->fb[k][0], bi = f->fb[k][1];
        f->fa[k][0] = br * ar + bi * ai;
        f->fa[k][1] = br * ai - bi * ar;
    }
    fftwf_execute(f->inv); /* c[k] = LAG_FFT * sum_n b[n] a[n + k] */
    /* Normalised per lag, in place. */
    double best = -2.0;
    for (int k = 0; k <= 2 * LAG_MAXLAG; k++) {
        double ea = f->ea[k + LAG_WINDOW] - f->ea[k];
        double r = ea > 0.0 ? (double)f->c[k] / LAG_FFT / sqrt(eb * ea) : -2.0;
        f->c[k] = (float)r;
        if (r > best)
            best = r;
    }
    if (best < -1.5)
        return -1;
    /* Of the peaks that tie (a periodic signal), the one nearest `prefer`. */
    int best_k = -1;
    for (int k = 0; k <= 2 * LAG_MAXLAG; k++) {
        int peak =
            (k == 0 || f->c[k] >= f->c[k - 1]) && (k == 2 * LAG_MAXLAG || f->c[k] >= f->c[k + 1]);
        if (peak && f->c[k] >= best - LAG_TIE &&
            (best_k < 0 || abs(LAG_MAXLAG - k - prefer) < abs(LAG_MAXLAG - best_k - prefer)))
            best_k = k;
    }
    double second = -1.0;
    for (int k = 0; k <= 2 * LAG_MAXLAG; k++)
        if (abs(k - best_k) > LAG_APART && f->c[k] > second)
            second = f->c[k];
    float peak[2];
    int32_t over[2];
    uint32_t at[2];
    out->lag = LAG_MAXLAG - best_k;
    out->corr = f->c[best_k] > 1.0f ? 1.0 : f->c[best_k];
    out->corr2 = second;
    out->frame = t0 + LAG_WINDOW;
    out->level_db = meter_db(level);
    if (lag_residual(a, t0, LAG_WINDOW, out->lag, threshold, peak, over, at) < 0)
        return -1;
    out->resid_db = meter_db(peak[0] > peak[1] ? peak[0] : peak[1]);
    return 0;
}
