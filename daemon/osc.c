/* osc — OSC over UDP.
 *
 * liblo's own server thread would listen on every interface, so the daemon
 * keeps its own UDP socket, bound to [osc] bind, and uses liblo only for
 * the wire format: lo_message_deserialise() on a validated, zero-padded copy
 * of each datagram, lo_message_serialise() for replies.  Validation before
 * liblo sees anything: a size cap, 4-byte alignment, an address pattern that
 * starts with '/', no bundles.  Dispatch is a table of exact addresses plus
 * the per-stem addresses /stemcap/stem/N/...; handlers check the argument
 * types themselves and every message gets exactly one reply, sent from this
 * socket to the sender's address and port: the answer, or
 * /stemcap/error s:address s:reason. */
#include "osc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <lo/lo.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

struct osc_req {
    struct osc *o;
    const char *path;
    const char *types; /* without the leading ',' */
    lo_arg **argv;
    int argc;
    const struct sockaddr *from;
    socklen_t fromlen;
};

static void
osc_send(struct osc_req *r, const char *path, lo_message m)
{
    size_t size = 0;
    void *data = lo_message_serialise(m, path, NULL, &size);

    if (!data) {
        log_warn("osc: cannot serialise reply %s", path);
        return;
    }
    if (sendto(r->o->fd, data, size, 0, r->from, r->fromlen) < 0)
        log_debug("osc: cannot send %s: %s", path, strerror(errno));
    free(data);
}

static void
osc_error(struct osc_req *r, const char *reason)
{
    lo_message m = lo_message_new();
    lo_message_add_string(m, r->path ? r->path : "");
    lo_message_add_string(m, reason);
    osc_send(r, "/stemcap/error", m);
    lo_message_free(m);
    log_debug("osc: %s: %s", r->path ? r->path : "?", reason);
}

static void
osc_reply_status(struct osc_req *r)
{
    struct ctl_status s;
    lo_message m = lo_message_new();

    ctl_status(r->o->ctl, &s);
    lo_message_add_string(m, s.state);
    lo_message_add_int32(m, s.take);
    lo_message_add_int64(m, (int64_t)s.frames);
    lo_message_add_int32(m, (int32_t)s.xruns);
    lo_message_add_int64(m, (int64_t)s.dropped);
    lo_message_add_string(m, s.song);
    lo_message_add_string(m, s.take_dir);
    lo_message_add_int32(m, (int32_t)s.rate);
    osc_send(r, "/stemcap/status", m);
    lo_message_free(m);
}

static int
osc_no_args(struct osc_req *r)
{
    if (r->argc == 0)
        return 0;
    osc_error(r, "takes no arguments");
    return -1;
}

static void
osc_ping(struct osc_req *r)
{
    if (osc_no_args(r) < 0)
        return;
    lo_message m = lo_message_new();
    lo_message_add_string(m, STEMCAP_VERSION);
    osc_send(r, "/stemcap/pong", m);
    lo_message_free(m);
}

static void
osc_start(struct osc_req *r)
{
    char why[CTL_REASON_MAX];
    if (osc_no_args(r) < 0)
        return;
    if (ctl_start(r->o->ctl, why) < 0)
        osc_error(r, why);
    else
        osc_reply_status(r);
}

static void
osc_stop(struct osc_req *r)
{
    char why[CTL_REASON_MAX];
    if (osc_no_args(r) < 0)
        return;
    if (ctl_stop(r->o->ctl, why) < 0)
        osc_error(r, why);
    else
        osc_reply_status(r);
}

static void
osc_status(struct osc_req *r)
{
    if (osc_no_args(r) < 0)
        return;
    osc_reply_status(r);
}

static void
osc_song(struct osc_req *r)
{
    char why[CTL_REASON_MAX];
    if (r->argc != 1 || r->types[0] != 's') {
        osc_error(r, "expects one string argument (the song title)");
        return;
    }
    if (ctl_set_song(r->o->ctl, &r->argv[0]->s, why) < 0) {
        osc_error(r, why);
        return;
    }
    lo_message m = lo_message_new();
    lo_message_add_string(m, r->o->ctl->conf.song_title);
    osc_send(r, "/stemcap/song", m);
    lo_message_free(m);
}

/* Reads a boolean from a surface: i/h (non-zero), f/d (>= 0.5), T/F.
 * Returns 0/1, or -1 for another type.  liblo's argument pointers are only
 * 4-byte aligned, so 64-bit values are copied out, never dereferenced. */
static int
osc_arg_bool(char type, const lo_arg *a)
{
    int64_t h;
    double d;

    switch (type) {
    case 'i':
        return a->i != 0;
    case 'h':
        memcpy(&h, a, sizeof h);
        return h != 0;
    case 'f':
        return a->f >= 0.5f;
    case 'd':
        memcpy(&d, a, sizeof d);
        return d >= 0.5;
    case 'T':
        return 1;
    case 'F':
        return 0;
    default:
        return -1;
    }
}

static void
osc_stem_arm(struct osc_req *r, int stem)
{
    char why[CTL_REASON_MAX];
    int armed;

    if (r->argc > 1 || (r->argc == 1 && (armed = osc_arg_bool(r->types[0], r->argv[0])) < 0)) {
        osc_error(r, "expects no argument (query) or one i, f, T or F");
        return;
    }
    if (r->argc == 1 ? ctl_arm(r->o->ctl, stem, armed, why) : 0) {
        osc_error(r, why);
        return;
    }
    if (ctl_get_arm(r->o->ctl, stem, &armed, why) < 0) {
        osc_error(r, why);
        return;
    }
    lo_message m = lo_message_new();
    lo_message_add_int32(m, armed);
    osc_send(r, r->path, m);
    lo_message_free(m);
}

