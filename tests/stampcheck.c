/* stampcheck — is every sample of a take where its stamp says?
 *
 * Usage: stampcheck [-v] [-s] [-D STEMCAPD_LOG] TAKE_DIR
 *
 * Reads TAKE_DIR/manifest.json (jack_start_frame, drops, files, and the parts of a split take,
 * whose files are read as one, part after part, so a frame lost or repeated at a seam is
 * misplaced; with -D the drops and torn
 * periods come from the log of the stemcapd that recorded it, as a killed daemon never wrote them
 * into the manifest) and every file it lists with
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
 * otherwise; 2 on usage or read errors.
 *
 * The files are read in step, CHUNK frames at a time with as many ahead (how far a source's
 * late read can be told apart), so takes of hours (gigabytes) need a few megabytes. */
#include "testsig.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sndfile.h>

#define MAX_FILES   9
#define MAX_PARTS   1000
#define CHUNK       65536
#define MAX_OFFSETS 16
#define MAX_RUNS    20
/* What a frame held when it is not a stamp. */
#define S_SILENT  (-2)
#define S_NOSTAMP (-1)
#define S_NONE    (-3) /* past the end of the file */
/* Offsets that are not offsets: what a misplaced frame held instead of a stamp. */
#define OFF_NOSTAMP INT64_MIN       /* neither silence nor a stamp of this channel pair */
#define OFF_SILENT  (INT64_MIN + 1) /* silence outside every reported drop */
#define OFF_INDROP  (INT64_MIN + 2) /* a stamp inside a reported drop */

struct span {
    uint64_t at, frames;
};

struct list { /* spans from the manifest, in order */
    struct span *v;
    size_t n;
};

struct file {
    char *name;
    int stem;
    SNDFILE *sf;
    uint64_t len;
    /* A split take: the file is its parts in order (part[0] is name). */
    char *part[MAX_PARTS];
    int nparts, cur;
    int64_t win[2 * CHUNK]; /* decoded frames [base, base + have) */
    uint64_t base, have;
    size_t drop_cur, torn_cur; /* list cursors, moving forward with the position */
};

struct run { /* misplaced frames [from, to) of one file, all by the same offset */
    int file;
    uint64_t from, to;
    int64_t off;
};

static struct list drops, torns;
static struct file *files[MAX_FILES];
static int nfiles, verbose, nruns;

/* Is i in one of the list's spans?  *cur moves forward only: call with i
 * not decreasing. */
static int
in_list_at(const struct list *l, size_t *cur, uint64_t i)
{
    while (*cur < l->n && l->v[*cur].at + l->v[*cur].frames <= i)
        (*cur)++;
    return *cur < l->n && i >= l->v[*cur].at;
}

/* The same for any i (binary search). */
static int
in_list(const struct list *l, uint64_t i)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (l->v[m].at + l->v[m].frames <= i)
            lo = m + 1;
        else
            hi = m;
    }
    return lo < l->n && i >= l->v[lo].at;
}

static int
load_list(json_t *a, struct list *l)
{
    size_t i;
    json_t *v;
    l->v = calloc(json_array_size(a) + 1, sizeof *l->v);
    if (!l->v)
        return -1;
    json_array_foreach(a, i, v)
    {
        l->v[l->n].at = (uint64_t)json_integer_value(json_object_get(v, "at_frame"));
        l->v[l->n].frames = (uint64_t)json_integer_value(json_object_get(v, "frames"));
        l->n++;
    }
    return 0;
}

