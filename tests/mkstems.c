/* mkstems — write a deterministic stem delivery folder for stemcap-check's tests.
 *
 * Usage: mkstems [OPTION]... DIR
 *   -s N             stems (default 4; names Drums Bass Keys Vox Guitars Synths FX BVs Perc
 * Strings) -c N             channels (default 2) -r RATE          sample rate (default 48000) -n
 * FRAMES        frames per file (default 96000) -e ENC           stem encoding: pcm16, pcm24,
 * pcm32, float, double (default pcm24) -m ENC           mix encoding (default: the stems') -f FMT
 * container: wav, aiff, w64, rf64, flac (default wav) -S SONG          song name (default "Song")
 *   -l SECONDS       silent lead-in of every file (default 0)
 *   -t N             bext TimeReference of every file (wav and rf64 only)
 *   --no-mix         write no mix
 *   --mix-shift N    the mix is N frames late (same length; N < 0: early)
 *   --mix-error DB   a 1 kHz sine at DB dBFS added to the mix
 *   --stem-shift K:N stem K is N frames late in its file (the mix is not)
 *   --stem-frames K:N stem K has N frames (cut, or padded with silence)
 *   --stem-enc K:ENC --stem-rate K:RATE --stem-fmt K:FMT --stem-tref K:N   stem K differs
 *   --stem-ch K:N    stem K has N channels (the first N of its signal, silence beyond)
 *   --stem-mono K    stem K is mono: one channel, which the mix has in each of its channels
 *   --stem-clip K    stem K reaches full scale (+1.0, the largest code) in channel 1 at the
 *                    middle frame, where the other stems are silent, so the mix does too
 *
 * Design: stem k is uniform white noise of +-0.8/N (N stems; 0.2, -14 dBFS, for 4) from its own
 * xorshift64* generator (the same numbers on every run and machine), quantised exactly as its file
 * will store it (integers: lrint(x * 2^(b-1)) clamped, written with sf_writef_int left-justified,
 * so libsndfile stores the code unchanged; float: rounded to float). The mix is the sum of these
 * quantised values in double, then shifted / given its error and quantised the same way for its own
 * encoding, so a float mix of 24-bit stems or a 24-bit mix of 24-bit stems nulls to (almost)
 * exactly zero. Everything is built in memory: the files are small. Exit: 0 written, 1 error, 2
 * usage.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#define MAX_STEMS 10
#define MIX_LEVEL 0.8 /* stems are +-MIX_LEVEL/N, so the mix stays below full scale */

static const char *const stem_names[MAX_STEMS] = {"Drums",  "Bass", "Keys", "Vox",  "Guitars",
                                                  "Synths", "FX",   "BVs",  "Perc", "Strings"};

struct spec {
    int enc;  /* SF_FORMAT_PCM_24, ... */
    int fmt;  /* SF_FORMAT_WAV, ... */
    int rate; /* header rate */
    int channels;
    long frames;
    long shift;
    int clip;
    int mono; /* its channel 1 is in every channel of the mix */
    int tref_set;
    long long tref;
};

static int
parse_enc(const char *s)
{
    static const struct {
        const char *name;
        int enc;
    } t[] = {{"pcm16", SF_FORMAT_PCM_16},
             {"pcm24", SF_FORMAT_PCM_24},
             {"pcm32", SF_FORMAT_PCM_32},
             {"float", SF_FORMAT_FLOAT},
             {"double", SF_FORMAT_DOUBLE}};

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (!strcmp(s, t[i].name)) {
            return t[i].enc;
        }
    }
    return -1;
}

static int
parse_fmt(const char *s)
{
    static const struct {
        const char *name;
        int fmt;
    } t[] = {{"wav", SF_FORMAT_WAV},
             {"aiff", SF_FORMAT_AIFF},
             {"w64", SF_FORMAT_W64},
             {"rf64", SF_FORMAT_RF64},
             {"flac", SF_FORMAT_FLAC}};

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (!strcmp(s, t[i].name)) {
            return t[i].fmt;
        }
    }
    return -1;
}

static const char *
fmt_ext(int fmt)
{
    switch (fmt) {
    case SF_FORMAT_AIFF:
        return "aiff";
    case SF_FORMAT_W64:
        return "w64";
    case SF_FORMAT_RF64:
        return "rf64";
    case SF_FORMAT_FLAC:
        return "flac";
    default:
        return "wav";
    }
}

static int
enc_bits(int enc)
{
    return enc == SF_FORMAT_PCM_16   ? 16
           : enc == SF_FORMAT_PCM_24 ? 24
           : enc == SF_FORMAT_PCM_32 ? 32
                                     : 0;
}

