/* writer — the disk thread.
 *
 * It wakes every WRITER_POLL_MS (or at once when the control thread has a
 * request), every WRITER_HURRY_MS while JACK freewheels or the ring is more
 * than a quarter full, drains every complete record from the capture ring
 * and routes
 * it by take id to one of two slots: the take recording and the next one,
 * which the control thread prepares in advance so that a take can follow
 * another in the very next JACK cycle (a relocate while following the
 * transport).
 *
 * Latency alignment.  A channel whose capture latency is L frames carries,
 * in the cycle at frame f, what the timeline played at f - L.  The writer
 * advances each channel by its own latency (skips its first L samples), so
 * sample i of every file is timeline position start + i, whatever latency a
 * DAW bus had; at the end every file is cut to the same length.  Channels
 * are staged in per-channel FIFOs for that; files get large interleaved
 * blocks (WRITER_BLOCK frames), not one write per JACK period.  Integer
 * PCM is interleaved, converted and packed in one pass (pcm.c, the same
 * bytes libsndfile would write) and handed over with sf_write_raw; float
 * and double go through sf_writef_float.
 *
 * Headers are rewritten at least once a second (SFC_UPDATE_HEADER_NOW), so a
 * killed daemon leaves files readable up to a second before the kill.  The
 * bext chunk goes in before the first audio, when the first record tells
 * the transport frame.  Dropped periods (dropped_before) become silence in
 * every file at their position.  Write errors are logged once and
 * published in `failed`; after one nothing more is written to any file of
 * the take, so every file ends at the same frame.  The writer never talks
 * OSC; the control thread never touches a take's files while the writer
 * owns them (writer_begin .. writer_finish/discard). */
#include "writer.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pcm.h"

#define WRITER_POLL_MS  250 /* 0.86 MB of 18 channels at 48 kHz: many blocks per wake */
#define WRITER_HURRY_MS 5   /* freewheeling or behind: keep the ring from filling */
#define WRITER_PIECE    256 /* frames appended at a time (at most a JACK period) */
#define WRITER_MAX_SKIP CONF_MAX_OFFSET

static double
writer_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
writer_fail(struct writer *w, struct take *t, struct take_file *f, const char *what)
{
    if (!atomic_load(&w->failed))
        log_error("write error in take %d, '%s/%s': %s; the take stops growing here", t->number,
                  t->dir, f->name, what);
    atomic_store(&w->failed, 1);
    t->error = 1;
}

/* Writes the frames every channel has (all of them when `force`, else only
 * whole blocks) to every file, and shifts the stages. */
static void
writer_flush(struct writer *w, struct writer_slot *s, int force)
{
    struct take *t = s->take;
    uint32_t ready = UINT32_MAX;

    for (uint32_t c = 0; c < t->nch; c++)
        if (s->sfill[c] < ready)
            ready = s->sfill[c];
    if (!force)
        ready -= ready % WRITER_BLOCK;
    for (uint32_t done = 0; done < ready;) {
        uint32_t n = ready - done > WRITER_BLOCK ? WRITER_BLOCK : ready - done;
        for (int i = 0; i < t->nfiles && !t->error; i++) {
            struct take_file *f = &t->file[i];
            const float *l = s->stage[f->ch[0]] + done, *r = s->stage[f->ch[1]] + done;
            sf_count_t got, want;
            double t0;
            if (s->pcm_width) {
                want = (sf_count_t)n * 2 * s->pcm_width;
                pcm_pack_stereo((unsigned char *)s->scratch, l, r, n, s->pcm_width, s->pcm_big);
                t0 = writer_now();
                got = sf_write_raw(f->sf, s->scratch, want);
            } else {
                want = n;
                for (uint32_t k = 0; k < n; k++) {
                    s->scratch[2 * k] = l[k];
                    s->scratch[2 * k + 1] = r[k];
                }
                t0 = writer_now();
                got = sf_writef_float(f->sf, s->scratch, n);
            }
            unsigned us = (unsigned)((writer_now() - t0) * 1e6);
            if (us > atomic_load_explicit(&w->write_max_us, memory_order_relaxed))
                atomic_store_explicit(&w->write_max_us, us, memory_order_relaxed);
            if (got != want)
                writer_fail(w, t, f, sf_strerror(f->sf));
            else
                f->frames += n;
        }
        done += n;
    }
    for (uint32_t c = 0; c < t->nch; c++) {
        memmove(s->stage[c], s->stage[c] + ready, (s->sfill[c] - ready) * sizeof(float));
        s->sfill[c] -= ready;
    }
}

