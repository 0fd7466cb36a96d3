/* log — one-line diagnostics on stderr (the journal under systemd).
 *
 * Error convention for the whole daemon: functions return 0 on success and
 * -1 on failure (or a documented code); the function that sees the failure
 * logs it once, with context (strerror(errno), sf_strerror(), ...), and the
 * callers only propagate the -1.  Never call these from the JACK process
 * callback. */
#ifndef STEMCAP_LOG_H
#define STEMCAP_LOG_H

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_set_level(enum log_level level);
/* The text of the last error logged by the calling thread ("" if none),
 * so a control reply can carry the same reason the log shows. */
const char *log_last_error(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
