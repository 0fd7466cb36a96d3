/* report — the report on stdout, from a state the checks are done with: the
 * text one (a table of the files, one of their loudness and noise floor, one
 * line per check, a result line; control
 * characters in names are shown as '?') or, with --json, one JSON object whose
 * keys are a public contract (documented in stemcap-check(1)).  Bytes of
 * names that are not UTF-8 become '?' in JSON strings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"

/* Print a file name or a message with control characters defused. */
static void
put_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, f);
    }
}

size_t
report_count(const struct state *st, enum result r)
{
    size_t n = 0;

    for (size_t i = 0; i < st->nchecks; i++) {
        n += st->checks[i].result == r;
    }
    return n;
}

static const char *const role_tag[] = {"", " (mix)", " (extra mix)"};

static void
print_file_row(const struct afile *f, int width)
{
    char fmt[64];
    int len = (int)strlen(f->name);

    putchar(' ');
    put_text(stdout, f->name);
    fputs(role_tag[f->role], stdout);
    len += (int)strlen(role_tag[f->role]);
    snprintf(fmt, sizeof fmt, "%s %s", chk_container_name(f->info.format),
             chk_encoding_name(f->info.format));
    printf("%*s  %-17s %6d %3d %11lld %9.1f %9.1f  ", width - len, "", fmt, f->info.samplerate,
           f->info.channels, (long long)f->info.frames, dsp_peak_db(f), 0.0 - dsp_peak_db(f));
    if (f->has_tref) {
        printf("%llu\n", (unsigned long long)f->tref);
    } else {
        puts("-");
    }
}

/* The first lines: the folder, the song, the files that are not audio. */
static void
print_head(const struct state *st)
{
    fputs(PROG " " STEMCAP_VERSION ": ", stdout);
    put_text(stdout, st->dir);
    if (st->song) {
        fputs("  song \"", stdout);
        put_text(stdout, st->song);
        putchar('"');
    }
    putchar('\n');
    if (st->nignored) {
        fputs("ignored (not audio): ", stdout);
        for (size_t i = 0; i < st->nignored; i++) {
            if (i) {
                fputs(", ", stdout);
            }
            put_text(stdout, st->ignored[i]);
        }
        if (st->nignored_all > st->nignored) {
            printf(" and %zu more", st->nignored_all - st->nignored);
        }
        putchar('\n');
    }
}

/* The width of the table's first column: the longest name with its role tag. */
static int
name_width(const struct state *st)
{
    int width = 4;

    for (size_t i = 0; i < st->nfiles; i++) {
        int len = (int)(strlen(st->files[i].name) + strlen(role_tag[st->files[i].role]));

        if (len > width) {
            width = len;
        }
    }
    for (size_t i = 0; i < st->nrejected; i++) {
        if ((int)strlen(st->rejected[i].name) > width) {
            width = (int)strlen(st->rejected[i].name);
        }
    }
    return width;
}

/* The table of the files: the stems, then the mixes, then the files not read. */
static void
print_table(const struct state *st)
{
    int width = name_width(st);

    printf("\n %-*s  %-17s %6s %3s %11s %9s %9s  %s\n", width, "File", "Format", "Rate", "Ch",
           "Frames", "Peak dBFS", "Headroom", "TimeReference");
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < st->nfiles; i++) {
            if ((st->files[i].role == ROLE_STEM) == (pass == 0)) {
                print_file_row(&st->files[i], width);
            }
        }
    }
    for (size_t i = 0; i < st->nrejected; i++) {
        putchar(' ');
        put_text(stdout, st->rejected[i].name);
        printf("%*s  (not read: see files)\n", width - (int)strlen(st->rejected[i].name), "");
    }
}

/* A loudness figure with one decimal, or "-inf". */
static void
print_fig(int width, double x)
{
    if (isfinite(x)) {
        printf(" %*.1f", width, x);
    } else {
        printf(" %*s", width, "-inf");
    }
}

static void
print_loud_row(const struct afile *f, int width)
{
    const struct loud *l = &f->loud;
    char tp[64] = "";
    size_t o = 0;

    putchar(' ');
    put_text(stdout, f->name);
    printf("%*s ", width - (int)strlen(f->name), "");
    print_fig(9, l->integrated);
    print_fig(6, l->lra);
    for (int c = 0; c < f->info.channels && o < sizeof tp - 16; c++) {
        o += (size_t)snprintf(tp + o, sizeof tp - o, isfinite(l->tp[c]) ? "%s%.1f" : "%s-inf",
                              c ? "/" : "", l->tp[c]);
    }
    printf(" %15s", tp);
    print_fig(8, l->max_m);
    print_fig(8, l->max_s);
    print_fig(10, l->floor_db);
    putchar('\n');
}

/* The loudness of each file (EBU R 128) and its noise floor. */
static void
print_loudness(const struct state *st)
{
    int width = name_width(st);

    printf("\n %-*s  %9s %6s %15s %8s %8s %10s\n", width, "Loudness", "LUFS", "LRA LU",
           "True peak dBTP", "Max M", "Max S", "Floor dBFS");
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < st->nfiles; i++) {
            if ((st->files[i].role == ROLE_STEM) == (pass == 0) && st->files[i].loud.tp) {
                print_loud_row(&st->files[i], width);
            }
        }
    }
}

