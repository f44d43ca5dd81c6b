/* TCP flags and fd-level operations: MSG_PEEK, MSG_WAITALL, FIONREAD,
 * FIONBIO, fcntl flags, F_DUPFD, dup/dup2/dup3 semantics. */
#include "posix.h"

struct chunks {
    int fd;
    int n;
    size_t size;
    int delay_ms;
    int close_after;
};

static void *chunk_sender(void *arg)
{
    struct chunks *c = arg;
    char buf[1000];
    for (int i = 0; i < c->n; i++) {
        sleep_ms(c->delay_ms);
        memset(buf, 'A' + i, sizeof buf);
        send_all(c->fd, buf, c->size);
    }
    if (c->close_after)
        shutdown(c->fd, SHUT_WR);
    return NULL;
}

static void show_fl(const char *name, int fd)
{
    errno = 0;
    int fl = fcntl(fd, F_GETFL);
    int e = errno;
    if (fl < 0)
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(e));
    else
        printf("%s: nonblock=%d accmode_rdwr=%d\n", name, (fl & O_NONBLOCK) != 0,
               (fl & O_ACCMODE) == O_RDWR);
}

static void show_fd(const char *name, int fd)
{
    errno = 0;
    int fl = fcntl(fd, F_GETFD);
    int e = errno;
    if (fl < 0)
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(e));
    else
        printf("%s: cloexec=%d\n", name, (fl & FD_CLOEXEC) != 0);
}

/* Send a marker through `via` and show what the peer receives. */
static void roundtrip(const char *name, int via, int peer, const char *msg)
{
    char n1[96], buf[64];
    snprintf(n1, sizeof n1, "%s_send", name);
    CHECK(n1, send(via, msg, strlen(msg), MSG_NOSIGNAL));
    wait_avail(peer, strlen(msg), 2000);
    memset(buf, 0, sizeof buf);
    snprintf(n1, sizeof n1, "%s_recv", name);
    CHECK(n1, recv(peer, buf, sizeof buf - 1, MSG_DONTWAIT));
    snprintf(n1, sizeof n1, "%s_data", name);
    SHOW(n1, "'%s'", buf);
}

