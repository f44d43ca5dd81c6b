/*
 * epoll sets holding ustack sockets beside kernel fds. An epoll fd is the
 * kernel's epoll instance and its kernel members stay there. Its ustack
 * members (interests) are kept here, keyed like Linux's by (socket, fd).
 * The instance gets a slot in the region (a ready bitmap, see ipc.h) and a
 * doorbell (a socket pair's end) that sits in the kernel set, with its
 * first ustack member or before the process forks, whichever comes first.
 * ustackd marks a watched socket's news in the slot's bitmap and rings the
 * doorbell only when a waiter armed it. So epoll_wait takes the news,
 * checks the interested sockets' events in the region and returns without
 * a system call when one is ready (every FAIR_EVERY such returns it also
 * asks the kernel set, so kernel fds are not starved); with nothing ready
 * it arms, looks once more, and sleeps in the kernel's epoll_wait, which a
 * kernel fd or the doorbell ends.
 *
 * A set watched from outside (a member of another epoll set, or in
 * poll/select) keeps its doorbell readable exactly while a ustack member is
 * ready, and a readiness the kernel reports for it is checked again here,
 * so the outside sees what Linux would show.
 *
 * The set is one open file description, shared by every process that
 * holds its fd, and the kernel set is where it lives: each ustack member
 * is also registered there, under its own fd (the AF_UNIX end that stands
 * for the socket) with the program's data and its events moved to bits
 * that end never raises (quiet_of). The kernel keeps that registration
 * across fork and exec and drops it when the last fd of the file closes,
 * and epoll_ctl's errnos are the kernel's own. This process's interests
 * are a view of it: every epoll_ctl bumps the slot's ctl_seq (the slot is
 * in the region a forked child shares), and a process that finds ctl_seq
 * moved by another reads the set back from /proc/self/fdinfo (refresh).
 * After exec the set is unknown here: its first use reads it the same way
 * and gives it a slot in the new region (adopt). A socket held only by
 * another process is not reported here (this process has no fd for it).
 *
 * The control connection sits in the kernel set too: when ustackd dies its
 * HUP wakes the waiters, and every ustack socket then reports ERR|HUP (and
 * IN when asked) in one wait, as in poll, and nothing after: a program that
 * keeps it sleeps rather than spins.
 *
 * Entry points: ust_ep_create/ctl/wait; ust_ep_closed/dup for close and
 * dup of any fd; ust_ep_prepare/readable for poll.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload.h"

#define EP_FDS (1u << 20) /* epoll fds below this are known (Linux's default nr_open) */
#define BUCKETS 256u      /* interest hash buckets, by socket handle */
#define FAIR_EVERY 16u    /* returns from ustack members alone between looks at the kernel */
#define EP_MAX_EVENTS ((int)(INT_MAX / sizeof(struct epoll_event))) /* Linux's limit */
#define PRIVATE_BITS (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)
#define EXCLUSIVE_OK (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)

/* A ustack member's events in the kernel set (quiet_of). An AF_UNIX end
 * whose peer (ustackd's end) never writes raises only OUT, WRNORM and
 * WRBAND while ustackd lives, so those move to bits no poll returns, and
 * so do the flags; the kernel gets EPOLLONESHOT, so when ustackd dies
 * (every end hangs up) each member is reported once, not forever. */
#define Q_STAY (EPOLLIN | EPOLLPRI | EPOLLRDNORM | EPOLLRDBAND | EPOLLMSG | EPOLLRDHUP)
#define Q_OUT (1u << 16)
#define Q_WRNORM (1u << 17)
#define Q_WRBAND (1u << 18)
#define Q_EXCL (1u << 19)
#define Q_ONESHOT (1u << 20)
#define Q_ET (1u << 21)
#define Q_MEMBER (1u << 22) /* marks a ustack member's registration */
/* Our own registrations (doorbell, control connection) carry this in the
 * top 16 bits of their data, which no user-space pointer has. */
#define TAG_MARK 0x7573ull

struct interest {
	int fd;                 /* the fd epoll_ctl named; with ps the key, as Linux's (file, fd) */
	struct ust_psock *ps;   /* the socket */
	uint32_t handle;        /* its handle in the region */
	uint32_t mask;          /* events asked, ERR, HUP and flags; flags only once ONESHOT fired */
	uint32_t kq;            /* its events in the kernel set, quiet_of(what was asked) */
	epoll_data_t data;      /* the program's */
	bool queued;            /* on the ready list */
	bool seen;              /* found in the kernel set by this refresh */
	struct interest *hnext; /* bucket chain */
	struct interest *rnext; /* ready list */
};

/* One of our sets that is a kernel member of another. */
struct nested {
	struct ust_ep *inner;   /* the member set */
	int fd;                 /* the fd it was added by */
	uint64_t data;          /* the program's data for it */
	struct nested *next;
};

