/* stemcap-testdaw — a test "DAW": JACK client playing testsig locked to the JACK transport.
 *
 * Usage: stemcap-testdaw [-n CLIENTNAME] [-m noise|song|sine] [-c TARGET_CLIENT]
 *                        [-L STEM:FRAMES ...] [-M FRAMES] [-O STEMLIST] [-B BPM] [-q]
 *
 * Design: ports stem1_L..stem8_R, mix_L, mix_R carry testsig channels 0..17, like
 * stemcap-testsrc, but the frame index is the transport position: each process cycle calls
 * jack_transport_query() and, while the state is JackTransportRolling, writes testsig at
 * n = pos.frame + i; in any other state (Stopped, Starting, ...) it writes silence.  A recorder
 * that starts a take at the first rolling cycle therefore records testsig from n = that frame.
 *
 * -L STEM:FRAMES simulates a latent plugin on a bus: that stem's two ports carry testsig at
 * n - FRAMES (silence where n < FRAMES), still a pure function of n, so no history buffer is
 * needed, and the ports' capture latency is declared as [FRAMES, FRAMES] once active (all other
 * ports [0, 0]; see set_latencies), so JACK propagates it to the input ports they feed.  The mix
 * is never delayed by -L (the DAW compensates its master bus).  -M FRAMES plays what a DAW whose
 * master bus lags its track outputs does (Ardour's does, by its own latency): the mix ports
 * carry mix(n - FRAMES), silence where n - FRAMES is before the segment's start, while their
 * declared latency stays 0, so JACK's latencies cannot tell; the "mixdelay" command changes it
 * while rolling (a lag that changes in the middle of a take).  -O makes stems mono: the mix's right
 * channel then adds their left channel instead of their right one (recomputed per frame with
 * testsig_value in stem order, as testsig_block sums; not with -M).  -B BPM registers a conditional
 * timebase master that fills in 4/4 BBT at BPM (1920 ticks per beat) from the frame.
 *
 * The process and timebase callbacks only do arithmetic on preallocated state (no allocation,
 * locks or I/O); the process callback publishes the transport state and frame it saw, the frame
 * at which the current rolling period began and a cycle counter through atomics.  The main thread
 * reads commands from stdin (one per line, blank lines and '#' comments skipped) and acknowledges
 * each with "ok <command>[ details]" once it has taken effect (judged from what the process
 * callback saw), or with "error <command>: <reason>"; see usage() for the list.  Waits poll every
 * millisecond and are cut short by signals and server shutdown, which only set an atomic flag and
 * write a byte to a self-pipe.  Exit status: 0 on quit, EOF, SIGINT or SIGTERM; 1 on start-up
 * errors or when the JACK server goes away; 2 on usage errors.  "ready" is printed on stdout once
 * active, connected and (with -B) timebase master.
 */
#include "srcclient.h"
#include "testsig.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jack/jack.h>
#include <jack/transport.h>

#define MAX_LATENCY    (1u << 24) /* -L upper bound, frames */
#define MAX_MIX_DELAY  (1u << 20) /* -M upper bound, frames */
#define TICKS_PER_BEAT 1920.0
#define ACK_TIMEOUT_MS 5000 /* locate/play/stop/freewheel must take effect within this */
#define LINE_MAX_LEN   1024

static jack_client_t *client;
static jack_port_t *ports[TESTSIG_CHANNELS];
static int mode = TESTSIG_NOISE;
static uint32_t rate;
static uint32_t stem_delay[TESTSIG_STEMS]; /* -L, frames (read-only once active) */
static double bpm;                         /* -B; 0 = not timebase master */
static _Atomic uint32_t mix_delay;         /* -M and "mixdelay", frames */
static unsigned mono_stems;                /* -O: bit s: stem s + 1 is mono in the mix */
static int quiet;

/* Published by the process callback. */
static atomic_int cb_state = -1;    /* transport state seen in the last cycle */
static _Atomic uint32_t cb_frame;   /* its frame */
static _Atomic uint32_t roll_start; /* frame of the first cycle of the current rolling period */
static _Atomic uint64_t cycles;     /* process cycles run */
static int was_rolling;             /* process thread only */
static atomic_int freewheeling;     /* set by the freewheel callback */

