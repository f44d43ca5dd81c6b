/* ustackd's side of the preload channel; see ipc_server.h and src/ipc/ipc.h. */
#include "ipc_server.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "stack/sock.h"
#include "stack/stack.h"

_Static_assert(sizeof(struct ust_ipc_addr) == sizeof(struct ust_sockaddr), "address layouts");

#define CAP_NET_BIND_SERVICE_BIT 10
#define CAP_NET_ADMIN_BIT 12
#define CAP_NET_RAW_BIT 13
#define ARENA_PAGE_SHIFT 12
#define ARENA_CLASSES 20 /* power-of-two blocks of 4 KiB .. 2 GiB */

/* The socket-buffer arena of a region: blocks by size class, a bump top
 * and a free list per class. Its bookkeeping is here, not in the region,
 * so the program cannot corrupt it. */
struct arena {
	uint64_t top;                   /* bytes handed out from the start */
	uint32_t *free[ARENA_CLASSES];  /* free blocks, as page numbers */
	uint32_t nfree[ARENA_CLASSES];  /* entries in free[] */
	uint32_t cap[ARENA_CLASSES];    /* room in free[] */
};

enum lend_kind {
	LEND_NONE,
	LEND_RECV, /* the program copies readable bytes out; consume them when done */
	LEND_SEND, /* the program copies bytes into the send room; queue them when done */
};

/* Bytes of a socket a channel's program thread is copying. */
struct lend {
	uint8_t kind;     /* enum lend_kind */
	uint32_t seq;     /* the answer it belongs to (done_seq says when done) */
	uint32_t handle;  /* the socket */
	uint32_t n;       /* how many bytes */
	int flags;        /* send()'s flags, for the commit (MSG_MORE) */
};

struct client {
	struct ust_ipc_server *srv;     /* back pointer, for the event callback */
	int fd;                         /* control connection */
	pid_t pid;                      /* SO_PEERCRED */
	struct ust_sock_cred cred;      /* SO_PEERCRED's euid and the capabilities the stack checks */
	bool ping_ok;                   /* its gid is in net.ipv4.ping_group_range */
	struct ust_ipc_region *r;       /* the shared region */
	int chan_evfd[UST_IPC_CHANNELS]; /* each channel's wake-up eventfd, -1 = none */
	int ep_bell[UST_IPC_EPOLLS];    /* each epoll slot's doorbell eventfd, -1 = free */
	uint32_t chan_n;                /* channels below this may be in use */
	struct ust_sock **socks;        /* by handle */
	uint8_t *busy;                  /* by handle: channel + 1 holding a lend, 0 = none */
	struct lend lend[UST_IPC_CHANNELS]; /* by channel */
	struct arena arena;             /* socket buffers in the region */
	struct ust_sock_mem mem;        /* the stack's way to the arena */
	uint32_t *free_h;               /* stack of handles given back */
	uint32_t free_n;                /* entries in free_h */
	uint32_t free_cap;              /* room in free_h */
	uint32_t next_h;                /* handles below this have been handed out */
	uint64_t sock_end;              /* our mapping is open up to here (socket table) */
	uint64_t arena_end;             /* ... and up to here in the arena */
	struct client *next;            /* list of clients */
};

struct ust_ipc_server {
	struct ust_stack *st;    /* the stack we serve */
	struct client *clients;  /* live clients */
	int cpu;                 /* the poll loop's CPU, -1 = not pinned */
};

/* ustackd's own calls (the built-in services) have every right. */
static const struct ust_sock_cred ustackd_cred = {.net_admin = true, .net_raw = true};

struct ust_ipc_server *
ust_ipc_server_create(struct ust_stack *st)
{
	struct ust_ipc_server *srv = calloc(1, sizeof(*srv));
	if (srv != NULL) {
		srv->st = st;
		srv->cpu = -1;
	}
	return srv;
}

void
ust_ipc_server_set_cpu(struct ust_ipc_server *srv, int cpu)
{
	srv->cpu = cpu;
	for (struct client *c = srv->clients; c != NULL; c = c->next)
		atomic_store(&c->r->daemon_cpu, cpu);
}

pid_t
ust_ipc_owner_pid(const void *owner)
{
	return owner == NULL ? 0 : ((const struct client *)owner)->pid;
}

/* Effective capabilities from /proc: the kernel's view of what the caller
 * may do, so an application cannot claim rights it lacks. */
static uint64_t
cap_eff(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return 0;
	uint64_t caps = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "CapEff:", 7) == 0)
			caps = strtoull(line + 7, NULL, 16);
	fclose(f);
	return caps;
}

