/*
 * The symbols libustack.so exports: each asks the fd table whether the fd
 * is a ustack socket (or, for socket(), whether the family and type are
 * ours) and either serves the call in sock.c or passes it to libc
 * untouched. This is the one place errno is set.
 *
 * A ustack socket's fd is a real kernel socket (src/ipc/ipc.h), so close,
 * dup, fcntl and the fd flags act on it in the kernel; here they only keep
 * the fd table in step. Fds that may be ustack sockets this process did not
 * make (inherited across exec, received by SCM_RIGHTS) are marked for a
 * probe on first use. vfork is served as fork: a vfork child shares the
 * parent's memory, and with it the fd table it must not change.
 */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "preload.h"

#define EXPORT __attribute__((visibility("default")))

static inline struct ust_psock *
ours(int fd)
{
	return ust_fd_get(fd);
}

static long
ret(long rc)
{
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return rc;
}

EXPORT int
socket(int domain, int type, int protocol)
{
	ust_libc_init();
	if (!ust_p_wants(domain, type))
		return ust_libc.socket(domain, type, protocol);
	return (int)ret(ust_p_socket(domain, type, protocol));
}

/* Inherited sockets are marked before main runs. */
__attribute__((constructor)) static void
scan_inherited(void)
{
	ust_libc_init();
	ust_fd_scan_inherited();
}

EXPORT int
close(int fd)
{
	ust_libc_init();
	struct ust_psock *ps = ust_fd_peek(fd);
	if (ps == NULL) {
		ust_ep_closed(fd, NULL);
		/* The library's own fds survive a program closing every fd. */
		if (ust_chan_private(fd))
			return (int)ret(-EBADF);
		return ust_libc.close(fd);
	}
	struct ust_psock *last = ust_fd_clear(fd);
	int rc = ust_libc.close(fd);
	if (last != NULL) {
		ust_ep_closed(fd, last);
		ust_p_close(last);
	}
	return rc;
}

#define MAX_PRIVATE (UST_IPC_CHANNELS + 2)

static void
sort_fds(int *a, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && a[j - 1] > a[j]; j--) {
			int t = a[j];
			a[j] = a[j - 1];
			a[j - 1] = t;
		}
}

static struct ust_psock **closed_ps;
static size_t closed_n, closed_cap;
static pthread_mutex_t closed_lock = PTHREAD_MUTEX_INITIALIZER;

static void
collect_closed(struct ust_psock *ps)
{
	if (closed_n == closed_cap) {
		size_t ncap = closed_cap == 0 ? 16 : closed_cap * 2;
		struct ust_psock **n = realloc(closed_ps, ncap * sizeof(*n));
		if (n == NULL) {
			ust_p_close(ps); /* early, but the fd goes below anyway */
			return;
		}
		closed_ps = n;
		closed_cap = ncap;
	}
	closed_ps[closed_n++] = ps;
}

/* close_range over first..last, leaving the library's fds open. */
static int
close_range_ours(unsigned first, unsigned last, int flags)
{
	int priv[MAX_PRIVATE];
	int np = ust_chan_private_fds(priv, MAX_PRIVATE);
	sort_fds(priv, np);
	bool cloexec_only = (flags & CLOSE_RANGE_CLOEXEC) != 0;
	pthread_mutex_lock(&closed_lock);
	if (!cloexec_only)
		ust_fd_clear_range(first, last, collect_closed);
	long rc = 0;
	unsigned lo = first;
	for (int i = 0; i < np && rc == 0 && lo <= last; i++) {
		unsigned p = (unsigned)priv[i];
		if (p < lo)
			continue;
		if (p > last)
			break;
		if (p > lo)
			rc = syscall(SYS_close_range, lo, p - 1, flags);
		lo = p + 1;
	}
	if (rc == 0 && lo <= last)
		rc = syscall(SYS_close_range, lo, last, flags);
	int err = rc < 0 ? errno : 0;
	for (size_t i = 0; i < closed_n; i++)
		ust_p_close(closed_ps[i]);
	closed_n = 0;
	pthread_mutex_unlock(&closed_lock);
	return err != 0 ? -err : 0;
}

EXPORT int
close_range(unsigned first, unsigned last, int flags)
{
	ust_libc_init();
	if (first > last || (flags & ~(CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE)))
		return (int)ret(-EINVAL);
	return (int)ret(close_range_ours(first, last, flags));
}

