/*
 * poll/ppoll/select/pselect over a mix of kernel and ustack fds. A ustack
 * socket's readiness lives in the shared region; the kernel fds are asked
 * with the real ppoll, to which this thread's eventfd (written by ustackd
 * when an armed socket changes) and the control fd (HUP when ustackd dies)
 * are added. Without ustack fds in the set the call goes straight to libc;
 * with only ustack fds a ready set costs no system call and a wait spins
 * first as channel.c's policy allows. An epoll set with ustack members
 * among the fds has its doorbell made true before the kernel looks
 * (epoll.c), and a readiness the kernel reports for it is checked again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "preload.h"

#define STACK_FDS 64
#define SLICE_NS 200000LL /* see `sliced` in ust_poll */

static short
revents_of(uint32_t ev, short want)
{
	short r = 0;
	if (ev & UST_IPC_EV_IN)
		r |= want & (POLLIN | POLLRDNORM);
	if (ev & UST_IPC_EV_OUT)
		r |= want & (POLLOUT | POLLWRNORM);
	if (ev & UST_IPC_EV_RDHUP)
		r |= want & POLLRDHUP;
	if (ev & UST_IPC_EV_ERR)
		r |= POLLERR;
	if (ev & UST_IPC_EV_HUP)
		r |= POLLHUP;
	return r;
}

/* Fill the ustack entries' revents; returns how many are ready. */
static int
scan_ours(struct pollfd *fds, nfds_t n, struct ust_psock **ps, bool arm, bool dead)
{
	int ready = 0;
	for (nfds_t i = 0; i < n; i++) {
		if (ps[i] == NULL)
			continue;
		if (dead) {
			/* ustackd is gone: ERR|HUP in one wait, then quiet, so a
			 * program that keeps the socket sleeps instead of spinning. */
			fds[i].revents = atomic_load(&ps[i]->dead_told)
						 ? 0
						 : (short)(POLLERR | POLLHUP | (fds[i].events & POLLIN));
		} else {
			if (arm)
				ust_chan_arm(ps[i]);
			fds[i].revents = revents_of(ust_chan_events(ps[i]), fds[i].events);
		}
		if (fds[i].revents != 0)
			ready++;
	}
	return ready;
}

struct poll_set {
	struct pollfd *fds;    /* the caller's set */
	nfds_t n;              /* its size */
	struct ust_psock **ps; /* ours, or NULL for a kernel fd */
};

static bool
any_ready(const void *arg)
{
	const struct poll_set *set = arg;
	return scan_ours(set->fds, set->n, set->ps, false, false) > 0;
}

/* Make our epoll sets among fds true for the kernel; whether there are any. */
static bool
prepare_sets(struct pollfd *fds, nfds_t n)
{
	bool sets = false;
	for (nfds_t i = 0; i < n; i++)
		sets |= ust_ep_prepare(fds[i].fd);
	return sets;
}

/* Of `ready` entries, those that stay ready once our epoll sets the
 * kernel called readable are checked again. */
static int
recheck_sets(struct pollfd *fds, nfds_t n, int ready)
{
	for (nfds_t i = 0; i < n; i++)
		if ((fds[i].revents & POLLIN) && !ust_ep_readable(fds[i].fd)) {
			fds[i].revents &= (short)~(POLLIN | POLLRDNORM);
			if (fds[i].revents == 0)
				ready--;
		}
	return ready;
}

static int64_t
ts_left(int64_t end)
{
	if (end < 0)
		return -1;
	int64_t left = end - ust_now_ns();
	return left < 0 ? 0 : left;
}

