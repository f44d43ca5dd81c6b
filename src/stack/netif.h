/*
 * The only door between the stack and the world.
 *
 * A netif is a burst interface to one Ethernet port: DPDK (ustackd), the
 * in-memory link (netif/memlink.c), a pcap file (src/pcap). The stack calls
 * these ops from ust_stack_poll(); it never sleeps in them.
 *
 * Ownership: rx_burst hands each packet's reference to the stack. tx_burst
 * takes the references of the first `ret` packets; the caller still owns the
 * rest and frees them (counted as UST_STAT_TX_FULL). alloc returns an empty
 * packet with refcnt 1 and at least UST_PKT_HEADROOM in front. avail lets
 * the stack keep a reserve for the replies that keep the host reachable.
 */
#ifndef UST_NETIF_H
#define UST_NETIF_H

#include <stdint.h>

#include "pkt.h"

/* Capability bits (caps). */
#define UST_NETIF_CAP_RX_IP_CSUM (1u << 0) /* sets UST_PKT_RX_IP_CSUM_* */
#define UST_NETIF_CAP_RX_L4_CSUM (1u << 1) /* sets UST_PKT_RX_L4_CSUM_* */
#define UST_NETIF_CAP_TX_IP_CSUM (1u << 2) /* honours UST_PKT_TX_IP_CSUM */
#define UST_NETIF_CAP_TX_L4_CSUM (1u << 3) /* honours UST_PKT_TX_L4_CSUM */

struct ust_netif;

struct ust_netif_ops {
	uint16_t (*rx_burst)(struct ust_netif *nif, struct ust_pkt **pkts, uint16_t n);
	uint16_t (*tx_burst)(struct ust_netif *nif, struct ust_pkt **pkts, uint16_t n);
	struct ust_pkt *(*alloc)(struct ust_netif *nif);
	/* Free buffers left for alloc; NULL when the backend cannot tell (no reserve is kept). */
	unsigned (*avail)(struct ust_netif *nif);
};

struct ust_netif {
	const struct ust_netif_ops *ops; /* burst and buffer functions */
	void *priv;                      /* the backend's own state */
	uint8_t mac[6];                  /* our Ethernet address */
	uint16_t mtu;                    /* L3 MTU, e.g. 1500 */
	uint32_t caps;                   /* UST_NETIF_CAP_* */
};

static inline uint16_t
ust_netif_rx(struct ust_netif *nif, struct ust_pkt **pkts, uint16_t n)
{
	return nif->ops->rx_burst(nif, pkts, n);
}

static inline uint16_t
ust_netif_tx(struct ust_netif *nif, struct ust_pkt **pkts, uint16_t n)
{
	return nif->ops->tx_burst(nif, pkts, n);
}

static inline struct ust_pkt *
ust_netif_alloc(struct ust_netif *nif)
{
	return nif->ops->alloc(nif);
}

#endif
