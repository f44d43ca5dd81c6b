/*
 * Two stacks over a memlink in virtual time, for TCP simulation tests:
 * A = 198.18.0.1 (end 0, client side), B = 198.18.0.2 (end 1, server side).
 * Time jumps to the next event (a frame due, a timer due); never wall time.
 * Every failure message carries the seed.
 */
#ifndef SIM_HARNESS_H
#define SIM_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "stack/netif/memlink.h"
#include "stack/sock.h"
#include "stack/stack.h"

#define SIM_IP_A 0xc6120001u
#define SIM_IP_B 0xc6120002u

struct sim {
	struct ust_memlink *link; /* the wire */
	struct ust_stack *a;      /* client side */
	struct ust_stack *b;      /* server side */
	uint64_t now;             /* virtual time, ns */
	uint64_t seed;            /* for messages */
};

struct sim *sim_new(uint64_t seed, const struct ust_memlink_impair *a_to_b,
		    const struct ust_memlink_impair *b_to_a);
/* Destroys both stacks; asserts every packet buffer came back. */
void sim_free(struct sim *s);
/* Advance to the next event (or to `limit`); returns false if none before limit. */
bool sim_step(struct sim *s, uint64_t limit);
/* Run until pred(arg) is true or `max_ns` of virtual time passed; returns pred. */
bool sim_run_until(struct sim *s, bool (*pred)(void *), void *arg, uint64_t max_ns);
void sim_run_for(struct sim *s, uint64_t ns);

/* One-way bulk flow: `total` bytes from c to v. */
struct sim_flow {
	struct ust_sock *c, *v; /* sender, receiver */
	size_t total;           /* bytes to move */
	size_t sent, got;       /* bytes sent, bytes read */
};
/* Send what fits, read what came; true once v has read them all (a
 * sim_run_until predicate). */
bool sim_flow_pump(void *arg);

struct ust_sock *sim_listen(struct ust_stack *st, uint16_t port, int backlog);
/* Client connect + server accept, run until both are established. */
void sim_connect_pair(struct sim *s, uint16_t port, struct ust_sock **cli, struct ust_sock **srv);
struct ust_sockaddr sim_addr(uint32_t ip, uint16_t port);
int sim_tcp_state(struct ust_sock *sk);

/* A TCP segment to inject as if one end sent it (addresses host order). */
struct sim_seg {
	uint32_t src, dst;       /* IPv4 addresses */
	uint16_t sport, dport;   /* ports */
	uint32_t seq, ack;       /* absolute */
	uint8_t flags;           /* UST_TCP_* */
	uint16_t win;            /* raw window field */
	const uint8_t *opt;      /* option bytes, a multiple of 4 */
	uint8_t opt_len;         /* their length */
	const uint8_t *data;     /* payload */
	uint16_t len;            /* its length */
};
void sim_inject_tcp(struct sim *s, unsigned from, const struct sim_seg *g);

/* 64-bit FNV-1a, continued from h (start with SIM_FNV_INIT). */
#define SIM_FNV_INIT 0xcbf29ce484222325ull
uint64_t sim_fnv(uint64_t h, const uint8_t *p, size_t n);

#endif
