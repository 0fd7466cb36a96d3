/* dsp — reading the audio.  dsp_measure() reads all files in lockstep, BLOCK
 * frames at a time, as double (exact for 16/24-bit integer and float), in ONE
 * streaming pass: each file's peak, full-scale samples, lead-in peak, first
 * sound, loudness and noise floor (loud.c), and,
 * when the null test runs, the worst |sum(stems) - mix| per channel (a shorter
 * file is silence past its end) and the loudest LAG_WINDOW frames of the
 * stems' mono sum.  Only when the null fails does dsp_find_lag() read again:
 * that window of the stems and LAG_MAX frames more on each side of the mix
 * (the only bounded in-memory copy) give the lag by normalised
 * cross-correlation, and a second streaming pass with the mix shifted by it
 * says whether it would null.  Integer files reach 0 dBFS at 1 - 1 LSB, float
 * files at 1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define LAG_MAX    4096  /* lags searched: -LAG_MAX..LAG_MAX */
#define LAG_WINDOW 32768 /* frames of the stems correlated against the mix */
#define FLOOR_DB   (-150.0)

/* dBFS of a linear level: floored at FLOOR_DB, and never a "-0.0" for full scale. */
double
dsp_db(double x)
{
    double db = x > 0 ? fmax(20.0 * log10(x), FLOOR_DB) : FLOOR_DB;

    return fabs(db) < 5e-4 ? 0.0 : db;
}

/* A file's peak in dBFS: at least 0 when it reaches full scale (an integer file's largest
 * code, 1 LSB short of 1.0, counts as 0 dBFS; a float file may go above). */
double
dsp_peak_db(const struct afile *f)
{
    return f->clips ? fmax(dsp_db(f->peak), 0.0) : dsp_db(f->peak);
}

/* Reads up to MAX frames (fewer at the end of the file) into f->buf. */
static int
read_chunk(struct afile *f, sf_count_t max)
{
    sf_count_t want = f->info.frames - f->pos;

    if (want > max) {
        want = max;
    }
    f->got = 0;
    if (want <= 0) {
        return 0;
    }
    f->got = sf_readf_double(f->sf, f->buf, want);
    if (f->got != want) {
        check_err("%s: read error at frame %lld of %lld: %s", f->path,
                  (long long)(f->pos + (f->got > 0 ? f->got : 0)), (long long)f->info.frames,
                  sf_error(f->sf) ? sf_strerror(f->sf)
                                  : "the file is shorter than its header says");
        return -1;
    }
    f->pos += want;
    return 0;
}

static int
seek_file(struct afile *f, sf_count_t frame)
{
    if (frame > f->info.frames) {
        frame = f->info.frames;
    }
    if (sf_seek(f->sf, frame, SEEK_SET) < 0) {
        check_err("%s: cannot seek to frame %lld: %s", f->path, (long long)frame,
                  sf_strerror(f->sf));
        return -1;
    }
    f->pos = frame;
    return 0;
}

static void
file_stats(struct afile *f, sf_count_t pos, sf_count_t lead)
{
    double silent = pow(10.0, SILENCE_DB / 20.0);
    int ch = f->info.channels;

    for (sf_count_t i = 0; i < f->got; i++) {
        for (int c = 0; c < ch; c++) {
            double a = fabs(f->buf[i * ch + c]);

            if (!isfinite(a)) { /* NaN or infinity in a float file: as bad as a clip */
                a = f->full_scale;
            }
            if (a > f->peak) {
                f->peak = a;
                f->peak_frame = pos + i;
            }
            if (a >= f->full_scale) {
                if (f->first_clip < 0) {
                    f->first_clip = pos + i;
                }
                f->clips++;
            }
            if (pos + i < lead && a > f->lead_peak) {
                f->lead_peak = a;
            }
            if (f->first_sound < 0 && a >= silent) {
                f->first_sound = pos + i;
            }
        }
    }
}

/* sum[] = the stems' block, per channel of the mix (files past their end count as silence); a
 * mono stem goes into every channel of the mix, as a mix bus pans it to the centre at unity. */
