/* nsm — a client of the New Session Manager (NSM API 1.1.2), on the control thread.  Under
 * NSM_URL nothing is opened before /nsm/client/open names the instance folder (the working
 * directory: the session's stemcap.ini and the takes); the open is answered once JACK and OSC
 * are up; a save writes the running configuration with conf_save() and touches no take; several
 * instances in one session never clash (JACK name = client id, a free OSC port).  Capabilities
 * :dirty: and :message:.  Design: docs/DESIGN.md, section "Session management (NSM)". */
#include "nsm.h"

#include <errno.h>
#include <lo/lo.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define NSM_APP_NAME  "stemcap"
#define NSM_API_MAJOR 1
#define NSM_API_MINOR 1

/* liblo's arguments are 4-byte aligned, its lo_arg union 8: read them as
 * bytes (UBSan rightly objects to member access). */
static const char *
nsm_s(lo_arg *a)
{
    return (const char *)a;
}

static int32_t
nsm_i(lo_arg *a)
{
    int32_t v;
    memcpy(&v, a, sizeof v);
    return v;
}

int
nsm_wanted(void)
{
    const char *u = getenv("NSM_URL");
    return u && *u;
}

static const char *
nsm_err_name(int code)
{
    static const char *const names[] = {
        "ERR_GENERAL",      "ERR_INCOMPATIBLE_API", "ERR_BLACKLISTED",     "ERR_LAUNCH_FAILED",
        "ERR_NO_SUCH_FILE", "ERR_NO_SESSION_OPEN",  "ERR_UNSAVED_CHANGES", "ERR_NOT_NOW",
        "ERR_BAD_PROJECT",  "ERR_CREATE_FAILED",    "ERR_SESSION_LOCKED",  "ERR_OPERATION_PENDING",
    };
    return code <= -1 && code >= -12 ? names[-code - 1] : "unknown error code";
}

static void
nsm_reply(struct nsm *n, const char *what, const char *message)
{
    if (lo_send_from(n->server, n->srv, LO_TT_IMMEDIATE, "/reply", "ss", what, message) < 0)
        log_warn("NSM: cannot send the reply to %s: %s", what, lo_address_errstr(n->server));
}

static void
nsm_error(struct nsm *n, const char *what, int code, const char *message)
{
    if (lo_send_from(n->server, n->srv, LO_TT_IMMEDIATE, "/error", "sis", what, code, message) < 0)
        log_warn("NSM: cannot send the error reply to %s: %s", what, lo_address_errstr(n->server));
}

static void
nsm_send(struct nsm *n, const char *path)
{
    if (lo_send_from(n->server, n->srv, LO_TT_IMMEDIATE, path, "") < 0)
        log_warn("NSM: cannot send %s: %s", path, lo_address_errstr(n->server));
}

static void
nsm_message(struct nsm *n, int priority, const char *text)
{
    if (lo_send_from(n->server, n->srv, LO_TT_IMMEDIATE, "/nsm/client/message", "is", priority,
                     text) < 0)
        log_warn("NSM: cannot send a message: %s", lo_address_errstr(n->server));
}

/* osc.udp://HOST:PORT/ with a port of 1..65535. */
static int
nsm_url_ok(const char *u)
{
    const char *host = u + strlen("osc.udp://"), *colon;
    char *end;

    if (strncmp(u, "osc.udp://", strlen("osc.udp://")) != 0)
        return 0;
    colon = strrchr(host, ':');
    if (!colon || colon == host)
        return 0;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || port < 1 || port > 65535)
        return 0;
    if (*end == '/')
        end++;
    return *end == '\0';
}

/* The state /nsm/client/save writes: the running configuration, with the
 * transport following as it is now. */
static const struct conf *
nsm_state(struct nsm *n)
{
    static struct conf snap;
    ctl_snapshot(n->ctl, &snap);
    return &snap;
}

/* A session's stemcap.ini from the configuration stemcapd started with. */
static int
nsm_create_ini(struct nsm *n, const char *id, char *why)
{
    static struct conf t;

    t = *n->startup;
    t.path[0] = '\0';
    snprintf(t.capture_dir, sizeof t.capture_dir, "%s", NSM_TAKES_DIR);
    snprintf(t.jack_client, sizeof t.jack_client, "%s", id);
    t.osc_port = 0;
    if (conf_save(&t, n->ini) < 0) {
        snprintf(why, 512, "%s", log_last_error());
        return -1;
    }
    log_info("NSM: new session file %s (from %s)", n->ini,
             n->startup->path[0] ? n->startup->path : "the built-in defaults");
    return 0;
}

