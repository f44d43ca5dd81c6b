/*
 * IPv4 input and output.
 *
 * Input: validate (wire/ipv4.c), accept our address and broadcasts, hand
 * fragments to ipv4_frag.c, deliver to ICMP/UDP/TCP with the packet's data at
 * the L4 header and l3_off still pointing at the IP header (ICMP errors quote
 * it). Output: loop back our own addresses, route, fragment when allowed, then
 * ARP. Not here: routing policy (route.c), reassembly (ipv4_frag.c).
 */
#include "ipv4.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arp.h"
#include "icmp.h"
#include "ipv6.h"
#include "pmtu.h"
#include "raw.h"
#include "tcp/tcp.h"
#include "udp.h"
#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/icmp.h"

/* Datagrams looped back per poll at most, so a busy local pair cannot
 * starve the port. */
#define LOOPBACK_BUDGET 256
#define IPV4_MIN_PMTU 552 /* Linux: net.ipv4.route.min_pmtu */

struct ust_ipv4 {
	uint16_t ident;           /* next IP identification */
	struct ust_pktq lo;       /* datagrams to our own addresses */
};

int
ust_ipv4_init(struct ust_stack *st)
{
	st->ip4 = calloc(1, sizeof(*st->ip4));
	if (st->ip4 == NULL)
		return -ENOMEM;
	st->ip4->ident = (uint16_t)ust_stack_rand(st);
	return ust_ipv4_frag_init(st);
}

void
ust_ipv4_fini(struct ust_stack *st)
{
	if (st->ip4 == NULL)
		return;
	ust_pkt_free_list(st->ip4->lo.head);
	ust_ipv4_frag_fini(st);
	free(st->ip4);
	st->ip4 = NULL;
}

uint16_t
ust_ipv4_mtu_payload(const struct ust_stack *st)
{
	return (uint16_t)(st->nif->mtu - UST_IPV4_HLEN);
}

uint16_t
ust_ipv4_pmtu(const struct ust_stack *st, uint32_t dst)
{
	uint8_t a[16];
	ust_ip_set_v4(a, dst);
	return ust_pmtu_get(st, a, st->nif->mtu);
}

bool
ust_ipv4_pmtu_update(struct ust_stack *st, uint32_t dst, uint32_t mtu)
{
	/* Linux's net.ipv4.route.min_pmtu: a smaller figure (an old router's
	 * 0 included) is taken as 552, so a forged error cannot make us send
	 * tiny datagrams. */
	if (mtu < IPV4_MIN_PMTU)
		mtu = IPV4_MIN_PMTU;
	uint8_t a[16];
	ust_ip_set_v4(a, dst);
	return ust_pmtu_lower(st, a, mtu, st->nif->mtu);
}

void
ust_ipv4_info(const struct ust_stack *st, const struct ust_ipv4_view *ip, struct ust_ip_info *out)
{
	out->family = UST_AF_INET;
	out->proto = ip->proto;
	out->hlim = ip->ttl;
	out->tclass = ip->tos;
	out->bcast = ust_ipv4_is_bcast(st, ip->dst) || ust_ipv4_is_mcast(ip->dst);
	ust_ip_set_v4(out->src, ip->src);
	ust_ip_set_v4(out->dst, ip->dst);
	out->v4 = ip;
	out->v6 = NULL;
}

/* Deliver a whole datagram (data at its IP header) to the protocol. */
static void
deliver(struct ust_stack *st, struct ust_pkt *pkt, struct ust_ipv4_view *ip)
{
	bool bcast = ust_ipv4_is_bcast(st, ip->dst);
	struct ust_ip_info info;
	if (ip->mf || ip->frag_off != 0) {
		ust_stat_inc(st, UST_STAT_IP_FRAG_IN);
		pkt = ust_ipv4_reass(st, pkt, ip);
		if (pkt == NULL)
			return;
		ust_stat_inc(st, UST_STAT_IP_REASM_OK);
	}
	pkt->l3_off = (uint16_t)pkt->data_off;
	ust_pkt_adj(pkt, ip->hlen);
	pkt->l4_off = (uint16_t)pkt->data_off;
	ust_stat_inc(st, UST_STAT_IP_IN);
	ust_ipv4_info(st, ip, &info);
	bool raw = ust_raw_any(st) && ust_raw_input(st, pkt, &info);
	switch (ip->proto) {
	case UST_IPPROTO_ICMP:
		ust_icmp_input(st, pkt, ip);
		return;
	case UST_IPPROTO_UDP:
		ust_udp_input(st, pkt, &info);
		return;
	case UST_IPPROTO_TCP:
		if (bcast) {
			ust_drop(st, pkt, UST_DROP_IP_NOT_US);
			return;
		}
		ust_tcp_input(st, pkt, &info);
		return;
	default:
		if (raw) {
			ust_pkt_free(pkt);
			return;
		}
		if (!bcast)
			ust_icmp_send_unreach(st, pkt, ip, UST_ICMP_UNREACH_PROTO);
		ust_drop(st, pkt, UST_DROP_IP_PROTO);
		return;
	}
}

