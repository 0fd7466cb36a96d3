/* conf — the daemon's configuration: one table of keys (conf.c) from which
 * the defaults, INI parsing (inih), validation, conf_to_ini() and the
 * documentation check (tests/test_conf.c against config/stemcap.ini and
 * stemcap.ini(5)) all come.  Every error names the file, the line and the
 * key. */
#ifndef STEMCAP_CONF_H
#define STEMCAP_CONF_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

#include "protocol.h"

#define CONF_MAX_STEMS       PROTO_MAX_STEMS
#define CONF_NAME_MAX        128 /* song and stem names, bytes incl. NUL */
#define CONF_PORT_MAX        320 /* full JACK port names, bytes incl. NUL */
#define CONF_ID_MAX          64  /* JACK server and client names */
#define CONF_MAX_SUBSCRIBERS 64
#define CONF_MAX_OFFSET      8192 /* [mix] offset_frames range, +- */

enum conf_format { CONF_FORMAT_WAV, CONF_FORMAT_AIFF, CONF_FORMAT_W64 };
enum conf_sample {
    CONF_SAMPLE_PCM16,
    CONF_SAMPLE_PCM24,
    CONF_SAMPLE_PCM32,
    CONF_SAMPLE_FLOAT,
    CONF_SAMPLE_DOUBLE
};

struct conf_stem {
    int registered; /* a [stemN] section exists (or none exist at all) */
    int armed;
    char name[CONF_NAME_MAX];
    char connect[2][CONF_PORT_MAX]; /* L, R; "" = none (a mono stem: L only) */
    int channels;                   /* 2: stereo, ports stemN_L/_R; 1: mono, port stemN */
};

/* [mastering]: the delivery rules each take is judged by (ctl.c). */
struct conf_mastering {
    double max_peak_db;      /* a stem's sample peak must stay below this */
    double max_mix_peak_db;  /* ... the mix's */
    double max_true_peak_db; /* no file's true peak may exceed this */
    double lead_in_s;        /* silence before the song; 0: one bar */
    double limited_plr_db;   /* the mix's PLR below this looks limited; 0: off */
};

/* [hooks]: commands run on take events (hooks.c). */
#define CONF_HOOK_MAX 256 /* a command, bytes incl. NUL (a config line holds less) */
struct conf_hooks {
    char on_take_start[CONF_HOOK_MAX];
    char on_take_end[CONF_HOOK_MAX];
    char on_null_fail[CONF_HOOK_MAX];
    char on_error[CONF_HOOK_MAX];
    double timeout_s; /* a hook still running after this is killed */
    int shell;        /* run the commands as /bin/sh -c COMMAND */
};

/* [song]: delivery metadata. */
struct conf_song {
    char title[CONF_NAME_MAX];
    char artist[CONF_NAME_MAX];
    char album[CONF_NAME_MAX];
    char track[16]; /* "3" or "3/12" */
    char isrc[16];  /* CC-XXX-YY-NNNNN, hyphens optional */
    char upc[16];   /* 12 or 13 digits */
    char label[CONF_NAME_MAX];
};

struct conf {
    char path[PATH_MAX]; /* file it was read from, "" for defaults */
    /* [jack] */
    char jack_server[CONF_ID_MAX]; /* "" = $JACK_DEFAULT_SERVER or default */
    char jack_client[CONF_ID_MAX];
    char jack_pretty_name[CONF_NAME_MAX]; /* the client's JACK pretty-name, "" = none */
    /* [osc] */
    int osc_port;
    char osc_bind[64];
    int osc_subscription_ttl; /* seconds */
    int osc_max_subscribers;
    int osc_bundle;      /* push periodic feedback as one bundle */
    char osc_allow[512]; /* senders served when bind is not loopback */
    int osc_reply_port;  /* UDP replies and pushes to the sender's host at this port; 0: its port */
    int osc_tcp_port;    /* OSC over TCP too, on this port; 0: off */
    /* [capture] */
    char capture_dir[PATH_MAX];
    enum conf_format format;
    enum conf_sample sample_format;
    double buffer_seconds;
    int record_mix;
    int follow_transport;
    int min_free_mb;        /* a take does not start with less free space */
    int loudness;           /* measure EBU R 128 loudness while writing */
    double preroll_seconds; /* kept in memory while idle, written before a take's start */
    /* a take's files start a new part every this long, 0 = never */
    double split_minutes;
    /* [song] */
    struct conf_song song;
    /* [mix] */
    char mix_connect[2][CONF_PORT_MAX];
    int mix_offset_frames; /* > 0 delays the stems' sum, < 0 the mix */
    int mix_auto_offset;   /* measure the mix's lag, align the null test and the files */
    /* [meter] */
    int meter_window_ms;
    /* [null] */
    double null_threshold_db;
    /* [monitor]: listening to the null (JACK outputs, engine.c) */
    int monitor_outputs;
    char monitor_connect[4][CONF_PORT_MAX]; /* residual_L, residual_R, sum_L, sum_R */
    /* [mastering]: the delivery rules each take is judged by */
    struct conf_mastering mastering;
    /* [hooks] */
    struct conf_hooks hooks;
    /* [stem1] .. [stem8] */
    struct conf_stem stem[CONF_MAX_STEMS];
};

