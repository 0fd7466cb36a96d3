/* test_names — unit tests of naming_sanitize() and naming_is_safe(). */
#include "naming.h"
#include "unit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OUTSZ (NAMING_COMPONENT_MAX + 2)

/* Sanitizes `in` (fallback "Stem") and checks the exact result. */
static void
expect_at(const char *in, const char *want, const char *file, int line)
{
    char out[OUTSZ];
    int rc = naming_sanitize(out, sizeof out, in, "Stem");

    if (!unit_check_int(rc, 0, file, line, "naming_sanitize()", "0"))
        return;
    unit_check_str(out, want, file, line, "naming_sanitize(in)", "want");
}
#define EXPECT(in, want) expect_at((in), (want), __FILE__, __LINE__)

static char *
repeat(char *dst, char c, size_t n)
{
    memset(dst, c, n);
    dst[n] = '\0';
    return dst;
}

static void
test_plain(void)
{
    EXPECT("Drums", "Drums");
    EXPECT("Lead Vocal", "Lead Vocal");
    EXPECT("v1.0 final", "v1.0 final");
    EXPECT("a.b.c", "a.b.c");
    EXPECT("_x_", "_x_");
    EXPECT("-", "-");
    EXPECT("a&b(c)[d]{e}+=,;'!@#$%^~`", "a&b(c)[d]{e}+=,;'!@#$%^~`");
}

static void
test_separators(void)
{
    EXPECT("a/b", "a-b");
    EXPECT("a\\b", "a-b");
    EXPECT("a:b", "a-b");
    EXPECT("a|b", "a-b");
    EXPECT("/", "-");
    EXPECT("//", "--");
    EXPECT("/etc/passwd", "-etc-passwd");
    EXPECT("..\\..\\boot.ini", "-..-boot.ini");
    EXPECT("C:\\Windows", "C--Windows");
    /* Characters Windows rejects become '_'. */
    EXPECT("a*b?c\"d<e>f", "a_b_c_d_e_f");
    EXPECT("Lead Vocal: take 2/final?", "Lead Vocal- take 2-final_");
    EXPECT("*", "_");
    /* The examples of man/stemcap.ini.5. */
    EXPECT(".Live: Night 1/2", "Live- Night 1-2");
    EXPECT("  Lead  Vocal. ", "Lead Vocal");
}

static void
test_dots(void)
{
    EXPECT("..", "Stem");
    EXPECT(".", "Stem");
    EXPECT("...", "Stem");
    EXPECT(". .", "Stem");
    EXPECT("../etc/passwd", "-etc-passwd");
    EXPECT("../../x", "-..-x");
    EXPECT(".hidden", "hidden");
    EXPECT("...a", "a");
    EXPECT(" .x", "x");
    EXPECT(". . .x", "x");
    EXPECT("\t.\x01.y", "y");
    EXPECT("a..b", "a..b");
    /* Trailing dots and spaces go (Windows drops them silently). */
    EXPECT("name.", "name");
    EXPECT("name...", "name");
    EXPECT("name. . .", "name");
    EXPECT("v1.0.", "v1.0");
    EXPECT("x .", "x");
}

static void
test_whitespace_and_controls(void)
{
    EXPECT("  a   b  ", "a b");
    EXPECT("a\tb", "a b");
    EXPECT("a\nb\rc", "a b c");
    EXPECT("a \t\n\v\f\r b", "a b");
    EXPECT("a\x01\x7f b", "a b");
    EXPECT("a\x1f", "a");
    EXPECT("\x1b[31mred", "[31mred");
    EXPECT("\x7f\x7f"
           "x",
           "x");
    EXPECT("   ", "Stem");
    EXPECT("\x01\x02\x03", "Stem");
    EXPECT("\t", "Stem");
}

