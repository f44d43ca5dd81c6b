/*
 * conn: connection setup rate and idle connections, a plain POSIX program
 * run unchanged on the kernel or under libustack.so (bench/run.sh).
 *   conn serve PORT              accept; read a line; answer "ok\n"; close
 *   conn rate HOST PORT SECONDS  connect, send a line, read to EOF, close,
 *                                as often as it can; prints connections/s
 *   conn accept PORT N           accept N connections and keep them open;
 *                                prints "held N", then waits for stdin EOF
 *   conn hold HOST[@SRC,..] PORT N  open N connections, from the source
 *                                addresses after '@' in turn, and keep
 *                                them open; prints "held N", then waits
 *                                for stdin EOF
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
listener(const char *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
	int one = 1;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 4096) < 0) {
		perror("conn: listen");
		exit(1);
	}
	return l;
}

static struct sockaddr_in
addr(const char *host, const char *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "conn: '%s' is not an IPv4 address\n", host);
		exit(2);
	}
	return a;
}

static void
wait_stdin(void)
{
	char c;
	while (read(0, &c, 1) > 0)
		;
}

static int
serve(const char *port)
{
	int l = listener(port);
	for (;;) {
		int s = accept(l, NULL, NULL);
		if (s < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("conn: accept");
			return 1;
		}
		char buf[64];
		if (read(s, buf, sizeof(buf)) > 0 && write(s, "ok\n", 3) != 3)
			perror("conn: write");
		close(s);
	}
}

static int
rate(const char *host, const char *port, double seconds)
{
	struct sockaddr_in a = addr(host, port);
	long n = 0;
	double t0 = now_s(), t;
	do {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		char buf[64];
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 || write(s, "hi\n", 3) != 3) {
			perror("conn: rate");
			return 1;
		}
		while (read(s, buf, sizeof(buf)) > 0)
			;
		close(s);
		n++;
		t = now_s();
	} while (t - t0 < seconds);
	printf("%.0f\n", (double)n / (t - t0));
	return 0;
}

static int
accept_n(const char *port, long n)
{
	int l = listener(port);
	for (long i = 0; i < n;) {
		if (accept(l, NULL, NULL) >= 0)
			i++;
		else if (errno != EINTR && errno != ECONNABORTED) {
			fprintf(stderr, "conn: accept after %ld: %s\n", i, strerror(errno));
			return 1;
		}
	}
	printf("held %ld\n", n);
	fflush(stdout);
	wait_stdin();
	return 0;
}

static int
hold(char *hosts, const char *port, long n)
{
	char *srcs = strchr(hosts, '@');
	struct sockaddr_in src[16];
	int nsrc = 0;
	if (srcs != NULL) {
		*srcs++ = '\0';
		for (char *t = strtok(srcs, ","); t != NULL && nsrc < 16; t = strtok(NULL, ","))
			src[nsrc++] = addr(t, "0");
	}
	struct sockaddr_in a = addr(hosts, port);
	for (long i = 0; i < n; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0 || (nsrc > 0 && bind(s, (struct sockaddr *)&src[i % nsrc], sizeof(src[0])) < 0) ||
		    connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
			fprintf(stderr, "conn: connection %ld: %s\n", i, strerror(errno));
			return 1;
		}
	}
	printf("held %ld\n", n);
	fflush(stdout);
	wait_stdin();
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2]);
	if (argc == 5 && strcmp(argv[1], "rate") == 0)
		return rate(argv[2], argv[3], atof(argv[4]));
	if (argc == 4 && strcmp(argv[1], "accept") == 0)
		return accept_n(argv[2], atol(argv[3]));
	if (argc == 5 && strcmp(argv[1], "hold") == 0)
		return hold(argv[2], argv[3], atol(argv[4]));
	fprintf(stderr, "usage: conn serve PORT | rate HOST PORT SECONDS | accept PORT N | "
			"hold HOST[@SRC,..] PORT N\n");
	return 2;
}
