/* test_ring — unit tests of the SPSC ring, including a two-thread stress
 * test of all-or-nothing records. */
#include "ring.h"
#include "unit.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
fill_pattern(unsigned char *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 8));
}

static int
check_pattern(const unsigned char *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != (unsigned char)(seed * 131u + i * 7u + (i >> 8)))
            return 0;
    return 1;
}

/* Moves both counters to `start` on an empty ring (as if that many bytes
 * had passed through), and both buffer indexes where those bytes would
 * have left them. */
static void
set_counters(struct ring *r, size_t start)
{
    atomic_store(&r->head, start);
    atomic_store(&r->tail, start);
    r->wpos = r->rpos = start % r->size;
}

static void
test_init(void)
{
    static const struct {
        size_t min, size;
    } cases[] = {
        {0, 4096},    {1, 4096},    {4095, 4096},  {4096, 4096},   {4097, 8192},
        {5000, 8192}, {8192, 8192}, {8193, 12288}, {65537, 69632}, {1000000, 1003520},
    };
    struct ring r;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!CHECK_INT_EQ(ring_init(&r, cases[i].min), 0))
            continue;
        CHECK_INT_EQ(r.size, cases[i].size);
        CHECK(r.size % RING_PAGE == 0); /* whole pages, not a power of two */
        CHECK(r.buf != NULL);
        CHECK_INT_EQ(ring_write_space(&r), r.size);
        CHECK_INT_EQ(ring_read_space(&r), 0);
        ring_free(&r);
        CHECK(r.buf == NULL);
        ring_free(&r); /* twice is harmless */
    }
    /* A size that cannot be rounded up fails without allocating. */
    CHECK_INT_EQ(ring_init(&r, SIZE_MAX), -1);
    CHECK_INT_EQ(ring_init(&r, SIZE_MAX / 2 + 2), -1);
}

static void
test_accounting(void)
{
    struct ring r;
    unsigned char a[1000], b[1000];

    if (!CHECK_INT_EQ(ring_init(&r, 4096), 0))
        return;
    fill_pattern(a, sizeof a, 1);

    /* Puts are invisible until published. */
    ring_put(&r, 0, a, 100);
    ring_put(&r, 100, a + 100, 200);
    CHECK_INT_EQ(ring_read_space(&r), 0);
    CHECK_INT_EQ(ring_write_space(&r), 4096);
    ring_publish(&r, 300);
    CHECK_INT_EQ(ring_read_space(&r), 300);
    CHECK_INT_EQ(ring_write_space(&r), 4096 - 300);

    /* Pieces put out of order at offsets form one record. */
    ring_put(&r, 500, a + 500, 500);
    ring_put(&r, 0, a, 250);
    ring_put(&r, 250, a + 250, 250);
    CHECK_INT_EQ(ring_read_space(&r), 300);
    ring_publish(&r, 1000);
    CHECK_INT_EQ(ring_read_space(&r), 1300);
    CHECK_INT_EQ(ring_write_space(&r), 4096 - 1300);

    /* Peek at offsets does not consume. */
    memset(b, 0, sizeof b);
    ring_peek(&r, 0, b, 300);
    CHECK(memcmp(a, b, 300) == 0);
    ring_peek(&r, 100, b, 50);
    CHECK(memcmp(a + 100, b, 50) == 0);
    CHECK_INT_EQ(ring_read_space(&r), 1300);
    ring_consume(&r, 300);
    CHECK_INT_EQ(ring_read_space(&r), 1000);
    CHECK_INT_EQ(ring_write_space(&r), 4096 - 1000);
    ring_peek(&r, 0, b, 1000);
    CHECK(memcmp(a, b, 1000) == 0);
    ring_peek(&r, 999, b, 1);
    CHECK_INT_EQ(b[0], a[999]);
    ring_peek(&r, 400, b, 0); /* zero-length operations are no-ops */
    ring_put(&r, 0, a, 0);
    ring_publish(&r, 0);
    CHECK_INT_EQ(ring_read_space(&r), 1000);
    ring_consume(&r, 1000);
    CHECK_INT_EQ(ring_read_space(&r), 0);
    CHECK_INT_EQ(ring_write_space(&r), 4096);
    ring_free(&r);
}

