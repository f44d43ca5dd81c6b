/*
 * Which fds are ustack sockets: a two-level table indexed by fd, so the
 * question every read/write/close of the program asks costs two loads.
 * Chunks are allocated on first use and never freed, so a reader racing a
 * writer sees either the old or the new entry, never freed memory.
 *
 * An entry is NULL (a kernel fd), a socket, or UST_FD_PROBE: an fd that
 * may be a ustack socket this process did not make, because it was there
 * when the program started (exec) or came in an SCM_RIGHTS message. Its
 * first use asks ustackd (sock.c's ust_p_adopt), and the answer replaces
 * the mark until the fd is closed. Only AF_UNIX sockets are marked, so a
 * program's files and pipes never cost a probe.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "preload.h"

#define CHUNK_BITS 12
#define CHUNK (1u << CHUNK_BITS)
#define CHUNKS 1024u /* fds up to 4M */

static _Atomic(struct ust_psock *) *_Atomic chunks[CHUNKS];

static _Atomic(struct ust_psock *) *
slot(int fd, bool make)
{
	if (fd < 0 || (unsigned)fd >= CHUNK * CHUNKS)
		return NULL;
	unsigned ci = (unsigned)fd >> CHUNK_BITS;
	_Atomic(struct ust_psock *) *c = atomic_load_explicit(&chunks[ci], memory_order_acquire);
	if (c == NULL && make) {
		_Atomic(struct ust_psock *) *n = calloc(CHUNK, sizeof(*n));
		if (n == NULL)
			return NULL;
		_Atomic(struct ust_psock *) *expect = NULL;
		if (atomic_compare_exchange_strong(&chunks[ci], &expect, n))
			c = n;
		else {
			free(n);
			c = expect;
		}
	}
	return c == NULL ? NULL : &c[(unsigned)fd & (CHUNK - 1)];
}

struct ust_psock *
ust_fd_peek(int fd)
{
	_Atomic(struct ust_psock *) *e = slot(fd, false);
	return e == NULL ? NULL : atomic_load_explicit(e, memory_order_acquire);
}

struct ust_psock *
ust_fd_get(int fd)
{
	struct ust_psock *ps = ust_fd_peek(fd);
	if (__builtin_expect(ps == UST_FD_PROBE, 0))
		return ust_p_adopt(fd);
	return ps;
}

static void
unref(struct ust_psock *old)
{
	if (old != NULL && old != UST_FD_PROBE)
		atomic_fetch_sub(&old->refs, 1);
}

void
ust_fd_set(int fd, struct ust_psock *ps)
{
	_Atomic(struct ust_psock *) *e = slot(fd, true);
	if (e == NULL)
		return;
	if (ps != NULL && ps != UST_FD_PROBE)
		atomic_fetch_add(&ps->refs, 1);
	unref(atomic_exchange(e, ps));
}

bool
ust_fd_swap(int fd, struct ust_psock *old, struct ust_psock *ps)
{
	_Atomic(struct ust_psock *) *e = slot(fd, false);
	if (e == NULL)
		return false;
	if (ps != NULL && ps != UST_FD_PROBE)
		atomic_fetch_add(&ps->refs, 1);
	if (atomic_compare_exchange_strong(e, &old, ps)) {
		unref(old);
		return true;
	}
	unref(ps);
	return false;
}

static struct ust_psock *
clear_slot(_Atomic(struct ust_psock *) *e)
{
	struct ust_psock *ps = atomic_exchange(e, NULL);
	if (ps == NULL || ps == UST_FD_PROBE || atomic_fetch_sub(&ps->refs, 1) != 1)
		return NULL;
	return ps;
}

struct ust_psock *
ust_fd_clear(int fd)
{
	_Atomic(struct ust_psock *) *e = slot(fd, false);
	return e == NULL ? NULL : clear_slot(e);
}

void
ust_fd_clear_range(unsigned lo, unsigned hi, void (*fn)(struct ust_psock *ps))
{
	for (unsigned ci = lo >> CHUNK_BITS; ci < CHUNKS && ci <= hi >> CHUNK_BITS; ci++) {
		_Atomic(struct ust_psock *) *c = atomic_load(&chunks[ci]);
		for (unsigned i = 0; c != NULL && i < CHUNK; i++) {
			unsigned fd = ci * CHUNK + i;
			if (fd < lo || fd > hi || atomic_load(&c[i]) == NULL)
				continue;
			struct ust_psock *last = clear_slot(&c[i]);
			if (last != NULL)
				fn(last);
		}
	}
}

void
ust_fd_foreach(void (*fn)(int fd, struct ust_psock *ps))
{
	for (unsigned ci = 0; ci < CHUNKS; ci++) {
		_Atomic(struct ust_psock *) *c = atomic_load(&chunks[ci]);
		for (unsigned i = 0; c != NULL && i < CHUNK; i++) {
			struct ust_psock *ps = atomic_load(&c[i]);
			if (ps != NULL && ps != UST_FD_PROBE)
				fn((int)(ci * CHUNK + i), ps);
		}
	}
}

void
ust_fd_scan_inherited(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		struct stat sb;
		int dom = 0;
		socklen_t dl = sizeof(dom);
		if (*end != '\0' || end == de->d_name || fd == dirfd(d) || fstat((int)fd, &sb) < 0 ||
		    !S_ISSOCK(sb.st_mode) ||
		    ust_libc.getsockopt((int)fd, SOL_SOCKET, SO_DOMAIN, &dom, &dl) < 0 || dom != AF_UNIX)
			continue;
		ust_fd_set((int)fd, UST_FD_PROBE);
	}
	closedir(d);
}
