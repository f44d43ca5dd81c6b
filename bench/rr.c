/*
 * rr: TCP request/response latency, a plain POSIX client run unchanged on
 * the kernel or under libustack.so (bench/bench.sh runs it both ways).
 *   rr HOST PORT ROUNDS SIZE   SIZE-byte round trips to an echo server;
 *                              prints the median and 99th percentile in us
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: rr HOST PORT ROUNDS SIZE\n");
		return 2;
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
	long rounds = atol(argv[3]);
	size_t size = (size_t)atol(argv[4]);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	char *buf = calloc(1, size);
	uint64_t *t = calloc((size_t)rounds, sizeof(*t));
	if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1 || s < 0 || buf == NULL || t == NULL ||
	    rounds <= 0 || size == 0) {
		fprintf(stderr, "rr: bad arguments\n");
		return 2;
	}
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("rr: connect");
		return 1;
	}
	for (long i = 0; i < rounds; i++) {
		uint64_t t0 = now_ns();
		if (send(s, buf, size, 0) != (ssize_t)size || recv(s, buf, size, MSG_WAITALL) != (ssize_t)size) {
			perror("rr: round trip");
			return 1;
		}
		t[i] = now_ns() - t0;
	}
	qsort(t, (size_t)rounds, sizeof(*t), cmp_u64);
	printf("%.1f %.1f\n", t[rounds / 2] / 1000.0, t[rounds * 99 / 100] / 1000.0);
	close(s);
	return 0;
}
