/*
 * epwait: the cost of an epoll_wait that finds a socket ready, a plain
 * POSIX program run unchanged on the kernel or under libustack.so.
 *   epwait tcp|unix ROUNDS   a connected TCP socket over 127.0.0.1 (a
 *                            ustack socket under libustack.so) or an
 *                            AF_UNIX socket pair (always the kernel's),
 *                            with one unread byte, level-triggered in an
 *                            epoll set; prints ns per epoll_wait (median
 *                            of 5 runs of ROUNDS calls)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* A connected pair; *rd is the end that gets the byte. */
static int
pair(const char *kind, int *wr, int *rd)
{
	if (strcmp(kind, "unix") == 0) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
			return -1;
		*wr = sv[0];
		*rd = sv[1];
		return 0;
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0)
		return -1;
	*wr = socket(AF_INET, SOCK_STREAM, 0);
	if (*wr < 0 || connect(*wr, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	*rd = accept(l, NULL, NULL);
	close(l);
	return *rd < 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "tcp") != 0 && strcmp(argv[1], "unix") != 0)) {
		fprintf(stderr, "usage: epwait tcp|unix ROUNDS\n");
		return 2;
	}
	long rounds = atol(argv[2]);
	int wr, rd;
	if (rounds <= 0 || pair(argv[1], &wr, &rd) < 0 || write(wr, "x", 1) != 1) {
		perror("epwait: setup");
		return 1;
	}
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, rd, &ev) < 0) {
		perror("epwait: epoll");
		return 1;
	}
	/* The byte may still be on its way. */
	if (epoll_wait(ep, &ev, 1, 5000) != 1) {
		fprintf(stderr, "epwait: the socket never became ready\n");
		return 1;
	}
	uint64_t per[5];
	for (int r = 0; r < 5; r++) {
		uint64_t t0 = now_ns();
		for (long i = 0; i < rounds; i++)
			if (epoll_wait(ep, &ev, 1, 0) != 1) {
				fprintf(stderr, "epwait: the socket stopped being ready\n");
				return 1;
			}
		per[r] = (now_ns() - t0) / (uint64_t)rounds;
	}
	qsort(per, 5, sizeof(per[0]), cmp_u64);
	printf("%llu\n", (unsigned long long)per[2]);
	return 0;
}
