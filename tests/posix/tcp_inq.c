/* TCP_INQ: the option, and the control message recvmsg() gives with it
 * (SOL_TCP, TCP_CM_INQ: the bytes left to read after this call, 1 at the
 * end of the stream), with a peek, a short control buffer, a plain recv(),
 * after the peer's FIN, and on a socket accepted from a listener that has
 * the option. */
#include "posix.h"

#include <netinet/tcp.h>

static void show_inq_opt(const char *name, int fd)
{
    int v = -1;
    socklen_t l = sizeof v;
    errno = 0;
    if (getsockopt(fd, SOL_TCP, TCP_INQ, &v, &l) < 0)
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(errno));
    else
        printf("%s: ret=0 value=%d\n", name, v);
}

/* recvmsg of up to `want` bytes with `room` bytes of control buffer. */
static void recv_inq(const char *name, int fd, size_t want, size_t room, int flags)
{
    char data[256], ctl[64];
    struct iovec iov = {data, want};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = room > 0 ? ctl : NULL;
    m.msg_controllen = room;
    errno = 0;
    ssize_t n = recvmsg(fd, &m, flags | MSG_DONTWAIT);
    if (n < 0) {
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(errno));
        return;
    }
    printf("%s: ret=%zd controllen=%zu ctrunc=%d\n", name, n, (size_t)m.msg_controllen,
           (m.msg_flags & MSG_CTRUNC) != 0);
    if (room == 0)
        return;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
        int v = -1;
        if (c->cmsg_len >= CMSG_LEN(sizeof v))
            memcpy(&v, CMSG_DATA(c), sizeof v);
        printf("%s_cmsg: level=%d type=%d len=%zu value=%d\n", name, c->cmsg_level, c->cmsg_type,
               (size_t)c->cmsg_len, v);
    }
}

int main(void)
{
    posix_init();
    uint16_t port;
    int lfd = tcp_listener(&port, 4);
    int c, s;
    tcp_pair(lfd, port, &c, &s);
    show_inq_opt("inq_default", s);

    /* Without the option: no control message. */
    send_all(c, "0123456789", 10);
    wait_avail(s, 10, 2000);
    recv_inq("recv_no_inq", s, 4, 64, 0);
    recv_inq("recv_no_inq_rest", s, 64, 64, 0);

    int one = 1, two = 2, zero = 0;
    CHECK("set_inq_two", setsockopt(s, SOL_TCP, TCP_INQ, &two, sizeof two));
    CHECK("set_inq_short", setsockopt(s, SOL_TCP, TCP_INQ, &one, 1));
    CHECK("set_inq", setsockopt(s, SOL_TCP, TCP_INQ, &one, sizeof one));
    show_inq_opt("inq_set", s);

    send_all(c, "abcdefghijklmnopqrst", 20);
    wait_avail(s, 20, 2000);
    recv_inq("peek_4", s, 4, 64, MSG_PEEK);
    recv_inq("recv_4", s, 4, 64, 0);
    recv_inq("recv_6_short_ctl", s, 6, CMSG_LEN(0), 0);
    recv_inq("recv_4_no_ctl", s, 4, 0, 0);
    recv_inq("recv_rest", s, 64, 64, 0);
    recv_inq("recv_empty", s, 64, 64, 0);

    /* The peer's FIN: nothing left, but the hint says 1 so the reader
     * comes back for the end. */
    send_all(c, "xyz", 3);
    shutdown(c, SHUT_WR);
    wait_avail(s, 3, 2000);
    sleep_ms(50);
    recv_inq("recv_before_fin", s, 64, 64, 0);
    recv_inq("recv_eof", s, 64, 64, 0);

    CHECK("clear_inq", setsockopt(s, SOL_TCP, TCP_INQ, &zero, sizeof zero));
    show_inq_opt("inq_cleared", s);
    close(c);
    close(s);

    /* An accepted socket takes the listener's option. */
    CHECK("set_inq_listener", setsockopt(lfd, SOL_TCP, TCP_INQ, &one, sizeof one));
    tcp_pair(lfd, port, &c, &s);
    show_inq_opt("inq_accepted", s);
    send_all(c, "hello", 5);
    wait_avail(s, 5, 2000);
    recv_inq("accepted_recv_2", s, 2, 64, 0);
    close(c);
    close(s);
    close(lfd);
    return 0;
}
