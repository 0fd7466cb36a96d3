/* loudcost — what stemcapd's loudness measurement (daemon/loudness.c, on
 * the disk thread) costs: 9 stereo files (8 stems and the mix) of noise fed
 * in the writer's 4096-frame blocks, as the writer feeds them; prints the
 * CPU time per stereo frame and the share of one CPU it takes at 48 kHz.
 *   loudcost [SECONDS]   (default 60 s of audio per file) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "loudness.h"

#define FILES 9
#define BLOCK 4096

static double
cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    static struct loudness l[FILES];
    static float left[BLOCK], right[BLOCK];
    double seconds = argc > 1 ? atof(argv[1]) : 60.0;
    unsigned rate = 48000, seed = 1;
    uint64_t frames = (uint64_t)(seconds * rate);

    if (seconds <= 0.0)
        return 2;
    for (int f = 0; f < FILES; f++)
        if (loudness_init(&l[f], rate, 2) < 0)
            return 1;
    for (int i = 0; i < BLOCK; i++) {
        seed = seed * 1664525u + 1013904223u;
        left[i] = (float)((int)(seed >> 8) - (1 << 23)) / (float)(1 << 24);
        seed = seed * 1664525u + 1013904223u;
        right[i] = (float)((int)(seed >> 8) - (1 << 23)) / (float)(1 << 24);
    }
    double t0 = cpu_now();
    for (uint64_t done = 0; done < frames; done += BLOCK)
        for (int f = 0; f < FILES; f++)
            loudness_feed(&l[f], left, right, BLOCK);
    for (int f = 0; f < FILES; f++)
        loudness_flush(&l[f]);
    double cpu = cpu_now() - t0;
    struct loudness_figs g;
    loudness_get(&l[0], &g);
    printf("loudness of %d stereo files, %.0f s of audio each at %u Hz: %.3f CPU s, %.1f ns a "
           "stereo frame, %.2f %% of one CPU in real time (integrated %.1f LUFS)\n",
           FILES, seconds, rate, cpu, cpu / (double)frames / FILES * 1e9, cpu / seconds * 100.0,
           g.integrated_lufs);
    for (int f = 0; f < FILES; f++)
        loudness_free(&l[f]);
    return 0;
}
