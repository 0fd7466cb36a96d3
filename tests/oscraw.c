/* oscraw — send one raw or liblo-built OSC datagram over UDP and print the replies.
 *
 * Usage: oscraw [-H HOST] [-p PORT] [-s SRCPORT] [-t TIMEOUT_MS] [-k COUNT] [-r REPEAT] [-n]
 * HEXBYTES...
 *        oscraw [-H HOST] [-p PORT] [-t TIMEOUT_MS] [-k COUNT] [-r REPEAT] [-n] -m ADDRESS [TYPES
 * ARGS...]
 *
 * Design: the datagram is either the given hex bytes verbatim (spaces allowed, arguments are
 * concatenated; nothing is validated, so malformed packets can be sent on purpose) or a message
 * built with liblo and serialised with lo_message_serialise.  It is sent from our own unconnected
 * UDP socket (bound to SRCPORT with -s, so the daemon sees the same sender each run), so
 * replies from any source port are accepted.  Each reply is decoded with
 * lo_message_deserialise and printed as one line: the address, then each argument as type:value
 * ("<undecodable N bytes>" when liblo rejects it).  Each of the COUNT replies is awaited for up to
 * TIMEOUT_MS.  -r sends the datagram REPEAT times back to back (a burst no process
 * start-up can slow down).  Exit: 0 when COUNT replies came (with -n: when none came), 1 when one
 * came despite -n, 2 on usage or network errors, 3 when a reply did not come in time.
 */
#include <errno.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <lo/lo.h>

#define MAX_DGRAM 65536

static void
usage(FILE *to)
{
    fprintf(to, "usage: oscraw [-H HOST] [-p PORT] [-t TIMEOUT_MS] [-k COUNT] [-r REPEAT] [-n] "
                "HEXBYTES...\n"
                "       oscraw [-H HOST] [-p PORT] [-t TIMEOUT_MS] [-k COUNT] [-r REPEAT] [-n] -m "
                "ADDRESS [TYPES "
                "ARGS...]\n"
                "  -H HOST   destination (default 127.0.0.1)\n"
                "  -p PORT   destination UDP port (default 9951, stemcapd's default)\n"
                "  -s PORT   send from this local UDP port (default: any free one)\n"
                "  -t MS     time to wait for each reply (default 1000)\n"
                "  -k COUNT  wait for COUNT replies, printing each (default 1)\n"
                "  -r N      send the datagram N times back to back (default 1)\n"
                "  -n        expect no reply: exit 0 if none comes, 1 if one does\n"
                "  -m        build an OSC message; TYPES from i h f d s S c T F N I b(hex) m(hex)\n"
                "exit: 0 ok, 1 unexpected reply (-n), 2 usage/network error, 3 no reply in time\n");
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parse hex digits (whitespace ignored) into out; returns byte count or -1. */
static long
parse_hex(const char *s, unsigned char *out, size_t cap, long have)
{
    int hi = -1;
    long n = have;
    for (; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == ':')
            continue;
        int v = hexval((unsigned char)*s);
        if (v < 0)
            return -1;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if ((size_t)n >= cap)
            return -1;
        out[n++] = (unsigned char)(hi << 4 | v);
        hi = -1;
    }
    return hi < 0 ? n : -1;
}

static int
parse_long(const char *s, long long *v)
{
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 0);
    return errno || end == s || *end ? -1 : 0;
}

static int
parse_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return errno || end == s || *end ? -1 : 0;
}

