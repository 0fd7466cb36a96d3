/* engine — JACK client, ports, and the real-time process callback.
 *
 * REAL-TIME RULES.  engine_process() runs on JACK's real-time thread.  It
 * never allocates, locks, blocks, logs, or calls libsndfile; it talks to the
 * other threads only through the SPSC ring (ring.c) and C11 atomics.  All
 * memory it touches is allocated, touched and mlock()ed before activation,
 * and denormals are flushed to zero on that thread (engine_thread_init).
 *
 * Each cycle, while a take runs, the callback writes ONE ring record: a
 * header and the period of every channel of the take.  Room for the whole
 * record is checked first, so a period goes in for all channels or for none;
 * a period that does not fit is counted as dropped and the next record tells
 * the writer how many frames of silence to put in its place, so the files
 * stay sample-aligned with each other and with the timeline.
 *
 * A cycle JACK never ran for this client (an xrun where the callback was
 * skipped) shows as a jump of the frame clock; those frames are counted as
 * dropped in the same way, so the files stay on the timeline even then.
 *
 * Starting and stopping are requests: the control thread stores a take id
 * (or 0) in req_take; the callback acts on it at the top of the next cycle,
 * so every file of a take starts with the same period and ends with the
 * same period.  The callbacks JACK runs on its notification thread (xrun,
 * port registration, shutdown) only touch atomics and an eventfd. */
#include "engine.h"

#include <errno.h>
#include <jack/metadata.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "log.h"
#include "meter.h"

static void
engine_wake(struct engine *e)
{
    uint64_t one = 1;
    if (e->notify_fd >= 0 && write(e->notify_fd, &one, sizeof one) < 0) {
        /* the counter is saturated: the control thread is awake anyway */
    }
}

/* Longest clock jump filled with silence: beyond it (a suspended machine,
 * a stopped server) the take just continues. */
#define ENGINE_MAX_GAP_SECONDS 60

static void
engine_drop(struct engine *e, uint64_t frames)
{
    e->rt_pending += frames;
    atomic_fetch_add_explicit(&e->take_frames, frames, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->take_dropped, frames, memory_order_relaxed);
}

static void
engine_push(struct engine *e, jack_nframes_t nframes)
{
    size_t bytes = (size_t)nframes * sizeof(float);
    size_t need = sizeof(struct engine_rec) + bytes * e->plan_nch;

    if (e->rt_clock > e->rt_expected &&
        e->rt_clock - e->rt_expected <= (uint64_t)e->rate * ENGINE_MAX_GAP_SECONDS)
        engine_drop(e, e->rt_clock - e->rt_expected);
    e->rt_expected = e->rt_clock + nframes;
    if (ring_write_space(&e->ring) < need) {
        engine_drop(e, nframes);
        return;
    }
    atomic_fetch_add_explicit(&e->take_frames, nframes, memory_order_relaxed);
    struct engine_rec h = {
        .magic = ENGINE_REC_MAGIC,
        .take = e->rt_cur,
        .nframes = nframes,
        .nch = e->plan_nch,
        .frame = e->rt_clock,
        .dropped_before = e->rt_pending,
    };
    ring_put(&e->ring, 0, &h, sizeof h);
    size_t off = sizeof h;
    for (uint32_t i = 0; i < e->plan_nch; i++, off += bytes)
        ring_put(&e->ring, off, jack_port_get_buffer(e->port[e->plan_ch[i]], nframes), bytes);
    ring_publish(&e->ring, need);
    e->rt_pending = 0;
}

/* Residual of one side for frames [off, off+n) of the period: the stems'
 * sum (in stem order, as a float mix bus adds) minus the mix, one of them
 * delayed by [mix] offset_frames.  Fills `sum` (undelayed) for the lag
 * analysis. */
