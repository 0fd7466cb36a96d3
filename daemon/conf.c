/* conf — defaults, INI parsing, validation and writing, all from one table of keys (conf_keys
 * below: section, key, type, range, default, doc line); a key is added there and nowhere else.
 * conf_load() reports every bad line with its number and then fails as a whole, so the daemon
 * starts with a fully valid configuration or not at all; what conf_to_ini()/conf_save() write
 * loads back to the same configuration.  Design: docs/DESIGN.md, section "Configuration". */
#include "conf.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "acl.h"
#include "hooks.h"
#include "log.h"
#include "naming.h"

/* The fixed sections, in the table's order; [stem1]..[stem8] follow. */
enum {
    SEC_JACK,
    SEC_OSC,
    SEC_CAPTURE,
    SEC_SONG,
    SEC_MIX,
    SEC_METER,
    SEC_NULL,
    SEC_MONITOR,
    SEC_MASTERING,
    SEC_HOOKS,
    SEC_STEM1
};

#define CONF_MAX_KEYS 96 /* rows of the table at most (checked below) */

struct conf_ctx {
    struct conf *c;
    const char *path;
    FILE *fp;
    int line;     /* line number of the line inih is looking at */
    int errors;   /* problems reported so far */
    int any_stem; /* a [stemN] section was seen */
    char *buf;    /* getline buffer */
    size_t bufsz;
    unsigned seen_sections; /* bit per section index */
    /* per section, per key of the table: set already */
    unsigned char seen_keys[SEC_STEM1 + CONF_MAX_STEMS][CONF_MAX_KEYS];
    int name_line[CONF_MAX_STEMS];  /* line that set the stem's name */
    int right_line[CONF_MAX_STEMS]; /* ... its connect_right */
};

static const char *const conf_fixed_sections[] = {"jack",  "osc",  "capture", "song",      "mix",
                                                  "meter", "null", "monitor", "mastering", "hooks"};

static const char *const conf_format_names[] = {"wav", "aiff", "w64", NULL};
static const char *const conf_sample_names[] = {"pcm16", "pcm24", "pcm32", "float", "double", NULL};

const char *
conf_format_name(enum conf_format f)
{
    return conf_format_names[f];
}

const char *
conf_format_ext(enum conf_format f)
{
    return conf_format_names[f];
}

const char *
conf_sample_name(enum conf_sample s)
{
    return conf_sample_names[s];
}

#define C(field)  offsetof(struct conf, field), sizeof(((struct conf *)0)->field)
#define S(field)  offsetof(struct conf_stem, field), sizeof(((struct conf_stem *)0)->field)
#define NUM(a, b) (a), (b), NULL

/* The keys.  Order: sections as in conf_fixed_sections, then "stem"; in a
 * section, the order of conf_to_ini() and of "known in this section". */
