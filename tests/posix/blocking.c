/* Blocking semantics: EINTR from signals (with and without SA_RESTART),
 * SO_RCVTIMEO, and blocking calls woken up by other threads. */
#include "posix.h"

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void install_alarm(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
}

static void itimer_ms(long ms)
{
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = ms / 1000;
    it.it_value.tv_usec = (ms % 1000) * 1000;
    setitimer(ITIMER_REAL, &it, NULL);
}

/* SIGALRM is used by the tests, so the safety net is a watchdog thread. */
static void *watchdog(void *arg)
{
    (void)arg;
    sleep(10);
    printf("FATAL: watchdog timeout\n");
    fflush(stdout);
    _exit(3);
}

/* Helper threads block every signal so that SIGALRM always interrupts the
 * main thread. */
static pthread_t spawn(void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_t t;
    if (pthread_create(&t, NULL, fn, arg) != 0)
        FATAL("pthread_create");
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return t;
}

struct job {
    int fd;
    uint16_t port;
    int delay_ms;
    int result;
    long total;
};

static void *delayed_send(void *arg)
{
    struct job *j = arg;
    sleep_ms(j->delay_ms);
    j->result = (int)send(j->fd, "wake", 4, MSG_NOSIGNAL);
    return NULL;
}

static void *delayed_connect(void *arg)
{
    struct job *j = arg;
    sleep_ms(j->delay_ms);
    j->result = tcp_connect(j->port);
    return NULL;
}

static void *delayed_shutdown_rd(void *arg)
{
    struct job *j = arg;
    sleep_ms(j->delay_ms);
    j->result = shutdown(j->fd, SHUT_RD);
    return NULL;
}

static void *delayed_close(void *arg)
{
    struct job *j = arg;
    sleep_ms(j->delay_ms);
    j->result = close(j->fd);
    return NULL;
}

