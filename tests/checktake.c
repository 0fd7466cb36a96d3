/* checktake — verify recorded stereo and mono files sample by sample against testsig.
 *
 * Usage: checktake [-m noise|song] [-r RATE] [-l LSB_TOLERANCE] [--min-frames N]
 *                  [--allow-silence] [--offset N] [--max-offset N] [-M STEMLIST]
 *                  FILE:CHL,CHR | FILE:CH ...
 *
 * FILE:CH is a mono file of testsig channel CH.  -M names the stems played mono (as
 * stemcap-testsrc -M): the expected mix then adds their L channel into both sides.
 *
 * Design: each file is opened with libsndfile and its first 32 (non-silent, with
 * --allow-silence) frames form a search window.  The source frame n0 of the file's first frame
 * is found by trying the offsets of the files already located first (they normally share one),
 * then scanning n0 = 0, 1, 2, ... up to --max-offset (default 2^26): each candidate is screened
 * on one sample and confirmed on all 64 window samples; testsig never repeats a 32-frame window,
 * so the first confirmed candidate is the offset.  Files whose channels need the whole mix are
 * located last so they can reuse an offset found cheaply on a stem file.  Then every sample is
 * compared: float/double files bit-exactly (as float), integer files (read with sf_readf_int,
 * shifted down to the file's bit depth) within the LSB tolerance of the closest of three
 * float->int conversions: libsndfile without clipping, lrintf(x * (float)(2^(b-1) - 1));
 * libsndfile with SFC_SET_CLIPPING, floor(lrintf(x * 2^31) / 2^(32-b)); and plain
 * lrint(x * 2^(b-1)).  All files must have the same frame count and the same n0.
 * Exit: 0 all good, 1 mismatch, 2 usage error or unreadable/unsupported file.
 */
#include "testsig.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#define WINDOW      32
#define BLOCK       8192
#define NO_OFFSET   (-1)
#define DEFAULT_MAX (INT64_C(1) << 26)

struct take_file {
    const char *spec; /* "path:L,R" as given (the path is the part before the last ':') */
    char *path;
    int ch[2]; /* a mono file: the same channel twice */
    int nch;   /* 1 or 2: channels the file must have */
    SNDFILE *sf;
    SF_INFO info;
    int is_float;
    int bits;      /* integer files: 8, 16, 24 or 32 */
    uint32_t rate; /* rate used for the song */
    int64_t n0;
    /* search window: frame positions and samples */
    int nwin;
    int64_t win_pos[WINDOW];
    float win_f[WINDOW][2];
    int32_t win_i[WINDOW][2];
    /* results */
    long maxerr;
    int64_t silent;
    int failed;
};

static int mode = TESTSIG_NOISE;
static long tolerance = 1;
static int allow_silence;
static uint32_t force_rate;
static unsigned mono_stems; /* -M: bit s: stem s + 1 is mono in the mix */

static void
usage(FILE *to)
{
    fprintf(to, "usage: checktake [-m noise|song] [-r RATE] [-l LSB_TOLERANCE] [--min-frames N]\n"
                "                 [--allow-silence] [--offset N] [--max-offset N] [--time-ref N]\n"
                "                 [-M STEMLIST] FILE:CHL,CHR|FILE:CH [...]\n"
                "  CHL,CHR are testsig channels: 0..15 = stem1_L..stem8_R, 16,17 = mix_L,mix_R\n"
                "  FILE:CH is a mono file of channel CH\n"
                "  -M LIST comma-separated mono stems (1..8): the mix adds their L to both sides\n"
                "  exit 0 = all files match, 1 = mismatch, 2 = usage or unreadable file\n");
}

