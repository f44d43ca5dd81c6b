/*
 * The receive side's sizing, as Linux does it:
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