/* /nsm/client/open: the folder, its stemcap.ini, the configuration.
 * Returns 0, or an NSM error code with the reason in `why` (512). */
static int
nsm_prepare(struct nsm *n, const char *path, const char *display, const char *id, char *why)
{
    struct stat st;

    if (!*id || strlen(id) >= CONF_ID_MAX || strchr(id, ':')) {
        snprintf(why, 512, "client id '%s' cannot be a JACK client name (1..%d bytes, no ':')", id,
                 CONF_ID_MAX - 1);
        return NSM_ERR_GENERAL;
    }
    if (path[0] != '/' ||
        snprintf(n->ini, sizeof n->ini, "%s/%s", path, NSM_INI_NAME) >= (int)sizeof n->ini) {
        snprintf(why, 512, "'%s' is not an absolute path of a usable length", path);
        return NSM_ERR_CREATE_FAILED;
    }
    snprintf(n->dir, sizeof n->dir, "%s", path);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        snprintf(why, 512, "cannot create the instance folder %s: %s", path, strerror(errno));
        return NSM_ERR_CREATE_FAILED;
    }
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, 512, "%s is not a folder", path);
        return NSM_ERR_CREATE_FAILED;
    }
    if (chdir(path) < 0) {
        snprintf(why, 512, "cannot enter %s: %s", path, strerror(errno));
        return NSM_ERR_CREATE_FAILED;
    }
    if (access(n->ini, F_OK) < 0 && nsm_create_ini(n, id, why) < 0)
        return NSM_ERR_CREATE_FAILED;
    conf_defaults(n->conf);
    n->conf->osc_port = 0; /* any free port, unless the file sets one */
    if (conf_load(n->conf, n->ini) < 0) {
        snprintf(why, 512, "%s", log_last_error());
        return NSM_ERR_BAD_PROJECT;
    }
    snprintf(n->conf->jack_client, sizeof n->conf->jack_client, "%s", id);
    snprintf(n->client_id, sizeof n->client_id, "%s", id);
    log_info("NSM: opening '%s' as client %s in %s", display, id, path);
    return 0;
}

static int
nsm_on_open(const char *path, const char *types, lo_arg **argv, int argc, lo_message m, void *u)
{
    struct nsm *n = u;
    char why[512];
    (void)path;
    (void)m;

    if (argc != 3 || strcmp(types, "sss") != 0) {
        nsm_error(n, "/nsm/client/open", NSM_ERR_GENERAL, "expects s:path s:display_name s:id");
        return 0;
    }
    const char *dir = nsm_s(argv[0]), *display = nsm_s(argv[1]), *id = nsm_s(argv[2]);
    if (n->opened) {
        if (!n->open_failed && strcmp(dir, n->dir) == 0 && strcmp(id, n->client_id) == 0) {
            nsm_reply(n, "/nsm/client/open", "already open");
            return 0;
        }
        log_warn("NSM: refused to switch to %s as %s: stemcapd cannot switch sessions", dir, id);
        nsm_error(n, "/nsm/client/open", NSM_ERR_GENERAL,
                  "stemcapd cannot switch sessions while running (no :switch:): restart it");
        return 0;
    }
    n->opened = 1;
    int code = nsm_prepare(n, dir, display, id, why);
    if (code) {
        log_error("NSM: cannot open the session: %s", why);
        nsm_error(n, "/nsm/client/open", code, why);
        n->open_failed = 1;
        n->open_replied = 1;
    }
    return 0;
}

static int
nsm_on_save(const char *path, const char *types, lo_arg **argv, int argc, lo_message m, void *u)
{
    struct nsm *n = u;
    char why[256];
    (void)path, (void)types, (void)argv, (void)argc, (void)m;

    if (!n->ctl) {
        nsm_error(n, "/nsm/client/save", NSM_ERR_NO_SESSION_OPEN, "no session is open yet");
        return 0;
    }
    const struct conf *s = nsm_state(n);
    char *text = conf_to_ini(s, why);
    if (!text) {
        log_error("NSM: cannot save %s: %s", n->ini, why);
        nsm_error(n, "/nsm/client/save", NSM_ERR_GENERAL, why);
        return 0;
    }
    if (conf_save(s, n->ini) < 0) {
        free(text);
        nsm_error(n, "/nsm/client/save", NSM_ERR_GENERAL, log_last_error());
        return 0;
    }
    free(n->saved);
    n->saved = text;
    log_info("NSM: saved %s%s", n->ini,
             ctl_recording(n->ctl) ? " (the take in progress goes on)" : "");
    nsm_reply(n, "/nsm/client/save", "saved");
    if (n->dirty)
        nsm_send(n, "/nsm/client/is_clean");
    n->dirty = 0;
    return 0;
}

