/* audiohdr — the chunk walker of WAV, RF64, AIFF/AIFC and Sony Wave64 headers.  It owns their
 * byte layout and nothing else: what to do with a file is its callers' business.  It promises
 * bounded work on any file at all (reads of at most 40 bytes at a time, one of at most
 * AUDIOHDR_MAX_HEADER bytes for an RF64 rewrite; at most AUDIOHDR_MAX_CHUNKS chunks before the
 * audio and as many after it; no allocation sized by what a file claims; no size field that can
 * overflow the arithmetic) and a one-line reason (numbers and chunk ids, never raw bytes) whenever
 * a file is not what it says.  A header is trusted only as far as the file bears it out
 * (docs/DESIGN.md, section "Recovery after a kill"); only audiohdr_rewrite() writes, and it
 * writes header fields only, never a byte of audio. */
#include "audiohdr.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR_MAX_RATE 10000000.0

static const unsigned char hdr_w64_riff[16] = {'r',  'i',  'f',  'f',  0x2E, 0x91, 0xCF, 0x11,
                                               0xA5, 0xD6, 0x28, 0xDB, 0x04, 0xC1, 0x00, 0x00};
static const unsigned char hdr_w64_tail[12] = {0xF3, 0xAC, 0xD3, 0x11, 0x8C, 0xD1,
                                               0x00, 0xC0, 0x4F, 0x8E, 0xDB, 0x8A};

/* What the walk learns besides struct audiohdr: for the consistency checks. */
struct hdr_walk {
    int fd;
    struct audiohdr *h;
    const char *declares;     /* "the data chunk", "the ds64 chunk", "the SSND chunk" */
    const char *container;    /* "RIFF", "FORM", ... */
    uint64_t container_end;   /* where the container's own size says the file ends */
    int container_ffff;       /* a plain RIFF's size field is 0xFFFFFFFF */
    const char *unset;        /* how the data size says "not known yet" */
    uint64_t frames_said;     /* frames a second field declares (ds64, COMM) */
    const char *frames_where; /* ... that field's chunk; NULL: none */
    char last_id[24];         /* the last chunk walked past, for messages */
    uint64_t last_pos, last_size;
};

/* ---- bytes ---- */

