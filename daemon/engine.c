/* engine — the JACK client: opening, ports and their pretty-names,
 * configured connections, capture latencies, and the callbacks JACK runs on
 * its notification thread (port registration, connections, graph order,
 * shutdown), which only touch atomics and an eventfd.
 *
 * The real-time process callback lives in process.c; the state it shares
 * with the other threads is declared in engine.h. */
#include "engine.h"

#include <errno.h>
#include <jack/metadata.h>
#include <jack/thread.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "naming.h"
#include "process.h"

static void
engine_wake(struct engine *e)
{
    uint64_t one = 1;
    if (e->notify_fd >= 0 && write(e->notify_fd, &one, sizeof one) < 0) {
        /* the counter is saturated: the control thread is awake anyway */
    }
}

static void
engine_port_registered(jack_port_id_t id, int registered, void *arg)
{
    struct engine *e = arg;
    (void)id;
    if (registered) {
        atomic_store(&e->ports_appeared, 1);
        engine_wake(e);
    }
}

/* Connections change the residual for a few periods (a stem arrives before
 * the mix, or the other way round): remember when, so no alarm is raised
 * for those transients. */
static void
engine_port_connected(jack_port_id_t a, jack_port_id_t b, int connect, void *arg)
{
    struct engine *e = arg;
    jack_port_t *pa = jack_port_by_id(e->client, a), *pb = jack_port_by_id(e->client, b);
    (void)connect;
    atomic_store(&e->graph_cycle, atomic_load(&e->cycles));
    /* Ours: the mix's alignment may be another one now (align.c). */
    if ((pa && jack_port_is_mine(e->client, pa)) || (pb && jack_port_is_mine(e->client, pb)))
        atomic_fetch_add(&e->our_graph, 1);
}

static int
engine_graph_order(void *arg)
{
    struct engine *e = arg;
    atomic_store(&e->graph_cycle, atomic_load(&e->cycles));
    return 0;
}

/* Latencies changed somewhere in the graph: the control thread rereads
 * them (our ports are terminal inputs: nothing to propagate). */
static void
engine_latency_changed(jack_latency_callback_mode_t mode, void *arg)
{
    struct engine *e = arg;
    if (mode == JackCaptureLatency) {
        atomic_store(&e->latency_changed, 1);
        engine_wake(e);
    }
}

/* The server's sample rate changed (PipeWire, under running clients):
 * the real-time thread ends a take in progress before its first period
 * at the new rate, and the control thread sets everything up again for
 * it.  PipeWire runs this on the client's own thread and holds the
 * process callback back until it has run; jack2 calls it once when it is
 * set. */
static int
engine_rate_changed(jack_nframes_t rate, void *arg)
{
    struct engine *e = arg;
    atomic_store(&e->srate, rate);
    engine_wake(e);
    return 0;
}

/* The period size changed: nothing is sized by it (records carry their
 * own length); the control thread rescales what counts in periods. */
static int
engine_period_changed(jack_nframes_t nframes, void *arg)
{
    struct engine *e = arg;
    atomic_store(&e->period, nframes);
    return 0;
}

static void
engine_shutdown(jack_status_t code, const char *reason, void *arg)
{
    struct engine *e = arg;
    (void)code;
    (void)reason;
    atomic_store(&e->server_gone, 1);
    engine_wake(e);
}

uint32_t
engine_latency(const struct engine *e, int ch)
{
    jack_latency_range_t r = {0, 0};
    if (!e->port[ch])
        return 0;
    jack_port_get_latency_range(e->port[ch], JackCaptureLatency, &r);
    return r.max;
}

/* Sets channel ch's compensation to d frames, allocating its delay line
 * first; returns 1 when it changed. */
