/* stemcapd — main: arguments, signals, lifecycle and the control loop.  This is the control
 * thread, which owns everything but JACK's real-time thread (engine.c) and the writer thread
 * (writer.c); signals are blocked in every thread and read here from a signalfd.  Exit status: 0
 * after a clean stop (SIGINT/SIGTERM: the take in progress is finalised first), 1 when the daemon
 * cannot run (no JACK server, socket in use, ...), 2 for usage and configuration errors.
 * Design: docs/DESIGN.md, section "Threads and data". */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "log.h"
#include "notify.h"
#include "nsm.h"
#include "osc.h"

static void
usage(FILE *to)
{
    fprintf(to, "usage: stemcapd [-c FILE] [-v] [-k] [-h] [-V]\n"
                "Records up to 8 stereo stems and the mix from JACK, sample-synced.\n"
                "  -c, --config FILE   read the configuration from FILE\n"
                "  -v, --verbose       log debug messages too\n"
                "  -k, --keys          list every configuration key with its default\n"
                "  -h, --help          show this help\n"
                "  -V, --version       show the version\n"
                "See stemcapd(8) and stemcap.ini(5).\n");
}

/* SIGHUP: read the file again; a bad file changes nothing. */
static void
main_reload(struct ctl *ctl, const char *path)
{
    static struct conf n, cur;

    if (!path) {
        log_warn("SIGHUP: running on built-in defaults (no -c): nothing to reload");
        return;
    }
    conf_defaults(&n);
    if (nsm_wanted())
        n.osc_port = 0; /* as nsm_start() loads the session's file */
    if (conf_load(&n, path) < 0) {
        log_error("SIGHUP: %s has errors (above); the running configuration stays", path);
        return;
    }
    if (nsm_wanted()) /* the JACK client stays named by the client id */
    {
        ctl_snapshot(ctl, &cur);
        snprintf(n.jack_client, sizeof n.jack_client, "%s", cur.jack_client);
    }
    ctl_reload(ctl, &n);
}

/* systemd: STATUS= on every change of state, and WATCHDOG=1 only while
 * the JACK cycle counter and the disk thread both advance (with no server
 * at all the control loop's own progress counts: the daemon is retrying,
 * and a restart would not help). */
struct main_health {
    char status[32]; /* state/take last reported */
    double next_ping;
    uint64_t cycles;
    unsigned long writer_iter;
};

static double
main_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
main_health(struct ctl *ctl, struct main_health *h)
{
    struct ctl_status s;

    ctl_status(ctl, &s);
    /* Once per change of state or take, not for every xrun. */
    char key[32];
    snprintf(key, sizeof key, "%s/%d", s.state, s.take);
    if (strcmp(key, h->status) != 0) {
        snprintf(h->status, sizeof h->status, "%s", key);
        if (s.take)
            notify_status("%s; take %d of '%s'; %u xruns, %llu dropped", s.state, s.take, s.song,
                          s.xruns, (unsigned long long)s.dropped);
        else
            notify_status("%s", s.state);
    }
    double iv = notify_watchdog_interval(), now = main_now();
    if (iv <= 0 || now < h->next_ping)
        return;
    h->next_ping = now + iv;
    uint64_t cycles;
    unsigned long iter;
    if (!ctl_progress(ctl, &cycles, &iter))
        cycles = h->cycles + 1; /* offline: the cycle counter cannot move */
    if (cycles != h->cycles && iter != h->writer_iter)
        notify_watchdog();
    else
        log_warn("watchdog: no progress of the %s; not telling systemd all is well",
                 cycles == h->cycles ? "JACK cycle counter" : "disk thread");
    h->cycles = cycles;
    h->writer_iter = iter;
}

