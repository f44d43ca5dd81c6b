/* TCP basics: socket/bind/listen/connect/accept/accept4, names, data paths
 * (send/recv, read/write, readv/writev, sendmsg/recvmsg), shutdown, close. */
#include "posix.h"

static void show_fdflags(const char *name, int fd)
{
    int fl = fcntl(fd, F_GETFL);
    int fdf = fcntl(fd, F_GETFD);
    printf("%s: accmode_rdwr=%d nonblock=%d cloexec=%d\n", name,
           fl >= 0 && (fl & O_ACCMODE) == O_RDWR, fl >= 0 && (fl & O_NONBLOCK) != 0,
           fdf >= 0 && (fdf & FD_CLOEXEC) != 0);
}

int main(void)
{
    posix_init();
    char buf[256];
    struct sockaddr_in a;
    socklen_t len;

    /* listener */
    int lfd = (int)CHECK_FD("socket", socket(AF_INET, SOCK_STREAM, 0));
    if (lfd < 0)
        FATAL("socket");
    a = sin_lo(0);
    CHECK("bind", bind(lfd, SA(&a), sizeof a));
    len = sizeof a;
    memset(&a, 0, sizeof a);
    CHECK("getsockname_listener", getsockname(lfd, SA(&a), &len));
    show_addr("listener_addr", &a, len, 0);
    uint16_t lport = ntohs(a.sin_port);
    CHECK("listen", listen(lfd, 8));
    CHECK("listen_again", listen(lfd, 16));
    len = sizeof a;
    CHECK("getpeername_listener", getpeername(lfd, SA(&a), &len));
    show_poll("poll_listener_idle", lfd, POLLIN, 0);

    /* client connect + accept */
    int c1 = (int)CHECK_FD("socket_client", socket(AF_INET, SOCK_STREAM, 0));
    a = sin_lo(lport);
    CHECK("connect", connect(c1, SA(&a), sizeof a));
    show_poll("poll_listener_pending", lfd, POLLIN, 1000);
    uint16_t c1port = local_port(c1);
    memset(&a, 0, sizeof a);
    len = sizeof a;
    int s1 = (int)CHECK_FD("accept", accept(lfd, SA(&a), &len));
    show_addr("accept_peer_addr", &a, len, c1port);
    show_fdflags("accept_flags", s1);

    len = sizeof a;
    CHECK("getsockname_client", getsockname(c1, SA(&a), &len));
    show_addr("client_local", &a, len, 0);
    SHOW("client_port_differs_from_listener", "%d", ntohs(a.sin_port) != lport);
    len = sizeof a;
    CHECK("getpeername_client", getpeername(c1, SA(&a), &len));
    show_addr("client_peer", &a, len, lport);
    len = sizeof a;
    CHECK("getsockname_accepted", getsockname(s1, SA(&a), &len));
    show_addr("accepted_local", &a, len, lport);
    len = sizeof a;
    CHECK("getpeername_accepted", getpeername(s1, SA(&a), &len));
    show_addr("accepted_peer", &a, len, c1port);
    /* short address buffer: truncated, len reports the full size */
    {
        char small[4] = {0};
        len = sizeof small;
        CHECK("getsockname_short_buf", getsockname(c1, SA(small), &len));
        sa_family_t fam;
        memcpy(&fam, small, sizeof fam);
        SHOW("getsockname_short_len", "%u family_ok=%d", (unsigned)len, fam == AF_INET);
    }
    show_fdflags("client_flags", c1);
    show_poll("poll_client_writable", c1, POLLIN | POLLOUT, 0);

    /* accept4 with NONBLOCK|CLOEXEC, and accept4 with 0 */
    int c2 = tcp_connect(lport);
    int s2 = (int)CHECK_FD("accept4_nonblock_cloexec",
                           accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC));
    show_fdflags("accept4_flags", s2);
    CHECK("accept4_recv_nodata", recv(s2, buf, sizeof buf, 0));
    int c3 = tcp_connect(lport);
    int s3 = (int)CHECK_FD("accept4_zero", accept4(lfd, NULL, NULL, 0));
    show_fdflags("accept4_zero_flags", s3);
    int c4 = tcp_connect(lport);
    CHECK("accept4_bad_flags", accept4(lfd, NULL, NULL, 0x40000000));
    int s4 = (int)CHECK_FD("accept_after_bad_flags", accept(lfd, NULL, NULL));
    /* listener nonblocking: no pending -> EAGAIN */
    int lflags = fcntl(lfd, F_GETFL);
    fcntl(lfd, F_SETFL, lflags | O_NONBLOCK);
    CHECK("accept_nonblock_empty", accept(lfd, NULL, NULL));
    fcntl(lfd, F_SETFL, lflags);

    /* send/recv */
    CHECK("send", send(c1, "hello", 5, 0));
    wait_avail(s1, 5, 2000);
    show_poll("poll_readable", s1, POLLIN, 0);
    memset(buf, 0, sizeof buf);
    CHECK("recv", recv(s1, buf, sizeof buf, 0));
    SHOW("recv_data", "'%s'", buf);
    CHECK("send_zero_len", send(c1, "", 0, 0));
    CHECK("recv_zero_len", recv(s1, buf, 0, MSG_DONTWAIT));

    /* write/read */
    CHECK("write", write(s1, "world!", 6));
    wait_avail(c1, 6, 2000);
    memset(buf, 0, sizeof buf);
    CHECK("read", read(c1, buf, sizeof buf));
    SHOW("read_data", "'%s'", buf);

    /* writev/readv */
    {
        struct iovec wv[3] = {{"ab", 2}, {"cde", 3}, {"f", 1}};
        CHECK("writev", writev(c1, wv, 3));
        wait_avail(s1, 6, 2000);
        char r1[4] = {0}, r2[16] = {0};
        struct iovec rv[2] = {{r1, 3}, {r2, 10}};
        CHECK("readv", readv(s1, rv, 2));
        SHOW("readv_data", "'%s' '%s'", r1, r2);
        struct iovec ev[1] = {{NULL, 0}};
        CHECK("writev_empty", writev(c1, ev, 1));
    }

    /* sendmsg/recvmsg */
    {
        struct iovec wv[2] = {{"xy", 2}, {"z123", 4}};
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = wv;
        m.msg_iovlen = 2;
        CHECK("sendmsg", sendmsg(s1, &m, 0));
        wait_avail(c1, 6, 2000);
        char r1[8] = {0}, r2[8] = {0};
        struct iovec rv[2] = {{r1, 4}, {r2, 7}};
        struct sockaddr_in from;
        memset(&from, 0xaa, sizeof from);
        memset(&m, 0, sizeof m);
        m.msg_name = &from;
        m.msg_namelen = sizeof from;
        m.msg_iov = rv;
        m.msg_iovlen = 2;
        CHECK("recvmsg", recvmsg(c1, &m, 0));
        SHOW("recvmsg_data", "'%s' '%s' flags=%d namelen=%u", r1, r2, m.msg_flags,
             (unsigned)m.msg_namelen);
        /* sendmsg with a destination address on a connected TCP socket */
        struct sockaddr_in dst = sin_lo(lport);
        struct iovec v1 = {"Q", 1};
        memset(&m, 0, sizeof m);
        m.msg_name = &dst;
        m.msg_namelen = sizeof dst;
        m.msg_iov = &v1;
        m.msg_iovlen = 1;
        CHECK("sendmsg_with_name", sendmsg(c1, &m, 0));
        wait_avail(s1, 1, 2000);
        memset(buf, 0, sizeof buf);
        CHECK("recv_after_sendmsg_with_name", recv(s1, buf, sizeof buf, 0));
        SHOW("recv_after_sendmsg_with_name_data", "'%s'", buf);
    }

    /* sendto/recvfrom on TCP (address ignored/not filled) */
    {
        struct sockaddr_in other = sin_lo(9);
        CHECK("sendto_connected_tcp", sendto(c1, "to", 2, 0, SA(&other), sizeof other));
        wait_avail(s1, 2, 2000);
        struct sockaddr_in from;
        memset(&from, 0, sizeof from);
        socklen_t fl = sizeof from;
        memset(buf, 0, sizeof buf);
        CHECK("recvfrom_tcp", recvfrom(s1, buf, sizeof buf, 0, SA(&from), &fl));
        SHOW("recvfrom_tcp_data", "'%s' fromlen=%u", buf, (unsigned)fl);
    }

    /* a larger transfer both ways */
    {
        static char big[65536], rb[65536];
        for (size_t i = 0; i < sizeof big; i++)
            big[i] = (char)(i * 7 + 3);
        CHECK("send_all_64k", send_all(c1, big, sizeof big));
        memset(rb, 0, sizeof rb);
        CHECK("recv_all_64k", recv_all(s1, rb, sizeof rb));
        SHOW("data_64k_match", "%d", memcmp(big, rb, sizeof big) == 0);
    }

    /* shutdown(SHUT_WR): peer sees EOF, reverse direction still works */
    CHECK("shutdown_wr", shutdown(c1, SHUT_WR));
    show_poll("poll_peer_after_shutdown_wr", s1, POLLIN | POLLOUT | POLLRDHUP, 1000);
    CHECK("recv_eof", recv(s1, buf, sizeof buf, 0));
    CHECK("recv_eof_again", recv(s1, buf, sizeof buf, 0));
    CHECK("send_after_own_shutdown_wr", send(c1, "x", 1, MSG_NOSIGNAL));
    CHECK("send_reverse", send(s1, "bye", 3, 0));
    wait_avail(c1, 3, 2000);
    memset(buf, 0, sizeof buf);
    CHECK("recv_reverse", recv(c1, buf, sizeof buf, 0));
    SHOW("recv_reverse_data", "'%s'", buf);
    CHECK("shutdown_wr_again", shutdown(c1, SHUT_WR));
    CHECK("shutdown_bad_how", shutdown(c1, 7));
    CHECK("close_accepted", close(s1));
    show_poll("poll_after_peer_close", c1, POLLIN | POLLRDHUP, 1000);
    CHECK("recv_eof_after_peer_close", recv(c1, buf, sizeof buf, 0));
    CHECK("close_client", close(c1));

    /* shutdown(SHUT_RD) on own side: recv returns 0 immediately */
    CHECK("shutdown_rd", shutdown(c2, SHUT_RD));
    CHECK("recv_after_shutdown_rd", recv(c2, buf, sizeof buf, 0));
    CHECK("send_after_shutdown_rd", send(c2, "ok", 2, 0));
    wait_avail(s2, 2, 2000);
    memset(buf, 0, sizeof buf);
    CHECK("peer_recv_after_shutdown_rd", recv(s2, buf, sizeof buf, 0));
    SHOW("peer_recv_after_shutdown_rd_data", "'%s'", buf);

    /* shutdown(SHUT_RDWR) */
    CHECK("shutdown_rdwr", shutdown(c3, SHUT_RDWR));
    {
        struct pollfd p = {s3, POLLIN, 0};
        poll(&p, 1, 1000);
    }
    CHECK("peer_recv_after_shutdown_rdwr", recv(s3, buf, sizeof buf, 0));

    CHECK("close_c2", close(c2));
    CHECK("close_s2", close(s2));
    CHECK("close_c3", close(c3));
    CHECK("close_s3", close(s3));
    CHECK("close_c4", close(c4));
    CHECK("close_s4", close(s4));
    CHECK("close_listener", close(lfd));
    CHECK("close_twice", close(lfd));

    /* rebinding a port right after close with SO_REUSEADDR works */
    {
        int r = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        CHECK("setsockopt_reuseaddr", setsockopt(r, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
        a = sin_lo(lport);
        CHECK("rebind_closed_listener_port", bind(r, SA(&a), sizeof a));
        CHECK("relisten", listen(r, 1));
        close(r);
    }
    return 0;
}