static int
list_add(struct list *l, size_t *cap, uint64_t at, uint64_t frames)
{
    if (l->n == *cap) {
        size_t c = *cap ? 2 * *cap : 1024;
        struct span *v = realloc(l->v, c * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        *cap = c;
    }
    l->v[l->n].at = at;
    l->v[l->n].frames = frames;
    l->n++;
    return 0;
}

/* -D LOG: the drops and torn periods from the log of the stemcapd that
 * recorded the take (a killed one never wrote them into the manifest). */
static int
load_log(const char *path)
{
    FILE *fp = fopen(path, "r");
    char line[1024];
    size_t dcap = 0, tcap = 0;
    int rc = 0;
    if (!fp) {
        fprintf(stderr, "stampcheck: %s: cannot open\n", path);
        return -1;
    }
    free(drops.v);
    free(torns.v);
    memset(&drops, 0, sizeof drops);
    memset(&torns, 0, sizeof torns);
    while (rc == 0 && fgets(line, sizeof line, fp)) {
        unsigned long long n, at;
        unsigned u;
        const char *p;
        if ((p = strstr(line, ": take ")) &&
            sscanf(p, ": take %*d: %llu frames dropped at frame %llu", &n, &at) == 2)
            rc = list_add(&drops, &dcap, at, n);
        else if ((p = strstr(line, ": the ")) &&
                 sscanf(p, ": the %u frames at frame %llu may mix two", &u, &at) == 2)
            rc = list_add(&torns, &tcap, at, u);
    }
    fclose(fp);
    return rc;
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
    int rc = load_list(jd, &drops) |
             load_list(json_object_get(json_object_get(m, "timeline"), "torn"), &torns);
    size_t i;
    json_t *v;
    json_array_foreach(jf, i, v)
    {
        const char *f = json_string_value(json_object_get(v, "file"));
        if (!f || nfiles == MAX_FILES)
            continue;
        struct file *x = calloc(1, sizeof *x);
        if (!x || !(x->name = malloc(strlen(dir) + strlen(f) + 2))) {
            free(x);
            rc = -1;
            break;
        }
        sprintf(x->name, "%s/%s", dir, f);
        x->stem = (int)json_integer_value(json_object_get(v, "stem"));
        x->part[x->nparts++] = x->name;
        files[nfiles++] = x;
    }
    /* Parts 2, ...: "folder"/"file", the files in the order of "files". */
    json_t *jp = json_object_get(m, "parts"), *p;
    json_array_foreach(jp, i, p)
    {
        const char *folder = json_string_value(json_object_get(p, "folder"));
        json_t *pf = json_object_get(p, "files");
        if (i == 0)
            continue;
        for (size_t j = 0; folder && j < json_array_size(pf); j++) {
            const char *f = json_string_value(json_object_get(json_array_get(pf, j), "file"));
            int k = 0; /* the file of that name */
            while (f && k < nfiles && strcmp(files[k]->name + strlen(dir) + 1, f) != 0)
                k++;
            char *name = f ? malloc(strlen(dir) + strlen(folder) + strlen(f) + 3) : NULL;
            if (!name || k == nfiles || files[k]->nparts == MAX_PARTS) {
                free(name);
                rc = -1;
                continue;
            }
            sprintf(name, "%s/%s/%s", dir, folder, f);
            files[k]->part[files[k]->nparts++] = name;
        }
    }
    json_decref(m);
    return rc == 0 && nfiles > 0 ? 0 : -1;
}

/* Opens part K of the file (its length is added to f->len when COUNT). */
static int
open_part(struct file *f, int k, int count)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    if (f->sf)
        sf_close(f->sf);
    f->sf = sf_open(f->part[k], SFM_READ, &info);
    if (!f->sf) {
        fprintf(stderr, "stampcheck: %s: %s\n", f->part[k], sf_strerror(NULL));
        return -1;
    }
    if (info.channels != 2) {
        fprintf(stderr, "stampcheck: %s: %d channels, not 2\n", f->part[k], info.channels);
        return -1;
    }
    if (count)
        f->len += (uint64_t)info.frames;
    f->cur = k;
    return 0;
}

/* Opens every part to learn the length, then the first to read. */
static int
open_file(struct file *f)
{
    for (int k = f->nparts - 1; k >= 0; k--)
        if (open_part(f, k, 1) != 0)
            return -1;
    return 0;
}

/* Moves the window to start at `base` and fills it; 0 or -1. */
static int
slide(struct file *f, uint64_t base)
{
    uint64_t keep = f->base + f->have > base ? f->base + f->have - base : 0;
    if (keep)
        memmove(f->win, f->win + (base - f->base), keep * sizeof *f->win);
    f->base = base;
    f->have = keep;
    static float buf[2 * 4096];
    while (f->have < 2 * CHUNK && f->base + f->have < f->len) {
        uint64_t want = 2 * CHUNK - f->have;
        sf_count_t got = sf_readf_float(f->sf, buf, want < 4096 ? (sf_count_t)want : 4096);
        if (got == 0 && f->cur + 1 < f->nparts) {
            if (open_part(f, f->cur + 1, 0) != 0)
                return -1;
            continue;
        }
        if (got <= 0) {
            fprintf(stderr, "stampcheck: %s: read stopped at frame %" PRIu64 " of %" PRIu64 "\n",
                    f->name, f->base + f->have, f->len);
            return -1;
        }
        for (sf_count_t k = 0; k < got; k++) {
            float l = buf[2 * k], r = buf[2 * k + 1];
            f->win[f->have++] =
                l == 0.0f && r == 0.0f ? S_SILENT : testsig_stamp_decode(f->stem, l, r);
        }
    }
    return 0;
}

static int64_t
stamp_at(const struct file *f, uint64_t p)
{
    return p >= f->base && p < f->base + f->have ? f->win[p - f->base] : S_NONE;
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
    printf("  %s: frames %" PRIu64 "..%" PRIu64 ": ", files[r->file]->name, r->from, r->to);
    print_off(r->off);
    printf("\n");
}

