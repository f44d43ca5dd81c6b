/*
 * TCP internals shared by the files of src/stack/tcp (FreeBSD's tcp_var.h in
 * spirit): the connection block, the per-stack tables, and the functions the
 * pieces call on each other. Nothing outside src/stack/tcp includes this.
 *
 *   tcp.c        input validation, demultiplexing, LISTEN and SYN_SENT
 *   tcp_input.c  segment arrival in the synchronized states (RFC 9293 3.10.7.4)
 *   tcp_output.c what to send now: data, retransmissions, ACKs, FIN, probes
 *   tcp_timer.c  one wheel entry per connection at its earliest deadline
 *   tcp_conn.c   connection blocks, hash tables, ports, ISNs, teardown
 *   tcp_sock.c   the struct ust_sock_proto the socket API dispatches to
 *   tcp_buf.c    send/receive byte rings and the out-of-order map
 *   tcp_tune.c   receive window growth, receive and send buffer autotuning
 *   cc_newreno.c cc_cubic.c  congestion control behind struct tcp_cc
 *   syncookie.c  RFC 4987 cookies when the SYN queue is full
 */
#ifndef UST_TCP_VAR_H
#define UST_TCP_VAR_H

#include <stdbool.h>
#include <stdint.h>

#include "../sock.h"
#include "../stack.h"
#include "../timer.h"
#include "../wire/tcp.h"
#include "tcp.h"
#include "tcp_seq.h"

enum tcp_state {
	TCPS_CLOSED,
	TCPS_LISTEN,
	TCPS_SYN_SENT,
	TCPS_SYN_RECEIVED,
	TCPS_ESTABLISHED,
	TCPS_CLOSE_WAIT,
	TCPS_FIN_WAIT_1,
	TCPS_CLOSING,
	TCPS_LAST_ACK,
	TCPS_FIN_WAIT_2,
	TCPS_TIME_WAIT,
};

/* Linux defaults where the RFCs leave room. */
#define TCP_MSL_NS (30 * UST_NS_PER_S)           /* TIME_WAIT lasts 2*MSL = 60 s */
#define TCP_RTO_MIN_NS (200 * UST_NS_PER_MS)     /* Linux TCP_RTO_MIN */
#define TCP_RTO_MAX_NS (120 * UST_NS_PER_S)      /* Linux TCP_RTO_MAX */
#define TCP_RTO_INIT_NS (1 * UST_NS_PER_S)       /* RFC 6298 2.1 */
#define TCP_DELACK_NS (40 * UST_NS_PER_MS)       /* Linux TCP_DELACK_MIN */
#define TCP_TIMEOUT_MIN_NS (2 * UST_NS_PER_MS)   /* Linux TCP_TIMEOUT_MIN: two jiffies */
#define TCP_DEFAULT_MSS 536                      /* RFC 9293 3.7.1 */
#define TCP_MIN_SND_MSS 48                       /* Linux tcp_min_snd_mss */
#define TCP_OOO_RANGES 512                       /* out-of-order islands kept */
#define TCP_SACK_RANGES TCP_OOO_RANGES           /* scoreboard entries */
#define TCP_CHALLENGE_PER_S 1000                 /* tcp_challenge_ack_limit */
#define TCP_OOW_RATELIMIT_NS (500 * UST_NS_PER_MS) /* tcp_invalid_ratelimit */
#define TCP_BIND_BUCKETS 4096                    /* bind table: port conflicts in O(sockets on the port) */

/* A byte ring. `head` is the offset of the first byte, `len` the bytes held. */
struct tcp_ring {
	uint8_t *buf;  /* cap bytes, or NULL until first use */
	uint32_t cap;  /* capacity */
	uint32_t head; /* offset of the oldest byte */
	uint32_t len;  /* bytes held */
};

struct tcp_range {
	uint32_t start; /* first sequence number */
	uint32_t end;   /* sequence number after the last */
};

struct tcpcb;

