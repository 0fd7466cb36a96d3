/* stemcap-meter.c - a full-screen live level meter for stemcapd.
 *
 * One thread, one ppoll() loop over the OSC socket and the terminal; what oscclient logs is
 * shown in the footer (through its log hook: on stderr it would scribble over the screen). INT,
 * TERM, HUP and WINCH are blocked except inside ppoll(), so a signal always ends the wait it
 * arrives in: INT/TERM/HUP quit through the normal path that restores the terminal, WINCH comes
 * back from ncurses as KEY_RESIZE.
 *
 * Everything the daemon sends is folded into one struct meter and only sets a "dirty" flag; the
 * screen is rebuilt from that state with erase() and drawn by refresh(), so ncurses sends just
 * the cells that changed (no clear(), no flicker), at most ~30 times a second and only when
 * something changed.
 *
 * Conversation: /stemcap/subscribe f:hz is sent at once, renewed every 10 s (sooner when the
 * granted TTL is short) and retried every second until a reply comes. Any datagram counts as a
 * sign of life; after 2 s of silence a banner says so and subscribing is retried every second,
 * and when the daemon answers again the version, status and stem layout are asked afresh (it may
 * have restarted with another configuration). The layout comes as one /stemcap/stem per stem
 * and /stemcap/stems i:count as end marker; a /stemcap/stems while no request is outstanding is
 * a push ("the layout changed") and triggers a new request, as does a level for an unknown stem.
 * Arguments are read by position and kind, so fewer are tolerated and extra ones ignored.
 */
#include "naming.h"
#include "oscclient.h"
#include "protocol.h"

#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#define DEFAULT_HZ 20.0
#define MIN_HZ     0.1
#define MAX_HZ     1000.0

#define EXIT_FAILURE_ 1
#define EXIT_USAGE    2

#define SILENCE_DB   (-150.0f) /* what stemcapd reports for silence */
#define LEVEL_LO_DB  (-60.0f)  /* channel bars */
#define NULL_LO_DB   (-150.0f) /* null residual bar */
#define ZONE_YELLOW  (-18.0f)
#define ZONE_RED     (-6.0f)
#define MAX_SHOWN_DB 99.0f

#define RENEW_MS        10000 /* subscription renewal */
#define RETRY_MS        1000  /* subscribe retry while unanswered */
#define LOST_MS         2000  /* silence before the "no answer" banner */
#define LAYOUT_RETRY_MS 2000  /* re-ask /stemcap/stems if the answer is incomplete */
#define UNKNOWN_STEM_MS 5000  /* least time between layout requests for unknown stems */
#define FRAME_MS        33    /* at most ~30 redraws a second */
#define NOTE_MS         4000  /* footer messages */
#define IDLE_MS         1000  /* longest ppoll() wait */

#define MIN_COLS 50

/* Colour pairs. */
enum { PAIR_GREEN = 1, PAIR_YELLOW, PAIR_RED, PAIR_BANNER, PAIR_TITLE };

enum glyph_set { GLYPHS_UTF8, GLYPHS_ACS, GLYPHS_ASCII };
enum glyph { G_FULL, G_EMPTY, G_PEAK, G_HOLD, G_MARK };

struct chan {
    float peak, rms, hold; /* dBFS as sent */
    int64_t clips;
    bool reset;        /* 'r' pressed: hide holds older than the reset */
    float since_reset; /* highest peak seen since */
    int64_t clip_base; /* clips counted before the reset */
};

struct strip {
    bool registered;
    bool armed;
    bool has_levels;
    char name[64];
    struct chan ch[2];
};

struct null_mon {
    bool known;
    float peak, rms, worst, threshold;
    int64_t worst_frame;
    int64_t first_frame; /* first sample above the threshold, -1 unknown */
    bool flagged;
    int64_t lag;
    bool lag_valid;
    bool alarm; /* an alarm arrived for the current take */
    float alarm_db;
    int64_t alarm_frame;
};

struct status {
    bool known;
    char state[32];
    int64_t take, frames, xruns, dropped, samplerate;
    char song[256];
};

struct meter {
    struct oscc *osc;
    const char *peer;
    double hz;

    /* what the daemon told */
    char version[64];
    double granted_hz;
    int64_t ttl_s;
    struct status st;
    struct strip stems[PROTO_MAX_STEMS + 1]; /* 1..PROTO_MAX_STEMS */
    struct strip mix;
    struct null_mon nm;

    /* layout request */
    bool layout_known;
    bool layout_pending;
    int64_t layout_asked_ms;
    bool seen[PROTO_MAX_STEMS + 1];
    char seen_name[PROTO_MAX_STEMS + 1][64];
    bool seen_armed[PROTO_MAX_STEMS + 1];

    /* liveness and subscription */
    int64_t last_rx_ms;
    bool heard; /* something arrived since the start */
    bool lost;  /* banner shown */
    int64_t next_sub_ms;

    /* footer message */
    char note[256];
    bool note_error;
    int64_t note_until;
    char logged[256]; /* oscclient's last error line, for the footer once the keys are handled */

    /* screen */
    bool dirty;
    int64_t last_draw_ms;
    enum glyph_set glyphs;
    bool colour;
};

static volatile sig_atomic_t quit_signal;

