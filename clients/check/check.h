/* check — stemcap-check's private header: the state one run builds (the
 * folder's files, the checks' results, the null test) and the entry points
 * of its modules: scan_ (the folder), chk_ (the checks), dsp_ (reading the
 * audio), loud_ (loudness, noise floor), prof_ (delivery profiles), report_
 * (text and JSON), verify_ (--verify).  main.c runs them in that order. */
#ifndef STEMCAP_CHECK_H
#define STEMCAP_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ebur128.h>
#include <sndfile.h>

#define PROG         "stemcap-check"
#define BLOCK        4096 /* frames per read */
#define LAG_MIN_CORR 0.5  /* a weaker best correlation means "no clear lag" */
#define MAX_CHECKS   32
#define MAX_FILES    64 /* audio files read from one folder */

#define SILENCE_DB  (-90.0) /* quieter is silence (lead-in, head silence) */
#define EXIT_FAILED 1
#define EXIT_USAGE  2

enum role { ROLE_STEM, ROLE_MIX, ROLE_OTHER_MIX };
enum result { RES_PASS, RES_WARN, RES_FAIL };
enum null_state {
    NULL_RUN,
    NULL_NO_MIX,
    NULL_SEVERAL_MIXES,
    NULL_NO_STEMS,
    NULL_RATES,
    NULL_CHANNELS,
    NULL_REJECTED
};

/* A file's loudness (loud.c): LUFS, LU and dB; -HUGE_VAL for -inf (silence). */
struct loud {
    ebur128_state *ebu;
    sf_count_t step, since; /* frames between polls of M and S, and since the last one */
    double integrated, lra, max_m, max_s;
    double *tp;     /* true peak per channel, dBTP */
    sf_count_t win; /* frames per noise-floor window */
    sf_count_t win_fill;
    double win_sum; /* sum of squares in the window so far */
    int win_sound;  /* a sample of the window is not 0 */
    double *wins;   /* mean square of each window with sound */
    size_t nwins, capwins;
    double floor_db; /* noise floor, dBFS RMS */
};

struct afile {
    char *path;
    char *name;       /* file name without the folder */
    char *base;       /* name without its extension */
    const char *stem; /* inside base: the part after "<Song> - ", NULL when it does not follow */
    enum role role;
    int mix_named; /* base ends in " - Mix" */
    int given_mix; /* the --mix file */
    dev_t dev;
    ino_t ino;
    SNDFILE *sf;
    SF_INFO info;
    int bits;          /* integer encodings: bits per sample, 0 otherwise */
    double full_scale; /* |x| at or above this reaches 0 dBFS */
    int has_tref;
    uint64_t tref;
    double *buf;    /* one block, interleaved */
    sf_count_t pos; /* next frame to read */
    sf_count_t got; /* frames in buf */
    double peak;    /* max |x| */
    sf_count_t peak_frame;
    sf_count_t clips; /* samples at 0 dBFS */
    sf_count_t first_clip;
    double lead_peak;       /* max |x| in the lead-in */
    sf_count_t first_sound; /* first frame at or above SILENCE_DB, -1 none */
    struct loud loud;
    char *reject; /* why the file is not read (then it leaves the list) */
};

/* An audio file that is not read: a symlink, not a regular file, or a header that cannot be
 * trusted. */
struct rejected {
    char *name;
    char *path;
    char *why;
};

struct check {
    const char *name;
    const char *rule; /* the profile key it checks, NULL for the standard checks */
    double limit;
    enum result result;
    char *detail;
    size_t len; /* open_memstream() updates it until the stream is closed */
};

struct null_test {
    enum null_state state;
    char *why;             /* why it was not run */
    double thr;            /* threshold, linear */
    double peak;           /* worst |sum - mix| */
    sf_count_t frame;      /* ... at this frame */
    int channel;           /* ... in this channel (1-based) */
    sf_count_t first_over; /* first frame at or above the threshold, -1 none */
    sf_count_t frames;     /* frames compared */
    int nulls;
    int lag_tried; /* the correlation was computed */
    int lag;
    double corr;
    int shifted; /* the shifted residual was computed */
    double shifted_peak;
};

