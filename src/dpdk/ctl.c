/* Control socket of ustackd; see ctl.h. */
#include "ctl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "ipc_server.h"
#include "stack/sock.h"
#include "stack/sysctl.h"

#define CTL_PENDING 8

struct ust_ctl {
	int fd;                     /* listening socket */
	char path[108];             /* its path, unlinked at close */
	int pending[CTL_PENDING];   /* accepted clients whose request has not come yet, -1 = free */
	unsigned waited[CTL_PENDING]; /* polls each has waited */
};

static int
addr_of(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

struct ust_ctl *
ust_ctl_open(const char *path)
{
	struct sockaddr_un sa;
	if (addr_of(path, &sa) < 0) {
		fprintf(stderr, "ustackd: control socket path '%s' is too long — choose a shorter --ctl\n", path);
		return NULL;
	}
	char dir[sizeof(sa.sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	/* A live daemon answers a connect; a stale file from a crash does not. */
	int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		fprintf(stderr, "ustackd: another ustackd is listening on %s — stop it, or give this one "
				"its own --ctl\n",
			path);
		return NULL;
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* Any local user may use the stack, as any may use the kernel's;
	 * what each may do is checked per call from its credentials. */
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 128) < 0) {
		fprintf(stderr, "ustackd: control socket %s: %s — check the directory exists and is "
				"writable\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	struct ust_ctl *ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL) {
		close(fd);
		return NULL;
	}
	ctl->fd = fd;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	for (int i = 0; i < CTL_PENDING; i++)
		ctl->pending[i] = -1;
	return ctl;
}

void
ust_ctl_close(struct ust_ctl *ctl)
{
	if (ctl == NULL)
		return;
	for (int i = 0; i < CTL_PENDING; i++)
		if (ctl->pending[i] >= 0)
			close(ctl->pending[i]);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl);
}

static void
say(int fd, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* The client reads as fast as it can; a full buffer means it is gone. */
	send(fd, line, (size_t)(n < (int)sizeof(line) ? n : (int)sizeof(line) - 1), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void
format_addr(char *out, size_t len, const struct ust_sockaddr *a, bool wild_port)
{
	struct in_addr ia = {.s_addr = htonl(a->addr4)};
	char ip[INET6_ADDRSTRLEN + 2];
	if (a->family == UST_AF_INET6) {
		/* ss's form: [2001:2::2]:80, [::ffff:198.18.0.1]:5000. */
		ip[0] = '[';
		inet_ntop(AF_INET6, a->addr6, ip + 1, INET6_ADDRSTRLEN);
		strcat(ip, "]");
	} else {
		inet_ntop(AF_INET, &ia, ip, sizeof(ip));
	}
	if (wild_port && a->port == 0)
		snprintf(out, len, "%s:*", ip);
	else
		snprintf(out, len, "%s:%u", ip, a->port);
}

struct stat_ctx {
	int fd;        /* client */
	unsigned tcp;  /* TCP sockets listed */
	unsigned udp;  /* UDP sockets listed */
};

static void
one_sock(const struct ust_sock_info *i, void *arg)
{
	struct stat_ctx *c = arg;
	char local[64], peer[64];
	format_addr(local, sizeof(local), &i->local, false);
	format_addr(peer, sizeof(peer), &i->peer, true);
	char pid[16] = "-";
	if (i->owner != NULL)
		snprintf(pid, sizeof(pid), "%d", (int)ust_ipc_owner_pid(i->owner));
	say(c->fd, "%-5s %-10s %6u %6u %-21s %-21s %s", i->type == UST_SOCK_STREAM ? "tcp" : "udp",
	    i->state, i->recvq, i->sendq, local, peer, pid);
	if (i->type == UST_SOCK_STREAM)
		c->tcp++;
	else
		c->udp++;
}

static void
answer_stat(int fd, struct ust_stack *st)
{
	struct stat_ctx c = {.fd = fd};
	say(fd, "%-5s %-10s %6s %6s %-21s %-21s %s", "Netid", "State", "Recv-Q", "Send-Q",
	    "Local Address:Port", "Peer Address:Port", "Pid");
	ust_stack_foreach_sock(st, one_sock, &c);
	say(fd, "sockets: tcp %u udp %u", c.tcp, c.udp);
	say(fd, "counters:");
	for (int i = 0; i < UST_STAT_MAX; i++)
		if (st->stats.stat[i] != 0)
			say(fd, "  %-44s %llu", ust_stat_name(i), (unsigned long long)st->stats.stat[i]);
	for (int i = 1; i < UST_DROP_MAX; i++)
		if (st->stats.drop[i] != 0)
			say(fd, "  drop: %-38s %llu", ust_drop_name(i), (unsigned long long)st->stats.drop[i]);
}

/* `sysctl`, `sysctl NAME`, `sysctl -w NAME=VALUE`: as sysctl(8) prints. */
static void
answer_sysctl(int fd, struct ust_stack *st, char *args)
{
	char val[128];
	args += strspn(args, " ");
	if (*args == '\0') {
		const char *name;
		for (unsigned i = 0; (name = ust_sysctl_name(i)) != NULL; i++) {
			ust_sysctl_get(&st->sysctl, name, val, sizeof(val));
			say(fd, "%s = %s", name, val);
		}
		return;
	}
	bool write = strncmp(args, "-w ", 3) == 0;
	if (write) {
		/* Like writing /proc/sys: root, or ustackd's own user. */
		struct ucred cr;
		socklen_t len = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
		    (cr.uid != 0 && cr.uid != geteuid())) {
			say(fd, "ustackd: sysctl -w: permission denied — run as root");
			return;
		}
		args += 3 + strspn(args + 3, " ");
		char *eq = strchr(args, '=');
		if (eq == NULL) {
			say(fd, "ustackd: sysctl -w %s: no value — write NAME=VALUE", args);
			return;
		}
		*eq = '\0';
		int rc = ust_sysctl_set(&st->sysctl, args, eq + 1);
		if (rc == -ENOENT) {
			say(fd, "ustackd: sysctl: %s=%s: unknown name, or a value ustack does not have — "
				"`ustack sysctl` lists them", args, eq + 1);
			return;
		}
		if (rc < 0) {
			say(fd, "ustackd: sysctl: %s: invalid value '%s'", args, eq + 1);
			return;
		}
	}
	if (ust_sysctl_get(&st->sysctl, args, val, sizeof(val)) < 0) {
		say(fd, "ustackd: sysctl: %s: unknown name — `ustack sysctl` lists them", args);
		return;
	}
	say(fd, "%s = %s", args, val);
}

enum served {
	SERVED_WAIT,    /* the request has not come yet */
	SERVED_CLOSE,   /* answered; close the connection */
	SERVED_ADOPTED, /* a libustack.so client: the IPC server keeps it */
};

/* Serve one client if its request is there. */
static enum served
serve(int cfd, struct ust_stack *st, struct ust_ipc_server *srv)
{
	char req[256];
	struct iovec iov = {.iov_base = req, .iov_len = sizeof(req) - 1};
	union ust_ipc_fdbuf fb;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ust_ipc_fd_attach(&mh, &fb, -1);
	ssize_t r = recvmsg(cfd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return SERVED_WAIT;
	int msgfd = r > 0 ? ust_ipc_fd_take(&mh) : -1;
	uint32_t msg = 0;
	if (r >= (ssize_t)sizeof(msg))
		memcpy(&msg, req, sizeof(msg));
	if (msg == UST_IPC_MSG_HELLO || msg == UST_IPC_MSG_JOIN) {
		ust_ipc_server_adopt(srv, cfd, req, (size_t)r, msgfd);
		if (msgfd >= 0)
			close(msgfd);
		return SERVED_ADOPTED;
	}
	if (msgfd >= 0)
		close(msgfd);
	if (r > 0) {
		req[r] = '\0';
		req[strcspn(req, "\r\n")] = '\0';
		if (strcmp(req, "stat") == 0)
			answer_stat(cfd, st);
		else if (strncmp(req, "sysctl", 6) == 0 && (req[6] == '\0' || req[6] == ' '))
			answer_sysctl(cfd, st, req + 6);
		else
			say(cfd, "ustackd: unknown request '%s' — try: stat, sysctl", req);
	}
	send(cfd, "", 0, MSG_NOSIGNAL | MSG_DONTWAIT);
	return SERVED_CLOSE;
}

unsigned
ust_ctl_poll(struct ust_ctl *ctl, struct ust_stack *st, struct ust_ipc_server *srv)
{
	/* Never block the datapath on a client: requests that have not
	 * arrived yet wait in `pending` (a second at most, at 1 kHz polls). */
	unsigned n = 0;
	for (int i = 0; i < CTL_PENDING; i++) {
		if (ctl->pending[i] < 0)
			continue;
		enum served sv = serve(ctl->pending[i], st, srv);
		if (sv != SERVED_WAIT || ++ctl->waited[i] > 1000) {
			if (sv != SERVED_ADOPTED)
				close(ctl->pending[i]);
			ctl->pending[i] = -1;
			n++;
		}
	}
	int cfd;
	while ((cfd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		n++;
		enum served sv = serve(cfd, st, srv);
		if (sv != SERVED_WAIT) {
			if (sv == SERVED_CLOSE)
				close(cfd);
			continue;
		}
		int slot = -1;
		for (int i = 0; i < CTL_PENDING && slot < 0; i++)
			if (ctl->pending[i] < 0)
				slot = i;
		if (slot < 0) {
			close(cfd);
			continue;
		}
		ctl->pending[slot] = cfd;
		ctl->waited[slot] = 0;
	}
	return n;
}

unsigned
ust_ctl_pollfds(const struct ust_ctl *ctl, struct pollfd *fds, unsigned max)
{
	unsigned n = 0;
	if (n < max)
		fds[n++] = (struct pollfd){.fd = ctl->fd, .events = POLLIN};
	for (int i = 0; i < CTL_PENDING && n < max; i++)
		if (ctl->pending[i] >= 0)
			fds[n++] = (struct pollfd){.fd = ctl->pending[i], .events = POLLIN};
	return n;
}
