/* main.c - stemcap-meter, a full-screen live level meter for stemcapd: the options, the
 * terminal and signals, and the loop.
 *
 * One thread, one ppoll() loop over the OSC socket (oscc_fd()) and the terminal. INT, TERM, HUP
 * and WINCH are blocked except inside ppoll(), so a signal always ends the wait it arrives in:
 * INT/TERM/HUP quit through the normal path that restores the terminal, WINCH comes back from
 * ncurses as KEY_RESIZE. Each round: the timers (model.c), a frame when something changed and
 * the last one is FRAME_MS old (screen.c), the wait, then the keys (input.c), oscclient's error
 * line and the messages that came.
 *
 * Exit status: 0 quit by a key or a signal, 1 no terminal or no socket, 2 usage error.
 */
#include "meter.h"
#include "cli.h"

#include "oscclient.h"

#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_HZ 20.0
#define MIN_HZ     0.1
#define MAX_HZ     1000.0

#define EXIT_FAILURE_ 1
#define EXIT_USAGE    2

struct options {
    const char *host;
    const char *port;
    double hz;
    bool ascii;
};

static volatile sig_atomic_t quit_signal;

static void
on_signal(int sig)
{
    quit_signal = sig;
}

static void
usage(FILE *f)
{
    fprintf(f,
            "Usage: stemcap-meter [OPTION]...\n"
            "Live full-screen level meter for stemcapd, the multitrack stem recorder.\n"
            "\n"
            "Options:\n"
            "  -H, --host=HOST     stemcapd host name or address (default %s,\n"
            "                      or $STEMCAP_HOST)\n"
            "  -p, --port=PORT     stemcapd UDP port (default %s, or $STEMCAP_PORT)\n"
            "  -r, --rate=HZ       meter updates per second to ask for (default %g)\n"
            "  -a, --ascii         draw with plain ASCII characters\n"
            "  -h, --help          show this help and exit\n"
            "  -V, --version       show the version and exit\n"
            "\n"
            "Keys: q quit, s start/stop a take, r reset peak holds and clip counts,\n"
            "      1-8 arm/disarm that stem.\n",
            PROTO_DEFAULT_HOST, PROTO_DEFAULT_PORT_STR, DEFAULT_HZ);
}

/* Parse the options into *O. Returns 0 to go on, -1 when done (help, version), or the exit status
 * of a usage error. */
static int
parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"rate", required_argument, NULL, 'r'},
        {"ascii", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int port_from_env = cli_peer_defaults(&o->host, &o->port), opt;
    char *end;

    o->hz = DEFAULT_HZ;
    o->ascii = false;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":H:p:r:ahV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'H':
            o->host = optarg;
            break;
        case 'p':
            o->port = optarg;
            port_from_env = 0;
            break;
        case 'r':
            errno = 0;
            o->hz = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o->hz >= MIN_HZ && o->hz <= MAX_HZ)) {
                return cli_usage_error("bad rate '%s': expected %g to %g updates per second",
                                       optarg, MIN_HZ, MAX_HZ);
            }
            break;
        case 'a':
            o->ascii = true;
            break;
        case 'h':
            usage(stdout);
            return -1;
        case 'V':
            printf("stemcap-meter %s\n", STEMCAP_VERSION);
            return -1;
        case ':':
        default:
            return cli_bad_option(opt, optopt, argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    }
    return cli_peer_check(o->host, o->port, port_from_env);
}

/* Our handlers go in before ncurses starts, so it leaves INT/TERM/HUP to us (it installs its own
 * only over the defaults) and keeps its SIGWINCH handler for KEY_RESIZE. INT, TERM, HUP and WINCH
 * are blocked from now on; *WAIT_MASK unblocks them inside ppoll(). */
static void
take_signals(sigset_t *wait_mask)
{
    struct sigaction sa;
    sigset_t block;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGWINCH);
    sigprocmask(SIG_BLOCK, &block, wait_mask);
    sigdelset(wait_mask, SIGINT);
    sigdelset(wait_mask, SIGTERM);
    sigdelset(wait_mask, SIGHUP);
    sigdelset(wait_mask, SIGWINCH);
}

/* A frame when something changed and the last one is old enough; returns when the next is due
 * (later than NOW + IDLE_MS when none is). */
static int64_t
maybe_draw(struct meter *mt, int64_t now)
{
    if (mt->dirty && now - mt->last_draw_ms >= FRAME_MS) {
        screen_draw(mt, now);
        mt->dirty = false;
        mt->last_draw_ms = now;
    }
    return mt->dirty ? mt->last_draw_ms + FRAME_MS : INT64_MAX;
}

/* Wait until DUE (monotonic ms) for the terminal, the socket or a signal, and handle what came.
 * Returns false when the meter is to quit. */
static bool
wait_and_handle(struct meter *mt, int64_t now, int64_t due, const sigset_t *wait_mask)
{
    struct pollfd pfd[2] = {
        {.fd = 0, .events = POLLIN},
        {.fd = oscc_fd(mt->osc), .events = POLLIN}, /* ignored by ppoll() when -1 */
    };
    int64_t wait = due > now ? due - now : 0;
    struct timespec ts = {.tv_sec = wait / 1000, .tv_nsec = wait % 1000 * 1000000};
    sigset_t pending;
    int rc;

    rc = ppoll(pfd, 2, &ts, wait_mask);
    if (rc < 0 && errno != EINTR) {
        return false;
    }
    /* ppoll() delivers the signals it unblocks only when it fails with EINTR: one that came
     * while busy stays pending as long as some descriptor is ready at every call */
    sigpending(&pending);
    if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
        sigismember(&pending, SIGHUP)) {
        return false;
    }
    if (rc > 0 && (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL))) {
        return false; /* the terminal went away */
    }
    if (rc < 0 || pfd[0].revents) {
        input_keys(mt);
    }
    model_show_logged(mt);
    if (model_has_pending(mt) || (rc > 0 && pfd[1].revents)) {
        model_receive(mt);
    }
    return true;
}

static void
run(struct meter *mt, const sigset_t *wait_mask)
{
    model_start(mt);
    while (!quit_signal && !mt->quit) {
        int64_t now = meter_now_ms(), due, frame;

        model_tick(mt, now);
        frame = maybe_draw(mt, now);
        due = model_next_due(mt, now);
        if (!wait_and_handle(mt, now, frame < due ? frame : due, wait_mask)) {
            break;
        }
    }
    model_stop(mt);
}

int
main(int argc, char **argv)
{
    static struct meter mt; /* large: not on the stack */
    struct options o;
    sigset_t wait_mask;
    struct oscc *osc;
    int rc;

    cli_set_prog("stemcap-meter");
    rc = parse_options(argc, argv, &o);
    if (rc) {
        return rc < 0 ? 0 : rc;
    }
    if (!isatty(0) || !isatty(1)) {
        fputs("stemcap-meter: standard input and output must be a terminal\n", stderr);
        return EXIT_FAILURE_;
    }
    setlocale(LC_ALL, "");
    osc = oscc_open(o.host, o.port);
    if (!osc) {
        return EXIT_FAILURE_;
    }
    model_init(&mt, osc, o.hz,
               o.ascii                                      ? GLYPHS_ASCII
               : strcmp(nl_langinfo(CODESET), "UTF-8") == 0 ? GLYPHS_UTF8
                                                            : GLYPHS_ACS);
    take_signals(&wait_mask);
    if (screen_open(&mt) < 0) {
        oscc_close(osc);
        return EXIT_FAILURE_;
    }
    run(&mt, &wait_mask);
    screen_close();
    oscc_close(osc);
    return 0;
}