EXPORT void
closefrom(int lowfd)
{
	ust_libc_init();
	if (lowfd < 0)
		lowfd = 0;
	close_range_ours((unsigned)lowfd, ~0u, 0);
}

EXPORT pid_t
vfork(void)
{
	return ust_chan_vfork();
}

EXPORT int
bind(int fd, const struct sockaddr *a, socklen_t len)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	return ps == NULL ? ust_libc.bind(fd, a, len) : (int)ret(ust_p_bind(fd, ps, a, len));
}

EXPORT int
connect(int fd, const struct sockaddr *a, socklen_t len)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	return ps == NULL ? ust_libc.connect(fd, a, len) : (int)ret(ust_p_connect(fd, ps, a, len));
}

EXPORT int
listen(int fd, int backlog)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	return ps == NULL ? ust_libc.listen(fd, backlog) : (int)ret(ust_p_listen(ps, backlog));
}

EXPORT int
accept4(int fd, struct sockaddr *a, socklen_t *len, int flags)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	return ps == NULL ? ust_libc.accept4(fd, a, len, flags)
			  : (int)ret(ust_p_accept(ps, a, len, flags));
}

EXPORT int
accept(int fd, struct sockaddr *a, socklen_t *len)
{
	return accept4(fd, a, len, 0);
}

static ssize_t
do_send(int fd, struct ust_psock *ps, const void *buf, size_t len, int flags,
	const struct sockaddr *to, socklen_t tolen)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr m = {.msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = &iov,
			   .msg_iovlen = 1};
	return ret(ust_p_send(fd, ps, &m, flags));
}

static ssize_t
do_recv(struct ust_psock *ps, void *buf, size_t len, int flags, struct sockaddr *from,
	socklen_t *fromlen)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr m = {.msg_name = from, .msg_namelen = fromlen != NULL ? *fromlen : 0,
			   .msg_iov = &iov, .msg_iovlen = 1};
	if (from != NULL && fromlen == NULL)
		return ret(-EFAULT);
	ssize_t rc = ust_p_recv(ps, &m, flags);
	if (rc >= 0 && from != NULL)
		*fromlen = m.msg_namelen;
	return ret(rc);
}

EXPORT ssize_t
read(int fd, void *buf, size_t len)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	if (ps == NULL)
		return ust_libc.read(fd, buf, len);
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	return ret(ust_p_read(ps, &m));
}

EXPORT ssize_t
__read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	(void)buflen;
	return read(fd, buf, len);
}

EXPORT ssize_t
write(int fd, const void *buf, size_t len)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	return ps == NULL ? ust_libc.write(fd, buf, len) : do_send(fd, ps, buf, len, 0, NULL, 0);
}

EXPORT ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	return ps == NULL ? ust_libc.recvfrom(fd, buf, len, flags, NULL, NULL)
			  : do_recv(ps, buf, len, flags, NULL, NULL);
}

EXPORT ssize_t
__recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	(void)buflen;
	return recv(fd, buf, len, flags);
}

EXPORT ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	return ps == NULL ? ust_libc.sendto(fd, buf, len, flags, NULL, 0)
			  : do_send(fd, ps, buf, len, flags, NULL, 0);
}

EXPORT ssize_t
recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	return ps == NULL ? ust_libc.recvfrom(fd, buf, len, flags, from, fromlen)
			  : do_recv(ps, buf, len, flags, from, fromlen);
}

EXPORT ssize_t
__recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags, struct sockaddr *from,
	       socklen_t *fromlen)
{
	(void)buflen;
	return recvfrom(fd, buf, len, flags, from, fromlen);
}

EXPORT ssize_t
sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	return ps == NULL ? ust_libc.sendto(fd, buf, len, flags, to, tolen)
			  : do_send(fd, ps, buf, len, flags, to, tolen);
}

/* Fds received over a Unix socket may be ustack sockets: probe them on
 * first use. */
static void
mark_received(const struct msghdr *m)
{
	if (m->msg_controllen == 0 || m->msg_control == NULL)
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int rfd;
			memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			ust_fd_set(rfd, UST_FD_PROBE);
		}
	}
}

EXPORT ssize_t
recvmsg(int fd, struct msghdr *m, int flags)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	if (ps == NULL) {
		ssize_t rc = ust_libc.recvmsg(fd, m, flags);
		if (rc >= 0 && m != NULL)
			mark_received(m);
		return rc;
	}
	if (m == NULL)
		return ret(-EFAULT);
	return ret(ust_p_recv(ps, m, flags));
}