static const struct conf_key conf_keys[] = {
    {"jack", "server", CONF_T_STR, C(jack_server), NUM(0, 0), 0, "", NULL,
     "JACK server; empty: $JACK_DEFAULT_SERVER or the default server"},
    {"jack", "client", CONF_T_ID, C(jack_client), NUM(0, 0), CONF_K_NONEMPTY, "stemcap", NULL,
     "JACK client name, no ':'"},
    {"jack", "pretty_name", CONF_T_STR, C(jack_pretty_name), NUM(0, 0), 0, "stemcap", NULL,
     "the client's JACK pretty-name; empty: none"},
    {"osc", "port", CONF_T_INT, C(osc_port), NUM(1, 65535), CONF_K_UNSET_0 | CONF_K_PAREN,
     PROTO_DEFAULT_PORT_STR, "a UDP port number", "UDP port for OSC control and stemcap(1)"},
    {"osc", "bind", CONF_T_STR, C(osc_bind), NUM(0, 0), CONF_K_NONEMPTY, "127.0.0.1", NULL,
     "address to listen on; 0.0.0.0 or :: for every interface"},
    {"osc", "subscription_ttl", CONF_T_INT, C(osc_subscription_ttl), NUM(1, 86400), 0, "30",
     "a number of seconds", "seconds a /stemcap/subscribe lasts unless renewed"},
    {"osc", "max_subscribers", CONF_T_INT, C(osc_max_subscribers), NUM(1, CONF_MAX_SUBSCRIBERS), 0,
     "8", "a number", "subscribers served at a time"},
    {"osc", "bundle", CONF_T_BOOL, C(osc_bundle), NUM(0, 1), 0, "false", NULL,
     "send each subscriber's periodic feedback as one OSC bundle"},
    {"osc", "allow", CONF_T_ACL, C(osc_allow), NUM(0, 0), CONF_K_UNSET_E, "", NULL,
     "senders served when bind is not loopback: addresses or CIDR ranges"},
    {"osc", "reply_port", CONF_T_INT, C(osc_reply_port), NUM(0, 65535), 0, "0", "a UDP port number",
     "UDP replies and pushes go to the sender's host at this port; 0: to its own port"},
    {"osc", "tcp_port", CONF_T_INT, C(osc_tcp_port), NUM(0, 65535), 0, "0", "a TCP port number",
     "also serve OSC over TCP on this port (at [osc] bind); 0: off"},
    {"capture", "dir", CONF_T_STR, C(capture_dir), NUM(0, 0), CONF_K_NONEMPTY, "takes", NULL,
     "root of the takes: DIR/<Song>/take-NN/<Song> - <Stem>.<ext>"},
    {"capture", "format", CONF_T_ENUM, C(format), 0, 0, conf_format_names, 0, "wav", NULL,
     "file format (wav is RF64 past 4 GiB)"},
    {"capture", "sample_format", CONF_T_ENUM, C(sample_format), 0, 0, conf_sample_names, 0, "pcm24",
     NULL, "sample format, at JACK's rate, never resampled or dithered"},
    {"capture", "buffer_seconds", CONF_T_DOUBLE, C(buffer_seconds), NUM(1, 300), 0, "10",
     "a number of seconds", "seconds of audio the capture ring holds"},
    {"capture", "record_mix", CONF_T_BOOL, C(record_mix), NUM(0, 1), 0, "true", NULL,
     "also record the mix as \"<Song> - Mix\""},
    {"capture", "follow_transport", CONF_T_BOOL, C(follow_transport), NUM(0, 1), CONF_K_LIVE,
     "false", NULL, "takes start and stop with the JACK transport"},
    {"capture", "min_free_mb", CONF_T_INT, C(min_free_mb), NUM(0, 1000000), CONF_K_LIVE, "512",
     "a number of MB", "a take does not start with less free space in dir"},
    {"capture", "loudness", CONF_T_BOOL, C(loudness), NUM(0, 1), 0, "true", NULL,
     "measure EBU R 128 loudness and true peak of every file while writing"},
    {"capture", "preroll_seconds", CONF_T_DOUBLE, C(preroll_seconds), NUM(0, 60), 0, "0",
     "a number of seconds",
     "the last seconds of every channel kept in memory: a take starts that much before its "
     "start command"},
    {"capture", "split_minutes", CONF_T_DOUBLE, C(split_minutes), NUM(0, 1440), 0, "0",
     "a number of minutes",
     "start a new set of files (take-NN/part-02, ...) every this long, "
     "on the same frame in every file; 0: never"},
    {"song", "title", CONF_T_SONG, C(song.title), NUM(0, 0), CONF_K_LIVE, NAMING_SONG_FALLBACK,
     NULL, "song title: names the song folder and every file"},
    {"song", "artist", CONF_T_SONG, C(song.artist), NUM(0, 0), CONF_K_LIVE, "", NULL, "artist"},
    {"song", "album", CONF_T_SONG, C(song.album), NUM(0, 0), CONF_K_LIVE, "", NULL, "album"},
    {"song", "track", CONF_T_SONG, C(song.track), NUM(0, 0), CONF_K_LIVE, "", NULL,
     "track, N or N/TOTAL"},
    {"song", "isrc", CONF_T_SONG, C(song.isrc), NUM(0, 0), CONF_K_LIVE, "", NULL,
     "ISRC, CC-XXX-YY-NNNNN"},
    {"song", "upc", CONF_T_SONG, C(song.upc), NUM(0, 0), CONF_K_LIVE, "", NULL,
     "UPC/EAN, 12 or 13 digits"},
    {"song", "label", CONF_T_SONG, C(song.label), NUM(0, 0), CONF_K_LIVE, "", NULL,
     "label, written as the copyright"},
    {"mix", "connect_left", CONF_T_PORT, C(mix_connect[0]), NUM(0, 0), CONF_K_LIVE, "", NULL,
     "JACK port connected to mix_L"},
    {"mix", "connect_right", CONF_T_PORT, C(mix_connect[1]), NUM(0, 0), CONF_K_LIVE, "", NULL,
     "JACK port connected to mix_R"},
    {"mix", "offset_frames", CONF_T_INT, C(mix_offset_frames),
     NUM(-CONF_MAX_OFFSET, CONF_MAX_OFFSET), 0, "0", "a number of frames",
     "> 0 delays the stems' sum, < 0 the mix"},
    {"mix", "auto_offset", CONF_T_BOOL, C(mix_auto_offset), NUM(0, 1), 0, "true", NULL,
     "measure the mix's lag and align the null test and the files by it"},
    {"meter", "window_ms", CONF_T_INT, C(meter_window_ms), NUM(10, 10000), 0, "100",
     "a number of milliseconds", "window of the peak and RMS levels"},
    {"null", "threshold_db", CONF_T_DOUBLE, C(null_threshold_db), NUM(-150, 0), 0, "-60",
     "a level in dBFS", "a residual above this during a take fails its null test"},
    {"monitor", "outputs", CONF_T_BOOL, C(monitor_outputs), NUM(0, 1), 0, "false", NULL,
     "JACK outputs residual_L/R (stems' sum - mix) and sum_L/R, to listen to the null"},
    {"monitor", "connect_residual_left", CONF_T_PORT, C(monitor_connect[0]), NUM(0, 0), CONF_K_LIVE,
     "", NULL, "JACK port residual_L is connected to"},
    {"monitor", "connect_residual_right", CONF_T_PORT, C(monitor_connect[1]), NUM(0, 0),
     CONF_K_LIVE, "", NULL, "JACK port residual_R is connected to"},
    {"monitor", "connect_sum_left", CONF_T_PORT, C(monitor_connect[2]), NUM(0, 0), CONF_K_LIVE, "",
     NULL, "JACK port sum_L is connected to"},
    {"monitor", "connect_sum_right", CONF_T_PORT, C(monitor_connect[3]), NUM(0, 0), CONF_K_LIVE, "",
     NULL, "JACK port sum_R is connected to"},
    {"mastering", "max_peak_dbfs", CONF_T_DOUBLE, C(mastering.max_peak_db), NUM(-60, 0),
     CONF_K_LIVE, "0", "a level in dBFS", "a stem's sample peak must stay below this"},
    {"mastering", "max_mix_peak_dbfs", CONF_T_DOUBLE, C(mastering.max_mix_peak_db), NUM(-60, 0),
     CONF_K_LIVE, "0", "a level in dBFS", "the mix's sample peak must stay below this"},
    {"mastering", "max_true_peak_dbtp", CONF_T_DOUBLE, C(mastering.max_true_peak_db), NUM(-60, 6),
     CONF_K_LIVE, "0", "a level in dBTP", "no file's true peak may exceed this"},
    {"mastering", "lead_in_seconds", CONF_T_DOUBLE, C(mastering.lead_in_s), NUM(0, 60), CONF_K_LIVE,
     "0", "a number of seconds", "silence before the song; 0: one bar (transport BBT, else 2 s)"},
    {"mastering", "limited_plr_db", CONF_T_DOUBLE, C(mastering.limited_plr_db), NUM(0, 30),
     CONF_K_LIVE, "8", "a number of dB",
     "the mix looks limited below this peak-to-loudness ratio; 0: off"},
    {"hooks", "on_take_start", CONF_T_CMD, C(hooks.on_take_start), NUM(0, 0),
     CONF_K_UNSET_E | CONF_K_LIVE, "", NULL, "command run when a take starts; empty: none"},
    {"hooks", "on_take_end", CONF_T_CMD, C(hooks.on_take_end), NUM(0, 0),
     CONF_K_UNSET_E | CONF_K_LIVE, "", NULL,
     "command run when a take has ended and its manifest is written; empty: none"},
    {"hooks", "on_null_fail", CONF_T_CMD, C(hooks.on_null_fail), NUM(0, 0),
     CONF_K_UNSET_E | CONF_K_LIVE, "", NULL,
     "command run once per take when its null test first fails; empty: none"},
    {"hooks", "on_error", CONF_T_CMD, C(hooks.on_error), NUM(0, 0), CONF_K_UNSET_E | CONF_K_LIVE,
     "", NULL, "command run on an error that stops or prevents a take; empty: none"},
    {"hooks", "timeout_s", CONF_T_DOUBLE, C(hooks.timeout_s), NUM(0.1, 3600), CONF_K_LIVE, "30",
     "a number of seconds", "a hook still running after this is killed"},
    {"hooks", "shell", CONF_T_BOOL, C(hooks.shell), NUM(0, 1), CONF_K_LIVE, "false", NULL,
     "run the hook commands through /bin/sh -c instead of splitting them into words"},
    {"stem", "name", CONF_T_STR, S(name), NUM(0, 0),
     CONF_K_NONEMPTY | CONF_K_NUMBERED | CONF_K_LIVE, NAMING_STEM_FALLBACK, NULL,
     "the stem's name in its file name"},
    {"stem", "channels", CONF_T_INT, S(channels), 1, 2, NULL, 0, "2", "a number of channels",
     "2: stereo, ports stemN_L and stemN_R; 1: mono, one port stemN and a mono file"},
    {"stem", "connect_left", CONF_T_PORT, S(connect[0]), NUM(0, 0), CONF_K_LIVE, "", NULL,
     "JACK port connected to stemN_L (a mono stem: to stemN)"},
    {"stem", "connect_right", CONF_T_PORT, S(connect[1]), NUM(0, 0), CONF_K_LIVE, "", NULL,
     "JACK port connected to stemN_R (a mono stem: none)"},
    {"stem", "armed", CONF_T_BOOL, S(armed), NUM(0, 1), CONF_K_LIVE, "true", NULL,
     "record this stem in the takes"},
};
#define CONF_NKEYS (sizeof conf_keys / sizeof conf_keys[0])
_Static_assert(CONF_NKEYS <= CONF_MAX_KEYS, "raise CONF_MAX_KEYS");
_Static_assert(SEC_STEM1 + CONF_MAX_STEMS <= 8 * sizeof(unsigned), "seen_sections is too small");

