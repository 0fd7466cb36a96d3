/* pcm — float to packed integer PCM, bit-identical to libsndfile's clipping
 * conversion (see pcm.h).
 *
 * One sample: scale to 32 bits, clip at full scale, round to nearest,
 * keep the top `width` bytes of the 32-bit value (so 16 and 24 bits are
 * the rounded 32-bit value truncated, as in libsndfile).
 * The comparisons are made in double against the same constants libsndfile
 * uses, so +1.0 clips to the largest code and -1.0 is the smallest code
 * exactly, and NaN goes through lrintf as it does there.  The byte order is
 * chosen once per call, so the inner loops stay simple enough to unroll. */
#include "pcm.h"

#include <math.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

/* lrintf without the call into libm that GCC emits unless -fno-math-errno:
 * on x86 one cvtss2si, which rounds in the current mode (to nearest, even)
 * and gives 0x80000000 for NaN, exactly as lrintf does there. */
static inline int32_t
pcm_round(float v)
{
#if defined(__SSE__) || defined(__x86_64__)
    return _mm_cvt_ss2si(_mm_set_ss(v));
#else
    return (int32_t)lrintf(v);
#endif
}

static inline int32_t
pcm_s32(float x)
{
    float v = x * 2147483648.0f;
    if (v >= 2147483647.0)
        return INT32_MAX;
    if (v <= -2147483648.0)
        return INT32_MIN;
    return pcm_round(v);
}

/* Stores the top `width` bytes of the 32-bit `v`. */
static inline unsigned char *
pcm_put(unsigned char *o, uint32_t v, int width, int big)
{
    switch (width) {
    case 2:
        if (big) {
            o[0] = (unsigned char)(v >> 24);
            o[1] = (unsigned char)(v >> 16);
        } else {
            o[0] = (unsigned char)(v >> 16);
            o[1] = (unsigned char)(v >> 24);
        }
        return o + 2;
    case 3:
        if (big) {
            o[0] = (unsigned char)(v >> 24);
            o[1] = (unsigned char)(v >> 16);
            o[2] = (unsigned char)(v >> 8);
        } else {
            o[0] = (unsigned char)(v >> 8);
            o[1] = (unsigned char)(v >> 16);
            o[2] = (unsigned char)(v >> 24);
        }
        return o + 3;
    default:
        if (big) {
            o[0] = (unsigned char)(v >> 24);
            o[1] = (unsigned char)(v >> 16);
            o[2] = (unsigned char)(v >> 8);
            o[3] = (unsigned char)v;
        } else {
            o[0] = (unsigned char)v;
            o[1] = (unsigned char)(v >> 8);
            o[2] = (unsigned char)(v >> 16);
            o[3] = (unsigned char)(v >> 24);
        }
        return o + 4;
    }
}

#define PCM_LOOP(W, BIG, CONV)                                                                     \
    for (uint32_t i = 0; i < n; i++) {                                                             \
        out = pcm_put(out, (uint32_t)CONV(l[i]), W, BIG);                                          \
        out = pcm_put(out, (uint32_t)CONV(r[i]), W, BIG);                                          \
    }

void
pcm_pack_stereo(unsigned char *out, const float *l, const float *r, uint32_t n, int width, int big)
{
    /* Constant width and order per loop: each case compiles to straight
     * stores. */
    if (width == 2 && !big)
        PCM_LOOP(2, 0, pcm_s32)
    else if (width == 2)
        PCM_LOOP(2, 1, pcm_s32)
    else if (width == 3 && !big)
        PCM_LOOP(3, 0, pcm_s32)
    else if (width == 3)
        PCM_LOOP(3, 1, pcm_s32)
    else if (!big)
        PCM_LOOP(4, 0, pcm_s32)
    else
        PCM_LOOP(4, 1, pcm_s32)
}
