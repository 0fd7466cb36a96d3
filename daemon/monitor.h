/* monitor — levels and the live null test, off the real-time thread: it
 * reads the engine's meter records and keeps the windowed
 * levels, peak holds, clip counts, the residual, the take's worst residual,
 * the null alarm and the measured lag between the stems' sum and the mix.
 * Control thread only. */
#ifndef STEMCAP_MONITOR_H
#define STEMCAP_MONITOR_H

#include <stdint.h>

#include "lag.h"
#include "engine.h"
#include "meter.h"

#define MONITOR_CB_BINS 2000 /* callback-time histogram: 1 us bins */
#define MONITOR_PROV    1024 /* records of a take kept until its alignment is known */

struct monitor_level {
    float peak_db[2], rms_db[2]; /* window */
    float hold_db[2];            /* highest peak since the take started */
    uint32_t clips[2];           /* since the take started */
};

struct monitor_null {
    float peak_db, rms_db; /* residual over the window (worse side) */
    float worst_db;        /* take: worst residual peak, -150 if none */
    int64_t worst_frame;   /* take-relative, -1 when no take */
    int flagged;           /* take: the residual passed the threshold */
    int64_t first_frame;   /* take-relative frame of the first offence, -1 */
    uint64_t unjudged;     /* take: frames the engine could not vouch for (xruns) */
    float unjudged_db;     /* ... and their worst residual peak, -150 if none */
    int lag;               /* measured: mix lags the stems' sum by lag frames */
    int lag_valid;         /* a lag was measured (signals present, correlated) */
    float threshold_db;
    int offset; /* the offset the null test applies now (the newest record's) */
};

/* A measurement of the mix's lag that can be applied (see monitor.c). */
struct monitor_accept {
    unsigned seq; /* counts up with every acceptance */
    int lag;
    int exact; /* shifted by lag, the window nulled; else only correlated */
    double corr;
    float resid_db; /* residual of the window at lag */
};

/* A record of a take kept until the take's alignment is known. */
struct monitor_prov {
    uint64_t frame;  /* JACK frame of its first sample */
    uint64_t c0, c1; /* its first and last cycle */
    uint32_t nframes;
    int32_t offset;   /* the offset it was compared at */
    float peak;       /* its residual peak (worse side) */
    uint32_t peak_at; /* record-relative frame of the period with it */
    int32_t over[2];  /* record-relative first frame over the threshold, -1 */
};

struct monitor {
    struct engine *e;
    uint32_t rate;
    float thr; /* linear threshold */
    float threshold_db;
    uint32_t period; /* frames per period `quiet` was computed for */
    uint64_t quiet;  /* cycles around a graph change without alarms */
    uint32_t win_cap;
    void *mem; /* window storage */
    struct meter_win win[ENGINE_MAX_CH];
    struct meter_win rwin[2];
    /* Take statistics. */
    unsigned take; /* take id the statistics belong to, 0 = none */
    uint64_t take_start;
    float hold[ENGINE_MAX_CH];
    uint32_t clips[ENGINE_MAX_CH];
    float worst;
    uint64_t unjudged; /* the take's suspect frames (engine.h), not judged */
    float unjudged_peak;
    int64_t worst_frame;
    int flagged;
    int64_t first_frame;
    /* An offence seen but not yet committed: it becomes an alarm once
     * `quiet` cycles passed without a graph change near it. */
    int pending;
    uint64_t pending_c0, pending_cycle; /* cycles of the record it was in */
    int64_t pending_frame;
    float pending_peak;
    int alarm; /* an alarm was committed and not yet taken */
    /* Instrumentation since the take started (or the last reset): callback
     * times in a histogram of 1-microsecond bins, the ring's high-water
     * mark. */
    uint64_t cb_count;  /* callback times in the mean */
    uint64_t cb_hist_n; /* ... and in the histogram (most of them) */
    double cb_sum_us;
    uint32_t cb_max_ns;
    uint32_t cb_hist[MONITOR_CB_BINS + 1];
    uint32_t ring_fill_max; /* per mille */
    /* Lead-in: the loudest sample of any channel in the take's first bar. */
    uint64_t lead_frames;  /* length of the bar */
    uint64_t lead_covered; /* frames of it seen so far */
    float lead_peak;
    uint64_t last_cycle;
    /* Lag estimation (lag.c), while the null fails or the control thread
     * asks for it (MONITOR_LAG_*). */
    int failing;  /* the residual is over the threshold: the analysis runs */
    int want_lag; /* what the control thread wants besides */
    struct lag lag;
    struct lag_est est; /* the newest estimate */
    int est_valid;      /* ... recent and correlated */
    int est_run;        /* consecutive estimates at est.lag */
    uint64_t est_next;  /* history frame to estimate at next */
    double est_time;    /* wall time of the last estimate */
    double analysed;    /* wall time samples were last analysed */
    struct monitor_accept accept;
    /* The null passed with sound: counts up, and at which offset. */
    unsigned confirm_seq;
    int confirm_offset;
    int cur_offset; /* the newest record's offset */
    /* The take's offset, and its records kept while it is not yet known. */
    int take_offset;
    int provisional;
    struct monitor_prov *prov; /* MONITOR_PROV, allocated on first use */
    uint32_t nprov;
    int prov_full;        /* more records than it holds: judged as they came */
    uint64_t sound_until; /* records before this frame may have a residual at any offset */
    uint64_t first_sound; /* JACK frame of the first kept record with sound, 0 = none yet */
    uint32_t unverified;  /* take records judged at another offset than the take's */
};