static void
on_signal(int sig)
{
    quit_signal = sig;
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
usage(FILE *f)
{
    fprintf(f,
            "Usage: stemcap-meter [OPTION]...\n"
            "Live full-screen level meter for stemcapd, the multitrack stem recorder.\n"
            "\n"
            "Options:\n"
            "  -H, --host=HOST     stemcapd host name or address (default %s,\n"
            "                      or $STEMCAP_HOST)\n"
            "  -p, --port=PORT     stemcapd UDP port (default %s, or $STEMCAP_PORT)\n"
            "  -r, --rate=HZ       meter updates per second to ask for (default %g)\n"
            "  -a, --ascii         draw with plain ASCII characters\n"
            "  -h, --help          show this help and exit\n"
            "  -V, --version       show the version and exit\n"
            "\n"
            "Keys: q quit, s start/stop a take, r reset peak holds and clip counts,\n"
            "      1-8 arm/disarm that stem.\n",
            PROTO_DEFAULT_HOST, PROTO_DEFAULT_PORT_STR, DEFAULT_HZ);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("stemcap-meter: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'stemcap-meter --help' for more information.\n", stderr);
    return EXIT_USAGE;
}

static void note(struct meter *mt, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Show a message in the footer for a few seconds. */
static void
note(struct meter *mt, bool error, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(mt->note, sizeof mt->note, fmt, ap);
    va_end(ap);
    mt->note_error = error;
    mt->note_until = now_ms() + NOTE_MS;
    mt->dirty = true;
}

/* ---- sending ------------------------------------------------------------------------------ */

static void
send_plain(struct meter *mt, const char *path)
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
    mt->next_sub_ms = now_ms() + RETRY_MS; /* pushed back when the reply comes */
}

static void
ask_layout(struct meter *mt)
{
    memset(mt->seen, 0, sizeof mt->seen);
    mt->layout_pending = true;
    mt->layout_asked_ms = now_ms();
    send_plain(mt, PROTO_STEMS);
}

static void
send_arm(struct meter *mt, int n, int on)
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

/* ---- reading replies ---------------------------------------------------------------------- */

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

static void
reset_chan(struct chan *c)
{
    c->reset = true;
    c->since_reset = SILENCE_DB;
    c->clip_base = c->clips;
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

static void
take_status(struct meter *mt, const struct oscc_msg *m)
{
    struct status *st = &mt->st;
    int64_t take = st->take;

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
        }
    }
    mt->layout_known = true;
    mt->layout_pending = false;
}