struct ust_ep {
	int refs;                 /* fds naming the set (under tab_lock) */
	int fd;                   /* one of them, or -1 (under tab_lock) */
	pthread_mutex_t lock;     /* what follows */
	int slot;                 /* in the region's ep[]; -1 until it has one */
	uint32_t gen;             /* the registration the slot belongs to (ust_chan_gen) */
	int bell;                 /* doorbell: our end of the pair, in the kernel set; -1 likewise */
	int bell_w;               /* its other end, which we write to ring it ourselves */
	uint32_t seen;            /* the slot's ctl_seq this view was read at */
	_Atomic uint32_t sleepers; /* threads of ours asleep in the kernel set while it has no slot */
	bool shared;              /* other processes may hold it (forked, or inherited by exec) */
	bool watched;             /* watched from outside: keep the doorbell true */
	bool lit;                 /* the doorbell was written here (watched sets) */
	unsigned nkernel;         /* kernel members added through us */
	_Atomic unsigned fast;    /* returns since the kernel set was last asked */
	struct interest *bucket[BUCKETS]; /* interests by socket handle */
	struct interest *rhead;   /* ready list: news, and level-triggered reports */
	struct interest *rtail;
	struct nested *nested;    /* our sets among the kernel members */
	struct ust_ep *next;      /* every set */
};

static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER; /* tab, sets, refs, nested */
static _Atomic(struct ust_ep *) *_Atomic tab; /* by epoll fd; published once by ensure_tab() */
static struct ust_ep *sets;

static struct ust_ep *
ep_of(int fd)
{
	_Atomic(struct ust_ep *) *t = atomic_load_explicit(&tab, memory_order_acquire);
	if (t == NULL || fd < 0 || (unsigned)fd >= EP_FDS)
		return NULL;
	return atomic_load_explicit(&t[fd], memory_order_acquire);
}

/* The set has a slot in this process's region (a child that registered
 * on its own after fork has none for the sets it inherited). */
static bool
live(const struct ust_ep *ep)
{
	return ep->slot >= 0 && ep->gen == ust_chan_gen();
}

static struct ust_ipc_epoll *
slot_of(const struct ust_ep *ep)
{
	return &ust_chan_region()->ep[ep->slot];
}

static void
bell_ring(struct ust_ep *ep)
{
	if (ust_libc.sendto(ep->bell_w, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0) < 0)
		return; /* a full bell rings just as well */
}

static void
bell_drain(struct ust_ep *ep)
{
	char b[64];
	while (ust_libc.recvfrom(ep->bell, b, sizeof(b), MSG_DONTWAIT, NULL, NULL) == (ssize_t)sizeof(b))
		;
	ep->lit = false;
}

/* Set or clear the slot's bits for a handle from the interests left. */
static void
watch_update(struct ust_ep *ep, uint32_t h)
{
	if (!live(ep))
		return;
	bool any = false, excl = false;
	for (struct interest *it = ep->bucket[h % BUCKETS]; it != NULL; it = it->hnext)
		if (it->handle == h) {
			any = true;
			excl |= (it->mask & EPOLLEXCLUSIVE) != 0;
		}
	if (ep->slot >= (int)UST_IPC_EPOLL_BITS) {
		/* Fails only when ustackd is gone (every member reports that)
		 * or out of memory (the member is then not told). */
		ust_chan_watch(h, ep->slot, !any ? 0 : excl ? 2 : 1);
		return;
	}
	struct ust_ipc_region *r = ust_chan_region();
	uint64_t bit = 1ull << (ep->slot % 64);
	unsigned w = (unsigned)ep->slot / 64;
	struct ust_ipc_sockstate *ss = &r->sock[h];
	if (excl)
		atomic_fetch_or(&ss->excl[w], bit);
	else
		atomic_fetch_and(&ss->excl[w], ~bit);
	if (any)
		atomic_fetch_or(&ss->watch[w], bit);
	else
		atomic_fetch_and(&ss->watch[w], ~bit);
}

static void
queue(struct ust_ep *ep, struct interest *it)
{
	if (it->queued)
		return;
	it->queued = true;
	it->rnext = NULL;
	if (ep->rtail != NULL)
		ep->rtail->rnext = it;
	else
		ep->rhead = it;
	ep->rtail = it;
}

/* Queue the interests of every socket ustackd has news of. */
static void
take_news(struct ust_ep *ep)
{
	struct ust_ipc_epoll *e = slot_of(ep);
	for (unsigned t = 0; t < UST_IPC_SOCKS / (64 * 64 * 64); t++) {
		if (atomic_load_explicit(&e->top[t], memory_order_relaxed) == 0)
			continue;
		uint64_t sums = atomic_exchange(&e->top[t], 0);
		while (sums != 0) {
			unsigned s = t * 64 + (unsigned)__builtin_ctzll(sums);
			sums &= sums - 1;
			uint64_t words = atomic_exchange(&e->summary[s], 0);
			while (words != 0) {
				unsigned w = s * 64 + (unsigned)__builtin_ctzll(words);
				words &= words - 1;
				uint64_t bits = atomic_exchange(&e->ready[w], 0);
				while (bits != 0) {
					uint32_t h = w * 64 + (uint32_t)__builtin_ctzll(bits);
					bits &= bits - 1;
					for (struct interest *it = ep->bucket[h % BUCKETS]; it != NULL;
					     it = it->hnext)
						if (it->handle == h)
							queue(ep, it);
				}
			}
		}
	}
}

static bool
has_news(struct ust_ep *ep)
{
	struct ust_ipc_epoll *e = slot_of(ep);
	for (unsigned t = 0; t < UST_IPC_SOCKS / (64 * 64 * 64); t++)
		if (atomic_load(&e->top[t]) != 0)
			return true;
	return false;
}

/* The tags of the doorbell and the control connection in the kernel set. */
static uint64_t
bell_tag(const struct ust_ep *ep)
{
	return TAG_MARK << 48 | (uintptr_t)ep;
}

