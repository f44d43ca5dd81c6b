/*
 * ustack: the command-line face of ustackd. `ustack stat` lists the stack's
 * sockets like `ss -tanu` and its counters, through the control socket;
 * `ustack sysctl [-w] [NAME[=VALUE]]` shows or sets ustackd's tunables by
 * Linux's names; `ustack run -- PROGRAM ARGS` runs a program with
 * libustack.so preloaded.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int
usage(FILE *f)
{
	fprintf(f, "usage: ustack [--ctl PATH] stat\n"
		   "       ustack [--ctl PATH] sysctl [NAME | -w NAME=VALUE]\n"
		   "       ustack [--ctl PATH] run [--] PROGRAM [ARGS...]\n"
		   "  stat        sockets (like ss -tanu) and counters of the running ustackd\n"
		   "  sysctl      ustackd's TCP/IP tunables by Linux's names (taken from the host at\n"
		   "              start); -w sets one in ustackd alone, for sockets made afterwards\n"
		   "  run         run PROGRAM with its sockets on ustack (LD_PRELOAD=libustack.so)\n"
		   "  --ctl PATH  ustackd's control socket (default $USTACK_CTL, else /run/ustack/ctl.sock)\n");
	return f == stdout ? 0 : 2;
}

/* libustack.so: $USTACK_LIB, the build tree next to this binary, or the
 * installed library directory. */
static bool
find_lib(char *out, size_t len)
{
	const char *env = getenv("USTACK_LIB");
	if (env != NULL && *env != '\0') {
		snprintf(out, len, "%s", env);
		return access(out, R_OK) == 0;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL)
			*slash = '\0';
		snprintf(out, len, "%s/../src/preload/libustack.so", self);
		if (access(out, R_OK) == 0)
			return true;
	}
	snprintf(out, len, "%s/libustack.so", UST_LIBDIR);
	return access(out, R_OK) == 0;
}

static int
run(const char *ctl, bool ctl_set, char **prog)
{
	char lib[PATH_MAX + 64];
	if (!find_lib(lib, sizeof(lib))) {
		fprintf(stderr, "ustack: libustack.so not found (looked at %s) — build it, or set "
				"USTACK_LIB to its path\n",
			lib);
		return 127;
	}
	char preload[2 * PATH_MAX];
	const char *old = getenv("LD_PRELOAD");
	snprintf(preload, sizeof(preload), "%s%s%s", lib, old != NULL ? " " : "", old != NULL ? old : "");
	setenv("LD_PRELOAD", preload, 1);
	if (ctl_set)
		setenv("USTACK_CTL", ctl, 1);
	execvp(prog[0], prog);
	fprintf(stderr, "ustack: cannot run %s: %s\n", prog[0], strerror(errno));
	return 127;
}

int
main(int argc, char **argv)
{
	const char *path = getenv("USTACK_CTL");
	const char *cmd = NULL;
	static char req[256];
	bool ctl_set = false;
	int status = 0;
	if (path == NULL || *path == '\0')
		path = "/run/ustack/ctl.sock";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ctl") == 0 && i + 1 < argc) {
			path = argv[++i];
			ctl_set = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			return usage(stdout);
		} else if (cmd == NULL && strcmp(argv[i], "run") == 0) {
			i += i + 1 < argc && strcmp(argv[i + 1], "--") == 0;
			if (i + 1 >= argc)
				return usage(stderr);
			return run(path, ctl_set, argv + i + 1);
		}
		else if (cmd == NULL && strcmp(argv[i], "sysctl") == 0) {
			/* The rest is the request: nothing, NAME, or -w NAME=VALUE. */
			snprintf(req, sizeof(req), "sysctl");
			for (i++; i < argc; i++) {
				size_t n = strlen(req);
				snprintf(req + n, sizeof(req) - n, " %s", argv[i]);
			}
			cmd = req;
		} else if (cmd == NULL && argv[i][0] != '-')
			cmd = argv[i];
		else
			return usage(stderr);
	}
	if (cmd == NULL || (strcmp(cmd, "stat") != 0 && cmd != req))
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
		/* ustackd's errors start with its name. */
		if (strncmp(line, "ustackd:", 8) == 0) {
			fprintf(stderr, "%s\n", line);
			status = 1;
		} else {
			puts(line);
		}
	}
	close(fd);
	return status;
}