/* Bytes below `end` (and above the previous mark) were first sent at `ns`. */
struct tcp_xmit_mark {
	uint32_t end; /* sequence number after the run */
	uint64_t ns;  /* when it went out */
};

#define TCP_XMIT_MARKS 64 /* runs of first transmissions kept per connection */

/* [start, end) was last retransmitted at `ns`. */
struct tcp_rexmit_mark {
	uint32_t start; /* first sequence number */
	uint32_t end;   /* sequence number after the last */
	uint64_t ns;    /* when it went out again */
};

#define TCP_REXMIT_MARKS 32 /* retransmissions timed per connection (the lowest holes) */
#define TCP_MINRTT_WIN_NS (300ull * UST_NS_PER_S) /* Linux tcp_min_rtt_wlen */

/* One sample of the windowed minimum RTT filter. */
struct tcp_rtt_sample {
	uint64_t rtt_ns; /* the RTT */
	uint64_t at_ns;  /* when it was measured */
};

struct tcp_cc {
	const char *name;                                  /* TCP_CONGESTION name */
	void (*init)(struct tcpcb *tp);                    /* at connection start */
	void (*ack)(struct tcpcb *tp, uint32_t acked);     /* new data acked outside recovery */
	void (*loss)(struct tcpcb *tp);                    /* entering fast recovery: set ssthresh */
	void (*rto)(struct tcpcb *tp, bool reduce);        /* retransmission timeout; reduce: the first of a loss episode */
};

extern const struct tcp_cc tcp_cc_newreno;
extern const struct tcp_cc tcp_cc_cubic;

