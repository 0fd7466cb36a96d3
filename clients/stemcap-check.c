/* stemcap-check.c - offline checker of a stem-mastering delivery folder.
 *
 * Usage: stemcap-check [--mix FILE] [--threshold DB] [--lead-in SECONDS] [--json] DIR
 *
 * Design: every entry of DIR with an audio extension is looked at without following symlinks; a
 * regular file is opened (O_NOFOLLOW, O_NONBLOCK), while a symlink, a FIFO or a device is never
 * opened and fails the "files" check (anything else, manifest.json included, is listed as
 * ignored). A WAV, RF64, AIFF or W64 file goes to libsndfile only when its header agrees with the
 * file (daemon/audiohdr.c, the codec the daemon's recovery uses), and libsndfile must then read
 * the channels and frames that header declares; a file whose header cannot be trusted (cut short,
 * sizes that lie, 0 channels, ...) fails "files" with the reason and is left out of the other
 * checks, and the null test is not run. At most MAX_FILES audio files are read: a folder with
 * more is refused (exit 2) before any is opened. Files named "<Song> - Mix.*" are mix
 * candidates, the rest are stems. The header checks (container, encoding, rate, length, bext
 * TimeReference, stem count, names) need no audio. Then ONE streaming pass reads all files in
 * lockstep, BLOCK frames at a time, as double (exact for 16/24-bit integer and float): it keeps
 * each file's peak, its full-scale samples and the peak of its lead-in, and, when a null test is
 * possible (one mix, all stems at the mix's rate and channel count), sums the stems per channel
 * (a shorter file counts as silence past its end) and keeps the worst |sum - mix|. The same pass
 * remembers the LAG_WINDOW frames (block aligned) where the mono sum of the stems is loudest.
 * Only when the null fails are the files read again: that window of the stems (mono, L+R) and
 * LAG_MAX frames more on each side of the mix are loaded (the only bounded in-memory copy), the
 * normalised cross-correlation over lags -LAG_MAX..LAG_MAX gives the lag, and a second streaming
 * pass with the mix shifted by that lag verifies that it would null.
 *
 * Integer files reach 0 dBFS at |x| >= 1 - 1 LSB (the largest positive code), float files at
 * |x| >= 1. Levels are dBFS of sample peaks, floored at -150 dB for silence.
 * Exit status: 0 every hard rule passes (warnings allowed), 1 a hard rule fails, 2 usage error,
 * an unreadable folder or file, or more than MAX_FILES audio files. Errors are logged once, on
 * stderr, with the file and the reason.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sndfile.h>

#include "audiohdr.h"

#define PROG              "stemcap-check"
#define BLOCK             4096  /* frames per read */
#define MAX_STEMS         8     /* stems per delivery, the mix excluded */
#define LAG_MAX           4096  /* lags searched: -LAG_MAX..LAG_MAX */
#define LAG_WINDOW        32768 /* frames of the stems correlated against the mix */
#define LAG_MIN_CORR      0.5   /* a weaker best correlation means "no clear lag" */
#define SILENCE_DB        (-90.0)
#define FLOOR_DB          (-150.0)
#define DEFAULT_THRESHOLD (-60.0)
#define DEFAULT_LEAD_IN   2.0
#define MAX_LEAD_IN       3600.0
#define MAX_CHECKS        16
#define MAX_FILES         64  /* audio files read from one folder */
#define MAX_IGNORED       100 /* names of ignored files listed */
#define MIX_SUFFIX        " - Mix"

#define EXIT_FAILED 1
#define EXIT_USAGE  2

enum role { ROLE_STEM, ROLE_MIX, ROLE_OTHER_MIX };
enum result { RES_PASS, RES_WARN, RES_FAIL };
enum null_state {
    NULL_RUN,
    NULL_NO_MIX,
    NULL_SEVERAL_MIXES,
    NULL_NO_STEMS,
    NULL_RATES,
    NULL_CHANNELS,
    NULL_REJECTED
};

struct afile {
    char *path;
    char *name;       /* file name without the folder */
    char *base;       /* name without its extension */
    const char *stem; /* inside base: the part after "<Song> - ", NULL when it does not follow */
    enum role role;
    int mix_named; /* base ends in " - Mix" */
    int given_mix; /* the --mix file */
    dev_t dev;
    ino_t ino;
    SNDFILE *sf;
    SF_INFO info;
    int bits;          /* integer encodings: bits per sample, 0 otherwise */
    double full_scale; /* |x| at or above this reaches 0 dBFS */
    int has_tref;
    uint64_t tref;
    double *buf;    /* one block, interleaved */
    sf_count_t pos; /* next frame to read */
    sf_count_t got; /* frames in buf */
    double peak;    /* max |x| */
    sf_count_t peak_frame;
    sf_count_t clips; /* samples at 0 dBFS */
    sf_count_t first_clip;
    double lead_peak; /* max |x| in the lead-in */
    char *reject;     /* why the file is not read (then it leaves the list) */
};

/* An audio file that is not read: a symlink, not a regular file, or a header that cannot be
 * trusted. */
struct rejected {
    char *name;
    char *path;
    char *why;
};

struct check {
    const char *name;
    enum result result;
    char *detail;
    size_t len; /* open_memstream() updates it until the stream is closed */
};

struct null_test {
    enum null_state state;
    char *why;             /* why it was not run */
    double thr;            /* threshold, linear */
    double peak;           /* worst |sum - mix| */
    sf_count_t frame;      /* ... at this frame */
    int channel;           /* ... in this channel (1-based) */
    sf_count_t first_over; /* first frame at or above the threshold, -1 none */
    sf_count_t frames;     /* frames compared */
    int nulls;
    int lag_tried; /* the correlation was computed */
    int lag;
    double corr;
    int shifted; /* the shifted residual was computed */
    double shifted_peak;
};

struct state {
    const char *dir;
    const char *mix_path;
    double threshold_db;
    double lead_in;
    int json;
    struct afile *files;
    size_t nfiles;
    char **ignored;
    size_t nignored;     /* names kept (at most MAX_IGNORED) */
    size_t nignored_all; /* files ignored */
    size_t naudio;       /* audio files in the folder, read or not */
    struct rejected *rejected;
    size_t nrejected;
    struct afile *mix;
    size_t nstems;
    char *song;
    struct check checks[MAX_CHECKS];
    size_t nchecks;
    struct null_test null;
    sf_count_t win_start; /* loudest LAG_WINDOW of the stems' sum */
};

static void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
log_err(const char *fmt, ...)
{
    va_list ap;

    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void
usage(FILE *f)
{
    fprintf(
        f,
        "Usage: " PROG " [OPTION]... DIR\n"
        "Check a folder of stems (\"<Song> - <Stem>.wav\" and \"<Song> - Mix.wav\") against the\n"
        "stem-mastering checklist: format, bit depth, sample rate, length, TimeReference,\n"
        "stem count, names, peaks, lead-in silence, and whether the stems sum to the mix.\n"
        "\n"
        "Options:\n"
        "  -m, --mix=FILE          the mix to null against (default: \"<Song> - Mix.*\" in DIR)\n"
        "  -t, --threshold=DB      the null passes below DB dBFS residual peak (default %.0f)\n"
        "  -l, --lead-in=SECONDS   lead-in that should be silent (default %.1f; 0: no check)\n"
        "  -j, --json              print the report as JSON\n"
        "  -h, --help              show this help and exit\n"
        "  -V, --version           show the version and exit\n"
        "\n"
        "Exit status: 0 all hard rules pass (warnings allowed), 1 a hard rule fails,\n"
        "2 usage error, unreadable folder or file, or more than %d audio files.\n",
        DEFAULT_THRESHOLD, DEFAULT_LEAD_IN, MAX_FILES);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry '" PROG " --help' for more information.\n", stderr);
    return EXIT_USAGE;
}

static int
parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

/* dBFS of a linear level: floored at FLOOR_DB, and never a "-0.0" for full scale. */
static double
to_db(double x)
{
    double db = x > 0 ? fmax(20.0 * log10(x), FLOOR_DB) : FLOOR_DB;

    return fabs(db) < 5e-4 ? 0.0 : db;
}

/* A file's peak in dBFS: at least 0 when it reaches full scale (an integer file's largest
 * code, 1 LSB short of 1.0, counts as 0 dBFS; a float file may go above). */
static double
peak_db(const struct afile *f)
{
    return f->clips ? fmax(to_db(f->peak), 0.0) : to_db(f->peak);
}

/* Print a file name or a message with control characters defused. */
static void
put_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, f);
    }
}

