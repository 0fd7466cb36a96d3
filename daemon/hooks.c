/* hooks — [hooks] commands run on take events, entirely on the control thread.  hooks_run only
 * queues a hook (its words and its STEMCAP_* variables copied into a free slot of a fixed table);
 * hooks_poll, once per turn of the control loop, starts the queued ones with posix_spawn (never
 * through a shell unless [hooks] shell says so; stdin /dev/null; every descriptor of the daemon
 * closed; signals unblocked and at their defaults; a process group of their own), reads their
 * output from a non-blocking pipe into the log line by line, reaps them with waitpid(WNOHANG),
 * and sends SIGTERM to the group of one past its timeout, SIGKILL HOOKS_KILL_S later.  Nothing
 * here ever waits for a hook, except hooks_shutdown, bounded by the timeouts.  At most
 * HOOKS_MAX_RUNNING hooks are queued or running; more are skipped and logged.
 * Design: docs/DESIGN.md, section "Hooks". */
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

extern char **environ;

static const char *const hooks_names[HOOKS_NEVENTS] = {"take_start", "take_end", "null_fail",
                                                       "error"};

/* The variables a hook gets; inherited ones of these names are dropped. */
static const char *const hooks_vars[] = {
    "STEMCAP_EVENT",
    "STEMCAP_TAKE",
    "STEMCAP_TAKE_DIR",
    "STEMCAP_SONG",
    "STEMCAP_SONG_DIR",
    "STEMCAP_RATE",
    "STEMCAP_FRAMES",
    "STEMCAP_DROPPED",
    "STEMCAP_NULL",
    "STEMCAP_NULL_WORST_DBFS",
    "STEMCAP_NULL_FRAME",
    "STEMCAP_STATE",
    "STEMCAP_MANIFEST",
    "STEMCAP_ENDED_BY",
    "STEMCAP_ERROR",
    "JOURNAL_STREAM", /* its stderr is a pipe to the daemon, not the journal */
};

const char *
hooks_event_name(enum hooks_event ev)
{
    return hooks_names[ev];
}

static double
hooks_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
hooks_split(const char *cmd, struct hooks_argv *out, char *why)
{
    static struct hooks_argv scratch;
    struct hooks_argv *a = out ? out : &scratch;
    const char *p = cmd;
    char *o = a->buf;
    int in_word = 0;

    a->argc = 0;
    if (strlen(cmd) >= sizeof a->buf) {
        snprintf(why, 256, "too long (%zu bytes, at most %zu)", strlen(cmd), sizeof a->buf - 1);
        return -1;
    }
    for (;; p++) {
        char ch = *p;
        if (ch == '\0' || ch == ' ' || ch == '\t') {
            if (in_word) {
                *o++ = '\0';
                in_word = 0;
            }
            if (ch == '\0')
                break;
            continue;
        }
        if (!in_word) {
            if (a->argc == HOOKS_MAX_ARGS) {
                snprintf(why, 256, "more than %d words", HOOKS_MAX_ARGS);
                return -1;
            }
            a->argv[a->argc++] = o;
            in_word = 1;
        }
        if (ch == '\\') {
            if (!p[1]) {
                snprintf(why, 256, "a backslash at the end of the command escapes nothing");
                return -1;
            }
            *o++ = *++p;
        } else if (ch == '\'') {
            const char *end = strchr(p + 1, '\'');
            if (!end) {
                snprintf(why, 256, "unterminated ' quote (from column %d)", (int)(p - cmd) + 1);
                return -1;
            }
            memcpy(o, p + 1, (size_t)(end - p - 1));
            o += end - p - 1;
            p = end;
        } else if (ch == '"') {
            const char *start = p;
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
                    p++;
                *o++ = *p;
            }
            if (!*p) {
                snprintf(why, 256, "unterminated \" quote (from column %d)",
                         (int)(start - cmd) + 1);
                return -1;
            }
        } else
            *o++ = ch;
    }
    a->argv[a->argc] = NULL;
    if (a->argc == 0 || !a->argv[0][0]) {
        snprintf(why, 256, "no program to run");
        return -1;
    }
    return 0;
}

void
hooks_init(struct hooks *h, const struct conf_hooks *c)
{
    memset(h, 0, sizeof *h);
    for (int i = 0; i < HOOKS_MAX_RUNNING; i++)
        h->child[i].out = -1;
    h->conf = *c;
}

void
hooks_configure(struct hooks *h, const struct conf_hooks *c)
{
    h->conf = *c;
}

