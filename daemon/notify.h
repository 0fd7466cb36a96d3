/* notify — the systemd notification protocol (sd_notify(3)) without
 * libsystemd: one datagram per message to $NOTIFY_SOCKET.  Outside
 * systemd (NOTIFY_SOCKET unset) every call is a no-op that succeeds.
 * Control (main) thread only. */
#ifndef STEMCAP_NOTIFY_H
#define STEMCAP_NOTIFY_H

/* Reads $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace),
 * $WATCHDOG_USEC and $WATCHDOG_PID (the watchdog is ours only when
 * WATCHDOG_PID is unset or our pid) and opens the socket.  Returns 0, or
 * -1 (logged) when NOTIFY_SOCKET is set but unusable: everything else is
 * then a no-op. */
int notify_init(void);
/* Sends one message, "KEY=value" lines separated by '\n', e.g.
 * "READY=1\nSTATUS=idle".  Returns 0 (also when disabled), or -1 when the
 * send failed (logged once at debug level until a send succeeds again). */
int notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "READY=1" plus "STATUS=status" when status is not NULL. */
int notify_ready(const char *status);
/* "STATUS=..." (one line: newlines in the text become spaces). */
int notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "STOPPING=1". */
int notify_stopping(void);
/* The keep-alive interval systemd wants, in seconds: half of WatchdogSec=
 * ($WATCHDOG_USEC / 2); 0 when there is no watchdog for this process. */
double notify_watchdog_interval(void);
/* "WATCHDOG=1", when there is a watchdog.  Send it only when every thread
 * that matters was seen making progress since the last one. */
void notify_watchdog(void);
/* Closes the socket; every call is a no-op afterwards (until notify_init). */
void notify_close(void);

#endif
