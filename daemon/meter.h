/* meter — level and null arithmetic: per-block figures (cheap enough for
 * the real-time thread), sliding windows over them, dBFS, and the lag
 * estimate between the stems' sum and the mix.  Pure functions and plain
 * structs; unit-tested without JACK. */
#ifndef STEMCAP_METER_H
#define STEMCAP_METER_H

#include <stddef.h>
#include <stdint.h>

#define METER_SILENCE_DB (-150.0f) /* reported for silence: never -inf or NaN */
#define METER_MAX_DB     (200.0f)  /* ceiling, for +inf */

/* 20*log10(x), at least METER_SILENCE_DB. */
float meter_db(double linear);

/* Peak |x| and sum of squares of n samples; returns how many samples have
 * |x| >= 1.0 (0 dBFS: a clip).  Real-time safe. */
uint32_t meter_block(const float *x, uint32_t n, float *peak, float *sumsq);
/* acc[i] += x[i]; out[i] = a[i] - b[i] (SIMD, real-time safe). */
void meter_add(float *acc, const float *x, uint32_t n);
void meter_sub(float *out, const float *a, const float *b, uint32_t n);

/* Sliding window over per-block figures: peak and RMS of the last
 * `window_frames` frames (to the block).  Storage is given by the caller
 * and sized with meter_win_entries(). */
struct meter_win {
    uint32_t cap;    /* entries */
    uint32_t head;   /* next slot */
    uint32_t count;  /* entries in use */
    uint64_t frames; /* frames covered by the entries in use */
    uint64_t window_frames;
    float *peak;
    double *sumsq;
    uint32_t *nframes;
};

/* Entries a window of `window_frames` needs with blocks of `min_period` frames. */
uint32_t meter_win_entries(uint64_t window_frames, uint32_t min_period);
void meter_win_init(struct meter_win *w, uint64_t window_frames, uint32_t cap, float *peak,
                    double *sumsq, uint32_t *nframes);
void meter_win_reset(struct meter_win *w);
void meter_win_push(struct meter_win *w, float peak, double sumsq, uint32_t nframes);
float meter_win_peak(const struct meter_win *w);
float meter_win_rms(const struct meter_win *w);

/* Estimates by how many samples `b` lags `a` (b[i] ~ a[i - lag]) over
 * n samples, searching lags -maxlag..maxlag with normalised
 * cross-correlation.  Stores the lag and the correlation at it (-1..1);
 * returns 0, or -1 when either signal is silent.  maxlag is bounded by n-1. */
int meter_lag(const float *a, const float *b, size_t n, int maxlag, int *lag, double *corr);

#endif
