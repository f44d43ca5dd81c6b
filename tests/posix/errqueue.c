/* The error queue (IP_RECVERR, IPV6_RECVERR, MSG_ERRQUEUE): a UDP datagram
 * to a closed port on 127.0.0.1 and ::1 comes back as an ICMP port
 * unreachable, queued as a struct sock_extended_err with the offender's
 * address; POLLERR and EPOLLERR while the queue holds it; so_error beside
 * it; an empty queue answers EAGAIN without blocking; without IP_RECVERR
 * only a connected socket hears of it. A raw IPPROTO_UDP socket sees the
 * error about its datagram too. */
#include "posix.h"

#include <linux/errqueue.h>
#include <netinet/ip.h>
#include <sys/epoll.h>

/* A port nobody listens on: one outside the ephemeral range (no other
 * program is given it by the kernel meanwhile) that binds, closed again. */
static uint16_t closed_port(int family)
{
    for (uint16_t port = (uint16_t)(20000 + getpid() % 10000);; port++) {
        int fd = socket(family, SOCK_DGRAM, 0);
        struct sockaddr_in6 a6 = sin6_of("::1", port);
        struct sockaddr_in a4 = sin_lo(port);
        if (fd < 0)
            FATAL("socket");
        int rc = bind(fd, family == AF_INET ? SA(&a4) : SA(&a6),
                      family == AF_INET ? sizeof a4 : sizeof a6);
        close(fd);
        if (rc == 0)
            return port;
        if (port >= 32000)
            FATAL("no free port");
    }
}

/* Wait (up to 2 s) for POLLERR; print what poll says then. */
static void wait_err(const char *name, int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    long end = now_ms() + 2000;
    while (now_ms() < end) {
        p.revents = 0;
        if (poll(&p, 1, 50) > 0 && (p.revents & POLLERR))
            break;
    }
    SHOW(name, "pollerr=%d pollin=%d pollout=%d", !!(p.revents & POLLERR),
         !!(p.revents & POLLIN), !!(p.revents & POLLOUT));
}

static void poll_now(const char *name, int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    poll(&p, 1, 0);
    SHOW(name, "pollerr=%d pollin=%d pollout=%d", !!(p.revents & POLLERR),
         !!(p.revents & POLLIN), !!(p.revents & POLLOUT));
}

static int so_error(int fd)
{
    int e = -1;
    socklen_t l = sizeof e;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
    return e;
}

/* One recvmsg(MSG_ERRQUEUE), everything it says printed. */
static void read_err(const char *name, int fd, uint16_t port)
{
    char data[256], cbuf[512], ip[INET6_ADDRSTRLEN];
    struct sockaddr_in6 from;
    struct iovec iov = {data, sizeof data};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                       .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    memset(&from, 0, sizeof from);
    memset(data, 0, sizeof data);
    char what[80];
    snprintf(what, sizeof what, "%s_recvmsg", name);
    long n = CHECK(what, recvmsg(fd, &m, MSG_ERRQUEUE));
    if (n < 0)
        return;
    SHOW(name, "flags_errqueue=%d trunc=%d ctrunc=%d data='%.*s'",
         !!(m.msg_flags & MSG_ERRQUEUE), !!(m.msg_flags & MSG_TRUNC),
         !!(m.msg_flags & MSG_CTRUNC), (int)(n > 8 ? 8 : n),
         n >= 8 ? data + (n - 8 > 0 ? n - 8 : 0) : data);
    const struct sockaddr_in *f4 = (const struct sockaddr_in *)&from;
    if (from.sin6_family == AF_INET6)
        inet_ntop(AF_INET6, &from.sin6_addr, ip, sizeof ip);
    else
        inet_ntop(AF_INET, &f4->sin_addr, ip, sizeof ip);
    SHOW(name, "name_len=%u family=%d ip=%s port_match=%d", (unsigned)m.msg_namelen,
         from.sin6_family, ip, ntohs(from.sin6_port) == port);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
        SHOW(name, "cmsg level=%d type=%d len=%u", c->cmsg_level, c->cmsg_type,
             (unsigned)c->cmsg_len);
        if (!((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
              (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)))
            continue;
        struct sock_extended_err ee;
        memcpy(&ee, CMSG_DATA(c), sizeof ee);
        SHOW(name, "ee errno=%s origin=%u type=%u code=%u pad=%u info=%u data=%u",
             posix_errname((int)ee.ee_errno), ee.ee_origin, ee.ee_type, ee.ee_code,
             ee.ee_pad, ee.ee_info, ee.ee_data);
        struct sockaddr_in6 off;
        memset(&off, 0, sizeof off);
        size_t olen = c->cmsg_len - CMSG_LEN(sizeof ee);
        memcpy(&off, CMSG_DATA(c) + sizeof ee, olen < sizeof off ? olen : sizeof off);
        if (off.sin6_family == AF_INET6)
            inet_ntop(AF_INET6, &off.sin6_addr, ip, sizeof ip);
        else
            inet_ntop(AF_INET, &((struct sockaddr_in *)&off)->sin_addr, ip, sizeof ip);
        SHOW(name, "offender family=%d ip=%s port=%u", off.sin6_family, ip,
             ntohs(off.sin6_port));
    }
}

