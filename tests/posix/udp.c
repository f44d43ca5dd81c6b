/* UDP: sendto/recvfrom, connected UDP, truncation, MSG_PEEK, ICMP-driven
 * ECONNREFUSED, EAGAIN, FIONREAD, EDESTADDRREQ, EMSGSIZE, misc errors. */
#include "posix.h"

/* Wait until a datagram is queued on fd (up to ms). */
static void wait_dgram(int fd, long ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    poll(&p, 1, (int)ms);
}

static void show_from(const char *name, const struct sockaddr_in *from, socklen_t fl,
                      uint16_t expect)
{
    show_addr(name, from, fl, expect);
}

int main(void)
{
    posix_init();
    char buf[256];
    struct sockaddr_in a, from;
    socklen_t fl;

    int ua = (int)CHECK_FD("socket_udp", socket(AF_INET, SOCK_DGRAM, 0));
    a = sin_lo(0);
    CHECK("bind_a", bind(ua, SA(&a), sizeof a));
    uint16_t pa = local_port(ua);
    SHOW("port_a_nonzero", "%d", pa != 0);
    uint16_t pb;
    int ub = udp_bound(&pb);
    /* blocking receives below give up after 2 s instead of hanging */
    set_rcvtimeo(ua, 2000);
    set_rcvtimeo(ub, 2000);

    /* --- ping-pong with addresses --- */
    struct sockaddr_in to_b = sin_lo(pb), to_a = sin_lo(pa);
    CHECK("sendto_ping", sendto(ua, "ping", 4, 0, SA(&to_b), sizeof to_b));
    wait_dgram(ub, 2000);
    memset(buf, 0, sizeof buf);
    memset(&from, 0, sizeof from);
    fl = sizeof from;
    CHECK("recvfrom_ping", recvfrom(ub, buf, sizeof buf, 0, SA(&from), &fl));
    SHOW("recvfrom_ping_data", "'%s'", buf);
    show_from("recvfrom_ping_from", &from, fl, pa);
    CHECK("sendto_pong_reply", sendto(ub, "pong!", 5, 0, SA(&from), fl));
    wait_dgram(ua, 2000);
    memset(buf, 0, sizeof buf);
    fl = sizeof from;
    CHECK("recvfrom_pong", recvfrom(ua, buf, sizeof buf, 0, SA(&from), &fl));
    SHOW("recvfrom_pong_data", "'%s'", buf);
    show_from("recvfrom_pong_from", &from, fl, pb);
    /* recvfrom with NULL address, and with a short address buffer */
    sendto(ua, "n1", 2, 0, SA(&to_b), sizeof to_b);
    wait_dgram(ub, 2000);
    CHECK("recvfrom_null_addr", recvfrom(ub, buf, sizeof buf, 0, NULL, NULL));
    sendto(ua, "n2", 2, 0, SA(&to_b), sizeof to_b);
    wait_dgram(ub, 2000);
    {
        char small[4];
        fl = sizeof small;
        CHECK("recvfrom_short_addr", recvfrom(ub, buf, sizeof buf, 0, SA(small), &fl));
        SHOW("recvfrom_short_addr_len", "%u", (unsigned)fl);
    }
    /* zero-length datagram */
    CHECK("sendto_empty", sendto(ua, "", 0, 0, SA(&to_b), sizeof to_b));
    wait_dgram(ub, 2000);
    fl = sizeof from;
    CHECK("recvfrom_empty", recvfrom(ub, buf, sizeof buf, MSG_DONTWAIT, SA(&from), &fl));
    CHECK("recvfrom_empty_then_eagain", recv(ub, buf, sizeof buf, MSG_DONTWAIT));
    /* sendmsg/recvmsg with name */
    {
        struct iovec v[2] = {{"sm", 2}, {"sg", 2}};
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_name = &to_b;
        m.msg_namelen = sizeof to_b;
        m.msg_iov = v;
        m.msg_iovlen = 2;
        CHECK("sendmsg_udp", sendmsg(ua, &m, 0));
        wait_dgram(ub, 2000);
        char r1[3] = {0}, r2[8] = {0};
        struct iovec rv[2] = {{r1, 2}, {r2, 7}};
        memset(&m, 0, sizeof m);
        memset(&from, 0, sizeof from);
        m.msg_name = &from;
        m.msg_namelen = sizeof from;
        m.msg_iov = rv;
        m.msg_iovlen = 2;
        CHECK("recvmsg_udp", recvmsg(ub, &m, 0));
        SHOW("recvmsg_udp_data", "'%s' '%s' flags=%d", r1, r2, m.msg_flags);
        show_from("recvmsg_udp_from", &from, m.msg_namelen, pa);
    }

    /* --- connected UDP --- */
    CHECK("connect_a_to_b", connect(ua, SA(&to_b), sizeof to_b));
    fl = sizeof a;
    CHECK("getpeername_connected_udp", getpeername(ua, SA(&a), &fl));
    show_addr("getpeername_connected_udp_addr", &a, fl, pb);
    CHECK("send_connected", send(ua, "conn", 4, 0));
    wait_dgram(ub, 2000);
    memset(buf, 0, sizeof buf);
    fl = sizeof from;
    CHECK("recvfrom_from_connected", recvfrom(ub, buf, sizeof buf, 0, SA(&from), &fl));
    SHOW("recvfrom_from_connected_data", "'%s'", buf);
    show_from("recvfrom_from_connected_from", &from, fl, pa);
    CHECK("write_connected", write(ua, "wr", 2));
    wait_dgram(ub, 2000);
    CHECK("read_unconnected_b", read(ub, buf, sizeof buf));
    CHECK("sendto_b_to_a", sendto(ub, "back", 4, 0, SA(&to_a), sizeof to_a));
    wait_dgram(ua, 2000);
    memset(buf, 0, sizeof buf);
    CHECK("recv_connected", recv(ua, buf, sizeof buf, 0));
    SHOW("recv_connected_data", "'%s'", buf);
    /* sendto with an explicit address on a connected UDP socket is allowed */
    CHECK("sendto_on_connected_same_addr", sendto(ua, "st", 2, 0, SA(&to_b), sizeof to_b));
    wait_dgram(ub, 2000);
    CHECK("recv_sendto_on_connected", recv(ub, buf, sizeof buf, 0));
    /* connected UDP filters datagrams from other sources */
    {
        uint16_t pc;
        int uc = udp_bound(&pc);
        CHECK("sendto_from_stranger", sendto(uc, "stranger", 8, 0, SA(&to_a), sizeof to_a));
        sleep_ms(50);
        CHECK("sendto_from_peer", sendto(ub, "peer", 4, 0, SA(&to_a), sizeof to_a));
        wait_dgram(ua, 2000);
        memset(buf, 0, sizeof buf);
        CHECK("recv_filtered", recv(ua, buf, sizeof buf, 0));
        SHOW("recv_filtered_data", "'%s'", buf);
        CHECK("recv_filtered_nothing_else", recv(ua, buf, sizeof buf, MSG_DONTWAIT));
        close(uc);
    }
    /* reconnect to a different peer, then disconnect with AF_UNSPEC */
    {
        struct sockaddr_in un;
        memset(&un, 0, sizeof un);
        un.sin_family = AF_UNSPEC;
        CHECK("connect_af_unspec", connect(ua, SA(&un), sizeof un));
        fl = sizeof a;
        CHECK("getpeername_after_disconnect", getpeername(ua, SA(&a), &fl));
        /* Linux: the port of a socket bound to port 0 is released by the
         * AF_UNSPEC disconnect (no SOCK_BINDPORT_LOCK), the address is kept */
        SHOW("local_port_after_disconnect_zero", "%d", local_port(ua) == 0);
        CHECK("send_after_disconnect", send(ua, "x", 1, 0));
        CHECK("connect_af_unspec_again", connect(ua, SA(&un), sizeof un));
    }

    /* --- truncation --- */
    {
        char big[100];
        memset(big, 'T', sizeof big);
        CHECK("sendto_100", sendto(ua, big, 100, 0, SA(&to_b), sizeof to_b));
        /* ua may have been given a new port by the send (see above) */
        pa = local_port(ua);
        SHOW("port_a_after_send_nonzero", "%d", pa != 0);
        wait_dgram(ub, 2000);
        CHECK("recv_10_of_100", recv(ub, buf, 10, 0));
        CHECK("recv_rest_discarded", recv(ub, buf, sizeof buf, MSG_DONTWAIT));

        sendto(ua, big, 100, 0, SA(&to_b), sizeof to_b);
        wait_dgram(ub, 2000);
        struct iovec v = {buf, 10};
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = &v;
        m.msg_iovlen = 1;
        CHECK("recvmsg_10_of_100", recvmsg(ub, &m, 0));
        SHOW("recvmsg_msg_trunc", "%d", (m.msg_flags & MSG_TRUNC) != 0);

        sendto(ua, big, 100, 0, SA(&to_b), sizeof to_b);
        wait_dgram(ub, 2000);
        CHECK("recv_flag_trunc_returns_real_len", recv(ub, buf, 10, MSG_TRUNC));

        sendto(ua, big, 100, 0, SA(&to_b), sizeof to_b);
        wait_dgram(ub, 2000);
        CHECK("recv_zero_len_buf", recv(ub, buf, 0, 0));
        CHECK("recv_zero_len_consumed", recv(ub, buf, sizeof buf, MSG_DONTWAIT));
    }

    /* --- MSG_PEEK --- */
    {
        CHECK("sendto_peek", sendto(ua, "peekme", 6, 0, SA(&to_b), sizeof to_b));
        wait_dgram(ub, 2000);
        memset(buf, 0, sizeof buf);
        fl = sizeof from;
        CHECK("recvfrom_peek", recvfrom(ub, buf, sizeof buf, MSG_PEEK, SA(&from), &fl));
        SHOW("recvfrom_peek_data", "'%s'", buf);
        show_from("recvfrom_peek_from", &from, fl, pa);
        memset(buf, 0, sizeof buf);
        CHECK("recv_peek_3", recv(ub, buf, 3, MSG_PEEK));
        SHOW("recv_peek_3_data", "'%s'", buf);
        memset(buf, 0, sizeof buf);
        CHECK("recv_after_peek", recv(ub, buf, sizeof buf, 0));
        SHOW("recv_after_peek_data", "'%s'", buf);
    }

    /* --- datagram boundaries and FIONREAD --- */
    {
        int n = -1;
        CHECK("fionread_empty", ioctl(ub, FIONREAD, &n));
        SHOW("fionread_empty_value", "%d", n);
        sendto(ua, "seven77", 7, 0, SA(&to_b), sizeof to_b);
        sendto(ua, "twenty-bytes-payload", 20, 0, SA(&to_b), sizeof to_b);
        sleep_ms(20);
        wait_dgram(ub, 2000);
        n = -1;
        CHECK("fionread_two_queued", ioctl(ub, FIONREAD, &n));
        SHOW("fionread_two_queued_value", "%d", n);
        memset(buf, 0, sizeof buf);
        CHECK("recv_first_dgram", recv(ub, buf, sizeof buf, 0));
        SHOW("recv_first_dgram_data", "'%s'", buf);
        n = -1;
        ioctl(ub, FIONREAD, &n);
        SHOW("fionread_after_first", "%d", n);
        memset(buf, 0, sizeof buf);
        CHECK("recv_second_dgram", recv(ub, buf, sizeof buf, 0));
        SHOW("recv_second_dgram_data", "'%s'", buf);
    }

    /* --- ECONNREFUSED via ICMP port unreachable on a connected socket --- */
    {
        uint16_t dead;
        int tmp = udp_bound(&dead);
        close(tmp);
        int ud = socket(AF_INET, SOCK_DGRAM, 0);
        set_rcvtimeo(ud, 2000);
        struct sockaddr_in to_dead = sin_lo(dead);
        CHECK("connect_to_closed_port", connect(ud, SA(&to_dead), sizeof to_dead));
        CHECK("send_to_closed_port", send(ud, "hello?", 6, 0));
        sleep_ms(100);
        show_poll("poll_after_icmp", ud, POLLIN | POLLOUT, 0);
        CHECK("recv_econnrefused", recv(ud, buf, sizeof buf, 0));
        CHECK("recv_after_econnrefused", recv(ud, buf, sizeof buf, MSG_DONTWAIT));
        CHECK("send_to_closed_port_again", send(ud, "hello?", 6, 0));
        sleep_ms(100);
        CHECK("send_reports_pending_error", send(ud, "hello?", 6, 0));
        CHECK("send_to_closed_port_third", send(ud, "hello?", 6, 0));
        sleep_ms(100);
        int v = -1;
        socklen_t l = sizeof v;
        getsockopt(ud, SOL_SOCKET, SO_ERROR, &v, &l);
        SHOW("so_error_pending", "%s", posix_errname(v));
        l = sizeof v;
        getsockopt(ud, SOL_SOCKET, SO_ERROR, &v, &l);
        SHOW("so_error_cleared", "%s", posix_errname(v));
        close(ud);
        /* unconnected socket: no error reported */
        int uu = socket(AF_INET, SOCK_DGRAM, 0);
        CHECK("sendto_closed_port_unconnected", sendto(uu, "x", 1, 0, SA(&to_dead), sizeof to_dead));
        sleep_ms(100);
        CHECK("recv_unconnected_no_error", recv(uu, buf, sizeof buf, MSG_DONTWAIT));
        close(uu);
    }

    /* --- EAGAIN --- */
    {
        int fl0 = fcntl(ub, F_GETFL);
        fcntl(ub, F_SETFL, fl0 | O_NONBLOCK);
        fl = sizeof from;
        CHECK("recvfrom_nonblock_empty", recvfrom(ub, buf, sizeof buf, 0, SA(&from), &fl));
        fcntl(ub, F_SETFL, fl0);
        CHECK("recv_dontwait_empty", recv(ub, buf, sizeof buf, MSG_DONTWAIT));
        show_poll("poll_udp_idle", ub, POLLIN | POLLOUT, 0);
    }

    /* --- addressing errors --- */
    {
        int uu = socket(AF_INET, SOCK_DGRAM, 0);
        CHECK("sendto_no_addr_unconnected", sendto(uu, "x", 1, 0, NULL, 0));
        CHECK("send_unconnected_udp", send(uu, "x", 1, 0));
        CHECK("write_unconnected_udp", write(uu, "x", 1));
        CHECK("sendto_short_addrlen", sendto(uu, "x", 1, 0, SA(&to_b), 8));
        struct sockaddr_in6 a6;
        memset(&a6, 0, sizeof a6);
        a6.sin6_family = AF_INET6;
        CHECK("sendto_af_inet6", sendto(uu, "x", 1, 0, SA(&a6), sizeof a6));
        struct sockaddr_in p0 = sin_lo(0);
        CHECK("sendto_port_zero", sendto(uu, "x", 1, 0, SA(&p0), sizeof p0));
        fl = sizeof a;
        CHECK("getpeername_unconnected_udp", getpeername(uu, SA(&a), &fl));
        CHECK("listen_udp", listen(uu, 1));
        CHECK("accept_udp", accept(uu, NULL, NULL));
        /* Linux: shutdown() on an unconnected UDP socket fails with ENOTCONN
         * but still records the shutdown, so later sends fail with EPIPE */
        int us = socket(AF_INET, SOCK_DGRAM, 0);
        CHECK("shutdown_unconnected_udp", shutdown(us, SHUT_WR));
        CHECK("sendto_after_failed_shutdown", sendto(us, "x", 1, 0, SA(&to_b), sizeof to_b));
        close(us);
        /* Linux autobinds in sendmsg before validating the destination, so
         * the failed sends above have already given uu a port */
        SHOW("autobound_by_failed_sends", "%d", local_port(uu) != 0);
        close(uu);
        /* implicit bind by sendto */
        uu = socket(AF_INET, SOCK_DGRAM, 0);
        set_rcvtimeo(uu, 2000);
        struct sockaddr_in any;
        fl = sizeof any;
        getsockname(uu, SA(&any), &fl);
        SHOW("implicit_bind_before_send", "port_nonzero=%d", any.sin_port != 0);
        CHECK("sendto_implicit_bind", sendto(uu, "ib", 2, 0, SA(&to_b), sizeof to_b));
        fl = sizeof any;
        getsockname(uu, SA(&any), &fl);
        show_addr("implicit_bind_after_send", &any, fl, 0);
        wait_dgram(ub, 2000);
        fl = sizeof from;
        CHECK("recv_from_implicit", recvfrom(ub, buf, sizeof buf, 0, SA(&from), &fl));
        SHOW("implicit_port_matches", "%d", from.sin_port == any.sin_port);
        close(uu);

        int dup_b = socket(AF_INET, SOCK_DGRAM, 0);
        a = sin_lo(pb);
        CHECK("bind_udp_port_in_use", bind(dup_b, SA(&a), sizeof a));
        a = sin_lo(0);
        CHECK("bind_udp", bind(dup_b, SA(&a), sizeof a));
        CHECK("bind_udp_twice", bind(dup_b, SA(&a), sizeof a));
        close(dup_b);
        /* TCP and UDP port spaces are separate: a UDP socket can bind the
         * port of a bound TCP socket.  Retry with another port if some other
         * process happens to use that UDP port. */
        {
            long r = -1;
            int e = 0;
            for (int i = 0; i < 10; i++) {
                int t = socket(AF_INET, SOCK_STREAM, 0);
                a = sin_lo(0);
                bind(t, SA(&a), sizeof a);
                int uq = socket(AF_INET, SOCK_DGRAM, 0);
                a = sin_lo(local_port(t));
                errno = 0;
                r = bind(uq, SA(&a), sizeof a);
                e = errno;
                close(uq);
                close(t);
                if (r == 0)
                    break;
            }
            posix_report("bind_udp_on_tcp_port", r, e);
        }
    }

    /* --- sizes --- */
    {
        static char huge[70000];
        memset(huge, 'h', sizeof huge);
        CHECK("sendto_70000", sendto(ua, huge, 70000, 0, SA(&to_b), sizeof to_b));
        CHECK("sendto_65508", sendto(ua, huge, 65508, 0, SA(&to_b), sizeof to_b));
        CHECK("sendto_65507", sendto(ua, huge, 65507, 0, SA(&to_b), sizeof to_b));
        wait_dgram(ub, 2000);
        static char rb[70000];
        CHECK("recv_65507", recv(ub, rb, sizeof rb, 0));
        CHECK("sendto_1472", sendto(ua, huge, 1472, 0, SA(&to_b), sizeof to_b));
        CHECK("sendto_1473", sendto(ua, huge, 1473, 0, SA(&to_b), sizeof to_b));
        wait_dgram(ub, 2000);
        CHECK("recv_1472", recv(ub, rb, sizeof rb, 0));
        wait_dgram(ub, 2000);
        CHECK("recv_1473", recv(ub, rb, sizeof rb, 0));
    }

    /* --- many datagrams keep order and boundaries --- */
    {
        int ok = 1;
        for (int i = 0; i < 50; i++) {
            char m[16];
            int n = snprintf(m, sizeof m, "d%d", i);
            if (sendto(ua, m, (size_t)n, 0, SA(&to_b), sizeof to_b) != n)
                ok = 0;
        }
        for (int i = 0; i < 50; i++) {
            char m[16], r[32] = {0};
            int n = snprintf(m, sizeof m, "d%d", i);
            wait_dgram(ub, 2000);
            if (recv(ub, r, sizeof r, MSG_DONTWAIT) != n || memcmp(r, m, (size_t)n) != 0)
                ok = 0;
        }
        SHOW("fifty_datagrams_in_order", "%d", ok);
    }

    CHECK("close_a", close(ua));
    CHECK("close_b", close(ub));
    return 0;
}
