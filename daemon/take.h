/* take — a take's folder and files: naming, safe creation, opening and
 * closing.  The control thread opens a take, the writer thread owns it while
 * it records, the control thread gets it back closed. */
#ifndef STEMCAP_TAKE_H
#define STEMCAP_TAKE_H

#include <limits.h>
#include <sndfile.h>
#include <stdint.h>
#include <time.h>

#include <nettle/md5.h>

#include "conf.h"
#include "engine.h"
#include "loudness.h"
#include "naming.h"

#define TAKE_MAX_FILES     (CONF_MAX_STEMS + 1)
#define TAKE_FILE_NAME_MAX (2 * NAMING_COMPONENT_MAX + 16)

struct take_file {
    SNDFILE *sf;
    int fd;    /* its descriptor (libsndfile closes it) */
    int stem;  /* 1..8, 0 for the mix */
    int nch;   /* channels: 2, or 1 for a mono stem */
    int ch[2]; /* positions of L and R in the record's channel plan (mono: the same twice) */
    char name[TAKE_FILE_NAME_MAX]; /* "<Song> - <Stem>.<ext>" */
    uint64_t frames;               /* written so far */
    /* Writer thread, from take_open to the take's end: */
    struct loudness loud; /* EBU R 128 of what is written (live: loudness_get) */
    struct md5_ctx md5;   /* of the audio data bytes as written */
    /* Results, filled when the take ends: */
    struct loudness_figs figs; /* the whole file's loudness */
    char audio_md5[33];        /* hex; "" when the file was cut after an error */
};

/* One finished part of a split take ([capture] split_minutes): where it
 * starts in the take, how long it is, and its files' checksums. */
struct take_part {
    uint64_t start;                     /* the take's frame at its first frame */
    uint64_t frames;                    /* frames in every file of it */
    char audio_md5[TAKE_MAX_FILES][33]; /* per file; "" when cut after an error */
};

/* Positions listed per take (drops, torn periods): 16 bytes each; an hour
 * of xruns every 10 ms fits.  Beyond it they are counted, not listed. */
#define TAKE_MAX_LISTED 400000

struct take_drop {
    uint64_t at;     /* frame offset in the take where silence was inserted */
    uint64_t frames; /* how many */
};

/* A growing list of positions (the writer adds, the manifest reads). */
struct take_list {
    struct take_drop *v;
    int n, cap;
    uint64_t unlisted; /* positions past TAKE_MAX_LISTED, or out of memory */
};

struct take {
    unsigned id;           /* sequence id carried in ring records */
    int number;            /* NN of take-NN in the song folder */
    struct conf_song meta; /* song metadata at the time the take was made */
    char stem_name[CONF_MAX_STEMS][CONF_NAME_MAX];
    char dir[PATH_MAX]; /* absolute path of the take folder */
    char fault[512];    /* why the take failed (a write error, its folder removed), "" if not */
    char sub[32];       /* "take-NN" */
    char songdir[NAMING_COMPONENT_MAX + 2]; /* the song folder's name */
    int dirfd, songfd;
    uint32_t rate;
    enum conf_format format;
    enum conf_sample sample_format;
    int nfiles;
    struct take_file file[TAKE_MAX_FILES];
    /* Splitting ([capture] split_minutes): parts 2, 3, ... are folders
     * "part-NN" in the take folder with the same file names.  Written by
     * the writer thread while it owns the take; read when it is done. */
    uint64_t split_frames;   /* frames per part, 0 = never split */
    int part;                /* the part being written: 1, 2, ... */
    uint64_t part_start;     /* the take's frame at the current part's first frame */
    int partfd;              /* the current part's folder, -1 = the take folder (part 1) */
    char partdir[PATH_MAX];  /* ... its path, for messages */
    struct take_part *parts; /* finished parts: part k is parts[k - 1] */
    int nparts, parts_cap;   /* nparts > 1: the take was split */
    /* Channel plan: engine channel of each position in a record, and the
     * capture latency of each, which the writer advances that channel by so
     * every file lines up with the timeline. */
    uint32_t nch;
    int plan_ch[ENGINE_MAX_CH];
    uint32_t latency[ENGINE_MAX_CH];

