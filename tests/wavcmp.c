/* wavcmp — compare an audio file with the sum of reference files, sample by sample.
 *
 * Usage: wavcmp [-o OFFSET] [-s SKIP] [-n FRAMES] [-t DB] [-f SEARCH] [-c LIST] FILE REF [REF ...]
 *
 * Design: every file is read whole with libsndfile (an independent reader: stemcapd writes its
 * integer files through its own packer).  FILE has C channels; each REF is either a C-channel
 * file or C mono files joined by commas ("a%L.wav,a%R.wav", as Ardour records a stereo track),
 * and the reference is the float sum of all REFs (in the order given, as a mix bus adds).  Frame
 * i of FILE is compared with reference frame OFFSET + i (zero beyond a reference's end, and
 * before its start), for FILE frames SKIP..SKIP+FRAMES-1 (default: all of FILE; a DAW's fades at
 * transport start and stop are left out this way).  Printed: the peak difference in
 * dBFS (-inf when bit-exact), where it is, the frames compared and FILE's peak.  With -f the
 * offset is searched instead in OFFSET-SEARCH..OFFSET+SEARCH for the one that matches best
 * (smallest peak difference over the whole comparison) and printed as "offset N".  Exit: 0 when
 * the peak difference is at most DB (default -120 dBFS), 1 when not, 2 on usage or file errors.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>

#define MAX_CH   8
#define MAX_REFS 32

struct audio {
    int ch;
    long long frames;
    float *x; /* interleaved */
    int rate;
};

static int
read_file(const char *path, struct audio *a)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f) {
        fprintf(stderr, "wavcmp: %s: %s\n", path, sf_strerror(NULL));
        return -1;
    }
    if (info.channels < 1 || info.channels > MAX_CH || info.frames < 0 ||
        info.frames > (1LL << 31)) {
        fprintf(stderr, "wavcmp: %s: %d channels, %lld frames: not supported\n", path,
                info.channels, (long long)info.frames);
        sf_close(f);
        return -1;
    }
    a->ch = info.channels;
    a->rate = info.samplerate;
    a->frames = info.frames;
    a->x = malloc((size_t)(info.frames ? info.frames : 1) * (size_t)info.channels * sizeof(float));
    if (!a->x) {
        fprintf(stderr, "wavcmp: %s: %s\n", path, strerror(ENOMEM));
        sf_close(f);
        return -1;
    }
    sf_count_t got = sf_readf_float(f, a->x, info.frames);
    sf_close(f);
    if (got != info.frames) {
        fprintf(stderr, "wavcmp: %s: read %lld of %lld frames\n", path, (long long)got,
                (long long)info.frames);
        free(a->x);
        return -1;
    }
    return 0;
}

/* A REF: one C-channel file, or C mono files joined by commas, into `out` (C channels). */
static int
read_ref(const char *spec, int ch, struct audio *out)
{
    char buf[4096];
    char *part[MAX_CH];
    int n = 0;

    if (strlen(spec) >= sizeof buf) {
        fprintf(stderr, "wavcmp: reference name too long\n");
        return -1;
    }
    strcpy(buf, spec);
    for (char *p = buf, *c; p && n < MAX_CH; p = c) {
        c = strchr(p, ',');
        if (c)
            *c++ = '\0';
        part[n++] = p;
    }
    if (n == 1) {
        if (read_file(part[0], out) < 0)
            return -1;
        if (out->ch != ch) {
            fprintf(stderr, "wavcmp: %s has %d channels, the file compared %d\n", part[0], out->ch,
                    ch);
            free(out->x);
            return -1;
        }
        return 0;
    }
    if (n != ch) {
        fprintf(stderr, "wavcmp: %s: %d mono files for %d channels\n", spec, n, ch);
        return -1;
    }
    struct audio mono[MAX_CH];
    long long frames = 0;
    for (int c = 0; c < n; c++) {
        if (read_file(part[c], &mono[c]) < 0 || mono[c].ch != 1) {
            if (mono[c].ch != 1)
                fprintf(stderr, "wavcmp: %s is not mono\n", part[c]);
            for (int k = 0; k < c; k++)
                free(mono[k].x);
            return -1;
        }
        if (mono[c].frames > frames)
            frames = mono[c].frames;
    }
    out->ch = ch;
    out->frames = frames;
    out->rate = mono[0].rate;
    out->x = calloc((size_t)(frames ? frames : 1) * (size_t)ch, sizeof(float));
    for (int c = 0; c < n; c++) {
        for (long long i = 0; out->x && i < mono[c].frames; i++)
            out->x[i * ch + c] = mono[c].x[i];
        free(mono[c].x);
    }
    if (!out->x) {
        fprintf(stderr, "wavcmp: %s\n", strerror(ENOMEM));
        return -1;
    }
    return 0;
}

/* Keeps FILE's channels in `list` (1-based, comma-separated), in that order. */
static int
pick_channels(struct audio *a, const char *list)
{
    int pick[MAX_CH], n = 0;
    char *end;

    for (const char *p = list; *p; p = *end ? end + 1 : end) {
        long c = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || c < 1 || c > a->ch || n == MAX_CH) {
            fprintf(stderr, "wavcmp: -c %s: not a list of channels 1..%d\n", list, a->ch);
            return -1;
        }
        pick[n++] = (int)c - 1;
    }
    if (n > a->ch) {
        fprintf(stderr, "wavcmp: -c %s: more channels than the file's %d\n", list, a->ch);
        return -1;
    }
    for (long long i = 0; i < a->frames; i++) { /* in place: frame i never reaches past itself */
        float tmp[MAX_CH];
        for (int k = 0; k < n; k++)
            tmp[k] = a->x[i * a->ch + pick[k]];
        memcpy(a->x + i * n, tmp, (size_t)n * sizeof *tmp);
    }
    a->ch = n;
    return 0;
}