/* ---- the folder ---- */

static const char *const audio_ext[] = {"wav",  "wave", "bwf",  "rf64", "w64", "aif",
                                        "aiff", "aifc", "flac", "ogg",  "oga", "opus",
                                        "mp3",  "caf",  "au",   "snd",  NULL};

static int
has_audio_ext(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (!dot || dot == name) {
        return 0;
    }
    for (size_t i = 0; audio_ext[i]; i++) {
        if (!strcasecmp(dot + 1, audio_ext[i])) {
            return 1;
        }
    }
    return 0;
}

static int
add_name(char ***list, size_t *n, const char *name)
{
    char **l = realloc(*list, (*n + 1) * sizeof *l);

    if (!l) {
        return -1;
    }
    *list = l;
    l[*n] = strdup(name);
    if (!l[*n]) {
        return -1;
    }
    (*n)++;
    return 0;
}

/* Appends a file entry (not opened yet). */
static struct afile *
add_file(struct state *st, const char *path, const char *name, const struct stat *sb)
{
    struct afile *fs = realloc(st->files, (st->nfiles + 1) * sizeof *fs);
    struct afile *f;
    char *dot;
    size_t n;

    if (!fs) {
        return NULL;
    }
    st->files = fs;
    f = &fs[st->nfiles];
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    f->name = strdup(name);
    f->base = strdup(name);
    if (!f->path || !f->name || !f->base) {
        free(f->path);
        free(f->name);
        free(f->base);
        return NULL;
    }
    dot = strrchr(f->base, '.');
    if (dot && dot != f->base) {
        *dot = '\0';
    }
    n = strlen(f->base);
    f->mix_named =
        n > strlen(MIX_SUFFIX) && !strcasecmp(f->base + n - strlen(MIX_SUFFIX), MIX_SUFFIX);
    f->dev = sb->st_dev;
    f->ino = sb->st_ino;
    f->first_clip = -1;
    st->nfiles++;
    return f;
}

static int
cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct afile *)a)->name, ((const struct afile *)b)->name);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_rejected(const void *a, const void *b)
{
    return strcmp(((const struct rejected *)a)->name, ((const struct rejected *)b)->name);
}

/* Takes an audio file that will not be read into st->rejected (name, path and why are copied). */
static int
add_rejected(struct state *st, const char *name, const char *path, const char *why)
{
    struct rejected *r = realloc(st->rejected, (st->nrejected + 1) * sizeof *r);

    if (!r) {
        return -1;
    }
    st->rejected = r;
    r = &r[st->nrejected];
    r->name = strdup(name);
    r->path = strdup(path);
    r->why = strdup(why);
    if (!r->name || !r->path || !r->why) {
        free(r->name);
        free(r->path);
        free(r->why);
        return -1;
    }
    st->nrejected++;
    return 0;
}

static const char *
file_type(mode_t mode)
{
    return S_ISFIFO(mode)   ? "a FIFO"
           : S_ISSOCK(mode) ? "a socket"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
                            : "not a regular file";
}

/* An audio-named folder entry that is not a regular file: never opened, never followed. */
static int
reject_special(struct state *st, int dfd, const char *name, const char *path, mode_t mode)
{
    char target[256], why[320];
    ssize_t n;

    if (!S_ISLNK(mode)) {
        snprintf(why, sizeof why, "%s, not a regular file: not opened", file_type(mode));
        return add_rejected(st, name, path, why);
    }
    n = readlinkat(dfd, name, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    snprintf(why, sizeof why, "a symlink%s%s%s: not followed", n > 0 ? " to " : "", target,
             n == (ssize_t)sizeof target - 1 ? "..." : "");
    return add_rejected(st, name, path, why);
}

/* One folder entry.  Returns 0, or -1 (logged). */
static int
scan_entry(struct state *st, int dfd, const char *name, const char *path)
{
    struct stat sb;
    int rc;

    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) {
            return 0; /* gone since readdir() */
        }
        log_err("%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(sb.st_mode)) {
        return 0;
    }
    if (!has_audio_ext(name)) {
        st->nignored_all++;
        rc = st->nignored < MAX_IGNORED ? add_name(&st->ignored, &st->nignored, name) : 0;
    } else if (++st->naudio > MAX_FILES) {
        rc = 0; /* counted only: the folder is refused */
    } else if (!S_ISREG(sb.st_mode)) {
        rc = reject_special(st, dfd, name, path, sb.st_mode);
    } else {
        rc = add_file(st, path, name, &sb) ? 0 : -1;
    }
    if (rc < 0) {
        log_err("out of memory");
    }
    return rc;
}

/* Lists the folder without following symlinks: regular audio files into st->files, other
 * audio-named entries into st->rejected, the rest by name into st->ignored. */
static int
scan_dir(struct state *st)
{
    DIR *d = opendir(st->dir);
    struct dirent *de;
    int rc = 0;

    if (!d) {
        log_err("cannot open the folder %s: %s", st->dir, strerror(errno));
        return -1;
    }
    for (;;) {
        char *path;

        errno = 0;
        de = readdir(d);
        if (!de) {
            if (errno) {
                log_err("cannot read the folder %s: %s", st->dir, strerror(errno));
                rc = -1;
            }
            break;
        }
        if (de->d_name[0] == '.') {
            continue;
        }
        if (asprintf(&path, "%s/%s", st->dir, de->d_name) < 0) {
            log_err("out of memory");
            rc = -1;
            break;
        }
        rc = scan_entry(st, dirfd(d), de->d_name, path);
        free(path);
        if (rc < 0) {
            break;
        }
    }
    closedir(d);
    if (rc == 0 && st->naudio > MAX_FILES) {
        log_err("%s: %zu audio files, more than the %d stemcap-check reads (a delivery is at most "
                "%d stems and a mix): not checked",
                st->dir, st->naudio, MAX_FILES, MAX_STEMS);
        rc = -1;
    }
    if (rc == 0) {
        if (st->nfiles) {
            qsort(st->files, st->nfiles, sizeof *st->files, cmp_file);
        }
        if (st->nignored) {
            qsort(st->ignored, st->nignored, sizeof *st->ignored, cmp_str);
        }
    }
    return rc;
}

static int
encoding_bits(int format)
{
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8:
        return 8;
    case SF_FORMAT_PCM_16:
        return 16;
    case SF_FORMAT_PCM_24:
        return 24;
    case SF_FORMAT_PCM_32:
        return 32;
    default:
        return 0;
    }
}

static int set_reject(struct afile *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Marks the file as not to be read; returns 1, or -1 (out of memory, logged). */
static int
set_reject(struct afile *f, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&f->reject, fmt, ap);
    va_end(ap);
    if (n < 0) {
        f->reject = NULL;
        log_err("out of memory");
        return -1;
    }
    return 1;
}

/* Opens the file for reading, never through a symlink (only the --mix file the user named may be
 * one) and never a FIFO or a device.  A WAV, RF64, AIFF or W64 file is handed to libsndfile only
 * when its header agrees with the file (audiohdr.c), and libsndfile must then read it as the
 * header says.  Returns 0, 1 when the file is not read (f->reject says why), or -1 (logged). */
