/*
 * A netif over pcap files: frames come from an input capture (each with its
 * timestamp in ts_ns, so a replay can drive virtual time) and what the stack
 * sends is written to an output capture. Buffers from a plain packet pool.
 */
#ifndef UST_PCAP_NETIF_H
#define UST_PCAP_NETIF_H

#include <stdint.h>

#include "stack/netif.h"

struct ust_pcap_netif;

/* in_path may be NULL (nothing to receive), out_path may be NULL (discard).
 * Prints one line and returns NULL on failure. */
struct ust_pcap_netif *ust_pcap_netif_open(const char *in_path, const char *out_path,
					   const uint8_t mac[6], uint16_t mtu);
void ust_pcap_netif_close(struct ust_pcap_netif *p);
struct ust_netif *ust_pcap_netif_netif(struct ust_pcap_netif *p);
/* Timestamp of the next input frame, UST_TIME_NEVER at the end of the file. */
uint64_t ust_pcap_netif_next_ts(struct ust_pcap_netif *p);
/* The time stamped on frames written from now on. */
void ust_pcap_netif_set_time(struct ust_pcap_netif *p, uint64_t now_ns);
/* Buffers handed out and not yet returned. */
unsigned ust_pcap_netif_in_use(const struct ust_pcap_netif *p);

#endif
