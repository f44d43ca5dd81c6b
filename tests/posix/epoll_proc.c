/* An epoll set is one open file description shared by every process that
 * holds its fd, as on Linux: a forked child's epoll_ctl changes the
 * parent's set and a wait on either side sees the change (the child's
 * changes after it exits, the parent's while the child sleeps in the
 * set), the set outlives the process that made it, an epoll fd without
 * close-on-exec keeps its members across exec (this program runs itself
 * as the exec'd one), and a process holds hundreds of sets with ustack
 * members. */
#include <sys/epoll.h>
#include <sys/wait.h>

#include "posix.h"

static char self[4096];

static void show_wait(const char *name, int ep, int timeout)
{
    struct epoll_event e[16];
    errno = 0;
    int n = epoll_wait(ep, e, 16, timeout);
    if (n < 0) {
        printf("%s: ret=-1 errno=%s\n", name, posix_errname(errno));
        return;
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (e[j].data.u32 < e[i].data.u32) {
                struct epoll_event t = e[i];
                e[i] = e[j];
                e[j] = t;
            }
    printf("%s: ret=%d", name, n);
    for (int i = 0; i < n; i++)
        printf(" %u:%s%s%s", e[i].data.u32, e[i].events & EPOLLIN ? "IN" : "",
               e[i].events & EPOLLOUT ? "OUT" : "", e[i].events & EPOLLHUP ? "HUP" : "");
    printf("\n");
}

static long ctl(int ep, int op, int fd, uint32_t events, uint32_t tag)
{
    struct epoll_event e = {.events = events, .data.u64 = tag};
    return epoll_ctl(ep, op, fd, &e);
}

static void child_wait(pid_t pid, const char *name)
{
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        FATAL("waitpid");
    SHOW(name, "exit=%d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* Wait until fd polls readable (setup, not a check). */
static void settle_in(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 3000) != 1)
        FATAL("no data arrived");
}

static void drain(int fd)
{
    char buf[64];
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
}

/* The child changes the set it inherited; the parent sees the changes. */
static void child_ctl(int lfd, uint16_t port)
{
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    int ep = epoll_create1(0);
    CHECK("add srv", ctl(ep, EPOLL_CTL_ADD, srv, EPOLLIN, 1));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        FATAL("fork");
    if (pid == 0) {
        CHECK("child: mod inherited srv", ctl(ep, EPOLL_CTL_MOD, srv, EPOLLIN | EPOLLOUT, 2));
        CHECK("child: add cli", ctl(ep, EPOLL_CTL_ADD, cli, EPOLLOUT, 3));
        CHECK("child: add cli again", ctl(ep, EPOLL_CTL_ADD, cli, EPOLLOUT, 3));
        show_wait("child: wait", ep, 2000);
        fflush(stdout);
        _exit(0);
    }
    child_wait(pid, "ctl child");
    show_wait("parent: wait after the child's changes", ep, 2000);
    CHECK("parent: add cli (the child added it)", ctl(ep, EPOLL_CTL_ADD, cli, EPOLLIN, 4));
    CHECK("parent: send", send(cli, "x", 1, 0));
    settle_in(srv);
    show_wait("parent: wait with data", ep, 2000);
    drain(srv);
    CHECK("parent: del cli", ctl(ep, EPOLL_CTL_DEL, cli, 0, 0));
    show_wait("parent: wait after del", ep, 2000);
    close(ep);
    close(cli);
    close(srv);
}

/* The parent adds a ready socket while the child sleeps in the set. */
static void parent_ctl(int lfd, uint16_t port)
{
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    int ep = epoll_create1(0);
    int p[2];
    if (pipe(p) != 0)
        FATAL("pipe");
    CHECK("add pipe", ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 9));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        FATAL("fork");
    if (pid == 0) {
        /* Whether the parent's add comes before or during this wait,
         * the wait reports it. */
        show_wait("child: wait woken by the parent's add", ep, 5000);
        fflush(stdout);
        _exit(0);
    }
    CHECK("parent: add srv", ctl(ep, EPOLL_CTL_ADD, srv, EPOLLOUT, 5));
    child_wait(pid, "waiting child");
    close(p[0]);
    close(p[1]);
    close(ep);
    close(cli);
    close(srv);
}

