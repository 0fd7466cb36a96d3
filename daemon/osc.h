/* osc — the daemon's OSC interface over UDP: socket, datagram validation,
 * dispatch table and replies. */
#ifndef STEMCAP_OSC_H
#define STEMCAP_OSC_H

#include "acl.h"
#include "ctl.h"

#include <sys/socket.h>

#define OSC_MAX_DATAGRAM 4096 /* larger datagrams are rejected */
#define OSC_DEFAULT_HZ   10.0 /* /stemcap/subscribe without a rate */
#define OSC_MAX_HZ       50.0

struct osc_sub {
    int used;
    struct sockaddr_storage addr;
    socklen_t len;
    double hz;
    double next;      /* monotonic time of the next periodic push */
    double loud_next; /* ... and of the next loudness figures (1 Hz, while recording) */
    double expires;   /* unless renewed */
};

struct osc {
    int fd;
    int port; /* bound to, [osc] port or the free one picked for port 0 */
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
 * any free port, which o->port then holds).  Returns 0 or -1 (logged). */
int osc_open(struct osc *o, struct ctl *ctl, const struct conf *c);
/* Sends the periodic feedback that is due; returns the milliseconds until
 * the next is (at most 1000). */
int osc_tick(struct osc *o);
/* Pushes the state changes recorded in ctl->events to every subscriber. */
void osc_push_events(struct osc *o);
/* Reads and answers every datagram waiting on the socket (non-blocking). */
void osc_handle(struct osc *o);
void osc_close(struct osc *o);

/* Validates and dispatches one datagram from `from` (a sockaddr of
 * `fromlen` bytes); replies go to `from`.  Exposed for tests and fuzzing. */
void osc_dispatch_datagram(struct osc *o, const void *data, size_t size, const void *from,
                           unsigned fromlen);

#endif
