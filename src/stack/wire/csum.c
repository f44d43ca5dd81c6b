/* Internet checksum: RFC 1071 sum, RFC 1624 incremental update. */
#include "csum.h"

#include "bytes.h"

uint32_t
ust_csum_partial(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t acc = sum;
	while (len >= 8) {
		acc += (uint64_t)ust_get16(p) + ust_get16(p + 2) + ust_get16(p + 4) + ust_get16(p + 6);
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		acc += ust_get16(p);
		p += 2;
		len -= 2;
	}
	if (len == 1)
		acc += (uint32_t)p[0] << 8;
	/* Fold the 64-bit accumulator so callers can keep adding. */
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t
ust_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t
ust_csum_pseudo4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len)
{
	uint64_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + l4_len;
	return (uint32_t)((s & 0xffffffffu) + (s >> 32));
}

uint16_t
ust_csum_update16(uint16_t csum, uint16_t old_v, uint16_t new_v)
{
	/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). */
	uint32_t s = (uint16_t)~csum + (uint32_t)(uint16_t)~old_v + new_v;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}