static void
take_error(struct meter *mt, const struct oscc_msg *m, int64_t now)
{
    const char *addr = oscc_msg_string(m, 0);
    const char *reason = oscc_msg_string(m, 1);

    if (addr && strcmp(addr, PROTO_SUBSCRIBE) == 0) {
        mt->next_sub_ms = now + RENEW_MS; /* answered, if negatively: do not hammer */
    }
    note(mt, true, "stemcapd: %s%s%s", addr ? addr : "", addr ? ": " : "",
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
    send_plain(mt, PROTO_PING);
    send_plain(mt, PROTO_STATUS);
    ask_layout(mt);
    if (mt->heard) {
        note(mt, false, "stemcapd at %s answers again", mt->peer);
    }
}

static void
dispatch(struct meter *mt, const struct oscc_msg *m, int64_t now)
{
    const char *path = oscc_msg_path(m);
    int64_t v;
    float f;
    int n;

    on_contact(mt);
    mt->heard = true;
    mt->lost = false;
    mt->last_rx_ms = now;
    mt->dirty = true;

    if ((n = stem_path(path, PROTO_LEAF_LEVEL)) > 0) {
        take_levels(&mt->stems[n], m);
        if (!mt->stems[n].registered && !mt->layout_pending &&
            now - mt->layout_asked_ms >= UNKNOWN_STEM_MS) {
            ask_layout(mt);
        }
    } else if (strcmp(path, PROTO_MIX_LEVEL) == 0) {
        take_levels(&mt->mix, m);
    } else if (strcmp(path, PROTO_NULL) == 0) {
        take_null(&mt->nm, m);
    } else if (strcmp(path, PROTO_STATUS) == 0) {
        take_status(mt, m);
    } else if ((n = stem_path(path, PROTO_LEAF_ARM)) > 0) {
        if (arg_int(m, 0, &v) == 0) {
            mt->stems[n].armed = v != 0;
        }
    } else if (strcmp(path, PROTO_STEM) == 0) {
        take_stem(mt, m);
    } else if (strcmp(path, PROTO_STEMS) == 0) {
        take_stems_end(mt, m, now);
    } else if (strcmp(path, PROTO_SUBSCRIBE) == 0) {
        if (arg_float(m, 0, &f) == 0) {
            mt->granted_hz = f;
        }
        arg_int(m, 1, &mt->ttl_s);
        v = RENEW_MS;
        if (mt->ttl_s > 0 && mt->ttl_s * 500 < v) {
            v = mt->ttl_s * 500 < RETRY_MS ? RETRY_MS : mt->ttl_s * 500;
        }
        mt->next_sub_ms = now + v;
    } else if (strcmp(path, PROTO_PONG) == 0) {
        arg_text(m, 0, mt->version, sizeof mt->version);
    } else if (strcmp(path, PROTO_SONG) == 0) {
        arg_text(m, 0, mt->st.song, sizeof mt->st.song);
    } else if (strcmp(path, PROTO_START) == 0 || strcmp(path, PROTO_STOP) == 0) {
        /* pushed with every state change, after the status: start i:recording, stop i:idle */
        if (arg_int(m, 0, &v) == 0 && mt->st.known) {
            bool rec = (strcmp(path, PROTO_START) == 0) == (v != 0);
            if (rec != (strcmp(mt->st.state, "recording") == 0)) {
                send_plain(mt, PROTO_STATUS); /* the status went missing */
            }
        }
    } else if (strcmp(path, PROTO_NULL_ALARM) == 0) {
        struct null_mon *nm = &mt->nm;
        if (!nm->alarm) {
            nm->alarm = true;
            nm->alarm_db = SILENCE_DB;
            nm->alarm_frame = -1;
            arg_db(m, 0, &nm->alarm_db);
            arg_int(m, 1, &nm->alarm_frame);
        }
        f = SILENCE_DB;
        arg_db(m, 0, &f);
        note(mt, true, "null alarm: residual %.1f dBFS", (double)f);
    } else if (strcmp(path, PROTO_ERROR) == 0) {
        take_error(mt, m, now);
    }
}

/* Apply what has arrived, a bounded number of messages at a time (the keys stay responsive). */
static void
receive(struct meter *mt)
{
    for (int i = 0; i < 256; i++) {
        struct oscc_msg *m;

        if (oscc_recv(mt->osc, 0, &m) <= 0) {
            return;
        }
        dispatch(mt, m, now_ms());
        oscc_msg_free(m);
    }
}

/* oscclient's log hook: its error lines go to the footer, not over the screen. They are shown
 * after the keys of the same round (show_logged), so that an error a key caused replaces the
 * key's own note. */
static void
log_to_footer(void *ctx, const char *line)
{
    struct meter *mt = ctx;

    snprintf(mt->logged, sizeof mt->logged, "%s", line);
}

static void
show_logged(struct meter *mt)
{
    if (mt->logged[0]) {
        note(mt, true, "%s", mt->logged);
        mt->logged[0] = '\0';
    }
}

/* ---- drawing ------------------------------------------------------------------------------ */

/* Draw TEXT at Y, X in at most W columns; control characters become '?'. Returns the columns
 * used. */
static int
put_text(int y, int x, int w, attr_t attr, const char *text)
{
    mbstate_t ps;
    wchar_t wc;
    int used = 0;
    size_t len = strlen(text);

    memset(&ps, 0, sizeof ps);
    attrset(attr);
    move(y, x);
    while (len > 0 && used < w) {
        size_t k = mbrtowc(&wc, text, len, &ps);
        int cw;
        if (k == (size_t)-1 || k == (size_t)-2) {
            memset(&ps, 0, sizeof ps);
            wc = L'?';
            k = 1;
        } else if (k == 0) {
            break;
        }
        cw = wcwidth(wc);
        if (cw < 0 || wc < 0x20 || wc == 0x7f) {
            wc = L'?';
            cw = 1;
        }
        if (used + cw > w) {
            break;
        }
        addnwstr(&wc, 1);
        used += cw;
        text += k;
        len -= k;
    }
    attrset(A_NORMAL);
    return used;
}

static int put_fmt(int y, int x, int w, attr_t attr, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
put_fmt(int y, int x, int w, attr_t attr, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return put_text(y, x, w, attr, buf);
}

static attr_t
pair(const struct meter *mt, short p)
{
    return mt->colour ? COLOR_PAIR(p) : A_NORMAL;
}

static attr_t
red(const struct meter *mt)
{
    return mt->colour ? COLOR_PAIR(PAIR_RED) | A_BOLD : A_BOLD | A_REVERSE;
}

static attr_t
zone_attr(const struct meter *mt, float db, float yellow, float redz)
{
    if (db >= redz) {
        return mt->colour ? COLOR_PAIR(PAIR_RED) : A_BOLD;
    }
    if (db >= yellow) {
        return mt->colour ? COLOR_PAIR(PAIR_YELLOW) : A_BOLD;
    }
    return pair(mt, PAIR_GREEN);
}

static void
put_glyph(const struct meter *mt, int y, int x, enum glyph g, int eighths, attr_t attr)
{
    static const wchar_t *utf8[] = {
        [G_FULL] = L"\u2588", [G_EMPTY] = L"\u00b7", [G_PEAK] = L"\u2503",
        [G_HOLD] = L"\u25c6", [G_MARK] = L"\u2506",
    };
    static const wchar_t *partial[] = {L" ",      L"\u258f", L"\u258e", L"\u258d",
                                       L"\u258c", L"\u258b", L"\u258a", L"\u2589"};
    static const char ascii[] = {
        [G_FULL] = '#', [G_EMPTY] = '.', [G_PEAK] = '|', [G_HOLD] = '*', [G_MARK] = ':'};

    switch (mt->glyphs) {
    case GLYPHS_UTF8:
        attrset(attr);
        mvaddnwstr(y, x, g == G_FULL && eighths > 0 && eighths < 8 ? partial[eighths] : utf8[g], 1);
        attrset(A_NORMAL);
        break;
    case GLYPHS_ACS: {
        chtype ch = g == G_FULL    ? ACS_BLOCK
                    : g == G_EMPTY ? ACS_BULLET
                    : g == G_PEAK  ? ACS_VLINE
                    : g == G_HOLD  ? ACS_DIAMOND
                                   : (chtype)':';
        mvaddch(y, x, ch | attr);
        break;
    }
    default:
        mvaddch(y, x, (chtype)ascii[g] | attr);
        break;
    }
}

/* Position of DB on a bar of W cells from LO to 0 dBFS, in eighths of a cell. */
static int
bar_pos(float db, float lo, int w)
{
    double x = ((double)db - lo) / (0.0 - lo);

    if (x <= 0) {
        return 0;
    }
    if (x >= 1) {
        return w * 8;
    }
    return (int)(x * w * 8);
}

struct bar {
    float lo;           /* left end, dBFS; the right end is 0 dBFS */
    float yellow, redz; /* colour zones */
    float fill, peak;   /* solid part, peak marker */
    float hold;         /* hold marker, or NAN */
    float mark;         /* a threshold marker, or NAN */
    bool stale;         /* drawn dim */
};

static void
draw_bar(const struct meter *mt, int y, int x, int w, const struct bar *b)
{
    int fill = bar_pos(b->fill, b->lo, w);
    attr_t dim = b->stale ? A_DIM : A_NORMAL;

    for (int i = 0; i < w; i++) {
        float db = b->lo + (0.0f - b->lo) * ((float)i + 0.5f) / (float)w;
        int part = fill - i * 8; /* eighths of this cell filled */
        if (mt->glyphs != GLYPHS_UTF8) {
            part = part >= 4 ? 8 : 0; /* no partial blocks: round */
        }
        if (part > 0) {
            put_glyph(mt, y, x + i, G_FULL, part > 8 ? 8 : part,
                      zone_attr(mt, db, b->yellow, b->redz) | dim);
        } else {
            put_glyph(mt, y, x + i, G_EMPTY, 0, A_DIM);
        }
    }
    if (!isnan(b->mark) && b->mark > b->lo) {
        int i = bar_pos(b->mark, b->lo, w) / 8;
        put_glyph(mt, y, x + (i < w ? i : w - 1), G_MARK, 0, A_BOLD | dim);
    }
    if (!isnan(b->hold) && b->hold > b->lo) {
        int i = bar_pos(b->hold, b->lo, w) / 8;
        if (i >= w) {
            i = w - 1;
        }
        put_glyph(mt, y, x + i, G_HOLD, 0, zone_attr(mt, b->hold, b->yellow, b->redz) | dim);
    }
    if (b->peak > b->lo) {
        int i = bar_pos(b->peak, b->lo, w) / 8;
        if (i >= w) {
            i = w - 1;
        }
        put_glyph(mt, y, x + i, G_PEAK, 0,
                  zone_attr(mt, b->peak, b->yellow, b->redz) | A_BOLD | dim);
    }
}

/* How the screen is cut up. */
struct layout {
    int name_w, bar_x, bar_w, num_x, extra_x, extra_w;
    bool scale;     /* dB scale row above the bars */
    int stem_rows;  /* 2: L and R; 1: both on one row */
    int mix_rows;   /* likewise */
    int null_lines; /* 3 or 2 */
    bool reduced;
};

static int
stem_count(const struct meter *mt)
{
    int n = 0;

    for (int i = 1; i <= PROTO_MAX_STEMS; i++) {
        n += mt->stems[i].registered;
    }
    return n;
}

static int
rows_needed(const struct meter *mt, const struct layout *l)
{
    int stems = stem_count(mt);

    /* header 2, banner/rule 1, [scale], stems (or one line saying there are none), mix, rule,
     * null, message, keys */
    return 3 + l->scale + (stems ? stems * l->stem_rows : 1) + l->mix_rows + 1 + l->null_lines + 2;
}

/* 0, or -1 when even the smallest layout does not fit. */
static int
plan_layout(const struct meter *mt, int rows, int cols, struct layout *l)
{
    static const struct {
        bool scale;
        int stem_rows, mix_rows, null_lines;
    } plans[] = {
        {true, 2, 2, 3},  {false, 2, 2, 3}, {false, 2, 2, 2}, {true, 1, 2, 3},
        {false, 1, 2, 3}, {false, 1, 2, 2}, {false, 1, 1, 2},
    };

    if (cols < MIN_COLS) {
        return -1;
    }
    l->name_w = cols / 7;
    if (l->name_w < 8) {
        l->name_w = 8;
    } else if (l->name_w > 20) {
        l->name_w = 20;
    }
    /* " N name.. [R] L |bar...| -12.3 CLIP 999+" */
    l->bar_x = 3 + l->name_w + 1 + 3 + 1 + 2 + 1;
    l->extra_w = 10;
    l->bar_w = cols - l->bar_x - (1 + 6 + 1 + l->extra_w);
    l->num_x = l->bar_x + l->bar_w + 1;
    l->extra_x = l->num_x + 7;
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
        l->scale = plans[i].scale;
        l->stem_rows = plans[i].stem_rows;
        l->mix_rows = plans[i].mix_rows;
        l->null_lines = plans[i].null_lines;
        l->reduced = l->stem_rows < 2 || l->mix_rows < 2 || l->null_lines < 3;
        if (rows_needed(mt, l) <= rows) {
            return 0;
        }
    }
    return -1;
}

static int
min_rows(const struct meter *mt)
{
    struct layout l = {.stem_rows = 1, .mix_rows = 1, .null_lines = 2};

    return rows_needed(mt, &l);
}

static void
fmt_db(char *buf, size_t size, float db)
{
    if (db <= SILENCE_DB) {
        snprintf(buf, size, "-inf");
    } else {
        snprintf(buf, size, "%+.1f", (double)db);
        if (db <= -0.05f || db >= 0.05f) {
            return;
        }
        snprintf(buf, size, "0.0");
    }
}

static void
fmt_time(char *buf, size_t size, int64_t frames, int64_t rate)
{
    int64_t cs;

    if (rate <= 0 || frames < 0) {
        snprintf(buf, size, "--:--.--");
        return;
    }
    cs = frames * 100 / rate;
    snprintf(buf, size, "%02lld:%02lld.%02lld", (long long)(cs / 6000), (long long)(cs / 100 % 60),
             (long long)(cs % 100));
}

static bool
connected(const struct meter *mt)
{
    return mt->heard && !mt->lost;
}

/* Columns TEXT takes on the screen. */
static int
text_cols(const char *text)
{
    wchar_t wbuf[256];
    size_t n = mbstowcs(wbuf, text, sizeof wbuf / sizeof wbuf[0] - 1);
    int w;

    if (n == (size_t)-1) {
        return (int)strlen(text);
    }
    wbuf[n] = L'\0';
    w = wcswidth(wbuf, n);
    return w < 0 ? (int)n : w;
}

static void
draw_header(const struct meter *mt, int cols)
{
    const struct status *st = &mt->st;
    bool rec = st->known && strcmp(st->state, "recording") == 0;
    char state[64], when[32], figures[128];
    attr_t sa;
    int x, w;

    /* row 0: who, where; rate and state on the right */
    x = put_fmt(0, 0, cols, A_BOLD | pair(mt, PAIR_TITLE), " stemcapd %s",
                mt->version[0] ? mt->version : "?");
    put_fmt(0, x, cols - x, A_NORMAL, " at %s", mt->peer);
    if (!st->known) {
        snprintf(state, sizeof state, "%s", connected(mt) ? "state ?" : "not connected");
        sa = A_DIM;
    } else {
        snprintf(state, sizeof state, "%s%s",
                 !rec                        ? ""
                 : mt->glyphs == GLYPHS_UTF8 ? "\u25cf "
                                             : "* ",
                 st->state);
        sa = rec                              ? red(mt)
             : strcmp(st->state, "idle") == 0 ? A_BOLD
                                              : pair(mt, PAIR_YELLOW) | A_BOLD;
    }
    if (st->known && mt->lost) {
        snprintf(state, sizeof state, "last known: %s", st->state);
        sa = A_DIM; /* the daemon may have gone, and the take with it */
    }
    w = text_cols(state) + 1;
    if (mt->granted_hz > 0 && cols > 70) {
        put_fmt(0, cols - w - 10, 9, A_DIM, "%6.3g Hz", mt->granted_hz);
    }
    put_text(0, cols - w, w, sa, state);

    /* row 1: song on the left, take figures on the right */
    fmt_time(when, sizeof when, st->frames, st->samplerate);
    snprintf(figures, sizeof figures, "take %lld  %s  xruns %lld  dropped %lld ",
             (long long)st->take, when, (long long)st->xruns, (long long)st->dropped);
    w = (int)strlen(figures);
    x = put_text(1, 0, cols - w - 1, A_NORMAL, " song: ");
    put_text(1, x, cols - w - 1 - x, A_BOLD, st->song[0] ? st->song : "-");
    if (!st->known) {
        put_text(1, cols - 37, 37, A_DIM, "take -  --:--.--  xruns -  dropped - ");
        return;
    }
    x = cols - w;
    x += put_fmt(1, x, cols - x, rec ? red(mt) : A_NORMAL, "take %lld  %s", (long long)st->take,
                 when);
    x += put_text(1, x, cols - x, A_NORMAL, "  xruns ");
    x += put_fmt(1, x, cols - x, st->xruns ? pair(mt, PAIR_YELLOW) | A_BOLD : A_NORMAL, "%lld",
                 (long long)st->xruns);
    x += put_text(1, x, cols - x, A_NORMAL, "  dropped ");
    put_fmt(1, x, cols - x, st->dropped ? red(mt) : A_NORMAL, "%lld", (long long)st->dropped);
}

static void
draw_rule(const struct meter *mt, int y, int cols)
{
    attrset(A_DIM);
    mvhline(y, 0, mt->glyphs == GLYPHS_ASCII ? '-' : ACS_HLINE, cols);
    attrset(A_NORMAL);
}

static void
draw_scale(int y, const struct layout *l)
{
    static const int marks[] = {0, -3, -6, -12, -18, -24, -36, -48, -60};
    int limit = l->bar_x + l->bar_w; /* labels go right to left, one column apart */

    put_text(y, l->bar_x - 5, 4, A_DIM, "dBFS");
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        char buf[8];
        int len = snprintf(buf, sizeof buf, "%d", marks[i]);
        int x = l->bar_x + bar_pos((float)marks[i], LEVEL_LO_DB, l->bar_w) / 8;
        if (x + len > l->bar_x + l->bar_w) {
            x = l->bar_x + l->bar_w - len;
        }
        if (x + len >= limit && i > 0) {
            continue;
        }
        put_text(y, x, len, A_DIM, buf);
        limit = x;
    }
}

