/*
 * DPDK port as a netif: rte_eth_rx_burst/tx_burst with zero-copy wrapping of
 * rte_mbuf in struct ust_pkt (mbuf private area), and the mempool behind it.
 * Frames up to a jumbo frame are received whatever our own MTU (a peer with a
 * larger one is served, as Linux serves it): scatter is asked for where the
 * port has it, and a frame that came chained is copied into one buffer of a
 * small jumbo pool, so the stack sees it whole while every other packet keeps
 * a buffer of the MTU's size (a socket's receive buffer is charged by buffer
 * size, as Linux charges truesize). A longer frame reaches the stack as a
 * chain it counts and drops instead of a silent rx error. The port's receive
 * checksum verdicts are asked for where it has them (the stack trusts good
 * and drops bad). Transmit checksums stay the stack's: net_tap's "offload"
 * in DPDK 22.11 is the same sum done in the driver, in this thread, and it
 * writes a TCP or IPv4 header sum of zero as 0xffff (valid ones' complement,
 * yet not what Linux sends, and tshark flags it). The receive interrupt is
 * configured where the driver has one (net_tap, net_memif), so an idle
 * ustackd can sleep until a frame comes.
 */
#include "port.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define RX_DESC 1024
#define TX_DESC 1024
#define MBUF_CACHE 256
#define JUMBO_MBUFS 255 /* frames above the MTU received at once, at most */
/* The largest frame received in one mbuf: a 9000-byte MTU with a VLAN tag
 * and the CRC, whatever MTU we send with ourselves. */
#define RX_FRAME_MAX (9000 + RTE_ETHER_HDR_LEN + 4 + RTE_ETHER_CRC_LEN)
#define RX_CSUM_OFFLOADS                                                                             \
	(RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM)

struct ust_port {
	struct ust_netif nif;     /* what the stack drives */
	struct rte_mempool *pool; /* mbufs with a struct ust_pkt in their private area */
	struct rte_mempool *jumbo; /* mbufs of RX_FRAME_MAX, for frames that came chained */
	uint16_t port_id;         /* ethdev port */
	int rx_intr_fd;           /* readable on a frame while armed, -1 = none */
	bool rx_intr_counter;     /* the fd is an eventfd to read after a wake-up */
	uint64_t rx_bursts;       /* rx bursts that brought at least one frame */
	uint64_t tx_bursts;       /* tx bursts handed to the driver */
};

static_assert(sizeof(struct ust_pkt) <= 128, "ust_pkt must fit the mbuf private area");
#define PRIV_SIZE RTE_ALIGN(sizeof(struct ust_pkt), RTE_MBUF_PRIV_ALIGN)

static void
mbuf_free(struct ust_pkt *pkt)
{
	struct rte_mbuf *m = pkt->owner;
	m->next = NULL;
	m->nb_segs = 1;
	rte_pktmbuf_free_seg(m);
}

static const struct ust_pkt_ops mbuf_ops = {.free = mbuf_free};

static struct ust_pkt *
wrap_seg(struct rte_mbuf *m)
{
	struct ust_pkt *p = rte_mbuf_to_priv(m);
	p->buf = m->buf_addr;
	p->buf_len = m->buf_len;
	p->data_off = m->data_off;
	p->len = m->data_len;
	p->pkt_len = m->pkt_len;
	p->refcnt = 1;
	p->ol_flags = 0;
	p->l2_off = p->l3_off = p->l4_off = 0;
	p->nb_segs = m->nb_segs;
	p->next = NULL;
	p->qnext = NULL;
	p->ops = &mbuf_ops;
	p->owner = m;
	p->ts_ns = 0;
	return p;
}

