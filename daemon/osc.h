/* osc — the daemon's OSC interface over UDP: socket, datagram validation,
 * dispatch table and replies. */
#ifndef STEMCAP_OSC_H
#define STEMCAP_OSC_H

#include "ctl.h"

#define OSC_MAX_DATAGRAM 4096 /* larger datagrams are rejected */

struct osc {
    int fd;
    struct ctl *ctl;
};

/* Binds a UDP socket to bind_addr:port (IPv4 or IPv6 literal).  Returns 0
 * or -1 (logged). */
int osc_open(struct osc *o, struct ctl *ctl, const char *bind_addr, int port);
/* Reads and answers every datagram waiting on the socket (non-blocking). */
void osc_handle(struct osc *o);
void osc_close(struct osc *o);

/* Validates and dispatches one datagram from `from` (a sockaddr of
 * `fromlen` bytes); replies go to `from`.  Exposed for tests and fuzzing. */
void osc_dispatch_datagram(struct osc *o, const void *data, size_t size, const void *from,
                           unsigned fromlen);

#endif
