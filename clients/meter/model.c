/* model.c - stemcap-meter's state and its conversation with stemcapd: what is sent, and how
 * every received message is folded into struct meter (setting mt->dirty; screen.c draws it).
 *
 * /stemcap/subscribe f:hz is sent at once, renewed every 10 s (sooner when the granted TTL is
 * short) and retried every second until a reply comes. Any message counts as a sign of life;
 * after 2 s of silence a banner says so and subscribing is retried every second, and when the
 * daemon answers again the version, status and stem layout are asked afresh (it may have
 * restarted with another configuration). The layout comes as one /stemcap/stem per stem and
 * /stemcap/stems i:count as end marker; a /stemcap/stems while no request is outstanding is a
 * push ("the layout changed") and triggers a new request, as does a level for an unknown stem.
 * Loudness comes pushed once a second while a take records; it is cleared when a take starts
 * and asked for once when one ends. Arguments are read by position and kind, so fewer are
 * tolerated and extra ones ignored.
 * oscclient's error lines come through its log hook and go to the footer.
 */
#include "meter.h"

#include "naming.h"
#include "oscclient.h"
#include "protocol.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Show a message in the footer for a few seconds. */
void
model_note(struct meter *mt, bool error, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(mt->note, sizeof mt->note, fmt, ap);
    va_end(ap);
    mt->note_error = error;
    mt->note_until = meter_now_ms() + NOTE_MS;
    mt->dirty = true;
}

static void
clear_loudness(struct meter *mt)
{
    for (int n = 0; n <= PROTO_MAX_STEMS; n++) {
        struct loudness *l = n ? &mt->stems[n].loud : &mt->mix.loud;
        l->integrated = l->lra = l->true_peak = SILENCE_DB;
        l->max_momentary = l->max_short_term = SILENCE_DB;
    }
}

void
model_init(struct meter *mt, struct oscc *osc, double hz, enum glyph_set glyphs)
{
    mt->osc = osc;
    mt->peer = oscc_peer(osc);
    mt->hz = hz;
    mt->glyphs = glyphs;
    mt->mix.registered = true;
    clear_loudness(mt);
    snprintf(mt->mix.name, sizeof mt->mix.name, "%s", NAMING_MIX);
    for (int n = 1; n <= PROTO_MAX_STEMS; n++) {
        for (int c = 0; c < 2; c++) {
            mt->stems[n].ch[c].peak = mt->stems[n].ch[c].rms = mt->stems[n].ch[c].hold = SILENCE_DB;
        }
    }
    for (int c = 0; c < 2; c++) {
        mt->mix.ch[c].peak = mt->mix.ch[c].rms = mt->mix.ch[c].hold = SILENCE_DB;
    }
    mt->nm.threshold = SILENCE_DB;
    mt->nm.worst_frame = -1;
    mt->nm.first_frame = -1;
}

/* ---- sending ------------------------------------------------------------------------------ */

void
model_send(struct meter *mt, const char *path)
{
    oscc_send(mt->osc, path, NULL); /* failures are logged into the footer */
}

static void
send_subscribe(struct meter *mt)
{
    lo_message m = lo_message_new();

    if (!m) {
        return;
    }
    lo_message_add_float(m, (float)mt->hz);
    oscc_send(mt->osc, PROTO_SUBSCRIBE, m);
    lo_message_free(m);
    mt->next_sub_ms = meter_now_ms() + RETRY_MS; /* pushed back when the reply comes */
}

static void
ask_layout(struct meter *mt)
{
    memset(mt->seen, 0, sizeof mt->seen);
    mt->layout_pending = true;
    mt->layout_asked_ms = meter_now_ms();
    model_send(mt, PROTO_STEMS);
}

void
model_send_arm(struct meter *mt, int n, int on)
{
    char path[64];
    lo_message m = lo_message_new();

    if (!m) {
        return;
    }
    proto_stem_path(path, sizeof path, n, PROTO_LEAF_ARM);
    lo_message_add_int32(m, on);
    oscc_send(mt->osc, path, m);
    lo_message_free(m);
}

/* ---- reading messages ------------------------------------------------------------------- */

/* The meter's reading of arguments: tolerant of the kind of number, so a surface-style float
 * where an integer is expected still counts (rounded) and the other way round. */
