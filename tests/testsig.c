/* testsig — deterministic test signals (see testsig.h for the channel layout).
 *
 * Design: every sample is computed from scratch from (mode, channel, n, rate); there is no state
 * at all, so the generator (stemcap-testsrc) and the verifier (checktake) agree bit for bit and the
 * verifier can jump to any frame.  Noise mode hashes (channel, n) with the splitmix64 finaliser
 * and keeps 24 bits.  Song mode evaluates closed-form voices (note start and length are derived
 * from the position on a 120 BPM grid, oscillator phases and pitch sweeps are integrated
 * analytically, "filtered" noise is a difference of hashed white noise at n and n-1) and adds a
 * per-channel hash hiss at -72 dBFS so that any 32-frame window identifies n even where the music
 * is silent or repeats (the arrangement loops every 16 s).  Stem values are computed in double,
 * rounded once to float and canonicalised (-0.0f -> +0.0f); the mix is their float sum in stem
 * order.  Each stem's music is bounded by construction to |x| <= 1 before its final gain, so a
 * song stem stays below 0.12 and the mix below 0.95.  Sine mode reduces the phase f n / rate
 * (plus a fixed offset) modulo one cycle in integer arithmetic before the double sin().
 */
#include "testsig.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define TWO_PI 6.283185307179586

/* ---- hashing ---------------------------------------------------------------------------------
 */

static uint64_t
mix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* 24-bit signed integer in [-2^23, 2^23) from (salt, n). */
static int32_t
hash24(uint64_t salt, uint64_t n)
{
    return (int32_t)(mix64((salt << 40) ^ n) >> 40) - 0x800000;
}

/* Uniform white noise in [-1, 1). */
static double
white(uint64_t salt, uint64_t n)
{
    return hash24(salt, n) * (1.0 / 8388608.0);
}

/* Crude high-pass noise in (-1, 1): first difference of white noise. */
static double
hpnoise(uint64_t salt, uint64_t n)
{
    return 0.5 * (white(salt, n) - white(salt, n - 1));
}

/* ---- noise mode ------------------------------------------------------------------------------
 */

static float
noise_sample(int ch, uint64_t n)
{
    /* v * 3 * 2^-28: peak 2^23 * 3 * 2^-28 = 0.09375. */
    return (float)hash24((uint64_t)ch + 1, n) * (TESTSIG_NOISE_PEAK / 8388608.0f);
}

/* ---- sine mode -------------------------------------------------------------------------------
 */

/* 10^(-(6 + 2 k) / 20) for stem k = 1..8. */
static const double sine_amp[TESTSIG_STEMS] = {
    0.3981071705534972,   /* -8 dBFS */
    0.31622776601683794,  /* -10 */
    0.25118864315095801,  /* -12 */
    0.19952623149688797,  /* -14 */
    0.15848931924611134,  /* -16 */
    0.12589254117941673,  /* -18 */
    0.10000000000000001,  /* -20 */
    0.079432823472428138, /* -22 */
};

/* Phase offsets in sixteenths of a cycle, [side][stem]: found by a search for the lowest mix peak
 * (L: 0.651 = -3.73 dBFS, R: 0.646 = -3.79 dBFS; all zero would give +0.92 / +1.59 dBFS), among
 * offsets that keep a 48 kHz sample on every crest (400 Hz: even, 800 Hz: multiple of 4). */
static const uint32_t sine_phase16[2][TESTSIG_STEMS] = {
    {0, 2, 1, 10, 3, 4, 12, 4},
    {0, 10, 12, 15, 12, 4, 5, 9},
};

static float
sine_sample(int ch, uint64_t n, uint32_t rate)
{
    uint64_t r = rate ? rate : 48000;
    int stem = ch / 2, side = ch & 1;
    /* phase in units of 1/(16 r) cycle, exact: (n mod r) f < r * 850 never overflows */
    uint64_t cyc =
        ((n % r) * (uint64_t)testsig_sine_hz(ch) % r) * 16 + sine_phase16[side][stem] * r;
    double ph = (double)(cyc % (16 * r)) / (double)(16 * r);
    return (float)(sine_amp[stem] * sin(TWO_PI * ph)) + 0.0f;
}

/* ---- song mode -------------------------------------------------------------------------------
 */

#define LOOP_BARS 8
#define LOOP_SEC  16.0 /* 8 bars of 2 s (4/4 at 120 BPM) */

