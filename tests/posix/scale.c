/* Scale: as many sockets as RLIMIT_NOFILE allows, then EMFILE, in a
 * process that locked all its memory (mlockall), as latency-sensitive
 * servers do. On ustack the shared region must grow with the sockets
 * rather than pin gigabytes up front. The soft limit is raised to the hard
 * one (at most LIMIT) less DAEMON_ROOM; it must be above 16,384, the size of
 * ustack's first socket table. ustackd holds one fd per ustack socket (its
 * end of the socket's pair) and, without CAP_SYS_RESOURCE, has the same
 * hard limit as this test: DAEMON_ROOM leaves it its own fds. */
#include <dirent.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "posix.h"

#define LIMIT 66000 /* above 65,535, the seed's limit, where the hard limit allows */
#define DAEMON_ROOM 512 /* the hard limit's fds left to ustackd's own */

static long
open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    long n = 0;
    if (d == NULL)
        FATAL("opendir /proc/self/fd");
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own fd */
}

static long
rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = atol(line + 6);
    if (f != NULL)
        fclose(f);
    return kib;
}

int main(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    long limit = (long)rl.rlim_max - DAEMON_ROOM < LIMIT ? (long)rl.rlim_max - DAEMON_ROOM : LIMIT;
    if (limit <= 16384 + 100)
        FATAL("RLIMIT_NOFILE's hard limit %ld is too low for this test", limit);
    rl.rlim_cur = (rlim_t)limit;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        FATAL("setrlimit RLIMIT_NOFILE %ld", limit);
    CHECK("mlockall", mlockall(MCL_CURRENT | MCL_FUTURE));

    static int fds[LIMIT];
    /* Counted after the first socket: the library's own fds (its control
     * connection, the thread's wake-up fd) exist from then on. */
    long n = 0;
    fds[n++] = CHECK_FD("first socket", socket(AF_INET, SOCK_STREAM, 0));
    long base = open_fds() - 1;
    int last_errno = 0;
    for (;;) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) {
            last_errno = errno;
            break;
        }
        if (n == limit)
            FATAL("more sockets than RLIMIT_NOFILE allows");
        fds[n++] = s;
    }
    SHOW("socket until it fails", "errno=%s", posix_errname(last_errno));
    SHOW("sockets opened", "as_many_as_rlimit_allows=%d more_than_16384=%d", n == limit - base,
         n > 16384);
    /* Locked memory must stay small: the region is opened up as used. */
    SHOW("resident memory", "under_512_MiB=%d", rss_kib() < 512 * 1024);

    int l = fds[n - 1];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK("bind the last socket", bind(l, (struct sockaddr *)&a, sizeof a));
    CHECK("listen on it", listen(l, 8));
    socklen_t al = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &al);
    int c = fds[n - 2];
    CHECK("connect the one before to it", connect(c, (struct sockaddr *)&a, sizeof a));
    for (long i = 0; i < n - 2; i++)
        close(fds[i]);
    int s = CHECK_FD("accept after closing the others", accept(l, NULL, NULL));
    CHECK("send", send(c, "x", 1, 0));
    char b;
    CHECK("recv", recv(s, &b, 1, 0));
    return 0;
}
