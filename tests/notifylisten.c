/* notifylisten — stand in for systemd's notification socket in tests.
 *
 * Usage: notifylisten SOCKETPATH [SECONDS]
 *
 * Design: binds an AF_UNIX datagram socket at SOCKETPATH (a stale file there is removed first,
 * and the socket file is removed on exit) and prints every datagram received as one line on
 * stdout, flushed at once, with the newlines that separate the KEY=value assignments shown as
 * '|' (a trailing newline is dropped, other control bytes print as '?').  Runs until SIGTERM or
 * SIGINT, or until SECONDS (fractions allowed) have elapsed.  The signals are blocked and only
 * let through inside ppoll(), so one arriving between two datagrams is never missed.  Exit: 0,
 * or 2 on usage and socket errors.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
print_dgram(const char *buf, size_t n)
{
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        putchar(c == '\n' ? '|' : c < 0x20 || c == 0x7f ? '?' : c);
    }
    putchar('\n');
    fflush(stdout);
}

int
main(int argc, char **argv)
{
    static char buf[65536];
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    double limit = -1, deadline = 0;
    struct sigaction sa = {.sa_handler = on_signal};
    sigset_t block, open_mask;
    int fd;

    if (argc < 2 || argc > 3 || strlen(argv[1]) >= sizeof addr.sun_path) {
        fprintf(stderr, "usage: notifylisten SOCKETPATH [SECONDS]\n"
                        "Prints each datagram sent to the unix socket SOCKETPATH as one line "
                        "('|' for newlines).\n");
        return 2;
    }
    if (argc == 3) {
        char *end;
        limit = strtod(argv[2], &end);
        if (*end || end == argv[2] || limit < 0) {
            fprintf(stderr, "notifylisten: bad SECONDS '%s'\n", argv[2]);
            return 2;
        }
        deadline = now() + limit;
    }
    strcpy(addr.sun_path, argv[1]);

    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &open_mask);
    sigdelset(&open_mask, SIGTERM);
    sigdelset(&open_mask, SIGINT);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "notifylisten: socket: %s\n", strerror(errno));
        return 2;
    }
    unlink(addr.sun_path);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "notifylisten: bind %s: %s\n", addr.sun_path, strerror(errno));
        return 2;
    }

    int rc = 0;
    while (!stop) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        struct timespec ts, *tp = NULL;
        if (limit >= 0) {
            double left = deadline - now();
            if (left <= 0)
                break;
            ts.tv_sec = (time_t)left;
            ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
            tp = &ts;
        }
        int n = ppoll(&pfd, 1, tp, &open_mask);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "notifylisten: poll: %s\n", strerror(errno));
            rc = 2;
            break;
        }
        if (n > 0 && (pfd.revents & POLLIN)) {
            ssize_t got = recv(fd, buf, sizeof buf, 0);
            if (got >= 0)
                print_dgram(buf, (size_t)got);
        }
    }
    close(fd);
    unlink(addr.sun_path);
    return rc;
}
