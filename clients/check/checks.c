/* checks — the checklist: one verdict (PASS, WARN or FAIL) and a one-line
 * detail per check, appended to st->checks in report order.  The header
 * checks (files, stems, format, encoding, sample rate, length, bext
 * TimeReference, names) need no audio; chk_plan_null() decides whether the
 * null test can run; peaks, lead-in and null read what dsp_measure() and
 * dsp_find_lag() left in the state.  Each returns 0, or -1 (out of memory,
 * logged). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "naming.h"
#include "protocol.h"
#include "check.h"

static FILE *check_out; /* detail of the check being written */
static struct check *check_cur;

int
chk_begin(struct state *st, const char *name)
{
    if (st->nchecks == MAX_CHECKS) {
        check_err("too many checks (%d at most)", MAX_CHECKS);
        return -1;
    }
    check_cur = &st->checks[st->nchecks++];
    check_cur->name = name;
    check_out = open_memstream(&check_cur->detail, &check_cur->len);
    if (!check_out) {
        check_err("out of memory");
        return -1;
    }
    return 0;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(check_out, fmt, ap);
    va_end(ap);
}

void
chk_say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(check_out, fmt, ap);
    va_end(ap);
}

int
chk_end(enum result r)
{
    check_cur->result = r;
    if (fclose(check_out) != 0) {
        check_err("out of memory");
        return -1;
    }
    return 0;
}

static int
allowed_container(int format)
{
    switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV:
    case SF_FORMAT_WAVEX:
    case SF_FORMAT_AIFF:
    case SF_FORMAT_W64:
    case SF_FORMAT_RF64:
        return 1;
    default:
        return 0;
    }
}

static const char *
format_info_name(int format)
{
    SF_FORMAT_INFO fi = {.format = format};

    return sf_command(NULL, SFC_GET_FORMAT_INFO, &fi, sizeof fi) == 0 && fi.name ? fi.name
                                                                                 : "unknown";
}

const char *
chk_container_name(int format)
{
    switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV:
    case SF_FORMAT_WAVEX:
        return "WAV";
    case SF_FORMAT_AIFF:
        return "AIFF";
    case SF_FORMAT_W64:
        return "W64";
    case SF_FORMAT_RF64:
        return "RF64";
    case SF_FORMAT_FLAC:
        return "FLAC";
    case SF_FORMAT_OGG:
        return "OGG";
    case SF_FORMAT_CAF:
        return "CAF";
    case SF_FORMAT_AU:
        return "AU";
    default:
        return format_info_name(format & SF_FORMAT_TYPEMASK);
    }
}

const char *
chk_encoding_name(int format)
{
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8:
        return "8-bit";
    case SF_FORMAT_PCM_16:
        return "16-bit";
    case SF_FORMAT_PCM_24:
        return "24-bit";
    case SF_FORMAT_PCM_32:
        return "32-bit int";
    case SF_FORMAT_FLOAT:
        return "32-bit float";
    case SF_FORMAT_DOUBLE:
        return "64-bit float";
    default:
        return format_info_name(format & SF_FORMAT_SUBMASK);
    }
}

static void
say_list_sep(size_t *n)
{
    if ((*n)++) {
        say(", ");
    }
}

/* Only when an audio file was not read: which, and why (one line). */
static int
check_files(struct state *st)
{
    if (st->nrejected == 0) {
        return 0;
    }
    if (chk_begin(st, "files") < 0) {
        return -1;
    }
    for (size_t i = 0; i < st->nrejected; i++) {
        say("%s%s: %s", i ? "; " : "", st->rejected[i].name, st->rejected[i].why);
    }
    return chk_end(RES_FAIL);
}

