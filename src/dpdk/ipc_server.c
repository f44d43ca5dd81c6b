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
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "stack/ip.h"
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

struct usock;
struct region;

/* Bytes of a socket a channel's program thread is copying. */
struct lend {
	uint8_t kind;      /* enum lend_kind */
	uint32_t seq;      /* the answer it belongs to (done_seq says when done) */
	struct usock *u;   /* the socket */
	uint32_t n;        /* how many bytes */
	int flags;         /* send()'s flags, for the commit (MSG_MORE) */
};

/* Where a socket is known in one region: its handle there. */
struct attachment {
	struct region *reg; /* the region */
	uint32_t h;         /* the handle in it */
	uint32_t *hi;       /* epoll slots from UST_IPC_EPOLL_BITS on watching it (HI_EXCL) */
	uint32_t nhi;       /* entries in hi */
};
#define HI_EXCL 0x80000000u /* attachment.hi: the slot watches with EPOLLEXCLUSIVE */

/* One ustack socket, and the kernel socket pair that stands for it. */
struct usock {
	struct ust_sock *s;        /* the stack's socket */
	int end;                   /* ustackd's end of the pair: HUP = last close */
	dev_t dev;                 /* the application end's device ... */
	ino_t ino;                 /* ... and inode: what a probe compares */
	pid_t pid;                 /* last process that made or attached it (ustack stat) */
	bool nonblock;             /* O_NONBLOCK, mirrored into every sockstate */
	int64_t rcvtimeo_ns;       /* SO_RCVTIMEO, mirrored */
	int64_t sndtimeo_ns;       /* SO_SNDTIMEO, mirrored */
	struct region *busy_reg;   /* region whose channel holds a lend of it, or NULL */
	unsigned busy_ch;          /* that channel */
	struct attachment *at;     /* the regions that know it */
	unsigned nat;              /* entries in at */
	struct usock *hnext;       /* inode hash chain */
};

/* A shared-memory region: one process and the children it forked. */
struct region {
	struct ust_ipc_server *srv;     /* back pointer */
	struct ust_ipc_region *r;       /* the shared region */
	int memfd;                      /* its memfd: a JOIN proves itself with it */
	dev_t dev;                      /* the memfd's device ... */
	ino_t ino;                      /* ... and inode */
	unsigned procs;                 /* control connections in it */
	unsigned nsocks;                /* sockets attached to it */
	int chan_evfd[UST_IPC_CHANNELS]; /* each channel's wake-up eventfd, -1 = none */
	struct client *chan_owner[UST_IPC_CHANNELS]; /* process that attached the eventfd */
	int *ep_bell;                   /* each epoll slot's doorbell end, -1 = free */
	uint32_t ep_n;                  /* slots below this have been handed out */
	uint32_t chan_n;                /* channels below this may be in use */
	struct usock **socks;           /* by handle */
	struct lend lend[UST_IPC_CHANNELS]; /* by channel */
	struct arena arena;             /* socket buffers in the region */
	struct ust_sock_mem mem;        /* the stack's way to the arena */
	uint32_t *free_h;               /* stack of handles given back */
	uint32_t free_n;                /* entries in free_h */
	uint32_t free_cap;              /* room in free_h */
	uint32_t next_h;                /* handles below this have been handed out */
	uint64_t sock_end;              /* our mapping is open up to here (socket table) */
	uint64_t arena_end;             /* ... and up to here in the arena */
	struct region *next;            /* list of regions */
};

#define UST_GROUPS_MAX 64u /* groups of a caller looked at for ping sockets */

/* One process: its control connection. */
struct client {
	struct ust_ipc_server *srv;     /* back pointer */
	struct region *reg;             /* the region it uses */
	int fd;                         /* control connection */
	pid_t pid;                      /* SO_PEERCRED */
	struct ust_sock_cred cred;      /* SO_PEERCRED's euid and the capabilities the stack checks */
	gid_t gids[UST_GROUPS_MAX];     /* its effective and supplementary groups, for ping sockets */
	unsigned ngids;                 /* how many */
	struct client *next;            /* list of clients */
};

#define USOCK_HASH 4096u

struct ust_ipc_server {
	struct ust_stack *st;          /* the stack we serve */
	struct client *clients;        /* live processes */
	struct region *regions;        /* live regions */
	int ep;                        /* epoll over the sockets' ends, for HUP */
	int cpu;                       /* the poll loop's CPU, -1 = not pinned */
	struct ust_ipc_if iface;       /* the port, told to every program */
	struct usock *hash[USOCK_HASH]; /* sockets by application-end inode */
};

/* ustackd's own calls (the built-in services) have every right. */
static const struct ust_sock_cred ustackd_cred = {.net_admin = true, .net_raw = true};

/* Each ustack socket holds one of ustackd's fds (its end of the pair), so
 * ustackd may need as many as all its programs together: take what the
 * system allows (fs.nr_open), or at least the hard limit. */