/* Chord per bar (midi notes) and bass root: Am F C G | Am F G E. */
static const int chord_notes[LOOP_BARS][3] = {
    {57, 60, 64}, {53, 57, 60}, {55, 60, 64}, {55, 59, 62},
    {57, 60, 64}, {53, 57, 60}, {55, 59, 62}, {56, 59, 64},
};
static const int bass_root[LOOP_BARS] = {45, 41, 48, 43, 45, 41, 43, 40};
static const int bass_offs[8] = {0, 0, 12, 0, 0, 7, 12, 7};

/* Lead melody in eighths: midi note, 0 = rest, -1 = tie to the previous slot. */
static const int melody[LOOP_BARS * 8] = {
    76, -1, 74, 72, 71, -1, 69, -1, /* Am */
    72, -1, -1, 69, 72, -1, 77, 76, /* F */
    76, -1, 72, -1, 67, -1, 72, 74, /* C */
    74, -1, -1, -1, 71, -1, 0,  0,  /* G */
    69, 72, 76, -1, 81, -1, 79, 76, /* Am */
    77, -1, 76, 74, 72, -1, 69, -1, /* F */
    71, -1, 74, -1, 79, -1, 77, 74, /* G */
    76, -1, -1, 74, 71, -1, 68, -1, /* E */
};

static const double semitone[12] = {
    1.0,
    1.0594630943592953,
    1.122462048309373,
    1.189207115002721,
    1.2599210498948732,
    1.3348398541700344,
    1.4142135623730951,
    1.4983070768766815,
    1.5874010519681994,
    1.681792830507429,
    1.7817974362806785,
    1.8877486253633868,
};

static double
midi_hz(int m)
{
    return 8.175798915643707 * semitone[m % 12] * (double)(1u << (m / 12));
}

/* Note envelope: 0 outside [0, len), linear attack over att, exponential decay with time constant
 * tau (none when tau <= 0) and a 10 ms linear fade before len so notes never click off. */
static double
env(double t, double len, double att, double tau)
{
    if (t < 0.0 || t >= len)
        return 0.0;
    double a = t < att ? t / att : 1.0;
    double r = len - t < 0.01 ? (len - t) / 0.01 : 1.0;
    return a * r * (tau > 0.0 ? exp(-t / tau) : 1.0);
}

/* Most recent set bit of a 16-step (or 8-slot) mask at or before step; *len gets the distance to
 * the next set bit or to the end of the bar.  -1 when none is set before step. */
static int
last_hit(unsigned mask, int step, int nsteps, int *len)
{
    int s = step;
    while (s >= 0 && !(mask & (1u << s)))
        s--;
    if (s < 0)
        return -1;
    int e = s + 1;
    while (e < nsteps && !(mask & (1u << e)))
        e++;
    *len = e - s;
    return s;
}

/* Song position. */
struct pos {
    double tl;   /* seconds into the 16 s loop */
    int bar;     /* 0..7 */
    int step;    /* 16th within the bar, 0..15 */
    double tbar; /* seconds into the bar */
};

static void
stem_drums(const struct pos *p, uint64_t n, double *l, double *r)
{
    int len;
    double kick = 0.0, snare = 0.0, hats = 0.0;
    unsigned kmask = (p->bar % 4 == 3) ? 0x5111u : 0x1111u;
    int k = last_hit(kmask, p->step, 16, &len);
    if (k >= 0) {
        double t = p->tbar - k / 8.0;
        double e = env(t, len / 8.0, 0.002, 0.18);
        if (e > 0.0) {
            /* f(t) = 45 + 115 e^(-t/0.035), phase integrated in closed form */
            double ph = TWO_PI * (45.0 * t + 115.0 * 0.035 * (1.0 - exp(-t / 0.035)));
            kick = e * sin(ph);
        }
    }
    k = last_hit(0x1010u, p->step, 16, &len);
    if (k >= 0) {
        double t = p->tbar - k / 8.0;
        double e = env(t, len / 8.0, 0.001, 0.0);
        if (e > 0.0)
            snare = e * (0.35 * exp(-t / 0.06) * sin(TWO_PI * 185.0 * t) +
                         0.65 * exp(-t / 0.09) * hpnoise(101, n));
    }
    k = last_hit(0x5555u, p->step, 16, &len);
    if (k >= 0) {
        double t = p->tbar - k / 8.0;
        double e = env(t, len / 8.0, 0.0005, 0.03);
        if (e > 0.0)
            hats = e * (k % 4 == 2 ? 1.0 : 0.5) * hpnoise(102, n);
    }
    *l = 0.55 * kick + 0.3 * snare + 0.8 * 0.15 * hats;
    *r = 0.55 * kick + 0.3 * snare + 0.15 * hats;
}