/* Values shown for channel C of S (C < 0: both channels on one row). */
static void
chan_view(const struct strip *s, int c, struct chan *out, float *hold)
{
    int first = c < 0 ? 0 : c, last = c < 0 ? 1 : c;

    memset(out, 0, sizeof *out);
    out->peak = out->rms = *hold = SILENCE_DB;
    for (int i = first; i <= last; i++) {
        const struct chan *ch = &s->ch[i];
        float h = ch->reset && ch->since_reset < ch->hold ? ch->since_reset : ch->hold;
        out->peak = fmaxf(out->peak, ch->peak);
        out->rms = fmaxf(out->rms, ch->rms);
        *hold = fmaxf(*hold, h);
        out->clips += ch->clips - ch->clip_base;
    }
}

static void
draw_strip_row(const struct meter *mt, int y, const struct layout *l, const struct strip *s,
               int num, int c)
{
    struct chan v;
    float hold;
    char buf[32];
    bool stale = !connected(mt) || !s->has_levels;
    struct bar b = {.lo = LEVEL_LO_DB, .yellow = ZONE_YELLOW, .redz = ZONE_RED, .mark = NAN};

    if (c <= 0) {
        if (num > 0) {
            put_fmt(y, 0, 3, A_BOLD, "%2d", num);
        }
        put_text(y, 3, l->name_w, A_BOLD, s->name);
        if (num > 0) {
            put_text(y, 3 + l->name_w + 1, 3, s->armed ? red(mt) : A_DIM, s->armed ? "[R]" : "[ ]");
        }
    }
    put_text(y, l->bar_x - 3, 2, A_DIM, c < 0 ? "LR" : c == 0 ? "L" : "R");
    chan_view(s, c, &v, &hold);
    b.fill = v.rms;
    b.peak = v.peak;
    b.hold = hold;
    b.stale = stale;
    draw_bar(mt, y, l->bar_x, l->bar_w, &b);
    fmt_db(buf, sizeof buf, v.peak);
    put_fmt(y, l->num_x, 6, stale ? A_DIM : v.peak >= ZONE_RED ? red(mt) : A_NORMAL, "%6s", buf);
    if (v.clips > 0) {
        if (v.clips > 999) {
            put_text(y, l->extra_x, l->extra_w, red(mt) | A_REVERSE, "CLIP 999+");
        } else {
            put_fmt(y, l->extra_x, l->extra_w, red(mt) | A_REVERSE, "CLIP %lld",
                    (long long)v.clips);
        }
    }
}