EXPORT ssize_t
sendmsg(int fd, const struct msghdr *m, int flags)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	if (ps == NULL)
		return ust_libc.sendmsg(fd, m, flags);
	return m == NULL ? ret(-EFAULT) : ret(ust_p_send(fd, ps, m, flags));
}

EXPORT int
recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags, struct timespec *timeout)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	if (ps == NULL)
		return ust_libc.recvmmsg(fd, v, n, flags, timeout);
	if (timeout != NULL && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
				timeout->tv_nsec >= 1000000000L))
		return (int)ret(-EINVAL);
	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV;
	return n == 0 ? 0 : (int)ret(ust_p_recvmmsg(ps, v, n, flags, timeout));
}

EXPORT int
sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	if (ps == NULL)
		return ust_libc.sendmmsg(fd, v, n, flags);
	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV;
	return n == 0 ? 0 : (int)ret(ust_p_sendmmsg(fd, ps, v, n, flags));
}

/* syscall(): libuv (dig, node) sends and receives UDP with
 * syscall(SYS_sendmmsg/SYS_recvmmsg) instead of libc's wrappers; on a ustack
 * socket those would reach the AF_UNIX socket that stands for it. Every
 * other number, and every fd that is not ours, goes to the kernel. */
EXPORT long
syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a[6];
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	ust_libc_init();
	if ((nr == SYS_sendmmsg || nr == SYS_recvmmsg) && ours((int)a[0]) != NULL) {
		if (nr == SYS_sendmmsg)
			return sendmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned)a[2], (int)a[3]);
		return recvmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned)a[2], (int)a[3],
				(struct timespec *)a[4]);
	}
	return ust_libc.syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

EXPORT ssize_t
readv(int fd, const struct iovec *iov, int n)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	if (ps == NULL)
		return ust_libc.readv(fd, iov, n);
	if (n < 0 || n > IOV_MAX)
		return ret(-EINVAL);
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
	return ret(ust_p_read(ps, &m));
}

EXPORT ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	if (ps == NULL)
		return ust_libc.writev(fd, iov, n);
	if (n < 0 || n > IOV_MAX)
		return ret(-EINVAL);
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
	return ret(ust_p_writev(fd, ps, &m));
}

EXPORT int
shutdown(int fd, int how)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	return ps == NULL ? ust_libc.shutdown(fd, how) : (int)ret(ust_p_shutdown(ps, how));
}

EXPORT int
getsockname(int fd, struct sockaddr *a, socklen_t *len)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	return ps == NULL ? ust_libc.getsockname(fd, a, len) : (int)ret(ust_p_name(ps, a, len, false));
}

EXPORT int
getpeername(int fd, struct sockaddr *a, socklen_t *len)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	return ps == NULL ? ust_libc.getpeername(fd, a, len) : (int)ret(ust_p_name(ps, a, len, true));
}

EXPORT int
setsockopt(int fd, int level, int name, const void *v, socklen_t len)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	return ps == NULL ? ust_libc.setsockopt(fd, level, name, v, len)
			  : (int)ret(ust_p_setsockopt(ps, level, name, v, len));
}

EXPORT int
getsockopt(int fd, int level, int name, void *v, socklen_t *len)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	return ps == NULL ? ust_libc.getsockopt(fd, level, name, v, len)
			  : (int)ret(ust_p_getsockopt(ps, level, name, v, len));
}

static int
do_fcntl(int fd, int cmd, unsigned long arg)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	/* The kernel fd behind a ustack socket carries O_NONBLOCK and
	 * FD_CLOEXEC; only what this side must know is mirrored. */
	int rc = ust_libc.fcntl(fd, cmd, arg);
	if (rc >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		ust_ep_dup(fd, rc);
	if (ps == NULL || rc < 0)
		return rc;
	switch (cmd) {
	case F_SETFL:
		ust_p_set_nonblock(ps, (arg & O_NONBLOCK) != 0);
		break;
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		ust_fd_set(rc, ps);
		break;
	default:
		break;
	}
	return rc;
}

/* glibc has two names for fcntl (the headers pick fcntl64 for programs
 * built with 64-bit off_t): serve both. */
EXPORT int ust_fcntl(int fd, int cmd, ...) __asm__("fcntl");

EXPORT int
ust_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	unsigned long arg = va_arg(ap, unsigned long);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

/* The same function under glibc's other name. */
EXPORT int ust_fcntl64(int fd, int cmd, ...) __asm__("fcntl64") __attribute__((alias("fcntl")));

