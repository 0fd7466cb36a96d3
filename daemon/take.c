/* take — take folders and files: <dir>/<Song>/take-NN/<Song> - <Stem>.<ext> and "<Song> - Mix".
 * It promises that no name or planted symlink places a file outside the capture root (sanitized
 * names, *at() calls with O_NOFOLLOW), that nothing is ever overwritten (O_EXCL), and that two
 * daemons sharing a root never get the same take folder (mkdirat()).  "wav" is RF64 with
 * auto-downgrade; clipping is on.  Design: docs/DESIGN.md, section "The writer and the files". */
#include "take.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int
take_sf_format(enum conf_format format, enum conf_sample sample)
{
    static const int major[] = {SF_FORMAT_RF64, SF_FORMAT_AIFF, SF_FORMAT_W64};
    static const int minor[] = {SF_FORMAT_PCM_16, SF_FORMAT_PCM_24, SF_FORMAT_PCM_32,
                                SF_FORMAT_FLOAT, SF_FORMAT_DOUBLE};
    return major[format] | minor[sample];
}

int
take_check_format(const struct conf *c)
{
    SF_INFO info = {
        .samplerate = 48000, .channels = 2, .format = take_sf_format(c->format, c->sample_format)};
    if (!sf_format_check(&info)) {
        log_error("libsndfile cannot write format = %s with sample_format = %s",
                  conf_format_name(c->format), conf_sample_name(c->sample_format));
        return -1;
    }
    return 0;
}

int
take_check_root(const char *dir, char *why, size_t n)
{
    char path[PATH_MAX];
    struct stat st;

    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        snprintf(why, n, "path too long");
        return -1;
    }
    /* Each existing prefix, as take_open_root will create the rest. */
    size_t len = strlen(path);
    for (size_t i = 1; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        char c = path[i];
        path[i] = '\0';
        int r = stat(path, &st);
        int err = errno;
        if (r == 0 && !S_ISDIR(st.st_mode)) {
            if (i == len)
                snprintf(why, n, "is a file, not a folder");
            else
                snprintf(why, n, "'%.*s' is a file, not a folder", (int)(n / 2), path);
            return -1;
        }
        if (r < 0 && err != ENOENT) {
            snprintf(why, n, "'%.*s': %s", (int)(n / 2), path, strerror(err));
            return -1;
        }
        path[i] = c;
        if (r < 0)
            return 0; /* the rest does not exist yet: it will be created */
    }
    return 0;
}

