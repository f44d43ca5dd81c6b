/* libFuzzer target: every wire/ parser on arbitrary bytes. They must never
 * read past `len` (ASan) or hit undefined behaviour (UBSan). */
#include <stddef.h>
#include <stdint.h>

#include "stack/pkt.h"
#include "stack/wire/arp.h"
#include "stack/wire/eth.h"
#include "stack/wire/icmp.h"
#include "stack/wire/icmp6.h"
#include "stack/wire/ipv4.h"
#include "stack/wire/ipv6.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ust_eth_view e;
	struct ust_arp_view a;
	struct ust_ipv4_view ip;
	struct ust_icmp_view ic;
	struct ust_udp_view u;
	struct ust_tcp_view t;
	struct ust_tcp_opts o;
	uint32_t flags = len > 0 ? data[0] & (UST_PKT_RX_IP_CSUM_GOOD | UST_PKT_RX_L4_CSUM_GOOD) : 0;
	ust_eth_parse(data, len, &e);
	ust_arp_parse(data, len, &a);
	if (ust_ipv4_parse(data, len, flags, &ip) == UST_DROP_NONE) {
		ust_icmp_parse(ip.payload, ip.payload_len, &ic);
		ust_udp_parse(ip.payload, ip.payload_len, 0, flags, &u);
		ust_tcp_parse(ip.payload, ip.payload_len, 0, flags, &t);
	}
	ust_udp_parse(data, len, 0, flags, &u);
	ust_tcp_parse(data, len, 0, flags | UST_PKT_RX_L4_CSUM_GOOD, &t);
	ust_tcp_opts_parse(data, len > 40 ? 40 : len, &o);
	struct ust_ipv6_view ip6;
	struct ust_icmp6_view ic6;
	struct ust_nd_view nd;
	if (ust_ipv6_parse(data, len, &ip6) == UST_DROP_NONE)
		ust_icmp6_parse(data + ip6.l4_off, len - ip6.l4_off, ip6.src, ip6.dst, &ic6);
	/* ND options behind a checksum the fuzzer would rarely get right:
	 * decode the bytes as a message whose checksum was good. */
	if (len >= UST_ICMP6_HLEN) {
		ic6.type = data[0];
		ic6.code = data[1];
		ic6.rest = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7];
		ic6.body = data + UST_ICMP6_HLEN;
		ic6.body_len = len - UST_ICMP6_HLEN;
		ust_nd_parse(&ic6, &nd);
	}
	return 0;
}
