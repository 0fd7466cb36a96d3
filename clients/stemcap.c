/* stemcap.c - the command-line remote control of stemcapd.
 *
 * One command per run: parse and check everything first (a usage error never touches the
 * network), then send one request at a time over an oscclient socket and wait for its reply,
 * skipping datagrams addressed elsewhere. Replies are read tolerantly: arguments are fetched by
 * position and kind, so an older daemon with fewer status fields still prints what it has, and
 * fields added by a newer one are shown generically instead of failing.
 *
 * "arm all" / "disarm all" does not ask which stems exist: it simply sends to stems 1..8
 * (PROTO_MAX_STEMS) in turn
 * and skips those the daemon reports as not registered, which stays correct whatever the
 * registration state is between two requests.
 *
 * Exit status: 0 success, 1 the daemon answered with an error (or with something unreadable),
 * 2 usage error, no answer, or a local failure.
 */
#include "naming.h"
#include "oscclient.h"
#include "cli.h"
#include "protocol.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <time.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 2000
#define MAX_TIMEOUT_MS     3600000

#define EXIT_ERROR_REPLY 1
#define EXIT_USAGE       2
#define EXIT_NO_REPLY    2

enum cmd {
    CMD_PING,
    CMD_START,
    CMD_STOP,
    CMD_STATUS,
    CMD_ARM,
    CMD_DISARM,
    CMD_SONG,
    CMD_LEVELS,
    CMD_NULL,
    CMD_WATCH,
    CMD_STATS
};

static const struct {
    const char *name;
    enum cmd cmd;
    const char *arg; /* NULL: takes no argument */
} commands[] = {
    {"ping", CMD_PING, NULL},     {"start", CMD_START, NULL},   {"stop", CMD_STOP, NULL},
    {"status", CMD_STATUS, NULL}, {"arm", CMD_ARM, "N|all"},    {"disarm", CMD_DISARM, "N|all"},
    {"song", CMD_SONG, "TITLE"},  {"levels", CMD_LEVELS, NULL}, {"null", CMD_NULL, NULL},
    {"watch", CMD_WATCH, NULL},   {"stats", CMD_STATS, NULL},
};

struct request {
    enum cmd cmd;
    const char *name;
    long stem; /* arm/disarm: 1..PROTO_MAX_STEMS, 0 for all */
    const char *title;
};

/* Everything a command needs to talk and to word its messages. */
struct session {
    struct oscc *osc;
    int timeout_ms;
};

static void
usage(FILE *f)
{
    fprintf(f,
            "Usage: stemcap [OPTION]... COMMAND [ARG]\n"
            "Remote control for stemcapd, the multitrack stem recorder.\n"
            "\n"
            "Commands:\n"
            "  ping           check that stemcapd answers and show its version\n"
            "  status         show the state, take, song, length, folder and take report\n"
            "  start          start a new take\n"
            "  stop           stop and finalise the take\n"
            "  arm N|all      arm stem N (1-%d), or every registered stem\n"
            "  disarm N|all   disarm stem N (1-%d), or every registered stem\n"
            "  song TITLE     set the song title for the next take\n"
            "  levels         peak, RMS, peak hold and clips of every stem and the mix\n"
            "  null           the live null test: residual of sum(stems) - mix\n"
            "  watch          subscribe and print every message pushed until Ctrl-C\n"
            "  stats          real-time budget and disk figures since the take started\n"
            "\n"
            "Options:\n"
            "  -H, --host=HOST     stemcapd host name or address (default %s,\n"
            "                      or $STEMCAP_HOST)\n"
            "  -p, --port=PORT     stemcapd UDP port (default %s, or $STEMCAP_PORT)\n"
            "  -t, --timeout=MS    wait at most MS milliseconds for each reply (default %d)\n"
            "  -h, --help          show this help and exit\n"
            "  -V, --version       show the version and exit\n"
            "\n"
            "Exit status: 0 success, 1 error reply from stemcapd, 2 usage error or no reply.\n",
            PROTO_MAX_STEMS, PROTO_MAX_STEMS, PROTO_DEFAULT_HOST, PROTO_DEFAULT_PORT_STR,
            DEFAULT_TIMEOUT_MS);
}

