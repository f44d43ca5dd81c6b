/* Options every Linux socket has, on TCP and UDP alike, and the rights
 * they need: run as root, then again (exec'd through setpriv) without
 * CAP_NET_ADMIN, CAP_NET_RAW and CAP_NET_BIND_SERVICE, and as another
 * user: SO_REUSEPORT is shared only within one effective uid, and a low
 * port's right is checked before a conflict. */
#include <sys/wait.h>

#include "posix.h"

static const char *who = "root";

/* Set, then read back (or, for `readback`, read that option instead when
 * the set worked: the *FORCE options are write-only). */
static void set_read(const char *kind, int fd, int level, int opt, const char *oname, int v,
                     int readback)
{
    char name[96];
    snprintf(name, sizeof name, "%s_%s_%s_set_%d", who, kind, oname, v);
    if (CHECK(name, setsockopt(fd, level, opt, &v, sizeof v)) < 0 && readback != opt)
        return;
    opt = readback;
    int g = -12345;
    socklen_t l = sizeof g;
    snprintf(name, sizeof name, "%s_%s_%s_get", who, kind, oname);
    errno = 0;
    if (getsockopt(fd, level, opt, &g, &l) < 0)
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(errno));
    else
        printf("%s: ret=0 value=%d len=%u\n", name, g, (unsigned)l);
}

static void set_get(const char *kind, int fd, int level, int opt, const char *oname, int v)
{
    set_read(kind, fd, level, opt, oname, v, opt);
}

static void show_get(const char *kind, int fd, int level, int opt, const char *oname)
{
    char name[96];
    snprintf(name, sizeof name, "%s_%s_%s_default", who, kind, oname);
    int g = -12345;
    socklen_t l = sizeof g;
    errno = 0;
    if (getsockopt(fd, level, opt, &g, &l) < 0)
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(errno));
    else
        printf("%s: ret=0 value=%d len=%u\n", name, g, (unsigned)l);
}

static void linger_set_get(const char *kind, int fd, int on, int secs)
{
    char name[96];
    struct linger lg = {on, secs};
    snprintf(name, sizeof name, "%s_%s_linger_set_%d_%d", who, kind, on, secs);
    CHECK(name, setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    memset(&lg, 0x55, sizeof lg);
    socklen_t l = sizeof lg;
    snprintf(name, sizeof name, "%s_%s_linger_get", who, kind);
    errno = 0;
    if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &l) < 0)
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(errno));
    else
        printf("%s: ret=0 onoff=%d linger=%d len=%u\n", name, lg.l_onoff, lg.l_linger, (unsigned)l);
}

