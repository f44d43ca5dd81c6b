/*
 * replay IN.pcap OUT.pcap: run one stack (198.18.0.2/24, MAC
 * 02:00:00:00:00:02, fixed seed) over a capture in virtual time taken from the
 * capture's timestamps, write what it sends to OUT.pcap, then print every
 * non-zero counter as `drop.ID=N` / `stat.ID=N`. Exits 1 if a buffer leaked.
 */
#include <stdio.h>

#include "pcap/pcap_netif.h"
#include "stack/stack.h"

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: replay IN.pcap OUT.pcap\n");
		return 2;
	}
	const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x02};
	struct ust_pcap_netif *pn = ust_pcap_netif_open(argv[1], argv[2], mac, 1500);
	if (pn == NULL)
		return 2;
	uint64_t now = ust_pcap_netif_next_ts(pn);
	if (now == UST_TIME_NEVER)
		now = 0;
	struct ust_stack_config cfg = {.ip4_addr = 0xc6120002u, .ip4_prefix = 24,
				       .ip4_gateway = 0xc6120001u, .seed = 1,
				       .no_gratuitous_arp = true};
	struct ust_stack *st = ust_stack_create(&cfg, ust_pcap_netif_netif(pn), now);
	/* Follow the capture's clock, then give timers two seconds to settle. */
	uint64_t end = UST_TIME_NEVER;
	for (;;) {
		ust_pcap_netif_set_time(pn, now);
		while (ust_stack_poll(st, now) > 0)
			;
		uint64_t next = ust_pcap_netif_next_ts(pn);
		if (next == UST_TIME_NEVER && end == UST_TIME_NEVER)
			end = now + 2 * UST_NS_PER_S;
		uint64_t dl = ust_stack_next_deadline(st);
		if (dl < next)
			next = dl;
		if (next > end)
			break;
		now = next > now ? next : now + 1;
	}
	struct ust_stats stats = st->stats;
	ust_stack_destroy(st);
	unsigned leaked = ust_pcap_netif_in_use(pn);
	ust_pcap_netif_close(pn);
	for (int i = 1; i < UST_DROP_MAX; i++)
		if (stats.drop[i] != 0)
			printf("drop.%s=%llu\n", ust_drop_id(i), (unsigned long long)stats.drop[i]);
	for (int i = 0; i < UST_STAT_MAX; i++)
		if (stats.stat[i] != 0)
			printf("stat.%s=%llu\n", ust_stat_id(i), (unsigned long long)stats.stat[i]);
	if (leaked != 0) {
		fprintf(stderr, "replay: %u packet buffers leaked\n", leaked);
		return 1;
	}
	return 0;
}
