/* hooks — [hooks]: commands run on take events (a take started, ended, failed its null test, an
 * error), with the take's figures in their environment.  Spawned, watched, timed out and reaped
 * by the control thread, never waited for. */
#ifndef STEMCAP_HOOKS_H
#define STEMCAP_HOOKS_H

#include <stdint.h>
#include <sys/types.h>

#include "conf.h"

#define HOOKS_MAX_RUNNING 16 /* hooks running at once; more are skipped (logged) */
#define HOOKS_MAX_ARGS    64
#define HOOKS_KILL_S      2.0 /* from SIGTERM to SIGKILL */
#define HOOKS_LINE_MAX    400 /* a line of a hook's output, as logged */

enum hooks_event { HOOKS_TAKE_START, HOOKS_TAKE_END, HOOKS_NULL_FAIL, HOOKS_ERROR, HOOKS_NEVENTS };

/* A command split into words (hooks_split). */
struct hooks_argv {
    char buf[CONF_HOOK_MAX];
    char *argv[HOOKS_MAX_ARGS + 1];
    int argc;
};

/* What an event is about; NULL strings and take 0 leave their variables out. */
struct hooks_info {
    int take;             /* NN of the take, 0: no take concerned */
    const char *take_dir; /* absolute */
    const char *song;
    uint32_t rate;
    uint64_t frames, dropped;
    const char *null;     /* "PASS" or "FAIL"; NULL: not judged yet */
    float null_worst_db;  /* the take's worst residual so far */
    int64_t null_frame;   /* null_fail: take-relative frame of the first offence, else -1 */
    const char *state;    /* take_end: the manifest's "complete" or "failed" */
    const char *manifest; /* take_end: path of manifest.json */
    const char *ended_by; /* take_end: the manifest's ended_by */
    const char *error;    /* error: what went wrong */
};

#define HOOKS_ENV_MAX 8192 /* the STEMCAP_* variables of one hook, "NAME=value\0"... */

/* A hook queued (pid -1: hooks_run) or running (pid > 0); pid 0: free. */
struct hooks_child {
    pid_t pid;
    enum hooks_event event;
    int take;
    int shell;
    double timeout_s;
    struct hooks_argv cmd; /* shell: "sh", "-c", the command */
    char env[HOOKS_ENV_MAX];
    size_t nenv; /* bytes of env used */
    int nvars;
    double started; /* the timeout (of when it was queued) runs from here */
    double term_at; /* when SIGTERM was sent */
    int signalled;  /* 0, 1: SIGTERM sent, 2: SIGKILL too */
    int out;        /* read end of its stdout/stderr pipe, -1 when closed */
    char line[HOOKS_LINE_MAX];
    size_t nline;
};

struct hooks {
    struct conf_hooks conf;
    struct hooks_child child[HOOKS_MAX_RUNNING];
};

/* The event's name: "take_start", "take_end", "null_fail", "error". */
const char *hooks_event_name(enum hooks_event ev);

/* Splits CMD into words as sh(1) would, without any expansion: blanks separate words, '...'
 * keeps everything literal, "..." too except \" \\ \$ \`, and a backslash outside quotes keeps
 * the next character.  With OUT NULL it only checks.  Returns 0, or -1 with the reason in WHY
 * (256 bytes): an unterminated quote, a trailing backslash, no program, too many words. */
int hooks_split(const char *cmd, struct hooks_argv *out, char *why);

void hooks_init(struct hooks *h, const struct conf_hooks *c);
/* SIGHUP: new commands and settings; hooks running go on under their old timeout. */
void hooks_configure(struct hooks *h, const struct conf_hooks *c);
/* Queues the command configured for EV, if any, with INFO in its environment; the next
 * hooks_poll starts it (so that nothing of it, not even its log lines, comes between the
 * caller's steps).  Never waits. */
void hooks_run(struct hooks *h, enum hooks_event ev, const struct hooks_info *info);
/* Control loop: starts the queued hooks, logs their output, reaps those that ended, and
 * terminates those past their timeout (SIGTERM to the process group, SIGKILL HOOKS_KILL_S
 * later).  Every start, end and kill is logged once. */
void hooks_poll(struct hooks *h);
/* Shutdown: waits for the hooks still running, each up to its timeout (then killed), and
 * reaps them all. */
void hooks_shutdown(struct hooks *h);

#endif