static int
engine_set_comp(struct engine *e, int ch, uint32_t d)
{
    if (d > ENGINE_MAX_COMP)
        d = ENGINE_MAX_COMP;
    if (d > 0 && !atomic_load(&e->cdl[ch])) {
        /* First compensation of this channel: its delay line, touched
         * and locked here, published before the new comp is. */
        float *p = calloc(ENGINE_MAX_COMP, sizeof(float));
        if (!p) {
            log_warn("cannot allocate the latency compensation of %s: %s; its null "
                     "test is not aligned",
                     engine_port_name(e, engine_source_ch(e, ch)), strerror(ENOMEM));
            d = 0;
        } else {
            (void)mlock(p, ENGINE_MAX_COMP * sizeof(float)); /* as the ring: best effort */
            atomic_store(&e->cdl[ch], p);
        }
    }
    if (atomic_load(&e->comp[ch]) == d)
        return 0;
    atomic_store(&e->comp[ch], d);
    return 1;
}

int
engine_update_latency(struct engine *e)
{
    uint32_t lat[ENGINE_MAX_CH], max = 0;
    int changed = 0;

    for (int k = 0; k < e->nreg; k++) {
        lat[e->reg_ch[k]] = engine_latency(e, e->reg_ch[k]);
        if (lat[e->reg_ch[k]] > max)
            max = lat[e->reg_ch[k]];
    }
    for (int k = 0; k < e->nreg; k++)
        changed |= engine_set_comp(e, e->reg_ch[k], max - lat[e->reg_ch[k]]);
    /* A mono stem's R slot: the same delay, in a line of its own. */
    for (int k = 0; k < e->nmono; k++)
        changed |= engine_set_comp(e, e->mono_ch[k] + 1, max - lat[e->mono_ch[k]]);
    return changed;
}

const char *
engine_port_name(const struct engine *e, int ch)
{
    return e->port[ch] ? jack_port_name(e->port[ch]) : "";
}

int
engine_source_ch(const struct engine *e, int ch)
{
    return ch < ENGINE_MIX_L && ch % 2 && e->stem_nch[ch / 2] == 1 ? ch - 1 : ch;
}

/* JACK metadata of one port: its pretty-name ("Drums L"; a mono stem's
 * port: "Drums"), its port group (the L/R pair: "Drums") and its order
 * among stemcap's ports, so
 * patchbays (QjackCtl, Carla, RaySession) show the stems as stereo pairs,
 * in order, by name.  Best effort: a server without metadata gets a warning
 * once per port. */
/* The side a channel's pretty-name ends in: 'L', 'R', or none (0) for a
 * mono stem's one port. */
static char
engine_side(const struct engine *e, int ch)
{
    if (ch < ENGINE_MIX_L && e->stem_nch[ch / 2] == 1)
        return 0;
    return ch % 2 ? 'R' : 'L';
}

static void
engine_port_metadata(struct engine *e, jack_port_t *p, const char *group, char side, int order)
{
    jack_uuid_t u = jack_port_uuid(p);
    char pretty[CONF_NAME_MAX + 8], num[16];

    if (side)
        snprintf(pretty, sizeof pretty, "%s %c", group, side);
    else /* a mono stem's one port */
        snprintf(pretty, sizeof pretty, "%s", group);
    snprintf(num, sizeof num, "%d", order);
    if (jack_set_property(e->client, u, JACK_METADATA_PRETTY_NAME, pretty, "text/plain") != 0 ||
        jack_set_property(e->client, u, JACK_METADATA_PORT_GROUP, group, "text/plain") != 0 ||
        jack_set_property(e->client, u, JACK_METADATA_ORDER, num,
                          "http://www.w3.org/2001/XMLSchema#int") != 0)
        log_warn("cannot set the JACK metadata (pretty-name, port group, order) of %s",
                 jack_port_name(p));
}

void
engine_set_stem_name(struct engine *e, int stem, const char *name)
{
    for (int side = 0; side < 2; side++)
        if (e->port[2 * stem + side])
            engine_port_metadata(e, e->port[2 * stem + side], name, engine_side(e, 2 * stem + side),
                                 2 * stem + side + 1);
}

/* The client's pretty-name ([jack] pretty_name), which patchbays show
 * instead of a session manager's generated client name. */
static void
engine_client_metadata(struct engine *e, const char *pretty)
{
    char *id = jack_get_uuid_for_client_name(e->client, jack_get_client_name(e->client));
    jack_uuid_t u;

    if (!*pretty)
        return;
    if (!id || jack_uuid_parse(id, &u) != 0 ||
        jack_set_property(e->client, u, JACK_METADATA_PRETTY_NAME, pretty, "text/plain") != 0)
        log_warn("cannot set the JACK pretty-name of client '%s'", jack_get_client_name(e->client));
    else
        e->client_uuid = u;
    jack_free(id);
}

