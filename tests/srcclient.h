/* srcclient — the JACK client life the test sources share (stemcap-testsrc
 * and stemcap-testdaw): a self-pipe that SIGINT, SIGTERM and JACK's shutdown
 * wake, and a client with the TESTSIG_CHANNELS output ports.  One client
 * per process. */
#ifndef STEMCAP_SRCCLIENT_H
#define STEMCAP_SRCCLIENT_H

#include <jack/jack.h>

#include "testsig.h"

/* Creates the pipe, installs the signal handlers and blocks SIGINT and
 * SIGTERM (JACK's threads inherit that; srcclient_activate unblocks them).
 * PROG prefixes messages.  Returns 0, or -1 (reported). */
int srcclient_init(const char *prog);
/* Opens client NAME (never starting a server) with the outputs in PORTS
 * and the shutdown callback.  QUIET silences JACK's info messages.
 * Returns the client, or NULL (reported). */
jack_client_t *srcclient_open(const char *name, int quiet, jack_port_t *ports[TESTSIG_CHANNELS]);
/* Activates the client, then unblocks the signals.  Returns 0, or -1
 * (reported, the client closed). */
int srcclient_activate(jack_client_t *client);

/* The pipe's read end (poll it), emptying it, and waking it (async-signal
 * safe; from any thread). */
int srcclient_wake_fd(void);
void srcclient_drain(void);
void srcclient_wake(void);
/* The signal received (0: none), and whether JACK shut the client down
 * (with its reason, "" when it gave none). */
int srcclient_signal(void);
int srcclient_server_gone(void);
const char *srcclient_shutdown_reason(void);

#endif
