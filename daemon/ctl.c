/* ctl — control state and operations.
 *
 * Everything here runs on the control thread.  A take's life:
 *   start: take_open() creates the folder and files, the channel plan is
 *          handed to the engine and the take to the writer, then req_take is
 *          published; the real-time thread starts the take at the top of its
 *          next cycle and acknowledges through rt_take.
 *   stop:  req_take = 0; after the acknowledgement every period of the take
 *          is in the ring, so writer_finish() drains it, pads dropped frames,
 *          and closes the files.
 * Waiting for an acknowledgement takes one JACK period; it is bounded, and a
 * vanished server ends the wait at once. */
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

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

/* Waits until the real-time thread reports rt_take == want.  Returns 0, or
 * -1 on time-out or when the server went away. */
static int
ctl_wait_ack(struct ctl *c, unsigned want)
{
    struct timespec nap = {0, 500000};

    for (int waited = 0; waited < CTL_ACK_TIMEOUT_MS * 2; waited++) {
        if (atomic_load_explicit(&c->engine.rt_take, memory_order_acquire) == want)
            return 0;
        if (atomic_load(&c->engine.server_gone))
            return -1;
        nanosleep(&nap, NULL);
    }
    return -1;
}

int
ctl_init(struct ctl *c, const struct conf *conf, int notify_fd)
{
    memset(c, 0, sizeof *c);
    c->conf = *conf;
    c->notify_fd = notify_fd;
    c->rootfd = -1;
    c->take.dirfd = -1;
    if (take_check_format(conf) < 0)
        return -1;
    c->rootfd = take_open_root(conf->capture_dir, c->root);
    if (c->rootfd < 0)
        return -1;
    if (engine_open(&c->engine, conf, notify_fd) < 0)
        goto fail;
    c->engine_up = 1;
    if (monitor_init(&c->monitor, &c->engine, conf) < 0)
        goto fail;
    c->monitor_up = 1;
    if (writer_start(&c->writer, &c->engine.ring) < 0)
        goto fail;
    log_info("capturing to %s as %s %s", c->root, conf_format_name(conf->format),
             conf_sample_name(conf->sample_format));
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

    if (c->recording)
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
}

int
ctl_start(struct ctl *c, char *why)
{
    struct engine *e = &c->engine;

    if (c->recording)
        return ctl_fail(why, "already recording take %d", c->take.number);
    if (!c->engine_up || atomic_load(&e->server_gone))
        return ctl_fail(why, "not connected to a JACK server");
    if (take_open(&c->take, c->rootfd, c->root, &c->conf, e->rate, ++c->next_id) < 0)
        return ctl_fail(why, "%s", log_last_error());
    c->have_take = 1;
    e->plan_nch = c->take.nch;
    memcpy(e->plan_ch, c->take.plan_ch, sizeof e->plan_ch);
    writer_begin(&c->writer, &c->take);
    c->xrun_base = atomic_load(&e->xruns);
    atomic_store_explicit(&e->req_take, c->take.id, memory_order_release);
    c->recording = 1;
    if (ctl_wait_ack(c, c->take.id) < 0) {
        log_error("JACK did not run a cycle within %d ms; take %d abandoned", CTL_ACK_TIMEOUT_MS,
                  c->take.number);
        ctl_stop(c, why);
        return ctl_fail(why, "JACK did not run a cycle within %d ms", CTL_ACK_TIMEOUT_MS);
    }
    monitor_take_start(&c->monitor, c->take.id, atomic_load(&e->take_start));
    c->events |= CTL_EV_STATUS;
    log_info("take %d of '%s' recording: %d files in %s, first frame %llu", c->take.number,
             c->take.song, c->take.nfiles, c->take.dir,
             (unsigned long long)atomic_load(&e->take_start));
    return 0;
}