static void options(const char *kind, int type)
{
    int fd = socket(AF_INET, type, 0);
    if (fd < 0)
        FATAL("socket");
    show_get(kind, fd, SOL_SOCKET, SO_BROADCAST, "broadcast");
    set_get(kind, fd, SOL_SOCKET, SO_BROADCAST, "broadcast", 1);
    set_get(kind, fd, SOL_SOCKET, SO_BROADCAST, "broadcast", 0);
    show_get(kind, fd, SOL_SOCKET, SO_DONTROUTE, "dontroute");
    set_get(kind, fd, SOL_SOCKET, SO_DONTROUTE, "dontroute", 1);
    show_get(kind, fd, SOL_SOCKET, SO_RCVLOWAT, "rcvlowat");
    set_get(kind, fd, SOL_SOCKET, SO_RCVLOWAT, "rcvlowat", 100);
    set_get(kind, fd, SOL_SOCKET, SO_RCVLOWAT, "rcvlowat", 0);
    show_get(kind, fd, SOL_SOCKET, SO_SNDLOWAT, "sndlowat");
    set_get(kind, fd, SOL_SOCKET, SO_SNDLOWAT, "sndlowat", 100);
    linger_set_get(kind, fd, 1, 5);
    linger_set_get(kind, fd, 0, 7);
    show_get(kind, fd, SOL_SOCKET, SO_PRIORITY, "priority");
    set_get(kind, fd, SOL_SOCKET, SO_PRIORITY, "priority", 6);
    set_get(kind, fd, SOL_SOCKET, SO_PRIORITY, "priority", 7);
    set_get(kind, fd, SOL_SOCKET, SO_PRIORITY, "priority", -1);
    show_get(kind, fd, SOL_SOCKET, SO_MARK, "mark");
    set_get(kind, fd, SOL_SOCKET, SO_MARK, "mark", 42);
    set_read(kind, fd, SOL_SOCKET, SO_RCVBUFFORCE, "rcvbufforce", 300000, SO_RCVBUF);
    set_read(kind, fd, SOL_SOCKET, SO_SNDBUFFORCE, "sndbufforce", 300000, SO_SNDBUF);
    show_get(kind, fd, IPPROTO_IP, IP_FREEBIND, "freebind");
    set_get(kind, fd, IPPROTO_IP, IP_FREEBIND, "freebind", 1);
    show_get(kind, fd, IPPROTO_IP, IP_TRANSPARENT, "transparent");
    set_get(kind, fd, IPPROTO_IP, IP_TRANSPARENT, "transparent", 1);
    set_get(kind, fd, IPPROTO_IP, IP_TRANSPARENT, "transparent", 0);
    close(fd);
}