static void
stem_bass(const struct pos *p, double *l, double *r)
{
    int slot = (int)(p->tl * 4.0); /* eighth within the loop */
    if (slot > 63)
        slot = 63;
    double t = p->tl - slot / 4.0;
    double e = env(t, 0.22, 0.004, 0.3);
    double v = 0.0;
    if (e > 0.0) {
        double f = midi_hz(bass_root[slot / 8] + bass_offs[slot % 8]);
        double ph = TWO_PI * f * t;
        double s1 = sin(ph), c1 = cos(ph);
        double s2 = 2.0 * s1 * c1, c2 = 1.0 - 2.0 * s1 * s1;
        double s3 = s2 * c1 + c2 * s1;
        double s4 = 2.0 * s2 * c2;
        v = e * (s1 + 0.5 * s2 + 0.25 * s3 + 0.125 * s4) / 1.875;
    }
    *l = v;
    *r = v;
}

static void
stem_keys(const struct pos *p, double *l, double *r)
{
    int len;
    int slot = p->step / 2; /* eighth within the bar */
    int k = last_hit(0x59u, slot, 8, &len);
    double v = 0.0;
    if (k >= 0) {
        double t = p->tbar - k / 4.0;
        double e = env(t, len / 4.0, 0.003, 0.45) * (k == 0 ? 1.0 : 0.7);
        if (e > 0.0) {
            for (int i = 0; i < 3; i++) {
                double ph = TWO_PI * midi_hz(chord_notes[p->bar][i]) * t;
                double s = sin(ph);
                v += s + 0.3 * (2.0 * s * cos(ph)); /* sin + 0.3 sin 2x, |.| <= 1.3 */
            }
            v *= e / 3.9;
        }
    }
    *l = v;
    *r = 0.8 * v;
}

static void
stem_lead(const struct pos *p, double *l, double *r)
{
    int slot = (int)(p->tl * 4.0);
    if (slot > 63)
        slot = 63;
    int s = slot;
    while (s > 0 && melody[s] < 0)
        s--;
    double v = 0.0;
    if (melody[s] > 0) {
        int e = s + 1;
        while (e < 64 && melody[e] < 0)
            e++;
        double t = p->tl - s / 4.0;
        double g = env(t, (e - s) / 4.0 - 0.02, 0.01, 1.5);
        if (g > 0.0) {
            /* 5.5 Hz vibrato of +-0.4 %: phase of f (1 + d sin(2 pi nu t)) integrated */
            const double d = 0.004, nu = 5.5;
            double f = midi_hz(melody[s]);
            double ph = TWO_PI * f * t + f * d / nu * (1.0 - cos(TWO_PI * nu * t));
            double x = sin(ph), x2 = x * x;
            double s3 = x * (3.0 - 4.0 * x2);
            double s5 = x * (5.0 - 20.0 * x2 + 16.0 * x2 * x2);
            v = g * (x - s3 / 9.0 + s5 / 25.0) / 1.1512;
        }
    }
    *l = 0.85 * v;
    *r = v;
}

static double
pad_chord(int bar, double t, double detune)
{
    /* sin^2 attack over 0.5 s from the bar start, sustain, cos^2 release over 0.5 s after the bar
     * end: overlapping attack and release envelopes sum to exactly 1. */
    double e;
    if (t < 0.0 || t >= 2.5)
        return 0.0;
    if (t < 0.5) {
        double a = sin(TWO_PI / 4.0 * t / 0.5);
        e = a * a;
    } else if (t < 2.0) {
        e = 1.0;
    } else {
        double a = cos(TWO_PI / 4.0 * (t - 2.0) / 0.5);
        e = a * a;
    }
    double v = sin(TWO_PI * midi_hz(bass_root[bar] + 12) * (1.0 + detune) * t);
    for (int i = 0; i < 3; i++)
        v += sin(TWO_PI * midi_hz(chord_notes[bar][i] + 12) * (1.0 - detune) * t);
    return e * v / 4.0;
}

