/* engine — the JACK client: ports, connections, latencies, and the state
 * shared with the real-time process callback (process.c, the only
 * real-time code). */
#ifndef STEMCAP_ENGINE_H
#define STEMCAP_ENGINE_H

#include <jack/jack.h>
#include <jack/uuid.h>
#include <stdatomic.h>
#include <stdint.h>

#include "conf.h"
#include "ring.h"
#include "timeline.h"

/* Channel indexes: stem N (1-based) is 2(N-1) (L) and 2(N-1)+1 (R); the mix
 * follows the stems.  A mono stem ([stemN] channels = 1) has one port,
 * "stemN", on 2(N-1); nothing is registered on 2(N-1)+1, which the process
 * callback points at the same buffer, so the null test adds the mono stem
 * into both sides of the stems' sum (with a latency compensation of its
 * own: the two sides' delay lines are separate). */
#define ENGINE_MIX_L  (2 * CONF_MAX_STEMS)
#define ENGINE_MIX_R  (ENGINE_MIX_L + 1)
#define ENGINE_MAX_CH (ENGINE_MIX_R + 1)

/* [monitor] outputs: the null test as audio, per side. */
enum { ENGINE_OUT_RES_L, ENGINE_OUT_RES_R, ENGINE_OUT_SUM_L, ENGINE_OUT_SUM_R, ENGINE_NOUT };

#define ENGINE_REC_MAGIC 0x53544d43u /* "STMC" */

/* One ring record: a header, then `nch` planar blocks of `nframes` floats in
 * the order of the take's channel plan.  A record is a whole JACK period of
 * every recorded channel, or it does not exist. */
struct engine_rec {
    uint32_t magic;
    uint32_t take; /* take sequence id the period belongs to */
    uint32_t nframes;
    uint32_t nch;
    uint64_t frame;          /* JACK frame time of the first sample */
    uint64_t tframe;         /* transport frame of the first sample */
    uint64_t dropped_before; /* frames lost just before this period */
    uint32_t flags;          /* ENGINE_REC_* */
    /* The take's first record only: frames of the pre-roll (engine_hist)
     * that go into the files just before it, at frames
     * [frame - dropped_before - preroll, frame - dropped_before). */
    uint32_t preroll;
};
/* JACK began the next cycle while this period's inputs were being read: its
 * sources may have been writing the next cycle into them (jack2 runs a
 * graph again while a late client still reads), so channels may hold parts
 * of two cycles. */
#define ENGINE_REC_TORN 1u

/* Take events from the real-time thread, on the event ring. */
enum { ENGINE_EV_START = 1, ENGINE_EV_END = 2 };
/* Why the real-time thread ended a take (END events). */
enum {
    ENGINE_END_STOP = 0,      /* manual stop (/stemcap/stop, shutdown, a write error) */
    ENGINE_END_TRANSPORT = 1, /* following: the transport stopped */
    ENGINE_END_RELOCATE = 2,  /* following: the transport relocated while rolling */
    ENGINE_END_RATE = 3,      /* the server's sample rate changed */
};
struct engine_event {
    uint32_t type;
    uint32_t take;
    uint64_t frame;        /* START: JACK frame time of the first sample */
    uint64_t tframe;       /* START: transport frame of the first sample */
    uint64_t frames;       /* END: frames of the take, dropped ones included */
    uint64_t dropped;      /* END: frames dropped */
    uint64_t tail_dropped; /* END: dropped after the last record */
    uint64_t late_reads;   /* END: periods placed before the frame time read for them */
    uint32_t bar_frames;   /* START: one bar from the transport's BBT, 0 = none */
    uint32_t reason;       /* END: ENGINE_END_* */
    int32_t offset;        /* START: the null test's offset in the take's first cycle */
    uint32_t repeats;      /* END: late reads that held the next cycle's audio: lost */
};

/* Meter records, on the meter ring: the real-time thread gathers the cheap
 * per-period figures of up to `meter_frames` frames (ENGINE_METER_FRAMES at
 * most, always whole periods) into one record, recording or not; windows
 * and dBFS are computed by the control thread (monitor.c).  A record never
 * spans two takes, the end of a take's first bar, or a jump of the frame
 * clock.  When the ring is full the record keeps growing instead of being
 * dropped, so peaks, clips and the null residual are never lost; only the
 * windows get coarser while the control thread is behind.  Channels that
 * are not registered read 0. */
