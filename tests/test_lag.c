/* test_lag — unit tests of daemon/lag.c, the mix's lag analysis: records in
 * the engine's lag-ring format (struct engine_lag_rec + 4 streams) are fed
 * through a real ring, as the real-time thread writes them; lag_estimate()
 * must find the lag of a mix that lags (or leads) the stems' sum, say that
 * shifted by it the window nulls, prefer the lag nearest the one asked for
 * among those a periodic signal makes tie, and refuse silence and a short
 * history; lag_residual() must re-judge any stretch at any offset and know
 * what it no longer holds (a gap starts the history afresh); lag_trim() must keep the newest
 * records whole for an analysis that starts later. */
#include "lag.h"
#include "ring.h"
#include "unit.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PERIOD          512
#define NEAR(a, b, tol) CHECK(fabs((double)(a) - (double)(b)) <= (tol))

static struct engine eng;
static struct ring ring;
static struct lag lag;

/* Deterministic noise in [-0.5, 0.5): a 32-bit hash of (stream, frame), so
 * any frame of the "stems' sum" can be recomputed for a delayed mix. */
static float
noise(uint32_t stream, int64_t frame)
{
    uint32_t x = (uint32_t)frame * 2654435761u ^ (stream + 1u) * 40503u;
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return (float)((double)(x >> 8) / (double)(1u << 24) - 0.5);
}

enum { SIG_NOISE, SIG_SINE, SIG_SILENT_MIX };

/* Stems' sum, side s, at `frame` (silence before frame 0). */
static float
sum_at(int sig, int s, int64_t frame)
{
    if (frame < 0)
        return 0.0f;
    if (sig == SIG_SINE) /* 100 Hz at 48 kHz: period 480 frames */
        return 0.5f * (float)sin(2.0 * M_PI * (double)frame / 480.0 + s);
    return noise((uint32_t)s, frame);
}

/* Feeds frames [from, to) of a mix lagging the sum by `delay` (< 0: leading). */
static void
feed(int sig, int64_t from, int64_t to, int delay)
{
    float buf[ENGINE_LAG_STREAMS][PERIOD];
    for (int64_t f = from; f < to; f += PERIOD) {
        struct engine_lag_rec h = {.frame = (uint64_t)f, .nframes = PERIOD};
        for (int i = 0; i < PERIOD; i++)
            for (int s = 0; s < 2; s++) {
                buf[s][i] = sum_at(sig, s, f + i);
                buf[2 + s][i] = sig == SIG_SILENT_MIX ? 0.0f : sum_at(sig, s, f + i - delay);
            }
        size_t need = sizeof h + sizeof buf;
        if (ring_write_space(&ring) < need)
            lag_drain(&lag);
        ring_put(&ring, 0, &h, sizeof h);
        ring_put(&ring, sizeof h, buf, sizeof buf);
        ring_publish(&ring, need);
    }
    lag_drain(&lag);
}

static void
start(void)
{
    lag_free(&lag);
    lag_init(&lag, &eng);
    CHECK(lag_ready(&lag) == 0);
}

static void
test_lagging_mix(void)
{
    struct lag_est est;
    start();
    feed(SIG_NOISE, 0, 20 * 4096, 528);
    if (CHECK(lag_estimate(&lag, 0.001f, 0, &est) == 0)) {
        CHECK_INT_EQ(est.lag, 528);
        NEAR(est.corr, 1.0, 1e-4);
        CHECK(est.corr2 < 0.2);         /* noise: one peak only */
        CHECK(est.resid_db <= -140.0f); /* exact float: it nulls */
        CHECK(est.level_db > -10.0f && est.level_db <= -6.0f);
        CHECK_INT_EQ((long long)est.frame, 20 * 4096 - LAG_MAXLAG);
    }
    /* Any stretch re-judged: nulls at 528, not at 0. */
    float pk[2];
    int32_t over[2];
    uint32_t at[2];
    if (CHECK(lag_residual(&lag, 40000, 512, 528, 0.001f, pk, over, at) == 0)) {
        CHECK(pk[0] == 0.0f && pk[1] == 0.0f);
        CHECK(over[0] == -1 && over[1] == -1);
    }
    if (CHECK(lag_residual(&lag, 40000, 512, 0, 0.001f, pk, over, at) == 0)) {
        CHECK(pk[0] > 0.3f && pk[1] > 0.3f);
        CHECK(over[0] >= 0 && over[0] < 8);
        /* The peak and where it is, against a plain model. */
        float model = 0.0f;
        uint32_t model_at = 0;
        for (uint32_t i = 0; i < 512; i++) {
            float r =
                fabsf(sum_at(SIG_NOISE, 0, 40000 + i) - sum_at(SIG_NOISE, 0, 40000 + i - 528));
            if (r > model) {
                model = r;
                model_at = i;
            }
        }
        CHECK(pk[0] == model);
        CHECK_INT_EQ(at[0], model_at);
    }
    /* Frames it does not hold: older than the history, newer than the end,
     * or whose delayed sum is before the start. */
    CHECK(lag_residual(&lag, 100, 512, 0, 0.001f, pk, over, at) == -1);
    CHECK(lag_residual(&lag, 20 * 4096 - 256, 512, 0, 0.001f, pk, over, at) == -1);
    CHECK(lag_residual(&lag, lag.start + 100, 512, 528, 0.001f, pk, over, at) == -1);
    CHECK(lag_residual(&lag, lag.start + 528, 512, 528, 0.001f, pk, over, at) == 0);
}