static double
db(double v)
{
    return v > 0.0 ? 20.0 * log10(v) : -INFINITY;
}

/* Peak |file - reference| at `offset`; its frame and channel in *at, *atc. */
static double
compare(const struct audio *f, const float *ref, long long rframes, long long offset,
        long long skip, long long frames, long long *at, int *atc)
{
    double worst = 0.0;
    *at = -1;
    *atc = 0;
    for (long long i = skip; i < skip + frames; i++) {
        long long r = offset + i;
        for (int c = 0; c < f->ch; c++) {
            float want = r >= 0 && r < rframes ? ref[r * f->ch + c] : 0.0f;
            double d = fabs((double)f->x[i * f->ch + c] - (double)want);
            if (d > worst) {
                worst = d;
                *at = i;
                *atc = c;
            }
        }
    }
    return worst;
}

static void
usage(FILE *to)
{
    fprintf(to, "usage: wavcmp [-o OFFSET] [-s SKIP] [-n FRAMES] [-t DB] [-f SEARCH] FILE REF "
                "[REF ...]\n"
                "  REF: a file of FILE's channels, or mono files joined by commas\n"
                "  -o OFFSET  FILE frame i is compared with reference frame OFFSET + i\n"
                "  -s SKIP    start at FILE frame SKIP (compared with OFFSET + SKIP)\n"
                "  -n FRAMES  compare only FRAMES frames of FILE\n"
                "  -t DB      largest peak difference accepted (default -120 dBFS)\n"
                "  -f SEARCH  find the best offset within OFFSET +- SEARCH\n"
                "  -c LIST    compare only FILE's channels LIST (1-based, e.g. 3,4)\n"
                "  REF as sub:PATH is subtracted from the reference, not added\n");
}

int
main(int argc, char **argv)
{
    long long offset = 0, skip = 0, nframes = -1, search = -1;
    const char *pick = NULL;
    double tol_db = -120.0;
    int opt;
    char *end;

    while ((opt = getopt(argc, argv, "o:s:n:t:f:c:h")) != -1) {
        errno = 0;
        switch (opt) {
        case 'o':
            offset = strtoll(optarg, &end, 10);
            break;
        case 's':
            skip = strtoll(optarg, &end, 10);
            break;
        case 'n':
            nframes = strtoll(optarg, &end, 10);
            break;
        case 't':
            tol_db = strtod(optarg, &end);
            break;
        case 'f':
            search = strtoll(optarg, &end, 10);
            break;
        case 'c':
            pick = optarg;
            continue;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        if (errno || *end || end == optarg) {
            fprintf(stderr, "wavcmp: bad number '%s' for -%c\n", optarg, opt);
            return 2;
        }
    }
    if (argc - optind < 2 || argc - optind - 1 > MAX_REFS) {
        usage(stderr);
        return 2;
    }
    struct audio f;
    if (read_file(argv[optind], &f) < 0 || (pick && pick_channels(&f, pick) < 0))
        return 2;
    if (skip < 0 || skip > f.frames) {
        fprintf(stderr, "wavcmp: -s %lld: %s has %lld frames\n", skip, argv[optind], f.frames);
        return 2;
    }
    long long frames = nframes >= 0 && nframes < f.frames - skip ? nframes : f.frames - skip;

    /* The reference: the float sum of the REFs, in order. */
    long long rframes = 0;
    float *ref = NULL;
    for (int k = optind + 1; k < argc; k++) {
        struct audio r;
        int sub = strncmp(argv[k], "sub:", 4) == 0;
        if (read_ref(argv[k] + (sub ? 4 : 0), f.ch, &r) < 0)
            return 2;
        if (r.rate != f.rate) {
            fprintf(stderr, "wavcmp: %s is at %d Hz, %s at %d Hz\n", argv[k], r.rate, argv[optind],
                    f.rate);
            return 2;
        }
        if (r.frames > rframes) {
            float *p = realloc(ref, (size_t)r.frames * (size_t)f.ch * sizeof(float));
            if (!p) {
                fprintf(stderr, "wavcmp: %s\n", strerror(ENOMEM));
                return 2;
            }
            memset(p + rframes * f.ch, 0, (size_t)(r.frames - rframes) * f.ch * sizeof(float));
            ref = p;
            rframes = r.frames;
        }
        for (long long i = 0; i < r.frames * f.ch; i++)
            ref[i] = sub ? ref[i] - r.x[i] : ref[i] + r.x[i];
        free(r.x);
    }

    long long at;
    int atc;
    if (search >= 0) {
        long long best_off = offset;
        double best = INFINITY;
        for (long long o = offset - search; o <= offset + search; o++) {
            double w = compare(&f, ref, rframes, o, skip, frames, &at, &atc);
            if (w < best) {
                best = w;
                best_off = o;
            }
        }
        offset = best_off;
        printf("offset %lld\n", offset);
    }
    double peak = 0.0;
    for (long long i = skip * f.ch; i < (skip + frames) * f.ch; i++)
        if (fabs(f.x[i]) > peak)
            peak = fabs(f.x[i]);
    double worst = compare(&f, ref, rframes, offset, skip, frames, &at, &atc);
    printf("%s: peak difference %.1f dBFS", argv[optind], db(worst));
    if (at >= 0)
        printf(" at frame %lld (channel %d)", at, atc + 1);
    printf(" over frames %lld..%lld at offset %lld (file peak %.1f dBFS)\n", skip,
           skip + frames - 1, offset, db(peak));
    free(f.x);
    free(ref);
    return db(worst) <= tol_db ? 0 : 1;
}