/* Linux's ping_init_sock: ICMP datagram sockets for the groups in
 * net.ipv4.ping_group_range (default "1 0": nobody). */
static bool
ping_group_allows(gid_t gid)
{
	unsigned long lo = 1, hi = 0;
	FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "re");
	if (f != NULL) {
		if (fscanf(f, "%lu %lu", &lo, &hi) != 2)
			lo = 1, hi = 0;
		fclose(f);
	}
	return gid >= lo && gid <= hi;
}

static unsigned
arena_class(size_t bytes)
{
	unsigned k = 0;
	while (((size_t)1 << (k + ARENA_PAGE_SHIFT)) < bytes && k + 1 < ARENA_CLASSES)
		k++;
	return k;
}

/* Open our mapping of the region from `*end` up to `to` (page-aligned)
 * and tell the program it may follow (ipc.h). */
static int
open_up(struct client *c, uint64_t *end, uint64_t to, _Atomic uint64_t *published)
{
	if (to <= *end)
		return 0;
	if (mprotect((uint8_t *)c->r + *end, to - *end, PROT_READ | PROT_WRITE) < 0)
		return -ENOMEM;
	*end = to;
	atomic_store_explicit(published, to, memory_order_release);
	return 0;
}

static void *
arena_alloc(void *arg, size_t bytes)
{
	struct client *c = arg;
	struct arena *a = &c->arena;
	unsigned k = arena_class(bytes);
	uint64_t size = (uint64_t)1 << (k + ARENA_PAGE_SHIFT);
	if (size < bytes)
		return NULL;
	uint64_t off;
	if (a->nfree[k] > 0) {
		off = (uint64_t)a->free[k][--a->nfree[k]] << ARENA_PAGE_SHIFT;
	} else {
		if (a->top + size > UST_IPC_ARENA_BYTES)
			return NULL;
		if (open_up(c, &c->arena_end, UST_IPC_ARENA_OFF + a->top + size, &c->r->arena_end) < 0)
			return NULL;
		off = a->top;
		a->top += size;
	}
	return (uint8_t *)c->r + UST_IPC_ARENA_OFF + off;
}

static void
arena_free(void *arg, void *p, size_t bytes)
{
	struct client *c = arg;
	struct arena *a = &c->arena;
	unsigned k = arena_class(bytes);
	if (a->nfree[k] == a->cap[k]) {
		uint32_t ncap = a->cap[k] == 0 ? 64 : a->cap[k] * 2;
		uint32_t *nf = realloc(a->free[k], ncap * sizeof(*nf));
		if (nf == NULL)
			return; /* the block is lost to this region, nothing worse */
		a->free[k] = nf;
		a->cap[k] = ncap;
	}
	uint64_t off = (uint64_t)((uint8_t *)p - ((uint8_t *)c->r + UST_IPC_ARENA_OFF));
	a->free[k][a->nfree[k]++] = (uint32_t)(off >> ARENA_PAGE_SHIFT);
}

static void
wake_waiters(struct client *c, struct ust_ipc_sockstate *ss)
{
	for (unsigned w = 0; w < 2; w++) {
		if (atomic_load(&ss->waiters[w]) == 0)
			continue;
		uint64_t m = atomic_exchange(&ss->waiters[w], 0);
		while (m != 0) {
			unsigned bit = (unsigned)__builtin_ctzll(m);
			m &= m - 1;
			int efd = c->chan_evfd[w * 64 + bit];
			uint64_t one = 1;
			if (efd >= 0 && write(efd, &one, sizeof(one)) < 0)
				continue; /* a full counter wakes the thread just as well */
		}
	}
}

static void
ring(int efd)
{
	uint64_t one = 1;
	if (efd >= 0 && write(efd, &one, sizeof(one)) < 0)
		return; /* a full counter rings just as well */
}

/* Tell the epoll slots watching socket h that it has news (ipc.h). */
static void
tell_epolls(struct client *c, uint32_t h)
{
	bool excl_woken = false;
	struct ust_ipc_sockstate *ss = &c->r->sock[h];
	for (unsigned w = 0; w < UST_IPC_EPOLLS / 64; w++) {
		uint64_t m = atomic_load_explicit(&ss->watch[w], memory_order_relaxed);
		if (m == 0)
			continue;
		uint64_t x = atomic_load_explicit(&ss->excl[w], memory_order_relaxed);
		while (m != 0) {
			unsigned bit = (unsigned)__builtin_ctzll(m);
			m &= m - 1;
			bool excl = (x >> bit) & 1;
			if (excl && excl_woken)
				continue;
			unsigned slot = w * 64 + bit;
			struct ust_ipc_epoll *ep = &c->r->ep[slot];
			atomic_fetch_or(&ep->ready[h / 64], 1ull << (h % 64));
			atomic_fetch_or(&ep->summary[h / 4096], 1ull << ((h / 64) % 64));
			atomic_fetch_or(&ep->top[h / 262144], 1ull << ((h / 4096) % 64));
			/* seq_cst pairs with the waiter's arm-then-check. */
			if (atomic_load(&ep->armed) != 0 && atomic_exchange(&ep->armed, 0) != 0) {
				ring(c->ep_bell[slot]);
				excl_woken |= excl;
			}
		}
	}
}