#undef C
#undef S
#undef NUM

const struct conf_key *
conf_key(size_t i)
{
    return i < CONF_NKEYS ? &conf_keys[i] : NULL;
}

/* The table entry of KEY in SECTION ("stem" for every [stemN]), or -1. */
static int
conf_key_index(const char *section, const char *key)
{
    for (size_t i = 0; i < CONF_NKEYS; i++)
        if (strcmp(conf_keys[i].section, section) == 0 && strcmp(conf_keys[i].name, key) == 0)
            return (int)i;
    return -1;
}

/* ISRC: 2 letters, 3 letters/digits, 2 digits, 5 digits; hyphens between
 * the groups are optional. */
static int
conf_isrc_ok(const char *v)
{
    char c[13];
    size_t n = 0;

    for (; *v && n < 13; v++)
        if (*v != '-')
            c[n++] = *v;
    if (*v || n != 12)
        return 0;
    for (size_t i = 0; i < 12; i++) {
        int up = c[i] >= 'A' && c[i] <= 'Z', dig = c[i] >= '0' && c[i] <= '9';
        if ((i < 2 && !up) || (i >= 2 && i < 5 && !up && !dig) || (i >= 5 && !dig))
            return 0;
    }
    return 1;
}
/* Where a [song] key lives in S, and its buffer's size: from the table. */
static char *
conf_song_field(const struct conf_song *s, const char *key, size_t *size)
{
    int k = conf_key_index("song", key);

    if (k < 0)
        return NULL;
    *size = conf_keys[k].size;
    return (char *)s + conf_keys[k].off - offsetof(struct conf, song);
}