static uint64_t
ctl_tag(const struct ust_ep *ep)
{
	return bell_tag(ep) + 1;
}

static uint32_t
quiet_of(uint32_t mask)
{
	return (mask & Q_STAY) | (mask & EPOLLOUT ? Q_OUT : 0) | (mask & EPOLLWRNORM ? Q_WRNORM : 0) |
	       (mask & EPOLLWRBAND ? Q_WRBAND : 0) | (mask & EPOLLEXCLUSIVE ? Q_EXCL : 0) |
	       (mask & EPOLLONESHOT ? Q_ONESHOT : 0) | (mask & EPOLLET ? Q_ET : 0) | Q_MEMBER |
	       EPOLLONESHOT | EPOLLERR | EPOLLHUP;
}

/* What quiet_of was given (ERR and HUP are always asked). */
static uint32_t
mask_of(uint32_t q)
{
	return (q & Q_STAY) | (q & Q_OUT ? EPOLLOUT : 0) | (q & Q_WRNORM ? EPOLLWRNORM : 0) |
	       (q & Q_WRBAND ? EPOLLWRBAND : 0) | (q & Q_EXCL ? EPOLLEXCLUSIVE : 0) |
	       (q & Q_ONESHOT ? EPOLLONESHOT : 0) | (q & Q_ET ? EPOLLET : 0) | EPOLLERR | EPOLLHUP;
}

/* The interest's events now, as epoll reports them. */
static uint32_t
ready_bits(const struct interest *it)
{
	uint32_t ev;
	if (!ust_chan_dead())
		ev = ust_chan_events(it->ps);
	else /* reported once (collect), as poll.c does */
		ev = atomic_load(&it->ps->dead_told) ? 0 : EPOLLERR | EPOLLHUP | (it->mask & EPOLLIN);
	uint32_t got = ev & (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP);
	if (ev & EPOLLIN)
		got |= EPOLLRDNORM;
	if (ev & EPOLLOUT)
		got |= EPOLLWRNORM;
	return got & it->mask & ~(uint32_t)PRIVATE_BITS;
}

/* Report up to max ready interests into out (ep->lock held). max == 0
 * only drops the interests that are not ready. Like Linux: an interest
 * found not ready leaves the list, a level-triggered one reported goes
 * back to its end, an edge-triggered one waits for news, a one-shot one is
 * disabled. */
static int
collect(struct ust_ep *ep, struct epoll_event *out, int max)
{
	if (!live(ep))
		return 0;
	take_news(ep);
	struct interest *rest = ep->rhead, *again = NULL, *again_last = NULL;
	ep->rhead = ep->rtail = NULL;
	int n = 0;
	while (rest != NULL) {
		struct interest *it = rest;
		rest = it->rnext;
		it->queued = false;
		uint32_t got = ready_bits(it);
		if (got == 0)
			continue;
		if (max == 0 || n == max) {
			queue(ep, it);
			continue;
		}
		out[n].events = got;
		out[n].data = it->data;
		n++;
		if (ust_chan_dead())
			atomic_store(&it->ps->dead_told, true);
		if (it->mask & EPOLLONESHOT)
			it->mask &= PRIVATE_BITS;
		else if (!(it->mask & EPOLLET)) {
			it->queued = true;
			it->rnext = NULL;
			if (again_last != NULL)
				again_last->rnext = it;
			else
				again = it;
			again_last = it;
		}
	}
	if (again != NULL) {
		if (ep->rtail != NULL)
			ep->rtail->rnext = again;
		else
			ep->rhead = again;
		ep->rtail = again_last;
	}
	return n;
}

static void
unqueue(struct ust_ep *ep, struct interest *it)
{
	if (!it->queued)
		return;
	struct interest **rp = &ep->rhead, *prev = NULL;
	while (*rp != it) {
		prev = *rp;
		rp = &(*rp)->rnext;
	}
	*rp = it->rnext;
	if (ep->rtail == it)
		ep->rtail = prev;
	it->queued = false;
}

static struct interest *
find(struct ust_ep *ep, int fd, const struct ust_psock *ps)
{
	struct interest *it = ep->bucket[ps->handle % BUCKETS];
	while (it != NULL && (it->fd != fd || it->ps != ps))
		it = it->hnext;
	return it;
}

static struct interest *
insert(struct ust_ep *ep, int fd, struct ust_psock *ps)
{
	struct interest *it = calloc(1, sizeof(*it));
	if (it == NULL)
		return NULL;
	*it = (struct interest){.fd = fd, .ps = ps, .handle = ps->handle};
	it->hnext = ep->bucket[ps->handle % BUCKETS];
	ep->bucket[ps->handle % BUCKETS] = it;
	return it;
}

/* One registration of the kernel set, as /proc/self/fdinfo shows it; a
 * ustack member this process holds under that fd joins the view (marked
 * seen). Returns whether it is a kernel member. */
