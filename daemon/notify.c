/* notify — sd_notify(3) done by hand.
 *
 * The protocol is one AF_UNIX datagram per message to the socket named in
 * $NOTIFY_SOCKET ("/path", or "@name" for the abstract namespace, where the
 * '@' becomes a leading NUL and the address has no terminating NUL), the
 * message being newline-separated KEY=value assignments.  systemd learns
 * the sender's pid from the socket credentials, so nothing else is needed.
 * The socket is non-blocking: a status update lost to a full queue is
 * better than a control loop stuck in sendto(); keep-alives are repeated
 * anyway.  Send failures are logged at debug level, once per run of
 * failures, since the daemon runs fine without its supervisor. */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define NOTIFY_MSG_MAX 1024

static struct {
    int fd;
    struct sockaddr_un addr;
    socklen_t addr_len;
    unsigned long long watchdog_usec; /* 0 = no watchdog for us */
    int failing;                      /* the last send failed (and was logged) */
} nfy = {.fd = -1};

/* $WATCHDOG_USEC if the watchdog is meant for this process, else 0. */
static unsigned long long
notify_watchdog_env(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    char *end;

    if (!usec || !*usec)
        return 0;
    if (pid && *pid) {
        errno = 0;
        long long p = strtoll(pid, &end, 10);
        if (errno || *end || p != (long long)getpid())
            return 0;
    }
    errno = 0;
    unsigned long long v = strtoull(usec, &end, 10);
    if (errno || *end || usec[0] == '-') {
        log_warn("WATCHDOG_USEC='%s' is not a number of microseconds: no watchdog", usec);
        return 0;
    }
    return v;
}

int
notify_init(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    size_t n;

    notify_close();
    if (!path || !*path)
        return 0;
    n = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof nfy.addr.sun_path) {
        log_warn("NOTIFY_SOCKET='%s' is not a unix socket path or @abstract name "
                 "(at most %zu bytes): no service notifications",
                 path, sizeof nfy.addr.sun_path - 1);
        return -1;
    }
    memset(&nfy.addr, 0, sizeof nfy.addr);
    nfy.addr.sun_family = AF_UNIX;
    memcpy(nfy.addr.sun_path, path, n);
    if (path[0] == '@')
        nfy.addr.sun_path[0] = '\0';
    else
        n++; /* a path address includes its NUL */
    nfy.addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    nfy.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (nfy.fd < 0) {
        log_warn("cannot create the socket for NOTIFY_SOCKET=%s: %s", path, strerror(errno));
        return -1;
    }
    nfy.watchdog_usec = notify_watchdog_env();
    log_debug("service notifications to %s, watchdog %s", path, nfy.watchdog_usec ? "on" : "off");
    return 0;
}

/* Sends prefix + the formatted text; one_line: newlines in the text (not
 * in the prefix) become spaces, for a STATUS= value. */
static int __attribute__((format(printf, 3, 0)))
notify_vsend(const char *prefix, int one_line, const char *fmt, va_list ap)
{
    char msg[NOTIFY_MSG_MAX];
    size_t p = strlen(prefix);
    int n;

    if (nfy.fd < 0)
        return 0;
    memcpy(msg, prefix, p + 1);
    n = vsnprintf(msg + p, sizeof msg - p, fmt, ap);
    if (n < 0)
        return -1;
    size_t len = p + (size_t)n < sizeof msg ? p + (size_t)n : sizeof msg - 1;
    if (one_line)
        for (char *c = msg + p; c < msg + len; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
    const struct sockaddr *to = (const struct sockaddr *)&nfy.addr;
    if (sendto(nfy.fd, msg, len, MSG_NOSIGNAL, to, nfy.addr_len) < 0) {
        if (!nfy.failing)
            log_debug("service notification '%.*s' not sent: %s (further failures not logged)",
                      (int)strcspn(msg, "\n"), msg, strerror(errno));
        nfy.failing = 1;
        return -1;
    }
    nfy.failing = 0;
    return 0;
}

static int __attribute__((format(printf, 3, 4)))
notify_sendp(const char *prefix, int one_line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = notify_vsend(prefix, one_line, fmt, ap);
    va_end(ap);
    return rc;
}

int
notify_send(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = notify_vsend("", 0, fmt, ap);
    va_end(ap);
    return rc;
}

int
notify_status(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = notify_vsend("STATUS=", 1, fmt, ap);
    va_end(ap);
    return rc;
}

int
notify_ready(const char *status)
{
    return status ? notify_sendp("READY=1\nSTATUS=", 1, "%s", status) : notify_send("READY=1");
}

int
notify_stopping(void)
{
    return notify_send("STOPPING=1");
}

double
notify_watchdog_interval(void)
{
    return nfy.fd >= 0 ? (double)nfy.watchdog_usec / 2e6 : 0.0;
}

void
notify_watchdog(void)
{
    if (nfy.fd >= 0 && nfy.watchdog_usec)
        notify_send("WATCHDOG=1");
}

void
notify_close(void)
{
    if (nfy.fd >= 0)
        close(nfy.fd);
    nfy.fd = -1;
    nfy.watchdog_usec = 0;
    nfy.failing = 0;
}
