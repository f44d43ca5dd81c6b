/* Ancillary data on raw and ping sockets over the loopback addresses: an
 * ICMP or ICMPv6 echo request sent with sendmsg's IP_TTL/IP_TOS (IPv6:
 * IPV6_HOPLIMIT/IPV6_TCLASS, and a source by IP_PKTINFO/IPV6_PKTINFO), and
 * what recvmsg tells of the request (a raw socket sees it) and of the reply:
 * IP_PKTINFO, IP_TTL, IP_TOS, IPV6_PKTINFO, IPV6_HOPLIMIT, IPV6_TCLASS.
 * Raw sockets need root, ping sockets net.ipv4.ping_group_range: a socket
 * that cannot be made says so and its cases are left out (on the kernel
 * and on ustack alike: ustackd takes the host's range). */
#include <netinet/icmp6.h>
#include <stdbool.h>
#include <netinet/ip_icmp.h>

#include "posix.h"

/* recvmsg of one datagram: its length, first byte after any IPv4 header,
 * and every control message. */
static void recv_one(const char *name, int fd)
{
    unsigned char data[256];
    char ctl[512];
    struct iovec iov = {data, sizeof data};
    struct sockaddr_storage from;
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    ssize_t n;
    size_t skip;
    /* A raw socket on the host's lo also sees other programs' ICMP:
     * what does not carry this test's payload is passed over. */
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 2000);
        m.msg_namelen = sizeof from;
        m.msg_controllen = sizeof ctl;
        errno = 0;
        n = recvmsg(fd, &m, MSG_DONTWAIT);
        if (n < 0) {
            printf("%s: ret=-1 errno=%s\n", name, posix_errname(errno));
            return;
        }
        skip = n > 0 && (data[0] >> 4) == 4 ? (size_t)(data[0] & 15) * 4 : 0;
        if ((size_t)n >= skip + 16 && memcmp(data + skip + 8, "anc-data", 8) == 0)
            break;
    }
    printf("%s: ret=%zd icmp_type=%d controllen=%zu ctrunc=%d\n", name, n,
           (size_t)n > skip ? data[skip] : -1, (size_t)m.msg_controllen, (m.msg_flags & MSG_CTRUNC) != 0);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
        printf("%s_cmsg: level=%d type=%d len=%zu", name, c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
        char a[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            inet_ntop(AF_INET, &pi.ipi_spec_dst, d, sizeof d);
            inet_ntop(AF_INET, &pi.ipi_addr, a, sizeof a);
            printf(" ifindex=%d spec_dst=%s addr=%s", pi.ipi_ifindex, d, a);
        } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) {
            printf(" value=%#x", *(unsigned char *)CMSG_DATA(c));
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            inet_ntop(AF_INET6, &pi.ipi6_addr, a, sizeof a);
            printf(" ifindex=%d addr=%s", (int)pi.ipi6_ifindex, a);
        } else if (c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int v;
            memcpy(&v, CMSG_DATA(c), sizeof v);
            printf(" value=%#x", v);
        }
        printf("\n");
    }
}

/* An echo request to `to` with sendmsg, carrying up to two int control
 * messages of `level` (type 0: none) and, if `src` is set, a pktinfo. */
static void send_echo(const char *name, int fd, int family, const void *to, socklen_t tolen, int t1,
                      int v1, int t2, int v2, const char *src)
{
    unsigned char echo[16] = {0};
    echo[0] = family == AF_INET ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
    echo[7] = 1;
    memcpy(echo + 8, "anc-data", 8);
    if (family == AF_INET) {
        /* A raw ICMP socket sends the checksum it is given. */
        uint32_t sum = 0;
        for (int i = 0; i < 16; i += 2)
            sum += (uint32_t)(echo[i] << 8 | echo[i + 1]);
        while (sum >> 16)
            sum = (sum & 0xffff) + (sum >> 16);
        echo[2] = (unsigned char)(~sum >> 8);
        echo[3] = (unsigned char)~sum;
    }
    int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
    union {
        char buf[3 * CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = {echo, sizeof echo};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = (void *)to;
    m.msg_namelen = tolen;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.buf;
    size_t used = 0;
    struct cmsghdr *c = (struct cmsghdr *)u.buf;
    int types[2] = {t1, t2}, vals[2] = {v1, v2};
    for (int i = 0; i < 2; i++) {
        if (types[i] == 0)
            continue;
        c->cmsg_level = level;
        c->cmsg_type = types[i];
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &vals[i], sizeof(int));
        used += CMSG_SPACE(sizeof(int));
        c = (struct cmsghdr *)(u.buf + used);
    }
    if (src != NULL && family == AF_INET) {
        struct in_pktinfo pi;
        memset(&pi, 0, sizeof pi);
        inet_pton(AF_INET, src, &pi.ipi_spec_dst);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof pi);
        memcpy(CMSG_DATA(c), &pi, sizeof pi);
        used += CMSG_SPACE(sizeof pi);
    } else if (src != NULL) {
        struct in6_pktinfo pi;
        memset(&pi, 0, sizeof pi);
        inet_pton(AF_INET6, src, &pi.ipi6_addr);
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof pi);
        memcpy(CMSG_DATA(c), &pi, sizeof pi);
        used += CMSG_SPACE(sizeof pi);
    }
    m.msg_controllen = used;
    if (used == 0)
        m.msg_control = NULL;
    CHECK(name, sendmsg(fd, &m, 0));
}