static void
test_wrap(void)
{
    struct ring r;
    unsigned char a[3000], b[3000];

    if (!CHECK_INT_EQ(ring_init(&r, 4096), 0))
        return;
    /* Advance to 3000 bytes in, so a 3000-byte record straddles the end. */
    fill_pattern(a, sizeof a, 2);
    ring_put(&r, 0, a, 3000);
    ring_publish(&r, 3000);
    ring_consume(&r, 3000);
    CHECK_INT_EQ(ring_write_space(&r), 4096);

    fill_pattern(a, sizeof a, 3);
    ring_put(&r, 0, a, 1000);           /* 3000..3999 */
    ring_put(&r, 1000, a + 1000, 2000); /* 4000..5999: wraps inside this put */
    ring_publish(&r, 3000);
    /* The raw buffer holds the record split at the end. */
    CHECK(memcmp(r.buf + 3000, a, 1096) == 0);
    CHECK(memcmp(r.buf, a + 1096, 3000 - 1096) == 0);
    memset(b, 0, sizeof b);
    ring_peek(&r, 0, b, 3000);
    CHECK(memcmp(a, b, 3000) == 0);
    /* Peeks that start before and after the end of the buffer. */
    ring_peek(&r, 1090, b, 20);
    CHECK(memcmp(a + 1090, b, 20) == 0);
    ring_peek(&r, 1096, b, 10);
    CHECK(memcmp(a + 1096, b, 10) == 0);
    ring_peek(&r, 2000, b, 1000);
    CHECK(memcmp(a + 2000, b, 1000) == 0);
    ring_consume(&r, 1000);
    ring_peek(&r, 0, b, 2000);
    CHECK(memcmp(a + 1000, b, 2000) == 0);
    ring_consume(&r, 2000);
    CHECK_INT_EQ(ring_read_space(&r), 0);

    /* Every split position of a record across the end, in a ring of one
     * page and in one of three. */
    for (size_t start = 4096 - 64; start <= 12288; start++) {
        if (start == 4097)
            start = 12288 - 64;
        size_t size = start > 4096 ? 12288 : 4096;
        ring_free(&r);
        if (!CHECK_INT_EQ(ring_init(&r, size), 0))
            return;
        set_counters(&r, start);
        fill_pattern(a, 100, (unsigned)start);
        ring_put(&r, 0, a, 37);
        ring_put(&r, 37, a + 37, 63);
        ring_publish(&r, 100);
        memset(b, 0, 100);
        ring_peek(&r, 0, b, 100);
        if (!CHECK(memcmp(a, b, 100) == 0))
            break;
        /* In place exactly when the record does not wrap. */
        const unsigned char *in = ring_peek_ptr(&r, 0, 100);
        size_t pos = start % size;
        if (!CHECK((in != NULL) == (size - pos >= 100)))
            break;
        if (in && !CHECK(memcmp(in, a, 100) == 0))
            break;
        in = ring_peek_ptr(&r, 37, 63);
        if (in && !CHECK(memcmp(in, a + 37, 63) == 0))
            break;
        ring_consume(&r, 100);
    }
    ring_free(&r);
}

static void
test_full(void)
{
    struct ring r;
    unsigned char a[4096], b[4096];
    size_t rec = 1000;
    int written = 0, refused = 0;

    if (!CHECK_INT_EQ(ring_init(&r, 4096), 0))
        return;
    fill_pattern(a, sizeof a, 4);
    /* Records of 1000 bytes: four fit, the fifth is refused by the check. */
    for (int i = 0; i < 5; i++) {
        if (ring_write_space(&r) < rec) {
            refused++;
            continue;
        }
        ring_put(&r, 0, a + i * 10, rec);
        ring_publish(&r, rec);
        written++;
    }
    CHECK_INT_EQ(written, 4);
    CHECK_INT_EQ(refused, 1);
    CHECK_INT_EQ(ring_write_space(&r), 96);
    /* Fill to exactly full. */
    ring_put(&r, 0, a, 96);
    ring_publish(&r, 96);
    CHECK_INT_EQ(ring_write_space(&r), 0);
    CHECK_INT_EQ(ring_read_space(&r), 4096);
    CHECK(ring_write_space(&r) < 1); /* even one byte is refused */
    ring_peek(&r, 0, b, 4096);
    for (int i = 0; i < 4; i++)
        CHECK(memcmp(b + i * 1000, a + i * 10, 1000) == 0);
    CHECK(memcmp(b + 4000, a, 96) == 0);
    /* Freeing one record makes room for exactly one more. */
    ring_consume(&r, rec);
    CHECK_INT_EQ(ring_write_space(&r), rec);
    ring_put(&r, 0, a + 500, rec);
    ring_publish(&r, rec);
    CHECK_INT_EQ(ring_write_space(&r), 0);
    ring_peek(&r, 4096 - rec, b, rec);
    CHECK(memcmp(b, a + 500, rec) == 0);
    ring_free(&r);
}