/* Print daemon-supplied text with control characters defused. */
static void
put_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, f);
    }
}

static void
put_take(FILE *f, int64_t take, const char *song)
{
    if (take <= 0) {
        fputs("no take yet", f);
        return;
    }
    fprintf(f, "take %lld", (long long)take);
    if (song && *song) {
        fputs(" of \"", f);
        put_text(f, song);
        fputc('"', f);
    }
}

static int
report_error(const struct oscc_msg *m)
{
    const char *addr = oscc_msg_string(m, 0);
    const char *reason = oscc_msg_string(m, 1);

    fputs("stemcap: error from stemcapd: ", stderr);
    if (addr && reason) {
        put_text(stderr, addr);
        fputs(": ", stderr);
        put_text(stderr, reason);
    } else {
        fprintf(stderr, "(unreadable error reply ,%s)", oscc_msg_types(m));
    }
    fputc('\n', stderr);
    return EXIT_ERROR_REPLY;
}

static int
report_unexpected(const struct session *s, const struct oscc_msg *m)
{
    fprintf(stderr, "stemcap: unexpected reply from %s: ", oscc_peer(s->osc));
    put_text(stderr, oscc_msg_path(m));
    fprintf(stderr, " ,%s\n", oscc_msg_types(m));
    return EXIT_ERROR_REPLY;
}

static int
is_error(const struct oscc_msg *m)
{
    return strcmp(oscc_msg_path(m), PROTO_ERROR) == 0;
}

/* Send PATH (with M's arguments, M may be NULL) and wait for EXPECT. Returns 0 with *OUT set to
 * the reply, which may be an error reply; otherwise the exit status, with the failure reported. */
static int
call(struct session *s, const char *path, lo_message m, const char *expect, struct oscc_msg **out)
{
    int rc;

    if (oscc_send(s->osc, path, m) < 0) {
        return EXIT_NO_REPLY;
    }
    rc = oscc_wait(s->osc, expect, s->timeout_ms, out);
    if (rc > 0) {
        return 0;
    }
    if (rc == 0 && errno == ECONNREFUSED) {
        fprintf(stderr, "stemcap: no reply from %s: connection refused (is stemcapd running?)\n",
                oscc_peer(s->osc));
    } else if (rc == 0) {
        fprintf(stderr, "stemcap: no reply from %s within %d ms (is stemcapd running?)\n",
                oscc_peer(s->osc), s->timeout_ms);
    }
    return EXIT_NO_REPLY;
}

static int
cmd_ping(struct session *s)
{
    struct oscc_msg *m;
    const char *version;
    int rc = call(s, PROTO_PING, NULL, PROTO_PONG, &m);

    if (rc) {
        return rc;
    }
    if (is_error(m)) {
        rc = report_error(m);
    } else {
        version = oscc_msg_string(m, 0);
        fputs("stemcapd ", stdout);
        put_text(stdout, version ? version : "(unknown version)");
        printf(" at %s\n", oscc_peer(s->osc));
    }
    oscc_msg_free(m);
    return rc;
}

/* /stemcap/status s:state i:take h:frames i:xruns h:dropped s:song [s:take_dir i:samplerate
 * i:mix_offset s:alignment s:fault ...]
 * Everything after the state is optional; unknown trailing arguments are printed as they are. */
enum {
    ST_STATE,
    ST_TAKE,
    ST_FRAMES,
    ST_XRUNS,
    ST_DROPPED,
    ST_SONG,
    ST_DIR,
    ST_RATE,
    ST_OFFSET,
    ST_ALIGN,
    ST_FAULT,
    ST_KNOWN
};

/* "mix aligned by 528 samples (measured in the take)" */
static void
print_alignment(const char *lead, int64_t offset, const char *source)
{
    fputs(lead, stdout);
    if (offset > 0)
        printf("the mix lags the stems by %lld samples, aligned", (long long)offset);
    else if (offset < 0)
        printf("the mix leads the stems by %lld samples, aligned", (long long)-offset);
    else
        fputs("the mix is in step with the stems", stdout);
    fputs(" (", stdout);
    put_text(stdout, source);
    fputs(")\n", stdout);
}

