/* loudness — EBU R 128 figures of one stereo or mono file as it is written, with
 * libebur128: integrated loudness, loudness range, true peak per side and
 * the highest momentary and short-term loudness since the take began.  The
 * writer thread feeds it (never the real-time thread); any thread reads the
 * figures, published through atomics ten times per second of audio. */
#ifndef STEMCAP_LOUDNESS_H
#define STEMCAP_LOUDNESS_H

#include <stdatomic.h>
#include <stdint.h>

/* A figure that could not be measured (silence, or less audio than its
 * window): reported as this floor, like the meters' -150 dBFS. */
#define LOUDNESS_FLOOR (-150.0f)

struct loudness_figs {
    float integrated_lufs;
    float lra_lu;
    float true_peak_dbtp[2]; /* L, R (a mono file: its channel's twice) */
    float max_momentary_lufs;
    float max_short_term_lufs;
};

struct loudness {
    void *st;             /* libebur128's state; NULL: not measuring */
    int nch;              /* channels: 2, or 1 (mono, measured as one channel) */
    uint32_t poll_frames; /* 100 ms of audio */
    uint32_t since_poll;  /* frames fed since the last poll */
    double max_m, max_s;  /* LUFS, -HUGE_VAL until measured */
    float *frames;        /* interleaving buffer */
                          /* Loudness range (EBU Tech 3342) from the short-term loudness polled at
                           * 10 Hz, once 3 s are in: a histogram of 0.01 LU bins from -70 LUFS
                           * up, and the energy sum for the relative gate. */
    uint32_t *st_hist;
    /* Integrated loudness (ITU-R BS.1770-4) from the momentary loudness
     * polled at 10 Hz: those are its 400 ms gating blocks with 75 %
     * overlap.  Per 0.01 LU bin from -70 LUFS: how many, and their energy. */
    uint32_t *m_hist;
    double *m_energy;
    uint64_t st_count;
    double st_energy;
    uint32_t polls; /* LRA is published every 10th poll (1 s of audio) */
    /* The K-weighted energy of the last 30 periods of 100 ms (a ring): the
     * last 4 make the momentary loudness, all 30 the short-term. */
    double sub[30];
    uint32_t nsub;
    uint32_t cap;       /* ... in frames */
    atomic_uint pub[6]; /* the figures' bits, for other threads */
    uint64_t fed;       /* frames fed (writer thread) */
};

/* Starts measuring NCH (1 or 2) channels at RATE.  Allocates: call it on
 * the control thread before the writer sees the take.  Returns 0, or -1
 * (logged). */
int loudness_init(struct loudness *l, uint32_t rate, int nch);
/* Not measuring: feeding does nothing, the figures read as not measured. */
void loudness_off(struct loudness *l);
/* Feeds N frames of L and R (NULL: silence; a mono file: L only).  Writer
 * thread only. */
void loudness_feed(struct loudness *l, const float *left, const float *right, uint32_t n);
/* Publishes the figures of everything fed (the take's end). */
void loudness_flush(struct loudness *l);
/* The figures last published (LOUDNESS_FLOOR and 0 LU before any); any
 * thread. */
void loudness_get(const struct loudness *l, struct loudness_figs *f);
void loudness_free(struct loudness *l);

#endif