static int
parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int
parse_spec(struct take_file *f, const char *spec)
{
    const char *colon = strrchr(spec, ':');
    int64_t a, b;
    if (!colon || colon == spec)
        return -1;
    const char *comma = strchr(colon + 1, ',');
    if (!comma) { /* FILE:CH, a mono file */
        if (parse_i64(colon + 1, 0, TESTSIG_CHANNELS - 1, &a))
            return -1;
        f->spec = spec;
        f->path = strndup(spec, (size_t)(colon - spec));
        f->ch[0] = f->ch[1] = (int)a;
        f->nch = 1;
        return f->path ? 0 : -1;
    }
    char tmp[32];
    size_t la = (size_t)(comma - colon - 1);
    if (la == 0 || la >= sizeof tmp)
        return -1;
    memcpy(tmp, colon + 1, la);
    tmp[la] = '\0';
    if (parse_i64(tmp, 0, TESTSIG_CHANNELS - 1, &a) ||
        parse_i64(comma + 1, 0, TESTSIG_CHANNELS - 1, &b))
        return -1;
    f->spec = spec;
    f->path = strndup(spec, (size_t)(colon - spec));
    f->ch[0] = (int)a;
    f->ch[1] = (int)b;
    f->nch = 2;
    return f->path ? 0 : -1;
}

static int
open_file(struct take_file *f)
{
    memset(&f->info, 0, sizeof f->info);
    f->sf = sf_open(f->path, SFM_READ, &f->info);
    if (!f->sf) {
        fprintf(stderr, "checktake: %s: %s\n", f->path, sf_strerror(NULL));
        return -1;
    }
    if (f->info.channels != f->nch) {
        fprintf(stderr, "checktake: %s: %d channels, need %d\n", f->path, f->info.channels, f->nch);
        return -1;
    }
    switch (f->info.format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_FLOAT:
    case SF_FORMAT_DOUBLE:
        f->is_float = 1;
        break;
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8:
        f->bits = 8;
        break;
    case SF_FORMAT_PCM_16:
        f->bits = 16;
        break;
    case SF_FORMAT_PCM_24:
        f->bits = 24;
        break;
    case SF_FORMAT_PCM_32:
        f->bits = 32;
        break;
    default:
        fprintf(stderr, "checktake: %s: unsupported sample format 0x%x\n", f->path,
                (unsigned)f->info.format);
        return -1;
    }
    f->rate = force_rate ? force_rate : (uint32_t)f->info.samplerate;
    f->n0 = NO_OFFSET;
    return 0;
}

static int64_t
floor_div(int64_t a, int64_t d)
{
    int64_t q = a / d;
    return (a % d != 0 && a < 0) ? q - 1 : q;
}

static int64_t
clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Plain rounding: the reference value reported in mismatch messages. */
static int64_t
int_plain(float x, int bits)
{
    int64_t hi = (INT64_C(1) << (bits - 1)) - 1;
    return clamp64(llrint((double)x * (double)(hi + 1)), -hi - 1, hi);
}

/* Distance in LSBs from got to the closest of the three float->int conversions (see top). */
static long
int_error(float x, int32_t got, int bits)
{
    int64_t hi = (INT64_C(1) << (bits - 1)) - 1, lo = -hi - 1;
    float p1 = x * (float)hi; /* libsndfile, clipping off: product in float */
    int64_t e1 = clamp64(llrint((double)p1), lo, hi);
    float p2 = x * 2147483648.0f; /* libsndfile, clipping on: round at 2^31, shift down */
    int64_t e2;
    if (p2 >= 2147483647.0f)
        e2 = hi;
    else if (p2 <= -2147483648.0f)
        e2 = lo;
    else
        e2 = floor_div(llrint((double)p2), INT64_C(1) << (32 - bits));
    int64_t e3 = int_plain(x, bits);
    int64_t d1 = llabs(got - e1), d2 = llabs(got - e2), d3 = llabs(got - e3);
    int64_t d = d1 < d2 ? d1 : d2;
    d = d < d3 ? d : d3;
    return d > LONG_MAX ? LONG_MAX : (long)d;
}

/* Read up to n frames at the current position; returns frames read.  Int samples are shifted
 * down to the file's bit depth. */
static sf_count_t
read_block(struct take_file *f, float *fb, int32_t *ib, sf_count_t n)
{
    if (f->is_float)
        return sf_readf_float(f->sf, fb, n);
    sf_count_t got = sf_readf_int(f->sf, (int *)ib, n);
    for (sf_count_t i = 0; i < f->nch * got; i++)
        ib[i] = (int32_t)floor_div(ib[i], INT64_C(1) << (32 - f->bits));
    return got;
}