const char *
conf_song_get(const struct conf_song *s, const char *key)
{
    size_t size;
    return conf_song_field(s, key, &size);
}

int
conf_song_set(struct conf_song *s, const char *key, const char *v, char *why)
{
    size_t size, n = strlen(v), digits = 0;
    char *dst = conf_song_field(s, key, &size);

    if (!dst) {
        snprintf(why, 256, "unknown song key '%s'", key);
        return -1;
    }
    if (n >= size) {
        snprintf(why, 256, "too long (%zu bytes, at most %zu)", n, size - 1);
        return -1;
    }
    size_t bad;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            snprintf(why, 256, "contains a control character");
            return -1;
        }
        digits += isdigit(*p) != 0;
    }
    if (naming_utf8_check(v, &bad) < 0) {
        snprintf(why, 256, "is not valid UTF-8 (byte 0x%02X at offset %zu)",
                 (unsigned)(unsigned char)v[bad], bad);
        return -1;
    }
    if (strcmp(key, "title") == 0 && n == 0) {
        snprintf(why, 256, "the title must not be empty");
        return -1;
    }
    if (n && strcmp(key, "isrc") == 0 && !conf_isrc_ok(v)) {
        snprintf(why, 256,
                 "'%s' is not an ISRC (CC-XXX-YY-NNNNN: country, registrant, year, "
                 "designation; hyphens optional)",
                 v);
        return -1;
    }
    if (n && strcmp(key, "upc") == 0 && (digits != n || (n != 12 && n != 13))) {
        snprintf(why, 256, "'%s' is not a UPC/EAN (12 or 13 digits)", v);
        return -1;
    }
    if (n && strcmp(key, "track") == 0 &&
        (strspn(v, "0123456789/") != n || v[0] == '/' || v[n - 1] == '/' ||
         strchr(strchr(v, '/') ? strchr(v, '/') + 1 : "", '/'))) {
        snprintf(why, 256, "'%s' is not a track number (N or N/TOTAL)", v);
        return -1;
    }
    memcpy(dst, v, n + 1);
    return 0;
}
int
conf_stem_name_check(const struct conf *c, int stem, const char *name, char *why)
{
    if (!*name || strlen(name) >= CONF_NAME_MAX) {
        snprintf(why, 256, "a stem name needs 1 to %d bytes", CONF_NAME_MAX - 1);
        return -1;
    }
    size_t bad;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            snprintf(why, 256, "the stem name contains a control character");
            return -1;
        }
    }
    if (naming_utf8_check(name, &bad) < 0) {
        snprintf(why, 256, "the stem name is not valid UTF-8 (byte 0x%02X at offset %zu)",
                 (unsigned)(unsigned char)name[bad], bad);
        return -1;
    }
    if (c->record_mix && naming_same_file(name, NULL)) {
        snprintf(why, 256, "'%s' would collide with the mix file", name);
        return -1;
    }
    for (int j = 0; j < CONF_MAX_STEMS; j++) {
        if (j == stem - 1 || !c->stem[j].registered)
            continue;
        if (naming_same_file(name, c->stem[j].name)) {
            snprintf(why, 256, "'%s' gives the same file name as stem %d ('%s')", name, j + 1,
                     c->stem[j].name);
            return -1;
        }
    }
    return 0;
}
/* Stores TEXT, the value of table key K, in BASE (struct conf, or struct
 * conf_stem for "stem"), or reports what is wrong with it. */
static void conf_set(struct conf_ctx *x, const char *section, const struct conf_key *k, void *base,
                     const char *v);

void
conf_defaults(struct conf *c)
{
    struct conf_ctx x = {.c = c, .path = "(defaults)"};

    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < CONF_NKEYS; i++) {
        const struct conf_key *k = &conf_keys[i];
        if (strcmp(k->section, "stem") != 0) {
            conf_set(&x, k->section, k, c, k->def);
            continue;
        }
        for (int s = 0; s < CONF_MAX_STEMS; s++) {
            char v[CONF_NAME_MAX];
            if (k->flags & CONF_K_NUMBERED)
                snprintf(v, sizeof v, "%s %d", k->def, s + 1);
            else
                snprintf(v, sizeof v, "%s", k->def);
            c->stem[s].registered = 1;
            conf_set(&x, "stem", k, &c->stem[s], v);
        }
    }
}