static void
test_utf8(void)
{
    /* Valid multibyte UTF-8 is kept byte for byte. */
    EXPECT("Bass \xe2\x80\x93 \xc3\x96l\xc3\xa9 \xe4\xbd\x8e\xe9\x9f\xb3",
           "Bass \xe2\x80\x93 \xc3\x96l\xc3\xa9 \xe4\xbd\x8e\xe9\x9f\xb3");
    EXPECT("\xf0\x9f\x8e\xb8 Guitar", "\xf0\x9f\x8e\xb8 Guitar"); /* U+1F3B8 */
    EXPECT("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");               /* U+10FFFF */
    EXPECT("\xc2\xa0", "\xc2\xa0");                               /* U+00A0, not C1 */
    EXPECT("\xc2\xa9 2026", "\xc2\xa9 2026");                     /* U+00A9 */
    EXPECT("\xed\x9f\xbf", "\xed\x9f\xbf");                       /* U+D7FF */
    EXPECT("\xee\x80\x80", "\xee\x80\x80");                       /* U+E000 */
    EXPECT("\xef\xbc\x8f", "\xef\xbc\x8f"); /* U+FF0F fullwidth solidus: harmless */

    /* Invalid bytes: each one becomes '_'. */
    EXPECT("a\xff"
           "b",
           "a_b");
    EXPECT("\x80", "_");
    EXPECT("\xbf\xbf", "__");
    EXPECT("a\xc3", "a_");    /* truncated at the end */
    EXPECT("\xc3(", "_(");    /* lead byte without continuation */
    EXPECT("\xe2\x82", "__"); /* truncated 3-byte sequence */
    EXPECT("\xe2\x82z", "__z");
    EXPECT("\xf0\x9f\x8e", "___");           /* truncated 4-byte sequence */
    EXPECT("\xed\xa0\x80", "___");           /* U+D800 surrogate */
    EXPECT("\xed\xbf\xbf", "___");           /* U+DFFF surrogate */
    EXPECT("\xf4\x90\x80\x80", "____");      /* U+110000 */
    EXPECT("\xf5\x80\x80\x80", "____");      /* lead byte past U+10FFFF */
    EXPECT("\xf8\x88\x80\x80\x80", "_____"); /* old 5-byte form */
    EXPECT("\xfe\xff", "__");

    /* Overlong forms never decode to what they hide ('/' and '.' here). */
    EXPECT("\xc0\xaf", "__");
    EXPECT("a\xc0\xae\xc0\xae"
           "b",
           "a____b");
    EXPECT("\xc1\xbf", "__");
    EXPECT("\xe0\x80\xaf", "___");
    EXPECT("\xe0\x9f\xbf", "___");
    EXPECT("\xf0\x80\x80\xaf", "____");
    EXPECT("\xf0\x8f\xbf\xbf", "____");
    EXPECT("\xc0\x80", "__"); /* "modified UTF-8" NUL */

    /* C1 controls (U+0080..U+009F) are control characters: both bytes go. */
    EXPECT("a\xc2\x85"
           "b",
           "a__b");
    EXPECT("\xc2\x80", "__");
    EXPECT("\xc2\x9f", "__");
    EXPECT("x\xc2\x9bm", "x__m"); /* CSI */
}