static void
on_sock_event(struct ust_sock *s, uint32_t events, void *arg)
{
	struct client *c = s->user;
	uint32_t h = (uint32_t)(uintptr_t)arg;
	struct ust_ipc_sockstate *ss = &c->r->sock[h];
	/* seq_cst pairs with the waiter's bit-then-check (ipc.h). */
	atomic_store(&ss->events, events);
	wake_waiters(c, ss);
	tell_epolls(c, h);
}

/* A handle whose state is open on both sides, or -EMFILE/-ENOMEM. */
static int64_t
take_handle(struct client *c)
{
	if (c->free_n > 0)
		return c->free_h[--c->free_n];
	if (c->next_h == UST_IPC_SOCKS)
		return -EMFILE;
	/* Room to give it back later, taken now so detach cannot fail. */
	if (c->free_cap == c->next_h) {
		uint32_t ncap = c->free_cap == 0 ? 1024 : c->free_cap * 2;
		uint32_t *nf = realloc(c->free_h, ncap * sizeof(*nf));
		if (nf == NULL)
			return -ENOMEM;
		c->free_h = nf;
		c->free_cap = ncap;
	}
	uint64_t need = UST_IPC_SOCK_END(c->next_h);
	if (need > c->sock_end) {
		uint64_t to = UST_IPC_PAGE_UP(need > c->sock_end + UST_IPC_GROW_BYTES ? need : c->sock_end + UST_IPC_GROW_BYTES);
		if (to > UST_IPC_ARENA_OFF)
			to = UST_IPC_ARENA_OFF;
		if (open_up(c, &c->sock_end, to, &c->r->sock_end) < 0)
			return -ENOMEM;
	}
	return c->next_h++;
}

static int
attach(struct client *c, struct ust_sock *s, uint32_t *handle)
{
	int64_t taken = take_handle(c);
	if (taken < 0)
		return (int)taken;
	uint32_t h = (uint32_t)taken;
	c->socks[h] = s;
	s->user = c;
	ust_sock_set_callback(s, on_sock_event, (void *)(uintptr_t)h);
	if (s->type == UST_SOCK_STREAM)
		ust_sock_set_mem(s, &c->mem);
	struct ust_ipc_sockstate *ss = &c->r->sock[h];
	atomic_store(&ss->waiters[0], 0);
	atomic_store(&ss->waiters[1], 0);
	for (unsigned w = 0; w < UST_IPC_EPOLLS / 64; w++) {
		atomic_store(&ss->watch[w], 0);
		atomic_store(&ss->excl[w], 0);
	}
	atomic_store(&ss->events, ust_sock_events(s));
	*handle = h;
	return 0;
}

static void
detach(struct client *c, uint32_t h)
{
	struct ust_sock *s = c->socks[h];
	if (c->busy[h] != 0) {
		c->lend[c->busy[h] - 1].kind = LEND_NONE;
		c->busy[h] = 0;
	}
	/* The socket may outlive its handle (FIN_WAIT, TIME_WAIT, lingering
	 * bytes); its buffers must then outlive the region. */
	if (ust_sock_rehome(s, NULL) < 0) {
		int lg[2] = {1, 0};
		ust_sock_setopt(s, UST_SOL_SOCKET, UST_SO_LINGER, lg, sizeof(lg));
	}
	ust_sock_set_callback(s, NULL, NULL);
	s->user = NULL;
	c->socks[h] = NULL;
	c->free_h[c->free_n++] = h;
	/* Anyone still waiting on it learns it is gone. */
	atomic_store(&c->r->sock[h].events, UST_EV_HUP | UST_EV_ERR);
	wake_waiters(c, &c->r->sock[h]);
	tell_epolls(c, h);
}

static void
to_sockaddr(const struct ust_ipc_addr *in, struct ust_sockaddr *out)
{
	memcpy(out, in, sizeof(*out));
}

