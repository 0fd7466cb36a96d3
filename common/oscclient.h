/* oscclient.h - the small OSC client shared by the stemcap tools. */
#ifndef STEMCAP_OSCCLIENT_H
#define STEMCAP_OSCCLIENT_H

#include <stdint.h>

#include <lo/lo.h>

/* stemcapd answers a failed request here instead of at the expected address. */
#define OSCC_ERROR_PATH "/stemcap/error"

/* A UDP socket connected to one stemcapd. */
struct oscc;

/* One decoded reply datagram. */
struct oscc_msg;

/* Resolve HOST (name, IPv4 or IPv6 address) and PORT and connect a UDP socket to it.
 * Returns NULL on failure (logged). */
struct oscc *oscc_open(const char *host, const char *port);
void oscc_close(struct oscc *c);

/* "host:port" (IPv6 addresses in brackets) as given to oscc_open(), for messages. */
const char *oscc_peer(const struct oscc *c);

/* Serialise M (may be NULL: no arguments) to PATH and send it. Returns 0 or -1 (logged). */
int oscc_send(struct oscc *c, const char *path, lo_message m);

/* Wait up to TIMEOUT_MS in all for a reply whose address is EXPECT or OSCC_ERROR_PATH (any
 * address when EXPECT is NULL); other datagrams are skipped. Returns 1 with *OUT set (free it
 * with oscc_msg_free()), 0 when no answer came (errno ETIMEDOUT, or ECONNREFUSED when nothing
 * listens at the peer) and -1 on a socket error (logged). */
int oscc_wait(struct oscc *c, const char *expect, int timeout_ms, struct oscc_msg **out);

/* Accessors; the strings and arguments live as long as the message. */
const char *oscc_msg_path(const struct oscc_msg *m);
const char *oscc_msg_types(const struct oscc_msg *m); /* "" when there are no arguments */
int oscc_msg_argc(const struct oscc_msg *m);
/* The pointers may be only 4-byte aligned: memcpy() numbers out, or use the getters below. */
lo_arg **oscc_msg_argv(const struct oscc_msg *m);
/* Argument I as a string (type s or S), or NULL. */
const char *oscc_msg_string(const struct oscc_msg *m, int i);
/* Argument I as an integer (type i, h, T or F) into *OUT. Returns 0, or -1 if absent or another
 * type. */
int oscc_msg_int(const struct oscc_msg *m, int i, int64_t *out);
void oscc_msg_free(struct oscc_msg *m);

/* Append a command-line argument to M: "i:42", "h:42", "f:0.5", "d:0.5", "s:text" give the type
 * explicitly; "T", "F", "N" and "I" are true, false, nil and infinitum; other text is an int32
 * (int64 beyond its range) if it is a decimal integer, a float (double beyond its range) if it is a
 * finite decimal number, else a string. Returns 0, or -1 on a malformed value (not logged: the
 * caller reports it as a usage error) or when out of memory (logged). */
int oscc_add_arg(lo_message m, const char *text);

/* Parse TEXT as a decimal integer in [MIN, MAX] into *OUT. Returns 0, or -1 (not logged). */
int oscc_parse_int(const char *text, long min, long max, long *out);

#endif
