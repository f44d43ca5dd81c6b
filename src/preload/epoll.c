/*
 * epoll sets holding ustack sockets beside kernel fds. An epoll fd is the
 * kernel's epoll instance and its kernel members stay there. Its ustack
 * members (interests) are kept here, keyed like Linux's by (socket, fd).
 * With the first one the instance gets a slot in the region (a ready
 * bitmap, see ipc.h) and a doorbell eventfd that sits in the kernel set.
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
 * The control connection sits in the kernel set too: when ustackd dies its
 * HUP wakes the waiters, and every ustack socket then reports ERR|HUP (and
 * IN when asked) in one wait, as in poll, and nothing after: a program that
 * keeps it sleeps rather than spins.
 *
 * Entry points: ust_ep_create/ctl/wait; ust_ep_closed/dup for close and
 * dup of any fd; ust_ep_prepare/readable for poll.c.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "preload.h"

#define EP_FDS (1u << 20) /* epoll fds below this are known (Linux's default nr_open) */
#define BUCKETS 256u      /* interest hash buckets, by socket handle */
#define FAIR_EVERY 16u    /* returns from ustack members alone between looks at the kernel */
#define EP_MAX_EVENTS ((int)(INT_MAX / sizeof(struct epoll_event))) /* Linux's limit */
#define PRIVATE_BITS (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE)
#define EXCLUSIVE_OK (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)

struct interest {
	int fd;                 /* the fd epoll_ctl named; with ps the key, as Linux's (file, fd) */
	struct ust_psock *ps;   /* the socket */
	uint32_t handle;        /* its handle in the region */
	uint32_t mask;          /* events asked, ERR, HUP and flags; flags only once ONESHOT fired */
	epoll_data_t data;      /* the program's */
	bool queued;            /* on the ready list */
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
	pthread_mutex_t lock;     /* what follows */
	int slot;                 /* in the region's ep[]; -1 before the first ustack member */
	uint32_t gen;             /* the registration the slot belongs to (ust_chan_gen) */
	pid_t owner;              /* the process that took the slot: a forked child shares the
				   * region, and must leave the slot and its watch bits alone */
	int bell;                 /* doorbell eventfd; -1 likewise */
	_Atomic int sleepers;     /* threads in the kernel's epoll_wait on this set */
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
	uint64_t one = 1;
	if (ust_libc.write(ep->bell, &one, sizeof(one)) < 0)
		return; /* a full counter rings just as well */
}

static void
bell_drain(struct ust_ep *ep)
{
	uint64_t v;
	if (ust_libc.read(ep->bell, &v, sizeof(v)) < 0)
		return; /* nothing to drain */
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
	return (uintptr_t)ep;
}

