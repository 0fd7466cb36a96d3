/* pcm — float to packed integer PCM for the disk thread, bit-identical to libsndfile's clipping
 * conversion (see pcm.h): scale to 32 bits, clip at full scale, round to nearest, keep the top
 * `width` bytes.  No state, no allocation; tests/test_pcm.c checks every path against
 * libsndfile, special values included.  Design: docs/DESIGN.md, section "PCM packing". */
#include "pcm.h"

#include <math.h>
#include <string.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
#define PCM_SSE2 1
#else
#define PCM_SSE2 0
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

/* One sample to 32 bits.  The comparisons are made in double against the same constants
 * libsndfile uses, so +1.0 clips to the largest code and -1.0 is the smallest code exactly, and
 * NaN goes through lrintf as it does there. */
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

#if PCM_SSE2
/* Four samples to 32 bits: pcm_s32 four at a time.  cvtps2dq rounds as cvtss2si does and gives
 * the same 0x80000000 for NaN and for -2^31 and below; at 2^31 and above (the only floats at or
 * above 2147483647.0) a compare mask flips that to 0x7fffffff, the clip. */
static inline __m128i
pcm_s32x4(const float *x)
{
    const __m128 full = _mm_set1_ps(2147483648.0f);
    __m128 v = _mm_mul_ps(_mm_loadu_ps(x), full);
    __m128i over = _mm_castps_si128(_mm_cmpge_ps(v, full));
    return _mm_xor_si128(_mm_cvtps_epi32(v), over);
}

/* Stores four 32-bit samples as `width`-byte little-endian ones, as whole words: 16 bytes of
 * 32-bit, 12 of 24-bit (an 8- and a 4-byte store), 8 of 16-bit. */
static inline unsigned char *
pcm_store4(unsigned char *o, __m128i v, int width)
{
    uint32_t t[4];
    uint64_t lo;

    switch (width) {
    case 2:
        _mm_storel_epi64((__m128i *)(void *)o, _mm_packs_epi32(_mm_srai_epi32(v, 16), v));
        return o + 8;
    case 3:
        _mm_storeu_si128((__m128i *)(void *)t, _mm_srli_epi32(v, 8));
        lo = (uint64_t)t[0] | (uint64_t)t[1] << 24 | (uint64_t)t[2] << 48;
        t[0] = t[2] >> 16 | t[3] << 8;
        memcpy(o, &lo, 8);
        memcpy(o + 8, t, 4);
        return o + 12;
    default:
        _mm_storeu_si128((__m128i *)(void *)o, v);
        return o + 16;
    }
}
#endif

#define PCM_LOOP(W, BIG, CONV)                                                                     \
    for (; i < n; i++) {                                                                           \
        out = pcm_put(out, (uint32_t)CONV(l[i]), W, BIG);                                          \
        out = pcm_put(out, (uint32_t)CONV(r[i]), W, BIG);                                          \
    }

void
pcm_pack_stereo(unsigned char *out, const float *l, const float *r, uint32_t n, int width, int big)
{
    uint32_t i = 0;

#if PCM_SSE2
    if (!big) {
        for (; i + 4 <= n; i += 4) {
            __m128i a = pcm_s32x4(l + i), b = pcm_s32x4(r + i);
            out = pcm_store4(out, _mm_unpacklo_epi32(a, b), width);
            out = pcm_store4(out, _mm_unpackhi_epi32(a, b), width);
        }
    }
#endif
    /* Constant width and order per loop: each case compiles to straight
     * stores.  The rest of the frames (all of them for AIFF). */
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

#define PCM_LOOP1(W, BIG)                                                                          \
    for (; i < n; i++)                                                                             \
        out = pcm_put(out, (uint32_t)pcm_s32(x[i]), W, BIG);

void
pcm_pack_mono(unsigned char *out, const float *x, uint32_t n, int width, int big)
{
    uint32_t i = 0;

#if PCM_SSE2
    if (!big)
        for (; i + 4 <= n; i += 4)
            out = pcm_store4(out, pcm_s32x4(x + i), width);
#endif
    if (width == 2 && !big)
        PCM_LOOP1(2, 0)
    else if (width == 2)
        PCM_LOOP1(2, 1)
    else if (width == 3 && !big)
        PCM_LOOP1(3, 0)
    else if (width == 3)
        PCM_LOOP1(3, 1)
    else if (!big)
        PCM_LOOP1(4, 0)
    else
        PCM_LOOP1(4, 1)
}