int
ctl_stop(struct ctl *c, char *why)
{
    struct engine *e = &c->engine;
    struct writer_result res;
    uint64_t tail = 0;

    if (!c->recording)
        return ctl_fail(why, "not recording");
    atomic_store_explicit(&e->req_take, 0, memory_order_release);
    if (ctl_wait_ack(c, 0) == 0)
        tail = atomic_load(&e->tail_dropped);
    else
        log_warn("take %d: JACK stopped before the take's last period; finishing with what "
                 "was captured",
                 c->take.number);
    int rc = writer_finish(&c->writer, tail, &res);
    c->recording = 0;
    c->events |= CTL_EV_STATUS;
    monitor_update(&c->monitor, ctl_now()); /* the take's last periods */
    monitor_take_end(&c->monitor);
    c->last_frames = res.frames;
    c->last_dropped = res.dropped;
    c->last_xruns = atomic_load(&e->xruns) - c->xrun_base;
    c->last_failed = res.error;
    log_info("take %d of '%s' stopped: %llu frames (%.2f s), %llu dropped, %u xruns%s",
             c->take.number, c->take.song, (unsigned long long)res.frames,
             e->rate ? (double)res.frames / e->rate : 0.0, (unsigned long long)res.dropped,
             c->last_xruns, rc < 0 ? ", WITH ERRORS (see above)" : "");
    if (rc < 0)
        return ctl_fail(why, "take %d ended with a write error: %s", c->take.number,
                        log_last_error());
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
    if (c->recording && c->conf.stem[stem - 1].armed != armed)
        return ctl_fail(why, "cannot %s stem %d while recording take %d", armed ? "arm" : "disarm",
                        stem, c->take.number);
    if (c->conf.stem[stem - 1].armed != armed) {
        log_info("stem %d (%s) %s", stem, c->conf.stem[stem - 1].name,
                 armed ? "armed" : "disarmed");
        c->events |= CTL_EV_ARM;
        c->arm_changed |= 1u << (stem - 1);
    }
    c->conf.stem[stem - 1].armed = armed;
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
ctl_set_song(struct ctl *c, const char *title, char *why)
{
    size_t n = strlen(title);

    if (n == 0)
        return ctl_fail(why, "song title must not be empty");
    if (n >= sizeof c->conf.song_title)
        return ctl_fail(why, "song title too long (%zu bytes, at most %zu)", n,
                        sizeof c->conf.song_title - 1);
    for (const unsigned char *p = (const unsigned char *)title; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return ctl_fail(why, "song title contains a control character");
    memcpy(c->conf.song_title, title, n + 1);
    c->events |= CTL_EV_SONG;
    log_info("song for the next take: '%s'%s", title,
             c->recording ? " (the take in progress keeps its song)" : "");
    return 0;
}

void
ctl_status(struct ctl *c, struct ctl_status *s)
{
    struct engine *e = &c->engine;

    memset(s, 0, sizeof *s);
    s->state = c->recording ? "recording" : "idle";
    s->take = c->have_take ? c->take.number : 0;
    s->song = c->have_take ? c->take.song : c->conf.song_title;
    s->take_dir = c->have_take ? c->take.dir : "";
    s->rate = e->rate;
    if (c->recording) {
        s->frames = atomic_load(&e->take_frames);
        s->dropped = atomic_load(&e->take_dropped);
        s->xruns = atomic_load(&e->xruns) - c->xrun_base;
    } else {
        s->frames = c->last_frames;
        s->dropped = c->last_dropped;
        s->xruns = c->last_xruns;
    }
}

void
ctl_poll(struct ctl *c, int ports_changed)
{
    char why[CTL_REASON_MAX];

    if (!c->engine_up)
        return;
    monitor_update(&c->monitor, ctl_now());
    if (monitor_take_alarm(&c->monitor, &c->alarm_db, &c->alarm_frame)) {
        log_warn("take %d: NULL FAILED: the stems do not sum to the mix: residual %.1f dBFS "
                 "(threshold %.1f) at frame %lld",
                 c->take.number, c->alarm_db, c->conf.null_threshold_db, (long long)c->alarm_frame);
        c->events |= CTL_EV_ALARM;
    }
    if (atomic_load(&c->engine.server_gone)) {
        if (c->recording) {
            log_error("JACK server went away during take %d; finishing the take", c->take.number);
            ctl_stop(c, why);
        }
        return;
    }
    if (c->recording && atomic_load(&c->writer.failed)) {
        log_error("stopping take %d after a write error", c->take.number);
        ctl_stop(c, why);
    }
    if (ports_changed)
        engine_connect(&c->engine, &c->conf, 0);
}