static int
arg_int(const struct oscc_msg *m, int i, int64_t *out)
{
    double d;

    if (oscc_msg_int(m, i, out) == 0) {
        return 0;
    }
    if (oscc_msg_number(m, i, &d) < 0 || !isfinite(d) || fabs(d) > 9e18) {
        return -1;
    }
    *out = (int64_t)llround(d);
    return 0;
}

static int
arg_float(const struct oscc_msg *m, int i, float *out)
{
    int64_t v;
    double d;

    if (oscc_msg_float(m, i, out) == 0) {
        return 0;
    }
    if (oscc_msg_int(m, i, &v) == 0) {
        *out = (float)v;
        return 0;
    }
    if (oscc_msg_number(m, i, &d) < 0) {
        return -1;
    }
    *out = (float)d;
    return 0;
}

/* A dBFS argument: NaN and -inf become silence, and the value is bounded for printing. */
static int
arg_db(const struct oscc_msg *m, int i, float *out)
{
    float f;

    if (arg_float(m, i, &f) < 0) {
        return -1;
    }
    if (isnan(f) || f < SILENCE_DB) {
        f = SILENCE_DB;
    } else if (f > MAX_SHOWN_DB) {
        f = MAX_SHOWN_DB;
    }
    *out = f;
    return 0;
}

static void
arg_text(const struct oscc_msg *m, int i, char *dst, size_t size)
{
    const char *s = oscc_msg_string(m, i);

    if (s) {
        snprintf(dst, size, "%s", s);
    }
}

/* "/stemcap/stem/N/LEAF" with N 1..PROTO_MAX_STEMS written canonically -> N, or 0. */
static int
stem_path(const char *path, const char *leaf)
{
    char canon[40];
    const char *l;
    int n = proto_stem_parse(path, &l);

    if (n < 1 || n > PROTO_MAX_STEMS || strcmp(l, leaf) != 0) {
        return 0;
    }
    return strcmp(path, proto_stem_path(canon, sizeof canon, n, leaf)) == 0 ? n : 0;
}

/* peakL peakR rmsL rmsR holdL holdR clipsL clipsR */
static void
take_levels(struct strip *s, const struct oscc_msg *m)
{
    for (int c = 0; c < 2; c++) {
        struct chan *ch = &s->ch[c];
        arg_db(m, 0 + c, &ch->peak);
        arg_db(m, 2 + c, &ch->rms);
        if (arg_db(m, 4 + c, &ch->hold) < 0) {
            ch->hold = ch->peak;
        }
        arg_int(m, 6 + c, &ch->clips);
        if (ch->clips < ch->clip_base) {
            ch->clip_base = 0; /* the daemon started counting afresh */
        }
        if (ch->reset) {
            if (ch->peak > ch->since_reset) {
                ch->since_reset = ch->peak;
            }
            if (ch->hold <= ch->since_reset) {
                ch->reset = false; /* the daemon's hold is newer than the reset now */
            }
        }
    }
    s->has_levels = true;
}

/* The last take's figures, asked once when the take ends (or at the first status if idle). */
static void
ask_loudness(struct meter *mt)
{
    char path[40];

    for (int n = 1; n <= PROTO_MAX_STEMS; n++) {
        if (mt->stems[n].registered) {
            model_send(mt, proto_stem_path(path, sizeof path, n, PROTO_LEAF_LOUDNESS));
        }
    }
    model_send(mt, PROTO_MIX_LOUDNESS);
}

/* integrated lra true_peak max_momentary max_short_term */
static void
take_loudness(struct loudness *l, const struct oscc_msg *m)
{
    arg_db(m, 0, &l->integrated);
    arg_db(m, 1, &l->lra);
    arg_db(m, 2, &l->true_peak);
    arg_db(m, 3, &l->max_momentary);
    arg_db(m, 4, &l->max_short_term);
}

static void
take_status(struct meter *mt, const struct oscc_msg *m)
{
    struct status *st = &mt->st;
    int64_t take = st->take;
    bool was_rec = st->known && strcmp(st->state, "recording") == 0, rec;

    arg_text(m, 0, st->state, sizeof st->state);
    arg_int(m, 1, &st->take);
    arg_int(m, 2, &st->frames);
    arg_int(m, 3, &st->xruns);
    arg_int(m, 4, &st->dropped);
    arg_text(m, 5, st->song, sizeof st->song);
    arg_int(m, 7, &st->samplerate);
    if (st->known && take != st->take) {
        mt->nm.alarm = false; /* a new take */
    }
    rec = strcmp(st->state, "recording") == 0;
    if (rec && (!was_rec || take != st->take)) {
        clear_loudness(mt);
    } else if (!rec && (was_rec || (!st->known && mt->layout_known))) {
        ask_loudness(mt); /* the take ended, or the meter started after it */
    }
    st->known = true;
}

