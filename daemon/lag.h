/* lag — measuring how far the mix lags the stems' sum: a history of
 * both, per side, fed from the engine's lag ring; an FFT cross-correlation
 * over it; and the residual of any stretch of it at a given offset, so a
 * null result computed at one offset can be checked again at another.
 * Control thread only; the memory (about 2.5 MB) is allocated the first
 * time an analysis is asked for. */
#ifndef STEMCAP_LAG_H
#define STEMCAP_LAG_H

#include <stdint.h>

#include "engine.h"

#define LAG_HISTORY 65536 /* frames of each stream kept (1.4 s at 48 kHz) */
#define LAG_WINDOW  16384 /* frames of the mix correlated per estimate */
#define LAG_MAXLAG  ENGINE_MAX_OFFSET
#define LAG_APART   64   /* lags closer than this belong to the same peak */
#define LAG_TIE     1e-4 /* correlations closer than this are one: the nearest lag wins */

/* One estimate over the newest LAG_WINDOW + 2 LAG_MAXLAG frames. */
struct lag_est {
    int lag;        /* the mix lags the stems' sum by this many frames */
    double corr;    /* normalised correlation at it (-1..1) */
    double corr2;   /* the best correlation more than LAG_APART lags away */
    float resid_db; /* residual peak (worse side) over the window, shifted by lag */
    float level_db; /* peak of the mix over the window */
    uint64_t frame; /* JACK frame after the window's last mix sample */
};

struct lag {
    struct engine *e;
    float *hist;         /* ENGINE_LAG_STREAMS x LAG_HISTORY, by frame modulo */
    uint64_t start, end; /* frames held: [start, end), contiguous */
    void *fft;           /* plans and buffers (lag.c) */
    int nomem;           /* an allocation failed: logged once, no analysis */
};

void lag_init(struct lag *a, struct engine *e);
void lag_free(struct lag *a);

/* Allocates what an analysis needs (once).  Returns 0 or -1 (logged once). */
int lag_ready(struct lag *a);

/* Moves the engine's lag records into the history; a gap (lag samples the
 * engine could not hand over) starts the history afresh. */
void lag_drain(struct lag *a);
/* Forgets the history (nothing of it is needed any more). */
void lag_reset(struct lag *a);
/* Without analysis: drops the oldest records of the engine's lag ring until
 * at most `keep` bytes are left in it, in whole records (a pre-history for an
 * analysis that may start). */
void lag_trim(struct lag *a, size_t keep);

/* Estimates the lag over the newest samples; of lags that correlate as
 * well (a periodic signal), the one nearest `prefer`.  Returns 0 and fills
 * `out`, or -1 when the history is too short or either signal silent. */
int lag_estimate(struct lag *a, float threshold, int prefer, struct lag_est *out);

/* The residual of frames [frame, frame + n) with the stems' sum delayed by
 * `offset` (the mix by -offset): its peak per side, and per side the
 * offset from `frame` of the first sample above `threshold` (-1: none).
 * Returns 0, or -1 when the history does not hold those frames. */
int lag_residual(const struct lag *a, uint64_t frame, uint32_t n, int offset, float threshold,
                 float peak[2], int32_t over[2], uint32_t peak_at[2]);

#endif