/* The first line for start and stop: what the command achieved. */
static void
print_headline(enum cmd cmd, const char *state, int64_t take, const char *song)
{
    int recording = strcmp(state, "recording") == 0;

    if (cmd == CMD_START && recording) {
        fputs("recording ", stdout);
        put_take(stdout, take, song);
        fputc('\n', stdout);
    } else if (cmd == CMD_STOP && !recording) {
        fputs(take > 0 ? "stopped " : "stopped (", stdout);
        put_take(stdout, take, song);
        fputs(take > 0 ? "\n" : ")\n", stdout);
    } else if (cmd != CMD_STATUS) {
        fputs("stemcapd is ", stdout);
        put_text(stdout, state);
        fputc('\n', stdout);
    }
}

/* "recording  take 3  song "X"  1.50 s (72000 frames @ 48000 Hz)  xruns 0  dropped 0" */
static void
print_state_line(const struct oscc_msg *m, const char *state, int64_t take, const char *song)
{
    int64_t frames, xruns, dropped, rate = 0;

    oscc_msg_int(m, ST_RATE, &rate);
    put_text(stdout, state);
    if (take > 0) {
        printf("  take %lld", (long long)take);
    } else {
        fputs("  no take yet", stdout);
    }
    if (song && *song) {
        fputs("  song \"", stdout);
        put_text(stdout, song);
        fputc('"', stdout);
    } else if (song) {
        fputs("  no song", stdout);
    }
    if (take > 0) {
        if (oscc_msg_int(m, ST_FRAMES, &frames) == 0) {
            if (rate > 0) {
                printf("  %.2f s (%lld frames @ %lld Hz)", (double)frames / (double)rate,
                       (long long)frames, (long long)rate);
            } else {
                printf("  %lld frames", (long long)frames);
            }
        }
        if (oscc_msg_int(m, ST_XRUNS, &xruns) == 0) {
            printf("  xruns %lld", (long long)xruns);
        }
        if (oscc_msg_int(m, ST_DROPPED, &dropped) == 0) {
            printf("  dropped %lld", (long long)dropped);
        }
    }
    fputc('\n', stdout);
}

/* The folder, the alignment, a failure and unknown trailing arguments, each on a line. */
static void
print_status_details(const struct oscc_msg *m, int64_t take)
{
    const char *dir = oscc_msg_string(m, ST_DIR);
    const char *align = oscc_msg_string(m, ST_ALIGN);
    const char *fault = oscc_msg_string(m, ST_FAULT);
    int argc = oscc_msg_argc(m);
    int64_t offset;

    if (dir && *dir) {
        fputs("  folder ", stdout);
        put_text(stdout, dir);
        fputc('\n', stdout);
    }
    if (oscc_msg_int(m, ST_OFFSET, &offset) == 0 && align && strcmp(align, "off") != 0)
        print_alignment("  ", offset, align);
    if (take > 0 && fault && *fault) {
        fputs("  FAILED: ", stdout);
        put_text(stdout, fault);
        fputc('\n', stdout);
    }
    if (argc > ST_KNOWN) {
        fputs("  more:", stdout);
        fflush(stdout); /* lo_arg_pp() writes to stdout itself */
        for (int i = ST_KNOWN; i < argc; i++) {
            fputc(' ', stdout);
            lo_arg_pp((lo_type)oscc_msg_types(m)[i], oscc_msg_argv(m)[i]);
        }
        fputc('\n', stdout);
    }
}

static int
print_status(const struct session *s, const struct oscc_msg *m, enum cmd cmd)
{
    const char *state = oscc_msg_string(m, ST_STATE);
    const char *song = oscc_msg_string(m, ST_SONG);
    int64_t take = 0;

    if (!state || !*state) {
        return report_unexpected(s, m);
    }
    oscc_msg_int(m, ST_TAKE, &take);
    print_headline(cmd, state, take, song);
    print_state_line(m, state, take, song);
    print_status_details(m, take);
    return 0;
}

