/* recvmmsg and sendmmsg on UDP and TCP sockets: counts, each message's
 * length and sender, MSG_WAITFORONE, MSG_DONTWAIT, empty vectors, and the
 * errors of the first message. */
#include "posix.h"

#include <sys/syscall.h>

#define N 4

static void fill(struct mmsghdr *v, struct iovec *iov, char (*buf)[32], int n)
{
    memset(v, 0, sizeof(*v) * (size_t)n);
    for (int i = 0; i < n; i++) {
        iov[i].iov_base = buf[i];
        iov[i].iov_len = sizeof buf[i];
        v[i].msg_hdr.msg_iov = &iov[i];
        v[i].msg_hdr.msg_iovlen = 1;
    }
}

static void show_msgs(const char *name, struct mmsghdr *v, char (*buf)[32], int n, uint16_t from)
{
    for (int i = 0; i < n; i++) {
        const struct sockaddr_in *a = v[i].msg_hdr.msg_name;
        SHOW(name, "%d len=%u data='%.*s' from_match=%d", i, v[i].msg_len, (int)v[i].msg_len, buf[i],
             a == NULL || ntohs(a->sin_port) == from);
    }
}

int main(void)
{
    posix_init();
    uint16_t pa, pb;
    int ua = udp_bound(&pa), ub = udp_bound(&pb);
    struct sockaddr_in to = sin_lo(pb);
    struct mmsghdr v[N];
    struct iovec iov[N];
    char buf[N][32];
    struct sockaddr_in names[N];

    /* Three datagrams out in one call, to an explicit address. */
    const char *words[3] = {"one", "two", "three"};
    memset(v, 0, sizeof v);
    for (int i = 0; i < 3; i++) {
        iov[i].iov_base = (void *)words[i];
        iov[i].iov_len = strlen(words[i]);
        v[i].msg_hdr.msg_iov = &iov[i];
        v[i].msg_hdr.msg_iovlen = 1;
        v[i].msg_hdr.msg_name = &to;
        v[i].msg_hdr.msg_namelen = sizeof to;
    }
    CHECK("sendmmsg_three", sendmmsg(ua, v, 3, 0));
    SHOW("sendmmsg_three_lens", "%u %u %u", v[0].msg_len, v[1].msg_len, v[2].msg_len);
    sleep_ms(50);

    fill(v, iov, buf, N);
    for (int i = 0; i < N; i++) {
        v[i].msg_hdr.msg_name = &names[i];
        v[i].msg_hdr.msg_namelen = sizeof names[i];
    }
    CHECK("recvmmsg_dontwait", recvmmsg(ub, v, N, MSG_DONTWAIT, NULL));
    show_msgs("recvmmsg_dontwait_msg", v, buf, 3, pa);
    CHECK("recvmmsg_empty_dontwait", recvmmsg(ub, v, N, MSG_DONTWAIT, NULL));

    /* MSG_WAITFORONE: waits for the first, then takes what is there. */
    sendto(ua, "w1", 2, 0, SA(&to), sizeof to);
    sendto(ua, "w2", 2, 0, SA(&to), sizeof to);
    sleep_ms(50);
    fill(v, iov, buf, N);
    CHECK("recvmmsg_waitforone", recvmmsg(ub, v, N, MSG_WAITFORONE, NULL));
    show_msgs("recvmmsg_waitforone_msg", v, buf, 2, pa);

    /* A timeout with fewer datagrams than asked for: checked after each
     * datagram, so the call returns once the timeout has passed. */
    sendto(ua, "t1", 2, 0, SA(&to), sizeof to);
    sleep_ms(50);
    fill(v, iov, buf, N);
    struct timespec ts = {0, 0};
    CHECK("recvmmsg_timeout_zero", recvmmsg(ub, v, N, 0, &ts));
    show_msgs("recvmmsg_timeout_zero_msg", v, buf, 1, pa);

    /* Truncation is per message. */
    sendto(ua, "a-long-datagram", 15, 0, SA(&to), sizeof to);
    sleep_ms(50);
    fill(v, iov, buf, 1);
    iov[0].iov_len = 4;
    CHECK("recvmmsg_trunc", recvmmsg(ub, v, 1, MSG_DONTWAIT, NULL));
    SHOW("recvmmsg_trunc_msg", "len=%u flags_trunc=%d", v[0].msg_len, (v[0].msg_hdr.msg_flags & MSG_TRUNC) != 0);

    CHECK("sendmmsg_vlen0", sendmmsg(ua, v, 0, 0));
    CHECK("recvmmsg_vlen0", recvmmsg(ub, v, 0, MSG_DONTWAIT, NULL));
    /* The first message failing fails the call. */
    memset(v, 0, sizeof v);
    iov[0].iov_base = "x";
    iov[0].iov_len = 1;
    v[0].msg_hdr.msg_iov = &iov[0];
    v[0].msg_hdr.msg_iovlen = 1;
    int fresh = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK("sendmmsg_no_address", sendmmsg(fresh, v, 1, 0));
    close(fresh);
    /* A later one failing returns the count so far. */
    v[1] = v[0];
    v[0].msg_hdr.msg_name = &to;
    v[0].msg_hdr.msg_namelen = sizeof to;
    fresh = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK("sendmmsg_second_fails", sendmmsg(fresh, v, 2, 0));
    close(fresh);
    sleep_ms(50);
    fill(v, iov, buf, N);
    CHECK("recvmmsg_after_partial", recvmmsg(ub, v, N, MSG_DONTWAIT, NULL));

    /* The same calls made through syscall(), as libuv (dig) makes them. */
    memset(v, 0, sizeof v);
    for (int i = 0; i < 2; i++) {
        iov[i].iov_base = (void *)words[i];
        iov[i].iov_len = strlen(words[i]);
        v[i].msg_hdr.msg_iov = &iov[i];
        v[i].msg_hdr.msg_iovlen = 1;
        v[i].msg_hdr.msg_name = &to;
        v[i].msg_hdr.msg_namelen = sizeof to;
    }
    CHECK("syscall_sendmmsg_two", (int)syscall(SYS_sendmmsg, ua, v, 2, 0));
    sleep_ms(50);
    fill(v, iov, buf, N);
    for (int i = 0; i < N; i++) {
        v[i].msg_hdr.msg_name = &names[i];
        v[i].msg_hdr.msg_namelen = sizeof names[i];
    }
    CHECK("syscall_recvmmsg_two", (int)syscall(SYS_recvmmsg, ub, v, N, MSG_DONTWAIT, NULL));
    show_msgs("syscall_recvmmsg_msg", v, buf, 2, pa);
    CHECK("syscall_recvmmsg_empty", (int)syscall(SYS_recvmmsg, ub, v, N, MSG_DONTWAIT, NULL));
    CHECK("syscall_getpid_positive", syscall(SYS_getpid) > 0 ? 0 : -1);

    /* TCP: each message is a send, the bytes one stream. */
    uint16_t port;
    int lfd = tcp_listener(&port, 4);
    int c, s;
    tcp_pair(lfd, port, &c, &s);
    memset(v, 0, sizeof v);
    for (int i = 0; i < 3; i++) {
        iov[i].iov_base = (void *)words[i];
        iov[i].iov_len = strlen(words[i]);
        v[i].msg_hdr.msg_iov = &iov[i];
        v[i].msg_hdr.msg_iovlen = 1;
    }
    CHECK("tcp_sendmmsg", sendmmsg(c, v, 3, 0));
    wait_avail(s, 11, 2000);
    fill(v, iov, buf, N);
    CHECK("tcp_recvmmsg_dontwait", recvmmsg(s, v, N, MSG_DONTWAIT, NULL));
    SHOW("tcp_recvmmsg_first", "len=%u data='%.*s'", v[0].msg_len, (int)v[0].msg_len, buf[0]);
    close(c);
    close(s);
    close(lfd);
    close(ua);
    close(ub);
    return 0;
}