static void
from_sockaddr(const struct ust_sockaddr *in, struct ust_ipc_addr *out)
{
	memcpy(out, in, sizeof(*out));
}

static int64_t
op_open(struct client *c, const struct ust_ipc_req *q, struct ust_ipc_resp *p)
{
	if (q->a != UST_AF_INET && q->a != UST_AF_INET6)
		return -EAFNOSUPPORT;
	if (q->c < 0 || q->c >= IPPROTO_MAX)
		return -EINVAL; /* inet_create checks the number before the type */
	int icmp = q->a == UST_AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	/* inet_create: the right to a raw socket is checked on the caller's
	 * capabilities, a ping socket's on its group. */
	if (q->b == UST_SOCK_RAW && !c->cred.net_raw)
		return -EPERM;
	if (q->b == UST_SOCK_DGRAM && q->c == icmp && !c->ping_ok)
		return -EACCES;
	struct ust_sock *s;
	int rc = ust_sock_open_proto(c->srv->st, q->a, q->b, q->c, &s);
	if (rc < 0)
		return rc;
	rc = attach(c, s, &p->handle);
	if (rc < 0)
		ust_sock_close(s);
	return rc;
}

static int64_t
op_accept(struct client *c, struct ust_sock *s, struct ust_ipc_resp *p)
{
	struct ust_sock *ns;
	struct ust_sockaddr peer;
	int rc = ust_sock_accept(s, &ns, &peer);
	if (rc < 0)
		return rc;
	rc = attach(c, ns, &p->handle);
	if (rc < 0) {
		ust_sock_close(ns);
		return rc;
	}
	from_sockaddr(&peer, &p->addr);
	return 0;
}

/* Hand out spans of a stream socket's buffer to channel i (see ipc.h). */
static int64_t
lend_spans(struct client *c, unsigned i, uint32_t seq, const struct ust_ipc_req *q,
	   struct ust_sock *s, enum lend_kind kind)
{
	if (c->busy[q->handle] != 0)
		return UST_IPC_RETRY;
	struct ust_sock_span sp;
	size_t max = q->len;
	ssize_t n = kind == LEND_RECV ? ust_sock_recv_spans(s, max, &sp) : ust_sock_send_spans(s, max, &sp);
	if (n <= 0)
		return n;
	struct ust_ipc_resp *p = &c->r->chan[i].resp;
	p->flags = UST_IPC_F_SPANS;
	p->len = (uint32_t)n;
	for (int k = 0; k < 2; k++) {
		p->span_off[k] = sp.len[k] != 0 ? (uint64_t)(sp.p[k] - (uint8_t *)c->r) : 0;
		p->span_len[k] = sp.len[k];
	}
	c->lend[i] = (struct lend){.kind = (uint8_t)kind, .seq = seq, .handle = q->handle, .n = (uint32_t)n,
				   .flags = (int)q->a};
	c->busy[q->handle] = (uint8_t)(i + 1);
	return n;
}

/* Take the bytes of channel i's lend once its program is done copying;
 * `force` drops a lend the program abandoned. Returns whether none is left. */
static bool
settle(struct client *c, unsigned i, bool force)
{
	struct lend *l = &c->lend[i];
	if (l->kind == LEND_NONE)
		return true;
	bool done = atomic_load_explicit(&c->r->chan[i].done_seq, memory_order_acquire) == l->seq;
	if (!done && !force)
		return false;
	struct ust_sock *s = c->socks[l->handle];
	if (done && s != NULL) {
		if (l->kind == LEND_RECV)
			ust_sock_recv_consume(s, l->n);
		else
			ust_sock_send_commit(s, l->n, l->flags);
	}
	c->busy[l->handle] = 0;
	l->kind = LEND_NONE;
	return true;
}

/* A blocking stream receive returns once SO_RCVLOWAT's bytes are there
 * (or as many as it has room for), or at the end or an error: the target
 * of tcp_recvmsg. */
static bool
below_lowat(struct ust_sock *s, uint32_t room)
{
	size_t target = (uint32_t)s->rcvlowat < room ? (uint32_t)s->rcvlowat : room;
	size_t have = ust_sock_nread(s);
	return have > 0 && have < target &&
	       !(ust_sock_events(s) & (UST_EV_RDHUP | UST_EV_ERR | UST_EV_HUP));
}

/* A time on the stack's clock (CLOCK_MONOTONIC) as CLOCK_REALTIME. */
static int64_t
realtime_of(uint64_t mono_ns)
{
	struct timespec m, r;
	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	int64_t now_mono = (int64_t)m.tv_sec * 1000000000LL + m.tv_nsec;
	int64_t now_real = (int64_t)r.tv_sec * 1000000000LL + r.tv_nsec;
	return now_real - (now_mono - (int64_t)mono_ns);
}