EXPORT int
ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	ust_libc_init();
	struct ust_psock *ps = ours(fd);
	if (ps == NULL)
		return ust_libc.ioctl(fd, req, arg);
	switch (req) {
	case FIONREAD:
	case TIOCOUTQ: /* SIOCOUTQ */
		if (arg == NULL)
			return (int)ret(-EFAULT);
		return (int)ret(ust_p_queued(ps, req == TIOCOUTQ, arg));
	case FIONBIO: {
		if (arg == NULL)
			return (int)ret(-EFAULT);
		int rc = ust_libc.ioctl(fd, req, arg);
		if (rc == 0)
			ust_p_set_nonblock(ps, *(int *)arg != 0);
		return rc;
	}
	case FIOCLEX:
	case FIONCLEX:
	case FIOASYNC:
	case FIOSETOWN:
	case SIOCSPGRP:
	case FIOGETOWN:
	case SIOCGPGRP:
		/* The file's own: close-on-exec, SIGIO and its owner. */
		return ust_libc.ioctl(fd, req, arg);
	default: {
		int rc;
		if (ust_if_ioctl(ps->family, req, arg, &rc))
			return (int)ret(rc);
		return (int)ret(ust_p_ioctl_kernel(ps, req, arg));
	}
	}
}

/* glibc has two names for sendfile, as for fcntl: serve both. A ustack
 * socket cannot be read as a file (Linux's sendfile: EINVAL). */
EXPORT ssize_t ust_sendfile(int out_fd, int in_fd, off_t *offset, size_t count) __asm__("sendfile");

EXPORT ssize_t
ust_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	ust_libc_init();
	struct ust_psock *ps = ours(out_fd);
	if (ours(in_fd) != NULL)
		return ret(-EINVAL);
	if (ps == NULL)
		return ust_libc.sendfile(out_fd, in_fd, offset, count);
	return ret(ust_p_sendfile(out_fd, ps, in_fd, offset, count));
}

EXPORT ssize_t ust_sendfile64(int out_fd, int in_fd, off_t *offset, size_t count)
	__asm__("sendfile64") __attribute__((alias("sendfile")));

EXPORT ssize_t
splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len, unsigned int flags)
{
	ust_libc_init();
	struct ust_psock *in = ours(fd_in), *out = ours(fd_out);
	if (in == NULL && out == NULL)
		return ust_libc.splice(fd_in, off_in, fd_out, off_out, len, flags);
	/* One end must be a pipe; neither a pipe nor a socket has an offset. */
	int pipe_fd = in != NULL ? fd_out : fd_in;
	struct stat sb;
	if (in != NULL && out != NULL)
		return ret(-EINVAL);
	if (fstat(pipe_fd, &sb) < 0)
		return ret(-EBADF);
	if (!S_ISFIFO(sb.st_mode))
		return ret(-EINVAL);
	/* do_splice: a pipe has no offset (ESPIPE), a socket none either (EINVAL). */
	if ((in != NULL ? off_out : off_in) != NULL)
		return ret(-ESPIPE);
	if ((in != NULL ? off_in : off_out) != NULL)
		return ret(-EINVAL);
	if (len == 0)
		return 0;
	if (out != NULL)
		return ret(ust_p_splice_in(fd_out, out, fd_in, len, flags));
	return ret(ust_p_splice_out(in, fd_out, len));
}

/* Point newfd at oldfd's socket after the kernel dup'ed the fd itself; a
 * ustack socket newfd held before is closed, as dup2 closes it. */
static int
dup_to(int oldfd, int newfd, struct ust_psock *old_ps, struct ust_psock *prev)
{
	if (prev != NULL) {
		struct ust_psock *last = ust_fd_clear(newfd);
		if (last != NULL) {
			ust_ep_closed(newfd, last);
			ust_p_close(last);
		}
	}
	(void)oldfd;
	if (old_ps != NULL)
		ust_fd_set(newfd, old_ps);
	return newfd;
}

EXPORT int
dup(int fd)
{
	ust_libc_init();
	int nfd = ust_libc.dup(fd);
	struct ust_psock *ps = ours(fd);
	if (nfd >= 0)
		ust_ep_dup(fd, nfd);
	return nfd >= 0 && ps != NULL ? dup_to(fd, nfd, ps, NULL) : nfd;
}

