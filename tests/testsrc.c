/* stemcap-testsrc — JACK client playing the deterministic testsig signal into 18 output ports.
 *
 * Usage: stemcap-testsrc [-n CLIENTNAME] [-m noise|song] [-c TARGET_CLIENT] [-s STEMS]
 *                        [-d SECONDS] [-q]
 *
 * Design: ports stem1_L..stem8_R, mix_L, mix_R carry testsig channels 0..17.  The source frame
 * counter n starts at 0 on the first process cycle and advances by nframes per cycle; the process
 * callback only calls testsig_block (pure arithmetic, no allocation, locks or I/O) and publishes n
 * through an atomic.  Signals and JACK's shutdown notification only set an atomic flag and write
 * one byte to a self-pipe; the main thread polls that pipe (10 ms timeout, also used to check the
 * -d duration against n), then deactivates and closes the client.  Exit status: 0 on
 * SIGINT/SIGTERM or when the duration is reached, 1 on errors or when the JACK server goes away,
 * 2 on usage errors.  "ready" is printed on stdout once active and connected.
 */
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
static atomic_int server_gone;
static atomic_int got_signal;
static int wake_pipe[2] = {-1, -1};
static char shutdown_reason[256];

static void
wake(void)
{
    char c = 1;
    ssize_t r = write(wake_pipe[1], &c, 1);
    (void)r; /* pipe full means a wake-up is pending anyway */
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
    testsig_block(mode, rate, next_n, nframes, bufs);
    next_n += nframes;
    atomic_store_explicit(&frames_played, next_n, memory_order_release);
    return 0;
}

static void
on_shutdown(jack_status_t code, const char *reason, void *arg)
{
    (void)code;
    (void)arg;
    /* Not a real-time thread; snprintf is fine, exit() is not. */
    snprintf(shutdown_reason, sizeof shutdown_reason, "%s", reason ? reason : "");
    atomic_store(&server_gone, 1);
    wake();
}

static void
on_signal(int sig)
{
    int saved = errno;
    atomic_store(&got_signal, sig);
    wake();
    errno = saved;
}

static void
silent_info(const char *msg)
{
    (void)msg;
}

static void
usage(FILE *to)
{
    fprintf(to, "usage: stemcap-testsrc [-n CLIENTNAME] [-m noise|song] [-c TARGET_CLIENT]\n"
                "                       [-s STEMS] [-d SECONDS] [-q]\n"
                "  -n NAME    JACK client name (default stemcap-src)\n"
                "  -m MODE    signal: noise (default) or song\n"
                "  -c TARGET  connect NAME:stemK_X -> TARGET:stemK_X (K <= STEMS) and mix_L/R\n"
                "  -s STEMS   number of stems to connect, 1..8 (default 8)\n"
                "  -d SECONDS stop after this much audio (default 0 = until SIGINT/SIGTERM)\n"
                "  -q         quiet: no informational messages\n"
                "Prints \"ready\" on stdout once active (and connected).\n");
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
    const char *name = "stemcap-src", *target = NULL;
    int stems = TESTSIG_STEMS, quiet = 0, opt;
    double seconds = 0.0;
    char *end;

    while ((opt = getopt(argc, argv, "n:m:c:s:d:qh")) != -1) {
        switch (opt) {
        case 'n':
            name = optarg;
            break;
        case 'm':
            mode = testsig_mode_parse(optarg);
            if (mode < 0) {
                fprintf(stderr, "stemcap-testsrc: unknown mode '%s' (noise|song)\n", optarg);
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

    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        perror("stemcap-testsrc: pipe");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* JACK's threads inherit a mask with SIGINT/SIGTERM blocked; main unblocks them later. */
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, NULL);

    if (quiet)
        jack_set_info_function(silent_info);
    jack_status_t status;
    client = jack_client_open(name, JackNoStartServer | JackUseExactName, &status);
    if (!client) {
        fprintf(stderr, "stemcap-testsrc: cannot open JACK client '%s' (status 0x%x%s)\n", name,
                (unsigned)status,
                (status & JackNameNotUnique)  ? ", name in use"
                : (status & JackServerFailed) ? ", no server running"
                                              : "");
        return 1;
    }
    rate = jack_get_sample_rate(client);
    for (int c = 0; c < TESTSIG_CHANNELS; c++) {
        ports[c] = jack_port_register(client, testsig_channel_name(c), JACK_DEFAULT_AUDIO_TYPE,
                                      JackPortIsOutput | JackPortIsTerminal, 0);
        if (!ports[c]) {
            fprintf(stderr, "stemcap-testsrc: cannot register port %s\n", testsig_channel_name(c));
            jack_client_close(client);
            return 1;
        }
    }
    jack_set_process_callback(client, process, NULL);
    jack_on_info_shutdown(client, on_shutdown, NULL);
    if (jack_activate(client) != 0) {
        fprintf(stderr, "stemcap-testsrc: cannot activate client\n");
        jack_client_close(client);
        return 1;
    }
    pthread_sigmask(SIG_UNBLOCK, &block, NULL);

    if (target && connect_ports(target, stems) != 0) {
        jack_deactivate(client);
        jack_client_close(client);
        return 1;
    }
    if (!quiet)
        fprintf(stderr, "stemcap-testsrc: %s playing %s at %" PRIu32 " Hz%s%s\n",
                jack_get_client_name(client), testsig_mode_name(mode), rate, target ? " into " : "",
                target ? target : "");
    printf("ready\n");
    fflush(stdout);

    uint64_t limit = seconds > 0.0 ? (uint64_t)llround(seconds * rate) : 0;
    int rc = 0;
    for (;;) {
        struct pollfd pfd = {.fd = wake_pipe[0], .events = POLLIN};
        int r = poll(&pfd, 1, 10);
        if (r > 0) {
            char buf[64];
            while (read(wake_pipe[0], buf, sizeof buf) > 0) {
            }
        }
        if (atomic_load(&server_gone)) {
            fprintf(stderr, "stemcap-testsrc: JACK server shut down%s%s\n",
                    shutdown_reason[0] ? ": " : "", shutdown_reason);
            rc = 1;
            break;
        }
        if (atomic_load(&got_signal))
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
