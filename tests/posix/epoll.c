/* epoll, and the same event bits from poll and select: the bits of each
 * socket state (never connected, listening, connected, refused, peer
 * SHUT_WR, reset before and after SO_ERROR), level- and edge-triggered,
 * EPOLLONESHOT, epoll_ctl's errnos, one set mixing ustack sockets with
 * pipes, eventfds, timerfds, signalfds and Unix sockets, nested sets and
 * poll on an epoll fd, two sets watching one socket, close and dup of a
 * registered socket, threads (a wait woken by data and by epoll_ctl,
 * EPOLLEXCLUSIVE), timeouts, EINTR and epoll_pwait's sigmask, an events
 * array that cannot be written, kernel fds beside always-ready sockets. */
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "posix.h"

static const char *ev_str(uint32_t ev)
{
    static _Thread_local char buf[128];
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{EPOLLIN, "IN"},   {EPOLLPRI, "PRI"},     {EPOLLOUT, "OUT"},
                 {EPOLLERR, "ERR"}, {EPOLLHUP, "HUP"},     {EPOLLRDHUP, "RDHUP"},
                 {EPOLLRDNORM, "RDNORM"}, {EPOLLWRNORM, "WRNORM"}};
    buf[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (ev & names[i].bit) {
            strcat(buf, "|");
            strcat(buf, names[i].name);
        }
    return buf[0] ? buf + 1 : "0";
}

#define ALL_EV (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDHUP)

/* One epoll_wait on ep (timeout ms): the count and each event as
 * "tag:bits", tags being the data.u32 set by the test. */
static void show_wait(const char *name, int ep, int timeout)
{
    struct epoll_event e[16];
    errno = 0;
    int n = epoll_wait(ep, e, 16, timeout);
    int err = errno;
    if (n < 0) {
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(err));
        return;
    }
    /* Order within one return is not specified: print sorted by tag. */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (e[j].data.u32 < e[i].data.u32) {
                struct epoll_event t = e[i];
                e[i] = e[j];
                e[j] = t;
            }
    printf("%s: ret=%d", name, n);
    for (int i = 0; i < n; i++)
        printf(" %u:%s", e[i].data.u32, ev_str(e[i].events));
    printf("\n");
}

static void add(int ep, int fd, uint32_t events, uint32_t tag)
{
    struct epoll_event e = {.events = events, .data.u32 = tag};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0)
        FATAL("epoll_ctl add");
}

static long ctl(int ep, int op, int fd, uint32_t events, uint32_t tag)
{
    struct epoll_event e = {.events = events, .data.u32 = tag};
    return epoll_ctl(ep, op, fd, &e);
}

/* The socket's bits three ways: epoll (a new set), poll, select. The
 * set is asked with a timeout: a socket poll just saw ready is reported at
 * once, and one with nothing to report costs the wait. */
static void show_state(const char *name, int fd)
{
    char n[96];
    int ep = epoll_create1(0);
    add(ep, fd, ALL_EV, 1);
    snprintf(n, sizeof n, "%s epoll", name);
    show_wait(n, ep, 200);
    close(ep);
    snprintf(n, sizeof n, "%s poll", name);
    show_poll(n, fd, POLLIN | POLLPRI | POLLOUT | POLLRDHUP, 0);
    fd_set r, w, x;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&x);
    FD_SET(fd, &r);
    FD_SET(fd, &w);
    FD_SET(fd, &x);
    struct timeval tv = {0, 0};
    int rc = select(fd + 1, &r, &w, &x, &tv);
    printf("%s select: ret=%d r=%d w=%d x=%d\n", name, rc, FD_ISSET(fd, &r), FD_ISSET(fd, &w),
           FD_ISSET(fd, &x));
}

/* Wait until fd's poll bits include `want` (setup, not a check). */
static void settle(int fd, short want)
{
    struct pollfd p = {fd, want, 0};
    long end = now_ms() + 3000;
    while (now_ms() < end) {
        p.revents = 0;
        if (poll(&p, 1, 50) > 0 && (p.revents & want) == want)
            return;
    }
    FATAL("socket never reached the expected state");
}

