/* manifest — manifest.json in every take folder.
 *
 * Written when the take starts (state "recording") and again, complete, when
 * it stops: song metadata, sample rate and formats, the start frame on the
 * transport timeline and the wall-clock start, the length, one entry per
 * file (stem, name, file name, capture latency and the advance applied,
 * peak and clips), the null result, xruns, dropped frames and where, the
 * lead-in check, the warnings about the mastering rules and what ended the
 * take (ended_by), and the parts of a split take (parts).  The file is
 * replaced atomically (write a temporary, fsync, rename), below the take's
 * directory fd, so a crash leaves either the old or the new manifest. */
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jsonfile.h"
#include "log.h"

/* Every value goes into the manifest through these two: a value jansson
 * cannot make (json_string of text that is not UTF-8 returns NULL) or a
 * key it cannot set fails the whole manifest loudly, naming the key, where
 * json_object_set_new would just leave the key out.  Control thread only. */
static int manifest_failed;

static void
manifest_set(json_t *o, const char *key, json_t *v)
{
    if (o && v && json_object_set_new(o, key, v) == 0)
        return;
    if (!o)
        json_decref(v);
    log_error("manifest.json: cannot encode \"%s\"", key);
    manifest_failed = 1;
}

static void
manifest_append(json_t *a, json_t *v, const char *what)
{
    if (a && v && json_array_append_new(a, v) == 0)
        return;
    if (!a)
        json_decref(v);
    log_error("manifest.json: cannot encode %s", what);
    manifest_failed = 1;
}

/* dB figures to 0.01 dB: more digits only look precise. */
static json_t *
manifest_db(double db)
{
    return json_real(round(db * 100.0) / 100.0);
}

static json_t *
manifest_song(const struct conf_song *s)
{
    json_t *o = json_object();
    for (int i = 0; i < PROTO_SONG_KEYS; i++)
        manifest_set(o, proto_song_keys[i], json_string(conf_song_get(s, proto_song_keys[i])));
    return o;
}

/* The advance the writer applies: the latency, up to its limit. */
static uint32_t
manifest_advance(uint32_t latency)
{
    return latency > CONF_MAX_OFFSET ? CONF_MAX_OFFSET : latency;
}

/* A loudness figure: null when it could not be measured (silence). */
static json_t *
manifest_lu(float v)
{
    return v > LOUDNESS_FLOOR ? manifest_db(v) : json_null();
}

static json_t *
manifest_loudness(const struct loudness_figs *g)
{
    return json_pack(
        "{s:o, s:o, s:[o, o], s:o, s:o}", "integrated_lufs", manifest_lu(g->integrated_lufs),
        "lra_lu", manifest_db(g->lra_lu), "true_peak_dbtp", manifest_lu(g->true_peak_dbtp[0]),
        manifest_lu(g->true_peak_dbtp[1]), "max_momentary_lufs", manifest_lu(g->max_momentary_lufs),
        "max_short_term_lufs", manifest_lu(g->max_short_term_lufs));
}

static json_t *
manifest_files(const struct take *t, const struct monitor *m, int done)
{
    json_t *a = json_array();

    for (int i = 0; i < t->nfiles; i++) {
        const struct take_file *f = &t->file[i];
        int ch = f->stem ? 2 * (f->stem - 1) : ENGINE_MIX_L;
        struct monitor_level l;
        monitor_level(m, ch, &l);
        json_t *o = json_object();
        manifest_set(o, "stem", json_integer(f->stem));
        manifest_set(o, "name", json_string(take_file_label(t, f)));
        manifest_set(o, "file", json_string(f->name));
        manifest_set(o, "channels", json_integer(f->nch));
        manifest_set(
            o, "latency_frames",
            json_pack("[II]", (json_int_t)t->latency[f->ch[0]], (json_int_t)t->latency[f->ch[1]]));
        /* The mix's alignment adds to its advance (a negative one delays it). */
        json_int_t align = f->stem ? 0 : (json_int_t)t->align_applied;
        manifest_set(o, "advance_frames",
                     json_pack("[II]", (json_int_t)manifest_advance(t->latency[f->ch[0]]) + align,
                               (json_int_t)manifest_advance(t->latency[f->ch[1]]) + align));
        manifest_set(o, "peak_dbfs",
                     manifest_db(l.hold_db[0] > l.hold_db[1] ? l.hold_db[0] : l.hold_db[1]));
        manifest_set(o, "clips", json_integer((json_int_t)(l.clips[0] + l.clips[1])));
        if (done) {
            manifest_set(o, "loudness", manifest_loudness(&f->figs));
            manifest_set(o, "audio_md5", f->audio_md5[0] ? json_string(f->audio_md5) : json_null());
        }
        manifest_append(a, o, "a file entry");
    }
    return a;
}