static void
test_length(void)
{
    char in[512], want[512], out[OUTSZ];
    const size_t max = NAMING_COMPONENT_MAX;

    EXPECT(repeat(in, 'a', max), repeat(want, 'a', max));
    EXPECT(repeat(in, 'a', max + 1), repeat(want, 'a', max));
    EXPECT(repeat(in, 'a', 300), repeat(want, 'a', max));

    /* A 2-byte sequence that would end at max + 1 is left out whole. */
    repeat(in, 'a', max - 1);
    strcat(in, "\xc3\xa9");
    EXPECT(in, repeat(want, 'a', max - 1));
    repeat(in, 'a', max - 2);
    strcat(in, "\xc3\xa9");
    EXPECT(in, in);

    /* 3-byte sequences at every offset near the bound. */
    for (size_t k = 0; k < 3; k++) {
        repeat(in, 'a', max - 3 + k);
        strcat(in, "\xe4\xbd\x8e");
        repeat(want, 'a', max - 3 + k);
        if (k == 0)
            strcat(want, "\xe4\xbd\x8e");
        EXPECT(in, want);
    }
    /* 4-byte sequences likewise. */
    for (size_t k = 0; k < 4; k++) {
        repeat(in, 'a', max - 4 + k);
        strcat(in, "\xf0\x9f\x8e\xb8");
        repeat(want, 'a', max - 4 + k);
        if (k == 0)
            strcat(want, "\xf0\x9f\x8e\xb8");
        EXPECT(in, want);
    }
    /* A long run of multibyte characters is cut on a boundary. */
    in[0] = '\0';
    for (int i = 0; i < 60; i++)
        strcat(in, "\xe4\xbd\x8e"); /* 180 bytes */
    want[0] = '\0';
    for (int i = 0; i < 32; i++)
        strcat(want, "\xe4\xbd\x8e"); /* 96 bytes */
    EXPECT(in, want);
    in[0] = '\0';
    for (int i = 0; i < 60; i++)
        strcat(in, "\xc3\x96x"); /* 3 bytes each */
    want[0] = '\0';
    for (int i = 0; i < 32; i++)
        strcat(want, "\xc3\x96x");
    EXPECT(in, want);

    /* The space folded in front of a word counts; it is never left dangling. */
    repeat(in, 'a', max - 1);
    strcat(in, " b");
    EXPECT(in, repeat(want, 'a', max - 1));
    repeat(in, 'a', max - 2);
    strcat(in, " b");
    EXPECT(in, in);
    repeat(in, 'a', max - 1);
    strcat(in, "     ");
    EXPECT(in, repeat(want, 'a', max - 1));

    /* Cut after a dot: the trailing dot is dropped as well. */
    repeat(in, 'a', max - 1);
    strcat(in, ".bcd");
    EXPECT(in, repeat(want, 'a', max - 1));

    /* Leading junk does not count against the bound. */
    repeat(in, ' ', 50);
    memset(in + 50, '.', 50);
    repeat(in + 100, 'z', 200);
    EXPECT(in, repeat(want, 'z', max));

    /* The result always fits NAMING_COMPONENT_MAX, reserved names included. */
    strcpy(in, "CON.");
    repeat(in + 4, 'x', max - 4);
    CHECK_INT_EQ(strlen(in), max);
    CHECK_INT_EQ(naming_sanitize(out, sizeof out, in, "Stem"), 0);
    CHECK_INT_EQ(strlen(out), max);
    strcpy(want, "_CON.");
    repeat(want + 5, 'x', max - 5);
    CHECK_STR_EQ(out, want);
    CHECK_INT_EQ(naming_is_safe(out), 1);
    /* ... and a cut there does not leave a trailing dot or half a character. */
    strcpy(in, "nul.");
    repeat(in + 4, 'x', max - 7);
    strcat(in, ".\xc3\xa9"); /* ends ".é" at exactly max bytes */
    CHECK_INT_EQ(strlen(in), max);
    CHECK_INT_EQ(naming_sanitize(out, sizeof out, in, "Stem"), 0);
    strcpy(want, "_nul.");
    repeat(want + 5, 'x', max - 7);
    CHECK_STR_EQ(out, want);
    CHECK_INT_EQ(naming_is_safe(out), 1);
}

static void
test_reserved(void)
{
    EXPECT("CON", "_CON");
    EXPECT("con", "_con");
    EXPECT("Con", "_Con");
    EXPECT("PRN", "_PRN");
    EXPECT("AUX", "_AUX");
    EXPECT("NUL", "_NUL");
    EXPECT("nul.txt", "_nul.txt");
    EXPECT("CON.Drums.wav", "_CON.Drums.wav");
    EXPECT("COM1", "_COM1");
    EXPECT("com9.wav", "_com9.wav");
    EXPECT("LPT1", "_LPT1");
    EXPECT("lpt5.x", "_lpt5.x");
    /* Reserved once the trailing junk is gone. */
    EXPECT("AUX ", "_AUX");
    EXPECT("PRN.", "_PRN");
    EXPECT(" .CON. ", "_CON");
    /* Not reserved. */
    EXPECT("COM0", "COM0");
    EXPECT("COM10", "COM10");
    EXPECT("COMX", "COMX");
    EXPECT("CONSOLE", "CONSOLE");
    EXPECT("Conga", "Conga");
    EXPECT("ACON", "ACON");
    EXPECT("CO", "CO");
    EXPECT("NULL", "NULL");
    EXPECT("_CON", "_CON");
    EXPECT("CON Drums", "CON Drums");
}

