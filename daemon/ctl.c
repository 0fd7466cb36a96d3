/* ctl — control state and operations, on the control thread.  It owns the takes' life cycle
 * (prepare, start and end as the real-time thread reports them, withdraw), their manifests and
 * the mastering rules.  A prepared take is withdrawn with the same atomic exchange the real-time
 * thread claims it with, so it is either taken or withdrawn, never both; every wait for the
 * real-time thread is bounded, and a vanished server ends it.
 * Design: docs/DESIGN.md, section "Control: takes' life cycle". */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "manifest.h"
#include "recover.h"

#define CTL_ACK_TIMEOUT_MS 2000

static double
ctl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int ctl_fail(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
ctl_fail(char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, CTL_REASON_MAX, fmt, ap);
    va_end(ap);
    return -1;
}

static int
ctl_server_gone(struct ctl *c)
{
    return !c->engine_up || atomic_load(&c->engine.server_gone);
}

/* Prepares the next take and offers it to the engine, unless one is. */
static int
ctl_prepare(struct ctl *c)
{
    struct engine *e = &c->engine;
    struct take *t = c->cur == &c->slot[0] ? &c->slot[1] : &c->slot[0];

    if (c->next)
        return 0;
    if (ctl_server_gone(c)) {
        log_error("not connected to a JACK server");
        return -1;
    }
    if (!c->monitor_up || atomic_load(&e->srate) != e->rate) {
        log_error("the JACK sample rate changed to %u Hz and stemcapd is not set up for it",
                  atomic_load(&e->srate));
        return -1;
    }
    struct statvfs fs;
    if (fstatvfs(c->rootfd, &fs) == 0) {
        unsigned long long mb = (unsigned long long)fs.f_bavail * fs.f_frsize >> 20;
        if (mb < (unsigned long long)c->conf.min_free_mb) {
            log_error("only %llu MB free in %s (less than [capture] min_free_mb = %d): no take "
                      "started",
                      mb, c->root, c->conf.min_free_mb);
            return -1;
        }
    }
    if (take_open(t, c->rootfd, c->root, &c->conf, e->rate, ++c->next_id) < 0)
        return -1;
    t->align_hold = c->align.on;
    for (uint32_t i = 0; i < t->nch; i++)
        t->latency[i] = engine_latency(e, t->plan_ch[i]);
    if (c->recording) {
        /* The engine reads the plan of the take it records: the next take
         * must have the same one (arming is refused while recording). */
        if (t->nch != e->plan_nch || memcmp(t->plan_ch, e->plan_ch, t->nch * sizeof(int)) != 0) {
            log_error("internal: the next take's channels differ from the recording take's");
            take_discard(t);
            return -1;
        }
    } else {
        e->plan_nch = t->nch;
        memcpy(e->plan_ch, t->plan_ch, sizeof e->plan_ch);
    }
    if (writer_begin(&c->writer, t) < 0) {
        take_discard(t);
        return -1;
    }
    c->next = t;
    atomic_store_explicit(&e->next_take, t->id, memory_order_release);
    return 0;
}

/* Runs the [hooks] command of EV about take T (NULL: none concerned); TEXT is on_error's
 * message. */
static void
ctl_hook(struct ctl *c, enum hooks_event ev, const struct take *t, const char *text)
{
    struct hooks_info in = {.song = c->conf.song.title, .null_frame = -1, .error = text};
    char manifest[PATH_MAX + 16];

    if (t) {
        int live = c->recording && t == c->cur;
        in.take = t->number;
        in.take_dir = t->dir;
        in.song = t->meta.title;
        in.rate = t->rate;
        in.frames = live ? atomic_load(&c->engine.take_frames) : t->frames;
        in.dropped = live ? atomic_load(&c->engine.take_dropped) : t->dropped;
        if (ev != HOOKS_TAKE_START && c->monitor_up) { /* the manifest's null.flagged */
            struct monitor_null n;
            monitor_null(&c->monitor, &n);
            in.null = n.flagged ? "FAIL" : "PASS";
            in.null_worst_db = n.worst_db;
            if (ev == HOOKS_NULL_FAIL)
                in.null_frame = n.first_frame;
        }
        if (ev == HOOKS_TAKE_END) {
            snprintf(manifest, sizeof manifest, "%s/manifest.json", t->dir);
            in.manifest = manifest;
            in.ended_by = t->ended_by;
            in.state = c->last_failed ? "failed" : "complete";
        }
    }
    hooks_run(&c->hooks, ev, &in);
}

/* Following the transport: the next take, prepared in advance; when it cannot be, the operator
 * learns it now (log, on_error), not when the transport starts. */
static void
ctl_prepare_next(struct ctl *c)
{
    char text[CTL_REASON_MAX];

    if (ctl_prepare(c) == 0)
        return;
    snprintf(text, sizeof text, "following the transport, but the next take cannot be prepared: %s",
             log_last_error());
    log_error("following the transport, but the next take cannot be prepared");
    ctl_hook(c, HOOKS_ERROR, NULL, text);
}

static void ctl_engine_events(struct ctl *c);
static void ctl_check_rate(struct ctl *c);
static void ctl_poll_rules(struct ctl *c);
static void ctl_poll_alarm(struct ctl *c);

/* Gives up the prepared take.  Returns 0 when it was given up (or there
 * was none), 1 when the real-time thread claimed it first: it is
 * recording, and its START event waits on the event ring for the control
 * loop (ctl_poll), which also prepares the next take when following.  The
 * few callers that must know at once (start, shutdown, a rate change) take
 * the events themselves; an operation such as a song change does not. */
static int
ctl_withdraw(struct ctl *c)
{
    struct take *t = c->next;

    if (!t)
        return 0;
    unsigned id = atomic_exchange_explicit(&c->engine.next_take, 0, memory_order_acq_rel);
    if (id == t->id) {
        c->next = NULL;
        writer_discard(&c->writer, t);
        take_discard(t);
        /* The song folder too, when nothing else is in it. */
        if (unlinkat(c->rootfd, t->songdir, AT_REMOVEDIR) < 0 && errno != ENOTEMPTY &&
            errno != EEXIST)
            log_debug("song folder '%s' stays: %s", t->songdir, strerror(errno));
        return 0;
    }
    return 1;
}

