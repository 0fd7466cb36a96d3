/* stampcheck — is every sample of a take where its stamp says?
 *
 * Usage: stampcheck [-v] [-s] TAKE_DIR
 *
 * Reads TAKE_DIR/manifest.json (jack_start_frame, drops, files) and every file it lists with
 * libsndfile, recorded from stemcap-testsrc -m stamp (tests/testsig.h: each sample carries the
 * JACK frame time it was played for).  Sample i of every file must carry frame
 * jack_start_frame + i, or be silence inside a drop the manifest reports.  Every frame of every
 * file is classified:
 *   ok            its stamp is its position;
 *   drop          silence inside a reported drop;
 *   source-late   its stamp is d frames ahead of its position and the same stamp is also at the
 *                 position it names: the source itself played those frames twice, having read
 *                 the next cycle's frame time in a late callback (not the recorder's doing);
 *   in torn       another stamp, inside a period the manifest reports as torn (JACK ran the
 *                 source again while the recorder read it: timeline.torn);
 *   beside a drop its stamp names a position inside a reported drop, before it: a late read
 *                 nothing disproved (daemon/timeline.c), a period placed one or more periods
 *                 late beside the silence;
 *   misplaced     any other stamp (the offsets are listed), or silence outside any drop
 *                 (with -s that is counted apart, as silence the graph delivered: PipeWire
 *                 hands a client zeros for the cycles its source missed);
 *   torn          (counted per position, across files) the files disagree at this position.
 * Prints one summary line, and the runs of misplaced (and beside-a-drop) frames, all with -v,
 * the first 20 otherwise.  Exit status: 0 when nothing is misplaced, no file differs in length,
 * every reported drop is silent and every torn position lies in a reported torn period; 1
 * otherwise; 2 on usage or read errors. */
#include "testsig.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sndfile.h>

#define MAX_FILES   9
#define MAX_DROPS   4096
#define MAX_OFFSETS 16
#define MAX_RUNS    20
/* Offsets that are not offsets: what a misplaced frame held instead of a stamp. */
#define OFF_NOSTAMP INT64_MIN       /* neither silence nor a stamp of this channel pair */
#define OFF_SILENT  (INT64_MIN + 1) /* silence outside every reported drop */
#define OFF_INDROP  (INT64_MIN + 2) /* a stamp inside a reported drop */

struct drop {
    uint64_t at, frames;
};

struct run { /* misplaced frames [from, to) of one file, all by the same offset */
    int file;
    uint64_t from, to;
    int64_t off;
};
static int nruns;

static struct drop drops[MAX_DROPS], torns[MAX_DROPS];
static int ndrops, ntorns;
static const char *fname[MAX_FILES];
static int fstem[MAX_FILES];
static int64_t *stamp[MAX_FILES]; /* decoded stamp per frame; -1 not a stamp, -2 silence */
static uint64_t flen[MAX_FILES];
static int nfiles;
static int verbose;

static int
in_list(const struct drop *list, int n, uint64_t i)
{
    for (int d = 0; d < n; d++)
        if (i >= list[d].at && i < list[d].at + list[d].frames)
            return 1;
    return 0;
}

static int
in_drop(uint64_t i)
{
    return in_list(drops, ndrops, i);
}

/* A list of {at_frame, frames} into list[]; returns how many. */
static int
load_list(json_t *a, struct drop *list)
{
    size_t i;
    json_t *v;
    int n = 0;
    json_array_foreach(a, i, v)
    {
        if (n == MAX_DROPS)
            break;
        list[n].at = (uint64_t)json_integer_value(json_object_get(v, "at_frame"));
        list[n].frames = (uint64_t)json_integer_value(json_object_get(v, "frames"));
        n++;
    }
    return n;
}