/* Argument I, or the CLI's default for a missing one: silence for a float (type f only). */
static float
arg_float(const struct oscc_msg *m, int i)
{
    float f = -150.0f;
    oscc_msg_float(m, i, &f);
    return f;
}

static int64_t
arg_int(const struct oscc_msg *m, int i, int64_t dflt)
{
    oscc_msg_int(m, i, &dflt);
    return dflt;
}

/* The null figures of /stemcap/null (or of the report, from `first`). */
static void
print_null_line(const char *label, float worst, int64_t frame, int64_t flagged, int64_t first,
                int64_t lag, int64_t lag_valid, float thr)
{
    printf("%s worst residual %.1f dBFS", label, worst);
    if (frame >= 0)
        printf(" at frame %lld", (long long)frame);
    if (flagged)
        printf("  NULL FAILED (above %.1f dBFS from frame %lld)", thr, (long long)first);
    else
        printf("  null OK (threshold %.1f dBFS)", thr);
    if (lag_valid && lag != 0)
        printf("  mix %s stems by %lld samples", lag > 0 ? "lags" : "leads",
               (long long)(lag > 0 ? lag : -lag));
    fputc('\n', stdout);
}

/* "I -23.0 LUFS  LRA 0.0 LU  TP -23.0 dBTP  M -22.9  S -23.0" from the five
 * loudness floats at argument I; "-" for a figure not measured (-150). */
static const char *
loudness_text(const struct oscc_msg *m, int i)
{
    static char out[128];
    char v[5][16];

    for (int k = 0; k < 5; k++) {
        float f = arg_float(m, i + k);
        if (k != 1 && f <= -150.0f)
            snprintf(v[k], sizeof v[k], "-");
        else
            snprintf(v[k], sizeof v[k], "%.1f", f);
    }
    snprintf(out, sizeof out, "I %s LUFS  LRA %s LU  TP %s dBTP  max M %s  max S %s", v[0], v[1],
             v[2], v[3], v[4]);
    return out;
}

/* /stemcap/report: /stemcap/report/file per file, then /stemcap/report. */
static int
print_report(struct session *s)
{
    struct oscc_msg *m;
    int rc;

    if (oscc_send(s->osc, PROTO_REPORT, NULL) < 0)
        return EXIT_NO_REPLY;
    for (;;) {
        rc = oscc_wait(s->osc, NULL, s->timeout_ms, &m);
        if (rc <= 0)
            return rc == 0 ? 0 : EXIT_NO_REPLY; /* an older daemon: no report */
        const char *path = oscc_msg_path(m);
        if (is_error(m)) {
            oscc_msg_free(m);
            return 0;
        }
        if (strcmp(path, PROTO_REPORT_FILE) == 0) {
            const char *name = oscc_msg_string(m, 1);
            printf("  %-24s peak %6.1f dBFS  clips %lld", name ? name : "?", arg_float(m, 3),
                   (long long)arg_int(m, 4, 0));
            if (oscc_msg_argc(m) >= 10) /* the loudness, from stemcapd 0.1 with issue 15 on */
                printf("  %s", loudness_text(m, 5));
            fputc('\n', stdout);
        } else if (strcmp(path, PROTO_REPORT_RULE) == 0) {
            const char *rule = oscc_msg_string(m, 0), *file = oscc_msg_string(m, 1);
            const char *verdict = oscc_msg_string(m, 4);
            float measured = arg_float(m, 2);
            printf("  mastering %-4s %-12s %-24s ", verdict ? verdict : "?", rule ? rule : "?",
                   file && *file ? file : "(the take)");
            if (measured <= -150.0f)
                printf("not measured");
            else
                printf("%.1f", measured);
            printf(" (limit %.1f)\n", arg_float(m, 3));
        } else if (strcmp(path, PROTO_REPORT) == 0) {
            if (arg_int(m, 0, 0) > 0)
                print_null_line("  null:", arg_float(m, 2), arg_int(m, 3, -1), arg_int(m, 4, 0),
                                arg_int(m, 5, -1), arg_int(m, 6, 0), arg_int(m, 7, 0),
                                arg_float(m, 8));
            /* Its mix_offset and alignment (10, 11) are the status's, printed above. */
            oscc_msg_free(m);
            return 0;
        }
        oscc_msg_free(m);
    }
}