static void
test_counter_wrap(void)
{
    struct ring r;
    unsigned char a[600], b[600];

    if (!CHECK_INT_EQ(ring_init(&r, 4096), 0))
        return;
    for (size_t back = 1; back <= 700; back += 233) {
        set_counters(&r, SIZE_MAX - back + 1); /* `back` bytes before the wrap */
        CHECK_INT_EQ(ring_write_space(&r), 4096);
        CHECK_INT_EQ(ring_read_space(&r), 0);
        /* Several records that carry the counters across SIZE_MAX. */
        for (unsigned k = 0; k < 4; k++) {
            size_t len = 300 + k * 50;
            fill_pattern(a, len, k + 10);
            ring_put(&r, 0, a, 100);
            ring_put(&r, 100, a + 100, len - 100);
            CHECK_INT_EQ(ring_read_space(&r), 0);
            ring_publish(&r, len);
            CHECK_INT_EQ(ring_read_space(&r), len);
            CHECK_INT_EQ(ring_write_space(&r), 4096 - len);
            memset(b, 0, len);
            ring_peek(&r, 0, b, len);
            CHECK(memcmp(a, b, len) == 0);
            ring_consume(&r, len);
            CHECK_INT_EQ(ring_read_space(&r), 0);
            CHECK_INT_EQ(ring_write_space(&r), 4096);
        }
        /* Fill to full across the wrap: head has wrapped, tail has not. */
        set_counters(&r, SIZE_MAX - back + 1);
        for (int i = 0; i < 8; i++) {
            fill_pattern(a, 512, (unsigned)i);
            CHECK(ring_write_space(&r) >= 512);
            ring_put(&r, 0, a, 512);
            ring_publish(&r, 512);
        }
        CHECK_INT_EQ(ring_write_space(&r), 0);
        CHECK_INT_EQ(ring_read_space(&r), 4096);
        CHECK(atomic_load(&r.head) < atomic_load(&r.tail));
        for (int i = 0; i < 8; i++) {
            ring_peek(&r, 0, b, 512);
            CHECK(check_pattern(b, 512, (unsigned)i));
            ring_consume(&r, 512);
        }
        CHECK_INT_EQ(ring_read_space(&r), 0);
    }
    ring_free(&r);
}

/* ---- two-thread stress test ---- */

#define STRESS_MAX_RECORDS 2000000u
#define STRESS_MAX_PAYLOAD 1500u
#define STRESS_SECONDS     1.0

struct rec_hdr {
    uint32_t seq;
    uint32_t len;    /* payload bytes after the header */
    uint32_t hcheck; /* seq ^ len ^ magic: catches a header read too early */
};

#define REC_MAGIC 0x5EC0DE5Au

struct stress {
    struct ring r;
    atomic_int done;
    /* producer results */
    unsigned long attempts, published, dropped;
    /* consumer results */
    unsigned long received, corrupt, torn, out_of_order, gaps;
    uint64_t bytes;
    uint32_t last_seq; /* of the last record delivered */
};