static uint16_t closed_port(void)
{
    uint16_t port;
    int l = tcp_listener(&port, 1);
    close(l);
    return port;
}

static void states(void)
{
    int fresh = socket(AF_INET, SOCK_STREAM, 0);
    show_state("fresh tcp", fresh);
    struct sockaddr_in any = sin_lo(0);
    bind(fresh, SA(&any), sizeof any);
    show_state("bound tcp", fresh);
    close(fresh);

    uint16_t port;
    int lfd = tcp_listener(&port, 8);
    show_state("listener idle", lfd);
    int cli = tcp_connect(port);
    settle(lfd, POLLIN);
    show_state("listener pending", lfd);
    int srv = accept(lfd, NULL, NULL);
    show_state("connected idle", cli);
    send(cli, "x", 1, 0);
    settle(srv, POLLIN);
    show_state("connected data", srv);
    shutdown(cli, SHUT_WR);
    settle(srv, POLLRDHUP);
    show_state("peer shut_wr", srv);
    show_state("own shut_wr", cli);
    shutdown(srv, SHUT_WR);
    settle(cli, POLLRDHUP);
    show_state("both shut", cli);
    close(cli);
    close(srv);

    /* A reset: the peer closes with SO_LINGER 0. */
    tcp_pair(lfd, port, &cli, &srv);
    struct linger lg = {1, 0};
    setsockopt(srv, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(srv);
    settle(cli, POLLERR);
    show_state("reset", cli);
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(cli, SOL_SOCKET, SO_ERROR, &err, &el);
    SHOW("reset so_error", "%s", posix_errname(err));
    show_state("reset after so_error", cli);
    close(cli);

    /* A refused non-blocking connect. */
    int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in dead = sin_lo(closed_port());
    connect(nb, SA(&dead), sizeof dead);
    settle(nb, POLLERR);
    show_state("refused", nb);
    getsockopt(nb, SOL_SOCKET, SO_ERROR, &err, &el);
    SHOW("refused so_error", "%s", posix_errname(err));
    show_state("refused after so_error", nb);
    close(nb);

    uint16_t up;
    int u = udp_bound(&up);
    show_state("udp idle", u);
    int u2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = sin_lo(up);
    sendto(u2, "d", 1, 0, SA(&ua), sizeof ua);
    settle(u, POLLIN);
    show_state("udp datagram", u);
    close(u);
    close(u2);
    close(lfd);
}

static void triggers(void)
{
    uint16_t port;
    int lfd = tcp_listener(&port, 8);
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    int lt = epoll_create1(EPOLL_CLOEXEC), et = epoll_create1(0), os = epoll_create(1);
    add(lt, srv, EPOLLIN, 1);
    add(et, srv, EPOLLIN | EPOLLET, 2);
    add(os, srv, EPOLLIN | EPOLLONESHOT, 3);
    show_wait("idle lt", lt, 0);
    show_wait("idle et", et, 0);
    send(cli, "ab", 2, 0);
    settle(srv, POLLIN);
    /* The first wait of each set after poll saw the data may take as long
     * as the news takes to come (a ready set returns at once). */
    show_wait("data lt", lt, 1000);
    show_wait("data lt again", lt, 0);
    show_wait("data et", et, 1000);
    show_wait("data et again", et, 0);
    show_wait("data oneshot", os, 1000);
    show_wait("data oneshot again", os, 0);
    char c;
    recv(srv, &c, 1, 0);
    show_wait("partly read lt", lt, 0);
    show_wait("partly read et", et, 0);
    send(cli, "c", 1, 0);
    wait_avail(srv, 2, 3000);
    show_wait("more data et", et, 1000);
    CHECK("oneshot rearm", ctl(os, EPOLL_CTL_MOD, srv, EPOLLIN | EPOLLONESHOT, 4));
    show_wait("oneshot rearmed", os, 0);
    char buf[8];
    recv(srv, buf, sizeof buf, 0);
    show_wait("drained lt", lt, 0);
    show_wait("drained et", et, 0);
    CHECK("mod to out", ctl(lt, EPOLL_CTL_MOD, srv, EPOLLOUT, 5));
    show_wait("out lt", lt, 0);
    CHECK("mod to out et", ctl(et, EPOLL_CTL_MOD, srv, EPOLLOUT | EPOLLET, 6));
    show_wait("out et", et, 0);
    show_wait("out et again", et, 0);
    CHECK("del", epoll_ctl(lt, EPOLL_CTL_DEL, srv, NULL));
    show_wait("after del", lt, 0);

    /* EPOLLET on a listener: one report per arriving connection. */
    int le = epoll_create1(0);
    add(le, lfd, EPOLLIN | EPOLLET, 7);
    int c1 = tcp_connect(port);
    settle(lfd, POLLIN);
    show_wait("listener et first", le, 1000);
    show_wait("listener et again", le, 0);
    int c2 = tcp_connect(port);
    show_wait("listener et second", le, 1000);
    int a1 = accept(lfd, NULL, NULL), a2 = accept(lfd, NULL, NULL);
    SHOW("listener et accepted", "%d", a1 >= 0 && a2 >= 0);
    show_wait("listener et drained", le, 0);
    close(a1);
    close(a2);
    close(c1);
    close(c2);

    /* RDHUP asked for, and not. */
    int rh = epoll_create1(0);
    add(rh, srv, EPOLLIN | EPOLLRDHUP, 8);
    int norh = epoll_create1(0);
    add(norh, srv, EPOLLIN, 9);
    shutdown(cli, SHUT_WR);
    settle(srv, POLLRDHUP);
    show_wait("rdhup asked", rh, 1000);
    show_wait("rdhup not asked", norh, 1000);
    /* No events asked for at all: ERR and HUP still come. */
    int none = epoll_create1(0);
    add(none, srv, 0, 10);
    show_wait("nothing asked", none, 0);
    shutdown(srv, SHUT_WR);
    settle(srv, POLLHUP);
    show_wait("nothing asked both shut", none, 1000);
    close(none);
    close(rh);
    close(norh);
    close(le);
    close(lt);
    close(et);
    close(os);
    close(cli);
    close(srv);
    close(lfd);
}

static void errnos(void)
{
    int ep = epoll_create1(0);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int p[2];
    if (pipe(p) != 0)
        FATAL("pipe");
    CHECK("create 0", epoll_create(0));
    CHECK("create -1", epoll_create(-1));
    CHECK("create1 bad flag", epoll_create1(1));
    CHECK("add", ctl(ep, EPOLL_CTL_ADD, s, EPOLLIN, 1));
    CHECK("add again", ctl(ep, EPOLL_CTL_ADD, s, EPOLLIN, 1));
    CHECK("mod", ctl(ep, EPOLL_CTL_MOD, s, EPOLLOUT, 1));
    CHECK("bad op", ctl(ep, 99, s, EPOLLIN, 1));
    CHECK("add null event", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], NULL));
    CHECK("mod null event", epoll_ctl(ep, EPOLL_CTL_MOD, s, NULL));
    CHECK("del", epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL));
    CHECK("del again", epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL));
    CHECK("mod absent", ctl(ep, EPOLL_CTL_MOD, s, EPOLLIN, 1));
    CHECK("epfd is fd", ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 1));
    CHECK("epfd is a pipe", ctl(p[0], EPOLL_CTL_ADD, s, EPOLLIN, 1));
    CHECK("epfd is a socket", ctl(s, EPOLL_CTL_ADD, p[0], EPOLLIN, 1));
    CHECK("epfd bad", ctl(1000, EPOLL_CTL_ADD, s, EPOLLIN, 1));
    CHECK("epfd negative", ctl(-1, EPOLL_CTL_ADD, s, EPOLLIN, 1));
    CHECK("fd bad", ctl(ep, EPOLL_CTL_ADD, 1000, EPOLLIN, 1));
    CHECK("del fd bad", epoll_ctl(ep, EPOLL_CTL_DEL, 1000, NULL));
    CHECK("exclusive add", ctl(ep, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLEXCLUSIVE, 1));
    CHECK("exclusive mod", ctl(ep, EPOLL_CTL_MOD, s, EPOLLIN | EPOLLEXCLUSIVE, 1));
    CHECK("mod of exclusive", ctl(ep, EPOLL_CTL_MOD, s, EPOLLIN, 1));
    CHECK("del of exclusive", epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL));
    CHECK("exclusive oneshot", ctl(ep, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 1));
    CHECK("exclusive rdhup", ctl(ep, EPOLL_CTL_ADD, s, EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP, 1));
    int inner = epoll_create1(0);
    CHECK("exclusive epoll", ctl(ep, EPOLL_CTL_ADD, inner, EPOLLIN | EPOLLEXCLUSIVE, 1));
    struct epoll_event e[2];
    CHECK("wait maxevents 0", epoll_wait(ep, e, 0, 0));
    int neg = -1;
    CHECK("wait maxevents -1", epoll_wait(ep, e, *(volatile int *)&neg, 0));
    CHECK("wait on a pipe", epoll_wait(p[0], e, 2, 0));
    CHECK("wait on a socket", epoll_wait(s, e, 2, 0));
    CHECK("wait bad fd", epoll_wait(1000, e, 2, 0));
    struct timespec bad = {0, 1000000000L};
    CHECK("pwait2 bad timespec", epoll_pwait2(ep, e, 2, &bad, NULL));
    struct timespec zero = {0, 0};
    CHECK("pwait2 zero", epoll_pwait2(ep, e, 2, &zero, NULL));
    CHECK("pwait2 zero after add", (ctl(ep, EPOLL_CTL_ADD, s, EPOLLOUT, 1), epoll_pwait2(ep, e, 2, &zero, NULL)));
    close(inner);
    close(ep);
    close(s);
    close(p[0]);
    close(p[1]);
}

