/* conf — defaults, INI parsing and validation.
 *
 * inih does the tokenising; we feed it through our own line reader so that
 * every message can name the line (the Debian build of inih has no
 * INI_HANDLER_LINENO) and so that empty sections such as a bare "[stem3]",
 * which inih never reports to the handler, still register their stem.
 * Parsing never stops at the first problem: every bad line is reported, then
 * conf_load() fails as a whole, so the daemon starts with a fully valid
 * configuration or not at all.  conf_to_ini()/conf_save() write the other
 * way, every key, refusing values the INI syntax cannot carry, so that what
 * they write loads back to the same configuration (a session manager's
 * save). */
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
#include "log.h"
#include "naming.h"

struct conf_ctx {
    struct conf *c;
    const char *path;
    FILE *fp;
    int line;     /* line number of the line inih is looking at */
    int errors;   /* problems reported so far */
    int any_stem; /* a [stemN] section was seen */
    char *buf;    /* getline buffer */
    size_t bufsz;
    unsigned seen_sections;                 /* bit per section index */
    unsigned seen_keys[7 + CONF_MAX_STEMS]; /* bit per key index, per section */
    int name_line[CONF_MAX_STEMS];          /* line that set the stem's name */
};

enum { SEC_JACK, SEC_OSC, SEC_CAPTURE, SEC_SONG, SEC_MIX, SEC_METER, SEC_NULL, SEC_STEM1 };

static const char *const conf_fixed_sections[] = {"jack", "osc",   "capture", "song",
                                                  "mix",  "meter", "null"};

static const char *const conf_format_names[] = {"wav", "aiff", "w64"};
static const char *const conf_sample_names[] = {"pcm16", "pcm24", "pcm32", "float", "double"};

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