/* Returns 0 or -1 (logged). */
int monitor_init(struct monitor *m, struct engine *e, const struct conf *c);
void monitor_free(struct monitor *m);
/* The period size (JACK's buffer-size callback): graph-change transients
 * are counted in periods. */
void monitor_set_period(struct monitor *m, uint32_t period);

/* A take starts (after the engine acknowledged it) or ends.  `offset` is
 * the null test's offset in its first cycle; with `provisional` the take's
 * offset is not known yet: its records are kept (as far as MONITOR_PROV
 * goes) until monitor_take_resolve() says at which offset to judge them. */
void monitor_take_start(struct monitor *m, unsigned take, uint64_t start_frame,
                        uint64_t lead_frames, int offset, int provisional);
/* The take's offset is known: every record kept so far is judged at it,
 * those compared at another offset again from the lag history (exactly;
 * records the history does not hold are left unjudged, and counted in
 * `unverified`), and so is every later record. */
void monitor_take_resolve(struct monitor *m, int offset);
/* What the control thread wants of the lag analysis besides what a failing
 * null starts by itself: MONITOR_LAG_OFF; MONITOR_LAG_KEEP, the engine's
 * lag samples keep flowing and the newest MONITOR_LAG_KEEP_S of them are
 * kept in its lag ring, unanalysed (a few hundred KB), so that an analysis
 * started by a failing null has the signals from just before it (the
 * first sound of a take waiting for its alignment); MONITOR_LAG_ANALYSE,
 * the analysis runs (about 2.5 MB, allocated the first time). */
enum { MONITOR_LAG_OFF, MONITOR_LAG_KEEP, MONITOR_LAG_ANALYSE };
#define MONITOR_LAG_KEEP_S 0.3 /* seconds of lag samples kept unanalysed */
void monitor_want_lag(struct monitor *m, int level);

/* Lead-in of the take: returns 1 when the whole first bar was seen (peak in
 * dBFS in *peak_db), else 0. */
int monitor_lead_in(const struct monitor *m, float *peak_db);

/* After the take's last period was fed: commits an offence still pending. */
void monitor_take_end(struct monitor *m);

/* Drains the engine's meter and lag rings; `now` is a monotonic time in
 * seconds (the lag is re-estimated at most once a second). */
void monitor_update(struct monitor *m, double now);

void monitor_level(const struct monitor *m, int ch_left, struct monitor_level *out);
void monitor_null(const struct monitor *m, struct monitor_null *out);
struct monitor_stats {
    double cb_mean_us, cb_p99_us, cb_max_us;
    uint64_t cycles;
    double ring_fill_max_pct;
};
void monitor_stats(const struct monitor *m, struct monitor_stats *out);
void monitor_stats_reset(struct monitor *m);

/* Returns 1 once per committed alarm (and fills peak/frame), else 0. */
int monitor_take_alarm(struct monitor *m, float *peak_db, int64_t *frame);

#endif
