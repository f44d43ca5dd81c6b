/*
 * The socket calls on ustack sockets, with Linux's semantics. ustackd never
 * blocks: where Linux would, this side waits for the socket's readiness
 * (ust_chan_wait) and asks again. Arguments are checked here in the order
 * the kernel checks them, so the errno is the one Linux would give.
 *
 * A socket's fd is the application end of a kernel socket pair whose other
 * end ustackd holds (src/ipc/ipc.h): socket() and accept() receive it from
 * ustackd, at the lowest free number as the kernel gives it. close() only
 * closes that fd; the socket closes when ustackd sees the last copy go.
 *
 * Payload crosses in the channel's data area, at most UST_IPC_DATA_BYTES
 * per call; a larger stream send or receive takes several calls.
 *
 * USTACK_KERNEL lists destinations and ports the kernel keeps, e.g.
 * "198.18.5.0/24,:53,198.18.0.1:8080": a fresh socket that binds, connects
 * or first sends to one of them is swapped for a kernel socket on the same
 * fd number, with the options set so far.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/errqueue.h>

#include "preload.h"

#define MAX_ADDRLEN 128 /* sizeof(struct sockaddr_storage): Linux's limit */
#define MAX_RULES 32

static struct {
	uint32_t addr, mask; /* host order; mask 0 = any address */
	uint16_t port;       /* 0 = any port */
} rules[MAX_RULES];
static int nrules;
static pthread_once_t rules_once = PTHREAD_ONCE_INIT;

static void
parse_rules(void)
{
	const char *env = getenv("USTACK_KERNEL");
	if (env == NULL)
		return;
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", env);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ", ", &save); tok != NULL && nrules < MAX_RULES;
	     tok = strtok_r(NULL, ", ", &save)) {
		char *colon = strchr(tok, ':');
		unsigned port = 0, prefix = 32;
		if (colon != NULL) {
			*colon = '\0';
			port = (unsigned)strtoul(colon + 1, NULL, 10);
		}
		char *slash = strchr(tok, '/');
		if (slash != NULL) {
			*slash = '\0';
			prefix = (unsigned)strtoul(slash + 1, NULL, 10);
		}
		struct in_addr ia = {0};
		if (*tok != '\0' && inet_pton(AF_INET, tok, &ia) != 1) {
			fprintf(stderr, "libustack: USTACK_KERNEL: '%s' is not an IPv4 address — "
					"write ADDR[/PREFIX][:PORT] or :PORT\n", tok);
			continue;
		}
		if (*tok == '\0')
			prefix = 0;
		if (prefix > 32 || port > 65535 || (prefix == 0 && port == 0))
			continue;
		rules[nrules].mask = prefix == 0 ? 0 : ~0u << (32 - prefix);
		rules[nrules].addr = ntohl(ia.s_addr) & rules[nrules].mask;
		rules[nrules].port = (uint16_t)port;
		nrules++;
	}
}

static bool
kernel_keeps(const struct ust_psock *ps, const struct ust_ipc_addr *a)
{
	pthread_once(&rules_once, parse_rules);
	if (ps->used || (a->family != AF_INET && a->family != AF_INET6))
		return false;
	/* IPv4 rules see IPv4-mapped destinations; other IPv6 ones match the
	 * port-only rules. */
	bool v4 = a->family == AF_INET || IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a->addr6);
	for (int i = 0; i < nrules; i++)
		if ((v4 ? (a->addr4 & rules[i].mask) == rules[i].addr : rules[i].mask == 0) &&
		    (rules[i].port == 0 || rules[i].port == a->port))
			return true;
	return false;
}

/* Swap the ustack socket behind fd for a kernel one with the same flags
 * and options; the caller then makes the call on the kernel socket. */
static int
to_kernel(int fd, struct ust_psock *ps)
{
	int fl = ust_libc.fcntl(fd, F_GETFL);
	int fdfl = ust_libc.fcntl(fd, F_GETFD);
	int k = ust_libc.socket(ps->family, ps->type | ((fl & O_NONBLOCK) ? SOCK_NONBLOCK : 0), ps->protocol);
	if (k < 0)
		return -errno;
	for (unsigned i = 0; i < ps->nopts; i++)
		ust_libc.setsockopt(k, ps->opts[i].level, ps->opts[i].name, ps->opts[i].val,
				    ps->opts[i].len);
	int64_t rcv = atomic_load(&ust_chan_sockstate(ps)->rcvtimeo_ns);
	int64_t snd = atomic_load(&ust_chan_sockstate(ps)->sndtimeo_ns);
	struct timeval tv[2] = {{rcv / 1000000000LL, (rcv % 1000000000LL) / 1000},
				{snd / 1000000000LL, (snd % 1000000000LL) / 1000}};
	ust_libc.setsockopt(k, SOL_SOCKET, SO_RCVTIMEO, &tv[0], sizeof(tv[0]));
	ust_libc.setsockopt(k, SOL_SOCKET, SO_SNDTIMEO, &tv[1], sizeof(tv[1]));
	int rc = ust_libc.dup3(k, fd, (fdfl > 0 && (fdfl & FD_CLOEXEC)) ? O_CLOEXEC : 0);
	ust_libc.close(k);
	if (rc < 0)
		return -errno;
	struct ust_psock *last = ust_fd_clear(fd);
	if (last != NULL)
		ust_p_close(last);
	return 0;
}

static void
remember_opt(struct ust_psock *ps, int level, int name, const void *v, socklen_t len)
{
	if (len > sizeof(ps->opts[0].val))
		return;
	unsigned i = 0;
	while (i < ps->nopts && !(ps->opts[i].level == level && ps->opts[i].name == name))
		i++;
	if (i == sizeof(ps->opts) / sizeof(ps->opts[0]))
		return;
	if (i == ps->nopts)
		ps->nopts++;
	ps->opts[i].level = level;
	ps->opts[i].name = name;
	ps->opts[i].len = len;
	memcpy(ps->opts[i].val, v, len);
}

bool
ust_p_wants(int domain, int type)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	return (domain == AF_INET || domain == AF_INET6) &&
	       (base == SOCK_STREAM || base == SOCK_DGRAM || base == SOCK_RAW);
}

/* The thread's channel with the request header filled, or NULL and *err. */
static struct ust_ipc_channel *
begin(const struct ust_psock *ps, uint32_t op, int *err)
{
	if (ps != NULL && ps->gen != ust_chan_gen()) {
		*err = -EBADF; /* of a region this process no longer has */
		return NULL;
	}
	struct ust_ipc_channel *ch = ust_chan_take();
	if (ch == NULL || ust_chan_dead()) {
		*err = -EPIPE;
		return NULL;
	}
	memset(&ch->req, 0, sizeof(ch->req));
	ch->req.op = op;
	ch->req.handle = ps != NULL ? ps->handle : UST_IPC_NO_HANDLE;
	return ch;
}