static bool
refresh_one(struct ust_ep *ep, const char *line)
{
	int tfd;
	unsigned events;
	unsigned long long data;
	unsigned long ino;
	if (sscanf(line, "tfd: %d events: %x data: %llx pos:%*d ino:%lx", &tfd, &events, &data, &ino) != 4)
		return false;
	if (data >> 48 == TAG_MARK)
		return false;
	if (!(events & Q_MEMBER))
		return true;
	struct ust_psock *ps = ust_fd_get(tfd);
	struct stat sb;
	if (ps == NULL || ps->gen != ust_chan_gen() || fstat(tfd, &sb) != 0 || sb.st_ino != ino)
		return false;
	struct interest *it = find(ep, tfd, ps);
	if (it == NULL && (it = insert(ep, tfd, ps)) == NULL)
		return false;
	it->seen = true;
	if (it->kq == events && it->data.u64 == data)
		return false;
	it->kq = events;
	it->mask = mask_of(events);
	it->data.u64 = data;
	watch_update(ep, ps->handle);
	queue(ep, it);
	return false;
}

/* Read the set back from the kernel: another process changed it, or this
 * one inherited it (ep->lock held). */
static void
refresh(struct ust_ep *ep, int epfd)
{
	uint32_t seq = atomic_load(&slot_of(ep)->ctl_seq);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (unsigned b = 0; b < BUCKETS; b++)
		for (struct interest *it = ep->bucket[b]; it != NULL; it = it->hnext)
			it->seen = false;
	unsigned nkernel = 0;
	char buf[4096];
	size_t have = 0;
	ssize_t r;
	while ((r = ust_libc.read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		have += (size_t)r;
		buf[have] = '\0';
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			nkernel += refresh_one(ep, line);
			line = nl + 1;
		}
		have = strlen(line);
		memmove(buf, line, have);
	}
	ust_libc.close(fd);
	/* What the kernel no longer has, or this process does not hold. */
	for (unsigned b = 0; b < BUCKETS; b++)
		for (struct interest **pp = &ep->bucket[b]; *pp != NULL;) {
			struct interest *it = *pp;
			if (it->seen) {
				pp = &it->hnext;
				continue;
			}
			/* Its watch bits stay: the process that holds it may
			 * still watch it (spare news cost a look, no more). */
			*pp = it->hnext;
			unqueue(ep, it);
			free(it);
		}
	ep->nkernel = nkernel;
	ep->seen = seq;
}

/* The view is current (ep->lock held). */
static void
fresh(struct ust_ep *ep, int epfd)
{
	if (live(ep) && atomic_load(&slot_of(ep)->ctl_seq) != ep->seen)
		refresh(ep, epfd);
}

/* An epoll_ctl of this process changed the set: others look again. */
static void
changed(struct ust_ep *ep)
{
	if (!live(ep))
		return;
	uint32_t was = atomic_fetch_add(&slot_of(ep)->ctl_seq, 1);
	/* Our view stays current unless another process changed it too. */
	if (was == ep->seen)
		ep->seen = was + 1;
}

/* A watched set's doorbell is readable exactly while a member is ready
 * (ep->lock held). */
static void
bell_sync(struct ust_ep *ep)
{
	if (!ep->watched || !live(ep))
		return;
	for (;;) {
		if (ep->rhead != NULL) {
			if (!ep->lit) {
				bell_ring(ep);
				ep->lit = true;
			}
			return;
		}
		bell_drain(ep);
		atomic_store(&slot_of(ep)->armed, 1);
		/* News between the drain and the arm rang nothing: look again. */
		if (!has_news(ep))
			return;
		collect(ep, NULL, 0);
	}
}

static void
sync_set(struct ust_ep *ep, int fd)
{
	pthread_mutex_lock(&ep->lock);
	fresh(ep, fd);
	collect(ep, NULL, 0);
	bell_sync(ep);
	pthread_mutex_unlock(&ep->lock);
}

