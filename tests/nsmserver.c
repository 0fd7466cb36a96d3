/* nsmserver — a stand-in New Session Manager server for the tests (NSM API
 * 1.1.2; Debian 12 ships none).
 *
 * Usage: nsmserver [-e badapi] [-l CHILDLOG] [-t SECONDS] [-- CMD ARGS...]
 *
 * Listens on a free UDP port of 127.0.0.1 and prints "url osc.udp://..." on
 * stdout.  With CMD, launches it with NSM_URL set (its output into CHILDLOG,
 * default /dev/null), as a session manager does.  Every message received is
 * printed on stderr as one line, "recv ADDRESS s:arg i:arg ...", so a test
 * can assert on the traffic.
 *
 * The announce is answered as the API says: checked (types sssiii, a
 * name, an executable name without '/', capabilities as :cap:cap:, API
 * major 1, the pid of the launched client), then /reply s:/nsm/server/announce
 * s:message s:server_name s:capabilities, or /error s:/nsm/server/announce
 * i:code s:message: ERR_INCOMPATIBLE_API for another major version or with
 * -e badapi (a server of API 2), ERR_GENERAL for a malformed announce.
 *
 * Commands on stdin, one per line; each is answered on stdout with one
 * "ok ..." or "error ..." line (tests/shared.sh daw_cmd speaks this):
 *   announce            wait for the announce: "ok CAPS" or "error ..."
 *   open PATH NAME ID   /nsm/client/open; "ok /reply MSG" or "ok /error CODE MSG"
 *   loaded              /nsm/client/session_is_loaded (no answer expected): "ok"
 *   save                /nsm/client/save; "ok /reply MSG" or "ok /error CODE MSG"
 *   gui show|hide       /nsm/client/show|hide_optional_gui; as for save
 *   dirty               the client's last is_dirty/is_clean: "ok dirty|clean|unknown"
 *   label               the client's last label: "ok LABEL"
 *   pid                 "ok PID" of the launched client
 *   term                SIGTERM to the client, wait for it: "ok exit N" / "ok signal N"
 *   wait                wait for the client to exit by itself: as for term
 * Waiting for an answer lasts at most SECONDS (-t, default 20).  At the end
 * of stdin, SIGTERM or SIGINT, a client still running gets SIGTERM and is
 * waited for.  Exit: 0, or 2 on usage or network errors. */
#include <errno.h>
#include <lo/lo.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ERR_GENERAL          -1
#define ERR_INCOMPATIBLE_API -2

/* liblo's arguments are 4-byte aligned, its lo_arg union 8: read them as
 * bytes (UBSan rightly objects to member access). */
static const char *
arg_s(lo_arg *a)
{
    return (const char *)a;
}

static int32_t
arg_i(lo_arg *a)
{
    int32_t v;
    memcpy(&v, a, sizeof v);
    return v;
}

static float
arg_f(lo_arg *a)
{
    float v;
    memcpy(&v, a, sizeof v);
    return v;
}

static lo_server srv;
static lo_address client; /* from the announce */
static pid_t child = -1;
static int child_status = -1; /* waitpid status once exited */
static int badapi;
static double timeout_s = 20.0;
static volatile sig_atomic_t stop; /* SIGTERM/SIGINT: stop the client too */

static int announced; /* 1 accepted, -1 refused */
static char caps[256];
static char announce_error[256];
static char dirty[16] = "unknown";
static char label[256];

/* The last /reply or /error for the request being waited for. */
static char want[64];
static char answer[512];

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
print_msg(const char *path, const char *types, lo_arg **argv, int argc)
{
    fprintf(stderr, "recv %s", path);
    for (int i = 0; i < argc; i++) {
        switch (types[i]) {
        case 's':
            fprintf(stderr, " s:%s", arg_s(argv[i]));
            break;
        case 'i':
            fprintf(stderr, " i:%d", arg_i(argv[i]));
            break;
        case 'f':
            fprintf(stderr, " f:%g", arg_f(argv[i]));
            break;
        default:
            fprintf(stderr, " %c:?", types[i]);
        }
    }
    fputc('\n', stderr);
    fflush(stderr);
}

static int
caps_ok(const char *c)
{
    size_t n = strlen(c);
    return n == 0 || (n >= 2 && c[0] == ':' && c[n - 1] == ':' && !strstr(c, "::"));
}