/* The events that end a receive's or an accept's wait (ust_chan_wait adds
 * ERR and HUP): without one, asking ustackd would answer EAGAIN. */
#define WAKES_RECV (UST_IPC_EV_IN | UST_IPC_EV_RDHUP | UST_IPC_EV_ERR | UST_IPC_EV_HUP)
#define WAKES_ACCEPT (UST_IPC_EV_IN | UST_IPC_EV_ERR | UST_IPC_EV_HUP)

/* ustackd gone: the error each kind of call reports. */
static int
dead_errno(int rc, int kind)
{
	return rc == -EPIPE ? kind : rc;
}

static int64_t
deadline(int64_t timeo_ns)
{
	return timeo_ns > 0 ? ust_now_ns() + timeo_ns : -1;
}

static bool
nonblocking(const struct ust_psock *ps)
{
	return atomic_load_explicit(&ust_chan_sockstate(ps)->nonblock, memory_order_relaxed) != 0;
}

static int64_t
timeo(const struct ust_psock *ps, bool rcv)
{
	struct ust_ipc_sockstate *ss = ust_chan_sockstate(ps);
	return atomic_load_explicit(rcv ? &ss->rcvtimeo_ns : &ss->sndtimeo_ns, memory_order_relaxed);
}

/* Set what belongs to the socket rather than the fd (ipc.h FSET). */
static int
fset(struct ust_psock *ps, enum ust_ipc_fset what, int64_t v)
{
	int err;
	struct ust_ipc_channel *ch = begin(ps, UST_IPC_OP_FSET, &err);
	if (ch == NULL)
		return dead_errno(err, -ENOTCONN);
	ch->req.a = what;
	memcpy(ch->data, &v, sizeof(v));
	return (int)ust_chan_call(ch);
}

int
ust_p_set_nonblock(struct ust_psock *ps, bool on)
{
	return fset(ps, UST_IPC_FSET_NONBLOCK, on);
}

static struct ust_psock *
psock_new(uint32_t handle, int family, int type, int protocol)
{
	struct ust_psock *ps = calloc(1, sizeof(*ps));
	if (ps != NULL) {
		ps->handle = handle;
		ps->gen = ust_chan_gen();
		ps->family = family;
		ps->type = type;
		ps->protocol = protocol;
	}
	return ps;
}

/* Make the call (OPEN or ACCEPT, a new socket for the caller) and receive
 * the new socket's fd; returns it, or the call's error. */
static int
call_for_fd(struct ust_ipc_channel *ch, int family, int type, int protocol, int flags, int64_t *rc)
{
	ust_chan_lock();
	*rc = ust_chan_call(ch);
	int fd = *rc < 0 ? (int)*rc : ust_chan_recv_fd(ch->resp.handle, (flags & SOCK_CLOEXEC) != 0);
	ust_chan_unlock();
	if (fd < 0)
		return fd;
	struct ust_psock *ps = psock_new(ch->resp.handle, family, type, protocol);
	if (ps == NULL) {
		ust_libc.close(fd); /* its last copy: ustackd closes the socket */
		return -ENOMEM;
	}
	ps->peered = ch->req.op == UST_IPC_OP_ACCEPT;
	ust_fd_set(fd, ps);
	return fd;
}

int
ust_p_socket(int domain, int type, int protocol)
{
	int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
	int base = type & ~flags;
	int err;
	struct ust_ipc_channel *ch = begin(NULL, UST_IPC_OP_OPEN, &err);
	if (ch == NULL)
		return -EAFNOSUPPORT;
	ch->req.a = domain;
	ch->req.b = base | (flags & SOCK_NONBLOCK);
	ch->req.c = protocol;
	int64_t rc;
	int fd = call_for_fd(ch, domain, base, protocol, flags, &rc);
	return fd == -EPIPE ? -EAFNOSUPPORT : fd;
}

void
ust_p_close(struct ust_psock *ps)
{
	/* Say so only from a process that has its own connection: a forked
	 * child that never used its sockets leaves it to ustackd's sweep. */
	int err;
	struct ust_ipc_channel *ch = ust_chan_joined() ? begin(ps, UST_IPC_OP_CLOSE, &err) : NULL;
	/* A connection's close needs no answer (ustackd's is always 0) and
	 * its FIN goes out on ustackd's next turn; a listener's or a bound
	 * socket's waits, so its port is free when close() returns. */
	if (ch != NULL && ps->peered)
		ust_chan_post(ch);
	else if (ch != NULL)
		ust_chan_call(ch);
	free(ps);
}

struct ust_psock *
ust_p_adopt(int fd)
{
	struct stat sb;
	int dom = 0;
	socklen_t dl = sizeof(dom);
	uint32_t handle;
	int family, type, protocol;
	if (fstat(fd, &sb) < 0 || !S_ISSOCK(sb.st_mode) ||
	    ust_libc.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &dl) < 0 || dom != AF_UNIX ||
	    ust_chan_probe(fd, &handle, &family, &type, &protocol) < 0) {
		ust_fd_swap(fd, UST_FD_PROBE, NULL);
		return ust_fd_get(fd);
	}
	struct ust_psock *ps = psock_new(handle, family, type, protocol);
	if (ps == NULL)
		return NULL;
	ps->used = true;
	if (!ust_fd_swap(fd, UST_FD_PROBE, ps))
		free(ps); /* another thread was first, or the fd was closed */
	return ust_fd_get(fd);
}

/* sockaddr -> ustackd's form, with inet_bind's/inet6_bind's and connect's
 * length checks (an AF_INET6 socket wants SIN6_LEN_RFC2133, 24 bytes). */
static int
addr_in(const struct ust_psock *ps, const struct sockaddr *a, socklen_t len,
	struct ust_ipc_addr *out, bool unspec_ok)
{
	if ((int)len < 0 || len > MAX_ADDRLEN)
		return -EINVAL;
	if (a == NULL)
		return len == 0 ? -EINVAL : -EFAULT;
	memset(out, 0, sizeof(*out));
	if (len >= sizeof(sa_family_t) && a->sa_family == AF_UNSPEC && unspec_ok) {
		out->family = AF_UNSPEC;
		return 0;
	}
	if (ps->family == AF_INET6) {
		if (len < 24)
			return -EINVAL;
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;
		out->family = in6->sin6_family;
		out->port = ntohs(in6->sin6_port);
		memcpy(out->addr6, &in6->sin6_addr, 16);
		/* The scope id is read only from a whole sockaddr_in6 (Linux). */
		if (len >= sizeof(struct sockaddr_in6))
			out->scope_id = in6->sin6_scope_id;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			out->addr4 = (uint32_t)out->addr6[12] << 24 | (uint32_t)out->addr6[13] << 16 |
				     (uint32_t)out->addr6[14] << 8 | out->addr6[15];
		return 0;
	}
	if (len < sizeof(struct sockaddr_in))
		return -EINVAL;
	const struct sockaddr_in *in = (const struct sockaddr_in *)a;
	out->family = in->sin_family;
	out->port = ntohs(in->sin_port);
	out->addr4 = ntohl(in->sin_addr.s_addr);
	return 0;
}