/* Where each [song] key lives, and how long it may be. */
static char *
conf_song_field(struct conf_song *s, const char *key, size_t *size)
{
    static const struct {
        const char *key;
        size_t off, size;
    } f[] = {
        {"title", offsetof(struct conf_song, title), sizeof s->title},
        {"artist", offsetof(struct conf_song, artist), sizeof s->artist},
        {"album", offsetof(struct conf_song, album), sizeof s->album},
        {"track", offsetof(struct conf_song, track), sizeof s->track},
        {"isrc", offsetof(struct conf_song, isrc), sizeof s->isrc},
        {"upc", offsetof(struct conf_song, upc), sizeof s->upc},
        {"label", offsetof(struct conf_song, label), sizeof s->label},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (strcmp(key, f[i].key) == 0) {
            *size = f[i].size;
            return (char *)s + f[i].off;
        }
    }
    return NULL;
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

const char *
conf_song_get(const struct conf_song *s, const char *key)
{
    size_t size;
    return conf_song_field((struct conf_song *)s, key, &size);
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
    char a[NAMING_COMPONENT_MAX + 2], b[NAMING_COMPONENT_MAX + 2];

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
    naming_sanitize(a, sizeof a, name, "Stem");
    if (c->record_mix && strcasecmp(a, "Mix") == 0) {
        snprintf(why, 256, "'%s' would collide with the mix file", name);
        return -1;
    }
    for (int j = 0; j < CONF_MAX_STEMS; j++) {
        if (j == stem - 1 || !c->stem[j].registered)
            continue;
        naming_sanitize(b, sizeof b, c->stem[j].name, "Stem");
        if (strcasecmp(a, b) == 0) {
            snprintf(why, 256, "'%s' gives the same file name as stem %d ('%s')", name, j + 1,
                     c->stem[j].name);
            return -1;
        }
    }
    return 0;
}

void
conf_defaults(struct conf *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->jack_client, sizeof c->jack_client, "stemcap");
    snprintf(c->jack_pretty_name, sizeof c->jack_pretty_name, "stemcap");
    c->osc_port = 9951;
    snprintf(c->osc_bind, sizeof c->osc_bind, "127.0.0.1");
    snprintf(c->capture_dir, sizeof c->capture_dir, "takes");
    c->format = CONF_FORMAT_WAV;
    c->sample_format = CONF_SAMPLE_PCM24;
    c->buffer_seconds = 10.0;
    c->record_mix = 1;
    snprintf(c->song.title, sizeof c->song.title, "Untitled");
    c->osc_subscription_ttl = 30;
    c->min_free_mb = 512;
    c->osc_max_subscribers = 8;
    c->meter_window_ms = 100;
    c->null_threshold_db = -60.0;
    c->mix_auto_offset = 1;
    for (int i = 0; i < CONF_MAX_STEMS; i++) {
        c->stem[i].registered = 1;
        c->stem[i].armed = 1;
        snprintf(c->stem[i].name, sizeof c->stem[i].name, "Stem %d", i + 1);
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
        conf_err(x, NULL, NULL,
                 "unknown section [%s] (known: jack, osc, capture, song, mix, meter, null, "
                 "stem1..stem%d)",
                 name, CONF_MAX_STEMS);
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
conf_parse_enum(const char *v, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
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

static void
conf_set_port(struct conf_ctx *x, const char *sec, const char *key, char *dst, const char *v)
{
    if (*v && !strchr(v, ':')) {
        conf_err(x, sec, key, "'%s' is not a JACK port name (expected client:port)", v);
        return;
    }
    conf_set_str(x, sec, key, dst, CONF_PORT_MAX, v, 1);
}

/* Key tables: the index of a key in its table is its bit in seen_keys. */
static const char *const keys_jack[] = {"server", "client", "pretty_name", NULL};
static const char *const keys_osc[] = {
    "port", "bind", "subscription_ttl", "max_subscribers", "bundle", "allow", NULL};
static const char *const keys_capture[] = {
    "dir",        "format",           "sample_format", "buffer_seconds",
    "record_mix", "follow_transport", "min_free_mb",   NULL};
static const char *const keys_song[] = {"title", "artist", "album", "track",
                                        "isrc",  "upc",    "label", NULL};
static const char *const keys_mix[] = {"connect_left", "connect_right", "offset_frames",
                                       "auto_offset", NULL};
static const char *const keys_meter[] = {"window_ms", NULL};
static const char *const keys_null[] = {"threshold_db", NULL};
static const char *const keys_stem[] = {"name", "connect_left", "connect_right", "armed", NULL};

static const char *const *const conf_keys[] = {keys_jack, keys_osc,   keys_capture, keys_song,
                                               keys_mix,  keys_meter, keys_null};

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

static void
conf_set(struct conf_ctx *x, int sec, const char *section, int key, const char *name, const char *v)
{
    struct conf *c = x->c;
    long n;
    int e;

    switch (sec) {
    case SEC_JACK:
        if (key == 0) {
            conf_set_str(x, section, name, c->jack_server, sizeof c->jack_server, v, 1);
        } else if (key == 2) {
            conf_set_str(x, section, name, c->jack_pretty_name, sizeof c->jack_pretty_name, v, 1);
        } else {
            if (strchr(v, ':'))
                conf_err(x, section, name, "'%s' must not contain ':'", v);
            else
                conf_set_str(x, section, name, c->jack_client, sizeof c->jack_client, v, 0);
        }
        break;
    case SEC_OSC:
        if (key == 0) {
            if (conf_parse_long(v, 1, 65535, &n) < 0)
                conf_err(x, section, name, "'%s' is not a UDP port number (1..65535)", v);
            else
                c->osc_port = (int)n;
        } else if (key == 1) {
            conf_set_str(x, section, name, c->osc_bind, sizeof c->osc_bind, v, 0);
        } else if (key == 2) {
            if (conf_parse_long(v, 1, 86400, &n) < 0)
                conf_err(x, section, name, "'%s' is not a number of seconds from 1 to 86400", v);
            else
                c->osc_subscription_ttl = (int)n;
        } else if (key == 3) {
            if (conf_parse_long(v, 1, CONF_MAX_SUBSCRIBERS, &n) < 0)
                conf_err(x, section, name, "'%s' is not a number from 1 to %d", v,
                         CONF_MAX_SUBSCRIBERS);
            else
                c->osc_max_subscribers = (int)n;
        } else if (key == 4) {
            if (conf_parse_bool(v, &c->osc_bundle) < 0)
                conf_err(x, section, name, "'%s' is not a boolean (true/false)", v);
        } else {
            struct acl acl;
            char why[256];
            if (acl_parse(&acl, v, why) < 0)
                conf_err(x, section, name, "%s", why);
            else
                conf_set_str(x, section, name, c->osc_allow, sizeof c->osc_allow, v, 1);
        }
        break;
    case SEC_METER: {
        if (conf_parse_long(v, 10, 10000, &n) < 0)
            conf_err(x, section, name, "'%s' is not a number of milliseconds from 10 to 10000", v);
        else
            c->meter_window_ms = (int)n;
        break;
    }
    case SEC_NULL: {
        double d;
        if (conf_parse_double(v, -150.0, 0.0, &d) < 0)
            conf_err(x, section, name, "'%s' is not a level in dBFS from -150 to 0", v);
        else
            c->null_threshold_db = d;
        break;
    }
    case SEC_CAPTURE:
        switch (key) {
        case 0:
            conf_set_str(x, section, name, c->capture_dir, sizeof c->capture_dir, v, 0);
            break;
        case 1:
            if ((e = conf_parse_enum(v, conf_format_names, 3)) < 0)
                conf_err(x, section, name, "'%s' is not one of wav, aiff, w64", v);
            else
                c->format = (enum conf_format)e;
            break;
        case 2:
            if ((e = conf_parse_enum(v, conf_sample_names, 5)) < 0)
                conf_err(x, section, name, "'%s' is not one of pcm16, pcm24, pcm32, float, double",
                         v);
            else
                c->sample_format = (enum conf_sample)e;
            break;
        case 3:
            if (conf_parse_double(v, 1.0, 300.0, &c->buffer_seconds) < 0)
                conf_err(x, section, name, "'%s' is not a number of seconds from 1 to 300", v);
            break;
        case 4:
            if (conf_parse_bool(v, &c->record_mix) < 0)
                conf_err(x, section, name, "'%s' is not a boolean (true/false)", v);
            break;
        case 5:
            if (conf_parse_bool(v, &c->follow_transport) < 0)
                conf_err(x, section, name, "'%s' is not a boolean (true/false)", v);
            break;
        case 6:
            if (conf_parse_long(v, 0, 1000000, &n) < 0)
                conf_err(x, section, name, "'%s' is not a number of MB from 0 to 1000000", v);
            else
                c->min_free_mb = (int)n;
            break;
        }
        break;
    case SEC_SONG: {
        char why[256];
        if (conf_song_set(&c->song, name, v, why) < 0)
            conf_err(x, section, name, "%s", why);
        break;
    }
    case SEC_MIX:
        if (key < 2) {
            conf_set_port(x, section, name, c->mix_connect[key], v);
        } else if (key == 3) {
            if (conf_parse_bool(v, &c->mix_auto_offset) < 0)
                conf_err(x, section, name, "'%s' is not a boolean (true/false)", v);
        } else if (conf_parse_long(v, -CONF_MAX_OFFSET, CONF_MAX_OFFSET, &n) < 0) {
            conf_err(x, section, name, "'%s' is not a number of frames from %d to %d", v,
                     -CONF_MAX_OFFSET, CONF_MAX_OFFSET);
        } else {
            c->mix_offset_frames = (int)n;
        }
        break;
    default: {
        struct conf_stem *s = &c->stem[sec - SEC_STEM1];
        if (key == 0) {
            conf_set_str(x, section, name, s->name, sizeof s->name, v, 0);
            x->name_line[sec - SEC_STEM1] = x->line;
        } else if (key == 3) {
            if (conf_parse_bool(v, &s->armed) < 0)
                conf_err(x, section, name, "'%s' is not a boolean (true/false)", v);
        } else
            conf_set_port(x, section, name, s->connect[key - 1], v);
        break;
    }
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
    const char *const *keys = sec >= SEC_STEM1 ? keys_stem : conf_keys[sec];
    int key = -1;
    for (int i = 0; keys[i]; i++)
        if (strcmp(name, keys[i]) == 0)
            key = i;
    if (key < 0) {
        char known[256] = "";
        for (int i = 0; keys[i]; i++) {
            strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
            strncat(known, keys[i], sizeof known - strlen(known) - 1);
        }
        conf_err(x, section, name, "unknown key (known in this section: %s)", known);
        return 1;
    }
    if (x->seen_keys[sec] & (1u << key)) {
        conf_err(x, section, name, "set twice in this section");
        return 1;
    }
    x->seen_keys[sec] |= 1u << key;
    conf_set(x, sec, section, key, name, value);
    return 1;
}

/* Checks that go across keys: distinct file names for every stem.  Each
 * problem is reported at the line that set the name (or, for a default name,
 * at the [stemN] line); a collision at the later of the two lines. */
static void
conf_check(struct conf_ctx *x)
{
    char a[NAMING_COMPONENT_MAX + 2], b[NAMING_COMPONENT_MAX + 2];

    for (int i = 0; i < CONF_MAX_STEMS; i++) {
        if (!x->c->stem[i].registered)
            continue;
        naming_sanitize(a, sizeof a, x->c->stem[i].name, "Stem");
        if (x->c->record_mix && strcasecmp(a, "Mix") == 0) {
            log_error("%s:%d: [stem%d] name: '%s' would collide with the mix file "
                      "(record_mix = true); choose another name",
                      x->path, x->name_line[i], i + 1, x->c->stem[i].name);
            x->errors++;
        }
        for (int j = i + 1; j < CONF_MAX_STEMS; j++) {
            if (!x->c->stem[j].registered)
                continue;
            naming_sanitize(b, sizeof b, x->c->stem[j].name, "Stem");
            if (strcasecmp(a, b) == 0) {
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
    fprintf(o.f, "[jack]\n");
    conf_put(&o, "server", "%s", c->jack_server);
    conf_put(&o, "client", "%s", c->jack_client);
    conf_put(&o, "pretty_name", "%s", c->jack_pretty_name);
    fprintf(o.f, "[osc]\n");
    if (c->osc_port)
        conf_put(&o, "port", "%d", c->osc_port);
    else
        fprintf(o.f, "; port: not set, any free port (under a session manager)\n");
    conf_put(&o, "bind", "%s", c->osc_bind);
    conf_put(&o, "subscription_ttl", "%d", c->osc_subscription_ttl);
    conf_put(&o, "max_subscribers", "%d", c->osc_max_subscribers);
    conf_put_bool(&o, "bundle", c->osc_bundle);
    if (c->osc_allow[0])
        conf_put(&o, "allow", "%s", c->osc_allow);
    fprintf(o.f, "[capture]\n");
    conf_put(&o, "dir", "%s", c->capture_dir);
    conf_put(&o, "format", "%s", conf_format_name(c->format));
    conf_put(&o, "sample_format", "%s", conf_sample_name(c->sample_format));
    conf_put_double(&o, "buffer_seconds", c->buffer_seconds);
    conf_put_bool(&o, "record_mix", c->record_mix);
    conf_put_bool(&o, "follow_transport", c->follow_transport);
    conf_put(&o, "min_free_mb", "%d", c->min_free_mb);
    fprintf(o.f, "[song]\n");
    for (int i = 0; keys_song[i]; i++)
        conf_put(&o, keys_song[i], "%s", conf_song_get(&c->song, keys_song[i]));
    fprintf(o.f, "[mix]\n");
    conf_put(&o, "connect_left", "%s", c->mix_connect[0]);
    conf_put(&o, "connect_right", "%s", c->mix_connect[1]);
    conf_put(&o, "offset_frames", "%d", c->mix_offset_frames);
    conf_put_bool(&o, "auto_offset", c->mix_auto_offset);
    fprintf(o.f, "[meter]\n");
    conf_put(&o, "window_ms", "%d", c->meter_window_ms);
    fprintf(o.f, "[null]\n");
    conf_put_double(&o, "threshold_db", c->null_threshold_db);
    for (int i = 0; i < CONF_MAX_STEMS; i++) {
        const struct conf_stem *s = &c->stem[i];
        if (!s->registered)
            continue;
        fprintf(o.f, "[stem%d]\n", i + 1);
        conf_put(&o, "name", "%s", s->name);
        conf_put(&o, "connect_left", "%s", s->connect[0]);
        conf_put(&o, "connect_right", "%s", s->connect[1]);
        conf_put_bool(&o, "armed", s->armed);
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