/* The set ep, named by fd, is readable: its ustack members looked at. */
static bool
set_readable(struct ust_ep *ep, int fd)
{
	sync_set(ep, fd);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return ust_libc.poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static int
ensure_tab(void)
{
	if (atomic_load(&tab) != NULL)
		return 0;
	void *m = mmap(NULL, EP_FDS * sizeof(*tab), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return -ENOMEM;
	_Atomic(struct ust_ep *) *expect = NULL;
	if (!atomic_compare_exchange_strong(&tab, &expect, m))
		munmap(m, EP_FDS * sizeof(*tab));
	return 0;
}

/* Name fd as a set (a new one when ep is NULL); tab_lock held. */
static struct ust_ep *
map_locked(int fd, struct ust_ep *ep)
{
	if (ep == NULL) {
		ep = calloc(1, sizeof(*ep));
		if (ep == NULL)
			return NULL;
		pthread_mutex_init(&ep->lock, NULL);
		ep->fd = -1;
		ep->slot = -1;
		ep->bell = -1;
		ep->bell_w = -1;
		ep->next = sets;
		sets = ep;
	}
	if (ep->fd < 0)
		ep->fd = fd;
	ep->refs++;
	atomic_store(&tab[fd], ep);
	return ep;
}

static void
free_set_locked(struct ust_ep *ep)
{
	for (struct ust_ep **pp = &sets; *pp != NULL; pp = &(*pp)->next)
		if (*pp == ep) {
			*pp = ep->next;
			break;
		}
	for (struct ust_ep *o = sets; o != NULL; o = o->next)
		for (struct nested **np = &o->nested; *np != NULL;) {
			struct nested *n = *np;
			if (n->inner == ep) {
				*np = n->next;
				free(n);
			} else {
				np = &n->next;
			}
		}
	while (ep->nested != NULL) {
		struct nested *n = ep->nested;
		ep->nested = n->next;
		free(n);
	}
	for (unsigned b = 0; b < BUCKETS; b++)
		while (ep->bucket[b] != NULL) {
			struct interest *it = ep->bucket[b];
			ep->bucket[b] = it->hnext;
			free(it);
		}
	/* ustackd frees the slot and clears its watch bits once the doorbell
	 * is closed in every process that holds the set. */
	if (ep->bell >= 0) {
		ust_libc.close(ep->bell);
		ust_libc.close(ep->bell_w);
	}
	pthread_mutex_destroy(&ep->lock);
	free(ep);
}

/* fd no longer names a set; tab_lock held. */
static void
unmap_locked(int fd)
{
	struct ust_ep *ep = ep_of(fd);
	if (ep == NULL)
		return;
	atomic_store(&tab[fd], NULL);
	if (ep->fd == fd)
		ep->fd = -1;
	if (--ep->refs == 0)
		free_set_locked(ep);
}

int
ust_ep_create(int flags)
{
	int fd = ust_libc.epoll_create1(flags);
	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&tab_lock);
	int rc = ensure_tab();
	if (rc == 0 && (unsigned)fd < EP_FDS) {
		/* A stale entry: the fd was closed behind our back. */
		unmap_locked(fd);
		if (map_locked(fd, NULL) == NULL)
			rc = -ENOMEM;
	}
	pthread_mutex_unlock(&tab_lock);
	if (rc < 0) {
		ust_libc.close(fd);
		return rc;
	}
	return fd;
}

void
ust_ep_closed(int fd, struct ust_psock *last)
{
	if (ep_of(fd) != NULL) {
		pthread_mutex_lock(&tab_lock);
		unmap_locked(fd);
		pthread_mutex_unlock(&tab_lock);
	}
	if (last == NULL || atomic_load(&tab) == NULL)
		return;
	/* The socket's last fd here: it leaves every set, as Linux's file. */
	pthread_mutex_lock(&tab_lock);
	for (struct ust_ep *ep = sets; ep != NULL; ep = ep->next) {
		pthread_mutex_lock(&ep->lock);
		bool dropped = false;
		for (struct interest **pp = &ep->bucket[last->handle % BUCKETS]; *pp != NULL;) {
			struct interest *it = *pp;
			if (it->ps != last) {
				pp = &it->hnext;
				continue;
			}
			*pp = it->hnext;
			if (it->queued)
				for (struct interest **rp = &ep->rhead; *rp != NULL; rp = &(*rp)->rnext)
					if (*rp == it) {
						*rp = it->rnext;
						break;
					}
			free(it);
			dropped = true;
		}
		if (dropped) {
			ep->rtail = NULL;
			for (struct interest *it = ep->rhead; it != NULL; it = it->rnext)
				ep->rtail = it;
			/* Another process holding the set may hold the socket. */
			if (!ep->shared)
				watch_update(ep, last->handle);
			bell_sync(ep);
		}
		pthread_mutex_unlock(&ep->lock);
	}
	pthread_mutex_unlock(&tab_lock);
}

void
ust_ep_dup(int oldfd, int newfd)
{
	if (atomic_load(&tab) == NULL || (unsigned)newfd >= EP_FDS)
		return;
	pthread_mutex_lock(&tab_lock);
	unmap_locked(newfd);
	struct ust_ep *ep = ep_of(oldfd);
	if (ep != NULL)
		map_locked(newfd, ep);
	pthread_mutex_unlock(&tab_lock);
}

/* The set's slot and doorbell (ep->lock held, or the set not yet known
 * to other threads). */
static int
ensure_slot(struct ust_ep *ep, int epfd)
{
	if (live(ep))
		return 0;
	/* A forked child whose parent's region was gone has a region of its
	 * own: the sets it inherited keep their slots in the old one. */
	if (ep->slot >= 0)
		return -EBADF;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	int slot = ust_chan_epoll_open(sv[1]);
	if (slot < 0) {
		ust_libc.close(sv[0]);
		ust_libc.close(sv[1]);
		return slot == -EMFILE ? -ENOSPC : slot;
	}
	struct epoll_event e = {.events = EPOLLIN, .data.u64 = bell_tag(ep)};
	struct epoll_event c = {.events = 0, .data.u64 = ctl_tag(ep)};
	struct ust_ipc_epoll *news = &ust_chan_region()->ep[slot];
	/* The region is opened as it is used (ipc.h): the slot's pages now.
	 * On failure the closed pair frees the slot. */
	if (mprotect(news, sizeof(*news), PROT_READ | PROT_WRITE) < 0 ||
	    ust_libc.epoll_ctl(epfd, EPOLL_CTL_ADD, sv[0], &e) < 0 ||
	    ust_libc.epoll_ctl(epfd, EPOLL_CTL_ADD, ust_chan_ctl_fd(), &c) < 0) {
		int rc = -errno;
		ust_libc.close(sv[0]);
		ust_libc.close(sv[1]);
		return rc;
	}
	ep->bell = sv[0];
	ep->bell_w = sv[1];
	ep->slot = slot;
	ep->gen = ust_chan_gen();
	ep->seen = atomic_load(&news->ctl_seq);
	return 0;
}

/* A member became ready outside a wait: wake a thread asleep on the set,
 * in any process. */
static void
wake_sleepers(struct ust_ep *ep)
{
	if (ep->watched)
		bell_sync(ep);
	else if (atomic_load(&ep->sleepers) > 0 || (live(ep) && atomic_load(&slot_of(ep)->sleepers) > 0))
		bell_ring(ep);
}

/* Unlink and free an interest (ep->lock held). */
static void
drop(struct ust_ep *ep, struct interest *it)
{
	struct interest **pp = &ep->bucket[it->handle % BUCKETS];
	while (*pp != it)
		pp = &(*pp)->hnext;
	*pp = it->hnext;
	unqueue(ep, it);
	free(it);
}

static int
ctl_ours(struct ust_ep *ep, int epfd, int op, int fd, struct ust_psock *ps, uint32_t events,
	 epoll_data_t data)
{
	if (op == EPOLL_CTL_ADD) {
		int rc = ensure_slot(ep, epfd);
		if (rc < 0)
			return rc;
	}
	fresh(ep, epfd);
	struct interest *it = find(ep, fd, ps);
	if (op == EPOLL_CTL_MOD && it != NULL && (it->mask & EPOLLEXCLUSIVE))
		return -EINVAL;
	bool made = false;
	if (op != EPOLL_CTL_DEL && it == NULL) {
		if ((it = insert(ep, fd, ps)) == NULL)
			return -ENOMEM;
		made = true;
	}
	uint32_t mask = (events & ~(uint32_t)EPOLLWAKEUP) | EPOLLERR | EPOLLHUP;
	struct epoll_event k = {.events = quiet_of(mask), .data = data};
	/* The kernel keeps the registration and judges it (EEXIST, ENOENT). */
	if (ust_libc.epoll_ctl(epfd, op, fd, &k) < 0) {
		int rc = -errno;
		if (made)
			drop(ep, it);
		return rc;
	}
	changed(ep);
	if (op == EPOLL_CTL_DEL) {
		if (it != NULL) {
			drop(ep, it);
			watch_update(ep, ps->handle);
			bell_sync(ep);
		}
		return 0;
	}
	it->mask = mask;
	it->kq = k.events;
	it->data = data;
	watch_update(ep, ps->handle);
	/* Ready now: on the list at once, as Linux's ep_insert and ep_modify. */
	if (ready_bits(it) != 0) {
		queue(ep, it);
		wake_sleepers(ep);
	}
	return 0;
}

static void
nested_update(struct ust_ep *outer, int op, int fd, struct epoll_event *ev)
{
	struct ust_ep *inner = ep_of(fd);
	if (outer == NULL || inner == NULL)
		return;
	pthread_mutex_lock(&tab_lock);
	struct nested **np = &outer->nested;
	while (*np != NULL && (*np)->inner != inner)
		np = &(*np)->next;
	if (op == EPOLL_CTL_DEL && *np != NULL) {
		struct nested *n = *np;
		*np = n->next;
		free(n);
	} else if (op != EPOLL_CTL_DEL) {
		if (*np == NULL && (*np = calloc(1, sizeof(**np))) != NULL)
			(*np)->inner = inner;
		if (*np != NULL) {
			(*np)->fd = fd;
			(*np)->data = ev->data.u64;
		}
	}
	pthread_mutex_unlock(&tab_lock);
	if (op == EPOLL_CTL_ADD) {
		pthread_mutex_lock(&inner->lock);
		inner->watched = true;
		pthread_mutex_unlock(&inner->lock);
		sync_set(inner, fd);
	}
}

/* An epoll fd this process did not make (inherited across exec, or made
 * by a raw system call): the set as the kernel has it, with a slot here;
 * NULL if fd is no epoll fd. */
static struct ust_ep *
adopt(int epfd)
{
	char path[64], link[32];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", epfd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return NULL;
	link[n] = '\0';
	if (strcmp(link, "anon_inode:[eventpoll]") != 0 || ensure_tab() < 0 || (unsigned)epfd >= EP_FDS)
		return NULL;
	pthread_mutex_lock(&tab_lock);
	struct ust_ep *ep = ep_of(epfd);
	if (ep == NULL && (ep = map_locked(epfd, NULL)) != NULL) {
		pthread_mutex_lock(&ep->lock);
		ep->shared = true;
		if (ensure_slot(ep, epfd) == 0)
			refresh(ep, epfd);
		pthread_mutex_unlock(&ep->lock);
	}
	pthread_mutex_unlock(&tab_lock);
	return ep;
}

void
ust_ep_before_fork(void)
{
	if (atomic_load(&tab) == NULL)
		return;
	/* The child shares every set: each gets its slot now, so that a
	 * ustack member either side adds later is seen by both. */
	pthread_mutex_lock(&tab_lock);
	for (struct ust_ep *ep = sets; ep != NULL; ep = ep->next) {
		pthread_mutex_lock(&ep->lock);
		ep->shared = true;
		if (ep->fd >= 0)
			ensure_slot(ep, ep->fd);
		pthread_mutex_unlock(&ep->lock);
	}
	pthread_mutex_unlock(&tab_lock);
}

int
ust_ep_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct ust_psock *ps = ust_fd_get(fd);
	struct ust_ep *ep = ep_of(epfd);
	if (ps == NULL) {
		int rc = ust_libc.epoll_ctl(epfd, op, fd, ev);
		if (rc < 0)
			return -errno;
		if (ep != NULL) {
			pthread_mutex_lock(&ep->lock);
			if (op == EPOLL_CTL_ADD)
				ep->nkernel++;
			else if (op == EPOLL_CTL_DEL && ep->nkernel > 0)
				ep->nkernel--;
			changed(ep);
			pthread_mutex_unlock(&ep->lock);
			nested_update(ep, op, fd, ev);
		}
		return 0;
	}
	/* Linux's order: the event is read first, then the fds are checked. */
	if ((op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD) && ev == NULL)
		return -EFAULT;
	if (ep == NULL && (ep = adopt(epfd)) == NULL) {
		/* No epoll fd: the kernel judges epfd (EBADF, EINVAL). */
		if (ust_libc.epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) < 0)
			return -errno;
		return -ENOMEM;
	}
	uint32_t events = ev != NULL ? ev->events : 0;
	if (op != EPOLL_CTL_DEL && (events & EPOLLEXCLUSIVE) &&
	    (op == EPOLL_CTL_MOD || (events & ~(uint32_t)EXCLUSIVE_OK)))
		return -EINVAL;
	if (ps->gen != ust_chan_gen() || ust_chan_get() == NULL)
		return -EBADF;
	pthread_mutex_lock(&ep->lock);
	int rc = ctl_ours(ep, epfd, op, fd, ps, events, ev != NULL ? ev->data : (epoll_data_t){0});
	pthread_mutex_unlock(&ep->lock);
	return rc;
}