#define ENGINE_METER_FRAMES  512 /* ~11 ms at 48 kHz: 94 records a second */
#define ENGINE_METER_CB      32  /* callback times a record carries */
#define ENGINE_METER_RECS    64  /* records the meter ring holds */
#define ENGINE_DEFAULT_BAR_S 2   /* lead-in bar without the transport's BBT */
struct engine_meter {
    uint64_t cycle;   /* value of `cycles` for its first period */
    uint64_t frame;   /* JACK frame time (64-bit) of the first sample */
    uint32_t nframes; /* frames covered */
    uint32_t ncycles; /* periods covered */
    uint32_t take;    /* take recording in these periods, 0 = none */
    float peak[ENGINE_MAX_CH];
    float sumsq[ENGINE_MAX_CH];
    uint32_t clips[ENGINE_MAX_CH]; /* samples with |x| >= 1.0 */
    /* Null residual (sum of registered stems - mix), per side. */
    float rpeak[2];
    float rsumsq[2];
    int32_t rover[2];  /* record-relative frame of the first sample over the threshold, -1 */
    uint32_t rpeak_at; /* record-relative frame of the period with the highest residual */
    int32_t offset;    /* the null test's offset in these periods (a change starts a record) */
    /* Frames of it that are no evidence either way: a jump of the frame
     * clock (a skipped cycle or a late callback), a cycle JACK began anew
     * while they were read (torn inputs), and what the latency and offset
     * lines still carry of them. */
    uint32_t suspect;
    /* Instrumentation: callback times (each period reports the previous
     * one's), how full the capture ring got (per mille). */
    uint32_t ring_fill;
    uint32_t cb_n; /* callback times summed */
    uint32_t cb_max_ns;
    uint64_t cb_sum_ns;
    uint32_t ncb;                 /* of them, in cb[] */
    uint16_t cb[ENGINE_METER_CB]; /* 100 ns units, saturating */
};

/* Lag analysis: per cycle, a header and then nframes samples each of the
 * stems' sum L, the sum R, the mix L and the mix R, latency-compensated but
 * not offset, on the analysis ring (align.c reads them). */
#define ENGINE_LAG_STREAMS 4
struct engine_lag_rec {
    uint64_t frame;
    uint32_t nframes;
    uint32_t pad;
};

#define ENGINE_CHUNK    256  /* frames the residual is computed in at a time */
#define ENGINE_MAX_COMP 8192 /* largest latency difference compensated */
/* The null test's offset: the real-time thread keeps the last ENGINE_TAP
 * frames of the stems' sum and of the mix per side in four circular lines
 * (once the control thread has allocated them) and compares the sum
 * delayed by `offset` frames (or the mix by -offset), so a new offset takes
 * effect exactly, in the next cycle, with no transient. */
#define ENGINE_TAP        16384 /* a power of two */
#define ENGINE_MAX_OFFSET 8192  /* |offset| at most; ENGINE_TAP >= it + ENGINE_CHUNK */

/* Pre-roll ([capture] preroll_seconds): the last `cap` frames of every
 * registered channel, planar, frame f of the JACK clock at f % cap.  The
 * real-time thread writes it every cycle.  From a take's start until its
 * first record is placed, and while `busy` (set before it publishes a first
 * record that carries a pre-roll; the writer clears it once it has copied
 * the pre-roll into the files), it writes only as far as it can without
 * reaching the frames the take's pre-roll may take: ENGINE_HIST_SLACK_S
 * seconds, time enough for the writer, whose poll is 250 ms; beyond that
 * the history pauses and starts again. */
#define ENGINE_HIST_MARGIN  8192 /* frames: the first period placed back (timeline.h) */
#define ENGINE_HIST_SLACK_S 1    /* seconds of history written while the writer copies */
struct engine_hist {
    float *buf;             /* nreg x cap, allocated and locked at open; NULL = none */
    uint32_t cap;           /* frames per channel */
    uint32_t frames;        /* the pre-roll asked for ([capture] preroll_seconds) */
    int idx[ENGINE_MAX_CH]; /* row of each registered channel in buf */
    int locked;
    atomic_int busy;
};

