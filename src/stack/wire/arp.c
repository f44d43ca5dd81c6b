/* ARP body for Ethernet/IPv4 (RFC 826): exactly htype 1, ptype 0x0800, 6/4. */
#include "arp.h"

#include <string.h>

#include "bytes.h"

enum ust_drop
ust_arp_parse(const uint8_t *p, size_t len, struct ust_arp_view *out)
{
	if (len < UST_ARP_LEN)
		return UST_DROP_ARP_SHORT;
	if (ust_get16(p) != 1 || ust_get16(p + 2) != 0x0800 || p[4] != 6 || p[5] != 4)
		return UST_DROP_ARP_FORMAT;
	out->op = ust_get16(p + 6);
	if (out->op != UST_ARP_OP_REQUEST && out->op != UST_ARP_OP_REPLY)
		return UST_DROP_ARP_OP;
	memcpy(out->sha, p + 8, 6);
	out->spa = ust_get32(p + 14);
	memcpy(out->tha, p + 18, 6);
	out->tpa = ust_get32(p + 24);
	return UST_DROP_NONE;
}

void
ust_arp_build(uint8_t *out, const struct ust_arp_view *v)
{
	ust_put16(out, 1);
	ust_put16(out + 2, 0x0800);
	out[4] = 6;
	out[5] = 4;
	ust_put16(out + 6, v->op);
	memcpy(out + 8, v->sha, 6);
	ust_put32(out + 14, v->spa);
	memcpy(out + 18, v->tha, 6);
	ust_put32(out + 24, v->tpa);
}