/* One line per check, then the result line. */
static void
print_checks(const struct state *st)
{
    static const char *const label[] = {"PASS", "WARN", "FAIL"};
    size_t fails = report_count(st, RES_FAIL), warns = report_count(st, RES_WARN);

    for (size_t i = 0; i < st->nchecks; i++) {
        printf("%s %-15s", label[st->checks[i].result], st->checks[i].name);
        put_text(stdout, st->checks[i].detail);
        putchar('\n');
    }
    printf("\nresult: %s", fails ? "FAILED" : "OK");
    if (fails) {
        printf(", %zu check%s failed", fails, fails == 1 ? "" : "s");
    }
    if (warns) {
        printf(", %zu warning%s", warns, warns == 1 ? "" : "s");
    }
    putchar('\n');
}

void
report_text(const struct state *st)
{
    print_head(st);
    if (st->profile) {
        printf("profile: %s\n", prof_name(st->profile));
    }
    if (st->nfiles || st->nrejected) {
        print_table(st);
    }
    if (st->nfiles) {
        print_loudness(st);
    }
    putchar('\n');
    print_checks(st);
}

/* Length of the valid UTF-8 sequence at S, 0 when it is not one. */
static size_t
utf8_len(const unsigned char *s)
{
    size_t n;
    uint32_t cp;

    if (s[0] < 0x80) {
        return 1;
    } else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

/* A JSON string; bytes that are not UTF-8 (file names need not be) become '?'. */
static json_t *
jstr(const char *s)
{
    json_t *j = json_string(s);
    char *copy;
    size_t o = 0;

    if (j) {
        return j;
    }
    copy = malloc(strlen(s) + 1);
    if (!copy) {
        return NULL;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_len(p);

        if (n == 0) {
            copy[o++] = '?';
            p++;
        } else {
            memcpy(copy + o, p, n);
            o += n;
            p += n;
        }
    }
    copy[o] = '\0';
    j = json_string(copy);
    free(copy);
    return j;
}

static json_t *
jdb(double x)
{
    return isfinite(x) ? json_real(round(dsp_db(x) * 100.0) / 100.0) : json_null();
}

static int json_failed;

static void
jset(json_t *o, const char *key, json_t *v)
{
    if (!v || json_object_set_new(o, key, v) < 0) {
        json_failed = 1;
    }
}

static void
jappend(json_t *a, json_t *v)
{
    if (!v || json_array_append_new(a, v) < 0) {
        json_failed = 1;
    }
}

/* A loudness figure rounded to 0.01, null for -inf. */
static json_t *
jfig(double x)
{
    return isfinite(x) ? json_real(round(x * 100.0) / 100.0) : json_null();
}

static json_t *
json_loudness(const struct afile *f)
{
    const struct loud *l = &f->loud;
    json_t *o = json_object(), *tp = json_array();

    if (!o || !tp) {
        json_decref(o);
        json_decref(tp);
        return NULL;
    }
    jset(o, "integrated_lufs", jfig(l->integrated));
    jset(o, "lra_lu", jfig(l->lra));
    for (int c = 0; c < f->info.channels; c++) {
        jappend(tp, jfig(l->tp[c]));
    }
    jset(o, "true_peak_dbtp", tp);
    jset(o, "max_momentary_lufs", jfig(l->max_m));
    jset(o, "max_short_term_lufs", jfig(l->max_s));
    return o;
}

static json_t *
json_file(const struct afile *f)
{
    static const char *const roles[] = {"stem", "mix", "extra-mix"};
    json_t *o = json_object();

    if (!o) {
        json_failed = 1;
        return NULL;
    }
    jset(o, "name", jstr(f->name));
    jset(o, "path", jstr(f->path));
    jset(o, "role", json_string(roles[f->role]));
    jset(o, "stem", f->stem ? jstr(f->stem) : json_null());
    jset(o, "format", jstr(chk_container_name(f->info.format)));
    jset(o, "encoding", jstr(chk_encoding_name(f->info.format)));
    jset(o, "rate", json_integer(f->info.samplerate));
    jset(o, "channels", json_integer(f->info.channels));
    jset(o, "frames", json_integer(f->info.frames));
    jset(o, "peak_db", json_real(round(dsp_peak_db(f) * 100.0) / 100.0));
    jset(o, "headroom_db", json_real(0.0 - round(dsp_peak_db(f) * 100.0) / 100.0));
    jset(o, "peak_frame", json_integer(f->peak_frame));
    jset(o, "full_scale_samples", json_integer(f->clips));
    jset(o, "lead_in_peak_db", jdb(f->lead_peak));
    jset(o, "time_reference", f->has_tref ? json_integer((json_int_t)f->tref) : json_null());
    if (f->loud.tp) {
        jset(o, "loudness", json_loudness(f));
        jset(o, "noise_floor_dbfs", jfig(f->loud.floor_db));
    }
    return o;
}

static json_t *
json_null_test(const struct state *st)
{
    const struct null_test *nt = &st->null;
    int clear = nt->lag_tried && nt->corr >= LAG_MIN_CORR;
    json_t *o;

    if (nt->state != NULL_RUN) {
        return json_null();
    }
    o = json_object();
    if (!o) {
        return NULL;
    }
    jset(o, "mix", jstr(st->mix->name));
    jset(o, "stems", json_integer((json_int_t)st->nstems));
    jset(o, "frames", json_integer(nt->frames));
    jset(o, "threshold_db", json_real(st->threshold_db));
    jset(o, "residual_peak_db", jdb(nt->peak));
    jset(o, "frame", json_integer(nt->frame));
    jset(o, "channel", json_integer(nt->channel));
    jset(o, "first_frame_over", nt->first_over >= 0 ? json_integer(nt->first_over) : json_null());
    jset(o, "lag", nt->nulls ? json_integer(0) : clear ? json_integer(nt->lag) : json_null());
    jset(o, "lag_correlation",
         nt->lag_tried ? json_real(round(nt->corr * 1e4) / 1e4) : json_null());
    jset(o, "shifted_residual_peak_db", nt->shifted ? jdb(nt->shifted_peak) : json_null());
    jset(o, "nulls", json_boolean(nt->nulls));
    return o;
}

/* FILES: the stems, then the mixes. */
static void
json_files(json_t *files, const struct state *st)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < st->nfiles; i++) {
            if ((st->files[i].role == ROLE_STEM) == (pass == 0)) {
                jappend(files, json_file(&st->files[i]));
            }
        }
    }
}

