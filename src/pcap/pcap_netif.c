/*
 * pcap netif: see pcap_netif.h. rx_burst returns only frames whose capture
 * time has come (ust_pcap_netif_set_time), so replays are paced by the
 * capture, not by how fast the loop spins.
 */
#include "pcap_netif.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/time.h"

struct ust_pcap_netif {
	struct ust_netif nif;          /* what the stack drives */
	struct ust_pkt_pool *pool;     /* frame buffers */
	pcap_t *in;                    /* input capture, or NULL */
	pcap_t *dead;                  /* handle for the output's link type */
	pcap_dumper_t *out;            /* output capture, or NULL */
	uint64_t now_ns;               /* current time */
	bool have_next;                /* next input frame read ahead */
	struct pcap_pkthdr next_hdr;   /* its header */
	uint8_t next[65536];           /* its bytes */
};

static void
read_ahead(struct ust_pcap_netif *p)
{
	p->have_next = false;
	if (p->in == NULL)
		return;
	struct pcap_pkthdr *h;
	const u_char *d;
	if (pcap_next_ex(p->in, &h, &d) != 1)
		return;
	p->next_hdr = *h;
	memcpy(p->next, d, h->caplen < sizeof(p->next) ? h->caplen : sizeof(p->next));
	p->have_next = true;
}

uint64_t
ust_pcap_netif_next_ts(struct ust_pcap_netif *p)
{
	if (!p->have_next)
		return UST_TIME_NEVER;
	return (uint64_t)p->next_hdr.ts.tv_sec * UST_NS_PER_S +
	       (uint64_t)p->next_hdr.ts.tv_usec * UST_NS_PER_US;
}

static uint16_t
pc_rx(struct ust_netif *nif, struct ust_pkt **pkts, uint16_t n)
{
	struct ust_pcap_netif *p = nif->priv;
	uint16_t got = 0;
	while (got < n && p->have_next && ust_pcap_netif_next_ts(p) <= p->now_ns) {
		uint32_t len = p->next_hdr.caplen;
		struct ust_pkt *pkt = ust_pkt_pool_alloc(p->pool);
		if (pkt == NULL)
			break;
		/* Frames too long for one buffer are cut: the stack sees a
		 * truncated frame, as a NIC with a short buffer would give. */
		uint32_t room = ust_pkt_tailroom(pkt);
		uint8_t *d = ust_pkt_append(pkt, len < room ? len : room);
		memcpy(d, p->next, pkt->len);
		pkt->ts_ns = ust_pcap_netif_next_ts(p);
		pkts[got++] = pkt;
		read_ahead(p);
	}
	return got;
}

static uint16_t
pc_tx(struct ust_netif *nif, struct ust_pkt **pkts, uint16_t n)
{
	struct ust_pcap_netif *p = nif->priv;
	static uint8_t buf[65536];
	for (uint16_t i = 0; i < n; i++) {
		if (p->out != NULL) {
			struct pcap_pkthdr h;
			h.ts.tv_sec = (time_t)(p->now_ns / UST_NS_PER_S);
			h.ts.tv_usec = (suseconds_t)(p->now_ns % UST_NS_PER_S / UST_NS_PER_US);
			h.caplen = h.len = ust_pkt_read(pkts[i], 0, buf, sizeof(buf));
			pcap_dump((u_char *)p->out, &h, buf);
		}
		ust_pkt_free(pkts[i]);
	}
	return n;
}

static struct ust_pkt *
pc_alloc(struct ust_netif *nif)
{
	struct ust_pcap_netif *p = nif->priv;
	return ust_pkt_pool_alloc(p->pool);
}

static const struct ust_netif_ops pc_ops = {
	.rx_burst = pc_rx,
	.tx_burst = pc_tx,
	.alloc = pc_alloc,
};

struct ust_pcap_netif *
ust_pcap_netif_open(const char *in_path, const char *out_path, const uint8_t mac[6], uint16_t mtu)
{
	char err[PCAP_ERRBUF_SIZE];
	struct ust_pcap_netif *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->pool = ust_pkt_pool_create(1024, UST_PKT_BUF_SIZE);
	if (p->pool == NULL)
		goto fail;
	if (in_path != NULL) {
		p->in = pcap_open_offline(in_path, err);
		if (p->in == NULL) {
			fprintf(stderr, "ustack: %s: %s — give a readable .pcap file\n", in_path, err);
			goto fail;
		}
		if (pcap_datalink(p->in) != DLT_EN10MB) {
			fprintf(stderr, "ustack: %s: not an Ethernet capture — capture with -y EN10MB\n",
				in_path);
			goto fail;
		}
	}
	if (out_path != NULL) {
		p->dead = pcap_open_dead(DLT_EN10MB, 65535);
		p->out = p->dead != NULL ? pcap_dump_open(p->dead, out_path) : NULL;
		if (p->out == NULL) {
			fprintf(stderr, "ustack: %s: %s — choose a writable path\n", out_path,
				p->dead != NULL ? pcap_geterr(p->dead) : "pcap_open_dead failed");
			goto fail;
		}
	}
	memcpy(p->nif.mac, mac, 6);
	p->nif.mtu = mtu;
	p->nif.ops = &pc_ops;
	p->nif.priv = p;
	read_ahead(p);
	return p;
fail:
	ust_pcap_netif_close(p);
	return NULL;
}

void
ust_pcap_netif_close(struct ust_pcap_netif *p)
{
	if (p == NULL)
		return;
	if (p->out != NULL)
		pcap_dump_close(p->out);
	if (p->dead != NULL)
		pcap_close(p->dead);
	if (p->in != NULL)
		pcap_close(p->in);
	ust_pkt_pool_destroy(p->pool);
	free(p);
}

struct ust_netif *
ust_pcap_netif_netif(struct ust_pcap_netif *p)
{
	return &p->nif;
}

void
ust_pcap_netif_set_time(struct ust_pcap_netif *p, uint64_t now_ns)
{
	p->now_ns = now_ns;
}

unsigned
ust_pcap_netif_in_use(const struct ust_pcap_netif *p)
{
	return ust_pkt_pool_in_use(p->pool);
}