static void binds(const char *kind, int type)
{
    char name[96];
    int fd = socket(AF_INET, type, 0);
    struct sockaddr_in a = sin_addr4("198.18.200.1", 0);
    snprintf(name, sizeof name, "%s_%s_bind_nonlocal", who, kind);
    CHECK(name, bind(fd, SA(&a), sizeof a));
    close(fd);
    fd = socket(AF_INET, type, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
    snprintf(name, sizeof name, "%s_%s_bind_nonlocal_freebind", who, kind);
    CHECK(name, bind(fd, SA(&a), sizeof a));
    close(fd);
    fd = socket(AF_INET, type, 0);
    a = sin_addr4("239.1.2.3", 0);
    snprintf(name, sizeof name, "%s_%s_bind_multicast", who, kind);
    CHECK(name, bind(fd, SA(&a), sizeof a));
    close(fd);
}

/* A low port on 127.0.0.1 that root can take (setup). */
static int low_port_socket(int type, uint16_t *port)
{
    for (uint16_t p = 999; p > 900; p--) {
        int fd = socket(AF_INET, type, 0);
        struct sockaddr_in a = sin_lo(p);
        if (bind(fd, SA(&a), sizeof a) == 0) {
            *port = p;
            return fd;
        }
        close(fd);
    }
    FATAL("no free low port");
}

static int reuseport_socket(int type, uint16_t port)
{
    int fd = socket(AF_INET, type, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in a = sin_lo(port);
    errno = 0;
    if (bind(fd, SA(&a), sizeof a) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* The checks a process without the rights (or of another uid) makes on
 * ports root holds: tcp and udp each a reuseport port and a low port. */
static void other_binds(char **ports)
{
    const int types[2] = {SOCK_STREAM, SOCK_DGRAM};
    const char *kinds[2] = {"tcp", "udp"};
    for (int i = 0; i < 2; i++) {
        char name[96];
        uint16_t rp = (uint16_t)atoi(ports[2 * i]), lp = (uint16_t)atoi(ports[2 * i + 1]);
        snprintf(name, sizeof name, "%s_%s_reuseport_join_root", who, kinds[i]);
        int fd = (int)CHECK_FD(name, reuseport_socket(types[i], rp));
        if (fd >= 0)
            close(fd);
        fd = socket(AF_INET, types[i], 0);
        struct sockaddr_in a = sin_lo(lp);
        snprintf(name, sizeof name, "%s_%s_bind_low_port_in_use", who, kinds[i]);
        CHECK(name, bind(fd, SA(&a), sizeof a));
        a = sin_addr4("198.18.200.1", lp);
        snprintf(name, sizeof name, "%s_%s_bind_low_port_nonlocal", who, kinds[i]);
        CHECK(name, bind(fd, SA(&a), sizeof a));
        close(fd);
        /* Two sockets of this uid share a port between them. */
        int x = reuseport_socket(types[i], 0);
        uint16_t xp = local_port(x);
        int y = reuseport_socket(types[i], xp);
        snprintf(name, sizeof name, "%s_%s_reuseport_same_uid", who, kinds[i]);
        SHOW(name, "%d", x >= 0 && y >= 0);
        close(x);
        close(y);
    }
}

static void run_as(const char *mode, char **ports)
{
    char self[4096];
    ssize_t n_self = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n_self <= 0)
        FATAL("readlink /proc/self/exe");
    self[n_self] = 0;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[16];
        int n = 0;
        argv[n++] = "setpriv";
        if (strcmp(mode, "nocap") == 0) {
            argv[n++] = "--inh-caps=-net_admin,-net_raw,-net_bind_service";
            argv[n++] = "--bounding-set=-net_admin,-net_raw,-net_bind_service";
        } else {
            argv[n++] = "--reuid=65534";
            argv[n++] = "--regid=65534";
            argv[n++] = "--clear-groups";
        }
        argv[n++] = self;
        argv[n++] = (char *)mode;
        for (int i = 0; i < 4; i++)
            argv[n++] = ports[i];
        argv[n] = NULL;
        execvp("setpriv", argv);
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        FATAL("%s run failed", mode);
}

int main(int argc, char **argv)
{
    posix_init();
    if (argc == 6) {
        who = argv[1];
        if (strcmp(who, "nocap") == 0) {
            options("tcp", SOCK_STREAM);
            options("udp", SOCK_DGRAM);
            binds("tcp", SOCK_STREAM);
        }
        other_binds(argv + 2);
        return 0;
    }
    options("tcp", SOCK_STREAM);
    options("udp", SOCK_DGRAM);
    binds("tcp", SOCK_STREAM);
    binds("udp", SOCK_DGRAM);
    CHECK_FD("socket_proto_256", socket(AF_INET, SOCK_STREAM, 256));
    CHECK_FD("socket_proto_263", socket(AF_INET, SOCK_STREAM, 263));
    CHECK_FD("socket_proto_1000_dgram", socket(AF_INET, SOCK_DGRAM, 1000));
    CHECK_FD("socket_proto_minus1", socket(AF_INET, SOCK_STREAM, -1));

    /* Root's ports: a reuseport listener and a low port, TCP and UDP. */
    char pbuf[4][8];
    char *ports[4];
    int keep[4];
    const int types[2] = {SOCK_STREAM, SOCK_DGRAM};
    for (int i = 0; i < 2; i++) {
        keep[2 * i] = reuseport_socket(types[i], 0);
        if (keep[2 * i] < 0)
            FATAL("reuseport bind");
        if (types[i] == SOCK_STREAM)
            listen(keep[2 * i], 1);
        uint16_t lp;
        keep[2 * i + 1] = low_port_socket(types[i], &lp);
        snprintf(pbuf[2 * i], sizeof pbuf[0], "%u", local_port(keep[2 * i]));
        snprintf(pbuf[2 * i + 1], sizeof pbuf[0], "%u", lp);
    }
    for (int i = 0; i < 4; i++)
        ports[i] = pbuf[i];
    int fd = (int)CHECK_FD("root_tcp_reuseport_join_own", reuseport_socket(SOCK_STREAM, (uint16_t)atoi(ports[0])));
    close(fd);
    run_as("nocap", ports);
    run_as("nobody", ports);
    for (int i = 0; i < 4; i++)
        close(keep[i]);
    return 0;
}
