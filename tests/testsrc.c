/* stemcap-testsrc — JACK client playing the deterministic testsig signal into 18 output ports.
 *
 * Usage: stemcap-testsrc [-n CLIENTNAME] [-m noise|song|sine|stamp] [-c TARGET_CLIENT] [-s STEMS]
 *                        [-d SECONDS] [-x STEMLIST] [-M STEMLIST] [-e DB] [-D FRAMES] [-g DB]
 *                        [-H USEC] [-q]
 *
 * Design: ports stem1_L..stem8_R, mix_L, mix_R carry testsig channels 0..17.  The source frame
 * counter n starts at 0 on the first process cycle and advances by nframes per cycle; the process
 * callback only calls testsig_block (pure arithmetic, no allocation, locks or I/O) and publishes n
 * through an atomic.  The null-monitor test options alter only what is played: -x silences stems
 * (zeros, and left out of the mix sum); -M makes stems mono (their L channel goes into both sides
 * of the mix sum, their R channel into neither; -c connects stemK_L to TARGET:stemK); -D, -g and
 * -e make the mix ports carry
 * gain * mix(n - FRAMES) + error(n), where mix(m) is the float sum of the played stems at frame
 * m (0 for m < 0) and error(n) a 1 kHz sine; the stem ports are never affected.  Since testsig
 * is a pure function of n, the delayed mix is simply recomputed from the stems at n - FRAMES
 * into static scratch buffers, in chunks, so the callback still never allocates.  Without any of
 * these options the callback is the plain testsig_block call, bit for bit.  -H makes the callback
 * compute (spin on the clock) after it wrote its outputs, before it returns (and JACK wakes the
 * clients it feeds): a slow source, leaving a window in which a recorder woken by a stale signal
 * reads this cycle's audio before its own wake-up for it (tests/it_xrun.sh).  Signals and JACK's
 * shutdown notification only set an atomic flag and write one byte to a self-pipe; the main thread
 * polls that pipe (10 ms timeout, also used to check the -d duration against n), then deactivates
 * and closes the client.  Exit status: 0 on SIGINT/SIGTERM or when the duration is reached, 1 on
 * errors or when the JACK server goes away, 2 on usage errors.  "ready" is printed on stdout once
 * active and connected.
 */
#include <sndfile.h>

#include "srcclient.h"
#include "testsig.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jack/jack.h>

static jack_client_t *client;
static jack_port_t *ports[TESTSIG_CHANNELS];
static int mode = TESTSIG_NOISE;
static uint32_t rate;
static uint64_t next_n;      /* touched only by the process thread */
static jack_nframes_t first; /* JACK frame time of the first cycle */
static int started;
static _Atomic uint64_t frames_played;
static long hold_ns; /* -H: stay busy this long after writing the outputs */

/* Null-monitor test options (read-only once the client is active). */
#define MAX_MIX_DELAY  8192
#define SCRATCH_FRAMES 1024
#define ERROR_HZ       1000
static float *file_frames;    /* -f: the file's interleaved stereo frames */
static uint64_t file_len;     /* ... how many */
static int altered;           /* any of the options below given */
static unsigned silent_stems; /* bit s: stem s + 1 plays zeros and is left out of the mix */
static unsigned mono_stems;   /* bit s: stem s + 1 is mono: its L in both sides of the mix */
static uint32_t mix_delay;    /* -D, frames */
static float mix_gain = 1.0f; /* -g, linear */
static double error_amp;      /* -e, linear peak; 0 = none */
static float scratch[2 * TESTSIG_STEMS][SCRATCH_FRAMES]; /* stems at n - mix_delay */

/* The stems at n0.. (minus silenced ones) into bufs[0..15], and the altered mix into bufs[16..17].
 * Sum order and start value are those of testsig_block, so with no stem silenced, no delay and
 * unit gain the mix bits are the same as testsig_block's. */
