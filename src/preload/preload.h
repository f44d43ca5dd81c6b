/*
 * libustack.so internals. The layers, top to bottom:
 *   interpose.c  the exported libc symbols: ours or libc's, by fd or family
 *   sock.c       each socket call with Linux's semantics (blocking, errno)
 *   poll.c       poll/select over a mix of kernel and ustack fds
 *   epoll.c      epoll sets holding ustack sockets beside kernel fds
 *   fdtab.c      which fds are ustack sockets (or may be: inherited, received)
 *   channel.c    the process's registration with ustackd, the thread's
 *                channel, calls (rpc) and waits for readiness
 *   libc.c       the real libc functions (dlsym RTLD_NEXT)
 * Functions here return a value or a negative errno; errno is set only in
 * interpose.c.
 */
#ifndef UST_PRELOAD_H
#define UST_PRELOAD_H

#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "ipc/ipc.h"

#define UST_HIDDEN __attribute__((visibility("hidden")))

struct ifaddrs;
struct if_nameindex;

/* libc.c: the functions we interpose, as libc has them. */
struct ust_libc {
	int (*socket)(int, int, int);
	int (*close)(int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*shutdown)(int, int);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*fcntl)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
	int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	int (*pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	ssize_t (*splice)(int, off_t *, int, off_t *, size_t, unsigned);
	int (*recvmmsg)(int, struct mmsghdr *, unsigned, int, struct timespec *);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned, int);
	long (*syscall)(long, ...);
	int (*epoll_create1)(int);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
	int (*epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *, const sigset_t *);
	unsigned (*if_nametoindex)(const char *);
	char *(*if_indextoname)(unsigned, char *);
	struct if_nameindex *(*if_nameindex)(void);
	void (*if_freenameindex)(struct if_nameindex *);
	int (*getifaddrs)(struct ifaddrs **);
	void (*freeifaddrs)(struct ifaddrs *);
};
UST_HIDDEN extern struct ust_libc ust_libc;
UST_HIDDEN void ust_libc_init(void);

/* fdtab.c: one entry per ustack socket, shared by dup'ed fds. What is
 * the socket's, not the fd's (O_NONBLOCK, timeouts), is in the region's
 * sockstate, where every process holding the socket sees it. */
struct ust_psock {
	_Atomic int refs;         /* fds of this process pointing here */
	uint32_t handle;          /* ustackd's socket handle in this process's region */
	uint32_t gen;             /* the region it belongs to (ust_chan_gen) */
	int family;               /* AF_INET or AF_INET6 */
	int type;                 /* SOCK_STREAM, SOCK_DGRAM or SOCK_RAW */
	int protocol;             /* socket()'s protocol argument */
	_Atomic bool copy;        /* its bytes live in another region: send through the channel */
	_Atomic bool dead_told;   /* ustackd is gone and a wait reported it so (only once) */
	bool used;                /* bound, connected or sent: too late to hand to the kernel */
	bool delivered;           /* a receive returned bytes or an accept a connection:
				   * with no event pending, the next one would block */
	bool peered;              /* a stream connected or accepted: its close frees no
				   * port another caller could be waiting to bind */
	uint8_t nopts;            /* entries in opts */
	struct {
		int level, name;  /* setsockopt's */
		socklen_t len;    /* value bytes */
		uint8_t val[16];  /* the value */
	} opts[8];                /* options set so far, replayed if the kernel takes over */
};
/* An fd that may be a ustack socket this process did not make (inherited
 * across exec, received over a Unix socket): resolved on first use. */
