/* writer — the disk thread.
 *
 * It wakes every WRITER_POLL_MS (or at once when the control thread has a
 * request), drains every complete record from the capture ring, interleaves
 * each stereo pair into a per-file block and hands libsndfile large blocks
 * (WRITER_BLOCK frames), so a 64-frame JACK period does not become nine tiny
 * write(2)s.  At least once a second every block is flushed and every header
 * rewritten (SFC_UPDATE_HEADER_NOW), so a killed daemon leaves files that
 * are readable up to a second before the kill.
 *
 * Dropped periods: a record's dropped_before says how many frames the
 * real-time thread could not queue just before it; the writer puts exactly
 * that many frames of silence into every file of the take at that point, so
 * all files keep the same length and stay on the timeline, and it keeps the
 * positions.  The writer never talks OSC; the control thread never touches
 * the files of a take while the writer owns it (between writer_begin and
 * writer_finish).  Write errors are logged once and published in `failed`;
 * after one, nothing more is written to any file of the take, so every file
 * ends at the same frame. */
#include "writer.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define WRITER_BLOCK   8192 /* frames per file per sf_writef */
#define WRITER_POLL_MS 20

struct writer_state {
    uint64_t pos;            /* frames appended to the take so far */
    const struct take *take; /* take the state belongs to */
    double last_header;      /* when headers were last rewritten */
};

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
}

static void
writer_flush(struct writer *w, struct take *t)
{
    for (int i = 0; i < t->nfiles; i++) {
        struct take_file *f = &t->file[i];
        sf_count_t n = w->fill[i];
        if (n == 0)
            continue;
        w->fill[i] = 0;
        if (atomic_load(&w->failed))
            continue;
        sf_count_t got = sf_writef_float(f->sf, w->scratch + (size_t)i * WRITER_BLOCK * 2, n);
        if (got != n)
            writer_fail(w, t, f, sf_strerror(f->sf));
        else
            f->frames += (uint64_t)n;
    }
}