static void
play_altered(float *const bufs[TESTSIG_CHANNELS], uint64_t n0, uint32_t nframes)
{
    float *stems[TESTSIG_CHANNELS] = {NULL};
    for (int c = 0; c < 2 * TESTSIG_STEMS; c++) {
        if (silent_stems & (1u << (c / 2)))
            memset(bufs[c], 0, sizeof(float) * nframes);
        else
            stems[c] = bufs[c];
    }
    testsig_block(mode, rate, n0, nframes, stems);

    for (uint32_t done = 0; done < nframes;) {
        uint32_t len = nframes - done < SCRATCH_FRAMES ? nframes - done : SCRATCH_FRAMES;
        uint64_t n = n0 + done;
        const float *src[2 * TESTSIG_STEMS];
        uint32_t lead = 0; /* frames whose delayed position is before frame 0: mix 0 */
        if (mix_delay == 0) {
            for (int c = 0; c < 2 * TESTSIG_STEMS; c++)
                src[c] = stems[c] ? stems[c] + done : NULL;
        } else {
            float *gen[TESTSIG_CHANNELS] = {NULL};
            if (n < mix_delay)
                lead = mix_delay - n < len ? (uint32_t)(mix_delay - n) : len;
            for (int c = 0; c < 2 * TESTSIG_STEMS; c++) {
                src[c] = stems[c] ? scratch[c] : NULL;
                gen[c] = stems[c] ? scratch[c] + lead : NULL;
            }
            if (lead < len)
                testsig_block(mode, rate, n + lead - mix_delay, len - lead, gen);
        }
        float *ml = bufs[TESTSIG_MIX_L] + done, *mr = bufs[TESTSIG_MIX_R] + done;
        for (uint32_t i = 0; i < len; i++) {
            float suml = 0.0f, sumr = 0.0f;
            if (i >= lead) {
                for (int s = 0; s < TESTSIG_STEMS; s++) {
                    int rc = mono_stems & (1u << s) ? 2 * s : 2 * s + 1;
                    if (src[2 * s])
                        suml += src[2 * s][i];
                    if (src[rc])
                        sumr += src[rc][i];
                }
            }
            suml *= mix_gain;
            sumr *= mix_gain;
            if (error_amp > 0.0) {
                /* exact phase: (n mod rate) * 1000 mod rate, in 1/rate cycles */
                uint64_t cyc = ((n + i) % rate) * ERROR_HZ % rate;
                float e = (float)(error_amp * sin(6.283185307179586 * (double)cyc / rate));
                suml += e;
                sumr += e;
            }
            ml[i] = suml;
            mr[i] = sumr;
        }
        done += len;
    }
}

/* Computes for `ns` nanoseconds, as a heavy plugin would: reads the clock
 * (vDSO, no system call) until it has passed; never blocks. */
static void
busy(long ns)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do
        clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < ns);
}

/* -f: the file on stem 1 and the mix (then silence); the other stems silent. */
static void
play_file(float *const bufs[TESTSIG_CHANNELS], uint64_t n0, uint32_t nframes)
{
    for (int c = 0; c < TESTSIG_CHANNELS; c++)
        memset(bufs[c], 0, nframes * sizeof(float));
    for (uint32_t j = 0; j < nframes && n0 + j < file_len; j++) {
        bufs[0][j] = bufs[TESTSIG_MIX_L][j] = file_frames[2 * (n0 + j)];
        bufs[1][j] = bufs[TESTSIG_MIX_R][j] = file_frames[2 * (n0 + j) + 1];
    }
}

/* Reads a stereo FILE at RATE into memory.  Returns 0, or -1 (reported). */
static int
load_file(const char *path, uint32_t want_rate)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);

    if (!f || info.channels != 2 || (uint32_t)info.samplerate != want_rate) {
        fprintf(stderr, "stemcap-testsrc: %s: %s\n", path,
                f ? "not a stereo file at JACK's rate" : sf_strerror(NULL));
        if (f)
            sf_close(f);
        return -1;
    }
    file_frames = malloc((size_t)info.frames * 2 * sizeof(float));
    if (!file_frames || sf_readf_float(f, file_frames, info.frames) != info.frames) {
        fprintf(stderr, "stemcap-testsrc: %s: cannot read it\n", path);
        sf_close(f);
        return -1;
    }
    file_len = (uint64_t)info.frames;
    sf_close(f);
    return 0;
}

static int
process(jack_nframes_t nframes, void *arg)
{
    float *bufs[TESTSIG_CHANNELS];
    (void)arg;
    for (int c = 0; c < TESTSIG_CHANNELS; c++)
        bufs[c] = jack_port_get_buffer(ports[c], nframes);
    /* n follows JACK's frame clock, not a cycle count: a cycle this client
     * misses (an xrun) does not shift the signal against the timeline, so a
     * recorder that pads its own missed cycles with silence still matches
     * the source everywhere else. */
    jack_nframes_t now = jack_last_frame_time(client);
    if (!started) {
        first = now;
        started = 1;
    }
    next_n = (uint32_t)(now - first);
    if (file_frames)
        play_file(bufs, next_n, nframes);
    else if (altered)
        play_altered(bufs, next_n, nframes);
    else /* stamp mode stamps the frame clock itself */
        testsig_block(mode, rate, mode == TESTSIG_STAMP ? now : next_n, nframes, bufs);
    next_n += nframes;
    atomic_store_explicit(&frames_played, next_n, memory_order_release);
    if (hold_ns)
        busy(hold_ns);
    return 0;
}

