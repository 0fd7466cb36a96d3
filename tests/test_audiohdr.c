/* test_audiohdr — unit tests of daemon/audiohdr.c on real files.
 *
 * Every file is written by libsndfile (the headers stemcapd writes: WAV as
 * RF64 with auto-downgrade, AIFF, AIFC float, W64; plain WAV and RF64 proper
 * as other programs write them), then damaged the way a hostile or broken
 * file is: cut inside the RIFF header, the fmt chunk, the ds64 chunk, the
 * data chunk header or the audio; a data or RIFF size of 0xFFFFFFFF; ds64
 * sizes that lie either way; 0 channels; a block align that disagrees; 300
 * chunks; a W64 chunk smaller than its header.  Checked: the parse result
 * and the words of its reason, what the header declares against what the
 * file holds, that no file is ever written by a parse, and the rewrite the
 * recovery uses: a killed file repaired to every whole frame it holds (the
 * audio bytes unchanged, libsndfile reading them all), a RIFF file sparse
 * past 4 GiB turned into RF64 (or, with no room for the ds64 chunk, refused
 * with the file untouched), and refusals (more frames than present, chunks
 * after the audio).  Not regular files (a FIFO, /dev/zero) and foreign
 * formats are refused without a read that could block.  KEEP=1 keeps the
 * folder. */
#include "audiohdr.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 1000 /* frames in each file */

static char dir[PATH_MAX];

static const char *
path(const char *name)
{
    static char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p) {
        fprintf(stderr, "path too long: %s/%s\n", dir, name);
        exit(2);
    }
    return p;
}

/* A stereo file of N frames; update_only: the header as a kill leaves it
 * (updated at 0 frames, N frames written after). */
static int
make(const char *name, int format, int auto_downgrade, int killed)
{
    SF_INFO info = {.samplerate = 48000, .channels = 2, .format = format};
    float buf[2 * N];
    int status;

    for (int i = 0; i < 2 * N; i++)
        buf[i] = (float)((i * 7919) % 2001 - 1000) / 2048.0f;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        SNDFILE *sf = sf_open(path(name), SFM_WRITE, &info);
        if (!sf)
            _exit(1);
        if (auto_downgrade)
            sf_command(sf, SFC_RF64_AUTO_DOWNGRADE, NULL, SF_TRUE);
        sf_set_string(sf, SF_STR_TITLE, "Song - Stem");
        if (killed)
            sf_command(sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
        if (sf_writef_float(sf, buf, N) != N)
            _exit(1);
        if (killed)
            _exit(0);
        _exit(sf_close(sf) == 0 ? 0 : 1);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "cannot write %s\n", name);
        return -1;
    }
    return 0;
}