static void
stem_pad(const struct pos *p, double *l, double *r)
{
    int prev = (p->bar + LOOP_BARS - 1) % LOOP_BARS;
    *l = pad_chord(p->bar, p->tbar, -0.002) + pad_chord(prev, p->tbar + 2.0, -0.002);
    *r = pad_chord(p->bar, p->tbar, 0.002) + pad_chord(prev, p->tbar + 2.0, 0.002);
}

static void
stem_arp(const struct pos *p, double *l, double *r)
{
    static const int pattern[16] = {0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3};
    int idx = pattern[p->step];
    int note = idx < 3 ? chord_notes[p->bar][idx] + 12 : chord_notes[p->bar][0] + 24;
    double t = p->tbar - p->step / 8.0;
    double e = env(t, 0.12, 0.002, 0.07);
    double v = 0.0;
    if (e > 0.0) {
        double x = sin(TWO_PI * midi_hz(note) * t);
        v = e * (x + 0.2 * x * (3.0 - 4.0 * x * x)) / 1.2;
    }
    /* ping-pong */
    *l = (p->step & 1) ? 0.55 * v : v;
    *r = (p->step & 1) ? v : 0.55 * v;
}

static void
stem_perc(const struct pos *p, uint64_t n, double *l, double *r)
{
    static const double accent[4] = {1.0, 0.35, 0.6, 0.35};
    double t = p->tbar - p->step / 8.0;
    double shaker = env(t, 0.125, 0.003, 0.025) * accent[p->step % 4] * hpnoise(201, n);
    int len;
    double conga = 0.0;
    int k =
        last_hit((1u << 3) | (1u << 6) | (1u << 10) | (1u << 11) | (1u << 14), p->step, 16, &len);
    if (k >= 0) {
        double tc = p->tbar - k / 8.0;
        double e = env(tc, len / 8.0, 0.001, 0.12);
        if (e > 0.0) {
            /* f(t) = 220 + 120 e^(-t/0.02) */
            double ph = TWO_PI * (220.0 * tc + 120.0 * 0.02 * (1.0 - exp(-tc / 0.02)));
            conga = e * sin(ph) * (k == 11 ? 0.6 : 1.0);
        }
    }
    *l = 0.35 * 0.6 * shaker + 0.65 * conga;
    *r = 0.35 * shaker + 0.65 * 0.7 * conga;
}

static void
stem_fx(const struct pos *p, uint64_t n, double *l, double *r)
{
    /* echoing pings: origin (loop seconds), pitch; four echoes 0.375 s apart, alternating sides */
    static const double ping_at[4] = {3.75, 5.75, 11.75, 13.75};
    static const int ping_note[4] = {91, 88, 91, 86};
    double vl = 0.0, vr = 0.0;
    int phrase_bar = p->bar % 4;

    if (phrase_bar == 3) { /* riser: noise + exponential sine sweep, auto-panned */
        double u = p->tbar / 2.0;
        double e = env(p->tbar, 2.0, 0.0, 0.0) * u * u;
        if (e > 0.0) {
            const double f0 = 200.0, k = 1.5; /* octaves per second */
            double ph = TWO_PI * f0 * (exp2(k * p->tbar) - 1.0) / (k * 0.6931471805599453);
            double v = 0.6 * e * (0.35 * hpnoise(301, n) + 0.65 * sin(ph));
            double pan = 0.6 * sin(TWO_PI * 0.75 * p->tl);
            vl += v * (pan > 0.0 ? 1.0 - pan : 1.0);
            vr += v * (pan < 0.0 ? 1.0 + pan : 1.0);
        }
    } else if (phrase_bar == 0) { /* impact: dropping boom + noise burst */
        double t = p->tbar;
        double e = env(t, 1.9, 0.001, 0.0);
        if (e > 0.0) {
            double ph = TWO_PI * (40.0 * t + 40.0 * 0.1 * (1.0 - exp(-t / 0.1)));
            double v =
                0.7 * e * (0.7 * exp(-t / 0.5) * sin(ph) + 0.3 * exp(-t / 0.04) * white(302, n));
            vl += v;
            vr += v;
        }
    }
    for (int i = 0; i < 4; i++) {
        double t0 = p->tl - ping_at[i];
        if (t0 < 0.0 || t0 >= 1.5)
            continue;
        int j = (int)(t0 / 0.375);
        double t = t0 - j * 0.375;
        double e = env(t, 0.2, 0.001, 0.05);
        if (e > 0.0) {
            double v = 0.4 * e * pow(0.6, j) * sin(TWO_PI * midi_hz(ping_note[i]) * t);
            if (j & 1)
                vr += v;
            else
                vl += v;
        }
    }
    *l = vl;
    *r = vr;
}