static int64_t
op_recv(struct ust_ipc_channel *ch, const struct ust_ipc_req *q, struct ust_sock *s)
{
	struct ust_ipc_resp *p = &ch->resp;
	size_t room = q->len < UST_IPC_DATA_BYTES ? q->len : UST_IPC_DATA_BYTES;
	/* For a datagram the next one's size tells whether it gets cut. */
	size_t next = s->type != UST_SOCK_STREAM ? ust_sock_nread(s) : 0;
	struct ust_sock_rxinfo ri;
	if (s->rx_cmsgs != 0 && ust_sock_rxinfo(s, &ri) == 0) {
		p->rx_cmsgs = s->rx_cmsgs;
		p->rx_dst4 = ri.dst4;
		/* Loopback is interface 1 on Linux; the port has no kernel
		 * interface, so its datagrams name none. */
		p->rx_ifindex = ri.loopback ? 1 : 0;
		p->rx_ttl = ri.ttl;
		p->rx_tos = ri.tos;
		p->rx_stamp_ns = realtime_of(ri.arrival_ns);
	}
	struct ust_sockaddr from = {0};
	ssize_t n = ust_sock_recvfrom(s, ch->data, room, q->a, &from);
	if (n < 0)
		return n;
	p->len = (uint32_t)n;
	from_sockaddr(&from, &p->addr);
	if (s->type != UST_SOCK_STREAM && next > (size_t)n) {
		p->flags = MSG_TRUNC;
		if (q->a & MSG_TRUNC)
			return (int64_t)next;
	}
	return n;
}

static int64_t
serve_one(struct client *c, unsigned i, uint32_t seq)
{
	struct ust_ipc_channel *ch = &c->r->chan[i];
	/* The region is the application's to scribble on: read the request
	 * once and trust none of it. */
	struct ust_ipc_req q = ch->req;
	struct ust_ipc_resp *p = &ch->resp;
	memset(p, 0, sizeof(*p));
	p->handle = UST_IPC_NO_HANDLE;
	if (q.op == UST_IPC_OP_OPEN)
		return op_open(c, &q, p);
	if (q.op == UST_IPC_OP_SETTLE)
		return 0;
	if (q.handle >= UST_IPC_SOCKS || c->socks[q.handle] == NULL)
		return -EBADF;
	struct ust_sock *s = c->socks[q.handle];
	struct ust_sockaddr a;
	to_sockaddr(&q.addr, &a);
	size_t len = q.len < UST_IPC_DATA_BYTES ? q.len : UST_IPC_DATA_BYTES;
	switch (q.op) {
	case UST_IPC_OP_CLOSE:
		detach(c, q.handle);
		ust_sock_close(s);
		return 0;
	case UST_IPC_OP_BIND:
		return ust_sock_bind(s, &a);
	case UST_IPC_OP_LISTEN:
		return ust_sock_listen(s, q.a);
	case UST_IPC_OP_ACCEPT:
		return op_accept(c, s, p);
	case UST_IPC_OP_CONNECT:
		return ust_sock_connect(s, &a);
	case UST_IPC_OP_SEND:
		if (q.c < 0) {
			/* A datagram socket gets its port even from a failed send (Linux). */
			if (s->type == UST_SOCK_DGRAM && !s->bound) {
				struct ust_sockaddr any = {.family = s->family};
				ust_sock_bind(s, &any);
			}
			return q.c;
		}
		if (q.tx_has != 0) {
			struct ust_sock_txinfo tx = {
				.src4 = (q.tx_has & UST_IPC_TX_SRC) ? q.tx_src4 : 0,
				.ttl = (q.tx_has & UST_IPC_TX_TTL) ? q.tx_ttl : -1,
				.tos = (q.tx_has & UST_IPC_TX_TOS) ? q.tx_tos : -1,
			};
			return ust_sock_sendmsg(s, ch->data, len, q.a, q.has_addr ? &a : NULL, &tx);
		}
		return ust_sock_sendto(s, ch->data, len, q.a, q.has_addr ? &a : NULL);
	case UST_IPC_OP_RECV:
		if (s->type == UST_SOCK_STREAM && !(q.a & UST_MSG_PEEK)) {
			if (q.b != 0 && below_lowat(s, q.len))
				return -EAGAIN;
			return lend_spans(c, i, seq, &q, s, LEND_RECV);
		}
		return op_recv(ch, &q, s);
	case UST_IPC_OP_SEND_ROOM:
		if (s->type != UST_SOCK_STREAM)
			return -EOPNOTSUPP;
		/* A send that queued bytes already returns their count and
		 * leaves the error for the next call (tcp_sendmsg). */
		if (q.b != 0 && s->so_error != 0)
			return -s->so_error;
		return lend_spans(c, i, seq, &q, s, LEND_SEND);
	case UST_IPC_OP_SHUTDOWN:
		return ust_sock_shutdown(s, q.a);
	case UST_IPC_OP_SETOPT:
		return ust_sock_setopt(s, q.a, q.b, ch->data, len);
	case UST_IPC_OP_GETOPT: {
		int rc = ust_sock_getopt(s, q.a, q.b, ch->data, &len);
		p->len = (uint32_t)len;
		return rc;
	}
	case UST_IPC_OP_GETNAME: {
		struct ust_sockaddr out = {0};
		int rc = ust_sock_getname(s, &out);
		from_sockaddr(&out, &p->addr);
		return rc;
	}
	case UST_IPC_OP_GETPEER: {
		struct ust_sockaddr out = {0};
		int rc = ust_sock_getpeer(s, &out);
		from_sockaddr(&out, &p->addr);
		return rc;
	}
	case UST_IPC_OP_NREAD:
		return s->listening ? -EINVAL : (int64_t)ust_sock_nread(s);
	case UST_IPC_OP_OUTQ:
		return s->listening ? -EINVAL : (int64_t)ust_sock_outq(s);
	default:
		return -EINVAL;
	}
}