/* The tags reported by `waits` epoll_waits (a ready set returns at once):
 * every ready member within a few waits (Linux: the first). */
static uint32_t seen_within(int ep, int waits)
{
    uint32_t seen = 0;
    for (int i = 0; i < waits; i++) {
        struct epoll_event e[16];
        int n = epoll_wait(ep, e, 16, 10);
        for (int j = 0; j < n; j++)
            seen |= 1u << e[j].data.u32;
    }
    return seen;
}

static void mixed(void)
{
    uint16_t port;
    int lfd = tcp_listener(&port, 8);
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    int p[2], un[2];
    if (pipe(p) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, un) != 0)
        FATAL("pipe");
    int efd = eventfd(0, EFD_NONBLOCK);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGUSR2);
    sigprocmask(SIG_BLOCK, &ss, NULL);
    int sfd = signalfd(-1, &ss, SFD_NONBLOCK);
    int ep = epoll_create1(0);
    add(ep, srv, EPOLLIN, 1);
    add(ep, p[0], EPOLLIN, 2);
    add(ep, efd, EPOLLIN, 3);
    add(ep, tfd, EPOLLIN, 4);
    add(ep, sfd, EPOLLIN, 5);
    add(ep, un[0], EPOLLIN, 6);
    add(ep, lfd, EPOLLIN, 7);
    show_wait("mixed idle", ep, 0);
    send(cli, "s", 1, 0);
    show_wait("mixed socket", ep, 1000);
    if (write(p[1], "p", 1) != 1 || eventfd_write(efd, 1) != 0)
        FATAL("write");
    struct itimerspec it = {.it_value = {0, 1000000}};
    timerfd_settime(tfd, 0, &it, NULL);
    kill(getpid(), SIGUSR2);
    if (write(un[1], "u", 1) != 1)
        FATAL("write");
    int c2 = tcp_connect(port);
    settle(tfd, POLLIN);
    settle(lfd, POLLIN);
    SHOW("mixed all seen", "%#x", seen_within(ep, 40));
    char b[256];
    recv(srv, b, sizeof b, 0);
    SHOW("mixed socket drained seen", "%#x", seen_within(ep, 40));
    if (read(p[0], b, 1) != 1 || read(efd, b, 8) != 8 || read(tfd, b, 8) != 8 ||
        read(sfd, b, sizeof(struct signalfd_siginfo)) <= 0 || read(un[0], b, 1) != 1)
        FATAL("read");
    int a = accept(lfd, NULL, NULL);
    show_wait("mixed all drained", ep, 0);
    /* A kernel event wakes a wait that blocks. */
    if (write(p[1], "p", 1) != 1)
        FATAL("write");
    show_wait("mixed pipe wakes", ep, 1000);
    close(a);
    close(c2);
    close(ep);
    close(p[0]);
    close(p[1]);
    close(un[0]);
    close(un[1]);
    close(efd);
    close(tfd);
    close(sfd);
    close(cli);
    close(srv);
    close(lfd);
}

