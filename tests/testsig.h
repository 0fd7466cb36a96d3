/* testsig — deterministic multichannel test signals shared by stemcap-testsrc and checktake.
 *
 * Channel layout (18 channels): 0..15 are stem1_L, stem1_R, stem2_L, ..., stem8_R; 16 is mix_L
 * and 17 is mix_R.  Every value is a pure function of (mode, channel, frame index n, rate), so a
 * recorder's output can be verified sample by sample after the fact.  The mix channels are the
 * float sum of the 8 stems' L (resp. R) channels, summed in stem order 1..8 starting from 0.0f
 * (stems never produce -0.0f, so starting from 0.0f or from stem 1 gives identical bits).
 */
#ifndef STEMCAP_TESTSIG_H
#define STEMCAP_TESTSIG_H

#include <stdint.h>

#define TESTSIG_STEMS    8
#define TESTSIG_CHANNELS 18
#define TESTSIG_MIX_L    16
#define TESTSIG_MIX_R    17

/* Peak amplitude of one noise-mode stem channel (exactly representable). */
#define TESTSIG_NOISE_PEAK 0.09375f

enum {
    TESTSIG_NOISE = 0, /* independent pseudo-random noise per channel, peak 0.09375 */
    TESTSIG_SONG = 1,  /* generated 8-stem song (120 BPM, 16 s loop) plus a -72 dBFS hiss */
    TESTSIG_SINE = 2,  /* one steady sine per stem channel, for level meters (see below) */
    TESTSIG_STAMP = 3, /* the frame number itself, losslessly (see below) */
};

/* Stamp mode, for timeline tests: every sample says which frame n it was made for.  Stem k
 * (1..8) carries k * ((n & 0xffff) + 1) / 2^23 on L and k * (((n >> 16) & 0xffff) + 1) / 2^23 on
 * R; the mix carries the stems' sum, 36 times the same.  Every value is an integer multiple of
 * 2^-23 below 0.29, so it is exact in float and in 24- or 32-bit PCM, the mix is the stems' sum
 * bit for bit (the null test passes exactly), and silence (0) is never a stamp.  A source that
 * stamps JACK's frame clock passes n = the frame time of the cycle (32 bits), not a count from
 * its first cycle.  testsig_stamp_decode() reads a frame back from one stereo sample. */
#define TESTSIG_STAMP_SCALE 8388608.0 /* 2^23 */
/* The frame (n mod 2^32) that stem `stem` (1..8; 0 = the mix) carries in (l, r); -1 when
 * (l, r) is not a stamp of that channel pair (silence, or anything else). */
int64_t testsig_stamp_decode(int stem, float l, float r);

/* Sine mode, for level-metering tests.  Stem k (1..8) channel X (L = 0, R = 1) is
 *
 *     A_k * sin(2 pi (f * n / rate + p_kX / 16)),   f = testsig_sine_hz(2 (k - 1) + X)
 *
 * with f = 100 k Hz on L and 100 k + 50 Hz on R (100..850 Hz) and peak A_k = 10^(-(6 + 2 k) / 20),
 * i.e. testsig_sine_peak_db(k) = -(6 + 2 k) dBFS (stem1 -8 ... stem8 -22), the same on L and R.
 * Every frequency is a whole number of cycles per 100 ms (and the whole channel repeats every
 * 20 ms), so at any rate where 100 ms is a whole number of frames (48000: 4800) the RMS over
 * any 100 ms window is exactly A_k / sqrt(2), i.e. peak - TESTSIG_SINE_CREST_DB = peak - 3.0103
 * dB (up to float rounding).  At 48 kHz the samples reach +-A_k exactly.  The fixed phase offsets
 * p_kX (sixteenths of a cycle) are chosen so that the mix peaks near -3.7 dBFS instead of
 * clipping (the stems' peaks add up to +4.2 dBFS; the mix RMS is -6.79 dBFS on each side).  The
 * phase is reduced in integer arithmetic, so it stays exact for any n. */
#define TESTSIG_SINE_CREST_DB 3.0103f /* 20 log10(sqrt(2)): sine RMS is this far below its peak */

/* Peak level in dBFS of sine-mode stem 1..8 (both channels): -(6 + 2 stem); 0.0f otherwise. */
float testsig_sine_peak_db(int stem);
/* Frequency in Hz of sine-mode channel ch (0..15): 100 (ch / 2 + 1) + 50 (ch % 2); 0 otherwise. */
int testsig_sine_hz(int ch);

/* "3,5" -> bits 2 and 4 of *mask (added to it); -1 on a malformed list or a stem outside 1..8. */
int testsig_stem_list(const char *s, unsigned *mask);
/* "noise", "song", "sine" or "stamp" -> TESTSIG_NOISE ... TESTSIG_STAMP; -1 when unknown. */
int testsig_mode_parse(const char *s);
/* TESTSIG_NOISE / _SONG / _SINE / _STAMP -> "noise" / "song" / "sine" / "stamp" ("?" when
 * unknown). */
const char *testsig_mode_name(int mode);
/* "stem3_R", "mix_L", ... for channel ch (0..17); "?" when out of range. */
const char *testsig_channel_name(int ch);

/* Value of channel ch (0..17) at frame n; rate only matters for TESTSIG_SONG and TESTSIG_SINE
 * (0 means 48000). */
float testsig_value(int mode, int ch, uint64_t n, uint32_t rate);

/* Fill out[ch][i] = testsig_value(mode, ch, n0 + i, rate) for i < nframes, for every ch whose
 * out[ch] is not NULL (bit-identical to testsig_value, but cheaper per channel).  Allocation-free
 * and lock-free, so it may be called from a JACK process callback. */
void testsig_block(int mode, uint32_t rate, uint64_t n0, uint32_t nframes,
                   float *const out[TESTSIG_CHANNELS]);

#endif