struct tcpcb {
	struct ust_sock s;            /* socket part; first member for the cast */
	struct tcpcb *hnext;          /* 4-tuple hash chain, or listener chain */
	struct tcpcb *bnext;          /* chain of sockets bound to the same port bucket */
	struct tcpcb *all_next;       /* every connection of the stack */
	struct tcpcb *all_prev;       /* ... doubly linked for O(1) removal */
	struct tcpcb *parent;         /* listener of an embryonic or unaccepted one */
	struct tcpcb *q_next;         /* accept queue link */
	struct ust_timer timer;       /* one wheel entry at the earliest deadline */
	enum tcp_state state;         /* RFC 9293 state */
	bool hashed;                  /* in the 4-tuple table */
	bool bhashed;                 /* in the bind table */
	bool orphan;                  /* closed by the owner; freed when done */
	bool orphan_counted;          /* counted in ust_tcp.orphans */
	bool accepted;                /* handed out by accept() */
	bool nodelay;                 /* TCP_NODELAY */
	bool cork;                    /* TCP_CORK: hold partial segments */
	bool more;                    /* the last send had MSG_MORE: hold like TCP_CORK */
	bool push;                    /* send what is queued now, partial or not (TCP_NODELAY, probe) */
	bool send_call;               /* tcp_output runs for a send(): a small tail may autocork */
	bool tsq_queued;              /* autocorked: on ust_tcp.tsq until the next flush */
	struct tcpcb *tsq_next;       /* ... its link */
	uint64_t tx_mark;             /* st->tx_queued when our last frame entered the transmit queue */
	bool defer_acked;             /* TCP_DEFER_ACCEPT: the handshake's bare ACK came and waits for data */
	uint8_t defer_accept;         /* TCP_DEFER_ACCEPT as SYN-ACK retransmissions */
	uint32_t notsent_lowat;       /* TCP_NOTSENT_LOWAT, 0 = tcp_notsent_lowat */
	bool was_established;         /* reached ESTABLISHED once: no second connect() */
	bool ended;                   /* a connection ended here: shut both ways (Linux's tcp_done) */
	bool ts_ok;                   /* timestamps negotiated */
	bool sack_ok;                 /* SACK negotiated */
	bool ws_ok;                   /* window scaling negotiated */
	bool fin_queued;              /* shutdown(WR) or close(): FIN follows the data */
	bool fin_sent;                /* our FIN has a sequence number */
	bool fin_acked;               /* the peer acknowledged our FIN */
	bool fin_rcvd;                /* peer's FIN consumed */
	bool shut_rd;                 /* shutdown(RD) */
	bool ack_now;                 /* send an ACK at the next output */
	bool in_recovery;             /* fast recovery (RFC 6675 / 6582) */
	bool rto_recovery;            /* recovering after a timeout: every unSACKed byte is lost */
	bool rexmit_first;            /* fast retransmit due: the first hole goes out whatever the pipe */
	bool rexmit_lost;             /* the first hole's retransmission was lost: resend it whatever the pipe */
	bool linger_on;               /* SO_LINGER l_onoff */
	bool ooo_fin;                 /* a FIN arrived out of order at ooo_fin_seq */
	bool addr_auto;               /* connect() chose the local address */
	bool connect_pending;         /* connect() said EINPROGRESS, the outcome is unreported */
	uint32_t ooo_fin_seq;         /* where */
	uint16_t linger_s;            /* SO_LINGER l_linger */
	/* send sequence space (RFC 9293 3.3.1) */
	uint32_t iss;                 /* initial send sequence number */
	uint32_t snd_una;             /* oldest unacknowledged */
	uint32_t snd_nxt;             /* next to send */
	uint32_t snd_max;             /* highest sent + 1 */
	uint32_t snd_sml;             /* end of the last segment shorter than the MSS (Minshall) */
	uint32_t retrans_hi;          /* end of the highest byte ever retransmitted */
	uint32_t snd_wnd;             /* peer's window, scaled */
	uint32_t max_sndwnd;          /* largest window the peer offered */
	uint32_t snd_wl1;             /* segment seq of the last window update */
	uint32_t snd_wl2;             /* segment ack of the last window update */
	uint8_t snd_wscale;           /* peer's shift */
	uint8_t rcv_wscale;           /* our shift */
	/* receive sequence space */
	uint32_t irs;                 /* initial receive sequence number */
	uint32_t rcv_nxt;             /* next expected */
	uint32_t rcv_adv;             /* right edge we advertised */
	uint32_t last_ack_sent;       /* ack field of our last segment (RFC 7323 4.3) */
	uint32_t segs_unacked;        /* full segments received since our last ACK */
	uint32_t quickacks;           /* segments to ACK at once (start of connection) */
	/* sizes */
	uint16_t mss;                 /* bytes of data per segment we send */
	uint16_t rcv_mss;             /* MSS we announced */
	uint16_t peer_mss;            /* MSS the peer announced */
	uint16_t user_mss;            /* TCP_MAXSEG, 0 = none */
	uint32_t window_clamp;        /* TCP_WINDOW_CLAMP, 0 = none */
	bool rcvbuf_locked;           /* SO_RCVBUF set: the window scale follows it, no autotuning */
	bool sndbuf_locked;           /* SO_SNDBUF set: no send-buffer autotuning */
	bool snd_nospace;             /* a send found the buffer full and it has not drained since (Linux SOCK_NOSPACE) */
	/* receive window growth and buffer autotuning (Linux tcp_grow_window,
	 * tcp_rcv_space_adjust) */
	uint32_t rcv_ssthresh;        /* the window offered grows to this, 0 = not yet set */
	uint32_t rcvq_space;          /* bytes the program read in the last measured RTT */
	uint32_t rcvq_seq;            /* copied sequence when that measure started */
	uint64_t rcvq_ns;             /* ... and when, 0 = not started */
	uint64_t rcv_rtt_ns;          /* the receiver's RTT estimate, 0 = none */
	uint32_t rcv_rtt_seq;         /* without timestamps: the window's end being timed */
	uint64_t rcv_rtt_start_ns;    /* ... since when, 0 = none */
	/* timestamps (RFC 7323) */
	uint32_t ts_recent;           /* latest tsval to echo */
	uint64_t ts_recent_ns;        /* when ts_recent was set (24-day PAWS rule) */
	uint32_t ts_offset;           /* random per-connection offset of our clock */
	/* RTT and RTO (RFC 6298) */
	uint64_t srtt_ns;             /* smoothed RTT, 0 = no sample yet */
	uint64_t rttvar_ns;           /* RTT variation */
	uint64_t rto_ns;              /* current RTO before backoff */
	uint32_t rtt_seq;             /* sequence timed without timestamps */
	uint64_t rtt_start_ns;        /* when it was sent, 0 = none timed */
	uint8_t rxtshift;             /* consecutive timeouts */
	uint8_t keep_probes;          /* keepalives unanswered */
	uint8_t persist_shift;        /* zero-window probe backoff */
	uint8_t persist_probes;       /* zero-window probes no ACK answered */
	uint64_t persist_start_ns;    /* first probe of this zero window, 0 = none */
	/* congestion control */
	const struct tcp_cc *cc;      /* NewReno or CUBIC */
	uint32_t cwnd;                /* congestion window, bytes */
	uint32_t ssthresh;            /* slow start threshold, bytes */
	uint32_t dupacks;             /* consecutive duplicate ACKs */
	uint32_t recover;             /* snd_max when recovery started (RFC 6582) */
	uint32_t rexmit_nxt;          /* next hole byte to retransmit in recovery */
	uint32_t bytes_acked;         /* ABC counter in congestion avoidance */
	double cubic_wmax;            /* CUBIC W_max, segments */
	double cubic_k;               /* CUBIC K, seconds */
	uint64_t cubic_epoch_ns;      /* start of the current CUBIC epoch, 0 = none */
	double cubic_west;            /* Reno-friendly estimate, segments */
	uint32_t cubic_cwnd_prior;    /* cwnd before the last reduction */
	/* HyStart++ (RFC 9406), CUBIC's slow start */
	uint32_t hs_round_end;        /* windowEnd: the round ends when it is acked */
	uint64_t hs_last_min_ns;      /* lastRoundMinRTT, 0 = none */
	uint64_t hs_cur_min_ns;       /* currentRoundMinRTT, 0 = none */
	uint32_t hs_samples;          /* rttSampleCount */
	uint64_t hs_css_base_ns;      /* cssBaselineMinRtt, 0 = not in conservative slow start */
	uint32_t hs_css_rounds;       /* rounds spent in conservative slow start */
	uint64_t last_rtt_ns;         /* the latest RTT sample */
	/* RACK-TLP (RFC 8985) */
	struct tcp_xmit_mark *xmarks; /* first-transmission times, TCP_XMIT_MARKS, lazily */
	unsigned nxmarks;             /* used entries */
	uint32_t rack_fack;           /* end of the highest byte delivered (ACKed or SACKed) */
	uint64_t rack_xmit_ns;        /* RACK.xmit_ts: when the latest delivered segment was sent */
	uint64_t rack_rtt_ns;         /* RACK.rtt */
	uint64_t rtt_min_ns;          /* smallest RTT of the last TCP_MINRTT_WIN_NS */
	struct tcp_rtt_sample rtt_min_best[3]; /* the windowed minimum's best, second, third */
	struct tcp_rexmit_mark *rxmarks; /* retransmission times, TCP_REXMIT_MARKS, lazily */
	unsigned nrxmarks;            /* used entries, sorted by start */
	bool tlp_retrans;             /* the outstanding probe resent old data (RFC 8985 7.4) */
	bool reord_seen;              /* reordering observed: reo_wnd is never 0 */
	uint32_t tlp_high;            /* snd_max when a probe went out, 0 = none outstanding */
	/* SACK scoreboard: what the peer holds above snd_una, sorted */
	struct tcp_range *sacked;     /* TCP_SACK_RANGES entries, allocated at first loss */
	unsigned nsacked;             /* used entries */
	/* buffers */
	struct tcp_ring snd;          /* bytes from snd_una on, not yet acked */
	struct tcp_ring rcv;          /* bytes in order, not yet read */
	struct tcp_range *ooo;        /* received beyond rcv_nxt, sorted; TCP_OOO_RANGES, lazily */
	unsigned nooo;                /* used entries */
	bool dsack;                   /* report dsack_range in the next ACK (RFC 2883) */
	struct tcp_range dsack_range; /* duplicate bytes received */
	/* deadlines, 0 = not armed */
	uint64_t rexmt_at;            /* retransmission */
	uint64_t persist_at;          /* zero-window probe */
	uint64_t delack_at;           /* delayed ACK */
	uint64_t keep_at;             /* keepalive or FIN_WAIT_2 timeout */
	uint64_t tw_at;               /* end of TIME_WAIT */
	uint64_t tlp_at;              /* tail loss probe */
	uint64_t reo_at;              /* RACK reordering window ends */
	uint64_t last_rcv_ns;         /* when the peer was last heard (keepalive) */
	uint64_t last_snd_ns;         /* when data was last sent (restart after idle) */
	uint64_t oow_ack_ns;          /* last ACK sent for an out-of-window segment */
	uint32_t keepidle_s;          /* TCP_KEEPIDLE */
	uint32_t keepintvl_s;         /* TCP_KEEPINTVL */
	uint32_t keepcnt;             /* TCP_KEEPCNT */
	uint8_t syn_retries;          /* TCP_SYNCNT, 0 = tcp_syn_retries */
	int32_t linger2_s;            /* TCP_LINGER2: FIN_WAIT_2 for orphans, 0 = tcp_fin_timeout, <0 none */
	uint32_t user_timeout_ms;     /* TCP_USER_TIMEOUT, 0 = none */
	uint64_t retrans_stamp_ns;    /* first SYN, or first timeout retransmission of what is unacked (Linux retrans_stamp), 0 = none */
	/* listener */
	int backlog;                  /* listen() backlog, capped */
	unsigned synq_len;            /* embryonic connections */
	unsigned acceptq_len;         /* established, not accepted */
	struct tcpcb *acceptq_head;   /* oldest */
	struct tcpcb *acceptq_tail;   /* newest */
	/* counters (TCP_INFO, ustack stat) */
	uint32_t total_retrans;       /* segments retransmitted */
	uint32_t dupacks_in;          /* duplicate ACKs received */
};