static int
kwait(int epfd, struct epoll_event *out, int max, int64_t left_ns, bool ts, const sigset_t *mask)
{
	int rc;
	if (ts) {
		struct timespec t = {.tv_sec = left_ns / 1000000000LL, .tv_nsec = left_ns % 1000000000LL};
		rc = ust_libc.epoll_pwait2(epfd, out, max, left_ns < 0 ? NULL : &t, mask);
	} else {
		int ms = left_ns < 0 ? -1 : (int)((left_ns + 999999) / 1000000);
		rc = ust_libc.epoll_pwait(epfd, out, max, ms, mask);
	}
	return rc < 0 ? -errno : rc;
}

/* ustackd is gone: every member is ready for good (ERR|HUP). */
static void
on_death(struct ust_ep *ep, int epfd)
{
	ust_chan_probe_dead();
	ust_libc.epoll_ctl(epfd, EPOLL_CTL_DEL, ust_chan_ctl_fd(), NULL);
	pthread_mutex_lock(&ep->lock);
	for (unsigned b = 0; b < BUCKETS; b++)
		for (struct interest *it = ep->bucket[b]; it != NULL; it = it->hnext)
			queue(ep, it);
	pthread_mutex_unlock(&ep->lock);
}

/* Take the doorbell and the control connection out of what the kernel
 * returned, and the members that are our sets whose readiness does not
 * hold. Sets *rang. */
