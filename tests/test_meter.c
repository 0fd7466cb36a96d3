/* test_meter — unit tests of daemon/meter.c: dBFS with its -150 floor, the
 * per-block figures of meter_block() (its SIMD path bit for bit against a
 * plain model of its lanes), meter_add/meter_sub, the sliding window
 * (meter_win_*) against a brute-force model, and the lag estimate of
 * meter_lag() on deterministic noise. */
#include "meter.h"
#include "unit.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NEAR(a, b, tol) CHECK(fabs((double)(a) - (double)(b)) <= (tol))

/* Deterministic noise in [-1, 1): a 32-bit LCG, no libc rand(). */
static uint32_t noise_state = 12345u;

static float
noise(void)
{
    noise_state = noise_state * 1664525u + 1013904223u;
    return (float)((double)(noise_state >> 8) / (double)(1u << 23) - 1.0);
}

static void
test_db(void)
{
    NEAR(meter_db(1.0), 0.0, 1e-6);
    NEAR(meter_db(0.5), -6.0206, 1e-4);
    NEAR(meter_db(0.1), -20.0, 1e-4);
    NEAR(meter_db(2.0), 6.0206, 1e-4); /* above full scale is not clamped */
    CHECK(meter_db(0.0) == METER_SILENCE_DB);
    CHECK(meter_db(-0.0) == METER_SILENCE_DB);
    CHECK(meter_db(-0.5) == METER_SILENCE_DB);
    CHECK(meter_db(NAN) == METER_SILENCE_DB);
    CHECK(meter_db(-NAN) == METER_SILENCE_DB);
    /* The floor: anything below -150 dBFS reads -150, never less. */
    CHECK(meter_db(1e-10) == METER_SILENCE_DB);    /* -200 dB */
    CHECK(meter_db(1e-300) == METER_SILENCE_DB);   /* -6000 dB */
    CHECK(meter_db(4.9e-324) == METER_SILENCE_DB); /* the smallest subnormal */
    CHECK(meter_db(1e-7) > METER_SILENCE_DB);      /* -140 dB is above it */
    NEAR(meter_db(1e-7), -140.0, 1e-3);
    CHECK_INT_EQ((int)METER_SILENCE_DB, -150);
}

/* The lanes of meter_block() written the plain way: the SIMD path must give
 * the same bits, whatever the length and alignment. */
static uint32_t
block_model(const float *x, uint32_t n, float *peak, float *sumsq)
{
    float p[8] = {0}, s[8] = {0};
    uint32_t c[8] = {0}, i = 0;

    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) {
            volatile float v = x[i + k]; /* no contraction into an FMA */
            float a = fabsf(v), sq = v * v;
            p[k] = a > p[k] ? a : p[k];
            s[k] += sq;
            c[k] += a >= 1.0f;
        }
    for (; i < n; i++) {
        volatile float v = x[i];
        float a = fabsf(v), sq = v * v;
        p[0] = a > p[0] ? a : p[0];
        s[0] += sq;
        c[0] += a >= 1.0f;
    }
    for (int k = 1; k < 8; k++) {
        p[0] = p[k] > p[0] ? p[k] : p[0];
        s[0] += s[k];
        c[0] += c[k];
    }
    *peak = p[0];
    *sumsq = s[0];
    return c[0];
}

static void
test_block_simd(void)
{
    float x[1100], y[1100], acc[1100], out[1100];
    int same = 1, ops = 1;

    for (int i = 0; i < 1100; i++) {
        x[i] = 1.3f * noise();
        y[i] = noise();
    }
    x[5] = NAN;
    x[77] = -INFINITY;
    x[300] = 1.0f;
    x[301] = -1.0f;
    x[640] = -NAN;
    for (uint32_t off = 0; off < 9; off++) {
        for (uint32_t n = 0; n < 1090; n += (n < 40 ? 1 : 37)) {
            float p1, s1, p2, s2;
            uint32_t c1 = meter_block(x + off, n, &p1, &s1);
            uint32_t c2 = block_model(x + off, n, &p2, &s2);
            if (c1 != c2 || memcmp(&p1, &p2, sizeof p1) || memcmp(&s1, &s2, sizeof s1))
                same = 0;
            memcpy(acc, y, sizeof acc);
            meter_add(acc + off, x + 1, n);
            meter_sub(out, y + off, x + 3, n);
            for (uint32_t i = 0; i < n; i++) {
                volatile float a = y[off + i] + x[1 + i], d = y[off + i] - x[3 + i];
                if (memcmp(&acc[off + i], (const void *)&a, sizeof a) ||
                    memcmp(&out[i], (const void *)&d, sizeof d))
                    ops = 0;
            }
        }
    }
    CHECK(same);
    CHECK(ops);
}