static void
take_null(struct null_mon *nm, const struct oscc_msg *m)
{
    int64_t v;

    arg_db(m, 0, &nm->peak);
    arg_db(m, 1, &nm->rms);
    arg_db(m, 2, &nm->worst);
    arg_int(m, 3, &nm->worst_frame);
    if (arg_int(m, 4, &v) == 0) {
        nm->flagged = v != 0;
    }
    arg_int(m, 5, &nm->lag);
    if (arg_int(m, 6, &v) == 0) {
        nm->lag_valid = v != 0;
    }
    arg_db(m, 7, &nm->threshold);
    if (arg_int(m, 8, &nm->first_frame) < 0) {
        nm->first_frame = -1; /* an older daemon: the alarm tells */
    }
    nm->known = true;
}

static void
take_stem(struct meter *mt, const struct oscc_msg *m)
{
    int64_t n, armed = 0;

    if (arg_int(m, 0, &n) < 0 || n < 1 || n > PROTO_MAX_STEMS) {
        return;
    }
    mt->seen[n] = true;
    snprintf(mt->seen_name[n], sizeof mt->seen_name[n], "Stem %d", (int)n);
    arg_text(m, 1, mt->seen_name[n], sizeof mt->seen_name[n]);
    arg_int(m, 2, &armed);
    mt->seen_armed[n] = armed != 0;
    /* A mono stem ([stemN] channels = 1): a left port and no right one. */
    char l[8] = "", r[8] = "";
    arg_text(m, 3, l, sizeof l);
    arg_text(m, 4, r, sizeof r);
    mt->seen_mono[n] = l[0] && !r[0];
}

static void
take_stems_end(struct meter *mt, const struct oscc_msg *m, int64_t now)
{
    int64_t count;
    int seen = 0;

    if (!mt->layout_pending) {
        ask_layout(mt); /* pushed: the layout changed */
        return;
    }
    for (int n = 1; n <= PROTO_MAX_STEMS; n++) {
        seen += mt->seen[n];
    }
    if (arg_int(m, 0, &count) == 0 && count != seen && mt->layout_known) {
        /* a /stemcap/stem went missing: keep the old layout and ask again shortly */
        mt->layout_asked_ms = now - LAYOUT_RETRY_MS + 500;
        return;
    }
    for (int n = 1; n <= PROTO_MAX_STEMS; n++) {
        struct strip *s = &mt->stems[n];
        s->registered = mt->seen[n];
        if (s->registered) {
            memcpy(s->name, mt->seen_name[n], sizeof s->name);
            s->armed = mt->seen_armed[n];
            s->mono = mt->seen_mono[n];
        }
    }
    mt->layout_known = true;
    mt->layout_pending = false;
    if (mt->st.known && strcmp(mt->st.state, "recording") != 0) {
        ask_loudness(mt); /* the last take's figures of the stems just learnt */
    }
}

static void
take_error(struct meter *mt, const struct oscc_msg *m, int64_t now)
{
    const char *addr = oscc_msg_string(m, 0);
    const char *reason = oscc_msg_string(m, 1);

    if (addr && strcmp(addr, PROTO_SUBSCRIBE) == 0) {
        mt->next_sub_ms = now + RENEW_MS; /* answered, if negatively: do not hammer */
    }
    model_note(mt, true, "stemcapd: %s%s%s", addr ? addr : "", addr ? ": " : "",
               reason ? reason : "error");
}

/* The first datagram after the banner: the requests sent meanwhile went nowhere, and the daemon
 * may have restarted with another version and layout, so ask again. (The first datagram of all,
 * before any banner, needs nothing: the answers to the initial requests are on their way.) */
static void
on_contact(struct meter *mt)
{
    if (!mt->lost) {
        return;
    }
    model_send(mt, PROTO_PING);
    model_send(mt, PROTO_STATUS);
    ask_layout(mt);
    if (mt->heard) {
        model_note(mt, false, "stemcapd at %s answers again", mt->peer);
    }
}