struct ust_tcp {
	struct tcpcb **hash;          /* 4-tuple table */
	uint32_t hash_mask;           /* buckets - 1 */
	struct tcpcb *listeners[256]; /* by local port */
	struct tcpcb *bound[TCP_BIND_BUCKETS]; /* every bound socket, by local port */
	struct tcpcb *all;            /* every connection */
	unsigned count;               /* connections */
	unsigned orphans;             /* closed by their owner, not yet CLOSED or TIME_WAIT */
	uint8_t secret[16];           /* RFC 6528 / syncookie key */
	uint32_t port_offset_seq;     /* RFC 6056 algorithm 3 counter */
	uint64_t challenge_ts_ns;     /* challenge ACK bucket refill time */
	uint32_t challenge_tokens;    /* challenge ACKs left this second */
	struct tcpcb *tsq;            /* autocorked connections, pushed after the next flush (Linux's TSQ) */
};

static inline struct tcpcb *
tcpcb_of(struct ust_sock *s)
{
	return (struct tcpcb *)s;
}

/* tcp_conn.c */
struct tcpcb *tcp_alloc(struct ust_stack *st, int family);
void tcp_hash_insert(struct ust_stack *st, struct tcpcb *tp);
void tcp_hash_remove(struct ust_stack *st, struct tcpcb *tp);
/* Addresses in the 16-byte form (ip.h). */
struct tcpcb *tcp_lookup(struct ust_stack *st, const uint8_t laddr[16], uint16_t lport,
			 const uint8_t faddr[16], uint16_t fport);
