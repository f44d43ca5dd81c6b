/*
 * Internet checksum (RFC 1071) with incremental update (RFC 1624).
 * Sums are carried unfolded in a uint32_t so pieces (pseudo header, header,
 * payload) add up before one fold. Arguments are in host order.
 */
#ifndef UST_WIRE_CSUM_H
#define UST_WIRE_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add the 16-bit big-endian words of `data` to `sum` (odd tail padded with 0). */
uint32_t ust_csum_partial(const void *data, size_t len, uint32_t sum);
/* Fold and complement: the value to put in a checksum field (host order). */
uint16_t ust_csum_fold(uint32_t sum);
/* Pseudo header sum for TCP/UDP over IPv4 (addresses in host order). */
uint32_t ust_csum_pseudo4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len);
/* Pseudo header sum over IPv6 (RFC 8200 8.1; addresses in wire order). */
uint32_t ust_csum_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
			  uint32_t l4_len);
/* RFC 1624 eqn. 3: new checksum after a 16-bit field changed from old to new. */
uint16_t ust_csum_update16(uint16_t csum, uint16_t old_v, uint16_t new_v);

#endif