static void conf_err(struct conf_ctx *x, const char *section, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
conf_err(struct conf_ctx *x, const char *section, const char *key, const char *fmt, ...)
{
    char what[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (section && key)
        log_error("%s:%d: [%s] %s: %s", x->path, x->line, section, key, what);
    else if (section)
        log_error("%s:%d: [%s]: %s", x->path, x->line, section, what);
    else
        log_error("%s:%d: %s", x->path, x->line, what);
    x->errors++;
}
/* Section name -> index (SEC_*), or -1. */
static int
conf_section_index(const char *s)
{
    for (int i = 0; i < SEC_STEM1; i++)
        if (strcmp(s, conf_fixed_sections[i]) == 0)
            return i;
    if (strncmp(s, "stem", 4) == 0 && s[4] >= '1' && s[4] <= '0' + CONF_MAX_STEMS && !s[5])
        return SEC_STEM1 + (s[4] - '1');
    return -1;
}

/* Called by our reader for each "[section]" line, before inih sees it. */
static void
conf_section_start(struct conf_ctx *x, const char *name)
{
    int idx = conf_section_index(name);

    if (idx < 0) {
        char known[128] = "";
        for (int i = 0; i < SEC_STEM1; i++) {
            strncat(known, conf_fixed_sections[i], sizeof known - strlen(known) - 1);
            strncat(known, ", ", sizeof known - strlen(known) - 1);
        }
        conf_err(x, NULL, NULL, "unknown section [%s] (known: %sstem1..stem%d)", name, known,
                 CONF_MAX_STEMS);
        return;
    }
    if (x->seen_sections & (1u << idx)) {
        conf_err(x, name, NULL, "section appears twice");
        return;
    }
    x->seen_sections |= 1u << idx;
    if (idx >= SEC_STEM1) {
        if (!x->any_stem) {
            /* The first [stemN] section: only listed stems are registered. */
            for (int i = 0; i < CONF_MAX_STEMS; i++)
                x->c->stem[i].registered = 0;
            x->any_stem = 1;
        }
        x->c->stem[idx - SEC_STEM1].registered = 1;
        x->name_line[idx - SEC_STEM1] = x->line; /* default name, until name = */
    }
}

/* inih does the tokenising, but reads its lines through this reader, so that every message can
 * name the line (the Debian build of inih has no INI_HANDLER_LINENO) and so that empty sections
 * such as a bare "[stem3]", which inih never reports to the handler, still register their stem. */
static char *
conf_reader(char *str, int num, void *stream)
{
    struct conf_ctx *x = stream;
    ssize_t n = getline(&x->buf, &x->bufsz, x->fp);

    if (n < 0)
        return NULL;
    x->line++;
    if (n > 0 && x->buf[n - 1] == '\n')
        x->buf[--n] = '\0';
    if (n > 0 && x->buf[n - 1] == '\r')
        x->buf[--n] = '\0';
    if (memchr(x->buf, '\0', (size_t)n)) {
        conf_err(x, NULL, NULL, "a NUL byte in the line (binary file?)");
        str[0] = '\0';
        return str;
    }
    if (n >= num - 2) {
        conf_err(x, NULL, NULL, "line too long (%zd bytes, at most %d)", n, num - 3);
        str[0] = '\0';
        return str;
    }
    /* Spot section headers ourselves: inih does not report empty ones.  Skip
     * a UTF-8 byte order mark on the first line as inih does. */
    const char *p = x->buf;
    if (x->line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '[') {
        const char *end = strchr(p, ']');
        if (end) {
            char name[64];
            size_t len = (size_t)(end - p - 1);
            if (len >= sizeof name)
                len = sizeof name - 1;
            memcpy(name, p + 1, len);
            name[len] = '\0';
            conf_section_start(x, name);
        }
    }
    memcpy(str, x->buf, (size_t)n + 1);
    return str;
}
static int
conf_parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int
conf_parse_long(const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

static int
conf_parse_enum(const char *v, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strcasecmp(v, names[i]) == 0)
            return i;
    return -1;
}
/* Copies a string value, reporting when it does not fit or is empty. */
static void
conf_set_str(struct conf_ctx *x, const char *sec, const char *key, char *dst, size_t dstsz,
             const char *v, int allow_empty)
{
    if (!allow_empty && !*v) {
        conf_err(x, sec, key, "must not be empty");
        return;
    }
    if (strlen(v) >= dstsz) {
        conf_err(x, sec, key, "too long (%zu bytes, at most %zu)", strlen(v), dstsz - 1);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            conf_err(x, sec, key, "contains a control character");
            return;
        }
    }
    size_t bad;
    if (naming_utf8_check(v, &bad) < 0) {
        conf_err(x, sec, key, "is not valid UTF-8 (byte 0x%02X at offset %zu)",
                 (unsigned)(unsigned char)v[bad], bad);
        return;
    }
    memcpy(dst, v, strlen(v) + 1);
}
static int
conf_parse_double(const char *v, double lo, double hi, double *out)
{
    char *end;
    /* Decimal only: strtod would also take hex (0x10) and hex floats. */
    if (strpbrk(v, "xX"))
        return -1;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d) || d < lo || d > hi)
        return -1;
    *out = d;
    return 0;
}
/* A number out of its range: "'V' is not <what> from MIN to MAX". */
static void
conf_err_range(struct conf_ctx *x, const char *section, const struct conf_key *k, const char *v)
{
    if (k->flags & CONF_K_PAREN)
        conf_err(x, section, k->name, "'%s' is not %s (%.15g..%.15g)", v, k->what, k->min, k->max);
    else
        conf_err(x, section, k->name, "'%s' is not %s from %.15g to %.15g", v, k->what, k->min,
                 k->max);
}

