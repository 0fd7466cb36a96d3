/* fuzz_osc — libFuzzer harness over the daemon's OSC datagram validation
 * and dispatch: osc_dispatch_datagram() with a control state that has no
 * JACK server behind it.
 *
 * Each input is one UDP datagram, exactly as it would arrive on [osc] port
 * (so a crash file replays with `oscraw HEX` against a running daemon).  The
 * control state is the daemon's after start-up without a server: a zeroed
 * struct ctl with the built-in configuration, engine_up = 0 (status
 * "offline"), no capture root, zeroed meters (every window empty: levels
 * read silence).  Every handler the dispatcher reaches is safe on it: start
 * and follow fail with "not connected to a JACK server", stop with "not
 * recording", and engine_port_name()/engine_set_stem_name() skip ports that
 * were never registered.
 *
 * Replies go from a real UDP socket bound to 127.0.0.1 (any port) to a
 * second socket of ours on 127.0.0.1 that is never read (its queue fills and
 * the kernel drops the rest); one more socket stands for a subscriber, so
 * the state changes a datagram makes (song, names, arms) are pushed too
 * (osc_push_events).  Both states are restored before each input, so every
 * input is a reproducer on its own.
 *
 * Build and run: `make fuzz` (tests/fuzz.mk).  Run with -close_fd_mask=2:
 * the daemon logs every refused follow on stderr; libFuzzer's own output
 * and sanitizer reports still go to the original stderr. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "osc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ctl ctl0, ctl;
static struct osc osc0, osc;
static struct sockaddr_in from;

/* A UDP socket bound to 127.0.0.1 on a port the kernel picks; its address
 * in *sin when sin is not NULL. */
static int
fuzz_socket(struct sockaddr_in *sin)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int small = 4096;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror("fuzz_osc: socket");
        abort();
    }
    /* Never read: keep what queues up small. */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    if (sin)
        *sin = a;
    return fd;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct sockaddr_in sub;

    (void)argc;
    (void)argv;
    log_set_level(LOG_LEVEL_ERROR);

    /* The control state of a daemon that has no JACK server. */
    memset(&ctl0, 0, sizeof ctl0);
    conf_defaults(&ctl0.conf);
    ctl0.rootfd = -1;
    ctl0.notify_fd = -1;
    ctl0.engine_up = 0;
    ctl0.monitor_up = 0;
    ctl0.slot[0].dirfd = ctl0.slot[0].songfd = -1;
    ctl0.slot[1].dirfd = ctl0.slot[1].songfd = -1;

    /* The OSC front end as osc_open() leaves it, on a loopback socket. */
    memset(&osc0, 0, sizeof osc0);
    osc0.fd = fuzz_socket(NULL);
    osc0.ctl = &ctl;
    osc0.ttl = ctl0.conf.osc_subscription_ttl;
    osc0.max_subs = ctl0.conf.osc_max_subscribers;
    osc0.bundle = ctl0.conf.osc_bundle;
    osc0.use_acl = 0;

    /* The requester, and one subscriber that receives the pushes. */
    (void)fuzz_socket(&from);
    (void)fuzz_socket(&sub);
    osc0.sub[0].used = 1;
    memcpy(&osc0.sub[0].addr, &sub, sizeof sub);
    osc0.sub[0].len = sizeof sub;
    osc0.sub[0].hz = OSC_DEFAULT_HZ;
    osc0.sub[0].next = 0.0;
    osc0.sub[0].expires = 1e12;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memcpy(&ctl, &ctl0, sizeof ctl);
    memcpy(&osc, &osc0, sizeof osc);
    /* A full error budget for every input (err_time 0: the bucket refills
     * to its cap at once), so error replies are built and sent, not
     * suppressed depending on how fast earlier inputs ran. */
    osc.err_tokens = OSC_ERRORS_PER_SECOND;
    osc.err_time = 0.0;

    osc_dispatch_datagram(&osc, data, size, &from, sizeof from);
    osc_push_events(&osc);
    return 0;
}