/* Connects our port `ours` with the port named `other` (configured; ""
 * = none), in the direction of the signal: other -> ours for an input,
 * ours -> other for an output.  A port that does not exist (yet) is
 * skipped, said only when `verbose`. */
static void
engine_connect_port(struct engine *e, jack_port_t *ours, const char *other, int output, int verbose)
{
    if (!*other || !ours)
        return;
    const char *me = jack_port_name(ours);
    const char *src = output ? me : other, *dst = output ? other : me;
    if (!jack_port_by_name(e->client, other)) {
        if (verbose)
            log_warn("cannot connect %s -> %s: no such port (yet); will connect when it appears",
                     src, dst);
        return;
    }
    if (jack_port_connected_to(ours, other))
        return;
    int r = jack_connect(e->client, src, dst);
    if (r == 0)
        log_info("connected %s -> %s", src, dst);
    else if (r != EEXIST)
        log_warn("cannot connect %s -> %s (JACK error %d)", src, dst, r);
}

void
engine_connect(struct engine *e, const struct conf *c, int verbose)
{
    for (int s = 0; s < CONF_MAX_STEMS; s++)
        for (int side = 0; side < 2; side++)
            engine_connect_port(e, e->port[2 * s + side], c->stem[s].connect[side], 0, verbose);
    for (int side = 0; side < 2; side++)
        engine_connect_port(e, e->port[ENGINE_MIX_L + side], c->mix_connect[side], 0, verbose);
    for (int k = 0; k < ENGINE_NOUT; k++)
        engine_connect_port(e, e->out[k], c->monitor_connect[k], 1, verbose);
}

static int
engine_register(struct engine *e, int ch, const char *short_name, const char *group)
{
    e->port[ch] = jack_port_register(e->client, short_name, JACK_DEFAULT_AUDIO_TYPE,
                                     JackPortIsInput | JackPortIsTerminal, 0);
    if (!e->port[ch]) {
        log_error("cannot register JACK port %s:%s", jack_get_client_name(e->client), short_name);
        return -1;
    }
    engine_port_metadata(e, e->port[ch], group, engine_side(e, ch), ch + 1);
    return 0;
}

/* [monitor] outputs: residual_L/R, sum_L/R.  Returns 0 or -1. */
static int
engine_outputs(struct engine *e, const struct conf *c)
{
    static const char *const names[ENGINE_NOUT] = {"residual_L", "residual_R", "sum_L", "sum_R"};

    if (!c->monitor_outputs)
        return 0;
    for (int k = 0; k < ENGINE_NOUT; k++) {
        e->out[k] = jack_port_register(e->client, names[k], JACK_DEFAULT_AUDIO_TYPE,
                                       JackPortIsOutput | JackPortIsTerminal, 0);
        if (!e->out[k]) {
            log_error("cannot register JACK port %s:%s ([monitor] outputs)",
                      jack_get_client_name(e->client), names[k]);
            return -1;
        }
        engine_port_metadata(e, e->out[k], k < ENGINE_OUT_SUM_L ? "Null residual" : "Stems' sum",
                             k % 2 ? 'R' : 'L', ENGINE_MAX_CH + k + 1);
    }
    return 0;
}

/* The capture ring: `seconds` of every registered port at `rate`, plus
 * one record header per period at the smallest period JACK allows. */
static int
engine_ring_alloc(struct engine *e, double seconds, uint32_t rate)
{
    size_t frames = (size_t)(seconds * rate);
    size_t bytes =
        frames * (size_t)e->nreg * sizeof(float) + (frames / 16 + 1) * sizeof(struct engine_rec);
    if (ring_init(&e->ring, bytes) < 0) {
        log_error("cannot allocate a %zu MB capture ring: %s", bytes >> 20, strerror(ENOMEM));
        return -1;
    }
    if (!e->ring.locked)
        log_warn("cannot mlock the %zu MB capture ring (raise RLIMIT_MEMLOCK / LimitMEMLOCK); "
                 "it may be paged out",
                 e->ring.size >> 20);
    if (ring_bell(&e->ring) < 0) /* freewheel then waits in 100 ms steps */
        log_warn("cannot create the capture ring's eventfd: %s", strerror(errno));
    return 0;
}