static void
addr_out(const struct ust_ipc_addr *in, struct sockaddr *a, socklen_t *len)
{
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} u;
	memset(&u, 0, sizeof(u));
	size_t full;
	if (in->family == AF_INET6) {
		u.v6.sin6_family = AF_INET6;
		u.v6.sin6_port = htons(in->port);
		memcpy(&u.v6.sin6_addr, in->addr6, 16);
		u.v6.sin6_scope_id = in->scope_id;
		full = sizeof(u.v6);
	} else {
		u.v4.sin_family = AF_INET;
		u.v4.sin_port = htons(in->port);
		u.v4.sin_addr.s_addr = htonl(in->addr4);
		full = sizeof(u.v4);
	}
	size_t n = *len < full ? *len : full;
	memcpy(a, &u, n);
	*len = (socklen_t)full;
}

int
ust_p_bind(int fd, struct ust_psock *ps, const struct sockaddr *a, socklen_t len)
{
	(void)fd;
	struct ust_ipc_addr ia;
	int rc = addr_in(ps, a, len, &ia, false);
	if (rc < 0)
		return rc;
	/* Linux takes AF_UNSPEC with INADDR_ANY as AF_INET, for old programs. */
	if (ps->family == AF_INET && ia.family == AF_UNSPEC && ia.addr4 == INADDR_ANY)
		ia.family = AF_INET;
	if (ia.family != ps->family)
		return -EAFNOSUPPORT;
	if (kernel_keeps(ps, &ia)) {
		rc = to_kernel(fd, ps);
		return rc < 0 ? rc : ust_libc.bind(fd, a, len) < 0 ? -errno : 0;
	}
	int err;
	struct ust_ipc_channel *ch = begin(ps, UST_IPC_OP_BIND, &err);
	if (ch == NULL)
		return dead_errno(err, -EINVAL);
	ch->req.addr = ia;
	rc = (int)ust_chan_call(ch);
	if (rc == 0)
		ps->used = true;
	return rc;
}

int
ust_p_connect(int fd, struct ust_psock *ps, const struct sockaddr *a, socklen_t len)
{
	struct ust_ipc_addr ia;
	int rc = addr_in(ps, a, len, &ia, true);
	if (rc < 0)
		return rc;
	if (kernel_keeps(ps, &ia)) {
		rc = to_kernel(fd, ps);
		return rc < 0 ? rc : ust_libc.connect(fd, a, len) < 0 ? -errno : 0;
	}
	ps->used = true;
	int err;
	struct ust_ipc_channel *ch = begin(ps, UST_IPC_OP_CONNECT, &err);
	if (ch == NULL)
		return dead_errno(err, -ENOTCONN);
	ch->req.addr = ia;
	rc = (int)ust_chan_call(ch);
	ps->peered = ps->type == SOCK_STREAM && ia.family != AF_UNSPEC && (rc == 0 || rc == -EINPROGRESS);
	if (rc != -EINPROGRESS || nonblocking(ps))
		return dead_errno(rc, -ECONNREFUSED);
	int64_t dl = deadline(timeo(ps, false));
	for (;;) {
		rc = ust_chan_wait(ps, UST_IPC_EV_OUT, dl);
		if (rc == -EAGAIN)
			return -EINPROGRESS; /* SO_SNDTIMEO ran out, as Linux says it */
		if (rc < 0)
			return dead_errno(rc, -ECONNREFUSED);
		uint32_t ev = ust_chan_events(ps);
		if ((ev & (UST_IPC_EV_OUT | UST_IPC_EV_ERR | UST_IPC_EV_HUP)) == 0)
			continue;
		/* Asked again, ustackd reports the outcome: 0 or the error,
		 * or EALREADY while the handshake goes on. */
		ch = begin(ps, UST_IPC_OP_CONNECT, &err);
		if (ch == NULL)
			return dead_errno(err, -ECONNREFUSED);
		ch->req.addr = ia;
		rc = (int)ust_chan_call(ch);
		if (rc != -EALREADY)
			return dead_errno(rc, -ECONNREFUSED);
	}
}

int
ust_p_listen(struct ust_psock *ps, int backlog)
{
	int err;
	struct ust_ipc_channel *ch = begin(ps, UST_IPC_OP_LISTEN, &err);
	if (ch == NULL)
		return dead_errno(err, -EINVAL);
	ch->req.a = backlog;
	ps->used = true;
	return (int)ust_chan_call(ch);
}

int
ust_p_accept(struct ust_psock *ps, struct sockaddr *a, socklen_t *len, int flags)
{
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (a != NULL && (len == NULL))
		return -EFAULT;
	if (a != NULL && (int)*len < 0)
		return -EINVAL;
	int64_t dl = deadline(timeo(ps, true));
	for (;;) {
		/* A listener with nothing queued waits before it asks: the call
		 * would only answer EAGAIN, a round trip to ustackd. */
		if (!(ps->delivered && !nonblocking(ps) && !(ust_chan_events(ps) & WAKES_ACCEPT))) {
			int err;
			struct ust_ipc_channel *ch = begin(ps, UST_IPC_OP_ACCEPT, &err);
			if (ch == NULL)
				return dead_errno(err, -ECONNABORTED);
			ch->req.a = flags & SOCK_NONBLOCK;
			int64_t call_rc;
			int nfd = call_for_fd(ch, ps->family, SOCK_STREAM, 0, flags, &call_rc);
			if (nfd >= 0) {
				ps->delivered = true;
				if (a != NULL)
					addr_out(&ch->resp.addr, a, len);
				return nfd;
			}
			int rc = call_rc < 0 ? (int)call_rc : nfd;
			if (rc != -EAGAIN || nonblocking(ps))
				return dead_errno(rc, -ECONNABORTED);
		}
		int rc = ust_chan_wait(ps, UST_IPC_EV_IN, dl);
		if (rc < 0)
			return dead_errno(rc, -ECONNABORTED);
	}
}

static size_t
iov_total(const struct msghdr *m)
{
	size_t t = 0;
	for (size_t i = 0; i < m->msg_iovlen; i++)
		t += m->msg_iov[i].iov_len;
	return t;
}

/* Copy between an iovec at byte offset `off` and a flat buffer. */
static void
iov_copy(const struct msghdr *m, size_t off, void *buf, size_t len, bool to_iov)
{
	uint8_t *b = buf;
	for (size_t i = 0; i < m->msg_iovlen && len > 0; i++) {
		size_t l = m->msg_iov[i].iov_len;
		if (off >= l) {
			off -= l;
			continue;
		}
		size_t n = l - off < len ? l - off : len;
		uint8_t *base = (uint8_t *)m->msg_iov[i].iov_base + off;
		if (to_iov)
			memcpy(base, b, n);
		else
			memcpy(b, base, n);
		b += n;
		len -= n;
		off = 0;
	}
}

