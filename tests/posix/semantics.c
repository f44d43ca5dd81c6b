/* Socket semantics where ustack once differed from Linux: writes after the
 * peer reset, accept of a connection reset before accept(), a blocking write
 * larger than the send buffer, calls with no iovec, connect(AF_UNSPEC) on
 * TCP, a non-blocking connect asked again after it completed, and the local
 * address of a connected UDP socket. */
#include "posix.h"

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
    (void)sig;
    sigpipes++;
}

/* send() that prints its result and whether it raised SIGPIPE. */
static void send_sig(const char *name, int fd, int flags)
{
    int before = sigpipes;
    errno = 0;
    long r = send(fd, "x", 1, flags);
    int e = errno;
    if (r < 0)
        printf("%s: ret=-1 errno=%s sigpipe=%d\n", name, posix_errname(e), sigpipes - before);
    else
        printf("%s: ret=%ld errno=0 sigpipe=%d\n", name, r, sigpipes - before);
}

/* Wait until fd reports one of `events` (setup, not a check). */
static void wait_for(int fd, short events)
{
    struct pollfd p = {fd, events, 0};
    if (poll(&p, 1, 3000) != 1)
        FATAL("poll for %#x", (unsigned)events);
}

static void show_name(const char *name, int fd)
{
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    memset(&a, 0, sizeof a);
    if (getsockname(fd, SA(&a), &l) != 0)
        FATAL("getsockname");
    show_addr(name, &a, l, 0);
}

struct reader {
    int fd;
    long total;
};

