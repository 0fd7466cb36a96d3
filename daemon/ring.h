/* ring — a lock-free single-producer/single-consumer byte ring.
 *
 * The producer reserves space, copies any number of pieces into it and then
 * publishes them in one step; the consumer sees either nothing or the whole
 * record.  That is what makes a JACK period "all or nothing": the engine
 * checks for room for every channel of the period first, and the writer can
 * never observe half a period.  Safe for exactly one producer thread and one
 * consumer thread; no locks, no allocation after ring_init(). */
#ifndef STEMCAP_RING_H
#define STEMCAP_RING_H

#include <stdatomic.h>
#include <stddef.h>

#define RING_PAGE 4096 /* sizes are whole multiples of this */

struct ring {
    unsigned char *buf;
    size_t size;                     /* a multiple of RING_PAGE */
    int locked;                      /* buf is mlock()ed */
    _Alignas(64) atomic_size_t head; /* total bytes published by the producer */
    size_t wpos;                     /* producer's index into buf, < size */
    _Alignas(64) atomic_size_t tail; /* total bytes released by the consumer */
    size_t rpos;                     /* consumer's index into buf, < size */
    int bell;                        /* eventfd of ring_wait_space, -1 = none */
    atomic_int waiting;              /* the producer waits on the bell */
};

/* Allocates at least `min_bytes` (rounded up to whole pages), touches
 * every page and tries to mlock() it.  Returns 0 or -1 (logged by caller
 * through errno: ENOMEM). */
int ring_init(struct ring *r, size_t min_bytes);
void ring_free(struct ring *r);

/* Producer side. */
size_t ring_write_space(const struct ring *r);
/* Copies `len` bytes to offset `off` past the published head (not yet
 * visible to the consumer).  The caller has checked the space. */
void ring_put(struct ring *r, size_t off, const void *src, size_t len);
/* Makes `len` bytes past the head visible to the consumer at once. */
void ring_publish(struct ring *r, size_t len);
/* A hint, nothing more: asks the CPU to bring the `len` bytes at offset
 * `off` past the head (what the next record will fill) into its cache now,
 * so that the next ring_put finds them there instead of waiting for
 * memory.  No effect on the ring's contents or accounting. */
void ring_prefetch(const struct ring *r, size_t off, size_t len);
/* The `len` bytes put at offset `off` past the head and not yet published,
 * read back in place: *p points at the first of them, and the returned
 * count of them lie there; the rest (when they wrap around the end of the
 * buffer) are at r->buf. */
size_t ring_unpublished(const struct ring *r, size_t off, size_t len, const unsigned char **p);

/* Not for real-time use: lets the producer wait for room instead of
 * polling (JACK's freewheel mode).  ring_bell() sets it up once (0 or -1);
 * ring_wait_space() blocks until `need` bytes are free, or returns -1
 * after timeout_ms; every ring_consume() then wakes it. */
int ring_bell(struct ring *r);
int ring_wait_space(struct ring *r, size_t need, int timeout_ms);

/* Consumer side. */
size_t ring_read_space(const struct ring *r);
/* Copies `len` bytes from offset `off` past the tail; does not consume. */
void ring_peek(const struct ring *r, size_t off, void *dst, size_t len);
/* The `len` bytes from offset `off` past the tail in place, or NULL when
 * they wrap around the end of the buffer (then ring_peek them); valid until
 * ring_consume.  Does not consume. */
const void *ring_peek_ptr(const struct ring *r, size_t off, size_t len);
/* Releases `len` bytes back to the producer. */
void ring_consume(struct ring *r, size_t len);

#endif
