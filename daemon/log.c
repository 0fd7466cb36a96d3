/* log — one-line diagnostics on stderr.
 *
 * Each line is written with a single write(2) so lines from different threads
 * never interleave.  When stderr is the systemd journal (JOURNAL_STREAM set)
 * the line carries an sd-daemon priority prefix ("<3>") instead of a
 * timestamp, which the journal adds itself. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_threshold = LOG_LEVEL_INFO;

static _Thread_local char log_last[512];

const char *
log_last_error(void)
{
    return log_last;
}

static const char *const log_names[] = {"error", "warning", "info", "debug"};
static const char log_sd_prio[] = {'3', '4', '6', '7'};

void
log_set_level(enum log_level level)
{
    log_threshold = level;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
    char line[1024];
    size_t n = 0;
    va_list ap;

    if (level > log_threshold && level != LOG_LEVEL_ERROR)
        return;
    if (getenv("JOURNAL_STREAM")) {
        n = (size_t)snprintf(line, sizeof line, "<%c>", log_sd_prio[level]);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        n = strftime(line, sizeof line, "%H:%M:%S", &tm);
        n += (size_t)snprintf(line + n, sizeof line - n,
                              ".%03ld stemcapd: %s: ", ts.tv_nsec / 1000000L, log_names[level]);
    }
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    if (level == LOG_LEVEL_ERROR) {
        size_t start = n;
        snprintf(log_last, sizeof log_last, "%s", line + start);
    }
    n += (size_t)m;
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* nothing sensible left to do */
    }
}
