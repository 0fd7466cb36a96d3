/* oscclient.h - the OSC client library of the stemcap tools: one UDP socket connected to one
 * stemcapd, messages sent and received on it (bundles opened into their messages), typed argument
 * getters, and a log hook. Functions return 0/1 or -1; failures are logged once, through the hook,
 * except "no answer", which the caller words for its user. Not thread-safe: one thread per oscc. */
#ifndef STEMCAP_OSCCLIENT_H
#define STEMCAP_OSCCLIENT_H

#include <stdint.h>

#include <lo/lo.h>

/* A UDP socket connected to one stemcapd. */
struct oscc;

/* One received message. */
struct oscc_msg;

/* Where the library's error lines go: FN(CTX, LINE), LINE without the program name or a newline.
 * The default (FN NULL) writes "PROGRAM: LINE\n" to stderr. Process-wide. */
void oscc_set_log(void (*fn)(void *ctx, const char *line), void *ctx);

/* Resolve HOST (name, IPv4 or IPv6 address) and PORT and connect a UDP socket to it.
 * Returns NULL on failure (logged). */
struct oscc *oscc_open(const char *host, const char *port);
void oscc_close(struct oscc *c);

/* "host:port" (IPv6 addresses in brackets) as given to oscc_open(), for messages. */
const char *oscc_peer(const struct oscc *c);

/* The socket, to poll() for POLLIN next to other descriptors; it changes when a refused
 * connection moves on to the host's next address, so ask again before every poll(). -1 when none
 * is left. Read it only through oscc_recv(). */
int oscc_fd(const struct oscc *c);

/* Messages of a received bundle not returned yet: poll() on oscc_fd() does not see them. */
int oscc_pending(const struct oscc *c);

/* Serialise M (may be NULL: no arguments) to PATH and send it. Returns 0 or -1 (logged). */
int oscc_send(struct oscc *c, const char *path, lo_message m);

/* The next message, waiting up to TIMEOUT_MS (0: only what has arrived). A bundle yields its
 * messages one per call, in order, nested bundles too (up to 4 levels inside the outer one; the
 * time tags are ignored). Returns 1 with *OUT set (free it with oscc_msg_free()), 0 when nothing
 * came (errno ETIMEDOUT, or ECONNREFUSED when nothing listens at the peer) and -1 on a socket
 * error (logged). Datagrams that are no OSC message or bundle are skipped. */
int oscc_recv(struct oscc *c, int timeout_ms, struct oscc_msg **out);

/* oscc_recv() until a message addressed EXPECT or PROTO_ERROR (protocol.h) comes (any address when
 * EXPECT is NULL), skipping the others, within TIMEOUT_MS in all. Returns as oscc_recv(). */
int oscc_wait(struct oscc *c, const char *expect, int timeout_ms, struct oscc_msg **out);

/* Accessors; the strings and arguments live as long as the message. */
const char *oscc_msg_path(const struct oscc_msg *m);
const char *oscc_msg_types(const struct oscc_msg *m); /* "" when there are no arguments */
int oscc_msg_argc(const struct oscc_msg *m);
/* The pointers may be only 4-byte aligned: memcpy() numbers out, or use the getters below. */
lo_arg **oscc_msg_argv(const struct oscc_msg *m);
void oscc_msg_free(struct oscc_msg *m);

/* Getters of argument I (from 0). Those with OUT return 0 with *OUT set, or -1 with *OUT
 * untouched when the argument is absent or of another type than listed. */
/* Type s or S; NULL otherwise. */
const char *oscc_msg_string(const struct oscc_msg *m, int i);
/* Type i, h, T (1) or F (0). */
int oscc_msg_int(const struct oscc_msg *m, int i, int64_t *out);
/* Type f. */
int oscc_msg_float(const struct oscc_msg *m, int i, float *out);
/* Any number: type f, d, i, h, T (1) or F (0), as a double. */
int oscc_msg_number(const struct oscc_msg *m, int i, double *out);

#endif