static double
quantise(double x, int enc)
{
    int bits = enc_bits(enc);

    if (bits) {
        double scale = ldexp(1.0, bits - 1);
        double code = (double)lrint(x * scale);

        if (code > scale - 1) {
            code = scale - 1;
        } else if (code < -scale) {
            code = -scale;
        }
        return code / scale;
    }
    return enc == SF_FORMAT_FLOAT ? (double)(float)x : x;
}

static uint64_t
rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static long
parse_long(const char *s, long lo, long hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "mkstems: bad number '%s' (%ld..%ld)\n", s, lo, hi);
        exit(2);
    }
    return v;
}

/* "K:VALUE" -> stem index K-1 and VALUE. */
static int
parse_kv(const char *s, int nmax, const char **value)
{
    const char *colon = strchr(s, ':');
    char k[16];

    if (!colon || colon == s || (size_t)(colon - s) >= sizeof k) {
        fprintf(stderr, "mkstems: expected K:VALUE, got '%s'\n", s);
        exit(2);
    }
    memcpy(k, s, (size_t)(colon - s));
    k[colon - s] = '\0';
    *value = colon + 1;
    return (int)parse_long(k, 1, nmax) - 1;
}

static int
write_file(const char *path, const struct spec *sp, int channels, const double *data, long frames)
{
    SF_INFO info = {.samplerate = sp->rate, .channels = channels, .format = sp->fmt | sp->enc};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    size_t n = (size_t)frames * (size_t)channels;
    int bits = enc_bits(sp->enc), rc = 0;

    if (!sf) {
        fprintf(stderr, "mkstems: %s: %s\n", path, sf_strerror(NULL));
        return -1;
    }
    if (sp->tref_set) {
        SF_BROADCAST_INFO bi;

        memset(&bi, 0, sizeof bi);
        bi.time_reference_low = (uint32_t)sp->tref;
        bi.time_reference_high = (uint32_t)((unsigned long long)sp->tref >> 32);
        if (sf_command(sf, SFC_SET_BROADCAST_INFO, &bi, sizeof bi) != SF_TRUE) {
            fprintf(stderr, "mkstems: %s: cannot set the bext chunk\n", path);
            rc = -1;
        }
    }
    if (rc == 0 && bits) {
        int *pcm = malloc(n * sizeof *pcm + 1);

        if (!pcm) {
            rc = -1;
        } else {
            for (size_t i = 0; i < n; i++) {
                /* exact: data[i] is a multiple of 2^-(bits-1) within range; libsndfile
                 * keeps the top `bits` bits of the left-justified code */
                long code = lrint(ldexp(data[i], bits - 1));

                pcm[i] = (int)(code * (1L << (32 - bits)));
            }
            if (sf_writef_int(sf, pcm, frames) != frames) {
                rc = -1;
            }
            free(pcm);
        }
    } else if (rc == 0 && sp->enc == SF_FORMAT_FLOAT) {
        float *fl = malloc(n * sizeof *fl + 1);

        if (!fl) {
            rc = -1;
        } else {
            for (size_t i = 0; i < n; i++) {
                fl[i] = (float)data[i];
            }
            if (sf_writef_float(sf, fl, frames) != frames) {
                rc = -1;
            }
            free(fl);
        }
    } else if (rc == 0 && sf_writef_double(sf, data, frames) != frames) {
        rc = -1;
    }
    if (rc < 0) {
        fprintf(stderr, "mkstems: %s: cannot write: %s\n", path, sf_strerror(sf));
    }
    if (sf_close(sf) != 0) {
        fprintf(stderr, "mkstems: %s: cannot close\n", path);
        rc = -1;
    }
    return rc;
}

static void
usage(void)
{
    fputs(
        "usage: mkstems [-s N] [-c N] [-r RATE] [-n FRAMES] [-e ENC] [-m ENC] [-f FMT] [-S SONG]\n"
        "               [-l SECONDS] [-t N] [--no-mix] [--mix-shift N] [--mix-error DB]\n"
        "               [--stem-shift K:N] [--stem-frames K:N] [--stem-enc K:ENC]\n"
        "               [--stem-rate K:RATE] [--stem-fmt K:FMT] [--stem-tref K:N]\n"
        "               [--stem-clip K] DIR\n",
        stderr);
    exit(2);
}