int
ust_poll(struct pollfd *fds, nfds_t n, int64_t timeout_ns, const sigset_t *mask)
{
	struct ust_psock *stack_ps[STACK_FDS];
	struct pollfd stack_k[STACK_FDS + 2];
	bool any = false;
	for (nfds_t i = 0; i < n && !any; i++)
		any = ust_fd_get(fds[i].fd) != NULL;
	bool sets = prepare_sets(fds, n);
	if (!any || ust_chan_get() == NULL) {
		int64_t end = timeout_ns < 0 ? -1 : ust_now_ns() + timeout_ns;
		for (;;) {
			int64_t left = ts_left(end);
			struct timespec ts = {.tv_sec = left / 1000000000LL, .tv_nsec = left % 1000000000LL};
			int rc = ust_libc.ppoll(fds, n, left < 0 ? NULL : &ts, mask);
			if (rc <= 0 || !sets)
				return rc < 0 ? -errno : rc;
			rc = recheck_sets(fds, n, rc);
			if (rc > 0 || (end >= 0 && ts_left(end) == 0))
				return rc;
			prepare_sets(fds, n);
		}
	}
	int rc;
	struct ust_psock **ps = n <= STACK_FDS ? stack_ps : malloc(n * sizeof(*ps));
	struct pollfd *k = n <= STACK_FDS ? stack_k : malloc((n + 2) * sizeof(*k));
	if (ps == NULL || k == NULL) {
		if (ps != stack_ps)
			free(ps);
		if (k != stack_k)
			free(k);
		return -ENOMEM;
	}
	bool all_ours = true;
	for (nfds_t i = 0; i < n; i++) {
		ps[i] = ust_fd_get(fds[i].fd);
		/* The kernel skips negative fds: ours ride as -1 there. */
		k[i] = fds[i];
		if (ps[i] != NULL)
			k[i].fd = -1;
		else if (fds[i].fd >= 0)
			all_ours = false;
	}
	ust_chan_settle();
	/* Only ustack sockets: their readiness is in memory, so a ready one
	 * costs no system call, and a wait may spin (channel.c's policy)
	 * before it arms and sleeps. With a signal mask the kernel must see
	 * the call, to deliver what the mask lets through. */
	struct poll_set set = {.fds = fds, .n = n, .ps = ps};
	if (all_ours && mask == NULL && !ust_chan_dead() &&
	    (timeout_ns == 0 ? any_ready(&set) : ust_chan_spin(any_ready, &set))) {
		rc = scan_ours(fds, n, ps, false, false);
		goto out;
	}
	k[n] = (struct pollfd){.fd = ust_chan_wake_fd(), .events = POLLIN};
	/* The control connection's HUP says ustackd died; once that is known
	 * it would only end every sleep at once. */
	k[n + 1] = (struct pollfd){.fd = ust_chan_dead() ? -1 : ust_chan_ctl_fd(), .events = 0};
	int64_t end = timeout_ns < 0 ? -1 : ust_now_ns() + timeout_ns;
	/* Without room for two more fds (nfds above RLIMIT_NOFILE: sshd's
	 * sandboxed child), the kernel is asked for the program's fds only,
	 * in slices, and the ustack sockets are looked at in between. */
	bool sliced = false;
	for (;;) {
		ust_chan_drain();
		bool dead = ust_chan_dead();
		int ready = scan_ours(fds, n, ps, true, dead);
		int64_t left = ready > 0 ? 0 : ts_left(end);
		if (sliced && (left < 0 || left > SLICE_NS))
			left = SLICE_NS;
		struct timespec ts = {.tv_sec = left / 1000000000LL, .tv_nsec = left % 1000000000LL};
		int kr = ust_libc.ppoll(k, sliced ? n : n + 2, left < 0 ? NULL : &ts, mask);
		if (kr < 0 && errno == EINVAL && !sliced) {
			sliced = true;
			continue;
		}
		if (kr < 0) {
			rc = -errno;
			break;
		}
		if (!sliced && (k[n + 1].revents & (POLLHUP | POLLERR)))
			dead = ust_chan_probe_dead();
		ready = scan_ours(fds, n, ps, false, dead);
		for (nfds_t i = 0; i < n; i++) {
			if (ps[i] != NULL)
				continue;
			fds[i].revents = k[i].revents;
			if (k[i].revents != 0)
				ready++;
		}
		if (sets) {
			ready = recheck_sets(fds, n, ready);
			prepare_sets(fds, n);
		}
		if (ready > 0 || (end >= 0 && ts_left(end) == 0)) {
			for (nfds_t i = 0; dead && i < n; i++)
				if (ps[i] != NULL && fds[i].revents != 0)
					atomic_store(&ps[i]->dead_told, true);
			rc = ready;
			break;
		}
	}
out:
	if (ps != stack_ps)
		free(ps);
	if (k != stack_k)
		free(k);
	return rc;
}

int
ust_select(int nfds, fd_set *r, fd_set *w, fd_set *e, int64_t timeout_ns, const sigset_t *mask)
{
	if (nfds < 0 || nfds > FD_SETSIZE)
		return -EINVAL;
	bool any = false;
	for (int fd = 0; fd < nfds && !any; fd++)
		any = ((r != NULL && FD_ISSET(fd, r)) || (w != NULL && FD_ISSET(fd, w))) &&
		      (ust_fd_get(fd) != NULL || ust_ep_prepare(fd));
	if (!any) {
		struct timespec ts = {.tv_sec = timeout_ns / 1000000000LL,
				      .tv_nsec = timeout_ns % 1000000000LL};
		int rc = ust_libc.pselect(nfds, r, w, e, timeout_ns < 0 ? NULL : &ts, mask);
		return rc < 0 ? -errno : rc;
	}
	struct pollfd p[FD_SETSIZE];
	nfds_t n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = 0;
		if (r != NULL && FD_ISSET(fd, r))
			ev |= POLLIN;
		if (w != NULL && FD_ISSET(fd, w))
			ev |= POLLOUT;
		if (e != NULL && FD_ISSET(fd, e))
			ev |= POLLPRI;
		if (ev != 0)
			p[n++] = (struct pollfd){.fd = fd, .events = ev};
	}
	int rc = ust_poll(p, n, timeout_ns, mask);
	if (rc < 0)
		return rc;
	for (nfds_t i = 0; i < n; i++)
		if (p[i].revents & POLLNVAL)
			return -EBADF;
	int count = 0;
	for (nfds_t i = 0; i < n; i++) {
		int fd = p[i].fd;
		short re = p[i].revents;
		if (r != NULL && FD_ISSET(fd, r)) {
			if (re & (POLLIN | POLLHUP | POLLERR))
				count++;
			else
				FD_CLR(fd, r);
		}
		if (w != NULL && FD_ISSET(fd, w)) {
			if (re & (POLLOUT | POLLERR))
				count++;
			else
				FD_CLR(fd, w);
		}
		if (e != NULL && FD_ISSET(fd, e)) {
			if (re & POLLPRI)
				count++;
			else
				FD_CLR(fd, e);
		}
	}
	return count;
}