int
engine_set_rate(struct engine *e, const struct conf *c, uint32_t rate)
{
    uint32_t old = e->rate;

    ring_free(&e->ring);
    if (engine_ring_alloc(e, c->buffer_seconds, rate) < 0) {
        /* The old ring's size is there to be had again; it holds fewer
         * seconds at a higher rate. */
        if (engine_ring_alloc(e, c->buffer_seconds, old) < 0)
            return -1;
        log_warn("the capture ring keeps its size: %.1f s at %u Hz instead of [capture] "
                 "buffer_seconds = %g",
                 c->buffer_seconds * old / rate, rate, c->buffer_seconds);
    }
    e->rate = rate;
    atomic_store(&e->arate, rate);
    return 0;
}

/* Opens the JACK client (never starting a server).  Returns 0 or -1. */
static int
engine_client_open(struct engine *e, const struct conf *c)
{
    jack_status_t status;
    jack_options_t opts = JackNoStartServer | JackUseExactName;

    if (c->jack_server[0])
        opts |= JackServerName;
    e->client = jack_client_open(c->jack_client, opts, &status, c->jack_server);
    if (!e->client) {
        const char *srv = c->jack_server[0] ? c->jack_server : "default";
        if (status & JackNameNotUnique)
            log_error("cannot open JACK client '%s': the name is taken on server '%s'",
                      c->jack_client, srv);
        else
            log_error("cannot connect to JACK server '%s' (status 0x%x): is jackd running?", srv,
                      (unsigned)status);
        return -1;
    }
    e->rate = jack_get_sample_rate(e->client);
    atomic_store(&e->arate, e->rate);
    atomic_store(&e->srate, e->rate);
    atomic_store(&e->period, jack_get_buffer_size(e->client));
    return 0;
}

/* The registered stems' ports and the mix's.  Returns 0 or -1. */
static int
engine_ports(struct engine *e, const struct conf *c)
{
    char name[32];

    for (int s = 0; s < CONF_MAX_STEMS; s++) {
        if (!c->stem[s].registered)
            continue;
        e->stem_nch[s] = c->stem[s].channels == 1 ? 1 : 2;
        for (int side = 0; side < e->stem_nch[s]; side++) {
            if (e->stem_nch[s] == 1)
                snprintf(name, sizeof name, "stem%d", s + 1);
            else
                snprintf(name, sizeof name, "stem%d_%c", s + 1, side ? 'R' : 'L');
            if (engine_register(e, 2 * s + side, name, c->stem[s].name) < 0)
                return -1;
            e->reg_ch[e->nreg++] = 2 * s + side;
        }
        if (e->stem_nch[s] == 1)
            e->mono_ch[e->nmono++] = 2 * s;
        e->stem_ch[e->nstems++] = 2 * s;
    }
    if (engine_register(e, ENGINE_MIX_L, "mix_L", NAMING_MIX) < 0 ||
        engine_register(e, ENGINE_MIX_R, "mix_R", NAMING_MIX) < 0)
        return -1;
    engine_client_metadata(e, c->jack_pretty_name);
    e->reg_ch[e->nreg++] = ENGINE_MIX_L;
    e->reg_ch[e->nreg++] = ENGINE_MIX_R;
    return 0;
}

/* The pre-roll history ([capture] preroll_seconds at the server's rate):
 * every registered channel, allocated, touched and locked before the
 * real-time thread can see it.  Its size is stated in the log.  Returns 0
 * or -1. */