/* A WAV file closed properly with its LIST chunk after the audio. */
static int
make_tail(const char *name)
{
    SF_INFO info = {.samplerate = 48000, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    short buf[2 * N] = {0};
    SNDFILE *sf = sf_open(path(name), SFM_WRITE, &info);
    if (!sf || sf_writef_short(sf, buf, N) != N)
        return -1;
    sf_set_string(sf, SF_STR_TITLE, "Tail title");
    return sf_close(sf) == 0 ? 0 : -1;
}

static char *
slurp(const char *name, size_t *len)
{
    FILE *f = fopen(path(name), "rb");
    char *buf = NULL;
    long n;

    *len = 0;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
            *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

static int
spit(const char *name, const char *data, size_t len)
{
    FILE *f = fopen(path(name), "wb");
    int ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

/* A copy of `from` as `to`, cut to `len` bytes (0: whole), with `n` bytes
 * of `patch` at `at` (n 0: none). */
static int
variant(const char *from, const char *to, size_t len, size_t at, const void *patch, size_t n)
{
    size_t have;
    char *d = slurp(from, &have);
    int rc = -1;

    if (d && at + n <= have) {
        if (n)
            memcpy(d + at, patch, n);
        rc = spit(to, d, len && len < have ? len : have);
    }
    free(d);
    return rc;
}

static size_t
offset_of(const char *name, const char *id)
{
    size_t len;
    char *d = slurp(name, &len);
    size_t at = 0;

    for (size_t i = 0; d && i + 4 <= len && !at; i++)
        if (memcmp(d + i, id, 4) == 0)
            at = i;
    free(d);
    return at;
}

/* Parses the file without reading it whole (a sparse one of 4 GiB). */
static int
parse_big(const char *name, struct audiohdr *h)
{
    int fd = open(path(name), O_RDONLY | O_CLOEXEC);
    int rc = fd >= 0 ? audiohdr_parse(fd, h) : -2;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Parses the file; *h filled in.  The file must not change. */
static int
parse(const char *name, struct audiohdr *h)
{
    size_t before_len, after_len;
    char *before = slurp(name, &before_len);
    int fd = open(path(name), O_RDONLY | O_CLOEXEC);
    int rc = fd >= 0 ? audiohdr_parse(fd, h) : -2;
    if (fd >= 0)
        close(fd);
    char *after = slurp(name, &after_len);
    CHECK(before && after && before_len == after_len && memcmp(before, after, before_len) == 0);
    free(before);
    free(after);
    return rc;
}

/* The parse fails (-1) with a reason that contains `words`. */
static void
refused(const char *name, const char *words)
{
    struct audiohdr h;
    int rc = parse(name, &h);
    if (!CHECK_INT_EQ(rc, -1) || !CHECK(strstr(h.why, words)))
        fprintf(stderr, "  %s: %d \"%s\" (expected \"%s\")\n", name, rc, h.why, words);
}

/* The parse succeeds with an inconsistent header whose reason contains `words`. */
static void
inconsistent(const char *name, const char *words, uint64_t declared, uint64_t present)
{
    struct audiohdr h;
    int rc = parse(name, &h);
    if (!CHECK_INT_EQ(rc, 0) || !CHECK(!h.consistent) || !CHECK(strstr(h.why, words)))
        fprintf(stderr, "  %s: %d %d \"%s\" (expected \"%s\")\n", name, rc, h.consistent, h.why,
                words);
    CHECK_INT_EQ(h.declared, declared);
    CHECK_INT_EQ(h.present, present);
}

static int64_t
frames_of(const char *name)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(path(name), SFM_READ, &info);
    if (!sf)
        return -1;
    sf_close(sf);
    return info.frames;
}

/* Rewrites the header for every whole frame present; the audio bytes of
 * those frames stay what they were. */
static void
repair(const char *name, uint64_t want_frames)
{
    struct audiohdr h, again;
    size_t len, len2;
    if (!CHECK_INT_EQ(parse(name, &h), 0))
        return;
    char *before = slurp(name, &len);
    int fd = open(path(name), O_RDWR | O_CLOEXEC);
    uint64_t frames = h.present / h.frame;
    CHECK_INT_EQ(frames, want_frames);
    CHECK_INT_EQ(audiohdr_rewrite(fd, &h, frames), 0);
    close(fd);
    char *after = slurp(name, &len2);
    CHECK(before && after && len2 >= h.data_off + frames * h.frame &&
          memcmp(before + h.data_off, after + h.data_off, frames * h.frame) == 0);
    CHECK_INT_EQ(parse(name, &again), 0);
    CHECK(again.consistent);
    CHECK_INT_EQ(again.present, frames * h.frame);
    CHECK_INT_EQ(frames_of(name), (int64_t)frames);
    free(before);
    free(after);
}

int
main(void)
{
    struct audiohdr h;
    const unsigned char ffff[4] = {0xFF, 0xFF, 0xFF, 0xFF}, zero2[2] = {0, 0}, five[2] = {5, 0};

    snprintf(dir, sizeof dir, "/tmp/stemcap-test-audiohdr.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    int made = make("take.wav", SF_FORMAT_RF64 | SF_FORMAT_PCM_24, 1, 0) == 0 &&
               make("rf64.wav", SF_FORMAT_RF64 | SF_FORMAT_PCM_24, 0, 0) == 0 &&
               make("take.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 0, 0) == 0 &&
               make("float.aiff", SF_FORMAT_AIFF | SF_FORMAT_FLOAT, 0, 0) == 0 &&
               make("take.w64", SF_FORMAT_W64 | SF_FORMAT_DOUBLE, 0, 0) == 0 &&
               make("plain.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 0, 0) == 0 &&
               make("killed.wav", SF_FORMAT_RF64 | SF_FORMAT_PCM_24, 1, 1) == 0 &&
               make("killed.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 0, 1) == 0 &&
               make("killed.w64", SF_FORMAT_W64 | SF_FORMAT_PCM_24, 0, 1) == 0 &&
               make_tail("tail.wav") == 0;
    if (!CHECK(made))
        goto out;

    /* What libsndfile writes: consistent, every size borne out. */
    static const struct {
        const char *name;
        enum audiohdr_format format;
        enum audiohdr_encoding encoding;
        uint32_t frame;
    } good[] = {
        {"take.wav", AUDIOHDR_WAV, AUDIOHDR_PCM, 6},
        {"rf64.wav", AUDIOHDR_RF64, AUDIOHDR_PCM, 6},
        {"take.aiff", AUDIOHDR_AIFF, AUDIOHDR_PCM, 6},
        {"float.aiff", AUDIOHDR_AIFC, AUDIOHDR_FLOAT, 8},
        {"take.w64", AUDIOHDR_W64, AUDIOHDR_FLOAT, 16},
        {"plain.wav", AUDIOHDR_WAV, AUDIOHDR_PCM, 4},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int rc = parse(good[i].name, &h);
        if (!CHECK_INT_EQ(rc, 0) || !CHECK(h.consistent))
            fprintf(stderr, "  %s: \"%s\"\n", good[i].name, h.why);
        CHECK_INT_EQ(h.format, good[i].format);
        CHECK_INT_EQ(h.encoding, good[i].encoding);
        CHECK_INT_EQ(h.channels, 2);
        CHECK_INT_EQ(h.frame, good[i].frame);
        CHECK_INT_EQ(h.bytes * h.channels, good[i].frame);
        CHECK(h.rate == 48000.0);
        CHECK_INT_EQ(h.declared, (uint64_t)N * good[i].frame);
        CHECK_INT_EQ(h.present, h.declared);
        CHECK(h.data_last && !h.size_unset && h.why[0] == '\0');
    }
    /* Chunks after the audio: finalised, not the audio. */
    CHECK_INT_EQ(parse("tail.wav", &h), 0);
    CHECK(h.consistent && !h.data_last);
    CHECK_INT_EQ(h.present, N * 4);

    /* Killed: the header says 0 frames, the audio follows. */
    inconsistent("killed.wav", "not updated after the audio", 0, N * 6);
    inconsistent("killed.aiff", "not updated after the audio", 0, N * 6);
    inconsistent("killed.w64", "not updated after the audio", 0, N * 6);

    /* Cut short: inside the RIFF header, fmt, ds64, the data chunk header, the audio. */
    size_t fmt = offset_of("take.wav", "fmt "), data = offset_of("take.wav", "data");
    size_t ds64 = offset_of("rf64.wav", "ds64"), rdata = offset_of("rf64.wav", "data");
    CHECK(fmt > 0 && data > fmt && ds64 > 0 && rdata > ds64);
    variant("take.wav", "cut-riff.wav", 7, 0, NULL, 0);
    refused("cut-riff.wav", "ends at byte 7, inside the RIFF header");
    variant("take.wav", "cut-fmt.wav", fmt + 20, 0, NULL, 0);
    refused("cut-fmt.wav", "the fmt chunk is cut short");
    variant("rf64.wav", "cut-ds64.wav", ds64 + 16, 0, NULL, 0);
    refused("cut-ds64.wav", "the ds64 chunk is cut short");
    variant("take.wav", "cut-data.wav", data + 5, 0, NULL, 0);
    refused("cut-data.wav", "inside a chunk header");
    variant("take.wav", "cut-audio.wav", data + 8 + 3000, 0, NULL, 0);
    inconsistent("cut-audio.wav", "only 3000 follow", N * 6, 3000);
    variant("take.aiff", "cut.aiff", 30, 0, NULL, 0);
    refused("cut.aiff", "the COMM chunk is cut short");
    variant("take.w64", "cut.w64", 30, 0, NULL, 0);
    refused("cut.w64", "inside the W64 header");
    variant("take.wav", "empty.wav", 0, 0, NULL, 0);
    spit("empty.wav", "", 0);
    refused("empty.wav", "an empty file");

    /* Sizes of 0xFFFFFFFF in a plain RIFF. */
    variant("take.wav", "data-ffff.wav", 0, data + 4, ffff, 4);
    inconsistent("data-ffff.wav", "0xFFFFFFFF, which only an RF64 file may say", 0xFFFFFFFFu,
                 N * 6);
    CHECK(parse("data-ffff.wav", &h) == 0 && h.size_unset);
    variant("take.wav", "riff-ffff.wav", 0, 4, ffff, 4);
    inconsistent("riff-ffff.wav", "the RIFF size is 0xFFFFFFFF", N * 6, N * 6);
    /* A non-audio chunk that claims 4 GiB. */
    size_t list = offset_of("take.wav", "LIST");
    variant("take.wav", "list-ffff.wav", 0, list + 4, ffff, 4);
    refused("list-ffff.wav", "past the end of the file");

    /* RF64 ds64 sizes that lie: more and less than the audio. */
    uint64_t more = N * 6 + 6000, less = 600;
    unsigned char m8[8], l8[8];
    for (int i = 0; i < 8; i++) {
        m8[i] = (unsigned char)(more >> (8 * i));
        l8[i] = (unsigned char)(less >> (8 * i));
    }
    variant("rf64.wav", "ds64-more.wav", 0, ds64 + 16, m8, 8);
    inconsistent("ds64-more.wav", "the ds64 chunk declares 12000 bytes of audio but only 6000",
                 more, N * 6);
    variant("rf64.wav", "ds64-less.wav", 0, ds64 + 16, l8, 8);
    inconsistent("ds64-less.wav", "they are not chunks", less, N * 6);
    variant("rf64.wav", "ds64-unset.wav", 0, ds64 + 16, "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 8);
    inconsistent("ds64-unset.wav", "not yet known", UINT64_MAX, N * 6);
    variant("rf64.wav", "ds64-riff.wav", 0, ds64 + 8, m8, 8);
    inconsistent("ds64-riff.wav", "RIFF size says the file has 12008 bytes", N * 6, N * 6);

    /* 0 channels, a block align that disagrees, in every format. */
    variant("take.wav", "ch0.wav", 0, fmt + 10, zero2, 2);
    refused("ch0.wav", "the fmt chunk says 0 channels");
    variant("take.wav", "align.wav", 0, fmt + 20, five, 2);
    refused("align.wav", "block align 5 disagrees with its 2 channels of 3 bytes (6)");
    size_t comm = offset_of("take.aiff", "COMM");
    variant("take.aiff", "ch0.aiff", 0, comm + 8, zero2, 2);
    refused("ch0.aiff", "the COMM chunk says 0 channels");
    size_t wfmt = offset_of("take.w64", "fmt ");
    variant("take.w64", "ch0.w64", 0, wfmt + 26, zero2, 2);
    refused("ch0.w64", "the fmt chunk says 0 channels");
    variant("take.w64", "small.w64", 0, wfmt + 16, "\x10\0\0\0\0\0\0\0", 8);
    refused("small.w64", "less than its own 24-byte header");
    variant("take.w64", "rate0.w64", 0, wfmt + 28, "\0\0\0\0", 4);
    refused("rate0.w64", "a sample rate of 0 Hz");

    /* 300 chunks before the audio: bounded. */
    {
        size_t len;
        char *d = slurp("plain.wav", &len), *big = malloc(len + 300 * 8);
        size_t pd = offset_of("plain.wav", "data");
        if (CHECK(d && big)) {
            memcpy(big, d, pd);
            for (int i = 0; i < 300; i++)
                memcpy(big + pd + 8 * i, "junk\0\0\0\0", 8);
            memcpy(big + pd + 300 * 8, d + pd, len - pd);
            spit("chunks.wav", big, len + 300 * 8);
            refused("chunks.wav", "more than 256 chunks");
        }
        free(d);
        free(big);
    }

    /* Not a regular file, and not one of ours: never a read that blocks. */
    CHECK(mkfifo(path("fifo.wav"), 0644) == 0);
    int fd = open(path("fifo.wav"), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    CHECK(fd >= 0 && audiohdr_parse(fd, &h) == -1 && strstr(h.why, "not a regular file"));
    if (fd >= 0)
        close(fd);
    fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && audiohdr_parse(fd, &h) == -1 && strstr(h.why, "not a regular file"));
    if (fd >= 0)
        close(fd);
    spit("text.wav", "not audio at all\n", 17);
    CHECK_INT_EQ(parse("text.wav", &h), 1);
    CHECK(strstr(h.why, "not a WAV, RF64, AIFF or W64 file"));

    /* The recovery's rewrite: every whole frame kept, byte for byte. */
    repair("killed.wav", N);
    repair("killed.aiff", N);
    repair("killed.w64", N);
    repair("ds64-more.wav", N);
    repair("ds64-less.wav", N);
    repair("data-ffff.wav", N);
    variant("take.wav", "partial.wav", data + 8 + 3001, 0, NULL, 0);
    repair("partial.wav", 500); /* a partial frame is no frame */
    /* Refused: more frames than present; chunks after the audio. */
    CHECK_INT_EQ(parse("partial.wav", &h), 0);
    fd = open(path("partial.wav"), O_RDWR | O_CLOEXEC);
    CHECK_INT_EQ(audiohdr_rewrite(fd, &h, 501), -1);
    CHECK(strstr(h.why, "501 frames asked for, but the file holds 500"));
    close(fd);
    CHECK_INT_EQ(parse("tail.wav", &h), 0);
    fd = open(path("tail.wav"), O_RDWR | O_CLOEXEC);
    CHECK_INT_EQ(audiohdr_rewrite(fd, &h, 10), -1);
    CHECK(strstr(h.why, "chunks follow the audio"));
    close(fd);
    CHECK_INT_EQ(frames_of("tail.wav"), N);

    /* Past 4 GiB (sparse): RIFF becomes RF64 where there is room for a
     * ds64 chunk (stemcapd's JUNK), and is refused, untouched, where not. */
    struct stat st;
    const char *big[] = {"killed.wav", "plain.wav"};
    for (int i = 0; i < 2; i++) {
        const char *name = big[i];
        if (stat(path(name), &st) < 0 || truncate(path(name), st.st_size + ((off_t)1 << 32)) < 0 ||
            stat(path(name), &st) < 0 || st.st_blocks > 1024 * 1024) {
            printf("test_audiohdr: no sparse files here, the RF64 upgrade is not tested\n");
            break;
        }
        CHECK_INT_EQ(parse_big(name, &h), 0);
        uint64_t frames = h.present / h.frame;
        char head[64];
        fd = open(path(name), O_RDWR | O_CLOEXEC);
        CHECK(pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head);
        int rc = audiohdr_rewrite(fd, &h, frames);
        if (i == 0) {
            CHECK_INT_EQ(rc, 0);
            CHECK_INT_EQ(h.format, AUDIOHDR_RF64);
            CHECK_INT_EQ(parse_big(name, &h), 0);
            CHECK(h.consistent && h.format == AUDIOHDR_RF64);
            CHECK_INT_EQ(frames_of(name), (int64_t)frames);
        } else {
            char now[64];
            struct stat st2;
            CHECK_INT_EQ(rc, -1);
            CHECK(strstr(h.why, "need an RF64 header, which cannot be written: no room"));
            CHECK(fstat(fd, &st2) == 0 && st2.st_size == st.st_size);
            CHECK(pread(fd, now, sizeof now, 0) == (ssize_t)sizeof now &&
                  memcmp(now, head, sizeof head) == 0);
        }
        close(fd);
        CHECK(truncate(path(name), 0) == 0); /* give the blocks back */
    }

out:
    if (unit_failed == 0 && !getenv("KEEP")) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
    } else {
        fprintf(stderr, "test_audiohdr: kept %s\n", dir);
    }
    return unit_summary("test_audiohdr");
}