static const char *
hooks_command(const struct hooks *h, enum hooks_event ev)
{
    switch (ev) {
    case HOOKS_TAKE_START:
        return h->conf.on_take_start;
    case HOOKS_TAKE_END:
        return h->conf.on_take_end;
    case HOOKS_NULL_FAIL:
        return h->conf.on_null_fail;
    default:
        return h->conf.on_error;
    }
}

/* "hook on_take_end (take 3, pid 1234)" for the log. */
static const char *
hooks_who(const struct hooks_child *k)
{
    static char who[96];
    int n = snprintf(who, sizeof who, "hook on_%s (", hooks_names[k->event]);
    if (k->take)
        n += snprintf(who + n, sizeof who - (size_t)n, "take %d, ", k->take);
    if (k->pid > 0)
        snprintf(who + n, sizeof who - (size_t)n, "pid %ld)", (long)k->pid);
    else
        snprintf(who + n, sizeof who - (size_t)n, "not started)");
    return who;
}

static void hooks_var(struct hooks_child *k, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends NAME=value to the slot's variables (cut short if it does not fit: logged). */
static void
hooks_var(struct hooks_child *k, const char *name, const char *fmt, ...)
{
    size_t room = sizeof k->env - k->nenv;
    int n = snprintf(k->env + k->nenv, room, "%s=", name);
    va_list ap;

    if (n < 0 || (size_t)n >= room)
        return;
    va_start(ap, fmt);
    int m = vsnprintf(k->env + k->nenv + n, room - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    if ((size_t)(n + m) >= room) {
        log_warn("%s: %s cut short to fit", hooks_who(k), name);
        m = (int)(room - (size_t)n - 1);
    }
    k->nenv += (size_t)(n + m) + 1;
    k->nvars++;
}

static void
hooks_fill_env(struct hooks_child *k, const struct hooks_info *in)
{
    hooks_var(k, "STEMCAP_EVENT", "%s", hooks_names[k->event]);
    if (in->song)
        hooks_var(k, "STEMCAP_SONG", "%s", in->song);
    if (in->take) {
        const char *slash = strrchr(in->take_dir, '/');
        hooks_var(k, "STEMCAP_TAKE", "%d", in->take);
        hooks_var(k, "STEMCAP_TAKE_DIR", "%s", in->take_dir);
        hooks_var(k, "STEMCAP_SONG_DIR", "%.*s",
                  slash ? (int)(slash == in->take_dir ? 1 : slash - in->take_dir) : 0,
                  in->take_dir);
        hooks_var(k, "STEMCAP_RATE", "%u", in->rate);
        hooks_var(k, "STEMCAP_FRAMES", "%llu", (unsigned long long)in->frames);
        hooks_var(k, "STEMCAP_DROPPED", "%llu", (unsigned long long)in->dropped);
    }
    if (in->null) {
        hooks_var(k, "STEMCAP_NULL", "%s", in->null);
        hooks_var(k, "STEMCAP_NULL_WORST_DBFS", "%.1f", in->null_worst_db);
    }
    if (in->null_frame >= 0)
        hooks_var(k, "STEMCAP_NULL_FRAME", "%lld", (long long)in->null_frame);
    if (in->state)
        hooks_var(k, "STEMCAP_STATE", "%s", in->state);
    if (in->manifest)
        hooks_var(k, "STEMCAP_MANIFEST", "%s", in->manifest);
    if (in->ended_by)
        hooks_var(k, "STEMCAP_ENDED_BY", "%s", in->ended_by);
    if (in->error)
        hooks_var(k, "STEMCAP_ERROR", "%s", in->error);
}

void
hooks_run(struct hooks *h, enum hooks_event ev, const struct hooks_info *in)
{
    const char *cmd = hooks_command(h, ev);
    struct hooks_child *k = NULL;
    char why[256];

    if (!cmd[0])
        return;
    for (int i = 0; i < HOOKS_MAX_RUNNING && !k; i++)
        if (h->child[i].pid == 0)
            k = &h->child[i];
    if (!k) {
        if (in->take)
            log_warn("hook on_%s (take %d) skipped: %d hooks are running already", hooks_names[ev],
                     in->take, HOOKS_MAX_RUNNING);
        else
            log_warn("hook on_%s skipped: %d hooks are running already", hooks_names[ev],
                     HOOKS_MAX_RUNNING);
        return;
    }
    memset(k, 0, sizeof *k);
    k->out = -1;
    k->event = ev;
    k->take = in->take;
    k->shell = h->conf.shell;
    k->timeout_s = h->conf.timeout_s;
    if (k->shell) {
        snprintf(k->cmd.buf, sizeof k->cmd.buf, "%s", cmd);
        k->cmd.argv[0] = "sh";
        k->cmd.argv[1] = "-c";
        k->cmd.argv[2] = k->cmd.buf;
        k->cmd.argv[3] = NULL;
        k->cmd.argc = 3;
    } else if (hooks_split(cmd, &k->cmd, why) < 0) { /* cannot happen: checked by conf_load */
        log_error("[hooks] on_%s: %s", hooks_names[ev], why);
        return;
    }
    hooks_fill_env(k, in);
    k->pid = -1; /* queued */
}

/* The daemon's environment without the variables a hook gets, then the hook's own: a malloc'd
 * array, or NULL. */
static char **
hooks_envp(struct hooks_child *k)
{
    size_t n = 0;

    while (environ && environ[n])
        n++;
    char **envp = malloc((n + (size_t)k->nvars + 1) * sizeof *envp);
    if (!envp)
        return NULL;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int ours = 0;
        for (size_t v = 0; v < sizeof hooks_vars / sizeof hooks_vars[0] && !ours; v++) {
            size_t len = strlen(hooks_vars[v]);
            ours = strncmp(environ[i], hooks_vars[v], len) == 0 && environ[i][len] == '=';
        }
        if (!ours)
            envp[m++] = environ[i];
    }
    for (const char *p = k->env; p < k->env + k->nenv; p += strlen(p) + 1)
        envp[m++] = (char *)p;
    envp[m] = NULL;
    return envp;
}

/* A descriptor at 3 or above (0..2 are the child's own), close-on-exec; closes FD if it moved. */
static int
hooks_high_fd(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return high;
}

/* Starts a queued hook.  Returns 0, or -1 (logged; the slot is free again). */
static int
hooks_spawn(struct hooks_child *k)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dfl;
    int pfd[2] = {-1, -1}, rc;
    char **envp = hooks_envp(k);
    pid_t pid;

    if (!envp || pipe2(pfd, O_CLOEXEC) < 0) {
        rc = errno;
        k->pid = 0;
        log_error("%s: cannot start it: %s", hooks_who(k), strerror(rc));
        free(envp);
        return -1;
    }
    pfd[0] = hooks_high_fd(pfd[0]);
    pfd[1] = hooks_high_fd(pfd[1]);
    sigemptyset(&none);
    sigemptyset(&dfl);
    static const int sigs[] = {SIGPIPE, SIGINT,  SIGTERM, SIGHUP,  SIGQUIT, SIGCHLD,
                               SIGUSR1, SIGUSR2, SIGALRM, SIGTTIN, SIGTTOU};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&dfl, sigs[i]);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    /* Descriptors libraries opened without O_CLOEXEC (JACK's, liblo's) too. */
    posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
