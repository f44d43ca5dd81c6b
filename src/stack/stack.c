/*
 * One stack instance: module set-up and tear-down, the poll turn (rx burst →
 * protocol input → timers → tx flush), the transmit queue, counters and the
 * PRNG. Reads no clock: every entry point takes now_ns.
 */
#include "stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arp.h"
#include "eth.h"
#include "icmp.h"
#include "icmp6.h"
#include "ipv4.h"
#include "ipv6.h"
#include "nd6.h"
#include "pmtu.h"
#include "raw.h"
#include "tcp/tcp.h"
#include "udp.h"

struct ust_stack *
ust_stack_create(const struct ust_stack_config *cfg, struct ust_netif *nif, uint64_t now_ns)
{
	struct ust_stack *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	st->cfg = *cfg;
	if (st->cfg.arp_queue_max == 0)
		st->cfg.arp_queue_max = 64;
	if (st->cfg.frag_mem_max == 0)
		st->cfg.frag_mem_max = 4u << 20;
	ust_sysctl_defaults(&st->sysctl);
	if (cfg->tcp_cc == UST_TCP_CC_NEWRENO)
		ust_sysctl_set(&st->sysctl, "net.ipv4.tcp_congestion_control", "reno");
	st->nif = nif;
	st->now_ns = now_ns;
	st->rng = cfg->seed ^ 0x9e3779b97f4a7c15ull;
	st->caller = (struct ust_sock_cred){.net_admin = true, .net_raw = true};
	ust_timer_wheel_init(&st->timers, now_ns);
	if (ust_pmtu_init(st) < 0 || ust_arp_init(st) < 0 || ust_ipv4_init(st) < 0 || ust_icmp_init(st) < 0 ||
	    ust_nd6_init(st) < 0 || ust_ipv6_init(st) < 0 || ust_icmp6_init(st) < 0 ||
	    ust_raw_init(st) < 0 || ust_udp_init(st) < 0 || ust_tcp_init(st) < 0) {
		ust_stack_destroy(st);
		return NULL;
	}
	if (!cfg->no_gratuitous_arp && cfg->ip4_addr != 0) {
		ust_arp_announce(st);
		ust_stack_flush(st);
	}
	ust_nd6_start(st);
	ust_stack_flush(st);
	return st;
}

void
ust_stack_destroy(struct ust_stack *st)
{
	if (st == NULL)
		return;
	/* Sockets first: closing them may queue segments and touch IP/ARP. */
	ust_tcp_fini(st);
	ust_udp_fini(st);
	ust_raw_fini(st);
	ust_icmp_fini(st);
	ust_icmp6_fini(st);
	ust_ipv6_fini(st);
	ust_nd6_fini(st);
	ust_ipv4_fini(st);
	ust_arp_fini(st);
	ust_pmtu_fini(st);
	ust_pkt_free_bulk(st->txq, st->txq_n);
	st->txq_n = 0;
	free(st);
}

