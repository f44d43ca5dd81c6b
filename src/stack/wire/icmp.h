/* ICMPv4 (RFC 792): parse and build echo and destination unreachable. */
#ifndef UST_WIRE_ICMP_H
#define UST_WIRE_ICMP_H

#include <stddef.h>
#include <stdint.h>

#include "../stats.h"

#define UST_ICMP_HLEN 8
#define UST_ICMP_ECHO_REPLY 0
#define UST_ICMP_UNREACH 3
#define UST_ICMP_ECHO 8
#define UST_ICMP_TIME_EXCEEDED 11
#define UST_ICMP_PARAM_PROB 12
#define UST_ICMP_UNREACH_NET 0
#define UST_ICMP_UNREACH_HOST 1
#define UST_ICMP_UNREACH_PROTO 2
#define UST_ICMP_UNREACH_PORT 3
#define UST_ICMP_UNREACH_NEEDFRAG 4

struct ust_icmp_view {
	uint8_t type;          /* UST_ICMP_* */
	uint8_t code;          /* per type */
	uint16_t id;           /* echo: identifier */
	uint16_t seq;          /* echo: sequence */
	uint16_t mtu;          /* unreach/needfrag: next-hop MTU */
	const uint8_t *body;   /* bytes after the 8-byte header */
	size_t body_len;       /* their count */
};

/* Checks length and checksum (ICMP has no offload). */
enum ust_drop ust_icmp_parse(const uint8_t *p, size_t len, struct ust_icmp_view *out);
/* Write the 8-byte header and checksum over header + `body_len` bytes that
 * already follow it at out + 8. `rest` is the 32-bit word after the checksum. */
void ust_icmp_build(uint8_t *out, uint8_t type, uint8_t code, uint32_t rest, size_t body_len);

#endif