static json_t *
manifest_null(const struct monitor *m)
{
    struct monitor_null n;
    monitor_null(m, &n);
    return json_pack(
        "{s:o, s:o, s:I, s:b, s:o, s:o, s:I, s:o}", "threshold_db", manifest_db(n.threshold_db),
        "worst_residual_db", manifest_db(n.worst_db), "worst_frame", (json_int_t)n.worst_frame,
        "flagged", n.flagged, "first_offending_frame",
        n.first_frame >= 0 ? json_integer(n.first_frame) : json_null(), "measured_offset_frames",
        n.lag_valid ? json_integer(n.lag) : json_null(), "xrun_frames_not_judged",
        (json_int_t)n.unjudged, "xrun_worst_residual_db", manifest_db(n.unjudged_db));
}

/* The mix's alignment: the offset the null test judged the take at, the
 * shift in the files, where it came from, the measurement behind it. */
static json_t *
manifest_alignment(const struct take *t)
{
    json_t *o = json_pack("{s:i, s:i, s:s}", "offset_frames", t->align_offset, "files_shift_frames",
                          t->align_applied, "source", t->align_source ? t->align_source : "off");
    if (t->align_measured)
        manifest_set(o, "measurement",
                     json_pack("{s:f, s:o, s:b}", "correlation",
                               round(t->align_corr * 10000.0) / 10000.0, "residual_db_at_offset",
                               manifest_db(t->align_resid_db), "nulls", t->align_exact));
    else
        manifest_set(o, "measurement", json_null());
    manifest_set(o, "changed_to",
                 t->align_changed ? json_integer(t->align_changed_to) : json_null());
    return o;
}

/* [{at_frame, frames}, ...] of a take's list. */
static json_t *
manifest_list(const struct take_list *l, const char *what)
{
    json_t *a = json_array();
    for (int i = 0; i < l->n; i++)
        manifest_append(a,
                        json_pack("{s:I, s:I}", "at_frame", (json_int_t)l->v[i].at, "frames",
                                  (json_int_t)l->v[i].frames),
                        what);
    return a;
}

/* A split take's parts: part 1 in the take folder ("."), part k >= 2 in
 * part-NN, each with where it starts in the take, its length, its bext
 * TimeReference and its files' checksums. */
static json_t *
manifest_parts(const struct take *t)
{
    json_t *a = json_array();

    for (int k = 0; k < t->nparts; k++) {
        const struct take_part *p = &t->parts[k];
        char folder[32] = ".";
        if (k > 0)
            naming_part_folder(folder, sizeof folder, k + 1);
        json_t *files = json_array();
        for (int i = 0; i < t->nfiles; i++)
            manifest_append(
                files,
                json_pack("{s:s, s:o}", "file", t->file[i].name, "audio_md5",
                          p->audio_md5[i][0] ? json_string(p->audio_md5[i]) : json_null()),
                "a part's file");
        manifest_append(
            a,
            json_pack("{s:i, s:s, s:I, s:I, s:I, s:o}", "part", k + 1, "folder", folder,
                      "start_frame", (json_int_t)p->start, "frames", (json_int_t)p->frames,
                      "time_reference",
                      (json_int_t)((t->placed ? t->placed_tframe : t->tframe) + p->start), "files",
                      files),
            "a part");
    }
    return a;
}