static int
draw_strip(const struct meter *mt, int y, const struct layout *l, const struct strip *s, int num,
           int rows)
{
    if (rows == 1) {
        draw_strip_row(mt, y, l, s, num, -1);
        return 1;
    }
    draw_strip_row(mt, y, l, s, num, 0);
    draw_strip_row(mt, y + 1, l, s, num, 1);
    return 2;
}

static int
draw_null(const struct meter *mt, int y, int cols, const struct layout *l)
{
    const struct null_mon *nm = &mt->nm;
    bool stale = !connected(mt) || !nm->known;
    struct bar b = {.lo = NULL_LO_DB,
                    .yellow = nm->threshold,
                    .redz = nm->threshold,
                    .fill = nm->rms,
                    .peak = nm->peak,
                    .hold = NAN,
                    .mark = nm->threshold,
                    .stale = stale};
    char pk[16], rms[16], worst[16], thr[16], when[16];
    int x, y0 = y;

    put_text(y, 3, l->bar_x - 4, A_BOLD, "Null residual");
    if (!nm->known) {
        b.fill = b.peak = SILENCE_DB;
        b.mark = NAN;
        b.yellow = b.redz = 1.0f;
    }
    draw_bar(mt, y, l->bar_x, l->bar_w, &b);
    fmt_db(pk, sizeof pk, nm->known ? nm->peak : SILENCE_DB);
    fmt_db(rms, sizeof rms, nm->known ? nm->rms : SILENCE_DB);
    put_fmt(y, l->num_x, 6, stale ? A_DIM : A_NORMAL, "%6s", pk);
    put_fmt(y, l->extra_x, l->extra_w, A_DIM, "rms %s", rms);
    y++;

    x = 3;
    if (!nm->known) {
        put_text(y, x, cols - x, A_DIM, "no null data yet");
        return l->null_lines;
    }
    fmt_db(worst, sizeof worst, nm->worst);
    fmt_db(thr, sizeof thr, nm->threshold);
    if (nm->flagged) {
        int64_t f = nm->first_frame >= 0                ? nm->first_frame
                    : nm->alarm && nm->alarm_frame >= 0 ? nm->alarm_frame
                                                        : nm->worst_frame;
        x +=
            put_fmt(y, x, cols - x, red(mt) | A_REVERSE, " NULL FAIL at frame %lld ", (long long)f);
        if (mt->st.samplerate > 0 && cols >= 100) {
            fmt_time(when, sizeof when, f, mt->st.samplerate);
            x += put_fmt(y, x, cols - x, red(mt), " (%s)", when);
        }
    } else {
        x += put_text(y, x, cols - x, pair(mt, PAIR_GREEN) | A_BOLD, "NULL OK");
    }
    x += put_text(y, x, cols - x, A_NORMAL, "   take worst ");
    if (nm->worst_frame >= 0) {
        x += put_fmt(y, x, cols - x, nm->worst > nm->threshold ? red(mt) : A_BOLD, "%s", worst);
        x += put_fmt(y, x, cols - x, A_NORMAL, " dBFS at frame %lld", (long long)nm->worst_frame);
        if (mt->st.samplerate > 0 && cols >= 100) {
            fmt_time(when, sizeof when, nm->worst_frame, mt->st.samplerate);
            x += put_fmt(y, x, cols - x, A_NORMAL, " (%s)", when);
        }
    } else {
        x += put_text(y, x, cols - x, A_DIM, "none yet");
    }

    /* threshold and lag: a line of their own, or after the verdict when space is short */
    if (l->null_lines >= 3) {
        y++;
        x = 3;
    } else {
        x += 3;
    }
    x += put_fmt(y, x, cols - x, A_NORMAL, "threshold %s dBFS   ", thr);
    if (!nm->lag_valid) {
        put_text(y, x, cols - x, A_DIM, "lag: no reliable measurement");
    } else if (nm->lag > 0) {
        put_fmt(y, x, cols - x, pair(mt, PAIR_YELLOW) | A_BOLD, "mix lags stems by %lld sample%s",
                (long long)nm->lag, nm->lag == 1 ? "" : "s");
    } else if (nm->lag < 0) {
        put_fmt(y, x, cols - x, pair(mt, PAIR_YELLOW) | A_BOLD, "mix leads stems by %lld sample%s",
                (long long)-nm->lag, nm->lag == -1 ? "" : "s");
    } else {
        put_text(y, x, cols - x, A_DIM, "mix and stems aligned (lag 0)");
    }
    return y - y0 + 1;
}