static int
frame_silent(const struct take_file *f, const float *fb, const int32_t *ib, sf_count_t i)
{
    int k = f->nch;
    if (f->is_float)
        return fb[k * i] == 0.0f && fb[k * i + k - 1] == 0.0f;
    return ib[k * i] == 0 && ib[k * i + k - 1] == 0;
}

/* Collect the search window (first WINDOW frames, skipping silent ones with --allow-silence). */
static int
load_window(struct take_file *f, float *fb, int32_t *ib)
{
    int64_t pos = 0;
    f->nwin = 0;
    if (sf_seek(f->sf, 0, SEEK_SET) != 0)
        return -1;
    while (f->nwin < WINDOW) {
        sf_count_t got = read_block(f, fb, ib, BLOCK);
        if (got <= 0)
            break;
        for (sf_count_t i = 0; i < got && f->nwin < WINDOW; i++) {
            if (allow_silence && frame_silent(f, fb, ib, i))
                continue;
            f->win_pos[f->nwin] = pos + i;
            for (int c = 0; c < f->nch; c++) {
                f->win_f[f->nwin][c] = f->is_float ? fb[f->nch * i + c] : 0.0f;
                f->win_i[f->nwin][c] = f->is_float ? 0 : ib[f->nch * i + c];
            }
            f->nwin++;
        }
        pos += got;
    }
    return 0;
}

static int
sample_ok(const struct take_file *f, float exp, float gotf, int32_t goti)
{
    if (f->is_float)
        return exp == gotf;
    return int_error(exp, goti, f->bits) <= tolerance;
}

/* testsig_value, with the mono stems of -M in both sides of the mix (the sum in stem order, as
 * stemcap-testsrc adds it). */
static float
expect_value(int ch, uint64_t n, uint32_t rate)
{
    if (!mono_stems || ch < TESTSIG_MIX_L)
        return testsig_value(mode, ch, n, rate);
    float sum = 0.0f;
    for (int s = 0; s < TESTSIG_STEMS; s++)
        sum += testsig_value(
            mode, 2 * s + (ch == TESTSIG_MIX_R && !(mono_stems & (1u << s)) ? 1 : 0), n, rate);
    return sum;
}

/* expect_value for frames n0.. into the channels' buffers (testsig_block when no stem is mono). */
static void
expect_block(uint64_t n0, uint32_t n, uint32_t rate, float *const out[TESTSIG_CHANNELS])
{
    static float stem[2 * TESTSIG_STEMS][BLOCK];
    if (!mono_stems || (!out[TESTSIG_MIX_L] && !out[TESTSIG_MIX_R])) {
        testsig_block(mode, rate, n0, n, out);
        return;
    }
    float *all[TESTSIG_CHANNELS] = {NULL};
    for (int c = 0; c < 2 * TESTSIG_STEMS; c++)
        all[c] = stem[c];
    testsig_block(mode, rate, n0, n, all);
    for (int c = 0; c < 2 * TESTSIG_STEMS; c++)
        if (out[c])
            memcpy(out[c], stem[c], n * sizeof(float));
    for (int side = 0; side < 2; side++) {
        float *o = out[TESTSIG_MIX_L + side];
        for (uint32_t i = 0; o && i < n; i++) {
            float sum = 0.0f;
            for (int s = 0; s < TESTSIG_STEMS; s++)
                sum += stem[2 * s + (side && !(mono_stems & (1u << s)) ? 1 : 0)][i];
            o[i] = sum;
        }
    }
}

static int
window_matches(const struct take_file *f, int64_t n0)
{
    for (int w = 0; w < f->nwin; w++) {
        for (int c = 0; c < f->nch; c++) {
            float exp = expect_value(f->ch[c], (uint64_t)(n0 + f->win_pos[w]), f->rate);
            if (!sample_ok(f, exp, f->win_f[w][c], f->win_i[w][c]))
                return 0;
        }
    }
    return 1;
}