/* Stem s's two channels at n0..n0+nframes-1 delayed by stem_delay[s]: testsig(n - d), silence
 * where n - d is before `seg` (the frame this rolling segment began at), as a real latent plugin
 * outputs nothing of what it was not fed. */
static void
delayed_stem(int s, float *const bufs[TESTSIG_CHANNELS], uint64_t n0, uint32_t nframes,
             uint64_t seg)
{
    uint64_t d = stem_delay[s] + seg;
    uint32_t lead = 0;
    if (n0 < d) {
        lead = d - n0 < nframes ? (uint32_t)(d - n0) : nframes;
        memset(bufs[2 * s], 0, sizeof(float) * lead);
        memset(bufs[2 * s + 1], 0, sizeof(float) * lead);
    }
    if (lead == nframes)
        return;
    float *out[TESTSIG_CHANNELS] = {NULL};
    out[2 * s] = bufs[2 * s] + lead;
    out[2 * s + 1] = bufs[2 * s + 1] + lead;
    testsig_block(mode, rate, n0 + lead - stem_delay[s], nframes - lead, out);
}

/* The mix's two channels at n0.. delayed by d frames (silence before the segment start seg). */
static void
delayed_mix(float *const bufs[TESTSIG_CHANNELS], uint64_t n0, uint32_t nframes, uint64_t seg,
            uint32_t d)
{
    const int l = 2 * TESTSIG_STEMS, r = l + 1;
    uint32_t lead = 0;
    if (n0 < seg + d) {
        lead = seg + d - n0 < nframes ? (uint32_t)(seg + d - n0) : nframes;
        memset(bufs[l], 0, sizeof(float) * lead);
        memset(bufs[r], 0, sizeof(float) * lead);
    }
    if (lead == nframes)
        return;
    float *out[TESTSIG_CHANNELS] = {NULL};
    out[l] = bufs[l] + lead;
    out[r] = bufs[r] + lead;
    testsig_block(mode, rate, n0 + lead - d, nframes - lead, out);
}

static int
process(jack_nframes_t nframes, void *arg)
{
    float *bufs[TESTSIG_CHANNELS];
    jack_position_t pos;
    (void)arg;
    for (int c = 0; c < TESTSIG_CHANNELS; c++)
        bufs[c] = jack_port_get_buffer(ports[c], nframes);
    jack_transport_state_t st = jack_transport_query(client, &pos);
    if (st == JackTransportRolling) {
        static uint64_t seg, next;
        if (!was_rolling)
            atomic_store_explicit(&roll_start, pos.frame, memory_order_relaxed);
        if (!was_rolling || pos.frame != next)
            seg = pos.frame; /* started or relocated: latent paths start empty */
        next = (uint64_t)pos.frame + nframes;
        was_rolling = 1;
        /* Undelayed stems and the (never delayed) mix in one call, then each latent stem. */
        uint32_t md = atomic_load_explicit(&mix_delay, memory_order_relaxed);
        float *direct[TESTSIG_CHANNELS];
        for (int c = 0; c < TESTSIG_CHANNELS; c++)
            direct[c] =
                (c < 2 * TESTSIG_STEMS && stem_delay[c / 2]) || (c >= 2 * TESTSIG_STEMS && md)
                    ? NULL
                    : bufs[c];
        testsig_block(mode, rate, pos.frame, nframes, direct);
        for (int s = 0; s < TESTSIG_STEMS; s++)
            if (stem_delay[s])
                delayed_stem(s, bufs, pos.frame, nframes, seg);
        if (md)
            delayed_mix(bufs, pos.frame, nframes, seg, md);
        else if (mono_stems)
            for (uint32_t i = 0; i < nframes; i++) {
                float sum = 0.0f;
                for (int s = 0; s < TESTSIG_STEMS; s++)
                    sum += testsig_value(mode, 2 * s + !(mono_stems & (1u << s)),
                                         (uint64_t)pos.frame + i, rate);
                bufs[2 * TESTSIG_STEMS + 1][i] = sum;
            }
    } else {
        was_rolling = 0;
        for (int c = 0; c < TESTSIG_CHANNELS; c++)
            memset(bufs[c], 0, sizeof(float) * nframes);
    }
    atomic_store_explicit(&cb_frame, pos.frame, memory_order_relaxed);
    atomic_store_explicit(&cb_state, (int)st, memory_order_release);
    atomic_fetch_add_explicit(&cycles, 1, memory_order_release);
    return 0;
}