/* Reads slowly until EOF, so the writer meets a full send buffer. */
static void *slow_reader(void *arg)
{
    struct reader *r = arg;
    char buf[1000];
    for (;;) {
        sleep_ms(2);
        ssize_t n = recv(r->fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        r->total += n;
    }
    return NULL;
}

static void *delayed_close(void *arg)
{
    sleep_ms(200);
    close(*(int *)arg);
    return NULL;
}

/* Five bytes after 100 ms and five more after 300: a blocking receiver
 * meets too few bytes first. */
static void *send_later(void *arg)
{
    int fd = *(int *)arg;
    sleep_ms(100);
    send(fd, "abcde", 5, 0);
    sleep_ms(200);
    send(fd, "fghij", 5, 0);
    return NULL;
}

/* SO_RCVLOWAT on TCP: readable (poll) from that many bytes on; a blocking
 * receive waits for them, unless the end, a timeout or a non-blocking
 * call comes first. */
static void rcvlowat(int lfd, uint16_t lport)
{
    char buf[64];
    int c, s;
    tcp_pair(lfd, lport, &c, &s);
    int ten = 10;
    CHECK("rcvlowat_set", setsockopt(s, SOL_SOCKET, SO_RCVLOWAT, &ten, sizeof ten));
    send(c, "12345", 5, 0);
    wait_avail(s, 5, 2000);
    show_poll("rcvlowat_poll_5_of_10", s, POLLIN, 200);
    CHECK("rcvlowat_recv_dontwait_5", recv(s, buf, sizeof buf, MSG_DONTWAIT));
    send(c, "1234567890", 10, 0);
    show_poll("rcvlowat_poll_10_of_10", s, POLLIN, 2000);
    CHECK("rcvlowat_recv_10", recv(s, buf, sizeof buf, 0));
    /* Blocking: one call returns all ten. (Linux wakes a reader only
     * when the queue holds the mark, so the bytes arrive while it waits.) */
    pthread_t t;
    pthread_create(&t, NULL, send_later, &c);
    CHECK("rcvlowat_blocking_recv", recv(s, buf, sizeof buf, 0));
    pthread_join(t, NULL);
    /* A buffer smaller than the mark: that many bytes are enough. */
    send(c, "xyz", 3, 0);
    wait_avail(s, 3, 2000);
    CHECK("rcvlowat_small_buffer", recv(s, buf, 2, 0));
    /* A timeout returns the bytes that came. */
    set_rcvtimeo(s, 200);
    CHECK("rcvlowat_timeout_returns_partial", recv(s, buf, sizeof buf, 0));
    CHECK("rcvlowat_timeout_nothing", recv(s, buf, sizeof buf, 0));
    /* The end makes fewer bytes readable. */
    send(c, "end", 3, 0);
    shutdown(c, SHUT_WR);
    show_poll("rcvlowat_poll_after_fin", s, POLLIN, 2000);
    CHECK("rcvlowat_recv_before_fin", recv(s, buf, sizeof buf, 0));
    CHECK("rcvlowat_recv_eof", recv(s, buf, sizeof buf, 0));
    close(c);
    close(s);
}

static void reset_writes(int lfd, uint16_t lport)
{
    char buf[16];
    /* The peer closes, our write draws its RST: the write after that is
     * EPIPE with SIGPIPE (the RST came in CLOSE_WAIT), and so is the next. */
    int c, s;
    tcp_pair(lfd, lport, &c, &s);
    close(s);
    wait_for(c, POLLIN);
    CHECK("read_eof_after_peer_close", read(c, buf, sizeof buf));
    send_sig("write_after_peer_close", c, 0);
    wait_for(c, POLLERR);
    send_sig("send_after_rst_in_close_wait", c, 0);
    send_sig("send_after_rst_in_close_wait_again", c, 0);
    send_sig("send_after_rst_nosignal", c, MSG_NOSIGNAL);
    close(c);

    /* Reset while established: the error first, without a signal; then
     * EPIPE with SIGPIPE unless MSG_NOSIGNAL. */
    tcp_pair(lfd, lport, &c, &s);
    struct linger lg = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(s);
    wait_for(c, POLLERR);
    send_sig("send_after_rst", c, 0);
    send_sig("send_after_rst_then", c, MSG_NOSIGNAL);
    send_sig("send_after_rst_then_signal", c, 0);
    close(c);

    /* A blocking write larger than both buffers, the peer resets midway:
     * the bytes queued so far are the answer, the error comes next. */
    tcp_pair(lfd, lport, &c, &s);
    int small = 4096;
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    pthread_t t;
    pthread_create(&t, NULL, delayed_close, &s);
    static char big[1 << 20];
    errno = 0;
    long r = write(c, big, sizeof big);
    SHOW("write_big_peer_resets", "partial=%d errno=%s", r > 0 && r < (long)sizeof big,
         r < 0 ? posix_errname(errno) : "0");
    pthread_join(t, NULL);
    send_sig("write_after_partial", c, MSG_NOSIGNAL);
    send_sig("write_after_partial_again", c, MSG_NOSIGNAL);
    close(c);
}

int main(void)
{
    posix_init();
    char buf[64];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigpipe;
    sigaction(SIGPIPE, &sa, NULL);

    uint16_t lport;
    int lfd = tcp_listener(&lport, 16);

    /* --- accept of a connection the client reset before accept() --- */
    {
        int c = tcp_connect(lport);
        struct linger lg = {1, 0};
        setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        wait_for(lfd, POLLIN);
        close(c);
        sleep_ms(100);
        int s = (int)CHECK_FD("accept_reset_before_accept", accept(lfd, NULL, NULL));
        CHECK("recv_accepted_reset", recv(s, buf, sizeof buf, 0));
        CHECK("recv_accepted_reset_again", recv(s, buf, sizeof buf, 0));
        close(s);
    }

    /* --- a blocking write bigger than SO_SNDBUF queues all of it --- */
    {
        int c, s;
        tcp_pair(lfd, lport, &c, &s);
        int small = 4096;
        setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        struct reader rd = {s, 0};
        pthread_t t;
        pthread_create(&t, NULL, slow_reader, &rd);
        static char data[61000];
        memset(data, 'w', sizeof data);
        CHECK("write_61000_small_sndbuf", write(c, data, sizeof data));
        shutdown(c, SHUT_WR);
        pthread_join(t, NULL);
        SHOW("write_61000_all_received", "%ld", rd.total);
        close(c);
        close(s);
    }

    /* --- no iovec at all --- */
    {
        int c, s;
        tcp_pair(lfd, lport, &c, &s);
        struct iovec iov = {buf, sizeof buf};
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = &iov;
        CHECK("readv_iovcnt0_nodata", readv(s, &iov, 0));
        CHECK("read_len0_nodata", read(s, buf, 0));
        CHECK("recv_len0_nodata_dontwait", recv(s, buf, 0, MSG_DONTWAIT));
        CHECK("writev_iovcnt0", writev(c, &iov, 0));
        CHECK("sendmsg_iovlen0", sendmsg(c, &m, 0));
        CHECK("send_len0", send(c, buf, 0, 0));
        CHECK("write_len0", write(c, buf, 0));
        send(c, "abc", 3, 0);
        wait_avail(s, 3, 2000);
        CHECK("readv_iovcnt0_data", readv(s, &iov, 0));
        CHECK("recvmsg_iovlen0_data", recvmsg(s, &m, 0));
        CHECK("read_len0_data", read(s, buf, 0));
        CHECK("recv_after_empty_reads", recv(s, buf, sizeof buf, 0));
        close(c);
        close(s);

        uint16_t pa, pb;
        int ua = udp_bound(&pa), ub = udp_bound(&pb);
        struct sockaddr_in to = sin_lo(pb);
        m.msg_name = &to;
        m.msg_namelen = sizeof to;
        CHECK("udp_sendmsg_iovlen0", sendmsg(ua, &m, 0));
        CHECK("udp_writev_iovcnt0_unconnected", writev(ua, &iov, 0));
        CHECK("udp_write_len0_unconnected", write(ua, buf, 0));
        int fresh = socket(AF_INET, SOCK_STREAM, 0);
        CHECK("tcp_writev_iovcnt0_unconnected", writev(fresh, &iov, 0));
        CHECK("tcp_write_len0_unconnected", write(fresh, buf, 0));
        CHECK("tcp_readv_iovcnt0_unconnected", readv(fresh, &iov, 0));
        CHECK("tcp_read_len0_unconnected", read(fresh, buf, 0));
        close(fresh);
        wait_for(ub, POLLIN);
        CHECK("udp_readv_iovcnt0", readv(ub, &iov, 0));
        CHECK("udp_read_len0", read(ub, buf, 0));
        struct msghdr rm;
        memset(&rm, 0, sizeof rm);
        rm.msg_iov = &iov;
        CHECK("udp_recvmsg_iovlen0_empty_dgram", recvmsg(ub, &rm, MSG_DONTWAIT));
        SHOW("udp_recvmsg_iovlen0_flags", "trunc=%d", (rm.msg_flags & MSG_TRUNC) != 0);
        sendto(ua, "hello", 5, 0, SA(&to), sizeof to);
        wait_for(ub, POLLIN);
        memset(&rm, 0, sizeof rm);
        rm.msg_iov = &iov;
        CHECK("udp_recvmsg_iovlen0_dgram", recvmsg(ub, &rm, MSG_DONTWAIT));
        SHOW("udp_recvmsg_iovlen0_dgram_flags", "trunc=%d", (rm.msg_flags & MSG_TRUNC) != 0);
        CHECK("udp_recv_after_iovlen0", recv(ub, buf, sizeof buf, MSG_DONTWAIT));
        close(ua);
        close(ub);
    }

    /* --- connect(AF_UNSPEC) on TCP --- */
    {
        int c, s;
        tcp_pair(lfd, lport, &c, &s);
        struct sockaddr un;
        memset(&un, 0, sizeof un);
        un.sa_family = AF_UNSPEC;
        CHECK("tcp_connect_af_unspec", connect(c, &un, sizeof un));
        struct sockaddr_in a;
        socklen_t l = sizeof a;
        CHECK("getpeername_after_af_unspec", getpeername(c, SA(&a), &l));
        show_name("getsockname_after_af_unspec", c);
        int err = -1;
        socklen_t el = sizeof err;
        getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
        SHOW("so_error_after_af_unspec", "%s", posix_errname(err));
        wait_for(s, POLLIN);
        CHECK("peer_recv_after_af_unspec", recv(s, buf, sizeof buf, 0));
        close(s);
        a = sin_lo(lport);
        CHECK("connect_after_af_unspec", connect(c, SA(&a), sizeof a));
        s = (int)CHECK_FD("accept_after_af_unspec", accept(lfd, NULL, NULL));
        CHECK("send_after_reconnect", send(c, "hi", 2, 0));
        CHECK("recv_after_reconnect", recv_all(s, buf, 2));
        close(c);
        close(s);

        int u = socket(AF_INET, SOCK_STREAM, 0);
        CHECK("tcp_connect_af_unspec_fresh", connect(u, &un, sizeof un));
        CHECK("tcp_connect_af_unspec_short", connect(u, &un, 1));
        close(u);
    }

    /* --- a non-blocking connect asked again once complete: 0, then EISCONN --- */
    {
        int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in a = sin_lo(lport);
        errno = 0;
        int r = connect(nb, SA(&a), sizeof a);
        SHOW("nb_connect", "ret0_or_einprogress=%d", r == 0 || errno == EINPROGRESS);
        wait_for(nb, POLLOUT);
        CHECK("nb_connect_again_after_completion", connect(nb, SA(&a), sizeof a));
        CHECK("nb_connect_third", connect(nb, SA(&a), sizeof a));
        int s = accept(lfd, NULL, NULL);
        close(s);
        close(nb);

        int b = socket(AF_INET, SOCK_STREAM, 0);
        CHECK("blocking_connect", connect(b, SA(&a), sizeof a));
        CHECK("blocking_connect_again", connect(b, SA(&a), sizeof a));
        s = accept(lfd, NULL, NULL);
        close(s);
        close(b);
    }

    /* --- a connected UDP socket names the route's source address --- */
    {
        uint16_t pb;
        int ub = udp_bound(&pb);
        int ua = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in to = sin_lo(pb);
        CHECK("udp_connect", connect(ua, SA(&to), sizeof to));
        show_name("udp_getsockname_connected", ua);
        struct sockaddr un;
        memset(&un, 0, sizeof un);
        un.sa_family = AF_UNSPEC;
        CHECK("udp_disconnect", connect(ua, &un, sizeof un));
        show_name("udp_getsockname_disconnected", ua);
        struct sockaddr_in any = sin_addr4("0.0.0.0", 0);
        int ud = socket(AF_INET, SOCK_DGRAM, 0);
        CHECK("udp_bind_any", bind(ud, SA(&any), sizeof any));
        CHECK("udp_connect_bound_any", connect(ud, SA(&to), sizeof to));
        show_name("udp_getsockname_bound_any_connected", ud);
        CHECK("udp_disconnect_bound_any", connect(ud, &un, sizeof un));
        show_name("udp_getsockname_bound_any_disconnected", ud);
        close(ua);
        close(ub);
        close(ud);
    }

    rcvlowat(lfd, lport);
    reset_writes(lfd, lport);
    close(lfd);
    return 0;
}