void
ust_ipv4_input(struct ust_stack *st, struct ust_pkt *pkt)
{
	struct ust_ipv4_view ip;
	enum ust_drop why = ust_ipv4_parse(ust_pkt_data(pkt), pkt->len, pkt->ol_flags, &ip);
	if (why != UST_DROP_NONE) {
		ust_drop(st, pkt, why);
		return;
	}
	/* Ethernet may pad short frames: IP's length is the truth. */
	ust_pkt_trim(pkt, ip.tot_len);
	if (ip.src == UST_IPV4_BROADCAST || ust_ipv4_is_mcast(ip.src) ||
	    ust_ipv4_is_local(st, ip.src) || ust_ipv4_is_bcast(st, ip.src)) {
		ust_drop(st, pkt, UST_DROP_IP_SRC);
		return;
	}
	if (ip.dst != st->cfg.ip4_addr && !ust_ipv4_is_bcast(st, ip.dst)) {
		ust_drop(st, pkt, UST_DROP_IP_NOT_US);
		return;
	}
	deliver(st, pkt, &ip);
}

/* The loopback queue carries both families; it lives here because IPv4
 * always exists. */
void
ust_ip_loopback_queue(struct ust_stack *st, struct ust_pkt *pkt)
{
	ust_pktq_push(&st->ip4->lo, pkt);
}

void
ust_ip_loopback_run(struct ust_stack *st)
{
	struct ust_ipv4 *ip4 = st->ip4;
	struct ust_pkt *pkt;
	for (unsigned n = 0; n < LOOPBACK_BUDGET && (pkt = ust_pktq_pop(&ip4->lo)) != NULL; n++) {
		if ((ust_pkt_data(pkt)[0] >> 4) == 6) {
			ust_ipv6_loopback_input(st, pkt);
			continue;
		}
		struct ust_ipv4_view ip;
		/* We built it: the checksum is right, but parse for the view. */
		if (ust_ipv4_parse(ust_pkt_data(pkt), pkt->len, UST_PKT_RX_IP_CSUM_GOOD, &ip) !=
		    UST_DROP_NONE) {
			ust_drop(st, pkt, UST_DROP_IP_HLEN);
			continue;
		}
		pkt->ol_flags |= UST_PKT_RX_L4_CSUM_GOOD;
		deliver(st, pkt, &ip);
	}
}

bool
ust_ip_loopback_pending(const struct ust_stack *st)
{
	return st->ip4->lo.head != NULL;
}

static void
put_header(struct ust_stack *st, uint8_t *h, const struct ust_ipv4_tx *tx, uint32_t src,
	   uint16_t tot_len, uint16_t id, uint16_t frag_off, bool mf)
{
	struct ust_ipv4_view v = {
		.tos = tx->tos,
		.tot_len = tot_len,
		.id = id,
		.frag_off = frag_off,
		.df = tx->df,
		.mf = mf,
		.ttl = tx->ttl != 0 ? tx->ttl : UST_IP_DEFAULT_TTL,
		.proto = tx->proto,
		.src = src,
		.dst = tx->dst,
	};
	(void)st;
	ust_ipv4_build(h, &v, false);
}

/* Split a datagram whose payload is at pkt's data into MTU-sized fragments
 * (RFC 791 3.2), each built in a fresh packet. Consumes pkt. */
static int
fragment(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ipv4_tx *tx, uint32_t src,
	 uint32_t nexthop, bool local, uint16_t room)
{
	uint32_t chunk = room & ~7u;
	uint32_t total = pkt->pkt_len;
	uint16_t id = st->ip4->ident++;
	int rc = 0;
	for (uint32_t off = 0; off < total; off += chunk) {
		uint32_t n = total - off < chunk ? total - off : chunk;
		struct ust_pkt *f = ust_ip_frag_piece(st, pkt, off, n);
		if (f == NULL) {
			rc = -ENOBUFS;
			break;
		}
		uint8_t *h = ust_pkt_prepend(f, UST_IPV4_HLEN);
		put_header(st, h, tx, src, (uint16_t)(n + UST_IPV4_HLEN), id, (uint16_t)off,
			   off + n < total);
		f->l3_off = (uint16_t)f->data_off;
		ust_stat_inc(st, UST_STAT_IP_FRAG_OUT);
		if (local)
			ust_ip_loopback_queue(st, f);
		else
			ust_arp_output(st, f, nexthop);
	}
	ust_pkt_free(pkt);
	return rc;
}