int
main(int argc, char **argv)
{
    uint32_t start;
    int a = 1, graph_silence = 0;
    const char *log = NULL;
    for (; a < argc && argv[a][0] == '-'; a++) {
        if (strcmp(argv[a], "-v") == 0) {
            verbose = 1;
        } else if (strcmp(argv[a], "-s") == 0) {
            graph_silence = 1;
        } else if (strcmp(argv[a], "-D") == 0 && a + 1 < argc) {
            log = argv[++a];
        } else {
            a = argc;
            break;
        }
    }
    if (a + 1 != argc) {
        fprintf(stderr, "usage: stampcheck [-v] [-s] [-D STEMCAPD_LOG] TAKE_DIR\n");
        return 2;
    }
    if (load_manifest(argv[a], &start) != 0 || (log && load_log(log) != 0))
        return 2;
    uint64_t maxlen = 0;
    int bad_len = 0;
    for (int f = 0; f < nfiles; f++) {
        if (open_file(files[f]) != 0)
            return 2;
        maxlen = files[f]->len > maxlen ? files[f]->len : maxlen;
        bad_len |= files[f]->len != files[0]->len;
    }

    uint64_t ok = 0, dropped = 0, late = 0, misplaced = 0, silent_out = 0, not_silent = 0;
    uint64_t torn = 0, torn_out = 0, in_torn = 0, beside = 0, total = 0, graph_silent = 0;
    int64_t offs[MAX_OFFSETS];
    uint64_t offn[MAX_OFFSETS];
    int noffs = 0;
    size_t torn_cur = 0;

    for (uint64_t c0 = 0; c0 < maxlen; c0 += CHUNK) {
        uint64_t c1 = c0 + CHUNK < maxlen ? c0 + CHUNK : maxlen;
        for (int fi = 0; fi < nfiles; fi++)
            if (slide(files[fi], c0) != 0)
                return 2;
        for (int fi = 0; fi < nfiles; fi++) {
            struct file *f = files[fi];
            struct run cur = {.file = -1};
            for (uint64_t i = c0; i < c1 && i < f->len; i++, total++) {
                int64_t s = stamp_at(f, i), want = (uint32_t)(start + i), off;
                int drop = in_list_at(&drops, &f->drop_cur, i);
                int intorn = in_list_at(&torns, &f->torn_cur, i);
                if (s == S_SILENT && drop) {
                    dropped++;
                    continue;
                }
                if (s == want && !drop) {
                    ok++;
                    continue;
                }
                if (s == S_SILENT && graph_silence) {
                    graph_silent++;
                    continue;
                } else if (s == S_SILENT) {
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
                    if (intorn) {
                        in_torn++;
                        continue;
                    }
                    if (off > 0 && off < CHUNK && stamp_at(f, i + (uint64_t)off) == s) {
                        late++;
                        continue;
                    }
                    if (off < 0 && (int64_t)i + off >= 0 &&
                        in_list(&drops, (uint64_t)((int64_t)i + off))) {
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
                if (cur.file == fi && cur.to == i && cur.off == off) {
                    cur.to = i + 1;
                    continue;
                }
                print_run(&cur);
                cur = (struct run){.file = fi, .from = i, .to = i + 1, .off = off};
            }
            print_run(&cur);
        }
        for (uint64_t i = c0; i < c1; i++) {
            int64_t s0 = stamp_at(files[0], i);
            for (int fi = 1; fi < nfiles; fi++) {
                int64_t s = stamp_at(files[fi], i);
                if (s == S_NONE || s0 == S_NONE || s == s0)
                    continue;
                torn++;
                torn_out += !in_list_at(&torns, &torn_cur, i);
                if (verbose) {
                    printf("  torn at %" PRIu64 " (position's frame %" PRIu32 "):", i,
                           (uint32_t)(start + i));
                    for (int g = 0; g < nfiles; g++)
                        printf(" %" PRId64, stamp_at(files[g], i));
                    printf("\n");
                }
                break;
            }
        }
    }
    printf("stampcheck: %d files x %" PRIu64 " frames: %" PRIu64 " samples checked: %" PRIu64
           " in place, %" PRIu64 " silent in %zu reported drops, %" PRIu64
           " in %zu reported torn periods, %" PRIu64 " source late reads, %" PRIu64
           " placed late beside a drop, %" PRIu64 " misplaced, %" PRIu64
           " silent outside any drop, %" PRIu64 " silent from the graph (-s), %" PRIu64
           " not silent inside a drop; %" PRIu64 " torn positions, %" PRIu64
           " of them outside the reported torn periods%s\n",
           nfiles, files[0]->len, 2 * total, 2 * ok, 2 * dropped, drops.n, 2 * in_torn, torns.n,
           2 * late, 2 * beside, 2 * misplaced, 2 * silent_out, 2 * graph_silent, 2 * not_silent,
           torn, torn_out, bad_len ? ", FILES DIFFER IN LENGTH" : "");
    for (int k = 0; k < noffs; k++) {
        printf("%s", k ? ", " : "stampcheck: frames misplaced by (stamp - position): ");
        print_off(offs[k]);
        printf(" x%" PRIu64 "%s", offn[k], k + 1 == noffs ? "\n" : "");
    }
    return misplaced || silent_out || not_silent || torn_out || bad_len ? 1 : 0;
}
