/* screen.c - stemcap-meter's curses screen, drawn from struct meter alone.
 *
 * Every frame is rebuilt with erase() and drawn by refresh(), so ncurses sends just the cells
 * that changed (no clear(), no flicker); main.c draws at most ~30 times a second and only when
 * something changed (mt->dirty). The layout shrinks step by step (no scale, one row per strip,
 * a shorter null block) until it fits, and says so in the key line; below the smallest one the
 * screen only says how large it needs to be.
 */
#include "meter.h"

#include <curses.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define LEVEL_LO_DB    (-60.0f)  /* channel bars */
#define NULL_LO_DB     (-150.0f) /* null residual bar */
#define ZONE_YELLOW    (-18.0f)
#define ZONE_RED       (-6.0f)
#define MIN_COLS       50
#define LOUD_COLS      70  /* from this width on, a loudness column */
#define LOUD_WIDE_COLS 100 /* and from this one, a wider one */

/* Colour pairs. */
enum { PAIR_GREEN = 1, PAIR_YELLOW, PAIR_RED, PAIR_BANNER, PAIR_TITLE };

enum glyph { G_FULL, G_EMPTY, G_PEAK, G_HOLD, G_MARK };

static SCREEN *scr;

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
    int loud_x, loud_w; /* loudness column, 0 wide when the terminal is narrow */
    bool scale;         /* dB scale row above the bars */
    int stem_rows;      /* 2: L and R; 1: both on one row */
    int mix_rows;       /* likewise */
    int null_lines;     /* 3 or 2 */
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
    /* " N name.. [R] L |bar...| -12.3 CLIP 999+ -23.4 LUFS  LRA 5.2" */
    l->bar_x = 3 + l->name_w + 1 + 3 + 1 + 2 + 1;
    l->extra_w = 10;
    l->loud_w = cols >= LOUD_WIDE_COLS ? 22 : cols >= LOUD_COLS ? 11 : 0;
    l->bar_w = cols - l->bar_x - (1 + 6 + 1 + l->extra_w) - l->loud_w;
    l->num_x = l->bar_x + l->bar_w + 1;
    l->extra_x = l->num_x + 7;
    l->loud_x = l->extra_x + l->extra_w;
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