/* Build the message from ADDRESS TYPES ARGS...; returns a malloc'ed datagram. */
static void *
build_message(int argc, char **argv, size_t *size)
{
    const char *path = argv[0];
    const char *types = argc > 1 ? argv[1] : "";
    int ai = 2;
    long long iv;
    double dv;
    unsigned char bytes[4096];
    lo_message m = lo_message_new();
    if (!m)
        return NULL;
    for (const char *t = types; *t; t++) {
        int needs_arg = strchr("ihfdsScbm", *t) != NULL;
        if (needs_arg && ai >= argc) {
            fprintf(stderr, "oscraw: missing argument for type '%c'\n", *t);
            goto fail;
        }
        const char *a = needs_arg ? argv[ai++] : NULL;
        int bad = 0;
        switch (*t) {
        case 'i':
            bad = parse_long(a, &iv) || iv < INT32_MIN || iv > UINT32_MAX;
            if (!bad)
                lo_message_add_int32(m, (int32_t)(uint32_t)iv);
            break;
        case 'h':
            bad = parse_long(a, &iv);
            if (!bad)
                lo_message_add_int64(m, (int64_t)iv);
            break;
        case 'f':
            bad = parse_double(a, &dv);
            if (!bad)
                lo_message_add_float(m, (float)dv);
            break;
        case 'd':
            bad = parse_double(a, &dv);
            if (!bad)
                lo_message_add_double(m, dv);
            break;
        case 's':
            lo_message_add_string(m, a);
            break;
        case 'S':
            lo_message_add_symbol(m, a);
            break;
        case 'c':
            bad = strlen(a) != 1;
            if (!bad)
                lo_message_add_char(m, a[0]);
            break;
        case 'T':
            lo_message_add_true(m);
            break;
        case 'F':
            lo_message_add_false(m);
            break;
        case 'N':
            lo_message_add_nil(m);
            break;
        case 'I':
            lo_message_add_infinitum(m);
            break;
        case 'b': {
            long n = parse_hex(a, bytes, sizeof bytes, 0);
            lo_blob blob = n > 0 ? lo_blob_new((int32_t)n, bytes) : NULL; /* liblo: no empty */
            bad = blob == NULL;
            if (!bad) {
                lo_message_add_blob(m, blob);
                lo_blob_free(blob);
            }
            break;
        }
        case 'm': {
            long n = parse_hex(a, bytes, sizeof bytes, 0);
            bad = n != 4;
            if (!bad)
                lo_message_add_midi(m, bytes);
            break;
        }
        default:
            fprintf(stderr, "oscraw: unsupported type '%c'\n", *t);
            goto fail;
        }
        if (bad) {
            fprintf(stderr, "oscraw: bad argument '%s' for type '%c'\n", a ? a : "", *t);
            goto fail;
        }
    }
    if (ai < argc) {
        fprintf(stderr, "oscraw: too many arguments for types '%s'\n", types);
        goto fail;
    }
    void *data = lo_message_serialise(m, path, NULL, size);
    lo_message_free(m);
    if (!data)
        fprintf(stderr, "oscraw: cannot serialise message to '%s'\n", path);
    return data;
fail:
    lo_message_free(m);
    return NULL;
}