static void
test_block(void)
{
    static const float a[] = {0.5f, -0.75f, 0.25f, 0.0f};
    static const float clips[] = {1.0f, -1.0f, 0.999f, -0.999f, 1.5f, -2.0f, 0.0f, 0.9999999f};
    float x[512];
    float peak = -1.0f, sumsq = -1.0f;

    CHECK_INT_EQ(meter_block(a, 4, &peak, &sumsq), 0);
    CHECK(peak == 0.75f);
    NEAR(sumsq, 0.875, 1e-7);

    /* |x| >= 1.0 is a clip: exactly 1.0 and -1.0 count, 0.999 does not. */
    CHECK_INT_EQ(meter_block(clips, 8, &peak, &sumsq), 4);
    CHECK(peak == 2.0f);
    CHECK_INT_EQ(meter_block(clips, 1, &peak, &sumsq), 1);
    CHECK(peak == 1.0f);
    CHECK_INT_EQ(meter_block(clips + 1, 1, &peak, &sumsq), 1);
    CHECK(peak == 1.0f);
    CHECK_INT_EQ(meter_block(clips + 2, 2, &peak, &sumsq), 0);
    CHECK(peak == 0.999f);
    CHECK_INT_EQ(meter_block(clips + 7, 1, &peak, &sumsq), 0);

    /* Nothing at all: zeros, no clip. */
    peak = sumsq = -1.0f;
    CHECK_INT_EQ(meter_block(a, 0, &peak, &sumsq), 0);
    CHECK(peak == 0.0f);
    CHECK(sumsq == 0.0f);

    /* A period of silence and one of a constant: peak, sum of squares. */
    memset(x, 0, sizeof x);
    CHECK_INT_EQ(meter_block(x, 512, &peak, &sumsq), 0);
    CHECK(peak == 0.0f && sumsq == 0.0f);
    for (int i = 0; i < 512; i++)
        x[i] = (i & 1) ? -0.5f : 0.5f;
    CHECK_INT_EQ(meter_block(x, 512, &peak, &sumsq), 0);
    CHECK(peak == 0.5f);
    NEAR(sumsq, 128.0, 1e-4);
    /* A full-scale square wave clips on every sample. */
    for (int i = 0; i < 512; i++)
        x[i] = (i & 1) ? -1.0f : 1.0f;
    CHECK_INT_EQ(meter_block(x, 512, &peak, &sumsq), 512);

    /* A sine of amplitude 0.25 over whole cycles: RMS 0.25/sqrt(2). */
    for (int i = 0; i < 512; i++)
        x[i] = 0.25f * (float)sin(2.0 * M_PI * 8.0 * i / 512.0);
    CHECK_INT_EQ(meter_block(x, 512, &peak, &sumsq), 0);
    NEAR(peak, 0.25, 1e-6);
    NEAR(sqrt(sumsq / 512.0), 0.25 / sqrt(2.0), 1e-5);
}

/* Storage for a window of up to `cap` entries. */
struct winbuf {
    struct meter_win w;
    float *peak;
    double *sumsq;
    uint32_t *nframes;
};

static void
win_open(struct winbuf *b, uint64_t window_frames, uint32_t cap)
{
    b->peak = calloc(cap ? cap : 1, sizeof *b->peak);
    b->sumsq = calloc(cap ? cap : 1, sizeof *b->sumsq);
    b->nframes = calloc(cap ? cap : 1, sizeof *b->nframes);
    if (!b->peak || !b->sumsq || !b->nframes) {
        perror("calloc");
        exit(1);
    }
    meter_win_init(&b->w, window_frames, cap, b->peak, b->sumsq, b->nframes);
}