static bool
is_member(struct ust_ep *ep, uint64_t data)
{
	bool found = false;
	pthread_mutex_lock(&ep->lock);
	for (unsigned b = 0; b < BUCKETS && !found; b++)
		for (struct interest *it = ep->bucket[b]; it != NULL && !found; it = it->hnext)
			found = it->data.u64 == data;
	pthread_mutex_unlock(&ep->lock);
	return found;
}

static int
filter(struct ust_ep *ep, int epfd, struct epoll_event *out, int k, bool *rang)
{
	for (int i = 0; i < k; i++)
		if (out[i].data.u64 == ctl_tag(ep)) {
			on_death(ep, epfd);
			*rang = true;
		}
	int n = 0;
	for (int i = 0; i < k; i++) {
		if (out[i].data.u64 == bell_tag(ep)) {
			pthread_mutex_lock(&ep->lock);
			bell_drain(ep);
			pthread_mutex_unlock(&ep->lock);
			*rang = true;
			continue;
		}
		if (out[i].data.u64 == ctl_tag(ep))
			continue;
		/* A member's registration fires once, when its end hangs up:
		 * ustackd died (the control connection's hang-up follows, and
		 * then collect reports the member). Only a hang-up costs the
		 * look through the members. */
		if ((out[i].events & EPOLLHUP) && is_member(ep, out[i].data.u64)) {
			*rang = true;
			continue;
		}
		struct ust_ep *inner = NULL;
		int ifd = -1;
		if (ep->nested == NULL) {
			out[n++] = out[i];
			continue;
		}
		pthread_mutex_lock(&tab_lock);
		for (struct nested *nd = ep->nested; nd != NULL; nd = nd->next)
			if (nd->data == out[i].data.u64 && live(nd->inner)) {
				inner = nd->inner;
				ifd = nd->fd;
			}
		pthread_mutex_unlock(&tab_lock);
		if (inner != NULL && !set_readable(inner, ifd)) {
			*rang = true;
			continue;
		}
		out[n++] = out[i];
	}
	return n;
}

/* Make the doorbells of our sets among ep's members true before the
 * kernel looks at them. */
static void
sync_nested(struct ust_ep *ep)
{
	if (ep->nested == NULL)
		return;
	pthread_mutex_lock(&tab_lock);
	for (struct nested *nd = ep->nested; nd != NULL; nd = nd->next)
		sync_set(nd->inner, nd->fd);
	pthread_mutex_unlock(&tab_lock);
}