#define UST_FD_PROBE ((struct ust_psock *)1)
/* The fd's socket, or NULL for a kernel fd; resolves UST_FD_PROBE. */
UST_HIDDEN struct ust_psock *ust_fd_get(int fd);
/* The entry as it is: NULL, UST_FD_PROBE or the socket. */
UST_HIDDEN struct ust_psock *ust_fd_peek(int fd);
UST_HIDDEN void ust_fd_set(int fd, struct ust_psock *ps);
/* Replace `old` with `ps` if the entry still holds `old`. */
UST_HIDDEN bool ust_fd_swap(int fd, struct ust_psock *old, struct ust_psock *ps);
/* Drop fd's reference; returns the socket if that was the last one. */
UST_HIDDEN struct ust_psock *ust_fd_clear(int fd);
/* ust_fd_clear for fds lo..hi; fn gets each socket whose last fd went. */
UST_HIDDEN void ust_fd_clear_range(unsigned lo, unsigned hi, void (*fn)(struct ust_psock *ps));
UST_HIDDEN void ust_fd_foreach(void (*fn)(int fd, struct ust_psock *ps));
/* Mark the sockets the process inherited (exec) for probing. */
UST_HIDDEN void ust_fd_scan_inherited(void);

/* channel.c */
UST_HIDDEN int ust_chan_ready(void); /* 0, or -errno if ustackd cannot be reached */
UST_HIDDEN struct ust_ipc_channel *ust_chan_get(void); /* this thread's channel, NULL if none */
/* This thread's channel, free for a request (a posted one answered), NULL
 * if none or ustackd is gone. */
UST_HIDDEN struct ust_ipc_channel *ust_chan_take(void);
/* Publish the request in ch->req and wait for the answer (ch->resp). */
UST_HIDDEN int64_t ust_chan_call(struct ust_ipc_channel *ch);
/* Publish the request without waiting: the caller needs no answer, and
 * the thread's next request waits for it first (ust_chan_take). */
UST_HIDDEN void ust_chan_post(struct ust_ipc_channel *ch);
/* The region's first byte: span offsets count from here. */
UST_HIDDEN uint8_t *ust_chan_base(void);
/* This thread copied the spans of its channel's last answer (`received`:
 * out of a receive buffer). */
UST_HIDDEN void ust_chan_spans_done(struct ust_ipc_channel *ch, bool received);
/* Have ustackd take them now, before readiness is looked at. */
UST_HIDDEN void ust_chan_settle(void);
/* Wait until the socket's readiness meets `mask`, the deadline passes
 * (-EAGAIN; deadline_ns < 0 = none), a signal comes (-EINTR) or ustackd dies
 * (-EPIPE). */
UST_HIDDEN int ust_chan_wait(const struct ust_psock *ps, uint32_t mask, int64_t deadline_ns);
/* The wait policy, for every wait on readiness (recv, accept, poll, epoll):
 * spin while done(arg) is false and spinning can pay off (channel.c says
 * when); returns done's last answer. Sleep after a false one. */
UST_HIDDEN bool ust_chan_spin(bool (*done)(const void *), const void *arg);
UST_HIDDEN uint32_t ust_chan_events(const struct ust_psock *ps);
/* ustackd is known to be gone (a flag: no system call). */
UST_HIDDEN bool ust_chan_dead(void);
/* Ask the control connection whether ustackd is gone (a system call). */
UST_HIDDEN bool ust_chan_probe_dead(void);
/* Which region this process maps: it changes only when a forked child
 * finds its parent's region gone and gets a new one. */
UST_HIDDEN uint32_t ust_chan_gen(void);
/* This process, as of its registration (a forked child's own after it joins). */
UST_HIDDEN pid_t ust_chan_pid(void);
/* This process has its own control connection (a forked child gets one
 * on its first call). */
UST_HIDDEN bool ust_chan_joined(void);
/* The control socket's conversation lock: held from an OPEN or ACCEPT
 * call until its fd is received. */
UST_HIDDEN void ust_chan_lock(void);
UST_HIDDEN void ust_chan_unlock(void);
/* The fd of a new socket, sent by ustackd; with the lock held. */
UST_HIDDEN int ust_chan_recv_fd(uint32_t handle, bool cloexec);
/* Ask ustackd whether fd is one of its sockets: 0 and its handle in this
 * process's region, its family, type and protocol, or -ENOTSOCK. */
