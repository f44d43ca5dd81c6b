/* setsockopt/getsockopt: SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP options, value
 * round trips, defaults, TCP_INFO, and argument errors. */
#include "posix.h"

/* getsockopt of an int option: prints "name: ret=0 val=V len=L" */
static int show_int(const char *name, int fd, int level, int opt)
{
    int v = -12345;
    socklen_t l = sizeof v;
    errno = 0;
    int r = getsockopt(fd, level, opt, &v, &l);
    int e = errno;
    if (r < 0) {
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(e));
        return -1;
    }
    printf("%s: ret=0 val=%d len=%u\n", name, v, (unsigned)l);
    return v;
}

/* Only whether the value is > 0 (system-tunable defaults). */
static void show_positive(const char *name, int fd, int level, int opt)
{
    int v = -12345;
    socklen_t l = sizeof v;
    errno = 0;
    int r = getsockopt(fd, level, opt, &v, &l);
    int e = errno;
    if (r < 0)
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(e));
    else
        printf("%s: ret=0 positive=%d len=%u\n", name, v > 0, (unsigned)l);
}

static long set_int(const char *name, int fd, int level, int opt, int v)
{
    return CHECK(name, setsockopt(fd, level, opt, &v, sizeof v));
}

static void set_get(const char *base, int fd, int level, int opt, int v)
{
    char n[96];
    snprintf(n, sizeof n, "set_%s_%d", base, v);
    set_int(n, fd, level, opt, v);
    snprintf(n, sizeof n, "get_%s", base);
    show_int(n, fd, level, opt);
}

static void show_tcp_state(const char *name, int fd)
{
    struct tcp_info ti;
    memset(&ti, 0, sizeof ti);
    socklen_t l = sizeof ti;
    errno = 0;
    int r = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l);
    int e = errno;
    if (r < 0)
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(e));
    else
        printf("%s: ret=0 tcpi_state=%u len_positive=%d\n", name, ti.tcpi_state, l > 0);
}

