/* oscclient.c - the OSC client shared by the stemcap tools.
 *
 * stemcapd answers every message to the address and port it came from, so a client needs one
 * socket that both sends and receives. liblo's lo_address/lo_send would send from a socket of its
 * own, so this module keeps liblo for what it is good at, encoding and decoding messages
 * (lo_message_serialise / lo_message_deserialise), and owns a plain UDP socket itself.
 *
 * The socket is connect()ed: the kernel then drops datagrams from anybody but the daemon, send()
 * needs no address, and an ICMP "port unreachable" surfaces as ECONNREFUSED, so "nothing listens
 * there" is known at once instead of after the timeout. When a name resolves to several addresses
 * (localhost: ::1 and 127.0.0.1) and one refuses, the next is tried with the last datagram resent,
 * within the same deadline.
 *
 * Replies are matched by address only: requests go one at a time, and anything else that arrives
 * (a push to a subscriber, a late reply) is skipped. Errors are logged here once, prefixed with
 * the program name, except "no answer", which the caller words for its user.
 */
#include "oscclient.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define OSCC_MAX_DATAGRAM 65536

struct oscc {
    int fd;
    struct addrinfo *addrs; /* all resolved addresses */
    struct addrinfo *cur;   /* the one fd is connected to */
    char *peer;             /* "host:port" for messages */
    unsigned char *out;     /* last datagram sent, for a resend after failover */
    size_t out_len;
    unsigned char in[OSCC_MAX_DATAGRAM];
};

struct oscc_msg {
    lo_message msg;
    char *path;
};

static void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
log_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", program_invocation_short_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Connect a new socket to the first usable address from AI on; errno tells why none was. */
static int
connect_from(struct oscc *c, struct addrinfo *ai)
{
    int err = EADDRNOTAVAIL;

    for (; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            c->fd = fd;
            c->cur = ai;
            return 0;
        }
        err = errno;
        close(fd);
    }
    errno = err;
    return -1;
}