static const struct {
    const char *path;
    void (*fn)(struct osc_req *r);
} osc_table[] = {
    {"/stemcap/ping", osc_ping},     {"/stemcap/start", osc_start}, {"/stemcap/stop", osc_stop},
    {"/stemcap/status", osc_status}, {"/stemcap/song", osc_song},
};

static const struct {
    const char *leaf;
    void (*fn)(struct osc_req *r, int stem);
} osc_stem_table[] = {
    {"arm", osc_stem_arm},
};

/* "/stemcap/stem/N/leaf": returns N and points *leaf at "leaf", or -1. */
static int
osc_parse_stem_path(const char *path, const char **leaf)
{
    const char *p = path + strlen("/stemcap/stem/");
    int n = 0, digits = 0;

    if (strncmp(path, "/stemcap/stem/", strlen("/stemcap/stem/")) != 0)
        return -1;
    while (*p >= '0' && *p <= '9' && digits < 3) {
        n = n * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0 || *p != '/')
        return -1;
    *leaf = p + 1;
    return n;
}

static void
osc_route(struct osc_req *r)
{
    const char *leaf;
    int stem;

    for (size_t i = 0; i < sizeof osc_table / sizeof osc_table[0]; i++) {
        if (strcmp(r->path, osc_table[i].path) == 0) {
            osc_table[i].fn(r);
            return;
        }
    }
    if ((stem = osc_parse_stem_path(r->path, &leaf)) >= 0) {
        for (size_t i = 0; i < sizeof osc_stem_table / sizeof osc_stem_table[0]; i++) {
            if (strcmp(leaf, osc_stem_table[i].leaf) == 0) {
                char why[CTL_REASON_MAX];
                if (stem < 1 || stem > CONF_MAX_STEMS) {
                    snprintf(why, sizeof why, "stem %d is out of range (1..%d)", stem,
                             CONF_MAX_STEMS);
                    osc_error(r, why);
                    return;
                }
                osc_stem_table[i].fn(r, stem);
                return;
            }
        }
    }
    osc_error(r, "unknown address");
}

void
osc_dispatch_datagram(struct osc *o, const void *data, size_t size, const void *from,
                      unsigned fromlen)
{
    /* A zero-padded copy: liblo never reads past a NUL we did not check. */
    _Alignas(8) unsigned char buf[OSC_MAX_DATAGRAM + 8];
    struct osc_req r = {.o = o, .from = from, .fromlen = fromlen};
    char path[64] = "";
    int result = 0;

    if (size > OSC_MAX_DATAGRAM) {
        log_debug("osc: dropped a %zu-byte datagram (more than %d)", size, OSC_MAX_DATAGRAM);
        r.path = "";
        osc_error(&r, "datagram too large");
        return;
    }
    memcpy(buf, data, size);
    memset(buf + size, 0, sizeof buf - size);
    /* A printable copy of the address for error replies. */
    size_t plen = strnlen((const char *)buf, size);
    if (plen < size && plen < sizeof path)
        memcpy(path, buf, plen + 1);
    r.path = path;
    if (size < 8 || size % 4 != 0) {
        osc_error(&r, "malformed OSC message: size is not a multiple of 4 bytes");
        return;
    }
    if (memcmp(buf, "#bundle", 8) == 0) {
        osc_error(&r, "OSC bundles are not accepted; send single messages");
        return;
    }
    if (buf[0] != '/') {
        osc_error(&r, "malformed OSC message: address must start with '/'");
        return;
    }
    lo_message m = lo_message_deserialise(buf, size, &result);
    if (!m) {
        osc_error(&r, "malformed OSC message (bad type tags or arguments)");
        return;
    }
    if (plen >= sizeof path) {
        osc_error(&r, "unknown address");
        lo_message_free(m);
        return;
    }
    r.types = lo_message_get_types(m);
    r.argc = lo_message_get_argc(m);
    r.argv = lo_message_get_argv(m);
    if (!r.types)
        r.types = "";
    osc_route(&r);
    lo_message_free(m);
}

int
osc_open(struct osc *o, struct ctl *ctl, const char *bind_addr, int port)
{
    struct sockaddr_storage ss;
    socklen_t len;

    memset(o, 0, sizeof *o);
    o->ctl = ctl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, bind_addr, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        len = sizeof *sin;
    } else if (inet_pton(AF_INET6, bind_addr, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        len = sizeof *sin6;
    } else {
        log_error("[osc] bind: '%s' is not an IPv4 or IPv6 address", bind_addr);
        return -1;
    }
    o->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (o->fd < 0) {
        log_error("cannot create the OSC socket: %s", strerror(errno));
        return -1;
    }
    if (bind(o->fd, (struct sockaddr *)&ss, len) < 0) {
        log_error("cannot bind the OSC socket to %s port %d: %s", bind_addr, port, strerror(errno));
        close(o->fd);
        o->fd = -1;
        return -1;
    }
    log_info("OSC on udp %s port %d", bind_addr, port);
    return 0;
}

void
osc_handle(struct osc *o)
{
    unsigned char buf[OSC_MAX_DATAGRAM + 1];
    struct sockaddr_storage from;

    for (int i = 0; i < 64; i++) {
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(o->fd, buf, sizeof buf, MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warn("osc: receive failed: %s", strerror(errno));
            return;
        }
        /* With MSG_TRUNC, n is the real size even when it did not fit. */
        osc_dispatch_datagram(o, buf, (size_t)n > sizeof buf ? OSC_MAX_DATAGRAM + 1 : (size_t)n,
                              &from, fromlen);
    }
}

void
osc_close(struct osc *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
}