/* 4/4 BBT at bpm from pos->frame (bars and beats count from 1). */
static void
timebase(jack_transport_state_t state, jack_nframes_t nframes, jack_position_t *pos, int new_pos,
         void *arg)
{
    (void)state;
    (void)nframes;
    (void)new_pos;
    (void)arg;
    double fr = pos->frame_rate ? pos->frame_rate : rate;
    double beats = (double)pos->frame * bpm / (60.0 * fr);
    double whole = floor(beats);
    int64_t ibeat = (int64_t)whole;
    pos->valid |= JackPositionBBT;
    pos->beats_per_bar = 4.0f;
    pos->beat_type = 4.0f;
    pos->ticks_per_beat = TICKS_PER_BEAT;
    pos->beats_per_minute = bpm;
    pos->bar = (int32_t)(ibeat / 4) + 1;
    pos->beat = (int32_t)(ibeat % 4) + 1;
    pos->tick = (int32_t)((beats - whole) * TICKS_PER_BEAT);
    pos->bar_start_tick = (double)(pos->bar - 1) * 4.0 * TICKS_PER_BEAT;
}

/* Capture latency of every output port: the stem's -L delay, 0 otherwise.  Set from the main
 * thread (set_latencies), not from the latency callback: PipeWire's libjack (0.3.65) deadlocks
 * when jack_port_set_latency_range is called from the latency callback (its loop thread waits
 * for a lock that it already holds; seen here in gdb, about one start in ten).  The callback
 * stays registered, doing nothing, so that JACK does not apply its default (which would
 * overwrite our values with the latency of our inputs: none).  Nothing to do for playback
 * latency (no input ports). */
static void
set_latencies(void)
{
    for (int c = 0; c < TESTSIG_CHANNELS; c++) {
        jack_nframes_t d = c < 2 * TESTSIG_STEMS ? stem_delay[c / 2] : 0;
        jack_latency_range_t r = {d, d};
        jack_port_set_latency_range(ports[c], JackCaptureLatency, &r);
    }
}

static void
latency(jack_latency_callback_mode_t lmode, void *arg)
{
    (void)lmode;
    (void)arg;
}

static void
on_freewheel(int starting, void *arg)
{
    (void)arg;
    atomic_store(&freewheeling, starting);
}