/* The set lives on in the child after the parent closed it. */
static void parent_closes(int lfd, uint16_t port)
{
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    int ep = epoll_create1(0);
    CHECK("add srv", ctl(ep, EPOLL_CTL_ADD, srv, EPOLLIN, 6));
    int go[2];
    if (pipe(go) != 0)
        FATAL("pipe");
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        FATAL("fork");
    if (pid == 0) {
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(2);
        show_wait("child: wait, data sent after the parent closed the set", ep, 5000);
        CHECK("child: add cli", ctl(ep, EPOLL_CTL_ADD, cli, EPOLLOUT, 7));
        drain(srv);
        show_wait("child: wait after its add", ep, 5000);
        fflush(stdout);
        _exit(0);
    }
    close(go[0]);
    CHECK("parent: close the set", close(ep));
    CHECK("parent: send", send(cli, "y", 1, 0));
    if (write(go[1], "g", 1) != 1)
        FATAL("write");
    child_wait(pid, "child keeping the set");
    close(go[1]);
    close(cli);
    close(srv);
}

/* The exec'd side: argv = self "exec" EPFD CLOEXEC_EPFD SRV. */
static int exec_side(char **argv)
{
    posix_init();
    int ep = atoi(argv[2]), gone = atoi(argv[3]), srv = atoi(argv[4]);
    CHECK("exec'd: close-on-exec set is closed", fcntl(gone, F_GETFD));
    show_wait("exec'd: wait on the inherited set", ep, 2000);
    CHECK("exec'd: add srv again", ctl(ep, EPOLL_CTL_ADD, srv, EPOLLIN, 11));
    drain(srv);
    CHECK("exec'd: mod srv", ctl(ep, EPOLL_CTL_MOD, srv, EPOLLOUT, 12));
    show_wait("exec'd: wait after mod", ep, 2000);
    CHECK("exec'd: del srv", ctl(ep, EPOLL_CTL_DEL, srv, 0, 0));
    CHECK("exec'd: del srv again", ctl(ep, EPOLL_CTL_DEL, srv, 0, 0));
    show_wait("exec'd: wait after del", ep, 0);
    return 0;
}

static void exec_keeps(int lfd, uint16_t port)
{
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    int ep = epoll_create1(0);
    int gone = epoll_create1(EPOLL_CLOEXEC);
    CHECK("add srv", ctl(ep, EPOLL_CTL_ADD, srv, EPOLLIN, 10));
    CHECK("add srv to the close-on-exec set", ctl(gone, EPOLL_CTL_ADD, srv, EPOLLIN, 10));
    CHECK("send", send(cli, "z", 1, 0));
    settle_in(srv);
    show_wait("before exec", ep, 2000);
    char a[16], b[16], c[16];
    snprintf(a, sizeof a, "%d", ep);
    snprintf(b, sizeof b, "%d", gone);
    snprintf(c, sizeof c, "%d", srv);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        FATAL("fork");
    if (pid == 0) {
        execl(self, self, "exec", a, b, c, (char *)NULL);
        _exit(127);
    }
    child_wait(pid, "exec'd child");
    close(gone);
    close(ep);
    close(cli);
    close(srv);
}

#define SETS 200

/* Far more sets than the 128 of old, each with a ustack member, each told. */
static void many_sets(int lfd, uint16_t port)
{
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    static int ep[SETS];
    int added = 0, told = 0;
    for (int i = 0; i < SETS; i++) {
        ep[i] = epoll_create1(0);
        if (ep[i] >= 0 && ctl(ep[i], EPOLL_CTL_ADD, srv, EPOLLIN, (uint32_t)i) == 0)
            added++;
    }
    SHOW("sets holding the socket", "%d of %d", added, SETS);
    CHECK("send", send(cli, "m", 1, 0));
    settle_in(srv);
    for (int i = 0; i < SETS; i++) {
        struct epoll_event e;
        if (epoll_wait(ep[i], &e, 1, 2000) == 1 && e.data.u32 == (uint32_t)i && (e.events & EPOLLIN))
            told++;
    }
    SHOW("sets told of the data", "%d of %d", told, SETS);
    for (int i = 0; i < SETS; i++)
        close(ep[i]);
    close(cli);
    close(srv);
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "exec") == 0)
        return exec_side(argv);
    posix_init();
    alarm(60);
    snprintf(self, sizeof self, "%s", argv[0]);
    signal(SIGPIPE, SIG_IGN);
    uint16_t port;
    int lfd = tcp_listener(&port, 16);
    child_ctl(lfd, port);
    parent_ctl(lfd, port);
    parent_closes(lfd, port);
    exec_keeps(lfd, port);
    many_sets(lfd, port);
    close(lfd);
    return 0;
}
