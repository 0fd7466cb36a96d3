/* srcclient — signals, the wake-up pipe and the JACK client of the test
 * sources (see srcclient.h).  Handlers only store an atomic and write one
 * byte to the pipe; the main loops poll the pipe. */
#include "srcclient.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *prog = "srcclient";
static int wake_pipe[2] = {-1, -1};
static atomic_int got_signal, server_gone;
static char shutdown_reason[256];
static sigset_t blocked;

void
srcclient_wake(void)
{
    char c = 1;
    ssize_t r = write(wake_pipe[1], &c, 1);
    (void)r; /* pipe full means a wake-up is pending anyway */
}

int
srcclient_wake_fd(void)
{
    return wake_pipe[0];
}

void
srcclient_drain(void)
{
    char buf[64];

    while (read(wake_pipe[0], buf, sizeof buf) > 0) {
    }
}

int
srcclient_signal(void)
{
    return atomic_load(&got_signal);
}

int
srcclient_server_gone(void)
{
    return atomic_load(&server_gone);
}

const char *
srcclient_shutdown_reason(void)
{
    return shutdown_reason;
}

static void
on_signal(int sig)
{
    int saved = errno;
    atomic_store(&got_signal, sig);
    srcclient_wake();
    errno = saved;
}

static void
on_shutdown(jack_status_t code, const char *reason, void *arg)
{
    (void)code;
    (void)arg;
    /* Not a real-time thread; snprintf is fine, exit() is not. */
    snprintf(shutdown_reason, sizeof shutdown_reason, "%s", reason ? reason : "");
    atomic_store(&server_gone, 1);
    srcclient_wake();
}

static void
silent_info(const char *msg)
{
    (void)msg;
}

int
srcclient_init(const char *name)
{
    struct sigaction sa;

    prog = name;
    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
        return -1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* JACK's threads inherit a mask with SIGINT/SIGTERM blocked. */
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &blocked, NULL);
    return 0;
}

jack_client_t *
srcclient_open(const char *name, int quiet, jack_port_t *ports[TESTSIG_CHANNELS])
{
    jack_status_t status;
    jack_client_t *client;

    if (quiet)
        jack_set_info_function(silent_info);
    client = jack_client_open(name, JackNoStartServer | JackUseExactName, &status);
    if (!client) {
        fprintf(stderr, "%s: cannot open JACK client '%s' (status 0x%x%s)\n", prog, name,
                (unsigned)status,
                (status & JackNameNotUnique)  ? ", name in use"
                : (status & JackServerFailed) ? ", no server running"
                                              : "");
        return NULL;
    }
    for (int c = 0; c < TESTSIG_CHANNELS; c++) {
        ports[c] = jack_port_register(client, testsig_channel_name(c), JACK_DEFAULT_AUDIO_TYPE,
                                      JackPortIsOutput | JackPortIsTerminal, 0);
        if (!ports[c]) {
            fprintf(stderr, "%s: cannot register port %s\n", prog, testsig_channel_name(c));
            jack_client_close(client);
            return NULL;
        }
    }
    jack_on_info_shutdown(client, on_shutdown, NULL);
    return client;
}

int
srcclient_activate(jack_client_t *client)
{
    if (jack_activate(client) != 0) {
        fprintf(stderr, "%s: cannot activate client\n", prog);
        jack_client_close(client);
        return -1;
    }
    pthread_sigmask(SIG_UNBLOCK, &blocked, NULL);
    return 0;
}