static void
conf_err_enum(struct conf_ctx *x, const char *section, const struct conf_key *k, const char *v)
{
    char list[128] = "";

    for (int i = 0; k->names[i]; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, k->names[i], sizeof list - strlen(list) - 1);
    }
    conf_err(x, section, k->name, "'%s' is not one of %s", v, list);
}

static void
conf_set(struct conf_ctx *x, const char *section, const struct conf_key *k, void *base,
         const char *v)
{
    char *dst = (char *)base + k->off, why[256];
    long n;
    int e;

    switch (k->type) {
    case CONF_T_ID:
        if (strchr(v, ':')) {
            conf_err(x, section, k->name, "'%s' must not contain ':'", v);
            return;
        }
        /* fall through */
    case CONF_T_STR:
        conf_set_str(x, section, k->name, dst, k->size, v, !(k->flags & CONF_K_NONEMPTY));
        return;
    case CONF_T_PORT:
        if (*v && !strchr(v, ':'))
            conf_err(x, section, k->name, "'%s' is not a JACK port name (expected client:port)", v);
        else
            conf_set_str(x, section, k->name, dst, k->size, v, 1);
        return;
    case CONF_T_ACL: {
        struct acl acl;
        if (acl_parse(&acl, v, why) < 0)
            conf_err(x, section, k->name, "%s", why);
        else
            conf_set_str(x, section, k->name, dst, k->size, v, 1);
        return;
    }
    case CONF_T_CMD: /* "": none */
        if (*v && hooks_split(v, NULL, why) < 0)
            conf_err(x, section, k->name, "%s", why);
        else
            conf_set_str(x, section, k->name, dst, k->size, v, 1);
        return;
    case CONF_T_SONG:
        if (conf_song_set(&x->c->song, k->name, v, why) < 0)
            conf_err(x, section, k->name, "%s", why);
        return;
    case CONF_T_INT:
        if (conf_parse_long(v, (long)k->min, (long)k->max, &n) < 0)
            conf_err_range(x, section, k, v);
        else
            *(int *)(void *)dst = (int)n;
        return;
    case CONF_T_DOUBLE:
        if (conf_parse_double(v, k->min, k->max, (double *)(void *)dst) < 0)
            conf_err_range(x, section, k, v);
        return;
    case CONF_T_BOOL:
        if (conf_parse_bool(v, (int *)(void *)dst) < 0)
            conf_err(x, section, k->name, "'%s' is not a boolean (true/false)", v);
        return;
    case CONF_T_ENUM:
        if ((e = conf_parse_enum(v, k->names)) < 0)
            conf_err_enum(x, section, k, v);
        else
            *(int *)(void *)dst = e;
        return;
    }
}

static int
conf_handler(void *user, const char *section, const char *name, const char *value)
{
    struct conf_ctx *x = user;
    int sec = conf_section_index(section);

    if (!*section) {
        conf_err(x, NULL, NULL, "key '%s' outside of any section", name);
        return 1;
    }
    if (sec < 0)
        return 1; /* already reported by the reader */
    const char *tsec = sec >= SEC_STEM1 ? "stem" : section;
    int key = conf_key_index(tsec, name);
    if (key < 0) {
        char known[256] = "";
        for (size_t i = 0; i < CONF_NKEYS; i++) {
            if (strcmp(conf_keys[i].section, tsec) != 0)
                continue;
            strncat(known, known[0] ? ", " : "", sizeof known - strlen(known) - 1);
            strncat(known, conf_keys[i].name, sizeof known - strlen(known) - 1);
        }
        conf_err(x, section, name, "unknown key (known in this section: %s)", known);
        return 1;
    }
    if (x->seen_keys[sec][key]) {
        conf_err(x, section, name, "set twice in this section");
        return 1;
    }
    x->seen_keys[sec][key] = 1;
    if (sec >= SEC_STEM1) {
        if (strcmp(name, "name") == 0)
            x->name_line[sec - SEC_STEM1] = x->line;
        if (strcmp(name, "connect_right") == 0)
            x->right_line[sec - SEC_STEM1] = x->line;
        conf_set(x, section, &conf_keys[key], &x->c->stem[sec - SEC_STEM1], value);
    } else
        conf_set(x, section, &conf_keys[key], x->c, value);
    return 1;
}

/* Checks that go across keys: distinct file names for every stem.  Each
 * problem is reported at the line that set the name (or, for a default name,
 * at the [stemN] line); a collision at the later of the two lines. */
