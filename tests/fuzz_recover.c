/* fuzz_recover — libFuzzer harness over the startup recovery's decision on
 * whole files: recover_takes() on a take whose manifest.json says
 * "recording", as stemcapd runs it at start.
 *
 * Each input becomes a take of two files in a folder under $FUZZ_TMPDIR
 * (default /dev/shm, else /tmp): the input itself and a copy cut short by
 * as many bytes as its last byte chooses (a kill leaves the files of a take
 * apart).  Before the recovery both are measured with the header codec;
 * after it (a violation aborts, a crash to libFuzzer):
 *   - a file whose header the codec refuses, that is not PCM or float, or
 *     whose audio is followed by chunks, is byte for byte as it was;
 *   - any other file keeps the whole frames it held, or the shortest file's
 *     count when the take was cut to it (only when the files differ by at
 *     most one writer block), its audio bytes up to there unchanged, and
 *     grows by at most a pad byte;
 *   - the manifest says "recovered", or still "recording" (a file that
 *     could not be repaired is tried again on the next start).
 * libsndfile verifies each repaired file as the daemon does, so a crash of
 * its own on such a file shows here too.
 *
 * Build and run: `make fuzz` (tests/fuzz.mk); the seeds are the header
 * fuzzer's (tests/corpus/hdr/). */
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audiohdr.h"
#include "log.h"
#include "recover.h"

#define FUZZ_MAX_CUT 4096 /* frames: recover.c's RECOVER_MAX_CUT, the writer's block */
#define FUZZ_MAX     (1 << 16)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char top[PATH_MAX], root[PATH_MAX], take[PATH_MAX];
static const char *const names[2] = {"Song - A.wav", "Song - B.wav"};
static unsigned char back[FUZZ_MAX + 16];

struct fuzz_file {
    const uint8_t *bytes; /* as written */
    size_t size;
    struct audiohdr h; /* before the recovery */
    int parsed;        /* PCM or float with a frame size: the recovery measures it */
    int alone;         /* ... or not, or its audio is followed by chunks: left alone */
    uint64_t frames;   /* whole frames present */
};

static void
fuzz_fail(const char *what, const char *name)
{
    fprintf(stderr, "fuzz_recover: %s: %s\n", name, what);
    abort();
}

static int
fuzz_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
fuzz_cleanup(void)
{
    nftw(top, fuzz_remove, 8, FTW_DEPTH | FTW_PHYS);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *base = getenv("FUZZ_TMPDIR");

    (void)argc;
    (void)argv;
    if (!base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(top, sizeof top, "%s/stemcap-fuzz-recover.XXXXXX", base);
    if (!mkdtemp(top)) {
        perror("fuzz_recover: mkdtemp");
        abort();
    }
    snprintf(root, sizeof root, "%s/takes", top);
    snprintf(take, sizeof take, "%s/Song/take-01", root);
    log_set_level(LOG_LEVEL_ERROR);
    atexit(fuzz_cleanup);
    return 0;
}

static void
fuzz_put(const char *name, const void *data, size_t size)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", take, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) < 0)
        fuzz_fail("cannot write", name);
}

/* The file as the recovery left it, into back[]; its size. */
static size_t
fuzz_get(const char *name)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", take, name);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, back, sizeof back) : -1;
    if (fd >= 0)
        close(fd);
    if (n < 0 || (size_t)n == sizeof back)
        fuzz_fail("cannot read back, or it grew", name);
    return (size_t)n;
}

static void
fuzz_measure(struct fuzz_file *f, const char *name)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", take, name);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fuzz_fail("cannot open", name);
    int rc = audiohdr_parse(fd, &f->h);
    close(fd);
    f->parsed = rc == 0 && f->h.encoding != AUDIOHDR_OTHER && f->h.frame > 0;
    f->alone = !f->parsed || !f->h.data_last;
    f->frames = f->parsed ? f->h.present / f->h.frame : 0;
}

static void
fuzz_check(const struct fuzz_file *f, const char *name, uint64_t lo, uint64_t hi)
{
    size_t n = fuzz_get(name);

    if (f->alone) {
        if (n != f->size || memcmp(back, f->bytes, n) != 0)
            fuzz_fail("a file the recovery must leave alone was changed", name);
        return;
    }
    uint64_t off = f->h.data_off, frame = f->h.frame;
    uint64_t kept = n >= off ? (n - off) / frame : 0;
    if (n > f->size + 1)
        fuzz_fail("grew by more than a pad byte", name);
    if (kept != f->frames && !(kept == lo && hi - lo <= FUZZ_MAX_CUT))
        fuzz_fail("frames lost beyond the take's common length", name);
    if (kept > f->frames)
        fuzz_fail("frames invented", name);
    if (memcmp(back + off, f->bytes + off, kept * frame) != 0)
        fuzz_fail("an audio byte changed", name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char manifest[] =
        "{\"state\": \"recording\", \"take\": 1, \"files\": "
        "[{\"file\": \"Song - A.wav\"}, {\"file\": \"Song - B.wav\"}]}\n";
    struct fuzz_file f[2];
    char p[PATH_MAX];

    if (size > FUZZ_MAX)
        return 0;
    size_t cut = size ? (size_t)data[size - 1] * 61 % (size + 1) : 0;
    f[0] = (struct fuzz_file){.bytes = data, .size = size};
    f[1] = (struct fuzz_file){.bytes = data, .size = size - cut};
    snprintf(p, sizeof p, "%s/Song", root);
    if ((mkdir(root, 0755) < 0 && access(root, W_OK) < 0) || mkdir(p, 0755) < 0 ||
        mkdir(take, 0755) < 0)
        fuzz_fail("cannot make the take folder", take);
    for (int i = 0; i < 2; i++) {
        fuzz_put(names[i], f[i].bytes, f[i].size);
        fuzz_measure(&f[i], names[i]);
    }
    fuzz_put("manifest.json", manifest, sizeof manifest - 1);

    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < 2; i++) {
        if (!f[i].parsed)
            continue;
        lo = f[i].frames < lo ? f[i].frames : lo;
        hi = f[i].frames > hi ? f[i].frames : hi;
    }
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0 || recover_takes(rootfd, root) < 0)
        fuzz_fail("recover_takes", root);
    close(rootfd);

    for (int i = 0; i < 2; i++)
        fuzz_check(&f[i], names[i], lo, hi);
    snprintf(p, sizeof p, "%s/manifest.json", take);
    json_t *m = json_load_file(p, 0, NULL);
    const char *state = json_string_value(json_object_get(m, "state"));
    if (!state || (strcmp(state, "recovered") != 0 && strcmp(state, "recording") != 0))
        fuzz_fail("the manifest's state", state ? state : "(none)");
    json_decref(m);

    snprintf(p, sizeof p, "%s/Song", root);
    if (nftw(p, fuzz_remove, 8, FTW_DEPTH | FTW_PHYS) < 0)
        fuzz_fail("cannot clean up", p);
    return 0;
}
