/* acl — the [osc] allow list: addresses and CIDR ranges (IPv4, IPv6). */
#ifndef STEMCAP_ACL_H
#define STEMCAP_ACL_H

#include <netinet/in.h>
#include <sys/socket.h>

#define ACL_MAX 32

struct acl_entry {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix; /* bits */
};

struct acl {
    int n;
    struct acl_entry e[ACL_MAX];
};

/* Parses "127.0.0.1, 192.168.1.0/24, ::1" (commas or spaces).  Returns 0,
 * or -1 with the reason in `why` (256 bytes). */
int acl_parse(struct acl *a, const char *list, char *why);
/* 1 when `sa` is in the list (IPv4-mapped IPv6 senders match IPv4
 * entries), else 0. */
int acl_match(const struct acl *a, const struct sockaddr *sa);
/* 1 when the literal address is a loopback address. */
int acl_is_loopback(const char *addr);

#endif