static int
cmd_null(struct session *s)
{
    struct oscc_msg *m;
    int rc = call(s, PROTO_NULL, NULL, PROTO_NULL, &m);

    if (rc)
        return rc;
    if (is_error(m)) {
        rc = report_error(m);
    } else {
        printf("residual %.1f dBFS peak, %.1f dBFS RMS (sum of stems - mix, now)\n",
               arg_float(m, 0), arg_float(m, 1));
        if (arg_int(m, 3, -1) >= 0 || arg_int(m, 4, 0))
            print_null_line("take:", arg_float(m, 2), arg_int(m, 3, -1), arg_int(m, 4, 0),
                            arg_int(m, 8, -1), arg_int(m, 5, 0), arg_int(m, 6, 0), arg_float(m, 7));
        else if (arg_int(m, 6, 0) && arg_int(m, 5, 0) != 0)
            printf("mix %s stems by %lld samples\n", arg_int(m, 5, 0) > 0 ? "lags" : "leads",
                   (long long)llabs(arg_int(m, 5, 0)));
        if (arg_int(m, 9, 0) != 0)
            printf("the null test compares the stems' sum %s by %lld samples\n",
                   arg_int(m, 9, 0) > 0 ? "delayed" : "ahead", (long long)llabs(arg_int(m, 9, 0)));
    }
    oscc_msg_free(m);
    return rc;
}

static void
print_level(const char *label, const struct oscc_msg *m)
{
    printf("%-22s", label);
    for (int side = 0; side < 2; side++)
        printf("  %c %6.1f pk %6.1f rms (hold %6.1f%s)", side ? 'R' : 'L', arg_float(m, side),
               arg_float(m, 2 + side), arg_float(m, 4 + side),
               arg_int(m, 6 + side, 0) ? ", CLIP" : "");
    fputc('\n', stdout);
}

static int
cmd_levels(struct session *s)
{
    struct oscc_msg *m, *l;
    struct {
        int n;
        char name[128];
    } stems[PROTO_MAX_STEMS];
    int count = 0, rc;

    if (oscc_send(s->osc, PROTO_STEMS, NULL) < 0)
        return EXIT_NO_REPLY;
    for (;;) {
        rc = oscc_wait(s->osc, NULL, s->timeout_ms, &m);
        if (rc <= 0) {
            fprintf(stderr, "stemcap: no reply from %s within %d ms (is stemcapd running?)\n",
                    oscc_peer(s->osc), s->timeout_ms);
            return EXIT_NO_REPLY;
        }
        if (is_error(m)) {
            rc = report_error(m);
            oscc_msg_free(m);
            return rc;
        }
        if (strcmp(oscc_msg_path(m), PROTO_STEMS) == 0) {
            oscc_msg_free(m);
            break;
        }
        if (strcmp(oscc_msg_path(m), PROTO_STEM) == 0 && count < PROTO_MAX_STEMS) {
            const char *name = oscc_msg_string(m, 1);
            stems[count].n = (int)arg_int(m, 0, 0);
            snprintf(stems[count].name, sizeof stems[count].name, "%s", name ? name : "?");
            count++;
        }
        oscc_msg_free(m);
    }
    printf("dBFS over the meter window; hold and clips since the take started\n");
    for (int i = 0; i <= count; i++) {
        char path[64], label[80];
        if (i < count) {
            proto_stem_path(path, sizeof path, stems[i].n, PROTO_LEAF_LEVEL);
            snprintf(label, sizeof label, "%d %s", stems[i].n, stems[i].name);
        } else {
            snprintf(path, sizeof path, "%s", PROTO_MIX_LEVEL);
            snprintf(label, sizeof label, "%s", NAMING_MIX);
        }
        rc = call(s, path, NULL, path, &l);
        if (rc)
            return rc;
        if (is_error(l)) {
            rc = report_error(l);
            oscc_msg_free(l);
            return rc;
        }
        print_level(label, l);
        oscc_msg_free(l);
    }
    return 0;
}

