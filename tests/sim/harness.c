/* The simulation harness of harness.h. */
#include "harness.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stack/tcp/tcp_var.h"
#include "stack/wire/csum.h"
#include "stack/wire/eth.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/tcp.h"

struct sim *
sim_new(uint64_t seed, const struct ust_memlink_impair *a_to_b, const struct ust_memlink_impair *b_to_a)
{
	struct sim *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->seed = seed;
	s->now = UST_NS_PER_S;
	s->link = ust_memlink_create(8192, seed);
	assert_non_null(s->link);
	if (a_to_b != NULL)
		ust_memlink_set_impair(s->link, 0, a_to_b);
	if (b_to_a != NULL)
		ust_memlink_set_impair(s->link, 1, b_to_a);
	struct ust_stack_config ca = {.ip4_addr = SIM_IP_A, .ip4_prefix = 24, .seed = seed * 2 + 1};
	struct ust_stack_config cb = {.ip4_addr = SIM_IP_B, .ip4_prefix = 24, .seed = seed * 2 + 2};
	s->a = ust_stack_create(&ca, ust_memlink_netif(s->link, 0), s->now);
	s->b = ust_stack_create(&cb, ust_memlink_netif(s->link, 1), s->now);
	assert_non_null(s->a);
	assert_non_null(s->b);
	return s;
}

void
sim_free(struct sim *s)
{
	ust_stack_destroy(s->a);
	ust_stack_destroy(s->b);
	ust_memlink_set_time(s->link, UINT64_MAX - 1);
	struct ust_pkt *p[32];
	for (unsigned e = 0; e < 2; e++) {
		struct ust_netif *n = ust_memlink_netif(s->link, e);
		uint16_t k;
		while ((k = n->ops->rx_burst(n, p, 32)) > 0)
			ust_pkt_free_bulk(p, k);
	}
	if (ust_memlink_in_use(s->link, 0) != 0 || ust_memlink_in_use(s->link, 1) != 0)
		fail_msg("seed %llu: packet buffers leaked: %u + %u", (unsigned long long)s->seed,
			 ust_memlink_in_use(s->link, 0), ust_memlink_in_use(s->link, 1));
	ust_memlink_destroy(s->link);
	free(s);
}

static void
poll_both(struct sim *s)
{
	ust_memlink_set_time(s->link, s->now);
	unsigned n;
	do {
		n = ust_stack_poll(s->a, s->now);
		n += ust_stack_poll(s->b, s->now);
	} while (n > 0);
}

bool
sim_step(struct sim *s, uint64_t limit)
{
	poll_both(s);
	uint64_t next = ust_memlink_next_delivery(s->link);
	uint64_t da = ust_stack_next_deadline(s->a), db = ust_stack_next_deadline(s->b);
	if (da < next)
		next = da;
	if (db < next)
		next = db;
	if (next <= s->now)
		next = s->now + 1;
	if (next > limit)
		return false;
	s->now = next;
	poll_both(s);
	return true;
}

bool
sim_run_until(struct sim *s, bool (*pred)(void *), void *arg, uint64_t max_ns)
{
	uint64_t limit = s->now + max_ns;
	while (!pred(arg)) {
		if (!sim_step(s, limit)) {
			s->now = limit;
			poll_both(s);
			return pred(arg);
		}
	}
	return true;
}

bool
sim_flow_pump(void *arg)
{
	struct sim_flow *f = arg;
	static char buf[65536];
	while (f->sent < f->total) {
		size_t n = f->total - f->sent < sizeof(buf) ? f->total - f->sent : sizeof(buf);
		ssize_t k = ust_sock_send(f->c, buf, n, 0);
		if (k <= 0)
			break;
		f->sent += (size_t)k;
	}
	ssize_t k;
	while ((k = ust_sock_recv(f->v, buf, sizeof(buf), 0)) > 0)
		f->got += (size_t)k;
	return f->got >= f->total;
}

