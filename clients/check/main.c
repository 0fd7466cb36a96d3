/* stemcap-check — offline checker of a stem-mastering delivery folder.
 * Usage: stemcap-check [--mix FILE] [--threshold DB] [--lead-in SECONDS]
 * [--noise-floor DB] [--profile NAME|FILE.ini] [--json] DIR, or --verify DIR
 * (verify.c).  main.c parses the options and runs the steps in order:
 * scan the folder (scan.c), the header checks and the null test's plan
 * (checks.c), the streaming pass and, when the null fails, the lag (dsp.c),
 * the checks on the audio, then the report (report.c).  Exit status: 0 every
 * hard rule passes (warnings allowed), 1 a hard rule fails, 2 usage error, an
 * unreadable folder or file, or more than MAX_FILES audio files; errors are
 * logged once, on stderr, with the file and the reason. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"

#define DEFAULT_THRESHOLD (-60.0)
#define DEFAULT_LEAD_IN   2.0
#define MAX_LEAD_IN       3600.0
#define PARSED            (-1) /* parse_args(): go on and run */

static const char *profile_name; /* --profile */
static int verify;               /* --verify */

void
check_err(const char *fmt, ...)
{
    va_list ap;

    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void
usage(FILE *f)
{
    fprintf(
        f,
        "Usage: " PROG " [OPTION]... DIR\n"
        "Check a folder of stems (\"<Song> - <Stem>.wav\" and \"<Song> - Mix.wav\") against the\n"
        "stem-mastering checklist: format, bit depth, sample rate, length, TimeReference,\n"
        "stem count, names, peaks, lead-in silence, and whether the stems sum to the mix.\n"
        "\n"
        "Options:\n"
        "  -m, --mix=FILE          the mix to null against (default: \"<Song> - Mix.*\" in DIR)\n"
        "  -t, --threshold=DB      the null passes below DB dBFS residual peak (default %.0f)\n"
        "  -l, --lead-in=SECONDS   lead-in that should be silent (default %.1f; 0: no check)\n"
        "  -n, --noise-floor=DB    warn when a stem's noise floor is above DB dBFS\n"
        "  -p, --profile=NAME      delivery rules: default, apple-digital-masters, atmos,\n"
        "                          ni-stems, or an INI file (FILE.ini or a path with '/')\n"
        "      --verify            DIR is a stemcap take: check its files' audio MD5 and\n"
        "                          UMID against its manifest.json\n"
        "  -j, --json              print the report as JSON\n"
        "  -h, --help              show this help and exit\n"
        "  -V, --version           show the version and exit\n"
        "\n"
        "Exit status: 0 all hard rules pass (warnings allowed), 1 a hard rule fails,\n"
        "2 usage error, unreadable folder or file, or more than %d audio files.\n",
        DEFAULT_THRESHOLD, DEFAULT_LEAD_IN, MAX_FILES);
}

static int
parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

/* One option OPT of getopt_long().  Returns PARSED, or the exit status. */
static int
parse_option(struct state *st, int opt, char **argv)
{
    switch (opt) {
    case 'm':
        st->mix_path = optarg;
        return PARSED;
    case 't':
        if (parse_double(optarg, -200.0, 0.0, &st->threshold_db) < 0) {
            return cli_usage_error("bad threshold '%s': expected dBFS from -200 to 0", optarg);
        }
        return PARSED;
    case 'l':
        if (parse_double(optarg, 0.0, MAX_LEAD_IN, &st->lead_in) < 0) {
            return cli_usage_error("bad lead-in '%s': expected seconds from 0 to %.0f", optarg,
                                   MAX_LEAD_IN);
        }
        st->lead_in_set = 1;
        return PARSED;
    case 'n':
        if (parse_double(optarg, -200.0, 0.0, &st->noise_floor_db) < 0) {
            return cli_usage_error("bad noise floor '%s': expected dBFS from -200 to 0", optarg);
        }
        st->noise_set = 1;
        return PARSED;
    case 'p':
        profile_name = optarg;
        return PARSED;
    case 'v':
        verify = 1;
        return PARSED;
    case 'j':
        st->json = 1;
        return PARSED;
    case 'h':
        usage(stdout);
        return 0;
    case 'V':
        printf(PROG " %s\n", STEMCAP_VERSION);
        return 0;
    case ':':
    default:
        return cli_bad_option(opt, optopt, argv[optind - 1]);
    }
}

/* The options and the folder into ST.  Returns PARSED, or the exit status. */
static int
parse_args(struct state *st, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"mix", required_argument, NULL, 'm'},     {"threshold", required_argument, NULL, 't'},
        {"lead-in", required_argument, NULL, 'l'}, {"noise-floor", required_argument, NULL, 'n'},
        {"profile", required_argument, NULL, 'p'}, {"verify", no_argument, NULL, 'v'},
        {"json", no_argument, NULL, 'j'},          {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0},
    };
    int opt, rc;

    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":m:t:l:n:p:jhV", longopts, NULL)) != -1) {
        if ((rc = parse_option(st, opt, argv)) != PARSED) {
            return rc;
        }
    }
    if (optind >= argc) {
        return cli_usage_error("no folder given");
    }
    if (argc - optind > 1) {
        return cli_usage_error("one folder only (got '%s' and '%s')", argv[optind],
                               argv[optind + 1]);
    }
    if (st->mix_path && !*st->mix_path) {
        return cli_usage_error("empty --mix file name");
    }
    if (verify && (st->mix_path || profile_name || st->json)) {
        return cli_usage_error("--verify takes no --mix, --profile or --json");
    }
    st->dir = argv[optind];
    if (profile_name && !(st->profile = prof_load(profile_name, &rc))) {
        return rc;
    }
    prof_apply(st->profile, st);
    st->null.thr = pow(10.0, st->threshold_db / 20.0);
    return PARSED;
}