static void
raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rlim_t hard = rl.rlim_max;
	unsigned long nr_open = 0;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	if (f != NULL) {
		if (fscanf(f, "%lu", &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (nr_open > hard) {
		rl.rlim_cur = rl.rlim_max = nr_open;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max = hard;
	setrlimit(RLIMIT_NOFILE, &rl);
}

struct ust_ipc_server *
ust_ipc_server_create(struct ust_stack *st)
{
	struct ust_ipc_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return NULL;
	raise_nofile();
	srv->st = st;
	srv->cpu = -1;
	srv->ep = epoll_create1(EPOLL_CLOEXEC);
	if (srv->ep < 0) {
		free(srv);
		return NULL;
	}
	return srv;
}

void
ust_ipc_server_set_cpu(struct ust_ipc_server *srv, int cpu)
{
	srv->cpu = cpu;
	for (struct region *g = srv->regions; g != NULL; g = g->next)
		atomic_store(&g->r->daemon_cpu, cpu);
}

void
ust_ipc_server_set_if(struct ust_ipc_server *srv, const struct ust_ipc_if *iface)
{
	srv->iface = *iface;
}

pid_t
ust_ipc_owner_pid(const void *owner)
{
	return owner == NULL ? 0 : ((const struct usock *)owner)->pid;
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

/* The caller's supplementary groups from /proc (after its effective one,
 * already in c->gids[0]), as the kernel sees them. */
static void
read_groups(struct client *c)
{
	char path[64], line[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)c->pid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		char *p = line + 7, *end;
		for (unsigned long g; c->ngids < UST_GROUPS_MAX; p = end) {
			g = strtoul(p, &end, 10);
			if (end == p)
				break;
			c->gids[c->ngids++] = (gid_t)g;
		}
	}
	fclose(f);
}

/* Linux's ping_init_sock: ICMP datagram sockets for a caller with its
 * effective or any supplementary group in net.ipv4.ping_group_range, as
 * the stack's tunable says when the socket is made. */
static bool
ping_group_allows(const struct client *c)
{
	const int32_t *r = c->srv->st->sysctl.ping_group_range;
	for (unsigned i = 0; i < c->ngids; i++)
		if ((int64_t)c->gids[i] >= r[0] && (int64_t)c->gids[i] <= r[1])
			return true;
	return false;
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
open_up(struct region *g, uint64_t *end, uint64_t to, _Atomic uint64_t *published)
{
	if (to <= *end)
		return 0;
	if (mprotect((uint8_t *)g->r + *end, to - *end, PROT_READ | PROT_WRITE) < 0)
		return -ENOMEM;
	*end = to;
	atomic_store_explicit(published, to, memory_order_release);
	return 0;
}

static void *
arena_alloc(void *arg, size_t bytes)
{
	struct region *g = arg;
	struct arena *a = &g->arena;
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
		if (open_up(g, &g->arena_end, UST_IPC_ARENA_OFF + a->top + size, &g->r->arena_end) < 0)
			return NULL;
		off = a->top;
		a->top += size;
	}
	return (uint8_t *)g->r + UST_IPC_ARENA_OFF + off;
}

static void
arena_free(void *arg, void *p, size_t bytes)
{
	struct region *g = arg;
	struct arena *a = &g->arena;
	unsigned k = arena_class(bytes);
	if (a->nfree[k] == a->cap[k]) {
		uint32_t ncap = a->cap[k] == 0 ? 64 : a->cap[k] * 2;
		uint32_t *nf = realloc(a->free[k], ncap * sizeof(*nf));
		if (nf == NULL)
			return; /* the block is lost to this region, nothing worse */
		a->free[k] = nf;
		a->cap[k] = ncap;
	}
	uint64_t off = (uint64_t)((uint8_t *)p - ((uint8_t *)g->r + UST_IPC_ARENA_OFF));
	a->free[k][a->nfree[k]++] = (uint32_t)(off >> ARENA_PAGE_SHIFT);
}

static void
wake_waiters(struct region *g, struct ust_ipc_sockstate *ss)
{
	for (unsigned w = 0; w < 2; w++) {
		if (atomic_load(&ss->waiters[w]) == 0)
			continue;
		uint64_t m = atomic_exchange(&ss->waiters[w], 0);
		while (m != 0) {
			unsigned bit = (unsigned)__builtin_ctzll(m);
			m &= m - 1;
			int efd = g->chan_evfd[w * 64 + bit];
			uint64_t one = 1;
			if (efd >= 0 && write(efd, &one, sizeof(one)) < 0)
				continue; /* a full counter wakes the thread just as well */
		}
	}
}

/* A doorbell is a socket pair's end: a byte makes the other end readable. */
static void
ring_bell(int bell)
{
	if (bell >= 0 && send(bell, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return; /* a full bell rings just as well */
}

/* Doorbells to ring once the news is in every slot. A wake-up is a system
 * call, and the thread it wakes may run before ustackd goes on: a program
 * that learnt of a socket's readiness (from poll, or from another set) and
 * then asked its epoll set found no news there yet. */
struct rings {
	int bell[32];   /* doorbell ends */
	unsigned n;     /* how many */
};

static void
ring_all(struct rings *r)
{
	for (unsigned i = 0; i < r->n; i++)
		ring_bell(r->bell[i]);
	r->n = 0;
}

/* Give one watching slot the news of socket h; *excl_woken: an
 * EPOLLEXCLUSIVE watcher was woken, the others are not told. */
static void
tell_slot(struct region *g, uint32_t slot, uint32_t h, bool excl, bool *excl_woken, struct rings *r)
{
	if (excl && *excl_woken)
		return;
	struct ust_ipc_epoll *ep = &g->r->ep[slot];
	atomic_fetch_or(&ep->ready[h / 64], 1ull << (h % 64));
	atomic_fetch_or(&ep->summary[h / 4096], 1ull << ((h / 64) % 64));
	atomic_fetch_or(&ep->top[h / 262144], 1ull << ((h / 4096) % 64));
	/* seq_cst pairs with the waiter's arm-then-check. */
	if (atomic_load(&ep->armed) != 0 && atomic_exchange(&ep->armed, 0) != 0) {
		if (r->n == sizeof(r->bell) / sizeof(r->bell[0]))
			ring_all(r);
		r->bell[r->n++] = g->ep_bell[slot];
		*excl_woken |= excl;
	}
}

/* Tell the epoll slots watching the socket at `a` that it has news
 * (ipc.h); the doorbells to ring go to r. */
static void
tell_epolls(const struct attachment *a, struct rings *r)
{
	struct region *g = a->reg;
	uint32_t h = a->h;
	bool excl_woken = false;
	struct ust_ipc_sockstate *ss = &g->r->sock[h];
	for (unsigned w = 0; w < UST_IPC_EPOLL_BITS / 64; w++) {
		uint64_t m = atomic_load_explicit(&ss->watch[w], memory_order_relaxed);
		if (m == 0)
			continue;
		uint64_t x = atomic_load_explicit(&ss->excl[w], memory_order_relaxed);
		while (m != 0) {
			unsigned bit = (unsigned)__builtin_ctzll(m);
			m &= m - 1;
			tell_slot(g, w * 64 + bit, h, (x >> bit) & 1, &excl_woken, r);
		}
	}
	for (uint32_t i = 0; i < a->nhi; i++)
		tell_slot(g, a->hi[i] & ~HI_EXCL, h, (a->hi[i] & HI_EXCL) != 0, &excl_woken, r);
}

static void
on_sock_event(struct ust_sock *s, uint32_t events, void *arg)
{
	(void)s;
	struct usock *u = arg;
	struct rings r = {.n = 0};
	/* Every region and epoll slot shows the change before anyone is woken. */
	for (unsigned k = 0; k < u->nat; k++) {
		/* seq_cst pairs with the waiter's bit-then-check (ipc.h). */
		atomic_store(&u->at[k].reg->r->sock[u->at[k].h].events, events);
		tell_epolls(&u->at[k], &r);
	}
	for (unsigned k = 0; k < u->nat; k++)
		wake_waiters(u->at[k].reg, &u->at[k].reg->r->sock[u->at[k].h]);
	ring_all(&r);
}

/* The region whose arena holds the socket's byte buffers, NULL = malloc. */
static struct region *
home_of(const struct usock *u)
{
	return u->s->mem != NULL ? u->s->mem->arg : NULL;
}

static unsigned
hash_of(ino_t ino)
{
	return (unsigned)(ino * 2654435761u) % USOCK_HASH;
}

static struct usock *
usock_find(struct ust_ipc_server *srv, dev_t dev, ino_t ino)
{
	for (struct usock *u = srv->hash[hash_of(ino)]; u != NULL; u = u->hnext)
		if (u->ino == ino && u->dev == dev)
			return u;
	return NULL;
}

static void
mirror(struct usock *u, struct ust_ipc_sockstate *ss)
{
	atomic_store(&ss->nonblock, u->nonblock);
	atomic_store(&ss->rcvtimeo_ns, u->rcvtimeo_ns);
	atomic_store(&ss->sndtimeo_ns, u->sndtimeo_ns);
}

/* A handle whose state is open on both sides, or -EMFILE/-ENOMEM. */
static int64_t
take_handle(struct region *g)
{
	if (g->free_n > 0)
		return g->free_h[--g->free_n];
	if (g->next_h == UST_IPC_SOCKS)
		return -EMFILE;
	/* Room to give it back later, taken now so detach cannot fail. */
	if (g->free_cap == g->next_h) {
		uint32_t ncap = g->free_cap == 0 ? 1024 : g->free_cap * 2;
		uint32_t *nf = realloc(g->free_h, ncap * sizeof(*nf));
		if (nf == NULL)
			return -ENOMEM;
		g->free_h = nf;
		g->free_cap = ncap;
	}
	uint64_t need = UST_IPC_SOCK_END(g->next_h);
	if (need > g->sock_end) {
		uint64_t to = UST_IPC_PAGE_UP(need > g->sock_end + UST_IPC_GROW_BYTES ? need : g->sock_end + UST_IPC_GROW_BYTES);
		if (to > UST_IPC_ARENA_OFF)
			to = UST_IPC_ARENA_OFF;
		if (open_up(g, &g->sock_end, to, &g->r->sock_end) < 0)
			return -ENOMEM;
	}
	return g->next_h++;
}

/* The socket's handle in region g, attaching it there first if needed. */
static int
attach(struct region *g, struct usock *u, uint32_t *handle)
{
	for (unsigned k = 0; k < u->nat; k++)
		if (u->at[k].reg == g) {
			*handle = u->at[k].h;
			return 0;
		}
	struct attachment *na = realloc(u->at, (u->nat + 1) * sizeof(*na));
	if (na == NULL)
		return -ENOMEM;
	u->at = na;
	int64_t taken = take_handle(g);
	if (taken < 0)
		return (int)taken;
	uint32_t h = (uint32_t)taken;
	u->at[u->nat++] = (struct attachment){.reg = g, .h = h};
	g->socks[h] = u;
	g->nsocks++;
	struct ust_ipc_sockstate *ss = &g->r->sock[h];
	atomic_store(&ss->waiters[0], 0);
	atomic_store(&ss->waiters[1], 0);
	for (unsigned w = 0; w < UST_IPC_EPOLL_BITS / 64; w++) {
		atomic_store(&ss->watch[w], 0);
		atomic_store(&ss->excl[w], 0);
	}
	mirror(u, ss);
	atomic_store(&ss->events, ust_sock_events(u->s));
	*handle = h;
	return 0;
}

/* Forget the socket in region g (reap_regions frees it once unused). */
static void
detach(struct usock *u, unsigned k)
{
	struct attachment a = u->at[k];
	struct region *g = a.reg;
	uint32_t h = a.h;
	u->at[k] = u->at[--u->nat];
	g->socks[h] = NULL;
	g->free_h[g->free_n++] = h;
	g->nsocks--;
	/* Anyone still waiting on it learns it is gone. */
	atomic_store(&g->r->sock[h].events, UST_EV_HUP | UST_EV_ERR);
	struct rings r = {.n = 0};
	tell_epolls(&a, &r);
	wake_waiters(g, &g->r->sock[h]);
	ring_all(&r);
	free(a.hi);
}

/* Socket u's place in region g (it has one). */
static struct attachment *
attachment_in(struct usock *u, struct region *g)
{
	for (unsigned k = 0; k < u->nat; k++)
		if (u->at[k].reg == g)
			return &u->at[k];
	return NULL;
}

/* Slot `slot` of a's list no longer watches. */
static void
hi_remove(struct attachment *a, uint32_t slot)
{
	for (uint32_t i = 0; i < a->nhi; i++)
		if ((a->hi[i] & ~HI_EXCL) == slot) {
			a->hi[i] = a->hi[--a->nhi];
			return;
		}
}

/* UST_IPC_OP_WATCH: a slot's watch on socket u, kept here for the slots
 * the sockstate bitmaps do not cover. */
static int64_t
op_watch(struct region *g, struct usock *u, const struct ust_ipc_req *q)
{
	uint32_t slot = (uint32_t)q->a;
	struct attachment *a = attachment_in(u, g);
	if (slot < UST_IPC_EPOLL_BITS || slot >= g->ep_n || g->ep_bell[slot] < 0 || q->b < 0 ||
	    q->b > 2)
		return -EINVAL;
	hi_remove(a, slot);
	if (q->b == 0)
		return 0;
	uint32_t *n = realloc(a->hi, (a->nhi + 1) * sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	a->hi = n;
	a->hi[a->nhi++] = slot | (q->b == 2 ? HI_EXCL : 0);
	return 0;
}

static void
unlend(struct usock *u)
{
	if (u->busy_reg == NULL)
		return;
	u->busy_reg->lend[u->busy_ch].kind = LEND_NONE;
	u->busy_reg = NULL;
}

/* The last fd of the socket is closed everywhere: close it as Linux's
 * close would (FIN, or RST with unread data or SO_LINGER 0); `abort`
 * resets it instead (ustackd stops). */
static bool settle(struct region *g, unsigned i, bool force);

static void
usock_close(struct usock *u, bool abort)
{
	/* Bytes the program finished copying in before its last close() go
	 * out before the FIN; a copy left unfinished is dropped. */
	if (u->busy_reg != NULL && !settle(u->busy_reg, u->busy_ch, false))
		unlend(u);
	struct ust_sock *s = u->s;
	/* The socket may outlive every region (FIN_WAIT, TIME_WAIT, lingering
	 * bytes): its buffers move to malloc first. */
	if (ust_sock_rehome(s, NULL) < 0 || abort) {
		int lg[2] = {1, 0};
		ust_sock_setopt(s, UST_SOL_SOCKET, UST_SO_LINGER, lg, sizeof(lg));
	}
	ust_sock_set_callback(s, NULL, NULL);
	s->user = NULL;
	while (u->nat > 0)
		detach(u, u->nat - 1);
	ust_sock_close(s);
	close(u->end);
	free(u->at);
	free(u);
}

static void
usock_unhash(struct ust_ipc_server *srv, struct usock *u)
{
	struct usock **pp = &srv->hash[hash_of(u->ino)];
	while (*pp != u)
		pp = &(*pp)->hnext;
	*pp = u->hnext;
}

static void
usock_release(struct ust_ipc_server *srv, struct usock *u, bool abort)
{
	usock_unhash(srv, u);
	usock_close(u, abort);
}

/* Send the application end of a new socket's pair to client c, which
 * waits for it right after the answer to OPEN or ACCEPT. */
static int
send_fd(struct client *c, uint32_t handle, int fd)
{
	struct ust_ipc_chanmsg m = {.msg = UST_IPC_MSG_FD, .channel = handle};
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	union ust_ipc_fdbuf fb;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ust_ipc_fd_attach(&mh, &fb, fd);
	return sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) == sizeof(m) ? 0 : -EMFILE;
}

/* Give stack socket s its kernel identity and a handle in region g, and
 * hand the application end to client c. On failure s is closed. */
static int
usock_new(struct region *g, struct client *c, struct ust_sock *s, bool nonblock, uint32_t *handle)
{
	struct ust_ipc_server *srv = g->srv;
	struct usock *u = calloc(1, sizeof(*u));
	int sv[2] = {-1, -1};
	struct stat sb;
	int rc = -ENFILE;
	if (u == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0, sv) < 0 ||
	    fstat(sv[1], &sb) < 0)
		goto fail;
	struct epoll_event ev = {.events = EPOLLRDHUP, .data.ptr = u};
	if (epoll_ctl(srv->ep, EPOLL_CTL_ADD, sv[0], &ev) < 0)
		goto fail;
	u->s = s;
	u->end = sv[0];
	u->dev = sb.st_dev;
	u->ino = sb.st_ino;
	u->pid = c->pid;
	u->nonblock = nonblock;
	s->user = u;
	ust_sock_set_callback(s, on_sock_event, u);
	rc = attach(g, u, handle);
	if (rc == 0)
		rc = send_fd(c, *handle, sv[1]);
	close(sv[1]);
	unsigned b = hash_of(u->ino);
	u->hnext = srv->hash[b];
	srv->hash[b] = u;
	if (rc < 0)
		usock_release(srv, u, true);
	return rc;
fail:
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	free(u);
	ust_sock_close(s);
	return rc;
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
op_open(struct region *g, struct client *c, const struct ust_ipc_req *q, struct ust_ipc_resp *p)
{
	if (c == NULL)
		return -EPIPE;
	if (q->a != UST_AF_INET && q->a != UST_AF_INET6)
		return -EAFNOSUPPORT;
	if (q->c < 0 || q->c >= IPPROTO_MAX)
		return -EINVAL; /* inet_create checks the number before the type */
	int type = q->b & ~SOCK_NONBLOCK;
	int icmp = q->a == UST_AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	/* inet_create: the right to a raw socket is checked on the caller's
	 * capabilities, a ping socket's on its group. */
	if (type == UST_SOCK_RAW && !c->cred.net_raw)
		return -EPERM;
	if (type == UST_SOCK_DGRAM && q->c == icmp && !ping_group_allows(c))
		return -EACCES;
	struct ust_sock *s;
	int rc = ust_sock_open_proto(g->srv->st, q->a, type, q->c, &s);
	if (rc < 0)
		return rc;
	if (type == UST_SOCK_STREAM)
		ust_sock_set_mem(s, &g->mem);
	return usock_new(g, c, s, (q->b & SOCK_NONBLOCK) != 0, &p->handle);
}

static int64_t
op_accept(struct region *g, struct client *c, struct ust_sock *s, const struct ust_ipc_req *q,
	  struct ust_ipc_resp *p)
{
	if (c == NULL)
		return -EPIPE;
	struct ust_sock *ns;
	struct ust_sockaddr peer;
	int rc = ust_sock_accept(s, &ns, &peer);
	if (rc < 0)
		return rc;
	/* The connection came with the listener's memory, which may be
	 * another region's (a listener inherited across exec). */
	if (ns->mem != &g->mem)
		ust_sock_rehome(ns, &g->mem);
	rc = usock_new(g, c, ns, (q->a & SOCK_NONBLOCK) != 0, &p->handle);
	if (rc == 0)
		from_sockaddr(&peer, &p->addr);
	return rc;
}

/* A blocking connect to this host completes within the call, as on Linux
 * (SYN, SYN-ACK and ACK cross the loopback queue before it returns): its
 * outcome is the answer, not EINPROGRESS that the caller would wait on
 * and then ask about again. */
static int64_t
op_connect(struct ust_stack *st, struct usock *u, const struct ust_sockaddr *a)
{
	int rc = ust_sock_connect(u->s, a);
	if (rc != -EINPROGRESS || u->nonblock)
		return rc;
	ust_stack_loopback(st);
	int again = ust_sock_connect(u->s, a);
	return again == -EALREADY ? rc : again;
}

/* The last copy of a socket may just have been closed: look at its end
 * now rather than at the next sweep, so close() acts at once. */
static void
op_close(struct usock *u, struct ust_ipc_server *srv)
{
	struct pollfd pf = {.fd = u->end, .events = POLLRDHUP};
	if (poll(&pf, 1, 0) == 1 && (pf.revents & (POLLHUP | POLLRDHUP)))
		usock_release(srv, u, false);
}

static int64_t
op_fset(struct usock *u, const struct ust_ipc_req *q, const uint8_t *data)
{
	int64_t v;
	memcpy(&v, data, sizeof(v));
	switch (q->a) {
	case UST_IPC_FSET_NONBLOCK:
		u->nonblock = v != 0;
		break;
	case UST_IPC_FSET_RCVTIMEO:
		u->rcvtimeo_ns = v < 0 ? 0 : v;
		break;
	case UST_IPC_FSET_SNDTIMEO:
		u->sndtimeo_ns = v < 0 ? 0 : v;
		break;
	default:
		return -EINVAL;
	}
	for (unsigned k = 0; k < u->nat; k++)
		mirror(u, &u->at[k].reg->r->sock[u->at[k].h]);
	return 0;
}

/* Whether region g's program may copy the socket's bytes in place: its
 * buffers are in g's arena, or are moved there because no process is left
 * in the region that had them. */
static bool
in_place(struct region *g, struct usock *u)
{
	struct region *home = home_of(u);
	if (home == g)
		return true;
	if ((home != NULL && home->procs > 0) || u->busy_reg != NULL)
		return false;
	return ust_sock_rehome(u->s, &g->mem) == 0;
}

/* Hand out spans of a stream socket's buffer to channel i (see ipc.h). */
static int64_t
lend_spans(struct region *g, unsigned i, uint32_t seq, const struct ust_ipc_req *q,
	   struct usock *u, enum lend_kind kind)
{
	if (u->busy_reg != NULL)
		return UST_IPC_RETRY;
	struct ust_sock_span sp;
	size_t max = q->len;
	struct ust_sock *s = u->s;
	ssize_t n = kind == LEND_RECV ? ust_sock_recv_spans(s, max, &sp) : ust_sock_send_spans(s, max, &sp);
	if (n <= 0)
		return n;
	struct ust_ipc_resp *p = &g->r->chan[i].resp;
	p->flags = UST_IPC_F_SPANS;
	p->len = (uint32_t)n;
	for (int k = 0; k < 2; k++) {
		p->span_off[k] = sp.len[k] != 0 ? (uint64_t)(sp.p[k] - (uint8_t *)g->r) : 0;
		p->span_len[k] = sp.len[k];
	}
	g->lend[i] = (struct lend){.kind = (uint8_t)kind, .seq = seq, .u = u, .n = (uint32_t)n,
				   .flags = (int)q->a};
	u->busy_reg = g;
	u->busy_ch = i;
	return n;
}

/* Take the bytes of channel i's lend once its program is done copying;
 * `force` drops a lend the program abandoned. Returns whether none is left. */
static bool
settle(struct region *g, unsigned i, bool force)
{
	struct lend *l = &g->lend[i];
	if (l->kind == LEND_NONE)
		return true;
	bool done = atomic_load_explicit(&g->r->chan[i].done_seq, memory_order_acquire) == l->seq;
	if (!done && !force)
		return false;
	if (done) {
		if (l->kind == LEND_RECV)
			ust_sock_recv_consume(l->u->s, l->n);
		else
			ust_sock_send_commit(l->u->s, l->n, l->flags);
	}
	l->u->busy_reg = NULL;
	l->kind = LEND_NONE;
	return true;
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

/* recvmsg(MSG_ERRQUEUE): the oldest queued error, never waiting. */
static int64_t
op_recv_err(struct ust_ipc_channel *ch, const struct ust_ipc_req *q, struct ust_sock *s)
{
	struct ust_ipc_resp *p = &ch->resp;
	struct ust_ipc_err h = {0};
	size_t room = q->len < UST_IPC_DATA_BYTES - sizeof(h) ? q->len : UST_IPC_DATA_BYTES - sizeof(h);
	struct ust_sock_ee ee;
	bool trunc;
	ssize_t n = ust_sock_recv_err(s, ch->data + sizeof(h), room, &ee, &trunc);
	if (n < 0)
		return n;
	h.err = ee.err;
	h.origin = ee.origin;
	h.type = ee.type;
	h.code = ee.code;
	h.hlim = ee.hlim;
	h.info = ee.info;
	/* An ICMP error's own TTL or hop limit, if asked for (ip_cmsg_recv,
	 * ip6_datagram_recv_specific_ctl); a local error has none. */
	if (ee.origin == UST_EE_ORIGIN_ICMP)
		p->rx_cmsgs = s->rx_cmsgs & UST_SOCK_RX_TTL ? UST_IPC_RX_TTL : 0;
	else if (ee.origin == UST_EE_ORIGIN_ICMP6)
		p->rx_cmsgs = (s->rx_cmsgs & UST_SOCK_RX_HOPLIMIT ? UST_IPC_RX_HOPLIMIT : 0) |
			      (s->recvhoplimit2292 ? UST_IPC_RX_2292HOPLIMIT : 0);
	memcpy(h.offender, ee.offender, 16);
	h.offender_scope = ust_ip_needs_scope(ee.offender) ? s->stack->cfg.ifindex : 0;
	memcpy(ch->data, &h, sizeof(h));
	p->len = (uint32_t)(sizeof(h) + (size_t)n);
	struct ust_sockaddr dst = {.family = s->family, .port = ee.port};
	ust_sockaddr_set_ip(&dst, ee.dst);
	ust_sockaddr_scope(s->stack, &dst);
	from_sockaddr(&dst, &p->addr);
	p->flags = MSG_ERRQUEUE | (trunc ? MSG_TRUNC : 0);
	return n;
}

static int64_t
op_recv(struct ust_ipc_channel *ch, const struct ust_ipc_req *q, struct ust_sock *s)
{
	struct ust_ipc_resp *p = &ch->resp;
	if (q->a & MSG_ERRQUEUE)
		return op_recv_err(ch, q, s);
	size_t room = q->len < UST_IPC_DATA_BYTES ? q->len : UST_IPC_DATA_BYTES;
	/* For a datagram the next one's size tells whether it gets cut. */
	size_t next = s->type != UST_SOCK_STREAM ? ust_sock_nread(s) : 0;
	struct ust_sock_rxinfo ri;
	if (s->rx_cmsgs != 0 && ust_sock_rxinfo(s, &ri) == 0) {
		p->rx_cmsgs = s->rx_cmsgs | (ri.no_spec_dst ? UST_IPC_RX_NO_SPEC_DST : 0);
		p->rx_dst4 = ri.dst4;
		memcpy(p->rx_dst6, ri.dst6, 16);
		p->rx_ifindex = ri.ifindex;
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

/* TCP_INQ: a stream read that returned n (lent: its bytes are still in the
 * buffer) tells the bytes left after it, or 1 once the peer's FIN or an
 * error ends the stream and none are (Linux tcp_inq_hint). */
static int64_t
inq_hint(struct ust_sock *s, struct ust_ipc_resp *p, int64_t n, bool lent)
{
	if (n < 0 || s->type != UST_SOCK_STREAM || !(s->rx_cmsgs & UST_SOCK_RX_INQ))
		return n;
	size_t left = ust_sock_nread(s) - (lent ? (size_t)n : 0);
	if (left == 0 && (ust_sock_events(s) & (UST_EV_RDHUP | UST_EV_HUP | UST_EV_ERR)))
		left = 1;
	p->rx_cmsgs |= UST_IPC_RX_INQ;
	p->rx_inq = left > INT32_MAX ? INT32_MAX : (uint32_t)left;
	return n;
}

static int64_t
serve_one(struct region *g, unsigned i, uint32_t seq)
{
	struct ust_ipc_channel *ch = &g->r->chan[i];
	struct client *c = g->chan_owner[i];
	/* The region is the application's to scribble on: read the request
	 * once and trust none of it. */
	struct ust_ipc_req q = ch->req;
	struct ust_ipc_resp *p = &ch->resp;
	memset(p, 0, sizeof(*p));
	p->handle = UST_IPC_NO_HANDLE;
	if (q.op == UST_IPC_OP_OPEN)
		return op_open(g, c, &q, p);
	if (q.op == UST_IPC_OP_SETTLE)
		return 0;
	if (q.handle >= UST_IPC_SOCKS || g->socks[q.handle] == NULL)
		return -EBADF;
	struct usock *u = g->socks[q.handle];
	struct ust_sock *s = u->s;
	struct ust_sockaddr a;
	to_sockaddr(&q.addr, &a);
	size_t len = q.len < UST_IPC_DATA_BYTES ? q.len : UST_IPC_DATA_BYTES;
	switch (q.op) {
	case UST_IPC_OP_CLOSE:
		op_close(u, g->srv);
		return 0;
	case UST_IPC_OP_BIND:
		return ust_sock_bind(s, &a);
	case UST_IPC_OP_LISTEN:
		return ust_sock_listen(s, q.a);
	case UST_IPC_OP_ACCEPT:
		return op_accept(g, c, s, &q, p);
	case UST_IPC_OP_CONNECT:
		return op_connect(g->srv->st, u, &a);
	case UST_IPC_OP_SEND:
		if (q.c < 0) {
			/* A datagram socket gets its port even from a failed send (Linux). */
			if (s->type == UST_SOCK_DGRAM && !s->bound) {
				struct ust_sockaddr any = {.family = s->family};
				ust_sock_bind(s, &any);
			}
			if (q.c == -EMSGSIZE)
				return ust_sock_send_oversize(s, q.has_addr ? &a : NULL);
			return q.c;
		}
		if (u->busy_reg != NULL)
			return UST_IPC_RETRY;
		if (q.tx_has != 0) {
			struct ust_sock_txinfo tx = {
				.src4 = (q.tx_has & UST_IPC_TX_SRC) ? q.tx_src4 : 0,
				.ttl = (q.tx_has & UST_IPC_TX_TTL) ? q.tx_ttl : -1,
				.tos = (q.tx_has & UST_IPC_TX_TOS) ? q.tx_tos : -1,
			};
			if (q.tx_has & UST_IPC_TX_SRC6)
				memcpy(tx.src6, q.tx_src6, 16);
			return ust_sock_sendmsg(s, ch->data, len, q.a, q.has_addr ? &a : NULL, &tx);
		}
		return ust_sock_sendto(s, ch->data, len, q.a, q.has_addr ? &a : NULL);
	case UST_IPC_OP_RECV:
		if (u->busy_reg != NULL)
			return UST_IPC_RETRY;
		if (s->type == UST_SOCK_STREAM && !(q.a & UST_MSG_PEEK)) {
			if (q.b != 0 && below_lowat(s, q.len))
				return -EAGAIN;
			if (in_place(g, u))
				return inq_hint(s, p, lend_spans(g, i, seq, &q, u, LEND_RECV), true);
		}
		return inq_hint(s, p, op_recv(ch, &q, s), false);
	case UST_IPC_OP_SEND_ROOM:
		if (s->type != UST_SOCK_STREAM)
			return -EOPNOTSUPP;
		/* A send that queued bytes already returns their count and
		 * leaves the error for the next call (tcp_sendmsg). */
		if (q.b != 0 && s->so_error != 0)
			return -s->so_error;
		if (u->busy_reg != NULL)
			return UST_IPC_RETRY;
		if (!in_place(g, u))
			return UST_IPC_COPY;
		return lend_spans(g, i, seq, &q, u, LEND_SEND);
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
	case UST_IPC_OP_FSET:
		return op_fset(u, &q, ch->data);
	case UST_IPC_OP_WATCH:
		return op_watch(g, u, &q);
	default:
		return -EINVAL;
	}
}

unsigned
ust_ipc_server_poll(struct ust_ipc_server *srv)
{
	unsigned n = 0;
	for (struct region *g = srv->regions; g != NULL; g = g->next) {
		for (uint32_t i = 0; i < g->chan_n; i++) {
			struct ust_ipc_channel *ch = &g->r->chan[i];
			if (g->lend[i].kind != LEND_NONE && settle(g, i, false))
				n++;
			uint32_t seq = atomic_load_explicit(&ch->req_seq, memory_order_acquire);
			if (seq == atomic_load_explicit(&ch->resp_seq, memory_order_relaxed))
				continue;
			/* A program asks again only after finishing its copy. */
			/* Only a channel whose process attached it is served: its
			 * credentials are the caller's. */
			struct client *c = g->chan_owner[i];
			if (c == NULL)
				continue;
			settle(g, i, true);
			ust_stack_set_caller(srv->st, &c->cred);
			ch->resp.ret = serve_one(g, i, seq);
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

/* Whether channel i of region g has a request, or a finished copy, to serve. */
static bool
chan_pending(const struct region *g, uint32_t i)
{
	const struct ust_ipc_channel *ch = &g->r->chan[i];
	if (g->chan_owner[i] == NULL)
		return false;
	if (atomic_load(&ch->req_seq) != atomic_load_explicit(&ch->resp_seq, memory_order_relaxed))
		return true;
	return g->lend[i].kind != LEND_NONE && atomic_load(&ch->done_seq) == g->lend[i].seq;
}

bool
ust_ipc_server_sleep(struct ust_ipc_server *srv)
{
	/* seq_cst: the word first, then the channels, while a program
	 * publishes first and reads the word after (ipc.h). */
	for (struct region *g = srv->regions; g != NULL; g = g->next)
		atomic_store(&g->r->daemon_sleeping, 1);
	for (struct region *g = srv->regions; g != NULL; g = g->next)
		for (uint32_t i = 0; i < g->chan_n; i++)
			if (chan_pending(g, i)) {
				ust_ipc_server_wake(srv);
				return false;
			}
	return true;
}

void
ust_ipc_server_wake(struct ust_ipc_server *srv)
{
	for (struct region *g = srv->regions; g != NULL; g = g->next)
		atomic_store_explicit(&g->r->daemon_sleeping, 0, memory_order_relaxed);
}

unsigned
ust_ipc_server_pollfds(const struct ust_ipc_server *srv, struct pollfd *fds, unsigned max)
{
	unsigned n = 0;
	/* A last close (HUP on a socket's end) wakes the loop too. */
	if (n < max)
		fds[n++] = (struct pollfd){.fd = srv->ep, .events = POLLIN};
	for (const struct client *c = srv->clients; c != NULL && n < max; c = c->next)
		fds[n++] = (struct pollfd){.fd = c->fd, .events = POLLIN};
	return n;
}

static void
region_unlink(struct region *g)
{
	struct region **pp = &g->srv->regions;
	while (*pp != NULL && *pp != g)
		pp = &(*pp)->next;
	if (*pp == g)
		*pp = g->next;
}

static void
region_free(struct region *g)
{
	region_unlink(g);
	for (unsigned i = 0; i < UST_IPC_CHANNELS; i++)
		if (g->chan_evfd[i] >= 0)
			close(g->chan_evfd[i]);
	for (uint32_t i = 0; i < g->ep_n; i++)
		if (g->ep_bell[i] >= 0) {
			/* The application may hold this end too: the watch goes first. */
			epoll_ctl(g->srv->ep, EPOLL_CTL_DEL, g->ep_bell[i], NULL);
			close(g->ep_bell[i]);
		}
	free(g->ep_bell);
	if (g->r != NULL)
		munmap(g->r, UST_IPC_REGION_BYTES);
	if (g->memfd >= 0)
		close(g->memfd);
	for (unsigned k = 0; k < ARENA_CLASSES; k++)
		free(g->arena.free[k]);
	free(g->socks);
	free(g->free_h);
	free(g);
}

static struct region *
region_new(struct ust_ipc_server *srv)
{
	struct region *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	g->srv = srv;
	g->memfd = -1;
	for (unsigned i = 0; i < UST_IPC_CHANNELS; i++)
		g->chan_evfd[i] = -1;
	/* Untouched pages cost nothing: this grows with the handles used. */
	g->socks = calloc(UST_IPC_SOCKS, sizeof(*g->socks));
	struct stat sb;
	if (g->socks == NULL)
		goto fail;
	g->mem = (struct ust_sock_mem){.alloc = arena_alloc, .free = arena_free, .arg = g};
	g->memfd = memfd_create("ustack-region", MFD_CLOEXEC);
	if (g->memfd < 0 || ftruncate(g->memfd, (off_t)UST_IPC_REGION_BYTES) < 0 ||
	    fstat(g->memfd, &sb) < 0)
		goto fail;
	g->dev = sb.st_dev;
	g->ino = sb.st_ino;
	void *m = mmap(NULL, UST_IPC_REGION_BYTES, PROT_NONE, MAP_SHARED, g->memfd, 0);
	if (m == MAP_FAILED)
		goto fail;
	g->r = m;
	if (mprotect(m, UST_IPC_FIXED_BYTES, PROT_READ | PROT_WRITE) < 0)
		goto fail;
	g->sock_end = UST_IPC_FIXED_BYTES;
	g->arena_end = UST_IPC_ARENA_OFF;
	atomic_store(&g->r->sock_end, g->sock_end);
	atomic_store(&g->r->arena_end, g->arena_end);
	atomic_store(&g->r->daemon_cpu, srv->cpu);
	g->r->magic = UST_IPC_MAGIC;
	g->r->version = UST_IPC_VERSION;
	g->r->channels = UST_IPC_CHANNELS;
	g->r->socks = UST_IPC_SOCKS;
	g->r->iface = srv->iface;
	g->next = srv->regions;
	srv->regions = g;
	return g;
fail:
	region_free(g);
	return NULL;
}

/* The region whose memfd is `fd`, if ustackd still has it. */
static struct region *
region_of_memfd(struct ust_ipc_server *srv, int fd)
{
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0)
		return NULL;
	for (struct region *g = srv->regions; g != NULL; g = g->next)
		if (g->dev == sb.st_dev && g->ino == sb.st_ino)
			return g;
	return NULL;
}

/* The epoll instance is gone (its doorbell's other end closed in every
 * process): no socket may tell its slot anything. */
static void
free_epoll(struct region *g, uint32_t slot)
{
	if (slot >= g->ep_n || g->ep_bell[slot] < 0)
		return;
	if (slot < UST_IPC_EPOLL_BITS) {
		uint64_t keep = ~(1ull << (slot % 64));
		uint64_t opened = (g->sock_end - offsetof(struct ust_ipc_region, sock)) /
				  sizeof(struct ust_ipc_sockstate);
		for (uint64_t h = 0; h < opened && h < UST_IPC_SOCKS; h++) {
			atomic_fetch_and(&g->r->sock[h].watch[slot / 64], keep);
			atomic_fetch_and(&g->r->sock[h].excl[slot / 64], keep);
		}
	} else {
		for (uint32_t h = 0; h < g->next_h; h++)
			if (g->socks[h] != NULL)
				hi_remove(attachment_in(g->socks[h], g), slot);
	}
	epoll_ctl(g->srv->ep, EPOLL_CTL_DEL, g->ep_bell[slot], NULL);
	close(g->ep_bell[slot]);
	g->ep_bell[slot] = -1;
}

/* A process is gone: free the channels (and epoll slots) it held. Its sockets stay; each
 * closes when its last fd does (the kernel closed the process's fds). */
static void
client_free(struct client *c)
{
	struct region *g = c->reg;
	if (g != NULL) {
		for (unsigned i = 0; i < UST_IPC_CHANNELS; i++) {
			if (g->chan_owner[i] != c)
				continue;
			settle(g, i, true);
			if (g->chan_evfd[i] >= 0)
				close(g->chan_evfd[i]);
			g->chan_evfd[i] = -1;
			g->chan_owner[i] = NULL;
			atomic_store(&g->r->chan[i].owner, 0);
		}
		g->procs--;
	}
	if (c->fd >= 0)
		close(c->fd);
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
ust_ipc_server_adopt(struct ust_ipc_server *srv, int fd, const void *msg, size_t len, int msgfd)
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
	c->gids[c->ngids++] = cr.gid;
	read_groups(c);
	/* A forked child proves it holds its parent's region by sending its
	 * memfd; one ustackd no longer knows gets a region of its own. */
	struct region *g = h.msg == UST_IPC_MSG_JOIN ? region_of_memfd(srv, msgfd) : NULL;
	bool joined = g != NULL;
	if (g == NULL)
		g = region_new(srv);
	if (g == NULL)
		goto fail;
	c->reg = g;
	g->procs++;
	welcome(fd, 0, joined ? -1 : g->memfd);
	c->next = srv->clients;
	srv->clients = c;
	return;
fail:
	welcome(fd, -ENOMEM, -1);
	free(c);
	close(fd);
}

/* A channel's eventfd, attached by each process the first time one of its
 * threads takes the channel. */
static void
register_channel(struct client *c, const struct ust_ipc_chanmsg *m, int efd)
{
	struct region *g = c->reg;
	struct ust_ipc_chanmsg ack = {.msg = UST_IPC_MSG_ACK, .channel = m->channel};
	if (efd < 0 || m->channel >= UST_IPC_CHANNELS) {
		ack.ret = -EINVAL;
		if (efd >= 0)
			close(efd);
	} else {
		if (g->chan_evfd[m->channel] >= 0)
			close(g->chan_evfd[m->channel]);
		g->chan_evfd[m->channel] = efd;
		g->chan_owner[m->channel] = c;
		if (m->channel + 1 > g->chan_n)
			g->chan_n = m->channel + 1;
	}
	send(c->fd, &ack, sizeof(ack), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* The tag of a doorbell in srv->ep: the region's pointer with bit 0 set
 * (a socket's tag is its usock's pointer, even) and the slot in the top
 * 16 bits, which no user-space pointer uses. */
static uint64_t
bell_tag(struct region *g, uint32_t slot)
{
	return (uint64_t)(uintptr_t)g | 1 | (uint64_t)slot << 48;
}

/* A free slot of region g, made room for if need be; -EMFILE, -ENOMEM. */
static int64_t
take_slot(struct region *g)
{
	for (uint32_t i = 0; i < g->ep_n; i++)
		if (g->ep_bell[i] < 0)
			return i;
	if (g->ep_n == UST_IPC_EPOLLS)
		return -EMFILE;
	uint32_t n = g->ep_n == 0 ? 16 : g->ep_n * 2;
	int *nb = realloc(g->ep_bell, n * sizeof(*nb));
	if (nb == NULL)
		return -ENOMEM;
	for (uint32_t i = g->ep_n; i < n; i++)
		nb[i] = -1;
	uint32_t first = g->ep_n;
	g->ep_bell = nb;
	g->ep_n = n;
	return first;
}

/* An epoll instance's doorbell: give it a free slot of the process's
 * region, answered in `ret`. The slot is the instance's: processes that
 * share the instance share it, and it is freed when the doorbell's other
 * end is closed in all of them (sweep_hangups). */
static void
register_epoll(struct client *c, int efd)
{
	struct region *g = c->reg;
	struct ust_ipc_chanmsg ack = {.msg = UST_IPC_MSG_ACK, .ret = -EINVAL};
	int64_t slot = efd < 0 ? -EINVAL : take_slot(g);
	struct epoll_event ev = {.events = EPOLLRDHUP};
	if (slot >= 0) {
		uint32_t i = (uint32_t)slot;
		ev.data.u64 = bell_tag(g, i);
		/* Left-over news of a former owner only makes the new one look. */
		if (mprotect(&g->r->ep[i], sizeof(g->r->ep[i]), PROT_READ | PROT_WRITE) < 0 ||
		    epoll_ctl(c->srv->ep, EPOLL_CTL_ADD, efd, &ev) < 0) {
			slot = -ENOMEM;
		} else {
			atomic_store(&g->r->ep[i].armed, 0);
			atomic_store(&g->r->ep[i].sleepers, 0);
			g->ep_bell[i] = efd;
		}
	}
	ack.ret = (int32_t)slot;
	if (slot < 0 && efd >= 0)
		close(efd);
	send(c->fd, &ack, sizeof(ack), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Proof of possession: the process sent an fd; if it is the application
 * end of one of ustackd's sockets, the socket joins its region. */
static void
probe(struct client *c, int fd)
{
	struct ust_ipc_chanmsg ack = {.msg = UST_IPC_MSG_ACK, .ret = -ENOTSOCK};
	struct stat sb;
	struct usock *u = fd >= 0 && fstat(fd, &sb) == 0 ? usock_find(c->srv, sb.st_dev, sb.st_ino) : NULL;
	if (u != NULL) {
		/* The open file description carries O_NONBLOCK: trust it. */
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && u->nonblock != ((fl & O_NONBLOCK) != 0)) {
			u->nonblock = (fl & O_NONBLOCK) != 0;
			for (unsigned k = 0; k < u->nat; k++)
				mirror(u, &u->at[k].reg->r->sock[u->at[k].h]);
		}
		uint32_t h;
		ack.ret = attach(c->reg, u, &h);
		if (ack.ret == 0) {
			ack.channel = h;
			ack.pad = (uint32_t)u->s->type | (uint32_t)u->s->family << 8 |
				  (uint32_t)u->s->protocol << 16;
			u->pid = c->pid;
		}
	}
	if (fd >= 0)
		close(fd);
	send(c->fd, &ack, sizeof(ack), MSG_NOSIGNAL | MSG_DONTWAIT);
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
		else if (r == sizeof(m) && m.msg == UST_IPC_MSG_PROBE)
			probe(c, efd);
		else if (r == sizeof(m) && m.msg == UST_IPC_MSG_EPOLL)
			register_epoll(c, efd);
		else if (efd >= 0)
			close(efd);
	}
}

/* Sockets whose every fd is closed, in every process, and epoll
 * instances likewise (their doorbells). */
static unsigned
sweep_hangups(struct ust_ipc_server *srv)
{
	struct epoll_event ev[64];
	unsigned n = 0;
	int k;
	while ((k = epoll_wait(srv->ep, ev, 64, 0)) > 0) {
		for (int i = 0; i < k; i++) {
			uint64_t tag = ev[i].data.u64;
			if (tag & 1)
				free_epoll((struct region *)(uintptr_t)(tag & 0xfffffffffffeull),
					   (uint32_t)(tag >> 48));
			else
				usock_release(srv, ev[i].data.ptr, false);
		}
		n += (unsigned)k;
		if (k < 64)
			break;
	}
	return n;
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
	n += sweep_hangups(srv);
	/* A region lives while a process or a socket uses it: a forked child
	 * may join it until then. */
	struct region *next;
	for (struct region *g = srv->regions; g != NULL; g = next) {
		next = g->next;
		if (g->procs == 0 && g->nsocks == 0)
			region_free(g);
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
	for (unsigned b = 0; b < USOCK_HASH; b++)
		while (srv->hash[b] != NULL)
			usock_release(srv, srv->hash[b], true);
	while (srv->clients != NULL) {
		struct client *c = srv->clients;
		srv->clients = c->next;
		client_free(c);
	}
	while (srv->regions != NULL)
		region_free(srv->regions);
	close(srv->ep);
	ust_stack_flush(srv->st);
	free(srv);
}