/* The listener that takes a SYN to laddr:lport: an exact address beats a
 * wildcard, an AF_INET socket beats a dual-stack one for IPv4 (Linux). */
struct tcpcb *tcp_lookup_listener(struct ust_stack *st, const uint8_t laddr[16], uint16_t lport);
void tcp_listen_insert(struct ust_stack *st, struct tcpcb *tp);
void tcp_listen_remove(struct ust_stack *st, struct tcpcb *tp);
bool tcp_port_in_use(struct ust_stack *st, const struct tcpcb *me, const uint8_t laddr[16],
		     uint16_t lport);
/* Record that tp holds s.local.port (sets s.bound). */
void tcp_bind_insert(struct ust_stack *st, struct tcpcb *tp);
/* faddr NULL: no peer yet (bind, listen). */
int tcp_pick_port(struct ust_stack *st, struct tcpcb *tp, const uint8_t *faddr, uint16_t fport);
uint32_t tcp_new_isn(struct ust_stack *st, const uint8_t laddr[16], uint16_t lport,
		     const uint8_t faddr[16], uint16_t fport);
uint64_t tcp_siphash(const uint8_t key[16], const uint8_t *data, size_t len);
/* Enter CLOSED: unhash, stop timers, free if nobody holds the socket. */
void tcp_close_conn(struct ust_stack *st, struct tcpcb *tp);
/* The socket options a connection takes from its listener (or keeps
 * across a disconnect). */