static void
on_announce(const char *types, lo_arg **argv, int argc, lo_message m)
{
    const char *why = NULL;
    int code = ERR_GENERAL;

    if (client)
        lo_address_free(client);
    lo_address src = lo_message_get_source(m);
    client = lo_address_new(lo_address_get_hostname(src), lo_address_get_port(src));
    if (argc != 6 || strcmp(types, "sssiii") != 0)
        why = "expects s:name s:capabilities s:executable i:major i:minor i:pid";
    else if (!(arg_s(argv[0]))[0])
        why = "empty application name";
    else if (!(arg_s(argv[2]))[0] || strchr(arg_s(argv[2]), '/'))
        why = "the executable name must be a file name without '/'";
    else if (!caps_ok(arg_s(argv[1])))
        why = "capabilities are not of the form :cap:cap:";
    else if (arg_i(argv[3]) != 1) {
        why = "incompatible API version (this server speaks 1.x)";
        code = ERR_INCOMPATIBLE_API;
    } else if (arg_i(argv[5]) <= 0 || (child > 0 && arg_i(argv[5]) != child))
        why = "the pid is not the launched client's";
    else if (badapi) {
        why = "incompatible API version: this server speaks NSM API 2.0";
        code = ERR_INCOMPATIBLE_API;
    }
    if (why) {
        snprintf(announce_error, sizeof announce_error, "%s", why);
        announced = -1;
        lo_send_from(client, srv, LO_TT_IMMEDIATE, "/error", "sis", "/nsm/server/announce", code,
                     why);
        return;
    }
    snprintf(caps, sizeof caps, "%s", arg_s(argv[1]));
    announced = 1;
    lo_send_from(client, srv, LO_TT_IMMEDIATE, "/reply", "ssss", "/nsm/server/announce",
                 "Howdy, what took you so long?", "nsmserver", ":server-control:");
}

static int
on_any(const char *path, const char *types, lo_arg **argv, int argc, lo_message m, void *u)
{
    (void)u;
    print_msg(path, types, argv, argc);
    if (strcmp(path, "/nsm/server/announce") == 0)
        on_announce(types, argv, argc, m);
    else if (strcmp(path, "/nsm/client/is_dirty") == 0)
        snprintf(dirty, sizeof dirty, "dirty");
    else if (strcmp(path, "/nsm/client/is_clean") == 0)
        snprintf(dirty, sizeof dirty, "clean");
    else if (strcmp(path, "/nsm/client/label") == 0 && argc == 1 && types[0] == 's')
        snprintf(label, sizeof label, "%s", arg_s(argv[0]));
    else if ((strcmp(path, "/reply") == 0 || strcmp(path, "/error") == 0) && argc >= 2 &&
             types[0] == 's' && strcmp(arg_s(argv[0]), want) == 0) {
        if (path[1] == 'r' && types[1] == 's')
            snprintf(answer, sizeof answer, "/reply %s", arg_s(argv[1]));
        else if (path[1] == 'e' && argc >= 3 && types[1] == 'i' && types[2] == 's')
            snprintf(answer, sizeof answer, "/error %d %s", arg_i(argv[1]), arg_s(argv[2]));
        else
            snprintf(answer, sizeof answer, "malformed %s", path);
    }
    return 0;
}

static void
reap(int block)
{
    int st;
    if (child > 0 && child_status < 0 && waitpid(child, &st, block ? 0 : WNOHANG) == child)
        child_status = st;
}

/* Serves OSC until cond() holds or the time is up; returns cond(). */
static int
serve_until(int (*cond)(void), double secs)
{
    double end = now_s() + secs;
    while (!cond() && !stop && now_s() < end) {
        lo_server_recv_noblock(srv, 50);
        reap(0);
    }
    return cond();
}

static int
have_announce(void)
{
    return announced != 0;
}

static int
have_answer(void)
{
    return answer[0] != '\0';
}

static int
child_gone(void)
{
    return child_status >= 0;
}

static void
print_exit(void)
{
    if (WIFEXITED(child_status))
        printf("ok exit %d\n", WEXITSTATUS(child_status));
    else
        printf("ok signal %d\n", WTERMSIG(child_status));
}

/* Sends `path` (with the open arguments when given) and waits for the
 * /reply or /error that names it. */
