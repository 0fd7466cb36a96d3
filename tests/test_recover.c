/* test_recover — unit tests of daemon/recover.c on real files.
 *
 * A killed take is made the way stemcapd leaves one: a child process opens
 * each file with libsndfile (WAV = RF64 with auto-downgrade, AIFF, W64, as
 * take.c does, with strings and a bext chunk), writes N1 frames, rewrites
 * the header (SFC_UPDATE_HEADER_NOW), writes more frames and _exit()s
 * without sf_close(): the header says N1, the data chunk holds more.  Every
 * sample is a function of (file, frame, channel) that every sample format
 * holds within an LSB, so the tests can check that the frames at the end of
 * a repaired file are the ones written last.  Checked: the four formats
 * repaired (libsndfile reads every frame, the last frames are the last
 * ones written, metadata kept, manifest "recovered" with the figures), the
 * length policy (the files of a take cut to the shortest when they differ
 * by at most one writer block, nothing cut beyond that), a partial frame
 * cut, a RIFF file grown past 4 GiB turned into RF64 (sparse file), takes
 * whose manifest is complete/failed left byte for byte, prepared takes
 * removed (and their song folder), a missing manifest rebuilt, symlinks
 * out of the root never followed, a take another process holds open left
 * alone, and a second run that finds nothing to do.
 * TEST_VERBOSE=1 shows the log lines, KEEP=1 keeps the folder. */
#include "log.h"
#include "recover.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N1    48000 /* frames the last header update saw */
#define N     53000 /* frames written before the "kill" */
#define BLOCK 1000

static char top[PATH_MAX], root[PATH_MAX], outside[PATH_MAX];

#define WAV24  (SF_FORMAT_RF64 | SF_FORMAT_PCM_24)
#define WAVF   (SF_FORMAT_RF64 | SF_FORMAT_FLOAT)
#define WAV16  (SF_FORMAT_RF64 | SF_FORMAT_PCM_16)
#define AIFF24 (SF_FORMAT_AIFF | SF_FORMAT_PCM_24)
#define W64D   (SF_FORMAT_W64 | SF_FORMAT_DOUBLE)

/* Sample `ch` of `frame` in file `id`: k / 2^15, |k| <= 2^14, exact in every
 * format down to 16 bits. */
static float
sample(int id, int64_t frame, int ch)
{
    uint32_t x = (uint32_t)frame * 2654435761u + (uint32_t)id * 40503u + (uint32_t)ch * 977u;
    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    return (float)((int)(x % 32768u) - 16384) / 32768.0f;
}

static void
path_of(char *out, size_t n, const char *base, const char *rel)
{
    if (snprintf(out, n, "%s/%s", base, rel) >= (int)n) {
        fprintf(stderr, "path too long: %s/%s\n", base, rel);
        exit(2);
    }
}

static void
mkdirs(const char *base, const char *rel)
{
    char p[PATH_MAX];
    path_of(p, sizeof p, base, rel);
    for (char *s = p + strlen(base) + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    }
    mkdir(p, 0755);
}

/* Files named "... (mono)..." have one channel (a mono stem), the rest two. */
static int
nch_of(const char *path)
{
    return strstr(path, "(mono)") ? 1 : 2;
}

static SNDFILE *
open_write(const char *path, int format)
{
    SF_INFO info = {.samplerate = 48000, .channels = nch_of(path), .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf)
        return NULL;
    if ((format & SF_FORMAT_TYPEMASK) == SF_FORMAT_RF64)
        sf_command(sf, SFC_RF64_AUTO_DOWNGRADE, NULL, SF_TRUE);
    sf_set_string(sf, SF_STR_TITLE, "Song - Stem");
    sf_set_string(sf, SF_STR_SOFTWARE, "test_recover");
    sf_set_string(sf, SF_STR_ARTIST, "The Band");
    if ((format & SF_FORMAT_TYPEMASK) == SF_FORMAT_RF64) {
        SF_BROADCAST_INFO bi;
        memset(&bi, 0, sizeof bi);
        snprintf(bi.description, sizeof bi.description, "test take");
        bi.time_reference_low = 96000;
        bi.version = 1;
        sf_command(sf, SFC_SET_BROADCAST_INFO, &bi, sizeof bi);
    }
    return sf;
}

