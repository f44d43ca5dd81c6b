/*
 * ustack: the command-line face of ustackd. `ustack stat` lists the stack's
 * sockets like `ss -tanu` and its counters, through the control socket.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int
usage(FILE *f)
{
	fprintf(f, "usage: ustack [--ctl PATH] stat\n"
		   "  stat        sockets (like ss -tanu) and counters of the running ustackd\n"
		   "  --ctl PATH  ustackd's control socket (default /run/ustack/ctl.sock)\n");
	return f == stdout ? 0 : 2;
}

int
main(int argc, char **argv)
{
	const char *path = "/run/ustack/ctl.sock";
	const char *cmd = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ctl") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return usage(stdout);
		else if (cmd == NULL && argv[i][0] != '-')
			cmd = argv[i];
		else
			return usage(stderr);
	}
	if (cmd == NULL || strcmp(cmd, "stat") != 0)
		return usage(stderr);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ustack: %s: path too long\n", path);
		return 2;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		fprintf(stderr, "ustack: %s: %s — is ustackd running (with --ctl %s)?\n", path, strerror(e),
			path);
		return 1;
	}
	struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, cmd, strlen(cmd), MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "ustack: %s: %s\n", path, strerror(errno));
		return 1;
	}
	char line[512];
	for (;;) {
		ssize_t n = recv(fd, line, sizeof(line) - 1, 0);
		if (n < 0) {
			fprintf(stderr, "ustack: %s: %s — ustackd did not answer\n", path, strerror(errno));
			return 1;
		}
		if (n == 0)
			break;
		line[n] = '\0';
		puts(line);
	}
	close(fd);
	return 0;
}
