/* profile — delivery profiles: a profile is a set of rules, each a key of
 * one table (what it checks, its type and range); the built-in profiles are
 * lists of key = value pairs, and a studio's own is an INI file of the same
 * keys (read with inih), so both go through one setter.  chk_profile() turns
 * each rule the profile sets into one check with the measured figure. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "check.h"

enum key {
    K_SAMPLE_RATE,
    K_MIN_BITS,
    K_STEMS,
    K_MAX_STEMS,
    K_REQUIRE_MIX,
    K_SAME_LENGTH,
    K_MAX_SAMPLE_PEAK,
    K_MAX_TRUE_PEAK,
    K_MAX_INTEGRATED,
    K_MIN_INTEGRATED,
    K_MAX_HEAD_SILENCE,
    K_LEAD_IN,
    K_NOISE_FLOOR,
    NKEYS
};

enum type { T_INT, T_REAL, T_BOOL };

/* The rules: the INI key, the check's name in the report, the type and range of the value. */
static const struct keydef {
    const char *key;
    const char *check;
    enum type type;
    double lo, hi;
} keys[NKEYS] = {
    [K_SAMPLE_RATE] = {"sample_rate", "rate", T_INT, 1, 10000000},
    [K_MIN_BITS] = {"min_bits", "bits", T_INT, 8, 64},
    [K_STEMS] = {"stems", "stem-count", T_INT, 0, MAX_FILES},
    [K_MAX_STEMS] = {"max_stems", "max-stems", T_INT, 0, MAX_FILES},
    [K_REQUIRE_MIX] = {"require_mix", "mix", T_BOOL, 0, 1},
    [K_SAME_LENGTH] = {"same_length", "same-length", T_BOOL, 0, 1},
    [K_MAX_SAMPLE_PEAK] = {"max_sample_peak_dbfs", "sample-peak", T_REAL, -200, 0},
    [K_MAX_TRUE_PEAK] = {"max_true_peak_dbtp", "true-peak", T_REAL, -200, 20},
    [K_MAX_INTEGRATED] = {"max_integrated_lufs", "max-loudness", T_REAL, -200, 20},
    [K_MIN_INTEGRATED] = {"min_integrated_lufs", "min-loudness", T_REAL, -200, 20},
    [K_MAX_HEAD_SILENCE] = {"max_head_silence_seconds", "head-silence", T_REAL, 0, 3600},
    [K_LEAD_IN] = {"lead_in_seconds", NULL, T_REAL, 0, 3600},
    [K_NOISE_FLOOR] = {"noise_floor_dbfs", NULL, T_REAL, -200, 0},
};

struct profile {
    char *name;
    int set[NKEYS];
    double v[NKEYS];
};

/* The built-in profiles, in the keys of an INI profile. */
struct pair {
    const char *key, *value;
};
static const struct builtin {
    const char *name;
    struct pair rules[NKEYS + 1];
} builtins[] = {
    {"default", {{NULL, NULL}}},
    {"apple-digital-masters",
     {{"min_bits", "24"},
      {"max_sample_peak_dbfs", "0"},
      {"max_true_peak_dbtp", "0"},
      {NULL, NULL}}},
    {"atmos",
     {{"sample_rate", "48000"},
      {"min_bits", "24"},
      {"max_integrated_lufs", "-18"},
      {"max_true_peak_dbtp", "-1"},
      {"require_mix", "true"},
      {"same_length", "true"},
      {"lead_in_seconds", "0"},
      {"max_head_silence_seconds", "0.5"},
      {NULL, NULL}}},
    {"ni-stems", {{"stems", "4"}, {"require_mix", "true"}, {NULL, NULL}}},
};