static int
main_loop(struct ctl *ctl, struct osc *osc, struct nsm *nsm, int sigfd, int notify_fd,
          const char *path)
{
    struct main_health health = {.next_ping = main_now() + notify_watchdog_interval()};
    struct ctl_status st;

    /* Start from the counters of now, and with the status READY carried. */
    ctl_status(ctl, &st);
    snprintf(health.status, sizeof health.status, "%s/%d", st.state, st.take);
    ctl_progress(ctl, &health.cycles, &health.writer_iter);
    struct pollfd pfd[4] = {
        {.fd = osc->pollfd, .events = POLLIN}, /* every OSC socket, UDP and TCP */
        {.fd = sigfd, .events = POLLIN},
        {.fd = notify_fd, .events = POLLIN},
        {.fd = nsm->fd, .events = POLLIN}, /* -1 (ignored) unless under NSM */
    };

    int timeout = ctl_tick_ms(ctl);

    for (;;) {
        int n = poll(pfd, 4, timeout);
        if (n < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            return 1;
        }
        if (pfd[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGHUP) {
                    main_reload(ctl, path);
                } else {
                    log_info("%s: stopping", strsignal((int)si.ssi_signo));
                    return 0;
                }
            }
        }
        if (pfd[2].revents & POLLIN) { /* JACK's callbacks: ctl_poll reads what changed */
            uint64_t v;
            if (read(notify_fd, &v, sizeof v) < 0 && errno != EAGAIN)
                log_warn("eventfd: %s", strerror(errno));
        }
        ctl_poll(ctl);
        if (pfd[0].revents & POLLIN)
            osc_handle(osc);
        if (pfd[3].revents & POLLIN)
            nsm_handle(nsm);
        nsm_poll(nsm); /* reads ctl->events before the OSC front end clears them */
        osc_push_events(osc);
        main_health(ctl, &health);
        timeout = osc_tick(osc); /* the next push to a subscriber */
        if (timeout > ctl_tick_ms(ctl))
            timeout = ctl_tick_ms(ctl);
    }
}

/* Options into *PATH.  Returns -1 to go on, else the exit status. */
static int
main_args(int argc, char **argv, const char **path)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"verbose", no_argument, NULL, 'v'},
        {"keys", no_argument, NULL, 'k'},         {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "c:vkhV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            *path = optarg;
            break;
        case 'v':
            log_set_level(LOG_LEVEL_DEBUG);
            break;
        case 'k':
            conf_print_keys(stdout);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("stemcapd %s\n", STEMCAP_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "stemcapd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    return -1;
}

/* Blocks the signals read from the returned signalfd before any thread
 * exists (JACK's and the writer inherit the mask).  Returns -1 on failure. */
static int
main_signals(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int
main(int argc, char **argv)
{
    const char *path = NULL;
    struct conf conf;
    static struct ctl ctl;
    struct osc osc = {.fd = -1};
    static struct nsm nsm = {.fd = -1};
    int rc = main_args(argc, argv, &path), sigfd = -1, notify_fd = -1;

    if (rc >= 0)
        return rc;
    rc = 1;
    conf_defaults(&conf);
    if (path && conf_load(&conf, path) < 0)
        return 2;
    /* A configuration error exits 2 before anything is opened. */
    char why[256];
    if (!nsm_wanted() && take_check_root(conf.capture_dir, why, sizeof why) < 0) {
        log_error("%s: [capture] dir '%s': %s", path ? path : "(defaults)", conf.capture_dir, why);
        return 2;
    }
    notify_init();
    sigfd = main_signals();
    notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (sigfd < 0 || notify_fd < 0) {
        log_error("cannot create signalfd/eventfd: %s", strerror(errno));
        goto out;
    }
    /* Under a session manager the session says which file to run on. */
    static struct conf session;
    const struct conf *run = &conf;
    if (nsm_wanted()) {
        int r = nsm_start(&nsm, argv[0], &conf, &session, sigfd);
        if (r != 0) {
            rc = r > 0 ? 0 : 1;
            goto out;
        }
        run = &session;
        path = nsm.ini;
    }
    if (osc_open(&osc, &ctl, run) < 0 || ctl_init(&ctl, run, notify_fd) < 0) {
        nsm_open_done(&nsm, NULL, 0);
        goto out;
    }
    nsm_open_done(&nsm, &ctl, osc.port);
    log_info("stemcapd %s ready (config %s)", STEMCAP_VERSION, path ? path : "built-in defaults");
    struct ctl_status st;
    ctl_status(&ctl, &st);
    notify_ready(st.state);
    rc = main_loop(&ctl, &osc, &nsm, sigfd, notify_fd, path);
    notify_stopping();
    ctl_shutdown(&ctl);
out:
    osc_close(&osc);
    nsm_close(&nsm);
    if (sigfd >= 0)
        close(sigfd);
    if (notify_fd >= 0)
        close(notify_fd);
    notify_close();
    return rc;
}