static void
win_close(struct winbuf *b)
{
    free(b->peak);
    free(b->sumsq);
    free(b->nframes);
}

static void
test_win_fixed_periods(void)
{
    const uint64_t window = 4800; /* 100 ms at 48 kHz */
    const uint32_t period = 256;
    const uint32_t keep = (uint32_t)((window + period - 1) / period); /* 19 */
    uint32_t cap = meter_win_entries(window, period);
    struct winbuf b;

    CHECK_INT_EQ(keep, 19);
    CHECK(cap >= keep);
    win_open(&b, window, cap);
    CHECK_INT_EQ(b.w.count, 0);
    CHECK(meter_win_peak(&b.w) == 0.0f);
    CHECK(meter_win_rms(&b.w) == 0.0f);
    CHECK(meter_db(meter_win_rms(&b.w)) == METER_SILENCE_DB);

    /* One loud period, then quiet ones: the loud peak stays while the
     * window still covers it and falls out once `keep` newer periods
     * cover the window. */
    meter_win_push(&b.w, 0.9f, 0.9 * 0.9 * period, period);
    CHECK(meter_win_peak(&b.w) == 0.9f);
    for (uint32_t k = 1; k < keep; k++) {
        meter_win_push(&b.w, 0.1f, 0.1 * 0.1 * period, period);
        CHECK_INT_EQ(b.w.count, k + 1);
    }
    CHECK_INT_EQ(b.w.count, keep);
    CHECK_INT_EQ(b.w.frames, (uint64_t)keep * period);
    CHECK(meter_win_peak(&b.w) == 0.9f);
    meter_win_push(&b.w, 0.1f, 0.1 * 0.1 * period, period);
    CHECK(meter_win_peak(&b.w) == 0.1f);
    NEAR(meter_win_rms(&b.w), 0.1, 1e-6);
    /* Steady state: always `keep` periods, covering at least the window
     * and less than a period more. */
    for (int k = 0; k < 1000; k++) {
        meter_win_push(&b.w, 0.1f, 0.1 * 0.1 * period, period);
        if (!CHECK_INT_EQ(b.w.count, keep))
            break;
    }
    CHECK(b.w.frames >= window && b.w.frames < window + period);

    /* A constant 0.5 signal: RMS 0.5 (-6.02 dBFS), peak 0.5. */
    float x[256];
    float pk, ss;
    for (int i = 0; i < 256; i++)
        x[i] = 0.5f;
    meter_block(x, 256, &pk, &ss);
    for (int k = 0; k < 40; k++)
        meter_win_push(&b.w, pk, ss, 256);
    NEAR(meter_win_rms(&b.w), 0.5, 1e-6);
    CHECK(meter_win_peak(&b.w) == 0.5f);
    NEAR(meter_db(meter_win_rms(&b.w)), -6.0206, 1e-3);

    /* Reset empties it. */
    meter_win_reset(&b.w);
    CHECK_INT_EQ(b.w.count, 0);
    CHECK_INT_EQ(b.w.frames, 0);
    CHECK(meter_win_peak(&b.w) == 0.0f);
    CHECK(meter_win_rms(&b.w) == 0.0f);
    win_close(&b);
}

/* Brute-force model: the window is the shortest run of the newest periods
 * that covers `window` frames (all of them while there are fewer). */
static void
model(const float *peak, const double *sumsq, const uint32_t *nf, int n, uint64_t window,
      float *mpeak, float *mrms, int *mcount)
{
    uint64_t frames = 0;
    double s = 0.0;
    float p = 0.0f;
    int k = n - 1;

    for (; k >= 0; k--) {
        frames += nf[k];
        s += sumsq[k];
        p = peak[k] > p ? peak[k] : p;
        if (frames >= window)
            break;
    }
    *mcount = n - (k < 0 ? 0 : k);
    *mpeak = p;
    *mrms = frames ? (float)sqrt(s / (double)frames) : 0.0f;
}

