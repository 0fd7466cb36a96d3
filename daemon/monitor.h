/* monitor — levels and the live null test, off the real-time thread: it
 * reads the engine's meter records and keeps the windowed
 * levels, peak holds, clip counts, the residual, the take's worst residual,
 * the null alarm and the measured lag between the stems' sum and the mix.
 * Control thread only. */
#ifndef STEMCAP_MONITOR_H
#define STEMCAP_MONITOR_H

#include <stdint.h>

#include "engine.h"
#include "meter.h"

#define MONITOR_CB_BINS     2000  /* callback-time histogram: 1 us bins */
#define MONITOR_LAG_HISTORY 16384 /* samples of sum and mix kept for lag */
#define MONITOR_LAG_WINDOW  4096  /* samples correlated */
#define MONITOR_LAG_MAX     1024  /* largest lag searched, +- */

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
    int lag;               /* measured: mix lags the stems' sum by lag frames */
    int lag_valid;         /* a lag was measured (signals present, correlated) */
    float threshold_db;
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
    /* Lag estimation. */
    int failing;                /* the residual is over the threshold: lag samples wanted */
    float *hist_sum, *hist_mix; /* allocated when the null first fails */
    int lag_nomem;
    uint32_t hist_pos, hist_fill;
    double last_lag_time;
    int lag, lag_valid;
};

/* Returns 0 or -1 (logged). */
int monitor_init(struct monitor *m, struct engine *e, const struct conf *c);
void monitor_free(struct monitor *m);
/* The period size (JACK's buffer-size callback): graph-change transients
 * are counted in periods. */
void monitor_set_period(struct monitor *m, uint32_t period);

/* A take starts (after the engine acknowledged it) or ends. */
void monitor_take_start(struct monitor *m, unsigned take, uint64_t start_frame,
                        uint64_t lead_frames);

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
