/* Ethernet layer: demultiplex received frames by ethertype; frame output. */
#ifndef UST_ETH_H
#define UST_ETH_H

#include <stdint.h>

#include "stack.h"

/* Takes the frame's reference; data starts at the Ethernet header. */
void ust_eth_input(struct ust_stack *st, struct ust_pkt *pkt);
/* Prepend an Ethernet header and queue the frame; consumes pkt. */
void ust_eth_output(struct ust_stack *st, struct ust_pkt *pkt, const uint8_t dst[6], uint16_t type);

#endif
