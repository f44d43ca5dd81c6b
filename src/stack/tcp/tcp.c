/*
 * TCP entry points seen by the rest of the stack: input validation and
 * demultiplexing. Segments for no connection get the CLOSED-state reset
 * (tcp_reset.c).
 */
#include "tcp.h"

#include <errno.h>

#include "../wire/csum.h"
#include "../wire/tcp.h"

int
ust_tcp_init(struct ust_stack *st)
{
	(void)st;
	return 0;
}

void
ust_tcp_fini(struct ust_stack *st)
{
	(void)st;
}

void
ust_tcp_input(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ipv4_view *ip)
{
	struct ust_tcp_view th;
	uint32_t ps = ust_csum_pseudo4(ip->src, ip->dst, UST_IPPROTO_TCP, (uint16_t)pkt->len);
	enum ust_drop why = ust_tcp_parse(ust_pkt_data(pkt), pkt->len, ps, pkt->ol_flags, &th);
	if (why != UST_DROP_NONE) {
		ust_drop(st, pkt, why);
		return;
	}
	ust_stat_inc(st, UST_STAT_TCP_SEG_IN);
	ust_tcp_send_reset(st, ip, &th);
	ust_drop(st, pkt, UST_DROP_TCP_NO_CONN);
}

void
ust_tcp_icmp_error(struct ust_stack *st, const struct ust_ipv4_view *inner, const uint8_t *l4,
		   int err)
{
	(void)st;
	(void)inner;
	(void)l4;
	(void)err;
}

int
ust_tcp_sock_create(struct ust_stack *st, int family, struct ust_sock **out)
{
	(void)st;
	(void)family;
	(void)out;
	return -EPROTONOSUPPORT;
}
