/*
 * Two stacks over a memlink for L2-L4 unit tests: A = 198.18.0.2 (end 0),
 * B = 198.18.0.1 (end 1), /24, virtual time. Frames can be injected as if B
 * sent them and every frame A sends is captured.
 */
#ifndef L3_FIXTURE_H
#define L3_FIXTURE_H

#include <stdint.h>

#include "stack/netif/memlink.h"
#include "stack/sock.h"
#include "stack/stack.h"

#define IP_A 0xc6120002u /* 198.18.0.2 */
#define IP_B 0xc6120001u /* 198.18.0.1 */
#define CAP_MAX 64

struct fx {
	struct ust_memlink *link;      /* the wire */
	struct ust_stack *a;           /* stack under test */
	struct ust_stack *b;           /* its peer */
	uint64_t now;                  /* virtual time */
	unsigned ncap;                 /* frames captured from A */
	uint8_t cap[CAP_MAX][2048];    /* their bytes */
	uint32_t cap_len[CAP_MAX];     /* their lengths */
};

/* Each stack's port index (scope ids, IP_PKTINFO): different, so a test
 * sees whose it got. */
#define FX_IFINDEX_A 2
#define FX_IFINDEX_B 3

struct fx *fx_new(uint64_t seed);
/* The same with IPv6 on both stacks: A has global address a6, B b6, /64
 * (DAD runs at creation: fx_run past a second before using them). */
struct fx *fx_new6(uint64_t seed, const uint8_t a6[16], const uint8_t b6[16]);
/* Destroys both stacks and asserts every buffer came back. */
void fx_free(struct fx *f);
/* Advance virtual time by dt, polling both stacks as events fall due. */
void fx_run(struct fx *f, uint64_t dt_ns);
/* Send a raw IPv4 datagram (header included) from B's MAC to A's. */
void fx_inject_ip(struct fx *f, const uint8_t *ip, uint32_t len);
/* Send a raw IPv6 datagram (header included) from B's MAC to A's. */
void fx_inject_ip6(struct fx *f, const uint8_t *ip, uint32_t len);
/* Build an IPv4 header + payload into out; returns total length. */
uint32_t fx_build_ip(uint8_t *out, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id,
		     uint16_t frag_off, int mf, const uint8_t *payload, uint32_t plen);
/* Index of the last captured frame of `ethertype` (and IP proto if nonzero), or -1. */
int fx_find(const struct fx *f, uint16_t ethertype, uint8_t proto);

#endif