/* Appends n <= WRITER_PIECE frames of planar `src` (NULL = silence). */
static void
writer_piece(struct writer *w, struct writer_slot *s, const float *src, uint32_t stride, uint32_t n)
{
    struct take *t = s->take;

    /* Never true (see writer_begin); if it were, writing out what every
     * stage has keeps the files aligned and makes room. */
    for (uint32_t c = 0; c < t->nch; c++)
        if (s->sfill[c] + n > s->scap) {
            writer_flush(w, s, 1);
            break;
        }
    for (uint32_t c = 0; c < t->nch; c++) {
        uint32_t k = s->skip[c] < n ? s->skip[c] : n;
        s->skip[c] -= k;
        float *dst = s->stage[c] + s->sfill[c];
        if (src)
            memcpy(dst, src + (size_t)c * stride + k, (n - k) * sizeof(float));
        else
            memset(dst, 0, (n - k) * sizeof(float));
        s->sfill[c] += n - k;
    }
    uint32_t min = UINT32_MAX;
    for (uint32_t c = 0; c < t->nch; c++)
        if (s->sfill[c] < min)
            min = s->sfill[c];
    if (min >= WRITER_BLOCK)
        writer_flush(w, s, 0);
}

static void
writer_append(struct writer *w, struct writer_slot *s, const float *src, uint32_t n)
{
    for (uint32_t done = 0; done < n;) {
        uint32_t k = n - done > WRITER_PIECE ? WRITER_PIECE : n - done;
        writer_piece(w, s, src ? src + done : NULL, n, k);
        done += k;
    }
}

static void
writer_silence(struct writer *w, struct writer_slot *s, uint64_t frames)
{
    struct take *t = s->take;

    if (frames == 0)
        return;
    if (t->ndrops < TAKE_MAX_DROPS) {
        t->drop[t->ndrops].at = s->pos;
        t->drop[t->ndrops].frames = frames;
        t->ndrops++;
    }
    t->dropped += frames;
    log_warn("take %d: %llu frames dropped at frame %llu (disk too slow or a JACK cycle "
             "missed); silence inserted in every file",
             t->number, (unsigned long long)frames, (unsigned long long)s->pos);
    s->pos += frames;
    while (frames > 0) {
        uint32_t n = frames > WRITER_PIECE ? WRITER_PIECE : (uint32_t)frames;
        writer_append(w, s, NULL, n);
        frames -= n;
    }
}

static struct writer_slot *
writer_slot_of(struct writer *w, unsigned id)
{
    for (int i = 0; i < WRITER_SLOTS; i++)
        if (w->slot[i].take && w->slot[i].take->id == id)
            return &w->slot[i];
    return NULL;
}

/* Drains every complete record; records of takes not held are discarded. */
static void
writer_drain(struct writer *w, struct ring *ring)
{
    struct engine_rec h;

    if (!ring)
        return;
    while (ring_read_space(ring) >= sizeof h) {
        ring_peek(ring, 0, &h, sizeof h);
        size_t bytes = (size_t)h.nch * h.nframes * sizeof(float);
        if (h.magic != ENGINE_REC_MAGIC || ring_read_space(ring) < sizeof h + bytes) {
            /* Cannot happen with one producer publishing whole records. */
            log_error("capture ring corrupt (magic 0x%08x); resetting it", h.magic);
            ring_consume(ring, ring_read_space(ring));
            return;
        }
        /* Slots are filled by writer_begin under the lock: look up there. */
        pthread_mutex_lock(&w->lock);
        struct writer_slot *s = writer_slot_of(w, h.take);
        int use = s && !s->discard && !s->finished;
        pthread_mutex_unlock(&w->lock);
        if (use && h.nch == s->take->nch) {
            /* In place when the record does not wrap (nearly always). */
            const float *src = ring_peek_ptr(ring, sizeof h, bytes);
            if (!src && bytes > w->rec_cap) {
                float *p = realloc(w->rec, bytes);
                if (!p) {
                    log_error("writer: out of memory for a %zu-byte period", bytes);
                    ring_consume(ring, sizeof h + bytes);
                    continue;
                }
                w->rec = p;
                w->rec_cap = bytes;
            }
            if (!src) {
                ring_peek(ring, sizeof h, w->rec, bytes);
                src = w->rec;
            }
            if (!s->started) {
                s->started = 1;
                s->last_header = writer_now();
                take_set_bext(s->take,
                              h.tframe >= h.dropped_before ? h.tframe - h.dropped_before : 0);
            }
            writer_silence(w, s, h.dropped_before);
            writer_append(w, s, src, h.nframes);
            s->pos += h.nframes;
        }
        ring_consume(ring, sizeof h + bytes);
    }
}