static void udp_case(int family)
{
    const char *f = family == AF_INET ? "v4" : "v6";
    int lvl = family == AF_INET ? SOL_IP : SOL_IPV6;
    int opt = family == AF_INET ? IP_RECVERR : IPV6_RECVERR;
    uint16_t port = closed_port(family);
    struct sockaddr_in6 to6 = sin6_of("::1", port);
    struct sockaddr_in to4 = sin_lo(port);
    struct sockaddr *to = family == AF_INET ? SA(&to4) : SA(&to6);
    socklen_t tolen = family == AF_INET ? sizeof to4 : sizeof to6;
    char name[64];
#define N(s) (snprintf(name, sizeof name, "%s_%s", f, (s)), name)

    /* Without IP_RECVERR an unconnected socket hears nothing; the second
     * socket's error, sent after it, tells when the first one's came. */
    int quiet = socket(family, SOCK_DGRAM, 0);
    int u = socket(family, SOCK_DGRAM, 0);
    int one = 1;
    CHECK(N("set_recverr"), setsockopt(u, lvl, opt, &one, sizeof one));
    int v = -1;
    socklen_t vl = sizeof v;
    getsockopt(u, lvl, opt, &v, &vl);
    SHOW(N("recverr_now"), "%d", v);
    CHECK(N("empty_errqueue"), recv(u, name, sizeof name, MSG_ERRQUEUE));
    CHECK(N("sendto_quiet"), sendto(quiet, "quiet", 5, 0, to, tolen));
    CHECK(N("sendto_closed"), sendto(u, "payload1", 8, 0, to, tolen));
    wait_err(N("poll_after_icmp"), u);
    poll_now(N("poll_quiet"), quiet);
    SHOW(N("so_error_quiet"), "%s", posix_errname(so_error(quiet)));
    CHECK(N("errqueue_quiet"), recv(quiet, name, sizeof name, MSG_ERRQUEUE));

    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, u, &ev);
    long ne = epoll_wait(ep, &out, 1, 0);
    SHOW(N("epoll_err"), "n=%ld err=%d in=%d", ne, ne > 0 && (out.events & EPOLLERR),
         ne > 0 && (out.events & EPOLLIN));

    /* so_error is set beside the queue entry; reading it leaves the entry. */
    SHOW(N("so_error"), "%s", posix_errname(so_error(u)));
    poll_now(N("poll_after_so_error"), u);
    read_err(N("err1"), u, port);
    poll_now(N("poll_after_read"), u);
    ne = epoll_wait(ep, &out, 1, 0);
    SHOW(N("epoll_after_read"), "n=%ld", ne);
    CHECK(N("errqueue_empty_again"), recv(u, name, sizeof name, MSG_ERRQUEUE));

    /* Read the queue first: so_error goes with it. */
    CHECK(N("sendto_closed2"), sendto(u, "payload2", 8, 0, to, tolen));
    wait_err(N("poll_after_icmp2"), u);
    read_err(N("err2"), u, port);
    SHOW(N("so_error_after_read"), "%s", posix_errname(so_error(u)));

    /* A plain recv() reports the pending error first, then the queue
     * still holds the entry. */
    CHECK(N("sendto_closed3"), sendto(u, "payload3", 8, 0, to, tolen));
    wait_err(N("poll_after_icmp3"), u);
    CHECK(N("recv_pending"), recv(u, name, sizeof name, MSG_DONTWAIT));
    CHECK(N("recv_after"), recv(u, name, sizeof name, MSG_DONTWAIT));
    read_err(N("err3"), u, port);

    /* A short buffer: the data is cut and says so. */
    CHECK(N("sendto_closed4"), sendto(u, "payload4", 8, 0, to, tolen));
    wait_err(N("poll_after_icmp4"), u);
    char small[3];
    struct iovec iov = {small, sizeof small};
    char cbuf[16];
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                       .msg_controllen = sizeof cbuf};
    CHECK(N("errqueue_short"), recvmsg(u, &m, MSG_ERRQUEUE));
    SHOW(N("errqueue_short_flags"), "trunc=%d ctrunc=%d data='%.3s'",
         !!(m.msg_flags & MSG_TRUNC), !!(m.msg_flags & MSG_CTRUNC), small);

    /* A pending error fails the next send (sock_alloc_send_skb). */
    CHECK(N("sendto_closed5"), sendto(u, "payload5", 8, 0, to, tolen));
    wait_err(N("poll_after_icmp5"), u);
    CHECK(N("sendto_pending"), sendto(u, "payload6", 8, 0, to, tolen));
    SHOW(N("so_error_after_send"), "%s", posix_errname(so_error(u)));
    read_err(N("err5"), u, port);
    close(ep);

    /* Without IP_RECVERR a connected socket gets so_error alone. */
    int c = socket(family, SOCK_DGRAM, 0);
    CHECK(N("connect"), connect(c, to, tolen));
    CHECK(N("send_connected"), send(c, "conn", 4, 0));
    wait_err(N("poll_connected"), c);
    CHECK(N("errqueue_connected"), recv(c, name, sizeof name, MSG_ERRQUEUE));
    CHECK(N("recv_connected"), recv(c, name, sizeof name, MSG_DONTWAIT));
    poll_now(N("poll_connected_after"), c);
    close(c);
    close(u);
    close(quiet);