static void
test_win_variable_periods(void)
{
    enum { PUSHES = 3000 };
    static float peak[PUSHES];
    static double sumsq[PUSHES];
    static uint32_t nf[PUSHES];
    static const uint64_t windows[] = {1000, 4800, 480000};
    int bad = 0;

    for (size_t wi = 0; wi < sizeof windows / sizeof windows[0]; wi++) {
        uint64_t window = windows[wi];
        struct winbuf b;

        /* Sized as the daemon does: for periods of at least 16 frames. */
        win_open(&b, window, meter_win_entries(window, 16));
        for (int i = 0; i < PUSHES; i++) {
            static const uint32_t sizes[] = {16, 32, 64, 100, 128, 256, 300, 512, 1024, 2048};
            float a = (noise() + 1.0f) / 2.0f;
            nf[i] = sizes[(noise_state >> 12) % (sizeof sizes / sizeof sizes[0])];
            peak[i] = a;
            sumsq[i] = (double)a * a * nf[i] / 3.0;
            meter_win_push(&b.w, peak[i], sumsq[i], nf[i]);

            float mp, mr;
            int mc;
            model(peak, sumsq, nf, i + 1, window, &mp, &mr, &mc);
            if (b.w.count != (uint32_t)mc || meter_win_peak(&b.w) != mp ||
                fabs(meter_win_rms(&b.w) - mr) > 1e-5 * (mr > 1e-3 ? mr : 1e-3)) {
                if (bad++ < 5)
                    fprintf(stderr,
                            "window %llu, push %d (%u frames): count %u peak %g rms %g, "
                            "model %d %g %g\n",
                            (unsigned long long)window, i, nf[i], b.w.count, meter_win_peak(&b.w),
                            meter_win_rms(&b.w), mc, mp, mr);
            }
        }
        win_close(&b);
    }
    CHECK_INT_EQ(bad, 0);

    /* A period longer than the window: the window is that period alone. */
    struct winbuf b;
    win_open(&b, 1000, meter_win_entries(1000, 16));
    meter_win_push(&b.w, 0.8f, 0.0, 100);
    meter_win_push(&b.w, 0.2f, 0.04 * 2048, 2048);
    CHECK_INT_EQ(b.w.count, 1);
    CHECK_INT_EQ(b.w.frames, 2048);
    CHECK(meter_win_peak(&b.w) == 0.2f);
    NEAR(meter_win_rms(&b.w), 0.2, 1e-6);
    /* Smaller periods after it: the big one stays until they cover the
     * window on their own. */
    for (int k = 0; k < 9; k++)
        meter_win_push(&b.w, 0.1f, 0.01 * 100, 100);
    CHECK(meter_win_peak(&b.w) == 0.2f);
    CHECK_INT_EQ(b.w.count, 10);
    meter_win_push(&b.w, 0.1f, 0.01 * 100, 100);
    CHECK(meter_win_peak(&b.w) == 0.1f);
    CHECK_INT_EQ(b.w.count, 10);
    CHECK_INT_EQ(b.w.frames, 1000);
    win_close(&b);
}

static void
test_win_capacity(void)
{
    struct winbuf b;

    /* meter_win_entries() is enough for the window at the smallest period,
     * and never divides by zero. */
    CHECK(meter_win_entries(4800, 256) >= 19);
    CHECK(meter_win_entries(4800, 16) >= 300);
    CHECK(meter_win_entries(1, 16) >= 1);
    CHECK(meter_win_entries(100, 0) >= 100);

    /* A window longer than the storage holds: only the newest `cap`
     * periods are kept. */
    win_open(&b, 1000000, 4);
    for (int k = 0; k < 10; k++)
        meter_win_push(&b.w, 1.0f - 0.1f * (float)k, 0.25 * 100, 100);
    CHECK_INT_EQ(b.w.count, 4);
    CHECK_INT_EQ(b.w.frames, 400);
    NEAR(meter_win_peak(&b.w), 0.4, 1e-6); /* pushes 6..9: 0.4, 0.3, 0.2, 0.1 */
    NEAR(meter_win_rms(&b.w), 0.5, 1e-6);
    win_close(&b);

    /* No storage at all: pushes are ignored. */
    win_open(&b, 1000, 0);
    meter_win_push(&b.w, 0.5f, 1.0, 100);
    CHECK_INT_EQ(b.w.count, 0);
    CHECK(meter_win_peak(&b.w) == 0.0f);
    CHECK(meter_win_rms(&b.w) == 0.0f);
    win_close(&b);

    /* A single entry: always the newest period. */
    win_open(&b, 1000, 1);
    meter_win_push(&b.w, 0.5f, 0.25 * 100, 100);
    meter_win_push(&b.w, 0.3f, 0.09 * 100, 100);
    CHECK_INT_EQ(b.w.count, 1);
    CHECK(meter_win_peak(&b.w) == 0.3f);
    NEAR(meter_win_rms(&b.w), 0.3, 1e-6);
    win_close(&b);
}

