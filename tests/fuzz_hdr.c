/* fuzz_hdr — libFuzzer harness over the header codec (daemon/audiohdr.c)
 * that stemcap-check and the startup recovery share.
 *
 * Each input is a whole file: written to a memfd and parsed with
 * audiohdr_parse(), as both readers do with a file of a take.  Then what the
 * recovery does with it: when the audio is PCM or float and runs to the end
 * of the file, the header is rewritten for the whole frames present
 * (audiohdr_rewrite(), as recover.c does), and once more on a copy made
 * sparse past 4 GiB, where a plain RIFF must turn into RF64.  A violation of
 * what the codec promises aborts (a crash to libFuzzer):
 *   - the parse returns -1, 0 or 1, with a reason that is one printable line
 *     whenever it is not a consistent header;
 *   - a parsed header has 1..256 channels, a rate in range, its audio inside
 *     the file, and a consistent or finalised one presents what it declares;
 *   - a rewrite either fails with a reason and the file unchanged, or leaves
 *     a header that parses as consistent with exactly those frames at the
 *     same offset, every audio byte of those frames as it was: a repair never
 *     loses or changes a frame that was on disk.
 *
 * Build and run: `make fuzz` (tests/fuzz.mk); seeds in tests/corpus/hdr/. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzzfile.h"
#include "audiohdr.h"

#define FUZZ_SPARSE ((uint64_t)1 << 32) /* the sparse copy's audio: 4 GiB and more */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static unsigned char back[16384]; /* a file's bytes read back */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    memfd = memfd_create("stemcap-fuzz-hdr", MFD_CLOEXEC);
    if (memfd < 0) {
        perror("fuzz_hdr: memfd_create");
        abort();
    }
    return 0;
}

static void
fuzz_fail(const char *what, const struct audiohdr *h)
{
    fprintf(stderr, "fuzz_hdr: %s (format %s, why \"%s\")\n", what, audiohdr_format_name(h->format),
            h->why);
    abort();
}

/* The reason is one line of printable text, and says something. */
static void
fuzz_check_why(const struct audiohdr *h)
{
    size_t n = strnlen(h->why, sizeof h->why);
    if (n == 0 || n == sizeof h->why)
        fuzz_fail("no reason, or one without its NUL", h);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)h->why[i] < 0x20 || (unsigned char)h->why[i] == 0x7F)
            fuzz_fail("a reason with a control character", h);
}

static void
fuzz_check_parsed(const struct audiohdr *h, uint64_t size)
{
    if (h->file_size != size)
        fuzz_fail("file size", h);
    if (h->channels < 1 || h->channels > 256 || !(h->rate >= 1.0 && h->rate <= 1e7))
        fuzz_fail("channels or rate out of range", h);
    if (h->data_off > size || h->present > size - h->data_off)
        fuzz_fail("audio outside the file", h);
    if (h->encoding != AUDIOHDR_OTHER && h->frame != (uint32_t)(h->bytes * h->channels))
        fuzz_fail("a frame that is not channels x bytes per sample", h);
    if ((h->consistent || !h->data_last) && h->present != h->declared)
        fuzz_fail("a trusted header that does not present what it declares", h);
    if (h->data_hdr >= h->data_off || (h->ds64 && h->ds64 >= h->data_hdr) ||
        (h->fact && h->fact >= h->data_hdr) || (h->comm && h->comm >= h->data_hdr))
        fuzz_fail("a size field at or after the audio", h);
    if (!h->consistent)
        fuzz_check_why(h);
    (void)audiohdr_format_name(h->format);
}

/* 1 when the file's bytes in [from, to) are the input's (to <= size). */
static int
fuzz_same(const uint8_t *data, uint64_t from, uint64_t to)
{
    while (from < to) {
        size_t n = to - from < sizeof back ? (size_t)(to - from) : sizeof back;
        if (pread(memfd, back, n, (off_t)from) != (ssize_t)n || memcmp(back, data + from, n) != 0)
            return 0;
        from += n;
    }
    return 1;
}

/* A rewrite that failed said why and left the file as it was. */
static void
fuzz_unchanged(const uint8_t *data, const struct audiohdr *h, uint64_t before, uint64_t head)
{
    struct stat st;

    fuzz_check_why(h);
    if (fstat(memfd, &st) < 0 || (uint64_t)st.st_size != before || !fuzz_same(data, 0, head))
        fuzz_fail("a failed rewrite changed the file", h);
}

/* The recovery's repair of the file on the memfd: rewritten for every whole
 * frame present, then checked against the input (`size` bytes of it were
 * written, the file may be longer: sparse). */
static void
fuzz_repair(const uint8_t *data, size_t size)
{
    struct audiohdr h, again;

    if (audiohdr_parse(memfd, &h) != 0)
        return; /* the sparse copy of a header that only parsed short */
    fuzz_check_parsed(&h, h.file_size);
    uint64_t before = h.file_size, head = before < size ? before : size;
    if (h.encoding == AUDIOHDR_OTHER || h.frame == 0 || !h.data_last) {
        /* Not the recovery's to repair: refused, nothing written. */
        if (audiohdr_rewrite(memfd, &h, 0) == 0)
            fuzz_fail("a rewrite of audio it cannot describe", &h);
        fuzz_unchanged(data, &h, before, head);
        return;
    }
    uint64_t frames = h.present / h.frame, bytes = frames * h.frame;
    enum audiohdr_format format = h.format;
    struct audiohdr more = h;
    if (audiohdr_rewrite(memfd, &more, frames + 1) == 0)
        fuzz_fail("a rewrite for more frames than the file holds", &more);
    fuzz_unchanged(data, &more, before, head);
    if (audiohdr_rewrite(memfd, &h, frames) < 0) {
        fuzz_unchanged(data, &h, before, head);
        return;
    }
    if (audiohdr_parse(memfd, &again) != 0)
        fuzz_fail("a rewritten header does not parse", &h);
    fuzz_check_parsed(&again, again.file_size);
    if (!again.consistent || again.present != bytes || again.declared != bytes ||
        !again.data_last || again.data_off != h.data_off || again.frame != h.frame ||
        again.channels != h.channels)
        fuzz_fail("a rewritten header is not what was written", &again);
    if (again.format != format && !(format == AUDIOHDR_WAV && again.format == AUDIOHDR_RF64))
        fuzz_fail("a rewrite changed the format", &again);
    if (again.format != format && again.file_size - 8 <= UINT32_MAX)
        fuzz_fail("an RF64 upgrade of a file that fits RIFF", &again);
    uint64_t end = h.data_off + bytes < size ? h.data_off + bytes : size;
    if (h.data_off < end && !fuzz_same(data, h.data_off, end))
        fuzz_fail("a rewrite changed an audio byte", &again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct audiohdr h;

    fuzzfile_fill(memfd, data, size);
    int rc = audiohdr_parse(memfd, &h);
    if (rc != -1 && rc != 0 && rc != 1)
        fuzz_fail("parse result", &h);
    if (rc != 0) {
        fuzz_check_why(&h);
        return 0;
    }
    fuzz_check_parsed(&h, size);
    fuzz_repair(data, size);
    if (h.format != AUDIOHDR_WAV || !h.data_last)
        return 0;
    /* A RIFF file that grew past 4 GiB after its last header update. */
    fuzzfile_fill(memfd, data, size);
    if (ftruncate(memfd, (off_t)(h.data_off + FUZZ_SPARSE + (size & 0xFFF))) < 0)
        abort();
    fuzz_repair(data, size);
    return 0;
}
