/*
 * Buffer sizing, as Linux does it. The receive side:
 *  - the window offered starts at the SYN's (64 KiB in whole segments) and
 *    grows by two segments per in-order segment received, up to the buffer
 *    (rcv_ssthresh, tcp_grow_window), so a sender cannot be invited to a
 *    burst the path never showed it could carry;
 *  - the buffer starts at tcp_rmem's default and, unless SO_RCVBUF fixed it
 *    or tcp_moderate_rcvbuf is 0, grows once per receiver RTT to twice what
 *    the program read in that RTT plus sixteen segments, more when the rate
 *    is rising, up to tcp_rmem's maximum (dynamic right-sizing,
 *    tcp_rcv_space_adjust). The receiver's RTT comes from the timestamps
 *    the sender echoes, or without them from the time a window takes to
 *    arrive (tcp_rcv_rtt_measure).
 * The ring holds only payload, so its capacity is the window it can offer
 * (Linux's buffer also pays for packet overhead: its window is about half).
 * Rings are allocated when the first byte arrives, so an idle connection
 * has none; growing one happens only when the program has taken its bytes
 * (no span of the ring is lent out then).
 *
 * The send side (tcp_sndbuf_expand, tcp_check_space): the buffer starts at
 * tcp_wmem's default, takes room for two initial windows of segments at
 * establishment, and while a writer finds it full and cwnd is not what
 * limits the connection, grows to two congestion windows, up to tcp_wmem's
 * maximum; SO_SNDBUF fixes it. Sizes are counted as Linux counts them (a
 * segment costs its MSS in a power-of-two buffer plus the skb), so
 * getsockopt(SO_SNDBUF) shows Linux's figures; the ring holds that many
 * bytes of payload and follows at the writer's next send (tcp_sock.c).
 */
#include "tcp_var.h"

/* Linux tcp_rcv_rtt_update: timestamps give a smoothed estimate (win_dep
 * false), a window's arrival time only an upper bound, kept as a minimum. */
static void
rcv_rtt_update(struct tcpcb *tp, uint64_t sample_ns, bool win_dep)
{
	if (sample_ns == 0)
		sample_ns = UST_NS_PER_US;
	if (tp->rcv_rtt_ns == 0)
		tp->rcv_rtt_ns = sample_ns;
	else if (!win_dep)
		tp->rcv_rtt_ns = (7 * tp->rcv_rtt_ns + sample_ns) / 8;
	else if (sample_ns < tp->rcv_rtt_ns)
		tp->rcv_rtt_ns = sample_ns;
}

void
tcp_rcv_arrived(struct ust_stack *st, struct tcpcb *tp, const struct ust_tcp_view *th, uint32_t len)
{
	uint32_t cap = tp->rcv.buf != NULL ? tp->rcv.cap : tp->s.rcvbuf_bytes;
	if (tp->rcv_ssthresh < cap) {
		uint32_t grown = tp->rcv_ssthresh + 2u * tp->rcv_mss;
		tp->rcv_ssthresh = grown < cap ? grown : cap;
	}
	if (tp->ts_ok && th->opts.has_ts && th->opts.tsecr != 0) {
		/* A full segment (the MSS less the timestamps) echoing our
		 * clock (tcp_rcv_rtt_measure_ts). */
		uint32_t ms = tcp_ts_now(st, tp) - th->opts.tsecr;
		if (len >= tp->rcv_mss - 12u && ms < 60000u)
			rcv_rtt_update(tp, (uint64_t)ms * UST_NS_PER_MS + UST_NS_PER_MS / 2, false);
		return;
	}
	if (tp->rcv_rtt_start_ns != 0 && SEQ_LT(tp->rcv_nxt, tp->rcv_rtt_seq))
		return;
	if (tp->rcv_rtt_start_ns != 0)
		rcv_rtt_update(tp, st->now_ns - tp->rcv_rtt_start_ns, true);
	tp->rcv_rtt_seq = tp->rcv_nxt + (SEQ_GT(tp->rcv_adv, tp->rcv_nxt) ? tp->rcv_adv - tp->rcv_nxt : 0);
	tp->rcv_rtt_start_ns = st->now_ns;
}

