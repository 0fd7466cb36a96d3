/* ctlview — the read-only views of the control state that the front ends
 * (osc.c, nsm.c, main.c) use instead of reading struct ctl's fields, and the
 * change events they push.  Control thread only, like ctl.c; nothing here
 * changes a take.  Declared in ctl.h. */
#include <stdatomic.h>

#include "ctl.h"
#include "naming.h"

int
ctl_stem(const struct ctl *c, int stem, struct ctl_stem *out)
{
    int ch = stem ? 2 * (stem - 1) : ENGINE_MIX_L;

    if (stem < 0 || stem > CONF_MAX_STEMS || (stem && !c->conf.stem[stem - 1].registered))
        return -1;
    out->name = stem ? c->conf.stem[stem - 1].name : NAMING_MIX;
    out->armed = stem ? c->conf.stem[stem - 1].armed : c->conf.record_mix;
    out->port[0] = engine_port_name(&c->engine, ch);
    out->port[1] = engine_port_name(&c->engine, ch + 1);
    return 0;
}

const char *
ctl_song(const struct ctl *c, const char *key)
{
    return conf_song_get(&c->conf.song, key);
}

int
ctl_recording(const struct ctl *c)
{
    return c->recording;
}

int
ctl_following(const struct ctl *c)
{
    return c->following;
}

void
ctl_level(struct ctl *c, int stem, struct monitor_level *l)
{
    monitor_level(&c->monitor, stem ? 2 * (stem - 1) : ENGINE_MIX_L, l);
}

void
ctl_null(struct ctl *c, struct monitor_null *n)
{
    monitor_null(&c->monitor, n);
}

void
ctl_stats(struct ctl *c, struct ctl_stats *s)
{
    monitor_stats(&c->monitor, &s->rt);
    s->jack_load = c->engine_up ? jack_cpu_load(c->engine.client) : 0.0f;
    s->write_max_ms = writer_write_max_us(&c->writer) / 1000.0f;
}

void
ctl_stats_reset(struct ctl *c)
{
    monitor_stats_reset(&c->monitor);
    writer_reset_stats(&c->writer);
}

int
ctl_take_nfiles(const struct ctl *c)
{
    return c->cur ? c->cur->nfiles : 0;
}

void
ctl_take_file(const struct ctl *c, int i, int *stem, const char **label, const char **name)
{
    const struct take_file *f = &c->cur->file[i];

    *stem = f->stem;
    *label = take_file_label(c->cur, f);
    *name = f->name;
}

void
ctl_events_peek(const struct ctl *c, struct ctl_events *ev)
{
    ev->events = c->events;
    ev->arm_changed = c->arm_changed;
    ev->name_changed = c->name_changed;
    ev->song_changed = c->song_changed;
    ev->error_text = c->error_text;
    ev->nwarnings = c->nwarnings;
    ev->warning = c->warning;
    ev->alarm_db = c->alarm_db;
    ev->alarm_frame = c->alarm_frame;
    ev->take = c->cur ? c->cur->number : 0;
}

void
ctl_events_clear(struct ctl *c)
{
    c->events = c->arm_changed = c->name_changed = c->song_changed = 0;
    c->nwarnings = 0;
}

void
ctl_snapshot(const struct ctl *c, struct conf *out)
{
    *out = c->conf;
    out->follow_transport = c->following;
}

int
ctl_progress(const struct ctl *c, uint64_t *cycles, unsigned long *writer_loops)
{
    *cycles = c->engine_up ? atomic_load(&c->engine.cycles) : 0;
    *writer_loops = writer_loops_done(&c->writer);
    return c->engine_up;
}

int
ctl_loudness(const struct ctl *c, int stem, struct loudness_figs *f)
{
    for (int i = 0; c->cur && i < c->cur->nfiles; i++) {
        const struct take_file *tf = &c->cur->file[i];
        if (tf->stem != stem)
            continue;
        if (c->recording)
            loudness_get(&tf->loud, f);
        else
            *f = tf->figs;
        return 1;
    }
    f->integrated_lufs = f->true_peak_dbtp[0] = f->true_peak_dbtp[1] = LOUDNESS_FLOOR;
    f->max_momentary_lufs = f->max_short_term_lufs = LOUDNESS_FLOOR;
    f->lra_lu = 0.0f;
    return 0;
}

int
ctl_verdicts(const struct ctl *c)
{
    return c->nverdicts;
}

const struct manifest_verdict *
ctl_verdict(const struct ctl *c, int i)
{
    return &c->verdict[i];
}
