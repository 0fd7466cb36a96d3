/* meter.h - stemcap-meter's private header: the state every part shares (struct meter) and the
 * functions one part calls in another, prefixed by the part's file: model_ (model.c: the state,
 * the conversation with stemcapd), screen_ (screen.c: curses drawing), input_ (input.c: keys).
 * main.c holds the options and the loop. One thread: nothing here is locked. */
#ifndef STEMCAP_METER_H
#define STEMCAP_METER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "protocol.h"

struct oscc;

#define SILENCE_DB   (-150.0f) /* what stemcapd reports for silence */
#define MAX_SHOWN_DB 99.0f

#define RENEW_MS        10000 /* subscription renewal */
#define RETRY_MS        1000  /* subscribe retry while unanswered */
#define LOST_MS         2000  /* silence before the "no answer" banner */
#define LAYOUT_RETRY_MS 2000  /* re-ask /stemcap/stems if the answer is incomplete */
#define UNKNOWN_STEM_MS 5000  /* least time between layout requests for unknown stems */
#define FRAME_MS        33    /* at most ~30 redraws a second */
#define NOTE_MS         4000  /* footer messages */
#define IDLE_MS         1000  /* longest ppoll() wait */

enum glyph_set { GLYPHS_UTF8, GLYPHS_ACS, GLYPHS_ASCII };

struct chan {
    float peak, rms, hold; /* dBFS as sent */
    int64_t clips;
    bool reset;        /* 'r' pressed: hide holds older than the reset */
    float since_reset; /* highest peak seen since */
    int64_t clip_base; /* clips counted before the reset */
};

/* EBU R 128 figures of the strip's file in the current or last take (SILENCE_DB: not measured
 * yet; integrated needs 400 ms, short-term 3 s). */
struct loudness {
    float integrated, lra, true_peak, max_momentary, max_short_term;
};

struct strip {
    bool registered;
    bool armed;
    bool mono; /* one port (its /stemcap/stem names no right port): one bar */
    bool has_levels;
    char name[64];
    struct chan ch[2];
    struct loudness loud;
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
    bool quit; /* a key asked to quit */

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
    bool seen_mono[PROTO_MAX_STEMS + 1];

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

static inline int64_t
meter_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* model.c */
/* The state before anything is heard: silence everywhere, the mix strip, rate HZ. */
void model_init(struct meter *mt, struct oscc *osc, double hz, enum glyph_set glyphs);
/* Route oscclient's log to the footer and ask for everything; model_stop() unsubscribes and
 * gives the log back to stderr. */
void model_start(struct meter *mt);
void model_stop(struct meter *mt);
/* The timers due at NOW: the banner, subscribing, the layout retry, the footer's expiry. */
void model_tick(struct meter *mt, int64_t now);
/* When model_tick() or model_receive() has something to do next (drawing aside). */
int64_t model_next_due(const struct meter *mt, int64_t now);
/* Whether model_receive() has messages to apply that poll() on oscc_fd() does not see. */
bool model_has_pending(const struct meter *mt);
/* Apply what has arrived (a bounded number of messages); show oscclient's last error line, held
 * back by the log hook until the keys of the round are handled. */
void model_receive(struct meter *mt);
void model_show_logged(struct meter *mt);
bool model_connected(const struct meter *mt);
void model_note(struct meter *mt, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void model_send(struct meter *mt, const char *path);
void model_send_arm(struct meter *mt, int n, int on);
/* 'r': hide the holds and clip counts so far (display only). */
void model_reset_holds(struct meter *mt);

/* screen.c */
/* Take the terminal (stdin, stdout): 0, or -1 (reported). */
int screen_open(struct meter *mt);
void screen_close(void);
void screen_draw(struct meter *mt, int64_t now);

/* input.c */
/* Handle the keys waiting. */
void input_keys(struct meter *mt);

#endif