/* Sets KEY to VALUE; returns 0, or -1 with *WHY saying what is wrong. */
static int
set_key(struct profile *p, const char *key, const char *value, const char **why)
{
    char *end;
    double v;
    int k;

    for (k = 0; k < NKEYS && strcmp(keys[k].key, key); k++) {
    }
    if (k == NKEYS) {
        *why = "unknown key";
        return -1;
    }
    if (keys[k].type == T_BOOL) {
        if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") || !strcmp(value, "1")) {
            v = 1;
        } else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") || !strcmp(value, "0")) {
            v = 0;
        } else {
            *why = "expected true or false";
            return -1;
        }
    } else {
        errno = 0;
        v = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(v) || v < keys[k].lo || v > keys[k].hi ||
            (keys[k].type == T_INT && v != floor(v))) {
            *why = keys[k].type == T_INT ? "expected a whole number in range"
                                         : "expected a number in range";
            return -1;
        }
    }
    p->set[k] = 1;
    p->v[k] = v;
    return 0;
}

struct ini_ctx {
    struct profile *p;
    char why[192];
};

static int
on_key(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *c = user;
    const char *why;

    if (*section && strcmp(section, "profile")) {
        snprintf(c->why, sizeof c->why, "unknown section [%s] (only [profile])", section);
        return 0;
    }
    if (!strcmp(name, "name")) {
        free(c->p->name);
        c->p->name = strdup(value);
        return c->p->name != NULL;
    }
    if (!strcmp(name, "description")) {
        return 1;
    }
    if (set_key(c->p, name, value, &why) < 0) {
        if (!strcmp(why, "unknown key")) {
            snprintf(c->why, sizeof c->why, "unknown key '%s'", name);
        } else {
            snprintf(c->why, sizeof c->why, "key '%s': %s", name, why);
        }
        return 0;
    }
    return 1;
}

static struct profile *
load_file(const char *path, int *rc)
{
    struct profile *p = calloc(1, sizeof *p);
    struct ini_ctx c = {.p = p};
    int line;

    *rc = EXIT_USAGE;
    if (!p) {
        check_err("out of memory");
        return NULL;
    }
    line = ini_parse(path, on_key, &c);
    if (line < 0) {
        check_err("%s: cannot read the profile: %s", path,
                  line == -1 ? strerror(errno) : "out of memory");
    } else if (line > 0) {
        check_err("%s:%d: %s", path, line, *c.why ? c.why : "not a key = value line");
    } else if (!p->name && !(p->name = strdup(path))) {
        check_err("out of memory");
    } else {
        return p;
    }
    free(p->name);
    free(p);
    return NULL;
}

static struct profile *
load_builtin(const struct builtin *b, int *rc)
{
    struct profile *p = calloc(1, sizeof *p);
    const char *why;

    *rc = EXIT_USAGE;
    if (!p || !(p->name = strdup(b->name))) {
        check_err("out of memory");
        free(p);
        return NULL;
    }
    for (const struct pair *r = b->rules; r->key; r++) {
        if (set_key(p, r->key, r->value, &why) < 0) { /* a bug in the table above */
            check_err("built-in profile %s: %s: %s", b->name, r->key, why);
            prof_free(p);
            return NULL;
        }
    }
    return p;
}

const struct profile *
prof_load(const char *name, int *rc)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        if (!strcmp(name, builtins[i].name)) {
            return load_builtin(&builtins[i], rc);
        }
    }
    if (strchr(name, '/') || (n > 4 && !strcasecmp(name + n - 4, ".ini"))) {
        return load_file(name, rc);
    }
    *rc = EXIT_USAGE;
    check_err("unknown profile '%s': default, apple-digital-masters, atmos, ni-stems, or an "
              "INI file (a path with '/' or ending in .ini)",
              name);
    return NULL;
}

void
prof_free(const struct profile *p)
{
    if (p) {
        free(p->name);
        free((struct profile *)p);
    }
}

const char *
prof_name(const struct profile *p)
{
    return p ? p->name : "default";
}

void
prof_apply(const struct profile *p, struct state *st)
{
    if (!p) {
        return;
    }
    if (p->set[K_LEAD_IN] && !st->lead_in_set) {
        st->lead_in = p->v[K_LEAD_IN];
    }
    if (p->set[K_NOISE_FLOOR] && !st->noise_set) {
        st->noise_floor_db = p->v[K_NOISE_FLOOR];
        st->noise_set = 1;
    }
}

