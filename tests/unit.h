/* unit — a minimal assertion helper shared by the unit tests.
 *
 * CHECK(cond), CHECK_INT_EQ(a, b) and CHECK_STR_EQ(a, b) count every check;
 * a failed one prints "file:line: ..." with the values on stderr (strings
 * with non-printable bytes escaped as \xNN) and the test goes on.  Each
 * yields 1 when it passed, 0 when it failed, so a test can skip what depends
 * on it.  unit_summary(name) prints one line "<name>: N passed, M failed" and
 * returns the exit status: 0 when nothing failed, else 1.  Header-only:
 * include it from one .c file per test program. */
#ifndef STEMCAP_UNIT_H
#define STEMCAP_UNIT_H

#include <stdio.h>
#include <string.h>

static unsigned long unit_passed, unit_failed;

static int __attribute__((unused)) unit_check(int ok, const char *file, int line, const char *expr)
{
    if (ok) {
        unit_passed++;
    } else {
        unit_failed++;
        fprintf(stderr, "%s:%d: CHECK(%s) failed\n", file, line, expr);
    }
    return ok;
}

static int __attribute__((unused))
unit_check_int(long long a, long long b, const char *file, int line, const char *ea, const char *eb)
{
    if (a == b) {
        unit_passed++;
        return 1;
    }
    unit_failed++;
    fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", file, line, ea, eb, a, b);
    return 0;
}

static void
unit_print_str(const char *s)
{
    if (!s) {
        fputs("(null)", stderr);
        return;
    }
    fputc('"', stderr);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7F || *p == '"' || *p == '\\')
            fprintf(stderr, "\\x%02X", *p);
        else
            fputc(*p, stderr);
    }
    fputc('"', stderr);
}

static int __attribute__((unused)) unit_check_str(const char *a, const char *b, const char *file,
                                                  int line, const char *ea, const char *eb)
{
    if (a && b && strcmp(a, b) == 0) {
        unit_passed++;
        return 1;
    }
    unit_failed++;
    fprintf(stderr, "%s:%d: %s == %s failed: ", file, line, ea, eb);
    unit_print_str(a);
    fputs(" != ", stderr);
    unit_print_str(b);
    fputc('\n', stderr);
    return 0;
}

static int __attribute__((unused)) unit_summary(const char *name)
{
    printf("%s: %lu passed, %lu failed\n", name, unit_passed, unit_failed);
    fflush(stdout);
    return unit_failed ? 1 : 0;
}

#define CHECK(cond) unit_check(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_INT_EQ(a, b)                                                                         \
    unit_check_int((long long)(a), (long long)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_STR_EQ(a, b) unit_check_str((a), (b), __FILE__, __LINE__, #a, #b)

#endif