    /* SMPTE 330M basic UMID, shared by every file of the take (bext UMID). */
    unsigned char umid[32];
    /* Set when the engine starts it (control thread). */
    uint64_t start_frame; /* JACK frame time of the first sample */
    uint64_t tframe;      /* transport frame: the bext TimeReference */
    uint32_t bar_frames;  /* one bar, from the transport's BBT, 0 = none */
    struct timespec start_wall;
    /* Results, filled by the writer when it finishes the take. */
    int placed;             /* its first period reached the files, at: */
    uint64_t placed_frame;  /* ... this JACK frame (timeline.h: a late first read is undone) */
    uint64_t placed_tframe; /* ... and this transport frame */
    uint64_t frames;        /* frames in every file */
    uint64_t preroll;       /* ... of them before the start command: the pre-roll */
    uint64_t dropped;       /* frames of silence written for dropped periods */
    struct take_list drops; /* where silence was inserted */
    uint64_t torn_frames;   /* frames of periods JACK may have torn (ENGINE_REC_TORN) */
    struct take_list torn;  /* ... and where they are */
    uint64_t late_reads;    /* periods placed before the frame JACK's clock said (timeline.h) */
    uint32_t repeats;       /* ... of them lost: they held the next cycle's audio (process.c) */
    int error;              /* a write or close failed (logged) */
    /* Why it ended, for the manifest: "stop", "transport stopped",
     * "transport relocated", "sample rate changed", "write error",
     * "shutdown", "JACK server gone". */
    const char *ended_by;
    /* The mix's alignment: whether the writer waits for it (set by the
     * control thread before writer_begin), what went into the files, and
     * non-silent mix samples it had to skip (a mix with sound the stems
     * lack at their start). */
    int align_hold;
    int align_applied;
    uint64_t align_lost;
    /* ... and how it was decided (align.c): the offset the null test judges
     * the take at (the mix lags the stems by it), where it came from, the
     * measurement, and a lag measured later that differs (never applied). */
    int align_offset;
    const char *align_source;
    int align_waiting;
    int align_measured; /* a measurement below applies */
    int align_exact;
    double align_corr;
    float align_resid_db;
    int align_changed;
    int align_changed_to;
    /* Figures of the control thread, for the manifest. */
    unsigned xruns;
};

/* Checks that libsndfile can write the configured format and sample
 * format.  Returns 0 or -1 (logged). */
int take_check_format(const struct conf *c);

/* Whether `dir` can be the capture root, touching nothing: it is a folder,
 * or it does not exist yet and every part of it that exists is a folder.
 * Returns 0, or -1 with the reason in `why` (a file in the way, a part
 * that cannot be looked at). */
int take_check_root(const char *dir, char *why, size_t n);

/* Opens the capture root `dir` (created if missing, with parents) as a
 * directory fd, and stores its absolute path in `abs` (PATH_MAX).  Returns
 * the fd or -1 (logged). */
int take_open_root(const char *dir, char *abs);

/* Creates <root>/<Song>/take-NN (next free NN, never reusing one) and
 * creates one file per armed, registered stem of `c` and the mix when
 * c->record_mix, every file new (O_EXCL) and never through a symlink.  On
 * failure nothing is left open and the error is logged; the empty folder
 * may remain.  Returns 0 or -1. */
int take_open(struct take *t, int rootfd, const char *rootpath, const struct conf *c, uint32_t rate,
              unsigned id);

/* Writes the bext chunk (where the format has one) with TimeReference
 * `tframe` into every file.  Call before any audio is written. */
void take_set_bext(struct take *t, uint64_t tframe);
/* bext version 2 with the loudness figures of the finished files
 * (take_finish_files fills them).  WAV only; writer thread. */
void take_set_bext_loudness(struct take *t);
/* The take's UMID as 64 hex digits into OUT (65 bytes). */
void take_umid_hex(const struct take *t, char *out);
/* The folder of the part being written: the take folder, or its part-NN. */
const char *take_part_dir(const struct take *t);
/* The stem's name of file F as the user gave it, or "Mix". */
const char *take_file_label(const struct take *t, const struct take_file *f);

/* Adds [at, at + frames) to a take's list (writer thread). */
void take_list_add(struct take_list *l, uint64_t at, uint64_t frames);

/* Closes and deletes the files and the folder of a take that never
 * recorded anything (a prepared take given up). */
void take_discard(struct take *t);

/* Records the current part as finished, FRAMES long, with each file's
 * audio_md5 as the writer just computed it.  Writer thread.  Returns 0, or
 * -1 when out of memory (logged). */
int take_part_done(struct take *t, uint64_t frames);
/* Closes the current part's files (final headers, as take_close) and
 * starts the next part at the take's frame START: creates
 * take-NN/part-MM and in it a new set of files with the same names and
 * format (new, never through a symlink), each with the bext TimeReference
 * of the take's first frame plus START.  Writer thread.  Returns 0, or -1
 * when a file cannot be finalised or the next part cannot be made (logged
 * once; the files made for it are removed; no file of the take is left
 * open). */
int take_next_part(struct take *t, uint64_t start);

/* Writes the final headers and closes every file (the folder stays open for
 * the manifest).  Returns 0, or -1 when any file could not be finalised
 * (logged). */
int take_close(struct take *t);
/* Closes the take's folder descriptors. */
void take_release(struct take *t);

#endif
