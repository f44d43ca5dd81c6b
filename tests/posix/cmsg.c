/* Ancillary data of recvmsg/sendmsg on UDP and TCP sockets: IP_PKTINFO,
 * IP_RECVTTL, IP_RECVTOS, SO_TIMESTAMP and SO_TIMESTAMPNS on received
 * datagrams (order, lengths, values), truncation (MSG_CTRUNC), and what
 * a TCP socket gives and takes. */
#include "posix.h"

static long realtime_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

static void show_opt(const char *name, int fd, int level, int opt)
{
    int v = -1;
    socklen_t l = sizeof v;
    errno = 0;
    if (getsockopt(fd, level, opt, &v, &l) < 0)
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(errno));
    else
        printf("%s: ret=0 value=%d\n", name, v);
}

static void set_opt(const char *name, int fd, int level, int opt, int v)
{
    CHECK(name, setsockopt(fd, level, opt, &v, sizeof v));
}

/* recvmsg with `room` bytes of control buffer; prints every message. */
static void recv_cmsgs(const char *name, int fd, size_t room)
{
    char data[64], ctl[512];
    struct iovec iov = {data, sizeof data};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = room > 0 ? ctl : NULL;
    m.msg_controllen = room;
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, 1, 2000);
    errno = 0;
    ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
    if (n < 0) {
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(errno));
        return;
    }
    printf("%s: ret=%zd controllen=%zu ctrunc=%d\n", name, n, (size_t)m.msg_controllen,
           (m.msg_flags & MSG_CTRUNC) != 0);
    if (room == 0)
        return;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
        char line[160];
        int k = snprintf(line, sizeof line, "%s_cmsg: level=%d type=%d len=%zu", name, c->cmsg_level,
                         c->cmsg_type, (size_t)c->cmsg_len);
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof pi);
            char a[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &pi.ipi_addr, a, sizeof a);
            inet_ntop(AF_INET, &pi.ipi_spec_dst, d, sizeof d);
            snprintf(line + k, sizeof line - (size_t)k, " ifindex=%d spec_dst=%s addr=%s", pi.ipi_ifindex, d, a);
        } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL &&
                   c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int v;
            memcpy(&v, CMSG_DATA(c), sizeof v);
            snprintf(line + k, sizeof line - (size_t)k, " ttl=%d", v);
        } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS && c->cmsg_len >= CMSG_LEN(1)) {
            snprintf(line + k, sizeof line - (size_t)k, " tos=%#x", *(unsigned char *)CMSG_DATA(c));
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMP &&
                   c->cmsg_len >= CMSG_LEN(sizeof(struct timeval))) {
            struct timeval tv;
            memcpy(&tv, CMSG_DATA(c), sizeof tv);
            long d = realtime_s() - (long)tv.tv_sec;
            snprintf(line + k, sizeof line - (size_t)k, " time_sane=%d usec_ok=%d", d >= 0 && d < 60,
                     tv.tv_usec >= 0 && tv.tv_usec < 1000000);
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS &&
                   c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            long d = realtime_s() - (long)ts.tv_sec;
            snprintf(line + k, sizeof line - (size_t)k, " time_sane=%d nsec_ok=%d", d >= 0 && d < 60,
                     ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
        }
        printf("%s\n", line);
    }
}

/* send "x" with up to two IP control messages (type 0 = none) of `len`
 * bytes each (1 or sizeof(int)). */
static long send_with(int fd, int t1, int v1, size_t len1, int t2, int v2, size_t len2)
{
    union {
        char buf[2 * CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = {"x", 1};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.buf;
    m.msg_controllen = CMSG_SPACE(len1) + (t2 ? CMSG_SPACE(len2) : 0);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = t1;
    c->cmsg_len = CMSG_LEN(len1);
    if (len1 == 1)
        *CMSG_DATA(c) = (unsigned char)v1;
    else
        memcpy(CMSG_DATA(c), &v1, sizeof v1);
    if (t2) {
        c = CMSG_NXTHDR(&m, c);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = t2;
        c->cmsg_len = CMSG_LEN(len2);
        if (len2 == 1)
            *CMSG_DATA(c) = (unsigned char)v2;
        else
            memcpy(CMSG_DATA(c), &v2, sizeof v2);
    }
    return sendmsg(fd, &m, 0);
}

static long send_pktinfo(int fd, const struct in_pktinfo *pi)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = {"p", 1};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.buf;
    m.msg_controllen = sizeof u.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof *pi);
    memcpy(CMSG_DATA(c), pi, sizeof *pi);
    return sendmsg(fd, &m, 0);
}

