/*
 * IPv6 input and output.
 *
 * Input: validate through the extension chain (wire/ipv6.c), answer what
 * asks for a parameter problem, accept our assigned addresses and our
 * groups, hand fragments to ipv6_frag.c, deliver to ICMPv6/UDP/TCP with the
 * data at the L4 header and l3_off at the IPv6 header (errors quote it).
 * Output: ::1 and our own addresses loop back, everything else is routed by
 * nd6.c, fragmented at the source when it exceeds the path MTU (RFC 8200
 * 4.5, random identifications as RFC 7739 asks), then resolved by ND.
 * Path MTU: a small table of what packet too big messages said (RFC 8201).
 */
#include "ipv6.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "icmp6.h"
#include "ipv4.h"
#include "nd6.h"
#include "pmtu.h"
#include "raw.h"
#include "tcp/tcp.h"
#include "udp.h"
#include "wire/icmp6.h"

static const uint8_t loopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

int
ust_ipv6_init(struct ust_stack *st)
{
	return ust_ipv6_frag_init(st);
}

void
ust_ipv6_fini(struct ust_stack *st)
{
	ust_ipv6_frag_fini(st);
}

bool
ust_ipv6_is_local(const struct ust_stack *st, const uint8_t a[16])
{
	return ust_ip_eq(a, loopback6) || ust_nd6_addr_state(st, a) == UST_ND6_ASSIGNED;
}

int
ust_ipv6_route(const struct ust_stack *st, const uint8_t dst[16], uint8_t nexthop[16])
{
	return ust_nd6_route(st, dst, nexthop);
}

void
ust_ipv6_source(const struct ust_stack *st, const uint8_t dst[16], uint8_t out[16])
{
	const uint8_t *ll = ust_nd6_linklocal(st), *gl = ust_nd6_global(st), *pick;
	if (ust_ipv6_is_local(st, dst))
		pick = dst;
	else if (ust_ipv6_is_linklocal(dst) || (ust_ipv6_is_mcast(dst) && (dst[1] & 0xf) <= 2))
		pick = ll;
	else
		pick = gl != NULL ? gl : ll;
	memcpy(out, pick != NULL ? pick : ust_ip_any6, 16);
}

uint16_t
ust_ipv6_pmtu(const struct ust_stack *st, const uint8_t dst[16])
{
	return ust_pmtu_get(st, dst, ust_nd6_link_mtu(st));
}

bool
ust_ipv6_pmtu_update(struct ust_stack *st, const uint8_t dst[16], uint32_t mtu)
{
	/* RFC 8201 4: below the minimum link MTU is taken as the minimum. */
	if (mtu < UST_IPV6_MIN_MTU)
		mtu = UST_IPV6_MIN_MTU;
	return ust_pmtu_lower(st, dst, mtu, ust_nd6_link_mtu(st));
}

void
ust_ipv6_info(const struct ust_ipv6_view *ip, struct ust_ip_info *out)
{
	out->family = UST_AF_INET6;
	out->proto = ip->proto;
	out->hlim = ip->hlim;
	out->tclass = ip->tclass;
	out->bcast = ust_ipv6_is_mcast(ip->dst);
	memcpy(out->src, ip->src, 16);
	memcpy(out->dst, ip->dst, 16);
	out->v4 = NULL;
	out->v6 = ip;
}

/* A whole datagram or a fragment (data at its IPv6 header) to the protocol. */
static void
deliver(struct ust_stack *st, struct ust_pkt *pkt, struct ust_ipv6_view *ip)
{
	if (ip->frag) {
		ust_stat_inc(st, UST_STAT_IP6_FRAG_IN);
		pkt = ust_ipv6_reass(st, pkt, ip);
		if (pkt == NULL)
			return;
		ust_stat_inc(st, UST_STAT_IP6_REASM_OK);
	}
	pkt->l3_off = (uint16_t)pkt->data_off;
	ust_pkt_adj(pkt, ip->l4_off);
	pkt->l4_off = (uint16_t)pkt->data_off;
	ust_stat_inc(st, UST_STAT_IP6_IN);
	struct ust_ip_info info;
	ust_ipv6_info(ip, &info);
	bool raw = ust_raw_any(st) && ust_raw_input(st, pkt, &info);
	switch (ip->proto) {
	case UST_IPPROTO_ICMPV6:
		ust_icmp6_input(st, pkt, ip);
		return;
	case UST_IPPROTO_UDP:
		ust_udp_input(st, pkt, &info);
		return;
	case UST_IPPROTO_TCP:
		if (info.bcast) {
			ust_drop(st, pkt, UST_DROP_IP6_NOT_US);
			return;
		}
		ust_tcp_input(st, pkt, &info);
		return;
	case UST_IPPROTO_NONE:
		ust_drop(st, pkt, UST_DROP_IP6_NONXT);
		return;
	default:
		if (raw) {
			ust_pkt_free(pkt);
			return;
		}
		ust_icmp6_send_error(st, pkt, ip, UST_ICMP6_PARAM_PROB, UST_IP6_PP_NEXT, ip->next_off);
		ust_drop(st, pkt, UST_DROP_IP6_PROTO);
		return;
	}
}