static void
sum_stems(const struct state *st, double *sum, sf_count_t n)
{
    int ch = st->mix->info.channels;

    memset(sum, 0, (size_t)n * (size_t)ch * sizeof *sum);
    for (size_t k = 0; k < st->nfiles; k++) {
        const struct afile *f = &st->files[k];

        if (f->role != ROLE_STEM) {
            continue;
        }
        if (f->info.channels == 1 && ch > 1) {
            for (sf_count_t i = 0; i < f->got; i++) {
                for (int c = 0; c < ch; c++) {
                    sum[i * ch + c] += f->buf[i];
                }
            }
            continue;
        }
        for (sf_count_t i = 0; i < f->got * ch; i++) {
            sum[i] += f->buf[i];
        }
    }
}

/* The loudest LAG_WINDOW frames (block aligned) of the stems' mono sum: the energies of the
 * last blocks in a ring, and the loudest window's energy so far. */
struct loudest {
    double ring[LAG_WINDOW / BLOCK];
    double best;
};

/* Reads the next block of every file and adds it to the file's statistics; *N: the most frames
 * a file gave (0 past the end of all).  Returns 0, or -1 (logged). */
static int
read_block(struct state *st, sf_count_t pos, sf_count_t *n)
{
    *n = 0;
    for (size_t k = 0; k < st->nfiles; k++) {
        struct afile *f = &st->files[k];

        if (read_chunk(f, BLOCK) < 0) {
            return -1;
        }
        if (f->got > *n) {
            *n = f->got;
        }
        file_stats(f, pos, st->lead_in > 0 ? llrint(st->lead_in * f->info.samplerate) : 0);
        if (loud_feed(f) < 0) {
            return -1;
        }
    }
    return 0;
}

/* The null test over the N frames from frame POS (SUM: the stems' sum, per channel of the mix).
 * Returns the energy of the block's mono sum of the stems. */
static double
null_block(struct state *st, const double *sum, sf_count_t n, sf_count_t pos)
{
    const struct afile *m = st->mix;
    struct null_test *nt = &st->null;
    int ch = m->info.channels;
    double e = 0.0;

    for (sf_count_t i = 0; i < n; i++) {
        double mono = 0.0;

        for (int c = 0; c < ch; c++) {
            double s = sum[i * ch + c];
            double r = fabs(s - (i < m->got ? m->buf[i * ch + c] : 0.0));

            mono += s;
            if (!isfinite(r)) {
                r = INFINITY;
            }
            if (r > nt->peak) {
                nt->peak = r;
                nt->frame = pos + i;
                nt->channel = c + 1;
            }
            if (r >= nt->thr && nt->first_over < 0) {
                nt->first_over = pos + i;
            }
        }
        e += mono * mono;
    }
    return e;
}

/* Block BLK, of energy E, enters the ring; the window it ends becomes st->win_start when it is
 * the loudest so far. */
static void
track_loudest(struct state *st, struct loudest *l, sf_count_t blk, double e)
{
    size_t nring = sizeof l->ring / sizeof l->ring[0];
    double window = 0.0;

    l->ring[blk % (sf_count_t)nring] = e;
    for (size_t i = 0; i < nring; i++) {
        window += l->ring[i];
    }
    if (blk + 1 >= (sf_count_t)nring && window > l->best) {
        l->best = window;
        st->win_start = (blk + 1 - (sf_count_t)nring) * BLOCK;
    }
}