static int
load_manifest(const char *dir, uint32_t *start)
{
    char path[4096];
    json_error_t err;
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_t *m = json_load_file(path, 0, &err);
    if (!m) {
        fprintf(stderr, "stampcheck: %s:%d: %s\n", path, err.line, err.text);
        return -1;
    }
    json_t *js = json_object_get(m, "jack_start_frame"), *jd = json_object_get(m, "drops"),
           *jf = json_object_get(m, "files");
    if (!json_is_integer(js) || !json_is_array(jd) || !json_is_array(jf)) {
        fprintf(stderr, "stampcheck: %s: no jack_start_frame, drops or files\n", path);
        json_decref(m);
        return -1;
    }
    *start = (uint32_t)json_integer_value(js);
    ndrops = load_list(jd, drops);
    ntorns = load_list(json_object_get(json_object_get(m, "timeline"), "torn"), torns);
    size_t i;
    json_t *v;
    json_array_foreach(jf, i, v)
    {
        if (nfiles == MAX_FILES)
            break;
        const char *f = json_string_value(json_object_get(v, "file"));
        if (!f)
            continue;
        char *p = malloc(strlen(dir) + strlen(f) + 2);
        if (!p)
            break;
        sprintf(p, "%s/%s", dir, f);
        fname[nfiles] = p;
        fstem[nfiles] = (int)json_integer_value(json_object_get(v, "stem"));
        nfiles++;
    }
    json_decref(m);
    return nfiles > 0 ? 0 : -1;
}

static int
load_file(int f)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(fname[f], SFM_READ, &info);
    if (!sf) {
        fprintf(stderr, "stampcheck: %s: %s\n", fname[f], sf_strerror(NULL));
        return -1;
    }
    if (info.channels != 2) {
        fprintf(stderr, "stampcheck: %s: %d channels, not 2\n", fname[f], info.channels);
        sf_close(sf);
        return -1;
    }
    flen[f] = (uint64_t)info.frames;
    stamp[f] = malloc((flen[f] ? flen[f] : 1) * sizeof **stamp);
    float buf[2 * 4096];
    uint64_t pos = 0;
    sf_count_t got;
    while (stamp[f] && (got = sf_readf_float(sf, buf, 4096)) > 0) {
        for (sf_count_t k = 0; k < got && pos < flen[f]; k++, pos++) {
            float l = buf[2 * k], r = buf[2 * k + 1];
            stamp[f][pos] = l == 0.0f && r == 0.0f ? -2 : testsig_stamp_decode(fstem[f], l, r);
        }
    }
    sf_close(sf);
    if (!stamp[f] || pos != flen[f]) {
        fprintf(stderr, "stampcheck: %s: read %" PRIu64 " of %" PRIu64 " frames\n", fname[f], pos,
                flen[f]);
        return -1;
    }
    return 0;
}

static void
print_off(int64_t off)
{
    if (off == OFF_NOSTAMP)
        printf("not a stamp");
    else if (off == OFF_SILENT)
        printf("silence outside any drop");
    else if (off == OFF_INDROP)
        printf("a stamp inside a drop");
    else
        printf("%+" PRId64, off);
}

static void
print_run(const struct run *r)
{
    if (r->file < 0 || (!verbose && nruns >= MAX_RUNS))
        return;
    nruns++;
    printf("  %s: frames %" PRIu64 "..%" PRIu64 ": ", fname[r->file], r->from, r->to);
    print_off(r->off);
    printf("\n");
}

/* Does file f carry stamp s at position p? */
static int
has_stamp(int f, uint64_t p, int64_t s)
{
    return p < flen[f] && stamp[f][p] == s;
}