struct profile;

struct state {
    const char *dir;
    const struct profile *profile;
    int lead_in_set; /* --lead-in given: the profile does not change it */
    int noise_set;   /* --noise-floor given, or the profile sets it: the check runs */
    double noise_floor_db;
    const char *mix_path;
    double threshold_db;
    double lead_in;
    int json;
    struct afile *files;
    size_t nfiles;
    char **ignored;
    size_t nignored;     /* names kept (at most MAX_IGNORED) */
    size_t nignored_all; /* files ignored */
    size_t naudio;       /* audio files in the folder, read or not */
    struct rejected *rejected;
    size_t nrejected;
    struct afile *mix;
    size_t nstems;
    char *song;
    struct check checks[MAX_CHECKS];
    size_t nchecks;
    struct null_test null;
    sf_count_t win_start; /* the loudest window of the stems' sum (dsp.c) */
};

/* main.c: "stemcap-check: <message>" on stderr. */
void check_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* scan.c: lists st->dir (and --mix), opens the files, gives each its role and finds the song.
 * Returns 0, or -1 (logged): an unreadable folder or file, too many audio files, no memory. */
int scan_folder(struct state *st);
void scan_free_file(struct afile *f);

/* checks.c: each check appends its verdict to st->checks; 0, or -1 (out of memory, logged).
 * chk_header: files and stems, then, when there are files, the checks that need no audio. */
int chk_header(struct state *st);
/* Whether the null test can run (st->null.state), and why not. */
int chk_plan_null(struct state *st);
/* The checks on the audio read by dsp_measure(): peaks, lead-in, null. */
int chk_audio(struct state *st);
const char *chk_container_name(int format);
const char *chk_encoding_name(int format);

/* dsp.c: the streaming pass (peaks, lead-in, the null's residual and its loudest window), then,
 * when the null fails, the lag and the residual shifted by it.  0, or -1 (logged). */
int dsp_measure(struct state *st);
int dsp_find_lag(struct state *st);
/* loud.c: the loudness meter and noise floor of one file, fed each block dsp.c reads (f->buf,
 * f->got).  0, or -1 (logged). */
int loud_open(struct afile *f);
int loud_feed(struct afile *f);
int loud_finish(struct afile *f);
void loud_free(struct afile *f);
/* The highest true peak over the channels, dBTP. */
double loud_true_peak(const struct afile *f);

/* profile.c: the delivery profiles (built-in or an INI file) and their rules.  prof_load
 * returns the profile NAME (a built-in, or a file when NAME has a '/' or ends in ".ini"), or
 * NULL with the error logged (*RC: the exit status).  prof_apply sets the state's defaults
 * from the profile; chk_profile appends one check per rule. */
const struct profile *prof_load(const char *name, int *rc);
void prof_free(const struct profile *p);
const char *prof_name(const struct profile *p);
void prof_apply(const struct profile *p, struct state *st);
int chk_profile(struct state *st);
/* checks.c, for profile.c: a check's verdict, written like the others.  chk_say appends to
 * the detail of the check begun. */
int chk_begin(struct state *st, const char *name);
void chk_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int chk_end(enum result r);

/* verify.c: --verify DIR: the take's files against its manifest.json.  Returns the exit
 * status. */
int verify_take(const char *dir);

/* dBFS of a linear level, floored; and a file's peak in dBFS (0 at least when it clips). */
double dsp_db(double x);
double dsp_peak_db(const struct afile *f);

/* report.c: the report on stdout; report_json returns 0, or -1 (logged). */
void report_text(const struct state *st);
int report_json(const struct state *st);
size_t report_count(const struct state *st, enum result r);

#endif