/* The one streaming pass: per-file statistics, and the residual of the null test. */
int
dsp_measure(struct state *st)
{
    int run = st->mix && st->null.state == NULL_RUN;
    int ch = run ? st->mix->info.channels : 1;
    double *sum = malloc((size_t)BLOCK * (size_t)ch * sizeof *sum);
    struct loudest loud = {.best = -1.0};
    struct null_test *nt = &st->null;
    sf_count_t pos = 0, blk = 0, n;
    int rc = -1;

    if (!sum) {
        check_err("out of memory");
        return -1;
    }
    nt->first_over = -1;
    nt->channel = 1;
    for (size_t k = 0; k < st->nfiles; k++) {
        if (loud_open(&st->files[k]) < 0) {
            goto out;
        }
    }
    for (;; pos += BLOCK, blk++) {
        if (read_block(st, pos, &n) < 0) {
            goto out;
        }
        if (n == 0) {
            break;
        }
        if (run) {
            sum_stems(st, sum, n);
            track_loudest(st, &loud, blk, null_block(st, sum, n, pos));
        }
        nt->frames = pos + n;
    }
    nt->nulls = run && nt->first_over < 0;
    for (size_t k = 0; k < st->nfiles; k++) {
        if (loud_finish(&st->files[k]) < 0) {
            goto out;
        }
    }
    rc = 0;
out:
    free(sum);
    return rc;
}

/* out[i] += GAIN times the sum of F's channels at frame START + i, for i < COUNT (silence
 * outside the file; START may be negative). */
static int
read_mono(struct afile *f, sf_count_t start, sf_count_t count, double gain, double *out)
{
    sf_count_t from = start < 0 ? 0 : start;
    sf_count_t end = start + count;
    int ch = f->info.channels;

    if (end > f->info.frames) {
        end = f->info.frames;
    }
    if (from >= end) {
        return 0;
    }
    if (seek_file(f, from) < 0) {
        return -1;
    }
    while (f->pos < end) {
        sf_count_t at = f->pos;

        if (read_chunk(f, end - f->pos < BLOCK ? end - f->pos : BLOCK) < 0) {
            return -1;
        }
        for (sf_count_t i = 0; i < f->got; i++) {
            for (int c = 0; c < ch; c++) {
                out[at + i - start] += gain * f->buf[i * ch + c];
            }
        }
    }
    return 0;
}

/* S[i] += the stems' mono sum at frame A + i (i < W), M[i] += the mix's at frame
 * A - LAG_MAX + i (i < MLEN).  Returns 0, or -1 (logged). */
static int
load_window(struct state *st, sf_count_t a, sf_count_t w, double *s, double *m, size_t mlen)
{
    for (size_t k = 0; k < st->nfiles; k++) {
        struct afile *f = &st->files[k];
        /* A mono stem is in every channel of the mix: as many times in its mono sum. */
        double gain = f->info.channels == 1 ? st->mix->info.channels : 1.0;

        if (f->role == ROLE_STEM && read_mono(f, a, w, gain, s) < 0) {
            return -1;
        }
    }
    return read_mono(st->mix, a - LAG_MAX, (sf_count_t)mlen, 1.0, m);
}

/* The best lag of M against S (W frames) at lags -LAG_MAX..LAG_MAX, with Q (MLEN + 1) as
 * scratch for the running sum of M's squares: corr(l) = sum s[n] m[n+l] /
 * sqrt(sum s[n]^2 sum m[n+l]^2); ties go to the smaller |lag|. */
static void
correlate(struct null_test *nt, const double *s, sf_count_t w, const double *m, double *q,
          size_t mlen)
{
    double es = 0.0;

    for (size_t i = 0; i < mlen; i++) {
        q[i + 1] = q[i] + m[i] * m[i];
    }
    for (sf_count_t i = 0; i < w; i++) {
        es += s[i] * s[i];
    }
    nt->corr = -2.0;
    for (int l = -LAG_MAX; l <= LAG_MAX; l++) {
        const double *ml = m + LAG_MAX + l;
        double dot = 0.0, em = q[LAG_MAX + l + w] - q[LAG_MAX + l], c;

        if (es <= 0.0 || em <= 0.0) {
            continue;
        }
        for (sf_count_t i = 0; i < w; i++) {
            dot += s[i] * ml[i];
        }
        c = dot / sqrt(es * em);
        if (c > nt->corr || (c == nt->corr && abs(l) < abs(nt->lag))) {
            nt->corr = c;
            nt->lag = l;
        }
    }
    nt->lag_tried = nt->corr > -2.0;
}

/* Normalised cross-correlation of the stems' mono sum over the loudest window against the mix
 * at lags -LAG_MAX..LAG_MAX. */