/* Copy an answer's spans to (or from) the iovec at byte `off`, then tell
 * ustackd the bytes are taken (or written). */
static void
spans_copy(struct ust_ipc_channel *ch, const struct msghdr *m, size_t off, bool to_iov)
{
	uint8_t *base = ust_chan_base();
	for (int k = 0; k < 2; k++) {
		if (ch->resp.span_len[k] == 0)
			continue;
		iov_copy(m, off, base + ch->resp.span_off[k], ch->resp.span_len[k], to_iov);
		off += ch->resp.span_len[k];
	}
	ust_chan_spans_done(ch, to_iov);
}

static ssize_t
send_failed(const struct ust_psock *ps, ssize_t rc, int flags)
{
	rc = dead_errno((int)rc, -EPIPE);
	/* Linux raises SIGPIPE for a stream only (sk_stream_error). */
	if (rc == -EPIPE && ps->type == SOCK_STREAM && !(flags & MSG_NOSIGNAL))
		raise(SIGPIPE);
	return rc;
}

/* A buffer the kernel could not read or write: only NULL is caught here
 * (an unmapped pointer faults in the copy, where Linux says EFAULT). */
static bool
iov_bad(const struct msghdr *m)
{
	if (m->msg_iovlen > 0 && m->msg_iov == NULL)
		return true;
	for (size_t i = 0; i < m->msg_iovlen; i++)
		if (m->msg_iov[i].iov_base == NULL && m->msg_iov[i].iov_len > 0)
			return true;
	return false;
}

/* An AF_INET6 datagram's IPPROTO_IPV6 control message, checked as
 * ip6_datagram_send_ctl does: IPV6_PKTINFO's source, IPV6_HOPLIMIT and
 * IPV6_TCLASS (-1: the socket's) act on this datagram alone. 0 or -EINVAL. */
static int
tx_cmsg6(const struct cmsghdr *c, struct ust_ipc_req *q)
{
	int v;
	switch (c->cmsg_type) {
	case IPV6_PKTINFO: {
		struct in6_pktinfo pi;
		if (c->cmsg_len < CMSG_LEN(sizeof(pi)))
			return -EINVAL;
		memcpy(&pi, CMSG_DATA(c), sizeof(pi));
		/* An interface that does not exist: lo (1) and the port do. */
		if (pi.ipi6_ifindex != 0 && pi.ipi6_ifindex != 1 && ust_if_name(pi.ipi6_ifindex) == NULL)
			return -ENODEV;
		memcpy(q->tx_src6, &pi.ipi6_addr, 16);
		q->tx_has = (uint8_t)(!IN6_IS_ADDR_UNSPECIFIED(&pi.ipi6_addr) ? q->tx_has | UST_IPC_TX_SRC6
									: q->tx_has & ~UST_IPC_TX_SRC6);
		return 0;
	}
	case IPV6_HOPLIMIT:
	case IPV6_TCLASS:
		if (c->cmsg_len != CMSG_LEN(sizeof(int)))
			return -EINVAL;
		memcpy(&v, CMSG_DATA(c), sizeof(v));
		if (v < -1 || v > 255)
			return -EINVAL;
		if (v == -1)
			return 0;
		if (c->cmsg_type == IPV6_HOPLIMIT) {
			q->tx_ttl = (uint8_t)v;
			q->tx_has |= UST_IPC_TX_TTL;
		} else {
			q->tx_tos = (uint8_t)v;
			q->tx_has |= UST_IPC_TX_TOS;
		}
		return 0;
	default:
		return -EINVAL;
	}
}

/* A datagram's sendmsg() control messages, checked as ip_cmsg_send does:
 * IP_PKTINFO's source, IP_TTL and IP_TOS act on this datagram alone, and
 * on an AF_INET6 socket the IPv6 ones (tx_cmsg6); other levels pass. 0 or
 * -EINVAL. */
