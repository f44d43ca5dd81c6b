/* IPv6 and dual stack: AF_INET6 stream and datagram sockets on ::1,
 * sockaddr_in6 lengths and errnos, an AF_INET6 listener on :: taking IPv4 as
 * ::ffff:a.b.c.d, IPV6_V6ONLY (refusing IPv4, fixed after bind), bind
 * conflicts between the families, IPV6_UNICAST_HOPS and IPV6_TCLASS, bind
 * and connect to a link-local address without a scope id, and with one
 * naming no interface or lo (bind ENODEV and EADDRNOTAVAIL, connect and
 * sendto without a route). */
#include "posix.h"

static void show6(const char *name, const struct sockaddr_in6 *a, socklen_t len, uint16_t expect)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
    printf("%s: len=%u family=%s ip=%s port_nonzero=%d port_match=%d flow=%u scope=%u\n", name,
           (unsigned)len, a->sin6_family == AF_INET6 ? "AF_INET6" : "other", ip,
           a->sin6_port != 0, expect == 0 || ntohs(a->sin6_port) == expect,
           (unsigned)a->sin6_flowinfo, (unsigned)a->sin6_scope_id);
}

static uint16_t port6(int fd)
{
    struct sockaddr_in6 a;
    socklen_t l = sizeof a;
    if (getsockname(fd, SA(&a), &l) != 0)
        FATAL("getsockname");
    return ntohs(a.sin6_port);
}

static int intopt(int fd, int level, int name)
{
    int v = -12345;
    socklen_t l = sizeof v;
    if (getsockopt(fd, level, name, &v, &l) != 0)
        return -12345;
    return v;
}