static int
check_stems(struct state *st)
{
    enum result r = RES_PASS;

    if (chk_begin(st, "stems") < 0) {
        return -1;
    }
    if (st->nstems == 0) {
        say("no stems in %s", st->dir);
        r = RES_FAIL;
    } else if (st->nstems > PROTO_MAX_STEMS) {
        say("%zu stems: at most %d are allowed (the mix excluded)", st->nstems, PROTO_MAX_STEMS);
        r = RES_FAIL;
    } else {
        say("%zu stem%s (at most %d)", st->nstems, st->nstems == 1 ? "" : "s", PROTO_MAX_STEMS);
    }
    if (st->mix) {
        say(", mix %s", st->mix->name);
    }
    if (st->nrejected) {
        say("; %zu audio file%s not read (see files)", st->nrejected,
            st->nrejected == 1 ? "" : "s");
    }
    return chk_end(r);
}

static int
check_format(struct state *st)
{
    size_t bad = 0;

    if (chk_begin(st, "format") < 0) {
        return -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];

        if (!allowed_container(f->info.format)) {
            say_list_sep(&bad);
            say("%s is %s", f->name, chk_container_name(f->info.format));
        }
    }
    if (bad) {
        say(": only WAV, AIFF, W64 or RF64 are accepted");
    } else {
        say("every file is WAV, AIFF, W64 or RF64");
    }
    return chk_end(bad ? RES_FAIL : RES_PASS);
}

static int
check_encoding(struct state *st)
{
    size_t bad = 0, low = 0;

    if (chk_begin(st, "encoding") < 0) {
        return -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        int sub = st->files[i].info.format & SF_FORMAT_SUBMASK;

        if (sub != SF_FORMAT_PCM_24 && sub != SF_FORMAT_FLOAT && sub != SF_FORMAT_DOUBLE &&
            sub != SF_FORMAT_PCM_16) {
            say_list_sep(&bad);
            say("%s is %s", st->files[i].name, chk_encoding_name(st->files[i].info.format));
        }
    }
    if (bad) {
        say(": only 24-bit integer or 32/64-bit float are accepted");
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        if ((st->files[i].info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_16) {
            say("%s%s", low++ ? ", " : bad ? "; " : "", st->files[i].name);
        }
    }
    if (low) {
        say(" %s only 16-bit: 24-bit or float is expected", low == 1 ? "is" : "are");
    }
    if (!bad && !low) {
        say("every file is 24-bit integer or 32/64-bit float");
    }
    return chk_end(bad ? RES_FAIL : low ? RES_WARN : RES_PASS);
}

static int64_t
get_rate(const struct afile *f)
{
    return f->info.samplerate;
}

static int64_t
get_frames(const struct afile *f)
{
    return f->info.frames;
}

/* The value most files have (ties: the mix's, else the first file's). */
static int64_t
common_value(const struct state *st, int64_t (*get)(const struct afile *))
{
    size_t best = 0;
    int64_t v = 0;

    for (size_t i = 0; i < st->nfiles; i++) {
        int64_t x = get(&st->files[i]);
        size_t n = 0;

        for (size_t j = 0; j < st->nfiles; j++) {
            n += get(&st->files[j]) == x;
        }
        if (n > best || (n == best && &st->files[i] == st->mix)) {
            best = n;
            v = x;
        }
    }
    return v;
}

static int
check_rate(struct state *st)
{
    int64_t rate = common_value(st, get_rate);
    size_t bad = 0;

    if (chk_begin(st, "sample-rate") < 0) {
        return -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        if (get_rate(&st->files[i]) != rate) {
            say_list_sep(&bad);
            say("%s is at %d Hz", st->files[i].name, st->files[i].info.samplerate);
        }
    }
    if (bad) {
        say("; the other%s at %lld Hz", st->nfiles - bad == 1 ? " is" : "s are", (long long)rate);
    } else {
        say("every file is at %lld Hz", (long long)rate);
    }
    return chk_end(bad ? RES_FAIL : RES_PASS);
}

static int
check_length(struct state *st)
{
    int64_t frames = common_value(st, get_frames);
    size_t bad = 0;

    if (chk_begin(st, "length") < 0) {
        return -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        if (get_frames(&st->files[i]) != frames) {
            say_list_sep(&bad);
            say("%s has %lld frames", st->files[i].name, (long long)st->files[i].info.frames);
        }
    }
    if (bad) {
        say("; the other%s %lld", st->nfiles - bad == 1 ? " has" : "s have", (long long)frames);
    } else if (frames == 0) {
        say("every file is empty (0 frames)");
        bad = 1;
    } else {
        say("every file has %lld frames", (long long)frames);
        if (st->nfiles && st->files[0].info.samplerate > 0) {
            say(" (%.3f s)", (double)frames / st->files[0].info.samplerate);
        }
    }
    return chk_end(bad ? RES_FAIL : RES_PASS);
}

/* The file whose TimeReference is the reference: the value most files carry (ties: the mix's,
 * else the first one); NULL when none carries one.  *WITH: the files that carry one. */
static const struct afile *
tref_reference(const struct state *st, size_t *with)
{
    const struct afile *ref = NULL;
    size_t best = 0;

    *with = 0;
    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];
        size_t n = 0;

        if (!f->has_tref) {
            continue;
        }
        (*with)++;
        for (size_t j = 0; j < st->nfiles; j++) {
            n += st->files[j].has_tref && st->files[j].tref == f->tref;
        }
        if (n > best || (n == best && f == st->mix)) {
            best = n;
            ref = f;
        }
    }
    return ref;
}