static void
draw_footer(const struct meter *mt, int rows, int cols, const struct layout *l, int64_t now)
{
    static const char keys[] = " q quit  s start/stop  r reset holds  1-8 arm/disarm";

    if (mt->note[0] && now < mt->note_until) {
        put_fmt(rows - 2, 0, cols, mt->note_error ? red(mt) : A_BOLD, " %s", mt->note);
    }
    attrset(A_REVERSE);
    mvhline(rows - 1, 0, ' ', cols);
    put_text(rows - 1, 0, cols, A_REVERSE, keys);
    if (l && l->reduced && cols - (int)sizeof keys > 24) {
        put_text(rows - 1, cols - 24, 24, A_REVERSE | A_DIM, "compact: enlarge for all");
    }
}

static void
draw_too_small(const struct meter *mt, int rows, int cols)
{
    char buf[128];
    int y = rows / 2 - 1;

    snprintf(buf, sizeof buf, "terminal too small: %dx%d", cols, rows);
    put_text(y < 0 ? 0 : y, 0, cols, A_BOLD, buf);
    snprintf(buf, sizeof buf, "need at least %dx%d", MIN_COLS, min_rows(mt));
    put_text(y + 1 < rows ? y + 1 : 0, 0, cols, A_NORMAL, buf);
    if (y + 2 < rows) {
        put_text(y + 2, 0, cols, A_DIM, "q quits");
    }
}

