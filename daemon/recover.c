/* recover — repairs, at startup, the takes a killed daemon left unfinished (recover_takes(),
 * called before any take is prepared).  It owns the recovery policy: which takes are touched (a
 * manifest.json saying "recording", or none; never a take some process still has open, never
 * through a symlink, never a FIFO or device), the common length every file is cut to (the
 * shortest, when the files are at most one writer block apart; per part in a split take's
 * part-NN folders), and the manifest it completes ("recovered"); the bytes of the headers are
 * audiohdr.c's.  Every step depends only on the files as found, so a crash during recovery is
 * repaired again on the next start.
 * Design: docs/DESIGN.md, section "Recovery after a kill". */
#include "recover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audiohdr.h"
#include "jsonfile.h"
#include "log.h"
#include "naming.h"

#define RECOVER_MAX_FILES    64 /* audio files looked at per take folder */
#define RECOVER_NAME_MAX     256
#define RECOVER_MAX_MANIFEST (4 << 20) /* bytes of manifest.json read (a take's is a few KB) */
#define RECOVER_FRESH_S      10 /* an empty take folder younger than this may be another daemon's */
#define RECOVER_MAX_PARTS    10000 /* part-NN folders looked at per take (a day in 9 s parts) */

struct recover_file {
    char name[RECOVER_NAME_MAX];
    int fd;
    int open_errno;      /* why fd < 0 */
    int listed;          /* named in the manifest: part of the take's common length */
    int parsed;          /* header understood */
    struct audiohdr hdr; /* what the header says, and the audio present */
    uint64_t frames_hdr, frames_disk, frames_after;
};

struct recover_take {
    char path[PATH_MAX]; /* <root>/<Song>/take-NN, for messages */
    int fd;
    json_t *manifest;                     /* NULL: the take has none */
    json_t *files, *missing, *unreadable; /* for the "recovery" object */
    uint64_t lo, hi;                      /* shortest and longest file of the take */
    uint64_t before;                      /* the shortest length the headers said */
    uint64_t found;                       /* frames in all files */
    uint64_t cut_max;                     /* most frames cut from one file */
    int take_files;                       /* readable files of the take */
    int cut;                              /* the files are cut to the shortest */
    int ncut;                             /* files cut */
    int nfiles;
    struct recover_file file[RECOVER_MAX_FILES];
    /* A split take ([capture] split_minutes): its part-NN folders, each
     * repaired as a take of its own (the last one may be unfinished). */
    int npart;
    int part_no[RECOVER_MAX_PARTS];
    struct recover_take *part[RECOVER_MAX_PARTS]; /* opened in turn; the last one first */
    json_t *parts;                                /* the manifest's "parts" */
    uint64_t total, total_before;                 /* frames of all parts */
    int kept_parts;                               /* parts with frames, part 1 too */
};

/* Parses the header and measures the audio present.  Returns NULL or why
 * the file is not understood. */
static const char *
recover_parse(struct recover_file *f)
{
    struct audiohdr *h = &f->hdr;

    if (audiohdr_parse(f->fd, h) != 0)
        return h->why;
    if (h->encoding == AUDIOHDR_OTHER || h->frame == 0)
        return "not PCM or IEEE float audio";
    f->frames_hdr = h->size_unset ? 0 : h->declared / h->frame; /* "not known": said nothing */
    f->frames_disk = h->present / h->frame;
    f->parsed = 1;
    return NULL;
}

/* Makes the header describe f->frames_after frames and cuts the file there. */
static int
recover_fix(const struct recover_take *t, struct recover_file *f)
{
    if (!f->hdr.data_last)
        return 0; /* finalised: its header is right */
    if (audiohdr_rewrite(f->fd, &f->hdr, f->frames_after) < 0) {
        log_error("%s/%s: %s", t->path, f->name, f->hdr.why);
        return -1;
    }
    return 0;
}

/* libsndfile must now read exactly the repaired length. */
static int
recover_verify(const struct recover_take *t, struct recover_file *f)
{
    SF_INFO info;

    memset(&info, 0, sizeof info);
    if (lseek(f->fd, 0, SEEK_SET) < 0) {
        log_error("%s/%s: cannot verify: %s", t->path, f->name, strerror(errno));
        return -1;
    }
    SNDFILE *sf = sf_open_fd(f->fd, SFM_READ, &info, SF_FALSE);
    if (!sf) {
        log_error("%s/%s: libsndfile cannot read the repaired file: %s", t->path, f->name,
                  sf_strerror(NULL));
        return -1;
    }
    sf_close(sf);
    if ((uint64_t)info.frames != f->frames_after) {
        log_error("%s/%s: libsndfile reads %lld frames after the repair, not %llu", t->path,
                  f->name, (long long)info.frames, (unsigned long long)f->frames_after);
        return -1;
    }
    return 0;
}

