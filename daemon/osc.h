/* osc — the daemon's OSC interface over UDP (and optionally TCP): sockets,
 * datagram validation, dispatch table, replies and reply ports. */
#ifndef STEMCAP_OSC_H
#define STEMCAP_OSC_H

#include "acl.h"
#include "ctl.h"

#include <sys/socket.h>

#define OSC_MAX_DATAGRAM    4096 /* larger datagrams are rejected */
#define OSC_DEFAULT_HZ      10.0 /* /stemcap/subscribe without a rate */
#define OSC_MAX_HZ          50.0
#define OSC_MAX_REPLY_PORTS 64 /* UDP senders with a /stemcap/reply_port of their own */
#define OSC_MAX_TCP         16 /* OSC-over-TCP connections at a time */
#define OSC_MAX_TCP_STR     "16"
#define OSC_TCP_OUTBUF      (256 * 1024) /* unsent bytes a TCP client may lag behind */

struct osc_sub {
    int used;
    struct sockaddr_storage addr;
    socklen_t len;
    double hz;
    double next;      /* monotonic time of the next periodic push */
    double loud_next; /* ... and of the next loudness figures (1 Hz, while recording) */
    double expires;   /* unless renewed */
    int conn;         /* 0: over UDP; else 1 + the index of its TCP connection */
};

/* A UDP sender (address and source port) that said where it listens. */
struct osc_rport {
    int used;
    struct sockaddr_storage addr;
    socklen_t len;
    int port;     /* replies and pushes go to the sender's host at this port */
    double heard; /* monotonic time of its last message */
};

/* An OSC-over-TCP client. */
struct osc_conn {
    int used;
    int fd;
    struct sockaddr_storage addr;
    socklen_t len;
    int framing;       /* 0: not known yet, 1: 4-byte length prefix (OSC 1.0), 2: SLIP (1.1) */
    int esc;           /* SLIP: the last byte was an escape */
    unsigned char *in; /* a message being received: OSC_MAX_DATAGRAM + 4 bytes */
    size_t inlen;
    unsigned char *out; /* framed replies the socket did not take yet: OSC_TCP_OUTBUF */
    size_t outlen;
    int pollout; /* the epoll set watches for room to send */
};

struct osc {
    int fd;     /* the UDP socket */
    int port;   /* bound to, [osc] port or the free one picked for port 0 */
    int pollfd; /* an epoll set of every socket below: readable when one is */
    int tcp_fd; /* the TCP listener, -1 without [osc] tcp_port */
    int tcp_port;
    int reply_port; /* [osc] reply_port */
    struct osc_rport rport[OSC_MAX_REPLY_PORTS];
    struct osc_conn conn[OSC_MAX_TCP];
    unsigned long refused; /* TCP connections refused (too many) */
    struct ctl *ctl;
    int ttl;      /* [osc] subscription_ttl */
    int max_subs; /* [osc] max_subscribers */
    int bundle;   /* [osc] bundle */
    struct osc_sub sub[CONF_MAX_SUBSCRIBERS];
    int use_acl; /* bind is not loopback: serve only [osc] allow */
    struct acl acl;
    unsigned long denied;     /* datagrams dropped by the allow list */
    double err_tokens;        /* error replies still allowed (rate limit) */
    double err_time;          /* when err_tokens was last refilled */
    unsigned long suppressed; /* error replies not sent */
};

#define OSC_ERRORS_PER_SECOND 20.0

/* Binds a UDP socket to [osc] bind:port (IPv4 or IPv6 literal; port 0:
 * any free port, which o->port then holds), and with [osc] tcp_port a TCP
 * listener to bind:tcp_port.  Poll o->pollfd for input.  Returns 0 or -1
 * (logged).  Before it, o->fd must be -1 (osc_close does nothing then). */
int osc_open(struct osc *o, struct ctl *ctl, const struct conf *c);
/* Sends the periodic feedback that is due; returns the milliseconds until
 * the next is (at most 1000). */
int osc_tick(struct osc *o);
/* Pushes the state changes recorded in ctl->events to every subscriber. */
void osc_push_events(struct osc *o);
/* Reads and answers every datagram and TCP message waiting, accepts TCP
 * connections, flushes what TCP clients did not take yet (non-blocking). */
void osc_handle(struct osc *o);
void osc_close(struct osc *o);

/* Validates and dispatches one datagram from `from` (a sockaddr of
 * `fromlen` bytes); replies go to `from`, or to its reply port.  Exposed for
 * tests and fuzzing. */
void osc_dispatch_datagram(struct osc *o, const void *data, size_t size, const void *from,
                           unsigned fromlen);

#endif