static void
test_fallback_and_outsz(void)
{
    char out[OUTSZ], small[8];

    CHECK_INT_EQ(naming_sanitize(out, sizeof out, "", "Untitled"), 0);
    CHECK_STR_EQ(out, "Untitled");
    CHECK_INT_EQ(naming_sanitize(out, sizeof out, NULL, "Untitled"), 0);
    CHECK_STR_EQ(out, "Untitled");
    CHECK_INT_EQ(naming_sanitize(out, sizeof out, " . \t", "Stem"), 0);
    CHECK_STR_EQ(out, "Stem");
    CHECK_INT_EQ(naming_sanitize(out, sizeof out, "..", ""), 0);
    CHECK_STR_EQ(out, "");
    /* A reserved fallback is still made safe. */
    CHECK_INT_EQ(naming_sanitize(out, sizeof out, "", "CON"), 0);
    CHECK_STR_EQ(out, "_CON");

    /* outsz too small: -1. */
    CHECK_INT_EQ(naming_sanitize(small, 0, "a", "Stem"), -1);
    CHECK_INT_EQ(naming_sanitize(small, 1, "a", "Stem"), -1);
    CHECK_INT_EQ(naming_sanitize(small, 5, "Drums", "Stem"), -1);
    CHECK_INT_EQ(naming_sanitize(small, 6, "Drums", "Stem"), 0);
    CHECK_STR_EQ(small, "Drums");
    CHECK_INT_EQ(naming_sanitize(small, 1, "", ""), 0);
    CHECK_STR_EQ(small, "");
    CHECK_INT_EQ(naming_sanitize(small, sizeof small, "", "Untitled"), -1); /* needs 9 */
    CHECK_INT_EQ(naming_sanitize(small, 5, "..", "Stem"), 0);
    CHECK_STR_EQ(small, "Stem");
    CHECK_INT_EQ(naming_sanitize(small, 4, "..", "Stem"), -1);
    CHECK_INT_EQ(naming_sanitize(small, 4, "CON", "Stem"), -1); /* "_CON" needs 5 */
    CHECK_INT_EQ(naming_sanitize(small, 5, "CON", "Stem"), 0);
    CHECK_STR_EQ(small, "_CON");
    CHECK_INT_EQ(naming_sanitize(small, 3, "\xe4\xbd\x8e", "Stem"), -1);
    CHECK_INT_EQ(naming_sanitize(small, 4, "\xe4\xbd\x8e", "Stem"), 0);
    CHECK_STR_EQ(small, "\xe4\xbd\x8e");
    CHECK_INT_EQ(naming_sanitize(small, 6, "a   b", "Stem"), 0);
    CHECK_STR_EQ(small, "a b");
    /* The fallback is used only when the name is empty. */
    CHECK_INT_EQ(naming_sanitize(small, 2, "x", "Untitled"), 0);
    CHECK_STR_EQ(small, "x");
}

static void
test_is_safe(void)
{
    char s[256];

    CHECK_INT_EQ(naming_is_safe("Drums"), 1);
    CHECK_INT_EQ(naming_is_safe("Lead Vocal"), 1);
    CHECK_INT_EQ(naming_is_safe("Bass \xe2\x80\x93 \xc3\x96l\xc3\xa9 \xe4\xbd\x8e\xe9\x9f\xb3"), 1);
    CHECK_INT_EQ(naming_is_safe("a.b"), 1);
    CHECK_INT_EQ(naming_is_safe("_CON"), 1);
    CHECK_INT_EQ(naming_is_safe("-"), 1);
    CHECK_INT_EQ(naming_is_safe(repeat(s, 'a', NAMING_COMPONENT_MAX)), 1);

    CHECK_INT_EQ(naming_is_safe(NULL), 0);
    CHECK_INT_EQ(naming_is_safe(""), 0);
    CHECK_INT_EQ(naming_is_safe("."), 0);
    CHECK_INT_EQ(naming_is_safe(".."), 0);
    CHECK_INT_EQ(naming_is_safe(".x"), 0);
    CHECK_INT_EQ(naming_is_safe("a/b"), 0);
    CHECK_INT_EQ(naming_is_safe("a\\b"), 0);
    CHECK_INT_EQ(naming_is_safe("a:b"), 0);
    CHECK_INT_EQ(naming_is_safe("a?"), 0);
    CHECK_INT_EQ(naming_is_safe("a  b"), 0);
    CHECK_INT_EQ(naming_is_safe("a\tb"), 0);
    CHECK_INT_EQ(naming_is_safe(" a"), 0);
    CHECK_INT_EQ(naming_is_safe("a "), 0);
    CHECK_INT_EQ(naming_is_safe("a."), 0);
    CHECK_INT_EQ(naming_is_safe("CON"), 0);
    CHECK_INT_EQ(naming_is_safe("lpt1.wav"), 0);
    CHECK_INT_EQ(naming_is_safe("a\xff"), 0);
    CHECK_INT_EQ(naming_is_safe("\xc0\xaf"), 0);
    CHECK_INT_EQ(naming_is_safe("\xc2\x85"), 0);
    CHECK_INT_EQ(naming_is_safe(repeat(s, 'a', NAMING_COMPONENT_MAX + 1)), 0);
}