struct engine {
    jack_client_t *client;
    jack_uuid_t client_uuid;          /* carries our pretty-name; empty when none set */
    jack_port_t *port[ENGINE_MAX_CH]; /* NULL where nothing is registered */
    /* [monitor] outputs: residual_L/R and sum_L/R, all NULL when off.  The
     * real-time thread writes, per side, the stems' sum as the null test
     * compares it (latency-compensated, delayed by a positive offset) and
     * the residual it judges (that sum minus the mix, sample for sample). */
    jack_port_t *out[ENGINE_NOUT];
    struct ring ring;        /* audio records of the take */
    struct engine_hist hist; /* the pre-roll */
    struct ring meter_ring;  /* struct engine_meter */
    /* struct engine_lag_rec + samples: allocated (touched and locked) by
     * the control thread the first time the null fails, engine_lag_ring(). */
    _Atomic(struct ring *) lag_ring;
    int lag_failed; /* its allocation failed: not tried again */
    /* The rate the ring, the meters and the takes are set up for: written
     * by the control thread only while no take records or is offered, and
     * mirrored in `arate` for the real-time thread, which records only
     * while it equals the server's rate in `srate` (PipeWire changes the
     * rate under running clients; jackd never does). */
    uint32_t rate;
    atomic_uint arate;
    atomic_uint srate;  /* JACK's sample-rate callback */
    atomic_uint period; /* frames per period, JACK's buffer-size callback */
    /* Fixed at open: registered channels and the null set-up. */
    int nreg;
    int reg_ch[ENGINE_MAX_CH];
    int nstems;
    int stem_ch[CONF_MAX_STEMS];  /* L channel of each registered stem */
    int stem_nch[CONF_MAX_STEMS]; /* ports of each stem slot: 2, 1 (mono), 0 */
    int nmono;
    int mono_ch[CONF_MAX_STEMS]; /* the channel of each mono stem (its R slot reads it) */
    float null_thr;              /* linear threshold for rover */
    /* The null test's offset (see ENGINE_TAP): > 0 delays the stems' sum,
     * < 0 the mix.  Set by the control thread ([mix] offset_frames plus
     * the measured alignment); used only once `tap` is published. */
    atomic_int offset;
    _Atomic(float *) tap; /* 4 x ENGINE_TAP: sum L, sum R, mix L, mix R */
    int tap_failed;       /* its allocation failed: not tried again */
    /* Latency compensation of the null test: each channel is delayed by
     * the largest capture latency less its own, so the sum and the mix are
     * compared on one timeline.  Set by the control thread. */
    atomic_uint comp[ENGINE_MAX_CH];
    /* Delay lines of ENGINE_MAX_COMP frames, allocated (and locked) by the
     * control thread only for channels that need compensation, published
     * before their comp. */
    _Atomic(float *) cdl[ENGINE_MAX_CH];
    uint32_t cpos[ENGINE_MAX_CH], clen[ENGINE_MAX_CH];
    int notify_fd; /* eventfd woken on port registration, shutdown */

    struct ring event_ring; /* struct engine_event */

    /* Take plan: written by the control thread only while no take records
     * and no take is offered in next_take, then published by the release
     * store to next_take. */
    uint32_t plan_nch;
    int plan_ch[ENGINE_MAX_CH];

    /* Control -> RT.  A take is prepared (files open) by the control thread
     * and offered in next_take; the RT thread claims it with an atomic
     * exchange when it starts recording (at once on start_req, or when the
     * transport starts rolling while following).  The control thread
     * withdraws an offer with the same exchange, so exactly one side gets
     * it. */
    atomic_uint next_take; /* prepared take id, 0 = none */
    /* [mastering] lead_in_seconds in frames (control thread; 0: one bar). */
    atomic_uint lead_frames;
    atomic_int start_req; /* manual start: claim next_take next cycle */
    atomic_int stop_req;  /* manual stop: end the take next cycle */
    atomic_int follow;    /* follow the JACK transport */
    atomic_int freewheeling;
    atomic_int rt_prio; /* our process thread's real-time priority, -1 = none */

    /* RT -> others. */
    atomic_uint rt_take;                /* take being recorded, 0 = none */
    atomic_uint_least64_t take_start;   /* JACK frame of its first sample */
    atomic_uint_least64_t take_frames;  /* frames of the take so far */
    atomic_uint_least64_t take_dropped; /* of which dropped */
    atomic_uint_least64_t tail_dropped; /* dropped after the last record */
    atomic_uint torn_cycles;            /* cycles JACK began the next one in (ENGINE_REC_TORN) */
    atomic_uint_least64_t cycles;       /* process callbacks run */
    atomic_uint xruns;                  /* since the client opened */
    atomic_int server_gone;             /* JACK shut us down */
    atomic_uint_least64_t graph_cycle;  /* `cycles` at the last graph change */
    atomic_int lag_wanted;              /* control wants lag samples */
    atomic_uint meter_frames;           /* frames a meter record gathers (monitor.c) */
    atomic_int ports_appeared;          /* a port was registered somewhere */
    atomic_uint our_graph;              /* counts connections made or broken at our ports */
    atomic_int latency_changed;         /* JACK recomputed capture latencies */