void tcp_inherit(struct tcpcb *c, const struct tcpcb *l);
/* connect(AF_UNSPEC): reset what is connected, back to a fresh socket that
 * keeps its options and port. */
void tcp_disconnect(struct ust_stack *st, struct tcpcb *tp);
/* Abort with a RST and an error for the owner (ECONNRESET, ETIMEDOUT, ...). */
void tcp_drop(struct ust_stack *st, struct tcpcb *tp, int err);
/* Give up silently after retransmissions (Linux tcp_write_err): no RST. */
void tcp_write_err(struct ust_stack *st, struct tcpcb *tp, int err);
void tcp_free(struct ust_stack *st, struct tcpcb *tp);
void tcp_set_state(struct ust_stack *st, struct tcpcb *tp, enum tcp_state state);
/* Recount tp among the orphans (after its owner closed it or its state
 * changed); then whether there are more than tcp_max_orphans. */
bool tcp_orphan_check(struct ust_stack *st, struct tcpcb *tp);
/* Reset and free a listener's queued and embryonic connections. */
void tcp_drop_children(struct ust_stack *st, struct tcpcb *l);
void tcp_update_events(struct tcpcb *tp);
/* Linux tcp_stream_memory_free for poll: unsent bytes, doubled, under
 * TCP_NOTSENT_LOWAT. */
bool tcp_notsent_ok(const struct tcpcb *tp);
void tcp_mss_init(struct ust_stack *st, struct tcpcb *tp, const struct ust_tcp_opts *o);
/* 0, or -ENOENT for a name ustack does not have. */
int tcp_set_cc(struct tcpcb *tp, const char *name);
/* Our window scale for a new connection (Linux tcp_select_initial_window). */
uint8_t tcp_rcv_wscale(const struct ust_stack *st, const struct tcpcb *tp);
/* The window Linux's buffer of the same setting would offer at most. */
uint32_t tcp_full_space(const struct ust_stack *st, const struct tcpcb *tp);
/* Offer the options the tunables enable (before the SYN or SYN-ACK). */
void tcp_offer_options(struct ust_stack *st, struct tcpcb *tp);
/* How long an orphan waits in FIN_WAIT_2. */
uint64_t tcp_fin_timeout_ns(const struct ust_stack *st, const struct tcpcb *tp);
uint32_t tcp_ts_now(const struct ust_stack *st, const struct tcpcb *tp);

/* tcp_buf.c */
int tcp_ring_reserve(const struct ust_sock *s, struct tcp_ring *r, uint32_t cap);
void tcp_ring_free(const struct ust_sock *s, struct tcp_ring *r);
/* Free the rings that hold no byte, in order or out of order; they are
 * allocated again at the next byte. */