static void
usage(FILE *to)
{
    fprintf(to,
            "usage: stemcap-testsrc [-n CLIENTNAME] [-m noise|song|sine|stamp] [-c TARGET]\n"
            "                       [-s STEMS] [-d SECONDS] [-x STEMLIST] [-e DB] [-D FRAMES]\n"
            "                       [-g DB] [-H USEC] [-f FILE] [-q]\n"
            "  -n NAME    JACK client name (default stemcap-src)\n"
            "  -m MODE    signal: noise (default), song, sine (stem K: sines of\n"
            "             100K Hz (L) and 100K+50 Hz (R), peak -(6+2K) dBFS), or stamp\n"
            "             (every sample carries the JACK frame time it was played for as\n"
            "             jack_last_frame_time() says, losslessly: tests/testsig.h)\n"
            "  -c TARGET  connect NAME:stemK_X -> TARGET:stemK_X (K <= STEMS) and mix_L/R\n"
            "  -s STEMS   number of stems to connect, 1..8 (default 8)\n"
            "  -d SECONDS stop after this much audio (default 0 = until SIGINT/SIGTERM)\n"
            "  -x LIST    comma-separated stems (1..8) to play as silence; they are also\n"
            "             left out of the mix, which stays the sum of what is played\n"
            "  -M LIST    comma-separated stems (1..8) that are mono: the mix adds their\n"
            "             L channel to both mix_L and mix_R (their R to neither), and -c\n"
            "             connects NAME:stemK_L -> TARGET:stemK (stemK_R stays unconnected)\n"
            "  -e DB      add a 1 kHz sine of peak DB dBFS (e.g. -40) to mix_L and mix_R\n"
            "  -D FRAMES  delay the mix ports by 0..8192 frames (silent before the start)\n"
            "  -g DB      gain on the mix ports only (default 0)\n"
            "             -e/-D/-g leave the stems alone: mix = gain * mix(n - FRAMES) + error\n"
            "  -H USEC    hold: stay busy USEC (1..999999) microseconds after writing\n"
            "             the outputs of each cycle, before returning to JACK\n"
            "  -f FILE    play FILE (stereo, at JACK's rate, read into memory first) on\n"
            "             stem 1 and the mix, then silence; the other stems are silent\n"
            "  -q         quiet: no informational messages\n"
            "Prints \"ready\" on stdout once active (and connected).\n");
}

/* A decibel value within [min, max]; -1 when malformed. */
static int
parse_db(const char *s, double min, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= min && v <= max))
        return -1;
    *out = v;
    return 0;
}

static int
connect_ports(const char *target, int stems)
{
    char dst[512];
    int rc = 0;
    for (int c = 0; c < TESTSIG_CHANNELS; c++) {
        if (c < 2 * TESTSIG_STEMS && c / 2 >= stems)
            continue;
        const char *src = jack_port_name(ports[c]);
        int mono = c < 2 * TESTSIG_STEMS && (mono_stems & (1u << (c / 2)));
        if (mono && c % 2)
            continue;
        if (mono)
            snprintf(dst, sizeof dst, "%s:stem%d", target, c / 2 + 1);
        else
            snprintf(dst, sizeof dst, "%s:%s", target, testsig_channel_name(c));
        if (!jack_port_by_name(client, dst)) {
            fprintf(stderr, "stemcap-testsrc: cannot connect %s -> %s: no such port\n", src, dst);
            rc = -1;
            continue;
        }
        int r = jack_connect(client, src, dst);
        if (r != 0 && r != EEXIST) {
            fprintf(stderr, "stemcap-testsrc: cannot connect %s -> %s (error %d)\n", src, dst, r);
            rc = -1;
        }
    }
    return rc;
}