static int
check_tref(struct state *st)
{
    const struct afile *ref;
    size_t with, bad = 0;

    if (chk_begin(st, "time-reference") < 0) {
        return -1;
    }
    ref = tref_reference(st, &with);
    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];

        if (f->has_tref && f->tref != ref->tref) {
            say_list_sep(&bad);
            say("%s has %llu", f->name, (unsigned long long)f->tref);
        }
    }
    if (bad) {
        say("; the other%s %llu: the files would not line up", with - bad == 1 ? " has" : "s have",
            (unsigned long long)ref->tref);
    } else if (with) {
        if (with == st->nfiles) {
            say("every file carries TimeReference %llu", (unsigned long long)ref->tref);
        } else {
            say("TimeReference %llu in the %zu file%s with a bext chunk (the others have none)",
                (unsigned long long)ref->tref, with, with == 1 ? "" : "s");
        }
    } else {
        say("no file carries a bext TimeReference");
    }
    return chk_end(bad ? RES_FAIL : RES_PASS);
}

static int
check_names(struct state *st)
{
    size_t bad = 0;

    if (chk_begin(st, "names") < 0) {
        return -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        struct afile *f = &st->files[i];

        f->stem = naming_stem_part(f->base, st->song);
        if (!f->stem && !f->given_mix) {
            say_list_sep(&bad);
            say("%s", f->name);
        }
    }
    if (bad) {
        if (st->song) {
            say(" %s not \"%s - <Stem>\"", bad == 1 ? "is" : "are", st->song);
        } else {
            say(" %s not \"<Song> - <Stem>\"", bad == 1 ? "is" : "are");
        }
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];

        for (size_t j = 0; f->role == ROLE_STEM && f->stem && j < i; j++) {
            const struct afile *g = &st->files[j];

            if (g->role == ROLE_STEM && g->stem && !strcasecmp(f->stem, g->stem)) {
                say("%stwo files for stem \"%s\": %s and %s", bad++ ? "; " : "", f->stem, g->name,
                    f->name);
                break;
            }
        }
    }
    if (!bad) {
        say("every file is \"%s - <Stem>\"", st->song ? st->song : "<Song>");
    }
    return chk_end(bad ? RES_FAIL : RES_PASS);
}

/* The stems at another rate than the mix, into OUT; returns how many. */
static size_t
other_rates(const struct state *st, FILE *out)
{
    size_t bad = 0;

    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];

        if (f->role == ROLE_STEM && f->info.samplerate != st->mix->info.samplerate) {
            fprintf(out, "%s%s is at %d Hz", bad++ ? ", " : "", f->name, f->info.samplerate);
        }
    }
    if (bad) {
        fprintf(out, ", the mix at %d Hz", st->mix->info.samplerate);
    }
    return bad;
}

