/* writer — the disk thread.  It owns a take's files between writer_begin() and
 * writer_finish()/writer_discard(): it drains the capture ring, advances each channel by its
 * capture latency, writes large interleaved blocks, puts silence in place of dropped periods and
 * rewrites the headers at least once a second.  It promises that sample i of every file of a
 * take is timeline position start + i and that every file ends on the same frame, also after a
 * write error (logged once, published in `failed`).  It never talks OSC.
 * Design: docs/DESIGN.md, section "The writer and the files". */
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
    if (!atomic_load(&w->failed)) {
        /* for the control thread (log_last_error() is this thread's): set
         * before `failed`, whose store publishes it */
        snprintf(w->fail_msg, sizeof w->fail_msg, "'%s/%s': %s", take_part_dir(t), f->name, what);
        log_error("write error in take %d, %s; the take stops growing here", t->number,
                  w->fail_msg);
    }
    atomic_store(&w->failed, 1);
    t->error = 1;
}

/* Bytes of one frame of a file of NCH channels in its block. */
static size_t
writer_frame_bytes(const struct writer_slot *s, int nch)
{
    return (size_t)nch * (s->pcm_width ? (size_t)s->pcm_width : sizeof(float));
}

/* The audio data bytes of N frames of file I as they are on disk, into its
 * checksum: integer PCM is packed here already; float and double go
 * through libsndfile, which writes them in the file's byte order (AIFF:
 * big-endian) and double widened from float, as done here. */
static void
writer_hash(struct writer_slot *s, struct take_file *f, int i, uint32_t n)
{
    struct take *t = s->take;
    const float *x = (const float *)(const void *)s->out[i];
    unsigned char buf[4096];
    size_t used = 0, width = t->sample_format == CONF_SAMPLE_DOUBLE ? 8 : 4;

    if (s->pcm_width || (width == 4 && !s->pcm_big)) {
        md5_update(&f->md5, n * writer_frame_bytes(s, f->nch), s->out[i]);
        return;
    }
    for (uint32_t j = 0; j < (uint32_t)f->nch * n; j++) {
        unsigned char b[8];
        if (width == 8) {
            double d = x[j];
            memcpy(b, &d, 8);
        } else
            memcpy(b, &x[j], 4);
        for (size_t k = 0; k < width; k++)
            buf[used + k] = s->pcm_big ? b[width - 1 - k] : b[k];
        used += width;
        if (used == sizeof buf) {
            md5_update(&f->md5, used, buf);
            used = 0;
        }
    }
    md5_update(&f->md5, used, buf);
}

/* Writes the frames packed so far to every file, one file after another. */
static void
writer_emit(struct writer *w, struct writer_slot *s)
{
    struct take *t = s->take;
    uint32_t n = s->ofill;

    s->ofill = 0;
    for (int i = 0; i < t->nfiles && n && !t->error; i++) {
        struct take_file *f = &t->file[i];
        sf_count_t got, want;
        double t0 = writer_now();
        if (s->pcm_width) {
            want = (sf_count_t)(n * writer_frame_bytes(s, f->nch));
            got = sf_write_raw(f->sf, s->out[i], want);
        } else {
            want = n;
            got = sf_writef_float(f->sf, (const float *)(const void *)s->out[i], n);
        }
        unsigned us = (unsigned)((writer_now() - t0) * 1e6);
        if (us > atomic_load_explicit(&w->write_max_us, memory_order_relaxed))
            atomic_store_explicit(&w->write_max_us, us, memory_order_relaxed);
        if (got != want)
            writer_fail(w, t, f, sf_strerror(f->sf));
        else {
            f->frames += n;
            writer_hash(s, f, i, n);
        }
    }
}

/* The MD5 of what each file of the current part got, as hex into its
 * audio_md5 ("" after a write error: not all its bytes were hashed as they
 * are now). */
static void
writer_digest(struct take *t)
{
    for (int i = 0; i < t->nfiles; i++) {
        struct take_file *f = &t->file[i];
        unsigned char d[MD5_DIGEST_SIZE];
        md5_digest(&f->md5, sizeof d, d);
        f->audio_md5[0] = '\0';
        for (size_t k = 0; !t->error && k < sizeof d; k++)
            snprintf(f->audio_md5 + 2 * k, 3, "%02x", d[k]);
    }
}