/* An independent strict UTF-8 check (no overlongs, surrogates, > U+10FFFF,
 * C0 or C1 controls). */
static int
valid_utf8_no_controls(const unsigned char *s)
{
    while (*s) {
        unsigned cp;
        int n;
        if (*s < 0x80) {
            if (*s < 0x20 || *s == 0x7F)
                return 0;
            s++;
            continue;
        } else if (*s >= 0xC2 && *s <= 0xDF) {
            n = 1;
            cp = *s & 0x1F;
        } else if (*s >= 0xE0 && *s <= 0xEF) {
            n = 2;
            cp = *s & 0x0F;
        } else if (*s >= 0xF0 && *s <= 0xF4) {
            n = 3;
            cp = *s & 0x07;
        } else {
            return 0;
        }
        for (int i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp < 0xA0)
            return 0;
        s += n + 1;
    }
    return 1;
}

static int
reserved(const char *s)
{
    static const char *const dev[] = {"CON", "PRN", "AUX", "NUL"};
    size_t n = strcspn(s, ".");

    for (int i = 0; i < 4; i++)
        if (n == 3 && strncasecmp(s, dev[i], 3) == 0)
            return 1;
    return n == 4 && (strncasecmp(s, "COM", 3) == 0 || strncasecmp(s, "LPT", 3) == 0) &&
           s[3] >= '1' && s[3] <= '9';
}

/* Random names from nasty pieces: every result must satisfy every rule, be
 * accepted by naming_is_safe() and be a fixed point of naming_sanitize(). */
static void
test_random(void)
{
    static const char *const piece[] = {
        "a",
        "Z",
        "7",
        ".",
        "..",
        " ",
        "  ",
        "\t",
        "\n",
        "/",
        "\\",
        ":",
        "*",
        "?",
        "\"",
        "<",
        ">",
        "|",
        "\x01",
        "\x7f",
        "\x80",
        "\xff",
        "\xc3",
        "\xc3\xa9",
        "\xc2\x85",
        "\xc2\xa0",
        "\xe4\xbd\x8e",
        "\xe4\xbd",
        "\xf0\x9f\x8e\xb8",
        "\xf0\x9f",
        "\xed\xa0\x80",
        "\xc0\xaf",
        "CON",
        "nul",
        "com1",
        "LPT9",
        "Drums",
        "-",
        "_",
    };
    const size_t npiece = sizeof piece / sizeof piece[0];
    uint64_t rng = 0x9E3779B97F4A7C15u;
    char in[1024], out[OUTSZ], again[OUTSZ];
    int bad = 0;

    for (int iter = 0; iter < 200000 && bad < 5; iter++) {
        size_t len = 0;
        in[0] = '\0';
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        int count = (int)(rng % 70);
        for (int i = 0; i < count; i++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            const char *p = piece[rng % npiece];
            size_t pl = strlen(p);
            memcpy(in + len, p, pl + 1);
            len += pl;
        }
        int ok = naming_sanitize(out, sizeof out, in, "Stem") == 0;
        size_t n = ok ? strlen(out) : 0;
        ok = ok && n > 0 && n <= NAMING_COMPONENT_MAX;
        ok = ok && valid_utf8_no_controls((const unsigned char *)out);
        ok = ok && !strpbrk(out, "/\\:*?\"<>|") && !strstr(out, "  ");
        ok = ok && out[0] != '.' && out[0] != ' ' && out[n - 1] != '.' && out[n - 1] != ' ';
        ok = ok && !reserved(out) && naming_is_safe(out) == 1;
        ok = ok && naming_sanitize(again, sizeof again, out, "Stem") == 0 && !strcmp(again, out);
        if (!ok) {
            fprintf(stderr, "%s:%d: random name broke a rule\n  input: ", __FILE__, __LINE__);
            unit_print_str(in);
            fprintf(stderr, "\n  output: ");
            unit_print_str(out);
            fputc('\n', stderr);
            bad++;
        }
    }
    CHECK_INT_EQ(bad, 0);
}