/* An events array the program cannot write (NULL, an unmapped page):
 * EFAULT once an event is there to store, as Linux, and the event kept.
 * A set whose ustack member is always ready still reports its pipe when
 * asked for one event at a time. */
static void faults_fairness(void)
{
    uint16_t port;
    int lfd = tcp_listener(&port, 8);
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    int ep = epoll_create1(0);
    add(ep, srv, EPOLLIN, 1);
    /* Through a volatile, so the compiler lets the NULL reach the call. */
    struct epoll_event *volatile null = NULL;
    CHECK("wait null, nothing ready", epoll_wait(ep, null, 1, 0));
    if (send(cli, "x", 1, 0) != 1)
        FATAL("send");
    settle(srv, POLLIN);
    CHECK("wait null, socket ready", epoll_wait(ep, null, 1, 0));
    void *gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (gone == MAP_FAILED || munmap(gone, 4096) != 0)
        FATAL("mmap");
    CHECK("wait unmapped, socket ready", epoll_wait(ep, gone, 4, 0));
    show_wait("wait after the faults", ep, 0);
    int p[2];
    if (pipe(p) != 0 || write(p[1], "p", 1) != 1)
        FATAL("pipe");
    add(ep, p[0], EPOLLIN, 2);
    int seen[3] = {0};
    for (int i = 0; i < 40; i++) {
        struct epoll_event e;
        if (epoll_wait(ep, &e, 1, 0) == 1 && e.data.u32 <= 2)
            seen[e.data.u32]++;
    }
    SHOW("one event a wait, 40 waits: socket seen, pipe seen", "%s %s", seen[1] ? "yes" : "no",
         seen[2] ? "yes" : "no");
    close(ep);
    close(p[0]);
    close(p[1]);
    close(cli);
    close(srv);
    close(lfd);
}