static int
open_file(struct afile *f)
{
    SF_BROADCAST_INFO bi;
    struct audiohdr h;
    struct stat sb;
    int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (f->given_mix ? 0 : O_NOFOLLOW);
    int fd = open(f->path, flags), hdr;

    if (fd < 0) {
        if (errno == ELOOP && !f->given_mix) {
            return set_reject(f, "a symlink: not followed");
        }
        log_err("%s: %s", f->path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) < 0) {
        log_err("%s: %s", f->path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return set_reject(f, "%s, not a regular file: not read", file_type(sb.st_mode));
    }
    hdr = audiohdr_parse(fd, &h);
    if (hdr < 0 || (hdr == 0 && !h.consistent)) {
        close(fd);
        return set_reject(f, "%s", h.why);
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        log_err("%s: %s", f->path, strerror(errno));
        close(fd);
        return -1;
    }
    f->sf = sf_open_fd(fd, SFM_READ, &f->info, SF_TRUE); /* closes fd, even when it fails */
    if (!f->sf) {
        log_err("%s: %s", f->path, sf_strerror(NULL));
        return -1;
    }
    if (f->info.channels < 1) {
        log_err("%s: no audio channels", f->path);
        return -1;
    }
    if (hdr == 0 && h.encoding != AUDIOHDR_OTHER && h.frame > 0) {
        if (f->info.channels != h.channels) {
            return set_reject(f, "libsndfile reads %d channels, the header says %d",
                              f->info.channels, h.channels);
        }
        if ((uint64_t)f->info.frames != h.declared / h.frame) {
            return set_reject(f, "libsndfile reads %lld frames, the header declares %llu",
                              (long long)f->info.frames,
                              (unsigned long long)(h.declared / h.frame));
        }
    }
    f->bits = encoding_bits(f->info.format);
    f->full_scale = f->bits ? 1.0 - ldexp(1.0, -(f->bits - 1)) : 1.0;
    memset(&bi, 0, sizeof bi);
    if (sf_command(f->sf, SFC_GET_BROADCAST_INFO, &bi, sizeof bi) == SF_TRUE) {
        f->has_tref = 1;
        f->tref = (uint64_t)bi.time_reference_high << 32 | bi.time_reference_low;
    }
    f->buf = malloc((size_t)BLOCK * (size_t)f->info.channels * sizeof *f->buf);
    if (!f->buf) {
        log_err("%s: out of memory", f->path);
        return -1;
    }
    return 0;
}

static void
free_file(struct afile *f)
{
    if (f->sf) {
        sf_close(f->sf);
    }
    free(f->path);
    free(f->name);
    free(f->base);
    free(f->buf);
    free(f->reject);
}

/* Opens every file; the ones not to be read go from st->files to st->rejected. */
static int
open_files(struct state *st)
{
    size_t kept = 0, n = st->nfiles;

    for (size_t i = 0; i < n; i++) {
        if (open_file(&st->files[i]) < 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct afile *f = &st->files[i];

        if (!f->reject) {
            st->files[kept++] = *f;
            continue;
        }
        if (add_rejected(st, f->name, f->path, f->reject) < 0) {
            log_err("out of memory");
            for (size_t j = i; j < n; j++) {
                free_file(&st->files[j]);
            }
            st->nfiles = kept;
            return -1;
        }
        free_file(f);
    }
    st->nfiles = kept;
    if (st->nrejected) {
        qsort(st->rejected, st->nrejected, sizeof *st->rejected, cmp_rejected);
    }
    return 0;
}

/* --mix FILE: the file in the folder when it is one of them, else a file of its own. */
static int
add_given_mix(struct state *st)
{
    struct stat sb;
    struct afile *f;
    const char *slash;

    if (stat(st->mix_path, &sb) < 0) {
        log_err("%s: %s", st->mix_path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        if (st->files[i].dev == sb.st_dev && st->files[i].ino == sb.st_ino) {
            st->files[i].given_mix = 1;
            return 0;
        }
    }
    if (!S_ISREG(sb.st_mode)) {
        log_err("%s: not a regular file", st->mix_path);
        return -1;
    }
    slash = strrchr(st->mix_path, '/');
    f = add_file(st, st->mix_path, slash ? slash + 1 : st->mix_path, &sb);
    if (!f) {
        log_err("out of memory");
        return -1;
    }
    f->given_mix = 1;
    return 0;
}

/* ---- names ---- */

/* The stem part of BASE when it is "<SONG> - <Stem>" with a non-blank stem, else NULL. */
static const char *
stem_part(const char *base, const char *song)
{
    size_t n;

    if (!song) {
        return NULL;
    }
    n = strlen(song);
    if (strncmp(base, song, n) || strncmp(base + n, " - ", 3)) {
        return NULL;
    }
    base += n + 3;
    return base[strspn(base, " ")] ? base : NULL;
}

static size_t
song_votes(const struct state *st, const char *song)
{
    size_t n = 0;

    for (size_t i = 0; i < st->nfiles; i++) {
        n += !st->files[i].given_mix && stem_part(st->files[i].base, song) != NULL;
    }
    return n;
}

/* The common song: the mix's when it was found as "<Song> - Mix", else the "<Song>" most file
 * names begin with (ties: the longer one, as "A - B - Drums" and "A - B - Bass" are song
 * "A - B"). */
static int
choose_song(struct state *st)
{
    size_t best = 0;

    if (st->mix && st->mix->mix_named && !st->mix->given_mix) {
        st->song = strndup(st->mix->base, strlen(st->mix->base) - strlen(MIX_SUFFIX));
        return st->song ? 0 : -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        const char *b = st->files[i].base;

        if (st->files[i].given_mix) {
            continue;
        }
        for (const char *p = strstr(b, " - "); p; p = strstr(p + 1, " - ")) {
            char *cand;
            size_t v;

            if (p == b) {
                continue;
            }
            cand = strndup(b, (size_t)(p - b));
            if (!cand) {
                return -1;
            }
            v = song_votes(st, cand);
            if (v > best || (v == best && st->song && strlen(cand) > strlen(st->song))) {
                free(st->song);
                st->song = cand;
                best = v;
            } else {
                free(cand);
            }
        }
    }
    return 0;
}

/* Roles: the --mix file, or the one "<Song> - Mix" file, is the mix; other "- Mix" files are
 * extra mixes (checked, never summed); everything else is a stem. */
static void
assign_roles(struct state *st)
{
    size_t candidates = 0;
    int given = 0;

    for (size_t i = 0; i < st->nfiles; i++) {
        given |= st->files[i].given_mix;
        candidates += st->files[i].mix_named;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        struct afile *f = &st->files[i];

        if (f->given_mix || (!given && f->mix_named && candidates == 1)) {
            f->role = ROLE_MIX;
            st->mix = f;
        } else if (f->mix_named) {
            f->role = ROLE_OTHER_MIX;
        } else {
            f->role = ROLE_STEM;
            st->nstems++;
        }
    }
    if (!st->mix) {
        st->null.state = candidates > 1 ? NULL_SEVERAL_MIXES : NULL_NO_MIX;
    }
    if (st->nrejected) {
        st->null.state = NULL_REJECTED; /* a stem or the mix may be among them */
    }
}

/* ---- checks ---- */

static FILE *check_out; /* detail of the check being written */
static struct check *check_cur;

static int
check_begin(struct state *st, const char *name)
{
    check_cur = &st->checks[st->nchecks++];
    check_cur->name = name;
    check_out = open_memstream(&check_cur->detail, &check_cur->len);
    if (!check_out) {
        log_err("out of memory");
        return -1;
    }
    return 0;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(check_out, fmt, ap);
    va_end(ap);
}

static int
check_end(enum result r)
{
    check_cur->result = r;
    if (fclose(check_out) != 0) {
        log_err("out of memory");
        return -1;
    }
    return 0;
}

static int
allowed_container(int format)
{
    switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV:
    case SF_FORMAT_WAVEX:
    case SF_FORMAT_AIFF:
    case SF_FORMAT_W64:
    case SF_FORMAT_RF64:
        return 1;
    default:
        return 0;
    }
}

static const char *
format_info_name(int format)
{
    SF_FORMAT_INFO fi = {.format = format};

    return sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof fi) == 0 && fi.name ? fi.name
                                                                                 : "unknown";
}

static const char *
container_name(int format)
{
    switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV:
    case SF_FORMAT_WAVEX:
        return "WAV";
    case SF_FORMAT_AIFF:
        return "AIFF";
    case SF_FORMAT_W64:
        return "W64";
    case SF_FORMAT_RF64:
        return "RF64";
    case SF_FORMAT_FLAC:
        return "FLAC";
    case SF_FORMAT_OGG:
        return "OGG";
    case SF_FORMAT_CAF:
        return "CAF";
    case SF_FORMAT_AU:
        return "AU";
    default:
        return format_info_name(format & SF_FORMAT_TYPEMASK);
    }
}