static void
json_rejected(json_t *rejected, const struct state *st)
{
    for (size_t i = 0; i < st->nrejected; i++) {
        json_t *r = json_object();

        if (r) {
            jset(r, "name", jstr(st->rejected[i].name));
            jset(r, "path", jstr(st->rejected[i].path));
            jset(r, "reason", jstr(st->rejected[i].why));
        }
        jappend(rejected, r);
    }
}

/* The profile: its name and the verdict of each of its rules. */
static json_t *
json_profile(const struct state *st)
{
    static const char *const results[] = {"pass", "warn", "fail"};
    json_t *o = json_object(), *rules = json_array();

    if (!o || !rules) {
        json_decref(o);
        json_decref(rules);
        return NULL;
    }
    jset(o, "name", jstr(prof_name(st->profile)));
    for (size_t i = 0; i < st->nchecks; i++) {
        const struct check *c = &st->checks[i];
        json_t *r;

        if (!c->rule) {
            continue;
        }
        r = json_object();
        if (r) {
            jset(r, "key", json_string(c->rule));
            jset(r, "check", json_string(c->name));
            jset(r, "limit", json_real(c->limit));
            jset(r, "result", json_string(results[c->result]));
            jset(r, "detail", jstr(c->detail));
        }
        jappend(rules, r);
    }
    jset(o, "rules", rules);
    return o;
}

static void
json_checks(json_t *checks, const struct state *st)
{
    static const char *const results[] = {"pass", "warn", "fail"};

    for (size_t i = 0; i < st->nchecks; i++) {
        json_t *c = json_object();

        if (c) {
            jset(c, "name", json_string(st->checks[i].name));
            jset(c, "result", json_string(results[st->checks[i].result]));
            jset(c, "detail", jstr(st->checks[i].detail));
        }
        jappend(checks, c);
    }
}

int
report_json(const struct state *st)
{
    json_t *root = json_object(), *files = json_array(), *checks = json_array(),
           *ignored = json_array(), *rejected = json_array();
    char *text;

    if (!root || !files || !checks || !ignored || !rejected) {
        json_decref(root);
        json_decref(files);
        json_decref(checks);
        json_decref(ignored);
        json_decref(rejected);
        check_err("out of memory");
        return -1;
    }
    jset(root, "dir", jstr(st->dir));
    jset(root, "song", st->song ? jstr(st->song) : json_null());
    json_files(files, st);
    jset(root, "files", files);
    for (size_t i = 0; i < st->nignored; i++) {
        jappend(ignored, jstr(st->ignored[i]));
    }
    jset(root, "ignored", ignored);
    jset(root, "ignored_count", json_integer((json_int_t)st->nignored_all));
    json_rejected(rejected, st);
    jset(root, "rejected", rejected);
    json_checks(checks, st);
    jset(root, "checks", checks);
    jset(root, "null", json_null_test(st));
    jset(root, "profile", json_profile(st));
    jset(root, "warnings", json_integer((json_int_t)report_count(st, RES_WARN)));
    jset(root, "ok", json_boolean(report_count(st, RES_FAIL) == 0));
    text = json_failed ? NULL : json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(root);
    if (!text) {
        check_err("cannot build the JSON report (out of memory)");
        return -1;
    }
    puts(text);
    free(text);
    return 0;
}
