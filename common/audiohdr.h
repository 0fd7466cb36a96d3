/* audiohdr — reads and rewrites the headers of WAV, RF64, AIFF/AIFC and Sony
 * Wave64 files, through a file descriptor, for readers of files someone else
 * made (the startup recovery, stemcap-check).  Depends on libc only. */
#ifndef STEMCAP_AUDIOHDR_H
#define STEMCAP_AUDIOHDR_H

#include <stdint.h>

#define AUDIOHDR_MAX_CHUNKS 256     /* chunks walked before the audio, and after it */
#define AUDIOHDR_MAX_HEADER 1048576 /* header bytes a RIFF -> RF64 rewrite may move */
#define AUDIOHDR_WHY_MAX    192

enum audiohdr_format { AUDIOHDR_WAV, AUDIOHDR_RF64, AUDIOHDR_AIFF, AUDIOHDR_AIFC, AUDIOHDR_W64 };
enum audiohdr_encoding { AUDIOHDR_PCM, AUDIOHDR_FLOAT, AUDIOHDR_OTHER };

/* What audiohdr_parse() found.  Sizes and offsets are in bytes. */
struct audiohdr {
    enum audiohdr_format format;
    enum audiohdr_encoding encoding; /* AUDIOHDR_OTHER: compressed, a-law, ... */
    int channels;                    /* 1 .. 256 */
    int bits;                        /* bits per sample, as the header says */
    int bytes;                       /* bytes per sample (PCM, float); 0: compressed */
    uint32_t frame;                  /* bytes per frame (WAV: the block align); 0: unknown */
    double rate;                     /* frames per second, 1 .. 10^7 */
    uint64_t file_size;
    uint64_t data_off;          /* the first audio byte */
    uint64_t declared;          /* audio bytes the header declares (RF64: the ds64's) */
    uint64_t present;           /* audio bytes in the file (see audiohdr_parse) */
    int data_last;              /* no chunk follows the audio: it runs to the end of the file */
    int consistent;             /* every size in the header agrees with the file */
    int size_unset;             /* the data size is a writer's "not known yet" (the header
                                   written before the first frame): the audio runs to the end */
    char why[AUDIOHDR_WHY_MAX]; /* one line: why not ours, not to be trusted, not consistent */
    /* Where the size fields are, for audiohdr_rewrite(); 0 = no such chunk. */
    uint64_t data_hdr, ds64, fact, fact_size, comm;
    uint32_t ssnd_offset;
};

/* Reads the header of the regular file open on fd (pread only: the file
 * offset is not used) with bounded reads and no allocation.  Returns
 *   0  a WAV/RF64/AIFF/AIFC/W64 file whose header makes sense: h is filled
 *      in; h->consistent is 0 when a size disagrees with the file (a header
 *      not updated after the audio was written, a file cut short, a size
 *      that lies), and h->why then says which;
 *   1  not one of these formats (h->why says so: hand it to another reader);
 *  -1  one of them, but its header cannot be trusted (cut short inside the
 *      header, 0 channels, a block align that disagrees, ...), or fd is not
 *      a regular file, or a read failed: h->why says why.
 * The audio present: the declared bytes when the data chunk ends at the end
 * of the file or is followed by a well-formed chain of chunks that does;
 * otherwise the header is stale and the audio is taken to run to the end
 * of the file (h->data_last). */
int audiohdr_parse(int fd, struct audiohdr *h);

/* Makes the header parsed into h describe `frames` whole frames and cuts the
 * file right after them (plus a pad byte where the format wants one); a
 * RIFF file whose size no longer fits 32 bits becomes RF64 (the JUNK and
 * fact chunks give way to a ds64 chunk, as libsndfile does).  Only for
 * PCM or float audio that runs to the end of the file (h->data_last), and
 * never past the audio present.  The audio bytes are never written.  What
 * can be refused is refused before the file is touched (an RF64 header is
 * built first); then the file is cut, the fields are written and the file
 * fsync()ed.  Returns 0 (h describes the new file), or -1 with h->why set
 * (with errno's text for I/O). */
int audiohdr_rewrite(int fd, struct audiohdr *h, uint64_t frames);

/* "WAV", "RF64", "AIFF", "AIFC" or "W64". */
const char *audiohdr_format_name(enum audiohdr_format format);

#endif