static double
now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
stress_producer(void *arg)
{
    struct stress *s = arg;
    unsigned char payload[STRESS_MAX_PAYLOAD];
    uint64_t rng = 0x243F6A8885A308D3u;
    double t0 = now_seconds();

    for (uint32_t seq = 1; seq <= STRESS_MAX_RECORDS; seq++) {
        if ((seq & 1023) == 0 && now_seconds() - t0 > STRESS_SECONDS)
            break;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        struct rec_hdr h = {.seq = seq, .len = (uint32_t)(rng % (STRESS_MAX_PAYLOAD + 1))};
        h.hcheck = h.seq ^ h.len ^ REC_MAGIC;
        size_t total = sizeof h + h.len;

        s->attempts++;
        if (ring_write_space(&s->r) < total) {
            s->dropped++; /* all or nothing: never a partial record */
            if ((rng & 15) == 0)
                sched_yield();
            continue;
        }
        fill_pattern(payload, h.len, seq);
        /* Payload first, header last, in pieces, at offsets. */
        size_t half = h.len / 2;
        ring_put(&s->r, sizeof h + half, payload + half, h.len - half);
        ring_put(&s->r, sizeof h, payload, half);
        ring_put(&s->r, 0, &h, sizeof h);
        ring_publish(&s->r, total);
        s->published++;
    }
    atomic_store(&s->done, 1);
    return NULL;
}

static void *
stress_consumer(void *arg)
{
    struct stress *s = arg;
    unsigned char payload[STRESS_MAX_PAYLOAD];
    uint32_t last = 0;

    for (;;) {
        int done = atomic_load(&s->done);
        size_t avail = ring_read_space(&s->r);
        if (avail == 0) {
            if (done)
                break;
            sched_yield();
            continue;
        }
        while (avail > 0) {
            struct rec_hdr h;
            if (avail < sizeof h) {
                s->torn++;
                return NULL;
            }
            ring_peek(&s->r, 0, &h, sizeof h);
            if (h.hcheck != (h.seq ^ h.len ^ REC_MAGIC) || h.len > STRESS_MAX_PAYLOAD) {
                s->corrupt++;
                return NULL;
            }
            if (avail < sizeof h + h.len) {
                s->torn++; /* a record was visible only in part */
                return NULL;
            }
            ring_peek(&s->r, sizeof h, payload, h.len);
            if (!check_pattern(payload, h.len, h.seq))
                s->corrupt++;
            if (h.seq <= last)
                s->out_of_order++;
            else if (h.seq != last + 1)
                s->gaps += h.seq - last - 1;
            last = h.seq;
            ring_consume(&s->r, sizeof h + h.len);
            avail -= sizeof h + h.len;
            s->received++;
            s->bytes += sizeof h + h.len;
            s->last_seq = last;
        }
    }
    return NULL;
}

static void
test_stress_one(size_t ring_bytes, size_t start)
{
    struct stress *s = calloc(1, sizeof *s);
    pthread_t prod, cons;

    if (!CHECK(s != NULL))
        return;
    if (!CHECK_INT_EQ(ring_init(&s->r, ring_bytes), 0)) {
        free(s);
        return;
    }
    set_counters(&s->r, start);
    atomic_init(&s->done, 0);
    if (!CHECK_INT_EQ(pthread_create(&cons, NULL, stress_consumer, s), 0) ||
        !CHECK_INT_EQ(pthread_create(&prod, NULL, stress_producer, s), 0)) {
        exit(unit_summary("test_ring"));
    }
    pthread_join(prod, NULL);
    pthread_join(cons, NULL);

    CHECK_INT_EQ(s->corrupt, 0);
    CHECK_INT_EQ(s->torn, 0);
    CHECK_INT_EQ(s->out_of_order, 0);
    CHECK_INT_EQ(s->received, s->published);
    CHECK_INT_EQ(s->published + s->dropped, s->attempts);
    /* Every missing sequence number was a counted drop (attempts are 1..N). */
    CHECK_INT_EQ(s->gaps + (s->attempts - s->last_seq), s->dropped);
    CHECK(s->received > 0);
    CHECK_INT_EQ(ring_read_space(&s->r), 0);
    printf("  stress ring=%zu start=SIZE_MAX-%zu: %lu records (%.1f MB) delivered, %lu dropped\n",
           s->r.size, SIZE_MAX - start, s->received, (double)s->bytes / 1e6, s->dropped);
    ring_free(&s->r);
    free(s);
}