/* /stemcap/subscribe f:granted_hz i:ttl_s: renew at half the TTL, within RETRY_MS..RENEW_MS. */
static void
take_subscribed(struct meter *mt, const struct oscc_msg *m, int64_t now)
{
    int64_t v = RENEW_MS;
    float f;

    if (arg_float(m, 0, &f) == 0) {
        mt->granted_hz = f;
    }
    arg_int(m, 1, &mt->ttl_s);
    if (mt->ttl_s > 0 && mt->ttl_s * 500 < v) {
        v = mt->ttl_s * 500 < RETRY_MS ? RETRY_MS : mt->ttl_s * 500;
    }
    mt->next_sub_ms = now + v;
}

/* Pushed with every state change, after the status: start i:recording, stop i:idle. */
static void
take_state_push(struct meter *mt, const struct oscc_msg *m, const char *path)
{
    int64_t v;

    if (arg_int(m, 0, &v) == 0 && mt->st.known) {
        bool rec = (strcmp(path, PROTO_START) == 0) == (v != 0);
        if (rec != (strcmp(mt->st.state, "recording") == 0)) {
            model_send(mt, PROTO_STATUS); /* the status went missing */
        }
    }
}

static void
take_alarm(struct meter *mt, const struct oscc_msg *m)
{
    struct null_mon *nm = &mt->nm;
    float f = SILENCE_DB;

    if (!nm->alarm) {
        nm->alarm = true;
        nm->alarm_db = SILENCE_DB;
        nm->alarm_frame = -1;
        arg_db(m, 0, &nm->alarm_db);
        arg_int(m, 1, &nm->alarm_frame);
    }
    arg_db(m, 0, &f);
    model_note(mt, true, "null alarm: residual %.1f dBFS", (double)f);
}

/* /stemcap/warning s:text: a [mastering] rule a file breaks, for the footer. */
static void
take_warning(struct meter *mt, const struct oscc_msg *m)
{
    const char *text = oscc_msg_string(m, 0);

    model_note(mt, true, "warning: %s", text ? text : "?");
}

/* /stemcap/stem/N/level, /stemcap/stem/N/loudness, /stemcap/stem/N/arm: whether PATH was one. */
static bool
take_stem_leaf(struct meter *mt, const struct oscc_msg *m, const char *path, int64_t now)
{
    int64_t v;
    int n;

    if ((n = stem_path(path, PROTO_LEAF_LEVEL)) > 0) {
        take_levels(&mt->stems[n], m);
        if (!mt->stems[n].registered && !mt->layout_pending &&
            now - mt->layout_asked_ms >= UNKNOWN_STEM_MS) {
            ask_layout(mt);
        }
    } else if ((n = stem_path(path, PROTO_LEAF_LOUDNESS)) > 0) {
        take_loudness(&mt->stems[n].loud, m);
    } else if ((n = stem_path(path, PROTO_LEAF_ARM)) > 0) {
        if (arg_int(m, 0, &v) == 0) {
            mt->stems[n].armed = v != 0;
        }
    } else {
        return false;
    }
    return true;
}

static void
dispatch(struct meter *mt, const struct oscc_msg *m, int64_t now)
{
    const char *path = oscc_msg_path(m);

    on_contact(mt);
    mt->heard = true;
    mt->lost = false;
    mt->last_rx_ms = now;
    mt->dirty = true;

    if (take_stem_leaf(mt, m, path, now)) {
        return;
    }
    if (strcmp(path, PROTO_MIX_LEVEL) == 0) {
        take_levels(&mt->mix, m);
    } else if (strcmp(path, PROTO_MIX_LOUDNESS) == 0) {
        take_loudness(&mt->mix.loud, m);
    } else if (strcmp(path, PROTO_WARNING) == 0) {
        take_warning(mt, m);
    } else if (strcmp(path, PROTO_NULL) == 0) {
        take_null(&mt->nm, m);
    } else if (strcmp(path, PROTO_STATUS) == 0) {
        take_status(mt, m);
    } else if (strcmp(path, PROTO_STEM) == 0) {
        take_stem(mt, m);
    } else if (strcmp(path, PROTO_STEMS) == 0) {
        take_stems_end(mt, m, now);
    } else if (strcmp(path, PROTO_SUBSCRIBE) == 0) {
        take_subscribed(mt, m, now);
    } else if (strcmp(path, PROTO_PONG) == 0) {
        arg_text(m, 0, mt->version, sizeof mt->version);
    } else if (strcmp(path, PROTO_SONG) == 0) {
        arg_text(m, 0, mt->st.song, sizeof mt->st.song);
    } else if (strcmp(path, PROTO_START) == 0 || strcmp(path, PROTO_STOP) == 0) {
        take_state_push(mt, m, path);
    } else if (strcmp(path, PROTO_NULL_ALARM) == 0) {
        take_alarm(mt, m);
    } else if (strcmp(path, PROTO_ERROR) == 0) {
        take_error(mt, m, now);
    }
}

