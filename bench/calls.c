/*
 * calls: what a server's two busiest calls cost, a plain POSIX program run
 * unchanged on the kernel or under libustack.so (bench/run.sh).
 *   calls accept HOST PORT      prints "accept NS": one accept() of an
 *                               already established connection
 *   calls epoll_wait HOST PORT  prints "epoll_wait NS": one epoll_wait
 *                               (timeout 0) that finds the 1 readable
 *                               socket among 64
 * Each the median of 5 batches. HOST is an address of this host where PORT
 * can be listened on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SOCKS 64
#define WAITS 20000
#define ACCEPTS 256
#define BATCHES 5

static double
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
die(const char *what)
{
	fprintf(stderr, "calls: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
connect_to(const struct sockaddr_in *a)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (const struct sockaddr *)a, sizeof(*a)) < 0)
		die("connect");
	return s;
}

static int
listener(const struct sockaddr_in *a)
{
	int one = 1;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l, (const struct sockaddr *)a, sizeof(*a)) < 0 || listen(l, 1024) < 0)
		die("listen");
	return l;
}

static double
median(double *t)
{
	qsort(t, BATCHES, sizeof(t[0]), cmp_d);
	return t[BATCHES / 2];
}

static int
epoll_cost(const struct sockaddr_in *a)
{
	int l = listener(a);
	int ep = epoll_create1(0);
	int srv[SOCKS], cli[SOCKS];
	for (int i = 0; i < SOCKS; i++) {
		cli[i] = connect_to(a);
		srv[i] = accept(l, NULL, NULL);
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
		if (srv[i] < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, srv[i], &ev) < 0)
			die("accept/epoll_ctl");
	}
	if (write(cli[SOCKS / 2], "x", 1) != 1)
		die("write");
	struct epoll_event evs[8];
	double t[BATCHES];
	/* The byte needs a moment to arrive: wait for it before timing. */
	if (epoll_wait(ep, evs, 8, 1000) != 1 || evs[0].data.u32 != SOCKS / 2) {
		fprintf(stderr, "calls: epoll_wait did not report the one readable socket\n");
		return 1;
	}
	for (int b = 0; b < BATCHES; b++) {
		double t0 = now_ns();
		for (int i = 0; i < WAITS; i++)
			if (epoll_wait(ep, evs, 8, 0) != 1) {
				fprintf(stderr, "calls: epoll_wait lost the readable socket\n");
				return 1;
			}
		t[b] = (now_ns() - t0) / WAITS;
	}
	printf("epoll_wait %.0f\n", median(t));
	return 0;
}

static int
accept_cost(const struct sockaddr_in *a)
{
	int l = listener(a);
	double t[BATCHES];
	for (int b = 0; b < BATCHES; b++) {
		int c[ACCEPTS];
		for (int i = 0; i < ACCEPTS; i++)
			c[i] = connect_to(a);
		double t0 = now_ns();
		for (int i = 0; i < ACCEPTS; i++) {
			int s = accept(l, NULL, NULL);
			if (s < 0)
				die("accept");
			close(s);
		}
		t[b] = (now_ns() - t0) / ACCEPTS;
		for (int i = 0; i < ACCEPTS; i++)
			close(c[i]);
	}
	printf("accept %.0f\n", median(t));
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	if (argc != 4 || inet_pton(AF_INET, argv[2], &a.sin_addr) != 1) {
		fprintf(stderr, "usage: calls accept|epoll_wait HOST PORT\n");
		return 2;
	}
	a.sin_port = htons((uint16_t)atoi(argv[3]));
	if (strcmp(argv[1], "accept") == 0)
		return accept_cost(&a);
	if (strcmp(argv[1], "epoll_wait") == 0)
		return epoll_cost(&a);
	fprintf(stderr, "calls: unknown measurement '%s'\n", argv[1]);
	return 2;
}
