/* names — turning song and stem names into safe file-name components. */
#ifndef STEMCAP_NAMES_H
#define STEMCAP_NAMES_H

#include <stddef.h>

/* Longest component names_sanitize() produces, in bytes (without the NUL). */
#define NAMES_COMPONENT_MAX 96

/* Copies `in` to `out` (size `outsz`) as a name that is safe as one path
 * component: no '/', '\\', control characters or characters that Windows and
 * macOS file systems reject; no leading dots or spaces, no trailing dots or
 * spaces; whitespace runs folded to one space; bounded to NAMES_COMPONENT_MAX
 * bytes without cutting a UTF-8 sequence; invalid UTF-8 bytes replaced by
 * '_'.  An empty result becomes `fallback`.  Returns 0, or -1 when outsz is
 * too small for the result. */
int names_sanitize(char *out, size_t outsz, const char *in, const char *fallback);

/* 0 when `s` is valid UTF-8 text (no overlong forms, surrogates, code
 * points past U+10FFFF or C1 controls), else -1 with the byte offset of the
 * first offending sequence in *at (when not NULL). */
int names_utf8_check(const char *s, size_t *at);

/* 1 when `s` is already a safe component (names_sanitize would not change
 * it), else 0. */
int names_is_safe(const char *s);

#endif