int main(void)
{
    posix_init();
    char buf[64];
    struct sockaddr_in6 a, peer;
    socklen_t l;

    /* --- a stream over ::1 --- */
    int lfd = (int)CHECK_FD("socket_tcp6", socket(AF_INET6, SOCK_STREAM, 0));
    a = sin6_of("::1", 0);
    CHECK("bind_short_len", bind(lfd, SA(&a), sizeof(struct sockaddr_in)));
    struct sockaddr_in v4 = sin_lo(0);
    struct sockaddr_in6 v4big;
    memset(&v4big, 0, sizeof v4big);
    memcpy(&v4big, &v4, sizeof v4);
    CHECK("bind_af_inet_on_inet6", bind(lfd, SA(&v4big), sizeof v4big));
    CHECK("bind_loopback6", bind(lfd, SA(&a), sizeof a));
    uint16_t lp = port6(lfd);
    l = sizeof a;
    CHECK("getsockname6", getsockname(lfd, SA(&a), &l));
    show6("getsockname6_addr", &a, l, 0);
    CHECK("listen6", listen(lfd, 4));
    int c = (int)CHECK_FD("socket_tcp6_client", socket(AF_INET6, SOCK_STREAM, 0));
    a = sin6_of("::1", lp);
    CHECK("connect6", connect(c, SA(&a), sizeof a));
    l = sizeof peer;
    int s = (int)CHECK_FD("accept6", accept(lfd, SA(&peer), &l));
    show6("accept6_peer", &peer, l, port6(c));
    l = sizeof peer;
    CHECK("getpeername6", getpeername(c, SA(&peer), &l));
    show6("getpeername6_addr", &peer, l, lp);
    CHECK("send6", send(c, "hello6", 6, 0));
    wait_avail(s, 6, 2000);
    memset(buf, 0, sizeof buf);
    CHECK("recv6", recv(s, buf, sizeof buf, 0));
    SHOW("recv6_data", "'%s'", buf);
    /* Short address buffers are cut, the length says the real size. */
    char small[8];
    l = sizeof small;
    CHECK("getpeername6_short", getpeername(s, SA(small), &l));
    SHOW("getpeername6_short_len", "%u", (unsigned)l);
    close(s);
    close(c);

    int c2 = socket(AF_INET6, SOCK_STREAM, 0);
    a = sin6_of("::1", lp == 65535 ? 1 : lp + 1);
    CHECK("connect6_closed_port", connect(c2, SA(&a), sizeof a));
    close(c2);
    close(lfd);

    /* --- dual stack: :: takes IPv4 as mapped --- */
    int d = socket(AF_INET6, SOCK_STREAM, 0);
    SHOW("v6only_default", "%d", intopt(d, IPPROTO_IPV6, IPV6_V6ONLY));
    a = sin6_of("::", 0);
    CHECK("bind_dual", bind(d, SA(&a), sizeof a));
    int one = 1;
    CHECK("v6only_after_bind", setsockopt(d, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
    CHECK("listen_dual", listen(d, 4));
    uint16_t dp = port6(d);
    int c4 = socket(AF_INET, SOCK_STREAM, 0);
    v4 = sin_lo(dp);
    CHECK("connect4_to_dual", connect(c4, SA(&v4), sizeof v4));
    l = sizeof peer;
    s = (int)CHECK_FD("accept_dual", accept(d, SA(&peer), &l));
    show6("accept_dual_peer", &peer, l, 0);
    l = sizeof peer;
    CHECK("getsockname_dual_conn", getsockname(s, SA(&peer), &l));
    show6("getsockname_dual_conn_addr", &peer, l, dp);
    close(s);
    close(c4);
    /* A dual-stack bind holds the IPv4 port too; a V6ONLY one does not. */
    int b4 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any4;
    memset(&any4, 0, sizeof any4);
    any4.sin_family = AF_INET;
    any4.sin_port = htons(dp);
    CHECK("bind4_on_dual_port", bind(b4, SA(&any4), sizeof any4));
    close(b4);
    close(d);

    int o = socket(AF_INET6, SOCK_STREAM, 0);
    CHECK("set_v6only", setsockopt(o, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
    SHOW("v6only_now", "%d", intopt(o, IPPROTO_IPV6, IPV6_V6ONLY));
    a = sin6_of("::", 0);
    CHECK("bind_v6only", bind(o, SA(&a), sizeof a));
    CHECK("listen_v6only", listen(o, 4));
    uint16_t op = port6(o);
    b4 = socket(AF_INET, SOCK_STREAM, 0);
    any4.sin_port = htons(op);
    CHECK("bind4_on_v6only_port", bind(b4, SA(&any4), sizeof any4));
    c4 = socket(AF_INET, SOCK_STREAM, 0);
    v4 = sin_lo(op);
    CHECK("connect4_to_v6only", connect(c4, SA(&v4), sizeof v4));
    close(c4);
    close(b4);
    int m = socket(AF_INET6, SOCK_STREAM, 0);
    setsockopt(m, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    a = sin6_of("::ffff:127.0.0.1", op);
    CHECK("v6only_connect_mapped", connect(m, SA(&a), sizeof a));
    CHECK("v6only_bind_mapped", bind(m, SA(&a), sizeof a));
    close(m);
    close(o);

    /* --- options --- */
    int u = (int)CHECK_FD("socket_udp6", socket(AF_INET6, SOCK_DGRAM, 0));
    SHOW("hops_default", "%d", intopt(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS));
    int v = 200;
    CHECK("set_hops", setsockopt(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof v));
    SHOW("hops_now", "%d", intopt(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS));
    v = 256;
    CHECK("set_hops_256", setsockopt(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof v));
    v = -1;
    CHECK("set_hops_default", setsockopt(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof v));
    SHOW("hops_back", "%d", intopt(u, IPPROTO_IPV6, IPV6_UNICAST_HOPS));
    SHOW("tclass_default", "%d", intopt(u, IPPROTO_IPV6, IPV6_TCLASS));
    v = 0x28;
    CHECK("set_tclass", setsockopt(u, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof v));
    SHOW("tclass_now", "%d", intopt(u, IPPROTO_IPV6, IPV6_TCLASS));
    int u4 = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK("ipv6_opt_on_inet", setsockopt(u4, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
    close(u4);

    /* --- datagrams over ::1 --- */
    a = sin6_of("::1", 0);
    CHECK("bind_udp6", bind(u, SA(&a), sizeof a));
    uint16_t up = port6(u);
    set_rcvtimeo(u, 2000);
    int u2 = socket(AF_INET6, SOCK_DGRAM, 0);
    set_rcvtimeo(u2, 2000);
    a = sin6_of("::1", up);
    CHECK("sendto6", sendto(u2, "dgram6", 6, 0, SA(&a), sizeof a));
    CHECK("sendto6_short_len", sendto(u2, "x", 1, 0, SA(&a), sizeof(struct sockaddr_in)));
    memset(buf, 0, sizeof buf);
    l = sizeof peer;
    CHECK("recvfrom6", recvfrom(u, buf, sizeof buf, 0, SA(&peer), &l));
    SHOW("recvfrom6_data", "'%s'", buf);
    show6("recvfrom6_from", &peer, l, port6(u2));
    CHECK("reply6", sendto(u, "back", 4, 0, SA(&peer), l));
    CHECK("recv_reply6", recv(u2, buf, sizeof buf, 0));
    close(u2);
    close(u);

    /* --- a link-local address without a scope id names no interface --- */
    int t = socket(AF_INET6, SOCK_STREAM, 0);
    u = socket(AF_INET6, SOCK_DGRAM, 0);
    a = sin6_of("fe80::1", 7);
    CHECK("bind_tcp_linklocal_unscoped", bind(t, SA(&a), sizeof a));
    CHECK("bind_udp_linklocal_unscoped", bind(u, SA(&a), sizeof a));
    CHECK("connect_tcp_linklocal_unscoped", connect(t, SA(&a), sizeof a));
    CHECK("connect_udp_linklocal_unscoped", connect(u, SA(&a), sizeof a));
    /* The failed connect gave the datagram socket its port. */
    SHOW("udp_port_after_failed_connect", "%d", port6(u) != 0);
    a.sin6_scope_id = 1;
    CHECK("bind_udp_after_failed_connect", bind(u, SA(&a), sizeof a));
    close(t);
    close(u);
    u = socket(AF_INET6, SOCK_DGRAM, 0);
    CHECK("bind_udp_linklocal_scoped_not_ours", bind(u, SA(&a), sizeof a));
    close(u);

    /* --- scope ids: an interface that does not exist, lo's, the short form --- */
    const uint32_t unknown = 0x7ffffff0u;
    for (int k = 0; k < 2; k++) {
        int type = k == 0 ? SOCK_STREAM : SOCK_DGRAM;
        const char *tn = k == 0 ? "tcp" : "udp";
        char name[64];
#define N(s) (snprintf(name, sizeof name, "%s_%s", (s), tn), name)
        int f = socket(AF_INET6, type, 0);
        a = sin6_of("fe80::1", 7);
        a.sin6_scope_id = unknown;
        CHECK(N("bind_linklocal_unknown_scope"), bind(f, SA(&a), sizeof a));
        CHECK(N("connect_linklocal_unknown_scope"), connect(f, SA(&a), sizeof a));
        close(f);
        f = socket(AF_INET6, type, 0);
        a.sin6_scope_id = 1;
        CHECK(N("connect_linklocal_scope_lo"), connect(f, SA(&a), sizeof a));
        close(f);
        /* SIN6_LEN_RFC2133 (24 bytes) has no scope id: none is read. */
        f = socket(AF_INET6, type, 0);
        a.sin6_scope_id = unknown;
        CHECK(N("bind_linklocal_short_len"), bind(f, SA(&a), 24));
        close(f);
        /* A global address takes no scope: it is not looked at. */
        f = socket(AF_INET6, type, 0);
        a = sin6_of("::1", 0);
        a.sin6_scope_id = unknown;
        CHECK(N("bind_loopback_unknown_scope"), bind(f, SA(&a), sizeof a));
        l = sizeof peer;
        CHECK(N("getsockname_loopback_scope"), getsockname(f, SA(&peer), &l));
        show6(N("getsockname_loopback_scope_addr"), &peer, l, 0);
        close(f);
#undef N
    }
    u = socket(AF_INET6, SOCK_DGRAM, 0);
    a = sin6_of("fe80::1", 7);
    a.sin6_scope_id = unknown;
    CHECK("sendto_linklocal_unknown_scope", sendto(u, "x", 1, 0, SA(&a), sizeof a));
    SHOW("udp_port_after_failed_sendto", "%d", port6(u) != 0);
    a.sin6_scope_id = 1;
    CHECK("sendto_linklocal_scope_lo", sendto(u, "x", 1, 0, SA(&a), sizeof a));
    close(u);
    return 0;
}