#undef N
}

/* A raw IPPROTO_UDP socket (root only) gets the error about its own
 * datagram: the quote from the UDP header on. */
static void raw_case(void)
{
    int r = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
    if (r < 0) {
        SHOW("raw_skipped_not_root", "1");
        return;
    }
    int one = 1;
    CHECK("raw_set_recverr", setsockopt(r, SOL_IP, IP_RECVERR, &one, sizeof one));
    uint16_t port = closed_port(AF_INET);
    uint8_t d[16] = {0x9c, 0x41, (uint8_t)(port >> 8), (uint8_t)port, 0, 16, 0, 0,
                     'r', 'a', 'w', 'p', 'a', 'y', 'l', 'd'};
    struct sockaddr_in to = sin_lo(0);
    CHECK("raw_sendto", sendto(r, d, sizeof d, 0, SA(&to), sizeof to));
    /* Its own datagram comes back first (a raw UDP socket sees UDP). */
    wait_err("raw_poll", r);
    char buf[128];
    long n = CHECK("raw_recv_own", recv(r, buf, sizeof buf, MSG_DONTWAIT));
    SHOW("raw_recv_own_is_ip", "%d", n >= 20 && (buf[0] >> 4) == 4);
    read_err("raw_err", r, 0);
    close(r);
}

int main(void)
{
    posix_init();
    udp_case(AF_INET);
    udp_case(AF_INET6);
    raw_case();
    return 0;
}
