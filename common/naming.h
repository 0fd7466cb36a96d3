/* naming — stemcap's delivery naming rules, shared by the daemon (take.c,
 * conf.c, recovery) and stemcap-check: a name made safe as one path
 * component, "<Song>/take-NN/<Song> - <Stem>.<ext>", and "<Song> - Mix" for
 * the mix.  Pure functions, no allocation, unit-tested (tests/test_names.c). */
#ifndef STEMCAP_NAMING_H
#define STEMCAP_NAMING_H

#include <stddef.h>

/* Longest component naming_sanitize() produces, in bytes (without the NUL). */
#define NAMING_COMPONENT_MAX 96

/* Copies `in` to `out` (size `outsz`) as a name that is safe as one path
 * component: no '/', '\\', control characters or characters that Windows and
 * macOS file systems reject; no leading dots or spaces, no trailing dots or
 * spaces; whitespace runs folded to one space; bounded to NAMING_COMPONENT_MAX
 * bytes without cutting a UTF-8 sequence; invalid UTF-8 bytes replaced by
 * '_'.  An empty result becomes `fallback`.  Returns 0, or -1 when outsz is
 * too small for the result. */
int naming_sanitize(char *out, size_t outsz, const char *in, const char *fallback);

/* 0 when `s` is valid UTF-8 text (no overlong forms, surrogates, code
 * points past U+10FFFF or C1 controls), else -1 with the byte offset of the
 * first offending sequence in *at (when not NULL). */
int naming_utf8_check(const char *s, size_t *at);

/* 1 when `s` is already a safe component (naming_sanitize would not change
 * it), else 0. */
int naming_is_safe(const char *s);

/* The stem label of the mix file, and the fallbacks of an empty name. */
#define NAMING_MIX           "Mix"
#define NAMING_SEP           " - "
#define NAMING_SONG_FALLBACK "Untitled"
#define NAMING_STEM_FALLBACK "Stem"
/* Take folders: "take-" then the number, two digits at least. */
#define NAMING_TAKE_PREFIX "take-"
/* The folders of a split take's parts 2, 3, ... inside its take folder:
 * "part-" then the number, two digits at least ([capture] split_minutes). */
#define NAMING_PART_PREFIX "part-"

/* The label of stem NAME in file names: naming_sanitize() with the stem
 * fallback; NAME NULL is the mix.  OUT holds NAMING_COMPONENT_MAX + 2. */
void naming_stem_label(char *out, size_t outsz, const char *name);
/* The song folder's name for TITLE: naming_sanitize() with the song
 * fallback. */
void naming_song_folder(char *out, size_t outsz, const char *title);
/* "<song> - <label>.<ext>" from components already made safe.  Returns 0, or
 * -1 when it does not fit. */
int naming_file(char *out, size_t outsz, const char *song, const char *label, const char *ext);
/* "<title> - <stem name>" (the mix: NAME NULL) for titles inside files:
 * the names as the user gave them, not sanitised. */
void naming_title(char *out, size_t outsz, const char *title, const char *name);
/* "take-NN" for take number N. */
void naming_take_folder(char *out, size_t outsz, int n);
/* The number of a "take-<digits>" folder name, or -1 when NAME is not one. */
long naming_take_number(const char *name);
/* "part-NN" for part number N, and the number of a "part-<digits>" name
 * (-1 when NAME is not one). */
void naming_part_folder(char *out, size_t outsz, int n);
long naming_part_number(const char *name);
/* 1 when stems named A and B (NULL: the mix) would get the same file name
 * (compared without case, as macOS and Windows do), else 0. */
int naming_same_file(const char *a, const char *b);
/* The stem part of BASE (a file name without extension) when it is
 * "<SONG> - <Stem>" with a non-blank stem, else NULL. */
const char *naming_stem_part(const char *base, const char *song);

#endif