/* Per-stem level (times 0.118), chosen for a rough balance. */
static const double stem_level[TESTSIG_STEMS] = {1.0, 0.9, 0.6, 0.7, 0.5, 0.45, 0.6, 0.6};
#define SONG_GAIN  0.118
#define HISS_SCALE (1.0 / 68719476736.0) /* 2^-36: 24-bit hash -> +-2^-13 (-72 dBFS) */

static void
song_pair(int stem, uint64_t n, uint32_t rate, float *lo, float *ro)
{
    struct pos p;
    double t = (double)n / (double)(rate ? rate : 48000);
    p.tl = fmod(t, LOOP_SEC);
    int s16 = (int)(p.tl * 8.0);
    if (s16 > LOOP_BARS * 16 - 1)
        s16 = LOOP_BARS * 16 - 1;
    p.bar = s16 / 16;
    p.step = s16 % 16;
    p.tbar = p.tl - p.bar * 2.0;

    double l = 0.0, r = 0.0;
    switch (stem) {
    case 0:
        stem_drums(&p, n, &l, &r);
        break;
    case 1:
        stem_bass(&p, &l, &r);
        break;
    case 2:
        stem_keys(&p, &l, &r);
        break;
    case 3:
        stem_lead(&p, &l, &r);
        break;
    case 4:
        stem_pad(&p, &l, &r);
        break;
    case 5:
        stem_arp(&p, &l, &r);
        break;
    case 6:
        stem_perc(&p, n, &l, &r);
        break;
    default:
        stem_fx(&p, n, &l, &r);
        break;
    }
    double g = SONG_GAIN * stem_level[stem];
    *lo = (float)(g * l + hash24(64 + 2 * (uint64_t)stem, n) * HISS_SCALE) + 0.0f;
    *ro = (float)(g * r + hash24(65 + 2 * (uint64_t)stem, n) * HISS_SCALE) + 0.0f;
}

/* ---- public API ------------------------------------------------------------------------------
 */

/* One stem channel (0..15) in noise or sine mode; unknown modes play noise. */
static float
mono_sample(int mode, int ch, uint64_t n, uint32_t rate)
{
    return mode == TESTSIG_SINE ? sine_sample(ch, n, rate) : noise_sample(ch, n) + 0.0f;
}

/* Stamp mode: stem (0..7) carries (stem + 1) times the two 16-bit halves of n, plus one. */
static void
stamp_pair(int stem, uint64_t n, float *l, float *r)
{
    double k = stem + 1;
    *l = (float)(k * (double)((n & 0xffff) + 1) / TESTSIG_STAMP_SCALE);
    *r = (float)(k * (double)(((n >> 16) & 0xffff) + 1) / TESTSIG_STAMP_SCALE);
}

int64_t
testsig_stamp_decode(int stem, float l, float r)
{
    double k = stem == 0 ? 36.0 : stem;
    double a = (double)l * TESTSIG_STAMP_SCALE / k, b = (double)r * TESTSIG_STAMP_SCALE / k;
    if (stem < 0 || stem > TESTSIG_STEMS || a != floor(a) || b != floor(b) || a < 1.0 ||
        a > 65536.0 || b < 1.0 || b > 65536.0)
        return -1;
    return (int64_t)(a - 1.0) | (int64_t)(b - 1.0) << 16;
}

static void
stem_pair(int mode, int stem, uint64_t n, uint32_t rate, float *l, float *r)
{
    if (mode == TESTSIG_STAMP) {
        stamp_pair(stem, n, l, r);
    } else if (mode == TESTSIG_SONG) {
        song_pair(stem, n, rate, l, r);
    } else if (mode == TESTSIG_SINE) {
        *l = sine_sample(2 * stem, n, rate);
        *r = sine_sample(2 * stem + 1, n, rate);
    } else {
        *l = noise_sample(2 * stem, n) + 0.0f;
        *r = noise_sample(2 * stem + 1, n) + 0.0f;
    }
}