int
main(int argc, char **argv)
{
    enum {
        O_NOMIX = 256,
        O_MSHIFT,
        O_MERR,
        O_SSHIFT,
        O_SFRAMES,
        O_SENC,
        O_SRATE,
        O_SFMT,
        O_STREF,
        O_SCLIP,
        O_SCH,
        O_SMONO
    };
    static const struct option longopts[] = {
        {"no-mix", no_argument, NULL, O_NOMIX},
        {"mix-shift", required_argument, NULL, O_MSHIFT},
        {"mix-error", required_argument, NULL, O_MERR},
        {"stem-shift", required_argument, NULL, O_SSHIFT},
        {"stem-frames", required_argument, NULL, O_SFRAMES},
        {"stem-enc", required_argument, NULL, O_SENC},
        {"stem-rate", required_argument, NULL, O_SRATE},
        {"stem-fmt", required_argument, NULL, O_SFMT},
        {"stem-tref", required_argument, NULL, O_STREF},
        {"stem-clip", required_argument, NULL, O_SCLIP},
        {"stem-ch", required_argument, NULL, O_SCH},
        {"stem-mono", required_argument, NULL, O_SMONO},
        {NULL, 0, NULL, 0},
    };
    struct spec stems[MAX_STEMS], mixspec;
    int nstems = 4, channels = 2, rate = 48000, enc = SF_FORMAT_PCM_24, mixenc = -1;
    int fmt = SF_FORMAT_WAV, no_mix = 0, tref_set = 0, opt;
    long frames = 96000, mix_shift = 0;
    long long tref = 0;
    double lead_in = 0.0, mix_error_db = 0.0;
    int mix_error = 0;
    const char *song = "Song", *dir, *v;
    /* per-stem overrides, applied after the defaults are known */
    struct {
        int k, what;
        const char *value;
    } over[64];
    int nover = 0;
    double *mix, **data;
    long lead;
    char path[4096];
    int rc = 0;

    while ((opt = getopt_long(argc, argv, "s:c:r:n:e:m:f:S:l:t:", longopts, NULL)) != -1) {
        switch (opt) {
        case 's':
            nstems = (int)parse_long(optarg, 1, MAX_STEMS);
            break;
        case 'c':
            channels = (int)parse_long(optarg, 1, 8);
            break;
        case 'r':
            rate = (int)parse_long(optarg, 1000, 768000);
            break;
        case 'n':
            frames = parse_long(optarg, 1, 100000000);
            break;
        case 'e':
        case 'm':
            if (parse_enc(optarg) < 0) {
                usage();
            }
            *(opt == 'e' ? &enc : &mixenc) = parse_enc(optarg);
            break;
        case 'f':
            fmt = parse_fmt(optarg);
            if (fmt < 0) {
                usage();
            }
            break;
        case 'S':
            song = optarg;
            break;
        case 'l':
            lead_in = strtod(optarg, NULL);
            break;
        case 't':
            tref = parse_long(optarg, 0, 2000000000L);
            tref_set = 1;
            break;
        case O_NOMIX:
            no_mix = 1;
            break;
        case O_MSHIFT:
            mix_shift = parse_long(optarg, -1000000, 1000000);
            break;
        case O_MERR:
            mix_error = 1;
            mix_error_db = strtod(optarg, NULL);
            break;
        case O_SSHIFT:
        case O_SFRAMES:
        case O_SENC:
        case O_SRATE:
        case O_SFMT:
        case O_STREF:
        case O_SCLIP:
        case O_SCH:
        case O_SMONO:
            if (nover == (int)(sizeof over / sizeof over[0])) {
                usage();
            }
            if (opt == O_SCLIP || opt == O_SMONO) {
                over[nover].k = (int)parse_long(optarg, 1, MAX_STEMS) - 1;
                over[nover].value = "";
            } else {
                over[nover].k = parse_kv(optarg, MAX_STEMS, &over[nover].value);
            }
            over[nover++].what = opt;
            break;
        default:
            usage();
        }
    }
    if (optind != argc - 1) {
        usage();
    }
    dir = argv[optind];
    if (mixenc < 0) {
        mixenc = enc;
    }
    for (int k = 0; k < MAX_STEMS; k++) {
        stems[k] = (struct spec){.enc = enc,
                                 .fmt = fmt,
                                 .rate = rate,
                                 .channels = channels,
                                 .frames = frames,
                                 .tref_set = tref_set,
                                 .tref = tref};
    }
    mixspec = stems[0];
    mixspec.enc = mixenc;
    for (int i = 0; i < nover; i++) {
        struct spec *sp = &stems[over[i].k];

        v = over[i].value;
        switch (over[i].what) {
        case O_SSHIFT:
            sp->shift = parse_long(v, -1000000, 1000000);
            break;
        case O_SFRAMES:
            sp->frames = parse_long(v, 0, 100000000);
            break;
        case O_SENC:
            sp->enc = parse_enc(v);
            if (sp->enc < 0) {
                usage();
            }
            break;
        case O_SRATE:
            sp->rate = (int)parse_long(v, 1000, 768000);
            break;
        case O_SFMT:
            sp->fmt = parse_fmt(v);
            if (sp->fmt < 0) {
                usage();
            }
            break;
        case O_STREF:
            sp->tref = parse_long(v, 0, 2000000000L);
            sp->tref_set = 1;
            break;
        case O_SCLIP:
            sp->clip = 1;
            break;
        case O_SCH:
            sp->channels = (int)parse_long(v, 1, 8);
            break;
        case O_SMONO:
            sp->channels = 1;
            sp->mono = 1;
            break;
        }
    }

    /* The stems as stored (before any shift), and their exact sum. */
    lead = lrint(lead_in * rate);
    data = calloc((size_t)nstems, sizeof *data);
    mix = calloc((size_t)frames * (size_t)channels, sizeof *mix);
    if (!data || !mix) {
        fprintf(stderr, "mkstems: out of memory\n");
        return 1;
    }
    for (int k = 0; k < nstems; k++) {
        uint64_t s = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)(k + 1);

        data[k] = calloc((size_t)frames * (size_t)channels, sizeof **data);
        if (!data[k]) {
            fprintf(stderr, "mkstems: out of memory\n");
            return 1;
        }
        for (long i = 0; i < frames * channels; i++) {
            double u = (double)(rng_next(&s) >> 11) * 0x1.0p-53; /* [0, 1) */

            data[k][i] = i / channels < lead
                             ? 0.0
                             : quantise(MIX_LEVEL / nstems * (2.0 * u - 1.0), stems[k].enc);
        }
    }
    for (int k = 0; k < nstems; k++) {
        if (stems[k].clip) {
            long at = lead + (frames - lead) / 2;

            for (int j = 0; j < nstems; j++) {
                data[j][at * channels] = j == k ? quantise(1.0, stems[k].enc) : 0.0;
            }
        }
    }
    for (int k = 0; k < nstems; k++) {
        for (long i = 0; stems[k].mono && i < frames * channels; i++) {
            data[k][i] = data[k][i - i % channels];
        }
        for (long i = 0; i < frames * channels; i++) {
            mix[i] += data[k][i];
        }
    }

    /* The stems' files: shifted and cut or padded as asked. */
    for (int k = 0; k < nstems && rc == 0; k++) {
        const struct spec *sp = &stems[k];
        double *out =
            calloc((size_t)(sp->frames ? sp->frames : 1) * (size_t)sp->channels, sizeof *out);

        if (!out) {
            fprintf(stderr, "mkstems: out of memory\n");
            return 1;
        }
        for (long i = 0; i < sp->frames; i++) {
            long src = i - sp->shift;

            for (int c = 0; c < sp->channels && c < channels && src >= 0 && src < frames; c++) {
                out[i * sp->channels + c] = data[k][src * channels + c];
            }
        }
        snprintf(path, sizeof path, "%s/%s - %s.%s", dir, song, stem_names[k], fmt_ext(sp->fmt));
        rc = write_file(path, sp, sp->channels, out, sp->frames);
        free(out);
    }

    /* The mix: shifted, with the error, quantised. */
    if (rc == 0 && !no_mix) {
        double *out = calloc((size_t)frames * (size_t)channels, sizeof *out);
        double amp = pow(10.0, mix_error_db / 20.0);

        if (!out) {
            fprintf(stderr, "mkstems: out of memory\n");
            return 1;
        }
        for (long i = 0; i < frames; i++) {
            long src = i - mix_shift;

            for (int c = 0; c < channels; c++) {
                double x = src >= 0 && src < frames ? mix[src * channels + c] : 0.0;

                if (mix_error) {
                    x += amp * sin(2.0 * M_PI * 1000.0 * (double)i / rate);
                }
                out[i * channels + c] = quantise(x, mixspec.enc);
            }
        }
        snprintf(path, sizeof path, "%s/%s - Mix.%s", dir, song, fmt_ext(mixspec.fmt));
        rc = write_file(path, &mixspec, channels, out, frames);
        free(out);
    }
    for (int k = 0; k < nstems; k++) {
        free(data[k]);
    }
    free(data);
    free(mix);
    return rc == 0 ? 0 : 1;
}