static volatile sig_atomic_t watch_stop;

static void
watch_signal(int sig)
{
    (void)sig;
    watch_stop = 1;
}

/* Subscribes, prints every pushed message as "address value ...", renews
 * the subscription before it expires, unsubscribes on Ctrl-C. */
static int
cmd_watch(struct session *s)
{
    struct sigaction sa = {.sa_handler = watch_signal};
    struct oscc_msg *m;
    lo_message args;
    int64_t ttl = 30;
    int rc;

    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    args = lo_message_new();
    lo_message_add_float(args, 10.0f);
    rc = call(s, PROTO_SUBSCRIBE, args, PROTO_SUBSCRIBE, &m);
    lo_message_free(args);
    if (rc)
        return rc;
    if (is_error(m)) {
        rc = report_error(m);
        oscc_msg_free(m);
        return rc;
    }
    ttl = arg_int(m, 1, 30);
    oscc_msg_free(m);
    struct timespec last, now;
    clock_gettime(CLOCK_MONOTONIC, &last);
    while (!watch_stop) {
        rc = oscc_wait(s->osc, NULL, 500, &m);
        if (rc < 0)
            return EXIT_NO_REPLY;
        if (rc > 0 && strcmp(oscc_msg_path(m), PROTO_SUBSCRIBE) == 0) {
            oscc_msg_free(m); /* our own renewal's reply */
        } else if (rc > 0) {
            const char *types = oscc_msg_types(m);
            put_text(stdout, oscc_msg_path(m));
            fflush(stdout);
            for (int i = 0; types[i]; i++) {
                fputc(' ', stdout);
                if (types[i] == 'f')
                    printf("%.1f", arg_float(m, i));
                else if (types[i] == 's' || types[i] == 'S')
                    put_text(stdout, oscc_msg_string(m, i));
                else
                    printf("%lld", (long long)arg_int(m, i, 0));
            }
            fputc('\n', stdout);
            oscc_msg_free(m);
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (2 * (now.tv_sec - last.tv_sec) >= ttl) {
            last = now;
            args = lo_message_new();
            lo_message_add_float(args, 10.0f);
            oscc_send(s->osc, PROTO_SUBSCRIBE, args);
            lo_message_free(args);
        }
    }
    oscc_send(s->osc, PROTO_UNSUBSCRIBE, NULL);
    return 0;
}

static int
cmd_stats(struct session *s)
{
    struct oscc_msg *m;
    int rc = call(s, PROTO_STATS, NULL, PROTO_STATS, &m);

    if (rc)
        return rc;
    if (is_error(m)) {
        rc = report_error(m);
    } else {
        printf("process callback  mean %.2f us  p99 %.2f us  max %.2f us  (%lld cycles)\n",
               arg_float(m, 0), arg_float(m, 1), arg_float(m, 2), (long long)arg_int(m, 8, 0));
        printf("JACK DSP load     %.1f %%\n", arg_float(m, 3));
        printf("ring fill max     %.1f %%\n", arg_float(m, 4));
        printf("slowest write     %.2f ms\n", arg_float(m, 5));
        printf("xruns %lld  dropped frames %lld\n", (long long)arg_int(m, 6, 0),
               (long long)arg_int(m, 7, 0));
    }
    oscc_msg_free(m);
    return rc;
}

static int
cmd_status(struct session *s, enum cmd cmd)
{
    static const char *const paths[] = {
        [CMD_START] = PROTO_START,
        [CMD_STOP] = PROTO_STOP,
        [CMD_STATUS] = PROTO_STATUS,
    };
    struct oscc_msg *m;
    int rc = call(s, paths[cmd], NULL, PROTO_STATUS, &m);

    if (rc) {
        return rc;
    }
    rc = is_error(m) ? report_error(m) : print_status(s, m, cmd);
    oscc_msg_free(m);
    if (rc == 0 && cmd != CMD_START)
        rc = print_report(s);
    return rc;
}

/* One stem: 0 done, EXIT_* on failure; *SKIPPED set when the stem is not registered and QUIET. */
static int
arm_one(struct session *s, long stem, int on, int quiet, int *skipped)
{
    const char *word = on ? "armed" : "disarmed";
    char path[64];
    struct oscc_msg *m;
    lo_message args;
    int64_t state;
    int rc;

    proto_stem_path(path, sizeof path, (int)stem, PROTO_LEAF_ARM);
    args = lo_message_new();
    if (!args || lo_message_add_int32(args, on) < 0) {
        fputs("stemcap: out of memory\n", stderr);
        lo_message_free(args);
        return EXIT_NO_REPLY;
    }
    rc = call(s, path, args, path, &m);
    lo_message_free(args);
    if (rc) {
        return rc;
    }
    if (is_error(m)) {
        const char *reason = oscc_msg_string(m, 1);
        if (quiet && reason && strstr(reason, "not registered")) {
            *skipped = 1;
        } else {
            rc = report_error(m);
        }
    } else if (oscc_msg_int(m, 0, &state) < 0) {
        rc = report_unexpected(s, m);
    } else if ((state != 0) != on) {
        fprintf(stderr, "stemcap: stem %ld is still %s\n", stem, state ? "armed" : "disarmed");
        rc = EXIT_ERROR_REPLY;
    } else {
        printf("stem %ld %s\n", stem, word);
    }
    oscc_msg_free(m);
    return rc;
}

static int
cmd_arm(struct session *s, long stem, int on)
{
    int done = 0, failed = 0;

    if (stem > 0) {
        return arm_one(s, stem, on, 0, &(int){0});
    }
    for (long n = 1; n <= PROTO_MAX_STEMS; n++) {
        int skipped = 0;
        int rc = arm_one(s, n, on, 1, &skipped);
        if (rc == EXIT_NO_REPLY) {
            return rc; /* nobody there: the other stems would only wait as long again */
        }
        if (rc) {
            failed = 1;
        } else if (!skipped) {
            done++;
        }
    }
    if (!done && !failed) {
        fprintf(stderr, "stemcap: no stem %s: none of stems 1-%d is registered\n",
                on ? "armed" : "disarmed", PROTO_MAX_STEMS);
    }
    return done && !failed ? 0 : EXIT_ERROR_REPLY;
}

static int
cmd_song(struct session *s, const char *title)
{
    struct oscc_msg *m;
    lo_message args = lo_message_new();
    const char *now;
    int rc;

    if (!args || lo_message_add_string(args, title) < 0) {
        fputs("stemcap: out of memory\n", stderr);
        lo_message_free(args);
        return EXIT_NO_REPLY;
    }
    rc = call(s, PROTO_SONG, args, PROTO_SONG, &m);
    lo_message_free(args);
    if (rc) {
        return rc;
    }
    if (is_error(m)) {
        rc = report_error(m);
    } else if (!(now = oscc_msg_string(m, 0))) {
        rc = report_unexpected(s, m);
    } else if (*now) {
        fputs("song \"", stdout);
        put_text(stdout, now);
        fputs("\" set for the next take\n", stdout);
    } else {
        fputs("no song set for the next take\n", stdout);
    }
    oscc_msg_free(m);
    return rc;
}

/* Check the command and its arguments (ARGV[0] is the command name). */
static int
parse_request(int argc, char **argv, struct request *req)
{
    size_t i;

    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[0], commands[i].name) == 0) {
            break;
        }
    }
    if (i == sizeof commands / sizeof commands[0]) {
        return cli_usage_error("unknown command '%s'", argv[0]);
    }
    req->cmd = commands[i].cmd;
    req->name = commands[i].name;
    if (!commands[i].arg && argc > 1) {
        return cli_usage_error("'%s' takes no argument (got '%s')", req->name, argv[1]);
    }
    if (commands[i].arg && argc < 2) {
        return cli_usage_error("'%s' needs an argument: %s %s", req->name, req->name,
                               commands[i].arg);
    }
    if (commands[i].arg && argc > 2) {
        return cli_usage_error("'%s' takes one argument, got %d%s", req->name, argc - 1,
                               req->cmd == CMD_SONG ? " (quote a title with spaces)" : "");
    }
    if (req->cmd == CMD_ARM || req->cmd == CMD_DISARM) {
        if (strcmp(argv[1], "all") == 0) {
            req->stem = 0;
        } else if (cli_parse_int(argv[1], 1, PROTO_MAX_STEMS, &req->stem) < 0) {
            return cli_usage_error("bad stem '%s' for '%s': expected a number 1-%d or 'all'",
                                   argv[1], req->name, PROTO_MAX_STEMS);
        }
    }
    if (req->cmd == CMD_SONG) {
        req->title = argv[1];
    }
    return 0;
}