static int
nsm_on_gui(const char *path, const char *types, lo_arg **argv, int argc, lo_message m, void *u)
{
    (void)types, (void)argv, (void)argc, (void)m;
    nsm_error(u, path, NSM_ERR_GENERAL, "stemcapd has no GUI (it does not claim :optional-gui:)");
    return 0;
}

static int
nsm_on_loaded(const char *path, const char *types, lo_arg **argv, int argc, lo_message m, void *u)
{
    (void)path, (void)types, (void)argv, (void)argc, (void)m, (void)u;
    log_info("NSM: the session is loaded");
    return 0;
}

/* /reply and /error: only the announce's are expected. */
static int
nsm_on_reply(const char *path, const char *types, lo_arg **argv, int argc, lo_message m, void *u)
{
    struct nsm *n = u;
    (void)m;

    if (argc < 1 || types[0] != 's')
        return 0;
    const char *what = nsm_s(argv[0]);
    if (strcmp(path, "/error") == 0) {
        int code = argc >= 2 && types[1] == 'i' ? nsm_i(argv[1]) : NSM_ERR_GENERAL;
        const char *msg = argc >= 3 && types[2] == 's' ? nsm_s(argv[2]) : "";
        if (strcmp(what, "/nsm/server/announce") == 0 && !n->announced) {
            log_error("NSM server at %s refused stemcapd: %s (%s, %d)", n->url, msg,
                      nsm_err_name(code), code);
            n->refused = 1;
        } else
            log_warn("NSM: the server answered %s with an error: %s (%s)", what, msg,
                     nsm_err_name(code));
        return 0;
    }
    if (strcmp(what, "/nsm/server/announce") == 0 && !n->announced) {
        n->announced = 1;
        log_info("NSM: announced to %s (%s, capabilities %s): %s", n->url,
                 argc >= 3 && types[2] == 's' ? nsm_s(argv[2]) : "?",
                 argc >= 4 && types[3] == 's' ? nsm_s(argv[3]) : "?",
                 argc >= 2 && types[1] == 's' ? nsm_s(argv[1]) : "");
    }
    return 0;
}

static int
nsm_on_other(const char *path, const char *types, lo_arg **argv, int argc, lo_message m, void *u)
{
    (void)types, (void)argv, (void)argc, (void)m, (void)u;
    log_debug("NSM: ignored %s", path);
    return 0;
}

static void
nsm_lo_error(int num, const char *msg, const char *where)
{
    log_warn("NSM: liblo error %d: %s%s%s", num, msg, where ? " in " : "", where ? where : "");
}

static double
nsm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The server socket and the announce. */
static int
nsm_announce(struct nsm *n, const char *argv0)
{
    const char *url = getenv("NSM_URL"), *exe = strrchr(argv0, '/');

    if (!nsm_url_ok(url) || strlen(url) >= sizeof n->url) {
        log_error("NSM_URL '%s' is not an NSM server address (osc.udp://HOST:PORT/)", url);
        return -1;
    }
    snprintf(n->url, sizeof n->url, "%s", url);
    n->server = lo_address_new_from_url(url);
    n->srv = lo_server_new(NULL, nsm_lo_error);
    if (!n->server || !n->srv) {
        log_error("NSM: cannot set up OSC for %s", url);
        return -1;
    }
    n->fd = lo_server_get_socket_fd(n->srv);
    lo_server_add_method(n->srv, "/reply", NULL, nsm_on_reply, n);
    lo_server_add_method(n->srv, "/error", NULL, nsm_on_reply, n);
    lo_server_add_method(n->srv, "/nsm/client/open", NULL, nsm_on_open, n);
    lo_server_add_method(n->srv, "/nsm/client/save", NULL, nsm_on_save, n);
    lo_server_add_method(n->srv, "/nsm/client/session_is_loaded", NULL, nsm_on_loaded, n);
    lo_server_add_method(n->srv, "/nsm/client/show_optional_gui", NULL, nsm_on_gui, n);
    lo_server_add_method(n->srv, "/nsm/client/hide_optional_gui", NULL, nsm_on_gui, n);
    lo_server_add_method(n->srv, NULL, NULL, nsm_on_other, n);
    if (lo_send_from(n->server, n->srv, LO_TT_IMMEDIATE, "/nsm/server/announce", "sssiii",
                     NSM_APP_NAME, NSM_CAPABILITIES, exe ? exe + 1 : argv0, NSM_API_MAJOR,
                     NSM_API_MINOR, (int)getpid()) < 0) {
        log_error("NSM: cannot announce stemcapd to %s: %s", url, lo_address_errstr(n->server));
        return -1;
    }
    log_info("NSM: announcing stemcapd to %s", url);
    return 0;
}