/* Row 0: who, where; rate and state on the right. */
static void
draw_title(const struct meter *mt, int cols)
{
    const struct status *st = &mt->st;
    bool rec = st->known && strcmp(st->state, "recording") == 0;
    char state[64];
    attr_t sa;
    int x, w;

    x = put_fmt(0, 0, cols, A_BOLD | pair(mt, PAIR_TITLE), " stemcapd %s",
                mt->version[0] ? mt->version : "?");
    put_fmt(0, x, cols - x, A_NORMAL, " at %s", mt->peer);
    if (!st->known) {
        snprintf(state, sizeof state, "%s", model_connected(mt) ? "state ?" : "not connected");
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
}

/* Row 1: song on the left, take figures on the right. */
static void
draw_take_line(const struct meter *mt, int cols)
{
    const struct status *st = &mt->st;
    bool rec = st->known && strcmp(st->state, "recording") == 0;
    char when[32], figures[128];
    int x, w;

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
    bool stale = !model_connected(mt) || !s->has_levels;
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
    put_text(y, l->bar_x - 3, 2, A_DIM, s->mono ? "M" : c < 0 ? "LR" : c == 0 ? "L" : "R");
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

/* A loudness figure ("+" shown when SIGNED), "--" when not measured. */
static void
fmt_loud(char *buf, size_t size, float v, bool sign)
{
    if (v <= SILENCE_DB) {
        snprintf(buf, size, "--");
    } else if (sign) {
        snprintf(buf, size, "%+.1f", (double)v);
    } else {
        snprintf(buf, size, "%.1f", (double)v);
    }
}

/* The loudness column of S's row ROW of ROWS: integrated and true peak on the strip's two rows
 * (the loudness range after the integrated one when wide enough), or both on its one row. */
static void
draw_loud(const struct meter *mt, int y, const struct layout *l, const struct strip *s, int row,
          int rows)
{
    const struct loudness *ld = &s->loud;
    char i[16], tp[16], lra[16], buf[64];
    bool none = row == 0 ? ld->integrated <= SILENCE_DB : ld->true_peak <= SILENCE_DB;

    if (l->loud_w == 0) {
        return;
    }
    fmt_loud(i, sizeof i, ld->integrated, false);
    fmt_loud(tp, sizeof tp, ld->true_peak, true);
    fmt_loud(lra, sizeof lra, ld->lra, false);
    if (rows == 1) {
        snprintf(buf, sizeof buf, "%5s LUFS %5s dBTP", i, tp);
        none = ld->integrated <= SILENCE_DB && ld->true_peak <= SILENCE_DB;
    } else if (row == 0 && l->loud_w >= 22) {
        snprintf(buf, sizeof buf, "%5s LUFS  LRA %s", i, lra);
    } else if (row == 0) {
        snprintf(buf, sizeof buf, "%5s LUFS", i);
    } else {
        snprintf(buf, sizeof buf, "%5s dBTP", tp);
    }
    put_text(y, l->loud_x + 1, l->loud_w - 1, none || !model_connected(mt) ? A_DIM : A_NORMAL, buf);
}

static int
draw_strip(const struct meter *mt, int y, const struct layout *l, const struct strip *s, int num,
           int rows)
{
    if (rows == 1) {
        draw_strip_row(mt, y, l, s, num, -1);
        draw_loud(mt, y, l, s, 0, 1);
        return 1;
    }
    /* A mono stem: one bar (stemcapd sends its one channel as L and R, its clips in L). */
    draw_strip_row(mt, y, l, s, num, 0);
    if (!s->mono) {
        draw_strip_row(mt, y + 1, l, s, num, 1);
    }
    draw_loud(mt, y, l, s, 0, 2);
    draw_loud(mt, y + 1, l, s, 1, 2);
    return 2;
}

/* The residual's bar, peak and RMS. */
static void
draw_null_bar(const struct meter *mt, int y, const struct layout *l)
{
    const struct null_mon *nm = &mt->nm;
    bool stale = !model_connected(mt) || !nm->known;
    struct bar b = {.lo = NULL_LO_DB,
                    .yellow = nm->threshold,
                    .redz = nm->threshold,
                    .fill = nm->rms,
                    .peak = nm->peak,
                    .hold = NAN,
                    .mark = nm->threshold,
                    .stale = stale};
    char pk[16], rms[16];

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
}

/* "NULL OK   take worst -80.1 dBFS at frame 1234 (00:00.02)" from X on; returns the next X. */
static int
draw_null_verdict(const struct meter *mt, int y, int x, int cols)
{
    const struct null_mon *nm = &mt->nm;
    char worst[16], when[16];

    fmt_db(worst, sizeof worst, nm->worst);
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
    return x;
}

/* "threshold -60.0 dBFS   mix lags stems by 3 samples" from X on. */
static void
draw_null_lag(const struct meter *mt, int y, int x, int cols)
{
    const struct null_mon *nm = &mt->nm;
    char thr[16];

    fmt_db(thr, sizeof thr, nm->threshold);
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
}

/* The null test's block of l->null_lines rows: the bar, then the verdict, the threshold and the
 * lag on one or two lines. Returns the rows used. */
static int
draw_null(const struct meter *mt, int y, int cols, const struct layout *l)
{
    int x;

    draw_null_bar(mt, y, l);
    if (!mt->nm.known) {
        put_text(y + 1, 3, cols - 3, A_DIM, "no null data yet");
        return l->null_lines;
    }
    x = draw_null_verdict(mt, y + 1, 3, cols);
    if (l->null_lines >= 3) {
        draw_null_lag(mt, y + 2, 3, cols);
        return 3;
    }
    draw_null_lag(mt, y + 1, x + 3, cols);
    return 2;
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

void
screen_draw(struct meter *mt, int64_t now)
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
    draw_title(mt, cols);
    draw_take_line(mt, cols);
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

int
screen_open(struct meter *mt)
{
    scr = newterm(NULL, stdout, stdin);
    if (!scr) {
        fprintf(stderr, "stemcap-meter: cannot use the terminal (TERM=%s)\n",
                getenv("TERM") ? getenv("TERM") : "");
        return -1;
    }
    set_term(scr);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    init_colours(mt);
    return 0;
}

void
screen_close(void)
{
    endwin();
    delscreen(scr);
}
