/* Differential POSIX socket tests: shared helpers.
 *
 * Every program prints one line per check to stdout.  The same binary is run
 * on the Linux kernel and under LD_PRELOAD=libustack.so; the outputs must be
 * byte-identical.  Rules for anything printed:
 *   - never print fd numbers or port numbers (they differ between runs);
 *     print properties instead (fd_ge_3=1, port_nonzero=1, same_port=1);
 *   - errno is printed symbolically, and only when the call returned -1
 *     (a successful call prints errno=0 whatever errno happens to hold);
 *   - only the main thread prints, and never while another thread may be
 *     printing, so the line order is fixed;
 *   - no timing values, only booleans with wide margins.
 * Setup failures (things that are not under test) print "FATAL: ..." and
 * exit(1).
 */
#ifndef USTACK_TESTS_POSIX_H
#define USTACK_TESTS_POSIX_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const struct {
    int e;
    const char *n;
} posix_errnames[] = {
    {EAGAIN, "EAGAIN"},
    {EINPROGRESS, "EINPROGRESS"},
    {EALREADY, "EALREADY"},
    {ECONNREFUSED, "ECONNREFUSED"},
    {ETIMEDOUT, "ETIMEDOUT"},
    {ECONNRESET, "ECONNRESET"},
    {ECONNABORTED, "ECONNABORTED"},
    {EPIPE, "EPIPE"},
    {EADDRINUSE, "EADDRINUSE"},
    {EADDRNOTAVAIL, "EADDRNOTAVAIL"},
    {EAFNOSUPPORT, "EAFNOSUPPORT"},
    {EPFNOSUPPORT, "EPFNOSUPPORT"},
    {EINVAL, "EINVAL"},
    {ENOTCONN, "ENOTCONN"},
    {EISCONN, "EISCONN"},
    {EBADF, "EBADF"},
    {EINTR, "EINTR"},
    {EFAULT, "EFAULT"},
    {ENOTSOCK, "ENOTSOCK"},
    {EOPNOTSUPP, "EOPNOTSUPP"},
    {EPROTONOSUPPORT, "EPROTONOSUPPORT"},
    {ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT"},
    {EPROTOTYPE, "EPROTOTYPE"},
    {ENOPROTOOPT, "ENOPROTOOPT"},
    {EACCES, "EACCES"},
    {EPERM, "EPERM"},
    {EDESTADDRREQ, "EDESTADDRREQ"},
    {EMSGSIZE, "EMSGSIZE"},
    {ENETUNREACH, "ENETUNREACH"},
    {EHOSTUNREACH, "EHOSTUNREACH"},
    {ENETDOWN, "ENETDOWN"},
    {ENOBUFS, "ENOBUFS"},
    {ENOMEM, "ENOMEM"},
    {EMFILE, "EMFILE"},
    {ENFILE, "ENFILE"},
    {ENOTTY, "ENOTTY"},
    {ENOSYS, "ENOSYS"},
    {ESPIPE, "ESPIPE"},
    {ENOENT, "ENOENT"},
    {ENODEV, "ENODEV"},
    {EEXIST, "EEXIST"},
    {ESHUTDOWN, "ESHUTDOWN"},
    {EIO, "EIO"},
    {EDOM, "EDOM"},
    {ERANGE, "ERANGE"},
};

static inline const char *posix_errname(int e)
{
    static _Thread_local char buf[32];
    if (e == 0)
        return "0";
    for (size_t i = 0; i < sizeof posix_errnames / sizeof posix_errnames[0]; i++)
        if (posix_errnames[i].e == e)
            return posix_errnames[i].n;
    snprintf(buf, sizeof buf, "E#%d", e);
    return buf;
}

static inline long posix_report(const char *name, long r, int e)
{
    if (r == -1)
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(e));
    else
        printf("%s: ret=%ld errno=0\n", name, r);
    return r;
}

static inline long posix_report_fd(const char *name, long r, int e)
{
    if (r == -1)
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(e));
    else
        printf("%s: ret=fd fd_ge_3=%d errno=0\n", name, r >= 3);
    return r;
}

static _Thread_local long posix_r_;
static _Thread_local int posix_e_;

/* CHECK("name", call): clear errno, evaluate, print "name: ret=R errno=E",
 * evaluate to the return value (as long).  Use for calls whose return value
 * is deterministic (0/-1, byte counts). */
#define CHECK(name, expr)                                                     \
    (errno = 0, posix_r_ = (long)(expr), posix_e_ = errno,                    \
     posix_report((name), posix_r_, posix_e_))

/* CHECK_FD: like CHECK for calls returning a new fd (number not printed). */
#define CHECK_FD(name, expr)                                                  \
    (errno = 0, posix_r_ = (long)(expr), posix_e_ = errno,                    \
     posix_report_fd((name), posix_r_, posix_e_))

/* SHOW("name", "fmt", ...): print a derived property as its own check line. */
#define SHOW(name, ...)                                                       \
    do {                                                                      \
        printf("%s: ", (name));                                               \
        printf(__VA_ARGS__);                                                  \
        printf("\n");                                                         \
    } while (0)

/* Last errno captured by CHECK/CHECK_FD in this thread. */
#define LAST_ERRNO (posix_e_)

#define FATAL(...)                                                            \
    do {                                                                      \
        printf("FATAL: ");                                                    \
        printf(__VA_ARGS__);                                                  \
        printf(" (errno=%s, line %d)\n", posix_errname(errno), __LINE__);     \
        fflush(stdout);                                                       \
        exit(1);                                                              \
    } while (0)

