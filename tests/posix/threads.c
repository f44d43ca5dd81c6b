/* Concurrency: 8 client threads, each with its own TCP connection to one
 * listener (accepted by the main thread, served by one echo thread per
 * connection).  Phase 1 is lock-step (send a chunk, read it back); phase 2
 * streams full duplex with a separate writer thread per connection, so two
 * threads use the same fd at once. */
#include "posix.h"

#define NCONN 8
#define TOTAL (100 * 1024)
#define CHUNK 4096

struct client {
    int idx;
    uint16_t port;
    int fd;
    long sent, recvd;
    int match;
    int connect_ok;
};

static unsigned char pattern(int idx, long off)
{
    return (unsigned char)((off * 31 + idx * 17 + (off >> 8)) & 0xff);
}

static void *echo_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[8192];
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0)
            break;
        if (send_all(fd, buf, (size_t)r) != r)
            break;
    }
    close(fd);
    return NULL;
}

static void *lockstep_client(void *arg)
{
    struct client *c = arg;
    unsigned char out[CHUNK], in[CHUNK];
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = sin_lo(c->port);
    c->connect_ok = connect(c->fd, SA(&a), sizeof a) == 0;
    if (!c->connect_ok)
        return NULL;
    set_rcvtimeo(c->fd, 3000);
    c->match = 1;
    for (long off = 0; off < TOTAL; off += CHUNK) {
        size_t n = TOTAL - off < CHUNK ? (size_t)(TOTAL - off) : CHUNK;
        for (size_t i = 0; i < n; i++)
            out[i] = pattern(c->idx, off + (long)i);
        ssize_t w = send_all(c->fd, out, n);
        if (w > 0)
            c->sent += w;
        if (w != (ssize_t)n)
            break;
        ssize_t r = recv_all(c->fd, in, n);
        if (r > 0)
            c->recvd += r;
        if (r != (ssize_t)n || memcmp(in, out, n) != 0) {
            c->match = 0;
            break;
        }
    }
    close(c->fd);
    return NULL;
}

static void *duplex_writer(void *arg)
{
    struct client *c = arg;
    unsigned char out[CHUNK];
    for (long off = 0; off < TOTAL; off += CHUNK) {
        size_t n = TOTAL - off < CHUNK ? (size_t)(TOTAL - off) : CHUNK;
        for (size_t i = 0; i < n; i++)
            out[i] = pattern(c->idx + 100, off + (long)i);
        ssize_t w = send_all(c->fd, out, n);
        if (w > 0)
            c->sent += w;
        if (w != (ssize_t)n)
            break;
    }
    shutdown(c->fd, SHUT_WR);
    return NULL;
}

static void *duplex_client(void *arg)
{
    struct client *c = arg;
    unsigned char in[3000];
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = sin_lo(c->port);
    c->connect_ok = connect(c->fd, SA(&a), sizeof a) == 0;
    if (!c->connect_ok)
        return NULL;
    set_rcvtimeo(c->fd, 3000);
    pthread_t w;
    pthread_create(&w, NULL, duplex_writer, c);
    c->match = 1;
    for (;;) {
        ssize_t r = recv(c->fd, in, sizeof in, 0);
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            if (in[i] != pattern(c->idx + 100, c->recvd + i))
                c->match = 0;
        c->recvd += r;
    }
    pthread_join(w, NULL);
    close(c->fd);
    return NULL;
}

static void run_phase(const char *phase, int lfd, uint16_t port, void *(*fn)(void *))
{
    struct client cl[NCONN];
    pthread_t ct[NCONN], et[NCONN];
    memset(cl, 0, sizeof cl);
    for (int i = 0; i < NCONN; i++) {
        cl[i].idx = i;
        cl[i].port = port;
        pthread_create(&ct[i], NULL, fn, &cl[i]);
    }
    int accepted = 0;
    for (int i = 0; i < NCONN; i++) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            et[i] = 0;
            continue;
        }
        accepted++;
        pthread_create(&et[i], NULL, echo_thread, (void *)(intptr_t)fd);
    }
    for (int i = 0; i < NCONN; i++)
        pthread_join(ct[i], NULL);
    for (int i = 0; i < NCONN; i++)
        if (et[i])
            pthread_join(et[i], NULL);
    long total = 0;
    int ok = 0;
    char name[64];
    snprintf(name, sizeof name, "%s_accepted", phase);
    SHOW(name, "%d", accepted);
    for (int i = 0; i < NCONN; i++) {
        snprintf(name, sizeof name, "%s_conn%d", phase, i);
        SHOW(name, "connect_ok=%d sent=%ld recvd=%ld match=%d", cl[i].connect_ok, cl[i].sent,
             cl[i].recvd, cl[i].match);
        if (cl[i].connect_ok && cl[i].match && cl[i].sent == TOTAL && cl[i].recvd == TOTAL) {
            ok++;
            total += cl[i].recvd;
        }
    }
    snprintf(name, sizeof name, "%s_total", phase);
    SHOW(name, "conns_ok=%d bytes_ok=%ld", ok, total);
}

int main(void)
{
    posix_init();
    uint16_t port;
    int lfd = tcp_listener(&port, 64);
    set_rcvtimeo(lfd, 3000); /* accept gives up instead of hanging */
    run_phase("lockstep", lfd, port, lockstep_client);
    run_phase("duplex", lfd, port, duplex_client);
    CHECK("close_listener", close(lfd));
    return 0;
}
