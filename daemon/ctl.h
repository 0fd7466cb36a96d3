/* ctl — the daemon's control state and the operations every front end
 * (OSC, signals) uses: start, stop, follow the transport, arm, names, song,
 * status.  Runs on the control (main) thread only. */
#ifndef STEMCAP_CTL_H
#define STEMCAP_CTL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "align.h"
#include "conf.h"
#include "manifest.h"
#include "engine.h"
#include "hooks.h"
#include "monitor.h"
#include "take.h"
#include "writer.h"

#define CTL_REASON_MAX 512

/* State changes the OSC front end pushes to subscribers (ctl.events). */
enum {
    CTL_EV_STATUS = 1 << 0,  /* a take started or stopped, follow changed */
    CTL_EV_SONG = 1 << 1,    /* a [song] key changed: see song_changed */
    CTL_EV_ALARM = 1 << 2,   /* the null alarm of the take fired */
    CTL_EV_ARM = 1 << 3,     /* see arm_changed */
    CTL_EV_NAME = 1 << 4,    /* see name_changed */
    CTL_EV_ERROR = 1 << 5,   /* a fault the operator must know of: error_text */
    CTL_EV_WARNING = 1 << 6, /* a [mastering] rule broken while recording: warning[] */
};

/* The control state.  Only ctl.c reads or writes these fields; the front
 * ends use the functions below. */
struct ctl {
    struct conf conf; /* running configuration: song, names, arm states */
    struct engine engine;
    struct writer writer;
    int rootfd;
    char root[PATH_MAX];
    int notify_fd;
    int engine_up;
    struct monitor monitor;
    int monitor_up;
    struct align align; /* the mix's alignment */
    struct hooks hooks; /* [hooks]: commands run on take events */

    unsigned events;                 /* CTL_EV_* since the front end last looked */
    unsigned arm_changed;            /* bit per stem (0-based) */
    unsigned name_changed;           /* bit per stem (0-based) */
    unsigned song_changed;           /* bit per [song] key, in proto_song_keys order */
    char error_text[CTL_REASON_MAX]; /* the last fault pushed */
    char warning[8][CTL_REASON_MAX]; /* [mastering] warnings not pushed yet */
    int nwarnings;
    unsigned warned_peak, warned_tp; /* bit per file of the take: warned of already */
    float alarm_db;                  /* the last alarm */
    int64_t alarm_frame;

    /* Two takes: the current (or last) one, and the next one, prepared in
     * advance (folder and files open) and offered to the engine. */    /* The [mastering] verdicts of the last take that ended. */
    int nverdicts;
    struct manifest_verdict verdict[MANIFEST_MAX_VERDICTS];
    struct take slot[2];
    struct take *cur;  /* recording, or the last take; NULL before the first */
    struct take *next; /* prepared and offered; NULL when none */
    unsigned next_id;
    int recording;
    int following; /* follow the JACK transport */
    unsigned xrun_base;
    int last_failed;
    const char *stop_why;   /* ended_by of a take ctl_stop() ends */
    double latency_checked; /* when capture latencies were last read */
    double reconnect_at;    /* JACK gone: when to try the server again */
    double reconnect_wait;  /* the back-off, seconds */
};

struct ctl_status {
    /* "idle", "waiting" (following, armed), "recording", or "offline" (no
     * JACK server: retrying) */
    const char *state;
    int take; /* NN of the current or last take, 0 if none */
    uint64_t frames;
    unsigned xruns;
    uint64_t dropped;
    const char *song;     /* song of the current or last take, else the next one */
    const char *take_dir; /* folder of the current or last take, "" if none */
    uint32_t rate;
    /* The mix's alignment: of the current or last take (frames the mix
     * lags the stems, and where that came from: align.h), else the null
     * test's offset now and "measured", "not measured" or "off". */
    int mix_offset;
    const char *alignment;
    /* Why the current or last take failed (a write error, its folder
     * removed or its disk gone), "" when it did not. */
    const char *fault;
};

/* Read-only views for the front ends (osc.c, nsm.c, main.c): they never
 * read struct ctl's fields themselves. */