/* Where to and how long to wait: the options, with the environment's and the built-in defaults. */
struct options {
    const char *host;
    const char *port;
    int timeout_ms;
};

/* Parse the options into *O. Returns 0 to go on, -1 when done (help, version), or the exit status
 * of a usage error. */
static int
parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},    {"port", required_argument, NULL, 'p'},
        {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0},
    };
    const char *timeout_text = NULL;
    long value;
    int opt;

    int port_from_env = cli_peer_defaults(&o->host, &o->port);

    o->timeout_ms = DEFAULT_TIMEOUT_MS;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":H:p:t:hV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'H':
            o->host = optarg;
            break;
        case 'p':
            o->port = optarg;
            port_from_env = 0;
            break;
        case 't':
            timeout_text = optarg;
            break;
        case 'h':
            usage(stdout);
            return -1;
        case 'V':
            printf("stemcap %s\n", STEMCAP_VERSION);
            return -1;
        case ':':
        default:
            return cli_bad_option(opt, optopt, argv[optind - 1]);
        }
    }
    if ((opt = cli_peer_check(o->host, o->port, port_from_env)) != 0) {
        return opt;
    }
    if (timeout_text) {
        if (cli_parse_int(timeout_text, 1, MAX_TIMEOUT_MS, &value) < 0) {
            return cli_usage_error("bad timeout '%s': expected milliseconds 1-%d", timeout_text,
                                   MAX_TIMEOUT_MS);
        }
        o->timeout_ms = (int)value;
    }
    return 0;
}