#endif
    if (pfd[0] < 0 || pfd[1] < 0)
        rc = EMFILE;
    else if (k->shell)
        rc = posix_spawn(&pid, "/bin/sh", &fa, &at, k->cmd.argv, envp);
    else
        rc = posix_spawnp(&pid, k->cmd.argv[0], &fa, &at, k->cmd.argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    free(envp);
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (rc != 0) {
        if (pfd[0] >= 0)
            close(pfd[0]);
        k->pid = 0;
        log_error("%s: cannot run '%s': %s", hooks_who(k), k->shell ? "/bin/sh" : k->cmd.argv[0],
                  strerror(rc));
        return -1;
    }
    fcntl(pfd[0], F_SETFL, O_NONBLOCK);
    k->pid = pid;
    k->out = pfd[0];
    k->started = hooks_now();
    if (k->shell)
        log_info("%s started: /bin/sh -c '%s'", hooks_who(k), k->cmd.buf);
    else
        log_info("%s started: %s (%d argument%s)", hooks_who(k), k->cmd.argv[0], k->cmd.argc - 1,
                 k->cmd.argc == 2 ? "" : "s");
    return 0;
}

/* Logs the line collected so far, control characters shown as '?'. */
static void
hooks_flush_line(struct hooks_child *k)
{
    if (!k->nline)
        return;
    for (size_t i = 0; i < k->nline; i++)
        if ((unsigned char)k->line[i] < 0x20 || k->line[i] == 0x7F)
            k->line[i] = k->line[i] == '\t' ? ' ' : '?';
    log_info("hook on_%s[%ld]: %.*s", hooks_names[k->event], (long)k->pid, (int)k->nline, k->line);
    k->nline = 0;
}

/* Reads what the hook wrote (at most 64 KiB a turn) and logs it line by line; at the end of
 * its output, or with ALL once it has exited, the rest and the pipe are closed. */