static void
test_leading_mix(void)
{
    struct lag_est est;
    start();
    feed(SIG_NOISE, 0, 12 * 4096, -100);
    if (CHECK(lag_estimate(&lag, 0.001f, 0, &est) == 0)) {
        CHECK_INT_EQ(est.lag, -100);
        CHECK(est.resid_db <= -140.0f);
    }
    /* The far end of the range. */
    start();
    feed(SIG_NOISE, 0, 12 * 4096, LAG_MAXLAG);
    if (CHECK(lag_estimate(&lag, 0.001f, 0, &est) == 0))
        CHECK_INT_EQ(est.lag, LAG_MAXLAG);
}

static void
test_periodic(void)
{
    struct lag_est est;
    start();
    feed(SIG_SINE, 0, 12 * 4096, 528);
    /* A sine of period 480 correlates as well at 528 - 480 = 48, 528, 1008 ...:
     * the lag nearest the one preferred wins, and the tie is visible. */
    if (CHECK(lag_estimate(&lag, 0.001f, 528, &est) == 0)) {
        CHECK_INT_EQ(est.lag, 528);
        CHECK(est.corr2 > est.corr - 0.02);
        CHECK(est.resid_db < -80.0f);
    }
    if (CHECK(lag_estimate(&lag, 0.001f, 0, &est) == 0))
        CHECK_INT_EQ(est.lag, 48);
    if (CHECK(lag_estimate(&lag, 0.001f, 1000, &est) == 0))
        CHECK_INT_EQ(est.lag, 1008);
}

static void
test_refusals(void)
{
    struct lag_est est;
    start();
    feed(SIG_SILENT_MIX, 0, 12 * 4096, 0);
    CHECK(lag_estimate(&lag, 0.001f, 0, &est) == -1); /* nothing to correlate */
    start();
    feed(SIG_NOISE, 0, 7 * 4096, 0); /* less than a window and two lag ranges */
    CHECK(lag_estimate(&lag, 0.001f, 0, &est) == -1);
    /* A gap (records the engine could not hand over): afresh from there. */
    feed(SIG_NOISE, 7 * 4096 + 4 * PERIOD, 9 * 4096, 0);
    CHECK_INT_EQ((long long)lag.start, 7 * 4096 + 4 * PERIOD);
    float pk[2];
    int32_t over[2];
    uint32_t at[2];
    CHECK(lag_residual(&lag, 4096, 512, 0, 0.001f, pk, over, at) == -1);
    /* Reset forgets; without the analysis allocated nothing is held. */
    lag_reset(&lag);
    CHECK(lag_residual(&lag, 7 * 4096 + 4 * PERIOD, 512, 0, 0.001f, pk, over, at) == -1);
    lag_free(&lag);
    lag_init(&lag, &eng);
    feed(SIG_NOISE, 0, 4096, 0); /* drained and dropped: no history */
    CHECK(lag_residual(&lag, 0, 512, 0, 0.001f, pk, over, at) == -1);
    CHECK(lag_estimate(&lag, 0.001f, 0, &est) == -1);
}

/* Kept, not analysed: lag_trim leaves the newest records, whole, then an
 * analysis that starts has them as its history. */
static void
test_trim(void)
{
    float buf[ENGINE_LAG_STREAMS][PERIOD];
    size_t rec = sizeof(struct engine_lag_rec) + sizeof buf;
    lag_free(&lag);
    lag_init(&lag, &eng);
    for (int k = 0; k < 20; k++) {
        struct engine_lag_rec h = {.frame = (uint64_t)k * PERIOD, .nframes = PERIOD};
        for (int i = 0; i < PERIOD; i++)
            for (int s = 0; s < ENGINE_LAG_STREAMS; s++)
                buf[s][i] = sum_at(SIG_NOISE, s & 1, (int64_t)k * PERIOD + i);
        ring_put(&ring, 0, &h, sizeof h);
        ring_put(&ring, sizeof h, buf, sizeof buf);
        ring_publish(&ring, rec);
        lag_trim(&lag, 4 * sizeof buf);
    }
    CHECK(ring_read_space(&ring) <= 4 * sizeof buf);
    CHECK_INT_EQ(ring_read_space(&ring) % rec, 0);
    CHECK(lag_ready(&lag) == 0);
    lag_drain(&lag);
    CHECK_INT_EQ((long long)lag.end, 20 * PERIOD);
    CHECK_INT_EQ((long long)lag.start, 20 * PERIOD - (long long)(lag.end - lag.start));
    CHECK(lag.end - lag.start >= 3 * PERIOD); /* whole records within 4 of samples */
    float pk[2];
    int32_t over[2];
    uint32_t at[2];
    CHECK(lag_residual(&lag, 19 * PERIOD, PERIOD, 0, 0.001f, pk, over, at) == 0 && pk[0] == 0.0f);
}

int
main(void)
{
    if (ring_init(&ring, 1u << 20) != 0)
        return 1;
    atomic_store(&eng.lag_ring, &ring);
    lag_init(&lag, &eng);
    test_lagging_mix();
    test_leading_mix();
    test_periodic();
    test_refusals();
    test_trim();
    lag_free(&lag);
    ring_free(&ring);
    return unit_summary("test_lag");
}
