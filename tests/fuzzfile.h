/* fuzzfile — the libFuzzer harnesses' input as a file: fuzz_conf and
 * fuzz_hdr write each input into one memfd and hand its /proc/self/fd path
 * to the code under test.  A failed write aborts (the harness is broken,
 * not the input). */
#ifndef STEMCAP_FUZZFILE_H
#define STEMCAP_FUZZFILE_H

#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/* The memfd `fd` holds exactly data[0..size) afterwards. */
static inline void
fuzzfile_fill(int fd, const uint8_t *data, size_t size)
{
    if (ftruncate(fd, 0) < 0)
        abort();
    for (size_t done = 0; done < size;) {
        ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
        if (n <= 0)
            abort();
        done += (size_t)n;
    }
}

#endif