static int64_t
find_offset(const struct take_file *f, const int64_t *hints, int nhints, int64_t max_offset)
{
    for (int h = 0; h < nhints; h++)
        if (hints[h] >= 0 && window_matches(f, hints[h]))
            return hints[h];
    /* Scan: screen on the first window sample, then confirm on the whole window. */
    int64_t p0 = f->win_pos[0];
    int c0 = f->ch[0];
    for (int64_t n0 = 0; n0 < max_offset; n0++) {
        float exp = expect_value(c0, (uint64_t)(n0 + p0), f->rate);
        if (!sample_ok(f, exp, f->win_f[0][0], f->win_i[0][0]))
            continue;
        if (window_matches(f, n0))
            return n0;
    }
    return NO_OFFSET;
}

static void
print_value(FILE *to, const struct take_file *f, float x, float gotf, int32_t goti)
{
    if (f->is_float)
        fprintf(to, "expected %.9g, got %.9g", (double)x, (double)gotf);
    else
        fprintf(to, "expected %" PRId64 " (%.9g), got %" PRId32 " (%d-bit)", int_plain(x, f->bits),
                (double)x, goti, f->bits);
}

/* Verify every frame of f at offset n0; prints the first mismatch.  Returns 0 when all match. */
static int
verify(struct take_file *f, int64_t n0, float *fb, int32_t *ib, float *expl, float *expr)
{
    int64_t pos = 0;
    f->maxerr = 0;
    f->silent = 0;
    if (sf_seek(f->sf, 0, SEEK_SET) != 0) {
        fprintf(stderr, "checktake: %s: cannot seek\n", f->path);
        return -1;
    }
    for (;;) {
        sf_count_t got = read_block(f, fb, ib, BLOCK);
        if (got <= 0)
            break;
        float *out[TESTSIG_CHANNELS] = {NULL};
        out[f->ch[0]] = expl;
        if (f->ch[1] != f->ch[0])
            out[f->ch[1]] = expr;
        expect_block((uint64_t)(n0 + pos), (uint32_t)got, f->rate, out);
        if (f->ch[1] == f->ch[0])
            memcpy(expr, expl, (size_t)got * sizeof *expr);
        for (sf_count_t i = 0; i < got; i++) {
            if (allow_silence && frame_silent(f, fb, ib, i)) {
                f->silent++;
                continue;
            }
            for (int c = 0; c < f->nch; c++) {
                float x = c ? expr[i] : expl[i];
                float gf = f->is_float ? fb[f->nch * i + c] : 0.0f;
                int32_t gi = f->is_float ? 0 : ib[f->nch * i + c];
                long err = f->is_float ? (x == gf ? 0 : LONG_MAX) : int_error(x, gi, f->bits);
                if (err > tolerance) {
                    fprintf(stderr,
                            "checktake: %s: mismatch in channel %s (%s) at frame %" PRId64
                            " (n=%" PRId64 "): ",
                            f->path,
                            f->nch == 1 ? "mono"
                            : c         ? "R"
                                        : "L",
                            testsig_channel_name(f->ch[c]), pos + i, n0 + pos + i);
                    print_value(stderr, f, x, gf, gi);
                    fputc('\n', stderr);
                    return 1;
                }
                if (err > f->maxerr)
                    f->maxerr = err;
            }
        }
        pos += got;
    }
    if (pos != f->info.frames) {
        fprintf(stderr, "checktake: %s: read %" PRId64 " of %" PRId64 " frames\n", f->path, pos,
                (int64_t)f->info.frames);
        return 1;
    }
    return 0;
}

static int
uses_mix(const struct take_file *f)
{
    return f->ch[0] >= TESTSIG_MIX_L || f->ch[1] >= TESTSIG_MIX_L;
}