int
testsig_stem_list(const char *s, unsigned *mask)
{
    for (;;) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > TESTSIG_STEMS)
            return -1;
        *mask |= 1u << (v - 1);
        if (*end == '\0')
            return 0;
        if (*end != ',')
            return -1;
        s = end + 1;
    }
}

int
testsig_mode_parse(const char *s)
{
    if (s && strcmp(s, "noise") == 0)
        return TESTSIG_NOISE;
    if (s && strcmp(s, "song") == 0)
        return TESTSIG_SONG;
    if (s && strcmp(s, "sine") == 0)
        return TESTSIG_SINE;
    if (s && strcmp(s, "stamp") == 0)
        return TESTSIG_STAMP;
    return -1;
}

const char *
testsig_mode_name(int mode)
{
    return mode == TESTSIG_NOISE   ? "noise"
           : mode == TESTSIG_SONG  ? "song"
           : mode == TESTSIG_SINE  ? "sine"
           : mode == TESTSIG_STAMP ? "stamp"
                                   : "?";
}

float
testsig_sine_peak_db(int stem)
{
    return stem >= 1 && stem <= TESTSIG_STEMS ? (float)-(6 + 2 * stem) : 0.0f;
}

int
testsig_sine_hz(int ch)
{
    return ch >= 0 && ch < 2 * TESTSIG_STEMS ? 100 * (ch / 2 + 1) + 50 * (ch & 1) : 0;
}

const char *
testsig_channel_name(int ch)
{
    static const char *const names[TESTSIG_CHANNELS] = {
        "stem1_L", "stem1_R", "stem2_L", "stem2_R", "stem3_L", "stem3_R",
        "stem4_L", "stem4_R", "stem5_L", "stem5_R", "stem6_L", "stem6_R",
        "stem7_L", "stem7_R", "stem8_L", "stem8_R", "mix_L",   "mix_R",
    };
    return ch >= 0 && ch < TESTSIG_CHANNELS ? names[ch] : "?";
}

float
testsig_value(int mode, int ch, uint64_t n, uint32_t rate)
{
    float l, r;
    if (ch < 0 || ch >= TESTSIG_CHANNELS)
        return 0.0f;
    if (ch < 2 * TESTSIG_STEMS) {
        if (mode != TESTSIG_SONG && mode != TESTSIG_STAMP) /* one channel instead of two */
            return mono_sample(mode, ch, n, rate);
        stem_pair(mode, ch / 2, n, rate, &l, &r);
        return (ch & 1) ? r : l;
    }
    float sum = 0.0f;
    for (int s = 0; s < TESTSIG_STEMS; s++) {
        if (mode != TESTSIG_SONG && mode != TESTSIG_STAMP) {
            sum += mono_sample(mode, 2 * s + (ch & 1), n, rate);
            continue;
        }
        stem_pair(mode, s, n, rate, &l, &r);
        sum += (ch == TESTSIG_MIX_L) ? l : r;
    }
    return sum;
}

void
testsig_block(int mode, uint32_t rate, uint64_t n0, uint32_t nframes,
              float *const out[TESTSIG_CHANNELS])
{
    int need_mix = out[TESTSIG_MIX_L] != NULL || out[TESTSIG_MIX_R] != NULL;
    int need[TESTSIG_STEMS];
    for (int s = 0; s < TESTSIG_STEMS; s++)
        need[s] = need_mix || out[2 * s] != NULL || out[2 * s + 1] != NULL;

    for (uint32_t i = 0; i < nframes; i++) {
        uint64_t n = n0 + i;
        float suml = 0.0f, sumr = 0.0f;
        for (int s = 0; s < TESTSIG_STEMS; s++) {
            float l, r;
            if (!need[s])
                continue;
            stem_pair(mode, s, n, rate, &l, &r);
            if (out[2 * s])
                out[2 * s][i] = l;
            if (out[2 * s + 1])
                out[2 * s + 1][i] = r;
            suml += l;
            sumr += r;
        }
        if (out[TESTSIG_MIX_L])
            out[TESTSIG_MIX_L][i] = suml;
        if (out[TESTSIG_MIX_R])
            out[TESTSIG_MIX_R][i] = sumr;
    }
}
