/* meter — level and null arithmetic.
 *
 * The real-time thread does only meter_block() per channel per period (a
 * peak and a sum of squares, one pass, vectorisable) and gathers a few
 * periods into one record; the control thread keeps a sliding window of
 * those records per channel, so the window's peak and RMS cost nothing on
 * the JACK thread.  The window is a ring of records: it covers the last
 * window_frames frames rounded up to whole records, which monitor.c keeps
 * to an eighth of the window at most.
 *
 * meter_lag() is a plain time-domain normalised cross-correlation: it runs
 * off the real-time thread, at most once a second, over a few thousand
 * samples, and only when the null fails. */
#include "meter.h"

#include <float.h>
#include <math.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#define METER_SSE2 1
#else
#define METER_SSE2 0
#endif

float
meter_db(double linear)
{
    if (!(linear > 0.0)) /* also catches NaN */
        return METER_SILENCE_DB;
    double db = 20.0 * log10(linear);
    if (db > METER_MAX_DB) /* also +inf */
        return METER_MAX_DB;
    return db < METER_SILENCE_DB ? METER_SILENCE_DB : (float)db;
}

/* Eight independent lanes (peak, sum of squares, clips): floating-point
 * sums may not be reordered behind the programmer's back, so the lanes are
 * spelled out, and on x86 they are two SSE2 registers written out by hand
 * (GCC at -O2 keeps such lanes in memory).  Both paths add in the same
 * order, so they give the same bits.  Float accumulation per call: n is a
 * period or less. */
#define METER_LANES 8

uint32_t
meter_block(const float *x, uint32_t n, float *peak, float *sumsq)
{
    float p[METER_LANES] = {0}, s[METER_LANES] = {0};
    uint32_t c[METER_LANES] = {0}, i = 0;

#if METER_SSE2
    const __m128 absmask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff)), one = _mm_set1_ps(1.0f);
    __m128 p0 = _mm_setzero_ps(), p1 = p0, s0 = p0, s1 = p0;
    __m128i c0 = _mm_setzero_si128(), c1 = c0;
    for (; i + METER_LANES <= n; i += METER_LANES) {
        __m128 v0 = _mm_loadu_ps(x + i), v1 = _mm_loadu_ps(x + i + 4);
        __m128 a0 = _mm_and_ps(v0, absmask), a1 = _mm_and_ps(v1, absmask);
        p0 = _mm_max_ps(a0, p0); /* a > p ? a : p, as below (NaN keeps p) */
        p1 = _mm_max_ps(a1, p1);
        s0 = _mm_add_ps(s0, _mm_mul_ps(v0, v0));
        s1 = _mm_add_ps(s1, _mm_mul_ps(v1, v1));
        c0 = _mm_sub_epi32(c0, _mm_castps_si128(_mm_cmpge_ps(a0, one))); /* true is -1 */
        c1 = _mm_sub_epi32(c1, _mm_castps_si128(_mm_cmpge_ps(a1, one)));
    }
    _mm_storeu_ps(p, p0);
    _mm_storeu_ps(p + 4, p1);
    _mm_storeu_ps(s, s0);
    _mm_storeu_ps(s + 4, s1);
    _mm_storeu_si128((__m128i *)(void *)c, c0);
    _mm_storeu_si128((__m128i *)(void *)(c + 4), c1);
#else
    for (; i + METER_LANES <= n; i += METER_LANES) {
        for (int k = 0; k < METER_LANES; k++) {
            float v = x[i + k], a = fabsf(v);
            p[k] = a > p[k] ? a : p[k];
            s[k] += v * v;
            c[k] += a >= 1.0f;
        }
    }
#endif
    for (; i < n; i++) {
        float v = x[i], a = fabsf(v);
        p[0] = a > p[0] ? a : p[0];
        s[0] += v * v;
        c[0] += a >= 1.0f;
    }
    for (int k = 1; k < METER_LANES; k++) {
        p[0] = p[k] > p[0] ? p[k] : p[0];
        s[0] += s[k];
        c[0] += c[k];
    }
    *peak = p[0];
    *sumsq = s[0];
    return c[0];
}