static void
engine_residual(struct engine *e, struct engine_meter *m, const float *const *buf, int side,
                uint32_t off, uint32_t n, float *sum)
{
    const float *mix = buf[ENGINE_MIX_L + side] + off;
    float *dl = e->delay[side];
    uint32_t d = (uint32_t)(e->offset < 0 ? -e->offset : e->offset), p = e->delay_pos;
    float peak = 0.0f, ss = 0.0f, r[ENGINE_CHUNK];

    for (uint32_t i = 0; i < n; i++)
        sum[i] = 0.0f;
    for (int s = 0; s < e->nstems; s++) {
        const float *x = buf[e->stem_ch[s] + side] + off;
        for (uint32_t i = 0; i < n; i++)
            sum[i] += x[i];
    }
    for (uint32_t i = 0; i < n; i++) {
        float a = sum[i], b = mix[i];
        if (d) { /* the delayed signal goes through the delay line */
            float *x = e->offset > 0 ? &a : &b;
            float y = dl[p];
            dl[p] = *x;
            *x = y;
            p = p + 1 == d ? 0 : p + 1;
        }
        r[i] = a - b;
        float ar = fabsf(r[i]);
        peak = ar > peak ? ar : peak;
        ss += r[i] * r[i];
    }
    if (peak > m->rpeak[side])
        m->rpeak[side] = peak;
    m->rsumsq[side] += ss;
    if (m->rover[side] < 0 && peak > e->null_thr) {
        uint32_t i = 0;
        while (fabsf(r[i]) <= e->null_thr)
            i++;
        m->rover[side] = (int32_t)(off + i);
    }
    if (side == 1)
        e->delay_pos = p;
}

/* Per-period meter figures and the null residual for the control thread.
 * A full meter or lag ring drops the figures, never audio. */
static void
engine_meter(struct engine *e, jack_nframes_t nframes)
{
    const float *buf[ENGINE_MAX_CH];
    struct engine_meter m;
    float sum[2][ENGINE_CHUNK];
    int want_lag = atomic_load_explicit(&e->lag_wanted, memory_order_relaxed);
    size_t lag_bytes = sizeof(struct engine_lag_rec) + 2 * nframes * sizeof(float);

    memset(&m, 0, sizeof m);
    m.cycle = atomic_load_explicit(&e->cycles, memory_order_relaxed);
    m.frame = e->rt_clock;
    m.nframes = nframes;
    m.take = e->rt_cur;
    m.rover[0] = m.rover[1] = -1;
    for (int k = 0; k < e->nreg; k++) {
        int ch = e->reg_ch[k];
        buf[ch] = jack_port_get_buffer(e->port[ch], nframes);
        m.clips[ch] = meter_block(buf[ch], nframes, &m.peak[ch], &m.sumsq[ch]);
    }
    if (want_lag && ring_write_space(&e->lag_ring) < lag_bytes)
        want_lag = 0;
    if (want_lag) {
        struct engine_lag_rec h = {.frame = e->rt_clock, .nframes = nframes};
        ring_put(&e->lag_ring, 0, &h, sizeof h);
    }
    for (uint32_t off = 0; off < nframes; off += ENGINE_CHUNK) {
        uint32_t n = nframes - off < ENGINE_CHUNK ? nframes - off : ENGINE_CHUNK;
        engine_residual(e, &m, buf, 0, off, n, sum[0]);
        engine_residual(e, &m, buf, 1, off, n, sum[1]);
        if (want_lag) {
            float mono[ENGINE_CHUNK];
            size_t at = sizeof(struct engine_lag_rec) + off * sizeof(float);
            for (uint32_t i = 0; i < n; i++)
                mono[i] = sum[0][i] + sum[1][i];
            ring_put(&e->lag_ring, at, mono, n * sizeof(float));
            for (uint32_t i = 0; i < n; i++)
                mono[i] = buf[ENGINE_MIX_L][off + i] + buf[ENGINE_MIX_R][off + i];
            ring_put(&e->lag_ring, at + nframes * sizeof(float), mono, n * sizeof(float));
        }
    }
    if (want_lag)
        ring_publish(&e->lag_ring, lag_bytes);
    if (ring_write_space(&e->meter_ring) >= sizeof m) {
        ring_put(&e->meter_ring, 0, &m, sizeof m);
        ring_publish(&e->meter_ring, sizeof m);
    }
}

static int
engine_process(jack_nframes_t nframes, void *arg)
{
    struct engine *e = arg;
    unsigned req = atomic_load_explicit(&e->req_take, memory_order_acquire);
    jack_nframes_t now = jack_last_frame_time(e->client);

    /* JACK's frame time is 32 bits and wraps within a day at 48 kHz. */
    e->rt_clock = e->rt_clock_valid ? e->rt_clock + (uint32_t)(now - e->rt_last) : now;
    e->rt_last = now;
    e->rt_clock_valid = 1;
    if (req != e->rt_cur) {
        if (e->rt_cur) {
            atomic_store_explicit(&e->tail_dropped, e->rt_pending, memory_order_relaxed);
            atomic_store_explicit(&e->rt_take, 0, memory_order_release);
        }
        e->rt_cur = req;
        if (req) {
            e->rt_pending = 0;
            atomic_store_explicit(&e->take_frames, 0, memory_order_relaxed);
            atomic_store_explicit(&e->take_dropped, 0, memory_order_relaxed);
            e->rt_expected = e->rt_clock;
            atomic_store_explicit(&e->take_start, e->rt_clock, memory_order_relaxed);
            atomic_store_explicit(&e->rt_take, req, memory_order_release);
        }
    }
    if (e->rt_cur)
        engine_push(e, nframes);
    engine_meter(e, nframes);
    atomic_fetch_add_explicit(&e->cycles, 1, memory_order_release);
    return 0;
}