static int
collect_locked(struct ust_ep *ep, int epfd, struct epoll_event *out, int max)
{
	pthread_mutex_lock(&ep->lock);
	fresh(ep, epfd);
	int n = collect(ep, out, max);
	bell_sync(ep);
	pthread_mutex_unlock(&ep->lock);
	return n;
}

/* The last events array this thread found mapped. */
static _Thread_local uintptr_t mapped_lo, mapped_hi;

/* How many of the max entries at out lie in mapped pages. Linux copies
 * events out with checked stores, so an array the program cannot write
 * gives EFAULT rather than a crash; a wait that reports from memory must
 * know before it stores. The answer for the array last found whole is
 * kept, so only a new array costs system calls. */
static int
entries_mapped(struct epoll_event *out, int max)
{
	uintptr_t lo = (uintptr_t)out, hi = lo + (size_t)max * sizeof(*out);
	if (lo >= mapped_lo && hi <= mapped_hi)
		return max;
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t p = lo & ~(pg - 1);
	unsigned char in_core;
	for (; p < hi; p += pg)
		if (mincore((void *)p, pg, &in_core) != 0) {
			if (errno != ENOMEM)
				return max; /* cannot tell: trust the program */
			return p <= lo ? 0 : (int)((p - lo) / sizeof(*out));
		}
	mapped_lo = lo;
	mapped_hi = hi;
	return max;
}

int
ust_ep_wait(int epfd, struct epoll_event *out, int max, int64_t timeout_ns, bool ts,
	    const sigset_t *mask)
{
	struct ust_ep *ep = ep_of(epfd);
	/* The kernel judges a bad count (EINVAL), as it would. */
	if (max <= 0 || max > EP_MAX_EVENTS || (ep == NULL && (ep = adopt(epfd)) == NULL))
		return kwait(epfd, out, max, timeout_ns, ts, mask);
	int room = entries_mapped(out, max);
	if (room == 0) {
		/* Nothing can be stored: wait as Linux does, and fail once an
		 * event would have been. */
		struct epoll_event one;
		int rc = ust_ep_wait(epfd, &one, 1, timeout_ns, ts, mask);
		return rc > 0 ? -EFAULT : rc;
	}
	max = room;
	int64_t end = timeout_ns < 0 ? -1 : ust_now_ns() + timeout_ns;
	if (!live(ep) && ep->nested == NULL) {
		/* Kernel members only: the kernel's wait, unless epoll_ctl adds a
		 * ustack socket meanwhile and rings. */
		atomic_fetch_add(&ep->sleepers, 1);
		int k = kwait(epfd, out, max, timeout_ns, ts, mask);
		atomic_fetch_sub(&ep->sleepers, 1);
		bool rang = false;
		if (k > 0)
			k = filter(ep, epfd, out, k, &rang);
		if (k != 0 || !rang)
			return k;
	}
	/* Bytes this thread took count as readable until ustackd settles them. */
	if (live(ep))
		ust_chan_settle();
	for (;;) {
		int n = 0;
		/* After FAIR_EVERY returns without a look at the kernel, its
		 * members come first: kernel fds are reported even in a set
		 * whose ustack members are ready all the time. */
		if ((ep->nkernel > 0 || ep->nested != NULL) && atomic_load(&ep->fast) >= FAIR_EVERY) {
			atomic_store(&ep->fast, 0);
			sync_nested(ep);
			bool rang = false;
			int k = kwait(epfd, out, max, 0, ts, NULL);
			if (k > 0)
				n = filter(ep, epfd, out, k, &rang);
		}
		if (n < max)
			n += collect_locked(ep, epfd, out + n, max - n);
		if (n > 0) {
			atomic_fetch_add(&ep->fast, 1);
			return n;
		}
		int64_t left = end < 0 ? -1 : end - ust_now_ns();
		if (left < 0 && end >= 0)
			left = 0;
		/* Counted before the last look: an epoll_ctl in another thread
		 * or process that makes a member ready then rings. */
		_Atomic uint32_t *sleepers = live(ep) ? &slot_of(ep)->sleepers : &ep->sleepers;
		atomic_fetch_add(sleepers, 1);
		if (left != 0 && live(ep)) {
			/* seq_cst pairs with ustackd's news-then-armed (ipc.h). */
			atomic_store(&slot_of(ep)->armed, 1);
			n = collect_locked(ep, epfd, out, max);
			if (n > 0) {
				atomic_fetch_sub(sleepers, 1);
				return n;
			}
		}
		sync_nested(ep);
		int k = kwait(epfd, out, max, left, ts, mask);
		atomic_fetch_sub(sleepers, 1);
		if (k < 0)
			return k;
		atomic_store(&ep->fast, 0);
		bool rang = false;
		k = filter(ep, epfd, out, k, &rang);
		if (k > 0)
			return k + collect_locked(ep, epfd, out + k, max - k);
		if (!rang)
			return 0;
		if (left == 0)
			return collect_locked(ep, epfd, out, max);
	}
}

bool
ust_ep_prepare(int fd)
{
	struct ust_ep *ep = ep_of(fd);
	if (ep == NULL || !live(ep))
		return false;
	pthread_mutex_lock(&ep->lock);
	ep->watched = true;
	pthread_mutex_unlock(&ep->lock);
	sync_set(ep, fd);
	return true;
}

bool
ust_ep_readable(int fd)
{
	struct ust_ep *ep = ep_of(fd);
	return ep == NULL || !live(ep) || set_readable(ep, fd);
}