unsigned
ust_ipc_server_poll(struct ust_ipc_server *srv)
{
	unsigned n = 0;
	for (struct client *c = srv->clients; c != NULL; c = c->next) {
		for (uint32_t i = 0; i < c->chan_n; i++) {
			struct ust_ipc_channel *ch = &c->r->chan[i];
			if (c->lend[i].kind != LEND_NONE && settle(c, i, false))
				n++;
			uint32_t seq = atomic_load_explicit(&ch->req_seq, memory_order_acquire);
			if (seq == atomic_load_explicit(&ch->resp_seq, memory_order_relaxed))
				continue;
			/* A program asks again only after finishing its copy. */
			settle(c, i, true);
			ust_stack_set_caller(srv->st, &c->cred);
			ch->resp.ret = serve_one(c, i, seq);
			ust_stack_set_caller(srv->st, &ustackd_cred);
			/* What the call sent over loopback (a FIN, a datagram)
			 * has arrived by the time it returns, as on Linux. */
			ust_stack_loopback(srv->st);
			/* seq_cst pairs with the application's sleeping-then-wait. */
			atomic_store(&ch->resp_seq, seq);
			if (atomic_load(&ch->sleeping) != 0)
				syscall(SYS_futex, &ch->resp_seq, FUTEX_WAKE, 1, NULL, NULL, 0);
			n++;
		}
	}
	if (n != 0)
		ust_stack_flush(srv->st);
	return n;
}

/* Whether channel i has a request, or a finished copy, to serve. */
static bool
chan_pending(const struct client *c, uint32_t i)
{
	const struct ust_ipc_channel *ch = &c->r->chan[i];
	if (atomic_load(&ch->req_seq) != atomic_load_explicit(&ch->resp_seq, memory_order_relaxed))
		return true;
	return c->lend[i].kind != LEND_NONE && atomic_load(&ch->done_seq) == c->lend[i].seq;
}

bool
ust_ipc_server_sleep(struct ust_ipc_server *srv)
{
	/* seq_cst: the word first, then the channels, while a program
	 * publishes first and reads the word after (ipc.h). */
	for (struct client *c = srv->clients; c != NULL; c = c->next)
		atomic_store(&c->r->daemon_sleeping, 1);
	for (struct client *c = srv->clients; c != NULL; c = c->next)
		for (uint32_t i = 0; i < c->chan_n; i++)
			if (chan_pending(c, i)) {
				ust_ipc_server_wake(srv);
				return false;
			}
	return true;
}

void
ust_ipc_server_wake(struct ust_ipc_server *srv)
{
	for (struct client *c = srv->clients; c != NULL; c = c->next)
		atomic_store_explicit(&c->r->daemon_sleeping, 0, memory_order_relaxed);
}

unsigned
ust_ipc_server_pollfds(const struct ust_ipc_server *srv, struct pollfd *fds, unsigned max)
{
	unsigned n = 0;
	for (const struct client *c = srv->clients; c != NULL && n < max; c = c->next)
		fds[n++] = (struct pollfd){.fd = c->fd, .events = POLLIN};
	return n;
}