static const char *
encoding_name(int format)
{
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8:
        return "8-bit";
    case SF_FORMAT_PCM_16:
        return "16-bit";
    case SF_FORMAT_PCM_24:
        return "24-bit";
    case SF_FORMAT_PCM_32:
        return "32-bit int";
    case SF_FORMAT_FLOAT:
        return "32-bit float";
    case SF_FORMAT_DOUBLE:
        return "64-bit float";
    default:
        return format_info_name(format & SF_FORMAT_SUBMASK);
    }
}

static void
say_list_sep(size_t *n)
{
    if ((*n)++) {
        say(", ");
    }
}

/* Only when an audio file was not read: which, and why (one line). */
static int
check_files(struct state *st)
{
    if (st->nrejected == 0) {
        return 0;
    }
    if (check_begin(st, "files") < 0) {
        return -1;
    }
    for (size_t i = 0; i < st->nrejected; i++) {
        say("%s%s: %s", i ? "; " : "", st->rejected[i].name, st->rejected[i].why);
    }
    return check_end(RES_FAIL);
}

static int
check_stems(struct state *st)
{
    enum result r = RES_PASS;

    if (check_begin(st, "stems") < 0) {
        return -1;
    }
    if (st->nstems == 0) {
        say("no stems in %s", st->dir);
        r = RES_FAIL;
    } else if (st->nstems > MAX_STEMS) {
        say("%zu stems: at most %d are allowed (the mix excluded)", st->nstems, MAX_STEMS);
        r = RES_FAIL;
    } else {
        say("%zu stem%s (at most %d)", st->nstems, st->nstems == 1 ? "" : "s", MAX_STEMS);
    }
    if (st->mix) {
        say(", mix %s", st->mix->name);
    }
    if (st->nrejected) {
        say("; %zu audio file%s not read (see files)", st->nrejected,
            st->nrejected == 1 ? "" : "s");
    }
    return check_end(r);
}

static int
check_format(struct state *st)
{
    size_t bad = 0;

    if (check_begin(st, "format") < 0) {
        return -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];

        if (!allowed_container(f->info.format)) {
            say_list_sep(&bad);
            say("%s is %s", f->name, container_name(f->info.format));
        }
    }
    if (bad) {
        say(": only WAV, AIFF, W64 or RF64 are accepted");
    } else {
        say("every file is WAV, AIFF, W64 or RF64");
    }
    return check_end(bad ? RES_FAIL : RES_PASS);
}

static int
check_encoding(struct state *st)
{
    size_t bad = 0, low = 0;

    if (check_begin(st, "encoding") < 0) {
        return -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        int sub = st->files[i].info.format & SF_FORMAT_SUBMASK;

        if (sub != SF_FORMAT_PCM_24 && sub != SF_FORMAT_FLOAT && sub != SF_FORMAT_DOUBLE &&
            sub != SF_FORMAT_PCM_16) {
            say_list_sep(&bad);
            say("%s is %s", st->files[i].name, encoding_name(st->files[i].info.format));
        }
    }
    if (bad) {
        say(": only 24-bit integer or 32/64-bit float are accepted");
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        if ((st->files[i].info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_16) {
            say("%s%s", low++ ? ", " : bad ? "; " : "", st->files[i].name);
        }
    }
    if (low) {
        say(" %s only 16-bit: 24-bit or float is expected", low == 1 ? "is" : "are");
    }
    if (!bad && !low) {
        say("every file is 24-bit integer or 32/64-bit float");
    }
    return check_end(bad ? RES_FAIL : low ? RES_WARN : RES_PASS);
}

static int64_t
get_rate(const struct afile *f)
{
    return f->info.samplerate;
}

static int64_t
get_frames(const struct afile *f)
{
    return f->info.frames;
}

/* The value most files have (ties: the mix's, else the first file's). */
static int64_t
common_value(const struct state *st, int64_t (*get)(const struct afile *))
{
    size_t best = 0;
    int64_t v = 0;

    for (size_t i = 0; i < st->nfiles; i++) {
        int64_t x = get(&st->files[i]);
        size_t n = 0;

        for (size_t j = 0; j < st->nfiles; j++) {
            n += get(&st->files[j]) == x;
        }
        if (n > best || (n == best && &st->files[i] == st->mix)) {
            best = n;
            v = x;
        }
    }
    return v;
}

static int
check_rate(struct state *st)
{
    int64_t rate = common_value(st, get_rate);
    size_t bad = 0;

    if (check_begin(st, "sample-rate") < 0) {
        return -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        if (get_rate(&st->files[i]) != rate) {
            say_list_sep(&bad);
            say("%s is at %d Hz", st->files[i].name, st->files[i].info.samplerate);
        }
    }
    if (bad) {
        say("; the other%s at %lld Hz", st->nfiles - bad == 1 ? " is" : "s are", (long long)rate);
    } else {
        say("every file is at %lld Hz", (long long)rate);
    }
    return check_end(bad ? RES_FAIL : RES_PASS);
}

static int
check_length(struct state *st)
{
    int64_t frames = common_value(st, get_frames);
    size_t bad = 0;

    if (check_begin(st, "length") < 0) {
        return -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        if (get_frames(&st->files[i]) != frames) {
            say_list_sep(&bad);
            say("%s has %lld frames", st->files[i].name, (long long)st->files[i].info.frames);
        }
    }
    if (bad) {
        say("; the other%s %lld", st->nfiles - bad == 1 ? " has" : "s have", (long long)frames);
    } else if (frames == 0) {
        say("every file is empty (0 frames)");
        bad = 1;
    } else {
        say("every file has %lld frames", (long long)frames);
        if (st->nfiles && st->files[0].info.samplerate > 0) {
            say(" (%.3f s)", (double)frames / st->files[0].info.samplerate);
        }
    }
    return check_end(bad ? RES_FAIL : RES_PASS);
}

static int
check_tref(struct state *st)
{
    const struct afile *ref = NULL;
    size_t with = 0, bad = 0, best = 0;

    if (check_begin(st, "time-reference") < 0) {
        return -1;
    }
    /* the reference: the value most files carry (ties: the mix's, else the first one) */
    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];
        size_t n = 0;

        if (!f->has_tref) {
            continue;
        }
        with++;
        for (size_t j = 0; j < st->nfiles; j++) {
            n += st->files[j].has_tref && st->files[j].tref == f->tref;
        }
        if (n > best || (n == best && f == st->mix)) {
            best = n;
            ref = f;
        }
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];

        if (f->has_tref && f->tref != ref->tref) {
            say_list_sep(&bad);
            say("%s has %llu", f->name, (unsigned long long)f->tref);
        }
    }
    if (bad) {
        say("; the other%s %llu: the files would not line up", with - bad == 1 ? " has" : "s have",
            (unsigned long long)ref->tref);
    } else if (with) {
        if (with == st->nfiles) {
            say("every file carries TimeReference %llu", (unsigned long long)ref->tref);
        } else {
            say("TimeReference %llu in the %zu file%s with a bext chunk (the others have none)",
                (unsigned long long)ref->tref, with, with == 1 ? "" : "s");
        }
    } else {
        say("no file carries a bext TimeReference");
    }
    return check_end(bad ? RES_FAIL : RES_PASS);
}