/* Bits of a file's samples: integer bits, 32 for float, 64 for double. */
static int
file_bits(const struct afile *f)
{
    switch (f->info.format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_FLOAT:
        return 32;
    case SF_FORMAT_DOUBLE:
        return 64;
    default:
        return f->bits;
    }
}

/* The files a loudness rule applies to: the mix when there is one, else every file. */
static int
loudness_subject(const struct state *st, const struct afile *f)
{
    return st->mix ? f == st->mix : 1;
}

/* Per-file rules: each file's figure against the limit; the worst one named. */
static enum result
rule_files(const struct state *st, int k, double lim)
{
    const struct afile *worst = NULL;
    double worst_v = -HUGE_VAL;
    size_t bad = 0;

    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];
        double v;
        int ok;

        switch (k) {
        case K_SAMPLE_RATE:
            v = f->info.samplerate;
            ok = v == lim;
            break;
        case K_MIN_BITS:
            v = -file_bits(f); /* the worst is the fewest bits */
            ok = -v >= lim;
            break;
        case K_SAME_LENGTH:
            v = st->mix ? fabs((double)(f->info.frames - st->mix->info.frames)) : 0;
            ok = v == 0;
            break;
        case K_MAX_SAMPLE_PEAK:
            v = dsp_peak_db(f);
            ok = v < lim;
            break;
        case K_MAX_TRUE_PEAK:
            v = loud_true_peak(f);
            ok = v <= lim;
            break;
        case K_MAX_INTEGRATED:
        case K_MIN_INTEGRATED:
            if (!loudness_subject(st, f)) {
                continue;
            }
            v = k == K_MAX_INTEGRATED ? f->loud.integrated : -f->loud.integrated;
            ok = k == K_MAX_INTEGRATED ? v <= lim : -v >= lim;
            break;
        default:
            return RES_FAIL;
        }
        if (!ok) {
            chk_say("%s%s: ", bad++ ? "; " : "", f->name);
            switch (k) {
            case K_SAMPLE_RATE:
                chk_say("%d Hz", f->info.samplerate);
                break;
            case K_MIN_BITS:
                chk_say("%d bits", file_bits(f));
                break;
            case K_SAME_LENGTH:
                chk_say("%lld frames, the mix %lld", (long long)f->info.frames,
                        (long long)st->mix->info.frames);
                break;
            case K_MAX_SAMPLE_PEAK:
                chk_say("%.1f dBFS", v);
                break;
            case K_MAX_TRUE_PEAK:
                chk_say("%.1f dBTP", v);
                break;
            default:
                chk_say("%.1f LUFS", f->loud.integrated);
                break;
            }
        }
        if (!worst || v > worst_v) {
            worst = f;
            worst_v = v;
        }
    }
    if (bad) {
        chk_say(" (the rule: %s %g)", keys[k].key, lim);
        return RES_FAIL;
    }
    switch (k) {
    case K_SAMPLE_RATE:
        chk_say("every file is at %.0f Hz", lim);
        break;
    case K_MIN_BITS:
        chk_say("every file has %.0f bits or more (the fewest: %s, %d)", lim, worst->name,
                file_bits(worst));
        break;
    case K_SAME_LENGTH:
        if (!st->mix) {
            chk_say("no mix to compare the lengths with");
            return RES_FAIL;
        }
        chk_say("every file has the mix's %lld frames", (long long)st->mix->info.frames);
        break;
    case K_MAX_SAMPLE_PEAK:
        chk_say("every file peaks below %.1f dBFS (the highest: %s, %.1f dBFS)", lim, worst->name,
                worst_v);
        break;
    case K_MAX_TRUE_PEAK:
        chk_say("every file at or below %.1f dBTP (the highest: %s, %.1f dBTP)", lim, worst->name,
                worst_v);
        break;
    default:
        chk_say("%s at %.1f LUFS: %s %.1f LUFS", st->mix ? worst->name : "every file",
                worst->loud.integrated, k == K_MAX_INTEGRATED ? "at most" : "at least", lim);
        break;
    }
    return RES_PASS;
}

