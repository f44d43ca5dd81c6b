/* Run by posix_procmodel through exec, with the socket it inherited:
 *   use FD     check it is a TCP socket, read 9 bytes, answer "from-helper"
 *   closed FD  the fd was close-on-exec: it must not be open
 *   recv FD    FD is a Unix socket carrying a TCP socket (SCM_RIGHTS):
 *              receive it and send "via-scm-rights" less the last byte
 * Prints its checks like the other tests; exit status 0 when all went. */
#include <sys/stat.h>

#include "posix.h"

static int use(int fd)
{
    struct stat st;
    CHECK("helper fstat", fstat(fd, &st));
    SHOW("helper S_ISSOCK", "%d", S_ISSOCK(st.st_mode));
    int v;
    socklen_t l = sizeof v;
    CHECK("helper SO_TYPE", getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l));
    SHOW("helper SO_TYPE value", "%s", v == SOCK_STREAM ? "SOCK_STREAM" : "other");
    l = sizeof v;
    CHECK("helper SO_DOMAIN", getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l));
    SHOW("helper SO_DOMAIN value", "%s", v == AF_INET ? "AF_INET" : "other");
    struct sockaddr_in a;
    l = sizeof a;
    CHECK("helper getpeername", getpeername(fd, SA(&a), &l));
    char buf[16] = {0};
    CHECK("helper reads", recv_all(fd, buf, 9));
    SHOW("helper data", "%s", buf);
    CHECK("helper writes", send_all(fd, "from-helper", 11));
    return 0;
}

static int closed(int fd)
{
    CHECK("cloexec fd after exec", fcntl(fd, F_GETFD));
    return 0;
}

static int recv_rights(int us)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    char one = 0;
    struct iovec iov = {&one, 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    CHECK("helper recvmsg", recvmsg(us, &mh, 0));
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (cm == NULL || cm->cmsg_type != SCM_RIGHTS)
        FATAL("no SCM_RIGHTS");
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    int v;
    socklen_t l = sizeof v;
    CHECK("received SO_TYPE", getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l));
    SHOW("received SO_TYPE value", "%s", v == SOCK_STREAM ? "SOCK_STREAM" : "other");
    CHECK("received fd sends", send_all(fd, "via-scm-right", 13));
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(10);
    if (argc != 4)
        FATAL("usage: %s use|closed|recv FD X", argv[0]);
    int fd = atoi(argv[2]);
    if (strcmp(argv[1], "use") == 0)
        return use(fd);
    if (strcmp(argv[1], "closed") == 0)
        return closed(fd);
    if (strcmp(argv[1], "recv") == 0)
        return recv_rights(fd);
    FATAL("unknown mode %s", argv[1]);
}
