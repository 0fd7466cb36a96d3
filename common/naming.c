/* naming — song and stem names made safe as file-name components, and the
 * delivery layout built from them.
 *
 * Names come from the config file and from OSC, i.e. from anyone who can
 * reach the port.  A name becomes exactly one path component: it can never
 * contain a separator, start with a dot (no "..", no hidden files) or carry
 * control characters, and it stays short enough that "<Song> - <Stem>.wav"
 * fits every file system's 255-byte limit.  Characters that Windows or macOS
 * reject are replaced too, because delivery folders travel to mastering
 * studios on other systems.  The function is pure and unit-tested. */
#include "naming.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t
utf8_seq_len(const unsigned char *s)
{
    size_t len;
    unsigned int cp;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2;
        cp = s[0] & 0x1Fu;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3;
        cp = s[0] & 0x0Fu;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    /* Reject overlong forms, surrogates and code points past U+10FFFF. */
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    /* C1 controls (U+0080..U+009F) are control characters too. */
    if (cp >= 0x80 && cp <= 0x9F)
        return 0;
    return len;
}

static int
is_reserved_device(const char *s)
{
    static const char *const dev[] = {"CON", "PRN", "AUX", "NUL"};
    size_t n = strcspn(s, ".");

    for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
        if (n == 3 && strncasecmp(s, dev[i], 3) == 0)
            return 1;
    if (n == 4 && (strncasecmp(s, "COM", 3) == 0 || strncasecmp(s, "LPT", 3) == 0) && s[3] >= '1' &&
        s[3] <= '9')
        return 1;
    return 0;
}

int
naming_sanitize(char *out, size_t outsz, const char *in, const char *fallback)
{
    const unsigned char *p = (const unsigned char *)(in ? in : "");
    size_t n = 0;
    int pending_space = 0;

    if (outsz == 0)
        return -1;
    while (*p) {
        size_t len = utf8_seq_len(p);
        const char *emit;
        char repl[2] = {'_', 0};

        if (len == 0) { /* invalid byte */
            emit = repl;
            len = 1;
        } else if (len == 1 && (*p < 0x20 || *p == 0x7F || *p == ' ')) {
            /* Whitespace and control characters fold to one space. */
            pending_space = n > 0;
            p++;
            continue;
        } else if (len == 1 && strchr("/\\:*?\"<>|", *p)) {
            repl[0] = (*p == ':' || *p == '/' || *p == '\\' || *p == '|') ? '-' : '_';
            emit = repl;
        } else if (len == 1 && *p == '.' && n == 0) {
            p++; /* no leading dots */
            continue;
        } else {
            emit = (const char *)p;
        }
        size_t elen = emit == repl ? 1 : len;
        if (n + pending_space + elen > NAMING_COMPONENT_MAX)
            break;
        if (n + pending_space + elen + 1 > outsz)
            return -1;
        if (pending_space)
            out[n++] = ' ';
        pending_space = 0;
        memcpy(out + n, emit, elen);
        n += elen;
        p += len;
    }
    /* No trailing dots or spaces (Windows drops them silently). */
    while (n > 0 && (out[n - 1] == '.' || out[n - 1] == ' '))
        n--;
    out[n] = '\0';
    if (n == 0) {
        size_t f = strlen(fallback);
        if (f + 1 > outsz)
            return -1;
        memcpy(out, fallback, f + 1);
        n = f;
    }
    if (is_reserved_device(out)) {
        /* Make room for the '_' within NAMING_COMPONENT_MAX: drop the last
         * character (whole UTF-8 sequence) and any dots or spaces it exposes.
         * The device name before the first '.' is ASCII and stays. */
        if (n + 1 > NAMING_COMPONENT_MAX) {
            do
                n--;
            while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80);
            while (n > 0 && (out[n - 1] == '.' || out[n - 1] == ' '))
                n--;
            out[n] = '\0';
        }
        if (n + 2 > outsz)
            return -1;
        memmove(out + 1, out, n + 1);
        out[0] = '_';
    }
    return 0;
}

int
naming_utf8_check(const char *s, size_t *at)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; p[i];) {
        size_t len = utf8_seq_len(p + i);
        if (!len) {
            if (at)
                *at = i;
            return -1;
        }
        i += len;
    }
    return 0;
}

int
naming_is_safe(const char *s)
{
    char tmp[NAMING_COMPONENT_MAX + 2];

    if (!s || !*s || strlen(s) > NAMING_COMPONENT_MAX)
        return 0;
    if (naming_sanitize(tmp, sizeof tmp, s, "") < 0)
        return 0;
    return strcmp(tmp, s) == 0;
}

void
naming_stem_label(char *out, size_t outsz, const char *name)
{
    if (!name)
        snprintf(out, outsz, "%s", NAMING_MIX);
    else if (naming_sanitize(out, outsz, name, NAMING_STEM_FALLBACK) < 0 && outsz)
        out[0] = '\0';
}

void
naming_song_folder(char *out, size_t outsz, const char *title)
{
    if (naming_sanitize(out, outsz, title, NAMING_SONG_FALLBACK) < 0 && outsz)
        out[0] = '\0';
}

int
naming_file(char *out, size_t outsz, const char *song, const char *label, const char *ext)
{
    int n = snprintf(out, outsz, "%s" NAMING_SEP "%s.%s", song, label, ext);

    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

void
naming_title(char *out, size_t outsz, const char *title, const char *name)
{
    snprintf(out, outsz, "%s" NAMING_SEP "%s", title, name ? name : NAMING_MIX);
}

void
naming_take_folder(char *out, size_t outsz, int n)
{
    snprintf(out, outsz, NAMING_TAKE_PREFIX "%02d", n);
}

/* The number after PREFIX in NAME, or -1. */
static long
naming_number(const char *name, const char *prefix)
{
    const char *p = name + strlen(prefix);
    long n = 0;

    if (strncmp(name, prefix, strlen(prefix)) != 0 || !*p)
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || n > 100000000)
            return -1;
        n = 10 * n + (*p - '0');
    }
    return n;
}

long
naming_take_number(const char *name)
{
    return naming_number(name, NAMING_TAKE_PREFIX);
}

void
naming_part_folder(char *out, size_t outsz, int n)
{
    snprintf(out, outsz, NAMING_PART_PREFIX "%02d", n);
}

long
naming_part_number(const char *name)
{
    return naming_number(name, NAMING_PART_PREFIX);
}

int
naming_same_file(const char *a, const char *b)
{
    char x[NAMING_COMPONENT_MAX + 2], y[NAMING_COMPONENT_MAX + 2];

    naming_stem_label(x, sizeof x, a);
    naming_stem_label(y, sizeof y, b);
    return strcasecmp(x, y) == 0;
}

const char *
naming_stem_part(const char *base, const char *song)
{
    size_t n, s = strlen(NAMING_SEP);

    if (!song)
        return NULL;
    n = strlen(song);
    if (strncmp(base, song, n) != 0 || strncmp(base + n, NAMING_SEP, s) != 0)
        return NULL;
    base += n + s;
    return base[strspn(base, " ")] ? base : NULL;
}