static void
writer_update_headers(struct writer *w, struct writer_slot *s)
{
    struct take *t = s->take;

    writer_flush(w, s, 1);
    if (t->error)
        return;
    for (int i = 0; i < t->nfiles; i++)
        sf_command(t->file[i].sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
}

static void
writer_slot_free(struct writer_slot *s)
{
    for (int c = 0; c < ENGINE_MAX_CH; c++)
        free(s->stage[c]);
    free(s->scratch);
    memset(s, 0, sizeof *s);
}

/* Ends a slot's take (writer thread, lock not held). */
static void
writer_close_slot(struct writer *w, struct writer_slot *s)
{
    struct take *t = s->take;

    if (!s->discard) {
        writer_silence(w, s, s->tail);
        writer_flush(w, s, 1); /* every channel to the shortest: same length */
        t->frames = t->nfiles ? t->file[0].frames : 0;
        if (t->error) {
            /* A write failed part-way through a block (disk full): cut
             * every file to the frames all of them have, so the take ends
             * cleanly at one frame. */
            sf_count_t common = INT64_MAX;
            for (int i = 0; i < t->nfiles; i++)
                if ((sf_count_t)t->file[i].frames < common)
                    common = (sf_count_t)t->file[i].frames;
            for (int i = 0; i < t->nfiles; i++)
                if (sf_command(t->file[i].sf, SFC_FILE_TRUNCATE, &common, sizeof common) != 0)
                    log_warn("cannot cut '%s/%s' to %lld frames: %s", t->dir, t->file[i].name,
                             (long long)common, sf_strerror(t->file[i].sf));
            t->frames = (uint64_t)common;
            log_error("take %d ends at frame %llu in every file after the write error", t->number,
                      (unsigned long long)common);
        }
        if (take_close(t) < 0)
            t->error = 1;
    }
}

/* Test hook: while the file named by $STEMCAP_TEST_STALL exists, the disk
 * thread does nothing, as if the disk had stalled.  Tests use it to prove
 * that a stall within the ring loses nothing and a longer one drops frames
 * identically in every file. */
static void
writer_test_stall(struct writer *w)
{
    struct timespec nap = {0, 10000000L};
    while (w->stall_path && access(w->stall_path, F_OK) == 0)
        nanosleep(&nap, NULL);
}

static void *
writer_main(void *arg)
{
    struct writer *w = arg;
    sigset_t all;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_mutex_lock(&w->lock);
    for (;;) {
        int work = 0;
        for (int i = 0; i < WRITER_SLOTS; i++)
            work |= w->slot[i].take && w->slot[i].finish && !w->slot[i].finished;
        if (!work && !w->quit) {
            struct timespec ts;
            int hurry = (w->hurry && atomic_load_explicit(w->hurry, memory_order_relaxed)) ||
                        (w->ring && ring_read_space(w->ring) > w->ring->size / 4);
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += (hurry ? WRITER_HURRY_MS : WRITER_POLL_MS) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&w->cond, &w->lock, &ts);
        }
        int finishing[WRITER_SLOTS], live[WRITER_SLOTS];
        for (int i = 0; i < WRITER_SLOTS; i++) {
            finishing[i] = w->slot[i].take && w->slot[i].finish && !w->slot[i].finished;
            live[i] = w->slot[i].take && !w->slot[i].finish;
        }
        int quit = w->quit;
        struct ring *ring = w->ring;
        w->iter++;
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);

        /* The slots' takes do not change while unlocked: only this thread
         * frees a slot, and writer_begin only fills a free one. */
        writer_test_stall(w);
        writer_drain(w, ring);
        for (int i = 0; i < WRITER_SLOTS; i++) {
            struct writer_slot *s = &w->slot[i];
            if (finishing[i])
                writer_close_slot(w, s);
            else if (live[i] && s->started && !s->take->error &&
                     writer_now() - s->last_header >= 1.0) {
                writer_update_headers(w, s);
                s->last_header = writer_now();
            }
        }

        pthread_mutex_lock(&w->lock);
        for (int i = 0; i < WRITER_SLOTS; i++) {
            if (finishing[i]) {
                w->slot[i].finished = 1;
                pthread_cond_broadcast(&w->cond);
            }
        }
        int busy = 0;
        for (int i = 0; i < WRITER_SLOTS; i++)
            busy |= w->slot[i].take != NULL;
        if (quit && !busy)
            break;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int
writer_start(struct writer *w, struct ring *ring, const atomic_int *hurry)
{
    pthread_condattr_t ca;
    int e;

    memset(w, 0, sizeof *w);
    w->ring = ring;
    w->hurry = hurry;
    w->stall_path = getenv("STEMCAP_TEST_STALL");
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    e = pthread_create(&w->thread, NULL, writer_main, w);
    if (e) {
        log_error("cannot start the writer thread: %s", strerror(e));
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        return -1;
    }
    w->running = 1;
    return 0;
}

int
writer_begin(struct writer *w, struct take *t)
{
    struct writer_slot fresh;
    uint32_t maxskip = 0;

    memset(&fresh, 0, sizeof fresh);
    for (uint32_t c = 0; c < t->nch; c++) {
        fresh.skip[c] = t->latency[c] > WRITER_MAX_SKIP ? WRITER_MAX_SKIP : t->latency[c];
        if (fresh.skip[c] > maxskip)
            maxskip = fresh.skip[c];
    }
    /* The stages differ by the latency skipped (maxskip at most) and are
     * written out whenever the shortest holds a block, so before each
     * append every stage holds less than WRITER_BLOCK + maxskip frames. */
    fresh.scap = WRITER_BLOCK + maxskip + WRITER_PIECE;
    /* Integer PCM is packed here; float and double go through libsndfile. */
    static const int width[] = {
        [CONF_SAMPLE_PCM16] = 2, [CONF_SAMPLE_PCM24] = 3, [CONF_SAMPLE_PCM32] = 4};
    if ((size_t)t->sample_format < sizeof width / sizeof width[0])
        fresh.pcm_width = width[t->sample_format];
    fresh.pcm_big = t->format == CONF_FORMAT_AIFF;
    fresh.scratch = malloc((size_t)WRITER_BLOCK * 2 * sizeof(float)); /* >= 2 x 4 bytes a frame */
    int ok = fresh.scratch != NULL;
    for (uint32_t c = 0; ok && c < t->nch; c++)
        ok = (fresh.stage[c] = malloc((size_t)fresh.scap * sizeof(float))) != NULL;
    if (!ok) {
        log_error("writer: cannot allocate the buffers of take %d: %s", t->number,
                  strerror(ENOMEM));
        writer_slot_free(&fresh);
        return -1;
    }
    fresh.take = t;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < WRITER_SLOTS; i++) {
        if (!w->slot[i].take) {
            w->slot[i] = fresh;
            pthread_mutex_unlock(&w->lock);
            return 0;
        }
    }
    pthread_mutex_unlock(&w->lock);
    writer_slot_free(&fresh);
    log_error("writer: no free slot for take %d", t->number);
    return -1;
}

