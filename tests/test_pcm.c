/* test_pcm — pcm_pack_stereo() and pcm_pack_mono() write exactly the bytes libsndfile writes
 * from float with clipping on, for 16, 24 and 32 bits, little-endian (WAV)
 * and big-endian (AIFF): each case is written once through sf_writef_float
 * and once through pcm_pack_stereo + sf_write_raw, and the two files must
 * be identical byte for byte.  The samples cover the edges that matter:
 * full scale and beyond (clipping), infinities, NaN, values half a code apart
 * (rounding), denormals, and a few hundred thousand random values; an odd
 * frame count runs the SIMD path and the scalar tail of little-endian. */
#include "pcm.h"
#include "unit.h"

#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 199999 /* not a multiple of 4: the SIMD path and the scalar tail */

static float L[N], R[N];
static unsigned char packed[N * 2 * 4];

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static float
rnd(float lo, float hi)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return lo + (hi - lo) * (float)((rng >> 11) * (1.0 / 9007199254740992.0));
}

static uint32_t
fill(void)
{
    static const float edge[] = {
        0.0f,       -0.0f,       1.0f,   -1.0f,   0.5f,  -0.5f,  0.99999994f, -0.99999994f,
        1.0000001f, -1.0000001f, 2.0f,   -2.0f,   1e30f, -1e30f, INFINITY,    -INFINITY,
        1e-40f,     -1e-40f,     1e-10f, -1e-10f, NAN,   -NAN,
    };
    uint32_t n = 0;

    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++, n++) {
        L[n] = edge[i];
        R[n] = -edge[i];
    }
    /* Every code boundary region of 16 and 24 bits near zero and near full
     * scale: k/2^b and k/2^b + half a code, and the floats next to them. */
    for (int bits = 15; bits <= 23; bits += 8) {
        for (int k = -70; k <= 70; k++) {
            for (int at = 0; at < 2; at++) {
                double base = at ? 1.0 - 80.0 / ldexp(1.0, bits) : 0.0;
                float v = (float)(base + (k + 0.5) / ldexp(1.0, bits));
                L[n] = v;
                R[n] = nextafterf(v, 2.0f);
                n++;
                L[n] = nextafterf(v, -2.0f);
                R[n] = -v;
                n++;
            }
        }
    }
    while (n < N) {
        L[n] = rnd(-1.2f, 1.2f);
        R[n] = n % 7 ? rnd(-1.0f, 1.0f) : rnd(-1e-4f, 1e-4f);
        n++;
    }
    return n;
}

/* Writes the samples to `path` with libsndfile (raw = our bytes). */
static int
write_file(const char *path, int format, int width, int big, int raw, uint32_t n, int nch)
{
    SF_INFO info = {.samplerate = 48000, .channels = nch, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) {
        fprintf(stderr, "%s: %s\n", path, sf_strerror(NULL));
        return -1;
    }
    sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    int ok;
    if (raw) {
        if (nch == 1)
            pcm_pack_mono(packed, L, n, width, big);
        else
            pcm_pack_stereo(packed, L, R, n, width, big);
        sf_count_t bytes = (sf_count_t)n * nch * width;
        ok = sf_write_raw(sf, packed, bytes) == bytes;
    } else {
        float *inter = malloc(sizeof(float) * 2 * n);
        ok = inter != NULL;
        for (uint32_t i = 0; ok && i < n; i++) {
            inter[nch * i] = L[i];
            if (nch == 2)
                inter[2 * i + 1] = R[i];
        }
        ok = ok && sf_writef_float(sf, inter, n) == (sf_count_t)n;
        free(inter);
    }
    return sf_close(sf) == 0 && ok ? 0 : -1;
}

static int
same_files(const char *a, const char *b, long *at)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    long pos = 0;
    while (same) {
        int ca = getc(fa), cb = getc(fb);
        if (ca != cb)
            same = 0;
        else if (ca == EOF)
            break;
        else
            pos++;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    *at = pos;
    return same;
}

int
main(void)
{
    static const struct {
        const char *name;
        int format, width, big;
    } cases[] = {
        {"wav pcm16", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 2, 0},
        {"wav pcm24", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 3, 0},
        {"wav pcm32", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 4, 0},
        {"rf64 pcm24", SF_FORMAT_RF64 | SF_FORMAT_PCM_24, 3, 0},
        {"w64 pcm24", SF_FORMAT_W64 | SF_FORMAT_PCM_24, 3, 0},
        {"aiff pcm16", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 2, 1},
        {"aiff pcm24", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 3, 1},
        {"aiff pcm32", SF_FORMAT_AIFF | SF_FORMAT_PCM_32, 4, 1},
    };
    char dir[] = "/tmp/stemcap-test-pcm.XXXXXX", a[64], b[64];
    uint32_t n = fill();

    if (!CHECK(mkdtemp(dir) != NULL))
        return unit_summary("test_pcm");
    snprintf(a, sizeof a, "%s/sndfile", dir);
    snprintf(b, sizeof b, "%s/pcm", dir);
    for (size_t i = 0; i < 2 * sizeof cases / sizeof cases[0]; i++) {
        long at = 0;
        size_t c = i % (sizeof cases / sizeof cases[0]);
        int nch = i < sizeof cases / sizeof cases[0] ? 2 : 1; /* then pcm_pack_mono */
        if (!CHECK_INT_EQ(write_file(a, cases[c].format, cases[c].width, cases[c].big, 0, n, nch),
                          0) ||
            !CHECK_INT_EQ(write_file(b, cases[c].format, cases[c].width, cases[c].big, 1, n, nch),
                          0))
            continue;
        int same = same_files(a, b, &at);
        if (!CHECK(same))
            fprintf(stderr, "  %s (%d ch): files differ at byte %ld\n", cases[c].name, nch, at);
        else
            printf("  %s (%d ch): %u frames, %ld bytes identical to libsndfile's\n", cases[c].name,
                   nch, n, at);
    }
    /* The clipping codes themselves, little-endian 24-bit. */
    float l1[3] = {1.0f, -1.0f, 5.0f}, r1[3] = {-5.0f, 0.0f, 0.99999994f};
    unsigned char o[18];
    pcm_pack_stereo(o, l1, r1, 3, 3, 0);
    static const unsigned char want[18] = {0xFF, 0xFF, 0x7F, 0x00, 0x00, 0x80, 0x00, 0x00, 0x80,
                                           0x00, 0x00, 0x00, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0x7F};
    CHECK(memcmp(o, want, sizeof want) == 0);
    unlink(a);
    unlink(b);
    rmdir(dir);
    return unit_summary("test_pcm");
}
