/* sendfile() from a file into a TCP socket (with and without an offset
 * pointer, and what each leaves of the file's position), splice() from a
 * pipe into a socket and from a socket into a pipe: every byte checked by
 * a hash on the receiving side, plus the argument errors. */
#include <sys/sendfile.h>

#include "posix.h"

#define FILE_BYTES (1 << 20)

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

struct sink {
    int fd;
    long want;
    long got;
    uint64_t hash;
};

/* Reads `want` bytes (or to EOF) and hashes them. */
static void *sink_thread(void *arg)
{
    struct sink *k = arg;
    unsigned char buf[8192];
    k->hash = 14695981039346656037ull;
    while (k->got < k->want) {
        ssize_t n = read(k->fd, buf, sizeof buf);
        if (n <= 0)
            break;
        k->hash = fnv(k->hash, buf, (size_t)n);
        k->got += n;
    }
    return NULL;
}

static void show_sink(const char *name, struct sink *k, uint64_t expect)
{
    SHOW(name, "bytes=%ld hash_equal=%d", k->got, k->hash == expect);
}

int main(void)
{
    posix_init();
    static unsigned char data[FILE_BYTES];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof data; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (unsigned char)(x >> 16);
    }
    const uint64_t all = fnv(14695981039346656037ull, data, sizeof data);
    const uint64_t tail = fnv(14695981039346656037ull, data + 1000, sizeof data - 1000);
    char path[] = "/tmp/posix-sendfile-XXXXXX";
    int file = mkstemp(path);
    if (file < 0 || write(file, data, sizeof data) != (ssize_t)sizeof data)
        FATAL("temp file");
    unlink(path);

    uint16_t port;
    int lfd = tcp_listener(&port, 4);
    int c, s;
    pthread_t t;

    /* sendfile with the file's own position: it moves by what was sent. */
    tcp_pair(lfd, port, &c, &s);
    struct sink k = {s, FILE_BYTES, 0, 0};
    pthread_create(&t, NULL, sink_thread, &k);
    lseek(file, 0, SEEK_SET);
    long total = 0;
    for (;;) {
        ssize_t n = sendfile(c, file, NULL, FILE_BYTES);
        if (n <= 0)
            break;
        total += n;
    }
    pthread_join(t, NULL);
    SHOW("sendfile_file_position", "sent=%ld position=%ld", total, (long)lseek(file, 0, SEEK_CUR));
    show_sink("sendfile_file_position_received", &k, all);

    /* sendfile with an offset pointer: the file's position stays. */
    k = (struct sink){s, FILE_BYTES - 1000, 0, 0};
    pthread_create(&t, NULL, sink_thread, &k);
    lseek(file, 7, SEEK_SET);
    off_t off = 1000;
    total = 0;
    while (off < FILE_BYTES) {
        ssize_t n = sendfile(c, file, &off, FILE_BYTES - (size_t)off);
        if (n <= 0)
            break;
        total += n;
    }
    pthread_join(t, NULL);
    SHOW("sendfile_offset", "sent=%ld offset=%ld position=%ld", total, (long)off,
         (long)lseek(file, 0, SEEK_CUR));
    show_sink("sendfile_offset_received", &k, tail);

    off = FILE_BYTES;
    CHECK("sendfile_at_eof", sendfile(c, file, &off, 100));
    off = 0;
    CHECK("sendfile_count0", sendfile(c, file, &off, 0));
    off = -1;
    CHECK("sendfile_negative_offset", sendfile(c, file, &off, 10));
    CHECK("sendfile_from_socket", sendfile(c, s, NULL, 10));
    int p[2];
    if (pipe(p) != 0)
        FATAL("pipe");
    write(p[1], "abc", 3);
    CHECK("sendfile_from_pipe", sendfile(c, p[0], NULL, 3));
    off = 0;
    CHECK("sendfile_from_pipe_offset", sendfile(c, p[0], &off, 3));
    char drain[4];
    read(p[0], drain, sizeof drain);

    /* splice from a pipe into the socket. */
    k = (struct sink){s, 300000, 0, 0};
    pthread_create(&t, NULL, sink_thread, &k);
    const uint64_t first = fnv(14695981039346656037ull, data, 300000);
    long moved = 0, fed = 0;
    while (moved < 300000) {
        if (fed < 300000) {
            ssize_t w = write(p[1], data + fed, 300000 - fed < 32768 ? (size_t)(300000 - fed) : 32768);
            if (w > 0)
                fed += w;
        }
        ssize_t n = splice(p[0], NULL, c, NULL, 65536, 0);
        if (n <= 0)
            break;
        moved += n;
    }
    pthread_join(t, NULL);
    SHOW("splice_pipe_to_socket", "moved=%ld", moved);
    show_sink("splice_pipe_to_socket_received", &k, first);

    /* splice from the socket into a pipe. */
    int q[2];
    if (pipe(q) != 0)
        FATAL("pipe");
    k = (struct sink){q[0], 300000, 0, 0};
    pthread_create(&t, NULL, sink_thread, &k);
    if (send_all(c, data, 300000) != 300000)
        FATAL("send");
    moved = 0;
    while (moved < 300000) {
        ssize_t n = splice(s, NULL, q[1], NULL, 65536, 0);
        if (n <= 0)
            break;
        moved += n;
    }
    pthread_join(t, NULL);
    SHOW("splice_socket_to_pipe", "moved=%ld", moved);
    show_sink("splice_socket_to_pipe_received", &k, first);

    loff_t o = 0;
    CHECK("splice_socket_offset", splice(p[0], NULL, c, &o, 10, 0));
    CHECK("splice_pipe_offset", splice(p[0], &o, c, NULL, 10, 0));
    CHECK("splice_from_socket_offset", splice(s, &o, q[1], NULL, 10, 0));
    CHECK("splice_socket_to_socket", splice(s, NULL, c, NULL, 10, 0));
    CHECK("splice_empty_pipe_nonblock", splice(p[0], NULL, c, NULL, 10, SPLICE_F_NONBLOCK));
    CHECK("splice_len0", splice(p[0], NULL, c, NULL, 0, 0));
    close(c);
    CHECK("splice_socket_eof", splice(s, NULL, q[1], NULL, 10, 0));
    close(s);
    close(lfd);
    close(file);
    return 0;
}