static void
client_free(struct client *c)
{
	for (uint32_t h = 0; h < c->next_h; h++) {
		struct ust_sock *s = c->socks[h];
		if (s == NULL)
			continue;
		/* The program is gone: reset its connections rather than let
		 * them linger half-open (SO_LINGER 0 makes close send a RST). */
		if (s->type == UST_SOCK_STREAM) {
			int lg[2] = {1, 0};
			ust_sock_setopt(s, UST_SOL_SOCKET, UST_SO_LINGER, lg, sizeof(lg));
		}
		detach(c, h);
		ust_sock_close(s);
	}
	for (unsigned i = 0; i < UST_IPC_CHANNELS; i++)
		if (c->chan_evfd[i] >= 0)
			close(c->chan_evfd[i]);
	for (unsigned i = 0; i < UST_IPC_EPOLLS; i++)
		if (c->ep_bell[i] >= 0)
			close(c->ep_bell[i]);
	if (c->r != NULL)
		munmap(c->r, UST_IPC_REGION_BYTES);
	if (c->fd >= 0)
		close(c->fd);
	for (unsigned k = 0; k < ARENA_CLASSES; k++)
		free(c->arena.free[k]);
	free(c->socks);
	free(c->busy);
	free(c->free_h);
	free(c);
}

static void
welcome(int fd, int ret, int memfd)
{
	struct ust_ipc_welcome w = {.msg = UST_IPC_MSG_WELCOME, .ret = ret,
				    .region_bytes = UST_IPC_REGION_BYTES};
	struct iovec iov = {.iov_base = &w, .iov_len = sizeof(w)};
	union ust_ipc_fdbuf u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (memfd >= 0)
		ust_ipc_fd_attach(&mh, &u, memfd);
	sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

void
ust_ipc_server_adopt(struct ust_ipc_server *srv, int fd, const void *msg, size_t len)
{
	struct ust_ipc_hello h;
	if (len != sizeof(h)) {
		close(fd);
		return;
	}
	memcpy(&h, msg, sizeof(h));
	if (h.version != UST_IPC_VERSION) {
		welcome(fd, -EPROTO, -1);
		close(fd);
		return;
	}
	struct ucred cr;
	socklen_t crl = sizeof(cr);
	struct client *c = calloc(1, sizeof(*c));
	int memfd = -1;
	if (c == NULL || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) < 0)
		goto fail;
	c->srv = srv;
	c->fd = fd;
	c->pid = cr.pid;
	uint64_t caps = cap_eff(cr.pid);
	c->cred.uid = cr.uid;
	c->cred.net_admin = (caps >> CAP_NET_ADMIN_BIT) & 1;
	c->cred.net_raw = (caps >> CAP_NET_RAW_BIT) & 1;
	c->cred.bind_min_port =
		(caps >> CAP_NET_BIND_SERVICE_BIT) & 1 ? 0 : (uint16_t)srv->st->sysctl.ip_unprivileged_port_start;
	c->ping_ok = ping_group_allows(cr.gid);
	for (unsigned i = 0; i < UST_IPC_CHANNELS; i++)
		c->chan_evfd[i] = -1;
	for (unsigned i = 0; i < UST_IPC_EPOLLS; i++)
		c->ep_bell[i] = -1;
	/* Untouched pages cost nothing: these grow with the handles used. */
	c->socks = calloc(UST_IPC_SOCKS, sizeof(*c->socks));
	c->busy = calloc(UST_IPC_SOCKS, sizeof(*c->busy));
	if (c->socks == NULL || c->busy == NULL)
		goto fail;
	c->mem = (struct ust_sock_mem){.alloc = arena_alloc, .free = arena_free, .arg = c};
	memfd = memfd_create("ustack-region", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, (off_t)UST_IPC_REGION_BYTES) < 0)
		goto fail;
	void *m = mmap(NULL, UST_IPC_REGION_BYTES, PROT_NONE, MAP_SHARED, memfd, 0);
	if (m == MAP_FAILED)
		goto fail;
	c->r = m;
	if (mprotect(m, UST_IPC_FIXED_BYTES, PROT_READ | PROT_WRITE) < 0)
		goto fail;
	c->sock_end = UST_IPC_FIXED_BYTES;
	c->arena_end = UST_IPC_ARENA_OFF;
	atomic_store(&c->r->sock_end, c->sock_end);
	atomic_store(&c->r->arena_end, c->arena_end);
	c->r->magic = UST_IPC_MAGIC;
	c->r->version = UST_IPC_VERSION;
	c->r->channels = UST_IPC_CHANNELS;
	c->r->socks = UST_IPC_SOCKS;
	atomic_store(&c->r->daemon_cpu, srv->cpu);
	welcome(fd, 0, memfd);
	close(memfd);
	c->next = srv->clients;
	srv->clients = c;
	return;
