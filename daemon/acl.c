/* acl — the [osc] allow list.
 *
 * When stemcapd listens beyond loopback, only the listed senders are
 * served; everything else is dropped before liblo sees a byte.  Entries
 * are numeric (no DNS at run time): an address, or an address/prefix.  An
 * IPv4 sender reaching an IPv6 socket arrives as ::ffff:a.b.c.d and is
 * matched against the IPv4 entries. */
#include "acl.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
acl_parse_one(struct acl_entry *e, const char *tok, char *why)
{
    char buf[64];
    char *slash, *end;
    int max;

    if (strlen(tok) >= sizeof buf) {
        snprintf(why, 256, "'%s' is too long for an address", tok);
        return -1;
    }
    memcpy(buf, tok, strlen(tok) + 1);
    slash = strchr(buf, '/');
    if (slash)
        *slash++ = '\0';
    if (inet_pton(AF_INET, buf, e->addr) == 1) {
        e->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, e->addr) == 1) {
        e->family = AF_INET6;
        max = 128;
    } else {
        snprintf(why, 256, "'%s' is not an IPv4 or IPv6 address", buf);
        return -1;
    }
    e->prefix = max;
    if (slash) {
        long p = strtol(slash, &end, 10);
        if (!*slash || *end || p < 0 || p > max) {
            snprintf(why, 256, "'%s' is not a prefix length (0..%d) in '%s'", slash, max, tok);
            return -1;
        }
        e->prefix = (int)p;
    }
    return 0;
}

int
acl_parse(struct acl *a, const char *list, char *why)
{
    char tok[128];
    const char *p = list;

    memset(a, 0, sizeof *a);
    while (*p) {
        size_t n = strcspn(p, ", \t");
        if (n > 0) {
            if (a->n == ACL_MAX) {
                snprintf(why, 256, "more than %d entries", ACL_MAX);
                return -1;
            }
            if (n >= sizeof tok) {
                snprintf(why, 256, "an entry is too long");
                return -1;
            }
            memcpy(tok, p, n);
            tok[n] = '\0';
            if (acl_parse_one(&a->e[a->n], tok, why) < 0)
                return -1;
            a->n++;
        }
        p += n;
        p += strspn(p, ", \t");
    }
    return 0;
}

static int
acl_prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
    int bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)bytes) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xFF << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

int
acl_match(const struct acl *a, const struct sockaddr *sa)
{
    unsigned char v4[4], v6[16];
    int have4 = 0, have6 = 0;

    if (sa->sa_family == AF_INET) {
        memcpy(v4, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        have4 = 1;
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *in6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        memcpy(v6, in6, 16);
        have6 = 1;
        if (IN6_IS_ADDR_V4MAPPED(in6)) {
            memcpy(v4, v6 + 12, 4);
            have4 = 1;
        }
    }
    for (int i = 0; i < a->n; i++) {
        const struct acl_entry *e = &a->e[i];
        if (e->family == AF_INET && have4 && acl_prefix_eq(v4, e->addr, e->prefix))
            return 1;
        if (e->family == AF_INET6 && have6 && acl_prefix_eq(v6, e->addr, e->prefix))
            return 1;
    }
    return 0;
}

int
acl_is_loopback(const char *addr)
{
    struct in_addr v4;
    struct in6_addr v6;

    if (inet_pton(AF_INET, addr, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, addr, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&v6);
    return 0;
}
