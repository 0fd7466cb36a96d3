/* osc — OSC over UDP, and optionally over TCP.
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
 * /stemcap/error s:address s:reason.  Surfaces that do not listen on the
 * port they send from (Ardour's "manual port") get their replies and pushes
 * at their host and [osc] reply_port, or at the port they named with
 * /stemcap/reply_port (a table keyed by host and source port).  With
 * [osc] tcp_port, a non-blocking TCP listener serves the same dispatch;
 * each connection is framed like liblo's (a 4-byte big-endian length, or
 * SLIP when the stream starts with END or '/'), gets its replies and pushes
 * over the connection in its framing, and takes its subscriptions with it
 * when it closes.  One epoll set holds every socket, so the control loop
 * polls one descriptor. */
#include "osc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <lo/lo.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "naming.h"
#include "protocol.h"

struct osc_req {
    struct osc *o;
    const char *path;
    const char *types; /* without the leading ',' */
    lo_arg **argv;
    int argc;
    const struct sockaddr *from;
    socklen_t fromlen;
    int conn; /* 0: over UDP; else 1 + the index of its TCP connection */
};

/* epoll tags: the UDP socket, the TCP listener, then connection i at OSC_TAG_CONN + i. */
enum { OSC_TAG_UDP, OSC_TAG_LISTEN, OSC_TAG_CONN };

static double
osc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "host port" of A, for the log. */
static const char *
osc_addr_str(const struct sockaddr *a, char *out, size_t outsz)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)a;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, outsz, "%s port %d", host, port);
    return out;
}

static int
osc_get_port(const struct sockaddr *a)
{
    if (a->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)a)->sin_port);
    if (a->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
    return 0;
}

static struct osc_rport *
osc_find_rport(struct osc *o, const struct sockaddr *a, socklen_t len)
{
    for (int i = 0; i < OSC_MAX_REPLY_PORTS; i++)
        if (o->rport[i].used && o->rport[i].len == len && memcmp(&o->rport[i].addr, a, len) == 0)
            return &o->rport[i];
    return NULL;
}

/* The UDP port replies and pushes to sender A go to: its own
 * /stemcap/reply_port, else [osc] reply_port, else the port it sent from. */
static int
osc_reply_port_of(struct osc *o, const struct sockaddr *a, socklen_t len)
{
    struct osc_rport *rp = osc_find_rport(o, a, len);
    int port = rp ? rp->port : o->reply_port;
    return port ? port : osc_get_port(a);
}

static void osc_tcp_write(struct osc *o, struct osc_conn *c, const unsigned char *data,
                          size_t size);

/* Sends one serialised packet: over TCP connection CONN (1-based), or over
 * UDP to the reply address of the sender TO. */