static int
engine_hist_alloc(struct engine *e, const struct conf *c)
{
    struct engine_hist *h = &e->hist;
    uint32_t frames = (uint32_t)lround(c->preroll_seconds * e->rate);

    if (!frames)
        return 0;
    h->cap = frames + ENGINE_HIST_MARGIN + ENGINE_HIST_SLACK_S * e->rate;
    size_t bytes = (size_t)e->nreg * h->cap * sizeof(float);
    h->buf = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!h->buf) {
        log_error("cannot allocate the %.1f MiB pre-roll ([capture] preroll_seconds = %g): %s",
                  (double)bytes / 1048576.0, c->preroll_seconds, strerror(ENOMEM));
        return -1;
    }
    memset(h->buf, 0, bytes);
    h->locked = mlock(h->buf, bytes) == 0;
    h->frames = frames;
    for (int k = 0; k < e->nreg; k++)
        h->idx[e->reg_ch[k]] = k;
    log_info("pre-roll: the last %g s (%u frames) of %d channels kept in memory: %.1f MiB%s",
             c->preroll_seconds, frames, e->nreg, (double)bytes / 1048576.0,
             h->locked ? ", locked" : " (cannot mlock it: raise RLIMIT_MEMLOCK / LimitMEMLOCK)");
    return 0;
}

static void
engine_hist_free(struct engine *e)
{
    struct engine_hist *h = &e->hist;

    if (h->buf && h->locked)
        munlock(h->buf, (size_t)e->nreg * h->cap * sizeof(float));
    free(h->buf);
    h->buf = NULL;
    h->cap = h->frames = 0;
}

/* The capture ring, the meter and event rings, the null test's offset.
 * Returns 0 or -1. */
static int
engine_buffers(struct engine *e, const struct conf *c)
{
    if (engine_ring_alloc(e, c->buffer_seconds, e->rate) < 0 || engine_hist_alloc(e, c) < 0)
        return -1;
    /* Meter records for ENGINE_METER_RECS gatherings (over a second at the
     * default; a full ring makes records longer, never loses figures): the
     * control thread drains it at least every CTL_TICK_MS (100 ms). */
    size_t meter_bytes = ENGINE_METER_RECS * sizeof(struct engine_meter);
    atomic_store(&e->meter_frames, ENGINE_METER_FRAMES);
    e->null_thr = (float)pow(10.0, c->null_threshold_db / 20.0);
    if (ring_init(&e->meter_ring, meter_bytes) < 0 ||
        ring_init(&e->event_ring, 256 * sizeof(struct engine_event)) < 0) {
        log_error("cannot allocate the meter buffers: %s", strerror(ENOMEM));
        return -1;
    }
    if (c->mix_offset_frames && engine_set_offset(e, c->mix_offset_frames) < 0)
        return -1;
    return 0;
}

/* The real-time callbacks and JACK's notifications, then activation.
 * Returns 0 or -1. */
static int
engine_activate(struct engine *e)
{
    if (process_install(e) < 0 ||
        jack_set_port_registration_callback(e->client, engine_port_registered, e) ||
        jack_set_port_connect_callback(e->client, engine_port_connected, e) ||
        jack_set_graph_order_callback(e->client, engine_graph_order, e) ||
        jack_set_sample_rate_callback(e->client, engine_rate_changed, e) ||
        jack_set_buffer_size_callback(e->client, engine_period_changed, e) ||
        jack_set_latency_callback(e->client, engine_latency_changed, e)) {
        log_error("cannot set JACK callbacks");
        return -1;
    }
    jack_on_info_shutdown(e->client, engine_shutdown, e);
    if (jack_activate(e->client)) {
        log_error("cannot activate JACK client '%s'", jack_get_client_name(e->client));
        return -1;
    }
    /* What our process thread runs at (JACK reports -1 while it freewheels). */
    atomic_store(&e->rt_prio, jack_client_real_time_priority(e->client));
    return 0;
}

int
engine_open(struct engine *e, const struct conf *c, int notify_fd)
{
    memset(e, 0, sizeof *e);
    e->notify_fd = notify_fd;
    if (engine_client_open(e, c) < 0)
        return -1;
    if (engine_ports(e, c) < 0 || engine_outputs(e, c) < 0 || engine_buffers(e, c) < 0)
        goto fail;
    engine_update_latency(e);
    if (engine_activate(e) < 0)
        goto fail;
    log_info("JACK client '%s' active: %u Hz, %u frames per period, %d input ports%s, %.1f MiB "
             "ring",
             jack_get_client_name(e->client), e->rate, jack_get_buffer_size(e->client), e->nreg,
             e->out[0] ? " and the monitor outputs residual_L/R, sum_L/R" : "",
             (double)e->ring.size / 1048576.0);
    engine_connect(e, c, 1);
    return 0;

fail:
    engine_close(e);
    return -1;
}