static void nesting(void)
{
    uint16_t port;
    int lfd = tcp_listener(&port, 8);
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    int inner = epoll_create1(0), outer = epoll_create1(0), other = epoll_create1(0);
    add(inner, srv, EPOLLIN, 1);
    add(outer, inner, EPOLLIN, 2);
    add(other, srv, EPOLLIN, 3);
    show_wait("outer idle", outer, 0);
    show_poll("poll inner idle", inner, POLLIN, 0);
    send(cli, "n", 1, 0);
    show_wait("outer data", outer, 1000);
    show_poll("poll inner data", inner, POLLIN, 1000);
    show_wait("inner data", inner, 0);
    show_wait("other set data", other, 1000);
    char c;
    recv(srv, &c, 1, 0);
    show_wait("inner drained", inner, 0);
    show_wait("outer drained", outer, 0);
    show_poll("poll inner drained", inner, POLLIN, 0);
    show_wait("other set drained", other, 0);
    /* A blocked wait on the outer set wakes for the inner set's socket. */
    send(cli, "m", 1, 0);
    show_wait("outer wakes", outer, 2000);
    recv(srv, &c, 1, 0);
    close(inner);
    close(outer);
    close(other);
    close(cli);
    close(srv);
    close(lfd);
}

static void close_dup(void)
{
    uint16_t port;
    int lfd = tcp_listener(&port, 8);
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    int ep = epoll_create1(0);
    add(ep, srv, EPOLLIN, 1);
    int d = dup(srv);
    close(srv);
    send(cli, "d", 1, 0);
    show_wait("dup open after close", ep, 1000);
    CHECK("del closed fd", epoll_ctl(ep, EPOLL_CTL_DEL, srv, NULL));
    CHECK("del dup never added", epoll_ctl(ep, EPOLL_CTL_DEL, d, NULL));
    CHECK("add dup", ctl(ep, EPOLL_CTL_ADD, d, EPOLLIN, 2));
    show_wait("original and dup", ep, 0);
    close(d);
    show_wait("all closed", ep, 0);
    /* A new socket given the old number is a stranger to the set (the
     * old numbers are held so the pair gets others). */
    int hold1 = dup(0), hold2 = dup(0);
    int c2, s2;
    tcp_pair(lfd, port, &c2, &s2);
    close(hold1);
    close(hold2);
    int moved = dup2(s2, srv);
    SHOW("dup2 to old number", "%d", moved == srv);
    CHECK("mod new file old number", ctl(ep, EPOLL_CTL_MOD, srv, EPOLLIN, 3));
    CHECK("add new file old number", ctl(ep, EPOLL_CTL_ADD, srv, EPOLLIN, 3));
    send(c2, "e", 1, 0);
    show_wait("new file reported", ep, 1000);
    close(srv);
    close(s2);
    close(c2);
    close(ep);
    close(cli);
    close(lfd);
}