static uint64_t
ctl_tag(const struct ust_ep *ep)
{
	return (uintptr_t)ep + 1;
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
sync_set(struct ust_ep *ep)
{
	pthread_mutex_lock(&ep->lock);
	collect(ep, NULL, 0);
	bell_sync(ep);
	pthread_mutex_unlock(&ep->lock);
}

/* The set ep, named by fd, is readable: its ustack members looked at. */
static bool
set_readable(struct ust_ep *ep, int fd)
{
	sync_set(ep);
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
		ep->slot = -1;
		ep->bell = -1;
		ep->next = sets;
		sets = ep;
	}
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
	if (live(ep) && ep->owner == ust_chan_pid())
		/* ustackd clears the slot's watch bits as it frees it. */
		ust_chan_epoll_close(ep->slot);
	if (ep->bell >= 0)
		ust_libc.close(ep->bell);
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
			if (ep->owner == ust_chan_pid())
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

/* The set's slot and doorbell, made with its first ustack member. */
static int
ensure_slot(struct ust_ep *ep, int epfd)
{
	if (live(ep))
		return 0;
	/* A set inherited from before fork keeps its slot in the parent's
	 * region: this process cannot add ustack sockets to it. */
	if (ep->slot >= 0)
		return -EBADF;
	int bell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (bell < 0)
		return -errno;
	int slot = ust_chan_epoll_open(bell);
	if (slot < 0) {
		ust_libc.close(bell);
		return slot == -EMFILE ? -ENOSPC : slot;
	}
	struct epoll_event e = {.events = EPOLLIN, .data.u64 = bell_tag(ep)};
	struct epoll_event c = {.events = 0, .data.u64 = ctl_tag(ep)};
	struct ust_ipc_epoll *news = &ust_chan_region()->ep[slot];
	/* The region is opened as it is used (ipc.h): the slot's pages now. */
	if (mprotect(news, sizeof(*news), PROT_READ | PROT_WRITE) < 0 ||
	    ust_libc.epoll_ctl(epfd, EPOLL_CTL_ADD, bell, &e) < 0 ||
	    ust_libc.epoll_ctl(epfd, EPOLL_CTL_ADD, ust_chan_ctl_fd(), &c) < 0) {
		int rc = -errno;
		ust_chan_epoll_close(slot);
		ust_libc.close(bell);
		return rc;
	}
	ep->bell = bell;
	ep->slot = slot;
	ep->gen = ust_chan_gen();
	ep->owner = ust_chan_pid();
	return 0;
}

/* A member became ready outside a wait: wake a thread asleep on the set. */
static void
wake_sleepers(struct ust_ep *ep)
{
	if (ep->watched)
		bell_sync(ep);
	else if (atomic_load(&ep->sleepers) > 0)
		bell_ring(ep);
}

static int
ctl_ours(struct ust_ep *ep, int epfd, int op, int fd, struct ust_psock *ps, uint32_t events,
	 epoll_data_t data)
{
	struct interest **pp = &ep->bucket[ps->handle % BUCKETS];
	while (*pp != NULL && ((*pp)->fd != fd || (*pp)->ps != ps))
		pp = &(*pp)->hnext;
	struct interest *it = *pp;
	switch (op) {
	case EPOLL_CTL_ADD: {
		if (it != NULL)
			return -EEXIST;
		int rc = ensure_slot(ep, epfd);
		if (rc < 0)
			return rc;
		it = calloc(1, sizeof(*it));
		if (it == NULL)
			return -ENOMEM;
		*it = (struct interest){.fd = fd, .ps = ps, .handle = ps->handle};
		it->hnext = ep->bucket[ps->handle % BUCKETS];
		ep->bucket[ps->handle % BUCKETS] = it;
		break;
	}
	case EPOLL_CTL_MOD:
		if (it == NULL)
			return -ENOENT;
		if (it->mask & EPOLLEXCLUSIVE)
			return -EINVAL;
		break;
	case EPOLL_CTL_DEL:
		if (it == NULL)
			return -ENOENT;
		*pp = it->hnext;
		if (it->queued) {
			struct interest **rp = &ep->rhead, *prev = NULL;
			while (*rp != it) {
				prev = *rp;
				rp = &(*rp)->rnext;
			}
			*rp = it->rnext;
			if (ep->rtail == it)
				ep->rtail = prev;
		}
		free(it);
		watch_update(ep, ps->handle);
		bell_sync(ep);
		return 0;
	default:
		return -EINVAL;
	}
	it->mask = (events & ~(uint32_t)EPOLLWAKEUP) | EPOLLERR | EPOLLHUP;
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
		sync_set(inner);
	}
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
			pthread_mutex_unlock(&ep->lock);
			nested_update(ep, op, fd, ev);
		}
		return 0;
	}
	/* Linux's order: the event is read first, then the fds are checked. */
	if ((op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD) && ev == NULL)
		return -EFAULT;
	if (ep == NULL) {
		/* Not a set we made: let the kernel judge epfd (EBADF, EINVAL)
		 * with a removal that cannot find our socket's fd there. */
		if (ust_libc.epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != ENOENT)
			return -errno;
		if (ensure_tab() < 0 || (unsigned)epfd >= EP_FDS)
			return -ENOMEM;
		/* A set from before exec, or made by a raw system call. */
		pthread_mutex_lock(&tab_lock);
		ep = ep_of(epfd) != NULL ? ep_of(epfd) : map_locked(epfd, NULL);
		pthread_mutex_unlock(&tab_lock);
		if (ep == NULL)
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
static int
filter(struct ust_ep *ep, int epfd, struct epoll_event *out, int k, bool *rang)
{
	int n = 0;
	for (int i = 0; i < k; i++) {
		if (out[i].data.u64 == bell_tag(ep)) {
			pthread_mutex_lock(&ep->lock);
			bell_drain(ep);
			pthread_mutex_unlock(&ep->lock);
			*rang = true;
			continue;
		}
		if (out[i].data.u64 == ctl_tag(ep)) {
			on_death(ep, epfd);
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
		sync_set(nd->inner);
	pthread_mutex_unlock(&tab_lock);
}

static int
collect_locked(struct ust_ep *ep, struct epoll_event *out, int max)
{
	pthread_mutex_lock(&ep->lock);
	int n = collect(ep, out, max);
	bell_sync(ep);
	pthread_mutex_unlock(&ep->lock);
	return n;
}

int
ust_ep_wait(int epfd, struct epoll_event *out, int max, int64_t timeout_ns, bool ts,
	    const sigset_t *mask)
{
	struct ust_ep *ep = ep_of(epfd);
	/* The kernel judges a bad count (EINVAL), as it would. */
	if (ep == NULL || max <= 0 || max > EP_MAX_EVENTS)
		return kwait(epfd, out, max, timeout_ns, ts, mask);
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
		int n = collect_locked(ep, out, max);
		if (n > 0) {
			if (n < max && (ep->nkernel > 0 || ep->nested != NULL) &&
			    atomic_fetch_add(&ep->fast, 1) + 1 >= FAIR_EVERY) {
				atomic_store(&ep->fast, 0);
				sync_nested(ep);
				bool rang = false;
				int k = kwait(epfd, out + n, max - n, 0, ts, NULL);
				if (k > 0)
					n += filter(ep, epfd, out + n, k, &rang);
			}
			return n;
		}
		int64_t left = end < 0 ? -1 : end - ust_now_ns();
		if (left < 0 && end >= 0)
			left = 0;
		if (left != 0 && live(ep)) {
			/* seq_cst pairs with ustackd's news-then-armed (ipc.h). */
			atomic_store(&slot_of(ep)->armed, 1);
			n = collect_locked(ep, out, max);
			if (n > 0)
				return n;
		}
		sync_nested(ep);
		atomic_fetch_add(&ep->sleepers, 1);
		int k = kwait(epfd, out, max, left, ts, mask);
		atomic_fetch_sub(&ep->sleepers, 1);
		if (k < 0)
			return k;
		atomic_store(&ep->fast, 0);
		bool rang = false;
		k = filter(ep, epfd, out, k, &rang);
		if (k > 0)
			return k + collect_locked(ep, out + k, max - k);
		if (!rang)
			return 0;
		if (left == 0)
			return collect_locked(ep, out, max);
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
	sync_set(ep);
	return true;
}

bool
ust_ep_readable(int fd)
{
	struct ust_ep *ep = ep_of(fd);
	return ep == NULL || !live(ep) || set_readable(ep, fd);
}
