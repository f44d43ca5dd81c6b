/*
 * Big-endian loads and stores on unaligned byte pointers: the only place wire
 * order is converted, so nothing outside wire/ sees network byte order.
 */
#ifndef UST_WIRE_BYTES_H
#define UST_WIRE_BYTES_H

#include <stdint.h>

typedef struct {
	uint16_t v;
} ust_be16; /* a 16-bit value still in network order */
typedef struct {
	uint32_t v;
} ust_be32; /* a 32-bit value still in network order */

static inline uint16_t
ust_get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t
ust_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
ust_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
ust_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
