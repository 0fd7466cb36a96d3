/* nsm — stemcapd as a client of the New Session Manager (NSM API 1.1.2):
 * announce, open, save, dirty state and messages, on a liblo socket of its
 * own.  Everything is a no-op when NSM_URL is not set.  Control thread only. */
#ifndef STEMCAP_NSM_H
#define STEMCAP_NSM_H

#include <limits.h>

#include "conf.h"
#include "ctl.h"

/* The API's error codes. */
enum {
    NSM_ERR_GENERAL = -1,
    NSM_ERR_INCOMPATIBLE_API = -2,
    NSM_ERR_BLACKLISTED = -3,
    NSM_ERR_LAUNCH_FAILED = -4,
    NSM_ERR_NO_SUCH_FILE = -5,
    NSM_ERR_NO_SESSION_OPEN = -6,
    NSM_ERR_UNSAVED_CHANGES = -7,
    NSM_ERR_NOT_NOW = -8,
    NSM_ERR_BAD_PROJECT = -9,
    NSM_ERR_CREATE_FAILED = -10,
    NSM_ERR_SESSION_LOCKED = -11,
    NSM_ERR_OPERATION_PENDING = -12,
};

#define NSM_CAPABILITIES     ":dirty:message:"
#define NSM_ANNOUNCE_TIMEOUT 10 /* seconds to wait for the server's answer */
#define NSM_INI_NAME         "stemcap.ini"
#define NSM_TAKES_DIR        "takes"

struct nsm {
    int fd;       /* the liblo server's socket; -1: not under NSM */
    void *srv;    /* lo_server */
    void *server; /* lo_address of NSM_URL */
    char url[256];
    const struct conf *startup; /* the template of a new session's file */
    struct conf *conf;          /* filled in by /nsm/client/open */
    int announced;              /* the server accepted the announce */
    int refused;                /* it answered /error */
    int opened;                 /* /nsm/client/open handled */
    int open_failed;            /* ... and refused (replied /error) */
    int open_replied;
    char dir[PATH_MAX]; /* the instance folder (path_to_instance_files) */
    char ini[PATH_MAX]; /* dir/stemcap.ini */
    char client_id[CONF_ID_MAX];
    struct ctl *ctl; /* once running */
    char *saved;     /* conf_to_ini() of the state last loaded or saved */
    int dirty;       /* as last told to the server */
};

/* Whether NSM_URL is set (and not empty). */
int nsm_wanted(void);

/* Under NSM: announces stemcapd to NSM_URL as `argv0`'s basename and waits
 * for /nsm/client/open, reading `sigfd` too.  On open, the instance folder
 * is created with stemcap.ini (made from `startup` when there is none:
 * [capture] dir = takes, [osc] port left out) and takes/; stemcapd moves
 * into it, so relative paths in the file are relative to it; the file is
 * loaded into `conf`, with [jack] client = the client id and [osc] port
 * any free one unless the file sets it.  Returns 0 when opened, 1 when a
 * signal arrived first (stop, exit 0), -1 on a malformed NSM_URL, no answer,
 * a refused announce or a failed open (logged in one line; the server got
 * an /error for a failed open). */
int nsm_start(struct nsm *n, const char *argv0, const struct conf *startup, struct conf *conf,
              int sigfd);

/* Answers the pending /nsm/client/open: ok once stemcapd runs (ctl is up,
 * its control OSC on `osc_port`, which goes into the client's label), or,
 * with ctl NULL, an /error carrying the last logged error. */
void nsm_open_done(struct nsm *n, struct ctl *ctl, int osc_port);

/* Reads and answers the server's messages (save, show/hide_optional_gui,
 * session_is_loaded, another open). */
void nsm_handle(struct nsm *n);

/* Before the OSC front end clears ctl->events: tells the server when the
 * state to be saved became dirty or clean again, and passes faults on as
 * /nsm/client/message. */
void nsm_poll(struct nsm *n);

void nsm_close(struct nsm *n);

#endif