static void
print_hex(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

static void
print_reply(const unsigned char *data, size_t n)
{
    int result = 0;
    lo_message m = n > 0 ? lo_message_deserialise((void *)data, n, &result) : NULL;
    if (!m) {
        printf("<undecodable %zu bytes>\n", n);
        return;
    }
    const char *path = (const char *)data; /* deserialise succeeded: a terminated string */
    const char *types = lo_message_get_types(m);
    lo_arg **argv = lo_message_get_argv(m);
    int argc = lo_message_get_argc(m);
    fputs(path, stdout);
    for (int i = 0; i < argc; i++) {
        /* liblo's argument pointers are only 4-byte aligned: copy values out with memcpy. */
        const unsigned char *a = (const unsigned char *)argv[i];
        int32_t i32;
        int64_t i64;
        uint32_t u32[2];
        float f;
        double d;
        printf(" %c:", types[i]);
        switch (types[i]) {
        case 'i':
            memcpy(&i32, a, sizeof i32);
            printf("%" PRId32, i32);
            break;
        case 'h':
            memcpy(&i64, a, sizeof i64);
            printf("%" PRId64, i64);
            break;
        case 'f':
            memcpy(&f, a, sizeof f);
            printf("%g", (double)f);
            break;
        case 'd':
            memcpy(&d, a, sizeof d);
            printf("%g", d);
            break;
        case 's':
        case 'S':
            fputs((const char *)a, stdout);
            break;
        case 'c':
            memcpy(&i32, a, sizeof i32);
            putchar(i32 & 0xff);
            break;
        case 'T':
            fputs("true", stdout);
            break;
        case 'F':
            fputs("false", stdout);
            break;
        case 'N':
            fputs("nil", stdout);
            break;
        case 'I':
            fputs("inf", stdout);
            break;
        case 'm':
            print_hex(a, 4);
            break;
        case 't':
            memcpy(u32, a, sizeof u32);
            printf("%08" PRIx32 ".%08" PRIx32, u32[0], u32[1]);
            break;
        case 'b':
            memcpy(&i32, a, sizeof i32); /* host order after deserialising */
            print_hex(a + 4, i32 > 0 ? (size_t)i32 : 0);
            break;
        default:
            fputs("?", stdout);
            break;
        }
    }
    putchar('\n');
    lo_message_free(m);
}

int
main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *port = "9951";
    long long timeout_ms = 1000, count = 1, repeat = 1, src_port = 0, v;
    int expect_none = 0, build = 0, opt;

    /* '+': stop at the first non-option so negative numbers in ARGS are not options. */
    while ((opt = getopt(argc, argv, "+H:p:s:t:k:r:nmh")) != -1) {
        switch (opt) {
        case 'H':
            host = optarg;
            break;
        case 'p':
            port = optarg;
            break;
        case 's':
            if (parse_long(optarg, &v) || v < 1 || v > 65535) {
                fprintf(stderr, "oscraw: bad source port '%s'\n", optarg);
                return 2;
            }
            src_port = v;
            break;
        case 't':
            if (parse_long(optarg, &v) || v < 0 || v > 3600000) {
                fprintf(stderr, "oscraw: bad timeout '%s'\n", optarg);
                return 2;
            }
            timeout_ms = v;
            break;
        case 'k':
            if (parse_long(optarg, &v) || v < 1 || v > 1000000) {
                fprintf(stderr, "oscraw: bad count '%s'\n", optarg);
                return 2;
            }
            count = v;
            break;
        case 'r':
            if (parse_long(optarg, &v) || v < 1 || v > 100000) {
                fprintf(stderr, "oscraw: bad repeat count '%s'\n", optarg);
                return 2;
            }
            repeat = v;
            break;
        case 'n':
            expect_none = 1;
            break;
        case 'm':
            build = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }

    static unsigned char out[MAX_DGRAM];
    void *built = NULL;
    const void *payload = out;
    size_t len = 0;
    if (build) {
        built = build_message(argc - optind, argv + optind, &len);
        if (!built)
            return 2;
        payload = built;
    } else {
        long n = 0;
        for (int i = optind; i < argc && n >= 0; i++)
            n = parse_hex(argv[i], out, sizeof out, n);
        if (n < 0) {
            fprintf(stderr, "oscraw: bad hex bytes (need an even number of hex digits)\n");
            return 2;
        }
        len = (size_t)n;
    }

    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
        fprintf(stderr, "oscraw: %s:%s: %s\n", host, port, gai_strerror(gai));
        free(built);
        return 2;
    }
    int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int sent_ok = fd >= 0;
    if (sent_ok && src_port) {
        struct sockaddr_storage local;
        socklen_t llen;
        int one = 1;
        memset(&local, 0, sizeof local);
        if (ai->ai_family == AF_INET6) {
            struct sockaddr_in6 *l6 = (struct sockaddr_in6 *)&local;
            l6->sin6_family = AF_INET6;
            l6->sin6_addr = in6addr_any;
            l6->sin6_port = htons((uint16_t)src_port);
            llen = sizeof *l6;
        } else {
            struct sockaddr_in *l4 = (struct sockaddr_in *)&local;
            l4->sin_family = AF_INET;
            l4->sin_addr.s_addr = htonl(INADDR_ANY);
            l4->sin_port = htons((uint16_t)src_port);
            llen = sizeof *l4;
        }
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sent_ok = bind(fd, (struct sockaddr *)&local, llen) == 0;
    }
    for (long long i = 0; sent_ok && i < repeat; i++)
        sent_ok = sendto(fd, payload, len, 0, ai->ai_addr, ai->ai_addrlen) == (ssize_t)len;
    int saved = errno;
    freeaddrinfo(ai);
    free(built);
    if (!sent_ok) {
        fprintf(stderr, "oscraw: send to %s:%s: %s\n", host, port, strerror(saved));
        return 2;
    }

    static unsigned char in[MAX_DGRAM];
    long long received = 0;
    while (received < count) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fprintf(stderr, "oscraw: poll: %s\n", strerror(errno));
            return 2;
        }
        if (r == 0)
            break;
        ssize_t n = recv(fd, in, sizeof in, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* e.g. ECONNREFUSED from an ICMP port unreachable: nobody listens, no reply */
            if (errno == ECONNREFUSED)
                continue;
            fprintf(stderr, "oscraw: recv: %s\n", strerror(errno));
            return 2;
        }
        print_reply(in, (size_t)n);
        fflush(stdout);
        received++;
    }
    close(fd);
    if (expect_none)
        return received ? 1 : 0;
    if (received < count) {
        fprintf(stderr, "oscraw: %lld of %lld replies within %lld ms\n", received, count,
                timeout_ms);
        return 3;
    }
    return 0;
}
