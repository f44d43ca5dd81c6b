/*
 * Segments that belong to no connection: the RFC 9293 3.10.7.1 CLOSED-state
 * reply. A RST is answered by nothing; otherwise the peer gets a RST built
 * from its own segment, so a connect() to a port nobody listens on fails
 * fast with ECONNREFUSED instead of timing out.
 */
#include <string.h>

#include "../ip.h"
#include "../wire/bytes.h"
#include "../wire/csum.h"
#include "../wire/tcp.h"
#include "tcp.h"

void
ust_tcp_send_reset(struct ust_stack *st, const struct ust_ip_info *ip,
		   const struct ust_tcp_view *th)
{
	if (th->flags & UST_TCP_RST)
		return;
	if (ip->bcast)
		return;
	struct ust_pkt *pkt = ust_stack_alloc_reply(st);
	if (pkt == NULL)
		return;
	uint8_t *h = ust_pkt_append(pkt, UST_TCP_HLEN);
	struct ust_tcp_view r = {.sport = th->dport, .dport = th->sport, .hlen = UST_TCP_HLEN};
	if (th->flags & UST_TCP_ACK) {
		/* <SEQ=SEG.ACK><CTL=RST> */
		r.seq = th->ack;
		r.flags = UST_TCP_RST;
	} else {
		/* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; SYN and FIN count. */
		uint32_t seg_len = th->payload_len + !!(th->flags & UST_TCP_SYN) +
				   !!(th->flags & UST_TCP_FIN);
		r.seq = 0;
		r.ack = th->seq + seg_len;
		r.flags = UST_TCP_RST | UST_TCP_ACK;
	}
	uint32_t ps = ust_ip_pseudo(ip->dst, ip->src, UST_IPPROTO_TCP, UST_TCP_HLEN);
	ust_tcp_build(h, &r, UST_TCP_HLEN, ps, false);
	struct ust_ip_tx tx = {.proto = UST_IPPROTO_TCP, .df = true};
	memcpy(tx.src, ip->dst, 16);
	memcpy(tx.dst, ip->src, 16);
	ust_stat_inc(st, UST_STAT_TCP_RST_OUT);
	ust_ip_output(st, pkt, &tx);
}
