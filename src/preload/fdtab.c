/*
 * Which fds are ustack sockets: a two-level table indexed by fd, so the
 * question every read/write/close of the program asks costs two loads.
 * Chunks are allocated on first use and never freed, so a reader racing a
 * writer sees either the old or the new entry, never freed memory.
 */
#include <stdlib.h>

#include "preload.h"

#define CHUNK_BITS 12
#define CHUNK (1u << CHUNK_BITS)
#define CHUNKS 1024u /* fds up to 4M */

static _Atomic(struct ust_psock *) *_Atomic chunks[CHUNKS];

struct ust_psock *
ust_fd_get(int fd)
{
	if (fd < 0 || (unsigned)fd >= CHUNK * CHUNKS)
		return NULL;
	_Atomic(struct ust_psock *) *c =
		atomic_load_explicit(&chunks[(unsigned)fd >> CHUNK_BITS], memory_order_acquire);
	if (c == NULL)
		return NULL;
	return atomic_load_explicit(&c[(unsigned)fd & (CHUNK - 1)], memory_order_acquire);
}

void
ust_fd_set(int fd, struct ust_psock *ps)
{
	if (fd < 0 || (unsigned)fd >= CHUNK * CHUNKS)
		return;
	unsigned ci = (unsigned)fd >> CHUNK_BITS;
	_Atomic(struct ust_psock *) *c = atomic_load(&chunks[ci]);
	if (c == NULL) {
		_Atomic(struct ust_psock *) *n = calloc(CHUNK, sizeof(*n));
		if (n == NULL)
			return;
		_Atomic(struct ust_psock *) *expect = NULL;
		if (atomic_compare_exchange_strong(&chunks[ci], &expect, n))
			c = n;
		else {
			free(n);
			c = expect;
		}
	}
	atomic_fetch_add(&ps->refs, 1);
	struct ust_psock *old = atomic_exchange(&c[(unsigned)fd & (CHUNK - 1)], ps);
	if (old != NULL)
		atomic_fetch_sub(&old->refs, 1);
}

struct ust_psock *
ust_fd_clear(int fd)
{
	if (fd < 0 || (unsigned)fd >= CHUNK * CHUNKS)
		return NULL;
	_Atomic(struct ust_psock *) *c = atomic_load(&chunks[(unsigned)fd >> CHUNK_BITS]);
	if (c == NULL)
		return NULL;
	struct ust_psock *ps = atomic_exchange(&c[(unsigned)fd & (CHUNK - 1)], NULL);
	if (ps == NULL || atomic_fetch_sub(&ps->refs, 1) != 1)
		return NULL;
	return ps;
}

void
ust_fd_foreach(void (*fn)(int fd, struct ust_psock *ps))
{
	for (unsigned ci = 0; ci < CHUNKS; ci++) {
		_Atomic(struct ust_psock *) *c = atomic_load(&chunks[ci]);
		for (unsigned i = 0; c != NULL && i < CHUNK; i++) {
			struct ust_psock *ps = atomic_load(&c[i]);
			if (ps != NULL)
				fn((int)(ci * CHUNK + i), ps);
		}
	}
}