static uint32_t
hdr_le16(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t
hdr_le32(const unsigned char *p)
{
    return hdr_le16(p) | hdr_le16(p + 2) << 16;
}

static uint64_t
hdr_le64(const unsigned char *p)
{
    return (uint64_t)hdr_le32(p) | (uint64_t)hdr_le32(p + 4) << 32;
}

static uint32_t
hdr_be16(const unsigned char *p)
{
    return (uint32_t)p[0] << 8 | (uint32_t)p[1];
}

static uint32_t
hdr_be32(const unsigned char *p)
{
    return hdr_be16(p) << 16 | hdr_be16(p + 2);
}

static void
hdr_put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void
hdr_put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static int
hdr_printable(const unsigned char *id)
{
    for (int i = 0; i < 4; i++)
        if (id[i] < 0x20 || id[i] > 0x7E)
            return 0;
    return 1;
}

/* 1 when the 4-byte chunk id is one of `ids`, "|"-separated ("NONE|twos"). */
static int
hdr_id_is(const void *id, const char *ids)
{
    for (const char *p = ids;; p += 5) {
        if (memcmp(id, p, 4) == 0)
            return 1;
        if (p[4] != '|')
            return 0;
    }
}

/* A chunk id for a message: 'LIST', or its bytes in hex when not printable. */
static void
hdr_id_text(char out[24], const unsigned char *id)
{
    if (hdr_printable(id))
        snprintf(out, 24, "'%c%c%c%c'", id[0], id[1], id[2], id[3]);
    else
        snprintf(out, 24, "0x%02X%02X%02X%02X", id[0], id[1], id[2], id[3]);
}

/* 0 when all n bytes were read at off; -1 (errno; EIO for a short read). */
static int
hdr_pread(int fd, void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO; /* the file got shorter */
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

static int
hdr_pwrite(int fd, const void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

/* Writes the low `width` (4 or 8) bytes of v at off, little-endian or
 * big-endian: one field of a header.  0 or -1 (errno). */
static int
hdr_field(int fd, uint64_t off, uint64_t v, int width, int big)
{
    unsigned char b[8];

    for (int i = 0; i < width; i++)
        b[i] = (unsigned char)(v >> (8 * (big ? width - 1 - i : i)));
    return hdr_pwrite(fd, b, (size_t)width, off);
}

static int hdr_fail(struct audiohdr *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets h->why; returns -1. */
static int
hdr_fail(struct audiohdr *h, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(h->why, sizeof h->why, fmt, ap);
    va_end(ap);
    return -1;
}

/* Reads n bytes of the chunk `what` at off, or says where the file ends. */
static int
hdr_read_chunk(struct hdr_walk *w, const char *what, void *buf, size_t n, uint64_t off)
{
    if (off + n > w->h->file_size)
        return hdr_fail(w->h, "the %s chunk is cut short: the file ends at byte %llu", what,
                        (unsigned long long)w->h->file_size);
    if (hdr_pread(w->fd, buf, n, off) < 0)
        return hdr_fail(w->h, "cannot read the %s chunk: %s", what, strerror(errno));
    return 0;
}

/* The walk ran out of file at pos, looking for `want` (a chunk header of
 * `hsize` bytes). */
static int
hdr_ran_out(struct hdr_walk *w, uint64_t pos, uint64_t hsize, const char *want)
{
    unsigned long long fsize = w->h->file_size;

    if (pos > fsize)
        return hdr_fail(w->h,
                        "the %s chunk at byte %llu declares %llu bytes, past the end of the file "
                        "(%llu bytes): cut short, or a size that lies",
                        w->last_id, (unsigned long long)w->last_pos,
                        (unsigned long long)w->last_size, fsize);
    if (pos + hsize > fsize && pos < fsize)
        return hdr_fail(w->h, "the file ends at byte %llu, inside a chunk header: cut short",
                        fsize);
    return hdr_fail(w->h, "no %s chunk: the file ends at byte %llu", want, fsize);
}

static void
hdr_walked(struct hdr_walk *w, const unsigned char *id, uint64_t pos, uint64_t size)
{
    hdr_id_text(w->last_id, id);
    w->last_pos = pos;
    w->last_size = size;
}

/* ---- headers ---- */

static int
hdr_channels(struct audiohdr *h, const char *chunk)
{
    if (h->channels < 1)
        return hdr_fail(h, "the %s chunk says 0 channels", chunk);
    if (h->channels > 256)
        return hdr_fail(h, "the %s chunk says %d channels (256 at most)", chunk, h->channels);
    return 0;
}

/* Sample size of PCM (1..32 bits) or float (32 or 64) audio: bytes, or -1. */
static int
hdr_sample_bytes(struct audiohdr *h, const char *chunk)
{
    if (h->encoding == AUDIOHDR_FLOAT && h->bits != 32 && h->bits != 64)
        return hdr_fail(h, "the %s chunk says float samples of %d bits (32 or 64)", chunk, h->bits);
    if (h->encoding == AUDIOHDR_PCM && (h->bits < 1 || h->bits > 32))
        return hdr_fail(h, "the %s chunk says PCM samples of %d bits (1 to 32)", chunk, h->bits);
    return (h->bits + 7) / 8;
}

/* WAVEFORMATEX (WAV, RF64, W64): channels, rate, sample size, encoding;
 * `size` is the chunk's size, at least the 40 bytes in b when it is larger. */
static int
hdr_fmt(struct audiohdr *h, const unsigned char *b, uint64_t size)
{
    if (size < 16)
        return hdr_fail(h, "the fmt chunk is %llu bytes, too short (16 at least)",
                        (unsigned long long)size);
    uint32_t tag = hdr_le16(b), align = hdr_le16(b + 12);
    h->channels = (int)hdr_le16(b + 2);
    h->rate = hdr_le32(b + 4);
    h->bits = (int)hdr_le16(b + 14);
    if (tag == 0xFFFE) {
        if (size < 40)
            return hdr_fail(h, "the WAVE_FORMAT_EXTENSIBLE fmt chunk is %llu bytes (40 at least)",
                            (unsigned long long)size);
        tag = hdr_le16(b + 24); /* the sub-format GUID starts with the tag */
    }
    h->encoding = tag == 1 ? AUDIOHDR_PCM : tag == 3 ? AUDIOHDR_FLOAT : AUDIOHDR_OTHER;
    if (hdr_channels(h, "fmt") < 0)
        return -1;
    if (h->encoding == AUDIOHDR_OTHER) {
        if (align == 0)
            return hdr_fail(h, "the fmt chunk says a block align of 0");
        h->frame = align;
        return 0;
    }
    int bytes = hdr_sample_bytes(h, "fmt");
    if (bytes < 0)
        return -1;
    h->bytes = bytes;
    h->frame = (uint32_t)h->channels * (uint32_t)bytes;
    if (align != h->frame)
        return hdr_fail(h,
                        "the fmt chunk's block align %u disagrees with its %d channels of %d "
                        "bytes (%u)",
                        align, h->channels, bytes, h->frame);
    return 0;
}

static int
hdr_riff(struct hdr_walk *w, const unsigned char *head)
{
    struct audiohdr *h = w->h;
    unsigned char c[8], b[40];
    uint64_t pos = 12, ds64_data = 0, ds64_riff = 0;
    int have_fmt = 0;

    h->format = memcmp(head, "RF64", 4) == 0 ? AUDIOHDR_RF64 : AUDIOHDR_WAV;
    w->container = "RIFF";
    if (h->format == AUDIOHDR_WAV) {
        w->container_end = 8 + (uint64_t)hdr_le32(head + 4);
        w->container_ffff = hdr_le32(head + 4) == 0xFFFFFFFF;
    }
    for (int n = 0; n < AUDIOHDR_MAX_CHUNKS; n++) {
        if (pos + 8 > h->file_size)
            return hdr_ran_out(w, pos, 8, "data");
        if (hdr_pread(w->fd, c, 8, pos) < 0)
            return hdr_fail(h, "cannot read the header: %s", strerror(errno));
        uint64_t size = hdr_le32(c + 4);
        if (memcmp(c, "data", 4) == 0) {
            if (!have_fmt)
                return hdr_fail(h, "no fmt chunk before the data chunk");
            if (h->format == AUDIOHDR_RF64 && !h->ds64)
                return hdr_fail(h, "an RF64 file without a ds64 chunk before its data chunk");
            h->data_hdr = pos;
            h->data_off = pos + 8;
            h->declared = size;
            w->declares = "the data chunk";
            if (h->format == AUDIOHDR_RF64 && size == 0xFFFFFFFF) {
                h->declared = ds64_data;
                w->declares = "the ds64 chunk";
                if (ds64_data == UINT64_MAX)
                    w->unset = "the ds64 chunk's data size is 0xFFFFFFFFFFFFFFFF, not yet known";
            } else if (size == 0xFFFFFFFF) {
                w->unset = "the data chunk's size is 0xFFFFFFFF, which only an RF64 file may say";
            }
            return 0;
        }
        size_t want = size < sizeof b ? (size_t)size : sizeof b;
        if (memcmp(c, "fmt ", 4) == 0) {
            if (hdr_read_chunk(w, "fmt", b, want, pos + 8) < 0 || hdr_fmt(h, b, size) < 0)
                return -1;
            have_fmt = 1;
        } else if (memcmp(c, "ds64", 4) == 0 && h->format == AUDIOHDR_RF64) {
            if (size < 24)
                return hdr_fail(h, "the ds64 chunk is %llu bytes, too short (24 at least)",
                                (unsigned long long)size);
            if (hdr_read_chunk(w, "ds64", b, 24, pos + 8) < 0)
                return -1;
            h->ds64 = pos;
            ds64_riff = hdr_le64(b);
            ds64_data = hdr_le64(b + 8);
            w->frames_said = hdr_le64(b + 16);
            w->frames_where = w->frames_said ? "the ds64 chunk" : NULL; /* 0: not given */
            w->container = "ds64 chunk's RIFF";
            w->container_end = ds64_riff > UINT64_MAX - 8 ? UINT64_MAX : ds64_riff + 8;
        } else if (memcmp(c, "fact", 4) == 0 && size >= 4) {
            h->fact = pos;
            h->fact_size = size;
        }
        hdr_walked(w, c, pos, size);
        pos += 8 + size + (size & 1);
    }
    return hdr_fail(h, "more than %d chunks before the data chunk", AUDIOHDR_MAX_CHUNKS);
}

static int
hdr_aiff(struct hdr_walk *w, const unsigned char *head)
{
    struct audiohdr *h = w->h;
    unsigned char c[8], b[22];
    uint64_t pos = 12;

    h->format = memcmp(head + 8, "AIFC", 4) == 0 ? AUDIOHDR_AIFC : AUDIOHDR_AIFF;
    w->container = "FORM";
    w->container_end = 8 + (uint64_t)hdr_be32(head + 4);
    for (int n = 0; n < AUDIOHDR_MAX_CHUNKS; n++) {
        if (pos + 8 > h->file_size)
            return hdr_ran_out(w, pos, 8, "SSND");
        if (hdr_pread(w->fd, c, 8, pos) < 0)
            return hdr_fail(h, "cannot read the header: %s", strerror(errno));
        uint64_t size = hdr_be32(c + 4);
        if (memcmp(c, "COMM", 4) == 0) {
            size_t want = size < sizeof b ? (size_t)size : sizeof b;
            if (size < 18)
                return hdr_fail(h, "the COMM chunk is %llu bytes, too short (18 at least)",
                                (unsigned long long)size);
            if (hdr_read_chunk(w, "COMM", b, want, pos + 8) < 0)
                return -1;
            h->comm = pos;
            h->channels = (int)hdr_be16(b);
            w->frames_said = hdr_be32(b + 2);
            w->frames_where = "the COMM chunk";
            h->bits = (int)hdr_be16(b + 6);
            int exp = (int)(hdr_be16(b + 8) & 0x7FFF);
            uint64_t mant = (uint64_t)hdr_be32(b + 10) << 32 | hdr_be32(b + 14);
            h->rate = ldexp((double)mant, exp - 16383 - 63);
            h->encoding = AUDIOHDR_PCM;
            int fixed = 0; /* bytes per sample set by the compression type */
            if (h->format == AUDIOHDR_AIFC) {
                if (size < 22)
                    return hdr_fail(h, "the AIFC COMM chunk is %llu bytes: no compression type",
                                    (unsigned long long)size);
                const unsigned char *ct = b + 18;
                if (hdr_id_is(ct, "fl32|FL32|fl64|FL64")) {
                    h->encoding = AUDIOHDR_FLOAT;
                    fixed = ct[2] == '3' ? 4 : 8;
                    h->bits = 8 * fixed;
                } else if (!hdr_id_is(ct, "NONE|twos|sowt|in24|in32|raw ")) {
                    h->encoding = AUDIOHDR_OTHER;
                }
            }
            if (hdr_channels(h, "COMM") < 0)
                return -1;
            if (h->encoding == AUDIOHDR_OTHER) {
                h->frame = 0; /* compressed: no fixed frame size */
            } else {
                int bytes = fixed ? fixed : hdr_sample_bytes(h, "COMM");
                if (bytes < 0)
                    return -1;
                h->bytes = bytes;
                h->frame = (uint32_t)h->channels * (uint32_t)bytes;
            }
        } else if (memcmp(c, "SSND", 4) == 0) {
            if (!h->comm)
                return hdr_fail(h, "no COMM chunk before the SSND chunk");
            if (size < 8)
                return hdr_fail(h, "the SSND chunk is %llu bytes, too short (8 at least)",
                                (unsigned long long)size);
            if (hdr_read_chunk(w, "SSND", b, 8, pos + 8) < 0)
                return -1;
            h->ssnd_offset = hdr_be32(b);
            if (size < 8 + (uint64_t)h->ssnd_offset)
                return hdr_fail(h, "the SSND chunk's offset %u points past its end (%llu bytes)",
                                h->ssnd_offset, (unsigned long long)size);
            h->data_hdr = pos;
            h->data_off = pos + 16 + h->ssnd_offset;
            h->declared = size - 8 - h->ssnd_offset;
            w->declares = "the SSND chunk";
            return 0;
        }
        hdr_walked(w, c, pos, size);
        pos += 8 + size + (size & 1);
    }
    return hdr_fail(h, "more than %d chunks before the SSND chunk", AUDIOHDR_MAX_CHUNKS);
}

static int
hdr_w64(struct hdr_walk *w, const unsigned char *head)
{
    struct audiohdr *h = w->h;
    unsigned char c[24], b[40];
    uint64_t pos = 40;
    int have_fmt = 0;

    h->format = AUDIOHDR_W64;
    w->container = "riff";
    w->container_end = hdr_le64(head + 16); /* counts its own header */
    for (int n = 0; n < AUDIOHDR_MAX_CHUNKS; n++) {
        if (pos + 24 > h->file_size)
            return hdr_ran_out(w, pos, 24, "data");
        if (hdr_pread(w->fd, c, 24, pos) < 0)
            return hdr_fail(h, "cannot read the header: %s", strerror(errno));
        uint64_t size = hdr_le64(c + 16);
        char id[24];
        hdr_id_text(id, c);
        int known = memcmp(c + 4, hdr_w64_tail, 12) == 0;
        if (known && memcmp(c, "data", 4) == 0) {
            if (!have_fmt)
                return hdr_fail(h, "no fmt chunk before the data chunk");
            h->data_hdr = pos;
            h->data_off = pos + 24;
            h->declared = size - 24;
            w->declares = "the data chunk";
            if (size < 24) { /* libsndfile's before the first frame: 24 + -1 */
                h->declared = UINT64_MAX;
                w->unset = "the data chunk's size is below its own 24-byte header, not yet known";
            }
            return 0;
        }
        if (size < 24)
            return hdr_fail(h,
                            "the %s chunk at byte %llu declares %llu bytes, less than its own "
                            "24-byte header",
                            id, (unsigned long long)pos, (unsigned long long)size);
        size_t want = size - 24 < sizeof b ? (size_t)(size - 24) : sizeof b;
        if (known && memcmp(c, "fmt ", 4) == 0) {
            if (hdr_read_chunk(w, "fmt", b, want, pos + 24) < 0 || hdr_fmt(h, b, size - 24) < 0)
                return -1;
            have_fmt = 1;
        } else if (known && memcmp(c, "fact", 4) == 0 && size >= 28) {
            h->fact = pos;
            h->fact_size = size - 24;
        }
        hdr_walked(w, c, pos, size);
        if (size > UINT64_MAX - pos - 7)
            return hdr_ran_out(w, UINT64_MAX, 24, "data");
        pos += (size + 7) & ~(uint64_t)7;
    }
    return hdr_fail(h, "more than %d chunks before the data chunk", AUDIOHDR_MAX_CHUNKS);
}

/* 1 when the bytes from pos to the end of the file are a well-formed chain
 * of chunks: then the data chunk does not run to the end of the file. */
static int
hdr_chain(int fd, const struct audiohdr *h, uint64_t pos)
{
    unsigned char c[24];
    uint64_t fsize = h->file_size;

    for (int n = 0; n < AUDIOHDR_MAX_CHUNKS; n++) {
        if (pos == fsize)
            return 1;
        if (h->format == AUDIOHDR_W64) {
            if (pos + 24 > fsize || hdr_pread(fd, c, 24, pos) < 0 || !hdr_printable(c))
                return 0;
            uint64_t size = hdr_le64(c + 16);
            if (size < 24 || size > fsize - pos)
                return 0;
            uint64_t next = pos + ((size + 7) & ~(uint64_t)7);
            pos = next > fsize && pos + size == fsize ? fsize : next;
        } else {
            if (pos + 8 > fsize || hdr_pread(fd, c, 8, pos) < 0 || !hdr_printable(c))
                return 0;
            int big = h->format == AUDIOHDR_AIFF || h->format == AUDIOHDR_AIFC;
            uint64_t size = big ? hdr_be32(c + 4) : hdr_le32(c + 4);
            if (size > fsize - pos - 8)
                return 0;
            uint64_t next = pos + 8 + size + (size & 1);
            pos = next > fsize ? fsize : next;
        }
    }
    return 0;
}

/* Where the audio ends: h->present, h->data_last. */
static void
hdr_measure(struct hdr_walk *w)
{
    struct audiohdr *h = w->h;
    uint64_t avail = h->file_size - h->data_off;
    uint64_t pad = h->format == AUDIOHDR_W64 ? (8 - h->declared % 8) % 8 : h->declared & 1;

    h->data_last = 1;
    h->present = avail; /* a stale header: the audio runs to the end */
    if (h->declared <= avail) {
        uint64_t end = h->data_off + h->declared;
        if (end == h->file_size || end + pad == h->file_size) {
            h->present = h->declared; /* consistent */
        } else if (hdr_chain(w->fd, h, end + pad)) {
            h->present = h->declared; /* finalised: chunks follow the audio */
            h->data_last = 0;
        }
    }
}

/* h->consistent, and h->why when not. */
static void
hdr_check(struct hdr_walk *w)
{
    struct audiohdr *h = w->h;
    unsigned long long fsize = h->file_size, declared = h->declared;
    unsigned long long avail = fsize - h->data_off, end = h->data_off + h->present;
    int pcm = h->encoding != AUDIOHDR_OTHER && h->frame > 0;
    uint64_t slack = h->format == AUDIOHDR_W64 ? 7 : 1; /* a final pad the file may lack */

    h->consistent = 0;
    h->size_unset = w->unset && h->present != h->declared;
    if (h->size_unset)
        hdr_fail(h, "%s (a header never updated after it was first written); %llu bytes follow it",
                 w->unset, avail);
    else if (h->declared > avail)
        hdr_fail(h,
                 "%s declares %llu bytes of audio but only %llu follow the data chunk header: the "
                 "file is cut short, or the size lies",
                 w->declares, declared, avail);
    else if (h->present != h->declared)
        hdr_fail(h,
                 "%s declares %llu bytes of audio but %llu bytes follow it, and they are not "
                 "chunks: a header not updated after the audio was written (a recording cut "
                 "short?)",
                 w->declares, declared, avail);
    else if (w->container_ffff)
        hdr_fail(h, "the RIFF size is 0xFFFFFFFF, which only an RF64 file may say (a header never "
                    "finished?)");
    else if (w->container_end > h->file_size + slack)
        hdr_fail(h, "the %s size says the file has %llu bytes, but it has %llu: cut short",
                 w->container, (unsigned long long)w->container_end, fsize);
    else if (w->container_end < end)
        hdr_fail(h, "the %s size ends the file at byte %llu, inside the audio (which ends at %llu)",
                 w->container, (unsigned long long)w->container_end, end);
    else if (pcm && w->frames_where && w->frames_said != h->declared / h->frame)
        hdr_fail(h, "%s says %llu frames, but the audio holds %llu", w->frames_where,
                 (unsigned long long)w->frames_said, (unsigned long long)(h->declared / h->frame));
    else
        h->consistent = 1;
}

int
audiohdr_parse(int fd, struct audiohdr *h)
{
    unsigned char head[40];
    struct hdr_walk w = {.fd = fd, .h = h};
    struct stat st;
    int rc;

    memset(h, 0, sizeof *h);
    if (fstat(fd, &st) < 0)
        return hdr_fail(h, "cannot read: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return hdr_fail(h, "not a regular file");
    h->file_size = (uint64_t)st.st_size;
    size_t n = h->file_size < sizeof head ? (size_t)h->file_size : sizeof head;
    if (hdr_pread(fd, head, n, 0) < 0)
        return hdr_fail(h, "cannot read: %s", strerror(errno));
    if (n == 0)
        return hdr_fail(h, "an empty file");
    int riff = memcmp(head, "RIFF", n < 4 ? n : 4) == 0 || memcmp(head, "RF64", n < 4 ? n : 4) == 0;
    int form = memcmp(head, "FORM", n < 4 ? n : 4) == 0;
    int w64 = memcmp(head, hdr_w64_riff, n < 16 ? n : 16) == 0;
    if ((riff || form) && n < 12)
        return hdr_fail(h, "the file ends at byte %zu, inside the %s header: cut short", n,
                        form ? "FORM" : "RIFF");
    if (w64 && n < 40)
        return hdr_fail(h, "the file ends at byte %zu, inside the W64 header: cut short", n);
    if (riff && memcmp(head + 8, "WAVE", 4) == 0)
        rc = hdr_riff(&w, head);
    else if (form && (memcmp(head + 8, "AIFF", 4) == 0 || memcmp(head + 8, "AIFC", 4) == 0))
        rc = hdr_aiff(&w, head);
    else if (w64 && memcmp(head + 24, "wave", 4) == 0)
        rc = hdr_w64(&w, head);
    else {
        hdr_fail(h, "not a WAV, RF64, AIFF or W64 file");
        return 1;
    }
    if (rc < 0)
        return -1;
    if (!(h->rate >= 1.0 && h->rate <= HDR_MAX_RATE))
        return hdr_fail(h, "a sample rate of %.0f Hz", h->rate);
    if (h->data_off > h->file_size)
        return hdr_fail(h, "the file ends at byte %llu, before its audio begins (byte %llu)",
                        (unsigned long long)h->file_size, (unsigned long long)h->data_off);
    hdr_measure(&w);
    hdr_check(&w);
    return 0;
}

/* ---- rewriting ---- */

/* The header of a RIFF file rebuilt as RF64 (for audio of `bytes` bytes in a
 * file of `size` bytes): the same length as the old header before the data
 * chunk, with a ds64 chunk, without the JUNK/PAD/fact chunks, padded with a
 * PAD chunk; the data chunk header after it.  *out (malloc'ed, n + 8 bytes)
 * or -1 with h->why. */
static int
hdr_rf64_header(int fd, struct audiohdr *h, uint64_t size, uint64_t bytes, unsigned char **out)
{
    size_t n = (size_t)h->data_hdr, w = 12, pos = 12;
    unsigned char *old = NULL, *neu = NULL;
    const char *why = NULL;
    int rc = -1;

    if (h->data_hdr > AUDIOHDR_MAX_HEADER) {
        why = "the header is too large";
        goto out;
    }
    if (n < w + 36) { /* "RF64", a ds64 chunk: where "RIFF", fmt, ... were */
        why = "no room for a ds64 chunk";
        goto out;
    }
    old = malloc(n);
    neu = calloc(1, n + 8);
    if (!old || !neu) {
        why = strerror(ENOMEM);
        goto out;
    }
    if (hdr_pread(fd, old, n, 0) < 0) {
        why = strerror(errno);
        goto out;
    }
    memcpy(neu, "RF64\xFF\xFF\xFF\xFFWAVE", 12);
    memcpy(neu + w, "ds64", 4);
    hdr_put_le32(neu + w + 4, 28);
    hdr_put_le64(neu + w + 8, size - 8);
    hdr_put_le64(neu + w + 16, bytes);
    hdr_put_le64(neu + w + 24, bytes / h->frame);
    hdr_put_le32(neu + w + 32, 0);
    w += 36;
    while (pos + 8 <= n) {
        uint64_t csize = hdr_le32(old + pos + 4);
        if (csize > n || pos + 8 + csize + (csize & 1) > n) {
            why = "malformed header";
            goto out;
        }
        size_t next = pos + 8 + (size_t)csize + (size_t)(csize & 1);
        if (!hdr_id_is(old + pos, "JUNK|PAD |fact|ds64")) {
            if (w + (next - pos) > n) {
                why = "no room for a ds64 chunk";
                goto out;
            }
            memcpy(neu + w, old + pos, next - pos);
            w += next - pos;
        }
        pos = next;
    }
    if (n - w > 0 && n - w < 8) {
        why = "no room for a ds64 chunk";
        goto out;
    }
    if (n > w) {
        memcpy(neu + w, "PAD ", 4);
        hdr_put_le32(neu + w + 4, (uint32_t)(n - w - 8));
    }
    memcpy(neu + n, "data\xFF\xFF\xFF\xFF", 8);
    *out = neu;
    neu = NULL;
    rc = 0;
out:
    if (why)
        hdr_fail(h, "%.1f GiB of audio need an RF64 header, which cannot be written: %s",
                 (double)bytes / (1 << 30), why);
    free(old);
    free(neu);
    return rc;
}

/* The size fields for `frames` frames in a file of `size` bytes. */
static int
hdr_write_fields(int fd, const struct audiohdr *h, uint64_t size, uint64_t frames)
{
    uint64_t bytes = frames * h->frame;
    uint32_t frames32 = frames > UINT32_MAX ? UINT32_MAX : (uint32_t)frames;
    int e = 0;

    switch (h->format) {
    case AUDIOHDR_WAV:
        e |= hdr_field(fd, 4, size - 8, 4, 0);
        e |= hdr_field(fd, h->data_hdr + 4, bytes, 4, 0);
        if (h->fact)
            e |= hdr_field(fd, h->fact + 8, frames32, 4, 0);
        break;
    case AUDIOHDR_RF64:
        e |= hdr_field(fd, 4, UINT32_MAX, 4, 0);
        e |= hdr_field(fd, h->data_hdr + 4, UINT32_MAX, 4, 0);
        e |= hdr_field(fd, h->ds64 + 8, size - 8, 8, 0);
        e |= hdr_field(fd, h->ds64 + 16, bytes, 8, 0);
        e |= hdr_field(fd, h->ds64 + 24, frames, 8, 0);
        if (h->fact)
            e |= hdr_field(fd, h->fact + 8, frames32, 4, 0);
        break;
    case AUDIOHDR_AIFF:
    case AUDIOHDR_AIFC:
        e |= hdr_field(fd, 4, size - 8, 4, 1);
        e |= hdr_field(fd, h->data_hdr + 4, bytes + 8 + h->ssnd_offset, 4, 1);
        e |= hdr_field(fd, h->comm + 10, frames, 4, 1);
        break;
    case AUDIOHDR_W64:
        e |= hdr_field(fd, 16, size, 8, 0);
        e |= hdr_field(fd, h->data_hdr + 16, bytes + 24, 8, 0);
        if (h->fact)
            e |= hdr_field(fd, h->fact + 24, frames, h->fact_size >= 8 ? 8 : 4, 0);
        break;
    }
    return e ? -1 : 0;
}

int
audiohdr_rewrite(int fd, struct audiohdr *h, uint64_t frames)
{
    unsigned char *rf64 = NULL, zero = 0;
    int aiff = h->format == AUDIOHDR_AIFF || h->format == AUDIOHDR_AIFC;

    if (h->encoding == AUDIOHDR_OTHER || h->frame == 0)
        return hdr_fail(h, "not PCM or float audio: the header is not rewritten");
    if (!h->data_last)
        return hdr_fail(h, "chunks follow the audio: the header is not rewritten");
    if (frames > h->present / h->frame)
        return hdr_fail(h, "%llu frames asked for, but the file holds %llu",
                        (unsigned long long)frames, (unsigned long long)(h->present / h->frame));
    uint64_t bytes = frames * h->frame;
    uint64_t pad = h->format == AUDIOHDR_W64 ? 0 : bytes & 1;
    uint64_t size = h->data_off + bytes + pad;
    if (aiff && (size - 8 > UINT32_MAX || frames > UINT32_MAX))
        return hdr_fail(h, "%llu frames are more than an AIFF header can describe",
                        (unsigned long long)frames);
    if (h->format == AUDIOHDR_WAV && size - 8 > UINT32_MAX &&
        hdr_rf64_header(fd, h, size, bytes, &rf64) < 0)
        return -1;
    if (size != h->file_size && ftruncate(fd, (off_t)size) < 0) {
        free(rf64);
        return hdr_fail(h, "cannot cut to %llu bytes: %s", (unsigned long long)size,
                        strerror(errno));
    }
    int e = pad ? hdr_pwrite(fd, &zero, 1, size - 1) : 0;
    if (!e && rf64) {
        e = hdr_pwrite(fd, rf64, (size_t)h->data_hdr + 8, 0);
        if (!e) {
            h->format = AUDIOHDR_RF64;
            h->ds64 = 12;
            h->fact = 0;
        }
    } else if (!e) {
        e = hdr_write_fields(fd, h, size, frames);
    }
    free(rf64);
    if (e || fsync(fd) < 0)
        return hdr_fail(h, "cannot write the header: %s", strerror(errno));
    h->file_size = size;
    h->declared = h->present = bytes;
    h->consistent = 1;
    h->why[0] = '\0';
    return 0;
}

const char *
audiohdr_format_name(enum audiohdr_format format)
{
    switch (format) {
    case AUDIOHDR_WAV:
        return "WAV";
    case AUDIOHDR_RF64:
        return "RF64";
    case AUDIOHDR_AIFF:
        return "AIFF";
    case AUDIOHDR_AIFC:
        return "AIFC";
    case AUDIOHDR_W64:
        return "W64";
    }
    return "?";
}