/* The stems with another channel count than the mix, into OUT; returns how many.  A mono stem
 * fits any mix: it is summed into each of the mix's channels. */
static size_t
other_channels(const struct state *st, FILE *out)
{
    size_t bad = 0;

    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];

        if (f->role == ROLE_STEM && f->info.channels != st->mix->info.channels &&
            f->info.channels != 1) {
            fprintf(out, "%s%s has %d channel%s", bad++ ? ", " : "", f->name, f->info.channels,
                    f->info.channels == 1 ? "" : "s");
        }
    }
    if (bad) {
        fprintf(out, ", the mix %d", st->mix->info.channels);
    }
    return bad;
}

/* Decides whether the null test can run, and says why not. */
int
chk_plan_null(struct state *st)
{
    FILE *out;
    size_t len;

    if (!st->mix || st->null.state != NULL_RUN) {
        return 0;
    }
    if (st->nstems == 0) {
        st->null.state = NULL_NO_STEMS;
        return 0;
    }
    out = open_memstream(&st->null.why, &len);
    if (!out) {
        check_err("out of memory");
        return -1;
    }
    if (other_rates(st, out)) {
        st->null.state = NULL_RATES;
    } else if (other_channels(st, out)) {
        st->null.state = NULL_CHANNELS;
    }
    if (fclose(out) != 0) {
        check_err("out of memory");
        return -1;
    }
    return 0;
}

static int
check_peaks(struct state *st)
{
    const struct afile *top = NULL;
    size_t bad = 0;

    if (chk_begin(st, "peaks") < 0) {
        return -1;
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        const struct afile *f = &st->files[i];

        if (!top || f->peak > top->peak) {
            top = f;
        }
        if (f->clips) {
            say_list_sep(&bad);
            say("%s reaches 0 dBFS (%lld full-scale sample%s, first at frame %lld)", f->name,
                (long long)f->clips, f->clips == 1 ? "" : "s", (long long)f->first_clip);
        }
    }
    if (!bad && top) {
        say("every file peaks below 0 dBFS; the highest is %s at %.1f dBFS (%.1f dB headroom)",
            top->name, dsp_peak_db(top), 0.0 - dsp_peak_db(top));
    }
    return chk_end(bad ? RES_FAIL : RES_PASS);
}

static int
check_lead_in(struct state *st)
{
    double silent = pow(10.0, SILENCE_DB / 20.0);
    const struct afile *top = NULL;
    size_t loud = 0;

    if (chk_begin(st, "lead-in") < 0) {
        return -1;
    }
    if (st->lead_in <= 0) {
        say("not checked (--lead-in 0)");
        return chk_end(RES_PASS);
    }
    for (size_t i = 0; i < st->nfiles; i++) {
        if (st->files[i].lead_peak >= silent) {
            loud++;
        }
        if (!top || st->files[i].lead_peak > top->lead_peak) {
            top = &st->files[i];
        }
    }
    if (loud == 0) {
        say("yes: the first %.1f s are silent (below %.0f dBFS) in every file", st->lead_in,
            SILENCE_DB);
    } else if (loud == st->nfiles) {
        say("no: every file has sound in the first %.1f s (up to %.1f dBFS in %s)", st->lead_in,
            dsp_db(top->lead_peak), top->name);
    } else {
        size_t n = 0;

        say("no: sound in the first %.1f s of ", st->lead_in);
        for (size_t i = 0; i < st->nfiles; i++) {
            if (st->files[i].lead_peak >= silent) {
                say_list_sep(&n);
                say("%s (%.1f dBFS)", st->files[i].name, dsp_db(st->files[i].lead_peak));
            }
        }
    }
    if (loud) {
        say("; it should be silent (below %.0f dBFS)", SILENCE_DB);
    }
    return chk_end(loud ? RES_WARN : RES_PASS);
}

