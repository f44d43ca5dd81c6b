/*
 * The family switch between L4 and IP: one place where a 16-byte address
 * decides whether ipv4.c or ipv6.c carries a datagram.
 */
#include "ip.h"

#include <errno.h>

#include "icmp.h"
#include "icmp6.h"
#include "ipv4.h"
#include "ipv6.h"
#include "wire/bytes.h"
#include "wire/csum.h"
#include "wire/icmp.h"
#include "wire/icmp6.h"

void
ust_sockaddr_canon(struct ust_sockaddr *a)
{
	if (a->family == UST_AF_INET)
		ust_ip_set_v4(a->addr6, a->addr4);
	else
		a->addr4 = ust_ip_is_v4(a->addr6) ? ust_ip_v4(a->addr6) : 0;
}

struct ust_sockaddr
ust_sockaddr_any(int family)
{
	struct ust_sockaddr a = {.family = (uint16_t)family};
	ust_sockaddr_canon(&a);
	return a;
}

void
ust_sockaddr_set_ip(struct ust_sockaddr *a, const uint8_t ip[16])
{
	memcpy(a->addr6, ip, 16);
	a->addr4 = ust_ip_is_v4(ip) ? ust_ip_v4(ip) : 0;
}

void
ust_ip_rxinfo(const struct ust_stack *st, const uint8_t *ip, struct ust_sock_rxinfo *out)
{
	bool local;
	if ((ip[0] >> 4) == 6) {
		/* IPv6 has no IPv4 destination to tell; its class and hop
		 * limit stand for TOS and TTL. */
		out->tos = (uint8_t)(ust_get16(ip) >> 4);
		out->ttl = ip[7];
		out->dst4 = 0;
		memcpy(out->dst6, ip + 24, 16);
		local = ust_ip_is_local(st, ip + 8);
	} else {
		out->tos = ip[1];
		out->ttl = ip[8];
		out->dst4 = ust_get32(ip + 16);
		ust_ip_set_v4(out->dst6, out->dst4);
		local = ust_ipv4_is_local(st, ust_get32(ip + 12));
	}
	out->ifindex = local ? UST_IFINDEX_LOOPBACK : st->cfg.ifindex;
	out->no_spec_dst = false;
}

int
ust_ip_sock_tx(const struct ust_sock *s, const uint8_t dst[16], struct ust_ip_tx *tx)
{
	struct ust_stack *st = s->stack;
	int rc = ust_ip_sock_source(s, dst, tx->src);
	if (rc < 0)
		return rc;
	memcpy(tx->dst, dst, 16);
	tx->hlim = s->ip_ttl;
	tx->tclass = s->ip_tos;
	const struct ust_sock_txinfo *t = s->tx;
	if (t == NULL)
		return 0;
	bool v4 = ust_ip_is_v4(dst);
	if (v4 && t->src4 != 0) {
		/* IP_PKTINFO names one of our addresses; another has no route
		 * (__ip_route_output_key), a group or broadcast is no source. */
		if (ust_ipv4_is_mcast(t->src4) || ust_ipv4_is_bcast(st, t->src4) || (t->src4 >> 24) == 0)
			return -EINVAL;
		if (!ust_ipv4_is_local(st, t->src4) && !s->transparent)
			return -ENETUNREACH;
		ust_ip_set_v4(tx->src, t->src4);
	}
	if (!v4 && !ust_ip_eq(t->src6, ust_ip_any6)) {
		/* IPV6_PKTINFO likewise (ip6_datagram_send_ctl). */
		if (!ust_ip_is_local(st, t->src6) && !s->transparent && !s->freebind)
			return -EINVAL;
		memcpy(tx->src, t->src6, 16);
	}
	if (t->ttl >= 0)
		tx->hlim = (uint8_t)t->ttl;
	if (t->tos >= 0)
		tx->tclass = (uint8_t)t->tos;
	return 0;
}

bool
ust_ip_needs_scope(const uint8_t a[16])
{
	if (ust_ipv6_is_linklocal(a))
		return true;
	return ust_ipv6_is_mcast(a) && ((a[1] & 0xf) == 1 || (a[1] & 0xf) == 2);
}

void
ust_sockaddr_scope(const struct ust_stack *st, struct ust_sockaddr *a)
{
	a->scope_id = a->family == UST_AF_INET6 && ust_ip_needs_scope(a->addr6) ? st->cfg.ifindex : 0;
}

int
ust_ip_scope_check(const struct ust_stack *st, uint32_t scope_id)
{
	if (scope_id == 0 || scope_id == UST_IFINDEX_LOOPBACK || scope_id == st->cfg.ifindex)
		return 0;
	return -ENODEV;
}

int
ust_ip_output(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ip_tx *tx)
{
	if (!ust_ip_is_v4(tx->dst)) {
		struct ust_ipv6_tx t6 = {.proto = tx->proto, .hlim = tx->hlim, .tclass = tx->tclass,
					 .no_frag = tx->df, .flowlabel = tx->flowlabel};
		memcpy(t6.src, tx->src, 16);
		memcpy(t6.dst, tx->dst, 16);
		return ust_ipv6_output(st, pkt, &t6);
	}
	struct ust_ipv4_tx t4 = {
		.src = ust_ip_is_v4(tx->src) ? ust_ip_v4(tx->src) : 0,
		.dst = ust_ip_v4(tx->dst),
		.proto = tx->proto,
		.ttl = tx->hlim,
		.tos = tx->tclass,
		.df = tx->df,
	};
	return ust_ipv4_output(st, pkt, &t4);
}