static void
test_utf8_check(void)
{
    size_t at = 99;
    CHECK(naming_utf8_check("", &at) == 0);
    CHECK(naming_utf8_check("Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xb8", &at) == 0);
    CHECK(naming_utf8_check("Caf\xe9", &at) == -1 && at == 3);
    CHECK(naming_utf8_check("ab\x80", &at) == -1 && at == 2);           /* lone continuation */
    CHECK(naming_utf8_check("\xc0\xaf", &at) == -1 && at == 0);         /* overlong '/' */
    CHECK(naming_utf8_check("x\xed\xa0\x80", &at) == -1 && at == 1);    /* a surrogate */
    CHECK(naming_utf8_check("\xf4\x90\x80\x80", &at) == -1 && at == 0); /* past U+10FFFF */
    CHECK(naming_utf8_check("ok\xe2\x82", &at) == -1 && at == 2);       /* cut short */
    CHECK(naming_utf8_check("\xc2\x85", NULL) == -1);                   /* C1 control */
}

/* The delivery layout: "<Song> - <Stem>.<ext>", take folders, collisions. */
static void
test_layout(void)
{
    char out[NAMING_COMPONENT_MAX * 2 + 16], a[NAMING_COMPONENT_MAX + 2];

    naming_song_folder(a, sizeof a, " ../My: Song ");
    CHECK_STR_EQ(a, "-My- Song"); /* dots dropped at the start, "/" and ":" made "-" */
    naming_song_folder(a, sizeof a, "");
    CHECK_STR_EQ(a, "Untitled");
    naming_stem_label(a, sizeof a, "Lead/Vox");
    CHECK_STR_EQ(a, "Lead-Vox");
    naming_stem_label(a, sizeof a, NULL);
    CHECK_STR_EQ(a, "Mix");
    naming_stem_label(a, sizeof a, "...");
    CHECK_STR_EQ(a, "Stem");
    CHECK_INT_EQ(naming_file(out, sizeof out, "Song", "Drums", "wav"), 0);
    CHECK_STR_EQ(out, "Song - Drums.wav");
    CHECK_INT_EQ(naming_file(out, 12, "Song", "Drums", "wav"), -1);
    naming_title(out, sizeof out, "My: Song", NULL);
    CHECK_STR_EQ(out, "My: Song - Mix");
    naming_take_folder(a, sizeof a, 3);
    CHECK_STR_EQ(a, "take-03");
    naming_take_folder(a, sizeof a, 123);
    CHECK_STR_EQ(a, "take-123");
    CHECK_INT_EQ(naming_take_number("take-03"), 3);
    CHECK_INT_EQ(naming_take_number("take-123"), 123);
    CHECK_INT_EQ(naming_take_number("take-"), -1);
    CHECK_INT_EQ(naming_take_number("take-3a"), -1);
    CHECK_INT_EQ(naming_take_number("take--3"), -1);
    CHECK_INT_EQ(naming_take_number("Take-03"), -1);
    CHECK_INT_EQ(naming_take_number("take-99999999999999999999"), -1);
    naming_part_folder(a, sizeof a, 2);
    CHECK_STR_EQ(a, "part-02");
    naming_part_folder(a, sizeof a, 10);
    CHECK_STR_EQ(a, "part-10");
    CHECK_INT_EQ(naming_part_number("part-02"), 2);
    CHECK_INT_EQ(naming_part_number("part-123"), 123);
    CHECK_INT_EQ(naming_part_number("part-"), -1);
    CHECK_INT_EQ(naming_part_number("take-02"), -1);
    CHECK_INT_EQ(naming_part_number("part-2b"), -1);
    CHECK_INT_EQ(naming_same_file("Drums", "drums"), 1);
    CHECK_INT_EQ(naming_same_file("Lead/Vox", "lead-vox"), 1);
    CHECK_INT_EQ(naming_same_file("mix", NULL), 1);
    CHECK_INT_EQ(naming_same_file("Bass", "Drums"), 0);
    CHECK_STR_EQ(naming_stem_part("A - B - Drums", "A - B"), "Drums");
    CHECK(naming_stem_part("A - B - Drums", "A - C") == NULL);
    CHECK(naming_stem_part("Song - ", "Song") == NULL);
    CHECK(naming_stem_part("Song -  ", "Song") == NULL);
    CHECK(naming_stem_part("Song - Drums", NULL) == NULL);
    CHECK(naming_stem_part("Songs - Drums", "Song") == NULL);
}

int
main(void)
{
    test_utf8_check();
    test_plain();
    test_separators();
    test_dots();
    test_whitespace_and_controls();
    test_utf8();
    test_length();
    test_reserved();
    test_fallback_and_outsz();
    test_is_safe();
    test_random();
    test_layout();
    return unit_summary("test_names");
}
