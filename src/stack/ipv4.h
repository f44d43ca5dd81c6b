/*
 * IPv4: input validation and delivery to ICMP/UDP/TCP, fragment reassembly
 * (ipv4_frag.c), routing (route.c: local subnet + default gateway), output
 * with fragmentation when the datagram exceeds the MTU and DF is clear.
 */
#ifndef UST_IPV4_H
#define UST_IPV4_H

#include <stdbool.h>
#include <stdint.h>

#include "ip.h"
#include "stack.h"
#include "wire/ipv4.h"

#define UST_IP_DEFAULT_TTL 64 /* net.ipv4.ip_default_ttl */

struct ust_ipv4_tx {
	uint32_t src;  /* host order; 0 picks our address */
	uint32_t dst;  /* host order */
	uint8_t proto; /* UST_IPPROTO_* */
	uint8_t ttl;   /* 0 picks 64 */
	uint8_t tos;   /* DSCP + ECN */
	bool df;       /* don't fragment (TCP sets it: PMTU discovery) */
};

int ust_ipv4_init(struct ust_stack *st);
void ust_ipv4_fini(struct ust_stack *st);
/* data starts at the IP header. */
void ust_ipv4_input(struct ust_stack *st, struct ust_pkt *pkt);
/* pkt data starts at the L4 header with headroom for IP + Ethernet; the L4
 * checksum is already filled. Consumes pkt. 0, or -EHOSTUNREACH (no route),
 * -EMSGSIZE (too big with DF), -ENOBUFS. */
int ust_ipv4_output(struct ust_stack *st, struct ust_pkt *pkt, const struct ust_ipv4_tx *tx);
/* A whole datagram from a raw socket (IP_HDRINCL), data at its header:
 * length, checksum and a zero identification or source are filled in.
 * Consumes pkt; 0, -EINVAL, -EMSGSIZE (no fragmentation), -ENETUNREACH. */
int ust_ipv4_output_hdrincl(struct ust_stack *st, struct ust_pkt *pkt);
/* True if `a` is our address or in 127.0.0.0/8 (delivered by loopback). */
bool ust_ipv4_is_local(const struct ust_stack *st, uint32_t a);
/* True for 255.255.255.255 and our subnet's broadcast address. */
bool ust_ipv4_is_bcast(const struct ust_stack *st, uint32_t a);
/* Next hop for dst: 0 and *nexthop, or -EHOSTUNREACH / -ENETUNREACH. */
int ust_route_lookup(const struct ust_stack *st, uint32_t dst, uint32_t *nexthop);
/* What L4 is told about an IPv4 datagram (ip.h). */
void ust_ipv4_info(const struct ust_stack *st, const struct ust_ipv4_view *ip,
		   struct ust_ip_info *out);
/* Payload room for L4 over IPv4 on this netif (MTU - 20). */
uint16_t ust_ipv4_mtu_payload(const struct ust_stack *st);
/* Path MTU to dst (RFC 1191): the port's MTU until a fragmentation needed
 * lowered it. */
uint16_t ust_ipv4_pmtu(const struct ust_stack *st, uint32_t dst);
/* A fragmentation needed said `mtu` for dst: remember it (never below 552)
 * for 10 minutes. Returns true if the path MTU went down. */
bool ust_ipv4_pmtu_update(struct ust_stack *st, uint32_t dst, uint32_t mtu);


/* Reassembly (ipv4_frag.c). Takes pkt (data at the IP header, view ip);
 * returns a whole datagram (data at its IP header, *ip rewritten to match)
 * when this fragment completes one, else NULL. */
struct ust_pkt *ust_ipv4_reass(struct ust_stack *st, struct ust_pkt *pkt, struct ust_ipv4_view *ip);
int ust_ipv4_frag_init(struct ust_stack *st);
void ust_ipv4_frag_fini(struct ust_stack *st);

#endif