/* Which mix files there are, when there are several. */
static void
say_mixes(const struct state *st)
{
    say("several mix files (");
    for (size_t i = 0, n = 0; i < st->nfiles; i++) {
        if (st->files[i].role == ROLE_OTHER_MIX) {
            say_list_sep(&n);
            say("%s", st->files[i].name);
        }
    }
    say("): null test not run; choose one with --mix");
}

/* Which audio files were not read. */
static void
say_rejected(const struct state *st)
{
    say("null test not run: ");
    for (size_t i = 0, n = 0; i < st->nrejected; i++) {
        say_list_sep(&n);
        say("%s", st->rejected[i].name);
    }
    say(" %s not read (see files)", st->nrejected == 1 ? "was" : "were");
}

/* A failed null: the lag the correlation found, and whether the mix shifted by it nulls. */
static void
say_lag(const struct null_test *nt)
{
    if (!nt->lag_tried) {
        say("; no signal to estimate a lag from");
    } else if (nt->corr < LAG_MIN_CORR) {
        say("; no clear lag (best correlation %.4f, at lag %d)", nt->corr, nt->lag);
    } else if (nt->lag == 0) {
        say("; the mix is best aligned at lag 0 (correlation %.4f): no shift of the mix "
            "makes them null",
            nt->corr);
    } else {
        if (nt->lag > 0) {
            say("; mix lags the stems by %d samples", nt->lag);
        } else {
            say("; mix lags the stems by %d samples, i.e. it is %d samples early", nt->lag,
                -nt->lag);
        }
        say(" (correlation %.4f)", nt->corr);
        if (nt->shifted) {
            say("; shifted by that, the residual peak is %.1f dBFS (%s)", dsp_db(nt->shifted_peak),
                nt->shifted_peak < nt->thr ? "it would null" : "still no null");
        }
    }
}

/* The null test that ran: its residual against the threshold. */
static enum result
say_null_run(const struct state *st)
{
    const struct null_test *nt = &st->null;

    say("the %zu stem%s %s to %s: worst residual %.1f dBFS at frame %lld (channel %d), ",
        st->nstems, st->nstems == 1 ? "" : "s", nt->nulls ? "sum" : "do not sum", st->mix->name,
        dsp_db(nt->peak), (long long)nt->frame, nt->channel);
    if (nt->nulls) {
        say("below the %.1f dBFS threshold", st->threshold_db);
        return RES_PASS;
    }
    say("at or above the %.1f dBFS threshold from frame %lld", st->threshold_db,
        (long long)nt->first_over);
    say_lag(nt);
    return RES_FAIL;
}

static int
check_null(struct state *st)
{
    const struct null_test *nt = &st->null;
    enum result r = RES_FAIL;

    if (chk_begin(st, "null") < 0) {
        return -1;
    }
    switch (nt->state) {
    case NULL_NO_MIX:
        say("no mix file: null test skipped");
        r = RES_WARN;
        break;
    case NULL_SEVERAL_MIXES:
        say_mixes(st);
        break;
    case NULL_NO_STEMS:
        say("no stems to sum: null test not run");
        break;
    case NULL_RATES:
        say("null test not run: the stems and the mix are not at one sample rate (%s)", nt->why);
        break;
    case NULL_CHANNELS:
        say("cannot sum the stems into the mix: %s", nt->why);
        break;
    case NULL_REJECTED:
        say_rejected(st);
        break;
    case NULL_RUN:
        r = say_null_run(st);
        break;
    }
    return chk_end(r);
}

int
chk_header(struct state *st)
{
    if (check_files(st) < 0 || check_stems(st) < 0) {
        return -1;
    }
    if (st->nfiles == 0) {
        return 0;
    }
    if (check_format(st) < 0 || check_encoding(st) < 0 || check_rate(st) < 0 ||
        check_length(st) < 0 || check_tref(st) < 0 || check_names(st) < 0) {
        return -1;
    }
    return 0;
}

int
chk_audio(struct state *st)
{
    if (check_peaks(st) < 0 || check_lead_in(st) < 0 || check_null(st) < 0) {
        return -1;
    }
    return 0;
}