static void
writer_update_headers(struct writer *w, struct take *t)
{
    writer_flush(w, t);
    if (atomic_load(&w->failed))
        return;
    for (int i = 0; i < t->nfiles; i++)
        sf_command(t->file[i].sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
}

/* Appends `n` frames from planar `src` (NULL = silence) to every file. */
static void
writer_append(struct writer *w, struct take *t, const float *src, uint32_t n)
{
    uint32_t done = 0;

    while (done < n) {
        uint32_t chunk = n - done;
        for (int i = 0; i < t->nfiles; i++)
            if (WRITER_BLOCK - w->fill[i] < chunk)
                chunk = WRITER_BLOCK - w->fill[i];
        for (int i = 0; i < t->nfiles; i++) {
            struct take_file *f = &t->file[i];
            float *dst = w->scratch + ((size_t)i * WRITER_BLOCK + w->fill[i]) * 2;
            if (src) {
                const float *l = src + (size_t)f->ch[0] * n + done;
                const float *r = src + (size_t)f->ch[1] * n + done;
                for (uint32_t k = 0; k < chunk; k++) {
                    dst[2 * k] = l[k];
                    dst[2 * k + 1] = r[k];
                }
            } else {
                memset(dst, 0, (size_t)chunk * 2 * sizeof(float));
            }
            w->fill[i] += chunk;
        }
        done += chunk;
        if (w->fill[0] == WRITER_BLOCK)
            writer_flush(w, t);
    }
}

static void
writer_silence(struct writer *w, struct take *t, uint64_t frames, uint64_t at,
               struct writer_result *res)
{
    if (frames == 0)
        return;
    if (res->ndrops < WRITER_MAX_DROPS) {
        res->drop[res->ndrops].at = at;
        res->drop[res->ndrops].frames = frames;
        res->ndrops++;
    }
    res->dropped += frames;
    log_warn("take %d: %llu frames dropped at frame %llu (disk too slow or a JACK cycle missed); "
             "silence inserted "
             "in every file",
             t->number, (unsigned long long)frames, (unsigned long long)at);
    while (frames > 0) {
        uint32_t n = frames > WRITER_BLOCK ? WRITER_BLOCK : (uint32_t)frames;
        writer_append(w, t, NULL, n);
        frames -= n;
    }
}

/* Drains every complete record; records of other takes are discarded. */
static void
writer_drain(struct writer *w, struct take *t, struct writer_state *st, struct writer_result *res)
{
    struct engine_rec h;

    while (ring_read_space(w->ring) >= sizeof h) {
        ring_peek(w->ring, 0, &h, sizeof h);
        size_t bytes = (size_t)h.nch * h.nframes * sizeof(float);
        if (h.magic != ENGINE_REC_MAGIC || ring_read_space(w->ring) < sizeof h + bytes) {
            /* Cannot happen with one producer publishing whole records. */
            log_error("capture ring corrupt (magic 0x%08x); resetting it", h.magic);
            ring_consume(w->ring, ring_read_space(w->ring));
            return;
        }
        if (t && h.take == t->id && h.nch == t->nch) {
            if (bytes > w->rec_cap) {
                float *p = realloc(w->rec, bytes);
                if (!p) {
                    log_error("writer: out of memory for a %zu-byte period", bytes);
                    ring_consume(w->ring, sizeof h + bytes);
                    continue;
                }
                w->rec = p;
                w->rec_cap = bytes;
            }
            ring_peek(w->ring, sizeof h, w->rec, bytes);
            writer_silence(w, t, h.dropped_before, st->pos, res);
            st->pos += h.dropped_before;
            writer_append(w, t, w->rec, h.nframes);
            st->pos += h.nframes;
        }
        ring_consume(w->ring, sizeof h + bytes);
    }
}

static void *
writer_main(void *arg)
{
    struct writer *w = arg;
    struct writer_state st = {0};
    sigset_t all;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);

    pthread_mutex_lock(&w->lock);
    for (;;) {
        if (!(w->take && w->finish) && !(w->quit && !w->take)) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += WRITER_POLL_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&w->cond, &w->lock, &ts);
        }
        struct take *t = w->take;
        int finish = w->finish && t;
        int quit = w->quit;
        uint64_t tail = w->tail_dropped;
        if (t && t != st.take) {
            st.take = t;
            st.pos = 0;
            st.last_header = writer_now();
        }
        pthread_mutex_unlock(&w->lock);

        writer_drain(w, t, &st, &w->result);
        if (t && !finish && writer_now() - st.last_header >= 1.0) {
            writer_update_headers(w, t);
            st.last_header = writer_now();
        }
        if (finish) {
            writer_silence(w, t, tail, st.pos, &w->result);
            st.pos += tail;
            writer_flush(w, t);
            w->result.frames = t->file[0].frames;
            if (take_close(t) < 0)
                atomic_store(&w->failed, 1);
            w->result.error = atomic_load(&w->failed);
            memset(&st, 0, sizeof st);
        }
        pthread_mutex_lock(&w->lock);
        if (finish) {
            w->take = NULL;
            w->finish = 0;
            w->finished = 1;
            pthread_cond_broadcast(&w->cond);
        }
        if (quit && !w->take)
            break;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int
writer_start(struct writer *w, struct ring *ring)
{
    pthread_condattr_t ca;
    int e;

    memset(w, 0, sizeof *w);
    w->ring = ring;
    w->scratch = calloc((size_t)TAKE_MAX_FILES * WRITER_BLOCK * 2, sizeof(float));
    w->fill = calloc(TAKE_MAX_FILES, sizeof *w->fill);
    if (!w->scratch || !w->fill) {
        log_error("writer: cannot allocate buffers: %s", strerror(ENOMEM));
        goto fail;
    }
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
        goto fail;
    }
    w->running = 1;
    return 0;
fail:
    free(w->scratch);
    free(w->fill);
    w->scratch = NULL;
    w->fill = NULL;
    return -1;
}

void
writer_begin(struct writer *w, struct take *t)
{
    pthread_mutex_lock(&w->lock);
    memset(&w->result, 0, sizeof w->result);
    atomic_store(&w->failed, 0);
    memset(w->fill, 0, TAKE_MAX_FILES * sizeof *w->fill);
    w->take = t;
    w->finish = 0;
    w->finished = 0;
    pthread_mutex_unlock(&w->lock);
}

int
writer_finish(struct writer *w, uint64_t tail_dropped, struct writer_result *res)
{
    pthread_mutex_lock(&w->lock);
    if (!w->take) {
        pthread_mutex_unlock(&w->lock);
        return -1;
    }
    w->tail_dropped = tail_dropped;
    w->finish = 1;
    pthread_cond_broadcast(&w->cond);
    while (!w->finished)
        pthread_cond_wait(&w->cond, &w->lock);
    *res = w->result;
    pthread_mutex_unlock(&w->lock);
    return res->error ? -1 : 0;
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
    free(w->scratch);
    free(w->fill);
    free(w->rec);
    w->running = 0;
}