static int
write_frames(SNDFILE *sf, int nch, int id, int64_t from, int64_t to)
{
    float buf[2 * BLOCK];
    for (int64_t f = from; f < to;) {
        int n = to - f > BLOCK ? BLOCK : (int)(to - f);
        for (int k = 0; k < n; k++)
            for (int c = 0; c < nch; c++)
                buf[nch * k + c] = sample(id, f + k, c);
        if (sf_writef_float(sf, buf, n) != n)
            return -1;
        f += n;
    }
    return 0;
}

/* A plain WAV file closed properly by libsndfile, in `format`; with a title,
 * its LIST chunk after the audio (the strings are set after the frames). */
static int
write_closed(const char *base, const char *rel, int id, int64_t n, int format, const char *title)
{
    char p[PATH_MAX];
    SF_INFO info = {.samplerate = 48000, .channels = 2, .format = SF_FORMAT_WAV | format};
    path_of(p, sizeof p, base, rel);
    SNDFILE *sf = sf_open(p, SFM_WRITE, &info);
    if (!sf || write_frames(sf, 2, id, 0, n) < 0)
        return -1;
    if (title)
        sf_set_string(sf, SF_STR_TITLE, title);
    return sf_close(sf) == 0 ? 0 : -1;
}

/* The file as a killed stemcapd leaves it: header updated at n1 frames,
 * n frames written, never closed.  n1 = n = 0: a prepared file. */
static int
write_killed(const char *base, const char *rel, int format, int id, int64_t n1, int64_t n)
{
    char p[PATH_MAX];
    int status;

    path_of(p, sizeof p, base, rel);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        SNDFILE *sf = open_write(p, format);
        if (!sf)
            _exit(1);
        if (n1 > 0 && write_frames(sf, nch_of(p), id, 0, n1) < 0)
            _exit(1);
        sf_command(sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
        if (write_frames(sf, nch_of(p), id, n1, n) < 0)
            _exit(1);
        _exit(0); /* no sf_close: killed */
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "cannot write %s\n", p);
        return -1;
    }
    return 0;
}

/* The file as stemcapd's take.c leaves it between opening and the first
 * frame (a prepared take; the bext chunk comes with the first frame): no
 * header update, so its sizes are still libsndfile's placeholders (RF64:
 * ds64 data size 0xFFFFFFFFFFFFFFFF; W64: data chunk size 23). */
static int
write_opened(const char *base, const char *rel, int format)
{
    char p[PATH_MAX];
    int status;

    path_of(p, sizeof p, base, rel);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        SF_INFO info = {.samplerate = 48000, .channels = 2, .format = format};
        SNDFILE *sf = sf_open(p, SFM_WRITE, &info);
        if (!sf)
            _exit(1);
        if ((format & SF_FORMAT_TYPEMASK) == SF_FORMAT_RF64)
            sf_command(sf, SFC_RF64_AUTO_DOWNGRADE, NULL, SF_TRUE);
        sf_set_string(sf, SF_STR_TITLE, "Song - Stem");
        _exit(0); /* no sf_close: killed */
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "cannot write %s\n", p);
        return -1;
    }
    return 0;
}