/* One kind of socket: an echo with its TTL (hop limit) and TOS (class),
 * one from an IP_PKTINFO/IPV6_PKTINFO source, then refused ones. */
static void run_case(const char *kind, int family, int type)
{
    char name[64];
#define N(s) (snprintf(name, sizeof name, "%s_%s", kind, (s)), name)
    bool v6 = family == AF_INET6;
    int fd = socket(family, type, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
    if (fd < 0) {
        SHOW(N("socket"), "unavailable errno=%s", posix_errname(errno));
        return;
    }
    int one = 1;
    if (v6 && type == SOCK_RAW) {
        /* Echo requests and replies only: ::1 has no neighbor discovery,
         * but a host's other ICMPv6 stays out. */
        struct icmp6_filter f;
        ICMP6_FILTER_SETBLOCKALL(&f);
        ICMP6_FILTER_SETPASS(ICMP6_ECHO_REQUEST, &f);
        ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
        CHECK(N("set_filter"), setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof f));
    }
    int level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
    CHECK(N("set_pktinfo"), setsockopt(fd, level, v6 ? IPV6_RECVPKTINFO : IP_PKTINFO, &one, sizeof one));
    CHECK(N("set_recvttl"), setsockopt(fd, level, v6 ? IPV6_RECVHOPLIMIT : IP_RECVTTL, &one, sizeof one));
    CHECK(N("set_recvtos"), setsockopt(fd, level, v6 ? IPV6_RECVTCLASS : IP_RECVTOS, &one, sizeof one));
    struct sockaddr_in to4 = sin_lo(0);
    struct sockaddr_in6 to6 = sin6_of("::1", 0);
    const void *to = v6 ? (const void *)&to6 : (const void *)&to4;
    socklen_t tolen = v6 ? sizeof to6 : sizeof to4;
    int ttl = v6 ? IPV6_HOPLIMIT : IP_TTL, tos = v6 ? IPV6_TCLASS : IP_TOS;
    send_echo(N("send_ttl_tos"), fd, family, to, tolen, ttl, 5, tos, 0x20, NULL);
    /* A raw socket sees its own request first, then the reply. */
    if (type == SOCK_RAW)
        recv_one(N("recv_request"), fd);
    recv_one(N("recv_reply"), fd);
    send_echo(N("send_src"), fd, family, to, tolen, 0, 0, 0, 0, v6 ? "::1" : "127.0.0.1");
    if (type == SOCK_RAW)
        recv_one(N("recv_request_src"), fd);
    recv_one(N("recv_reply_src"), fd);
    send_echo(N("send_bad_ttl"), fd, family, to, tolen, ttl, v6 ? 256 : 0, 0, 0, NULL);
    send_echo(N("send_foreign_src"), fd, family, to, tolen, 0, 0, 0, 0,
              v6 ? "2001:2:0:ff::99" : "198.18.200.1");
    recv_one(N("recv_after_refused"), fd);
    close(fd);
#undef N
}

int main(void)
{
    posix_init();
    run_case("raw4", AF_INET, SOCK_RAW);
    run_case("raw6", AF_INET6, SOCK_RAW);
    run_case("ping4", AF_INET, SOCK_DGRAM);
    run_case("ping6", AF_INET6, SOCK_DGRAM);
    return 0;
}