static void
request(const char *path, const char *a, const char *b, const char *c)
{
    if (!client) {
        printf("error no client announced\n");
        return;
    }
    snprintf(want, sizeof want, "%s", path);
    answer[0] = '\0';
    if (a)
        lo_send_from(client, srv, LO_TT_IMMEDIATE, path, "sss", a, b, c);
    else
        lo_send_from(client, srv, LO_TT_IMMEDIATE, path, "");
    if (serve_until(have_answer, timeout_s))
        printf("ok %s\n", answer);
    else
        printf("error no answer to %s within %.0f s\n", path, timeout_s);
}

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void
command(char *line)
{
    char *argv[4] = {0};
    int argc = 0;
    for (char *tok = strtok(line, " \t\n"); tok && argc < 4; tok = strtok(NULL, " \t\n"))
        argv[argc++] = tok;
    if (argc == 0)
        return;
    if (strcmp(argv[0], "announce") == 0) {
        if (!serve_until(have_announce, timeout_s))
            printf("error no announce within %.0f s\n", timeout_s);
        else if (announced < 0)
            printf("error refused the announce: %s\n", announce_error);
        else
            printf("ok %s\n", caps);
    } else if (strcmp(argv[0], "open") == 0 && argc == 4) {
        request("/nsm/client/open", argv[1], argv[2], argv[3]);
    } else if (strcmp(argv[0], "loaded") == 0 && client) {
        lo_send_from(client, srv, LO_TT_IMMEDIATE, "/nsm/client/session_is_loaded", "");
        printf("ok\n");
    } else if (strcmp(argv[0], "save") == 0) {
        request("/nsm/client/save", NULL, NULL, NULL);
    } else if (strcmp(argv[0], "gui") == 0 && argc == 2) {
        request(strcmp(argv[1], "show") == 0 ? "/nsm/client/show_optional_gui"
                                             : "/nsm/client/hide_optional_gui",
                NULL, NULL, NULL);
    } else if (strcmp(argv[0], "dirty") == 0) {
        lo_server_recv_noblock(srv, 0);
        printf("ok %s\n", dirty);
    } else if (strcmp(argv[0], "label") == 0) {
        lo_server_recv_noblock(srv, 0);
        printf("ok %s\n", label);
    } else if (strcmp(argv[0], "pid") == 0) {
        printf("ok %d\n", (int)child);
    } else if (strcmp(argv[0], "term") == 0 || strcmp(argv[0], "wait") == 0) {
        if (child <= 0) {
            printf("error no client launched\n");
        } else {
            if (argv[0][0] == 't' && child_status < 0)
                kill(child, SIGTERM);
            if (serve_until(child_gone, timeout_s))
                print_exit();
            else
                printf("error the client is still running after %.0f s\n", timeout_s);
        }
    } else {
        printf("error unknown command '%s'\n", argv[0]);
    }
}

int
main(int argc, char **argv)
{
    const char *childlog = "/dev/null";
    char url[128];
    int opt;

    while ((opt = getopt(argc, argv, "e:l:t:")) != -1) {
        if (opt == 'e' && strcmp(optarg, "badapi") == 0)
            badapi = 1;
        else if (opt == 'l')
            childlog = optarg;
        else if (opt == 't')
            timeout_s = atof(optarg);
        else {
            fprintf(stderr,
                    "usage: nsmserver [-e badapi] [-l CHILDLOG] [-t SECONDS] [-- CMD...]\n");
            return 2;
        }
    }
    srv = lo_server_new_with_proto(NULL, LO_UDP, NULL);
    if (!srv) {
        fprintf(stderr, "nsmserver: cannot open a UDP port\n");
        return 2;
    }
    lo_server_add_method(srv, NULL, NULL, on_any, NULL);
    snprintf(url, sizeof url, "osc.udp://127.0.0.1:%d/", lo_server_get_port(srv));
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (optind < argc) {
        child = fork();
        if (child < 0) {
            perror("nsmserver: fork");
            return 2;
        }
        if (child == 0) {
            setenv("NSM_URL", url, 1);
            if (!freopen("/dev/null", "r", stdin) || !freopen(childlog, "a", stdout) ||
                dup2(fileno(stdout), 2) < 0)
                _exit(127);
            execvp(argv[optind], argv + optind);
            perror(argv[optind]);
            _exit(127);
        }
    }
    printf("url %s\n", url);

    char line[1024];
    struct pollfd pfd[2] = {{.fd = 0, .events = POLLIN},
                            {.fd = lo_server_get_socket_fd(srv), .events = POLLIN}};
    while (!stop) {
        if (poll(pfd, 2, 100) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents & POLLIN)
            lo_server_recv_noblock(srv, 0);
        reap(0);
        if (pfd[0].revents & (POLLIN | POLLHUP)) {
            if (!fgets(line, sizeof line, stdin))
                break;
            command(line);
        }
    }
    if (child > 0 && child_status < 0) {
        kill(child, SIGTERM);
        reap(1);
    }
    lo_server_free(srv);
    return 0;
}