static int
check_names(struct state *st)
{
    size_t bad = 0;

    if (check_begin(st, "names") < 0) {
        return -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        struct afile *f = &st->files[i];

        f->stem = stem_part(f->base, st->song);
        if (!f->stem && !f->given_mix) {
            say_list_sep(&bad);
            say("%s", f->name);
        }
    }
    if (bad) {
        if (st->song) {
            say(" %s not \"%s - <Stem>\"", bad == 1 ? "is" : "are", st->song);
        } else {
            say(" %s not \"<Song> - <Stem>\"", bad == 1 ? "is" : "are");
        }
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];

        for (size_t j = 0; f->role == ROLE_STEM && f->stem && j < i; j++) {
            const struct afile *g = &st->files[j];

            if (g->role == ROLE_STEM && g->stem && !strcasecmp(f->stem, g->stem)) {
                say("%stwo files for stem \"%s\": %s and %s", bad++ ? "; " : "", f->stem, g->name,
                    f->name);
                break;
            }
        }
    }
    if (!bad) {
        say("every file is \"%s - <Stem>\"", st->song ? st->song : "<Song>");
    }
    return check_end(bad ? RES_FAIL : RES_PASS);
}

/* Decides whether the null test can run, and says why not. */
static int
plan_null(struct state *st)
{
    FILE *out;
    size_t len, bad = 0;

    if (!st->mix || st->null.state != NULL_RUN) {
        return 0;
    }
    if (st->nstems == 0) {
        st->null.state = NULL_NO_STEMS;
        return 0;
    }
    out = open_memstream(&st->null.why, &len);
    if (!out) {
        log_err("out of memory");
        return -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];

        if (f->role == ROLE_STEM && f->info.samplerate != st->mix->info.samplerate) {
            fprintf(out, "%s%s is at %d Hz", bad++ ? ", " : "", f->name, f->info.samplerate);
        }
    }
    if (bad) {
        st->null.state = NULL_RATES;
        fprintf(out, ", the mix at %d Hz", st->mix->info.samplerate);
    } else {
        for (size_t i = 0; i < st->nfiles; i++) {
            const struct afile *f = &st->files[i];

            if (f->role == ROLE_STEM && f->info.channels != st->mix->info.channels) {
                fprintf(out, "%s%s has %d channel%s", bad++ ? ", " : "", f->name, f->info.channels,
                        f->info.channels == 1 ? "" : "s");
            }
        }
        if (bad) {
            st->null.state = NULL_CHANNELS;
            fprintf(out, ", the mix %d", st->mix->info.channels);
        }
    }
    if (fclose(out) != 0) {
        log_err("out of memory");
        return -1;
    }
    return 0;
}

/* ---- reading ---- */

/* Reads up to MAX frames (fewer at the end of the file) into f->buf. */
static int
read_chunk(struct afile *f, sf_count_t max)
{
    sf_count_t want = f->info.frames - f->pos;

    if (want > max) {
        want = max;
    }
    f->got = 0;
    if (want <= 0) {
        return 0;
    }
    f->got = sf_readf_double(f->sf, f->buf, want);
    if (f->got != want) {
        log_err("%s: read error at frame %lld of %lld: %s", f->path,
                (long long)(f->pos + (f->got > 0 ? f->got : 0)), (long long)f->info.frames,
                sf_error(f->sf) ? sf_strerror(f->sf) : "the file is shorter than its header says");
        return -1;
    }
    f->pos += want;
    return 0;
}

static int
seek_file(struct afile *f, sf_count_t frame)
{
    if (frame > f->info.frames) {
        frame = f->info.frames;
    }
    if (sf_seek(f->sf, frame, SEEK_SET) < 0) {
        log_err("%s: cannot seek to frame %lld: %s", f->path, (long long)frame, sf_strerror(f->sf));
        return -1;
    }
    f->pos = frame;
    return 0;
}

static void
file_stats(struct afile *f, sf_count_t pos, sf_count_t lead)
{
    int ch = f->info.channels;

    for (sf_count_t i = 0; i < f->got; i++) {
        for (int c = 0; c < ch; c++) {
            double a = fabs(f->buf[i * ch + c]);

            if (!isfinite(a)) { /* NaN or infinity in a float file: as bad as a clip */
                a = f->full_scale;
            }
            if (a > f->peak) {
                f->peak = a;
                f->peak_frame = pos + i;
            }
            if (a >= f->full_scale) {
                if (f->first_clip < 0) {
                    f->first_clip = pos + i;
                }
                f->clips++;
            }
            if (pos + i < lead && a > f->lead_peak) {
                f->lead_peak = a;
            }
        }
    }
}

/* sum[] = the stems' block, per channel of the mix (files past their end count as silence). */
static void
sum_stems(const struct state *st, double *sum, sf_count_t n)
{
    int ch = st->mix->info.channels;

    memset(sum, 0, (size_t)n * (size_t)ch * sizeof *sum);
    for (size_t k = 0; k < st->nfiles; k++) {
        const struct afile *f = &st->files[k];

        if (f->role != ROLE_STEM) {
            continue;
        }
        for (sf_count_t i = 0; i < f->got * ch; i++) {
            sum[i] += f->buf[i];
        }
    }
}

/* The one streaming pass: per-file statistics, and the residual of the null test. */
static int
scan_audio(struct state *st)
{
    int run = st->mix && st->null.state == NULL_RUN;
    int ch = run ? st->mix->info.channels : 1;
    double *sum = malloc((size_t)BLOCK * (size_t)ch * sizeof *sum);
    double ring[LAG_WINDOW / BLOCK] = {0}, best = -1.0;
    struct null_test *nt = &st->null;
    sf_count_t pos = 0, blk = 0;
    int rc = -1;

    if (!sum) {
        log_err("out of memory");
        return -1;
    }
    nt->first_over = -1;
    nt->channel = 1;
    for (;; pos += BLOCK, blk++) {
        sf_count_t n = 0;

        for (size_t k = 0; k < st->nfiles; k++) {
            struct afile *f = &st->files[k];

            if (read_chunk(f, BLOCK) < 0) {
                goto out;
            }
            if (f->got > n) {
                n = f->got;
            }
            file_stats(f, pos, st->lead_in > 0 ? llrint(st->lead_in * f->info.samplerate) : 0);
        }
        if (n == 0) {
            break;
        }
        if (run) {
            const struct afile *m = st->mix;
            size_t nring = sizeof ring / sizeof ring[0];
            double e = 0.0, window = 0.0;

            sum_stems(st, sum, n);
            for (sf_count_t i = 0; i < n; i++) {
                double mono = 0.0;

                for (int c = 0; c < ch; c++) {
                    double s = sum[i * ch + c];
                    double r = fabs(s - (i < m->got ? m->buf[i * ch + c] : 0.0));

                    mono += s;
                    if (!isfinite(r)) {
                        r = INFINITY;
                    }
                    if (r > nt->peak) {
                        nt->peak = r;
                        nt->frame = pos + i;
                        nt->channel = c + 1;
                    }
                    if (r >= nt->thr && nt->first_over < 0) {
                        nt->first_over = pos + i;
                    }
                }
                e += mono * mono;
            }
            ring[blk % (sf_count_t)nring] = e;
            for (size_t i = 0; i < nring; i++) {
                window += ring[i];
            }
            if (blk + 1 >= (sf_count_t)nring && window > best) {
                best = window;
                st->win_start = (blk + 1 - (sf_count_t)nring) * BLOCK;
            }
        }
        nt->frames = pos + n;
    }
    nt->nulls = run && nt->first_over < 0;
    rc = 0;
out:
    free(sum);
    return rc;
}

/* out[i] += the sum of F's channels at frame START + i, for i < COUNT (silence outside the
 * file; START may be negative). */
