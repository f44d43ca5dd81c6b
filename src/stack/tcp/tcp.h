/*
 * TCP: the interface the rest of the stack sees. Everything else about TCP
 * stays inside src/stack/tcp/.
 */
#ifndef UST_TCP_H
#define UST_TCP_H

#include <stdint.h>

#include "../sock.h"
#include "../stack.h"
#include "../ip.h"

enum ust_tcp_cc {
	UST_TCP_CC_CUBIC = 0, /* default, as Linux */
	UST_TCP_CC_NEWRENO = 1,
};

extern const struct ust_sock_proto ust_tcp_proto;

int ust_tcp_init(struct ust_stack *st);
void ust_tcp_fini(struct ust_stack *st);
/* pkt data starts at the TCP header; pkt->len is the IP payload length. */
void ust_tcp_input(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ip_info *ip);
/* ICMP error about a segment we sent (inner IP header + first 8 L4 bytes). */
void ust_tcp_icmp_error(struct ust_stack *st, const struct ust_ip_info *inner, const uint8_t *l4,
			int err);
/* The transmit queue was handed to the netif: send the small writes held
 * for it (autocorking). */
void ust_tcp_tx_done(struct ust_stack *st);
int ust_tcp_sock_create(struct ust_stack *st, int family, struct ust_sock **out);
void ust_tcp_foreach(struct ust_stack *st, ust_sock_info_fn *fn, void *arg);

struct ust_tcp_view;
/* Answer a segment that belongs to no connection (RFC 9293 3.10.7.1). */
void ust_tcp_send_reset(struct ust_stack *st, const struct ust_ip_info *ip,
			const struct ust_tcp_view *th);

#endif