static enum result
rule_count(const struct state *st, int k, double lim)
{
    int ok = k == K_STEMS ? (double)st->nstems == lim : (double)st->nstems <= lim;

    chk_say("%zu stem%s: %s %.0f", st->nstems, st->nstems == 1 ? "" : "s",
            k == K_STEMS ? "exactly" : "at most", lim);
    return ok ? RES_PASS : RES_FAIL;
}

/* The silence at the head of the delivery: up to the first sound in any file. */
static enum result
rule_head(const struct state *st, double lim)
{
    const struct afile *first = NULL;

    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];

        if (f->first_sound >= 0 &&
            (!first || (double)f->first_sound / f->info.samplerate <
                           (double)first->first_sound / first->info.samplerate)) {
            first = f;
        }
    }
    if (!first) {
        chk_say("every file is silent (below %.0f dBFS)", SILENCE_DB);
        return RES_FAIL;
    }
    double head = (double)first->first_sound / first->info.samplerate;
    chk_say("the first sound is at %.3f s (%s): %s %.3f s of head silence", head, first->name,
            head <= lim ? "at most" : "more than", lim);
    return head <= lim ? RES_PASS : RES_FAIL;
}

/* Stems whose noise floor is above the limit: a warning (hiss adds up in the sum). */
static enum result
rule_noise(const struct state *st, double lim)
{
    const struct afile *top = NULL;
    size_t bad = 0;

    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];

        if (f->role != ROLE_STEM) {
            continue;
        }
        if (f->loud.floor_db > lim) {
            chk_say("%s%s (%.1f dBFS)", bad++ ? ", " : "", f->name, f->loud.floor_db);
        }
        if (!top || f->loud.floor_db > top->loud.floor_db) {
            top = f;
        }
    }
    if (bad) {
        chk_say(": noise floor above %.1f dBFS, the hiss adds up when the stems are summed", lim);
        return RES_WARN;
    }
    if (!top) {
        chk_say("no stems");
    } else if (!isfinite(top->loud.floor_db)) {
        chk_say("every stem is digital silence");
    } else {
        chk_say("every stem's noise floor is at or below %.1f dBFS (the highest: %s, %.1f dBFS)",
                lim, top->name, top->loud.floor_db);
    }
    return RES_PASS;
}

static enum result
rule(const struct state *st, int k, double lim)
{
    switch (k) {
    case K_STEMS:
    case K_MAX_STEMS:
        return rule_count(st, k, lim);
    case K_REQUIRE_MIX:
        chk_say(st->mix ? "mix %s" : "no mix (\"<Song> - Mix.*\" or --mix)",
                st->mix ? st->mix->name : "");
        return st->mix || !lim ? RES_PASS : RES_FAIL;
    case K_MAX_HEAD_SILENCE:
        return rule_head(st, lim);
    case K_NOISE_FLOOR:
        return rule_noise(st, lim);
    default:
        return rule_files(st, k, lim);
    }
}

static int
add_rule(struct state *st, int k, double lim, const char *name)
{
    if (chk_begin(st, name) < 0) {
        return -1;
    }
    st->checks[st->nchecks - 1].rule = keys[k].key;
    st->checks[st->nchecks - 1].limit = lim;
    return chk_end(rule(st, k, lim));
}

int
chk_profile(struct state *st)
{
    const struct profile *p = st->profile;

    if (st->noise_set && add_rule(st, K_NOISE_FLOOR, st->noise_floor_db, "noise-floor") < 0) {
        return -1;
    }
    for (int k = 0; p && k < NKEYS; k++) {
        if (p->set[k] && keys[k].check && (k != K_SAME_LENGTH || p->v[k]) &&
            (k != K_REQUIRE_MIX || p->v[k]) && add_rule(st, k, p->v[k], keys[k].check) < 0) {
            return -1;
        }
    }
    return 0;
}