static int
read_mono(struct afile *f, sf_count_t start, sf_count_t count, double *out)
{
    sf_count_t from = start < 0 ? 0 : start;
    sf_count_t end = start + count;
    int ch = f->info.channels;

    if (end > f->info.frames) {
        end = f->info.frames;
    }
    if (from >= end) {
        return 0;
    }
    if (seek_file(f, from) < 0) {
        return -1;
    }
    while (f->pos < end) {
        sf_count_t at = f->pos;

        if (read_chunk(f, end - f->pos < BLOCK ? end - f->pos : BLOCK) < 0) {
            return -1;
        }
        for (sf_count_t i = 0; i < f->got; i++) {
            for (int c = 0; c < ch; c++) {
                out[at + i - start] += f->buf[i * ch + c];
            }
        }
    }
    return 0;
}

/* Normalised cross-correlation of the stems' mono sum over the loudest window against the mix
 * at lags -LAG_MAX..LAG_MAX: corr(l) = sum s[n] m[n+l] / sqrt(sum s[n]^2 sum m[n+l]^2). */
static int
estimate_lag(struct state *st)
{
    struct null_test *nt = &st->null;
    sf_count_t a = st->win_start, w = LAG_WINDOW;
    size_t mlen;
    double *s = NULL, *m = NULL, *q = NULL, es = 0.0;
    int rc = -1;

    if (a + w > nt->frames) {
        w = nt->frames - a;
    }
    if (w <= 0) {
        return 0;
    }
    mlen = (size_t)w + 2 * LAG_MAX;
    s = calloc((size_t)w, sizeof *s);
    m = calloc(mlen, sizeof *m);
    q = calloc(mlen + 1, sizeof *q);
    if (!s || !m || !q) {
        log_err("out of memory");
        goto out;
    }
    for (size_t k = 0; k < st->nfiles; k++) {
        if (st->files[k].role == ROLE_STEM && read_mono(&st->files[k], a, w, s) < 0) {
            goto out;
        }
    }
    if (read_mono(st->mix, a - LAG_MAX, (sf_count_t)mlen, m) < 0) {
        goto out;
    }
    for (size_t i = 0; i < mlen; i++) {
        q[i + 1] = q[i] + m[i] * m[i];
    }
    for (sf_count_t i = 0; i < w; i++) {
        es += s[i] * s[i];
    }
    nt->corr = -2.0;
    for (int l = -LAG_MAX; l <= LAG_MAX; l++) {
        const double *ml = m + LAG_MAX + l;
        double dot = 0.0, em = q[LAG_MAX + l + w] - q[LAG_MAX + l], c;

        if (es <= 0.0 || em <= 0.0) {
            continue;
        }
        for (sf_count_t i = 0; i < w; i++) {
            dot += s[i] * ml[i];
        }
        c = dot / sqrt(es * em);
        if (c > nt->corr || (c == nt->corr && abs(l) < abs(nt->lag))) {
            nt->corr = c;
            nt->lag = l;
        }
    }
    nt->lag_tried = nt->corr > -2.0;
    rc = 0;
out:
    free(s);
    free(m);
    free(q);
    return rc;
}

/* The residual peak of sum(stems)[n] - mix[n + lag], over the frames both cover. */
static int
shifted_residual(struct state *st)
{
    struct null_test *nt = &st->null;
    struct afile *m = st->mix;
    int ch = m->info.channels, lag = nt->lag;
    sf_count_t s0 = lag < 0 ? -lag : 0, m0 = lag > 0 ? lag : 0, stems_end = 0, count, done;
    double *sum = malloc((size_t)BLOCK * (size_t)ch * sizeof *sum);
    int rc = -1;

    if (!sum) {
        log_err("out of memory");
        return -1;
    }
    for (size_t k = 0; k < st->nfiles; k++) {
        struct afile *f = &st->files[k];

        if (f->role == ROLE_STEM) {
            if (f->info.frames > stems_end) {
                stems_end = f->info.frames;
            }
            if (seek_file(f, s0) < 0) {
                goto out;
            }
        }
    }
    if (seek_file(m, m0) < 0) {
        goto out;
    }
    count = stems_end - s0 < m->info.frames - m0 ? stems_end - s0 : m->info.frames - m0;
    nt->shifted_peak = 0.0;
    for (done = 0; done < count;) {
        sf_count_t n = count - done < BLOCK ? count - done : BLOCK;

        for (size_t k = 0; k < st->nfiles; k++) {
            struct afile *f = &st->files[k];

            if ((f->role == ROLE_STEM || f == m) && read_chunk(f, n) < 0) {
                goto out;
            }
        }
        sum_stems(st, sum, n);
        for (sf_count_t i = 0; i < n * ch; i++) {
            double r = fabs(sum[i] - (i < m->got * ch ? m->buf[i] : 0.0));

            if (!isfinite(r)) {
                r = INFINITY;
            }
            if (r > nt->shifted_peak) {
                nt->shifted_peak = r;
            }
        }
        done += n;
    }
    nt->shifted = 1;
    rc = 0;
out:
    free(sum);
    return rc;
}

static int
check_peaks(struct state *st)
{
    const struct afile *top = NULL;
    size_t bad = 0;

    if (check_begin(st, "peaks") < 0) {
        return -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];

        if (!top || f->peak > top->peak) {
            top = f;
        }
        if (f->clips) {
            say_list_sep(&bad);
            say("%s reaches 0 dBFS (%lld full-scale sample%s, first at frame %lld)", f->name,
                (long long)f->clips, f->clips == 1 ? "" : "s", (long long)f->first_clip);
        }
    }
    if (!bad && top) {
        say("every file peaks below 0 dBFS; the highest is %s at %.1f dBFS (%.1f dB headroom)",
            top->name, peak_db(top), 0.0 - peak_db(top));
    }
    return check_end(bad ? RES_FAIL : RES_PASS);
}

static int
check_lead_in(struct state *st)
{
    double silent = pow(10.0, SILENCE_DB / 20.0);
    const struct afile *top = NULL;
    size_t loud = 0;

    if (check_begin(st, "lead-in") < 0) {
        return -1;
    }
    if (st->lead_in <= 0) {
        say("not checked (--lead-in 0)");
        return check_end(RES_PASS);
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        if (st->files[i].lead_peak >= silent) {
            loud++;
        }
        if (!top || st->files[i].lead_peak > top->lead_peak) {
            top = &st->files[i];
        }
    }
    if (loud == 0) {
        say("yes: the first %.1f s are silent (below %.0f dBFS) in every file", st->lead_in,
            SILENCE_DB);
    } else if (loud == st->nfiles) {
        say("no: every file has sound in the first %.1f s (up to %.1f dBFS in %s)", st->lead_in,
            to_db(top->lead_peak), top->name);
    } else {
        size_t n = 0;

        say("no: sound in the first %.1f s of ", st->lead_in);
        for (size_t i = 0; i < st->nfiles; i++) {
            if (st->files[i].lead_peak >= silent) {
                say_list_sep(&n);
                say("%s (%.1f dBFS)", st->files[i].name, to_db(st->files[i].lead_peak));
            }
        }
    }
    if (loud) {
        say("; it should be silent (below %.0f dBFS)", SILENCE_DB);
    }
    return check_end(loud ? RES_WARN : RES_PASS);
}