int main(void)
{
    posix_init();
    uint16_t lport;
    int lfd = tcp_listener(&lport, 16);
    int c, s;
    tcp_pair(lfd, lport, &c, &s);
    int t = socket(AF_INET, SOCK_STREAM, 0);
    int u = socket(AF_INET, SOCK_DGRAM, 0);

    /* --- SOL_SOCKET booleans --- */
    show_int("default_so_reuseaddr", t, SOL_SOCKET, SO_REUSEADDR);
    set_get("so_reuseaddr", t, SOL_SOCKET, SO_REUSEADDR, 1);
    set_get("so_reuseaddr", t, SOL_SOCKET, SO_REUSEADDR, 5); /* normalised to 1 */
    set_get("so_reuseaddr", t, SOL_SOCKET, SO_REUSEADDR, 0);
    show_int("default_so_reuseport", t, SOL_SOCKET, SO_REUSEPORT);
    set_get("so_reuseport", t, SOL_SOCKET, SO_REUSEPORT, 1);
    set_get("so_reuseport", t, SOL_SOCKET, SO_REUSEPORT, 0);
    show_int("default_so_keepalive", c, SOL_SOCKET, SO_KEEPALIVE);
    set_get("so_keepalive", c, SOL_SOCKET, SO_KEEPALIVE, 1);
    set_get("so_keepalive", c, SOL_SOCKET, SO_KEEPALIVE, 0);
    show_int("default_so_broadcast_udp", u, SOL_SOCKET, SO_BROADCAST);
    set_get("so_broadcast_udp", u, SOL_SOCKET, SO_BROADCAST, 1);
    show_int("default_so_oobinline", c, SOL_SOCKET, SO_OOBINLINE);

    /* --- read-only SOL_SOCKET --- */
    show_int("so_type_tcp", t, SOL_SOCKET, SO_TYPE);
    show_int("so_type_udp", u, SOL_SOCKET, SO_TYPE);
    show_int("so_domain_tcp", t, SOL_SOCKET, SO_DOMAIN);
    show_int("so_protocol_tcp", t, SOL_SOCKET, SO_PROTOCOL);
    show_int("so_protocol_udp", u, SOL_SOCKET, SO_PROTOCOL);
    show_int("so_acceptconn_listener", lfd, SOL_SOCKET, SO_ACCEPTCONN);
    show_int("so_acceptconn_connected", c, SOL_SOCKET, SO_ACCEPTCONN);
    show_int("so_error_connected", c, SOL_SOCKET, SO_ERROR);
    set_int("set_so_type_readonly", t, SOL_SOCKET, SO_TYPE, SOCK_DGRAM);
    set_int("set_so_error_readonly", t, SOL_SOCKET, SO_ERROR, 0);

    /* --- SO_LINGER --- */
    {
        struct linger lg = {-1, -1};
        socklen_t l = sizeof lg;
        CHECK("get_so_linger_default", getsockopt(c, SOL_SOCKET, SO_LINGER, &lg, &l));
        SHOW("so_linger_default", "onoff=%d linger=%d len=%u", lg.l_onoff, lg.l_linger,
             (unsigned)l);
        struct linger set = {1, 5};
        CHECK("set_so_linger_1_5", setsockopt(c, SOL_SOCKET, SO_LINGER, &set, sizeof set));
        l = sizeof lg;
        CHECK("get_so_linger", getsockopt(c, SOL_SOCKET, SO_LINGER, &lg, &l));
        SHOW("so_linger", "onoff=%d linger=%d len=%u", lg.l_onoff, lg.l_linger, (unsigned)l);
        set.l_onoff = 0;
        set.l_linger = 7;
        CHECK("set_so_linger_0_7", setsockopt(c, SOL_SOCKET, SO_LINGER, &set, sizeof set));
        l = sizeof lg;
        CHECK("get_so_linger_off", getsockopt(c, SOL_SOCKET, SO_LINGER, &lg, &l));
        SHOW("so_linger_off", "onoff=%d linger=%d", lg.l_onoff, lg.l_linger);
        CHECK("set_so_linger_short", setsockopt(c, SOL_SOCKET, SO_LINGER, &set, 4));
    }

    /* --- SO_RCVTIMEO / SO_SNDTIMEO --- */
    {
        struct timeval tv = {1, 500000}, g = {-1, -1};
        socklen_t l = sizeof g;
        CHECK("get_so_rcvtimeo_default", getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &g, &l));
        SHOW("so_rcvtimeo_default", "%ld.%06ld len=%u", (long)g.tv_sec, (long)g.tv_usec,
             (unsigned)l);
        CHECK("set_so_rcvtimeo", setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
        l = sizeof g;
        CHECK("get_so_rcvtimeo", getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &g, &l));
        SHOW("so_rcvtimeo", "%ld.%06ld", (long)g.tv_sec, (long)g.tv_usec);
        /* 2.5 s: a whole number of jiffies for HZ=100/250/300/1000 (Linux
         * rounds the timeout to jiffies, e.g. 2.25 s reads back 2.252 s) */
        tv.tv_sec = 2;
        tv.tv_usec = 500000;
        CHECK("set_so_sndtimeo", setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
        l = sizeof g;
        CHECK("get_so_sndtimeo", getsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &g, &l));
        SHOW("so_sndtimeo", "%ld.%06ld", (long)g.tv_sec, (long)g.tv_usec);
        tv.tv_sec = 0;
        tv.tv_usec = 2000000;
        CHECK("set_so_rcvtimeo_bad_usec", setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
        CHECK("set_so_rcvtimeo_short", setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, 4));
        tv.tv_sec = 0;
        tv.tv_usec = 0;
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }

    /* --- SO_RCVBUF / SO_SNDBUF (Linux doubles the value) --- */
    {
        show_positive("default_so_rcvbuf", t, SOL_SOCKET, SO_RCVBUF);
        show_positive("default_so_sndbuf", t, SOL_SOCKET, SO_SNDBUF);
        set_int("set_so_rcvbuf_65536", t, SOL_SOCKET, SO_RCVBUF, 65536);
        int v = 0;
        socklen_t l = sizeof v;
        getsockopt(t, SOL_SOCKET, SO_RCVBUF, &v, &l);
        SHOW("get_so_rcvbuf_ge_set", "%d", v >= 65536);
        set_int("set_so_sndbuf_65536", t, SOL_SOCKET, SO_SNDBUF, 65536);
        l = sizeof v;
        getsockopt(t, SOL_SOCKET, SO_SNDBUF, &v, &l);
        SHOW("get_so_sndbuf_ge_set", "%d", v >= 65536);
        set_int("set_so_rcvbuf_udp_32768", u, SOL_SOCKET, SO_RCVBUF, 32768);
        l = sizeof v;
        getsockopt(u, SOL_SOCKET, SO_RCVBUF, &v, &l);
        SHOW("get_so_rcvbuf_udp_ge_set", "%d", v >= 32768);
        set_int("set_so_rcvbuf_negative", t, SOL_SOCKET, SO_RCVBUF, -1);
        l = sizeof v;
        getsockopt(t, SOL_SOCKET, SO_RCVBUF, &v, &l);
        SHOW("get_so_rcvbuf_after_negative_positive", "%d", v > 0);
    }

    /* --- IPPROTO_TCP --- */
    show_int("default_tcp_nodelay", c, IPPROTO_TCP, TCP_NODELAY);
    set_get("tcp_nodelay", c, IPPROTO_TCP, TCP_NODELAY, 1);
    set_get("tcp_nodelay", c, IPPROTO_TCP, TCP_NODELAY, 0);
    set_get("tcp_nodelay_unconnected", t, IPPROTO_TCP, TCP_NODELAY, 1);
    show_positive("default_tcp_keepidle", c, IPPROTO_TCP, TCP_KEEPIDLE);
    show_positive("default_tcp_keepintvl", c, IPPROTO_TCP, TCP_KEEPINTVL);
    show_positive("default_tcp_keepcnt", c, IPPROTO_TCP, TCP_KEEPCNT);
    set_get("tcp_keepidle", c, IPPROTO_TCP, TCP_KEEPIDLE, 30);
    set_get("tcp_keepintvl", c, IPPROTO_TCP, TCP_KEEPINTVL, 5);
    set_get("tcp_keepcnt", c, IPPROTO_TCP, TCP_KEEPCNT, 3);
    set_int("set_tcp_keepidle_0", c, IPPROTO_TCP, TCP_KEEPIDLE, 0);
    set_int("set_tcp_keepintvl_0", c, IPPROTO_TCP, TCP_KEEPINTVL, 0);
    set_int("set_tcp_keepcnt_0", c, IPPROTO_TCP, TCP_KEEPCNT, 0);
    set_int("set_tcp_keepidle_huge", c, IPPROTO_TCP, TCP_KEEPIDLE, 1000000);
    show_int("get_tcp_keepidle_after_errors", c, IPPROTO_TCP, TCP_KEEPIDLE);
    show_positive("default_tcp_maxseg", c, IPPROTO_TCP, TCP_MAXSEG);
    show_int("default_tcp_cork", c, IPPROTO_TCP, TCP_CORK);
    set_get("tcp_cork", c, IPPROTO_TCP, TCP_CORK, 1);
    set_get("tcp_cork", c, IPPROTO_TCP, TCP_CORK, 0);

    /* --- TCP_INFO --- */
    show_tcp_state("tcp_info_connected", c);
    show_tcp_state("tcp_info_accepted", s);
    show_tcp_state("tcp_info_listener", lfd);
    show_tcp_state("tcp_info_unconnected", t);
    {
        struct tcp_info ti;
        socklen_t l = 8;
        memset(&ti, 0xff, sizeof ti);
        CHECK("tcp_info_short", getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &l));
        SHOW("tcp_info_short_len", "%u state=%u", (unsigned)l, ti.tcpi_state);
        CHECK("tcp_info_udp", getsockopt(u, IPPROTO_TCP, TCP_INFO, &ti, &l));
    }

    /* --- IPPROTO_IP --- */
    show_positive("default_ip_ttl", c, IPPROTO_IP, IP_TTL);
    set_get("ip_ttl", c, IPPROTO_IP, IP_TTL, 17);
    set_int("set_ip_ttl_0", c, IPPROTO_IP, IP_TTL, 0);
    set_int("set_ip_ttl_256", c, IPPROTO_IP, IP_TTL, 256);
    show_int("default_ip_tos", c, IPPROTO_IP, IP_TOS);
    set_get("ip_tos", c, IPPROTO_IP, IP_TOS, 0x10);
    {
        /* Linux's do_ip_setsockopt takes a one-byte value too. */
        unsigned char b = 33;
        CHECK("set_ip_ttl_1_byte", setsockopt(c, IPPROTO_IP, IP_TTL, &b, 1));
        show_int("get_ip_ttl_after_1_byte", c, IPPROTO_IP, IP_TTL);
        b = 0x20;
        CHECK("set_ip_tos_1_byte", setsockopt(c, IPPROTO_IP, IP_TOS, &b, 1));
        show_int("get_ip_tos_after_1_byte", c, IPPROTO_IP, IP_TOS);
    }
    show_int("default_ip_mtu_discover", c, IPPROTO_IP, IP_MTU_DISCOVER);
    set_get("ip_mtu_discover", c, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
    set_int("set_ip_mtu_discover_6", c, IPPROTO_IP, IP_MTU_DISCOVER, 6);
    show_int("ip_mtu_unconnected", t, IPPROTO_IP, IP_MTU);

    /* --- the TCP options of issue 10 --- */
    show_int("default_tcp_user_timeout", c, IPPROTO_TCP, TCP_USER_TIMEOUT);
    set_get("tcp_user_timeout", c, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000);
    set_int("set_tcp_user_timeout_negative", c, IPPROTO_TCP, TCP_USER_TIMEOUT, -1);
    set_get("tcp_notsent_lowat", c, IPPROTO_TCP, TCP_NOTSENT_LOWAT, 4096);
    set_get("tcp_window_clamp", c, IPPROTO_TCP, TCP_WINDOW_CLAMP, 20000);
    set_get("tcp_linger2", c, IPPROTO_TCP, TCP_LINGER2, 7);
    set_get("tcp_syncnt", t, IPPROTO_TCP, TCP_SYNCNT, 3);
    set_int("set_tcp_syncnt_200", t, IPPROTO_TCP, TCP_SYNCNT, 200);
    {
        /* CUBIC keeps no TCP_CC_INFO: an empty answer (the host's own
         * default may be one that does). */
        CHECK("set_tcp_congestion_cubic", setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5));
        char info[64];
        socklen_t l = sizeof info;
        CHECK("tcp_cc_info", getsockopt(c, IPPROTO_TCP, TCP_CC_INFO, info, &l));
        SHOW("tcp_cc_info_len", "%u", (unsigned)l);
    }

    /* --- errors --- */
    {
        int v = 1;
        socklen_t l = sizeof v;
        CHECK("setsockopt_bad_level", setsockopt(c, 12345, 1, &v, sizeof v));
        CHECK("getsockopt_bad_level", getsockopt(c, 12345, 1, &v, &l));
        l = sizeof v;
        CHECK("setsockopt_bad_name_sol_socket", setsockopt(c, SOL_SOCKET, 9999, &v, sizeof v));
        CHECK("getsockopt_bad_name_sol_socket", getsockopt(c, SOL_SOCKET, 9999, &v, &l));
        l = sizeof v;
        CHECK("setsockopt_bad_name_tcp", setsockopt(c, IPPROTO_TCP, 9999, &v, sizeof v));
        CHECK("getsockopt_bad_name_tcp", getsockopt(c, IPPROTO_TCP, 9999, &v, &l));
        CHECK("setsockopt_optlen_2", setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &v, 2));
        CHECK("setsockopt_optlen_0", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &v, 0));
        CHECK("setsockopt_tcp_optlen_2", setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, 2));
        CHECK("setsockopt_null_optval", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, NULL, sizeof v));
        l = 2;
        v = 0;
        CHECK("getsockopt_optlen_2", getsockopt(c, SOL_SOCKET, SO_TYPE, &v, &l));
        SHOW("getsockopt_optlen_2_len", "%u", (unsigned)l);
        l = 0;
        CHECK("getsockopt_optlen_0", getsockopt(c, SOL_SOCKET, SO_TYPE, &v, &l));
        SHOW("getsockopt_optlen_0_len", "%u", (unsigned)l);
        l = (socklen_t)-1;
        CHECK("getsockopt_optlen_negative", getsockopt(c, SOL_SOCKET, SO_TYPE, &v, &l));
        l = 2;
        CHECK("getsockopt_tcp_optlen_2", getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &l));
        SHOW("getsockopt_tcp_optlen_2_len", "%u", (unsigned)l);
        l = 64;
        CHECK("getsockopt_optlen_large", getsockopt(c, SOL_SOCKET, SO_TYPE, &v, &l));
        SHOW("getsockopt_optlen_large_len", "%u", (unsigned)l);
        CHECK("getsockopt_null_optlen", getsockopt(c, SOL_SOCKET, SO_TYPE, &v, NULL));
    }

    /* --- TCP options on a UDP socket --- */
    set_int("udp_set_tcp_nodelay", u, IPPROTO_TCP, TCP_NODELAY, 1);
    show_int("udp_get_tcp_nodelay", u, IPPROTO_TCP, TCP_NODELAY);
    set_int("udp_set_tcp_keepidle", u, IPPROTO_TCP, TCP_KEEPIDLE, 10);
    show_int("udp_so_keepalive_set", u, SOL_SOCKET, SO_KEEPALIVE);
    set_get("udp_so_reuseaddr", u, SOL_SOCKET, SO_REUSEADDR, 1);

    /* --- inheritance of options by accepted sockets --- */
    {
        int l2;
        uint16_t p2;
        l2 = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = sin_lo(0);
        bind(l2, SA(&a), sizeof a);
        int one = 1;
        setsockopt(l2, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(l2, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        listen(l2, 4);
        p2 = local_port(l2);
        int c2, s2;
        tcp_pair(l2, p2, &c2, &s2);
        show_int("accepted_inherits_tcp_nodelay", s2, IPPROTO_TCP, TCP_NODELAY);
        show_int("accepted_inherits_so_keepalive", s2, SOL_SOCKET, SO_KEEPALIVE);
        show_int("client_tcp_nodelay", c2, IPPROTO_TCP, TCP_NODELAY);
        close(c2);
        close(s2);
        close(l2);
    }

    /* --- SO_REUSEADDR lets two sockets bind the same port (not listening) --- */
    {
        int one = 1;
        int b1 = socket(AF_INET, SOCK_STREAM, 0), b2 = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(b1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(b2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = sin_lo(0);
        bind(b1, SA(&a), sizeof a);
        a = sin_lo(local_port(b1));
        CHECK("bind_same_port_both_reuseaddr", bind(b2, SA(&a), sizeof a));
        CHECK("listen_first", listen(b1, 1));
        CHECK("listen_second_same_port", listen(b2, 1));
        close(b1);
        close(b2);
        /* SO_REUSEPORT: two listeners on the same port */
        b1 = socket(AF_INET, SOCK_STREAM, 0);
        b2 = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(b1, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        setsockopt(b2, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        a = sin_lo(0);
        bind(b1, SA(&a), sizeof a);
        listen(b1, 1);
        a = sin_lo(local_port(b1));
        CHECK("bind_same_port_both_reuseport", bind(b2, SA(&a), sizeof a));
        CHECK("listen_second_reuseport", listen(b2, 1));
        close(b1);
        close(b2);
    }

    close(c);
    close(s);
    close(t);
    close(u);
    close(lfd);
    return 0;
}
