/*
 * Heap snapshots for the stack targets. The targets are linked with
 * --wrap=malloc,calloc,realloc,free, so every allocation the stack makes
 * passes through here (libFuzzer's own C++ allocations do not).
 *
 * While the world is built, the blocks allocated are recorded. snapshot_take()
 * copies their bytes aside; from then on a block allocated is "fresh" and a
 * block of the snapshot that the stack frees is only poisoned, so its address
 * stays ours. snapshot_restore() frees the fresh blocks, unpoisons the
 * snapshot's and copies their bytes back: the heap is byte for byte what it
 * was after the build, at the same addresses, so the pointers inside it are
 * right again. Every block is a real ASan allocation with its redzones, and a
 * use after a free of a snapshot block hits the poison (use-after-poison).
 *
 * Copying every byte back would cost more than most inputs (the stacks'
 * tables are hundreds of KiB, and an input touches a few pages of them), so
 * the whole pages inside a block of SNAP_PAGED bytes or more are made
 * read-only after the snapshot: the first write to one faults, the handler
 * makes it writable and notes it, and the restore copies back the pages
 * noted. A noted page stays writable (a fault costs more than comparing a
 * page) until SNAP_IDLE restores in a row find it unchanged. Such blocks are
 * allocated on whole pages, so no page is shared with another block; the
 * rounding past the end is poisoned, so an overflow into it is still caught.
 * The blocks of the size the caller names as scratch (the packet pools'
 * buffers, whose free bytes are no state) are not saved at all.
 */
#include <sanitizer/asan_interface.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snapshot.h"

#define SNAP_PAGED (8u * 1024u)
#define SNAP_IDLE 64

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

struct block {
	uint8_t *p;
	size_t size;
	size_t saved;     /* offset of its bytes in `bytes` */
	bool freed;       /* released by the stack since the snapshot */
	bool scratch;     /* not saved */
	uint8_t *lo, *hi; /* its whole pages, read-only between writes (lo == hi: none) */
};

/* Recording: the blocks allocated since tracking began; taken: the fresh ones. */
static struct block *live;
static size_t nlive, caplive;
static bool tracking, taken;
static pthread_t owner; /* the thread that runs the stacks; libFuzzer's others are not ours */
/* The snapshot: blocks sorted by address, and their bytes. */
static struct block *snap;
static size_t nsnap;
static uint8_t *bytes;
/* Writable pages of the paged blocks: written since they were last
 * read-only. */
struct dirty_page {
	uint8_t *pg;
	const struct block *b;
	unsigned idle; /* restores in a row that found it unchanged */
};
static struct dirty_page *dirty;
static size_t ndirty;
static size_t page;
static struct sigaction prev_segv;

static void
live_add(void *p, size_t size)
{
	if (nlive == caplive) {
		caplive = caplive ? 2 * caplive : 256;
		live = __real_realloc(live, caplive * sizeof(*live));
		if (live == NULL)
			abort();
	}
	live[nlive++] = (struct block){.p = p, .size = size};
}

/* Index in `live` (nlive if absent), searching from the newest: most
 * frees are of recent blocks. */
static size_t
live_find(const void *p)
{
	for (size_t i = nlive; i-- > 0;)
		if (live[i].p == p)
			return i;
	return nlive;
}