static int
check_null(struct state *st)
{
    const struct null_test *nt = &st->null;
    enum result r = RES_FAIL;

    if (check_begin(st, "null") < 0) {
        return -1;
    }
    switch (nt->state) {
    case NULL_NO_MIX:
        say("no mix file: null test skipped");
        r = RES_WARN;
        break;
    case NULL_SEVERAL_MIXES:
        say("several mix files (");
        for (size_t i = 0, n = 0; i < st->nfiles; i++) {
            if (st->files[i].role == ROLE_OTHER_MIX) {
                say_list_sep(&n);
                say("%s", st->files[i].name);
            }
        }
        say("): null test not run; choose one with --mix");
        break;
    case NULL_NO_STEMS:
        say("no stems to sum: null test not run");
        break;
    case NULL_RATES:
        say("null test not run: the stems and the mix are not at one sample rate (%s)", nt->why);
        break;
    case NULL_CHANNELS:
        say("cannot sum the stems into the mix: %s", nt->why);
        break;
    case NULL_REJECTED:
        say("null test not run: ");
        for (size_t i = 0, n = 0; i < st->nrejected; i++) {
            say_list_sep(&n);
            say("%s", st->rejected[i].name);
        }
        say(" %s not read (see files)", st->nrejected == 1 ? "was" : "were");
        break;
    case NULL_RUN:
        say("the %zu stem%s %s to %s: worst residual %.1f dBFS at frame %lld (channel %d), ",
            st->nstems, st->nstems == 1 ? "" : "s", nt->nulls ? "sum" : "do not sum", st->mix->name,
            to_db(nt->peak), (long long)nt->frame, nt->channel);
        if (nt->nulls) {
            say("below the %.1f dBFS threshold", st->threshold_db);
            r = RES_PASS;
            break;
        }
        say("at or above the %.1f dBFS threshold from frame %lld", st->threshold_db,
            (long long)nt->first_over);
        if (!nt->lag_tried) {
            say("; no signal to estimate a lag from");
        } else if (nt->corr < LAG_MIN_CORR) {
            say("; no clear lag (best correlation %.4f, at lag %d)", nt->corr, nt->lag);
        } else if (nt->lag == 0) {
            say("; the mix is best aligned at lag 0 (correlation %.4f): no shift of the mix "
                "makes them null",
                nt->corr);
        } else {
            if (nt->lag > 0) {
                say("; mix lags the stems by %d samples", nt->lag);
            } else {
                say("; mix lags the stems by %d samples, i.e. it is %d samples early", nt->lag,
                    -nt->lag);
            }
            say(" (correlation %.4f)", nt->corr);
            if (nt->shifted) {
                say("; shifted by that, the residual peak is %.1f dBFS (%s)",
                    to_db(nt->shifted_peak),
                    nt->shifted_peak < nt->thr ? "it would null" : "still no null");
            }
        }
        break;
    }
    return check_end(r);
}

/* ---- report ---- */

static size_t
count_results(const struct state *st, enum result r)
{
    size_t n = 0;

    for (size_t i = 0; i < st->nchecks; i++) {
        n += st->checks[i].result == r;
    }
    return n;
}

static const char *const role_tag[] = {"", " (mix)", " (extra mix)"};

static void
print_file_row(const struct afile *f, int width)
{
    char fmt[64];
    int len = (int)strlen(f->name);

    putchar(' ');
    put_text(stdout, f->name);
    fputs(role_tag[f->role], stdout);
    len += (int)strlen(role_tag[f->role]);
    snprintf(fmt, sizeof fmt, "%s %s", container_name(f->info.format),
             encoding_name(f->info.format));
    printf("%*s  %-17s %6d %3d %11lld %9.1f %9.1f  ", width - len, "", fmt, f->info.samplerate,
           f->info.channels, (long long)f->info.frames, peak_db(f), 0.0 - peak_db(f));
    if (f->has_tref) {
        printf("%llu\n", (unsigned long long)f->tref);
    } else {
        puts("-");
    }
}

static void
print_text(const struct state *st)
{
    static const char *const label[] = {"PASS", "WARN", "FAIL"};
    size_t fails = count_results(st, RES_FAIL), warns = count_results(st, RES_WARN);
    int width = 4;

    fputs(PROG " " STEMCAP_VERSION ": ", stdout);
    put_text(stdout, st->dir);
    if (st->song) {
        fputs("  song \"", stdout);
        put_text(stdout, st->song);
        putchar('"');
    }
    putchar('\n');
    if (st->nignored) {
        fputs("ignored (not audio): ", stdout);
        for (size_t i = 0; i < st->nignored; i++) {
            if (i) {
                fputs(", ", stdout);
            }
            put_text(stdout, st->ignored[i]);
        }
        if (st->nignored_all > st->nignored) {
            printf(" and %zu more", st->nignored_all - st->nignored);
        }
        putchar('\n');
    }
    if (st->nfiles || st->nrejected) {
        for (size_t i = 0; i < st->nfiles; i++) {
            int len = (int)(strlen(st->files[i].name) + strlen(role_tag[st->files[i].role]));

            if (len > width) {
                width = len;
            }
        }
        for (size_t i = 0; i < st->nrejected; i++) {
            if ((int)strlen(st->rejected[i].name) > width) {
                width = (int)strlen(st->rejected[i].name);
            }
        }
        printf("\n %-*s  %-17s %6s %3s %11s %9s %9s  %s\n", width, "File", "Format", "Rate", "Ch",
               "Frames", "Peak dBFS", "Headroom", "TimeReference");
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = 0; i < st->nfiles; i++) {
                if ((st->files[i].role == ROLE_STEM) == (pass == 0)) {
                    print_file_row(&st->files[i], width);
                }
            }
        }
        for (size_t i = 0; i < st->nrejected; i++) {
            putchar(' ');
            put_text(stdout, st->rejected[i].name);
            printf("%*s  (not read: see files)\n", width - (int)strlen(st->rejected[i].name), "");
        }
    }
    putchar('\n');
    for (size_t i = 0; i < st->nchecks; i++) {
        printf("%s %-15s", label[st->checks[i].result], st->checks[i].name);
        put_text(stdout, st->checks[i].detail);
        putchar('\n');
    }
    printf("\nresult: %s", fails ? "FAILED" : "OK");
    if (fails) {
        printf(", %zu check%s failed", fails, fails == 1 ? "" : "s");
    }
    if (warns) {
        printf(", %zu warning%s", warns, warns == 1 ? "" : "s");
    }
    putchar('\n');
}