int
nsm_start(struct nsm *n, const char *argv0, const struct conf *startup, struct conf *conf,
          int sigfd)
{
    memset(n, 0, sizeof *n);
    n->fd = -1;
    n->startup = startup;
    n->conf = conf;
    if (nsm_announce(n, argv0) < 0)
        return -1;
    double deadline = nsm_now() + NSM_ANNOUNCE_TIMEOUT;
    struct pollfd pfd[2] = {{.fd = n->fd, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
    while (!n->opened) {
        int ms = n->announced ? -1 : (int)((deadline - nsm_now()) * 1000);
        if (!n->announced && ms <= 0) {
            log_error("NSM server at %s did not answer the announce within %d s", n->url,
                      NSM_ANNOUNCE_TIMEOUT);
            return -1;
        }
        if (poll(pfd, 2, ms) < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            return -1;
        }
        if (pfd[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo != SIGHUP) {
                    log_info("%s before the session was opened: stopping",
                             strsignal((int)si.ssi_signo));
                    return 1;
                }
                log_info("SIGHUP: no session open yet, nothing to reload");
            }
        }
        if (pfd[0].revents & POLLIN)
            nsm_handle(n);
        if (n->refused)
            return -1;
    }
    return n->open_failed ? -1 : 0;
}

void
nsm_open_done(struct nsm *n, struct ctl *ctl, int osc_port)
{
    char text[128], why[256];

    if (n->fd < 0 || n->open_replied)
        return;
    n->open_replied = 1;
    if (!ctl) {
        nsm_error(n, "/nsm/client/open", NSM_ERR_LAUNCH_FAILED, log_last_error());
        return;
    }
    n->ctl = ctl;
    n->saved = conf_to_ini(nsm_state(n), why);
    snprintf(text, sizeof text, "running as JACK client %s, OSC on port %d", n->client_id,
             osc_port);
    nsm_reply(n, "/nsm/client/open", text);
    snprintf(text, sizeof text, "OSC %d", osc_port);
    if (lo_send_from(n->server, n->srv, LO_TT_IMMEDIATE, "/nsm/client/label", "s", text) < 0)
        log_warn("NSM: cannot send the label: %s", lo_address_errstr(n->server));
    log_info("NSM: session open: %s, JACK client %s, OSC port %d", n->dir, n->client_id, osc_port);
}

void
nsm_handle(struct nsm *n)
{
    if (n->fd < 0)
        return;
    for (int i = 0; i < 64 && lo_server_recv_noblock(n->srv, 0) > 0; i++)
        ;
}

void
nsm_poll(struct nsm *n)
{
    char why[256], text[CTL_REASON_MAX + 64];

    if (n->fd < 0 || !n->ctl)
        return;
    struct ctl_events ev;
    ctl_events_peek(n->ctl, &ev);
    if (ev.events & CTL_EV_ERROR)
        nsm_message(n, 3, ev.error_text);
    if (ev.events & CTL_EV_ALARM) {
        snprintf(text, sizeof text, "take %d: null test failed: residual %.1f dBFS", ev.take,
                 ev.alarm_db);
        nsm_message(n, 2, text);
    }
    if (!(ev.events & (CTL_EV_SONG | CTL_EV_ARM | CTL_EV_NAME | CTL_EV_STATUS)))
        return;
    char *now = conf_to_ini(nsm_state(n), why);
    int dirty = !now || !n->saved || strcmp(now, n->saved) != 0;
    free(now);
    if (dirty != n->dirty)
        nsm_send(n, dirty ? "/nsm/client/is_dirty" : "/nsm/client/is_clean");
    n->dirty = dirty;
}

void
nsm_close(struct nsm *n)
{
    if (n->srv)
        lo_server_free(n->srv);
    if (n->server)
        lo_address_free(n->server);
    free(n->saved);
    n->srv = n->server = NULL;
    n->saved = NULL;
    n->fd = -1;
}