static json_t *
manifest_build(const struct take *t, const struct monitor *m, const struct manifest_extra *x)
{
    char when[64];
    struct tm tm;
    float lead_db;
    int lead_known = monitor_lead_in(m, &lead_db);

    gmtime_r(&t->start_wall.tv_sec, &tm);
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", t->start_wall.tv_nsec / 1000000L);

    /* The writer grows the lists while the take records: read once it is done. */
    static const struct take_list none;
    int done = strcmp(x->state, "recording") != 0;
    json_t *drops = manifest_list(done ? &t->drops : &none, "a drop");
    json_t *timeline = json_pack(
        "{s:I, s:I, s:I, s:o, s:I}", "late_reads", (json_int_t)t->late_reads, "late_reads_dropped",
        (json_int_t)t->repeats, "torn_frames", (json_int_t)(done ? t->torn_frames : 0), "torn",
        manifest_list(done ? &t->torn : &none, "a torn period"), "unlisted",
        (json_int_t)(done ? t->drops.unlisted + t->torn.unlisted : 0));
    json_t *warnings = json_array();
    for (int i = 0; i < x->nwarnings; i++)
        manifest_append(warnings, json_string(x->warning[i]), "a warning");

    json_t *lead =
        json_pack("{s:I, s:s, s:o, s:o}", "bar_frames", (json_int_t)m->lead_frames, "bar_from",
                  t->bar_frames ? "transport BBT" : "default (2 s)", "peak_dbfs",
                  lead_known ? manifest_db(lead_db) : json_null(), "one_bar_of_silence",
                  lead_known ? json_boolean(lead_db < -90.0f) : json_null());

    return json_pack("{s:s, s:s, s:i, s:s, s:o, s:I, s:s, s:s, s:I, s:I, s:s, s:I, s:f, s:I, "
                     "s:f, s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:o}",
                     "stemcap_version", STEMCAP_VERSION, "state", x->state, "take", t->number,
                     "folder", t->dir, "song", manifest_song(&t->meta), "sample_rate",
                     (json_int_t)t->rate, "format", conf_format_name(t->format), "sample_format",
                     conf_sample_name(t->sample_format), "start_frame", (json_int_t)t->tframe,
                     "jack_start_frame", (json_int_t)t->start_frame, "start_time_utc", when,
                     "preroll_frames", (json_int_t)t->preroll, "preroll_seconds",
                     t->rate ? round((double)t->preroll / t->rate * 1000.0) / 1000.0 : 0.0,
                     "length_frames", (json_int_t)t->frames, "length_seconds",
                     t->rate ? round((double)t->frames / t->rate * 1000.0) / 1000.0 : 0.0, "files",
                     manifest_files(t, m, done), "null", manifest_null(m), "xruns",
                     (json_int_t)t->xruns, "dropped_frames", (json_int_t)t->dropped, "drops", drops,
                     "timeline", timeline, "lead_in", lead, "warnings", warnings);
}

int
manifest_write(const struct take *t, const struct monitor *m, const struct manifest_extra *x)
{
    manifest_failed = 0;
    json_t *root = manifest_build(t, m, x);

    if (root && x->nverdicts) {
        json_t *v = json_array();
        for (int i = 0; i < x->nverdicts; i++) {
            const struct manifest_verdict *d = &x->verdict[i];
            manifest_append(v,
                            json_pack("{s:s, s:o, s:o, s:o, s:s}", "rule", d->rule, "file",
                                      d->file[0] ? json_string(d->file) : json_null(), "measured",
                                      manifest_lu(d->measured), "limit", manifest_db(d->limit),
                                      "verdict", d->pass ? "PASS" : "FAIL"),
                            "a verdict");
        }
        manifest_set(root, "mastering", v);
    }
    if (root) {
        char umid[65];
        take_umid_hex(t, umid);
        manifest_set(root, "umid", json_string(umid));
        manifest_set(root, "mix_alignment", manifest_alignment(t));
    }
    if (root && strcmp(x->state, "recording") != 0 && t->nparts > 1)
        manifest_set(root, "parts", manifest_parts(t));
    if (root)
        manifest_set(root, "ended_by",
                     strcmp(x->state, "recording") != 0 && t->ended_by ? json_string(t->ended_by)
                                                                       : json_null());
    if (!root || manifest_failed) {
        log_error("%s: cannot build manifest.json (above: what could not be encoded)", t->dir);
        json_decref(root);
        return -1;
    }
    int rc = jsonfile_save(t->dirfd, t->dir, "manifest.json", root);
    json_decref(root);
    return rc;
}