/* The seam of a split take ([capture] split_minutes): every file's current
 * part is written up to the frame where it ends, finalised and closed, and
 * the next part's files are made, so all of them switch at the same frame
 * and no frame is lost or repeated.  Called by writer_pack with nothing
 * packed beyond the part's end.  When the next part cannot be made the
 * take fails like at a write error, ending on the part's last frame. */
static void
writer_split(struct writer *w, struct writer_slot *s)
{
    struct take *t = s->take;

    writer_emit(w, s);
    if (t->error)
        return;
    uint64_t frames = t->file[0].frames;
    writer_digest(t);
    if (take_part_done(t, frames) < 0 || take_next_part(t, t->part_start + frames) < 0) {
        atomic_store(&w->failed, 1); /* take.c logged why */
        t->error = 1;
        return;
    }
    s->part_left = t->split_frames;
}

/* Packs `n` frames into every file's block, channel position c read from
 * ch[c] (ch NULL: silence), and writes the blocks whenever they are full.
 * Every file gets the same frames at the same time, so one fill count
 * serves them all. */
static void
writer_pack(struct writer *w, struct writer_slot *s, const float *const *ch, uint32_t n)
{
    struct take *t = s->take;

    for (uint32_t done = 0; done < n && !t->error;) {
        if (!s->part_left) {
            writer_split(w, s);
            continue;
        }
        uint32_t k = n - done < WRITER_BLOCK - s->ofill ? n - done : WRITER_BLOCK - s->ofill;
        if (k > s->part_left)
            k = (uint32_t)s->part_left;
        for (int i = 0; i < t->nfiles; i++) {
            size_t fb = writer_frame_bytes(s, t->file[i].nch);
            unsigned char *o = s->out[i] + (size_t)s->ofill * fb;
            if (!ch) {
                memset(o, 0, k * fb); /* 0.0f and integer 0 are both all zero bytes */
                loudness_feed(&t->file[i].loud, NULL, NULL, k);
                continue;
            }
            const float *l = ch[t->file[i].ch[0]] + done, *r = ch[t->file[i].ch[1]] + done;
            loudness_feed(&t->file[i].loud, l, r, k);
            if (t->file[i].nch == 1 && s->pcm_width) {
                pcm_pack_mono(o, l, k, s->pcm_width, s->pcm_big);
            } else if (t->file[i].nch == 1) {
                memcpy(o, l, k * sizeof(float));
            } else if (s->pcm_width) {
                pcm_pack_stereo(o, l, r, k, s->pcm_width, s->pcm_big);
            } else {
                float *x = (float *)(void *)o;
                for (uint32_t j = 0; j < k; j++) {
                    x[2 * j] = l[j];
                    x[2 * j + 1] = r[j];
                }
            }
        }
        s->ofill += k;
        s->part_left -= k;
        done += k;
        if (s->ofill == WRITER_BLOCK)
            writer_emit(w, s);
    }
}

/* Packs the frames every stage has and shifts what is left to the front:
 * the frames a channel is ahead of the others by its smaller latency. */
static void
writer_unstage(struct writer *w, struct writer_slot *s)
{
    struct take *t = s->take;
    const float *ch[ENGINE_MAX_CH];
    uint32_t ready = UINT32_MAX;

    for (uint32_t c = 0; c < t->nch; c++) {
        ch[c] = s->stage[c];
        if (s->sfill[c] < ready)
            ready = s->sfill[c];
    }
    if (!ready || ready == UINT32_MAX)
        return;
    writer_pack(w, s, ch, ready);
    for (uint32_t c = 0; c < t->nch; c++) {
        memmove(s->stage[c], s->stage[c] + ready, (s->sfill[c] - ready) * sizeof(float));
        s->sfill[c] -= ready;
    }
}

static int
writer_is_mix(const struct take *t, uint32_t c)
{
    return t->plan_ch[c] == ENGINE_MIX_L || t->plan_ch[c] == ENGINE_MIX_R;
}

/* Puts the take's alignment into the skips and stages, at the record
 * about to be appended (everything written before it was silence, so the
 * shift is exact).  The mix lagging by o > 0: its next o frames are
 * skipped (frames of the timeline before the take's own, unless the mix
 * sounded before the stems: then they are counted in t->align_lost); the
 * mix leading (o < 0): it is delayed by -o frames of silence.  Returns 0,
 * or -1 when the stages cannot be had (logged; the take goes on unshifted). */