void
tcp_rcv_space_adjust(struct ust_stack *st, struct tcpcb *tp)
{
	uint32_t copied_seq = tp->rcv_nxt - tp->rcv.len;
	if (tp->rcvq_ns == 0) {
		/* Linux tcp_init_buffer_space: the first measure expects ten
		 * segments per RTT. */
		tp->rcvq_space = 10u * tp->rcv_mss;
		tp->rcvq_seq = copied_seq;
		tp->rcvq_ns = st->now_ns;
		return;
	}
	if (tp->rcv_rtt_ns == 0 || st->now_ns - tp->rcvq_ns < tp->rcv_rtt_ns)
		return;
	uint32_t copied = copied_seq - tp->rcvq_seq;
	if (copied > tp->rcvq_space) {
		if (!tp->rcvbuf_locked && st->sysctl.tcp_moderate_rcvbuf) {
			uint64_t win = 2ull * copied + 16ull * tp->rcv_mss;
			/* A rate still rising gets room for its next RTT too. */
			uint64_t grow = win * (copied - tp->rcvq_space) / tp->rcvq_space;
			win += 2 * grow;
			uint64_t max = (uint64_t)st->sysctl.tcp_rmem[2];
			uint32_t buf = (uint32_t)(win < max ? win : max);
			if (buf > tp->s.rcvbuf_bytes && tcp_ring_grow(&tp->s, &tp->rcv, buf) == 0)
				tp->s.rcvbuf_bytes = buf;
		}
		tp->rcvq_space = copied;
	}
	tp->rcvq_seq = copied_seq;
	tp->rcvq_ns = st->now_ns;
}

/* Linux's memory for one segment (tcp_sndbuf_expand's per_mss): the MSS plus
 * MAX_TCP_HEADER and skb_shared_info (320 bytes each on x86-64) in a
 * power-of-two head, plus the struct sk_buff (256). 4352 for MSS 1460. */
static uint32_t
sndmem_per_mss(const struct tcpcb *tp)
{
	uint32_t need = (tp->peer_mss > tp->mss ? tp->peer_mss : tp->mss) + 640u;
	uint32_t head = 1;
	while (head < need)
		head <<= 1;
	return head + 256u;
}

void
tcp_sndbuf_expand(struct ust_stack *st, struct tcpcb *tp)
{
	/* At least the initial window (TCP_INIT_CWND, ten segments); twice
	 * it, for fast recovery and a writer slow to wake up. */
	uint32_t segs = tp->mss != 0 ? tp->cwnd / tp->mss : 0;
	if (segs < 10)
		segs = 10;
	uint64_t mem = 2ull * segs * sndmem_per_mss(tp);
	uint64_t max = (uint64_t)st->sysctl.tcp_wmem[2];
	if (mem > max)
		mem = max;
	/* Never below the ring, which cannot shrink under its bytes (a
	 * tcp_wmem lowered since). */
	if (tp->s.sndbuf_bytes < mem)
		tp->s.sndbuf_bytes = (uint32_t)mem;
}

void
tcp_snd_space_check(struct ust_stack *st, struct tcpcb *tp)
{
	if (!tp->snd_nospace)
		return;
	uint32_t before = tp->s.sndbuf_bytes;
	/* Linux tcp_should_expand_sndbuf: not when cwnd is full (packets in
	 * flight, SACKed ones gone). */
	uint32_t flight = tp->snd_max - tp->snd_una - tcp_sacked_bytes(tp);
	if (!tp->sndbuf_locked && (flight + tp->mss - 1) / tp->mss < tp->cwnd / tp->mss)
		tcp_sndbuf_expand(st, tp);
	/* sk_stream_write_space: the flag stays until the writer may write. */
	if (tp->s.sndbuf_bytes - tp->snd.len >= tp->s.sndbuf_bytes / 3)
		tp->snd_nospace = false;
	if (tp->s.sndbuf_bytes != before)
		tcp_update_events(tp);
}