static void
write_text(const char *base, const char *rel, const char *text)
{
    char p[PATH_MAX];
    path_of(p, sizeof p, base, rel);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* manifest.json in dir with `state` and the files named in the NULL-ended list. */
static void
write_manifest(const char *base, const char *dir, const char *state, const char *format,
               const char *sample_format, const char *const *files)
{
    json_t *a = json_array();
    for (int i = 0; files[i]; i++)
        json_array_append_new(
            a, json_pack("{s:i, s:s, s:s}", "stem", i + 1, "name", "Stem", "file", files[i]));
    json_t *m = json_pack("{s:s, s:s, s:i, s:s, s:i, s:s, s:s, s:i, s:f, s:o, s:i}",
                          "stemcap_version", "0.1.0", "state", state, "take", 1, "folder", dir,
                          "sample_rate", 48000, "format", format, "sample_format", sample_format,
                          "length_frames", 0, "length_seconds", 0.0, "files", a, "xruns", 0);
    char *text = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    char rel[PATH_MAX];
    path_of(rel, sizeof rel, dir, "manifest.json");
    write_text(base, rel, text);
    free(text);
    json_decref(m);
}

/* Frames libsndfile reads, -1 when it cannot open the file. */
static int64_t
frames_of(const char *base, const char *rel, int *format)
{
    char p[PATH_MAX];
    SF_INFO info;
    memset(&info, 0, sizeof info);
    path_of(p, sizeof p, base, rel);
    SNDFILE *sf = sf_open(p, SFM_READ, &info);
    if (!sf)
        return -1;
    sf_close(sf);
    if (format)
        *format = info.format;
    return info.frames;
}

/* 1 when the last `k` frames of the file are frames n-k .. n-1 of file id. */
static int
tail_is(const char *base, const char *rel, int id, int64_t n, int k)
{
    char p[PATH_MAX];
    SF_INFO info;
    float buf[2 * 64];
    memset(&info, 0, sizeof info);
    path_of(p, sizeof p, base, rel);
    SNDFILE *sf = sf_open(p, SFM_READ, &info);
    if (!sf || k > 64)
        return 0;
    int ok = sf_seek(sf, n - k, SEEK_SET) == n - k && sf_readf_float(sf, buf, k) == k;
    ok &= info.channels == nch_of(p);
    for (int i = 0; ok && i < k; i++)
        for (int c = 0; c < info.channels; c++)
            ok &= fabsf(buf[info.channels * i + c] - sample(id, n - k + i, c)) < 1e-5f;
    sf_close(sf);
    return ok;
}

static char *
title_of(const char *base, const char *rel)
{
    static char title[256];
    char p[PATH_MAX];
    SF_INFO info;
    memset(&info, 0, sizeof info);
    path_of(p, sizeof p, base, rel);
    SNDFILE *sf = sf_open(p, SFM_READ, &info);
    title[0] = '\0';
    if (sf) {
        const char *s = sf_get_string(sf, SF_STR_TITLE);
        snprintf(title, sizeof title, "%s", s ? s : "");
        sf_close(sf);
    }
    return title;
}

static json_t *
manifest_of(const char *base, const char *dir)
{
    char rel[PATH_MAX], p[PATH_MAX];
    path_of(rel, sizeof rel - 16, dir, "manifest.json");
    path_of(p, sizeof p, base, rel);
    return json_load_file(p, 0, NULL);
}

static const char *
state_of(const char *base, const char *dir)
{
    static char state[32];
    json_t *m = manifest_of(base, dir);
    const char *s = json_string_value(json_object_get(m, "state"));
    snprintf(state, sizeof state, "%s", s ? s : "(none)");
    json_decref(m);
    return state;
}

static long long
recovery_int(const char *base, const char *dir, const char *key)
{
    json_t *m = manifest_of(base, dir);
    json_t *v = strcmp(key, "length_frames") == 0
                    ? json_object_get(m, key)
                    : json_object_get(json_object_get(m, "recovery"), key);
    long long r = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
    json_decref(m);
    return r;
}

static int
exists(const char *base, const char *rel)
{
    char p[PATH_MAX];
    struct stat st;
    path_of(p, sizeof p, base, rel);
    return lstat(p, &st) == 0;
}

/* The whole file, malloc'ed; *len its size. */
static char *
slurp(const char *base, const char *rel, size_t *len)
{
    char p[PATH_MAX];
    path_of(p, sizeof p, base, rel);
    FILE *f = fopen(p, "rb");
    char *buf = NULL;
    *len = 0;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
        *len = (size_t)n;
    fclose(f);
    return buf;
}

struct snap {
    char *data;
    size_t len;
};

static void
snap_take(struct snap *s, const char *base, const char *rel)
{
    s->data = slurp(base, rel, &s->len);
}

static int
snap_same(struct snap *s, const char *base, const char *rel)
{
    size_t len;
    char *now = slurp(base, rel, &len);
    int same = s->data && now && len == s->len && memcmp(now, s->data, len) == 0;
    free(now);
    free(s->data);
    s->data = NULL;
    return same;
}

/* A symlink at root/rel pointing to outside/target. */
static int
link_out(const char *target, const char *rel)
{
    char t[PATH_MAX], l[PATH_MAX];
    path_of(t, sizeof t, outside, target);
    path_of(l, sizeof l, root, rel);
    return symlink(t, l);
}

static int
run_recover(void)
{
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int n = recover_takes(fd, root);
    if (fd >= 0)
        close(fd);
    return n;
}

static void
cleanup(const char *dir)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* With a mono stem in each (issue 16): cut (Alpha) or repaired like the others. */
static const char *const alpha_files[] = {"Alpha - Drums.wav", "Alpha - Bass.wav",
                                          "Alpha - Mix.wav", "Alpha - Vox (mono).wav", NULL};
static const char *const beta_files[] = {"Beta - Drums.wav", "Beta - Mix.wav",
                                         "Beta - Vox (mono).wav", NULL};
static const char *const gamma_files[] = {"Gamma - Drums.aiff", "Gamma - Mix.aiff",
                                          "Gamma - Vox (mono).aiff", NULL};
static const char *const delta_files[] = {"Delta - Drums.w64", "Delta - Mix.w64",
                                          "Delta - Vox (mono).w64", NULL};
static const char *const eps_files[] = {"Eps - Drums.wav", "Eps - Mix.wav", NULL};

/* Makes `count` files of a killed take: file i has n - short_by[i] frames. */
static int
killed_take(const char *dir, const char *const *files, int format, int id0, const int *short_by)
{
    char rel[PATH_MAX];
    for (int i = 0; files[i]; i++) {
        path_of(rel, sizeof rel, dir, files[i]);
        if (write_killed(root, rel, format, id0 + i, N1, N - (short_by ? short_by[i] : 0)) < 0)
            return -1;
    }
    return 0;
}

static void
check_take(const char *dir, const char *const *files, int id0, int64_t want, int cut)
{
    char rel[PATH_MAX];
    CHECK_STR_EQ(state_of(root, dir), "recovered");
    CHECK_INT_EQ(recovery_int(root, dir, "length_frames"), want);
    CHECK_INT_EQ(recovery_int(root, dir, "frames_before"), N1);
    CHECK_INT_EQ(recovery_int(root, dir, "frames_after"), want);
    CHECK_INT_EQ(recovery_int(root, dir, "cut_frames_max"), cut);
    for (int i = 0; files[i]; i++) {
        path_of(rel, sizeof rel, dir, files[i]);
        CHECK_INT_EQ(frames_of(root, rel, NULL), want);
        CHECK(tail_is(root, rel, id0 + i, want, 16));
    }
}

int
main(void)
{
    char rel[PATH_MAX];
    struct snap complete_wav, complete_json, failed_wav, out_wav, out_json;
    static const int alpha_short[] = {0, 300, 300, 0};

    log_set_level(getenv("TEST_VERBOSE") ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);
    snprintf(top, sizeof top, "/tmp/stemcap-test-recover.XXXXXX");
    if (!mkdtemp(top)) {
        perror("mkdtemp");
        return 1;
    }
    path_of(root, sizeof root, top, "takes");
    path_of(outside, sizeof outside, top, "outside");
    mkdir(root, 0755);
    mkdir(outside, 0755);

    /* Killed takes in the four formats. */
    mkdirs(root, "Alpha/take-01");
    mkdirs(root, "Beta/take-01");
    mkdirs(root, "Gamma/take-01");
    mkdirs(root, "Delta/take-01");
    int made = killed_take("Alpha/take-01", alpha_files, WAV24, 10, alpha_short) == 0 &&
               killed_take("Beta/take-01", beta_files, WAVF, 20, NULL) == 0 &&
               killed_take("Gamma/take-01", gamma_files, AIFF24, 30, NULL) == 0 &&
               killed_take("Delta/take-01", delta_files, W64D, 40, NULL) == 0;
    if (!CHECK(made))
        goto out;
    write_manifest(root, "Alpha/take-01", "recording", "wav", "pcm24", alpha_files);
    write_manifest(root, "Beta/take-01", "recording", "wav", "float", beta_files);
    write_manifest(root, "Gamma/take-01", "recording", "aiff", "pcm24", gamma_files);
    /* A listed file that is not audio at all: reported, left as it is. */
    write_text(root, "Gamma/take-01/Gamma - Junk.aiff", "FORM but not really an AIFF file\n");
    {
        json_t *m = manifest_of(root, "Gamma/take-01");
        json_array_append_new(json_object_get(m, "files"),
                              json_pack("{s:s}", "file", "Gamma - Junk.aiff"));
        path_of(rel, sizeof rel, root, "Gamma/take-01/manifest.json");
        json_dump_file(m, rel, JSON_INDENT(2));
        json_decref(m);
    }
    struct snap junk;
    snap_take(&junk, root, "Gamma/take-01/Gamma - Junk.aiff");
    write_manifest(root, "Delta/take-01", "recording", "w64", "double", delta_files);
    /* The simulation is faithful: readers see the last header update only. */
    CHECK_INT_EQ(frames_of(root, "Alpha/take-01/Alpha - Drums.wav", NULL), N1);
    CHECK_INT_EQ(frames_of(root, "Gamma/take-01/Gamma - Mix.aiff", NULL), N1);
    /* (libsndfile reads a W64 data chunk to the end of the file anyway) */
    /* A write cut short inside a frame: 5 stray bytes after the last frame. */
    path_of(rel, sizeof rel, root, "Beta/take-01/Beta - Mix.wav");
    int wfd = open(rel, O_WRONLY | O_APPEND);
    CHECK(wfd >= 0 && write(wfd, "\x01\x02\x03\x04\x05", 5) == 5);
    if (wfd >= 0)
        close(wfd);

    /* Files further apart than one writer block: nothing is cut. */
    mkdirs(root, "Eps/take-01");
    CHECK(write_killed(root, "Eps/take-01/Eps - Drums.wav", WAV16, 50, N1, N) == 0);
    CHECK(write_killed(root, "Eps/take-01/Eps - Mix.wav", WAV16, 51, 30000, N - 20000) == 0);
    write_manifest(root, "Eps/take-01", "recording", "wav", "pcm16", eps_files);

    /* Killed before the first manifest: rebuilt. */
    mkdirs(root, "Zeta/take-01");
    CHECK(write_killed(root, "Zeta/take-01/Zeta - Mix.wav", WAV24, 60, N1, N) == 0);

    /* Complete and failed takes with stale-looking files: never touched. */
    mkdirs(root, "Alpha/take-02");
    mkdirs(root, "Alpha/take-05");
    CHECK(write_killed(root, "Alpha/take-02/Alpha - Drums.wav", WAV24, 70, N1, N) == 0);
    write_manifest(root, "Alpha/take-02", "complete", "wav", "pcm24", alpha_files);
    CHECK(write_killed(root, "Alpha/take-05/Alpha - Drums.wav", WAV24, 71, N1, N) == 0);
    write_manifest(root, "Alpha/take-05", "failed", "wav", "pcm24", alpha_files);
    snap_take(&complete_wav, root, "Alpha/take-02/Alpha - Drums.wav");
    snap_take(&complete_json, root, "Alpha/take-02/manifest.json");
    snap_take(&failed_wav, root, "Alpha/take-05/Alpha - Drums.wav");

    /* Prepared takes (header-only files, no manifest): removed, and the
     * song folder that held nothing else. */
    mkdirs(root, "Alpha/take-03");
    CHECK(write_killed(root, "Alpha/take-03/Alpha - Drums.wav", WAV24, 80, 0, 0) == 0);
    CHECK(write_killed(root, "Alpha/take-03/Alpha - Mix.wav", WAV24, 81, 0, 0) == 0);
    mkdirs(root, "Solo/take-01");
    CHECK(write_killed(root, "Solo/take-01/Solo - Mix.aiff", AIFF24, 82, 0, 0) == 0);
    mkdirs(root, "Empty/take-07"); /* folder claimed, files never created */
    path_of(rel, sizeof rel, root, "Empty/take-07");
    CHECK(utimensat(AT_FDCWD, rel, (const struct timespec[]){{0, UTIME_OMIT}, {1000000000, 0}},
                    0) == 0);
    mkdirs(root, "Fresh/take-01"); /* only just claimed: maybe another daemon's */
    /* Prepared in W64 and never updated: libsndfile's data size is 23 there. */
    mkdirs(root, "Omega/take-02");
    CHECK(write_opened(root, "Omega/take-02/Omega - Drums.w64", W64D) == 0);
    CHECK(write_opened(root, "Omega/take-02/Omega - Mix.w64", W64D) == 0);
    /* Killed before the first header update, manifest written: recovered
     * empty, and the placeholder sizes are no frame count. */
    static const char *const psi_files[] = {"Psi - Mix.wav", NULL};
    static const char *const phi_files[] = {"Phi - Mix.w64", NULL};
    mkdirs(root, "Psi/take-01");
    CHECK(write_opened(root, "Psi/take-01/Psi - Mix.wav", WAV24) == 0);
    write_manifest(root, "Psi/take-01", "recording", "wav", "pcm24", psi_files);
    mkdirs(root, "Phi/take-01");
    CHECK(write_opened(root, "Phi/take-01/Phi - Mix.w64", W64D) == 0);
    write_manifest(root, "Phi/take-01", "recording", "w64", "double", phi_files);

    /* A finalised file (chunks after the audio) in a recording take: the
     * daemon died between closing the files and completing the manifest. */
    mkdirs(root, "Kappa/take-01");
    CHECK(write_closed(root, "Kappa/take-01/Kappa - Mix.wav", 120, 1333, SF_FORMAT_PCM_24,
                       "Tail title") == 0);
    write_manifest(root, "Kappa/take-01", "recording", "wav", "pcm24",
                   (const char *const[]){"Kappa - Mix.wav", NULL});
    struct snap tail_wav;
    snap_take(&tail_wav, root, "Kappa/take-01/Kappa - Mix.wav");

    /* Symlinks out of the root: a song folder, a take folder, an audio file. */
    mkdirs(outside, "Song/take-01");
    CHECK(write_killed(outside, "Song/take-01/Song - Mix.wav", WAV24, 90, N1, N) == 0);
    write_manifest(outside, "Song/take-01", "recording", "wav", "pcm24",
                   (const char *const[]){"Song - Mix.wav", NULL});
    snap_take(&out_wav, outside, "Song/take-01/Song - Mix.wav");
    snap_take(&out_json, outside, "Song/take-01/manifest.json");
    CHECK(link_out("Song", "Evil") == 0);
    CHECK(link_out("Song/take-01", "Alpha/take-04") == 0);
    CHECK(link_out("Song/take-01/Song - Mix.wav", "Beta/take-01/Beta - Link.wav") == 0);

    /* A take another process has open (a second daemon on the root). */
    mkdirs(root, "Eta/take-01");
    CHECK(write_killed(root, "Eta/take-01/Eta - Mix.w64", W64D, 100, N1, N) == 0);
    write_manifest(root, "Eta/take-01", "recording", "w64", "double",
                   (const char *const[]){"Eta - Mix.w64", NULL});
    path_of(rel, sizeof rel, root, "Eta/take-01/Eta - Mix.w64");
    int busy = open(rel, O_RDONLY);
    struct snap busy_w64;
    snap_take(&busy_w64, root, "Eta/take-01/Eta - Mix.w64");

    /* A RIFF file that grew past 4 GiB after its last header update (sparse). */
    int64_t big = ((int64_t)1 << 32) / 6 + 1000, big_frames = N + big;
    int have_big = 0;
    mkdirs(root, "Theta/take-01");
    if (write_killed(root, "Theta/take-01/Theta - Mix.wav", WAV24, 110, N1, N) == 0) {
        path_of(rel, sizeof rel, root, "Theta/take-01/Theta - Mix.wav");
        struct stat st;
        have_big = stat(rel, &st) == 0 && truncate(rel, st.st_size + big * 6) == 0 &&
                   stat(rel, &st) == 0 && st.st_blocks < 1024 * 1024;
        write_manifest(root, "Theta/take-01", "recording", "wav", "pcm24",
                       (const char *const[]){"Theta - Mix.wav", NULL});
        if (!have_big) {
            printf("test_recover: no sparse files here, the RF64 upgrade is not tested\n");
            path_of(rel, sizeof rel, root, "Theta");
            cleanup(rel);
        }
    }
    /* ---- run ---- */
    int n = run_recover();
    CHECK_INT_EQ(n, 9 + have_big); /* Alpha Beta Gamma Delta Eps Zeta Kappa Psi Phi (+ Theta) */

    check_take("Alpha/take-01", alpha_files, 10, N - 300, 300);
    CHECK_STR_EQ(title_of(root, "Alpha/take-01/Alpha - Drums.wav"), "Song - Stem");
    check_take("Beta/take-01", beta_files, 20, N, 0);
    check_take("Gamma/take-01", gamma_files, 30, N, 0);
    CHECK(snap_same(&junk, root, "Gamma/take-01/Gamma - Junk.aiff"));
    {
        json_t *m = manifest_of(root, "Gamma/take-01");
        json_t *u = json_object_get(json_object_get(m, "recovery"), "unreadable");
        CHECK_STR_EQ(json_string_value(json_array_get(u, 0)), "Gamma - Junk.aiff");
        json_decref(m);
    }
    check_take("Delta/take-01", delta_files, 40, N, 0);
    int fmt = 0;
    CHECK_INT_EQ(frames_of(root, "Beta/take-01/Beta - Mix.wav", &fmt), N);
    CHECK_INT_EQ(fmt & SF_FORMAT_SUBMASK, SF_FORMAT_FLOAT);
    {
        struct stat st;
        path_of(rel, sizeof rel, root, "Beta/take-01/Beta - Mix.wav");
        CHECK(stat(rel, &st) == 0 && (st.st_size - N * 8) % 2 == 0); /* the stray bytes went */
    }

    /* Eps: 20000 frames apart, more than a block: each keeps its frames. */
    CHECK_STR_EQ(state_of(root, "Eps/take-01"), "recovered");
    CHECK_INT_EQ(frames_of(root, "Eps/take-01/Eps - Drums.wav", NULL), N);
    CHECK_INT_EQ(frames_of(root, "Eps/take-01/Eps - Mix.wav", NULL), N - 20000);
    CHECK(tail_is(root, "Eps/take-01/Eps - Drums.wav", 50, N, 8));
    CHECK(tail_is(root, "Eps/take-01/Eps - Mix.wav", 51, N - 20000, 8));
    CHECK_INT_EQ(recovery_int(root, "Eps/take-01", "frames_before"), 30000);
    CHECK_INT_EQ(recovery_int(root, "Eps/take-01", "cut_frames_max"), 0);
    CHECK_INT_EQ(recovery_int(root, "Eps/take-01", "length_frames"), N - 20000);
    {
        json_t *m = manifest_of(root, "Eps/take-01");
        CHECK(json_is_true(json_object_get(json_object_get(m, "recovery"), "lengths_differ")));
        json_decref(m);
    }

    /* Zeta: manifest rebuilt from the headers. */
    CHECK_STR_EQ(state_of(root, "Zeta/take-01"), "recovered");
    CHECK_INT_EQ(recovery_int(root, "Zeta/take-01", "length_frames"), N);
    CHECK_INT_EQ(frames_of(root, "Zeta/take-01/Zeta - Mix.wav", NULL), N);
    {
        json_t *m = manifest_of(root, "Zeta/take-01");
        CHECK_STR_EQ(json_string_value(json_object_get(m, "sample_format")), "pcm24");
        CHECK_INT_EQ(json_integer_value(json_object_get(m, "sample_rate")), 48000);
        json_decref(m);
    }

    /* Never touched. */
    CHECK(snap_same(&complete_wav, root, "Alpha/take-02/Alpha - Drums.wav"));
    CHECK(snap_same(&complete_json, root, "Alpha/take-02/manifest.json"));
    CHECK(snap_same(&failed_wav, root, "Alpha/take-05/Alpha - Drums.wav"));
    CHECK_STR_EQ(state_of(root, "Alpha/take-05"), "failed");

    /* Prepared takes gone; the song folder with nothing else too. */
    CHECK(!exists(root, "Alpha/take-03"));
    CHECK(!exists(root, "Solo"));
    CHECK(!exists(root, "Empty"));
    CHECK(exists(root, "Fresh/take-01"));
    CHECK(!exists(root, "Omega"));
    for (int i = 0; i < 2; i++) {
        const char *dir = i ? "Phi/take-01" : "Psi/take-01";
        json_t *m = manifest_of(root, dir);
        json_t *r = json_object_get(m, "recovery");
        CHECK_STR_EQ(state_of(root, dir), "recovered");
        CHECK_INT_EQ(recovery_int(root, dir, "frames_before"), 0);
        CHECK_INT_EQ(recovery_int(root, dir, "length_frames"), 0);
        CHECK_INT_EQ(json_array_size(json_object_get(r, "unreadable")), 0);
        json_decref(m);
    }
    CHECK_INT_EQ(frames_of(root, "Psi/take-01/Psi - Mix.wav", NULL), 0);
    CHECK_INT_EQ(frames_of(root, "Phi/take-01/Phi - Mix.w64", NULL), 0);

    /* Finalised file: recognised as complete, not a byte changed. */
    CHECK_STR_EQ(state_of(root, "Kappa/take-01"), "recovered");
    CHECK_INT_EQ(recovery_int(root, "Kappa/take-01", "length_frames"), 1333);
    CHECK(snap_same(&tail_wav, root, "Kappa/take-01/Kappa - Mix.wav"));
    CHECK_STR_EQ(title_of(root, "Kappa/take-01/Kappa - Mix.wav"), "Tail title");
    CHECK(exists(root, "Alpha/take-01"));

    /* Symlinks: nothing outside changed; the links are still there. */
    CHECK(snap_same(&out_wav, outside, "Song/take-01/Song - Mix.wav"));
    CHECK(snap_same(&out_json, outside, "Song/take-01/manifest.json"));
    CHECK_INT_EQ(frames_of(outside, "Song/take-01/Song - Mix.wav", NULL), N1);
    CHECK(exists(root, "Evil") && exists(root, "Alpha/take-04") &&
          exists(root, "Beta/take-01/Beta - Link.wav"));

    /* Busy: left alone while open elsewhere. */
    CHECK_STR_EQ(state_of(root, "Eta/take-01"), "recording");
    CHECK(snap_same(&busy_w64, root, "Eta/take-01/Eta - Mix.w64"));

    /* RF64 upgrade. */
    if (have_big) {
        fmt = 0;
        CHECK_STR_EQ(state_of(root, "Theta/take-01"), "recovered");
        CHECK_INT_EQ(frames_of(root, "Theta/take-01/Theta - Mix.wav", &fmt), big_frames);
        CHECK_INT_EQ(fmt & SF_FORMAT_TYPEMASK, SF_FORMAT_RF64);
        CHECK_STR_EQ(title_of(root, "Theta/take-01/Theta - Mix.wav"), "Song - Stem");
        CHECK(tail_is(root, "Theta/take-01/Theta - Mix.wav", 110, N, 8));
        CHECK_INT_EQ(recovery_int(root, "Theta/take-01", "length_frames"), big_frames);
    }

    /* Second run: only the take that was busy; third: nothing. */
    if (busy >= 0)
        close(busy);
    snap_take(&complete_json, root, "Alpha/take-01/manifest.json");
    snap_take(&complete_wav, root, "Alpha/take-01/Alpha - Drums.wav");
    n = run_recover();
    CHECK_INT_EQ(n, 1);
    CHECK_STR_EQ(state_of(root, "Eta/take-01"), "recovered");
    CHECK_INT_EQ(frames_of(root, "Eta/take-01/Eta - Mix.w64", NULL), N);
    CHECK(tail_is(root, "Eta/take-01/Eta - Mix.w64", 100, N, 16));
    CHECK_INT_EQ(run_recover(), 0);
    CHECK(snap_same(&complete_json, root, "Alpha/take-01/manifest.json"));
    CHECK(snap_same(&complete_wav, root, "Alpha/take-01/Alpha - Drums.wav"));

    /* A RIFF file past 4 GiB with a plain 44-byte header: no room for a
     * ds64 chunk, so the repair is refused (logged: expected, not shown)
     * and the file left exactly as it was; the RF64 rewrite used to write
     * its 48 bytes into a 44-byte buffer. */
    mkdirs(root, "Iota/take-01");
    char iota_head[64];
    off_t iota_size = 0;
    /* 44 bytes of header, as many programs write: no room for a ds64 chunk */
    if (have_big &&
        write_closed(root, "Iota/take-01/Iota - Mix.wav", 130, N, SF_FORMAT_PCM_16, NULL) == 0) {
        path_of(rel, sizeof rel, root, "Iota/take-01/Iota - Mix.wav");
        struct stat st;
        int fd = open(rel, O_RDONLY);
        CHECK(fd >= 0 && pread(fd, iota_head, sizeof iota_head, 0) == (ssize_t)sizeof iota_head);
        if (fd >= 0)
            close(fd);
        CHECK(stat(rel, &st) == 0 && truncate(rel, st.st_size + ((off_t)1 << 32)) == 0);
        iota_size = st.st_size + ((off_t)1 << 32);
        write_manifest(root, "Iota/take-01", "recording", "wav", "pcm16",
                       (const char *const[]){"Iota - Mix.wav", NULL});
    }

    if (iota_size) {
        int saved_err = dup(STDERR_FILENO), devnull = open("/dev/null", O_WRONLY);
        if (!getenv("TEST_VERBOSE") && devnull >= 0)
            dup2(devnull, STDERR_FILENO);
        CHECK_INT_EQ(run_recover(), 0);
        dup2(saved_err, STDERR_FILENO);
        close(saved_err);
        if (devnull >= 0)
            close(devnull);
    }
    if (iota_size) {
        struct stat st;
        char now[64];
        path_of(rel, sizeof rel, root, "Iota/take-01/Iota - Mix.wav");
        int fd = open(rel, O_RDONLY);
        CHECK_STR_EQ(state_of(root, "Iota/take-01"), "recording");
        CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == iota_size);
        CHECK(fd >= 0 && pread(fd, now, sizeof now, 0) == (ssize_t)sizeof now &&
              memcmp(now, iota_head, sizeof now) == 0);
        if (fd >= 0)
            close(fd);
    }

    /* An unreadable root is the one fatal error (its log line is expected). */
    int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);
    if (!getenv("TEST_VERBOSE") && null >= 0)
        dup2(null, STDERR_FILENO);
    n = recover_takes(-1, "/nonexistent");
    dup2(saved, STDERR_FILENO);
    close(saved);
    if (null >= 0)
        close(null);
    CHECK_INT_EQ(n, -1);

out:
    if (unit_failed == 0 && !getenv("KEEP"))
        cleanup(top);
    else
        fprintf(stderr, "test_recover: kept %s\n", top);
    return unit_summary("test_recover");
}