static int
writer_apply_align(struct writer_slot *s)
{
    struct take *t = s->take;
    int o = s->align_off;
    uint32_t d = (uint32_t)(o < 0 ? -o : o), maxskip = 0;

    s->applied = 1;
    t->align_applied = 0;
    if (!o)
        return 0;
    for (uint32_t c = 0; c < t->nch; c++)
        if (s->skip[c] > maxskip)
            maxskip = s->skip[c];
    uint32_t cap = maxskip + d + WRITER_PIECE;
    for (uint32_t c = 0; c < t->nch; c++) {
        if (s->stage[c] && cap <= s->scap)
            continue;
        float *p = realloc(s->stage[c], (size_t)cap * sizeof(float));
        if (!p) {
            log_error("writer: cannot allocate the stages to align take %d's mix by %d frames: "
                      "%s; its files are not shifted",
                      t->number, o, strerror(ENOMEM));
            return -1;
        }
        s->stage[c] = p;
    }
    s->scap = cap > s->scap ? cap : s->scap;
    for (uint32_t c = 0; c < t->nch; c++) {
        if (!writer_is_mix(t, c))
            continue;
        if (o > 0) {
            s->skip[c] += d;
        } else {
            memmove(s->stage[c] + d, s->stage[c], s->sfill[c] * sizeof(float));
            memset(s->stage[c], 0, d * sizeof(float));
            s->sfill[c] += d;
        }
    }
    s->check_skip = o > 0 && s->pos > 0 ? d : 0;
    s->staged = 1;
    t->align_applied = o;
    return 0;
}

/* Any sound in a record (all channels)? */
static int
writer_has_sound(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0f)
            return 1;
    return 0;
}

/* Appends n <= WRITER_PIECE frames of planar `src` (channel position c at
 * src + c * stride; NULL = silence).  While every channel is in step (no
 * latency left to skip, nothing staged) the frames go straight from the
 * ring record into the files' blocks; otherwise through the stages, which
 * hold each channel until every other one has caught up with it. */