void
meter_add(float *acc, const float *x, uint32_t n)
{
    uint32_t i = 0;
#if METER_SSE2
    for (; i + 4 <= n; i += 4)
        _mm_storeu_ps(acc + i, _mm_add_ps(_mm_loadu_ps(acc + i), _mm_loadu_ps(x + i)));
#endif
    for (; i < n; i++)
        acc[i] += x[i];
}

void
meter_sub(float *out, const float *a, const float *b, uint32_t n)
{
    uint32_t i = 0;
#if METER_SSE2
    for (; i + 4 <= n; i += 4)
        _mm_storeu_ps(out + i, _mm_sub_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i)));
#endif
    for (; i < n; i++)
        out[i] = a[i] - b[i];
}

uint32_t
meter_win_entries(uint64_t window_frames, uint32_t min_period)
{
    if (min_period == 0)
        min_period = 1;
    return (uint32_t)(window_frames / min_period + 2);
}

void
meter_win_init(struct meter_win *w, uint64_t window_frames, uint32_t cap, float *peak,
               double *sumsq, uint32_t *nframes)
{
    w->cap = cap;
    w->window_frames = window_frames;
    w->peak = peak;
    w->sumsq = sumsq;
    w->nframes = nframes;
    meter_win_reset(w);
}

void
meter_win_reset(struct meter_win *w)
{
    w->head = 0;
    w->count = 0;
    w->frames = 0;
}

void
meter_win_push(struct meter_win *w, float peak, double sumsq, uint32_t nframes)
{
    if (w->cap == 0)
        return;
    /* Drop the oldest entries the new one makes unnecessary. */
    while (w->count > 0) {
        uint32_t oldest = (w->head + w->cap - w->count) % w->cap;
        if (w->count < w->cap && w->frames + nframes - w->nframes[oldest] < w->window_frames)
            break;
        w->frames -= w->nframes[oldest];
        w->count--;
    }
    w->peak[w->head] = peak;
    w->sumsq[w->head] = sumsq;
    w->nframes[w->head] = nframes;
    w->head = (w->head + 1) % w->cap;
    w->count++;
    w->frames += nframes;
}

float
meter_win_peak(const struct meter_win *w)
{
    float p = 0.0f;
    for (uint32_t k = 0; k < w->count; k++) {
        uint32_t i = (w->head + w->cap - 1 - k) % w->cap;
        p = w->peak[i] > p ? w->peak[i] : p;
    }
    return p;
}

float
meter_win_rms(const struct meter_win *w)
{
    double s = 0.0;
    if (w->frames == 0)
        return 0.0f;
    for (uint32_t k = 0; k < w->count; k++)
        s += w->sumsq[(w->head + w->cap - 1 - k) % w->cap];
    return (float)sqrt(s / (double)w->frames);
}

int
meter_lag(const float *a, const float *b, size_t n, int maxlag, int *lag, double *corr)
{
    double ea = 0.0, eb = 0.0, best = -DBL_MAX;
    int best_lag = 0;

    if (n == 0)
        return -1;
    if ((size_t)maxlag >= n)
        maxlag = (int)(n - 1);

    for (size_t i = 0; i < n; i++) {
        ea += (double)a[i] * a[i];
        eb += (double)b[i] * b[i];
    }
    if (ea <= 0.0 || eb <= 0.0)
        return -1;
    for (int l = -maxlag; l <= maxlag; l++) {
        double acc = 0.0;
        size_t i0 = l > 0 ? (size_t)l : 0;
        size_t i1 = l < 0 ? n - (size_t)(-l) : n;
        for (size_t i = i0; i < i1; i++)
            acc += (double)b[i] * a[(size_t)((ptrdiff_t)i - l)];
        if (acc > best) {
            best = acc;
            best_lag = l;
        }
    }
    *lag = best_lag;
    *corr = best / sqrt(ea * eb);
    return 0;
}
