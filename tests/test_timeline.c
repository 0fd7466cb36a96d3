/* test_timeline — unit tests of placing periods on JACK's frame clock
 * (daemon/timeline.c), with the sequences of reads seen from jack2 under
 * forced xruns (tests/it_timeline.sh): late reads that a later read
 * disproves, chains of them, skipped cycles, lost periods, long gaps. */
#include "timeline.h"
#include "unit.h"

#include <stdint.h>

#define MAXP 64

struct placed {
    int n;
    struct timeline_place p[MAXP];
};

/* Feeds reads[0..n) of `frames` each (bytes 1 unless lost[k]) and places
 * everything, the way process.c does. */
static void
run(const uint64_t *reads, int n, uint32_t frames, const int *lost, uint64_t max_gap,
    struct placed *out)
{
    struct timeline t;
    timeline_reset(&t, max_gap);
    out->n = 0;
    for (int k = 0; k < n; k++) {
        int held =
            timeline_add(&t, reads[k], 1000000 + reads[k], 1, frames, lost && lost[k] ? 0 : 1);
        CHECK(held >= 1 && held <= TIMELINE_HOLD + 1);
        if (held > TIMELINE_HOLD)
            timeline_place(&t, &out->p[out->n++]);
    }
    while (timeline_place(&t, &out->p[out->n]) == 0)
        out->n++;
}

static void
expect(const struct placed *got, const uint64_t *frames, const uint64_t *gaps, int n)
{
    if (!CHECK_INT_EQ(got->n, n))
        return;
    for (int k = 0; k < n; k++) {
        CHECK_INT_EQ(got->p[k].frame, frames[k]);
        CHECK_INT_EQ(got->p[k].gap, gaps[k]);
        /* the transport frame moves with the frame */
        CHECK_INT_EQ(got->p[k].tframe, 1000000 + frames[k]);
    }
}

