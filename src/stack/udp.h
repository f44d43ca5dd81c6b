/* UDP: port demultiplexing, checksums, datagram sockets. */
#ifndef UST_UDP_H
#define UST_UDP_H

#include <stdint.h>

#include "sock.h"
#include "stack.h"
#include "ip.h"

extern const struct ust_sock_proto ust_udp_proto;

int ust_udp_init(struct ust_stack *st);
void ust_udp_fini(struct ust_stack *st);
/* pkt data starts at the UDP header; `pkt_l3` for an ICMP error points at the
 * IP header (pkt->l3_off). */
void ust_udp_input(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ip_info *ip);
/* An ICMP error about a datagram we sent (Linux's __udp4_lib_err and
 * __udp6_lib_err): so_error and the error queue of the socket that sent it. */
void ust_udp_icmp_error(struct ust_stack *st, const struct ust_ip_info *inner,
			const struct ust_ip_err *e);
int ust_udp_sock_create(struct ust_stack *st, int family, struct ust_sock **out);
void ust_udp_foreach(struct ust_stack *st, ust_sock_info_fn *fn, void *arg);

#endif
