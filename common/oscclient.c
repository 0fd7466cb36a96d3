/* oscclient.c - the OSC client library of the stemcap tools (contract in oscclient.h).
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
 * A received datagram is decoded at once into a queue of messages: one for a message, all of them
 * for a bundle (stemcapd's [osc] bundle = true), which oscc_recv() then hands out one by one.
 * Replies are matched by address only: requests go one at a time, and anything else that arrives
 * (a push to a subscriber, a late reply) is skipped by oscc_wait().
 */
#include "oscclient.h"

#include "protocol.h"

#include <errno.h>
#include <limits.h>
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
#define OSCC_MAX_DEPTH    4 /* bundles inside the outer one */

struct oscc_msg {
    lo_message msg;
    char *path;
    struct oscc_msg *next; /* in the queue */
};

struct oscc {
    int fd;
    struct addrinfo *addrs; /* all resolved addresses */
    struct addrinfo *cur;   /* the one fd is connected to */
    char *peer;             /* "host:port" for messages */
    unsigned char *out;     /* last datagram sent, for a resend after failover */
    size_t out_len;
    struct oscc_msg *head, *tail; /* received, not yet returned */
    int queued;
    unsigned char in[OSCC_MAX_DATAGRAM];
};

static void (*log_fn)(void *ctx, const char *line);
static void *log_ctx;

void
oscc_set_log(void (*fn)(void *ctx, const char *line), void *ctx)
{
    log_fn = fn;
    log_ctx = ctx;
}

static void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
log_error(const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (log_fn) {
        log_fn(log_ctx, line);
    } else {
        fprintf(stderr, "%s: %s\n", program_invocation_short_name, line);
    }
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
    while (c->head) {
        struct oscc_msg *m = c->head;
        c->head = m->next;
        oscc_msg_free(m);
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

int
oscc_fd(const struct oscc *c)
{
    return c->fd;
}

int
oscc_pending(const struct oscc *c)
{
    return c->queued;
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

static void
enqueue(struct oscc *c, struct oscc_msg *m)
{
    if (c->tail) {
        c->tail->next = m;
    } else {
        c->head = m;
    }
    c->tail = m;
    c->queued++;
}

static struct oscc_msg *
dequeue(struct oscc *c)
{
    struct oscc_msg *m = c->head;

    c->head = m->next;
    if (!c->head) {
        c->tail = NULL;
    }
    m->next = NULL;
    c->queued--;
    return m;
}

/* Decode one OSC message; NULL (silently) for anything else. */
static struct oscc_msg *
decode(unsigned char *data, size_t len)
{
    struct oscc_msg *m;
    int result = 0;

    if (len < 4 || data[0] != '/') {
        return NULL;
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

/* Queue the messages of the bundle DATA: "#bundle\0", a time tag (ignored), then elements of
 * a big-endian int32 size and a message or bundle each. A malformed element ends the bundle. */
static void
enqueue_bundle(struct oscc *c, unsigned char *data, size_t len, int depth)
{
    size_t off = 16;

    if (depth > OSCC_MAX_DEPTH || len < off || memcmp(data, "#bundle", 8) != 0) {
        return;
    }
    while (len - off >= 4) {
        size_t n = (size_t)data[off] << 24 | (size_t)data[off + 1] << 16 |
                   (size_t)data[off + 2] << 8 | data[off + 3];
        off += 4;
        if (n > len - off || n % 4) {
            return;
        }
        if (n >= 16 && data[off] == '#') {
            enqueue_bundle(c, data + off, n, depth + 1);
        } else {
            struct oscc_msg *m = decode(data + off, n);
            if (m) {
                enqueue(c, m);
            }
        }
        off += n;
    }
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

/* Read one datagram into the queue. Returns 1 (the queue may still be empty: it was no OSC), 0
 * when the peer refused and no other address is left (errno ECONNREFUSED), -1 (logged). */
static int
read_datagram(struct oscc *c)
{
    ssize_t n = recv(c->fd, c->in, sizeof c->in, MSG_TRUNC);
    struct oscc_msg *m;

    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) {
            return 1;
        }
        if (errno == ECONNREFUSED) {
            return failover(c) == 0 ? 1 : 0;
        }
        log_error("cannot receive from %s: %s", c->peer, strerror(errno));
        return -1;
    }
    if ((size_t)n > sizeof c->in) {
        return 1; /* truncated */
    }
    if (n >= 16 && c->in[0] == '#') {
        enqueue_bundle(c, c->in, (size_t)n, 0);
    } else if ((m = decode(c->in, (size_t)n))) {
        enqueue(c, m);
    }
    return 1;
}

int
oscc_recv(struct oscc *c, int timeout_ms, struct oscc_msg **out)
{
    int64_t deadline = now_ms() + timeout_ms;

    *out = NULL;
    for (;;) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int64_t left;
        int rc;

        if (c->head) {
            *out = dequeue(c);
            return 1;
        }
        left = deadline - now_ms();
        rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
        if (rc < 0 && errno != EINTR) {
            log_error("cannot wait for a reply from %s: %s", c->peer, strerror(errno));
            return -1;
        }
        if (rc > 0) {
            rc = read_datagram(c);
            if (rc <= 0) {
                return rc;
            }
        }
        if (!c->head && now_ms() >= deadline) {
            errno = ETIMEDOUT;
            return 0;
        }
    }
}

int
oscc_wait(struct oscc *c, const char *expect, int timeout_ms, struct oscc_msg **out)
{
    int64_t deadline = now_ms() + timeout_ms;

    *out = NULL;
    for (;;) {
        int64_t left = deadline - now_ms();
        struct oscc_msg *m;
        int rc;

        if (left <= 0) {
            errno = ETIMEDOUT;
            return 0;
        }
        rc = oscc_recv(c, (int)left, &m);
        if (rc <= 0) {
            return rc;
        }
        if (!expect || strcmp(m->path, expect) == 0 || strcmp(m->path, PROTO_ERROR) == 0) {
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

int
oscc_msg_float(const struct oscc_msg *m, int i, float *out)
{
    if (i < 0 || i >= oscc_msg_argc(m) || oscc_msg_types(m)[i] != LO_FLOAT) {
        return -1;
    }
    memcpy(out, oscc_msg_argv(m)[i], sizeof *out);
    return 0;
}

int
oscc_msg_number(const struct oscc_msg *m, int i, double *out)
{
    int64_t v;
    float f;

    if (i < 0 || i >= oscc_msg_argc(m)) {
        return -1;
    }
    if (oscc_msg_int(m, i, &v) == 0) {
        *out = (double)v;
    } else if (oscc_msg_float(m, i, &f) == 0) {
        *out = f;
    } else if (oscc_msg_types(m)[i] == LO_DOUBLE) {
        memcpy(out, oscc_msg_argv(m)[i], sizeof *out);
    } else {
        return -1;
    }
    return 0;
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
