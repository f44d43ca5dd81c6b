/*
 * segcost: the stack's instructions per in-order TCP data segment and its
 * ACK, counted by callgrind (exact, unlike a clock on a shared machine).
 *
 * Two stacks over a memlink in one process; one connection; after a
 * warm-up, SEGS full-sized segments go A -> B, one at a time, the way
 * ustackd serves a program: the bytes are copied into the send ring
 * through send spans and out of the receive ring through receive spans,
 * outside the counted function. Everything the stacks do (commit, output,
 * the link, input, the ACK, consume) runs inside stack_work(), which
 * bench/run.sh passes to callgrind's --toggle-collect. Prints the number
 * of data segments and ACKs the stacks sent while counted.
 *   segcost [SEGS]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/netif/memlink.h"
#include "stack/sock.h"
#include "stack/stack.h"

#define IP_A 0xc6120001u
#define IP_B 0xc6120002u
#define PORT 5001

struct pair {
	struct ust_memlink *link; /* the wire */
	struct ust_stack *a, *b;  /* sender, receiver */
	struct ust_sock *tx, *rx; /* the connection's two ends */
	uint64_t now;             /* virtual time */
	size_t mss;               /* bytes per segment */
};

/* Time moves 1 us per step; the link has no delay, so a frame sent is
 * received by the other side's next poll. */
static void
poll_both(struct pair *p)
{
	p->now += 1000;
	ust_memlink_set_time(p->link, p->now);
	ust_stack_poll(p->b, p->now);
	ust_stack_poll(p->a, p->now);
}

/* The counted part of one segment's life: the sender takes the bytes
 * the program copied, both stacks poll until the ACK is back, and the
 * receiver consumes what the program copied out. noinline: callgrind
 * toggles on its entry and exit. */
__attribute__((noinline)) static void
stack_work(struct pair *p, int phase, size_t n)
{
	if (phase == 0) {
		ust_sock_send_commit(p->tx, n, 0);
		ust_stack_flush(p->a);
		poll_both(p);
	} else {
		ust_sock_recv_consume(p->rx, n);
		ust_stack_flush(p->b);
		p->now += 1000;
		ust_memlink_set_time(p->link, p->now);
		ust_stack_poll(p->a, p->now);
	}
}

static int
one_segment(struct pair *p, uint8_t *scratch)
{
	struct ust_sock_span sp;
	ssize_t n = ust_sock_send_spans(p->tx, p->mss, &sp);
	if (n <= 0)
		return n == 0 ? -EAGAIN : (int)n;
	memcpy(sp.p[0], scratch, sp.len[0]);
	if (sp.len[1] != 0)
		memcpy(sp.p[1], scratch, sp.len[1]);
	stack_work(p, 0, (size_t)n);
	ssize_t r = ust_sock_recv_spans(p->rx, p->mss, &sp);
	if (r <= 0)
		return r == 0 ? -EAGAIN : (int)r;
	memcpy(scratch, sp.p[0], sp.len[0]);
	if (sp.len[1] != 0)
		memcpy(scratch, sp.p[1], sp.len[1]);
	stack_work(p, 1, (size_t)r);
	return 0;
}

int
main(int argc, char **argv)
{
	long segs = argc > 1 ? atol(argv[1]) : 10000;
	struct pair p = {.now = UST_NS_PER_S};
	p.link = ust_memlink_create(4096, 1);
	struct ust_stack_config ca = {.ip4_addr = IP_A, .ip4_prefix = 24, .seed = 3};
	struct ust_stack_config cb = {.ip4_addr = IP_B, .ip4_prefix = 24, .seed = 4};
	p.a = ust_stack_create(&ca, ust_memlink_netif(p.link, 0), p.now);
	p.b = ust_stack_create(&cb, ust_memlink_netif(p.link, 1), p.now);
	struct ust_sock *l, *c;
	struct ust_sockaddr la = {.family = UST_AF_INET, .port = PORT};
	struct ust_sockaddr ra = {.family = UST_AF_INET, .port = PORT, .addr4 = IP_B};
	if (p.link == NULL || p.a == NULL || p.b == NULL || ust_sock_open(p.b, UST_AF_INET, UST_SOCK_STREAM, &l) < 0 ||
	    ust_sock_bind(l, &la) < 0 || ust_sock_listen(l, 8) < 0 ||
	    ust_sock_open(p.a, UST_AF_INET, UST_SOCK_STREAM, &c) < 0) {
		fprintf(stderr, "segcost: cannot set up the two stacks\n");
		return 1;
	}
	int one = 1;
	ust_sock_setopt(c, UST_SOL_TCP, UST_TCP_NODELAY, &one, sizeof(one));
	int rc = ust_sock_connect(c, &ra);
	if (rc < 0 && rc != -EINPROGRESS) {
		fprintf(stderr, "segcost: connect: %s\n", strerror(-rc));
		return 1;
	}
	struct ust_sockaddr peer;
	for (int i = 0; i < 1000 && ust_sock_accept(l, &p.rx, &peer) < 0; i++)
		poll_both(&p);
	if (p.rx == NULL) {
		fprintf(stderr, "segcost: the connection did not establish\n");
		return 1;
	}
	p.tx = c;
	int mss = 0;
	size_t mlen = sizeof(mss);
	ust_sock_getopt(c, UST_SOL_TCP, UST_TCP_MAXSEG, &mss, &mlen);
	p.mss = (size_t)mss;
	uint8_t *scratch = calloc(1, p.mss);
	for (int i = 0; i < 100; i++)
		if (one_segment(&p, scratch) < 0) {
			fprintf(stderr, "segcost: warm-up transfer stalled\n");
			return 1;
		}
	uint64_t data0 = p.a->stats.stat[UST_STAT_TCP_SEG_OUT];
	uint64_t ack0 = p.b->stats.stat[UST_STAT_TCP_SEG_OUT];
	for (long i = 0; i < segs; i++)
		if (one_segment(&p, scratch) < 0) {
			fprintf(stderr, "segcost: transfer stalled at segment %ld\n", i);
			return 1;
		}
	printf("segments %llu acks %llu mss %zu\n",
	       (unsigned long long)(p.a->stats.stat[UST_STAT_TCP_SEG_OUT] - data0),
	       (unsigned long long)(p.b->stats.stat[UST_STAT_TCP_SEG_OUT] - ack0), p.mss);
	free(scratch);
	return 0;
}