int
main(int argc, char **argv)
{
    enum { OPT_MIN_FRAMES = 256, OPT_ALLOW_SILENCE, OPT_OFFSET, OPT_MAX_OFFSET, OPT_TIME_REF };
    static const struct option longopts[] = {
        {"min-frames", required_argument, NULL, OPT_MIN_FRAMES},
        {"allow-silence", no_argument, NULL, OPT_ALLOW_SILENCE},
        {"offset", required_argument, NULL, OPT_OFFSET},
        {"max-offset", required_argument, NULL, OPT_MAX_OFFSET},
        {"time-ref", required_argument, NULL, OPT_TIME_REF},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int64_t min_frames = 0, forced_offset = NO_OFFSET, max_offset = DEFAULT_MAX, v;
    int64_t time_ref = -1;
    int opt;

    while ((opt = getopt_long(argc, argv, "m:r:l:M:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'M':
            if (testsig_stem_list(optarg, &mono_stems) != 0) {
                fprintf(stderr, "checktake: -M wants a comma list of stems 1..8\n");
                return 2;
            }
            break;
        case 'm':
            mode = testsig_mode_parse(optarg);
            if (mode < 0) {
                fprintf(stderr, "checktake: unknown mode '%s' (noise|song)\n", optarg);
                return 2;
            }
            break;
        case 'r':
            if (parse_i64(optarg, 1, 1000000, &v)) {
                fprintf(stderr, "checktake: bad rate '%s'\n", optarg);
                return 2;
            }
            force_rate = (uint32_t)v;
            break;
        case 'l':
            if (parse_i64(optarg, 0, 1 << 30, &v)) {
                fprintf(stderr, "checktake: bad tolerance '%s'\n", optarg);
                return 2;
            }
            tolerance = (long)v;
            break;
        case OPT_MIN_FRAMES:
            if (parse_i64(optarg, 0, INT64_MAX, &min_frames)) {
                fprintf(stderr, "checktake: bad --min-frames '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_ALLOW_SILENCE:
            allow_silence = 1;
            break;
        case OPT_OFFSET:
            if (parse_i64(optarg, 0, INT64_MAX / 2, &forced_offset)) {
                fprintf(stderr, "checktake: bad --offset '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_MAX_OFFSET:
            if (parse_i64(optarg, 1, INT64_MAX / 2, &max_offset)) {
                fprintf(stderr, "checktake: bad --max-offset '%s'\n", optarg);
                return 2;
            }
            break;
        case OPT_TIME_REF:
            if (parse_i64(optarg, 0, INT64_MAX / 2, &time_ref)) {
                fprintf(stderr, "checktake: bad --time-ref '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    int nfiles = argc - optind;
    if (nfiles < 1) {
        usage(stderr);
        return 2;
    }

    struct take_file *files = calloc((size_t)nfiles, sizeof *files);
    int64_t *hints = calloc((size_t)nfiles, sizeof *hints);
    float *fb = malloc(sizeof(float) * 2 * BLOCK);
    int32_t *ib = malloc(sizeof(int32_t) * 2 * BLOCK);
    float *expl = malloc(sizeof(float) * BLOCK), *expr = malloc(sizeof(float) * BLOCK);
    int status = 2, bad_usage = 0;
    if (!files || !hints || !fb || !ib || !expl || !expr) {
        fprintf(stderr, "checktake: out of memory\n");
        goto out;
    }
    for (int i = 0; i < nfiles; i++) {
        if (parse_spec(&files[i], argv[optind + i])) {
            fprintf(stderr,
                    "checktake: bad argument '%s' (want FILE:CHL,CHR or FILE:CH, channels "
                    "0..17)\n",
                    argv[optind + i]);
            bad_usage = 1;
        } else if (open_file(&files[i]) || load_window(&files[i], fb, ib)) {
            bad_usage = 1;
        }
    }
    if (bad_usage)
        goto out;
    /* --time-ref: every file carries a bext chunk with that TimeReference. */
    for (int i = 0; time_ref >= 0 && i < nfiles; i++) {
        SF_BROADCAST_INFO bi;
        memset(&bi, 0, sizeof bi);
        if (sf_command(files[i].sf, SFC_GET_BROADCAST_INFO, &bi, sizeof bi) != SF_TRUE) {
            fprintf(stderr, "checktake: %s: no bext chunk\n", files[i].path);
            status = 1;
            goto out;
        }
        int64_t got = (int64_t)bi.time_reference_low | ((int64_t)bi.time_reference_high << 32);
        if (got != time_ref) {
            fprintf(stderr, "checktake: %s: bext TimeReference %" PRId64 ", expected %" PRId64 "\n",
                    files[i].path, got, time_ref);
            status = 1;
            goto out;
        }
    }

    /* Locate: stem-only files first (cheap to scan), mix files afterwards. */
    int failed = 0, nhints = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < nfiles; i++) {
            struct take_file *f = &files[i];
            if (uses_mix(f) != pass)
                continue;
            if (f->nwin == 0) {
                fprintf(stderr, "checktake: %s: %s\n", f->path,
                        f->info.frames ? "only silence" : "no frames");
                f->failed = failed = 1;
                continue;
            }
            if (forced_offset != NO_OFFSET) {
                f->n0 = forced_offset;
                continue;
            }
            f->n0 = find_offset(f, hints, nhints, max_offset);
            if (f->n0 == NO_OFFSET) {
                fprintf(stderr,
                        "checktake: %s: first %d %sframes match no offset in [0, %" PRId64 ")\n",
                        f->path, f->nwin, allow_silence ? "non-silent " : "", max_offset);
                continue;
            }
            int known = 0;
            for (int h = 0; h < nhints; h++)
                known |= hints[h] == f->n0;
            if (!known)
                hints[nhints++] = f->n0;
        }
    }

    /* Verify every file, in the order given. */
    int64_t common = nhints > 0 ? hints[0] : forced_offset;
    for (int i = 0; i < nfiles; i++) {
        struct take_file *f = &files[i];
        if (f->failed)
            continue;
        int64_t n0 = f->n0;
        if (n0 == NO_OFFSET) {
            /* Show where it goes wrong relative to the other files' offset. */
            if (common != NO_OFFSET)
                verify(f, common, fb, ib, expl, expr);
            f->failed = failed = 1;
            continue;
        }
        if (verify(f, n0, fb, ib, expl, expr)) {
            f->failed = failed = 1;
            continue;
        }
        printf("%s: %" PRId64 " frames, offset %" PRId64 ", %ld max error", f->path,
               (int64_t)f->info.frames, n0, f->maxerr);
        if (allow_silence)
            printf(", %" PRId64 " silent frames", f->silent);
        putchar('\n');
        if (f->info.frames < min_frames) {
            fprintf(stderr,
                    "checktake: %s: %" PRId64 " frames, fewer than --min-frames %" PRId64 "\n",
                    f->path, (int64_t)f->info.frames, min_frames);
            f->failed = failed = 1;
        }
    }
    for (int i = 1; i < nfiles; i++) {
        if (files[i].info.frames != files[0].info.frames) {
            fprintf(stderr,
                    "checktake: frame counts differ: %s has %" PRId64 ", %s has %" PRId64 "\n",
                    files[0].path, (int64_t)files[0].info.frames, files[i].path,
                    (int64_t)files[i].info.frames);
            failed = 1;
            break;
        }
    }
    int ref = 0;
    while (ref < nfiles && files[ref].n0 != common)
        ref++;
    for (int i = 0; i < nfiles; i++) {
        if (files[i].n0 != NO_OFFSET && files[i].n0 != common) {
            fprintf(stderr,
                    "checktake: offsets differ: %s starts at n=%" PRId64 ", %s at n=%" PRId64 "\n",
                    files[i].path, files[i].n0, files[ref].path, common);
            failed = 1;
        }
    }
    if (failed) {
        fprintf(stderr, "FAIL\n");
        status = 1;
    } else {
        printf("OK: %d files, %" PRId64 " frames each, common offset %" PRId64 "\n", nfiles,
               (int64_t)files[0].info.frames, common);
        status = 0;
    }
out:
    for (int i = 0; files && i < nfiles; i++) {
        if (files[i].sf)
            sf_close(files[i].sf);
        free(files[i].path);
    }
    free(files);
    free(hints);
    free(fb);
    free(ib);
    free(expl);
    free(expr);
    return status;
}