static void
test_lag(void)
{
    enum { N = 4096, PAD = 64 };
    static float x[N + 2 * PAD], a[N], b[N];
    int lag = 12345;
    double corr = -5.0;

    for (int i = 0; i < N + 2 * PAD; i++)
        x[i] = noise();

    /* b lags a by 32: b[i] = a[i - 32]. */
    for (int i = 0; i < N; i++) {
        a[i] = x[PAD + i];
        b[i] = x[PAD + i - 32];
    }
    CHECK_INT_EQ(meter_lag(a, b, N, 1024, &lag, &corr), 0);
    CHECK_INT_EQ(lag, 32);
    CHECK(corr > 0.95 && corr <= 1.0 + 1e-9);

    /* Scaled by -12 dB: normalised, the same answer. */
    for (int i = 0; i < N; i++)
        b[i] *= 0.25f;
    CHECK_INT_EQ(meter_lag(a, b, N, 1024, &lag, &corr), 0);
    CHECK_INT_EQ(lag, 32);
    CHECK(corr > 0.95 && corr <= 1.0 + 1e-9);

    /* b leads a by 17: b[i] = a[i + 17], a lag of -17. */
    for (int i = 0; i < N; i++)
        b[i] = x[PAD + i + 17];
    CHECK_INT_EQ(meter_lag(a, b, N, 1024, &lag, &corr), 0);
    CHECK_INT_EQ(lag, -17);
    CHECK(corr > 0.95 && corr <= 1.0 + 1e-9);

    /* The same signal: lag 0, correlation 1. */
    CHECK_INT_EQ(meter_lag(a, a, N, 1024, &lag, &corr), 0);
    CHECK_INT_EQ(lag, 0);
    NEAR(corr, 1.0, 1e-9);

    /* maxlag bounds the search: a lag of 32 is not found within +-16 and
     * the correlation of what is found is low; +-32 finds it. */
    for (int i = 0; i < N; i++)
        b[i] = x[PAD + i - 32];
    CHECK_INT_EQ(meter_lag(a, b, N, 16, &lag, &corr), 0);
    CHECK(lag >= -16 && lag <= 16);
    CHECK(corr < 0.3);
    CHECK_INT_EQ(meter_lag(a, b, N, 32, &lag, &corr), 0);
    CHECK_INT_EQ(lag, 32);
    CHECK_INT_EQ(meter_lag(a, b, N, 0, &lag, &corr), 0);
    CHECK_INT_EQ(lag, 0);

    /* Independent noise: no correlation worth reporting (the daemon wants
     * more than 0.7). */
    for (int i = 0; i < N; i++)
        b[i] = noise();
    CHECK_INT_EQ(meter_lag(a, b, N, 1024, &lag, &corr), 0);
    CHECK(corr < 0.3);

    /* Silence on either side: -1, nothing stored. */
    memset(b, 0, sizeof b);
    lag = 777;
    corr = 7.0;
    CHECK_INT_EQ(meter_lag(a, b, N, 1024, &lag, &corr), -1);
    CHECK_INT_EQ(meter_lag(b, a, N, 1024, &lag, &corr), -1);
    CHECK_INT_EQ(meter_lag(b, b, N, 1024, &lag, &corr), -1);
    CHECK_INT_EQ(lag, 777);
    CHECK(corr == 7.0);
}

int
main(void)
{
    test_db();
    test_block();
    test_block_simd();
    test_win_fixed_periods();
    test_win_variable_periods();
    test_win_capacity();
    test_lag();
    return unit_summary("test_meter");
}
