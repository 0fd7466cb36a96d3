/* ring — lock-free SPSC byte ring with C11 atomics (the contract is in ring.h).  The producer
 * owns head and wpos, the consumer tail and rpos; each reads the other's counter with acquire and
 * publishes its own with release.  The buffer is any whole number of pages, touched and mlock()ed
 * in ring_init(); after that nothing here allocates, locks or blocks, but ring_wait_space().
 * Design: docs/DESIGN.md, section "The ring". */
#include "ring.h"

#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int
ring_init(struct ring *r, size_t min_bytes)
{
    size_t size;

    memset(r, 0, sizeof *r);
    r->bell = -1;
    if (min_bytes > ((size_t)-1) / 4)
        return -1;
    size = min_bytes < RING_PAGE ? RING_PAGE : (min_bytes + RING_PAGE - 1) / RING_PAGE * RING_PAGE;
    r->buf = aligned_alloc(64, size);
    if (!r->buf)
        return -1;
    memset(r->buf, 0, size); /* touch every page before real-time use */
    r->locked = mlock(r->buf, size) == 0;
    r->size = size;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return 0;
}

void
ring_free(struct ring *r)
{
    if (r->buf) {
        if (r->locked)
            munlock(r->buf, r->size);
        free(r->buf);
    }
    r->buf = NULL;
    if (r->bell >= 0)
        close(r->bell);
    r->bell = -1;
}

int
ring_bell(struct ring *r)
{
    if (r->bell < 0)
        r->bell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return r->bell >= 0 ? 0 : -1;
}

/* For a producer that may block (JACK's freewheel mode is not real time): it announces itself
 * in `waiting` and sleeps on an eventfd that the consumer rings after freeing space, a fence on
 * each side so that one of them always sees the other (no lost wake-up). */
int
ring_wait_space(struct ring *r, size_t need, int timeout_ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (ring_write_space(r) >= need)
            return 0;
        atomic_store_explicit(&r->waiting, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        if (ring_write_space(r) >= need) {
            atomic_store_explicit(&r->waiting, 0, memory_order_relaxed);
            return 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left =
            timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0) {
            atomic_store_explicit(&r->waiting, 0, memory_order_relaxed);
            return ring_write_space(r) >= need ? 0 : -1;
        }
        if (r->bell < 0) { /* no eventfd: poll */
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
            continue;
        }
        struct pollfd p = {.fd = r->bell, .events = POLLIN};
        if (poll(&p, 1, left > 100 ? 100 : (int)left) > 0) {
            uint64_t v;
            if (read(r->bell, &v, sizeof v) < 0) {
                /* nothing to clear: the next poll says */
            }
        }
    }
}

size_t
ring_write_space(const struct ring *r)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    return r->size - (head - tail);
}

void
ring_put(struct ring *r, size_t off, const void *src, size_t len)
{
    size_t pos = r->wpos + off;
    if (pos >= r->size)
        pos -= r->size;
    size_t first = r->size - pos;

    if (first >= len) {
        memcpy(r->buf + pos, src, len);
    } else {
        memcpy(r->buf + pos, src, first);
        memcpy(r->buf, (const unsigned char *)src + first, len - first);
    }
}

void
ring_publish(struct ring *r, size_t len)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    r->wpos += len;
    if (r->wpos >= r->size)
        r->wpos -= r->size;
    atomic_store_explicit(&r->head, head + len, memory_order_release);
}

size_t
ring_unpublished(const struct ring *r, size_t off, size_t len, const unsigned char **p)
{
    size_t pos = r->wpos + off;
    if (pos >= r->size)
        pos -= r->size;
    *p = r->buf + pos;
    return r->size - pos < len ? r->size - pos : len;
}

void
ring_prefetch(const struct ring *r, size_t off, size_t len)
{
    size_t start = r->wpos + (off < r->size ? off : 0);
    if (start >= r->size)
        start -= r->size;
    size_t pos = start & ~(size_t)63; /* buf is 64-byte aligned, size a page multiple */

    len += start & 63;
    if (len > r->size)
        len = r->size;
    for (size_t i = 0; i < len; i += 64) {
        __builtin_prefetch(r->buf + pos, 1, 3);
        pos += 64;
        if (pos >= r->size)
            pos -= r->size;
    }
}

size_t
ring_read_space(const struct ring *r)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    return head - tail;
}

void
ring_peek(const struct ring *r, size_t off, void *dst, size_t len)
{
    size_t pos = r->rpos + off;
    if (pos >= r->size)
        pos -= r->size;
    size_t first = r->size - pos;

    if (first >= len) {
        memcpy(dst, r->buf + pos, len);
    } else {
        memcpy(dst, r->buf + pos, first);
        memcpy((unsigned char *)dst + first, r->buf, len - first);
    }
}

const void *
ring_peek_ptr(const struct ring *r, size_t off, size_t len)
{
    size_t pos = r->rpos + off;
    if (pos >= r->size)
        pos -= r->size;
    return r->size - pos >= len ? r->buf + pos : NULL;
}

void
ring_consume(struct ring *r, size_t len)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    r->rpos += len;
    if (r->rpos >= r->size)
        r->rpos -= r->size;
    atomic_store_explicit(&r->tail, tail + len, memory_order_release);
    if (r->bell < 0)
        return;
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->waiting, memory_order_relaxed) &&
        atomic_exchange_explicit(&r->waiting, 0, memory_order_relaxed)) {
        uint64_t one = 1;
        if (write(r->bell, &one, sizeof one) < 0) {
            /* full counter: the producer is being woken anyway */
        }
    }
}
