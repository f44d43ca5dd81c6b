/* TCP error cases: refused connects, EISCONN/EALREADY, bind errors, calls on
 * unconnected/closed sockets, RST handling, SIGPIPE, bad socket() args. */
#include "posix.h"

static volatile sig_atomic_t sigpipe_count;

static void on_sigpipe(int sig)
{
    (void)sig;
    sigpipe_count++;
}

static void show_so_error(const char *name, int fd)
{
    int v = -1;
    socklen_t l = sizeof v;
    errno = 0;
    int r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &l);
    int e = errno;
    if (r < 0)
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(e));
    else
        printf("%s: ret=0 so_error=%s len=%u\n", name, posix_errname(v), (unsigned)l);
}

/* A connected pair whose server side has been closed with SO_LINGER{1,0}
 * (so it sends an RST); waits until the client has processed the RST. */
static int reset_client(int lfd, uint16_t lport)
{
    int c, s;
    tcp_pair(lfd, lport, &c, &s);
    struct linger lg = {1, 0};
    if (setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0)
        FATAL("SO_LINGER");
    close(s);
    struct pollfd p = {c, POLLIN, 0};
    poll(&p, 1, 2000);
    sleep_ms(100);
    return c;
}

int main(void)
{
    posix_init();
    char buf[64];
    struct sockaddr_in a;
    socklen_t len;
    int one = 1;

    uint16_t lport;
    int lfd = tcp_listener(&lport, 16);

    /* A bound but not listening socket: a port on which connects are refused
     * (and which nobody else can grab while we hold it). */
    int closed = socket(AF_INET, SOCK_STREAM, 0);
    a = sin_lo(0);
    if (bind(closed, SA(&a), sizeof a) != 0)
        FATAL("bind closed");
    uint16_t cport = local_port(closed);

    /* --- connect errors --- */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    a = sin_lo(cport);
    CHECK("connect_refused_blocking", connect(s, SA(&a), sizeof a));
    show_so_error("so_error_after_refused_blocking", s);
    CHECK("connect_refused_retry", connect(s, SA(&a), sizeof a));
    len = sizeof a;
    CHECK("getpeername_after_refused", getpeername(s, SA(&a), &len));
    close(s);

    s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    a = sin_lo(cport);
    CHECK("connect_refused_nonblock", connect(s, SA(&a), sizeof a));
    show_poll("poll_refused_nonblock", s, POLLOUT, 2000);
    show_so_error("so_error_refused_nonblock", s);
    show_so_error("so_error_refused_nonblock_cleared", s);
    close(s);

    s = socket(AF_INET, SOCK_STREAM, 0);
    a = sin_lo(lport);
    CHECK("connect", connect(s, SA(&a), sizeof a));
    CHECK("connect_again_eisconn", connect(s, SA(&a), sizeof a));
    struct sockaddr_in other = sin_lo(cport);
    CHECK("connect_other_eisconn", connect(s, SA(&other), sizeof other));
    CHECK("listen_on_connected", listen(s, 1));
    CHECK("accept_on_connected", accept(s, NULL, NULL));
    int s_acc = accept(lfd, NULL, NULL);
    close(s);
    close(s_acc);

    /* Nonblocking connect whose handshake cannot complete: the listener's
     * accept queue is full (backlog 0, one connection queued), so the SYN is
     * dropped and the socket stays in SYN_SENT -> second connect EALREADY. */
    {
        uint16_t fport;
        int full = tcp_listener(&fport, 0);
        int q1 = tcp_connect(fport);
        sleep_ms(20);
        int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        a = sin_lo(fport);
        CHECK("connect_nonblock_queue_full", connect(nb, SA(&a), sizeof a));
        CHECK("connect_nonblock_queue_full_again", connect(nb, SA(&a), sizeof a));
        show_poll("poll_syn_sent", nb, POLLIN | POLLOUT, 100);
        len = sizeof a;
        CHECK("getpeername_syn_sent", getpeername(nb, SA(&a), &len));
        CHECK("recv_syn_sent", recv(nb, buf, sizeof buf, 0));
        CHECK("send_syn_sent", send(nb, "x", 1, MSG_NOSIGNAL));
        show_so_error("so_error_syn_sent", nb);
        close(nb);
        close(q1);
        close(full);
    }

    /* Nonblocking connect to a live listener, then connect again immediately:
     * Linux returns 0 (handshake already done on loopback) or EALREADY
     * (still in SYN_SENT); both are correct, so print the normalised outcome. */
    {
        int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        a = sin_lo(lport);
        errno = 0;
        int r1 = connect(nb, SA(&a), sizeof a);
        int e1 = errno;
        SHOW("connect_nonblock_live", "ret0_or_einprogress=%d",
             r1 == 0 || (r1 == -1 && e1 == EINPROGRESS));
        errno = 0;
        int r2 = connect(nb, SA(&a), sizeof a);
        int e2 = errno;
        SHOW("connect_nonblock_live_again", "ok_or_ealready_or_eisconn=%d",
             r2 == 0 || (r2 == -1 && (e2 == EALREADY || e2 == EISCONN)));
        show_poll("poll_connect_nonblock_live", nb, POLLOUT, 2000);
        show_so_error("so_error_connect_nonblock_live", nb);
        /* after completion has been observed, another connect is EISCONN */
        if (r2 == -1 && e2 == EALREADY)
            connect(nb, SA(&a), sizeof a);
        CHECK("connect_nonblock_live_third", connect(nb, SA(&a), sizeof a));
        int acc = accept(lfd, NULL, NULL);
        close(acc);
        close(nb);
    }

    /* connect argument errors */
    s = socket(AF_INET, SOCK_STREAM, 0);
    a = sin_lo(lport);
    CHECK("connect_short_len", connect(s, SA(&a), 8));
    CHECK("connect_null_addr", connect(s, NULL, sizeof a));
    {
        struct sockaddr_in6 a6;
        memset(&a6, 0, sizeof a6);
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons(lport);
        CHECK("connect_af_inet6", connect(s, SA(&a6), sizeof a6));
    }
    close(s);

    /* --- bind errors --- */
    s = socket(AF_INET, SOCK_STREAM, 0);
    a = sin_lo(0);
    CHECK("bind", bind(s, SA(&a), sizeof a));
    a = sin_lo(0);
    CHECK("bind_twice", bind(s, SA(&a), sizeof a));
    close(s);

    s = socket(AF_INET, SOCK_STREAM, 0);
    a = sin_lo(lport);
    CHECK("bind_listener_port", bind(s, SA(&a), sizeof a));
    close(s);
    s = socket(AF_INET, SOCK_STREAM, 0);
    CHECK("setsockopt_reuseaddr", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
    a = sin_lo(lport);
    CHECK("bind_listener_port_reuseaddr", bind(s, SA(&a), sizeof a));
    close(s);
    s = socket(AF_INET, SOCK_STREAM, 0);
    a = sin_lo(cport);
    CHECK("bind_bound_port", bind(s, SA(&a), sizeof a));
    close(s);

    s = socket(AF_INET, SOCK_STREAM, 0);
    a = sin_addr4("198.18.99.99", 0);
    CHECK("bind_nonlocal_addr", bind(s, SA(&a), sizeof a));
    {
        struct sockaddr_in6 a6;
        memset(&a6, 0, sizeof a6);
        a6.sin6_family = AF_INET6;
        CHECK("bind_af_inet6", bind(s, SA(&a6), sizeof a6));
    }
    a = sin_lo(0);
    CHECK("bind_len_3", bind(s, SA(&a), 3));
    CHECK("bind_null_addr", bind(s, NULL, sizeof a));
    CHECK("bind_null_addr_len0", bind(s, NULL, 0));
    {
        struct sockaddr_in u;
        memset(&u, 0, sizeof u);
        u.sin_family = AF_UNSPEC; /* Linux accepts AF_UNSPEC + INADDR_ANY */
        CHECK("bind_af_unspec_any", bind(s, SA(&u), sizeof u));
    }
    close(s);
    s = socket(AF_INET, SOCK_STREAM, 0);
    {
        struct sockaddr_in u = sin_lo(0);
        u.sin_family = AF_UNSPEC;
        CHECK("bind_af_unspec_loopback", bind(s, SA(&u), sizeof u));
    }
    a = sin_lo(0);
    CHECK("bind_len_large", bind(s, SA(&a), 64));
    close(s);

    /* --- calls on unconnected sockets --- */
    s = socket(AF_INET, SOCK_STREAM, 0);
    CHECK("recv_unconnected", recv(s, buf, sizeof buf, 0));
    CHECK("read_unconnected", read(s, buf, sizeof buf));
    CHECK("send_unconnected", send(s, "x", 1, MSG_NOSIGNAL));
    len = sizeof a;
    CHECK("getpeername_unconnected", getpeername(s, SA(&a), &len));
    CHECK("shutdown_unconnected", shutdown(s, SHUT_RDWR));
    CHECK("accept_unlistening", accept(s, NULL, NULL));
    len = sizeof a;
    memset(&a, 0xff, sizeof a);
    CHECK("getsockname_unbound", getsockname(s, SA(&a), &len));
    SHOW("getsockname_unbound_addr", "len=%u family_inet=%d ip_any=%d port_zero=%d",
         (unsigned)len, a.sin_family == AF_INET, a.sin_addr.s_addr == htonl(INADDR_ANY),
         a.sin_port == 0);
    show_poll("poll_unconnected", s, POLLIN | POLLOUT, 0);
    CHECK("listen_unbound_autobind", listen(s, 1));
    SHOW("listen_unbound_port_nonzero", "%d", local_port(s) != 0);
    close(s);

    /* --- no data: EAGAIN --- */
    {
        int c, sv;
        tcp_pair(lfd, lport, &c, &sv);
        int fl = fcntl(c, F_GETFL);
        fcntl(c, F_SETFL, fl | O_NONBLOCK);
        CHECK("recv_nonblock_nodata", recv(c, buf, sizeof buf, 0));
        CHECK("read_nonblock_nodata", read(c, buf, sizeof buf));
        fcntl(c, F_SETFL, fl);
        CHECK("recv_dontwait_nodata", recv(c, buf, sizeof buf, MSG_DONTWAIT));
        CHECK("recv_bad_flag_oob", recv(c, buf, sizeof buf, MSG_OOB));
        CHECK("send_bad_buf", send(c, NULL, 10, MSG_NOSIGNAL));
        CHECK("recv_bad_buf_dontwait", recv(c, NULL, 10, MSG_DONTWAIT));
        close(c);
        close(sv);
    }

    /* --- peer reset (SO_LINGER {1,0}) --- */
    {
        int c = reset_client(lfd, lport);
        show_poll("poll_after_rst", c, POLLIN | POLLOUT, 0);
        int first = 0, second = 0;
        for (int i = 0; i < 5; i++) {
            errno = 0;
            ssize_t r = send(c, "data", 4, MSG_NOSIGNAL);
            if (r < 0) {
                if (!first)
                    first = errno;
                else if (!second) {
                    second = errno;
                    break;
                }
            }
            sleep_ms(100);
        }
        SHOW("send_after_rst_first_error", "%s", posix_errname(first));
        SHOW("send_after_rst_second_error", "%s", posix_errname(second));
        CHECK("recv_after_rst_and_sends", recv(c, buf, sizeof buf, 0));
        close(c);

        c = reset_client(lfd, lport);
        CHECK("recv_after_rst", recv(c, buf, sizeof buf, 0));
        CHECK("recv_after_rst_again", recv(c, buf, sizeof buf, 0));
        show_so_error("so_error_after_rst_recv", c);
        len = sizeof a;
        CHECK("getpeername_after_rst", getpeername(c, SA(&a), &len));
        close(c);

        c = reset_client(lfd, lport);
        show_so_error("so_error_after_rst", c);
        CHECK("send_after_rst_so_error_read", send(c, "x", 1, MSG_NOSIGNAL));
        close(c);

        /* SIGPIPE when writing to a reset connection without MSG_NOSIGNAL */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigpipe;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGPIPE, &sa, NULL);
        c = reset_client(lfd, lport);
        int last = 0;
        for (int i = 0; i < 5 && sigpipe_count == 0; i++) {
            errno = 0;
            if (write(c, "data", 4) < 0)
                last = errno;
            sleep_ms(20);
        }
        SHOW("sigpipe_delivered", "%d last_errno=%s", sigpipe_count > 0, posix_errname(last));
        int before = sigpipe_count;
        CHECK("send_nosignal_no_sigpipe", send(c, "d", 1, MSG_NOSIGNAL));
        SHOW("sigpipe_not_delivered_with_nosignal", "%d", sigpipe_count == before);
        close(c);
        /* SIGPIPE on an orderly shutdown(SHUT_WR) too */
        int c2, s2;
        tcp_pair(lfd, lport, &c2, &s2);
        shutdown(c2, SHUT_WR);
        before = sigpipe_count;
        CHECK("send_after_shutdown_wr_sigpipe", send(c2, "x", 1, 0));
        SHOW("sigpipe_after_shutdown_wr", "%d", sigpipe_count == before + 1);
        close(c2);
        close(s2);
        signal(SIGPIPE, SIG_DFL);
    }

    /* --- closed / bad fds --- */
    {
        int c, sv;
        tcp_pair(lfd, lport, &c, &sv);
        close(sv);
        CHECK("close", close(c));
        CHECK("send_closed_fd", send(c, "x", 1, MSG_NOSIGNAL));
        CHECK("recv_closed_fd", recv(c, buf, sizeof buf, 0));
        CHECK("write_closed_fd", write(c, "x", 1));
        CHECK("read_closed_fd", read(c, buf, sizeof buf));
        a = sin_lo(0);
        CHECK("bind_closed_fd", bind(c, SA(&a), sizeof a));
        CHECK("listen_closed_fd", listen(c, 1));
        CHECK("connect_closed_fd", connect(c, SA(&a), sizeof a));
        int v;
        len = sizeof v;
        CHECK("getsockopt_closed_fd", getsockopt(c, SOL_SOCKET, SO_ERROR, &v, &len));
        CHECK("shutdown_closed_fd", shutdown(c, SHUT_RDWR));
        CHECK("close_closed_fd", close(c));
        CHECK("send_fd_minus1", send(-1, "x", 1, MSG_NOSIGNAL));
        CHECK("close_fd_minus1", close(-1));
        len = sizeof a;
        CHECK("getsockname_fd_99999", getsockname(99999, SA(&a), &len));
    }

    /* --- not a socket --- */
    {
        int p[2];
        if (pipe(p) != 0)
            FATAL("pipe");
        CHECK("send_on_pipe", send(p[1], "x", 1, MSG_NOSIGNAL));
        CHECK("recv_on_pipe", recv(p[0], buf, sizeof buf, MSG_DONTWAIT));
        a = sin_lo(0);
        CHECK("bind_on_pipe", bind(p[0], SA(&a), sizeof a));
        CHECK("connect_on_pipe", connect(p[0], SA(&a), sizeof a));
        CHECK("listen_on_pipe", listen(p[0], 1));
        CHECK("accept_on_pipe", accept(p[0], NULL, NULL));
        CHECK("shutdown_on_pipe", shutdown(p[0], SHUT_RD));
        int v;
        len = sizeof v;
        CHECK("getsockopt_on_pipe", getsockopt(p[0], SOL_SOCKET, SO_TYPE, &v, &len));
        len = sizeof a;
        CHECK("getsockname_on_pipe", getsockname(p[0], SA(&a), &len));
        CHECK("write_on_pipe", write(p[1], "ab", 2));
        CHECK("read_on_pipe", read(p[0], buf, sizeof buf));
        close(p[0]);
        close(p[1]);
    }

    /* --- socket() argument errors --- */
    CHECK_FD("socket_stream_proto_udp", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
    CHECK_FD("socket_dgram_proto_tcp", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
    CHECK_FD("socket_bad_type", socket(AF_INET, 99, 0));
    CHECK_FD("socket_bad_flags", socket(AF_INET, SOCK_STREAM | 0x40000000, 0));
    CHECK_FD("socket_bad_domain", socket(12345, SOCK_STREAM, 0));
    int t = (int)CHECK_FD("socket_stream_proto_tcp", socket(AF_INET, SOCK_STREAM, IPPROTO_TCP));
    close(t);
    t = (int)CHECK_FD("socket_dgram_proto_udp", socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP));
    close(t);

    close(closed);
    close(lfd);
    return 0;
}