static void
draw(struct meter *mt, int64_t now)
{
    struct layout l;
    int rows, cols, y;

    getmaxyx(stdscr, rows, cols);
    erase();
    if (plan_layout(mt, rows, cols, &l) < 0) {
        draw_too_small(mt, rows, cols);
        refresh();
        return;
    }
    draw_header(mt, cols);
    if (mt->lost) {
        char msg[256];
        snprintf(msg, sizeof msg, " no answer from stemcapd at %s %s retrying", mt->peer,
                 mt->glyphs == GLYPHS_UTF8 ? "\u2014" : "--");
        attrset(pair(mt, PAIR_BANNER) | A_BOLD | (mt->colour ? 0 : A_REVERSE));
        mvhline(2, 0, ' ', cols);
        put_text(2, 0, cols, pair(mt, PAIR_BANNER) | A_BOLD | (mt->colour ? 0 : A_REVERSE), msg);
    } else if (!mt->heard) {
        put_fmt(2, 0, cols, A_DIM, " connecting to stemcapd at %s ...", mt->peer);
    } else {
        draw_rule(mt, 2, cols);
    }
    y = 3;
    if (l.scale) {
        draw_scale(y++, &l);
    }
    if (stem_count(mt) == 0) {
        put_text(y++, 3, cols - 3, A_DIM,
                 mt->layout_known ? "no stems registered" : "asking stemcapd for its stems ...");
    }
    for (int n = 1; n <= PROTO_MAX_STEMS; n++) {
        if (mt->stems[n].registered) {
            y += draw_strip(mt, y, &l, &mt->stems[n], n, l.stem_rows);
        }
    }
    y += draw_strip(mt, y, &l, &mt->mix, 0, l.mix_rows);
    draw_rule(mt, y++, cols);
    draw_null(mt, y, cols, &l);
    draw_footer(mt, rows, cols, &l, now);
    refresh();
}

/* ---- keys --------------------------------------------------------------------------------- */

static void
on_key(struct meter *mt, int key)
{
    switch (key) {
    case 'q':
    case 'Q':
    case 3: /* ^C when the terminal does not send SIGINT */
        quit_signal = SIGINT;
        break;
    case KEY_RESIZE:
        mt->dirty = true;
        break;
    case 12: /* ^L */
        clearok(curscr, TRUE);
        mt->dirty = true;
        break;
    case 's':
    case 'S':
        if (!connected(mt) || !mt->st.known) {
            note(mt, true, "not connected: cannot start or stop");
        } else if (strcmp(mt->st.state, "recording") == 0) {
            send_plain(mt, PROTO_STOP);
            note(mt, false, "stopping the take ...");
        } else {
            send_plain(mt, PROTO_START);
            note(mt, false, "starting a take ...");
        }
        break;
    case 'r':
    case 'R':
        for (int n = 1; n <= PROTO_MAX_STEMS; n++) {
            reset_chan(&mt->stems[n].ch[0]);
            reset_chan(&mt->stems[n].ch[1]);
        }
        reset_chan(&mt->mix.ch[0]);
        reset_chan(&mt->mix.ch[1]);
        note(mt, false, "peak holds and clip counts reset (display only)");
        break;
    default:
        if (key >= '1' && key <= '0' + PROTO_MAX_STEMS) {
            int n = key - '0';
            if (!connected(mt)) {
                note(mt, true, "not connected: cannot arm stem %d", n);
            } else if (mt->layout_known && !mt->stems[n].registered) {
                note(mt, true, "stem %d is not registered", n);
            } else {
                send_arm(mt, n, !mt->stems[n].armed);
            }
        }
        break;
    }
}

/* ---- main loop ---------------------------------------------------------------------------- */

static void
init_colours(struct meter *mt)
{
    mt->colour = has_colors();
    if (!mt->colour) {
        return;
    }
    start_color();
    use_default_colors();
    init_pair(PAIR_GREEN, COLOR_GREEN, -1);
    init_pair(PAIR_YELLOW, COLOR_YELLOW, -1);
    init_pair(PAIR_RED, COLOR_RED, -1);
    init_pair(PAIR_BANNER, COLOR_WHITE, COLOR_RED);
    init_pair(PAIR_TITLE, COLOR_CYAN, -1);
}