void tcp_free_empty_rings(struct tcpcb *tp);
/* Give back what a connection that moves no more data does not need: empty
 * rings (allocated again at the next byte) and the SACK, out-of-order and
 * RACK tables. A TIME_WAIT connection would otherwise hold its buffers for
 * 60 s, like a live one (Linux keeps only a small timewait socket). */
void tcp_shed(struct tcpcb *tp);
/* Ring memory from `mem` (NULL = malloc); moving a ring's bytes into new
 * memory of its capacity, freeing the old with s's allocator. */
uint8_t *tcp_ring_alloc(const struct ust_sock_mem *mem, uint32_t cap);
void tcp_ring_release(const struct ust_sock_mem *mem, uint8_t *p, uint32_t cap);
void tcp_ring_move(const struct ust_sock *s, struct tcp_ring *r, uint8_t *nb);
/* [off, off + len) of the ring as at most two pieces of memory. */
uint32_t tcp_ring_spans(const struct tcp_ring *r, uint32_t off, uint32_t len, struct ust_sock_span *sp);
uint32_t tcp_ring_write(struct tcp_ring *r, const void *src, uint32_t len);
void tcp_ring_write_at(struct tcp_ring *r, uint32_t off, const void *src, uint32_t len);
uint32_t tcp_ring_read(const struct tcp_ring *r, uint32_t off, void *dst, uint32_t len);
void tcp_ring_consume(struct tcp_ring *r, uint32_t len);
/* Receive window we may advertise now (bytes). */
uint32_t tcp_rcv_space(const struct tcpcb *tp);
/* Grow the ring to cap bytes, out-of-order bytes kept at their offsets;
 * 0, or -ENOMEM (the ring stays as it was). */
int tcp_ring_grow(const struct ust_sock *s, struct tcp_ring *r, uint32_t cap);
/* Out-of-order map: record [seq, seq+len); returns false when it has no room. */
bool tcp_ooo_add(struct tcpcb *tp, uint32_t seq, uint32_t len);
/* After rcv_nxt advanced: bytes of the map now in order (they are already in the ring). */
uint32_t tcp_ooo_pull(struct tcpcb *tp);
void tcp_sack_update(struct tcpcb *tp, const struct ust_tcp_opts *o);
uint32_t tcp_sacked_bytes(const struct tcpcb *tp);

/* tcp_tune.c */
/* In-order data arrived: the window may grow (Linux tcp_grow_window), and
 * the receiver's RTT is measured (tcp_rcv_rtt_measure[_ts]). */
void tcp_rcv_arrived(struct ust_stack *st, struct tcpcb *tp, const struct ust_tcp_view *th, uint32_t len);
/* The program took bytes: once per RTT, grow the buffer to twice what it
 * read in that RTT (Linux tcp_rcv_space_adjust). */
void tcp_rcv_space_adjust(struct ust_stack *st, struct tcpcb *tp);
/* Room in the send buffer for two congestion windows of Linux-sized
 * segments (Linux tcp_sndbuf_expand); at establishment unless SO_SNDBUF. */
void tcp_sndbuf_expand(struct ust_stack *st, struct tcpcb *tp);
/* After an incoming segment was processed and output ran: a writer the full
 * buffer stopped gets a larger one unless cwnd is what limits it (Linux
 * tcp_check_space). */
void tcp_snd_space_check(struct ust_stack *st, struct tcpcb *tp);

/* tcp_output.c */
void tcp_output(struct ust_stack *st, struct tcpcb *tp);
/* tcp_output at the end of a send call (Linux tcp_push): a small tail may
 * wait for the connection's frames still in the transmit queue. */