/* ---- take folders ---- */

/* 1 when some other open file description of the file exists (a live
 * daemon sharing the root is writing it).  The kernel answers that exactly:
 * a write lease (F_SETLEASE) is granted only when no other open file
 * description exists, and it is released at once; its break signal is set
 * to SIGURG, ignored by default, so an open() racing with the probe cannot
 * kill us.  Where leases are not supported the probe says "free" (0). */
static int
recover_busy(int fd)
{
    if (fcntl(fd, F_SETSIG, SIGURG) < 0)
        return 0;
    if (fcntl(fd, F_SETLEASE, F_WRLCK) < 0)
        return errno == EAGAIN || errno == EBUSY;
    fcntl(fd, F_SETLEASE, F_UNLCK);
    return 0;
}

static int
recover_is_audio_name(const char *name)
{
    static const char *const exts[] = {".wav", ".aif", ".aiff", ".aifc", ".w64", ".rf64"};
    const char *dot = strrchr(name, '.');

    if (!dot || name[0] == '.')
        return 0;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcasecmp(dot, exts[i]) == 0)
            return 1;
    return 0;
}

static int
recover_safe_name(const char *name)
{
    return name[0] && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && !strchr(name, '/') &&
           strlen(name) < RECOVER_NAME_MAX;
}

static struct recover_file *
recover_find(struct recover_take *t, const char *name)
{
    for (int i = 0; i < t->nfiles; i++)
        if (strcmp(t->file[i].name, name) == 0)
            return &t->file[i];
    return NULL;
}