int
take_open_root(const char *dir, char *abs)
{
    char path[PATH_MAX];
    int fd;

    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        log_error("capture dir '%s': path too long", dir);
        return -1;
    }
    /* mkdir -p */
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
            log_error("cannot create capture dir '%s': %s", path, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        log_error("cannot create capture dir '%s': %s", path, strerror(errno));
        return -1;
    }
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        log_error("cannot open capture dir '%s': %s", path, strerror(errno));
        return -1;
    }
    if (!realpath(path, abs)) {
        log_error("cannot resolve capture dir '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Highest N of the "take-N" folders in dirfd, 0 when none. */
static int
take_highest(int dirfd)
{
    int fd = dup(dirfd), best = 0;
    DIR *d;
    struct dirent *de;

    if (fd < 0 || !(d = fdopendir(fd))) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    rewinddir(d);
    while ((de = readdir(d))) {
        long n = naming_take_number(de->d_name);
        if (n > best && n < 1000000)
            best = (int)n;
    }
    closedir(d);
    return best;
}

/* Opens (creating if needed) the song folder below the root, never through
 * a symlink. */
static int
take_song_dir(int rootfd, const char *song)
{
    if (mkdirat(rootfd, song, 0755) < 0 && errno != EEXIST) {
        log_error("cannot create song folder '%s': %s", song, strerror(errno));
        return -1;
    }
    int fd = openat(rootfd, song, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        log_error("cannot open song folder '%s': %s", song,
                  errno == ELOOP || errno == ENOTDIR ? "it is a symlink or not a folder"
                                                     : strerror(errno));
    return fd;
}

/* Delivery metadata in the formats' own places (WAV LIST/INFO, AIFF
 * chunks), set before any audio is written. */
static void
take_set_strings(const struct take *t, struct take_file *f)
{
    const struct conf_song *m = &t->meta;
    char title[2 * CONF_NAME_MAX + 4], comment[256];

    naming_title(title, sizeof title, m->title, take_file_label(t, f));
    sf_set_string(f->sf, SF_STR_TITLE, title);
    sf_set_string(f->sf, SF_STR_SOFTWARE, "stemcap " STEMCAP_VERSION);
    if (m->artist[0])
        sf_set_string(f->sf, SF_STR_ARTIST, m->artist);
    if (m->album[0])
        sf_set_string(f->sf, SF_STR_ALBUM, m->album);
    if (m->track[0])
        sf_set_string(f->sf, SF_STR_TRACKNUMBER, m->track);
    if (m->label[0])
        sf_set_string(f->sf, SF_STR_COPYRIGHT, m->label);
    snprintf(comment, sizeof comment, "%s%s%s%s%s", m->isrc[0] ? "ISRC " : "", m->isrc,
             m->isrc[0] && m->upc[0] ? "; " : "", m->upc[0] ? "UPC " : "", m->upc);
    if (comment[0])
        sf_set_string(f->sf, SF_STR_COMMENT, comment);
}

const char *
take_part_dir(const struct take *t)
{
    return t->partfd >= 0 ? t->partdir : t->dir;
}

const char *
take_file_label(const struct take *t, const struct take_file *f)
{
    return f->stem ? t->stem_name[f->stem - 1] : NAMING_MIX;
}

/* EBU Tech 3285 v2: a loudness figure in 1/100 units, 0x7FFF when not set. */
static int16_t
take_bext_loudness(float v, int have)
{
    if (!have || !(v > LOUDNESS_FLOOR) || v > 300.0f)
        return 0x7FFF;
    return (int16_t)lrintf(v * 100.0f);
}

/* File F's bext chunk (version 2): TFRAME is its TimeReference; the
 * loudness fields carry FIGS when the file is finished, else "not set". */
static void
take_bext_put(struct take *t, struct take_file *f, uint64_t tframe, int finished)
{
    SF_BROADCAST_INFO bi;
    char date[16], tod[16];
    struct tm tm;
    const struct loudness_figs *g = &f->figs;

    gmtime_r(&t->start_wall.tv_sec, &tm);
    memset(&bi, 0, sizeof bi);
    if (t->part > 1)
        snprintf(bi.description, sizeof bi.description, "%s - %s (stemcap take %d, part %d)",
                 t->meta.title, take_file_label(t, f), t->number, t->part);
    else
        snprintf(bi.description, sizeof bi.description, "%s - %s (stemcap take %d)", t->meta.title,
                 take_file_label(t, f), t->number);
    snprintf(bi.originator, sizeof bi.originator, "stemcap");
    snprintf(bi.originator_reference, sizeof bi.originator_reference, "stemcap %s",
             STEMCAP_VERSION);
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    strftime(tod, sizeof tod, "%H:%M:%S", &tm);
    memcpy(bi.origination_date, date, sizeof bi.origination_date);
    memcpy(bi.origination_time, tod, sizeof bi.origination_time);
    bi.time_reference_low = (uint32_t)tframe;
    bi.time_reference_high = (uint32_t)(tframe >> 32);
    bi.version = 2;
    memcpy(bi.umid, t->umid, sizeof t->umid);
    float tp =
        g->true_peak_dbtp[0] > g->true_peak_dbtp[1] ? g->true_peak_dbtp[0] : g->true_peak_dbtp[1];
    bi.loudness_value = take_bext_loudness(g->integrated_lufs, finished);
    bi.loudness_range = finished ? (int16_t)lrintf(g->lra_lu * 100.0f) : 0x7FFF;
    bi.max_true_peak_level = take_bext_loudness(tp, finished);
    bi.max_momentary_loudness = take_bext_loudness(g->max_momentary_lufs, finished);
    bi.max_shortterm_loudness = take_bext_loudness(g->max_short_term_lufs, finished);
    bi.coding_history_size = 0;
    if (sf_command(f->sf, SFC_SET_BROADCAST_INFO, &bi, sizeof bi) != SF_TRUE)
        log_debug("no bext chunk in '%s': %s", f->name, sf_strerror(f->sf));
}

void
take_set_bext(struct take *t, uint64_t tframe)
{
    if (t->format == CONF_FORMAT_AIFF)
        return; /* AIFF has no bext chunk */
    for (int i = 0; i < t->nfiles; i++)
        take_bext_put(t, &t->file[i], tframe, 0);
}

void
take_set_bext_loudness(struct take *t)
{
    /* A split take's figures are the whole take's, not one part's. */
    if (t->format == CONF_FORMAT_AIFF || t->part > 1)
        return;
    for (int i = 0; i < t->nfiles; i++)
        if (t->file[i].sf)
            take_bext_put(t, &t->file[i], t->placed ? t->placed_tframe : t->tframe, 1);
}

void
take_umid_hex(const struct take *t, char *out)
{
    for (size_t i = 0; i < sizeof t->umid; i++)
        snprintf(out + 2 * i, 3, "%02x", t->umid[i]);
}

/* A SMPTE 330M basic UMID: the universal label (material type audio,
 * material number by UUID/UL method), length 0x13, instance 0, and 16
 * random bytes of material number (a version 4 UUID). */
static void
take_make_umid(struct take *t)
{
    static const unsigned char label[12] = {0x06, 0x0A, 0x2B, 0x34, 0x01, 0x01,
                                            0x01, 0x05, 0x01, 0x01, 0x02, 0x20};
    unsigned char *m = t->umid + 16;

    memcpy(t->umid, label, sizeof label);
    t->umid[12] = 0x13;
    t->umid[13] = t->umid[14] = t->umid[15] = 0;
    if (getrandom(m, 16, 0) != 16) { /* no entropy: the clock and the take */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        memcpy(m, &ts, sizeof ts < 16 ? sizeof ts : 16);
        m[15] ^= (unsigned char)t->id;
    }
    m[6] = (unsigned char)((m[6] & 0x0F) | 0x40);
    m[8] = (unsigned char)((m[8] & 0x3F) | 0x80);
}

/* Creates file F in the folder DIRFD (WHERE names it in messages). */
static int
take_open_file(struct take *t, struct take_file *f, int dirfd, const char *where)
{
    SF_INFO info = {.samplerate = (int)t->rate,
                    .channels = f->nch,
                    .format = take_sf_format(t->format, t->sample_format)};
    int fd = openat(dirfd, f->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        log_error("cannot create '%s/%s': %s", where, f->name, strerror(errno));
        return -1;
    }
    f->fd = fd;
    f->sf = sf_open_fd(fd, SFM_WRITE, &info, SF_TRUE);
    if (!f->sf) {
        log_error("cannot open '%s/%s' for writing: %s", where, f->name, sf_strerror(NULL));
        close(fd);
        unlinkat(dirfd, f->name, 0);
        return -1;
    }
    if (t->format == CONF_FORMAT_WAV)
        sf_command(f->sf, SFC_RF64_AUTO_DOWNGRADE, NULL, SF_TRUE);
    sf_command(f->sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    take_set_strings(t, f);
    return 0;
}

/* Creates every file of the take in the folder DIRFD: the set of one part.
 * On failure the files it made are closed and removed.  Returns 0 or -1
 * (logged). */
static int
take_open_files(struct take *t, int dirfd, const char *where)
{
    for (int i = 0; i < t->nfiles; i++) {
        if (take_open_file(t, &t->file[i], dirfd, where) == 0) {
            md5_init(&t->file[i].md5);
            t->file[i].frames = 0;
            continue;
        }
        while (i-- > 0) {
            sf_close(t->file[i].sf);
            t->file[i].sf = NULL;
            unlinkat(dirfd, t->file[i].name, 0);
        }
        return -1;
    }
    return 0;
}

/* A file of NCH channels from engine channels chl (and chl + 1). */
static void
take_add_file(struct take *t, int stem, int chl, int nch, const char *song, const char *label,
              const char *ext)
{
    struct take_file *f = &t->file[t->nfiles++];
    f->stem = stem;
    f->nch = nch;
    f->ch[0] = f->ch[1] = (int)t->nch;
    t->plan_ch[t->nch++] = chl;
    if (nch == 2) {
        f->ch[1] = (int)t->nch;
        t->plan_ch[t->nch++] = chl + 1;
    }
    naming_file(f->name, sizeof f->name, song, label, ext);
}

int
take_open(struct take *t, int rootfd, const char *rootpath, const struct conf *c, uint32_t rate,
          unsigned id)
{
    char song[NAMING_COMPONENT_MAX + 2], label[NAMING_COMPONENT_MAX + 2], sub[32];
    int songfd = -1;

    memset(t, 0, sizeof *t);
    t->dirfd = -1;
    t->songfd = -1;
    t->partfd = -1;
    t->part = 1;
    t->split_frames = (uint64_t)llround(c->split_minutes * 60.0 * rate);
    t->id = id;
    t->rate = rate;
    t->meta = c->song;
    t->format = c->format;
    t->sample_format = c->sample_format;
    for (int s = 0; s < CONF_MAX_STEMS; s++)
        memcpy(t->stem_name[s], c->stem[s].name, CONF_NAME_MAX);
    naming_song_folder(song, sizeof song, c->song.title);

    const char *ext = conf_format_ext(c->format);
    for (int s = 0; s < CONF_MAX_STEMS; s++) {
        if (!c->stem[s].registered || !c->stem[s].armed)
            continue;
        naming_stem_label(label, sizeof label, c->stem[s].name);
        take_add_file(t, s + 1, 2 * s, c->stem[s].channels == 1 ? 1 : 2, song, label, ext);
    }
    if (c->record_mix)
        take_add_file(t, 0, ENGINE_MIX_L, 2, song, NAMING_MIX, ext);
    if (t->nfiles == 0) {
        log_error("nothing to record: no stem is armed and record_mix is off");
        return -1;
    }

    songfd = take_song_dir(rootfd, song);
    if (songfd < 0)
        goto fail;
    for (int n = take_highest(songfd) + 1;; n++) {
        naming_take_folder(sub, sizeof sub, n);
        if (mkdirat(songfd, sub, 0755) == 0) {
            t->number = n;
            break;
        }
        if (errno != EEXIST) {
            log_error("cannot create take folder '%s/%s/%s': %s", rootpath, song, sub,
                      strerror(errno));
            goto fail;
        }
    }
    snprintf(t->dir, sizeof t->dir, "%s/%s/%s", rootpath, song, sub);
    snprintf(t->sub, sizeof t->sub, "%s", sub);
    snprintf(t->songdir, sizeof t->songdir, "%s", song);
    t->songfd = songfd;
    songfd = -1;
    t->dirfd = openat(t->songfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (t->dirfd < 0) {
        log_error("cannot open take folder '%s': %s", t->dir, strerror(errno));
        goto fail;
    }
    if (take_open_files(t, t->dirfd, t->dir) < 0)
        goto fail;
    for (int i = 0; i < t->nfiles; i++) {
        if (c->loudness && loudness_init(&t->file[i].loud, rate, t->file[i].nch) < 0)
            goto fail;
        if (!c->loudness)
            loudness_off(&t->file[i].loud);
    }
    take_make_umid(t);
    return 0;

fail:
    if (songfd >= 0)
        close(songfd);
    take_close(t);
    take_release(t);
    return -1;
}

/* Final headers of the current part's files, which are closed.  Returns
 * 0, or -1 when any could not be finalised (logged). */
static int
take_close_files(struct take *t)
{
    const char *where = take_part_dir(t);
    int rc = 0;

    for (int i = 0; i < t->nfiles; i++) {
        struct take_file *f = &t->file[i];
        if (!f->sf)
            continue;
        sf_write_sync(f->sf);
        int e = sf_close(f->sf);
        if (e != 0) {
            log_error("cannot finalise '%s/%s': %s", where, f->name, sf_error_number(e));
            rc = -1;
        }
        f->sf = NULL;
    }
    if (t->partfd >= 0)
        fsync(t->partfd);
    return rc;
}

int
take_close(struct take *t)
{
    int rc = take_close_files(t);

    if (t->dirfd >= 0)
        fsync(t->dirfd);
    return rc;
}

int
take_part_done(struct take *t, uint64_t frames)
{
    if (t->nparts == t->parts_cap) {
        int cap = t->parts_cap ? 2 * t->parts_cap : 8;
        struct take_part *p = realloc(t->parts, (size_t)cap * sizeof *p);
        if (!p) {
            log_error("take %d: cannot record part %d: %s", t->number, t->part, strerror(ENOMEM));
            return -1;
        }
        t->parts = p;
        t->parts_cap = cap;
    }
    struct take_part *p = &t->parts[t->nparts++];
    memset(p, 0, sizeof *p);
    p->start = t->part_start;
    p->frames = frames;
    for (int i = 0; i < t->nfiles; i++)
        memcpy(p->audio_md5[i], t->file[i].audio_md5, sizeof p->audio_md5[i]);
    return 0;
}

int
take_next_part(struct take *t, uint64_t start)
{
    char sub[32], where[PATH_MAX];
    int n = t->part + 1, fd;

    if (take_close_files(t) < 0)
        return -1;
    naming_part_folder(sub, sizeof sub, n);
    if (snprintf(where, sizeof where, "%s/%s", t->dir, sub) >= (int)sizeof where) {
        log_error("take %d: the path of part %d is too long", t->number, n);
        return -1;
    }
    if (mkdirat(t->dirfd, sub, 0755) < 0) {
        log_error("take %d: cannot create the folder of part %d, '%s': %s", t->number, n, where,
                  strerror(errno));
        return -1;
    }
    fd = openat(t->dirfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || take_open_files(t, fd, where) < 0) {
        if (fd < 0)
            log_error("take %d: cannot open the folder of part %d, '%s': %s", t->number, n, where,
                      strerror(errno));
        else
            close(fd);
        unlinkat(t->dirfd, sub, AT_REMOVEDIR);
        return -1;
    }
    if (t->partfd >= 0)
        close(t->partfd);
    t->partfd = fd;
    snprintf(t->partdir, sizeof t->partdir, "%s", where);
    t->part = n;
    t->part_start = start;
    fsync(t->dirfd);
    take_set_bext(t, (t->placed ? t->placed_tframe : t->tframe) + start);
    return 0;
}

void
take_list_add(struct take_list *l, uint64_t at, uint64_t frames)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        struct take_drop *v =
            cap <= TAKE_MAX_LISTED ? realloc(l->v, (size_t)cap * sizeof *v) : NULL;
        if (!v) {
            l->unlisted++;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n].at = at;
    l->v[l->n].frames = frames;
    l->n++;
}

void
take_release(struct take *t)
{
    if (t->dirfd >= 0)
        close(t->dirfd);
    if (t->songfd >= 0)
        close(t->songfd);
    if (t->partfd >= 0)
        close(t->partfd);
    t->dirfd = t->songfd = t->partfd = -1;
    free(t->parts);
    t->parts = NULL;
    t->nparts = t->parts_cap = 0;
    free(t->drops.v);
    free(t->torn.v);
    for (int i = 0; i < t->nfiles; i++)
        loudness_free(&t->file[i].loud);
    memset(&t->drops, 0, sizeof t->drops);
    memset(&t->torn, 0, sizeof t->torn);
}

void
take_discard(struct take *t)
{
    int dirfd = t->dirfd >= 0 ? dup(t->dirfd) : -1;
    int songfd = t->songfd >= 0 ? dup(t->songfd) : -1;

    take_close(t);
    for (int i = 0; dirfd >= 0 && i < t->nfiles; i++)
        if (unlinkat(dirfd, t->file[i].name, 0) < 0 && errno != ENOENT)
            log_warn("cannot remove '%s/%s': %s", t->dir, t->file[i].name, strerror(errno));
    if (dirfd >= 0)
        unlinkat(dirfd, "manifest.json", 0);
    if (songfd >= 0 && unlinkat(songfd, t->sub, AT_REMOVEDIR) < 0)
        log_warn("cannot remove the unused folder '%s': %s", t->dir, strerror(errno));
    if (dirfd >= 0)
        close(dirfd);
    if (songfd >= 0)
        close(songfd);
    take_release(t);
}