/* Length of the valid UTF-8 sequence at S, 0 when it is not one. */
static size_t
utf8_len(const unsigned char *s)
{
    size_t n;
    uint32_t cp;

    if (s[0] < 0x80) {
        return 1;
    } else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

/* A JSON string; bytes that are not UTF-8 (file names need not be) become '?'. */
static json_t *
jstr(const char *s)
{
    json_t *j = json_string(s);
    char *copy;
    size_t o = 0;

    if (j) {
        return j;
    }
    copy = malloc(strlen(s) + 1);
    if (!copy) {
        return NULL;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_len(p);

        if (n == 0) {
            copy[o++] = '?';
            p++;
        } else {
            memcpy(copy + o, p, n);
            o += n;
            p += n;
        }
    }
    copy[o] = '\0';
    j = json_string(copy);
    free(copy);
    return j;
}

static json_t *
jdb(double x)
{
    return isfinite(x) ? json_real(round(to_db(x) * 100.0) / 100.0) : json_null();
}

static int json_failed;

static void
jset(json_t *o, const char *key, json_t *v)
{
    if (!v || json_object_set_new(o, key, v) < 0) {
        json_failed = 1;
    }
}

static void
jappend(json_t *a, json_t *v)
{
    if (!v || json_array_append_new(a, v) < 0) {
        json_failed = 1;
    }
}

static json_t *
json_file(const struct afile *f)
{
    static const char *const roles[] = {"stem", "mix", "extra-mix"};
    json_t *o = json_object();

    if (!o) {
        json_failed = 1;
        return NULL;
    }
    jset(o, "name", jstr(f->name));
    jset(o, "path", jstr(f->path));
    jset(o, "role", json_string(roles[f->role]));
    jset(o, "stem", f->stem ? jstr(f->stem) : json_null());
    jset(o, "format", jstr(container_name(f->info.format)));
    jset(o, "encoding", jstr(encoding_name(f->info.format)));
    jset(o, "rate", json_integer(f->info.samplerate));
    jset(o, "channels", json_integer(f->info.channels));
    jset(o, "frames", json_integer(f->info.frames));
    jset(o, "peak_db", json_real(round(peak_db(f) * 100.0) / 100.0));
    jset(o, "headroom_db", json_real(0.0 - round(peak_db(f) * 100.0) / 100.0));
    jset(o, "peak_frame", json_integer(f->peak_frame));
    jset(o, "full_scale_samples", json_integer(f->clips));
    jset(o, "lead_in_peak_db", jdb(f->lead_peak));
    jset(o, "time_reference", f->has_tref ? json_integer((json_int_t)f->tref) : json_null());
    return o;
}

static json_t *
json_null_test(const struct state *st)
{
    const struct null_test *nt = &st->null;
    int clear = nt->lag_tried && nt->corr >= LAG_MIN_CORR;
    json_t *o;

    if (nt->state != NULL_RUN) {
        return json_null();
    }
    o = json_object();
    if (!o) {
        return NULL;
    }
    jset(o, "mix", jstr(st->mix->name));
    jset(o, "stems", json_integer((json_int_t)st->nstems));
    jset(o, "frames", json_integer(nt->frames));
    jset(o, "threshold_db", json_real(st->threshold_db));
    jset(o, "residual_peak_db", jdb(nt->peak));
    jset(o, "frame", json_integer(nt->frame));
    jset(o, "channel", json_integer(nt->channel));
    jset(o, "first_frame_over", nt->first_over >= 0 ? json_integer(nt->first_over) : json_null());
    jset(o, "lag", nt->nulls ? json_integer(0) : clear ? json_integer(nt->lag) : json_null());
    jset(o, "lag_correlation",
         nt->lag_tried ? json_real(round(nt->corr * 1e4) / 1e4) : json_null());
    jset(o, "shifted_residual_peak_db", nt->shifted ? jdb(nt->shifted_peak) : json_null());
    jset(o, "nulls", json_boolean(nt->nulls));
    return o;
}

static int
print_json(const struct state *st)
{
    static const char *const results[] = {"pass", "warn", "fail"};
    json_t *root = json_object(), *files = json_array(), *checks = json_array(),
           *ignored = json_array(), *rejected = json_array();
    char *text;

    if (!root || !files || !checks || !ignored || !rejected) {
        json_decref(root);
        json_decref(files);
        json_decref(checks);
        json_decref(ignored);
        json_decref(rejected);
        log_err("out of memory");
        return -1;
    }
    jset(root, "dir", jstr(st->dir));
    jset(root, "song", st->song ? jstr(st->song) : json_null());
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < st->nfiles; i++) {
            if ((st->files[i].role == ROLE_STEM) == (pass == 0)) {
                jappend(files, json_file(&st->files[i]));
            }
        }
    }
    jset(root, "files", files);
    for (size_t i = 0; i < st->nignored; i++) {
        jappend(ignored, jstr(st->ignored[i]));
    }
    jset(root, "ignored", ignored);
    jset(root, "ignored_count", json_integer((json_int_t)st->nignored_all));
    for (size_t i = 0; i < st->nrejected; i++) {
        json_t *r = json_object();

        if (r) {
            jset(r, "name", jstr(st->rejected[i].name));
            jset(r, "path", jstr(st->rejected[i].path));
            jset(r, "reason", jstr(st->rejected[i].why));
        }
        jappend(rejected, r);
    }
    jset(root, "rejected", rejected);
    for (size_t i = 0; i < st->nchecks; i++) {
        json_t *c = json_object();

        if (c) {
            jset(c, "name", json_string(st->checks[i].name));
            jset(c, "result", json_string(results[st->checks[i].result]));
            jset(c, "detail", jstr(st->checks[i].detail));
        }
        jappend(checks, c);
    }
    jset(root, "checks", checks);
    jset(root, "null", json_null_test(st));
    jset(root, "warnings", json_integer((json_int_t)count_results(st, RES_WARN)));
    jset(root, "ok", json_boolean(count_results(st, RES_FAIL) == 0));
    text = json_failed ? NULL : json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (!text) {
        log_err("cannot build the JSON report (out of memory)");
        return -1;
    }
    puts(text);
    free(text);
    return 0;
}

/* ---- main ---- */

static int
run_checks(struct state *st)
{
    if (check_files(st) < 0 || check_stems(st) < 0) {
        return -1;
    }
    if (st->nfiles == 0) {
        return 0;
    }
    if (check_format(st) < 0 || check_encoding(st) < 0 || check_rate(st) < 0 ||
        check_length(st) < 0 || check_tref(st) < 0 || check_names(st) < 0 || plan_null(st) < 0 ||
        scan_audio(st) < 0) {
        return -1;
    }
    if (st->null.state == NULL_RUN && !st->null.nulls) {
        if (estimate_lag(st) < 0) {
            return -1;
        }
        if (st->null.lag_tried && st->null.corr >= LAG_MIN_CORR && st->null.lag != 0 &&
            shifted_residual(st) < 0) {
            return -1;
        }
    }
    if (check_peaks(st) < 0 || check_lead_in(st) < 0 || check_null(st) < 0) {
        return -1;
    }
    return 0;
}

static void
free_state(struct state *st)
{
    for (size_t i = 0; i < st->nfiles; i++) {
        free_file(&st->files[i]);
    }
    free(st->files);
    for (size_t i = 0; i < st->nrejected; i++) {
        free(st->rejected[i].name);
        free(st->rejected[i].path);
        free(st->rejected[i].why);
    }
    free(st->rejected);
    for (size_t i = 0; i < st->nignored; i++) {
        free(st->ignored[i]);
    }
    free(st->ignored);
    for (size_t i = 0; i < st->nchecks; i++) {
        free(st->checks[i].detail);
    }
    free(st->null.why);
    free(st->song);
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"mix", required_argument, NULL, 'm'},
        {"threshold", required_argument, NULL, 't'},
        {"lead-in", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct state st = {.threshold_db = DEFAULT_THRESHOLD, .lead_in = DEFAULT_LEAD_IN};
    int opt, rc = EXIT_USAGE;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":m:t:l:jhV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'm':
            st.mix_path = optarg;
            break;
        case 't':
            if (parse_double(optarg, -200.0, 0.0, &st.threshold_db) < 0) {
                return usage_error("bad threshold '%s': expected dBFS from -200 to 0", optarg);
            }
            break;
        case 'l':
            if (parse_double(optarg, 0.0, MAX_LEAD_IN, &st.lead_in) < 0) {
                return usage_error("bad lead-in '%s': expected seconds from 0 to %.0f", optarg,
                                   MAX_LEAD_IN);
            }
            break;
        case 'j':
            st.json = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf(PROG " %s\n", STEMCAP_VERSION);
            return 0;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt) {
                return usage_error("unknown option '-%c'", optopt);
            }
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        return usage_error("no folder given");
    }
    if (argc - optind > 1) {
        return usage_error("one folder only (got '%s' and '%s')", argv[optind], argv[optind + 1]);
    }
    if (st.mix_path && !*st.mix_path) {
        return usage_error("empty --mix file name");
    }
    st.dir = argv[optind];
    st.null.thr = pow(10.0, st.threshold_db / 20.0);

    if (scan_dir(&st) < 0 || (st.mix_path && add_given_mix(&st) < 0)) {
        goto out;
    }
    if (open_files(&st) < 0) {
        goto out;
    }
    assign_roles(&st);
    if (choose_song(&st) < 0) {
        log_err("out of memory");
        goto out;
    }
    if (run_checks(&st) < 0) {
        goto out;
    }
    if (st.json) {
        if (print_json(&st) < 0) {
            goto out;
        }
    } else {
        print_text(&st);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        log_err("cannot write the report: %s", strerror(errno));
        goto out;
    }
    rc = count_results(&st, RES_FAIL) ? EXIT_FAILED : 0;
out:
    free_state(&st);
    return rc;
}