static void
test_stress(void)
{
    /* A small ring forces many drops and wraps; a larger one few drops.  The
     * second run starts the counters just before SIZE_MAX. */
    test_stress_one(4096, 0);
    test_stress_one(65536, SIZE_MAX - 1000);
    test_stress_one(12288, SIZE_MAX - 5000); /* not a power of two */
}

/* The freewheel producer's wait: woken by the consumer as it frees space,
 * or given up after its timeout. */
struct wait_arg {
    struct ring *r;
    size_t len;
};

static void *
consume_later(void *p)
{
    struct wait_arg *a = p;
    struct timespec nap = {0, 50 * 1000000L};
    nanosleep(&nap, NULL);
    ring_consume(a->r, a->len);
    return NULL;
}

static void
test_wait_space(void)
{
    struct ring r;
    unsigned char page[RING_PAGE];
    memset(page, 1, sizeof page);
    if (!CHECK(ring_init(&r, 2 * RING_PAGE) == 0) || !CHECK(ring_bell(&r) == 0))
        return;
    ring_put(&r, 0, page, sizeof page);
    ring_put(&r, sizeof page, page, sizeof page);
    ring_publish(&r, 2 * sizeof page);
    CHECK_INT_EQ(ring_write_space(&r), 0);
    /* Nobody frees: the wait gives up after its timeout. */
    double t0 = now_seconds();
    CHECK_INT_EQ(ring_wait_space(&r, RING_PAGE, 30), -1);
    double waited = now_seconds() - t0;
    CHECK(waited >= 0.029 && waited < 1.0);
    /* The consumer frees a page 50 ms from now: woken by it, long before the timeout. */
    pthread_t t;
    struct wait_arg a = {&r, RING_PAGE};
    pthread_create(&t, NULL, consume_later, &a);
    t0 = now_seconds();
    CHECK_INT_EQ(ring_wait_space(&r, RING_PAGE, 10000), 0);
    waited = now_seconds() - t0;
    CHECK(waited >= 0.04 && waited < 5.0);
    pthread_join(t, NULL);
    CHECK_INT_EQ(ring_write_space(&r), RING_PAGE);
    CHECK_INT_EQ(atomic_load(&r.waiting), 0);
    /* Room already there: no wait at all. */
    CHECK_INT_EQ(ring_wait_space(&r, RING_PAGE, 0), 0);
    ring_free(&r);
    CHECK_INT_EQ(r.bell, -1);
}

/* The producer reads back what it put and has not published, wrapped
 * around the end of the buffer or not. */
static void
test_unpublished(void)
{
    struct ring r;
    unsigned char a[1000], b[3000];
    const unsigned char *p;
    if (!CHECK(ring_init(&r, RING_PAGE) == 0))
        return;
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (unsigned char)(i * 7 + 1);
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (unsigned char)(i * 13 + 5);
    ring_put(&r, 100, a, sizeof a);
    CHECK_INT_EQ(ring_unpublished(&r, 100, sizeof a, &p), sizeof a);
    CHECK(memcmp(p, a, sizeof a) == 0);
    /* Move the head to 3000 bytes in: the next 3000 wrap after 1096. */
    ring_publish(&r, 3000);
    ring_consume(&r, 3000);
    ring_put(&r, 0, b, sizeof b);
    size_t k = ring_unpublished(&r, 0, sizeof b, &p);
    CHECK_INT_EQ(k, RING_PAGE - 3000);
    CHECK(memcmp(p, b, k) == 0 && memcmp(r.buf, b + k, sizeof b - k) == 0);
    /* From an offset past the wrap: all in one piece at the start. */
    k = ring_unpublished(&r, 2000, 500, &p);
    CHECK_INT_EQ(k, 500);
    CHECK(p == r.buf + 904 && memcmp(p, b + 2000, 500) == 0);
    ring_free(&r);
}

int
main(void)
{
    test_init();
    test_unpublished();
    test_accounting();
    test_wrap();
    test_full();
    test_counter_wrap();
    test_stress();
    test_wait_space();
    return unit_summary("test_ring");
}