int
main(int argc, char **argv)
{
    uint32_t start;
    int a = 1, graph_silence = 0;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (strcmp(argv[a], "-v") == 0) {
            verbose = 1;
        } else if (strcmp(argv[a], "-s") == 0) {
            graph_silence = 1;
        } else {
            a = argc;
            break;
        }
    }
    if (a + 1 != argc) {
        fprintf(stderr, "usage: stampcheck [-v] [-s] TAKE_DIR\n");
        return 2;
    }
    if (load_manifest(argv[a], &start) != 0)
        return 2;
    for (int f = 0; f < nfiles; f++)
        if (load_file(f) != 0)
            return 2;

    uint64_t ok = 0, dropped = 0, late = 0, misplaced = 0, silent_out = 0, not_silent = 0;
    uint64_t torn = 0, torn_out = 0, in_torn = 0, beside = 0, total = 0, graph_silent = 0;
    int64_t offs[MAX_OFFSETS];
    uint64_t offn[MAX_OFFSETS];
    int noffs = 0, bad_len = 0;
    struct run cur = {.file = -1};

    for (int f = 0; f < nfiles; f++) {
        if (flen[f] != flen[0])
            bad_len = 1;
        for (uint64_t i = 0; i < flen[f]; i++, total++) {
            int64_t s = stamp[f][i], want = (uint32_t)(start + i), off;
            int drop = in_drop(i);
            if (s == -2 && drop) {
                dropped++;
                continue;
            }
            if (s == want && !drop) {
                ok++;
                continue;
            }
            if (s == -2 && graph_silence) {
                graph_silent++;
                continue;
            } else if (s == -2) {
                off = OFF_SILENT;
                silent_out++;
            } else if (drop) {
                off = OFF_INDROP;
                not_silent++;
            } else if (s < 0) {
                off = OFF_NOSTAMP;
                misplaced++;
            } else {
                off = (int32_t)((uint32_t)s - (uint32_t)want);
                if (in_list(torns, ntorns, i)) {
                    in_torn++;
                    continue;
                }
                if (off > 0 && has_stamp(f, i + (uint64_t)off, s)) {
                    late++;
                    continue;
                }
                if (off < 0 && (int64_t)i + off >= 0 && in_drop((uint64_t)((int64_t)i + off))) {
                    beside++; /* still listed below */
                } else {
                    misplaced++;
                }
            }
            int k = 0;
            while (k < noffs && offs[k] != off)
                k++;
            if (k == noffs && noffs < MAX_OFFSETS) {
                offs[noffs] = off;
                offn[noffs++] = 0;
            }
            if (k < noffs)
                offn[k]++;
            if (cur.file == f && cur.to == i && cur.off == off) {
                cur.to = i + 1;
                continue;
            }
            print_run(&cur);
            cur = (struct run){.file = f, .from = i, .to = i + 1, .off = off};
        }
    }
    print_run(&cur);
    for (uint64_t i = 0; i < flen[0]; i++) {
        int64_t s0 = -3;
        for (int f = 0; f < nfiles; f++) {
            if (i >= flen[f])
                continue;
            if (s0 == -3)
                s0 = stamp[f][i];
            else if (stamp[f][i] != s0) {
                torn++;
                torn_out += !in_list(torns, ntorns, i);
                if (verbose) {
                    printf("  torn at %" PRIu64 " (position's frame %" PRIu32 "):", i,
                           (uint32_t)(start + i));
                    for (int g = 0; g < nfiles; g++)
                        printf(" %" PRId64, i < flen[g] ? stamp[g][i] : -3);
                    printf("\n");
                }
                break;
            }
        }
    }
    printf("stampcheck: %d files x %" PRIu64 " frames: %" PRIu64 " samples checked: %" PRIu64
           " in place, %" PRIu64 " silent in %d reported drops, %" PRIu64
           " in %d reported torn periods, %" PRIu64 " source late reads, %" PRIu64
           " placed late beside a drop, %" PRIu64 " misplaced, %" PRIu64
           " silent outside any drop, %" PRIu64 " silent from the graph (-s), %" PRIu64
           " not silent inside a drop; %" PRIu64 " torn positions, %" PRIu64
           " of them outside the reported torn periods%s\n",
           nfiles, flen[0], 2 * total, 2 * ok, 2 * dropped, ndrops, 2 * in_torn, ntorns, 2 * late,
           2 * beside, 2 * misplaced, 2 * silent_out, 2 * graph_silent, 2 * not_silent, torn,
           torn_out, bad_len ? ", FILES DIFFER IN LENGTH" : "");
    for (int k = 0; k < noffs; k++) {
        printf("%s", k ? ", " : "stampcheck: frames misplaced by (stamp - position): ");
        print_off(offs[k]);
        printf(" x%" PRIu64 "%s", offn[k], k + 1 == noffs ? "\n" : "");
    }
    return misplaced || silent_out || not_silent || torn_out || bad_len ? 1 : 0;
}
