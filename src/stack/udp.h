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
/* ICMP unreachable about a datagram we sent: `inner` is its IP header, `l4`
 * its first 8 bytes. Sets so_error on a connected socket (ECONNREFUSED ...). */
void ust_udp_icmp_error(struct ust_stack *st, const struct ust_ip_info *inner, const uint8_t *l4,
			int err);
int ust_udp_sock_create(struct ust_stack *st, int family, struct ust_sock **out);
void ust_udp_foreach(struct ust_stack *st, ust_sock_info_fn *fn, void *arg);

#endif