void
ust_ipv6_input(struct ust_stack *st, struct ust_pkt *pkt)
{
	struct ust_ipv6_view ip;
	pkt->l3_off = (uint16_t)pkt->data_off;
	enum ust_drop why = ust_ipv6_parse(ust_pkt_data(pkt), pkt->len, &ip);
	if (why != UST_DROP_NONE) {
		if (ip.pp && why != UST_DROP_IP6_SHORT && why != UST_DROP_IP6_VERSION &&
		    why != UST_DROP_IP6_LEN && ust_ipv6_is_local(st, ip.dst))
			ust_icmp6_send_error(st, pkt, &ip, UST_ICMP6_PARAM_PROB, ip.pp_code, ip.pp_ptr);
		ust_drop(st, pkt, why);
		return;
	}
	/* Ethernet may pad short frames: the payload length is the truth. */
	ust_pkt_trim(pkt, UST_IPV6_HLEN + (uint32_t)ip.payload_len);
	if (ust_ipv6_is_mcast(ip.src) || ust_ipv6_is_loopback(ip.src)) {
		ust_drop(st, pkt, UST_DROP_IP6_SRC);
		return;
	}
	/* ND to our solicited-node group may be about a tentative address. */
	if (!ust_nd6_is_group(st, ip.dst) &&
	    (ust_ipv6_is_loopback(ip.dst) || ust_nd6_addr_state(st, ip.dst) != UST_ND6_ASSIGNED)) {
		ust_drop(st, pkt, UST_DROP_IP6_NOT_US);
		return;
	}
	deliver(st, pkt, &ip);
}

void
ust_ipv6_loopback_input(struct ust_stack *st, struct ust_pkt *pkt)
{
	struct ust_ipv6_view ip;
	/* We built it; parse for the view. */
	enum ust_drop why = ust_ipv6_parse(ust_pkt_data(pkt), pkt->len, &ip);
	if (why != UST_DROP_NONE) {
		ust_drop(st, pkt, why);
		return;
	}
	pkt->ol_flags |= UST_PKT_RX_L4_CSUM_GOOD;
	deliver(st, pkt, &ip);
}

static uint8_t
hop_limit(const struct ust_stack *st, const struct ust_ipv6_tx *tx)
{
	if (tx->hlim != 0)
		return tx->hlim;
	/* Linux: multicast_hops defaults to 1, unicast follows the router. */
	return ust_ipv6_is_mcast(tx->dst) ? 1 : ust_nd6_hlim(st);
}

/* Split the payload at pkt's data into fragments of `mtu` (RFC 8200 4.5),
 * each built in a fresh packet. Consumes pkt. */
static int
fragment(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ipv6_tx *tx,
	 const uint8_t src[16], const uint8_t *nexthop, uint16_t mtu)
{
	uint32_t chunk = (uint32_t)(mtu - UST_IPV6_HLEN - UST_IPV6_FRAG_HLEN) & ~7u;
	uint32_t total = pkt->pkt_len;
	uint32_t id = (uint32_t)ust_stack_rand(st);
	uint8_t hlim = hop_limit(st, tx);
	int rc = 0;
	for (uint32_t off = 0; off < total; off += chunk) {
		uint32_t n = total - off < chunk ? total - off : chunk;
		struct ust_pkt *f = ust_ip_frag_piece(st, pkt, off, n);
		if (f == NULL) {
			rc = -ENOBUFS;
			break;
		}
		ust_ipv6_frag_build(ust_pkt_prepend(f, UST_IPV6_FRAG_HLEN), tx->proto, (uint16_t)off,
				    off + n < total, id);
		ust_ipv6_build(ust_pkt_prepend(f, UST_IPV6_HLEN), tx->tclass, tx->flowlabel,
			       (uint16_t)(n + UST_IPV6_FRAG_HLEN), UST_IPPROTO_FRAGMENT, hlim, src,
			       tx->dst);
		f->l3_off = (uint16_t)f->data_off;
		ust_stat_inc(st, UST_STAT_IP6_FRAG_OUT);
		if (nexthop == NULL)
			ust_ip_loopback_queue(st, f);
		else
			ust_nd6_output(st, f, nexthop);
	}
	ust_pkt_free(pkt);
	return rc;
}

int
ust_ipv6_output(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ipv6_tx *tx)
{
	uint8_t src[16];
	if (ust_ip_eq(tx->src, ust_ip_any6))
		ust_ipv6_source(st, tx->dst, src);
	else
		memcpy(src, tx->src, 16);
	uint32_t len = pkt->pkt_len;
	if (len > 65535) {
		ust_pkt_free(pkt);
		return -EMSGSIZE;
	}
	ust_stat_inc(st, UST_STAT_IP6_OUT);
	uint8_t nexthop[16];
	bool local = ust_ipv6_is_local(st, tx->dst);
	if (!local && ust_ipv6_route(st, tx->dst, nexthop) < 0) {
		ust_drop(st, pkt, UST_DROP_IP6_NO_ROUTE);
		return -ENETUNREACH;
	}
	/* The loopback "link" has the port's MTU, as for IPv4. */
	uint16_t mtu = local ? st->nif->mtu : ust_ipv6_pmtu(st, tx->dst);
	if (len + UST_IPV6_HLEN > mtu || (local && pkt->next != NULL)) {
		if (tx->no_frag && !local) {
			ust_drop(st, pkt, UST_DROP_IP6_MTU);
			return -EMSGSIZE;
		}
		return fragment(st, pkt, tx, src, local ? NULL : nexthop, mtu);
	}
	uint8_t *h = ust_pkt_prepend(pkt, UST_IPV6_HLEN);
	if (h == NULL) {
		ust_drop(st, pkt, UST_DROP_NO_BUFFER);
		return -ENOBUFS;
	}
	ust_ipv6_build(h, tx->tclass, tx->flowlabel, (uint16_t)len, tx->proto, hop_limit(st, tx), src,
		       tx->dst);
	pkt->l3_off = (uint16_t)pkt->data_off;
	if (local) {
		ust_ip_loopback_queue(st, pkt);
		return 0;
	}
	return ust_nd6_output(st, pkt, nexthop);
}