UST_HIDDEN int ust_chan_probe(int fd, uint32_t *handle, int *family, int *type, int *protocol);
/* The library's own fds (control connection, memfd, eventfds). */
UST_HIDDEN bool ust_chan_private(int fd);
UST_HIDDEN int ust_chan_private_fds(int *out, int max);
UST_HIDDEN struct ust_ipc_sockstate *ust_chan_sockstate(const struct ust_psock *ps);
/* fork() for vfork(): the child shares no memory, and joins nothing. */
UST_HIDDEN pid_t ust_chan_vfork(void);
/* For poll/select: this thread's eventfd and the control fd (HUP when
 * ustackd dies), after marking the thread a waiter of each socket. */
UST_HIDDEN int ust_chan_arm(const struct ust_psock *ps);
UST_HIDDEN int ust_chan_wake_fd(void);
UST_HIDDEN int ust_chan_ctl_fd(void);
UST_HIDDEN void ust_chan_drain(void);
UST_HIDDEN int64_t ust_now_ns(void);
/* An epoll instance's doorbell (ustackd's end of the pair) to ustackd:
 * its slot of the region's ep[], or -errno. */
UST_HIDDEN int ust_chan_epoll_open(int doorbell);
/* Slot `slot` (not below UST_IPC_EPOLL_BITS) watches socket `handle`:
 * how = 0 no longer, 1 yes, 2 with EPOLLEXCLUSIVE. 0 or -errno. */
UST_HIDDEN int ust_chan_watch(uint32_t handle, int slot, int how);
UST_HIDDEN struct ust_ipc_region *ust_chan_region(void);

/* iface.c: ustackd's port among the host's interfaces (--ifname, --ifindex). */
UST_HIDDEN unsigned ust_if_index(const char *name);  /* 0: not the port */
UST_HIDDEN const char *ust_if_name(unsigned index);  /* NULL: not the port */
UST_HIDDEN struct if_nameindex *ust_if_nameindex(void); /* the kernel's and the port */
UST_HIDDEN int ust_if_getifaddrs(struct ifaddrs **out); /* 0 or -errno */
/* An interface ioctl naming the port: 1 with *rc its result, 0: the kernel's. */
UST_HIDDEN int ust_if_ioctl(int family, unsigned long req, void *arg, int *rc);

/* sock.c: the calls on fds fdtab says are ours. */
UST_HIDDEN int ust_p_socket(int domain, int type, int protocol);
/* The process closed its last fd of the socket. */
UST_HIDDEN void ust_p_close(struct ust_psock *ps);
/* The fd is an unknown socket: a ustack one (its new entry) or NULL. */
UST_HIDDEN struct ust_psock *ust_p_adopt(int fd);
/* O_NONBLOCK changed on the socket's fd. */
UST_HIDDEN int ust_p_set_nonblock(struct ust_psock *ps, bool on);
UST_HIDDEN int ust_p_bind(int fd, struct ust_psock *ps, const struct sockaddr *a, socklen_t len);
UST_HIDDEN int ust_p_connect(int fd, struct ust_psock *ps, const struct sockaddr *a, socklen_t len);
UST_HIDDEN int ust_p_listen(struct ust_psock *ps, int backlog);
UST_HIDDEN int ust_p_accept(struct ust_psock *ps, struct sockaddr *a, socklen_t *len, int flags);
UST_HIDDEN ssize_t ust_p_send(int fd, struct ust_psock *ps, const struct msghdr *m, int flags);
UST_HIDDEN ssize_t ust_p_recv(struct ust_psock *ps, struct msghdr *m, int flags);
/* read() and readv(): recv() with no flags, except that nothing to read
 * returns at once. */