static inline void posix_init(void)
{
    /* Line buffered so that a crash or a kill keeps what was printed. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(10); /* safety net: default SIGALRM action kills a hung test */
}

static inline void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static inline long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static inline struct sockaddr_in sin_lo(uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static inline struct sockaddr_in sin_addr4(const char *ip, uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
        FATAL("inet_pton %s", ip);
    return a;
}

static inline struct sockaddr_in6 sin6_of(const char *ip, uint16_t port)
{
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    if (inet_pton(AF_INET6, ip, &a.sin6_addr) != 1)
        FATAL("inet_pton %s", ip);
    return a;
}

#define SA(p) ((struct sockaddr *)(p))

/* Local port (host order) of a bound socket; 0 on error. */
static inline uint16_t local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    if (getsockname(fd, SA(&a), &l) != 0)
        return 0;
    return ntohs(a.sin_port);
}

static inline uint16_t peer_port(int fd)
{
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    if (getpeername(fd, SA(&a), &l) != 0)
        return 0;
    return ntohs(a.sin_port);
}

/* Print an AF_INET address as properties: family, ip, port_nonzero and
 * whether the port equals `expect` (if expect != 0). */
static inline void show_addr(const char *name, const struct sockaddr_in *a, socklen_t len,
                             uint16_t expect)
{
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    if (expect)
        printf("%s: len=%u family=%s ip=%s port_nonzero=%d port_match=%d\n", name,
               (unsigned)len, a->sin_family == AF_INET ? "AF_INET" : "other", ip,
               a->sin_port != 0, ntohs(a->sin_port) == expect);
    else
        printf("%s: len=%u family=%s ip=%s port_nonzero=%d\n", name, (unsigned)len,
               a->sin_family == AF_INET ? "AF_INET" : "other", ip, a->sin_port != 0);
}

/* Setup helpers (not checks): die on failure. */
static inline int tcp_listener(uint16_t *port, int backlog)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        FATAL("socket");
    struct sockaddr_in a = sin_lo(0);
    if (bind(fd, SA(&a), sizeof a) != 0)
        FATAL("bind");
    if (listen(fd, backlog) != 0)
        FATAL("listen");
    *port = local_port(fd);
    if (*port == 0)
        FATAL("getsockname");
    return fd;
}

static inline int tcp_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        FATAL("socket");
    struct sockaddr_in a = sin_lo(port);
    if (connect(fd, SA(&a), sizeof a) != 0)
        FATAL("connect");
    return fd;
}

/* Connected pair through listener lfd (port). */
static inline void tcp_pair(int lfd, uint16_t port, int *cli, int *srv)
{
    *cli = tcp_connect(port);
    *srv = accept(lfd, NULL, NULL);
    if (*srv < 0)
        FATAL("accept");
}

static inline int udp_bound(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        FATAL("socket udp");
    struct sockaddr_in a = sin_lo(0);
    if (bind(fd, SA(&a), sizeof a) != 0)
        FATAL("bind udp");
    *port = local_port(fd);
    if (*port == 0)
        FATAL("getsockname udp");
    return fd;
}

/* Setup helper: SO_RCVTIMEO so that a lost packet cannot hang a test. */
static inline void set_rcvtimeo(int fd, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
        FATAL("SO_RCVTIMEO");
}

/* Wait (up to ms) until at least n bytes are readable on a stream socket,
 * using MSG_PEEK|MSG_DONTWAIT.  Makes later checks independent of how fast
 * loopback delivery is.  Returns bytes available (may be < n on timeout). */
static inline long wait_avail(int fd, size_t n, long ms)
{
    char *buf = malloc(n ? n : 1);
    long got = 0, end = now_ms() + ms;
    if (!buf)
        FATAL("malloc");
    for (;;) {
        ssize_t r = recv(fd, buf, n ? n : 1, MSG_PEEK | MSG_DONTWAIT);
        got = r > 0 ? r : 0;
        if ((size_t)got >= n || now_ms() >= end)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        if (got > 0)
            sleep_ms(1);
        else
            poll(&p, 1, 10);
    }
    free(buf);
    return got;
}

static inline ssize_t recv_all(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, (char *)buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return got ? (ssize_t)got : r;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static inline ssize_t send_all(int fd, const void *buf, size_t n)
{
    size_t put = 0;
    while (put < n) {
        ssize_t r = send(fd, (const char *)buf + put, n - put, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return put ? (ssize_t)put : r;
        put += (size_t)r;
    }
    return (ssize_t)put;
}

/* Symbolic poll revents (subset that is meaningful for sockets). */
static inline const char *revents_str(short re)
{
    static _Thread_local char buf[96];
    buf[0] = 0;
    if (re & POLLIN)
        strcat(buf, "|IN");
    if (re & POLLPRI)
        strcat(buf, "|PRI");
    if (re & POLLOUT)
        strcat(buf, "|OUT");
    if (re & POLLERR)
        strcat(buf, "|ERR");
    if (re & POLLHUP)
        strcat(buf, "|HUP");
    if (re & POLLNVAL)
        strcat(buf, "|NVAL");
    if (re & POLLRDHUP)
        strcat(buf, "|RDHUP");
    return buf[0] ? buf + 1 : "0";
}

static inline void show_poll(const char *name, int fd, short events, int timeout_ms)
{
    struct pollfd p = {fd, events, 0};
    errno = 0;
    int r = poll(&p, 1, timeout_ms);
    int e = errno;
    if (r < 0)
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(e));
    else
        printf("%s: ret=%d revents=%s\n", name, r, revents_str(p.revents));
}

#endif