static void
conf_check(struct conf_ctx *x)
{
    for (int i = 0; i < CONF_MAX_STEMS; i++) {
        if (!x->c->stem[i].registered)
            continue;
        if (x->c->stem[i].channels == 1 && x->c->stem[i].connect[1][0]) {
            log_error("%s:%d: [stem%d] connect_right: a mono stem (channels = 1) has one port, "
                      "stem%d, connected by connect_left; remove connect_right",
                      x->path, x->right_line[i], i + 1, i + 1);
            x->errors++;
        }
        if (x->c->record_mix && naming_same_file(x->c->stem[i].name, NULL)) {
            log_error("%s:%d: [stem%d] name: '%s' would collide with the mix file "
                      "(record_mix = true); choose another name",
                      x->path, x->name_line[i], i + 1, x->c->stem[i].name);
            x->errors++;
        }
        for (int j = i + 1; j < CONF_MAX_STEMS; j++) {
            if (!x->c->stem[j].registered)
                continue;
            if (naming_same_file(x->c->stem[i].name, x->c->stem[j].name)) {
                char a[NAMING_COMPONENT_MAX + 2];
                naming_stem_label(a, sizeof a, x->c->stem[i].name);
                int later = x->name_line[j] >= x->name_line[i] ? j : i;
                int other = later == j ? i : j;
                log_error("%s:%d: [stem%d] name: gives the same file name '%s' as [stem%d] "
                          "name (line %d); stem names must differ",
                          x->path, x->name_line[later], later + 1, a, other + 1,
                          x->name_line[other]);
                x->errors++;
            }
        }
    }
}
/* [osc] bind beyond loopback needs an allow list. */
static void
conf_check_osc(struct conf_ctx *x)
{
    if (!acl_is_loopback(x->c->osc_bind) && !x->c->osc_allow[0]) {
        log_error("%s: [osc] allow: required when [osc] bind (%s) is not a loopback address: "
                  "list the addresses or networks (CIDR) that may control stemcapd",
                  x->path, x->c->osc_bind);
        x->errors++;
    }
}
int
conf_load(struct conf *c, const char *path)
{
    struct conf_ctx x = {.c = c, .path = path};
    int rc = -1;

    if (strlen(path) >= sizeof c->path) {
        log_error("%s: config path too long", path);
        return -1;
    }
    snprintf(c->path, sizeof c->path, "%s", path);
    x.fp = fopen(path, "r");
    if (!x.fp) {
        log_error("%s: cannot open config file: %s", path, strerror(errno));
        return -1;
    }
    int r = ini_parse_stream(conf_reader, &x, conf_handler, &x);
    if (r > 0) {
        /* inih reports the first line it could not parse; our reader's line
         * counter has moved on, so name inih's line. */
        log_error("%s:%d: syntax error (expected 'key = value' or '[section]')", path, r);
        x.errors++;
    } else if (r < 0 || ferror(x.fp)) {
        log_error("%s: cannot read config file: %s", path, strerror(errno));
        x.errors++;
    }
    if (x.errors == 0) {
        conf_check(&x);
        conf_check_osc(&x);
    }
    if (x.errors == 0)
        rc = 0;
    else
        log_error("%s: %d error%s in config; nothing started", path, x.errors,
                  x.errors == 1 ? "" : "s");
    free(x.buf);
    fclose(x.fp);
    return rc;
}
/* Writing: one "key = value" line per key, checked against what the loader
 * reads back (inih strips whitespace around a value and ends it at ';' after
 * whitespace; our reader refuses lines over INI_MAX_LINE - 3 bytes). */
struct conf_out {
    FILE *f;
    char *why;
    int failed;
};

static void conf_put(struct conf_out *o, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_put(struct conf_out *o, const char *key, const char *fmt, ...)
{
    char v[PATH_MAX + 64];
    va_list ap;

    if (o->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    size_t n = strlen(v);
    int bad = n && (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1]));
    for (size_t i = 1; i < n && !bad; i++)
        bad = v[i] == ';' && isspace((unsigned char)v[i - 1]);
    if (bad) {
        snprintf(o->why, 256,
                 "%s = '%.100s' cannot be written to an INI file (whitespace at "
                 "either end, or before ';')",
                 key, v);
        o->failed = 1;
        return;
    }
    if (strlen(key) + 3 + n > INI_MAX_LINE - 3) {
        snprintf(o->why, 256, "%s: the value is too long for one line (at most %d bytes)", key,
                 INI_MAX_LINE - 3);
        o->failed = 1;
        return;
    }
    fprintf(o->f, n ? "%s = %s\n" : "%s =\n", key, v);
}

static void
conf_put_bool(struct conf_out *o, const char *key, int v)
{
    conf_put(o, key, "%s", v ? "true" : "false");
}

/* The shortest decimal that reads back as the same double. */
static void
conf_put_double(struct conf_out *o, const char *key, double d)
{
    char s[40];
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, d);
        if (strtod(s, NULL) == d)
            break;
    }
    conf_put(o, key, "%s", s);
}

/* One table key's value in BASE, as conf_put writes it; 0 when the key is
 * not set (CONF_K_UNSET_*): then nothing is written. */
static void
conf_put_key(struct conf_out *o, const struct conf_key *k, const void *base)
{
    const char *p = (const char *)base + k->off;
    int i = 0;

    if (k->type == CONF_T_INT || k->type == CONF_T_BOOL || k->type == CONF_T_ENUM)
        memcpy(&i, p, sizeof i);
    switch (k->type) {
    case CONF_T_INT:
        if (i == 0 && (k->flags & CONF_K_UNSET_0))
            fprintf(o->f, "; %s: not set, any free port (under a session manager)\n", k->name);
        else
            conf_put(o, k->name, "%d", i);
        break;
    case CONF_T_DOUBLE: {
        double d;
        memcpy(&d, p, sizeof d);
        conf_put_double(o, k->name, d);
        break;
    }
    case CONF_T_BOOL:
        conf_put_bool(o, k->name, i);
        break;
    case CONF_T_ENUM:
        conf_put(o, k->name, "%s", k->names[i]);
        break;
    default:
        if (!*p && (k->flags & CONF_K_UNSET_E))
            break;
        conf_put(o, k->name, "%s", p);
        break;
    }
}

