/*
 * struct ust_stack owns every piece of one share-nothing stack instance: the
 * netif, counters, timer wheel, and the per-protocol tables. One instance runs
 * on one core; nothing here is shared or locked.
 *
 * Entry points: ust_stack_create/destroy, ust_stack_poll (rx burst, protocol
 * input, timers, tx flush), ust_stack_input (hand in frames directly: pcap,
 * fuzzers), ust_stack_next_deadline (when to poll again if idle).
 * Modules reach shared services through ust_stack_xmit (queue a finished
 * frame), ust_drop / ust_stat_inc (counting) and ust_stack_rand.
 */
#ifndef UST_STACK_H
#define UST_STACK_H

#include <stdbool.h>
#include <stdint.h>

#include "netif.h"
#include "pkt.h"
#include "sock.h"
#include "stats.h"
#include "sysctl.h"
#include "time.h"
#include "timer.h"

#define UST_STACK_BURST 32
#define UST_STACK_TXQ 256

struct ust_stack_config {
	uint32_t ip4_addr;        /* our IPv4 address, host order */
	uint8_t ip4_prefix;       /* prefix length of the local subnet */
	uint32_t ip4_gateway;     /* default gateway, host order; 0 for none */
	uint64_t seed;            /* seeds ISNs, ephemeral ports and jitter */
	unsigned arp_queue_max;   /* packets waiting for ARP (0: default 64) */
	unsigned frag_mem_max;    /* reassembly bytes held at most (0: default 4 MiB) */
	unsigned tcp_cc;          /* default congestion control, enum ust_tcp_cc */
	bool no_gratuitous_arp;   /* skip the gratuitous ARP at start (replay tests) */
	bool ip6_enable;          /* IPv6 on the port: link-local address, ND, DAD, RS */
	uint8_t ip6_addr[16];     /* our global IPv6 address, :: for none */
	uint8_t ip6_prefix;       /* its on-link prefix length */
	uint8_t ip6_gateway[16];  /* default router, :: to learn one from RAs */
	uint32_t ifindex;         /* the port's interface index (scope ids, IP_PKTINFO); 0 = none */
};

struct ust_arp;
struct ust_ipv4;
struct ust_ipv4_frag;
struct ust_udp;
struct ust_tcp;
struct ust_icmp;
struct ust_pmtu;
struct ust_ipv6_frag;
struct ust_nd6;
struct ust_icmp6;
struct ust_raw;

struct ust_stack {
	struct ust_stack_config cfg; /* as given to ust_stack_create */
	struct ust_sysctl sysctl;    /* tunables new sockets take */
	struct ust_netif *nif;       /* the port we drive */
	uint64_t now_ns;             /* time of the current poll */
	uint64_t rng;                /* splitmix64 state */
	struct ust_stats stats;      /* counters */
	struct ust_timer_wheel timers; /* every protocol deadline */
	struct ust_arp *arp;         /* ARP cache and waiting packets */
	struct ust_ipv4 *ip4;        /* IPv4 ident and loopback queue */
	struct ust_ipv4_frag *ip4_frag; /* IPv4 reassembly */
	struct ust_icmp *icmp;       /* ICMP rate limiting */
	struct ust_pmtu *pmtu;       /* path MTUs per destination, both families */
	struct ust_ipv6_frag *ip6_frag; /* IPv6 reassembly */
	struct ust_nd6 *nd6;         /* neighbor cache, our IPv6 addresses, routers */
	struct ust_icmp6 *icmp6;     /* ICMPv6 rate limiting */
	struct ust_raw *raw;         /* raw and ping sockets */
	struct ust_udp *udp;         /* UDP port table */
	struct ust_tcp *tcp;         /* TCP connection tables */
	struct ust_sock_cred caller; /* rights of the socket call being made */
	unsigned txq_n;              /* frames waiting in txq */
	uint64_t tx_queued;          /* frames ever put in txq */
	uint64_t tx_flushed;         /* tx_queued at the last flush: frames after it wait in txq */
	struct ust_pkt *txq[UST_STACK_TXQ]; /* frames to send at the next flush */
};

struct ust_stack *ust_stack_create(const struct ust_stack_config *cfg, struct ust_netif *nif,
				   uint64_t now_ns);
/* Frees every socket, queued packet and table. */
void ust_stack_destroy(struct ust_stack *st);
/* One turn of the loop: rx a burst, run due timers, flush tx. Returns the
 * number of frames received. */
unsigned ust_stack_poll(struct ust_stack *st, uint64_t now_ns);
/* Process frames the caller already holds (references pass to the stack). */
void ust_stack_input(struct ust_stack *st, struct ust_pkt **pkts, unsigned n, uint64_t now_ns);
/* Run timers due at now_ns (ust_stack_poll does this). */
void ust_stack_timers(struct ust_stack *st, uint64_t now_ns);
/* Deliver what the stack sent to itself (127.0.0.0/8, its own address)
 * now, as Linux's loopback does before the sending call returns. */
void ust_stack_loopback(struct ust_stack *st);
/* Send everything queued by ust_stack_xmit; then the small writes TCP held
 * while their connections' earlier frames waited here go out (autocorking). */
void ust_stack_flush(struct ust_stack *st);
/* When the stack next needs a poll even without input; UST_TIME_NEVER if idle. */
uint64_t ust_stack_next_deadline(struct ust_stack *st);

/* Queue a finished frame for transmission (flushes when the queue fills). */
void ust_stack_xmit(struct ust_stack *st, struct ust_pkt *pkt);
/*
 * Buffers only replies may take: when connections and queues hold the rest of
 * the pool, the host still answers ARP/ND, SYNs (SYN-ACK) and strays (RST).
 */
#define UST_STACK_PKT_RESERVE 16

/* A packet to build a frame in, from the netif. NULL counts UST_DROP_NO_BUFFER;
 * it leaves the reserve alone (a refusal for that counts UST_STAT_PKT_RESERVE_KEPT). */
struct ust_pkt *ust_stack_alloc(struct ust_stack *st);
/* The same for a reply that keeps the host reachable: it may use the reserve. */
struct ust_pkt *ust_stack_alloc_reply(struct ust_stack *st);
uint64_t ust_stack_rand(struct ust_stack *st);

static inline void
ust_stat_inc(struct ust_stack *st, enum ust_stat what)
{
	st->stats.stat[what]++;
}

static inline void
ust_stat_add(struct ust_stack *st, enum ust_stat what, uint64_t n)
{
	st->stats.stat[what] += n;
}

/* Count the drop and free the packet (if any). Always returns `why`. */
enum ust_drop ust_drop(struct ust_stack *st, struct ust_pkt *pkt, enum ust_drop why);

#endif