static int
tx_cmsgs(const struct msghdr *m, int family, struct ust_ipc_req *q)
{
	if (m->msg_control == NULL || m->msg_controllen < sizeof(struct cmsghdr))
		return 0;
	struct msghdr mm = *m;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mm); c != NULL; c = CMSG_NXTHDR(&mm, c)) {
		size_t left = m->msg_controllen - (size_t)((uint8_t *)c - (uint8_t *)m->msg_control);
		if (c->cmsg_len < sizeof(*c) || c->cmsg_len > left)
			return -EINVAL;
		if (c->cmsg_level == IPPROTO_IPV6 && family == AF_INET6) {
			int rc = tx_cmsg6(c, q);
			if (rc < 0)
				return rc;
			continue;
		}
		if (c->cmsg_level != IPPROTO_IP)
			continue;
		int v;
		switch (c->cmsg_type) {
		case IP_PKTINFO: {
			struct in_pktinfo pi;
			if (c->cmsg_len != CMSG_LEN(sizeof(pi)))
				return -EINVAL;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			q->tx_src4 = ntohl(pi.ipi_spec_dst.s_addr);
			q->tx_has = (uint8_t)(q->tx_src4 != 0 ? q->tx_has | UST_IPC_TX_SRC
							     : q->tx_has & ~UST_IPC_TX_SRC);
			break;
		}
		case IP_TTL:
			if (c->cmsg_len != CMSG_LEN(sizeof(int)))
				return -EINVAL;
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			if (v < 1 || v > 255)
				return -EINVAL;
			q->tx_ttl = (uint8_t)v;
			q->tx_has |= UST_IPC_TX_TTL;
			break;
		case IP_TOS:
			if (c->cmsg_len == CMSG_LEN(sizeof(int)))
				memcpy(&v, CMSG_DATA(c), sizeof(v));
			else if (c->cmsg_len == CMSG_LEN(1))
				v = *(const uint8_t *)CMSG_DATA(c);
			else
				return -EINVAL;
			if (v < 0 || v > 255)
				return -EINVAL;
			q->tx_tos = (uint8_t)v;
			q->tx_has |= UST_IPC_TX_TOS;
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

/* send() whose blocking is the socket's (or MSG_DONTWAIT's), unless
 * `block_all`: then it waits until all of it is queued. */
static ssize_t
send_msg(int fd, struct ust_psock *ps, const struct msghdr *m, int flags, bool block_all)
{
	struct ust_ipc_addr to;
	bool has_to = false;
	if (m->msg_name != NULL && m->msg_namelen != 0 && ps->type != SOCK_STREAM) {
		int rc = addr_in(ps, m->msg_name, m->msg_namelen, &to, true);
		if (rc == 0 && to.family != ps->family && to.family != AF_UNSPEC)
			rc = -EAFNOSUPPORT;
		if (rc < 0) {
			int err;
			struct ust_ipc_channel *ch = begin(ps, UST_IPC_OP_SEND, &err);
			if (ch == NULL)
				return err;
			ch->req.c = rc;
			return ust_chan_call(ch);
		}
		has_to = to.family == ps->family;
		if (has_to && kernel_keeps(ps, &to)) {
			int rc = to_kernel(fd, ps);
			if (rc < 0)
				return rc;
			ssize_t n = ust_libc.sendmsg(fd, m, flags);
			return n < 0 ? -errno : n;
		}
	}
	ps->used = true;
	if (iov_bad(m))
		return -EFAULT;
	size_t total = iov_total(m);
	if (ps->type != SOCK_STREAM && total > UST_IPC_DATA_BYTES) {
		/* Longer than any datagram: refused, but the stack is told,
		 * for the local error IPv6 queues about it. */
		int err;
		struct ust_ipc_channel *ch = begin(ps, UST_IPC_OP_SEND, &err);
		if (ch == NULL)
			return err;
		ch->req.c = -EMSGSIZE;
		ch->req.has_addr = has_to;
		if (has_to)
			ch->req.addr = to;
		return ust_chan_call(ch);
	}
	struct ust_ipc_req ctl = {0};
	if (ps->type != SOCK_STREAM) {
		int rc = tx_cmsgs(m, ps->family, &ctl);
		if (rc < 0)
			return rc;
	}
	bool nonblock = !block_all && (nonblocking(ps) || (flags & MSG_DONTWAIT));
	int64_t dl = deadline(timeo(ps, false));
	size_t sent = 0;
	for (;;) {
		bool stream = ps->type == SOCK_STREAM && !atomic_load_explicit(&ps->copy, memory_order_relaxed);
		int err;
		struct ust_ipc_channel *ch = begin(ps, stream ? UST_IPC_OP_SEND_ROOM : UST_IPC_OP_SEND, &err);
		if (ch == NULL)
			return sent > 0 ? (ssize_t)sent : send_failed(ps, err, flags);
		/* A stream's bytes go straight into its send buffer (one copy);
		 * a datagram crosses in the channel. */
		size_t cap = stream ? UINT32_MAX : UST_IPC_DATA_BYTES;
		size_t n = total - sent < cap ? total - sent : cap;
		if (!stream)
			iov_copy(m, sent, ch->data, n, false);
		ch->req.a = flags | MSG_NOSIGNAL;
		ch->req.b = sent > 0;
		ch->req.len = (uint32_t)n;
		ch->req.has_addr = has_to;
		ch->req.tx_has = ctl.tx_has;
		ch->req.tx_src4 = ctl.tx_src4;
		ch->req.tx_ttl = ctl.tx_ttl;
		ch->req.tx_tos = ctl.tx_tos;
		memcpy(ch->req.tx_src6, ctl.tx_src6, 16);
		if (has_to)
			ch->req.addr = to;
		ssize_t rc = ust_chan_call(ch);
		if (rc == UST_IPC_COPY) {
			/* The buffers are in another process's region (ipc.h). */
			atomic_store(&ps->copy, true);
			continue;
		}
		if (rc > 0 && (ch->resp.flags & UST_IPC_F_SPANS))
			spans_copy(ch, m, sent, false);
		if (rc >= 0) {
			sent += (size_t)rc;
			if (ps->type != SOCK_STREAM || sent == total)
				return (ssize_t)sent;
			if ((size_t)rc == n)
				continue;
			if (nonblock)
				return (ssize_t)sent;
		} else if (rc != -EAGAIN || nonblock) {
			if (sent > 0)
				return (ssize_t)sent;
			return rc == -EAGAIN ? rc : send_failed(ps, rc, flags);
		}
		/* A blocking send waits until all of it is queued (man 7 tcp). */
		int w = ust_chan_wait(ps, UST_IPC_EV_OUT, dl);
		if (w < 0)
			return sent > 0 ? (ssize_t)sent : send_failed(ps, w, flags);
	}
}

ssize_t
ust_p_send(int fd, struct ust_psock *ps, const struct msghdr *m, int flags)
{
	return send_msg(fd, ps, m, flags, false);
}

/* One control message into m's buffer, as Linux's put_cmsg: what does not
 * fit is cut and flagged MSG_CTRUNC; `used` counts the bytes taken. */
static void
put_cmsg(struct msghdr *m, size_t *used, int level, int type, const void *data, size_t len)
{
	size_t room = m->msg_controllen - *used;
	uint8_t *at = (uint8_t *)m->msg_control + *used;
	if (m->msg_control == NULL || room < sizeof(struct cmsghdr)) {
		m->msg_flags |= MSG_CTRUNC;
		return;
	}
	size_t cmlen = CMSG_LEN(len);
	if (room < cmlen) {
		m->msg_flags |= MSG_CTRUNC;
		cmlen = room;
	}
	struct cmsghdr h = {.cmsg_len = cmlen, .cmsg_level = level, .cmsg_type = type};
	memcpy(at, &h, sizeof(h));
	memcpy(at + CMSG_LEN(0), data, cmlen - CMSG_LEN(0));
	*used += CMSG_SPACE(len) < room ? CMSG_SPACE(len) : room;
}

/* The control messages a datagram's socket asked for, in Linux's order:
 * the timestamp first (sock_recv_cmsgs), then the IP ones. */
static void
rx_cmsgs(struct msghdr *m, const struct ust_ipc_resp *p)
{
	size_t used = 0;
	if (p->rx_cmsgs & UST_IPC_RX_TIMESTAMP) {
		struct timeval tv = {.tv_sec = p->rx_stamp_ns / 1000000000LL,
				     .tv_usec = (p->rx_stamp_ns % 1000000000LL) / 1000};
		put_cmsg(m, &used, SOL_SOCKET, SO_TIMESTAMP, &tv, sizeof(tv));
	}
	if (p->rx_cmsgs & UST_IPC_RX_TIMESTAMPNS) {
		struct timespec ts = {.tv_sec = p->rx_stamp_ns / 1000000000LL,
				      .tv_nsec = p->rx_stamp_ns % 1000000000LL};
		put_cmsg(m, &used, SOL_SOCKET, SO_TIMESTAMPNS, &ts, sizeof(ts));
	}
	if (p->rx_cmsgs & UST_IPC_RX_PKTINFO) {
		struct in_pktinfo pi = {.ipi_ifindex = (int)p->rx_ifindex,
					.ipi_spec_dst.s_addr = p->rx_cmsgs & UST_IPC_RX_NO_SPEC_DST ? 0 : htonl(p->rx_dst4),
					.ipi_addr.s_addr = htonl(p->rx_dst4)};
		put_cmsg(m, &used, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	}
	if (p->rx_cmsgs & UST_IPC_RX_TTL) {
		int ttl = p->rx_ttl;
		put_cmsg(m, &used, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	}
	if (p->rx_cmsgs & UST_IPC_RX_TOS)
		put_cmsg(m, &used, IPPROTO_IP, IP_TOS, &p->rx_tos, 1);
	/* Then the IPv6 ones (ip6_datagram_recv_specific_ctl); an IPv4
	 * datagram to a dual-stack socket gets IPV6_PKTINFO alone, its
	 * address mapped. */
	bool v4 = IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)p->rx_dst6);
	if (p->rx_cmsgs & UST_IPC_RX_PKTINFO6) {
		struct in6_pktinfo pi = {.ipi6_ifindex = p->rx_ifindex};
		memcpy(&pi.ipi6_addr, p->rx_dst6, 16);
		put_cmsg(m, &used, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	}
	if ((p->rx_cmsgs & UST_IPC_RX_HOPLIMIT) && !v4) {
		int hlim = p->rx_ttl;
		put_cmsg(m, &used, IPPROTO_IPV6, IPV6_HOPLIMIT, &hlim, sizeof(hlim));
	}
	if ((p->rx_cmsgs & UST_IPC_RX_TCLASS) && !v4) {
		int tclass = p->rx_tos;
		put_cmsg(m, &used, IPPROTO_IPV6, IPV6_TCLASS, &tclass, sizeof(tclass));
	}
	m->msg_controllen = used;
}

/* recvmsg(MSG_ERRQUEUE), as ip_recv_error and ipv6_recv_error: the quoted
 * bytes as data, the failed datagram's destination as the name, struct
 * sock_extended_err and the offender's address as IP_RECVERR's (or
 * IPV6_RECVERR's) control message. An empty queue is EAGAIN at once. */
static ssize_t
recv_err(struct ust_psock *ps, struct msghdr *m)
{
	if (iov_bad(m))
		return -EFAULT;
	int err;
	struct ust_ipc_channel *ch = begin(ps, UST_IPC_OP_RECV, &err);
	if (ch == NULL)
		return dead_errno(err, -EAGAIN);
	size_t total = iov_total(m);
	ch->req.a = MSG_ERRQUEUE;
	ch->req.b = 0;
	ch->req.len = total < UINT32_MAX ? (uint32_t)total : UINT32_MAX;
	ssize_t rc = ust_chan_call(ch);
	if (rc < 0)
		return rc;
	struct ust_ipc_err h;
	memcpy(&h, ch->data, sizeof(h));
	iov_copy(m, 0, ch->data + sizeof(h), (size_t)rc, true);
	m->msg_flags = (int)ch->resp.flags;
	if (m->msg_name != NULL)
		addr_out(&ch->resp.addr, m->msg_name, &m->msg_namelen);
	struct {
		struct sock_extended_err ee;
		union {
			struct sockaddr_in v4;
			struct sockaddr_in6 v6;
		} off;
	} e;
	memset(&e, 0, sizeof(e));
	e.ee.ee_errno = h.err;
	e.ee.ee_origin = h.origin;
	e.ee.ee_type = h.type;
	e.ee.ee_code = h.code;
	e.ee.ee_info = h.info;
	/* A local error names no offender. */
	bool named = h.origin != SO_EE_ORIGIN_LOCAL;
	size_t used = 0;
	int hlim = h.hlim;
	if (ch->resp.rx_cmsgs & UST_IPC_RX_TTL)
		put_cmsg(m, &used, IPPROTO_IP, IP_TTL, &hlim, sizeof(hlim));
	if (ch->resp.rx_cmsgs & UST_IPC_RX_HOPLIMIT)
		put_cmsg(m, &used, IPPROTO_IPV6, IPV6_HOPLIMIT, &hlim, sizeof(hlim));
	if (ch->resp.rx_cmsgs & UST_IPC_RX_2292HOPLIMIT)
		put_cmsg(m, &used, IPPROTO_IPV6, IPV6_2292HOPLIMIT, &hlim, sizeof(hlim));
	if (ps->family == AF_INET6) {
		if (named) {
			e.off.v6.sin6_family = AF_INET6;
			memcpy(&e.off.v6.sin6_addr, h.offender, 16);
			e.off.v6.sin6_scope_id = h.offender_scope;
		}
		put_cmsg(m, &used, IPPROTO_IPV6, IPV6_RECVERR, &e, sizeof(e.ee) + sizeof(e.off.v6));
	} else {
		if (named) {
			e.off.v4.sin_family = AF_INET;
			memcpy(&e.off.v4.sin_addr, h.offender + 12, 4);
		}
		put_cmsg(m, &used, IPPROTO_IP, IP_RECVERR, &e, sizeof(e.ee) + sizeof(e.off.v4));
	}
	m->msg_controllen = used;
	return rc;
}

/* A blocking receive waits; 0: look again, else what recv returns. */
static ssize_t
recv_wait(struct ust_psock *ps, int64_t dl, size_t got, int *wait_err)
{
	int w = ust_chan_wait(ps, UST_IPC_EV_IN | UST_IPC_EV_RDHUP, dl);
	if (w < 0 && got > 0)
		return (ssize_t)got;
	/* A timeout or a signal still returns what came, fewer bytes than
	 * SO_RCVLOWAT asked for: one more look, without waiting. */
	if (w == -EAGAIN || w == -EINTR)
		*wait_err = w;
	else if (w < 0)
		return dead_errno(w, -ECONNRESET);
	return 0;
}

ssize_t
ust_p_recv(struct ust_psock *ps, struct msghdr *m, int flags)
{
	bool nonblock = nonblocking(ps) || (flags & MSG_DONTWAIT);
	if (flags & MSG_ERRQUEUE)
		return recv_err(ps, m);
	/* No urgent data is kept apart: there is never any to read (tcp_recv_urg). */
	if (flags & MSG_OOB)
		return ps->type == SOCK_STREAM ? -EINVAL : -EOPNOTSUPP;
	if (iov_bad(m))
		return nonblock && !(ust_chan_events(ps) & UST_IPC_EV_IN) ? -EAGAIN : -EFAULT;
	size_t total = iov_total(m);
	bool waitall = (flags & MSG_WAITALL) && !(flags & MSG_PEEK) && ps->type == SOCK_STREAM;
	int64_t dl = deadline(timeo(ps, true));
	size_t got = 0;
	int wait_err = 0; /* the wait ended so: the last look returns this if empty */
	int64_t inq = -1; /* TCP_INQ's hint after the last read, -1 = not asked */
	m->msg_flags = 0;
	for (;;) {
		/* A datagram socket that has delivered before, with nothing to
		 * read or report now, waits before it asks: the call would only
		 * answer EAGAIN, a round trip to ustackd (each half of a
		 * ping-pong). Not a stream: readable there means SO_RCVLOWAT's
		 * bytes, and a smaller buffer takes fewer. */
		if (ps->delivered && ps->type != SOCK_STREAM && !nonblock && wait_err == 0 &&
		    !(ust_chan_events(ps) & WAKES_RECV)) {
			ssize_t w = recv_wait(ps, dl, got, &wait_err);
			if (w != 0)
				return w;
			continue;
		}
		int err;
		struct ust_ipc_channel *ch = begin(ps, UST_IPC_OP_RECV, &err);
		if (ch == NULL)
			return got > 0 ? (ssize_t)got : dead_errno(err, -ECONNRESET);
		/* A stream's bytes are read in place (one copy), unless peeked. */
		bool in_place = ps->type == SOCK_STREAM && !(flags & MSG_PEEK);
		size_t cap = in_place ? UINT32_MAX : UST_IPC_DATA_BYTES;
		size_t room = total - got < cap ? total - got : cap;
		ch->req.a = flags & (MSG_PEEK | MSG_TRUNC);
		ch->req.b = in_place && !nonblock && !waitall && wait_err == 0;
		ch->req.len = (uint32_t)room;
		ssize_t rc = ust_chan_call(ch);
		if (rc > 0)
			ps->delivered = true;
		if (rc >= 0) {
			size_t n = ch->resp.len < room ? ch->resp.len : room;
			if (rc > 0 && (ch->resp.flags & UST_IPC_F_SPANS)) {
				spans_copy(ch, m, got, true);
				/* ustackd moved the buffers here (ipc.h). */
				atomic_store_explicit(&ps->copy, false, memory_order_relaxed);
			} else
				iov_copy(m, got, ch->data, n, true);
			if (ps->type != SOCK_STREAM) {
				m->msg_flags = (int)ch->resp.flags;
				if (m->msg_name != NULL)
					addr_out(&ch->resp.addr, m->msg_name, &m->msg_namelen);
				rx_cmsgs(m, &ch->resp);
				return rc;
			}
			got += n;
			if (ch->resp.rx_cmsgs & UST_IPC_RX_INQ)
				inq = ch->resp.rx_inq;
			if (rc == 0 || !waitall || got == total)
				break;
			continue;
		}
		if (rc == -EAGAIN && wait_err != 0)
			return wait_err;
		if (rc != -EAGAIN || nonblock)
			return got > 0 ? (ssize_t)got : dead_errno((int)rc, -ECONNRESET);
		ssize_t w = recv_wait(ps, dl, got, &wait_err);
		if (w != 0)
			return w;
	}
	if (m->msg_name != NULL)
		m->msg_namelen = 0;
	size_t used = 0;
	if (inq >= 0) {
		int v = (int)inq;
		put_cmsg(m, &used, SOL_TCP, TCP_CM_INQ, &v, sizeof(v));
	}
	m->msg_controllen = used;
	return (ssize_t)got;
}

ssize_t
ust_p_read(struct ust_psock *ps, struct msghdr *m)
{
	/* read() and readv() of nothing return at once (sock_read_iter);
	 * recv() and recvmsg() wait for a byte like any other. */
	if (!iov_bad(m) && iov_total(m) == 0)
		return 0;
	return ust_p_recv(ps, m, 0);
}

ssize_t
ust_p_writev(int fd, struct ust_psock *ps, const struct msghdr *m)
{
	/* writev() of nothing returns at once (vfs_writev); write() of
	 * nothing reaches the protocol, which may refuse it. */
	if (!iov_bad(m) && iov_total(m) == 0)
		return 0;
	return ust_p_send(fd, ps, m, 0);
}

int
ust_p_shutdown(struct ust_psock *ps, int how)
{
	int err;
	struct ust_ipc_channel *ch = begin(ps, UST_IPC_OP_SHUTDOWN, &err);
	if (ch == NULL)
		return dead_errno(err, -ENOTCONN);
	ch->req.a = how;
	return (int)ust_chan_call(ch);
}

int
ust_p_name(struct ust_psock *ps, struct sockaddr *a, socklen_t *len, bool peer)
{
	if (len == NULL)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	int err;
	struct ust_ipc_channel *ch = begin(ps, peer ? UST_IPC_OP_GETPEER : UST_IPC_OP_GETNAME, &err);
	if (ch == NULL)
		return dead_errno(err, -ENOTCONN);
	int rc = (int)ust_chan_call(ch);
	if (rc < 0)
		return rc;
	if (a == NULL && *len > 0)
		return -EFAULT;
	addr_out(&ch->resp.addr, a, len);
	return 0;
}

/* The socket's timeout is the socket's in every process holding it. */
static int
timeo_set(struct ust_psock *ps, enum ust_ipc_fset what, const void *v, socklen_t len)
{
	struct timeval tv;
	if (len < sizeof(tv))
		return -EINVAL;
	memcpy(&tv, v, sizeof(tv));
	if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EDOM;
	return fset(ps, what,
		    tv.tv_sec < 0 ? 0 : (int64_t)tv.tv_sec * 1000000000LL + (int64_t)tv.tv_usec * 1000);
}

static int
timeo_get(int64_t ns, void *v, socklen_t *len)
{
	struct timeval tv = {.tv_sec = ns / 1000000000LL, .tv_usec = (ns % 1000000000LL) / 1000};
	size_t n = *len < sizeof(tv) ? *len : sizeof(tv);
	memcpy(v, &tv, n);
	*len = (socklen_t)n;
	return 0;
}

int
ust_p_setsockopt(struct ust_psock *ps, int level, int name, const void *v, socklen_t len)
{
	if ((int)len < 0)
		return -EINVAL;
	if (v == NULL && len > 0)
		return -EFAULT;
	if (level == SOL_SOCKET && name == SO_RCVTIMEO)
		return timeo_set(ps, UST_IPC_FSET_RCVTIMEO, v, len);
	if (level == SOL_SOCKET && name == SO_SNDTIMEO)
		return timeo_set(ps, UST_IPC_FSET_SNDTIMEO, v, len);
	if (len > UST_IPC_DATA_BYTES)
		return -EINVAL;
	int err;
	struct ust_ipc_channel *ch = begin(ps, UST_IPC_OP_SETOPT, &err);
	if (ch == NULL)
		return dead_errno(err, -ENOTCONN);
	ch->req.a = level;
	ch->req.b = name;
	ch->req.len = len;
	if (len > 0)
		memcpy(ch->data, v, len);
	int rc = (int)ust_chan_call(ch);
	if (rc == 0)
		remember_opt(ps, level, name, v, len);
	return rc;
}

int
ust_p_getsockopt(struct ust_psock *ps, int level, int name, void *v, socklen_t *len)
{
	if (len == NULL)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	if (v == NULL && *len > 0)
		return -EFAULT;
	if (level == SOL_SOCKET && name == SO_RCVTIMEO)
		return timeo_get(timeo(ps, true), v, len);
	if (level == SOL_SOCKET && name == SO_SNDTIMEO)
		return timeo_get(timeo(ps, false), v, len);
	int err;
	struct ust_ipc_channel *ch = begin(ps, UST_IPC_OP_GETOPT, &err);
	if (ch == NULL)
		return dead_errno(err, -ENOTCONN);
	ch->req.a = level;
	ch->req.b = name;
	ch->req.len = *len < UST_IPC_DATA_BYTES ? *len : UST_IPC_DATA_BYTES;
	int rc = (int)ust_chan_call(ch);
	if (rc < 0)
		return rc;
	size_t n = ch->resp.len < *len ? ch->resp.len : *len;
	memcpy(v, ch->data, n);
	*len = (socklen_t)n;
	return 0;
}

int
ust_p_queued(struct ust_psock *ps, bool outq, int *out)
{
	int err;
	struct ust_ipc_channel *ch = begin(ps, outq ? UST_IPC_OP_OUTQ : UST_IPC_OP_NREAD, &err);
	if (ch == NULL)
		return dead_errno(err, -ENOTCONN);
	int64_t rc = ust_chan_call(ch);
	if (rc < 0)
		return (int)rc;
	*out = rc > INT32_MAX ? INT32_MAX : (int)rc;
	return 0;
}

int
ust_p_ioctl_kernel(struct ust_psock *ps, unsigned long req, void *arg)
{
	/* A fresh socket each time: interface ioctls are rare, and a socket
	 * kept open could be closed under us by a program that closes every
	 * fd it did not open itself. */
	int k = ust_libc.socket(ps->family, (ps->type == SOCK_RAW ? SOCK_DGRAM : ps->type) | SOCK_CLOEXEC, 0);
	if (k < 0)
		return -errno;
	int rc = ust_libc.ioctl(k, req, arg);
	int e = errno;
	ust_libc.close(k);
	return rc < 0 ? -e : rc;
}

#define SPLICE_CHUNK 65536 /* bytes per read-then-send step of sendfile/splice */

ssize_t
ust_p_sendfile(int out_fd, struct ust_psock *ps, int in_fd, off_t *offset, size_t count)
{
	/* The file is read at explicit positions, so bytes that the socket
	 * did not take are simply not counted: the offset moves by what was
	 * sent (man 2 sendfile). */
	off_t pos = offset != NULL ? *offset : lseek(in_fd, 0, SEEK_CUR);
	if (pos < 0)
		return -EINVAL; /* a negative offset, or a pipe without one (do_sendfile) */
	uint8_t *buf = malloc(SPLICE_CHUNK);
	if (buf == NULL)
		return -ENOMEM;
	size_t done = 0;
	ssize_t rc = 0;
	while (done < count) {
		size_t want = count - done < SPLICE_CHUNK ? count - done : SPLICE_CHUNK;
		ssize_t n = pread(in_fd, buf, want, pos + (off_t)done);
		if (n <= 0) {
			rc = n < 0 ? -errno : 0;
			break;
		}
		struct iovec iov = {.iov_base = buf, .iov_len = (size_t)n};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t w = send_msg(out_fd, ps, &m, 0, false);
		if (w < 0) {
			rc = w;
			break;
		}
		done += (size_t)w;
		if (w < n)
			break;
	}
	free(buf);
	if (done == 0 && rc < 0)
		return rc;
	if (offset != NULL)
		*offset = pos + (off_t)done;
	else
		lseek(in_fd, pos + (off_t)done, SEEK_SET);
	return (ssize_t)done;
}

ssize_t
ust_p_splice_in(int out_fd, struct ust_psock *ps, int pipe_fd, size_t len, unsigned flags)
{
	/* What is taken from the pipe cannot be put back: wait for room before
	 * reading it (EAGAIN if a non-blocking socket has none), then queue
	 * all of it. */
	bool nonblock = nonblocking(ps);
	if (nonblock && !(ust_chan_events(ps) & (UST_IPC_EV_OUT | UST_IPC_EV_ERR | UST_IPC_EV_HUP)))
		return -EAGAIN;
	if (flags & SPLICE_F_NONBLOCK) {
		struct pollfd p = {.fd = pipe_fd, .events = POLLIN};
		if (ust_libc.poll(&p, 1, 0) == 0)
			return -EAGAIN;
	}
	size_t want = len < SPLICE_CHUNK ? len : SPLICE_CHUNK;
	uint8_t *buf = malloc(want > 0 ? want : 1);
	if (buf == NULL)
		return -ENOMEM;
	ssize_t n = ust_libc.read(pipe_fd, buf, want);
	ssize_t rc = n < 0 ? -errno : n;
	if (n > 0) {
		struct iovec iov = {.iov_base = buf, .iov_len = (size_t)n};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
		rc = send_msg(out_fd, ps, &m, 0, true);
	}
	free(buf);
	return rc;
}

ssize_t
ust_p_splice_out(struct ust_psock *ps, int pipe_fd, size_t len)
{
	/* Peek, write what the pipe takes, then consume exactly that. */
	size_t want = len < SPLICE_CHUNK ? len : SPLICE_CHUNK;
	uint8_t *buf = malloc(want > 0 ? want : 1);
	if (buf == NULL)
		return -ENOMEM;
	struct iovec iov = {.iov_base = buf, .iov_len = want};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	/* Only the socket's own O_NONBLOCK makes its side non-blocking
	 * (tcp_splice_read), as for the pipe's side. */
	ssize_t rc = ust_p_recv(ps, &m, MSG_PEEK);
	if (rc > 0) {
		ssize_t w = ust_libc.write(pipe_fd, buf, (size_t)rc);
		if (w < 0) {
			rc = -errno;
		} else {
			iov.iov_len = (size_t)w;
			rc = w > 0 ? ust_p_recv(ps, &m, MSG_DONTWAIT) : 0;
		}
	}
	free(buf);
	return rc;
}

int
ust_p_recvmmsg(struct ust_psock *ps, struct mmsghdr *v, unsigned n, int flags,
	       const struct timespec *timeout)
{
	int64_t end = timeout != NULL ? ust_now_ns() + timeout->tv_sec * 1000000000LL + timeout->tv_nsec
				      : -1;
	unsigned got = 0;
	while (got < n) {
		/* MSG_WAITFORONE: only the first message is waited for. */
		int f = flags & ~MSG_WAITFORONE;
		if (got > 0 && (flags & MSG_WAITFORONE))
			f |= MSG_DONTWAIT;
		ssize_t rc = ust_p_recv(ps, &v[got].msg_hdr, f);
		if (rc < 0) {
			if (got == 0)
				return (int)rc;
			break;
		}
		v[got].msg_len = (unsigned)rc;
		got++;
		/* The timeout is looked at after each message, as Linux does. */
		if (end >= 0 && ust_now_ns() >= end)
			break;
	}
	return (int)got;
}

int
ust_p_sendmmsg(int fd, struct ust_psock *ps, struct mmsghdr *v, unsigned n, int flags)
{
	unsigned sent = 0;
	for (; sent < n; sent++) {
		ssize_t rc = ust_p_send(fd, ps, &v[sent].msg_hdr, flags);
		if (rc < 0)
			return sent == 0 ? (int)rc : (int)sent;
		v[sent].msg_len = (unsigned)rc;
	}
	return (int)sent;
}