void
sim_run_for(struct sim *s, uint64_t ns)
{
	uint64_t limit = s->now + ns;
	while (sim_step(s, limit))
		;
	s->now = limit;
	poll_both(s);
}

struct ust_sockaddr
sim_addr(uint32_t ip, uint16_t port)
{
	struct ust_sockaddr a = {.family = UST_AF_INET, .addr4 = ip, .port = port};
	return a;
}

struct ust_sock *
sim_listen(struct ust_stack *st, uint16_t port, int backlog)
{
	struct ust_sock *l;
	assert_int_equal(ust_sock_open(st, UST_AF_INET, UST_SOCK_STREAM, &l), 0);
	struct ust_sockaddr a = sim_addr(0, port);
	assert_int_equal(ust_sock_bind(l, &a), 0);
	assert_int_equal(ust_sock_listen(l, backlog), 0);
	return l;
}

struct pair_wait {
	struct ust_sock *cli; /* connecting */
	struct ust_sock *l;   /* listener */
	struct ust_sock *srv; /* accepted */
};

static bool
pair_ready(void *arg)
{
	struct pair_wait *w = arg;
	if (w->srv == NULL)
		ust_sock_accept(w->l, &w->srv, NULL);
	return w->srv != NULL && (ust_sock_events(w->cli) & UST_EV_OUT);
}

void
sim_connect_pair(struct sim *s, uint16_t port, struct ust_sock **cli, struct ust_sock **srv)
{
	struct ust_sock *l = sim_listen(s->b, port, 16);
	struct ust_sock *c;
	assert_int_equal(ust_sock_open(s->a, UST_AF_INET, UST_SOCK_STREAM, &c), 0);
	struct ust_sockaddr to = sim_addr(SIM_IP_B, port);
	assert_int_equal(ust_sock_connect(c, &to), -EINPROGRESS);
	struct pair_wait w = {.cli = c, .l = l};
	if (!sim_run_until(s, pair_ready, &w, 120 * UST_NS_PER_S))
		fail_msg("seed %llu: connection not established", (unsigned long long)s->seed);
	ust_sock_close(l);
	*cli = c;
	*srv = w.srv;
}

int
sim_tcp_state(struct ust_sock *sk)
{
	return ((struct tcpcb *)sk)->state;
}

uint64_t
sim_fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void
sim_inject_tcp(struct sim *s, unsigned from, const struct sim_seg *g)
{
	uint8_t f[14 + 20 + 60 + 1500];
	assert_true(g->opt_len % 4 == 0 && g->opt_len <= 40 && g->len <= 1500);
	struct ust_netif *me = ust_memlink_netif(s->link, from), *peer = ust_memlink_netif(s->link, 1 - from);
	ust_eth_build(f, peer->mac, me->mac, UST_ETHERTYPE_IPV4);
	uint16_t hlen = (uint16_t)(20 + g->opt_len), seg = (uint16_t)(hlen + g->len);
	struct ust_ipv4_view ip = {.tot_len = (uint16_t)(20 + seg), .id = 1, .ttl = 64,
				   .proto = UST_IPPROTO_TCP, .src = g->src, .dst = g->dst};
	ust_ipv4_build(f + 14, &ip, false);
	if (g->opt_len > 0)
		memcpy(f + 54, g->opt, g->opt_len);
	if (g->len > 0)
		memcpy(f + 34 + hlen, g->data, g->len);
	struct ust_tcp_view th = {.sport = g->sport, .dport = g->dport, .seq = g->seq, .ack = g->ack,
				  .hlen = (uint8_t)hlen, .flags = g->flags, .win = g->win};
	ust_tcp_build(f + 34, &th, seg, ust_csum_pseudo4(g->src, g->dst, UST_IPPROTO_TCP, seg), false);
	assert_int_equal(ust_memlink_inject(s->link, from, f, 34u + seg), 0);
}