int main(void)
{
    posix_init();
    uint16_t pa, pb;
    int ua = udp_bound(&pa), ub = udp_bound(&pb);
    struct sockaddr_in to = sin_lo(pb);

    show_opt("ip_pktinfo_default", ub, IPPROTO_IP, IP_PKTINFO);
    show_opt("ip_recvttl_default", ub, IPPROTO_IP, IP_RECVTTL);
    show_opt("ip_recvtos_default", ub, IPPROTO_IP, IP_RECVTOS);
    show_opt("so_timestamp_default", ub, SOL_SOCKET, SO_TIMESTAMP);
    show_opt("so_timestampns_default", ub, SOL_SOCKET, SO_TIMESTAMPNS);

    /* Nothing asked for: no control messages. */
    sendto(ua, "a", 1, 0, SA(&to), sizeof to);
    recv_cmsgs("recv_none", ub, 512);

    set_opt("set_ip_pktinfo", ub, IPPROTO_IP, IP_PKTINFO, 1);
    set_opt("set_ip_recvttl", ub, IPPROTO_IP, IP_RECVTTL, 1);
    set_opt("set_ip_recvtos", ub, IPPROTO_IP, IP_RECVTOS, 1);
    show_opt("ip_pktinfo_set", ub, IPPROTO_IP, IP_PKTINFO);
    show_opt("ip_recvttl_set", ub, IPPROTO_IP, IP_RECVTTL);
    show_opt("ip_recvtos_set", ub, IPPROTO_IP, IP_RECVTOS);
    set_opt("sender_ip_ttl", ua, IPPROTO_IP, IP_TTL, 9);
    set_opt("sender_ip_tos", ua, IPPROTO_IP, IP_TOS, 0x10);
    sendto(ua, "b", 1, 0, SA(&to), sizeof to);
    recv_cmsgs("recv_ip", ub, 512);

    set_opt("set_so_timestamp", ub, SOL_SOCKET, SO_TIMESTAMP, 1);
    sendto(ua, "c", 1, 0, SA(&to), sizeof to);
    recv_cmsgs("recv_ip_timestamp", ub, 512);
    set_opt("set_so_timestampns", ub, SOL_SOCKET, SO_TIMESTAMPNS, 1);
    show_opt("so_timestamp_after_ns", ub, SOL_SOCKET, SO_TIMESTAMP);
    show_opt("so_timestampns_after_ns", ub, SOL_SOCKET, SO_TIMESTAMPNS);
    sendto(ua, "d", 1, 0, SA(&to), sizeof to);
    recv_cmsgs("recv_ip_timestampns", ub, 512);

    /* Too little room: what fits, and MSG_CTRUNC. */
    sendto(ua, "e", 1, 0, SA(&to), sizeof to);
    recv_cmsgs("recv_room_one", ub, CMSG_SPACE(sizeof(struct timespec)) + 8);
    sendto(ua, "f", 1, 0, SA(&to), sizeof to);
    recv_cmsgs("recv_no_room", ub, 0);

    set_opt("clear_so_timestamp", ub, SOL_SOCKET, SO_TIMESTAMP, 0);
    show_opt("so_timestampns_after_clear", ub, SOL_SOCKET, SO_TIMESTAMPNS);
    set_opt("clear_ip_recvttl", ub, IPPROTO_IP, IP_RECVTTL, 0);
    set_opt("clear_ip_recvtos", ub, IPPROTO_IP, IP_RECVTOS, 0);
    sendto(ua, "g", 1, 0, SA(&to), sizeof to);
    recv_cmsgs("recv_pktinfo_only", ub, 512);
    /* A connected sender and receiver: the same. */
    CHECK("connect_sender", connect(ua, SA(&to), sizeof to));
    send(ua, "h", 1, 0);
    recv_cmsgs("recv_pktinfo_connected", ub, 512);

    /* sendmsg's IP control messages act on that datagram alone. */
    set_opt("set_ip_recvttl_again", ub, IPPROTO_IP, IP_RECVTTL, 1);
    set_opt("set_ip_recvtos_again", ub, IPPROTO_IP, IP_RECVTOS, 1);
    CHECK("sendmsg_ttl_tos", send_with(ua, IP_TTL, 5, sizeof(int), IP_TOS, 0x28, 1));
    recv_cmsgs("recv_sendmsg_ttl_tos", ub, 512);
    CHECK("send_plain_after", send(ua, "i", 1, 0));
    recv_cmsgs("recv_send_plain_after", ub, 512);
    CHECK("sendmsg_tos_int", send_with(ua, IP_TOS, 0x48, sizeof(int), 0, 0, 0));
    recv_cmsgs("recv_sendmsg_tos_int", ub, 512);
    CHECK("sendmsg_ttl_zero", send_with(ua, IP_TTL, 0, sizeof(int), 0, 0, 0));
    CHECK("sendmsg_ttl_short", send_with(ua, IP_TTL, 5, 1, 0, 0, 0));
    CHECK("sendmsg_unknown_ip_type", send_with(ua, IP_RECVERR, 1, sizeof(int), 0, 0, 0));
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    inet_pton(AF_INET, "127.0.0.1", &pi.ipi_spec_dst);
    CHECK("sendmsg_pktinfo_local", send_pktinfo(ua, &pi));
    recv_cmsgs("recv_sendmsg_pktinfo_local", ub, 512);
    inet_pton(AF_INET, "198.18.200.1", &pi.ipi_spec_dst);
    CHECK("sendmsg_pktinfo_foreign", send_pktinfo(ua, &pi));
    inet_pton(AF_INET, "224.0.0.1", &pi.ipi_spec_dst);
    CHECK("sendmsg_pktinfo_group", send_pktinfo(ua, &pi));
    recv_cmsgs("recv_after_pktinfo_refused", ub, 512);

    /* TCP keeps the options but gives no IP control messages. */
    uint16_t port;
    int lfd = tcp_listener(&port, 4);
    int c, s;
    tcp_pair(lfd, port, &c, &s);
    set_opt("tcp_set_ip_pktinfo", s, IPPROTO_IP, IP_PKTINFO, 1);
    show_opt("tcp_ip_pktinfo", s, IPPROTO_IP, IP_PKTINFO);
    set_opt("tcp_set_ip_recvtos", s, IPPROTO_IP, IP_RECVTOS, 1);
    /* sendmsg on TCP passes over IP-level control messages. */
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof cbuf);
    struct iovec iov = {"tcp", 3};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = IPPROTO_IP;
    cm->cmsg_type = IP_TOS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    int tos = 0x20;
    memcpy(CMSG_DATA(cm), &tos, sizeof tos);
    CHECK("tcp_sendmsg_ip_tos_cmsg", sendmsg(c, &m, 0));
    wait_avail(s, 3, 2000);
    recv_cmsgs("tcp_recv", s, 512);
    close(c);
    close(s);
    close(lfd);
    close(ua);
    close(ub);
    return 0;
}
