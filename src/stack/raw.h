/*
 * Raw sockets (SOCK_RAW, man 7 raw and raw(7)'s IPv6 part) and ICMP
 * datagram sockets ("ping" sockets: SOCK_DGRAM with IPPROTO_ICMP or
 * IPPROTO_ICMPV6, Linux's net/ipv4/ping.c).
 *
 * Every raw socket of a datagram's family and protocol gets its own copy
 * of it before the protocol sees it, as Linux's raw_v4_input does: IPv4 ones
 * with the IP header, IPv6 ones from the upper-layer header. ICMP_FILTER and
 * ICMP6_FILTER drop types the socket does not want. A ping socket gets the
 * echo replies whose identifier is its port, without the IP header.
 * Output: an IPv4 raw socket sends its bytes as the payload of its protocol
 * (IP_HDRINCL and IPPROTO_RAW: the bytes are the whole datagram, with the
 * length and checksum filled as Linux does); an IPv6 one gets its ICMPv6
 * checksum (or the one IPV6_CHECKSUM names) filled; a ping socket's echo
 * request gets its identifier and checksum.
 */
#ifndef UST_RAW_H
#define UST_RAW_H

#include <stdbool.h>
#include <stdint.h>

#include "ip.h"
#include "sock.h"
#include "stack.h"

int ust_raw_init(struct ust_stack *st);
void ust_raw_fini(struct ust_stack *st);
/* type UST_SOCK_RAW with any protocol but 0, or UST_SOCK_DGRAM with ICMP
 * (AF_INET) or ICMPv6 (AF_INET6). */
int ust_raw_sock_create(struct ust_stack *st, int family, int type, int protocol,
			struct ust_sock **out);
/* Copies of a datagram for the raw sockets that want it: pkt's data at its
 * L4 header, l3_off at its IP header. Does not consume pkt. True if a raw
 * socket took one (then an unknown protocol is no error, as on Linux). */
bool ust_raw_input(struct ust_stack *st, const struct ust_pkt *pkt, const struct ust_ip_info *ip);
/* An echo reply (data at the ICMP or ICMPv6 header, `id` its identifier)
 * for a ping socket: true if one took a copy. */
bool ust_raw_ping_input(struct ust_stack *st, const struct ust_pkt *pkt,
			const struct ust_ip_info *ip, uint16_t id);
/* An ICMP error about a datagram we sent, for the raw sockets of its
 * protocol (raw_icmp_error) and the ping socket of its echo identifier. */
void ust_raw_icmp_error(struct ust_stack *st, const struct ust_ip_info *inner,
			const struct ust_ip_err *e);
/* Whether any raw or ping socket exists (input skips the walk if not). */
bool ust_raw_any(const struct ust_stack *st);

#endif
