/* conf — the daemon's configuration: defaults, INI parsing (inih) and
 * validation.  Every error names the file, the line and the key. */
#ifndef STEMCAP_CONF_H
#define STEMCAP_CONF_H

#include <limits.h>

#define CONF_MAX_STEMS       8
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
    char connect[2][CONF_PORT_MAX]; /* L, R; "" = none */
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
    /* [capture] */
    char capture_dir[PATH_MAX];
    enum conf_format format;
    enum conf_sample sample_format;
    double buffer_seconds;
    int record_mix;
    int follow_transport;
    int min_free_mb; /* a take does not start with less free space */
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
    /* [stem1] .. [stem8] */
    struct conf_stem stem[CONF_MAX_STEMS];
};

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