static void
writer_piece(struct writer *w, struct writer_slot *s, const float *src, uint32_t stride, uint32_t n)
{
    struct take *t = s->take;

    if (!s->staged) {
        const float *ch[ENGINE_MAX_CH];
        for (uint32_t c = 0; src && c < t->nch; c++)
            ch[c] = src + (size_t)c * stride;
        writer_pack(w, s, src ? ch : NULL, n);
        return;
    }
    for (uint32_t c = 0; c < t->nch; c++)
        if (s->sfill[c] + n > s->scap) {
            /* Cannot happen (see writer_begin): refuse rather than overrun. */
            writer_fail(w, t, &t->file[0], "internal error: a latency stage overflowed");
            return;
        }
    int staged = 0;
    for (uint32_t c = 0; c < t->nch; c++) {
        uint32_t k = s->skip[c] < n ? s->skip[c] : n;
        s->skip[c] -= k;
        if (s->check_skip && src && writer_is_mix(t, c))
            for (uint32_t i = 0; i < k; i++)
                t->align_lost += src[(size_t)c * stride + i] != 0.0f;
        float *dst = s->stage[c] + s->sfill[c];
        if (src)
            memcpy(dst, src + (size_t)c * stride + k, (n - k) * sizeof(float));
        else
            memset(dst, 0, (n - k) * sizeof(float));
        s->sfill[c] += n - k;
        staged |= s->skip[c] != 0;
    }
    if (s->check_skip) /* every mix channel skips the same */
        s->check_skip = s->check_skip > n ? s->check_skip - n : 0;
    writer_unstage(w, s);
    for (uint32_t c = 0; c < t->nch; c++)
        staged |= s->sfill[c] != 0;
    s->staged = staged;
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
    take_list_add(&t->drops, s->pos, frames);
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

/* The period about to be written at s->pos was read while JACK ran its
 * sources again: kept and reported, as it is all there is of that period. */
static void
writer_torn(struct writer_slot *s, uint32_t frames)
{
    struct take *t = s->take;

    take_list_add(&t->torn, s->pos, frames);
    t->torn_frames += frames;
    log_warn("take %d: the %u frames at frame %llu may mix two JACK cycles: JACK began the next "
             "cycle while they were read (an xrun)",
             t->number, frames, (unsigned long long)s->pos);
}

/* The take's pre-roll: the `n` frames of the history just before JACK
 * frame `end`, into the files as the take's first frames, then the history
 * back to the real-time thread.  Called for every record that carries one,
 * with s NULL when the take is not written (the history is released all
 * the same). */
#define WRITER_PRE_PIECE 2048
static void
writer_preroll(struct writer *w, struct writer_slot *s, uint64_t end, uint32_t n)
{
    struct engine_hist *h = w->hist;

    if (!h || !h->buf)
        return;
    if (s && !w->pre)
        w->pre = malloc((size_t)ENGINE_MAX_CH * WRITER_PRE_PIECE * sizeof(float));
    if (s && !w->pre) {
        log_error("writer: no memory for take %d's pre-roll: %s; its files start at the start "
                  "command",
                  s->take->number, strerror(ENOMEM));
        s = NULL;
    }
    for (uint64_t f = end - n; s && f < end;) {
        uint32_t k = end - f < WRITER_PRE_PIECE ? (uint32_t)(end - f) : WRITER_PRE_PIECE;
        uint32_t at = (uint32_t)(f % h->cap), k1 = h->cap - at < k ? h->cap - at : k;
        struct take *t = s->take;
        for (uint32_t c = 0; c < t->nch; c++) {
            const float *row = h->buf + (size_t)h->idx[t->plan_ch[c]] * h->cap;
            float *dst = w->pre + (size_t)c * k;
            memcpy(dst, row + at, k1 * sizeof *dst);
            memcpy(dst + k1, row, (k - k1) * sizeof *dst);
        }
        writer_append(w, s, w->pre, k);
        s->pos += k;
        f += k;
    }
    if (s)
        s->take->preroll = n;
    atomic_store_explicit(&h->busy, 0, memory_order_release);
}

static struct writer_slot *
writer_slot_of(struct writer *w, unsigned id)
{
    for (int i = 0; i < WRITER_SLOTS; i++)
        if (w->slot[i].take && w->slot[i].take->id == id)
            return &w->slot[i];
    return NULL;
}

/* Drains every complete record; records of takes not held are discarded.
 * Returns how many records it took. */
static int
writer_drain(struct writer *w, struct ring *ring)
{
    struct engine_rec h;
    int n = 0;

    if (!ring)
        return 0;
    while (ring_read_space(ring) >= sizeof h) {
        ring_peek(ring, 0, &h, sizeof h);
        size_t bytes = (size_t)h.nch * h.nframes * sizeof(float);
        if (h.magic != ENGINE_REC_MAGIC || ring_read_space(ring) < sizeof h + bytes) {
            /* Cannot happen with one producer publishing whole records. */
            log_error("capture ring corrupt (magic 0x%08x); resetting it", h.magic);
            ring_consume(ring, ring_read_space(ring));
            writer_preroll(w, NULL, 0, 0); /* whatever it held is gone */
            return n;
        }
        /* Slots are filled by writer_begin under the lock: look up there. */
        pthread_mutex_lock(&w->lock);
        struct writer_slot *s = writer_slot_of(w, h.take);
        int use = s && !s->discard && !s->finished;
        /* align_off is fixed once `aligned` is seen under the lock. */
        int waiting = use && s->hold && !s->aligned, finish = use && s->finish;
        pthread_mutex_unlock(&w->lock);
        if (waiting) {
            const float *x = ring_peek_ptr(ring, sizeof h, bytes);
            /* wrapped: rare; a pre-roll: sound before the take's start */
            int sound = !x || h.preroll || writer_has_sound(x, bytes / sizeof(float));
            if (sound && !finish && ring_read_space(ring) < ring->size / 2)
                return n; /* the first sound waits here for writer_align */
            if (sound) {
                pthread_mutex_lock(&w->lock);
                if (!s->aligned) {
                    s->aligned = 1;
                    s->align_off = s->align_hint;
                    log_warn("take %d: the capture ring is half full and the mix's alignment is "
                             "not known yet; the files go on with %d",
                             s->take->number, s->align_off);
                }
                pthread_mutex_unlock(&w->lock);
                waiting = 0;
            }
        }
        if (use && !waiting && !s->applied)
            writer_apply_align(s);
        if (use && h.nch == s->take->nch) {
            /* In place when the record does not wrap (nearly always). */
            const float *src = ring_peek_ptr(ring, sizeof h, bytes);
            if (!src && bytes > w->rec_cap) {
                float *p = realloc(w->rec, bytes);
                if (!p) {
                    log_error("writer: out of memory for a %zu-byte period", bytes);
                    if (h.preroll)
                        writer_preroll(w, NULL, 0, 0);
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
                uint64_t back = h.dropped_before + h.preroll;
                s->started = 1;
                s->last_header = writer_now();
                s->take->placed = 1;
                s->take->placed_frame = h.frame - back;
                s->take->placed_tframe = h.tframe >= back ? h.tframe - back : 0;
                take_set_bext(s->take, s->take->placed_tframe);
                if (h.preroll)
                    writer_preroll(w, s, h.frame - h.dropped_before, h.preroll);
            }
            writer_silence(w, s, h.dropped_before);
            if (h.flags & ENGINE_REC_TORN)
                writer_torn(s, h.nframes);
            writer_append(w, s, src, h.nframes);
            s->pos += h.nframes;
        } else if (h.preroll) {
            writer_preroll(w, NULL, 0, 0); /* not written: the history goes back all the same */
        }
        ring_consume(ring, sizeof h + bytes);
        n++;
    }
    return n;
}

static void
writer_update_headers(struct writer_slot *s)
{
    struct take *t = s->take;

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
    for (int i = 0; i < TAKE_MAX_FILES; i++)
        free(s->out[i]);
    memset(s, 0, sizeof *s);
}

/* Ends a slot's take (writer thread, lock not held). */
/* The files' loudness and checksums at the take's end, and the loudness
 * into their bext chunks.  A file cut after a write error has no checksum
 * (its bytes were not all hashed as they are now). */
static void
writer_results(struct take *t)
{
    for (int i = 0; i < t->nfiles; i++) {
        loudness_flush(&t->file[i].loud);
        loudness_get(&t->file[i].loud, &t->file[i].figs);
    }
    if (t->file[0].sf || !t->nparts)
        writer_digest(t); /* else the last part was closed at its seam */
    /* A split take: its last part joins the list, and each file's entry is
     * part 1's (take-NN/<file>); the loudness figures are the whole take's. */
    if (t->nparts && t->nparts < t->part)
        take_part_done(t, t->frames - t->part_start);
    for (int i = 0; t->nparts && i < t->nfiles; i++)
        memcpy(t->file[i].audio_md5, t->parts[0].audio_md5[i], sizeof t->file[i].audio_md5);
    take_set_bext_loudness(t);
}

static void
writer_close_slot(struct writer *w, struct writer_slot *s)
{
    struct take *t = s->take;

    if (!s->discard) {
        writer_silence(w, s, s->tail);
        writer_unstage(w, s); /* every channel to the shortest: same length */
        writer_emit(w, s);
        t->frames = t->part_start + (t->nfiles ? t->file[0].frames : 0);
        if (t->error) {
            /* A write failed part-way through a block (disk full): cut
             * every file to the frames all of them have, so the take ends
             * cleanly at one frame. */
            sf_count_t common = INT64_MAX;
            for (int i = 0; i < t->nfiles; i++)
                if ((sf_count_t)t->file[i].frames < common)
                    common = (sf_count_t)t->file[i].frames;
            for (int i = 0; i < t->nfiles; i++)
                if (t->file[i].sf &&
                    sf_command(t->file[i].sf, SFC_FILE_TRUNCATE, &common, sizeof common) != 0)
                    log_warn("cannot cut '%s/%s' to %lld frames: %s", take_part_dir(t),
                             t->file[i].name, (long long)common, sf_strerror(t->file[i].sf));
            t->frames = t->part_start + (uint64_t)common;
            log_error("take %d ends at frame %llu in every file after the write error", t->number,
                      (unsigned long long)t->frames);
        }
        writer_results(t);
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
    int drained = 0;
    for (;;) {
        int work = 0;
        for (int i = 0; i < WRITER_SLOTS; i++)
            work |= w->slot[i].take && w->slot[i].finish && !w->slot[i].finished;
        /* Freewheeling, a drain that found records goes on at once: the
         * callback may be waiting for the room (ring_wait_space). */
        if (drained && w->hurry && atomic_load_explicit(w->hurry, memory_order_relaxed))
            work = 1;
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
        atomic_store_explicit(&w->loops, w->iter, memory_order_relaxed);
        pthread_cond_broadcast(&w->cond);
        pthread_mutex_unlock(&w->lock);

        /* The slots' takes do not change while unlocked: only this thread
         * frees a slot, and writer_begin only fills a free one. */
        writer_test_stall(w);
        drained = writer_drain(w, ring);
        for (int i = 0; i < WRITER_SLOTS; i++) {
            struct writer_slot *s = &w->slot[i];
            if (finishing[i])
                writer_close_slot(w, s);
            else if (live[i] && s->started && !s->take->error &&
                     writer_now() - s->last_header >= 1.0) {
                writer_update_headers(s);
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
writer_start(struct writer *w, struct ring *ring, const atomic_int *hurry, struct engine_hist *hist)
{
    pthread_condattr_t ca;
    int e;

    memset(w, 0, sizeof *w);
    w->ring = ring;
    w->hurry = hurry;
    w->hist = hist;
    w->stall_path = getenv("STEMCAP_TEST_STALL");
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    e = pthread_create(&w->thread, NULL, writer_main, w);
    if (e == 0)
        pthread_setname_np(w->thread, "stemcap-writer"); /* ps, top, perf */
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
    /* A stage is needed only when some channel has latency to skip.  After
     * each piece the stages give up what all of them have, so one holds at
     * most maxskip frames more than the shortest (zero) before an append of
     * at most WRITER_PIECE. */
    fresh.staged = maxskip > 0;
    fresh.scap = maxskip + WRITER_PIECE;
    /* Integer PCM is packed here; float and double go through libsndfile. */
    static const int width[] = {
        [CONF_SAMPLE_PCM16] = 2, [CONF_SAMPLE_PCM24] = 3, [CONF_SAMPLE_PCM32] = 4};
    if ((size_t)t->sample_format < sizeof width / sizeof width[0])
        fresh.pcm_width = width[t->sample_format];
    fresh.pcm_big = t->format == CONF_FORMAT_AIFF;
    fresh.part_left = t->split_frames ? t->split_frames : UINT64_MAX;
    int ok = 1;
    for (int i = 0; ok && i < t->nfiles; i++)
        ok = (fresh.out[i] = malloc(WRITER_BLOCK * writer_frame_bytes(&fresh, t->file[i].nch))) !=
             NULL;
    for (uint32_t c = 0; ok && fresh.staged && c < t->nch; c++)
        ok = (fresh.stage[c] = malloc((size_t)fresh.scap * sizeof(float))) != NULL;
    if (!ok) {
        log_error("writer: cannot allocate the buffers of take %d: %s", t->number,
                  strerror(ENOMEM));
        writer_slot_free(&fresh);
        return -1;
    }
    fresh.take = t;
    fresh.hold = t->align_hold;
    fresh.aligned = !t->align_hold;
    fresh.applied = !t->align_hold;
    t->align_applied = 0;
    t->align_lost = 0;
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
writer_align(struct writer *w, struct take *t, int offset)
{
    int rc = 0;

    pthread_mutex_lock(&w->lock);
    struct writer_slot *s = writer_slot_of(w, t->id);
    if (!s) {
        rc = -1;
    } else if (!s->aligned) {
        s->aligned = 1;
        s->align_off = offset;
        pthread_cond_broadcast(&w->cond);
    } else if (s->align_off != offset) {
        rc = -1;
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void
writer_align_hint(struct writer *w, struct take *t, int hint)
{
    pthread_mutex_lock(&w->lock);
    struct writer_slot *s = writer_slot_of(w, t->id);
    if (s)
        s->align_hint = hint;
    pthread_mutex_unlock(&w->lock);
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
    free(w->pre);
    w->pre = NULL;
    w->running = 0;
}

const char *
writer_fail_msg(const struct writer *w)
{
    return atomic_load(&w->failed) ? w->fail_msg : "";
}

unsigned long
writer_loops_done(const struct writer *w)
{
    return atomic_load_explicit(&w->loops, memory_order_relaxed);
}

unsigned
writer_write_max_us(const struct writer *w)
{
    return atomic_load(&w->write_max_us);
}

void
writer_reset_stats(struct writer *w)
{
    atomic_store(&w->write_max_us, 0);
}