/* Every key of SECTION ("stem": of one [stemN], BASE its struct conf_stem). */
static void
conf_put_section(struct conf_out *o, const char *section, const char *header, const void *base)
{
    fprintf(o->f, "[%s]\n", header);
    for (size_t i = 0; i < CONF_NKEYS; i++)
        if (strcmp(conf_keys[i].section, section) == 0)
            conf_put_key(o, &conf_keys[i], base);
}

char *
conf_to_ini(const struct conf *c, char *why)
{
    struct conf_out o = {.why = why};
    char *text = NULL;
    size_t size = 0;

    o.f = open_memstream(&text, &size);
    if (!o.f) {
        snprintf(why, 256, "out of memory");
        return NULL;
    }
    fprintf(o.f, "; stemcap.ini written by stemcapd %s: every key; see stemcap.ini(5)\n",
            STEMCAP_VERSION);
    for (int s = 0; s < SEC_STEM1; s++)
        conf_put_section(&o, conf_fixed_sections[s], conf_fixed_sections[s], c);
    for (int i = 0; i < CONF_MAX_STEMS; i++) {
        char header[16];
        if (!c->stem[i].registered)
            continue;
        snprintf(header, sizeof header, "stem%d", i + 1);
        conf_put_section(&o, "stem", header, &c->stem[i]);
    }
    if (fclose(o.f) != 0 && !o.failed) {
        snprintf(why, 256, "out of memory");
        o.failed = 1;
    }
    if (o.failed) {
        free(text);
        return NULL;
    }
    return text;
}

/* 1 when table key K differs between A and B (struct conf or conf_stem). */
static int
conf_key_differs(const struct conf_key *k, const void *a, const void *b)
{
    const char *x = (const char *)a + k->off, *y = (const char *)b + k->off;

    switch (k->type) {
    case CONF_T_INT:
    case CONF_T_BOOL:
    case CONF_T_ENUM:
        return memcmp(x, y, sizeof(int)) != 0;
    case CONF_T_DOUBLE: {
        double u, v;
        memcpy(&u, x, sizeof u);
        memcpy(&v, y, sizeof v);
        return u != v;
    }
    default:
        return strcmp(x, y) != 0;
    }
}

void
conf_restart_keys(const struct conf *o, const struct conf *n, char *out, size_t outsz)
{
    out[0] = '\0';
    for (size_t i = 0; i < CONF_NKEYS; i++) {
        const struct conf_key *k = &conf_keys[i];
        if ((k->flags & CONF_K_LIVE))
            continue;
        if (strcmp(k->section, "stem") == 0) {
            for (int s = 0; s < CONF_MAX_STEMS; s++) {
                if (!o->stem[s].registered || !n->stem[s].registered ||
                    !conf_key_differs(k, &o->stem[s], &n->stem[s]))
                    continue;
                size_t len = strlen(out);
                snprintf(out + len, outsz - len, "%s[stem%d] %s", len ? ", " : "", s + 1, k->name);
            }
            continue;
        }
        if (!conf_key_differs(k, o, n))
            continue;
        size_t len = strlen(out);
        snprintf(out + len, outsz - len, "%s[%s] %s", len ? ", " : "", k->section, k->name);
    }
}

void
conf_print_keys(FILE *to)
{
    for (size_t i = 0; i < CONF_NKEYS; i++) {
        const struct conf_key *k = &conf_keys[i];
        char sec[16], range[64] = "";
        if (strcmp(k->section, "stem") == 0)
            snprintf(sec, sizeof sec, "stem1..%d", CONF_MAX_STEMS);
        else
            snprintf(sec, sizeof sec, "%s", k->section);
        if (k->type == CONF_T_INT || k->type == CONF_T_DOUBLE)
            snprintf(range, sizeof range, " (%.15g..%.15g)", k->min, k->max);
        for (int j = 0; k->type == CONF_T_ENUM && k->names[j]; j++) {
            strncat(range, j ? "|" : " (", sizeof range - strlen(range) - 1);
            strncat(range, k->names[j], sizeof range - strlen(range) - 1);
        }
        if (k->type == CONF_T_ENUM)
            strncat(range, ")", sizeof range - strlen(range) - 1);
        fprintf(to, "[%s] %s =%s%s%s%s ; %s%s%s\n", sec, k->name, k->def[0] ? " " : "", k->def,
                k->flags & CONF_K_NUMBERED ? " N" : "", range, k->doc,
                k->flags & CONF_K_NONEMPTY ? " (not empty)" : "",
                k->flags & CONF_K_LIVE ? " (SIGHUP applies it)" : "");
    }
}

int
conf_save(const struct conf *c, const char *path)
{
    char why[256], tmp[PATH_MAX + 8];
    char *text = conf_to_ini(c, why);

    if (!text) {
        log_error("%s: cannot save the configuration: %s", path, why);
        return -1;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        log_error("%s: path too long", path);
        free(text);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    int ok = f && fputs(text, f) >= 0 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int err = errno;
    if (f && fclose(f) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    free(text);
    if (!ok || rename(tmp, path) < 0) {
        if (ok)
            err = errno;
        log_error("%s: cannot save the configuration: %s", path, strerror(err));
        unlink(tmp);
        return -1;
    }
    return 0;
}