static void
usage(FILE *to)
{
    fprintf(to,
            "usage: stemcap-testdaw [-n CLIENTNAME] [-m noise|song|sine] [-c TARGET_CLIENT]\n"
            "                       [-L STEM:FRAMES ...] [-M FRAMES] [-O STEMLIST] [-B BPM] [-q]\n"
            "  -n NAME        JACK client name (default stemcap-daw)\n"
            "  -m MODE        signal: noise (default), song or sine\n"
            "  -c TARGET      connect NAME:P -> TARGET:P for all 18 ports P\n"
            "  -L STEM:FRAMES stem 1..8 plays testsig(n - FRAMES) and declares a capture\n"
            "                 latency of FRAMES (0..%u) on its ports; repeatable\n"
            "  -M FRAMES      the mix ports play the mix FRAMES (0..%u) late, declaring no\n"
            "                 latency (a master bus that lags its tracks)\n"
            "  -O LIST        comma-separated stems (1..8) that are mono: mix_R adds their\n"
            "                 left channel, not their right one (not with -M)\n"
            "  -B BPM         become (conditional) timebase master: 4/4 BBT at BPM\n"
            "  -q             quiet: no informational messages\n"
            "While the transport rolls every port carries testsig at n = transport frame\n"
            "(the mix undelayed); otherwise silence.  Prints \"ready\" once active, then reads\n"
            "commands from stdin, one per line, and answers \"ok <command>[ details]\" once it\n"
            "took effect, or \"error <command>: <reason>\":\n"
            "  locate FRAME           relocate the transport\n"
            "  play | stop            start / stop the transport\n"
            "  wait-rolling [MS]      until rolling; \"ok wait-rolling FRAME\", FRAME = frame\n"
            "                         at which the current rolling period began\n"
            "  wait-stopped [MS]      until stopped; \"ok wait-stopped FRAME\"\n"
            "                         (MS: give up after MS ms with \"error ...: timeout\")\n"
            "  freewheel on|off       switch JACK's freewheel mode\n"
            "  mixdelay FRAMES        from the next cycle on, the mix lags by FRAMES\n"
            "  sleep MS               wait MS milliseconds\n"
            "  frame                  \"ok frame FRAME STATE\" (stopped|rolling|starting|...)\n"
            "  quit                   exit 0 (so does EOF)\n",
            MAX_LATENCY, MAX_MIX_DELAY);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* Whether the main loop must stop: a signal (returns 1) or the server gone (returns 2). */
static int
must_exit(void)
{
    if (srcclient_server_gone())
        return 2;
    if (srcclient_signal())
        return 1;
    return 0;
}

/* Sleep up to ms milliseconds, waking early on a signal or shutdown; returns must_exit(). */
static int
nap(int ms)
{
    struct pollfd pfd = {.fd = srcclient_wake_fd(), .events = POLLIN};
    if (poll(&pfd, 1, ms) > 0)
        srcclient_drain();
    return must_exit();
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
state_name(int st)
{
    switch (st) {
    case JackTransportStopped:
        return "stopped";
    case JackTransportRolling:
        return "rolling";
    case JackTransportStarting:
        return "starting";
    case JackTransportLooping:
        return "looping";
    case JackTransportNetStarting:
        return "netstarting";
    default:
        return "unknown";
    }
}

/* What a wait condition sees. */
struct seen {
    int state;      /* from the process callback (-1 before the first cycle) */
    uint32_t frame; /* its frame */
    uint64_t cycles;
};

static void
look(struct seen *s)
{
    s->cycles = atomic_load_explicit(&cycles, memory_order_acquire);
    s->state = atomic_load_explicit(&cb_state, memory_order_acquire);
    s->frame = atomic_load_explicit(&cb_frame, memory_order_relaxed);
}

enum { WAIT_OK = 0, WAIT_TIMEOUT = -1 };

/* Poll cond every millisecond until it holds (WAIT_OK), timeout_ms passes (WAIT_TIMEOUT; < 0 =
 * never) or the program must exit (must_exit()'s value). */
static int
wait_for(int (*cond)(const struct seen *, const void *), const void *arg, int timeout_ms)
{
    int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : INT64_MAX;
    for (;;) {
        struct seen s;
        look(&s);
        if (cond(&s, arg))
            return WAIT_OK;
        if (now_ms() >= deadline)
            return WAIT_TIMEOUT;
        int x = nap(1);
        if (x)
            return x;
    }
}

struct locate_arg {
    uint32_t frame;
    uint64_t after; /* cycle count when the request was made */
};

/* The process callback has run at least two cycles since the request and sees the new position
 * (exactly when stopped; within one second after it when rolling). */
static int
cond_located(const struct seen *s, const void *arg)
{
    const struct locate_arg *a = arg;
    if (s->cycles < a->after + 2)
        return 0;
    if (s->state == JackTransportRolling)
        return s->frame >= a->frame && s->frame - a->frame < rate;
    return s->frame == a->frame;
}

static int
cond_rolling(const struct seen *s, const void *arg)
{
    (void)arg;
    return s->state == JackTransportRolling;
}

static int
cond_started(const struct seen *s, const void *arg)
{
    (void)arg;
    return s->state == JackTransportRolling || s->state == JackTransportStarting;
}

static int
cond_stopped(const struct seen *s, const void *arg)
{
    (void)arg;
    return s->state == JackTransportStopped;
}

static int
cond_freewheel(const struct seen *s, const void *arg)
{
    (void)s;
    return atomic_load(&freewheeling) == *(const int *)arg;
}

/* Parse a non-negative integer <= max; -1 when malformed. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Report a timeout of wait_for's result w; returns w (WAIT_OK, WAIT_TIMEOUT or must_exit()'s
 * value), so callers print their "ok" on WAIT_OK and return w < 0 ? 0 : w. */
static int
waited(int w, const char *cmd)
{
    if (w == WAIT_TIMEOUT)
        say("error %s: timeout", cmd);
    return w;
}

/* Execute one command (argv[0..argc-1], cmd is the normalised line).  Returns 0 to go on, 1 to
 * exit 0 (quit or signal), 2 to exit 1 (server gone). */
static int
run_command(int argc, char **argv, const char *cmd)
{
    const char *verb = argv[0];
    uint64_t v;
    int w;

    if (!strcmp(verb, "locate")) {
        if (argc != 2 || parse_u64(argv[1], UINT32_MAX, &v)) {
            say("error %s: usage: locate FRAME (0..%" PRIu32 ")", cmd, UINT32_MAX);
            return 0;
        }
        struct locate_arg a = {(uint32_t)v, atomic_load(&cycles)};
        if (jack_transport_locate(client, (jack_nframes_t)v) != 0) {
            say("error %s: jack_transport_locate failed", cmd);
            return 0;
        }
        w = waited(wait_for(cond_located, &a, ACK_TIMEOUT_MS), cmd);
        if (w == WAIT_OK)
            say("ok %s", cmd);
        return w < 0 ? 0 : w;
    }
    if (!strcmp(verb, "play") || !strcmp(verb, "stop")) {
        int play = verb[0] == 'p';
        if (argc != 1) {
            say("error %s: takes no argument", cmd);
            return 0;
        }
        if (play)
            jack_transport_start(client);
        else
            jack_transport_stop(client);
        w = waited(wait_for(play ? cond_started : cond_stopped, NULL, ACK_TIMEOUT_MS), cmd);
        if (w == WAIT_OK)
            say("ok %s", cmd);
        return w < 0 ? 0 : w;
    }
    if (!strcmp(verb, "wait-rolling") || !strcmp(verb, "wait-stopped")) {
        int rolling = verb[5] == 'r';
        int timeout = -1;
        if (argc > 2 || (argc == 2 && parse_u64(argv[1], INT32_MAX, &v))) {
            say("error %s: usage: %s [TIMEOUT_MS]", cmd, verb);
            return 0;
        }
        if (argc == 2)
            timeout = (int)v;
        w = waited(wait_for(rolling ? cond_rolling : cond_stopped, NULL, timeout), cmd);
        if (w == WAIT_OK) {
            struct seen s;
            look(&s);
            uint32_t f = rolling ? atomic_load(&roll_start) : s.frame;
            say("ok %s %" PRIu32, cmd, f);
        }
        return w < 0 ? 0 : w;
    }
    if (!strcmp(verb, "freewheel")) {
        int on;
        if (argc == 2 && !strcmp(argv[1], "on"))
            on = 1;
        else if (argc == 2 && !strcmp(argv[1], "off"))
            on = 0;
        else {
            say("error %s: usage: freewheel on|off", cmd);
            return 0;
        }
        if (jack_set_freewheel(client, on) != 0) {
            say("error %s: jack_set_freewheel failed", cmd);
            return 0;
        }
        w = waited(wait_for(cond_freewheel, &on, ACK_TIMEOUT_MS), cmd);
        if (w == WAIT_OK)
            say("ok %s", cmd);
        return w < 0 ? 0 : w;
    }
    if (!strcmp(verb, "mixdelay")) {
        if (argc != 2 || parse_u64(argv[1], MAX_MIX_DELAY, &v)) {
            say("error %s: usage: mixdelay FRAMES (0..%u)", cmd, MAX_MIX_DELAY);
            return 0;
        }
        atomic_store(&mix_delay, (uint32_t)v);
        /* Taken effect once a whole cycle ran after the store. */
        uint64_t c0 = atomic_load(&cycles);
        while (atomic_load(&cycles) < c0 + 2) {
            int x = nap(1);
            if (x)
                return x;
        }
        struct seen sn;
        look(&sn);
        say("ok %s %" PRIu32, cmd, sn.frame);
        return 0;
    }
    if (!strcmp(verb, "sleep")) {
        if (argc != 2 || parse_u64(argv[1], INT32_MAX, &v)) {
            say("error %s: usage: sleep MS", cmd);
            return 0;
        }
        int64_t deadline = now_ms() + (int64_t)v;
        for (int64_t left; (left = deadline - now_ms()) > 0;) {
            int x = nap(left > 1000 ? 1000 : (int)left);
            if (x)
                return x;
        }
        say("ok %s", cmd);
        return 0;
    }
    if (!strcmp(verb, "frame")) {
        if (argc != 1) {
            say("error %s: takes no argument", cmd);
            return 0;
        }
        jack_position_t pos;
        jack_transport_state_t st = jack_transport_query(client, &pos);
        say("ok %s %" PRIu32 " %s", cmd, pos.frame, state_name(st));
        return 0;
    }
    if (!strcmp(verb, "quit")) {
        say("ok %s", cmd);
        return 1;
    }
    say("error %s: unknown command", cmd);
    return 0;
}

/* Split and run one input line; blank lines and '#' comments are skipped. */
static int
run_line(char *line)
{
    char *argv[8], cmd[LINE_MAX_LEN + 16];
    int argc = 0;
    size_t len = 0;
    for (char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save); tok;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        if (argc == 0 && tok[0] == '#')
            break;
        if (argc < (int)(sizeof argv / sizeof argv[0]))
            argv[argc] = tok;
        argc++;
        len += (size_t)snprintf(cmd + len, sizeof cmd - len, "%s%s", len ? " " : "", tok);
    }
    if (argc == 0)
        return 0;
    if (argc > (int)(sizeof argv / sizeof argv[0])) {
        say("error %s: too many arguments", cmd);
        return 0;
    }
    return run_command(argc, argv, cmd);
}

/* Read and execute stdin until quit, EOF, a signal or shutdown; same return values as
 * run_command. */
static int
command_loop(void)
{
    static char buf[LINE_MAX_LEN + 1];
    size_t have = 0;
    int eof = 0, overlong = 0;
    for (;;) {
        /* Run every complete line already buffered. */
        char *nl;
        while ((nl = memchr(buf, '\n', have)) != NULL) {
            size_t n = (size_t)(nl - buf) + 1;
            *nl = '\0';
            int r = 0;
            if (overlong)
                say("error line too long");
            else
                r = run_line(buf);
            overlong = 0;
            memmove(buf, buf + n, have - n);
            have -= n;
            if (r)
                return r;
        }
        if (eof) {
            buf[have] = '\0';
            int r = have && !overlong ? run_line(buf) : 0;
            return r ? r : 1;
        }
        if (have == LINE_MAX_LEN) {
            overlong = 1; /* drop up to the next newline */
            have = 0;
        }
        int x = must_exit();
        if (x)
            return x;
        struct pollfd pfd[2] = {{.fd = 0, .events = POLLIN},
                                {.fd = srcclient_wake_fd(), .events = POLLIN}};
        if (poll(pfd, 2, 100) <= 0)
            continue;
        if (pfd[1].revents)
            srcclient_drain();
        if (pfd[0].revents) {
            ssize_t r = read(0, buf + have, LINE_MAX_LEN - have);
            if (r > 0)
                have += (size_t)r;
            else if (r == 0 || (errno != EINTR && errno != EAGAIN))
                eof = 1;
        }
    }
}

/* "3:1024" -> stem_delay[2] = 1024; -1 when malformed. */
static int
parse_latency(const char *s)
{
    char *end;
    long stem = strtol(s, &end, 10);
    uint64_t frames;
    if (end == s || *end != ':' || stem < 1 || stem > TESTSIG_STEMS ||
        parse_u64(end + 1, MAX_LATENCY, &frames))
        return -1;
    stem_delay[stem - 1] = (uint32_t)frames;
    return 0;
}

static int
connect_ports(const char *target)
{
    char dst[512];
    int rc = 0;
    for (int c = 0; c < TESTSIG_CHANNELS; c++) {
        const char *src = jack_port_name(ports[c]);
        snprintf(dst, sizeof dst, "%s:%s", target, testsig_channel_name(c));
        if (!jack_port_by_name(client, dst)) {
            fprintf(stderr, "stemcap-testdaw: cannot connect %s -> %s: no such port\n", src, dst);
            rc = -1;
            continue;
        }
        int r = jack_connect(client, src, dst);
        if (r != 0 && r != EEXIST) {
            fprintf(stderr, "stemcap-testdaw: cannot connect %s -> %s (error %d)\n", src, dst, r);
            rc = -1;
        }
    }
    return rc;
}

int
main(int argc, char **argv)
{
    const char *name = "stemcap-daw", *target = NULL;
    int opt;
    char *end;

    while ((opt = getopt(argc, argv, "n:m:c:L:M:O:B:qh")) != -1) {
        switch (opt) {
        case 'n':
            name = optarg;
            break;
        case 'm':
            mode = testsig_mode_parse(optarg);
            if (mode < 0) {
                fprintf(stderr, "stemcap-testdaw: unknown mode '%s' (noise|song|sine)\n", optarg);
                return 2;
            }
            break;
        case 'c':
            target = optarg;
            break;
        case 'L':
            if (parse_latency(optarg) != 0) {
                fprintf(stderr, "stemcap-testdaw: -L wants STEM:FRAMES (stem 1..8, 0..%u)\n",
                        MAX_LATENCY);
                return 2;
            }
            break;
        case 'M': {
            uint64_t d;
            if (parse_u64(optarg, MAX_MIX_DELAY, &d)) {
                fprintf(stderr, "stemcap-testdaw: -M wants 0..%u frames\n", MAX_MIX_DELAY);
                return 2;
            }
            atomic_store(&mix_delay, (uint32_t)d);
            break;
        }
        case 'O':
            if (testsig_stem_list(optarg, &mono_stems) != 0) {
                fprintf(stderr, "stemcap-testdaw: -O wants a comma list of stems 1..8\n");
                return 2;
            }
            break;
        case 'B':
            bpm = strtod(optarg, &end);
            if (*end || end == optarg || !(bpm >= 1.0 && bpm <= 1000.0)) {
                fprintf(stderr, "stemcap-testdaw: -B wants a tempo of 1..1000 BPM\n");
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

    if (srcclient_init("stemcap-testdaw") < 0 || !(client = srcclient_open(name, quiet, ports)))
        return 1;
    rate = jack_get_sample_rate(client);
    jack_set_process_callback(client, process, NULL);
    jack_set_latency_callback(client, latency, NULL);
    jack_set_freewheel_callback(client, on_freewheel, NULL);
    if (srcclient_activate(client) < 0)
        return 1;

    int rc = 0;
    if (bpm > 0.0 && jack_set_timebase_callback(client, 1, timebase, NULL) != 0) {
        fprintf(stderr, "stemcap-testdaw: cannot become timebase master (another one?)\n");
        rc = 1;
    }
    set_latencies();
    if (rc == 0 && target && connect_ports(target) != 0)
        rc = 1;
    if (rc != 0) {
        jack_deactivate(client);
        jack_client_close(client);
        return rc;
    }
    jack_recompute_total_latencies(client);
    if (!quiet) {
        char lat[160] = "";
        for (int s = 0, len = 0; s < TESTSIG_STEMS; s++)
            if (stem_delay[s])
                len += snprintf(lat + len, sizeof lat - (size_t)len, " stem%d:%" PRIu32, s + 1,
                                stem_delay[s]);
        fprintf(stderr, "stemcap-testdaw: %s playing %s at %" PRIu32 " Hz%s%s; latent:%s",
                jack_get_client_name(client), testsig_mode_name(mode), rate, target ? " into " : "",
                target ? target : "", lat[0] ? lat : " none");
        if (bpm > 0.0)
            fprintf(stderr, "; timebase master at %g BPM 4/4", bpm);
        fputc('\n', stderr);
    }
    say("ready");

    int r = command_loop();
    if (r == 2) {
        fprintf(stderr, "stemcap-testdaw: JACK server shut down%s%s\n",
                srcclient_shutdown_reason()[0] ? ": " : "", srcclient_shutdown_reason());
        rc = 1;
    }
    if (rc == 0) {
        if (bpm > 0.0)
            jack_release_timebase(client);
        jack_deactivate(client);
    }
    jack_client_close(client);
    if (!quiet)
        fprintf(stderr, "stemcap-testdaw: exiting\n");
    return rc;
}