UST_HIDDEN ssize_t ust_p_read(struct ust_psock *ps, struct msghdr *m);
/* writev(): send() with no flags, except that nothing to write returns at once. */
UST_HIDDEN ssize_t ust_p_writev(int fd, struct ust_psock *ps, const struct msghdr *m);
UST_HIDDEN int ust_p_shutdown(struct ust_psock *ps, int how);
UST_HIDDEN int ust_p_name(struct ust_psock *ps, struct sockaddr *a, socklen_t *len, bool peer);
UST_HIDDEN int ust_p_setsockopt(struct ust_psock *ps, int level, int name, const void *v,
				socklen_t len);
UST_HIDDEN int ust_p_getsockopt(struct ust_psock *ps, int level, int name, void *v,
				socklen_t *len);
/* FIONREAD (outq false) or SIOCOUTQ (outq true). */
UST_HIDDEN int ust_p_queued(struct ust_psock *ps, bool outq, int *out);
/* Any other socket ioctl (interfaces, routes, SIOCATMARK, unknown
 * requests): made on a kernel socket of the same family and type, which
 * answers as Linux does (no urgent data is kept apart, so a fresh socket's
 * SIOCATMARK is ustack's too). */
UST_HIDDEN int ust_p_ioctl_kernel(struct ust_psock *ps, unsigned long req, void *arg);
/* sendfile() into a ustack socket from a file that can be read at an
 * offset; the offset (or the file's position) moves by what was sent. */
UST_HIDDEN ssize_t ust_p_sendfile(int out_fd, struct ust_psock *ps, int in_fd, off_t *offset,
				  size_t count);
/* splice() from a pipe into a ustack stream socket, and from one into a pipe. */
UST_HIDDEN ssize_t ust_p_splice_in(int out_fd, struct ust_psock *ps, int pipe_fd, size_t len,
				   unsigned flags);
UST_HIDDEN ssize_t ust_p_splice_out(struct ust_psock *ps, int pipe_fd, size_t len);
/* recvmmsg()/sendmmsg(): one ust_p_recv/ust_p_send per message; an error
 * after the first message ends the call with the count so far. */
UST_HIDDEN int ust_p_recvmmsg(struct ust_psock *ps, struct mmsghdr *v, unsigned n, int flags,
			      const struct timespec *timeout);
UST_HIDDEN int ust_p_sendmmsg(int fd, struct ust_psock *ps, struct mmsghdr *v, unsigned n,
			      int flags);
/* Whether a socket of this kind is served by ustack. */
UST_HIDDEN bool ust_p_wants(int domain, int type);

/* poll.c */
UST_HIDDEN int ust_poll(struct pollfd *fds, nfds_t n, int64_t timeout_ns, const sigset_t *mask);
UST_HIDDEN int ust_select(int nfds, fd_set *r, fd_set *w, fd_set *e, int64_t timeout_ns,
			  const sigset_t *mask);

/* epoll.c. Timeouts in ns, < 0 = none; `ts` says the caller gave a
 * timespec (epoll_pwait2), so the kernel is asked the same way. */
UST_HIDDEN int ust_ep_create(int flags);
UST_HIDDEN int ust_ep_ctl(int epfd, int op, int fd, struct epoll_event *ev);
UST_HIDDEN int ust_ep_wait(int epfd, struct epoll_event *out, int max, int64_t timeout_ns, bool ts,
			   const sigset_t *mask);
/* fd is being closed (kernel fd or not); ps: the ustack socket whose last
 * fd in this process it was, or NULL. */
UST_HIDDEN void ust_ep_closed(int fd, struct ust_psock *last);
/* newfd now names what oldfd names. */
UST_HIDDEN void ust_ep_dup(int oldfd, int newfd);
/* The process is about to fork: the child will share every set. */
UST_HIDDEN void ust_ep_before_fork(void);
/* For poll/select: whether fd is an epoll set with ustack members; its
 * kernel readability is made true before the kernel looks at it. */
UST_HIDDEN bool ust_ep_prepare(int fd);
/* After the kernel said fd (an epoll set, see above) is readable: whether
 * it still is once its ustack members are looked at. */
UST_HIDDEN bool ust_ep_readable(int fd);

#endif
