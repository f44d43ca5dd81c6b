/* The process model: a socket is a socket (fstat, SO_TYPE/SO_DOMAIN, fd
 * numbers), dup and close, fork with both processes using one socket,
 * children that _exit or are killed while the parent keeps the connection,
 * exec of a program that uses an inherited socket, close-on-exec, and a
 * socket passed to another program over a Unix socket (SCM_RIGHTS).
 * The other program is posix_procmodel_helper, next to this one. */
#include <libgen.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "posix.h"

static char helper[4096];

static void run_helper(const char *mode, int fd, int extra)
{
    char a[16], b[16];
    snprintf(a, sizeof a, "%d", fd);
    snprintf(b, sizeof b, "%d", extra);
    fflush(stdout);
    /* extra != 0: start it the way shells and posix_spawn do. */
    pid_t pid = extra != 0 ? vfork() : fork();
    if (pid < 0)
        FATAL("fork");
    if (pid == 0) {
        execl(helper, helper, mode, a, b, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    SHOW("helper exit", "%s status=%d", mode, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void child_wait(pid_t pid, const char *name)
{
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        FATAL("waitpid");
    if (WIFSIGNALED(st))
        SHOW(name, "signal=%s", WTERMSIG(st) == SIGKILL ? "SIGKILL" : "other");
    else
        SHOW(name, "exit=%d", WEXITSTATUS(st));
}

static void identity(void)
{
    int a = socket(AF_INET, SOCK_STREAM, 0);
    int b = socket(AF_INET, SOCK_DGRAM, 0);
    if (a < 0 || b < 0)
        FATAL("socket");
    SHOW("consecutive fds", "%d", b == a + 1);
    struct stat st;
    CHECK("fstat tcp", fstat(a, &st));
    SHOW("tcp S_ISSOCK", "%d", S_ISSOCK(st.st_mode));
    CHECK("fstat udp", fstat(b, &st));
    SHOW("udp S_ISSOCK", "%d", S_ISSOCK(st.st_mode));
    int v;
    socklen_t l = sizeof v;
    CHECK("SO_TYPE tcp", getsockopt(a, SOL_SOCKET, SO_TYPE, &v, &l));
    SHOW("SO_TYPE tcp value", "%s", v == SOCK_STREAM ? "SOCK_STREAM" : "other");
    l = sizeof v;
    CHECK("SO_TYPE udp", getsockopt(b, SOL_SOCKET, SO_TYPE, &v, &l));
    SHOW("SO_TYPE udp value", "%s", v == SOCK_DGRAM ? "SOCK_DGRAM" : "other");
    l = sizeof v;
    CHECK("SO_DOMAIN", getsockopt(a, SOL_SOCKET, SO_DOMAIN, &v, &l));
    SHOW("SO_DOMAIN value", "%s", v == AF_INET ? "AF_INET" : "other");
    l = sizeof v;
    CHECK("SO_PROTOCOL", getsockopt(b, SOL_SOCKET, SO_PROTOCOL, &v, &l));
    SHOW("SO_PROTOCOL value", "%s", v == IPPROTO_UDP ? "IPPROTO_UDP" : "other");
    /* The lowest free number, as the kernel gives it. */
    close(a);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    SHOW("reuses lowest", "%d", c == a);
    int d = dup(c);
    SHOW("dup is next", "%d", d == b + 1);
    CHECK("fstat dup", fstat(d, &st));
    SHOW("dup S_ISSOCK", "%d", S_ISSOCK(st.st_mode));
    CHECK("close dup", close(d));
    CHECK("close c", close(c));
    CHECK("close b", close(b));
    CHECK("close again", close(b));
    CHECK("fcntl closed", fcntl(b, F_GETFD));
}

static void dup_close(int lfd, uint16_t port)
{
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    int d = dup(cli);
    CHECK("close original", close(cli));
    CHECK("send on dup", send(d, "dup", 3, 0));
    char buf[8] = {0};
    CHECK("recv from dup", recv_all(srv, buf, 3));
    SHOW("dup data", "%s", buf);
    int d2 = fcntl(d, F_DUPFD_CLOEXEC, 0);
    CHECK("F_GETFD dup cloexec", fcntl(d2, F_GETFD));
    CHECK("close dup", close(d));
    CHECK("send on F_DUPFD", send(d2, "two", 3, 0));
    CHECK("recv F_DUPFD", recv_all(srv, buf, 3));
    CHECK("close last", close(d2));
    CHECK("peer sees EOF", recv(srv, buf, sizeof buf, 0));
    close(srv);
}

/* Parent and child share one byte stream and one O_NONBLOCK. */
static void fork_shared(int lfd, uint16_t port)
{
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    send_all(srv, "abcdef", 6);
    wait_avail(cli, 6, 3000);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char b[3];
        if (recv_all(cli, b, 3) != 3 || memcmp(b, "abc", 3) != 0)
            _exit(2);
        if (send_all(cli, "child", 5) != 5)
            _exit(3);
        int fl = fcntl(cli, F_GETFL);
        if (fcntl(cli, F_SETFL, fl | O_NONBLOCK) != 0)
            _exit(4);
        _exit(0);
    }
    child_wait(pid, "fork child");
    char buf[16] = {0};
    CHECK("parent reads the rest", recv(cli, buf, sizeof buf, 0));
    SHOW("parent data", "%s", buf);
    SHOW("O_NONBLOCK set by child", "%d", (fcntl(cli, F_GETFL) & O_NONBLOCK) != 0);
    CHECK("recv nonblocking", recv(cli, buf, sizeof buf, 0));
    memset(buf, 0, sizeof buf);
    CHECK("peer gets child's bytes", recv_all(srv, buf, 5));
    SHOW("peer data", "%s", buf);
    fcntl(cli, F_SETFL, fcntl(cli, F_GETFL) & ~O_NONBLOCK);
    CHECK("parent sends after child exit", send(cli, "parent", 6, 0));
    memset(buf, 0, sizeof buf);
    CHECK("peer gets parent's bytes", recv_all(srv, buf, 6));
    show_poll("peer not hung up", srv, POLLIN, 0);
    close(cli);
    CHECK("peer EOF after last close", recv(srv, buf, sizeof buf, 0));
    close(srv);
}

/* A child that _exits, one killed while blocked in recv, and one that
 * closes its copy: none of them ends the parent's connection. */
static void children_leave(int lfd, uint16_t port)
{
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    child_wait(pid, "_exit child");
    pid = fork();
    if (pid == 0) {
        char b;
        recv(cli, &b, 1, 0);
        _exit(1);
    }
    sleep_ms(100);
    kill(pid, SIGKILL);
    child_wait(pid, "killed child");
    pid = fork();
    if (pid == 0)
        _exit(close(cli) == 0 ? 0 : 1);
    child_wait(pid, "closing child");
    show_poll("peer after children", srv, POLLIN, 100);
    CHECK("peer sends", send(srv, "x", 1, 0));
    char b = 0;
    CHECK("parent receives", recv(cli, &b, 1, 0));
    CHECK("parent sends", send(cli, "y", 1, 0));
    CHECK("peer receives", recv(srv, &b, 1, 0));
    close(cli);
    close(srv);
}

/* The child accepts on the parent's listener (nginx's workers do). */
static void fork_accept(int lfd, uint16_t port)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            _exit(2);
        _exit(send_all(c, "from-child", 10) == 10 ? 0 : 3);
    }
    int cli = tcp_connect(port);
    char buf[16] = {0};
    CHECK("data from child's accept", recv_all(cli, buf, 10));
    SHOW("child's data", "%s", buf);
    child_wait(pid, "accepting child");
    CHECK("EOF when the child exits", recv(cli, buf, sizeof buf, 0));
    close(cli);
}

static void exec_inherit(int lfd, uint16_t port)
{
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    send_all(srv, "to-helper", 9);
    run_helper("use", cli, 0);
    char buf[32] = {0};
    CHECK("reply from exec'd helper", recv_all(srv, buf, 11));
    SHOW("reply", "%s", buf);
    send_all(srv, "to-helper", 9);
    run_helper("use", cli, 1);
    memset(buf, 0, sizeof buf);
    CHECK("reply from vfork+exec'd helper", recv_all(srv, buf, 11));
    SHOW("reply", "%s", buf);
    CHECK("parent still sends", send(cli, "!", 1, 0));
    CHECK("peer receives", recv(srv, buf, 1, 0));
    close(cli);
    CHECK("EOF after both closed", recv(srv, buf, sizeof buf, 0));
    close(srv);

    int ce = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK("F_GETFD cloexec", fcntl(ce, F_GETFD));
    run_helper("closed", ce, 0);
    close(ce);
}

static void pass_rights(int lfd, uint16_t port)
{
    int cli, srv;
    tcp_pair(lfd, port, &cli, &srv);
    int us[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, us) != 0)
        FATAL("socketpair");
    char a[16];
    snprintf(a, sizeof a, "%d", us[1]);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(us[0]);
        execl(helper, helper, "recv", a, "0", (char *)NULL);
        _exit(127);
    }
    close(us[1]);
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    char one = 'F';
    struct iovec iov = {&one, 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &cli, sizeof(int));
    CHECK("sendmsg SCM_RIGHTS", sendmsg(us[0], &mh, 0));
    CHECK("sender closes its copy", close(cli));
    close(us[0]);
    child_wait(pid, "receiving helper");
    char buf[32] = {0};
    CHECK("data from the receiver", recv_all(srv, buf, 13));
    SHOW("received", "%s", buf);
    CHECK("EOF when the receiver exits", recv(srv, buf, sizeof buf, 0));
    close(srv);
}

int main(int argc, char **argv)
{
    (void)argc;
    posix_init();
    char self[4096];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(helper, sizeof helper, "%s/posix_procmodel_helper", dirname(self));
    signal(SIGPIPE, SIG_IGN);
    identity();
    uint16_t port;
    int lfd = tcp_listener(&port, 16);
    dup_close(lfd, port);
    fork_shared(lfd, port);
    children_leave(lfd, port);
    fork_accept(lfd, port);
    exec_inherit(lfd, port);
    pass_rights(lfd, port);
    close(lfd);
    return 0;
}