static void
hooks_read(struct hooks_child *k, int all)
{
    char buf[4096];

    for (int turn = 0; k->out >= 0 && turn < 16; turn++) {
        ssize_t n = read(k->out, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0 || errno != EAGAIN)
                all = 1;
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                hooks_flush_line(k);
                continue;
            }
            k->line[k->nline++] = buf[i];
            if (k->nline == sizeof k->line)
                hooks_flush_line(k);
        }
    }
    if (all && k->out >= 0) {
        hooks_flush_line(k);
        close(k->out);
        k->out = -1;
    }
}

/* Its exit, logged once; the slot is free again. */
static void
hooks_ended(struct hooks_child *k, int status)
{
    double took = hooks_now() - k->started;

    hooks_read(k, 1);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        log_info("%s exited with status 0 after %.2f s", hooks_who(k), took);
    else if (WIFEXITED(status))
        log_warn("%s exited with status %d after %.2f s%s", hooks_who(k), WEXITSTATUS(status), took,
                 k->signalled ? ", terminated for its timeout" : "");
    else if (WIFSIGNALED(status))
        log_warn("%s killed by signal %d (%s) after %.2f s%s", hooks_who(k), WTERMSIG(status),
                 strsignal(WTERMSIG(status)), took,
                 k->signalled ? ", past its timeout ([hooks] timeout_s)" : "");
    k->pid = 0;
}

/* SIGTERM past the timeout, SIGKILL HOOKS_KILL_S later: to its process group (its children
 * too), or to it alone when it left the group. */
static void
hooks_timeout(struct hooks_child *k, double now)
{
    int sig;

    if (k->signalled == 0 && now >= k->started + k->timeout_s) {
        sig = SIGTERM;
        k->signalled = 1;
        k->term_at = now;
        log_warn("%s still running after %.1f s ([hooks] timeout_s): SIGTERM to its process "
                 "group",
                 hooks_who(k), now - k->started);
    } else if (k->signalled == 1 && now >= k->term_at + HOOKS_KILL_S) {
        sig = SIGKILL;
        k->signalled = 2;
        log_warn("%s still running %.0f s after SIGTERM: SIGKILL", hooks_who(k), HOOKS_KILL_S);
    } else
        return;
    if (kill(-k->pid, sig) < 0 && kill(k->pid, sig) < 0 && errno != ESRCH)
        log_warn("%s: cannot send it %s: %s", hooks_who(k), strsignal(sig), strerror(errno));
}

void
hooks_poll(struct hooks *h)
{
    double now = hooks_now();

    for (int i = 0; i < HOOKS_MAX_RUNNING; i++) {
        struct hooks_child *k = &h->child[i];
        int status;
        if (k->pid == -1 && hooks_spawn(k) < 0)
            continue;
        if (k->pid <= 0)
            continue;
        hooks_read(k, 0);
        pid_t r = waitpid(k->pid, &status, WNOHANG);
        if (r == k->pid)
            hooks_ended(k, status);
        else if (r < 0 && errno == ECHILD) { /* someone else reaped it: cannot happen */
            log_warn("%s: gone without an exit status", hooks_who(k));
            hooks_read(k, 1);
            k->pid = 0;
        } else
            hooks_timeout(k, now);
    }
}

void
hooks_shutdown(struct hooks *h)
{
    struct timespec nap = {0, 20 * 1000000L};
    double longest = 0;
    int n = 0;

    hooks_poll(h); /* starts the queued ones: on_take_end of the last take */
    for (int i = 0; i < HOOKS_MAX_RUNNING; i++)
        if (h->child[i].pid > 0) {
            n++;
            if (h->child[i].timeout_s > longest)
                longest = h->child[i].timeout_s;
        }
    if (!n)
        return;
    log_info("waiting for %d hook%s to end (each up to its [hooks] timeout_s, at most %.1f s)", n,
             n == 1 ? "" : "s", longest);
    double give_up = hooks_now() + longest + 2 * HOOKS_KILL_S + 1.0;
    for (;;) {
        hooks_poll(h);
        n = 0;
        for (int i = 0; i < HOOKS_MAX_RUNNING; i++)
            n += h->child[i].pid > 0;
        if (!n)
            return;
        if (hooks_now() >= give_up)
            break;
        nanosleep(&nap, NULL);
    }
    for (int i = 0; i < HOOKS_MAX_RUNNING; i++)
        if (h->child[i].pid > 0)
            log_error("%s did not end even after SIGKILL; stemcapd exits without it",
                      hooks_who(&h->child[i]));
}