static void *delayed_rst(void *arg)
{
    struct job *j = arg;
    sleep_ms(j->delay_ms);
    struct linger lg = {1, 0};
    setsockopt(j->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    j->result = close(j->fd);
    return NULL;
}

static void *delayed_sendto(void *arg)
{
    struct job *j = arg;
    sleep_ms(j->delay_ms);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = sin_lo(j->port);
    j->result = (int)sendto(u, "dgram", 5, 0, SA(&to), sizeof to);
    close(u);
    return NULL;
}

/* Reads everything until EOF, slowly at first. */
static void *slow_reader(void *arg)
{
    struct job *j = arg;
    static char buf[16384];
    sleep_ms(j->delay_ms);
    for (;;) {
        ssize_t r = recv(j->fd, buf, sizeof buf, 0);
        if (r <= 0)
            break;
        j->total += r;
    }
    return NULL;
}

static void show_elapsed(const char *name, long t0, long lo, long hi)
{
    long d = now_ms() - t0;
    printf("%s: in_range=%d\n", name, d >= lo && d < hi);
}

int main(void)
{
    posix_init();
    alarm(0);
    {
        pthread_t w = spawn(watchdog, NULL);
        pthread_detach(w);
    }
    char buf[256];
    uint16_t lport;
    int lfd = tcp_listener(&lport, 16);
    long t0;

    /* --- EINTR without SA_RESTART --- */
    install_alarm(0);
    alarms = 0;
    itimer_ms(200);
    t0 = now_ms();
    CHECK("accept_eintr", accept(lfd, NULL, NULL));
    SHOW("accept_eintr_alarms", "%d", (int)alarms);
    show_elapsed("accept_eintr_elapsed", t0, 150, 3000);

    int c, s;
    tcp_pair(lfd, lport, &c, &s);
    alarms = 0;
    itimer_ms(200);
    CHECK("recv_eintr", recv(c, buf, sizeof buf, 0));
    SHOW("recv_eintr_alarms", "%d", (int)alarms);
    alarms = 0;
    itimer_ms(100);
    CHECK("read_eintr", read(c, buf, sizeof buf));
    alarms = 0;
    itimer_ms(100);
    {
        struct pollfd p = {c, POLLIN, 0};
        CHECK("poll_eintr", poll(&p, 1, 5000));
    }
    {
        uint16_t up;
        int u = udp_bound(&up);
        alarms = 0;
        itimer_ms(100);
        CHECK("recvfrom_udp_eintr", recvfrom(u, buf, sizeof buf, 0, NULL, NULL));
        close(u);
    }

    /* --- SA_RESTART: accept/recv are restarted, poll is not --- */
    install_alarm(SA_RESTART);
    {
        struct job j = {-1, lport, 250, 0, 0};
        alarms = 0;
        itimer_ms(50);
        pthread_t t = spawn(delayed_connect, &j);
        int a = (int)CHECK_FD("accept_restarted", accept(lfd, NULL, NULL));
        pthread_join(t, NULL);
        SHOW("accept_restarted_alarms", "%d", (int)alarms);
        close(a);
        close(j.result);
    }
    {
        struct job j = {s, 0, 250, 0, 0};
        alarms = 0;
        itimer_ms(50);
        pthread_t t = spawn(delayed_send, &j);
        memset(buf, 0, sizeof buf);
        CHECK("recv_restarted", recv(c, buf, sizeof buf, 0));
        pthread_join(t, NULL);
        SHOW("recv_restarted_data", "'%s' alarms=%d", buf, (int)alarms);
    }
    alarms = 0;
    itimer_ms(100);
    {
        struct pollfd p = {c, POLLIN, 0};
        CHECK("poll_eintr_despite_sa_restart", poll(&p, 1, 5000));
    }
    /* with SO_RCVTIMEO set, Linux does not restart recv */
    set_rcvtimeo(c, 3000);
    alarms = 0;
    itimer_ms(100);
    CHECK("recv_rcvtimeo_eintr_despite_sa_restart", recv(c, buf, sizeof buf, 0));
    set_rcvtimeo(c, 0);
    signal(SIGALRM, SIG_IGN);

    /* --- SO_RCVTIMEO --- */
    {
        struct timeval tv = {0, 200000};
        CHECK("set_rcvtimeo_200ms", setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
        t0 = now_ms();
        CHECK("recv_rcvtimeo", recv(c, buf, sizeof buf, 0));
        show_elapsed("recv_rcvtimeo_elapsed", t0, 150, 3000);
        CHECK("read_rcvtimeo", read(c, buf, sizeof buf));
        CHECK("recv_dontwait_with_rcvtimeo", recv(c, buf, sizeof buf, MSG_DONTWAIT));
        /* data arriving before the timeout is returned */
        struct job j = {s, 0, 50, 0, 0};
        pthread_t t = spawn(delayed_send, &j);
        memset(buf, 0, sizeof buf);
        CHECK("recv_rcvtimeo_data_in_time", recv(c, buf, sizeof buf, 0));
        pthread_join(t, NULL);
        SHOW("recv_rcvtimeo_data_in_time_data", "'%s'", buf);
        tv.tv_usec = 0;
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

        tv.tv_usec = 100000;
        CHECK("set_rcvtimeo_listener", setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
        t0 = now_ms();
        CHECK("accept_rcvtimeo", accept(lfd, NULL, NULL));
        show_elapsed("accept_rcvtimeo_elapsed", t0, 70, 3000);
        tv.tv_usec = 0;
        setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

        uint16_t up;
        int u = udp_bound(&up);
        tv.tv_usec = 100000;
        setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        t0 = now_ms();
        CHECK("recvfrom_udp_rcvtimeo", recvfrom(u, buf, sizeof buf, 0, NULL, NULL));
        show_elapsed("recvfrom_udp_rcvtimeo_elapsed", t0, 70, 3000);
        close(u);
    }

    /* --- blocking calls woken by other threads --- */
    {
        struct job j = {s, 0, 50, 0, 0};
        pthread_t t = spawn(delayed_send, &j);
        memset(buf, 0, sizeof buf);
        CHECK("recv_woken_by_data", recv(c, buf, sizeof buf, 0));
        pthread_join(t, NULL);
        SHOW("recv_woken_by_data_data", "'%s'", buf);
    }
    {
        struct job j = {-1, lport, 50, 0, 0};
        pthread_t t = spawn(delayed_connect, &j);
        struct sockaddr_in a;
        socklen_t len = sizeof a;
        int acc = (int)CHECK_FD("accept_woken_by_connect", accept(lfd, SA(&a), &len));
        pthread_join(t, NULL);
        SHOW("accept_woken_peer_port_match", "%d", ntohs(a.sin_port) == local_port(j.result));
        close(acc);
        close(j.result);
    }
    {
        struct job j = {s, 0, 50, 0, 0};
        pthread_t t = spawn(delayed_send, &j);
        struct pollfd p = {c, POLLIN, 0};
        CHECK("poll_woken_by_data", poll(&p, 1, 5000));
        SHOW("poll_woken_by_data_revents", "%s", revents_str(p.revents));
        pthread_join(t, NULL);
        recv(c, buf, sizeof buf, 0);
        CHECK("poll_timeout", poll(&p, 1, 100));
    }
    {
        uint16_t up;
        int u = udp_bound(&up);
        struct job j = {-1, up, 50, 0, 0};
        pthread_t t = spawn(delayed_sendto, &j);
        memset(buf, 0, sizeof buf);
        CHECK("recvfrom_udp_woken", recvfrom(u, buf, sizeof buf, 0, NULL, NULL));
        pthread_join(t, NULL);
        SHOW("recvfrom_udp_woken_data", "'%s'", buf);
        close(u);
    }
    /* shutdown(SHUT_RD) from another thread wakes a blocked recv with 0 */
    {
        int c2, s2;
        tcp_pair(lfd, lport, &c2, &s2);
        struct job j = {c2, 0, 50, 0, 0};
        pthread_t t = spawn(delayed_shutdown_rd, &j);
        CHECK("recv_woken_by_own_shutdown_rd", recv(c2, buf, sizeof buf, 0));
        pthread_join(t, NULL);
        SHOW("own_shutdown_rd_ret", "%d", j.result);
        close(c2);
        close(s2);
    }
    /* shutdown of a listener from another thread wakes a blocked accept */
    {
        uint16_t p2;
        int l2 = tcp_listener(&p2, 4);
        struct job j = {l2, 0, 50, 0, 0};
        pthread_t t = spawn(delayed_shutdown_rd, &j);
        CHECK("accept_woken_by_listener_shutdown", accept(l2, NULL, NULL));
        pthread_join(t, NULL);
        close(l2);
    }
    /* peer close wakes a blocked recv with 0 */
    {
        int c2, s2;
        tcp_pair(lfd, lport, &c2, &s2);
        struct job j = {s2, 0, 50, 0, 0};
        pthread_t t = spawn(delayed_close, &j);
        CHECK("recv_woken_by_peer_close", recv(c2, buf, sizeof buf, 0));
        pthread_join(t, NULL);
        close(c2);
    }
    /* peer RST wakes a blocked recv with ECONNRESET */
    {
        int c2, s2;
        tcp_pair(lfd, lport, &c2, &s2);
        struct job j = {s2, 0, 50, 0, 0};
        pthread_t t = spawn(delayed_rst, &j);
        CHECK("recv_woken_by_peer_rst", recv(c2, buf, sizeof buf, 0));
        pthread_join(t, NULL);
        close(c2);
    }
    /* blocking send of 1 MiB through small buffers completes once the peer
     * starts reading (flow control, send blocks rather than failing) */
    {
        int c2, s2;
        tcp_pair(lfd, lport, &c2, &s2);
        int sz = 16384;
        setsockopt(c2, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
        setsockopt(s2, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
        struct job j = {s2, 0, 250, 0, 0};
        pthread_t t = spawn(slow_reader, &j);
        static char big[1 << 20];
        memset(big, 'b', sizeof big);
        t0 = now_ms();
        CHECK("send_1mib_blocking", send(c2, big, sizeof big, 0));
        show_elapsed("send_1mib_blocked_until_reader", t0, 150, 5000);
        shutdown(c2, SHUT_WR);
        pthread_join(t, NULL);
        SHOW("reader_total", "%ld", j.total);
        close(c2);
        close(s2);
    }

    close(c);
    close(s);
    close(lfd);
    return 0;
}