/* The take that is recording: the current one, or the prepared one the
 * real-time thread claimed and whose START event the loop has not taken
 * yet (ctl_withdraw); NULL when none. */
static const struct take *
ctl_running(const struct ctl *c)
{
    if (c->recording)
        return c->cur;
    if (c->next && atomic_load(&c->engine.next_take) != c->next->id)
        return c->next;
    return NULL;
}

/* After a change that affects the next take (names, song, arms): prepare it
 * again when one was waiting. */
static void
ctl_refresh_next(struct ctl *c)
{
    if (!c->next || ctl_withdraw(c))
        return; /* none, or claimed: the loop prepares the next one */
    if (c->following)
        ctl_prepare_next(c);
}

/* [mastering] lead_in_seconds for the real-time thread, in frames. */
static void
ctl_set_lead_in(struct ctl *c)
{
    double f = c->conf.mastering.lead_in_s * (double)c->engine.rate;
    atomic_store(&c->engine.lead_frames, f > 0.0 && f < 4e9 ? (uint32_t)f : 0u);
}

static void ctl_warn(struct manifest_extra *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ctl_warn(struct manifest_extra *x, const char *fmt, ...)
{
    va_list ap;
    if (x->nwarnings >= MANIFEST_MAX_WARNINGS)
        return;
    va_start(ap, fmt);
    vsnprintf(x->warning[x->nwarnings], sizeof x->warning[0], fmt, ap);
    va_end(ap);
    log_warn("mastering rules: %s", x->warning[x->nwarnings]);
    x->nwarnings++;
}

/* Records a verdict of the [mastering] rules. */
static void
ctl_add_verdict(struct manifest_extra *x, const char *rule, const struct take_file *f,
                float measured, double limit, int pass)
{
    struct manifest_verdict *v;

    if (x->nverdicts >= MANIFEST_MAX_VERDICTS)
        return;
    v = &x->verdict[x->nverdicts++];
    v->rule = rule;
    snprintf(v->file, sizeof v->file, "%s", f ? f->name : "");
    v->measured = measured;
    v->limit = (float)limit;
    v->pass = pass;
}

/* The higher of a file's two true peaks, LOUDNESS_FLOOR when not measured. */
static float
ctl_true_peak(const struct take_file *f)
{
    const float *tp = f->figs.true_peak_dbtp;
    return tp[0] > tp[1] ? tp[0] : tp[1];
}

/* A file at the take's end: its sample peak, its true peak and, for the
 * mix, whether it looks limited. */
static void
ctl_judge_file(struct ctl *c, const struct take *t, const struct take_file *f,
               struct manifest_extra *x)
{
    const struct conf_mastering *r = &c->conf.mastering;
    const char *who = f->stem ? t->stem_name[f->stem - 1] : "the mix";
    struct monitor_level l;

    monitor_level(&c->monitor, f->stem ? 2 * (f->stem - 1) : ENGINE_MIX_L, &l);
    float peak = l.hold_db[0] > l.hold_db[1] ? l.hold_db[0] : l.hold_db[1];
    double max = f->stem ? r->max_peak_db : r->max_mix_peak_db;
    ctl_add_verdict(x, "sample_peak", f, peak, max, peak < max);
    if (peak >= max && max >= 0.0)
        ctl_warn(x,
                 "%s reaches 0 dBFS (peak %.2f dBFS, %u clipped samples): "
                 "peaks must stay below 0 dBFS",
                 who, peak, l.clips[0] + l.clips[1]);
    else if (peak >= max)
        ctl_warn(x, "%s peaks at %.2f dBFS: [mastering] %s asks for below %.1f dBFS", who, peak,
                 f->stem ? "max_peak_dbfs" : "max_mix_peak_dbfs", max);
    float tp = ctl_true_peak(f);
    ctl_add_verdict(x, "true_peak", f, tp, r->max_true_peak_db,
                    !(tp > LOUDNESS_FLOOR) || tp <= r->max_true_peak_db);
    if (tp > LOUDNESS_FLOOR && tp > r->max_true_peak_db)
        ctl_warn(x, "%s has a true peak of %.2f dBTP, above [mastering] max_true_peak_dbtp %.1f",
                 who, tp, r->max_true_peak_db);
    float lufs = f->figs.integrated_lufs;
    if (f->stem || r->limited_plr_db <= 0.0 || !(lufs > LOUDNESS_FLOOR) || !(tp > LOUDNESS_FLOOR))
        return;
    float plr = tp - lufs;
    ctl_add_verdict(x, "plr", f, plr, r->limited_plr_db, plr >= r->limited_plr_db);
    if (plr < r->limited_plr_db)
        ctl_warn(x,
                 "the mix looks limited: peak-to-loudness ratio %.1f dB (true peak %.1f dBTP, "
                 "integrated %.1f LUFS), below [mastering] limited_plr_db %.1f",
                 plr, tp, lufs, r->limited_plr_db);
}

/* The take at its end: the silence it starts with. */
static void
ctl_judge_take(struct ctl *c, const struct take *t, struct manifest_extra *x)
{
    float lead;

    (void)t;
    if (!monitor_lead_in(&c->monitor, &lead))
        return;
    ctl_add_verdict(x, "lead_in", NULL, lead, -90.0, lead < -90.0f);
    if (lead >= -90.0f)
        ctl_warn(x,
                 "the first %s is not silent (peak %.1f dBFS): deliveries start with %s of "
                 "silence",
                 c->conf.mastering.lead_in_s > 0.0 ? "lead-in" : "bar", lead,
                 c->conf.mastering.lead_in_s > 0.0 ? "the lead-in" : "one bar");
}

/* The mastering rules a delivery can break, for the log and the manifest. */
static void
ctl_check_rules(struct ctl *c, struct take *t, struct manifest_extra *x, int final)
{
    int nstems = 0;

    if (t->sample_format == CONF_SAMPLE_PCM16)
        ctl_warn(x, "16-bit files: mastering wants 24-bit integer or 32/64-bit float");
    for (int i = 0; i < t->nfiles; i++)
        nstems += t->file[i].stem != 0;
    if (nstems > 8)
        ctl_warn(x, "%d stems: mastering takes at most 8", nstems);
    if (t->format == CONF_FORMAT_W64)
        ctl_warn(x, "W64 files carry no bext chunk (libsndfile writes none there): use wav "
                    "for files a DAW places by TimeReference");
    if (!final)
        return;
    for (int i = 0; i < t->nfiles; i++)
        ctl_judge_file(c, t, &t->file[i], x);
    ctl_judge_take(c, t, x);
}

/* Sets *ts `seconds` (>= 0) earlier. */
static void
ctl_wall_back(struct timespec *ts, double seconds)
{
    long long ns = (long long)(seconds * 1e9);
    ts->tv_sec -= (time_t)(ns / 1000000000LL);
    ts->tv_nsec -= (long)(ns % 1000000000LL);
    if (ts->tv_nsec < 0) {
        ts->tv_nsec += 1000000000L;
        ts->tv_sec--;
    }
}

/* What the take's alignment came to, for the log and the manifest. */
static void
ctl_check_alignment(struct ctl *c, struct take *t, struct manifest_extra *x)
{
    if (!c->align.on)
        return;
    if (t->align_applied != t->align_offset)
        ctl_warn(x,
                 "the files are shifted by %d samples, the null test by %d: the mix's lag was "
                 "known too late for the files",
                 t->align_applied, t->align_offset);
    if (t->align_lost)
        ctl_warn(x,
                 "the mix had sound before the stems: %llu of its samples before the stems' first "
                 "sound were skipped to align it",
                 (unsigned long long)t->align_lost);
    if (t->align_changed)
        ctl_warn(x,
                 "the mix's lag changed during the take, from %d to %d samples: the take stays "
                 "aligned by %d and its null test fails from there",
                 t->align_offset, t->align_changed_to, t->align_offset);
    if (c->monitor.unverified)
        ctl_warn(x,
                 "%u meter blocks of the null test could not be judged live at the take's "
                 "offset (the lag history did not hold them): stemcap-check judges the files",
                 c->monitor.unverified);
}

static void
ctl_on_start(struct ctl *c, const struct engine_event *ev)
{
    struct engine *e = &c->engine;
    struct take *t = c->next;
    struct manifest_extra x = {.state = "recording"};

    if (!t || t->id != ev->take) {
        log_error("internal: the engine started take id %u, which was not offered", ev->take);
        return;
    }
    c->next = NULL;
    c->cur = t;
    c->recording = 1;
    t->start_frame = ev->frame;
    t->tframe = ev->tframe;
    t->bar_frames = ev->bar_frames;
    /* Wall clock of the first sample: now, less what JACK has played since. */
    clock_gettime(CLOCK_REALTIME, &t->start_wall);
    double ago = (double)(uint32_t)(jack_frame_time(e->client) - (uint32_t)ev->frame) / e->rate;
    if (ago > 0 && ago < 10)
        ctl_wall_back(&t->start_wall, ago);
    c->xrun_base = atomic_load(&e->xruns);
    c->warned_peak = c->warned_tp = 0;
    c->nverdicts = 0;
    c->last_failed = 0;
    atomic_store(&c->writer.write_max_us, 0);
    int waiting = align_take_start(&c->align, t, ev->offset);
    uint32_t lead = atomic_load(&e->lead_frames);
    monitor_take_start(&c->monitor, t->id, ev->frame,
                       lead             ? lead
                       : ev->bar_frames ? ev->bar_frames
                                        : (uint64_t)ENGINE_DEFAULT_BAR_S * e->rate,
                       ev->offset, waiting);
    ctl_check_rules(c, t, &x, 0);
    manifest_write(t, &c->monitor, &x);
    log_info("take %d of '%s' recording: %d files in %s, transport frame %llu", t->number,
             t->meta.title, t->nfiles, t->dir, (unsigned long long)t->tframe);
    c->events |= CTL_EV_STATUS;
    ctl_hook(c, HOOKS_TAKE_START, t, NULL);
    if (c->following)
        ctl_prepare_next(c);
}

/* The take ended (END event, or the server went away: tail unknown);
 * `why` says what ended it (the manifest's ended_by). */
static void
ctl_on_end(struct ctl *c, uint64_t tail, const char *why)
{
    struct take *t = c->cur;
    struct manifest_extra x = {.state = "complete"};

    if (!c->recording || !t)
        return;
    t->ended_by = why;
    monitor_update(&c->monitor, ctl_now()); /* what arrived: the take's alignment may come */
    align_take_poll(&c->align, t,
                    atomic_load(&c->engine.take_start) + atomic_load(&c->engine.take_frames));
    align_take_end(&c->align, t);
    int rc = writer_finish(&c->writer, t, tail);
    c->recording = 0;
    if (t->placed && t->placed_frame + t->preroll != t->start_frame) {
        log_info("take %d starts at frame %llu, %lld frames from where JACK's clock was when its "
                 "first period was read (a late callback: see timeline.c)",
                 t->number, (unsigned long long)t->placed_frame,
                 (long long)(t->placed_frame + t->preroll - t->start_frame));
    }
    if (t->placed) {
        t->start_frame = t->placed_frame;
        t->tframe = t->placed_tframe;
    }
    if (t->preroll) {
        ctl_wall_back(&t->start_wall, (double)t->preroll / t->rate);
        log_info("take %d: its files start with %.3f s (%llu frames) of pre-roll, at frame %llu",
                 t->number, (double)t->preroll / t->rate, (unsigned long long)t->preroll,
                 (unsigned long long)t->start_frame);
    }
    t->xruns = atomic_load(&c->engine.xruns) - c->xrun_base;
    c->last_failed = rc < 0;
    monitor_update(&c->monitor, ctl_now()); /* the take's last periods */
    monitor_take_end(&c->monitor);
    ctl_poll_alarm(c); /* one in its last periods: before on_take_end */
    if (rc < 0)
        x.state = "failed";
    ctl_check_alignment(c, t, &x);
    if (strcmp(why, "sample rate changed") == 0)
        ctl_warn(&x,
                 "the JACK sample rate changed from %u to %u Hz during the take: it ends at "
                 "frame %llu, before the first period at the new rate (every file stays at %u Hz)",
                 t->rate, atomic_load(&c->engine.srate), (unsigned long long)t->frames, t->rate);
    ctl_check_rules(c, t, &x, 1);
    manifest_write(t, &c->monitor, &x);
    c->nverdicts = x.nverdicts;
    memcpy(c->verdict, x.verdict, sizeof x.verdict);
    take_release(t);
    log_info("take %d of '%s' stopped: %llu frames (%.2f s), %llu dropped, %u xruns, %llu late "
             "reads placed back (%u of them held the next cycle: dropped), %llu frames maybe "
             "torn%s",
             t->number, t->meta.title, (unsigned long long)t->frames,
             t->rate ? (double)t->frames / t->rate : 0.0, (unsigned long long)t->dropped, t->xruns,
             (unsigned long long)t->late_reads, t->repeats, (unsigned long long)t->torn_frames,
             rc < 0 ? ", WITH ERRORS (see above)" : "");
    c->events |= CTL_EV_STATUS;
    ctl_hook(c, HOOKS_TAKE_END, t, NULL);
    if (rc < 0 && !t->fault[0]) { /* a fault that stopped it went to on_error already */
        char text[CTL_REASON_MAX];
        snprintf(text, sizeof text, "take %d ended with errors writing its files (see the log)",
                 t->number);
        ctl_hook(c, HOOKS_ERROR, t, text);
    }
}

static const char *
ctl_end_reason(struct ctl *c, uint32_t reason)
{
    switch (reason) {
    case ENGINE_END_TRANSPORT:
        return "transport stopped";
    case ENGINE_END_RELOCATE:
        return "transport relocated";
    case ENGINE_END_RATE:
        return "sample rate changed";
    default:
        return c->stop_why ? c->stop_why : "stop";
    }
}

/* Processes the engine's take events. */
static void
ctl_engine_events(struct ctl *c)
{
    struct engine_event ev;
    struct ring *r = &c->engine.event_ring;

    while (ring_read_space(r) >= sizeof ev) {
        ring_peek(r, 0, &ev, sizeof ev);
        ring_consume(r, sizeof ev);
        if (ev.type == ENGINE_EV_END && c->cur && c->cur->id == ev.take) {
            c->cur->late_reads = ev.late_reads;
            c->cur->repeats = ev.repeats;
            ctl_on_end(c, ev.tail_dropped, ctl_end_reason(c, ev.reason));
        } else if (ev.type == ENGINE_EV_START)
            ctl_on_start(c, &ev);
    }
}

/* Waits until `done(c)` holds, taking the engine's events; bounded.  Only
 * start and stop wait so: their reply carries what the real-time thread
 * did (the take started, or ended with its last period). */
static int
ctl_wait(struct ctl *c, int (*done)(struct ctl *c))
{
    struct timespec nap = {0, 500000};

    for (int waited = 0; waited < CTL_ACK_TIMEOUT_MS * 2; waited++) {
        ctl_engine_events(c);
        if (done(c))
            return 0;
        if (ctl_server_gone(c))
            return -1;
        nanosleep(&nap, NULL);
    }
    return -1;
}

static int
ctl_is_recording(struct ctl *c)
{
    return c->recording;
}

static int
ctl_is_stopped(struct ctl *c)
{
    return !c->recording;
}

int
ctl_tick_ms(const struct ctl *c)
{
    return c->following ? CTL_TICK_FOLLOW_MS : CTL_TICK_MS;
}

int
ctl_init(struct ctl *c, const struct conf *conf, int notify_fd)
{
    memset(c, 0, sizeof *c);
    c->conf = *conf;
    c->notify_fd = notify_fd;
    hooks_init(&c->hooks, &conf->hooks);
    c->rootfd = -1;
    c->slot[0].dirfd = c->slot[0].songfd = c->slot[1].dirfd = c->slot[1].songfd = -1;
    if (take_check_format(conf) < 0)
        return -1;
    c->rootfd = take_open_root(conf->capture_dir, c->root);
    if (c->rootfd < 0)
        return -1;
    if (recover_takes(c->rootfd, c->root) < 0)
        goto fail;
    if (engine_open(&c->engine, conf, notify_fd) < 0)
        goto fail;
    c->engine_up = 1;
    ctl_set_lead_in(c);
    if (monitor_init(&c->monitor, &c->engine, conf) < 0)
        goto fail;
    c->monitor_up = 1;
    align_init(&c->align, conf, &c->engine, &c->monitor, &c->writer);
    if (writer_start(&c->writer, &c->engine.ring, &c->engine.freewheeling, &c->engine.hist) < 0)
        goto fail;
    log_info("capturing to %s as %s %s", c->root, conf_format_name(conf->format),
             conf_sample_name(conf->sample_format));
    if (conf->follow_transport) {
        char why[CTL_REASON_MAX];
        if (ctl_follow(c, 1, why) < 0)
            log_error("cannot follow the transport: %s", why);
    }
    return 0;
fail:
    if (c->monitor_up)
        monitor_free(&c->monitor);
    c->monitor_up = 0;
    if (c->engine_up)
        engine_close(&c->engine);
    c->engine_up = 0;
    close(c->rootfd);
    c->rootfd = -1;
    return -1;
}

void
ctl_shutdown(struct ctl *c)
{
    char why[CTL_REASON_MAX];

    atomic_store(&c->engine.follow, 0);
    c->following = 0;
    c->stop_why = "shutdown";
    if (c->recording && ctl_stop(c, why) < 0)
        log_error("%s", why);
    if (ctl_withdraw(c))
        ctl_engine_events(c); /* claimed at the last moment */
    c->stop_why = "shutdown";
    if (c->recording) /* claimed at the last moment */
        ctl_stop(c, why);
    writer_stop(&c->writer);
    if (c->monitor_up)
        monitor_free(&c->monitor);
    c->monitor_up = 0;
    if (c->engine_up)
        engine_close(&c->engine);
    c->engine_up = 0;
    if (c->rootfd >= 0)
        close(c->rootfd);
    c->rootfd = -1;
    hooks_shutdown(&c->hooks); /* on_take_end of the last take too */
}

int
ctl_start(struct ctl *c, char *why)
{
    struct engine *e = &c->engine;

    if (ctl_running(c))
        return ctl_fail(why, "already recording take %d", ctl_running(c)->number);
    if (c->following)
        return ctl_fail(why, "following the JACK transport: start the transport, or turn "
                             "/stemcap/transport/follow off");
    if (ctl_server_gone(c))
        return ctl_fail(why, "not connected to a JACK server");
    ctl_check_rate(c);
    if (ctl_prepare(c) < 0) {
        ctl_fail(why, "%s", log_last_error());
        ctl_hook(c, HOOKS_ERROR, NULL, why);
        return -1;
    }
    atomic_store_explicit(&e->start_req, 1, memory_order_release);
    if (ctl_wait(c, ctl_is_recording) < 0) {
        atomic_store(&e->start_req, 0);
        if (ctl_withdraw(c))
            ctl_engine_events(c); /* it started after all */
        if (!c->recording) {
            log_error("JACK did not run a cycle within %d ms; no take started", CTL_ACK_TIMEOUT_MS);
            ctl_fail(why, "JACK did not run a cycle within %d ms; no take started",
                     CTL_ACK_TIMEOUT_MS);
            ctl_hook(c, HOOKS_ERROR, NULL, why);
            return -1;
        }
    }
    return 0;
}

int
ctl_stop(struct ctl *c, char *why)
{
    struct engine *e = &c->engine;

    if (!c->recording && ctl_running(c))
        ctl_engine_events(c); /* claimed, START not taken yet: stop waits for the engine anyway */
    if (!c->recording && c->cur && c->cur->fault[0])
        return ctl_fail(why, "not recording: take %d failed: %s", c->cur->number, c->cur->fault);
    if (!c->recording)
        return ctl_fail(why, "not recording");
    if (c->following && !ctl_server_gone(c))
        return ctl_fail(why, "following the JACK transport: stop the transport, or turn "
                             "/stemcap/transport/follow off");
    atomic_store_explicit(&e->stop_req, 1, memory_order_release);
    if (ctl_wait(c, ctl_is_stopped) < 0) {
        log_warn("take %d: JACK stopped before the take's last period; finishing with what "
                 "was captured",
                 c->cur->number);
        ctl_on_end(c, 0, "JACK stopped");
    }
    c->stop_why = NULL;
    if (c->last_failed)
        return ctl_fail(why, "take %d ended with a write error: %s", c->cur->number,
                        log_last_error());
    return 0;
}

int
ctl_follow(struct ctl *c, int on, char *why)
{
    if (on == c->following)
        return 0;
    if (ctl_running(c))
        return ctl_fail(why,
                        "cannot change transport following while recording take %d: stop "
                        "it first",
                        ctl_running(c)->number);
    if (on) {
        c->following = 1;
        atomic_store(&c->engine.follow, 1);
        if (!c->recording && ctl_prepare(c) < 0) {
            c->following = 0;
            atomic_store(&c->engine.follow, 0);
            return ctl_fail(why, "%s", log_last_error());
        }
        log_info("following the JACK transport: takes start and stop with it");
    } else {
        c->following = 0;
        atomic_store(&c->engine.follow, 0);
        int claimed = ctl_withdraw(c);
        log_info("no longer following the JACK transport%s",
                 c->recording || claimed ? " (the take in progress goes on until /stemcap/stop)"
                                         : "");
    }
    c->events |= CTL_EV_STATUS;
    return 0;
}

static int
ctl_check_stem(struct ctl *c, int stem, char *why)
{
    if (stem < 1 || stem > CONF_MAX_STEMS)
        return ctl_fail(why, "stem %d is out of range (1..%d)", stem, CONF_MAX_STEMS);
    if (!c->conf.stem[stem - 1].registered)
        return ctl_fail(why, "stem %d is not registered", stem);
    return 0;
}

int
ctl_arm(struct ctl *c, int stem, int armed, char *why)
{
    if (ctl_check_stem(c, stem, why) < 0)
        return -1;
    if (c->conf.stem[stem - 1].armed == armed)
        return 0;
    if (c->recording)
        return ctl_fail(why, "cannot %s stem %d while recording take %d", armed ? "arm" : "disarm",
                        stem, c->cur->number);
    log_info("stem %d (%s) %s", stem, c->conf.stem[stem - 1].name, armed ? "armed" : "disarmed");
    c->conf.stem[stem - 1].armed = armed;
    c->events |= CTL_EV_ARM;
    c->arm_changed |= 1u << (stem - 1);
    ctl_refresh_next(c);
    return 0;
}

int
ctl_get_arm(struct ctl *c, int stem, int *armed, char *why)
{
    if (ctl_check_stem(c, stem, why) < 0)
        return -1;
    *armed = c->conf.stem[stem - 1].armed;
    return 0;
}

int
ctl_set_stem_name(struct ctl *c, int stem, const char *name, char *why)
{
    char reason[256];

    if (ctl_check_stem(c, stem, why) < 0)
        return -1;
    if (conf_stem_name_check(&c->conf, stem, name, reason) < 0)
        return ctl_fail(why, "%s", reason);
    if (strcmp(c->conf.stem[stem - 1].name, name) == 0)
        return 0;
    snprintf(c->conf.stem[stem - 1].name, sizeof c->conf.stem[0].name, "%s", name);
    engine_set_stem_name(&c->engine, stem - 1, name);
    log_info("stem %d is now '%s'%s", stem, name, c->recording ? " (from the next take on)" : "");
    c->events |= CTL_EV_NAME;
    c->name_changed |= 1u << (stem - 1);
    ctl_refresh_next(c);
    return 0;
}

int
ctl_set_song(struct ctl *c, const char *key, const char *value, char *why)
{
    char reason[256];
    int bit = -1;

    if ((bit = proto_song_key(key)) < 0)
        return ctl_fail(why,
                        "unknown song key '%s' (title, artist, album, track, isrc, upc, "
                        "label)",
                        key);
    if (conf_song_set(&c->conf.song, key, value, reason) < 0)
        return ctl_fail(why, "song %s: %s", key, reason);
    log_info("song %s for the next take: '%s'%s", key, value,
             c->recording ? " (the take in progress keeps its own)" : "");
    c->events |= CTL_EV_SONG;
    c->song_changed |= 1u << bit;
    ctl_refresh_next(c);
    return 0;
}

/* Appends "[section] key" to a list of settings that need a restart. */
static void
ctl_needs_restart(char *list, size_t size, int differs, const char *what)
{
    if (!differs)
        return;
    size_t n = strlen(list);
    snprintf(list + n, size - n, "%s%s", n ? ", " : "", what);
}

int
ctl_reload(struct ctl *c, const struct conf *n)
{
    struct conf *o = &c->conf;
    char restart[512] = "", why[CTL_REASON_MAX];
    int reg_differs = 0;

    for (int s = 0; s < CONF_MAX_STEMS; s++)
        reg_differs |= o->stem[s].registered != n->stem[s].registered;
    conf_restart_keys(o, n, restart, sizeof restart);
    ctl_needs_restart(restart, sizeof restart, reg_differs, "the set of [stemN] sections");

    /* Applied now: song metadata, names, arm states, connections, the
     * free-space floor, following the transport. */
    for (int k = 0; k < PROTO_SONG_KEYS; k++) {
        const char *v = conf_song_get(&n->song, proto_song_keys[k]);
        if (strcmp(v, conf_song_get(&o->song, proto_song_keys[k])) != 0 &&
            ctl_set_song(c, proto_song_keys[k], v, why) < 0)
            log_error("reload: %s", why);
    }
    for (int s = 0; s < CONF_MAX_STEMS; s++) {
        if (!o->stem[s].registered || !n->stem[s].registered)
            continue;
        if (strcmp(o->stem[s].name, n->stem[s].name) != 0) {
            /* Two stems may swap names: clear the old one's first. */
            snprintf(o->stem[s].name, sizeof o->stem[s].name, "\x01reload%d", s);
        }
    }
    for (int s = 0; s < CONF_MAX_STEMS; s++) {
        if (!o->stem[s].registered || !n->stem[s].registered)
            continue;
        if (strcmp(o->stem[s].name, n->stem[s].name) != 0) {
            snprintf(o->stem[s].name, sizeof o->stem[s].name, "%s", n->stem[s].name);
            engine_set_stem_name(&c->engine, s, n->stem[s].name);
            c->events |= CTL_EV_NAME;
            c->name_changed |= 1u << s;
        }
        if (o->stem[s].armed != n->stem[s].armed && ctl_arm(c, s + 1, n->stem[s].armed, why) < 0)
            log_warn("reload: %s; it applies at the next reload after the take", why);
        memcpy(o->stem[s].connect, n->stem[s].connect, sizeof o->stem[s].connect);
    }
    memcpy(o->mix_connect, n->mix_connect, sizeof o->mix_connect);
    o->min_free_mb = n->min_free_mb;
    o->mastering = n->mastering;
    o->hooks = n->hooks;
    hooks_configure(&c->hooks, &o->hooks);
    ctl_set_lead_in(c);
    if (c->engine_up)
        engine_connect(&c->engine, o, 1);
    if (n->follow_transport != c->following && ctl_follow(c, n->follow_transport, why) < 0)
        log_error("reload: %s", why);
    o->follow_transport = n->follow_transport;
    ctl_refresh_next(c);
    if (restart[0])
        log_warn("reload: changed settings that need a restart of stemcapd (not applied): %s",
                 restart);
    log_info("configuration reloaded%s", c->recording ? "; the take in progress goes on" : "");
    return 0;
}

void
ctl_status(struct ctl *c, struct ctl_status *s)
{
    struct engine *e = &c->engine;
    struct take *t = c->cur;

    memset(s, 0, sizeof *s);
    s->state = !c->engine_up             ? "offline"
               : c->recording            ? "recording"
               : c->following && c->next ? "waiting"
                                         : "idle";
    s->take = t ? t->number : 0;
    s->song = t ? t->meta.title : c->conf.song.title;
    s->take_dir = t ? t->dir : "";
    s->rate = e->rate;
    s->mix_offset = t ? t->align_offset : c->align.offset;
    s->alignment = t && t->align_source ? t->align_source : align_idle_state(&c->align);
    s->fault = t ? t->fault : "";
    if (c->recording) {
        s->frames = atomic_load(&e->take_frames);
        s->dropped = atomic_load(&e->take_dropped);
        s->xruns = atomic_load(&e->xruns) - c->xrun_base;
    } else if (t) {
        s->frames = t->frames;
        s->dropped = t->dropped;
        s->xruns = t->xruns;
    }
}

/* The server is gone and nothing of it is in use any more: release the
 * client (without closing it: jack_client_close on a dead server can
 * hang) and schedule the first reconnection. */
static void
ctl_engine_down(struct ctl *c)
{
    writer_set_ring(&c->writer, NULL);
    monitor_free(&c->monitor);
    c->monitor_up = 0;
    engine_close(&c->engine);
    c->engine_up = 0;
    c->reconnect_wait = 1.0;
    c->reconnect_at = ctl_now() + c->reconnect_wait;
    c->events |= CTL_EV_STATUS;
    log_warn("JACK server gone: stemcapd keeps running and retries every few seconds");
}

/* Tries the server again; on success everything is as after start-up:
 * ports, configured connections, meters, and (following) a prepared take. */
static void
ctl_engine_retry(struct ctl *c)
{
    if (ctl_now() < c->reconnect_at)
        return;
    if (engine_open(&c->engine, &c->conf, c->notify_fd) < 0) {
        c->reconnect_wait = c->reconnect_wait * 2 > 10.0 ? 10.0 : c->reconnect_wait * 2;
        c->reconnect_at = ctl_now() + c->reconnect_wait;
        return;
    }
    c->engine_up = 1;
    ctl_set_lead_in(c);
    if (monitor_init(&c->monitor, &c->engine, &c->conf) == 0)
        c->monitor_up = 1;
    align_init(&c->align, &c->conf, &c->engine, &c->monitor, &c->writer);
    writer_set_ring(&c->writer, &c->engine.ring);
    log_info("JACK server back: ports registered again, connections restored");
    if (c->following)
        ctl_prepare_next(c);
    c->events |= CTL_EV_STATUS;
}

/* The server's sample rate changed (PipeWire does that under running
 * clients).  The real-time thread has ended a take in progress before its
 * first period at the new rate, and starts none while the rates differ;
 * once no take records, everything that depends on the rate is set up
 * again (the prepared take, the capture ring, the meters), so no file is
 * ever written with a rate in its header that its audio does not have. */
static void
ctl_check_rate(struct ctl *c)
{
    struct engine *e = &c->engine;
    uint32_t sr = atomic_load(&e->srate), old = e->rate;

    if (sr == 0 || sr == old || c->recording)
        return;
    if (ctl_withdraw(c)) /* prepared at the old rate (the engine cannot claim it) */
        ctl_engine_events(c);
    if (c->recording || c->next)
        return; /* cannot happen: the engine starts nothing while the rates differ */
    writer_set_ring(&c->writer, NULL);
    if (c->monitor_up)
        monitor_free(&c->monitor);
    c->monitor_up = 0;
    if (engine_set_rate(e, &c->conf, sr) < 0) {
        log_error("the JACK sample rate changed from %u to %u Hz, and no capture ring could be "
                  "allocated: nothing can be recorded",
                  old, sr);
        return;
    }
    writer_set_ring(&c->writer, &e->ring);
    ctl_set_lead_in(c);
    if (monitor_init(&c->monitor, e, &c->conf) == 0)
        c->monitor_up = 1;
    /* A lag in frames belongs to its rate: measured again at the new one. */
    engine_set_offset(e, c->conf.mix_offset_frames);
    align_init(&c->align, &c->conf, e, &c->monitor, &c->writer);
    log_warn("the JACK sample rate changed from %u to %u Hz: takes from now on are recorded at "
             "%u Hz",
             old, sr, sr);
    c->events |= CTL_EV_STATUS;
    if (c->following)
        ctl_prepare_next(c);
}

/* Whether the recording take's files can no longer be reached: its folder
 * removed (rm -r: the folder's link count drops to 0), replaced, or gone
 * from its path (a disk unmounted lazily under it), or one of its files
 * unlinked.  The writer would go on writing into files nobody can see.
 * Fills `why` and returns 1, else 0.  A few fstat calls: every tick. */
static int
ctl_take_gone(const struct take *t, char *why, size_t n)
{
    struct stat d, p;
    char name[NAMING_COMPONENT_MAX + 48], sub[32]; /* "<Song>/take-NN": the full path is logged */

    naming_take_folder(sub, sizeof sub, t->number);
    snprintf(name, sizeof name, "%s/%s", t->songdir, sub);
    if (fstat(t->dirfd, &d) < 0) {
        snprintf(why, n, "its folder %s cannot be checked: %s", name, strerror(errno));
        return 1;
    }
    if (d.st_nlink == 0) {
        snprintf(why, n, "its folder %s was removed while recording", name);
        return 1;
    }
    if (stat(t->dir, &p) < 0) {
        snprintf(why, n, "its folder %s is gone from its path (%s): was the disk unmounted?", name,
                 strerror(errno));
        return 1;
    }
    if (p.st_dev != d.st_dev || p.st_ino != d.st_ino) {
        snprintf(why, n, "its folder %s was replaced by another one while recording", name);
        return 1;
    }
    /* A split take's files change under the writer at each seam: its
     * folder is what is checked. */
    for (int i = 0; !t->split_frames && i < t->nfiles; i++) {
        struct stat f;
        if (t->file[i].sf && fstat(t->file[i].fd, &f) == 0 && f.st_nlink == 0) {
            snprintf(why, n, "its file %s was removed while recording", t->file[i].name);
            return 1;
        }
    }
    return 0;
}

/* The null alarm of the take, once: logged, pushed, on_null_fail. */
static void
ctl_poll_alarm(struct ctl *c)
{
    if (monitor_take_alarm(&c->monitor, &c->alarm_db, &c->alarm_frame)) {
        log_warn("take %d: NULL FAILED: the stems do not sum to the mix: residual %.1f dBFS "
                 "(threshold %.1f) at frame %lld",
                 c->cur ? c->cur->number : 0, c->alarm_db, c->conf.null_threshold_db,
                 (long long)c->alarm_frame);
        c->events |= CTL_EV_ALARM;
        if (c->cur)
            ctl_hook(c, HOOKS_NULL_FAIL, c->cur, NULL);
    }
}

/* The meters, the mix's alignment and the null alarm of the take. */
static void
ctl_poll_meters(struct ctl *c)
{
    monitor_set_period(&c->monitor, atomic_load(&c->engine.period));
    monitor_update(&c->monitor, ctl_now());
    if (c->recording && c->cur) {
        struct take *t = c->cur;
        int changed = t->align_changed;
        align_take_poll(&c->align, t,
                        atomic_load(&c->engine.take_start) + atomic_load(&c->engine.take_frames));
        if (t->align_changed && !changed) {
            snprintf(c->error_text, sizeof c->error_text,
                     "take %d: the mix's lag changed during the take, from %d to %d "
                     "samples; the take stays aligned by %d and its null test fails",
                     t->number, t->align_offset, t->align_changed_to, t->align_offset);
            c->events |= CTL_EV_ERROR;
        }
        ctl_poll_rules(c);
    } else
        align_idle(&c->align);
    ctl_poll_alarm(c);
}

/* A [mastering] rule a file breaks while it records: logged, and pushed. */
static void ctl_live_warn(struct ctl *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ctl_live_warn(struct ctl *c, const char *fmt, ...)
{
    char text[CTL_REASON_MAX - 32];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    log_warn("take %d: %s", c->cur->number, text);
    if (c->nwarnings < (int)(sizeof c->warning / sizeof c->warning[0])) {
        snprintf(c->warning[c->nwarnings++], sizeof c->warning[0], "take %d: %s", c->cur->number,
                 text);
        c->events |= CTL_EV_WARNING;
    }
}

/* The [mastering] peak limits while the take records: each file's sample
 * peak since the start, and its true peak so far. */
static void
ctl_poll_rules(struct ctl *c)
{
    const struct conf_mastering *r = &c->conf.mastering;
    struct take *t = c->cur;

    for (int i = 0; i < t->nfiles && i < 32; i++) {
        const struct take_file *f = &t->file[i];
        const char *who = f->stem ? t->stem_name[f->stem - 1] : "the mix";
        struct monitor_level l;
        struct loudness_figs g;
        monitor_level(&c->monitor, f->stem ? 2 * (f->stem - 1) : ENGINE_MIX_L, &l);
        float peak = l.hold_db[0] > l.hold_db[1] ? l.hold_db[0] : l.hold_db[1];
        double max = f->stem ? r->max_peak_db : r->max_mix_peak_db;
        if (peak >= max && !(c->warned_peak & (1u << i))) {
            c->warned_peak |= 1u << i;
            ctl_live_warn(c, "%s peaks at %.1f dBFS, not below [mastering] %s %.1f", who, peak,
                          f->stem ? "max_peak_dbfs" : "max_mix_peak_dbfs", max);
        }
        loudness_get(&f->loud, &g);
        float tp =
            g.true_peak_dbtp[0] > g.true_peak_dbtp[1] ? g.true_peak_dbtp[0] : g.true_peak_dbtp[1];
        if (tp > LOUDNESS_FLOOR && tp > r->max_true_peak_db && !(c->warned_tp & (1u << i))) {
            c->warned_tp |= 1u << i;
            ctl_live_warn(c,
                          "%s has a true peak of %.1f dBTP, above [mastering] "
                          "max_true_peak_dbtp %.1f",
                          who, tp, r->max_true_peak_db);
        }
    }
}

/* The JACK server went away: finish the take, give up the prepared one. */
static void
ctl_poll_server_gone(struct ctl *c)
{
    char text[CTL_REASON_MAX];

    if (c->recording) {
        log_error("JACK server went away during take %d; finishing the take", c->cur->number);
        snprintf(text, sizeof text, "the JACK server went away during take %d", c->cur->number);
        ctl_hook(c, HOOKS_ERROR, c->cur, text);
        ctl_on_end(c, 0, "JACK server gone");
    } else
        ctl_hook(c, HOOKS_ERROR, NULL, "the JACK server went away");
    if (c->next) {
        /* Nobody can claim it any more. */
        atomic_store(&c->engine.next_take, 0);
        writer_discard(&c->writer, c->next);
        take_discard(c->next);
        c->next = NULL;
    }
    ctl_engine_down(c);
}

/* Stops the take after a fault (its folder gone, a write error): FAULT
 * goes into the take, TEXT to the front ends, STOP_WHY to the manifest;
 * AFTER ends the log line when transport following is given up. */
static void
ctl_fail_take(struct ctl *c, const char *fault, const char *text, const char *stop_why,
              const char *after)
{
    char why[CTL_REASON_MAX];
    struct take *t = c->cur;

    snprintf(t->fault, sizeof t->fault, "%s", fault);
    snprintf(c->error_text, sizeof c->error_text, "take %d %s", t->number, text);
    c->events |= CTL_EV_ERROR;
    ctl_hook(c, HOOKS_ERROR, t, c->error_text);
    if (c->following) {
        log_error("no longer following the transport after %s", after);
        ctl_follow(c, 0, why);
    }
    c->stop_why = stop_why;
    ctl_stop(c, why);
}

/* A take whose folder or files vanished, or that hit a write error. */
static void
ctl_poll_take_faults(struct ctl *c)
{
    char gone[400], text[CTL_REASON_MAX], after[32];

    if (c->recording && !atomic_load(&c->writer.failed) &&
        ctl_take_gone(c->cur, gone, sizeof gone)) {
        log_error("take %d failed: %s; stopping it", c->cur->number, gone);
        snprintf(text, sizeof text, "failed: %s", gone);
        snprintf(after, sizeof after, "take %d failed", c->cur->number);
        ctl_fail_take(c, gone, text, "folder removed", after);
    }
    if (c->recording && atomic_load(&c->writer.failed)) {
        char fault[CTL_REASON_MAX];
        const char *msg = writer_fail_msg(&c->writer);
        snprintf(fault, sizeof fault, "write error: %s", msg);
        snprintf(text, sizeof text, "stopped by a write error: %s", msg);
        log_error("stopping take %d after a write error", c->cur->number);
        ctl_fail_take(c, fault, text, "write error", "the write error");
    }
}

/* Connections for ports that appeared, and latencies that changed. */
static void
ctl_poll_graph(struct ctl *c)
{
    /* Configured connections are restored when ports appear (a DAW started
     * or restarted), not when someone disconnects one on purpose. */
    if (atomic_exchange(&c->engine.ports_appeared, 0))
        engine_connect(&c->engine, &c->conf, 0);
    /* Latencies follow the graph; a changed compensation is a transient. */
    double now = ctl_now();
    if (atomic_exchange(&c->engine.latency_changed, 0) || now - c->latency_checked >= 1.0) {
        c->latency_checked = now;
        if (engine_update_latency(&c->engine))
            atomic_store(&c->engine.graph_cycle, atomic_load(&c->engine.cycles));
        /* A prepared take must start with the latencies of now. */
        int stale = 0;
        for (uint32_t i = 0; c->next && i < c->next->nch; i++)
            stale |= c->next->latency[i] != engine_latency(&c->engine, c->next->plan_ch[i]);
        if (stale)
            ctl_refresh_next(c);
    }
}

void
ctl_poll(struct ctl *c)
{
    hooks_poll(&c->hooks);
    if (!c->engine_up) {
        ctl_engine_retry(c);
        return;
    }
    ctl_engine_events(c);
    ctl_check_rate(c);
    if (c->monitor_up) /* down only when no ring could be had at a new rate (logged) */
        ctl_poll_meters(c);
    if (atomic_load(&c->engine.server_gone)) {
        ctl_poll_server_gone(c);
        return;
    }
    ctl_poll_take_faults(c);
    ctl_poll_graph(c);
}
