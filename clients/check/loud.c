/* loud — each file's loudness and noise floor, fed block by block from
 * dsp.c's one streaming pass: libebur128 (EBU R 128: integrated loudness,
 * loudness range, true peak per channel) with the momentary and short-term
 * loudness polled every 100 ms of audio (EBU Tech 3341's 10 Hz) for their
 * maxima, and the RMS of every 400 ms window (all channels together) that is
 * not digital silence, whose 10th percentile is the noise floor. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define POLL_HZ        10  /* momentary and short-term polled this often */
#define FLOOR_WINDOW   0.4 /* seconds per noise-floor window */
#define FLOOR_QUANTILE 0.1

int
loud_open(struct afile *f)
{
    struct loud *l = &f->loud;
    int mode = EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_TRUE_PEAK | EBUR128_MODE_M |
               EBUR128_MODE_S | EBUR128_MODE_HISTOGRAM;

    l->max_m = l->max_s = -HUGE_VAL;
    l->integrated = -HUGE_VAL;
    l->floor_db = -HUGE_VAL;
    l->step = f->info.samplerate / POLL_HZ > 0 ? f->info.samplerate / POLL_HZ : 1;
    l->win = llrint(FLOOR_WINDOW * f->info.samplerate) > 0
                 ? llrint(FLOOR_WINDOW * f->info.samplerate)
                 : 1;
    l->tp = calloc((size_t)f->info.channels, sizeof *l->tp);
    l->ebu = ebur128_init((unsigned)f->info.channels, (unsigned long)f->info.samplerate, mode);
    if (!l->tp || !l->ebu) {
        check_err("%s: cannot set up the loudness meter (%d channels at %d Hz)", f->path,
                  f->info.channels, f->info.samplerate);
        return -1;
    }
    return 0;
}

void
loud_free(struct afile *f)
{
    if (f->loud.ebu) {
        ebur128_destroy(&f->loud.ebu);
    }
    free(f->loud.tp);
    free(f->loud.wins);
    memset(&f->loud, 0, sizeof f->loud);
}

/* One more 400 ms window's mean square, when it held sound. */
static int
floor_push(struct afile *f)
{
    struct loud *l = &f->loud;

    if (l->win_sound) {
        if (l->nwins == l->capwins) {
            size_t cap = l->capwins ? 2 * l->capwins : 256;
            double *w = realloc(l->wins, cap * sizeof *w);

            if (!w) {
                check_err("out of memory");
                return -1;
            }
            l->wins = w;
            l->capwins = cap;
        }
        l->wins[l->nwins++] = l->win_sum / ((double)l->win_fill * f->info.channels);
    }
    l->win_sum = 0.0;
    l->win_fill = 0;
    l->win_sound = 0;
    return 0;
}

static int
floor_feed(struct afile *f)
{
    struct loud *l = &f->loud;
    int ch = f->info.channels;

    for (sf_count_t i = 0; i < f->got; i++) {
        for (int c = 0; c < ch; c++) {
            double x = f->buf[i * ch + c];

            if (!isfinite(x)) {
                x = 1.0;
            }
            l->win_sum += x * x;
            l->win_sound |= x != 0.0;
        }
        if (++l->win_fill == l->win && floor_push(f) < 0) {
            return -1;
        }
    }
    return 0;
}

static void
poll_short(struct loud *l)
{
    double m, s;

    if (ebur128_loudness_momentary(l->ebu, &m) == EBUR128_SUCCESS && m > l->max_m) {
        l->max_m = m;
    }
    if (ebur128_loudness_shortterm(l->ebu, &s) == EBUR128_SUCCESS && s > l->max_s) {
        l->max_s = s;
    }
}

int
loud_feed(struct afile *f)
{
    struct loud *l = &f->loud;
    int ch = f->info.channels;

    for (sf_count_t done = 0; done < f->got;) {
        sf_count_t n = f->got - done < l->step - l->since ? f->got - done : l->step - l->since;

        if (ebur128_add_frames_double(l->ebu, f->buf + done * ch, (size_t)n) != EBUR128_SUCCESS) {
            check_err("%s: the loudness meter failed at frame %lld", f->path,
                      (long long)(f->pos - f->got + done));
            return -1;
        }
        done += n;
        l->since += n;
        if (l->since == l->step) {
            l->since = 0;
            poll_short(l);
        }
    }
    return floor_feed(f);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The 10th percentile (nearest rank) of the windows' RMS; a file too short for one whole
 * window gives its partial one. */
static int
floor_finish(struct afile *f)
{
    struct loud *l = &f->loud;

    if (l->nwins == 0 && l->win_fill && floor_push(f) < 0) {
        return -1;
    }
    if (l->nwins) {
        size_t rank = (size_t)ceil(FLOOR_QUANTILE * (double)l->nwins);

        qsort(l->wins, l->nwins, sizeof *l->wins, cmp_double);
        l->floor_db = 10.0 * log10(l->wins[rank ? rank - 1 : 0]);
        if (fabs(l->floor_db) < 5e-4) { /* never a "-0.0" */
            l->floor_db = 0.0;
        }
    }
    return 0;
}

int
loud_finish(struct afile *f)
{
    struct loud *l = &f->loud;

    if (ebur128_loudness_global(l->ebu, &l->integrated) != EBUR128_SUCCESS ||
        ebur128_loudness_range(l->ebu, &l->lra) != EBUR128_SUCCESS) {
        check_err("%s: cannot compute the loudness", f->path);
        return -1;
    }
    for (int c = 0; c < f->info.channels; c++) {
        double tp = 0.0;

        if (ebur128_true_peak(l->ebu, (unsigned)c, &tp) != EBUR128_SUCCESS) {
            check_err("%s: cannot compute the true peak of channel %d", f->path, c + 1);
            return -1;
        }
        l->tp[c] = tp > 0.0 ? 20.0 * log10(tp) : -HUGE_VAL;
    }
    return floor_finish(f);
}

double
loud_true_peak(const struct afile *f)
{
    double m = -HUGE_VAL;

    for (int c = 0; c < f->info.channels && f->loud.tp; c++) {
        m = fmax(m, f->loud.tp[c]);
    }
    return m;
}