static int
run_request(struct session *s, const struct request *req)
{
    switch (req->cmd) {
    case CMD_PING:
        return cmd_ping(s);
    case CMD_START:
    case CMD_STOP:
    case CMD_STATUS:
        return cmd_status(s, req->cmd);
    case CMD_ARM:
    case CMD_DISARM:
        return cmd_arm(s, req->stem, req->cmd == CMD_ARM);
    case CMD_SONG:
        return cmd_song(s, req->title);
    case CMD_LEVELS:
        return cmd_levels(s);
    case CMD_NULL:
        return cmd_null(s);
    case CMD_WATCH:
        return cmd_watch(s);
    case CMD_STATS:
        return cmd_stats(s);
    }
    return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
    struct options o;
    struct session s;
    struct request req = {0};
    int rc;

    cli_set_prog("stemcap");
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep stdout and stderr in order when both are logged */
    rc = parse_options(argc, argv, &o);
    if (rc) {
        return rc < 0 ? 0 : rc;
    }
    if (optind >= argc) {
        return cli_usage_error("no command given");
    }
    rc = parse_request(argc - optind, argv + optind, &req);
    if (rc) {
        return rc;
    }

    s.timeout_ms = o.timeout_ms;
    s.osc = oscc_open(o.host, o.port);
    if (!s.osc) {
        return EXIT_NO_REPLY;
    }
    rc = run_request(&s, &req);
    oscc_close(s.osc);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "stemcap: cannot write the output: %s\n", strerror(errno));
        return EXIT_NO_REPLY;
    }
    return rc;
}
