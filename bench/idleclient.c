/* idleclient — the floor for bench/run.sh: a JACK client with N input
 * ports connected to SRC:stemK_L/R and SRC:mix_L/R whose process callback
 * only fetches its port buffers, as any recorder must, and does nothing
 * else.  Its CPU time is what JACK itself costs a client per cycle (being
 * woken, signalling the next client, the server round trip), which no
 * recorder can go below.
 *
 * Usage: idleclient [-n NAME] [-s SRC]   prints "ready", runs until SIGTERM/SIGINT.
 * Built by bench/run.sh into its work folder; not part of stemcap. */
#include <jack/jack.h>
#include <jack/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NPORTS 18

static jack_port_t *in[NPORTS];
static volatile float sink;
static volatile sig_atomic_t quit;

static int
process(jack_nframes_t n, void *arg)
{
    (void)arg;
    float s = 0.0f;
    for (int i = 0; i < NPORTS; i++) {
        const float *b = jack_port_get_buffer(in[i], n);
        s += b[0];
    }
    sink = s;
    return 0;
}

/* As stemcapd does (daemon/process.c): keep the process thread real time
 * through freewheel, so that the floor of a bounce is that of a client that
 * does nothing but what stemcapd does to its scheduling. */
static jack_client_t *client;
static int rt_prio = -1;

static void
on_freewheel(int starting, void *arg)
{
    (void)arg;
    if (starting && rt_prio > 0)
        jack_acquire_real_time_scheduling(jack_client_thread_id(client), rt_prio);
}

static void
on_signal(int sig)
{
    (void)sig;
    quit = 1;
}

int
main(int argc, char **argv)
{
    const char *name = "bench-idle", *src = "stemcap-src";
    int opt;
    while ((opt = getopt(argc, argv, "n:s:")) != -1) {
        if (opt == 'n')
            name = optarg;
        else if (opt == 's')
            src = optarg;
        else {
            fprintf(stderr, "usage: idleclient [-n NAME] [-s SRC]\n");
            return 2;
        }
    }
    jack_client_t *c = jack_client_open(name, JackNoStartServer, NULL);
    if (!c) {
        fprintf(stderr, "idleclient: cannot open a JACK client\n");
        return 1;
    }
    for (int i = 0; i < NPORTS; i++) {
        char p[32];
        if (i < 16)
            snprintf(p, sizeof p, "stem%d_%c", i / 2 + 1, i % 2 ? 'R' : 'L');
        else
            snprintf(p, sizeof p, "mix_%c", i % 2 ? 'R' : 'L');
        in[i] = jack_port_register(c, p, JACK_DEFAULT_AUDIO_TYPE, JackPortIsInput, 0);
        if (!in[i]) {
            fprintf(stderr, "idleclient: cannot register %s\n", p);
            return 1;
        }
    }
    jack_set_process_callback(c, process, NULL);
    client = c;
    jack_set_freewheel_callback(c, on_freewheel, NULL);
    if (jack_activate(c)) {
        fprintf(stderr, "idleclient: cannot activate\n");
        return 1;
    }
    rt_prio = jack_client_real_time_priority(c);
    for (int i = 0; i < NPORTS; i++) {
        char from[320];
        snprintf(from, sizeof from, "%s:%s", src, jack_port_short_name(in[i]));
        if (jack_connect(c, from, jack_port_name(in[i]))) {
            fprintf(stderr, "idleclient: cannot connect %s\n", from);
            return 1;
        }
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("ready\n");
    fflush(stdout);
    while (!quit)
        pause();
    jack_client_close(c);
    return 0;
}