static int
writer_end(struct writer *w, struct take *t, uint64_t tail, int discard)
{
    struct writer_slot *s;
    int rc;

    pthread_mutex_lock(&w->lock);
    s = writer_slot_of(w, t->id);
    if (!s) {
        pthread_mutex_unlock(&w->lock);
        return -1;
    }
    s->tail = tail;
    s->discard = discard;
    s->finish = 1;
    pthread_cond_broadcast(&w->cond);
    while (!s->finished)
        pthread_cond_wait(&w->cond, &w->lock);
    rc = t->error ? -1 : 0;
    writer_slot_free(s);
    atomic_store(&w->failed, 0);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

int
writer_finish(struct writer *w, struct take *t, uint64_t tail_dropped)
{
    return writer_end(w, t, tail_dropped, 0);
}

void
writer_discard(struct writer *w, struct take *t)
{
    writer_end(w, t, 0, 1);
}

void
writer_set_ring(struct writer *w, struct ring *ring)
{
    pthread_mutex_lock(&w->lock);
    w->ring = ring;
    unsigned long gen = w->iter;
    pthread_cond_broadcast(&w->cond);
    while (w->iter == gen && w->running)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

void
writer_stop(struct writer *w)
{
    if (!w->running)
        return;
    pthread_mutex_lock(&w->lock);
    w->quit = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    for (int i = 0; i < WRITER_SLOTS; i++)
        writer_slot_free(&w->slot[i]);
    free(w->rec);
    w->rec = NULL;
    w->running = 0;
}