/* The checks in report order, reading the audio between the header checks and the others. */
static int
run_checks(struct state *st)
{
    if (chk_header(st) < 0) {
        return -1;
    }
    if (st->nfiles == 0) {
        return 0;
    }
    if (chk_plan_null(st) < 0 || dsp_measure(st) < 0 || dsp_find_lag(st) < 0) {
        return -1;
    }
    return chk_audio(st) < 0 || chk_profile(st) < 0 ? -1 : 0;
}

/* Scan, check, report.  Returns the exit status. */
static int
run(struct state *st)
{
    if (scan_folder(st) < 0 || run_checks(st) < 0) {
        return EXIT_USAGE;
    }
    if (st->json) {
        if (report_json(st) < 0) {
            return EXIT_USAGE;
        }
    } else {
        report_text(st);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        check_err("cannot write the report: %s", strerror(errno));
        return EXIT_USAGE;
    }
    return report_count(st, RES_FAIL) ? EXIT_FAILED : 0;
}

static void
free_state(struct state *st)
{
    for (size_t i = 0; i < st->nfiles; i++) {
        scan_free_file(&st->files[i]);
    }
    free(st->files);
    for (size_t i = 0; i < st->nrejected; i++) {
        free(st->rejected[i].name);
        free(st->rejected[i].path);
        free(st->rejected[i].why);
    }
    free(st->rejected);
    for (size_t i = 0; i < st->nignored; i++) {
        free(st->ignored[i]);
    }
    free(st->ignored);
    for (size_t i = 0; i < st->nchecks; i++) {
        free(st->checks[i].detail);
    }
    free(st->null.why);
    free(st->song);
    prof_free(st->profile);
}

int
main(int argc, char **argv)
{
    struct state st = {.threshold_db = DEFAULT_THRESHOLD, .lead_in = DEFAULT_LEAD_IN};
    int rc;

    cli_set_prog(PROG);
    rc = parse_args(&st, argc, argv);
    if (rc != PARSED) {
        return rc;
    }
    rc = verify ? verify_take(st.dir) : run(&st);
    free_state(&st);
    return rc;
}
