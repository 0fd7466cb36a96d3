/* scan — the folder: which entries are audio files, opening them safely, and
 * who is who.  Every entry with an audio extension is looked at without
 * following symlinks; a regular file is opened (O_NOFOLLOW, O_NONBLOCK) and
 * goes to libsndfile only when its header agrees with the file (audiohdr.c,
 * the codec the daemon's recovery uses), while a symlink, a FIFO, a device or
 * a header that cannot be trusted lands in st->rejected with the reason.  A
 * folder of more than MAX_FILES audio files is refused before any is opened.
 * "<Song> - Mix.*" (or --mix) is the mix, the rest are stems, and the song is
 * the "<Song>" most names begin with. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audiohdr.h"
#include "naming.h"
#include "protocol.h"
#include "check.h"

#define MAX_IGNORED 100 /* names of ignored files listed */
#define MIX_SUFFIX  NAMING_SEP NAMING_MIX

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
    f->first_sound = -1;
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
        check_err("%s: %s", path, strerror(errno));
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
        check_err("out of memory");
    }
    return rc;
}

/* Every entry of the open folder D but the hidden ones.  Returns 0, or -1 (logged). */
static int
scan_entries(struct state *st, DIR *d)
{
    struct dirent *de;
    int rc = 0;

    for (;;) {
        char *path;

        errno = 0;
        de = readdir(d);
        if (!de) {
            if (errno) {
                check_err("cannot read the folder %s: %s", st->dir, strerror(errno));
                rc = -1;
            }
            break;
        }
        if (de->d_name[0] == '.') {
            continue;
        }
        if (asprintf(&path, "%s/%s", st->dir, de->d_name) < 0) {
            check_err("out of memory");
            rc = -1;
            break;
        }
        rc = scan_entry(st, dirfd(d), de->d_name, path);
        free(path);
        if (rc < 0) {
            break;
        }
    }
    return rc;
}

/* Lists the folder without following symlinks: regular audio files into st->files, other
 * audio-named entries into st->rejected, the rest by name into st->ignored. */
static int
scan_dir(struct state *st)
{
    DIR *d = opendir(st->dir);
    int rc;

    if (!d) {
        check_err("cannot open the folder %s: %s", st->dir, strerror(errno));
        return -1;
    }
    rc = scan_entries(st, d);
    closedir(d);
    if (rc == 0 && st->naudio > MAX_FILES) {
        check_err("%s: %zu audio files, more than the %d stemcap-check reads (a delivery is at "
                  "most %d stems and a mix): not checked",
                  st->dir, st->naudio, MAX_FILES, PROTO_MAX_STEMS);
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

/* ---- opening ---- */

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
        check_err("out of memory");
        return -1;
    }
    return 1;
}

/* Opens the file into *FD, never through a symlink (only the --mix file the user named may be
 * one) and never a FIFO or a device, and parses its header into H (*HDR: audiohdr_parse()'s
 * return).  Returns 0 with *FD at offset 0, 1 when the file is not read (f->reject says why),
 * or -1 (logged). */
static int
open_fd(struct afile *f, int *fd, struct audiohdr *h, int *hdr)
{
    struct stat sb;
    int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (f->given_mix ? 0 : O_NOFOLLOW);

    *fd = open(f->path, flags);
    if (*fd < 0) {
        if (errno == ELOOP && !f->given_mix) {
            return set_reject(f, "a symlink: not followed");
        }
        check_err("%s: %s", f->path, strerror(errno));
        return -1;
    }
    if (fstat(*fd, &sb) < 0) {
        check_err("%s: %s", f->path, strerror(errno));
        close(*fd);
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(*fd);
        return set_reject(f, "%s, not a regular file: not read", file_type(sb.st_mode));
    }
    *hdr = audiohdr_parse(*fd, h);
    if (*hdr < 0 || (*hdr == 0 && !h->consistent)) {
        close(*fd);
        return set_reject(f, "%s", h->why);
    }
    if (lseek(*fd, 0, SEEK_SET) < 0) {
        check_err("%s: %s", f->path, strerror(errno));
        close(*fd);
        return -1;
    }
    return 0;
}

/* libsndfile must read the channels and frames the header H declares: 0, or 1 (f->reject). */
static int
agree_with_header(struct afile *f, const struct audiohdr *h)
{
    if (f->info.channels != h->channels) {
        return set_reject(f, "libsndfile reads %d channels, the header says %d", f->info.channels,
                          h->channels);
    }
    if ((uint64_t)f->info.frames != h->declared / h->frame) {
        return set_reject(f, "libsndfile reads %lld frames, the header declares %llu",
                          (long long)f->info.frames, (unsigned long long)(h->declared / h->frame));
    }
    return 0;
}

/* Opens the file for reading: open_fd(), then libsndfile, which must read it as the header
 * says.  Returns 0, 1 when the file is not read (f->reject says why), or -1 (logged). */
static int
open_file(struct afile *f)
{
    SF_BROADCAST_INFO bi;
    struct audiohdr h;
    int fd, hdr = -1, rc = open_fd(f, &fd, &h, &hdr);

    if (rc != 0) {
        return rc;
    }
    f->sf = sf_open_fd(fd, SFM_READ, &f->info, SF_TRUE); /* closes fd, even when it fails */
    if (!f->sf) {
        check_err("%s: %s", f->path, sf_strerror(NULL));
        return -1;
    }
    if (f->info.channels < 1) {
        check_err("%s: no audio channels", f->path);
        return -1;
    }
    if (hdr == 0 && h.encoding != AUDIOHDR_OTHER && h.frame > 0 &&
        (rc = agree_with_header(f, &h)) != 0) {
        return rc;
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
        check_err("%s: out of memory", f->path);
        return -1;
    }
    return 0;
}

void
scan_free_file(struct afile *f)
{
    if (f->sf) {
        sf_close(f->sf);
    }
    free(f->path);
    free(f->name);
    free(f->base);
    free(f->buf);
    free(f->reject);
    loud_free(f);
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
            check_err("out of memory");
            for (size_t j = i; j < n; j++) {
                scan_free_file(&st->files[j]);
            }
            st->nfiles = kept;
            return -1;
        }
        scan_free_file(f);
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
        check_err("%s: %s", st->mix_path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        if (st->files[i].dev == sb.st_dev && st->files[i].ino == sb.st_ino) {
            st->files[i].given_mix = 1;
            return 0;
        }
    }
    if (!S_ISREG(sb.st_mode)) {
        check_err("%s: not a regular file", st->mix_path);
        return -1;
    }
    slash = strrchr(st->mix_path, '/');
    f = add_file(st, st->mix_path, slash ? slash + 1 : st->mix_path, &sb);
    if (!f) {
        check_err("out of memory");
        return -1;
    }
    f->given_mix = 1;
    return 0;
}

/* ---- roles and the song ---- */

static size_t
song_votes(const struct state *st, const char *song)
{
    size_t n = 0;

    for (size_t i = 0; i < st->nfiles; i++) {
        n += !st->files[i].given_mix && naming_stem_part(st->files[i].base, song) != NULL;
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
        for (const char *p = strstr(b, NAMING_SEP); p; p = strstr(p + 1, NAMING_SEP)) {
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

int
scan_folder(struct state *st)
{
    if (scan_dir(st) < 0 || (st->mix_path && add_given_mix(st) < 0)) {
        return -1;
    }
    if (open_files(st) < 0) {
        return -1;
    }
    assign_roles(st);
    if (choose_song(st) < 0) {
        check_err("out of memory");
        return -1;
    }
    return 0;
}