    /* Owned by the RT thread. */
    unsigned rt_cur;
    uint64_t rt_pending; /* frames lost since the last record published */
    uint64_t rt_clock;   /* JACK frame time extended to 64 bits */
    uint32_t rt_last;    /* jack_last_frame_time() of the previous cycle */
    int rt_clock_valid;
    struct timeline rt_tl;      /* the take's periods held back, and their placing */
    size_t rt_held_bytes;       /* ... their records in the ring, not yet published */
    uint64_t rt_late_reads;     /* the take's periods placed before their read */
    uint32_t rt_repeats;        /* ... of them lost: they held the next cycle (process.c) */
    uint64_t rt_suspect;        /* frames from now on the null test cannot vouch for */
    uint64_t rt_tnext;          /* transport frame the next rolling cycle should have */
    uint64_t rt_cnext;          /* rt_clock the next cycle should have */
    int rt_rolling;             /* transport rolling in the previous cycle */
    uint32_t rt_cb_ns;          /* duration of the previous callback */
    uint64_t rt_lead_end;       /* rt_clock where the take's first bar ends, 0 = none */
    uint32_t rt_tap_pos;        /* where the taps write the cycle's first frame */
    int32_t rt_offset;          /* the offset of this cycle */
    float *rt_tap;              /* ... and the tap lines */
    float *rt_out[ENGINE_NOUT]; /* this cycle's monitor output buffers, NULL when off */
    uint64_t rt_hist_end;       /* the pre-roll history holds frames [end - len, end) */
    uint64_t rt_hist_len;
    int rt_hist_frozen;           /* from a take's start until its first record is placed */
    uint64_t rt_hist_limit;       /* ... and while busy: history written up to this frame */
    int rt_first_rec;             /* the take's first record is still to be placed */
    uint64_t rt_pre_end;          /* at the take's start: the history's end, 0 = none */
    uint64_t rt_pre_len;          /* ... and its length */
    struct engine_meter rt_meter; /* the record being gathered */
    size_t rt_fill_max;           /* ... and the fullest the capture ring was, bytes */
};

/* Opens the JACK client named in `c`, registers the ports of the registered
 * stems and the mix, allocates and locks the ring (buffer_seconds long),
 * activates, and makes the configured connections.  Returns 0 or -1. */
int engine_open(struct engine *e, const struct conf *c, int notify_fd);

/* Deactivates and closes the client (unless the server is gone) and frees
 * the ring. */
void engine_close(struct engine *e);

/* Makes every configured connection that does not exist yet; ports that do
 * not exist (yet) are skipped quietly unless `verbose`. */
void engine_connect(struct engine *e, const struct conf *c, int verbose);

/* Capture latency (frames, the maximum of JACK's range) of channel ch. */
uint32_t engine_latency(const struct engine *e, int ch);
/* Reads the capture latencies of every registered channel and sets the
 * null test's compensation; returns 1 when it changed. */
int engine_update_latency(struct engine *e);

/* The server's sample rate changed to `rate` (control thread, while no
 * take records or is offered: the real-time thread does not touch the
 * capture ring then, and the writer must hold no ring): the capture ring is
 * allocated again for [capture] buffer_seconds at that rate, and takes may
 * run at it.  Returns 0, or -1 when no ring could be had at all (logged):
 * then nothing can be recorded. */
int engine_set_rate(struct engine *e, const struct conf *c, uint32_t rate);

/* The lag analysis ring, allocated on first use (control thread); returns
 * it, or NULL when memory is short (logged once). */
struct ring *engine_lag_ring(struct engine *e);

/* The null test's tap lines, allocated (touched and locked) on first use
 * by the control thread and published; returns 0, or -1 when memory is
 * short (logged once): then the offset stays 0. */
int engine_tap_alloc(struct engine *e);
/* Sets the null test's offset (frames, |offset| <= ENGINE_MAX_OFFSET),
 * allocating the taps first when it is not 0.  Returns 0 or -1. */
int engine_set_offset(struct engine *e, int offset);

/* Sets the JACK pretty-name metadata of the stem's ports. */
void engine_set_stem_name(struct engine *e, int stem, const char *name);

/* Port name "client:stemN_L" etc. for channel `ch` ("" when none). */
const char *engine_port_name(const struct engine *e, int ch);
/* The channel whose audio channel `ch` carries: the mono stem's own for
 * the R slot of a mono stem, else ch itself. */
int engine_source_ch(const struct engine *e, int ch);

#endif