uint16_t
ust_ip_mtu_payload(struct ust_stack *st, const uint8_t dst[16])
{
	if (!ust_ip_is_v4(dst))
		return (uint16_t)(ust_ipv6_pmtu(st, dst) - UST_IPV6_HLEN);
	return (uint16_t)(ust_ipv4_pmtu(st, ust_ip_v4(dst)) - UST_IPV4_HLEN);
}

uint16_t
ust_ip_pmtu(struct ust_stack *st, const uint8_t dst[16])
{
	return ust_ip_is_v4(dst) ? ust_ipv4_pmtu(st, ust_ip_v4(dst)) : ust_ipv6_pmtu(st, dst);
}

uint32_t
ust_ip_pseudo(const uint8_t src[16], const uint8_t dst[16], uint8_t proto, uint32_t len)
{
	if (ust_ip_is_v4(src) && ust_ip_is_v4(dst))
		return ust_csum_pseudo4(ust_ip_v4(src), ust_ip_v4(dst), proto, (uint16_t)len);
	return ust_csum_pseudo6(src, dst, proto, len);
}

bool
ust_ip_is_local(const struct ust_stack *st, const uint8_t a[16])
{
	if (!ust_ip_is_v4(a))
		return ust_ipv6_is_local(st, a);
	return ust_ipv4_is_local(st, ust_ip_v4(a));
}

int
ust_ip_route_ok(const struct ust_stack *st, const uint8_t dst[16])
{
	uint32_t nh;
	uint8_t nh6[16];
	if (!ust_ip_is_v4(dst))
		return ust_ipv6_is_local(st, dst) || ust_ipv6_route(st, dst, nh6) == 0 ? 0
											 : -ENETUNREACH;
	if (ust_ipv4_is_local(st, ust_ip_v4(dst)) || ust_route_lookup(st, ust_ip_v4(dst), &nh) == 0)
		return 0;
	return -ENETUNREACH;
}

int
ust_ip_source(const struct ust_stack *st, const uint8_t dst[16], uint8_t out[16])
{
	if (!ust_ip_is_v4(dst)) {
		ust_ipv6_source(st, dst, out);
		return ust_ip_eq(out, ust_ip_any6) ? -EADDRNOTAVAIL : 0;
	}
	uint32_t d = ust_ip_v4(dst);
	/* 127.0.0.0/8 answers from the address it was sent to, as Linux's lo. */
	ust_ip_set_v4(out, (d >> 24) == 127 ? d : st->cfg.ip4_addr);
	return 0;
}

int
ust_ip_sock_source(const struct ust_sock *s, const uint8_t dst[16], uint8_t out[16])
{
	if (!ust_ip_is_unspec(s->local.addr6) &&
	    !(s->local.addr4 != 0 && ust_ipv4_is_bcast(s->stack, s->local.addr4))) {
		memcpy(out, s->local.addr6, 16);
		return 0;
	}
	return ust_ip_source(s->stack, dst, out);
}

struct ust_pkt *
ust_ip_chain(struct ust_stack *st, const uint8_t *data, size_t len, uint32_t hdr)
{
	struct ust_pkt *head = NULL, *tail = NULL;
	size_t off = 0;
	do {
		struct ust_pkt *p = ust_stack_alloc(st);
		if (p == NULL) {
			ust_pkt_free(head);
			return NULL;
		}
		uint32_t room = ust_pkt_tailroom(p) & ~1u;
		uint32_t n = (uint32_t)(len - off < room - hdr ? len - off : room - hdr);
		uint8_t *d = ust_pkt_append(p, hdr + n);
		memcpy(d + hdr, data + off, n);
		off += n;
		if (head == NULL) {
			head = tail = p;
		} else {
			tail->next = p;
			tail = p;
			head->pkt_len += p->len;
			head->nb_segs++;
		}
		hdr = 0;
	} while (off < len);
	return head;
}

void
ust_ip_send_port_unreach(struct ust_stack *st, const struct ust_pkt *pkt,
			 const struct ust_ip_info *ip)
{
	if (ip->v4 != NULL)
		ust_icmp_send_unreach(st, pkt, ip->v4, UST_ICMP_UNREACH_PORT);
	else
		ust_icmp6_send_error(st, pkt, ip->v6, UST_ICMP6_UNREACH, UST_ICMP6_UNREACH_PORT, 0);
}

struct ust_pkt *
ust_ip_frag_piece(struct ust_stack *st, const struct ust_pkt *pkt, uint32_t off, uint32_t n)
{
	struct ust_pkt *f = ust_stack_alloc(st);
	if (f == NULL)
		return NULL;
	uint8_t *d = ust_pkt_append(f, n);
	if (d == NULL) {
		ust_drop(st, f, UST_DROP_NO_BUFFER);
		return NULL;
	}
	ust_pkt_read(pkt, off, d, n);
	return f;
}