void tcp_push(struct ust_stack *st, struct tcpcb *tp);
/* The window a SYN or SYN-ACK offers (unscaled). */
uint32_t tcp_syn_window(const struct ust_stack *st, const struct tcpcb *tp);
/* One new segment beyond cwnd if the window allows (a loss probe). */
void tcp_output_one(struct ust_stack *st, struct tcpcb *tp);
void tcp_send_ack(struct ust_stack *st, struct tcpcb *tp);
void tcp_send_syn(struct ust_stack *st, struct tcpcb *tp);
void tcp_send_rst_for(struct ust_stack *st, struct tcpcb *tp);
void tcp_send_keepalive(struct ust_stack *st, struct tcpcb *tp);
void tcp_send_challenge_ack(struct ust_stack *st, struct tcpcb *tp);
/* Whether an answer to an unacceptable segment must wait (at most one per
 * tcp_invalid_ratelimit); if not, the answer is counted as sent. */
bool tcp_oow_limited(struct ust_stack *st, struct tcpcb *tp);
void tcp_send_oow_ack(struct ust_stack *st, struct tcpcb *tp);
int tcp_send_segment(struct ust_stack *st, struct tcpcb *tp, uint32_t seq, uint32_t len,
		     uint8_t flags);

/* tcp_input.c */
void tcp_input_sync(struct ust_stack *st, struct tcpcb *tp, struct ust_pkt *pkt,
		    const struct ust_ip_info *ip, const struct ust_tcp_view *th);
void tcp_xmit_timer(struct tcpcb *tp, uint64_t rtt_ns);
/* The RACK reordering window ended: recover if the first hole is lost. */
void tcp_rack_timeout(struct ust_stack *st, struct tcpcb *tp);

/* tcp_rack.c */
bool tcp_rack_enabled(const struct tcpcb *tp);
/* New data up to `end` left now. */
void tcp_rack_sent(struct ust_stack *st, struct tcpcb *tp, uint32_t end);
void tcp_rack_rtt_sample(struct tcpcb *tp, uint64_t rtt_ns);
/* [seq, end) was retransmitted now. */
void tcp_rack_resent(struct ust_stack *st, struct tcpcb *tp, uint32_t seq, uint32_t end);
/* In recovery: whether the retransmission of the first hole is lost too. */
bool tcp_rack_detect_rexmit(struct ust_stack *st, struct tcpcb *tp);
/* An ACK (pure_dup: a duplicate that moved and SACKed nothing): whether
 * the outstanding probe repaired a loss (RFC 8985 7.4), so the caller
 * reduces cwnd. */
bool tcp_tlp_ack(struct tcpcb *tp, const struct ust_tcp_view *th, bool pure_dup);
/* After an ACK moved snd_una from old_una and delivered bytes up to
 * delivered_hi (cumulatively or by SACK). */
void tcp_rack_ack(struct ust_stack *st, struct tcpcb *tp, uint32_t old_una, uint32_t delivered_hi);
/* Whether the first hole is lost now; arms reo_at if it may be later. */
bool tcp_rack_detect(struct ust_stack *st, struct tcpcb *tp);
void tcp_tlp_arm(struct ust_stack *st, struct tcpcb *tp);
void tcp_tlp_fire(struct ust_stack *st, struct tcpcb *tp);
/* Initial sequence state for snd_una = iss. */
void tcp_seq_init(struct tcpcb *tp, uint32_t iss);

/* tcp_timer.c */
void tcp_timer_update(struct ust_stack *st, struct tcpcb *tp);
void tcp_timer_fire(void *ctx, struct ust_timer *t, uint64_t now_ns);
void tcp_arm_rexmt(struct ust_stack *st, struct tcpcb *tp);
uint64_t tcp_rto_backed_off(const struct tcpcb *tp);

/* syncookie.c */
uint32_t tcp_syncookie_make(struct ust_stack *st, const struct ust_ip_info *ip,
			    const struct ust_tcp_view *th, uint16_t *mss);
/* 0 and the MSS encoded, or -1 if `ack - 1` is not a valid cookie. */
int tcp_syncookie_check(struct ust_stack *st, const struct ust_ip_info *ip,
			const struct ust_tcp_view *th, uint16_t *mss);

#endif
