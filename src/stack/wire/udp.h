/* UDP header (RFC 768): parse with checksum, and build. */
#ifndef UST_WIRE_UDP_H
#define UST_WIRE_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../stats.h"

#define UST_UDP_HLEN 8

struct ust_udp_view {
	uint16_t sport;         /* source port */
	uint16_t dport;         /* destination port */
	uint16_t len;           /* header + payload, from the header */
	const uint8_t *payload; /* first payload byte */
	uint16_t payload_len;   /* len - 8 */
};

/*
 * `len` is the IP payload length; the UDP length must fit in it (bytes beyond
 * are ignored as IP says). Checksum 0 means none over IPv4; otherwise verified
 * against `pseudo_sum` (ust_csum_pseudo4 with the UDP length) unless ol_flags
 * says the NIC did.
 */
enum ust_drop ust_udp_parse(const uint8_t *p, size_t len, uint32_t pseudo_sum, uint32_t ol_flags,
			    struct ust_udp_view *out);
/* Write the header at `out`; the payload already follows. Computes the
 * checksum from `pseudo_sum` unless `csum_by_nic` (then writes the pseudo sum
 * as the NIC expects). A computed 0 is sent as 0xffff. */
void ust_udp_build(uint8_t *out, uint16_t sport, uint16_t dport, uint16_t len, uint32_t pseudo_sum,
		   bool csum_by_nic);

#endif