/* Adds the audio files of the folder (regular files only). */
static void
recover_list(struct recover_take *t)
{
    int fd = dup(t->fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;

    if (!d) {
        log_warn("%s: cannot list: %s", t->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    rewinddir(d);
    while ((de = readdir(d))) {
        struct stat st;
        if (!recover_is_audio_name(de->d_name) || !recover_safe_name(de->d_name))
            continue;
        if (fstatat(t->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            log_warn("%s/%s is a symlink: not followed, left alone", t->path, de->d_name);
            continue;
        }
        if (!S_ISREG(st.st_mode) || recover_find(t, de->d_name))
            continue;
        if (t->nfiles == RECOVER_MAX_FILES) {
            log_warn("%s: more than %d audio files; the rest are left alone", t->path,
                     RECOVER_MAX_FILES);
            break;
        }
        struct recover_file *f = &t->file[t->nfiles++];
        snprintf(f->name, sizeof f->name, "%s", de->d_name);
        f->fd = -1;
    }
    closedir(d);
}

/* Opens every listed file read-write: regular files only, never through a
 * symlink. */
static void
recover_open_files(struct recover_take *t)
{
    for (int i = 0; i < t->nfiles; i++) {
        struct recover_file *f = &t->file[i];
        struct stat st;
        /* A FIFO or a device is never opened (opening one can block, or
         * wake whoever waits at its other end); symlinks are never followed. */
        if (fstatat(t->fd, f->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            f->open_errno = errno;
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            f->open_errno = S_ISLNK(st.st_mode) ? ELOOP : EINVAL;
            continue;
        }
        f->fd = openat(t->fd, f->name, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (f->fd < 0) {
            f->open_errno = errno;
            continue;
        }
        if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            close(f->fd);
            f->fd = -1;
            f->open_errno = EINVAL;
        }
    }
}

static void
recover_close_files(struct recover_take *t)
{
    for (int i = 0; i < t->nfiles; i++)
        if (t->file[i].fd >= 0)
            close(t->file[i].fd);
    t->nfiles = 0;
}

static const char *
recover_format_name(const struct recover_file *f)
{
    enum audiohdr_format k = f->hdr.format;
    return k == AUDIOHDR_AIFF || k == AUDIOHDR_AIFC ? "aiff" : k == AUDIOHDR_W64 ? "w64" : "wav";
}

static json_t *
recover_sample_name(const struct recover_file *f)
{
    if (f->hdr.encoding == AUDIOHDR_FLOAT)
        return json_string(f->hdr.bits == 64 ? "double" : "float");
    return json_sprintf("pcm%d", f->hdr.bits);
}

static int
recover_write_manifest(const struct recover_take *t, json_t *m)
{
    return jsonfile_save(t->fd, t->path, "manifest.json", m);
}

/* A prepared take that never started: its audio files and the folder go.
 * Returns 1 when the folder is gone. */
static int
recover_remove(struct recover_take *t, int songfd, const char *sub)
{
    struct stat st;

    /* Another daemon on the root claims a take folder (mkdirat) and then
     * creates its files, which it holds open (see recover_busy()): an
     * empty folder only just made may be in between. */
    if (t->nfiles == 0 && fstat(t->fd, &st) == 0 && time(NULL) - st.st_mtime < RECOVER_FRESH_S) {
        log_debug("%s: empty and only just made: left alone", t->path);
        return 0;
    }
    for (int i = 0; i < t->nfiles; i++)
        if (unlinkat(t->fd, t->file[i].name, 0) < 0 && errno != ENOENT)
            log_warn("%s/%s: cannot remove: %s", t->path, t->file[i].name, strerror(errno));
    unlinkat(t->fd, "manifest.json.tmp", 0);
    if (unlinkat(songfd, sub, AT_REMOVEDIR) < 0) {
        log_warn("%s: the prepared take that never started cannot be removed: %s", t->path,
                 strerror(errno));
        return 0;
    }
    log_info("%s: removed the prepared take that never started", t->path);
    return 1;
}

static void
recover_now(char *buf, size_t n)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Takes the manifest's "files" into the take (listed = 1). */
static void
recover_listed(struct recover_take *t)
{
    json_t *files = json_object_get(t->manifest, "files"), *e;
    size_t i;

    json_array_foreach(files, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "file"));
        if (!name || !recover_safe_name(name)) {
            log_warn("%s/manifest.json: file entry %zu is not a file name; ignored", t->path, i);
            continue;
        }
        struct recover_file *f = recover_find(t, name);
        if (!f && t->nfiles < RECOVER_MAX_FILES) {
            f = &t->file[t->nfiles++];
            snprintf(f->name, sizeof f->name, "%s", name);
            f->fd = -1;
        }
        if (f)
            f->listed = 1;
    }
}

/* Reads manifest.json.  Returns 1 when the take is to be recovered (state
 * "recording", or no manifest at all: t->manifest NULL), else 0. */
static int
recover_load_manifest(struct recover_take *t)
{
    json_error_t je;
    struct stat st;
    int fd;

    if (fstatat(t->fd, "manifest.json", &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return 1;
        log_warn("%s/manifest.json: %s: take left alone", t->path, strerror(errno));
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        log_warn("%s/manifest.json is %s: take left alone", t->path,
                 S_ISLNK(st.st_mode) ? "a symlink (not followed)" : "not a regular file");
        return 0;
    }
    if (st.st_size > RECOVER_MAX_MANIFEST) {
        log_warn("%s/manifest.json is %lld bytes, more than any manifest of stemcapd (%d at "
                 "most): take left alone",
                 t->path, (long long)st.st_size, RECOVER_MAX_MANIFEST);
        return 0;
    }
    fd = openat(t->fd, "manifest.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 1;
    if (fd < 0) {
        log_warn("%s/manifest.json: cannot open (%s): take left alone", t->path,
                 errno == ELOOP ? "it is a symlink" : strerror(errno));
        return 0;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > RECOVER_MAX_MANIFEST) {
        log_warn("%s/manifest.json changed while being read: take left alone", t->path);
        close(fd);
        return 0;
    }
    t->manifest = json_loadfd(fd, 0, &je);
    close(fd);
    const char *state = json_string_value(json_object_get(t->manifest, "state"));
    if (!state) {
        log_warn("%s/manifest.json: %s: take left alone", t->path,
                 t->manifest ? "no \"state\"" : je.text);
        return 0;
    }
    if (strcmp(state, "recording") != 0) {
        log_debug("%s: %s, nothing to recover", t->path, state);
        return 0;
    }
    return 1;
}

/* A header that disagrees with its file: a kill leaves headers that lag
 * the audio, or that libsndfile never updated since it opened the file
 * (RF64, W64 placeholders: debug); anything else is worth a warning (a
 * plain RIFF's 0xFFFFFFFF is no header of stemcapd's). */
static void
recover_report(const struct recover_take *t, const struct recover_file *f)
{
    const struct audiohdr *h = &f->hdr;

    if (h->consistent || !h->data_last)
        return;
    if (h->present > h->declared || (h->size_unset && h->format != AUDIOHDR_WAV) ||
        h->declared == 0)
        log_debug("%s/%s: %s", t->path, f->name, h->why);
    else
        log_warn("%s/%s: %s; the header is rewritten (%llu frames on disk, %llu kept)", t->path,
                 f->name, h->why, (unsigned long long)f->frames_disk,
                 (unsigned long long)f->frames_after);
}

/* Parses every file and measures the take.  Returns 0, or -1 when the take
 * is to be left alone (logged). */
static int
recover_measure(struct recover_take *t)
{
    const char *what = t->manifest ? "the take stays \"recording\" and is tried again on the "
                                     "next start"
                                   : "take left alone";

    t->lo = UINT64_MAX;
    t->before = UINT64_MAX;
    for (int i = 0; i < t->nfiles; i++) {
        struct recover_file *f = &t->file[i];
        if (!t->manifest)
            f->listed = 1; /* no manifest: the folder's audio files are the take */
        if (f->fd < 0) {
            int e = f->open_errno;
            if (!f->listed)
                continue; /* vanished, or not a regular file after all */
            if (e != ENOENT && e != ELOOP && e != EISDIR && e != EINVAL && e != ENXIO) {
                /* EACCES, EROFS, EMFILE, EIO...: maybe better next time */
                log_error("%s/%s: cannot open: %s; %s", t->path, f->name, strerror(e), what);
                return -1;
            }
            log_warn("%s/%s: listed in the manifest but %s", t->path, f->name,
                     e == ELOOP    ? "a symlink (not followed)"
                     : e == ENOENT ? "missing"
                                   : "not a regular file");
            json_array_append_new(t->missing, json_string(f->name));
            continue;
        }
        const char *why = recover_parse(f);
        if (why) {
            struct stat st;
            if (!t->manifest && fstat(f->fd, &st) == 0 && st.st_size == 0)
                continue; /* created, never written: no frames */
            log_warn("%s/%s: %s; left as it is", t->path, f->name, why);
            json_array_append_new(t->unreadable, json_string(f->name));
            continue;
        }
        t->found += f->frames_disk;
        if (!f->listed)
            continue;
        t->take_files++;
        if (f->frames_disk < t->lo)
            t->lo = f->frames_disk;
        if (f->frames_disk > t->hi)
            t->hi = f->frames_disk;
        if (f->frames_hdr < t->before)
            t->before = f->frames_hdr;
    }
    if (t->take_files == 0) {
        t->lo = t->hi = t->before = 0;
        if (t->manifest)
            log_warn("%s: no readable audio file of the take", t->path);
    }
    return 0;
}

/* The length policy (docs/DESIGN.md, "Recovery after a kill": every file cut to the shortest
 * when they are at most one writer block apart, none otherwise), then every file repaired
 * and verified.  Returns 0, or -1 when a file could not be (logged). */
static int
recover_repair(struct recover_take *t)
{
    int errors = 0;

    t->cut = t->hi - t->lo <= RECOVER_MAX_CUT;
    for (int i = 0; i < t->nfiles && t->cut; i++) {
        const struct recover_file *f = &t->file[i];
        if (f->parsed && f->listed && !f->hdr.data_last && f->frames_disk > t->lo)
            t->cut = 0; /* a finalised file cannot be cut */
    }
    if (!t->cut)
        log_warn("%s: the files differ by %llu frames, more than a kill leaves: none is cut, "
                 "each keeps all its frames",
                 t->path, (unsigned long long)(t->hi - t->lo));
    for (int i = 0; i < t->nfiles; i++) {
        struct recover_file *f = &t->file[i];
        if (!f->parsed)
            continue;
        f->frames_after = f->listed && t->cut ? t->lo : f->frames_disk;
        if (f->frames_after < f->frames_disk) {
            t->ncut++;
            if (f->frames_disk - f->frames_after > t->cut_max)
                t->cut_max = f->frames_disk - f->frames_after;
        }
        recover_report(t, f);
        if (recover_fix(t, f) < 0 || recover_verify(t, f) < 0) {
            errors++;
            continue;
        }
        json_array_append_new(t->files,
                              json_pack("{s:s, s:I, s:I, s:I, s:b}", "file", f->name,
                                        "frames_header", (json_int_t)f->frames_hdr, "frames_found",
                                        (json_int_t)f->frames_disk, "frames_after",
                                        (json_int_t)f->frames_after, "in_manifest", f->listed));
    }
    if (errors) {
        log_error("%s: %d file%s could not be repaired; %s", t->path, errors,
                  errors == 1 ? "" : "s",
                  t->manifest ? "the take stays \"recording\" and is tried again on the next "
                                "start"
                              : "it is tried again on the next start");
        return -1;
    }
    return 0;
}

/* A manifest for a take that died before writing its own. */
static json_t *
recover_rebuild(const struct recover_take *t, const char *song, const char *sub)
{
    const struct recover_file *first = NULL;
    json_t *files = json_array();
    char *end;
    long n = strtol(sub + 5, &end, 10);

    for (int i = 0; i < t->nfiles; i++) {
        if (!t->file[i].parsed)
            continue;
        if (!first)
            first = &t->file[i];
        json_array_append_new(files, json_pack("{s:s}", "file", t->file[i].name));
    }
    json_t *m =
        json_pack("{s:s, s:i, s:s, s:s}", "state", "recording", "take",
                  *end || n > INT32_MAX ? 0 : (int)n, "folder", t->path, "song_folder", song);
    if (m && first) {
        json_object_set_new(m, "sample_rate", json_integer((json_int_t)lround(first->hdr.rate)));
        json_object_set_new(m, "format", json_string(recover_format_name(first)));
        json_object_set_new(m, "sample_format", recover_sample_name(first));
    }
    json_object_set_new(m, "files", files);
    json_object_set_new(m, "note",
                        json_string("manifest.json was missing (the daemon stopped "
                                    "before writing it); rebuilt from the audio files"));
    return m;
}

/* manifest.json completed with the repaired length and the recovery
 * object, and the take's log line. */
static int
recover_finish(struct recover_take *t)
{
    json_t *m = t->manifest;
    json_int_t rate = json_integer_value(json_object_get(m, "sample_rate"));
    char at[32], cut[128] = "";
    int differ = t->hi != t->lo && !t->cut;

    for (int i = 0; i < t->nfiles && rate <= 0; i++)
        if (t->file[i].parsed && t->file[i].listed)
            rate = (json_int_t)lround(t->file[i].hdr.rate);
    recover_now(at, sizeof at);
    json_object_set_new(m, "state", json_string("recovered"));
    json_object_set_new(m, "length_frames", json_integer((json_int_t)t->total));
    json_object_set_new(
        m, "length_seconds",
        json_real(rate > 0 ? round((double)t->total / (double)rate * 1000.0) / 1000.0 : 0.0));
    if (t->kept_parts > 1)
        json_object_set(m, "parts", t->parts);
    else
        json_object_del(m, "parts");
    json_object_set_new(m, "recovery",
                        json_pack("{s:s, s:I, s:I, s:I, s:b, s:O, s:O, s:O}", "at", at,
                                  "frames_before", (json_int_t)t->total_before, "frames_after",
                                  (json_int_t)t->total, "cut_frames_max", (json_int_t)t->cut_max,
                                  "lengths_differ", differ, "files", t->files, "missing",
                                  t->missing, "unreadable", t->unreadable));
    if (recover_write_manifest(t, m) < 0)
        return -1;
    if (t->ncut)
        snprintf(cut, sizeof cut, "; %d file%s cut by up to %llu frames to the shortest", t->ncut,
                 t->ncut == 1 ? "" : "s", (unsigned long long)t->cut_max);
    if (t->kept_parts > 1)
        snprintf(cut + strlen(cut), sizeof cut - strlen(cut), "; in %d parts", t->kept_parts);
    log_info("%s: recovered: %d file%s, %llu frames (%.3f s), the headers said %llu%s%s%s%s",
             t->path, t->take_files, t->take_files == 1 ? "" : "s", (unsigned long long)t->total,
             rate > 0 ? (double)t->total / (double)rate : 0.0, (unsigned long long)t->total_before,
             cut, differ ? "; lengths differ" : "",
             json_array_size(t->missing) ? "; files missing" : "",
             json_array_size(t->unreadable) ? "; files unreadable" : "");
    return 0;
}

/* ---- the parts of a split take ---- */

static int
recover_cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The numbers of the take's part-NN folders (2 and up), ascending. */
static void
recover_part_names(struct recover_take *t)
{
    int fd = dup(t->fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;

    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    rewinddir(d);
    while ((de = readdir(d))) {
        long n = naming_part_number(de->d_name);
        if (n < 2 || n > 1000000)
            continue;
        if (t->npart == RECOVER_MAX_PARTS) {
            log_warn("%s: more than %d part folders; the rest are left alone", t->path,
                     RECOVER_MAX_PARTS);
            break;
        }
        t->part_no[t->npart++] = (int)n;
    }
    closedir(d);
    qsort(t->part_no, (size_t)t->npart, sizeof t->part_no[0], recover_cmp_int);
}

static void recover_free(struct recover_take *t);

/* Opens part I of take T (its folder never through a symlink) and its audio
 * files.  Returns 0, 1 when a file is open elsewhere (a live daemon writes
 * it), or -1 (logged). */
static int
recover_part_open(struct recover_take *t, int i)
{
    struct recover_take *p = t->part[i] ? t->part[i] : calloc(1, sizeof *p);
    char sub[32];

    if (p && !t->part[i])
        p->fd = -1;
    if (!p || (!t->part[i] && (!(p->missing = json_array()) || !(p->unreadable = json_array()) ||
                               !(p->files = json_array())))) {
        log_error("%s: cannot recover its parts: %s", t->path, strerror(ENOMEM));
        if (p && !t->part[i])
            recover_free(p);
        return -1;
    }
    if (t->part[i])
        return 0;
    t->part[i] = p;
    naming_part_folder(sub, sizeof sub, t->part_no[i]);
    snprintf(p->path, sizeof p->path, "%.*s/%s", (int)(sizeof p->path - sizeof sub - 1), t->path,
             sub);
    p->fd = openat(t->fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (p->fd < 0) {
        log_warn("%s: cannot open (%s): the take is left alone", p->path,
                 errno == ELOOP || errno == ENOTDIR ? "a symlink or not a folder"
                                                    : strerror(errno));
        return -1;
    }
    recover_list(p);
    recover_open_files(p);
    for (int k = 0; k < p->nfiles; k++) {
        if (p->file[k].fd >= 0 && recover_busy(p->file[k].fd)) {
            log_info("%s: %s is open in another process (a daemon sharing the capture dir?): "
                     "take left alone",
                     p->path, p->file[k].name);
            return 1;
        }
    }
    return 0;
}

/* A part the kill left without a frame (its files made, none written): it
 * goes, like a prepared take. */
static void
recover_part_remove(struct recover_take *t, struct recover_take *p, int no)
{
    char sub[32];

    for (int k = 0; k < p->nfiles; k++)
        if (unlinkat(p->fd, p->file[k].name, 0) < 0 && errno != ENOENT)
            log_warn("%s/%s: cannot remove: %s", p->path, p->file[k].name, strerror(errno));
    naming_part_folder(sub, sizeof sub, no);
    if (unlinkat(t->fd, sub, AT_REMOVEDIR) < 0)
        log_warn("%s: the empty part cannot be removed: %s", p->path, strerror(errno));
    else
        log_info("%s: removed the part begun at the kill, without a frame", p->path);
}

/* The repair report of part P joins the take's, its names as "part-NN/<file>". */
static void
recover_part_report(struct recover_take *t, const struct recover_take *p, int no)
{
    json_t *lists[3][2] = {
        {p->files, t->files}, {p->missing, t->missing}, {p->unreadable, t->unreadable}};
    char sub[32];
    size_t i;
    json_t *e;

    naming_part_folder(sub, sizeof sub, no);
    for (int l = 0; l < 3; l++) {
        json_array_foreach(lists[l][0], i, e)
        {
            json_t *c = json_is_object(e) ? json_deep_copy(e) : NULL;
            const char *name = json_string_value(c ? json_object_get(c, "file") : e);
            json_t *full = json_sprintf("%s/%s", sub, name ? name : "?");
            if (c) {
                json_object_set_new(c, "file", full);
                json_array_append_new(lists[l][1], c);
            } else {
                json_array_append_new(lists[l][1], full);
            }
        }
    }
}

/* Repairs every part of a split take after part 1 (T's own files), in
 * order, and lists them in t->parts as the daemon does.  Returns 0, or -1
 * when a part could not be repaired (logged; the take stays "recording"). */
static int
recover_parts(struct recover_take *t)
{
    t->total = t->lo;
    t->total_before = t->before;
    t->kept_parts = 1;
    if (!t->npart)
        return 0;
    if (!(t->parts = json_array()))
        return -1;
    json_t *names = json_array();
    for (int k = 0; k < t->nfiles; k++)
        if (t->file[k].parsed && t->file[k].listed)
            json_array_append_new(names, json_pack("{s:s}", "file", t->file[k].name));
    json_array_append_new(t->parts, json_pack("{s:i, s:s, s:I, s:I, s:o}", "part", 1, "folder", ".",
                                              "start_frame", (json_int_t)0, "frames",
                                              (json_int_t)t->lo, "files", names));
    for (int i = 0; i < t->npart; i++) {
        if (recover_part_open(t, i) != 0)
            return -1;
        struct recover_take *p = t->part[i];
        if (recover_measure(p) < 0)
            return -1;
        struct stat st;
        if (p->found == 0 && fstat(p->fd, &st) == 0 && time(NULL) - st.st_mtime < RECOVER_FRESH_S) {
            /* A live daemon may be making it (between two parts, no file is open). */
            log_debug("%s: empty and only just made: the take is left alone", p->path);
            return -1;
        }
        if (p->found == 0 && json_array_size(p->unreadable) == 0) {
            recover_part_remove(t, p, t->part_no[i]);
        } else {
            if (recover_repair(p) < 0)
                return -1;
            char sub[32];
            naming_part_folder(sub, sizeof sub, t->part_no[i]);
            names = json_array(); /* in part 1's order, then any others */
            for (int k = 0; k < t->nfiles; k++) {
                const struct recover_file *f = recover_find(p, t->file[k].name);
                if (f && f->parsed && t->file[k].listed)
                    json_array_append_new(names, json_pack("{s:s}", "file", f->name));
            }
            for (int k = 0; k < p->nfiles; k++) {
                const struct recover_file *f = recover_find(t, p->file[k].name);
                if (p->file[k].parsed && !(f && f->listed))
                    json_array_append_new(names, json_pack("{s:s}", "file", p->file[k].name));
            }
            json_array_append_new(t->parts,
                                  json_pack("{s:i, s:s, s:I, s:I, s:o}", "part", t->part_no[i],
                                            "folder", sub, "start_frame", (json_int_t)t->total,
                                            "frames", (json_int_t)p->lo, "files", names));
            recover_part_report(t, p, t->part_no[i]);
            t->total += p->lo;
            t->total_before += p->before;
            t->ncut += p->ncut;
            t->cut_max = p->cut_max > t->cut_max ? p->cut_max : t->cut_max;
            t->take_files += p->take_files;
            t->kept_parts++;
        }
        if (i + 1 < t->npart) { /* the last one stays open to the end (see recover_take) */
            recover_free(p);
            t->part[i] = NULL;
        }
    }
    return 0;
}

/* Does one take folder.  Returns 1 when a take was repaired, else 0;
 * *removed is set when it was a prepared take and is gone. */
static int
recover_take(int songfd, const char *rootpath, const char *song, const char *sub, int *removed)
{
    struct recover_take *t = calloc(1, sizeof *t);
    int repaired = 0;

    if (t)
        t->fd = -1;
    if (!t || !(t->missing = json_array()) || !(t->unreadable = json_array()) ||
        !(t->files = json_array())) {
        log_error("%s/%s/%s: cannot recover: %s", rootpath, song, sub, strerror(ENOMEM));
        goto out;
    }
    snprintf(t->path, sizeof t->path, "%s/%s/%s", rootpath, song, sub);
    t->fd = openat(songfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (t->fd < 0) {
        struct stat st;
        if (fstatat(songfd, sub, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
            log_warn("%s is a symlink: not followed, left alone", t->path);
        else if (errno != ENOTDIR)
            log_warn("%s: cannot open: %s", t->path, strerror(errno));
        goto out;
    }
    if (!recover_load_manifest(t))
        goto out;
    if (t->manifest)
        recover_listed(t);
    recover_list(t);
    recover_open_files(t);
    for (int i = 0; i < t->nfiles; i++) {
        if (t->file[i].fd >= 0 && recover_busy(t->file[i].fd)) {
            log_info("%s: %s is open in another process (a daemon sharing the capture dir?): "
                     "take left alone",
                     t->path, t->file[i].name);
            goto out;
        }
    }
    /* A split take: only its last part can be open in a live daemon (the
     * writer closes a part before it makes the next). */
    recover_part_names(t);
    if (t->npart && recover_part_open(t, t->npart - 1) != 0)
        goto out;
    if (recover_measure(t) < 0)
        goto out;
    if (!t->manifest && t->found == 0 && !t->npart) {
        if (json_array_size(t->unreadable) == 0)
            *removed |= recover_remove(t, songfd, sub);
        else
            log_warn("%s: no manifest.json, no audio frames, unreadable files: left alone",
                     t->path);
        goto out;
    }
    if (recover_repair(t) < 0 || recover_parts(t) < 0)
        goto out;
    if (!t->manifest && !(t->manifest = recover_rebuild(t, song, sub))) {
        log_error("%s: cannot build manifest.json: %s", t->path, strerror(ENOMEM));
        goto out;
    }
    repaired = recover_finish(t) == 0;
out:
    recover_free(t);
    return repaired;
}

/* Closes and frees a take (or a part) and its parts. */
static void
recover_free(struct recover_take *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->npart; i++)
        recover_free(t->part[i]);
    json_decref(t->manifest);
    json_decref(t->missing);
    json_decref(t->unreadable);
    json_decref(t->files);
    json_decref(t->parts);
    recover_close_files(t);
    if (t->fd >= 0)
        close(t->fd);
    free(t);
}

static int
recover_is_take_name(const char *name)
{
    return naming_take_number(name) >= 0;
}

/* Every take-* folder of one song folder. */
static int
recover_song(int rootfd, const char *rootpath, const char *song)
{
    int songfd = openat(rootfd, song, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int fd, n = 0, removed = 0;
    DIR *d;
    struct dirent *de;

    if (songfd < 0)
        return 0; /* a file, a symlink, unreadable: not a song folder of ours */
    fd = dup(songfd);
    d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        log_warn("%s/%s: cannot list: %s", rootpath, song, strerror(errno));
        if (fd >= 0)
            close(fd);
        close(songfd);
        return 0;
    }
    /* Names first: the loop below removes folders. */
    char(*names)[RECOVER_NAME_MAX] = NULL;
    size_t count = 0, cap = 0;
    rewinddir(d);
    while ((de = readdir(d))) {
        if (!recover_is_take_name(de->d_name) || strlen(de->d_name) >= RECOVER_NAME_MAX)
            continue;
        if (count == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            void *p = realloc(names, ncap * sizeof *names);
            if (!p)
                break;
            names = p;
            cap = ncap;
        }
        snprintf(names[count++], RECOVER_NAME_MAX, "%s", de->d_name);
    }
    closedir(d);
    for (size_t i = 0; i < count; i++)
        n += recover_take(songfd, rootpath, song, names[i], &removed);
    free(names);
    close(songfd);
    /* A song folder that only held a prepared take goes too, like ctl does. */
    if (removed && unlinkat(rootfd, song, AT_REMOVEDIR) < 0 && errno != ENOTEMPTY &&
        errno != EEXIST)
        log_debug("song folder '%s' stays: %s", song, strerror(errno));
    return n;
}

int
recover_takes(int rootfd, const char *rootpath)
{
    int fd = dup(rootfd), n = 0;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;

    if (!d) {
        log_error("cannot read the capture dir '%s' to recover takes: %s", rootpath,
                  strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char(*songs)[RECOVER_NAME_MAX] = NULL;
    size_t count = 0, cap = 0;
    rewinddir(d);
    for (;;) {
        errno = 0;
        if (!(de = readdir(d)))
            break;
        if (de->d_name[0] == '.' || strlen(de->d_name) >= RECOVER_NAME_MAX)
            continue;
        if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
            continue;
        if (count == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            void *p = realloc(songs, ncap * sizeof *songs);
            if (!p) {
                log_error("cannot recover takes in '%s': %s", rootpath, strerror(ENOMEM));
                closedir(d);
                free(songs);
                return -1;
            }
            songs = p;
            cap = ncap;
        }
        snprintf(songs[count++], RECOVER_NAME_MAX, "%s", de->d_name);
    }
    int err = errno;
    closedir(d);
    if (err) {
        log_error("cannot read the capture dir '%s' to recover takes: %s", rootpath, strerror(err));
        free(songs);
        return -1;
    }
    for (size_t i = 0; i < count; i++)
        n += recover_song(rootfd, rootpath, songs[i]);
    free(songs);
    return n;
}