struct waiter {
    int ep;
    int timeout;
    int n;
    uint32_t ev;
    int err;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    struct epoll_event e;
    errno = 0;
    w->n = epoll_wait(w->ep, &e, 1, w->timeout);
    w->err = errno;
    w->ev = w->n > 0 ? e.events : 0;
    return NULL;
}

static void show_waiter(const char *name, const struct waiter *w)
{
    if (w->n < 0)
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(w->err));
    else
        printf("%s: ret=%d ev=%s\n", name, w->n, ev_str(w->ev));
}

static void threads(void)
{
    uint16_t port;
    int lfd = tcp_listener(&port, 8);
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    int ep = epoll_create1(0);
    add(ep, srv, EPOLLIN, 1);
    struct waiter w = {.ep = ep, .timeout = 5000};
    pthread_t t;
    pthread_create(&t, NULL, wait_thread, &w);
    sleep_ms(100);
    send(cli, "t", 1, 0);
    pthread_join(t, NULL);
    show_waiter("woken by data", &w);
    char c;
    recv(srv, &c, 1, 0);

    /* epoll_ctl from another thread while one waits on the set. */
    int empty = epoll_create1(0);
    struct waiter w2 = {.ep = empty, .timeout = 5000};
    pthread_create(&t, NULL, wait_thread, &w2);
    sleep_ms(100);
    add(empty, cli, EPOLLOUT, 2);
    pthread_join(t, NULL);
    show_waiter("woken by epoll_ctl", &w2);
    close(empty);

    /* Edge-triggered: one event, several waiters on one set, one wakes. */
    int et = epoll_create1(0);
    add(et, srv, EPOLLIN | EPOLLET, 3);
    struct waiter ws[3];
    pthread_t ts[3];
    for (int i = 0; i < 3; i++) {
        ws[i] = (struct waiter){.ep = et, .timeout = 1000};
        pthread_create(&ts[i], NULL, wait_thread, &ws[i]);
    }
    sleep_ms(300);
    send(cli, "u", 1, 0);
    int woke = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(ts[i], NULL);
        woke += ws[i].n == 1;
    }
    SHOW("et one event woke", "%d", woke);
    recv(srv, &c, 1, 0);
    close(et);

    /* EPOLLEXCLUSIVE: two sets each with a sleeping waiter, one is told. */
    int x1 = epoll_create1(0), x2 = epoll_create1(0);
    add(x1, lfd, EPOLLIN | EPOLLEXCLUSIVE, 4);
    add(x2, lfd, EPOLLIN | EPOLLEXCLUSIVE, 5);
    struct waiter wx[2] = {{.ep = x1, .timeout = 1000}, {.ep = x2, .timeout = 1000}};
    pthread_t tx[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&tx[i], NULL, wait_thread, &wx[i]);
    sleep_ms(300);
    int c3 = tcp_connect(port);
    for (int i = 0; i < 2; i++)
        pthread_join(tx[i], NULL);
    SHOW("exclusive woke", "%d", (wx[0].n == 1) + (wx[1].n == 1));
    close(accept(lfd, NULL, NULL));
    close(c3);
    close(x1);
    close(x2);
    close(ep);
    close(cli);
    close(srv);
    close(lfd);
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    (void)sig;
    got_signal = 1;
}