static int64_t
min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static void
run(struct meter *mt, const sigset_t *wait_mask)
{
    mt->last_rx_ms = now_ms(); /* the banner comes LOST_MS after the start if nothing does */
    send_subscribe(mt);
    send_plain(mt, PROTO_PING);
    send_plain(mt, PROTO_STATUS);
    ask_layout(mt);
    mt->dirty = true;

    while (!quit_signal) {
        struct pollfd pfd[2] = {
            {.fd = 0, .events = POLLIN},
            {.fd = oscc_fd(mt->osc), .events = POLLIN}, /* ignored by ppoll() when -1 */
        };
        int64_t now = now_ms(), due = now + IDLE_MS;
        struct timespec ts;
        sigset_t pending;
        int rc, key;

        /* timers */
        if (!mt->lost && now - mt->last_rx_ms >= LOST_MS) {
            mt->lost = true; /* the banner */
            mt->dirty = true;
            mt->next_sub_ms = now; /* and retry now, then every second */
        }
        if (now >= mt->next_sub_ms) {
            send_subscribe(mt);
        }
        if (mt->layout_pending && connected(mt) && now - mt->layout_asked_ms >= LAYOUT_RETRY_MS) {
            ask_layout(mt);
        }
        if (mt->note[0] && now >= mt->note_until) {
            mt->note[0] = '\0';
            mt->dirty = true;
        }
        if (mt->dirty && now - mt->last_draw_ms >= FRAME_MS) {
            draw(mt, now);
            mt->dirty = false;
            mt->last_draw_ms = now;
        }

        due = min64(due, mt->next_sub_ms);
        if (!mt->lost) {
            due = min64(due, mt->last_rx_ms + LOST_MS);
        }
        if (mt->layout_pending && connected(mt)) {
            due = min64(due, mt->layout_asked_ms + LAYOUT_RETRY_MS);
        }
        if (mt->note[0]) {
            due = min64(due, mt->note_until);
        }
        if (mt->dirty) {
            due = min64(due, mt->last_draw_ms + FRAME_MS);
        }
        if (oscc_pending(mt->osc) || mt->logged[0]) {
            due = now; /* the rest of a bundle, an error line to show */
        }
        due -= now;
        if (due < 0) {
            due = 0;
        }
        ts.tv_sec = due / 1000;
        ts.tv_nsec = due % 1000 * 1000000;
        rc = ppoll(pfd, 2, &ts, wait_mask);
        if (rc < 0 && errno != EINTR) {
            break;
        }
        /* ppoll() delivers the signals it unblocks only when it fails with EINTR: one that came
         * while busy stays pending as long as some descriptor is ready at every call */
        sigpending(&pending);
        if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
            sigismember(&pending, SIGHUP)) {
            break;
        }
        if (rc > 0 && (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL))) {
            break; /* the terminal went away */
        }
        if (rc < 0 || pfd[0].revents) {
            while ((key = getch()) != ERR) {
                on_key(mt, key);
            }
        }
        show_logged(mt);
        if (oscc_pending(mt->osc) || (rc > 0 && pfd[1].revents)) {
            receive(mt);
        }
    }
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"rate", required_argument, NULL, 'r'},
        {"ascii", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    static struct meter mt; /* large: not on the stack */
    const char *host = getenv("STEMCAP_HOST");
    const char *port = getenv("STEMCAP_PORT");
    int port_from_env = 1, opt;
    long port_number;
    bool ascii = false;
    struct sigaction sa;
    sigset_t block, wait_mask;
    SCREEN *scr;
    char *end;

    if (!host || !*host) {
        host = PROTO_DEFAULT_HOST;
    }
    if (!port || !*port) {
        port = PROTO_DEFAULT_PORT_STR;
        port_from_env = 0;
    }
    mt.hz = DEFAULT_HZ;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":H:p:r:ahV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'H':
            host = optarg;
            break;
        case 'p':
            port = optarg;
            port_from_env = 0;
            break;
        case 'r':
            errno = 0;
            mt.hz = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(mt.hz >= MIN_HZ && mt.hz <= MAX_HZ)) {
                return usage_error("bad rate '%s': expected %g to %g updates per second", optarg,
                                   MIN_HZ, MAX_HZ);
            }
            break;
        case 'a':
            ascii = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("stemcap-meter %s\n", STEMCAP_VERSION);
            return 0;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            if (optopt) {
                return usage_error("unknown option '-%c'", optopt);
            }
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return usage_error("unexpected argument '%s'", argv[optind]);
    }
    if (!*host) {
        return usage_error("empty host name");
    }
    if (oscc_parse_int(port, 1, 65535, &port_number) < 0) {
        return usage_error("bad port '%s'%s: expected a number 1-65535", port,
                           port_from_env ? " (from STEMCAP_PORT)" : "");
    }
    if (!isatty(0) || !isatty(1)) {
        fputs("stemcap-meter: standard input and output must be a terminal\n", stderr);
        return EXIT_FAILURE_;
    }

    setlocale(LC_ALL, "");
    mt.glyphs = ascii                                        ? GLYPHS_ASCII
                : strcmp(nl_langinfo(CODESET), "UTF-8") == 0 ? GLYPHS_UTF8
                                                             : GLYPHS_ACS;
    mt.osc = oscc_open(host, port);
    if (!mt.osc) {
        return EXIT_FAILURE_;
    }
    mt.peer = oscc_peer(mt.osc);
    mt.mix.registered = true;
    snprintf(mt.mix.name, sizeof mt.mix.name, "%s", NAMING_MIX);
    for (int n = 1; n <= PROTO_MAX_STEMS; n++) {
        for (int c = 0; c < 2; c++) {
            mt.stems[n].ch[c].peak = mt.stems[n].ch[c].rms = mt.stems[n].ch[c].hold = SILENCE_DB;
        }
    }
    for (int c = 0; c < 2; c++) {
        mt.mix.ch[c].peak = mt.mix.ch[c].rms = mt.mix.ch[c].hold = SILENCE_DB;
    }
    mt.nm.threshold = SILENCE_DB;
    mt.nm.worst_frame = -1;
    mt.nm.first_frame = -1;

    /* Our handlers go in before ncurses starts, so it leaves INT/TERM/HUP to us (it installs
     * its own only over the defaults) and keeps its SIGWINCH handler for KEY_RESIZE. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGWINCH);
    sigprocmask(SIG_BLOCK, &block, &wait_mask);
    sigdelset(&wait_mask, SIGINT);
    sigdelset(&wait_mask, SIGTERM);
    sigdelset(&wait_mask, SIGHUP);
    sigdelset(&wait_mask, SIGWINCH);

    scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        fprintf(stderr, "stemcap-meter: cannot use the terminal (TERM=%s)\n",
                getenv("TERM") ? getenv("TERM") : "");
        oscc_close(mt.osc);
        return EXIT_FAILURE_;
    }
    set_term(scr);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    init_colours(&mt);
    oscc_set_log(log_to_footer, &mt);

    run(&mt, &wait_mask);

    send_plain(&mt, PROTO_UNSUBSCRIBE);
    oscc_set_log(NULL, NULL);
    endwin();
    delscreen(scr);
    oscc_close(mt.osc);
    return 0;
}
