/* IPv6 ancillary data on UDP over ::1: IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT
 * and IPV6_RECVTCLASS on received datagrams (order, lengths, values, an
 * IPv4 datagram to a dual-stack socket included), and IPV6_PKTINFO,
 * IPV6_HOPLIMIT and IPV6_TCLASS on sendmsg acting on that datagram alone,
 * with the errnos of bad ones. */
#include "posix.h"

/* recvmsg of one datagram, every control message printed. */
static void recv6(const char *name, int fd)
{
    char data[64], ctl[512];
    struct iovec iov = {data, sizeof data};
    struct sockaddr_in6 from;
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, 1, 2000);
    errno = 0;
    ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
    if (n < 0) {
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(errno));
        return;
    }
    char src[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &from.sin6_addr, src, sizeof src);
    printf("%s: ret=%zd from=%s controllen=%zu ctrunc=%d\n", name, n, src, (size_t)m.msg_controllen,
           (m.msg_flags & MSG_CTRUNC) != 0);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
        printf("%s_cmsg: level=%d type=%d len=%zu", name, c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len);
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            char a[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, &pi.ipi6_addr, a, sizeof a);
            printf(" ifindex=%d addr=%s", (int)pi.ipi6_ifindex, a);
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int v;
            memcpy(&v, CMSG_DATA(c), sizeof v);
            printf(" value=%#x", v);
        }
        printf("\n");
    }
}

