/*
 * One DPDK ethdev port as a struct ust_netif. Received rte_mbufs are wrapped,
 * not copied: the struct ust_pkt lives in the mbuf's private area.
 */
#ifndef UST_DPDK_PORT_H
#define UST_DPDK_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "stack/netif.h"

struct ust_port;

/* Configure and start `port_id` with one rx/tx queue and a pool of `mbufs`,
 * with `mtu` (0: the port's own), mbufs big enough for a frame of it. On
 * failure prints one line saying what to do and returns NULL. */
struct ust_port *ust_port_open(uint16_t port_id, unsigned mbufs, unsigned socket_id, uint16_t mtu);
void ust_port_close(struct ust_port *p);
struct ust_netif *ust_port_netif(struct ust_port *p);
/* The fd that turns readable when a frame arrives while the receive
 * interrupt is armed, or -1 when the driver has none (ustackd then naps
 * instead of sleeping). */
int ust_port_rx_intr_fd(const struct ust_port *p);
/* Arm the receive interrupt before sleeping, disarm it after. Returns 0
 * or a negative errno (the caller must not sleep on the fd then). */
int ust_port_rx_intr_arm(struct ust_port *p, bool on);
/* After the fd woke us: consume the event where it is a counter (memif's
 * eventfd); net_tap's fd is the tap itself, which the driver reads. */
void ust_port_rx_intr_ack(struct ust_port *p);
/* Frames the NIC dropped or failed (rte_eth_stats). */
void ust_port_print_stats(struct ust_port *p);

#endif