int
main(void)
{
    struct placed got;
    const uint64_t max_gap = 48000 * 60;

    /* Every cycle on time. */
    {
        uint64_t r[] = {1000, 1256, 1512, 1768, 2024, 2280};
        uint64_t g[] = {0, 0, 0, 0, 0, 0};
        run(r, 6, 256, NULL, max_gap, &got);
        expect(&got, r, g, 6);
        CHECK_INT_EQ(got.p[0].moved, 0);
    }
    /* A skipped cycle: nothing disproves it, silence where it was. */
    {
        uint64_t r[] = {0, 256, 768, 1024, 1280};
        uint64_t g[] = {0, 0, 256, 0, 0};
        run(r, 5, 256, NULL, max_gap, &got);
        expect(&got, r, g, 5);
    }
    /* A late read, then the same frame again (jack2 ran us twice): the
     * late period goes back where it belongs, no gap, nothing shifted. */
    {
        uint64_t r[] = {0, 256, 768, 768, 1024, 1280};
        uint64_t f[] = {0, 256, 512, 768, 1024, 1280};
        uint64_t g[] = {0, 0, 0, 0, 0, 0};
        run(r, 6, 256, NULL, max_gap, &got);
        expect(&got, f, g, 6);
        CHECK_INT_EQ(got.p[2].moved, 256);
        CHECK_INT_EQ(got.p[3].moved, 0);
    }
    /* Two late reads in a row, seen at 256 frames: 219136, 219648 (its
     * source had played 219392), 220416 (source 220160), 220416.  The
     * second is disproved exactly; the first only as far as the reads
     * allow: it lands at 219648, a period late, beside the silence of the
     * two cycles JACK skipped, and the take is back on time after it. */
    {
        uint64_t r[] = {219136, 219648, 220416, 220416, 220672};
        uint64_t f[] = {219136, 219648, 220160, 220416, 220672};
        uint64_t g[] = {0, 256, 256, 0, 0};
        run(r, 5, 256, NULL, max_gap, &got);
        expect(&got, f, g, 5);
    }
    /* A late read disproved by a read two periods later (64 frames). */
    {
        uint64_t r[] = {0, 64, 256, 256, 256, 320, 384};
        uint64_t f[] = {0, 64, 128, 192, 256, 320, 384};
        uint64_t g[] = {0, 0, 0, 0, 0, 0, 0};
        run(r, 7, 64, NULL, max_gap, &got);
        expect(&got, f, g, 7);
        CHECK_INT_EQ(got.p[2].moved, 128);
        CHECK_INT_EQ(got.p[3].moved, 64);
    }
    /* The first period of a take was a late read: the take starts earlier. */
    {
        uint64_t r[] = {512, 512, 768, 1024};
        uint64_t f[] = {256, 512, 768, 1024};
        uint64_t g[] = {0, 0, 0, 0};
        run(r, 4, 256, NULL, max_gap, &got);
        expect(&got, f, g, 4);
    }
    /* A period lost for want of room still takes its place on the clock. */
    {
        uint64_t r[] = {0, 256, 512, 768, 1024};
        int lost[] = {0, 1, 0, 0, 0};
        uint64_t g[] = {0, 0, 0, 0, 0};
        run(r, 5, 256, lost, max_gap, &got);
        expect(&got, r, g, 5);
        CHECK_INT_EQ(got.p[1].bytes, 0);
        CHECK_INT_EQ(got.p[2].bytes, 1);
    }
    /* Reads more alike than HOLD periods can explain: one after the other. */
    {
        uint64_t r[] = {0, 1024, 1024, 1024, 1024, 1024, 1024, 1280};
        uint64_t f[] = {0, 256, 512, 768, 1024, 1280, 1536, 1792};
        uint64_t g[] = {0, 0, 0, 0, 0, 0, 0, 0};
        run(r, 8, 256, NULL, max_gap, &got);
        if (CHECK_INT_EQ(got.n, 8)) {
            for (int k = 0; k < 8; k++) {
                CHECK_INT_EQ(got.p[k].frame, f[k]);
                CHECK_INT_EQ(got.p[k].gap, g[k]);
            }
        }
    }
    /* A gap longer than max_gap (a suspended machine) is not filled. */
    {
        uint64_t r[] = {0, 256, 100000000, 100000256};
        struct timeline t;
        timeline_reset(&t, max_gap);
        struct timeline_place p;
        for (int k = 0; k < 4; k++)
            timeline_add(&t, r[k], r[k], 0, 256, 1);
        uint64_t want[] = {0, 256, 512, 100000256};
        uint64_t wgap[] = {0, 0, 0, 100000256 - 768};
        for (int k = 0; k < 4; k++) {
            CHECK_INT_EQ(timeline_place(&t, &p), 0);
            CHECK_INT_EQ(p.gap, k == 3 ? 0 : wgap[k]);
            CHECK_INT_EQ(p.frame, k == 3 ? 768 : want[k]);
            /* stopped transport: its frame does not move with the clock */
            CHECK_INT_EQ(p.tframe, r[k]);
        }
        CHECK_INT_EQ(timeline_place(&t, &p), -1);
    }
    /* A smaller period from one cycle to the next (PipeWire's quantum). */
    {
        struct timeline t;
        struct timeline_place p;
        timeline_reset(&t, max_gap);
        timeline_add(&t, 0, 0, 1, 512, 1);
        timeline_add(&t, 512, 0, 1, 256, 1);
        timeline_add(&t, 1024, 0, 1, 256, 1); /* one period of 256 never ran */
        timeline_flag_last(&t, 4);
        timeline_add(&t, 1280, 0, 1, 256, 1);
        uint64_t want[] = {0, 512, 1024, 1280}, wgap[] = {0, 0, 256, 0};
        for (int k = 0; k < 4; k++) {
            CHECK_INT_EQ(timeline_place(&t, &p), 0);
            CHECK_INT_EQ(p.frame, want[k]);
            CHECK_INT_EQ(p.gap, wgap[k]);
            CHECK_INT_EQ(p.flags, k == 2 ? 4 : 0);
        }
    }
    /* Read twice in one cycle, and the first read held the next cycle's
     * audio (process.c): forgetting its record makes it lost frames, a gap
     * of silence before the second, which stays on the timeline. */
    {
        struct timeline t;
        struct timeline_place p;
        timeline_reset(&t, max_gap);
        timeline_add(&t, 1000, 0, 0, 256, 10);
        timeline_add(&t, 5096, 0, 0, 256, 11); /* a stall, then a stale wake-up */
        CHECK_INT_EQ(timeline_forget_last(&t), 11);
        CHECK_INT_EQ(timeline_forget_last(&t), 0); /* nothing left to forget */
        timeline_add(&t, 5096, 0, 0, 256, 12);     /* run again for the same cycle */
        timeline_add(&t, 5352, 0, 0, 256, 13);
        uint64_t want[] = {1000, 4840, 5096, 5352}, wgap[] = {0, 3584, 0, 0};
        uint32_t wbytes[] = {10, 0, 12, 13};
        for (int k = 0; k < 4; k++) {
            CHECK_INT_EQ(timeline_place(&t, &p), 0);
            CHECK_INT_EQ(p.frame, want[k]);
            CHECK_INT_EQ(p.gap, wgap[k]);
            CHECK_INT_EQ(p.bytes, wbytes[k]);
        }
        CHECK_INT_EQ(timeline_place(&t, &p), -1);
        timeline_reset(&t, max_gap);
        CHECK_INT_EQ(timeline_forget_last(&t), 0); /* nothing held */
    }
    return unit_summary("test_timeline");
}