static struct ust_pkt *
wrap(struct rte_mbuf *m)
{
	struct ust_pkt *head = wrap_seg(m);
	struct ust_pkt *tail = head;
	for (struct rte_mbuf *s = m->next; s != NULL; s = s->next) {
		tail->next = wrap_seg(s);
		tail = tail->next;
	}
	uint64_t f = m->ol_flags;
	if ((f & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
		head->ol_flags |= UST_PKT_RX_IP_CSUM_GOOD;
	if ((f & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		head->ol_flags |= UST_PKT_RX_IP_CSUM_BAD;
	if ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		head->ol_flags |= UST_PKT_RX_L4_CSUM_GOOD;
	if ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		head->ol_flags |= UST_PKT_RX_L4_CSUM_BAD;
	return head;
}

/* Write the ust_pkt view back into the mbuf chain before it leaves. */
static struct rte_mbuf *
unwrap(struct ust_pkt *p)
{
	struct rte_mbuf *head = p->owner;
	struct rte_mbuf *prev = NULL;
	uint16_t segs = 0;
	for (struct ust_pkt *s = p; s != NULL; s = s->next) {
		struct rte_mbuf *m = s->owner;
		m->data_off = (uint16_t)s->data_off;
		m->data_len = (uint16_t)s->len;
		m->next = NULL;
		if (prev != NULL)
			prev->next = m;
		prev = m;
		segs++;
	}
	head->pkt_len = p->pkt_len;
	head->nb_segs = segs;
	head->ol_flags = 0;
	return head;
}

/* A chained frame copied into one jumbo mbuf; the chain itself when none is
 * free or it does not fit (the stack counts and drops it). */
static struct rte_mbuf *
unchain(struct ust_port *p, struct rte_mbuf *m)
{
	struct rte_mbuf *j = rte_pktmbuf_alloc(p->jumbo);
	if (j == NULL)
		return m;
	char *d = rte_pktmbuf_append(j, (uint16_t)m->pkt_len);
	if (m->pkt_len > UINT16_MAX || d == NULL) {
		rte_pktmbuf_free(j);
		return m;
	}
	for (struct rte_mbuf *s = m; s != NULL; s = s->next) {
		memcpy(d, rte_pktmbuf_mtod(s, char *), s->data_len);
		d += s->data_len;
	}
	j->ol_flags = m->ol_flags;
	j->packet_type = m->packet_type;
	j->port = m->port;
	rte_pktmbuf_free(m);
	return j;
}

static uint16_t
port_rx(struct ust_netif *nif, struct ust_pkt **pkts, uint16_t n)
{
	struct ust_port *p = nif->priv;
	struct rte_mbuf *m[64];
	if (n > 64)
		n = 64;
	uint16_t got = rte_eth_rx_burst(p->port_id, 0, m, n);
	p->rx_bursts += got != 0;
	for (uint16_t i = 0; i < got; i++)
		pkts[i] = wrap(m[i]->nb_segs > 1 ? unchain(p, m[i]) : m[i]);
	return got;
}

static uint16_t
port_tx(struct ust_netif *nif, struct ust_pkt **pkts, uint16_t n)
{
	struct ust_port *p = nif->priv;
	struct rte_mbuf *m[64];
	uint16_t done = 0;
	while (done < n) {
		uint16_t k = (uint16_t)(n - done > 64 ? 64 : n - done);
		for (uint16_t i = 0; i < k; i++)
			m[i] = unwrap(pkts[done + i]);
		uint16_t sent = rte_eth_tx_burst(p->port_id, 0, m, k);
		p->tx_bursts++;
		done += sent;
		if (sent < k)
			break;
	}
	return done;
}

static struct ust_pkt *
port_alloc(struct ust_netif *nif)
{
	struct ust_port *p = nif->priv;
	struct rte_mbuf *m = rte_pktmbuf_alloc(p->pool);
	if (m == NULL)
		return NULL;
	struct ust_pkt *pkt = wrap_seg(m);
	pkt->pkt_len = 0;
	pkt->len = 0;
	return pkt;
}

static unsigned
port_avail(struct ust_netif *nif)
{
	struct ust_port *p = nif->priv;
	return rte_mempool_avail_count(p->pool);
}

static const struct ust_netif_ops port_ops = {
	.rx_burst = port_rx,
	.tx_burst = port_tx,
	.alloc = port_alloc,
	.avail = port_avail,
};

struct ust_port *
ust_port_open(uint16_t port_id, unsigned mbufs, unsigned socket_id, uint16_t mtu)
{
	struct rte_eth_dev_info info;
	if (rte_eth_dev_info_get(port_id, &info) != 0) {
		fprintf(stderr, "ustackd: port %u: cannot read its capabilities\n", port_id);
		return NULL;
	}
	/* The frame must fit what the driver receives, not only its MTU
	 * range (net_tap in DPDK 22.11: frames of 1522 bytes). */
	uint32_t max_mtu = info.max_rx_pktlen > RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN ?
				   info.max_rx_pktlen - RTE_ETHER_HDR_LEN - RTE_ETHER_CRC_LEN : 0;
	if (max_mtu > info.max_mtu)
		max_mtu = info.max_mtu;
	if (mtu != 0 && (mtu < info.min_mtu || mtu > max_mtu)) {
		fprintf(stderr, "ustackd: --mtu %u: port %u (%s) takes an MTU from %u to %u — choose one "
				"in that range\n",
			mtu, port_id, info.driver_name, info.min_mtu, max_mtu);
		return NULL;
	}
	struct ust_port *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->port_id = port_id;
	char name[32];
	snprintf(name, sizeof(name), "ust_mbuf_%u", port_id);
	/* A frame of the MTU fits one mbuf; a longer one comes chained. */
	uint32_t frame = (uint32_t)RTE_PKTMBUF_HEADROOM + mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + 4;
	uint32_t room = RTE_MBUF_DEFAULT_BUF_SIZE;
	if (mtu != 0 && frame > room)
		room = RTE_ALIGN(frame, 1024);
	p->pool = rte_pktmbuf_pool_create(name, mbufs, MBUF_CACHE, PRIV_SIZE, (uint16_t)room, (int)socket_id);
	snprintf(name, sizeof(name), "ust_jumbo_%u", port_id);
	p->jumbo = rte_pktmbuf_pool_create(name, JUMBO_MBUFS, 0, PRIV_SIZE,
					   (uint16_t)RTE_ALIGN(RTE_PKTMBUF_HEADROOM + RX_FRAME_MAX, 1024),
					   (int)socket_id);
	if (p->pool == NULL || p->jumbo == NULL) {
		fprintf(stderr, "ustackd: cannot create a pool of %u mbufs: %s — lower --mbufs or "
				"give EAL more memory (-m)\n",
			mbufs, rte_strerror(rte_errno));
		rte_mempool_free(p->pool);
		rte_mempool_free(p->jumbo);
		free(p);
		return NULL;
	}
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	conf.intr_conf.rxq = 1;
	if (mtu != 0)
		conf.rxmode.mtu = mtu;
	conf.rxmode.offloads = info.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_SCATTER | RX_CSUM_OFFLOADS);
	int rc = rte_eth_dev_configure(port_id, 1, 1, &conf);
	if (rc != 0) {
		conf.intr_conf.rxq = 0;
		rc = rte_eth_dev_configure(port_id, 1, 1, &conf);
	}
	/* net_tap has no ring: its descriptors are the buffers one readv()
	 * fills, so a jumbo frame's worth, not a ring's (each readv would pass
	 * them all to the kernel). */
	uint16_t rx_desc = RX_DESC;
	if (strcmp(info.driver_name, "net_tap") == 0)
		rx_desc = (uint16_t)(RX_FRAME_MAX / (room - RTE_PKTMBUF_HEADROOM) + 1);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(port_id, 0, rx_desc, socket_id, NULL, p->pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port_id, 0, TX_DESC, socket_id, NULL);
	if (rc == 0 && mtu != 0)
		rc = rte_eth_dev_set_mtu(port_id, mtu);
	if (rc == 0)
		rc = rte_eth_dev_start(port_id);
	if (rc != 0) {
		fprintf(stderr, "ustackd: port %u: cannot configure and start: %s\n", port_id,
			rte_strerror(-rc));
		rte_mempool_free(p->pool);
		rte_mempool_free(p->jumbo);
		free(p);
		return NULL;
	}
	p->rx_intr_fd = -1;
	if (conf.intr_conf.rxq)
		p->rx_intr_fd = rte_eth_dev_rx_intr_ctl_q_get_fd(port_id, 0);
	struct rte_ether_addr mac;
	rte_eth_macaddr_get(port_id, &mac);
	memcpy(p->nif.mac, mac.addr_bytes, 6);
	bool tap = strcmp(info.driver_name, "net_tap") == 0;
	p->rx_intr_counter = !tap;
	if (tap) {
		/* net_tap gives the kernel netdev the port's own MAC, and that
		 * netdev is our peer: take a neighbouring locally administered
		 * address so both ends differ. The tap delivers every frame. */
		p->nif.mac[0] = (uint8_t)((p->nif.mac[0] | 0x02) & ~0x01);
		p->nif.mac[5] ^= 0x01;
	}
	uint16_t now_mtu = 1500;
	rte_eth_dev_get_mtu(port_id, &now_mtu);
	p->nif.mtu = now_mtu;
	if (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
		p->nif.caps |= UST_NETIF_CAP_RX_IP_CSUM;
	if ((conf.rxmode.offloads & (RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM)) ==
	    (RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM))
		p->nif.caps |= UST_NETIF_CAP_RX_L4_CSUM;
	p->nif.ops = &port_ops;
	p->nif.priv = p;
	printf("ustackd: port %u (%s): MTU %u (at most %u), receives frames up to %u bytes%s%s\n",
	       port_id, info.driver_name, now_mtu, max_mtu,
	       (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER) ? (unsigned)RX_FRAME_MAX : room - RTE_PKTMBUF_HEADROOM,
	       (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER) ? " (in pieces the port chains)" : "",
	       (p->nif.caps & UST_NETIF_CAP_RX_L4_CSUM) ? ", rx checksums verified by the port" : "");
	return p;
}

void
ust_port_close(struct ust_port *p)
{
	if (p == NULL)
		return;
	rte_eth_dev_stop(p->port_id);
	rte_eth_dev_close(p->port_id);
	rte_mempool_free(p->pool);
	rte_mempool_free(p->jumbo);
	free(p);
}

int
ust_port_rx_intr_fd(const struct ust_port *p)
{
	return p->rx_intr_fd;
}

int
ust_port_rx_intr_arm(struct ust_port *p, bool on)
{
	if (p->rx_intr_fd < 0)
		return -ENOTSUP;
	int rc = on ? rte_eth_dev_rx_intr_enable(p->port_id, 0) : rte_eth_dev_rx_intr_disable(p->port_id, 0);
	/* net_tap's fd (the tap itself) is always armed: nothing to switch. */
	return rc == -ENOTSUP ? 0 : rc;
}

void
ust_port_rx_intr_ack(struct ust_port *p)
{
	uint64_t n;
	if (p->rx_intr_counter && read(p->rx_intr_fd, &n, sizeof(n)) < 0)
		return; /* nothing was counted: a spurious wake-up */
}

struct ust_netif *
ust_port_netif(struct ust_port *p)
{
	return &p->nif;
}

void
ust_port_print_stats(struct ust_port *p)
{
	struct rte_eth_stats s;
	if (rte_eth_stats_get(p->port_id, &s) != 0)
		return;
	printf("  port %u: rx %" PRIu64 " frames, tx %" PRIu64 ", rx missed %" PRIu64
	       ", rx errors %" PRIu64 ", tx errors %" PRIu64 ", no mbuf %" PRIu64 "\n",
	       p->port_id, s.ipackets, s.opackets, s.imissed, s.ierrors, s.oerrors, s.rx_nombuf);
	/* How well the poll loop batches: frames per call into the driver. */
	printf("  port %u: %" PRIu64 " rx bursts, %" PRIu64 " tx bursts\n", p->port_id, p->rx_bursts,
	       p->tx_bursts);
}