/* sendmsg of "x" to `to` with one control message. */
static void send6(const char *name, int fd, const struct sockaddr_in6 *to, int type, const void *v, size_t len)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = {"x", 1};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = (void *)to;
    m.msg_namelen = sizeof *to;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.buf;
    m.msg_controllen = CMSG_SPACE(len);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(len);
    memcpy(CMSG_DATA(c), v, len);
    CHECK(name, sendmsg(fd, &m, 0));
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
    int one = 1, v;
    int r = (int)CHECK_FD("socket_rx", socket(AF_INET6, SOCK_DGRAM, 0));
    int s = (int)CHECK_FD("socket_tx", socket(AF_INET6, SOCK_DGRAM, 0));
    set_rcvtimeo(r, 2000);
    struct sockaddr_in6 a = sin6_of("::", 0);
    CHECK("bind_rx_any", bind(r, SA(&a), sizeof a));
    socklen_t l = sizeof a;
    CHECK("getsockname_rx", getsockname(r, SA(&a), &l));
    struct sockaddr_in6 to = sin6_of("::1", ntohs(a.sin6_port));

    SHOW("recvpktinfo_default", "%d", intopt(r, IPPROTO_IPV6, IPV6_RECVPKTINFO));
    CHECK("send_plain", sendto(s, "x", 1, 0, SA(&to), sizeof to));
    recv6("recv_none", r);

    CHECK("set_recvpktinfo", setsockopt(r, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one));
    CHECK("set_recvhoplimit", setsockopt(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one));
    CHECK("set_recvtclass", setsockopt(r, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof one));
    SHOW("recvpktinfo_now", "%d", intopt(r, IPPROTO_IPV6, IPV6_RECVPKTINFO));
    SHOW("recvhoplimit_now", "%d", intopt(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT));
    SHOW("recvtclass_now", "%d", intopt(r, IPPROTO_IPV6, IPV6_RECVTCLASS));
    CHECK("send_default", sendto(s, "x", 1, 0, SA(&to), sizeof to));
    recv6("recv_all", r);

    /* The socket's hop limit and class, then one datagram's own. */
    v = 9;
    CHECK("set_unicast_hops", setsockopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof v));
    v = 0x48;
    CHECK("set_tclass", setsockopt(s, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof v));
    CHECK("send_socket_opts", sendto(s, "x", 1, 0, SA(&to), sizeof to));
    recv6("recv_socket_opts", r);
    v = 3;
    send6("sendmsg_hoplimit", s, &to, IPV6_HOPLIMIT, &v, sizeof v);
    recv6("recv_cmsg_hoplimit", r);
    v = 0xb8;
    send6("sendmsg_tclass", s, &to, IPV6_TCLASS, &v, sizeof v);
    recv6("recv_cmsg_tclass", r);
    v = -1;
    send6("sendmsg_hoplimit_minus1", s, &to, IPV6_HOPLIMIT, &v, sizeof v);
    recv6("recv_hoplimit_minus1", r);
    v = 256;
    send6("sendmsg_hoplimit_256", s, &to, IPV6_HOPLIMIT, &v, sizeof v);
    v = -2;
    send6("sendmsg_tclass_minus2", s, &to, IPV6_TCLASS, &v, sizeof v);
    char b = 1;
    send6("sendmsg_hoplimit_short", s, &to, IPV6_HOPLIMIT, &b, 1);
    send6("sendmsg_unknown_type", s, &to, IPV6_V6ONLY, &one, sizeof one);

    /* IPV6_PKTINFO's source: one of ours, :: (the route's), or refused. */
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    inet_pton(AF_INET6, "::1", &pi.ipi6_addr);
    send6("sendmsg_pktinfo_lo", s, &to, IPV6_PKTINFO, &pi, sizeof pi);
    recv6("recv_pktinfo_lo", r);
    memset(&pi, 0, sizeof pi);
    send6("sendmsg_pktinfo_any", s, &to, IPV6_PKTINFO, &pi, sizeof pi);
    recv6("recv_pktinfo_any", r);
    inet_pton(AF_INET6, "2001:2:0:ff::99", &pi.ipi6_addr);
    send6("sendmsg_pktinfo_foreign", s, &to, IPV6_PKTINFO, &pi, sizeof pi);
    send6("sendmsg_pktinfo_short", s, &to, IPV6_PKTINFO, &pi, 8);
    recv6("recv_after_refused", r);
    /* Its interface: lo's, one that does not exist (ENODEV); a link-local
     * source needs one (EINVAL). */
    memset(&pi, 0, sizeof pi);
    pi.ipi6_ifindex = 1;
    send6("sendmsg_pktinfo_ifindex_lo", s, &to, IPV6_PKTINFO, &pi, sizeof pi);
    recv6("recv_pktinfo_ifindex_lo", r);
    pi.ipi6_ifindex = 0x7ffffff0;
    send6("sendmsg_pktinfo_ifindex_unknown", s, &to, IPV6_PKTINFO, &pi, sizeof pi);
    pi.ipi6_ifindex = 0;
    inet_pton(AF_INET6, "fe80::1", &pi.ipi6_addr);
    send6("sendmsg_pktinfo_linklocal_no_ifindex", s, &to, IPV6_PKTINFO, &pi, sizeof pi);
    recv6("recv_after_ifindex_refused", r);

    /* An IPv4 datagram to the dual-stack socket: the IPv6 messages with
     * the IPv4 destination mapped and its TTL and TOS. */
    int s4 = (int)CHECK_FD("socket_tx4", socket(AF_INET, SOCK_DGRAM, 0));
    v = 0x20;
    CHECK("set_tos4", setsockopt(s4, IPPROTO_IP, IP_TOS, &v, sizeof v));
    struct sockaddr_in to4 = sin_lo(ntohs(a.sin6_port));
    CHECK("send_v4", sendto(s4, "x", 1, 0, SA(&to4), sizeof to4));
    recv6("recv_v4", r);

    CHECK("clear_recvtclass", setsockopt(r, IPPROTO_IPV6, IPV6_RECVTCLASS, &(int){0}, sizeof(int)));
    CHECK("send_after_clear", sendto(s, "x", 1, 0, SA(&to), sizeof to));
    recv6("recv_after_clear", r);
    close(s4);
    close(s);
    close(r);
    return 0;
}