static void
engine_thread_init(void *arg)
{
    (void)arg;
#if defined(__SSE__) || defined(__x86_64__)
    /* Flush-to-zero and denormals-are-zero on the real-time thread. */
    _mm_setcsr(_mm_getcsr() | 0x8040);
#endif
}

static int
engine_xrun(void *arg)
{
    struct engine *e = arg;
    atomic_fetch_add_explicit(&e->xruns, 1, memory_order_relaxed);
    return 0;
}

static void
engine_port_registered(jack_port_id_t id, int registered, void *arg)
{
    (void)id;
    if (registered)
        engine_wake(arg);
}

/* Connections change the residual for a few periods (a stem arrives before
 * the mix, or the other way round): remember when, so no alarm is raised
 * for those transients. */
static void
engine_port_connected(jack_port_id_t a, jack_port_id_t b, int connect, void *arg)
{
    struct engine *e = arg;
    (void)a;
    (void)b;
    (void)connect;
    atomic_store(&e->graph_cycle, atomic_load(&e->cycles));
}

static int
engine_graph_order(void *arg)
{
    struct engine *e = arg;
    atomic_store(&e->graph_cycle, atomic_load(&e->cycles));
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

const char *
engine_port_name(const struct engine *e, int ch)
{
    return e->port[ch] ? jack_port_name(e->port[ch]) : "";
}

void
engine_set_stem_name(struct engine *e, int stem, const char *name)
{
    for (int side = 0; side < 2; side++) {
        jack_port_t *p = e->port[2 * stem + side];
        char pretty[CONF_NAME_MAX + 8];
        if (!p)
            continue;
        snprintf(pretty, sizeof pretty, "%s %c", name, side ? 'R' : 'L');
        if (jack_set_property(e->client, jack_port_uuid(p), JACK_METADATA_PRETTY_NAME, pretty,
                              "text/plain") != 0)
            log_warn("cannot set the pretty-name of %s", jack_port_name(p));
    }
}

static void
engine_connect_one(struct engine *e, const char *src, int ch, int verbose)
{
    const char *dst;
    jack_port_t *sp;

    if (!*src || !e->port[ch])
        return;
    dst = jack_port_name(e->port[ch]);
    sp = jack_port_by_name(e->client, src);
    if (!sp) {
        if (verbose)
            log_warn("cannot connect %s -> %s: no such port (yet); will connect when it appears",
                     src, dst);
        return;
    }
    if (jack_port_connected_to(e->port[ch], src))
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
            engine_connect_one(e, c->stem[s].connect[side], 2 * s + side, verbose);
    for (int side = 0; side < 2; side++)
        engine_connect_one(e, c->mix_connect[side], ENGINE_MIX_L + side, verbose);
}

static int
engine_register(struct engine *e, int ch, const char *short_name, const char *pretty)
{
    e->port[ch] = jack_port_register(e->client, short_name, JACK_DEFAULT_AUDIO_TYPE,
                                     JackPortIsInput | JackPortIsTerminal, 0);
    if (!e->port[ch]) {
        log_error("cannot register JACK port %s:%s", jack_get_client_name(e->client), short_name);
        return -1;
    }
    if (jack_set_property(e->client, jack_port_uuid(e->port[ch]), JACK_METADATA_PRETTY_NAME, pretty,
                          "text/plain") != 0)
        log_warn("cannot set the pretty-name of %s", jack_port_name(e->port[ch]));
    return 0;
}

int
engine_open(struct engine *e, const struct conf *c, int notify_fd)
{
    jack_status_t status;
    jack_options_t opts = JackNoStartServer | JackUseExactName;
    char name[32], pretty[CONF_NAME_MAX + 8];
    size_t max_ch = 0;

    memset(e, 0, sizeof *e);
    e->notify_fd = notify_fd;
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
    for (int s = 0; s < CONF_MAX_STEMS; s++) {
        if (!c->stem[s].registered)
            continue;
        for (int side = 0; side < 2; side++) {
            snprintf(name, sizeof name, "stem%d_%c", s + 1, side ? 'R' : 'L');
            snprintf(pretty, sizeof pretty, "%s %c", c->stem[s].name, side ? 'R' : 'L');
            if (engine_register(e, 2 * s + side, name, pretty) < 0)
                goto fail;
            e->reg_ch[e->nreg++] = 2 * s + side;
            max_ch++;
        }
        e->stem_ch[e->nstems++] = 2 * s;
    }
    if (engine_register(e, ENGINE_MIX_L, "mix_L", "Mix L") < 0 ||
        engine_register(e, ENGINE_MIX_R, "mix_R", "Mix R") < 0)
        goto fail;
    e->reg_ch[e->nreg++] = ENGINE_MIX_L;
    e->reg_ch[e->nreg++] = ENGINE_MIX_R;
    max_ch += 2;

    /* Ring: buffer_seconds of every port at the current rate, plus one
     * record header per period at the smallest period JACK allows. */
    size_t frames = (size_t)(c->buffer_seconds * e->rate);
    size_t bytes = frames * max_ch * sizeof(float) + (frames / 16 + 1) * sizeof(struct engine_rec);
    if (ring_init(&e->ring, bytes) < 0) {
        log_error("cannot allocate a %zu MB capture ring: %s", bytes >> 20, strerror(ENOMEM));
        goto fail;
    }
    /* Meter figures for two seconds at 16-frame periods; lag samples for
     * one second. */
    size_t meter_bytes = (size_t)e->rate / 16 * 2 * sizeof(struct engine_meter);
    size_t lag_bytes = (size_t)e->rate * 2 * sizeof(float) * 2;
    e->null_thr = (float)pow(10.0, c->null_threshold_db / 20.0);
    e->offset = c->mix_offset_frames;
    if (ring_init(&e->meter_ring, meter_bytes) < 0 || ring_init(&e->lag_ring, lag_bytes) < 0 ||
        !(e->delay[0] = calloc(CONF_MAX_OFFSET + 1, sizeof(float))) ||
        !(e->delay[1] = calloc(CONF_MAX_OFFSET + 1, sizeof(float)))) {
        log_error("cannot allocate the meter buffers: %s", strerror(ENOMEM));
        goto fail;
    }
    if (!e->ring.locked)
        log_warn("cannot mlock the %zu MB capture ring (raise RLIMIT_MEMLOCK / LimitMEMLOCK); "
                 "it may be paged out",
                 e->ring.size >> 20);

    if (jack_set_process_callback(e->client, engine_process, e) ||
        jack_set_thread_init_callback(e->client, engine_thread_init, e) ||
        jack_set_xrun_callback(e->client, engine_xrun, e) ||
        jack_set_port_registration_callback(e->client, engine_port_registered, e) ||
        jack_set_port_connect_callback(e->client, engine_port_connected, e) ||
        jack_set_graph_order_callback(e->client, engine_graph_order, e)) {
        log_error("cannot set JACK callbacks");
        goto fail;
    }
    jack_on_info_shutdown(e->client, engine_shutdown, e);
    if (jack_activate(e->client)) {
        log_error("cannot activate JACK client '%s'", jack_get_client_name(e->client));
        goto fail;
    }
    log_info("JACK client '%s' active: %u Hz, %u frames per period, %zu ports, %zu MB ring",
             jack_get_client_name(e->client), e->rate, jack_get_buffer_size(e->client), max_ch,
             e->ring.size >> 20);
    engine_connect(e, c, 1);
    return 0;

fail:
    engine_close(e);
    return -1;
}

void
engine_close(struct engine *e)
{
    if (e->client) {
        for (int ch = 0; ch < ENGINE_MAX_CH; ch++)
            if (e->port[ch] && !atomic_load(&e->server_gone))
                jack_remove_properties(e->client, jack_port_uuid(e->port[ch]));
        if (!atomic_load(&e->server_gone)) {
            jack_deactivate(e->client);
            jack_client_close(e->client);
        }
        e->client = NULL;
    }
    memset(e->port, 0, sizeof e->port);
    ring_free(&e->ring);
    ring_free(&e->meter_ring);
    ring_free(&e->lag_ring);
    free(e->delay[0]);
    free(e->delay[1]);
    e->delay[0] = e->delay[1] = NULL;
}