static void *kill_later(void *arg)
{
    (void)arg;
    sleep_ms(100);
    kill(getpid(), SIGUSR1);
    return NULL;
}

static void timing(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    uint16_t port;
    int lfd = tcp_listener(&port, 8);
    int ep = epoll_create1(0);
    add(ep, lfd, EPOLLIN, 1);
    long t0 = now_ms();
    show_wait("timeout 100", ep, 100);
    SHOW("timeout 100 slept", "%d", now_ms() - t0 >= 90);
    struct timespec ts = {0, 50000000L};
    struct epoll_event e;
    t0 = now_ms();
    CHECK("pwait2 50ms", epoll_pwait2(ep, &e, 1, &ts, NULL));
    SHOW("pwait2 50ms slept", "%d", now_ms() - t0 >= 40);

    /* A signal ends the wait with EINTR, even with SA_RESTART. */
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t t;
    pthread_create(&t, NULL, kill_later, NULL);
    CHECK("eintr", epoll_wait(ep, &e, 1, 3000));
    pthread_join(t, NULL);
    SHOW("eintr handler ran", "%d", got_signal);

    /* epoll_pwait's mask: SIGUSR1 blocked in the thread, let in by the
     * wait alone; the helper thread blocks it too, so the wait gets it. */
    sigset_t block, empty;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    got_signal = 0;
    pthread_create(&t, NULL, kill_later, NULL);
    CHECK("pwait mask lets it in", epoll_pwait(ep, &e, 1, 3000, &empty));
    pthread_join(t, NULL);
    SHOW("pwait handler ran", "%d", got_signal);
    /* The mask keeps it out: the wait times out, the signal stays pending. */
    got_signal = 0;
    pthread_create(&t, NULL, kill_later, NULL);
    CHECK("pwait mask keeps it out", epoll_pwait(ep, &e, 1, 300, &block));
    pthread_join(t, NULL);
    SHOW("pwait blocked handler ran", "%d", got_signal);
    pthread_sigmask(SIG_UNBLOCK, &block, NULL);
    SHOW("pending handler ran", "%d", got_signal);

    /* A socket that becomes ready ends a long wait. */
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = sin_lo(port);
    connect(c, SA(&a), sizeof a);
    show_wait("listener wakes", ep, 3000);
    close(accept(lfd, NULL, NULL));
    close(c);
    close(ep);
    close(lfd);
    close(s);
}

int main(void)
{
    posix_init();
    signal(SIGPIPE, SIG_IGN);
    states();
    triggers();
    errnos();
    mixed();
    faults_fairness();
    nesting();
    close_dup();
    threads();
    timing();
    return 0;
}