struct ctl_stem {
    const char *name; /* as the user gave it; "Mix" for the mix */
    int armed;        /* the mix: record_mix */
    const char *port[2];
};
/* Stem 1..8, or 0 for the mix.  Returns 0, or -1 when not registered. */
int ctl_stem(const struct ctl *c, int stem, struct ctl_stem *out);
/* The value of a [song] key for the next take, or NULL for an unknown key. */
const char *ctl_song(const struct ctl *c, const char *key);
int ctl_recording(const struct ctl *c);
int ctl_following(const struct ctl *c);
/* Levels of stem 1..8 or the mix (0), and the null test, now. */
void ctl_level(struct ctl *c, int stem, struct monitor_level *l);
void ctl_null(struct ctl *c, struct monitor_null *n);
/* EBU R 128 figures of stem 1..8's file (0: the mix's) in the current
 * take (live) or the last one; floors (LOUDNESS_FLOOR, 0 LU) when the take
 * has no such file.  Returns 1 when it has, else 0. */
int ctl_loudness(const struct ctl *c, int stem, struct loudness_figs *f);
/* The [mastering] verdicts of the last take that ended: how many, and one. */
int ctl_verdicts(const struct ctl *c);
const struct manifest_verdict *ctl_verdict(const struct ctl *c, int i);
struct ctl_stats {
    struct monitor_stats rt; /* the real-time budget and the ring */
    float jack_load;         /* JACK's DSP load, % (0 without a server) */
    float write_max_ms;      /* slowest write since the last reset */
};
void ctl_stats(struct ctl *c, struct ctl_stats *s);
void ctl_stats_reset(struct ctl *c);
/* Files of the current or last take (0 before the first); file I's stem
 * (0: the mix), its label and its file name. */
int ctl_take_nfiles(const struct ctl *c);
void ctl_take_file(const struct ctl *c, int i, int *stem, const char **label, const char **name);
/* What changed since the front ends last looked (CTL_EV_* and the details);
 * peeking leaves them, ctl_events_clear() starts over. */
struct ctl_events {
    unsigned events, arm_changed, name_changed, song_changed; /* bits: stem - 1, song key */
    const char *error_text;
    int nwarnings;
    const char (*warning)[CTL_REASON_MAX];
    float alarm_db;
    int64_t alarm_frame;
    int take; /* of the alarm: the current or last take, 0 if none */
};
void ctl_events_peek(const struct ctl *c, struct ctl_events *ev);
void ctl_events_clear(struct ctl *c);
/* The running configuration as a session would save it (transport
 * following as it is now). */
void ctl_snapshot(const struct ctl *c, struct conf *out);
/* Progress counters for the watchdog: JACK cycles and the disk thread's
 * loops (both only grow while they work).  Returns 1, or 0 while no JACK
 * server is connected (*cycles is then 0). */
int ctl_progress(const struct ctl *c, uint64_t *cycles, unsigned long *writer_loops);

/* Opens the capture root, the JACK client and the writer.  Returns 0 or -1
 * (logged); on -1 nothing is left running. */
int ctl_init(struct ctl *c, const struct conf *conf, int notify_fd);
/* Stops any take, gives up a prepared one and releases everything. */
void ctl_shutdown(struct ctl *c);

/* Operations.  Each returns 0, or -1 with a one-line reason in `why`
 * (CTL_REASON_MAX bytes). */
int ctl_start(struct ctl *c, char *why);
int ctl_stop(struct ctl *c, char *why);
int ctl_follow(struct ctl *c, int on, char *why);
int ctl_arm(struct ctl *c, int stem, int armed, char *why); /* stem 1..8 */
int ctl_get_arm(struct ctl *c, int stem, int *armed, char *why);
int ctl_set_stem_name(struct ctl *c, int stem, const char *name, char *why);
int ctl_set_song(struct ctl *c, const char *key, const char *value, char *why);
void ctl_status(struct ctl *c, struct ctl_status *s);

/* SIGHUP: applies what can change while running from a freshly loaded,
 * valid configuration (song metadata, stem names, arm states, connections,
 * min_free_mb, follow_transport) without touching a take in progress, and
 * logs the settings that need a restart.  Returns 0. */
int ctl_reload(struct ctl *c, const struct conf *n);

/* How many milliseconds the control loop may sleep before it must call
 * ctl_poll again: CTL_TICK_FOLLOW_MS while following the transport (a take
 * that starts must have the next one prepared before the DAW relocates
 * again), else CTL_TICK_MS; OSC traffic and JACK notifications wake the loop
 * earlier anyway. */
#define CTL_TICK_FOLLOW_MS 25
#define CTL_TICK_MS        100
int ctl_tick_ms(const struct ctl *c);

/* Housekeeping after a wake-up or a timer tick: take events from the
 * engine, meters, the null alarm, configured connections for ports that
 * appeared, a write error or a vanished server ending the take. */
void ctl_poll(struct ctl *c);

#endif