uint64_t
ust_stack_rand(struct ust_stack *st)
{
	/* splitmix64: small state, good enough for ports and jitter; ISNs add a
	 * keyed hash on top (RFC 6528). */
	uint64_t z = (st->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

enum ust_drop
ust_drop(struct ust_stack *st, struct ust_pkt *pkt, enum ust_drop why)
{
	st->stats.drop[why]++;
	if (pkt != NULL)
		ust_pkt_free(pkt);
	return why;
}

struct ust_pkt *
ust_stack_alloc(struct ust_stack *st)
{
	if (st->nif->ops->avail != NULL && st->nif->ops->avail(st->nif) <= UST_STACK_PKT_RESERVE) {
		st->stats.stat[UST_STAT_PKT_RESERVE_KEPT]++;
		st->stats.drop[UST_DROP_NO_BUFFER]++;
		return NULL;
	}
	struct ust_pkt *pkt = ust_netif_alloc(st->nif);
	if (pkt == NULL)
		st->stats.drop[UST_DROP_NO_BUFFER]++;
	return pkt;
}

struct ust_pkt *
ust_stack_alloc_reply(struct ust_stack *st)
{
	if (st->nif->ops->avail != NULL && st->nif->ops->avail(st->nif) <= UST_STACK_PKT_RESERVE)
		st->stats.stat[UST_STAT_PKT_RESERVE_USED]++;
	struct ust_pkt *pkt = ust_netif_alloc(st->nif);
	if (pkt == NULL)
		st->stats.drop[UST_DROP_NO_BUFFER]++;
	return pkt;
}

/* Hand txq to the netif: for the frames in it, the "transmit completion". */
static void
flush_txq(struct ust_stack *st)
{
	unsigned done = 0;
	while (done < st->txq_n) {
		uint16_t n = (uint16_t)(st->txq_n - done > UINT16_MAX ? UINT16_MAX : st->txq_n - done);
		uint16_t sent = ust_netif_tx(st->nif, st->txq + done, n);
		for (uint16_t i = 0; i < sent; i++) {
			st->stats.stat[UST_STAT_TX_PKTS]++;
			st->stats.stat[UST_STAT_TX_BYTES] += st->txq[done + i]->pkt_len;
		}
		done += sent;
		if (sent < n) {
			/* The netif is full: what it refused is lost, and counted. */
			for (unsigned i = done; i < st->txq_n; i++)
				ust_drop(st, st->txq[i], UST_DROP_TX_FULL);
			break;
		}
	}
	st->txq_n = 0;
	st->tx_flushed = st->tx_queued;
}

void
ust_stack_flush(struct ust_stack *st)
{
	/* What autocorked connections send now goes out in this flush too
	 * (they do not cork again: only a send call corks). */
	do {
		flush_txq(st);
		ust_tcp_tx_done(st);
	} while (st->txq_n > 0);
}

void
ust_stack_xmit(struct ust_stack *st, struct ust_pkt *pkt)
{
	/* Not ust_stack_flush: this runs inside TCP's output, which must not
	 * be entered again for the autocorked connections. */
	if (st->txq_n == UST_STACK_TXQ)
		flush_txq(st);
	st->txq[st->txq_n++] = pkt;
	st->tx_queued++;
}

void
ust_stack_input(struct ust_stack *st, struct ust_pkt **pkts, unsigned n, uint64_t now_ns)
{
	if (now_ns > st->now_ns)
		st->now_ns = now_ns;
	for (unsigned i = 0; i < n; i++) {
		struct ust_pkt *pkt = pkts[i];
		st->stats.stat[UST_STAT_RX_PKTS]++;
		st->stats.stat[UST_STAT_RX_BYTES] += pkt->pkt_len;
		if (pkt->next != NULL && ust_pkt_linearize(pkt) < 0) {
			ust_drop(st, pkt, UST_DROP_PKT_CHAIN);
			continue;
		}
		ust_eth_input(st, pkt);
	}
}

void
ust_stack_timers(struct ust_stack *st, uint64_t now_ns)
{
	if (now_ns > st->now_ns)
		st->now_ns = now_ns;
	ust_timer_run(&st->timers, st->now_ns, st);
}

unsigned
ust_stack_poll(struct ust_stack *st, uint64_t now_ns)
{
	struct ust_pkt *pkts[UST_STACK_BURST];
	uint16_t n = ust_netif_rx(st->nif, pkts, UST_STACK_BURST);
	ust_stack_input(st, pkts, n, now_ns);
	ust_ip_loopback_run(st);
	ust_stack_timers(st, now_ns);
	ust_stack_flush(st);
	return n;
}

void
ust_stack_loopback(struct ust_stack *st)
{
	ust_ip_loopback_run(st);
}

uint64_t
ust_stack_next_deadline(struct ust_stack *st)
{
	if (ust_ip_loopback_pending(st))
		return st->now_ns;
	return ust_timer_next(&st->timers);
}