/* Apply what has arrived, a bounded number of messages at a time (the keys stay responsive). */
void
model_receive(struct meter *mt)
{
    for (int i = 0; i < 256; i++) {
        struct oscc_msg *m;

        if (oscc_recv(mt->osc, 0, &m) <= 0) {
            return;
        }
        dispatch(mt, m, meter_now_ms());
        oscc_msg_free(m);
    }
}

bool
model_has_pending(const struct meter *mt)
{
    return oscc_pending(mt->osc) > 0;
}

/* oscclient's log hook: its error lines go to the footer, not over the screen. They are shown
 * after the keys of the same round (model_show_logged), so that an error a key caused replaces
 * the key's own note. */
static void
log_to_footer(void *ctx, const char *line)
{
    struct meter *mt = ctx;

    snprintf(mt->logged, sizeof mt->logged, "%s", line);
}

void
model_show_logged(struct meter *mt)
{
    if (mt->logged[0]) {
        model_note(mt, true, "%s", mt->logged);
        mt->logged[0] = '\0';
    }
}

bool
model_connected(const struct meter *mt)
{
    return mt->heard && !mt->lost;
}

/* ---- life cycle and timers ---------------------------------------------------------------- */

void
model_start(struct meter *mt)
{
    oscc_set_log(log_to_footer, mt);
    mt->last_rx_ms = meter_now_ms(); /* the banner comes LOST_MS after the start if nothing does */
    send_subscribe(mt);
    model_send(mt, PROTO_PING);
    model_send(mt, PROTO_STATUS);
    ask_layout(mt);
    mt->dirty = true;
}

void
model_stop(struct meter *mt)
{
    model_send(mt, PROTO_UNSUBSCRIBE);
    oscc_set_log(NULL, NULL);
}

void
model_tick(struct meter *mt, int64_t now)
{
    if (!mt->lost && now - mt->last_rx_ms >= LOST_MS) {
        mt->lost = true; /* the banner */
        mt->dirty = true;
        mt->next_sub_ms = now; /* and retry now, then every second */
    }
    if (now >= mt->next_sub_ms) {
        send_subscribe(mt);
    }
    if (mt->layout_pending && model_connected(mt) && now - mt->layout_asked_ms >= LAYOUT_RETRY_MS) {
        ask_layout(mt);
    }
    if (mt->note[0] && now >= mt->note_until) {
        mt->note[0] = '\0';
        mt->dirty = true;
    }
}

static int64_t
min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int64_t
model_next_due(const struct meter *mt, int64_t now)
{
    int64_t due = now + IDLE_MS;

    due = min64(due, mt->next_sub_ms);
    if (!mt->lost) {
        due = min64(due, mt->last_rx_ms + LOST_MS);
    }
    if (mt->layout_pending && model_connected(mt)) {
        due = min64(due, mt->layout_asked_ms + LAYOUT_RETRY_MS);
    }
    if (mt->note[0]) {
        due = min64(due, mt->note_until);
    }
    if (model_has_pending(mt) || mt->logged[0]) {
        due = now; /* the rest of a bundle, an error line to show */
    }
    return due;
}

static void
reset_chan(struct chan *c)
{
    c->reset = true;
    c->since_reset = SILENCE_DB;
    c->clip_base = c->clips;
}

void
model_reset_holds(struct meter *mt)
{
    for (int n = 1; n <= PROTO_MAX_STEMS; n++) {
        reset_chan(&mt->stems[n].ch[0]);
        reset_chan(&mt->stems[n].ch[1]);
    }
    reset_chan(&mt->mix.ch[0]);
    reset_chan(&mt->mix.ch[1]);
    model_note(mt, false, "peak holds and clip counts reset (display only)");
}
