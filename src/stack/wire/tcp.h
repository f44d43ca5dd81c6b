/* TCP header and options (RFC 9293, 7323, 2018): parse with checksum, build. */
#ifndef UST_WIRE_TCP_H
#define UST_WIRE_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../stats.h"

#define UST_TCP_HLEN 20
#define UST_TCP_MAX_OPT_LEN 40
#define UST_TCP_FIN 0x01
#define UST_TCP_SYN 0x02
#define UST_TCP_RST 0x04
#define UST_TCP_PSH 0x08
#define UST_TCP_ACK 0x10
#define UST_TCP_URG 0x20
#define UST_TCP_ECE 0x40
#define UST_TCP_CWR 0x80
#define UST_TCP_MAX_SACK 4

struct ust_tcp_sack_block {
	uint32_t start; /* first sequence number of the block */
	uint32_t end;   /* sequence number after the block */
};

struct ust_tcp_opts {
	bool has_mss;        /* MSS option present */
	bool has_wscale;     /* window scale option present */
	bool sack_ok;        /* SACK permitted present */
	bool has_ts;         /* timestamps present */
	uint16_t mss;        /* MSS value */
	uint8_t wscale;      /* shift count as sent (not clamped) */
	uint8_t nsack;       /* SACK blocks present */
	uint32_t tsval;      /* timestamp value */
	uint32_t tsecr;      /* timestamp echo reply */
	struct ust_tcp_sack_block sack[UST_TCP_MAX_SACK]; /* SACK blocks in order received */
};

struct ust_tcp_view {
	uint16_t sport;          /* source port */
	uint16_t dport;          /* destination port */
	uint32_t seq;            /* sequence number */
	uint32_t ack;            /* acknowledgment number */
	uint8_t hlen;            /* header bytes incl. options */
	uint8_t flags;           /* UST_TCP_* */
	uint16_t win;            /* window field, unscaled */
	uint16_t urp;            /* urgent pointer */
	const uint8_t *payload;  /* first data byte */
	uint32_t payload_len;    /* data bytes */
	struct ust_tcp_opts opts; /* decoded options */
};

/*
 * Validates the data offset against `len` (the IP payload length), decodes
 * options (up to a malformed one, as Linux), and verifies the
 * checksum against `pseudo_sum` unless ol_flags says the NIC did. Flag sanity
 * (SYN+FIN, SYN+RST, no flags) is UST_DROP_TCP_FLAGS.
 */
enum ust_drop ust_tcp_parse(const uint8_t *p, size_t len, uint32_t pseudo_sum, uint32_t ol_flags,
			    struct ust_tcp_view *out);
/* Decode an option list up to its end, an EOL, or an option whose length is
 * under 2 or runs past the end (Linux stops there and keeps the segment). */
void ust_tcp_opts_parse(const uint8_t *p, size_t len, struct ust_tcp_opts *out);
/* Encode options (MSS, SACK-permitted, timestamps, wscale, SACK blocks in the
 * Linux order) padded with NOPs to a multiple of 4; returns bytes written,
 * at most UST_TCP_MAX_OPT_LEN (SACK blocks that do not fit are left out). */
size_t ust_tcp_opts_build(uint8_t *out, const struct ust_tcp_opts *o);
/* Write the header from v (hlen includes options already at out + 20) and
 * the checksum over `seg_len` bytes from `pseudo_sum`, unless `csum_by_nic`. */
void ust_tcp_build(uint8_t *out, const struct ust_tcp_view *v, size_t seg_len, uint32_t pseudo_sum,
		   bool csum_by_nic);

#endif