int
main(int argc, char **argv)
{
    const char *name = "stemcap-src", *target = NULL, *file_path = NULL;
    int stems = TESTSIG_STEMS, quiet = 0, opt;
    double seconds = 0.0, db, gain_db = 0.0, error_db = 0.0;
    char *end;
    long v;

    while ((opt = getopt(argc, argv, "n:m:c:s:d:x:M:e:D:g:H:f:qh")) != -1) {
        switch (opt) {
        case 'n':
            name = optarg;
            break;
        case 'm':
            mode = testsig_mode_parse(optarg);
            if (mode < 0) {
                fprintf(stderr, "stemcap-testsrc: unknown mode '%s' (noise|song|sine|stamp)\n",
                        optarg);
                return 2;
            }
            break;
        case 'c':
            target = optarg;
            break;
        case 's':
            stems = (int)strtol(optarg, &end, 10);
            if (*end || end == optarg || stems < 1 || stems > TESTSIG_STEMS) {
                fprintf(stderr, "stemcap-testsrc: -s wants 1..8\n");
                return 2;
            }
            break;
        case 'd':
            seconds = strtod(optarg, &end);
            if (*end || end == optarg || !(seconds >= 0.0) || seconds > 1e7) {
                fprintf(stderr, "stemcap-testsrc: bad duration '%s'\n", optarg);
                return 2;
            }
            break;
        case 'x':
            if (testsig_stem_list(optarg, &silent_stems) != 0) {
                fprintf(stderr, "stemcap-testsrc: -x wants a comma list of stems 1..8\n");
                return 2;
            }
            altered = 1;
            break;
        case 'M':
            if (testsig_stem_list(optarg, &mono_stems) != 0) {
                fprintf(stderr, "stemcap-testsrc: -M wants a comma list of stems 1..8\n");
                return 2;
            }
            altered = 1;
            break;
        case 'e':
            if (parse_db(optarg, -200.0, 20.0, &db) != 0) {
                fprintf(stderr, "stemcap-testsrc: -e wants a level in dBFS (-200..20)\n");
                return 2;
            }
            error_db = db;
            error_amp = pow(10.0, db / 20.0);
            altered = 1;
            break;
        case 'H':
            v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < 1 || v > 999999) {
                fprintf(stderr, "stemcap-testsrc: -H wants 1..999999 microseconds\n");
                return 2;
            }
            hold_ns = v * 1000L;
            break;
        case 'D':
            v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < 0 || v > MAX_MIX_DELAY) {
                fprintf(stderr, "stemcap-testsrc: -D wants 0..%d frames\n", MAX_MIX_DELAY);
                return 2;
            }
            mix_delay = (uint32_t)v;
            altered = 1;
            break;
        case 'g':
            if (parse_db(optarg, -100.0, 40.0, &db) != 0) {
                fprintf(stderr, "stemcap-testsrc: -g wants a gain in dB (-100..40)\n");
                return 2;
            }
            gain_db = db;
            mix_gain = (float)pow(10.0, db / 20.0);
            altered = 1;
            break;
        case 'f':
            file_path = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    if (srcclient_init("stemcap-testsrc") < 0 || !(client = srcclient_open(name, quiet, ports)))
        return 1;
    rate = jack_get_sample_rate(client);
    if (file_path && load_file(file_path, rate) < 0) {
        jack_client_close(client);
        return 1;
    }
    jack_set_process_callback(client, process, NULL);
    if (srcclient_activate(client) < 0)
        return 1;

    if (target && connect_ports(target, stems) != 0) {
        jack_deactivate(client);
        jack_client_close(client);
        return 1;
    }
    if (!quiet)
        fprintf(stderr, "stemcap-testsrc: %s playing %s at %" PRIu32 " Hz%s%s\n",
                jack_get_client_name(client), testsig_mode_name(mode), rate, target ? " into " : "",
                target ? target : "");
    if (!quiet && altered) {
        char list[32] = "";
        for (int s = 0, len = 0; s < TESTSIG_STEMS; s++)
            if (silent_stems & (1u << s))
                len +=
                    snprintf(list + len, sizeof list - (size_t)len, "%s%d", len ? "," : "", s + 1);
        char err[48] = "none";
        if (error_amp > 0.0)
            snprintf(err, sizeof err, "%g dBFS at %d Hz", error_db, ERROR_HZ);
        fprintf(stderr,
                "stemcap-testsrc: mix delayed %" PRIu32 " frames, gain %g dB, error %s; "
                "silent stems: %s; mono stems mask 0x%x\n",
                mix_delay, gain_db, err, list[0] ? list : "none", mono_stems);
    }
    printf("ready\n");
    fflush(stdout);

    uint64_t limit = seconds > 0.0 ? (uint64_t)llround(seconds * rate) : 0;
    int rc = 0;
    for (;;) {
        struct pollfd pfd = {.fd = srcclient_wake_fd(), .events = POLLIN};
        int r = poll(&pfd, 1, 10);
        if (r > 0)
            srcclient_drain();
        if (srcclient_server_gone()) {
            fprintf(stderr, "stemcap-testsrc: JACK server shut down%s%s\n",
                    srcclient_shutdown_reason()[0] ? ": " : "", srcclient_shutdown_reason());
            rc = 1;
            break;
        }
        if (srcclient_signal())
            break;
        if (limit && atomic_load_explicit(&frames_played, memory_order_acquire) >= limit)
            break;
    }
    uint64_t played = atomic_load(&frames_played);
    if (rc == 0)
        jack_deactivate(client);
    jack_client_close(client);
    if (!quiet)
        fprintf(stderr, "stemcap-testsrc: stopped after %" PRIu64 " frames\n", played);
    return rc;
}