struct oscc *
oscc_open(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
    struct oscc *c;
    int rc;

    c = calloc(1, sizeof *c);
    if (!c) {
        log_error("out of memory");
        return NULL;
    }
    c->fd = -1;
    if (asprintf(&c->peer, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port) < 0) {
        c->peer = NULL;
        log_error("out of memory");
        goto fail;
    }
    rc = getaddrinfo(host, port, &hints, &c->addrs);
    if (rc != 0) {
        log_error("cannot resolve %s: %s", c->peer,
                  rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        c->addrs = NULL;
        goto fail;
    }
    if (connect_from(c, c->addrs) < 0) {
        log_error("cannot open a UDP socket to %s: %s", c->peer, strerror(errno));
        goto fail;
    }
    return c;
fail:
    oscc_close(c);
    return NULL;
}

void
oscc_close(struct oscc *c)
{
    if (!c) {
        return;
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    if (c->addrs) {
        freeaddrinfo(c->addrs);
    }
    free(c->peer);
    free(c->out);
    free(c);
}

const char *
oscc_peer(const struct oscc *c)
{
    return c->peer;
}

/* send() the last datagram; a pending ECONNREFUSED belongs to an earlier one, so retry once. */
static int
send_out(struct oscc *c)
{
    ssize_t n = send(c->fd, c->out, c->out_len, 0);

    if (n < 0 && errno == ECONNREFUSED) {
        n = send(c->fd, c->out, c->out_len, 0);
    }
    return n == (ssize_t)c->out_len ? 0 : -1;
}

int
oscc_send(struct oscc *c, const char *path, lo_message m)
{
    lo_message empty = NULL;
    size_t len;

    if (!m) {
        m = empty = lo_message_new();
        if (!m) {
            log_error("out of memory");
            return -1;
        }
    }
    len = lo_message_length(m, path);
    free(c->out);
    c->out_len = 0;
    c->out = malloc(len);
    if (!c->out) {
        log_error("out of memory");
        goto fail;
    }
    lo_message_serialise(m, path, c->out, &c->out_len);
    if (send_out(c) < 0) {
        log_error("cannot send %s to %s: %s", path, c->peer, strerror(errno));
        goto fail;
    }
    lo_message_free(empty);
    return 0;
fail:
    lo_message_free(empty);
    return -1;
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Decode a datagram; NULL (silently) for anything that is not an OSC message. */
static struct oscc_msg *
decode(unsigned char *data, size_t len)
{
    struct oscc_msg *m;
    int result = 0;

    if (len < 4 || data[0] != '/') {
        return NULL; /* bundles ("#bundle") and junk */
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        return NULL;
    }
    m->msg = lo_message_deserialise(data, len, &result);
    if (m->msg) {
        /* valid, as the deserialiser checked the path string */
        m->path = strdup(lo_get_path(data, (ssize_t)len));
    }
    if (!m->path) {
        oscc_msg_free(m);
        return NULL;
    }
    return m;
}

/* ECONNREFUSED: move on to the next resolved address, if any, and resend there. */
static int
failover(struct oscc *c)
{
    struct addrinfo *next = c->cur->ai_next;

    if (!next || !c->out_len) {
        errno = ECONNREFUSED;
        return -1;
    }
    close(c->fd);
    c->fd = -1;
    if (connect_from(c, next) < 0 || send_out(c) < 0) {
        errno = ECONNREFUSED;
        return -1;
    }
    return 0;
}

int
oscc_wait(struct oscc *c, const char *expect, int timeout_ms, struct oscc_msg **out)
{
    int64_t deadline = now_ms() + timeout_ms;

    *out = NULL;
    for (;;) {
        int64_t left = deadline - now_ms();
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        struct oscc_msg *m;
        ssize_t n;
        int rc;

        if (left <= 0) {
            errno = ETIMEDOUT;
            return 0;
        }
        rc = poll(&pfd, 1, (int)left);
        if (rc < 0 && errno != EINTR) {
            log_error("cannot wait for a reply from %s: %s", c->peer, strerror(errno));
            return -1;
        }
        if (rc <= 0) {
            continue;
        }
        n = recv(c->fd, c->in, sizeof c->in, MSG_TRUNC);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            if (errno == ECONNREFUSED) {
                if (failover(c) == 0) {
                    continue;
                }
                return 0;
            }
            log_error("cannot receive from %s: %s", c->peer, strerror(errno));
            return -1;
        }
        if ((size_t)n > sizeof c->in) {
            continue; /* truncated */
        }
        m = decode(c->in, (size_t)n);
        if (!m) {
            continue;
        }
        if (!expect || strcmp(m->path, expect) == 0 || strcmp(m->path, OSCC_ERROR_PATH) == 0) {
            *out = m;
            return 1;
        }
        oscc_msg_free(m);
    }
}

const char *
oscc_msg_path(const struct oscc_msg *m)
{
    return m->path;
}

const char *
oscc_msg_types(const struct oscc_msg *m)
{
    const char *t = lo_message_get_types(m->msg);

    return t ? t : "";
}

int
oscc_msg_argc(const struct oscc_msg *m)
{
    return lo_message_get_argc(m->msg);
}

lo_arg **
oscc_msg_argv(const struct oscc_msg *m)
{
    return lo_message_get_argv(m->msg);
}

/* liblo's argument pointers are only 4-byte aligned (OSC packing), so they are never
 * dereferenced as lo_arg here: strings start at the pointer, numbers are copied out. */
const char *
oscc_msg_string(const struct oscc_msg *m, int i)
{
    if (i < 0 || i >= oscc_msg_argc(m)) {
        return NULL;
    }
    switch (oscc_msg_types(m)[i]) {
    case LO_STRING:
    case LO_SYMBOL:
        return (const char *)oscc_msg_argv(m)[i];
    default:
        return NULL;
    }
}

int
oscc_msg_int(const struct oscc_msg *m, int i, int64_t *out)
{
    int32_t i32;

    if (i < 0 || i >= oscc_msg_argc(m)) {
        return -1;
    }
    switch (oscc_msg_types(m)[i]) {
    case LO_INT32:
        memcpy(&i32, oscc_msg_argv(m)[i], sizeof i32);
        *out = i32;
        return 0;
    case LO_INT64:
        memcpy(out, oscc_msg_argv(m)[i], sizeof *out);
        return 0;
    case LO_TRUE:
        *out = 1;
        return 0;
    case LO_FALSE:
        *out = 0;
        return 0;
    default:
        return -1;
    }
}

void
oscc_msg_free(struct oscc_msg *m)
{
    if (!m) {
        return;
    }
    if (m->msg) {
        lo_message_free(m->msg);
    }
    free(m->path);
    free(m);
}

static int
parse_i64(const char *text, long long *out)
{
    char *end;

    if (!*text || *text == ' ' || (*text >= '\t' && *text <= '\r')) {
        return -1;
    }
    errno = 0;
    *out = strtoll(text, &end, 10);
    return errno || *end ? -1 : 0;
}

static int
parse_double(const char *text, double *out)
{
    char *end;

    if (!*text || *text == ' ' || (*text >= '\t' && *text <= '\r') || strpbrk(text, "xX")) {
        return -1; /* no hexadecimal floats: "0x10" stays text */
    }
    errno = 0;
    *out = strtod(text, &end);
    return errno || *end || !isfinite(*out) ? -1 : 0;
}

int
oscc_add_arg(lo_message m, const char *text)
{
    long long ll;
    double d;
    int rc;

    if (text[0] && !text[1] && strchr("TFNI", text[0])) {
        rc = text[0] == 'T'   ? lo_message_add_true(m)
             : text[0] == 'F' ? lo_message_add_false(m)
             : text[0] == 'N' ? lo_message_add_nil(m)
                              : lo_message_add_infinitum(m);
    } else if (text[0] && text[1] == ':' && strchr("ihfds", text[0])) {
        const char *v = text + 2;
        switch (text[0]) {
        case 'i':
            if (parse_i64(v, &ll) < 0 || ll < INT32_MIN || ll > INT32_MAX) {
                return -1;
            }
            rc = lo_message_add_int32(m, (int32_t)ll);
            break;
        case 'h':
            if (parse_i64(v, &ll) < 0) {
                return -1;
            }
            rc = lo_message_add_int64(m, ll);
            break;
        case 'f':
        case 'd':
            if (parse_double(v, &d) < 0 || (text[0] == 'f' && fabs(d) > FLT_MAX)) {
                return -1;
            }
            rc = text[0] == 'f' ? lo_message_add_float(m, (float)d) : lo_message_add_double(m, d);
            break;
        default:
            rc = lo_message_add_string(m, v);
            break;
        }
    } else if (parse_i64(text, &ll) == 0) {
        rc = ll >= INT32_MIN && ll <= INT32_MAX ? lo_message_add_int32(m, (int32_t)ll)
                                                : lo_message_add_int64(m, ll);
    } else if (parse_double(text, &d) == 0) {
        rc = fabs(d) > FLT_MAX ? lo_message_add_double(m, d) : lo_message_add_float(m, (float)d);
    } else {
        rc = lo_message_add_string(m, text);
    }
    if (rc < 0) {
        log_error("out of memory");
        return -1;
    }
    return 0;
}

int
oscc_parse_int(const char *text, long min, long max, long *out)
{
    long long v;

    if (parse_i64(text, &v) < 0 || v < min || v > max) {
        return -1;
    }
    *out = (long)v;
    return 0;
}