static struct block *
snap_find(const void *p)
{
	size_t lo = 0, hi = nsnap;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (snap[mid].p == p)
			return &snap[mid];
		if ((const uint8_t *)snap[mid].p < (const uint8_t *)p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool
ours(void)
{
	return tracking && pthread_equal(pthread_self(), owner);
}

static void *
track(void *q, size_t size)
{
	if (q != NULL && ours())
		live_add(q, size);
	return q;
}

static size_t
page_round(size_t n)
{
	return (n + page - 1) & ~(page - 1);
}

void *
__wrap_malloc(size_t n)
{
	if (!ours() || n < SNAP_PAGED)
		return track(__real_malloc(n), n);
	uint8_t *p = aligned_alloc(page, page_round(n));
	if (p != NULL)
		ASAN_POISON_MEMORY_REGION(p + n, page_round(n) - n);
	return track(p, n);
}

void *
__wrap_calloc(size_t k, size_t n)
{
	if (n != 0 && k > SIZE_MAX / n)
		return NULL;
	if (!ours() || k * n < SNAP_PAGED)
		return track(__real_calloc(k, n), k * n);
	void *p = __wrap_malloc(k * n);
	if (p != NULL)
		memset(p, 0, k * n);
	return p;
}

/* A snapshot block the stack lets go of keeps its address until restore. */
static void
retire(struct block *b)
{
	if (b->freed) {
		fprintf(stderr, "snapshot: double free of %p\n", (void *)b->p);
		abort();
	}
	b->freed = true;
	ASAN_POISON_MEMORY_REGION(b->p, b->size);
}

void
__wrap_free(void *p)
{
	if (p == NULL)
		return;
	if (ours()) {
		size_t i = live_find(p);
		if (i < nlive) {
			live[i] = live[--nlive];
		} else if (taken) {
			struct block *b = snap_find(p);
			if (b != NULL) {
				retire(b);
				return;
			}
		}
	}
	__real_free(p);
}

void *
__wrap_realloc(void *p, size_t n)
{
	if (p == NULL)
		return __wrap_malloc(n);
	if (!ours())
		return __real_realloc(p, n);
	struct block *b = taken ? snap_find(p) : NULL;
	if (b != NULL) {
		uint8_t *q = __wrap_malloc(n);
		if (q != NULL) {
			memcpy(q, p, n < b->size ? n : b->size);
			retire(b);
		}
		return q;
	}
	size_t i = live_find(p);
	void *q = __real_realloc(p, n);
	if (q != NULL && i < nlive)
		live[i] = (struct block){.p = q, .size = n};
	return q;
}

void
snapshot_track(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	owner = pthread_self();
	tracking = true;
}

static int
by_addr(const void *x, const void *y)
{
	const struct block *a = x, *b = y;
	return a->p < b->p ? -1 : a->p > b->p;
}

static struct block *
paged_at(const uint8_t *a)
{
	for (size_t i = 0; i < nsnap; i++)
		if (a >= snap[i].lo && a < snap[i].hi)
			return &snap[i];
	return NULL;
}

static void
on_segv(int sig, siginfo_t *si, void *uc)
{
	uint8_t *a = si->si_addr;
	const struct block *b = si->si_code == SEGV_ACCERR ? paged_at(a) : NULL;
	if (b != NULL) {
		uint8_t *pg = (uint8_t *)((uintptr_t)a & ~(uintptr_t)(page - 1));
		if (mprotect(pg, page, PROT_READ | PROT_WRITE) == 0) {
			dirty[ndirty++] = (struct dirty_page){.pg = pg, .b = b};
			return;
		}
	}
	/* Not ours: whoever handled SIGSEGV before (ASan) reports it. */
	if (prev_segv.sa_flags & SA_SIGINFO) {
		prev_segv.sa_sigaction(sig, si, uc);
	} else if (prev_segv.sa_handler != SIG_DFL && prev_segv.sa_handler != SIG_IGN) {
		prev_segv.sa_handler(sig);
	} else {
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	}
}

static void
protect(void)
{
	for (size_t i = 0; i < nsnap; i++)
		if (snap[i].lo < snap[i].hi &&
		    mprotect(snap[i].lo, (size_t)(snap[i].hi - snap[i].lo), PROT_READ) != 0)
			abort();
}

size_t
snapshot_take(size_t scratch_size)
{
	snap = live;
	nsnap = nlive;
	live = NULL;
	nlive = caplive = 0;
	qsort(snap, nsnap, sizeof(*snap), by_addr);
	size_t total = 0, pages = 0;
	for (size_t i = 0; i < nsnap; i++) {
		struct block *b = &snap[i];
		b->scratch = b->size == scratch_size;
		b->saved = total;
		b->lo = b->hi = NULL;
		if (b->scratch)
			continue;
		total += b->size;
		/* Realloc'd blocks are not on whole pages: copied entire. */
		if (b->size >= SNAP_PAGED && (uintptr_t)b->p % page == 0) {
			b->lo = b->p;
			b->hi = b->p + page_round(b->size);
			pages += page_round(b->size) / page;
		}
	}
	bytes = __real_malloc(total ? total : 1);
	dirty = __real_malloc((pages ? pages : 1) * sizeof(*dirty));
	if (bytes == NULL || dirty == NULL)
		abort();
	for (size_t i = 0; i < nsnap; i++)
		if (!snap[i].scratch)
			memcpy(bytes + snap[i].saved, snap[i].p, snap[i].size);
	struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &prev_segv) != 0)
		abort();
	protect();
	taken = true;
	return total;
}

void
snapshot_restore(void)
{
	for (size_t i = 0; i < nlive; i++)
		__real_free(live[i].p);
	nlive = 0;
	for (size_t i = 0; i < nsnap; i++) {
		struct block *b = &snap[i];
		if (b->freed) {
			ASAN_UNPOISON_MEMORY_REGION(b->p, b->size);
			b->freed = false;
		}
		if (!b->scratch && b->lo == b->hi)
			memcpy(b->p, bytes + b->saved, b->size);
	}
	for (size_t i = 0; i < ndirty;) {
		struct dirty_page *d = &dirty[i];
		size_t off = (size_t)(d->pg - d->b->p);
		size_t n = d->b->size - off < page ? d->b->size - off : page;
		if (memcmp(d->pg, bytes + d->b->saved + off, n) != 0) {
			memcpy(d->pg, bytes + d->b->saved + off, n);
			d->idle = 0;
		} else if (++d->idle >= SNAP_IDLE) {
			if (mprotect(d->pg, page, PROT_READ) != 0)
				abort();
			*d = dirty[--ndirty];
			continue;
		}
		i++;
	}
}