static int
estimate_lag(struct state *st)
{
    struct null_test *nt = &st->null;
    sf_count_t a = st->win_start, w = LAG_WINDOW;
    size_t mlen;
    double *s = NULL, *m = NULL, *q = NULL;
    int rc = -1;

    if (a + w > nt->frames) {
        w = nt->frames - a;
    }
    if (w <= 0) {
        return 0;
    }
    mlen = (size_t)w + 2 * LAG_MAX;
    s = calloc((size_t)w, sizeof *s);
    m = calloc(mlen, sizeof *m);
    q = calloc(mlen + 1, sizeof *q);
    if (!s || !m || !q) {
        check_err("out of memory");
        goto out;
    }
    if (load_window(st, a, w, s, m, mlen) < 0) {
        goto out;
    }
    correlate(nt, s, w, m, q, mlen);
    rc = 0;
out:
    free(s);
    free(m);
    free(q);
    return rc;
}

/* Seeks the stems to frame S0 and the mix to M0; *STEMS_END: the frames of the longest stem.
 * Returns 0, or -1 (logged). */
static int
seek_shifted(struct state *st, sf_count_t s0, sf_count_t m0, sf_count_t *stems_end)
{
    *stems_end = 0;
    for (size_t k = 0; k < st->nfiles; k++) {
        struct afile *f = &st->files[k];

        if (f->role == ROLE_STEM) {
            if (f->info.frames > *stems_end) {
                *stems_end = f->info.frames;
            }
            if (seek_file(f, s0) < 0) {
                return -1;
            }
        }
    }
    return seek_file(st->mix, m0);
}

/* Reads the next N frames of the stems and the mix into the worst |sum - mix| so far (SUM:
 * scratch for one block).  Returns 0, or -1 (logged). */
static int
residual_block(struct state *st, double *sum, sf_count_t n)
{
    struct null_test *nt = &st->null;
    const struct afile *m = st->mix;
    int ch = m->info.channels;

    for (size_t k = 0; k < st->nfiles; k++) {
        struct afile *f = &st->files[k];

        if ((f->role == ROLE_STEM || f == m) && read_chunk(f, n) < 0) {
            return -1;
        }
    }
    sum_stems(st, sum, n);
    for (sf_count_t i = 0; i < n * ch; i++) {
        double r = fabs(sum[i] - (i < m->got * ch ? m->buf[i] : 0.0));

        if (!isfinite(r)) {
            r = INFINITY;
        }
        if (r > nt->shifted_peak) {
            nt->shifted_peak = r;
        }
    }
    return 0;
}

/* The residual peak of sum(stems)[n] - mix[n + lag], over the frames both cover. */
static int
shifted_residual(struct state *st)
{
    struct null_test *nt = &st->null;
    const struct afile *m = st->mix;
    int lag = nt->lag;
    sf_count_t s0 = lag < 0 ? -lag : 0, m0 = lag > 0 ? lag : 0, stems_end, count, done;
    double *sum = malloc((size_t)BLOCK * (size_t)m->info.channels * sizeof *sum);
    int rc = -1;

    if (!sum) {
        check_err("out of memory");
        return -1;
    }
    if (seek_shifted(st, s0, m0, &stems_end) < 0) {
        goto out;
    }
    count = stems_end - s0 < m->info.frames - m0 ? stems_end - s0 : m->info.frames - m0;
    nt->shifted_peak = 0.0;
    for (done = 0; done < count;) {
        sf_count_t n = count - done < BLOCK ? count - done : BLOCK;

        if (residual_block(st, sum, n) < 0) {
            goto out;
        }
        done += n;
    }
    nt->shifted = 1;
    rc = 0;
out:
    free(sum);
    return rc;
}

int
dsp_find_lag(struct state *st)
{
    const struct null_test *nt = &st->null;

    if (nt->state != NULL_RUN || nt->nulls) {
        return 0;
    }
    if (estimate_lag(st) < 0) {
        return -1;
    }
    if (nt->lag_tried && nt->corr >= LAG_MIN_CORR && nt->lag != 0 && shifted_residual(st) < 0) {
        return -1;
    }
    return 0;
}