int main(void)
{
    posix_init();
    char buf[4096];
    uint16_t lport;
    int lfd = tcp_listener(&lport, 16);
    int c, s;
    tcp_pair(lfd, lport, &c, &s);

    /* --- MSG_PEEK --- */
    CHECK("send_peekdata", send(c, "peekdata", 8, 0));
    wait_avail(s, 8, 2000);
    memset(buf, 0, sizeof buf);
    CHECK("recv_peek_4", recv(s, buf, 4, MSG_PEEK));
    SHOW("recv_peek_4_data", "'%s'", buf);
    memset(buf, 0, sizeof buf);
    CHECK("recv_peek_all", recv(s, buf, sizeof buf, MSG_PEEK));
    SHOW("recv_peek_all_data", "'%s'", buf);
    memset(buf, 0, sizeof buf);
    CHECK("recv_after_peek", recv(s, buf, sizeof buf, 0));
    SHOW("recv_after_peek_data", "'%s'", buf);
    CHECK("recv_peek_dontwait_empty", recv(s, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT));

    /* --- MSG_WAITALL: three 1000-byte chunks arriving 50 ms apart --- */
    {
        struct chunks ch = {c, 3, 1000, 50, 0};
        pthread_t t;
        pthread_create(&t, NULL, chunk_sender, &ch);
        memset(buf, 0, sizeof buf);
        CHECK("recv_waitall_3000", recv(s, buf, 3000, MSG_WAITALL));
        pthread_join(t, NULL);
        SHOW("recv_waitall_content", "%d",
             buf[0] == 'A' && buf[999] == 'A' && buf[1000] == 'B' && buf[2999] == 'C');
    }
    /* MSG_WAITALL cut short by EOF */
    {
        int c2, s2;
        tcp_pair(lfd, lport, &c2, &s2);
        struct chunks ch = {c2, 2, 100, 30, 1};
        pthread_t t;
        pthread_create(&t, NULL, chunk_sender, &ch);
        CHECK("recv_waitall_eof", recv(s2, buf, 1000, MSG_WAITALL));
        pthread_join(t, NULL);
        CHECK("recv_waitall_after_eof", recv(s2, buf, 1000, MSG_WAITALL));
        close(c2);
        close(s2);
    }
    /* MSG_WAITALL|MSG_DONTWAIT returns what is there */
    CHECK("send_5", send(c, "12345", 5, 0));
    wait_avail(s, 5, 2000);
    CHECK("recv_waitall_dontwait", recv(s, buf, 100, MSG_WAITALL | MSG_DONTWAIT));

    /* --- FIONREAD / SIOCOUTQ --- */
    {
        int n = -1;
        CHECK("fionread_empty", ioctl(s, FIONREAD, &n));
        SHOW("fionread_empty_value", "%d", n);
        static char data[123];
        memset(data, 'x', sizeof data);
        CHECK("send_123", send(c, data, sizeof data, 0));
        wait_avail(s, 123, 2000);
        n = -1;
        CHECK("fionread", ioctl(s, FIONREAD, &n));
        SHOW("fionread_value", "%d", n);
        CHECK("send_77", send(c, data, 77, 0));
        wait_avail(s, 200, 2000);
        n = -1;
        ioctl(s, FIONREAD, &n);
        SHOW("fionread_value_200", "%d", n);
        CHECK("recv_200", recv_all(s, buf, 200));
        n = -1;
        ioctl(s, FIONREAD, &n);
        SHOW("fionread_after_drain", "%d", n);
        /* unsent/unacked bytes drain to 0 once acked */
        int q = -1;
        long end = now_ms() + 2000;
        do {
            q = -1;
            if (ioctl(c, TIOCOUTQ, &q) != 0)
                break;
            if (q == 0)
                break;
            sleep_ms(5);
        } while (now_ms() < end);
        SHOW("siocoutq_drained", "%d", q == 0);
        n = -1;
        CHECK("fionread_listener", ioctl(lfd, FIONREAD, &n));
        int u = socket(AF_INET, SOCK_STREAM, 0);
        CHECK("fionread_unconnected", ioctl(u, FIONREAD, &n));
        close(u);
        CHECK("ioctl_bad_request", ioctl(s, 0x7fff1234, &n));
    }

    /* --- FIONBIO --- */
    {
        int on = 1, off = 0;
        CHECK("fionbio_on", ioctl(s, FIONBIO, &on));
        show_fl("fionbio_on_fl", s);
        CHECK("recv_after_fionbio", recv(s, buf, sizeof buf, 0));
        CHECK("fionbio_off", ioctl(s, FIONBIO, &off));
        show_fl("fionbio_off_fl", s);
    }

    /* --- fcntl F_GETFL / F_SETFL --- */
    {
        show_fl("getfl_initial", s);
        int fl = fcntl(s, F_GETFL);
        CHECK("setfl_nonblock", fcntl(s, F_SETFL, fl | O_NONBLOCK));
        show_fl("getfl_after_set", s);
        CHECK("recv_after_setfl", recv(s, buf, sizeof buf, 0));
        CHECK("accept_nonblock_via_setfl", (fcntl(lfd, F_SETFL, O_NONBLOCK), accept(lfd, NULL, NULL)));
        fcntl(lfd, F_SETFL, 0);
        CHECK("setfl_clear", fcntl(s, F_SETFL, fl & ~O_NONBLOCK));
        show_fl("getfl_after_clear", s);
        /* O_RDONLY in F_SETFL is ignored (access mode is fixed) */
        CHECK("setfl_accmode_ignored", fcntl(s, F_SETFL, O_RDONLY));
        show_fl("getfl_after_accmode", s);
    }

    /* --- fcntl F_GETFD / F_SETFD --- */
    show_fd("getfd_initial", s);
    CHECK("setfd_cloexec", fcntl(s, F_SETFD, FD_CLOEXEC));
    show_fd("getfd_after_set", s);
    CHECK("setfd_clear", fcntl(s, F_SETFD, 0));
    show_fd("getfd_after_clear", s);
    CHECK("getfl_badfd", fcntl(-1, F_GETFL));

    /* --- F_DUPFD / F_DUPFD_CLOEXEC --- */
    {
        int d = (int)CHECK_FD("f_dupfd_100", fcntl(c, F_DUPFD, 100));
        SHOW("f_dupfd_100_ge_100", "%d", d >= 100);
        show_fd("f_dupfd_cloexec_flag", d);
        roundtrip("f_dupfd", d, s, "via-f_dupfd");
        int d2 = (int)CHECK_FD("f_dupfd_cloexec", fcntl(c, F_DUPFD_CLOEXEC, 0));
        show_fd("f_dupfd_cloexec_flag2", d2);
        roundtrip("f_dupfd_cloexec", d2, s, "via-f_dupfd_cloexec");
        close(d);
        close(d2);
    }

    /* --- dup/dup2/dup3 --- */
    {
        int d = (int)CHECK_FD("dup", dup(c));
        show_fd("dup_cloexec", d);
        roundtrip("dup", d, s, "via-dup");
        uint16_t p1 = local_port(c), p2 = local_port(d);
        SHOW("dup_same_local_port", "%d", p1 != 0 && p1 == p2);
        /* file status flags are shared between duplicates, fd flags are not */
        fcntl(c, F_SETFD, FD_CLOEXEC);
        int fl = fcntl(d, F_GETFL);
        fcntl(d, F_SETFL, fl | O_NONBLOCK);
        show_fl("orig_fl_after_dup_setfl", c);
        show_fd("dup_fd_after_orig_setfd", d);
        CHECK("recv_orig_nonblock_via_dup", recv(c, buf, sizeof buf, 0));
        fcntl(d, F_SETFL, fl);
        fcntl(c, F_SETFD, 0);

        int t2 = 200, t3 = 201;
        CHECK("dup2_ret_is_target", dup2(d, t2) == t2 ? 0 : -1);
        show_fd("dup2_cloexec", t2);
        roundtrip("dup2", t2, s, "via-dup2");
        CHECK("dup3_ret_is_target", dup3(d, t3, O_CLOEXEC) == t3 ? 0 : -1);
        show_fd("dup3_cloexec", t3);
        roundtrip("dup3", t3, s, "via-dup3");
        CHECK("dup3_same_fd", dup3(d, d, 0));
        CHECK("dup3_bad_flags", dup3(d, t3, 0x1234));
        CHECK("dup2_same_fd_is_fd", dup2(d, d) == d ? 0 : -1);
        CHECK("dup2_bad_old", dup2(-1, t3));
        CHECK("dup_bad", dup(-1));

        /* closing the original keeps the duplicates working */
        CHECK("close_orig", close(c));
        roundtrip("after_close_orig", d, s, "still-alive");
        struct sockaddr_in a;
        socklen_t len = sizeof a;
        CHECK("getpeername_dup_after_close_orig", getpeername(d, SA(&a), &len));
        SHOW("getpeername_dup_port_match", "%d", ntohs(a.sin_port) == lport);
        /* data from the peer is readable through a duplicate */
        CHECK("peer_send", send(s, "back", 4, 0));
        wait_avail(t2, 4, 2000);
        memset(buf, 0, sizeof buf);
        CHECK("recv_via_dup2", recv(t2, buf, sizeof buf, 0));
        SHOW("recv_via_dup2_data", "'%s'", buf);

        CHECK("close_dup", close(d));
        CHECK("close_dup2", close(t2));
        sleep_ms(20);
        CHECK("peer_recv_no_eof_while_dup3_open", recv(s, buf, sizeof buf, MSG_DONTWAIT));
        CHECK("close_dup3", close(t3));
        struct pollfd p = {s, POLLIN, 0};
        poll(&p, 1, 2000);
        CHECK("peer_recv_eof_after_all_closed", recv(s, buf, sizeof buf, 0));
        close(s);
    }

    /* --- shutdown through a duplicate affects the shared socket --- */
    {
        tcp_pair(lfd, lport, &c, &s);
        int d = dup(c);
        CHECK("shutdown_wr_via_dup", shutdown(d, SHUT_WR));
        struct pollfd p = {s, POLLIN, 0};
        poll(&p, 1, 2000);
        CHECK("peer_recv_eof_after_dup_shutdown", recv(s, buf, sizeof buf, 0));
        CHECK("send_orig_after_dup_shutdown", send(c, "x", 1, MSG_NOSIGNAL));
        close(d);
        close(c);
        close(s);
    }

    /* --- dup2 onto an existing socket closes that socket --- */
    {
        int c1, s1, c2, s2;
        tcp_pair(lfd, lport, &c1, &s1);
        tcp_pair(lfd, lport, &c2, &s2);
        CHECK("dup2_over_socket", dup2(c1, c2) == c2 ? 0 : -1);
        struct pollfd p = {s2, POLLIN, 0};
        poll(&p, 1, 2000);
        CHECK("replaced_socket_peer_eof", recv(s2, buf, sizeof buf, 0));
        roundtrip("dup2_over_socket", c2, s1, "replaced");
        close(c1);
        close(c2);
        close(s1);
        close(s2);
    }

    close(lfd);
    return 0;
}
