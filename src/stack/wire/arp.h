/* ARP for Ethernet/IPv4 (RFC 826): parse and build the 28-byte body. */
#ifndef UST_WIRE_ARP_H
#define UST_WIRE_ARP_H

#include <stddef.h>
#include <stdint.h>

#include "../stats.h"

#define UST_ARP_LEN 28
#define UST_ARP_OP_REQUEST 1
#define UST_ARP_OP_REPLY 2

struct ust_arp_view {
	uint16_t op;    /* UST_ARP_OP_* */
	uint8_t sha[6]; /* sender MAC */
	uint32_t spa;   /* sender IPv4, host order */
	uint8_t tha[6]; /* target MAC */
	uint32_t tpa;   /* target IPv4, host order */
};

/* Checks htype 1, ptype 0x0800, hlen 6, plen 4 and op 1 or 2. */
enum ust_drop ust_arp_parse(const uint8_t *p, size_t len, struct ust_arp_view *out);
void ust_arp_build(uint8_t *out, const struct ust_arp_view *v);

#endif