fail:
	welcome(fd, -ENOMEM, -1);
	if (memfd >= 0)
		close(memfd);
	if (c != NULL) {
		c->fd = -1;
		client_free(c);
	}
	close(fd);
}

/* A channel's eventfd, attached once per channel by the application. */
static void
register_channel(struct client *c, const struct ust_ipc_chanmsg *m, int efd)
{
	struct ust_ipc_chanmsg ack = {.msg = UST_IPC_MSG_ACK, .channel = m->channel};
	if (efd < 0 || m->channel >= UST_IPC_CHANNELS) {
		ack.ret = -EINVAL;
		if (efd >= 0)
			close(efd);
	} else {
		if (c->chan_evfd[m->channel] >= 0)
			close(c->chan_evfd[m->channel]);
		c->chan_evfd[m->channel] = efd;
		if (m->channel + 1 > c->chan_n)
			c->chan_n = m->channel + 1;
	}
	send(c->fd, &ack, sizeof(ack), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* An epoll instance's doorbell: give it a free slot, answered in `ret`. */
static void
register_epoll(struct client *c, int efd)
{
	struct ust_ipc_chanmsg ack = {.msg = UST_IPC_MSG_ACK, .ret = efd < 0 ? -EINVAL : -EMFILE};
	for (unsigned i = 0; i < UST_IPC_EPOLLS && efd >= 0; i++) {
		if (c->ep_bell[i] >= 0)
			continue;
		/* Left-over news of a former owner only makes the new one look. */
		if (mprotect(&c->r->ep[i], sizeof(c->r->ep[i]), PROT_READ | PROT_WRITE) < 0) {
			ack.ret = -ENOMEM;
			break;
		}
		atomic_store(&c->r->ep[i].armed, 0);
		c->ep_bell[i] = efd;
		ack.ret = (int32_t)i;
		break;
	}
	if (ack.ret < 0 && efd >= 0)
		close(efd);
	send(c->fd, &ack, sizeof(ack), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* A slot the application no longer uses: no socket may tell it anything. */
static void
free_epoll(struct client *c, uint32_t slot)
{
	if (slot >= UST_IPC_EPOLLS || c->ep_bell[slot] < 0)
		return;
	uint64_t keep = ~(1ull << (slot % 64));
	uint64_t opened = (c->sock_end - offsetof(struct ust_ipc_region, sock)) / sizeof(struct ust_ipc_sockstate);
	for (uint64_t h = 0; h < opened && h < UST_IPC_SOCKS; h++) {
		atomic_fetch_and(&c->r->sock[h].watch[slot / 64], keep);
		atomic_fetch_and(&c->r->sock[h].excl[slot / 64], keep);
	}
	close(c->ep_bell[slot]);
	c->ep_bell[slot] = -1;
}

/* Returns false when the client is gone. */
static bool
read_ctl(struct client *c)
{
	for (;;) {
		struct ust_ipc_chanmsg m;
		struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
		union ust_ipc_fdbuf u;
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ust_ipc_fd_attach(&mh, &u, -1);
		ssize_t r = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		if (r == 0)
			return false;
		int efd = ust_ipc_fd_take(&mh);
		if (r == sizeof(m) && m.msg == UST_IPC_MSG_CHANNEL)
			register_channel(c, &m, efd);
		else if (r == sizeof(m) && m.msg == UST_IPC_MSG_EPOLL)
			register_epoll(c, efd);
		else if (r == sizeof(m) && m.msg == UST_IPC_MSG_EPOLL_FREE)
			free_epoll(c, m.channel);
		else if (efd >= 0)
			close(efd);
	}
}

unsigned
ust_ipc_server_poll_ctl(struct ust_ipc_server *srv)
{
	unsigned n = 0;
	struct client **pp = &srv->clients;
	while (*pp != NULL) {
		struct client *c = *pp;
		if (read_ctl(c)) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		client_free(c);
		n++;
	}
	if (n != 0)
		ust_stack_flush(srv->st);
	return n;
}

void
ust_ipc_server_destroy(struct ust_ipc_server *srv)
{
	if (srv == NULL)
		return;
	while (srv->clients != NULL) {
		struct client *c = srv->clients;
		srv->clients = c->next;
		client_free(c);
	}
	ust_stack_flush(srv->st);
	free(srv);
}