int
ust_ipv4_output_hdrincl(struct ust_stack *st, struct ust_pkt *pkt)
{
	/* Linux's raw_send_hdrinc: the length and checksum are ours to fill,
	 * an identification of 0 and a source of 0.0.0.0 too. */
	uint8_t *h = ust_pkt_data(pkt);
	if (pkt->len < UST_IPV4_HLEN || (h[0] & 0xf) * 4u > pkt->len) {
		ust_pkt_free(pkt);
		return -EINVAL;
	}
	uint32_t hl = (h[0] & 0xf) * 4u;
	if (pkt->pkt_len > 65535 || pkt->pkt_len > st->nif->mtu) {
		ust_pkt_free(pkt);
		return -EMSGSIZE;
	}
	ust_put16(h + 2, (uint16_t)pkt->pkt_len);
	if (ust_get16(h + 4) == 0)
		ust_put16(h + 4, st->ip4->ident++);
	if (ust_get32(h + 12) == 0)
		ust_put32(h + 12, st->cfg.ip4_addr);
	ust_put16(h + 10, 0);
	ust_put16(h + 10, ust_csum_fold(ust_csum_partial(h, hl, 0)));
	uint32_t dst = ust_get32(h + 16), nexthop;
	pkt->l3_off = (uint16_t)pkt->data_off;
	ust_stat_inc(st, UST_STAT_IP_OUT);
	if (ust_ipv4_is_local(st, dst)) {
		ust_ip_loopback_queue(st, pkt);
		return 0;
	}
	int rc = ust_route_lookup(st, dst, &nexthop);
	if (rc < 0) {
		ust_drop(st, pkt, UST_DROP_IP_NO_ROUTE);
		return rc;
	}
	return ust_arp_output(st, pkt, nexthop);
}

int
ust_ipv4_output(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ipv4_tx *tx)
{
	uint32_t src = tx->src != 0 ? tx->src : st->cfg.ip4_addr;
	uint32_t len = pkt->pkt_len;
	if (len + UST_IPV4_HLEN > 65535) {
		ust_pkt_free(pkt);
		return -EMSGSIZE;
	}
	ust_stat_inc(st, UST_STAT_IP_OUT);
	if (ust_ipv4_is_local(st, tx->dst)) {
		if ((tx->dst >> 24) == 127 && tx->src == 0)
			src = tx->dst;
		/* The loopback "link" has the port's MTU, so big datagrams are
		 * fragmented and reassembled like on the wire. */
		if (len > ust_ipv4_mtu_payload(st) || pkt->next != NULL)
			return fragment(st, pkt, tx, src, 0, true, ust_ipv4_mtu_payload(st));
		uint8_t *h = ust_pkt_prepend(pkt, UST_IPV4_HLEN);
		if (h == NULL) {
			ust_drop(st, pkt, UST_DROP_NO_BUFFER);
			return -ENOBUFS;
		}
		put_header(st, h, tx, src, (uint16_t)(len + UST_IPV4_HLEN), st->ip4->ident++, 0,
			   false);
		pkt->l3_off = (uint16_t)pkt->data_off;
		ust_ip_loopback_queue(st, pkt);
		return 0;
	}
	uint32_t nexthop;
	int rc = ust_route_lookup(st, tx->dst, &nexthop);
	if (rc < 0) {
		ust_drop(st, pkt, UST_DROP_IP_NO_ROUTE);
		return rc;
	}
	/* RFC 1191: what leaves fits the path MTU, which is the port's until
	 * a router said less. */
	uint16_t room = (uint16_t)(ust_ipv4_pmtu(st, tx->dst) - UST_IPV4_HLEN);
	if (len > room) {
		if (tx->df) {
			ust_drop(st, pkt, UST_DROP_IP_MTU);
			return -EMSGSIZE;
		}
		return fragment(st, pkt, tx, src, nexthop, false, room);
	}
	uint8_t *h = ust_pkt_prepend(pkt, UST_IPV4_HLEN);
	if (h == NULL) {
		ust_drop(st, pkt, UST_DROP_NO_BUFFER);
		return -ENOBUFS;
	}
	put_header(st, h, tx, src, (uint16_t)(len + UST_IPV4_HLEN), st->ip4->ident++, 0, false);
	pkt->l3_off = (uint16_t)pkt->data_off;
	return ust_arp_output(st, pkt, nexthop);
}
