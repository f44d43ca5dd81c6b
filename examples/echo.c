/*
 * echo: a plain POSIX echo server and checking client, TCP or UDP. Nothing
 * in it knows about ustack: run it as is on the kernel, or under
 * `ustack run --` / LD_PRELOAD=libustack.so on ustack.
 *
 *   echo server tcp|udp PORT          serve until killed (a thread per TCP peer)
 *   echo client tcp|udp HOST PORT N SIZE
 *                                     N round trips of SIZE bytes, each checked;
 *                                     prints "ok N round trips" or why not
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int
die(const char *what)
{
	fprintf(stderr, "echo: %s: %s\n", what, strerror(errno));
	return 1;
}

static void *
serve_peer(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w <= 0)
				goto out;
			off += w;
		}
out:
	close(fd);
	return NULL;
}

static int
server(int tcp, int port)
{
	int s = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	int one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return die("socket");
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return die("bind");
	if (tcp && listen(s, 128) < 0)
		return die("listen");
	printf("echo: serving %s port %d\n", tcp ? "tcp" : "udp", port);
	fflush(stdout);
	for (;;) {
		if (tcp) {
			int c = accept(s, NULL, NULL);
			if (c < 0)
				return die("accept");
			pthread_t t;
			if (pthread_create(&t, NULL, serve_peer, (void *)(intptr_t)c) != 0)
				return die("pthread_create");
			pthread_detach(t);
			continue;
		}
		char buf[65536];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return die("recvfrom");
		if (sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&from, fl) < 0)
			return die("sendto");
	}
}

static int
client(int tcp, const char *host, int port, long n, size_t size)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "echo: %s is not an IPv4 address\n", host);
		return 2;
	}
	int s = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	struct timeval tv = {.tv_sec = 1};
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return die("socket");
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return die("connect");
	uint8_t *out = malloc(size), *in = malloc(size);
	if (out == NULL || in == NULL)
		return die("malloc");
	for (long i = 0; i < n; i++) {
		for (size_t j = 0; j < size; j++)
			out[j] = (uint8_t)(i * 31 + j * 7);
		for (int attempt = 0;; attempt++) {
			if (send(s, out, size, MSG_NOSIGNAL) != (ssize_t)size)
				return die("send");
			ssize_t got = recv(s, in, size, tcp ? MSG_WAITALL : 0);
			if (got == (ssize_t)size)
				break;
			/* A datagram may be lost; a stream may not. */
			if (tcp || attempt == 3 || (got < 0 && errno != EAGAIN)) {
				fprintf(stderr, "echo: round trip %ld: got %zd of %zu bytes%s%s\n", i, got,
					size, got < 0 ? ": " : "", got < 0 ? strerror(errno) : "");
				return 1;
			}
		}
		if (memcmp(in, out, size) != 0) {
			fprintf(stderr, "echo: round trip %ld: the data came back changed\n", i);
			return 1;
		}
	}
	printf("ok %ld round trips\n", n);
	free(out);
	free(in);
	close(s);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "server") == 0)
		return server(strcmp(argv[2], "tcp") == 0, atoi(argv[3]));
	if (argc == 7 && strcmp(argv[1], "client") == 0)
		return client(strcmp(argv[2], "tcp") == 0, argv[3], atoi(argv[4]), atol(argv[5]),
			      (size_t)atol(argv[6]));
	fprintf(stderr, "usage: echo server tcp|udp PORT\n"
			"       echo client tcp|udp HOST PORT N SIZE\n");
	return 2;
}