struct ring *
engine_lag_ring(struct engine *e)
{
    struct ring *r = atomic_load_explicit(&e->lag_ring, memory_order_acquire);

    if (r || e->lag_failed)
        return r;
    /* Half a second of samples: the control thread drains it (or keeps the
     * newest MONITOR_LAG_KEEP_S, 0.3 s) at least every CTL_TICK_MS (100
     * ms); a full ring drops lag samples, never audio. */
    size_t bytes = (size_t)e->rate / 2 * ENGINE_LAG_STREAMS * sizeof(float) +
                   128 * sizeof(struct engine_lag_rec);
    r = calloc(1, sizeof *r);
    if (!r || ring_init(r, bytes) < 0) {
        log_warn("cannot allocate the null test's lag analysis (%zu KB): %s; the lag is not "
                 "measured",
                 bytes >> 10, strerror(ENOMEM));
        free(r);
        e->lag_failed = 1;
        return NULL;
    }
    atomic_store_explicit(&e->lag_ring, r, memory_order_release);
    return r;
}

int
engine_tap_alloc(struct engine *e)
{
    size_t bytes = ENGINE_LAG_STREAMS * ENGINE_TAP * sizeof(float);
    float *p;

    if (atomic_load(&e->tap))
        return 0;
    if (e->tap_failed)
        return -1;
    p = calloc(1, bytes);
    if (!p) {
        log_warn("cannot allocate the null test's offset lines (%zu KB): %s; the null test "
                 "compares the sum and the mix unshifted",
                 bytes >> 10, strerror(ENOMEM));
        e->tap_failed = 1;
        return -1;
    }
    memset(p, 0, bytes);   /* touched here, not in the callback */
    (void)mlock(p, bytes); /* as the ring: best effort */
    atomic_store_explicit(&e->tap, p, memory_order_release);
    return 0;
}

int
engine_set_offset(struct engine *e, int offset)
{
    if (offset < -ENGINE_MAX_OFFSET || offset > ENGINE_MAX_OFFSET)
        return -1;
    if (offset && engine_tap_alloc(e) < 0)
        return -1;
    atomic_store(&e->offset, offset);
    return 0;
}

void
engine_close(struct engine *e)
{
    if (e->client) {
        for (int ch = 0; ch < ENGINE_MAX_CH; ch++)
            if (e->port[ch] && !atomic_load(&e->server_gone))
                jack_remove_properties(e->client, jack_port_uuid(e->port[ch]));
        if (!jack_uuid_empty(e->client_uuid) && !atomic_load(&e->server_gone))
            jack_remove_properties(e->client, e->client_uuid);
        if (!atomic_load(&e->server_gone)) {
            jack_deactivate(e->client);
            jack_client_close(e->client);
        }
        e->client = NULL;
    }
    memset(e->port, 0, sizeof e->port);
    memset(e->out, 0, sizeof e->out);
    ring_free(&e->ring);
    engine_hist_free(e);
    ring_free(&e->meter_ring);
    struct ring *lag = atomic_exchange(&e->lag_ring, NULL);
    if (lag) {
        ring_free(lag);
        free(lag);
    }
    ring_free(&e->event_ring);
    float *tap = atomic_exchange(&e->tap, NULL);
    if (tap) {
        munlock(tap, ENGINE_LAG_STREAMS * ENGINE_TAP * sizeof(float));
        free(tap);
    }
    atomic_store(&e->offset, 0);
    e->tap_failed = 0;
    for (int ch = 0; ch < ENGINE_MAX_CH; ch++) {
        float *p = atomic_exchange(&e->cdl[ch], NULL);
        if (p) {
            munlock(p, ENGINE_MAX_COMP * sizeof(float));
            free(p);
        }
        atomic_store(&e->comp[ch], 0);
    }
}
