/* pcm — float samples to packed integer PCM, for the disk thread.
 *
 * The same numbers libsndfile writes from float with clipping on
 * (SFC_SET_CLIPPING): scaled to 32 bits (full scale 2^31), values at or
 * beyond full scale clip, the rest are rounded to nearest (lrintf), and for
 * 16 and 24 bits the low bytes of the 32-bit value are dropped.
 * tests/test_pcm.c checks that against libsndfile itself.  Doing it here
 * lets the writer interleave, convert and pack a block in one pass and hand
 * it to sf_write_raw(). */
#ifndef STEMCAP_PCM_H
#define STEMCAP_PCM_H

#include <stdint.h>

/* Interleaves `n` frames of the planar channels `l` and `r` into `out` as
 * `width`-byte (2, 3 or 4) signed integers, little-endian, or big-endian
 * when `big` (AIFF).  `out` holds n * 2 * width bytes. */
void pcm_pack_stereo(unsigned char *out, const float *l, const float *r, uint32_t n, int width,
                     int big);
/* The same for one channel `x`: `out` holds n * width bytes. */
void pcm_pack_mono(unsigned char *out, const float *x, uint32_t n, int width, int big);

#endif