/* One key of the table.  Numbers are checked against [min, max]; strings
 * against their buffer, control characters and UTF-8. */
enum conf_type {
    CONF_T_STR,    /* text */
    CONF_T_ID,     /* text without ':' (a JACK client name) */
    CONF_T_PORT,   /* "" or a JACK port name, client:port */
    CONF_T_INT,    /* int */
    CONF_T_DOUBLE, /* double */
    CONF_T_BOOL,   /* int 0/1: true/false, yes/no, on/off, 1/0 */
    CONF_T_ENUM,   /* int: the index of the value in `names` */
    CONF_T_SONG,   /* a [song] key: conf_song_set() validates */
    CONF_T_ACL,    /* an address list (acl.h) */
    CONF_T_CMD,    /* a command line, quotes balanced (hooks_split) */
};
#define CONF_K_NONEMPTY 1  /* a string that must not be empty */
#define CONF_K_UNSET_0  2  /* conf_to_ini: 0 is "not set", written as a comment */
#define CONF_K_UNSET_E  4  /* conf_to_ini: "" is "not set", not written */
#define CONF_K_NUMBERED 8  /* [stemN]: the default is `def` then " N" */
#define CONF_K_PAREN    16 /* the range reads "what (min..max)", not "what from min to max" */
#define CONF_K_LIVE     32 /* SIGHUP applies it to the running daemon (ctl_reload) */

struct conf_key {
    const char *section; /* "jack", ...; "stem" stands for every [stemN] */
    const char *name;
    enum conf_type type;
    size_t off;  /* in struct conf; for "stem" in struct conf_stem */
    size_t size; /* strings: the buffer, with the NUL */
    double min, max;
    const char *const *names; /* CONF_T_ENUM: NULL-terminated */
    int flags;                /* CONF_K_* */
    const char *def;          /* the default, as INI text */
    const char *what;         /* numbers: "'V' is not <what> from <min> to <max>" */
    const char *doc;          /* one line for `stemcapd --keys` */
};

/* Key I of the table, in the order of the sections and of conf_to_ini(),
 * or NULL past the end. */
const struct conf_key *conf_key(size_t i);
/* The keys without CONF_K_LIVE whose values differ between O and N, as
 * "[section] key, ..." into OUT (empty when none); a [stemN] key counts for
 * the stems registered in both. */
void conf_restart_keys(const struct conf *o, const struct conf *n, char *out, size_t outsz);
/* The table as text, one "[section] key = default (range) ; doc" line per
 * key (stemcapd --keys). */
void conf_print_keys(FILE *to);

/* Validates one [song] key's value ("title", "artist", ...) and stores it
 * in `s`.  Returns 0, or -1 with the reason in `why` (256 bytes).  Shared by
 * the config parser and OSC /stemcap/song/<key>. */
int conf_song_set(struct conf_song *s, const char *key, const char *value, char *why);
/* The value of a [song] key, or NULL for an unknown key. */
const char *conf_song_get(const struct conf_song *s, const char *key);
/* Checks a stem name against the other registered stems of `c` (file name
 * collisions, "Mix").  Returns 0, or -1 with the reason in `why` (256). */
int conf_stem_name_check(const struct conf *c, int stem, const char *name, char *why);

/* Fills `c` with the built-in defaults (all 8 stems registered). */
void conf_defaults(struct conf *c);

/* Reads `path` over the defaults.  Returns 0, or -1 after logging one line
 * per problem ("FILE:LINE: [section] key: what is wrong").  On -1 the
 * contents of `c` are unspecified. */
int conf_load(struct conf *c, const char *path);

/* The configuration as INI text that conf_load() reads back to the same
 * configuration: every key of every section, the registered stems' [stemN]
 * sections, and [osc] port only when it is not 0 (0: "any free port", which
 * the loader has no spelling for).  Returns a malloc'd NUL-terminated
 * string, or NULL with the reason in `why` (256 bytes): a value the INI
 * syntax cannot hold (leading or trailing whitespace, whitespace before ';')
 * or a line longer than the loader reads. */
char *conf_to_ini(const struct conf *c, char *why);
/* Writes conf_to_ini() to `path` atomically (a temporary file in the same
 * folder, fsync, rename).  Returns 0, or -1 (logged with the path). */
int conf_save(const struct conf *c, const char *path);

const char *conf_format_name(enum conf_format f);
const char *conf_sample_name(enum conf_sample s);
/* File name extension for a format, without the dot. */
const char *conf_format_ext(enum conf_format f);

#endif