EXPORT int
dup2(int fd, int nfd)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd), *prev = ust_fd_peek(nfd);
	int rc = ust_libc.dup2(fd, nfd);
	if (rc >= 0 && fd != nfd)
		ust_ep_dup(fd, nfd);
	if (fd == nfd || (ps == NULL && prev == NULL))
		return rc;
	return rc >= 0 ? dup_to(fd, rc, ps, prev) : rc;
}

EXPORT int
dup3(int fd, int nfd, int flags)
{
	ust_libc_init();
	struct ust_psock *ps = ours(fd), *prev = ust_fd_peek(nfd);
	int rc = ust_libc.dup3(fd, nfd, flags);
	if (rc >= 0)
		ust_ep_dup(fd, nfd);
	if (ps == NULL && prev == NULL)
		return rc;
	return rc >= 0 ? dup_to(fd, rc, ps, prev) : rc;
}

EXPORT int
poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	ust_libc_init();
	return (int)ret(ust_poll(fds, n, timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000000LL, NULL));
}

EXPORT int
__poll_chk(struct pollfd *fds, nfds_t n, int timeout_ms, size_t fdslen)
{
	(void)fdslen;
	return poll(fds, n, timeout_ms);
}

EXPORT int
ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	ust_libc_init();
	if (ts != NULL && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L))
		return (int)ret(-EINVAL);
	int64_t t = ts == NULL ? -1 : (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
	return (int)ret(ust_poll(fds, n, t, mask));
}

EXPORT int
select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	ust_libc_init();
	if (tv != NULL && (tv->tv_sec < 0 || tv->tv_usec < 0))
		return (int)ret(-EINVAL);
	int64_t t = tv == NULL ? -1 : (int64_t)tv->tv_sec * 1000000000LL + (int64_t)tv->tv_usec * 1000;
	int64_t start = ust_now_ns();
	int rc = ust_select(nfds, r, w, e, t, NULL);
	if (tv != NULL && rc >= 0) {
		/* Linux writes back the time not slept (man 2 select). */
		int64_t left = t - (ust_now_ns() - start);
		if (left < 0)
			left = 0;
		tv->tv_sec = left / 1000000000LL;
		tv->tv_usec = (left % 1000000000LL) / 1000;
	}
	return (int)ret(rc);
}

EXPORT int
pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts, const sigset_t *mask)
{
	ust_libc_init();
	if (ts != NULL && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L))
		return (int)ret(-EINVAL);
	int64_t t = ts == NULL ? -1 : (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
	return (int)ret(ust_select(nfds, r, w, e, t, mask));
}

EXPORT int
epoll_create1(int flags)
{
	ust_libc_init();
	return (int)ret(ust_ep_create(flags));
}

EXPORT int
epoll_create(int size)
{
	return size <= 0 ? (int)ret(-EINVAL) : epoll_create1(0);
}

EXPORT int
epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	ust_libc_init();
	return (int)ret(ust_ep_ctl(epfd, op, fd, ev));
}

EXPORT int
epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout_ms, const sigset_t *mask)
{
	ust_libc_init();
	int64_t t = timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000000LL;
	return (int)ret(ust_ep_wait(epfd, ev, max, t, false, mask));
}

EXPORT int
epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout_ms)
{
	return epoll_pwait(epfd, ev, max, timeout_ms, NULL);
}

EXPORT int
epoll_pwait2(int epfd, struct epoll_event *ev, int max, const struct timespec *ts,
	     const sigset_t *mask)
{
	ust_libc_init();
	if (ts != NULL && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L))
		return (int)ret(-EINVAL);
	int64_t t = ts == NULL ? -1 : (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
	return (int)ret(ust_ep_wait(epfd, ev, max, t, true, mask));
}

/* ustackd's port among the host's interfaces (iface.c). */
EXPORT unsigned int
if_nametoindex(const char *name)
{
	ust_libc_init();
	unsigned idx = ust_if_index(name);
	return idx != 0 ? idx : ust_libc.if_nametoindex(name);
}

EXPORT char *
if_indextoname(unsigned int index, char name[IF_NAMESIZE])
{
	ust_libc_init();
	const char *mine = ust_if_name(index);
	if (mine == NULL)
		return ust_libc.if_indextoname(index, name);
	snprintf(name, IF_NAMESIZE, "%s", mine);
	return name;
}

EXPORT struct if_nameindex *
if_nameindex(void)
{
	ust_libc_init();
	return ust_if_nameindex();
}

EXPORT int
getifaddrs(struct ifaddrs **ifap)
{
	ust_libc_init();
	return (int)ret(ust_if_getifaddrs(ifap));
}