static void
osc_deliver(struct osc *o, const struct sockaddr *to, socklen_t tolen, int conn, const void *data,
            size_t size, const char *what)
{
    struct sockaddr_storage ss;

    if (conn) {
        if (o->conn[conn - 1].used)
            osc_tcp_write(o, &o->conn[conn - 1], data, size);
        return;
    }
    if (tolen > sizeof ss)
        tolen = sizeof ss;
    memcpy(&ss, to, tolen);
    int port = osc_reply_port_of(o, to, tolen);
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    else if (ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    if (sendto(o->fd, data, size, 0, (struct sockaddr *)&ss, tolen) < 0)
        log_debug("osc: cannot send %s: %s", what, strerror(errno));
}

static void
osc_sendto(struct osc *o, const struct sockaddr *to, socklen_t tolen, int conn, const char *path,
           lo_message m)
{
    size_t size = 0;
    void *data = lo_message_serialise(m, path, NULL, &size);

    if (!data) {
        log_warn("osc: cannot serialise %s", path);
        return;
    }
    osc_deliver(o, to, tolen, conn, data, size, path);
    free(data);
}

/* Sends `m` to the requester (the caller frees it). */
static void
osc_send(struct osc_req *r, const char *path, lo_message m)
{
    osc_sendto(r->o, r->from, r->fromlen, r->conn, path, m);
}

/* Sends `m` to every subscriber (the caller frees it). */
static void
osc_push(struct osc *o, const char *path, lo_message m)
{
    for (int i = 0; i < o->max_subs; i++)
        if (o->sub[i].used)
            osc_sendto(o, (struct sockaddr *)&o->sub[i].addr, o->sub[i].len, o->sub[i].conn, path,
                       m);
}

/* Message builders, shared by replies and pushes. */
static lo_message
osc_msg_status(struct osc *o)
{
    struct ctl_status s;
    lo_message m = lo_message_new();

    ctl_status(o->ctl, &s);
    lo_message_add_string(m, s.state);
    lo_message_add_int32(m, s.take);
    lo_message_add_int64(m, (int64_t)s.frames);
    lo_message_add_int32(m, (int32_t)s.xruns);
    lo_message_add_int64(m, (int64_t)s.dropped);
    lo_message_add_string(m, s.song);
    lo_message_add_string(m, s.take_dir);
    lo_message_add_int32(m, (int32_t)s.rate);
    lo_message_add_int32(m, s.mix_offset);
    lo_message_add_string(m, s.alignment);
    lo_message_add_string(m, s.fault);
    return m;
}

/* Level of stem 1..8, or of the mix (0). */
static lo_message
osc_msg_level(struct osc *o, int stem)
{
    struct monitor_level l;
    lo_message m = lo_message_new();

    ctl_level(o->ctl, stem, &l);
    lo_message_add_float(m, l.peak_db[0]);
    lo_message_add_float(m, l.peak_db[1]);
    lo_message_add_float(m, l.rms_db[0]);
    lo_message_add_float(m, l.rms_db[1]);
    lo_message_add_float(m, l.hold_db[0]);
    lo_message_add_float(m, l.hold_db[1]);
    lo_message_add_int32(m, (int32_t)l.clips[0]);
    lo_message_add_int32(m, (int32_t)l.clips[1]);
    return m;
}

static lo_message
osc_msg_null(struct osc *o)
{
    struct monitor_null n;
    lo_message m = lo_message_new();

    ctl_null(o->ctl, &n);
    lo_message_add_float(m, n.peak_db);
    lo_message_add_float(m, n.rms_db);
    lo_message_add_float(m, n.worst_db);
    lo_message_add_int64(m, n.worst_frame);
    lo_message_add_int32(m, n.flagged);
    lo_message_add_int32(m, n.lag);
    lo_message_add_int32(m, n.lag_valid);
    lo_message_add_float(m, n.threshold_db);
    lo_message_add_int64(m, n.first_frame);
    lo_message_add_int32(m, n.offset);
    return m;
}

static lo_message
osc_msg_int(int v)
{
    lo_message m = lo_message_new();
    lo_message_add_int32(m, v);
    return m;
}

/* Error replies are rate-limited (a token bucket), so a flood of junk
 * cannot make stemcapd a traffic amplifier or drown a surface. */
static int
osc_error_allowed(struct osc *o)
{
    double now = osc_now();
    o->err_tokens += (now - o->err_time) * OSC_ERRORS_PER_SECOND;
    o->err_time = now;
    if (o->err_tokens > OSC_ERRORS_PER_SECOND)
        o->err_tokens = OSC_ERRORS_PER_SECOND;
    if (o->err_tokens < 1.0) {
        if (o->suppressed++ % 1000 == 0)
            log_warn("osc: too many bad requests: error replies are rate-limited to %.0f/s",
                     OSC_ERRORS_PER_SECOND);
        return 0;
    }
    o->err_tokens -= 1.0;
    return 1;
}

static void
osc_error(struct osc_req *r, const char *reason)
{
    if (!osc_error_allowed(r->o))
        return;
    lo_message m = lo_message_new();
    lo_message_add_string(m, r->path ? r->path : "");
    lo_message_add_string(m, reason);
    osc_send(r, PROTO_ERROR, m);
    lo_message_free(m);
    log_debug("osc: %s: %s", r->path ? r->path : "?", reason);
}

static void
osc_reply_status(struct osc_req *r)
{
    lo_message m = osc_msg_status(r->o);
    osc_send(r, PROTO_STATUS, m);
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
    osc_send(r, PROTO_PONG, m);
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

/* /stemcap/song s:title, and /stemcap/song/<key> [s]: set (or query) a
 * [song] key; the reply carries the value on the same address. */
static void
osc_song_key(struct osc_req *r, const char *key)
{
    char why[CTL_REASON_MAX];

    if (r->argc > 1 || (r->argc == 1 && r->types[0] != 's')) {
        osc_error(r, "expects one string argument (or none to query)");
        return;
    }
    if (r->argc == 1 && ctl_set_song(r->o->ctl, key, &r->argv[0]->s, why) < 0) {
        osc_error(r, why);
        return;
    }
    const char *v = ctl_song(r->o->ctl, key);
    if (!v) {
        osc_error(r, "unknown song key (title, artist, album, track, isrc, upc, label)");
        return;
    }
    lo_message m = lo_message_new();
    lo_message_add_string(m, v);
    osc_send(r, r->path, m);
    lo_message_free(m);
}

static void
osc_song(struct osc_req *r)
{
    if (r->argc != 1 || r->types[0] != 's') {
        osc_error(r, "expects one string argument (the song title)");
        return;
    }
    osc_song_key(r, "title");
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
    int armed = 0;

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

static void
osc_stem_name(struct osc_req *r, int stem)
{
    char why[CTL_REASON_MAX];
    int armed = 0;

    if (r->argc > 1 || (r->argc == 1 && r->types[0] != 's')) {
        osc_error(r, "expects one string argument (or none to query)");
        return;
    }
    if ((r->argc == 1 && ctl_set_stem_name(r->o->ctl, stem, &r->argv[0]->s, why) < 0) ||
        ctl_get_arm(r->o->ctl, stem, &armed, why) < 0) {
        osc_error(r, why);
        return;
    }
    struct ctl_stem st;
    ctl_stem(r->o->ctl, stem, &st);
    lo_message m = lo_message_new();
    lo_message_add_string(m, st.name);
    osc_send(r, r->path, m);
    lo_message_free(m);
}

static void
osc_follow(struct osc_req *r)
{
    char why[CTL_REASON_MAX];
    int on = 0;

    if (r->argc > 1 || (r->argc == 1 && (on = osc_arg_bool(r->types[0], r->argv[0])) < 0)) {
        osc_error(r, "expects no argument (query) or one i, f, T or F");
        return;
    }
    if (r->argc == 1 && ctl_follow(r->o->ctl, on, why) < 0) {
        osc_error(r, why);
        return;
    }
    lo_message m = osc_msg_int(ctl_following(r->o->ctl));
    osc_send(r, r->path, m);
    lo_message_free(m);
}

/* A query of stem 1..8 (an error when not registered) or of the mix (0),
 * answered with MSG's figures. */
static void
osc_query(struct osc_req *r, int stem, lo_message (*msg)(struct osc *o, int stem))
{
    char why[CTL_REASON_MAX];
    int armed = 0;

    if (osc_no_args(r) < 0)
        return;
    if (stem && ctl_get_arm(r->o->ctl, stem, &armed, why) < 0) {
        osc_error(r, why);
        return;
    }
    lo_message m = msg(r->o, stem);
    osc_send(r, r->path, m);
    lo_message_free(m);
}

static void
osc_stem_level(struct osc_req *r, int stem)
{
    osc_query(r, stem, osc_msg_level);
}

/* Loudness of stem 1..8 or the mix (0) appended to M: f:integrated f:lra
 * f:true_peak (the louder side) f:max_momentary f:max_short_term. */
static void
osc_add_loudness(lo_message m, struct osc *o, int stem)
{
    struct loudness_figs f;

    ctl_loudness(o->ctl, stem, &f);
    lo_message_add_float(m, f.integrated_lufs);
    lo_message_add_float(m, f.lra_lu);
    lo_message_add_float(m, f.true_peak_dbtp[0] > f.true_peak_dbtp[1] ? f.true_peak_dbtp[0]
                                                                      : f.true_peak_dbtp[1]);
    lo_message_add_float(m, f.max_momentary_lufs);
    lo_message_add_float(m, f.max_short_term_lufs);
}

static lo_message
osc_msg_loudness(struct osc *o, int stem)
{
    lo_message m = lo_message_new();

    osc_add_loudness(m, o, stem);
    return m;
}

static void
osc_stem_loudness(struct osc_req *r, int stem)
{
    osc_query(r, stem, osc_msg_loudness);
}

static void
osc_mix_loudness(struct osc_req *r)
{
    osc_query(r, 0, osc_msg_loudness);
}

static void
osc_mix_level(struct osc_req *r)
{
    osc_query(r, 0, osc_msg_level);
}

static void
osc_null(struct osc_req *r)
{
    if (osc_no_args(r) < 0)
        return;
    lo_message m = osc_msg_null(r->o);
    osc_send(r, r->path, m);
    lo_message_free(m);
}

static void
osc_stems(struct osc_req *r)
{
    struct ctl_stem st;
    int count = 0;

    if (osc_no_args(r) < 0)
        return;
    for (int s = 1; s <= PROTO_MAX_STEMS; s++) {
        if (ctl_stem(r->o->ctl, s, &st) < 0)
            continue;
        lo_message m = lo_message_new();
        lo_message_add_int32(m, s);
        lo_message_add_string(m, st.name);
        lo_message_add_int32(m, st.armed);
        lo_message_add_string(m, st.port[0]);
        lo_message_add_string(m, st.port[1]);
        osc_send(r, PROTO_STEM, m);
        lo_message_free(m);
        count++;
    }
    ctl_stem(r->o->ctl, 0, &st);
    lo_message m = lo_message_new();
    lo_message_add_int32(m, count);
    lo_message_add_string(m, st.port[0]);
    lo_message_add_string(m, st.port[1]);
    osc_send(r, PROTO_STEMS, m);
    lo_message_free(m);
}

/* The take report: one /stemcap/report/file per file of the current or
 * last take, then /stemcap/report with the null result. */
static void
osc_report(struct osc_req *r)
{
    struct ctl *c = r->o->ctl;
    struct monitor_null n;

    if (osc_no_args(r) < 0)
        return;
    int nfiles = ctl_take_nfiles(c);

    ctl_null(c, &n);
    for (int i = 0; i < nfiles; i++) {
        struct monitor_level l;
        const char *label, *name;
        int stem;
        ctl_take_file(c, i, &stem, &label, &name);
        ctl_level(c, stem, &l);
        lo_message m = lo_message_new();
        lo_message_add_int32(m, stem);
        lo_message_add_string(m, label);
        lo_message_add_string(m, name);
        lo_message_add_float(m, l.hold_db[0] > l.hold_db[1] ? l.hold_db[0] : l.hold_db[1]);
        lo_message_add_int32(m, (int32_t)(l.clips[0] + l.clips[1]));
        osc_add_loudness(m, r->o, stem);
        osc_send(r, PROTO_REPORT_FILE, m);
        lo_message_free(m);
    }
    for (int i = 0; i < ctl_verdicts(c); i++) {
        const struct manifest_verdict *v = ctl_verdict(c, i);
        lo_message m = lo_message_new();
        lo_message_add_string(m, v->rule);
        lo_message_add_string(m, v->file);
        lo_message_add_float(m, v->measured);
        lo_message_add_float(m, v->limit);
        lo_message_add_string(m, v->pass ? "PASS" : "FAIL");
        osc_send(r, PROTO_REPORT_RULE, m);
        lo_message_free(m);
    }
    struct ctl_status st;
    ctl_status(c, &st);
    lo_message m = lo_message_new();
    lo_message_add_int32(m, st.take);
    lo_message_add_int64(m, (int64_t)st.frames);
    lo_message_add_float(m, n.worst_db);
    lo_message_add_int64(m, n.worst_frame);
    lo_message_add_int32(m, n.flagged);
    lo_message_add_int64(m, n.first_frame);
    lo_message_add_int32(m, n.lag);
    lo_message_add_int32(m, n.lag_valid);
    lo_message_add_float(m, n.threshold_db);
    lo_message_add_int32(m, nfiles);
    lo_message_add_int32(m, st.mix_offset);
    lo_message_add_string(m, st.alignment);
    osc_send(r, PROTO_REPORT, m);
    lo_message_free(m);
}

/* /stemcap/stats: the real-time budget and the disk, since the take
 * started (or since /stemcap/stats/reset). */
static void
osc_stats(struct osc_req *r)
{
    struct ctl_stats st;
    struct ctl_status s;

    if (osc_no_args(r) < 0)
        return;
    ctl_stats(r->o->ctl, &st);
    ctl_status(r->o->ctl, &s);
    lo_message m = lo_message_new();
    lo_message_add_float(m, (float)st.rt.cb_mean_us);
    lo_message_add_float(m, (float)st.rt.cb_p99_us);
    lo_message_add_float(m, (float)st.rt.cb_max_us);
    lo_message_add_float(m, st.jack_load);
    lo_message_add_float(m, (float)st.rt.ring_fill_max_pct);
    lo_message_add_float(m, st.write_max_ms);
    lo_message_add_int32(m, (int32_t)s.xruns);
    lo_message_add_int64(m, (int64_t)s.dropped);
    lo_message_add_int64(m, (int64_t)st.rt.cycles);
    osc_send(r, PROTO_STATS, m);
    lo_message_free(m);
}

static void
osc_stats_reset(struct osc_req *r)
{
    if (osc_no_args(r) < 0)
        return;
    ctl_stats_reset(r->o->ctl);
    osc_stats(r);
}

static struct osc_sub *
osc_find_sub(struct osc *o, const struct sockaddr *a, socklen_t len, int conn)
{
    for (int i = 0; i < o->max_subs; i++)
        if (o->sub[i].used && o->sub[i].conn == conn && o->sub[i].len == len &&
            memcmp(&o->sub[i].addr, a, len) == 0)
            return &o->sub[i];
    return NULL;
}

static void
osc_subscribe(struct osc_req *r)
{
    struct osc *o = r->o;
    double hz = OSC_DEFAULT_HZ;

    if (r->argc > 1 || (r->argc == 1 && r->types[0] != 'f' && r->types[0] != 'i')) {
        osc_error(r, "expects no argument or one rate in Hz (f or i)");
        return;
    }
    if (r->argc == 1)
        hz = r->types[0] == 'f' ? r->argv[0]->f : r->argv[0]->i;
    if (!(hz > 0.0)) {
        osc_error(r, "the rate must be a positive number of Hz");
        return;
    }
    if (hz > OSC_MAX_HZ)
        hz = OSC_MAX_HZ;
    struct osc_sub *sub = osc_find_sub(o, r->from, r->fromlen, r->conn);
    for (int i = 0; !sub && i < o->max_subs; i++) {
        if (!o->sub[i].used) {
            sub = &o->sub[i];
            memset(sub, 0, sizeof *sub);
            memcpy(&sub->addr, r->from, r->fromlen);
            sub->len = r->fromlen;
            sub->conn = r->conn;
            sub->used = 1;
            sub->next = osc_now();
        }
    }
    if (!sub) {
        char why[128];
        snprintf(why, sizeof why, "too many subscribers (at most %d, [osc] max_subscribers)",
                 o->max_subs);
        osc_error(r, why);
        return;
    }
    sub->hz = hz;
    sub->expires = osc_now() + o->ttl;
    lo_message m = lo_message_new();
    lo_message_add_float(m, (float)hz);
    lo_message_add_int32(m, o->ttl);
    osc_send(r, r->path, m);
    lo_message_free(m);
}

static void
osc_unsubscribe(struct osc_req *r)
{
    if (osc_no_args(r) < 0)
        return;
    struct osc_sub *sub = osc_find_sub(r->o, r->from, r->fromlen, r->conn);
    if (sub)
        sub->used = 0;
    lo_message m = osc_msg_int(sub != NULL);
    osc_send(r, r->path, m);
    lo_message_free(m);
}

/* Remembers that UDP sender A listens at PORT (0: forget it).  A full table
 * reuses the entry of the sender heard from least recently, if that was
 * longer ago than a subscription lasts.  Returns 0, or -1 when full. */
static int
osc_set_rport(struct osc *o, const struct sockaddr *a, socklen_t len, int port)
{
    struct osc_rport *rp = osc_find_rport(o, a, len), *old = NULL;
    double now = osc_now();

    if (!port) {
        if (rp)
            rp->used = 0;
        return 0;
    }
    for (int i = 0; !rp && i < OSC_MAX_REPLY_PORTS; i++) {
        if (!o->rport[i].used)
            rp = &o->rport[i];
        else if (!old || o->rport[i].heard < old->heard)
            old = &o->rport[i];
    }
    if (!rp && old && now - old->heard > o->ttl)
        rp = old;
    if (!rp)
        return -1;
    if (!rp->used || rp != osc_find_rport(o, a, len)) {
        memset(rp, 0, sizeof *rp);
        memcpy(&rp->addr, a, len);
        rp->len = len;
        rp->used = 1;
    }
    rp->port = port;
    rp->heard = now;
    return 0;
}

/* /stemcap/reply_port [i:port]: where replies and pushes to this sender go;
 * answered at the new port. */
static void
osc_reply_port(struct osc_req *r)
{
    struct osc *o = r->o;
    char why[160];

    if (r->conn) {
        osc_error(r, "replies to a TCP client go back over its connection; reply_port is for UDP");
        return;
    }
    if (r->argc > 1 || (r->argc == 1 && r->types[0] != 'i')) {
        osc_error(r, "expects one int argument, the UDP port to reply to (0: the default), or "
                     "none to query");
        return;
    }
    if (r->argc == 1) {
        int port = r->argv[0]->i;
        if (port < 0 || port > 65535) {
            snprintf(why, sizeof why, "port %d is out of range (1..65535, or 0 for the default)",
                     port);
            osc_error(r, why);
            return;
        }
        if (osc_set_rport(o, r->from, r->fromlen, port) < 0) {
            snprintf(why, sizeof why,
                     "too many senders with a reply port (at most %d); try again later",
                     OSC_MAX_REPLY_PORTS);
            osc_error(r, why);
            return;
        }
    }
    lo_message m = osc_msg_int(osc_reply_port_of(o, r->from, r->fromlen));
    osc_send(r, r->path, m);
    lo_message_free(m);
}

static const struct {
    const char *path;
    void (*fn)(struct osc_req *r);
} osc_table[] = {
    {PROTO_PING, osc_ping},
    {PROTO_START, osc_start},
    {PROTO_STOP, osc_stop},
    {PROTO_STATUS, osc_status},
    {PROTO_SONG, osc_song},
    {PROTO_MIX_LEVEL, osc_mix_level},
    {PROTO_MIX_LOUDNESS, osc_mix_loudness},
    {PROTO_NULL, osc_null},
    {PROTO_STEMS, osc_stems},
    {PROTO_REPORT, osc_report},
    {PROTO_SUBSCRIBE, osc_subscribe},
    {PROTO_UNSUBSCRIBE, osc_unsubscribe},
    {PROTO_REPLY_PORT, osc_reply_port},
    {PROTO_FOLLOW, osc_follow},
    {PROTO_STATS, osc_stats},
    {PROTO_STATS_RESET, osc_stats_reset},
};

static const struct {
    const char *leaf;
    void (*fn)(struct osc_req *r, int stem);
} osc_stem_table[] = {
    {PROTO_LEAF_ARM, osc_stem_arm},
    {PROTO_LEAF_LEVEL, osc_stem_level},
    {PROTO_LEAF_NAME, osc_stem_name},
    {PROTO_LEAF_LOUDNESS, osc_stem_loudness},
};

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
    if (strncmp(r->path, PROTO_SONG_PREFIX, strlen(PROTO_SONG_PREFIX)) == 0) {
        osc_song_key(r, r->path + strlen(PROTO_SONG_PREFIX));
        return;
    }
    if ((stem = proto_stem_parse(r->path, &leaf)) >= 0) {
        for (size_t i = 0; i < sizeof osc_stem_table / sizeof osc_stem_table[0]; i++) {
            if (strcmp(leaf, osc_stem_table[i].leaf) == 0) {
                char why[CTL_REASON_MAX];
                if (stem < 1 || stem > PROTO_MAX_STEMS) {
                    snprintf(why, sizeof why, "stem %d is out of range (1..%d)", stem,
                             PROTO_MAX_STEMS);
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

/* Validates and dispatches one message from FROM, over UDP (CONN 0) or
 * over TCP connection CONN (1-based). */
static void
osc_dispatch(struct osc *o, const void *data, size_t size, const void *from, unsigned fromlen,
             int conn)
{
    /* A zero-padded copy: liblo never reads past a NUL we did not check. */
    _Alignas(8) unsigned char buf[OSC_MAX_DATAGRAM + 8];
    struct osc_req r = {.o = o, .from = from, .fromlen = fromlen, .conn = conn};
    char path[64] = "";
    int result = 0;

    if (!conn) {
        struct osc_rport *rp = osc_find_rport(o, from, fromlen);
        if (rp)
            rp->heard = osc_now();
    }
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

void
osc_dispatch_datagram(struct osc *o, const void *data, size_t size, const void *from,
                      unsigned fromlen)
{
    osc_dispatch(o, data, size, from, fromlen, 0);
}

/* The socket address of [osc] bind at PORT into SS.  Returns its length, or 0. */
static socklen_t
osc_bind_addr(const char *bind_addr, int port, struct sockaddr_storage *ss)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof *ss);
    if (inet_pton(AF_INET, bind_addr, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        return sizeof *sin;
    }
    if (inet_pton(AF_INET6, bind_addr, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        return sizeof *sin6;
    }
    return 0;
}

static int
osc_poll_add(struct osc *o, int fd, uint32_t tag, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u32 = tag};
    return epoll_ctl(o->pollfd, EPOLL_CTL_ADD, fd, &ev);
}

/* A socket of TYPE bound to [osc] bind at PORT (0: any free one, then
 * *BOUND holds it).  Returns the descriptor or -1 (logged). */
static int
osc_socket(const char *bind_addr, int type, int port, int *bound)
{
    struct sockaddr_storage ss;
    socklen_t len = osc_bind_addr(bind_addr, port, &ss);
    const char *proto = type == SOCK_STREAM ? "tcp" : "udp";
    int one = 1;

    if (!len) {
        log_error("[osc] bind: '%s' is not an IPv4 or IPv6 address", bind_addr);
        return -1;
    }
    int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_error("cannot create the OSC socket (%s): %s", proto, strerror(errno));
        return -1;
    }
    /* TCP: a restart need not wait for the old connections' TIME_WAIT. */
    if (type == SOCK_STREAM)
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
        (type == SOCK_STREAM && listen(fd, OSC_MAX_TCP) < 0)) {
        log_error("cannot bind the OSC socket (%s) to %s port %d: %s", proto, bind_addr, port,
                  strerror(errno));
        close(fd);
        return -1;
    }
    /* Port 0 (under a session manager): the kernel picks a free one. */
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        port = osc_get_port((struct sockaddr *)&ss);
    *bound = port;
    log_info("OSC on %s %s port %d", proto, bind_addr, port);
    return fd;
}

int
osc_open(struct osc *o, struct ctl *ctl, const struct conf *c)
{
    const char *bind_addr = c->osc_bind;

    memset(o, 0, sizeof *o);
    o->fd = o->pollfd = o->tcp_fd = -1;
    o->ctl = ctl;
    o->ttl = c->osc_subscription_ttl;
    o->max_subs = c->osc_max_subscribers;
    o->bundle = c->osc_bundle;
    o->reply_port = c->osc_reply_port;
    o->err_tokens = OSC_ERRORS_PER_SECOND;
    o->err_time = osc_now();
    if (!acl_is_loopback(bind_addr)) {
        char why[256];
        if (acl_parse(&o->acl, c->osc_allow, why) < 0) {
            log_error("[osc] allow: %s", why);
            return -1;
        }
        o->use_acl = 1;
    }
    /* The UDP socket first: osc_close() does nothing while o->fd is -1. */
    o->fd = osc_socket(bind_addr, SOCK_DGRAM, c->osc_port, &o->port);
    if (o->fd < 0)
        return -1;
    o->pollfd = epoll_create1(EPOLL_CLOEXEC);
    if (o->pollfd < 0) {
        log_error("osc: cannot create an epoll set: %s", strerror(errno));
        goto fail;
    }
    if (c->osc_tcp_port &&
        (o->tcp_fd = osc_socket(bind_addr, SOCK_STREAM, c->osc_tcp_port, &o->tcp_port)) < 0)
        goto fail;
    if (osc_poll_add(o, o->fd, OSC_TAG_UDP, EPOLLIN) < 0 ||
        (o->tcp_fd >= 0 && osc_poll_add(o, o->tcp_fd, OSC_TAG_LISTEN, EPOLLIN) < 0)) {
        log_error("osc: epoll_ctl: %s", strerror(errno));
        goto fail;
    }
    if (o->reply_port)
        log_info("OSC replies and pushes over udp go to the sender's host at port %d "
                 "([osc] reply_port)",
                 o->reply_port);
    return 0;
fail:
    osc_close(o);
    return -1;
}

static void
osc_udp_read(struct osc *o)
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
        if (o->use_acl && !acl_match(&o->acl, (struct sockaddr *)&from)) {
            if (o->denied++ % 1000 == 0)
                log_warn("osc: dropped a datagram from a sender not in [osc] allow (%lu so far)",
                         o->denied);
            continue;
        }
        /* With MSG_TRUNC, n is the real size even when it did not fit. */
        osc_dispatch_datagram(o, buf, (size_t)n > sizeof buf ? OSC_MAX_DATAGRAM + 1 : (size_t)n,
                              &from, fromlen);
    }
}

/* Closes a TCP connection and ends its subscriptions. */
static void
osc_tcp_close(struct osc *o, struct osc_conn *c, const char *why)
{
    char a[INET6_ADDRSTRLEN + 16];
    int conn = (int)(c - o->conn) + 1, subs = 0;

    for (int i = 0; i < o->max_subs; i++) {
        if (o->sub[i].used && o->sub[i].conn == conn) {
            o->sub[i].used = 0;
            subs++;
        }
    }
    log_debug("osc: tcp client %s: %s%s", osc_addr_str((struct sockaddr *)&c->addr, a, sizeof a),
              why, subs ? "; its subscription ended" : "");
    close(c->fd); /* which takes it out of the epoll set */
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

/* Sends what the socket takes of C's output; watches for room if any is
 * left.  A connection that fails is closed. */
static void
osc_tcp_flush(struct osc *o, struct osc_conn *c)
{
    size_t done = 0;

    while (done < c->outlen) {
        ssize_t n = send(c->fd, c->out + done, c->outlen - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            osc_tcp_close(o, c, strerror(errno));
            return;
        }
        done += (size_t)n;
    }
    memmove(c->out, c->out + done, c->outlen - done);
    c->outlen -= done;
    int want = c->outlen > 0;
    if (want != c->pollout) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
                                 .data.u32 = OSC_TAG_CONN + (uint32_t)(c - o->conn)};
        if (epoll_ctl(o->pollfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
            c->pollout = want;
    }
}

/* Queues one packet for C, framed as C frames its own, and sends what the
 * socket takes.  A client that lags OSC_TCP_OUTBUF behind is disconnected:
 * over TCP a message is delivered in order or the connection ends. */
static void
osc_tcp_write(struct osc *o, struct osc_conn *c, const unsigned char *data, size_t size)
{
    size_t room = OSC_TCP_OUTBUF - c->outlen;
    unsigned char *p = c->out + c->outlen;

    if (c->framing == 2) {
        if (room < 2 * size + 2) {
            osc_tcp_close(o, c, "does not read its replies: disconnected");
            return;
        }
        *p++ = 0xC0; /* END before and after: a stray byte ends up alone */
        for (size_t i = 0; i < size; i++) {
            if (data[i] == 0xC0 || data[i] == 0xDB) {
                *p++ = 0xDB;
                *p++ = data[i] == 0xC0 ? 0xDC : 0xDD;
            } else {
                *p++ = data[i];
            }
        }
        *p++ = 0xC0;
    } else {
        if (room < size + 4) {
            osc_tcp_close(o, c, "does not read its replies: disconnected");
            return;
        }
        uint32_t be = htonl((uint32_t)size);
        memcpy(p, &be, 4);
        memcpy(p + 4, data, size);
        p += 4 + size;
    }
    c->outlen = (size_t)(p - c->out);
    osc_tcp_flush(o, c);
}

/* Dispatches C's message in c->in (with its 4-byte length in front in
 * length framing).  Returns -1 when that closed the connection. */
static int
osc_tcp_message(struct osc *o, struct osc_conn *c)
{
    size_t skip = c->framing == 1 ? 4 : 0;
    int conn = (int)(c - o->conn) + 1;

    if (c->inlen > skip)
        osc_dispatch(o, c->in + skip, c->inlen - skip, &c->addr, c->len, conn);
    if (!c->used)
        return -1;
    c->inlen = 0;
    return 0;
}

/* A message over OSC_MAX_DATAGRAM: answered, then the stream cannot be
 * followed further. */
static void
osc_tcp_too_large(struct osc *o, struct osc_conn *c)
{
    struct osc_req r = {.o = o,
                        .path = "",
                        .from = (struct sockaddr *)&c->addr,
                        .fromlen = c->len,
                        .conn = (int)(c - o->conn) + 1};
    char why[80];

    snprintf(why, sizeof why, "message too large (more than %d bytes)", OSC_MAX_DATAGRAM);
    osc_error(&r, why);
    if (c->used)
        osc_tcp_close(o, c, "sent a message too large: disconnected");
}

/* Feeds N bytes of C's stream to the framing.  Returns -1 when the
 * connection closed. */
static int
osc_tcp_input(struct osc *o, struct osc_conn *c, const unsigned char *p, size_t n)
{
    if (!c->framing && n)
        c->framing = p[0] == 0xC0 || p[0] == '/' ? 2 : 1;
    while (n > 0) {
        if (c->framing == 2) { /* SLIP: END ends a message, ESC escapes END and ESC */
            unsigned char b = *p++;
            n--;
            if (c->esc) {
                c->esc = 0;
                b = b == 0xDC ? 0xC0 : b == 0xDD ? 0xDB : b;
            } else if (b == 0xC0) {
                if (osc_tcp_message(o, c) < 0)
                    return -1;
                continue;
            } else if (b == 0xDB) {
                c->esc = 1;
                continue;
            }
            if (c->inlen >= OSC_MAX_DATAGRAM) {
                osc_tcp_too_large(o, c);
                return -1;
            }
            c->in[c->inlen++] = b;
            continue;
        }
        /* Length framing: 4 bytes of big-endian length, then the message. */
        size_t need = 4;
        if (c->inlen >= 4) {
            uint32_t be;
            memcpy(&be, c->in, 4);
            if (ntohl(be) > OSC_MAX_DATAGRAM) {
                osc_tcp_too_large(o, c);
                return -1;
            }
            need = 4 + ntohl(be);
        }
        size_t take = need - c->inlen < n ? need - c->inlen : n;
        memcpy(c->in + c->inlen, p, take);
        c->inlen += take;
        p += take;
        n -= take;
        if (c->inlen >= 4) {
            uint32_t be;
            memcpy(&be, c->in, 4);
            if (ntohl(be) <= OSC_MAX_DATAGRAM && c->inlen == 4 + ntohl(be) &&
                osc_tcp_message(o, c) < 0)
                return -1;
        }
    }
    return 0;
}

static void
osc_tcp_read(struct osc *o, struct osc_conn *c)
{
    unsigned char buf[OSC_MAX_DATAGRAM];

    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            osc_tcp_close(o, c, n ? strerror(errno) : "closed the connection");
            return;
        }
        if (osc_tcp_input(o, c, buf, (size_t)n) < 0)
            return;
    }
}

static void
osc_tcp_accept(struct osc *o)
{
    for (int i = 0; i < OSC_MAX_TCP; i++) {
        struct sockaddr_storage from;
        socklen_t len = sizeof from;
        int fd = accept4(o->tcp_fd, (struct sockaddr *)&from, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                log_warn("osc: accept failed: %s", strerror(errno));
            return;
        }
        if (o->use_acl && !acl_match(&o->acl, (struct sockaddr *)&from)) {
            if (o->denied++ % 1000 == 0)
                log_warn("osc: refused a tcp connection from a sender not in [osc] allow (%lu "
                         "dropped so far)",
                         o->denied);
            close(fd);
            continue;
        }
        struct osc_conn *c = NULL;
        for (int k = 0; !c && k < OSC_MAX_TCP; k++)
            if (!o->conn[k].used)
                c = &o->conn[k];
        if (c) {
            c->in = malloc(OSC_MAX_DATAGRAM + 4);
            c->out = malloc(OSC_TCP_OUTBUF);
        }
        if (!c || !c->in || !c->out ||
            osc_poll_add(o, fd, OSC_TAG_CONN + (uint32_t)(c - o->conn), EPOLLIN) < 0) {
            if (o->refused++ % 1000 == 0)
                log_warn("osc: refused a tcp connection: %s (%lu so far)",
                         c ? strerror(errno) : "too many (at most " OSC_MAX_TCP_STR ")",
                         o->refused);
            if (c) {
                free(c->in);
                free(c->out);
                c->in = c->out = NULL;
            }
            close(fd);
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->used = 1;
        c->fd = fd;
        memcpy(&c->addr, &from, len);
        c->len = len;
        char a[INET6_ADDRSTRLEN + 16];
        log_debug("osc: tcp client %s connected",
                  osc_addr_str((struct sockaddr *)&from, a, sizeof a));
    }
}

void
osc_handle(struct osc *o)
{
    struct epoll_event ev[OSC_MAX_TCP + 2];
    int n = epoll_wait(o->pollfd, ev, OSC_MAX_TCP + 2, 0);

    for (int i = 0; i < n; i++) {
        uint32_t tag = ev[i].data.u32;
        if (tag == OSC_TAG_UDP) {
            osc_udp_read(o);
        } else if (tag == OSC_TAG_LISTEN) {
            osc_tcp_accept(o);
        } else if (tag - OSC_TAG_CONN < OSC_MAX_TCP) {
            struct osc_conn *c = &o->conn[tag - OSC_TAG_CONN];
            if (c->used && (ev[i].events & EPOLLOUT))
                osc_tcp_flush(o, c);
            if (c->used && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                osc_tcp_read(o, c);
        }
    }
}

void
osc_close(struct osc *o)
{
    if (o->fd < 0) /* never opened (then nothing else is) */
        return;
    for (int i = 0; i < OSC_MAX_TCP; i++)
        if (o->conn[i].used)
            osc_tcp_close(o, &o->conn[i], "the daemon stops");
    if (o->tcp_fd >= 0)
        close(o->tcp_fd);
    if (o->fd >= 0)
        close(o->fd);
    if (o->pollfd >= 0)
        close(o->pollfd);
    o->fd = o->pollfd = o->tcp_fd = -1;
}

/* Sends the periodic feedback to one subscriber: levels of every registered
 * stem and the mix, the null and the status, as separate messages or, with
 * [osc] bundle, as one bundle. */
static void
osc_feedback(struct osc *o, struct osc_sub *sub)
{
    char paths[2 * PROTO_MAX_STEMS + 4][40];
    lo_message msgs[2 * PROTO_MAX_STEMS + 4];
    struct ctl_stem st;
    int n = 0;

    for (int s = 1; s <= PROTO_MAX_STEMS; s++) {
        if (ctl_stem(o->ctl, s, &st) < 0)
            continue;
        proto_stem_path(paths[n], sizeof paths[n], s, PROTO_LEAF_LEVEL);
        msgs[n++] = osc_msg_level(o, s);
    }
    snprintf(paths[n], sizeof paths[n], PROTO_MIX_LEVEL);
    msgs[n++] = osc_msg_level(o, 0);
    snprintf(paths[n], sizeof paths[n], PROTO_NULL);
    msgs[n++] = osc_msg_null(o);
    snprintf(paths[n], sizeof paths[n], PROTO_STATUS);
    msgs[n++] = osc_msg_status(o);
    /* While recording, once a second: the loudness of every file so far. */
    double now = osc_now();
    if (ctl_recording(o->ctl) && now >= sub->loud_next) {
        struct loudness_figs f;
        sub->loud_next = now + 1.0;
        for (int s = 0; s <= PROTO_MAX_STEMS; s++) {
            if (!ctl_loudness(o->ctl, s, &f))
                continue;
            if (s)
                proto_stem_path(paths[n], sizeof paths[n], s, PROTO_LEAF_LOUDNESS);
            else
                snprintf(paths[n], sizeof paths[n], PROTO_MIX_LOUDNESS);
            msgs[n++] = osc_msg_loudness(o, s);
        }
    }

    if (o->bundle) {
        lo_bundle b = lo_bundle_new(LO_TT_IMMEDIATE);
        size_t size = 0;
        for (int i = 0; i < n; i++)
            lo_bundle_add_message(b, paths[i], msgs[i]);
        void *data = lo_bundle_serialise(b, NULL, &size);
        if (data)
            osc_deliver(o, (const struct sockaddr *)&sub->addr, sub->len, sub->conn, data, size,
                        "a feedback bundle");
        free(data);
        lo_bundle_free_recursive(b);
        return;
    }
    for (int i = 0; i < n; i++) {
        osc_sendto(o, (const struct sockaddr *)&sub->addr, sub->len, sub->conn, paths[i], msgs[i]);
        lo_message_free(msgs[i]);
    }
}

int
osc_tick(struct osc *o)
{
    double now = osc_now(), next = now + 1.0;

    for (int i = 0; i < o->max_subs; i++) {
        struct osc_sub *sub = &o->sub[i];
        if (!sub->used)
            continue;
        if (now >= sub->expires) {
            sub->used = 0;
            log_debug("osc: a subscription expired");
            continue;
        }
        if (now >= sub->next) {
            osc_feedback(o, sub);
            sub->next += 1.0 / sub->hz;
            if (sub->next < now) /* we fell behind: do not burst */
                sub->next = now + 1.0 / sub->hz;
        }
        if (sub->next < next)
            next = sub->next;
    }
    int ms = (int)((next - now) * 1000.0 + 0.999);
    return ms < 1 ? 1 : ms;
}

/* Pushes what changed in the control state since the last call to every
 * subscriber, each item at its own address. */
void
osc_push_events(struct osc *o)
{
    struct ctl_events ev;
    struct ctl_stem st;
    lo_message m;
    char path[48];

    ctl_events_peek(o->ctl, &ev);
    ctl_events_clear(o->ctl);
    if (!ev.events)
        return;
    if (ev.events & CTL_EV_STATUS) {
        int rec = ctl_recording(o->ctl);
        m = osc_msg_status(o);
        osc_push(o, PROTO_STATUS, m);
        lo_message_free(m);
        m = osc_msg_int(rec);
        osc_push(o, PROTO_START, m);
        lo_message_free(m);
        m = osc_msg_int(!rec);
        osc_push(o, PROTO_STOP, m);
        lo_message_free(m);
        m = osc_msg_int(ctl_following(o->ctl));
        osc_push(o, PROTO_FOLLOW, m);
        lo_message_free(m);
    }
    for (int k = 0; (ev.events & CTL_EV_SONG) && k < PROTO_SONG_KEYS; k++) {
        if (!(ev.song_changed & (1u << k)))
            continue;
        snprintf(path, sizeof path, PROTO_SONG_PREFIX "%s", proto_song_keys[k]);
        m = lo_message_new();
        lo_message_add_string(m, ctl_song(o->ctl, proto_song_keys[k]));
        osc_push(o, path, m);
        if (k == 0)
            osc_push(o, PROTO_SONG, m);
        lo_message_free(m);
    }
    for (int s = 1; s <= PROTO_MAX_STEMS; s++) {
        int named = (ev.events & CTL_EV_NAME) && (ev.name_changed & (1u << (s - 1)));
        if (!named || ctl_stem(o->ctl, s, &st) < 0)
            continue;
        m = lo_message_new();
        lo_message_add_string(m, st.name);
        osc_push(o, proto_stem_path(path, sizeof path, s, PROTO_LEAF_NAME), m);
        lo_message_free(m);
    }
    for (int s = 1; s <= PROTO_MAX_STEMS; s++) {
        int armed = (ev.events & CTL_EV_ARM) && (ev.arm_changed & (1u << (s - 1)));
        if (!armed || ctl_stem(o->ctl, s, &st) < 0)
            continue;
        m = osc_msg_int(st.armed);
        osc_push(o, proto_stem_path(path, sizeof path, s, PROTO_LEAF_ARM), m);
        lo_message_free(m);
    }
    if (ev.events & CTL_EV_ERROR) {
        m = lo_message_new();
        lo_message_add_string(m, "");
        lo_message_add_string(m, ev.error_text);
        osc_push(o, PROTO_ERROR, m);
        lo_message_free(m);
    }
    for (int i = 0; (ev.events & CTL_EV_WARNING) && i < ev.nwarnings; i++) {
        m = lo_message_new();
        lo_message_add_string(m, ev.warning[i]);
        osc_push(o, PROTO_WARNING, m);
        lo_message_free(m);
    }
    if (ev.events & CTL_EV_ALARM) {
        m = lo_message_new();
        lo_message_add_float(m, ev.alarm_db);
        lo_message_add_int64(m, ev.alarm_frame);
        osc_push(o, PROTO_NULL_ALARM, m);
        lo_message_free(m);
        m = osc_msg_null(o);
        osc_push(o, PROTO_NULL, m);
        lo_message_free(m);
    }
}
