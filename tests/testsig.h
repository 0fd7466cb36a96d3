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
};

/* "noise" or "song" -> TESTSIG_NOISE / TESTSIG_SONG; -1 when unknown. */
int testsig_mode_parse(const char *s);
/* TESTSIG_NOISE / TESTSIG_SONG -> "noise" / "song" ("?" when unknown). */
const char *testsig_mode_name(int mode);
/* "stem3_R", "mix_L", ... for channel ch (0..17); "?" when out of range. */
const char *testsig_channel_name(int ch);

/* Value of channel ch (0..17) at frame n; rate only matters for TESTSIG_SONG. */
float testsig_value(int mode, int ch, uint64_t n, uint32_t rate);

/* Fill out[ch][i] = testsig_value(mode, ch, n0 + i, rate) for i < nframes, for every ch whose
 * out[ch] is not NULL (bit-identical to testsig_value, but cheaper per channel).  Allocation-free
 * and lock-free, so it may be called from a JACK process callback. */
void testsig_block(int mode, uint32_t rate, uint64_t n0, uint32_t nframes,
                   float *const out[TESTSIG_CHANNELS]);

#endif
