/*
 * The in-stack socket API: what the IPC server (src/dpdk/ipc_server.c) calls
 * on behalf of applications, and what tests drive directly. It never blocks:
 * where POSIX would wait it returns -EAGAIN / -EINPROGRESS, and readiness
 * changes are pushed through the event callback.
 *
 * sock.c validates arguments and dispatches to the protocol (udp.c, tcp/)
 * through struct ust_sock_proto. Each protocol allocates its own socket type
 * with struct ust_sock as its first member.
 *
 * Constants use the Linux values so the preload layer passes them through.
 * Returns: 0, a byte count, or a negative errno, as the Linux call would.
 */
#ifndef UST_SOCK_H
#define UST_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ust_stack;
struct ust_sock;

#define UST_AF_INET 2
#define UST_AF_INET6 10
#define UST_SOCK_STREAM 1
#define UST_SOCK_DGRAM 2
#define UST_SOCK_RAW 3

#define UST_MSG_PEEK 0x2
#define UST_MSG_DONTWAIT 0x40
#define UST_MSG_WAITALL 0x100
#define UST_MSG_NOSIGNAL 0x4000
#define UST_MSG_MORE 0x8000

#define UST_SHUT_RD 0
#define UST_SHUT_WR 1
#define UST_SHUT_RDWR 2

#define UST_SOL_SOCKET 1
#define UST_SO_REUSEADDR 2
#define UST_SO_TYPE 3
#define UST_SO_ERROR 4
#define UST_SO_SNDBUF 7
#define UST_SO_RCVBUF 8
#define UST_SO_KEEPALIVE 9
#define UST_SO_LINGER 13
#define UST_SO_OOBINLINE 10
#define UST_SO_BROADCAST 6
#define UST_SO_DONTROUTE 5
#define UST_SO_PRIORITY 12
#define UST_SO_RCVLOWAT 18
#define UST_SO_SNDLOWAT 19
#define UST_SO_SNDBUFFORCE 32
#define UST_SO_RCVBUFFORCE 33
#define UST_SO_MARK 36
#define UST_SO_REUSEPORT 15
#define UST_SO_TIMESTAMP 29
#define UST_SO_TIMESTAMPNS 35
#define UST_SO_ACCEPTCONN 30
#define UST_SO_PROTOCOL 38
#define UST_SO_DOMAIN 39
#define UST_SOL_IP 0
#define UST_IP_TOS 1
#define UST_IP_TTL 2
#define UST_IP_TRANSPARENT 19
#define UST_IP_PKTINFO 8
#define UST_IP_RECVTTL 12
#define UST_IP_RECVTOS 13
#define UST_IP_FREEBIND 15
#define UST_IP_MTU_DISCOVER 10
#define UST_IP_MTU 14
#define UST_IP_PMTUDISC_DONT 0
#define UST_IP_PMTUDISC_WANT 1
#define UST_IP_PMTUDISC_DO 2
#define UST_IP_PMTUDISC_OMIT 5
#define UST_IP_HDRINCL 3
#define UST_IP_RECVERR 11
#define UST_IP_PMTUDISC_PROBE 3
#define UST_SOL_IPV6 41
#define UST_IPV6_CHECKSUM 7
#define UST_IPV6_UNICAST_HOPS 16
#define UST_IPV6_2292HOPLIMIT 8
#define UST_IPV6_MTU_DISCOVER 23
#define UST_IPV6_MTU 24
#define UST_IPV6_RECVERR 25
#define UST_IPV6_V6ONLY 26
#define UST_IPV6_RECVPKTINFO 49
#define UST_IPV6_RECVHOPLIMIT 51
#define UST_IPV6_RECVTCLASS 66
#define UST_IPV6_TCLASS 67
#define UST_SOL_TCP 6
#define UST_SOL_UDP 17
#define UST_TCP_NODELAY 1
#define UST_TCP_MAXSEG 2
#define UST_TCP_KEEPIDLE 4
#define UST_TCP_KEEPINTVL 5
#define UST_TCP_KEEPCNT 6
#define UST_TCP_INFO 11
#define UST_TCP_CORK 3
#define UST_TCP_CONGESTION 13
#define UST_TCP_SYNCNT 7
#define UST_TCP_LINGER2 8
#define UST_TCP_DEFER_ACCEPT 9
#define UST_TCP_WINDOW_CLAMP 10
#define UST_TCP_QUICKACK 12
#define UST_TCP_USER_TIMEOUT 18
#define UST_TCP_NOTSENT_LOWAT 25
#define UST_TCP_CC_INFO 26
#define UST_TCP_INQ 36

/* Readiness, with the epoll bit values. */
#define UST_EV_IN 0x001
#define UST_EV_OUT 0x004
#define UST_EV_ERR 0x008
#define UST_EV_HUP 0x010
#define UST_EV_RDHUP 0x2000

/* Inside the stack both address fields are filled (ust_sockaddr_canon):
 * addr6 is the 16-byte form, IPv4 mapped, that tables are keyed by. */
struct ust_sockaddr {
	uint16_t family;  /* UST_AF_INET or UST_AF_INET6 */
	uint16_t port;    /* host order */
	uint32_t addr4;   /* IPv4, host order; 0 for an IPv6 address */
	uint8_t addr6[16]; /* IPv6, wire order; IPv4 as ::ffff:a.b.c.d */
	uint32_t scope_id; /* interface of a link-scope IPv6 address, 0 = none given */
};

/* Linux's loopback interface index: the loopback path's, as lo's. */
#define UST_IFINDEX_LOOPBACK 1

/* Who makes a socket call: what Linux checks against the caller's
 * credentials. The IPC server sets it before each call
 * (ust_stack_set_caller); the stack's own users have every right. */
struct ust_sock_cred {
	uint32_t uid;           /* effective uid */
	uint16_t bind_min_port; /* ports below it need CAP_NET_BIND_SERVICE, which it lacks */
	bool net_admin;         /* CAP_NET_ADMIN */
	bool net_raw;           /* CAP_NET_RAW */
};

/* struct ust_sock's rx_cmsgs: the control messages the owner asked for. */
#define UST_SOCK_RX_PKTINFO 0x1     /* IP_PKTINFO */
#define UST_SOCK_RX_TTL 0x2         /* IP_RECVTTL */
#define UST_SOCK_RX_TOS 0x4         /* IP_RECVTOS */
#define UST_SOCK_RX_TIMESTAMP 0x8   /* SO_TIMESTAMP */
#define UST_SOCK_RX_TIMESTAMPNS 0x10 /* SO_TIMESTAMPNS */
#define UST_SOCK_RX_INQ 0x20         /* TCP_INQ: bytes left after a stream read */
#define UST_SOCK_RX_HOPLIMIT 0x40    /* IPV6_RECVHOPLIMIT */
#define UST_SOCK_RX_PKTINFO6 0x100   /* IPV6_RECVPKTINFO */
#define UST_SOCK_RX_TCLASS 0x200     /* IPV6_RECVTCLASS */

/* What recvmsg()'s control messages say about a received datagram. */
struct ust_sock_rxinfo {
	uint32_t dst4;       /* its destination address, host order */
	uint8_t dst6[16];    /* ... as an IPv6 address (IPv4 mapped) */
	uint8_t ttl;         /* its IP TTL */
	uint8_t tos;         /* its IP TOS */
	uint32_t ifindex;    /* the interface it came in on: the port's, or UST_IFINDEX_LOOPBACK */
	bool no_spec_dst;    /* IP_PKTINFO's ipi_spec_dst reads 0.0.0.0 (a ping socket's) */
	uint64_t arrival_ns; /* when the stack queued it, on the stack's clock */
};

/* Control messages of one sendmsg(): they act on that datagram alone. */
struct ust_sock_txinfo {
	uint32_t src4;  /* source address (IP_PKTINFO), 0 = the route's */
	uint8_t src6[16]; /* source address (IPV6_PKTINFO), :: = the route's */
	int16_t ttl;    /* IP_TTL, -1 = the socket's */
	int16_t tos;    /* IP_TOS, -1 = the socket's */
};

/* Where a queued error came from: Linux's SO_EE_ORIGIN_*. */
#define UST_EE_ORIGIN_LOCAL 1
#define UST_EE_ORIGIN_ICMP 2
#define UST_EE_ORIGIN_ICMP6 3

/* One entry of a socket's error queue (IP_RECVERR): struct
 * sock_extended_err and the addresses Linux's recvmsg(MSG_ERRQUEUE) tells. */
struct ust_sock_ee {
	uint32_t err;         /* errno */
	uint8_t origin;       /* UST_EE_ORIGIN_* */
	uint8_t type;         /* ICMP type, 0 for a local error */
	uint8_t code;         /* ICMP code */
	uint32_t info;        /* MTU of a frag-needed or packet too big, a parameter problem's pointer */
	uint8_t offender[16]; /* the ICMP error's sender, IPv4 mapped; :: for a local error */
	uint8_t dst[16];      /* the failed datagram's destination, IPv4 mapped */
	uint16_t port;        /* its destination port (0: raw and ping sockets) */
	uint8_t hlim;         /* the ICMP error's TTL or hop limit (IP_RECVTTL, IPV6_RECVHOPLIMIT) */
};

struct ust_sock_errq; /* a queued struct ust_sock_ee and the bytes it quotes */

typedef void ust_sock_event_fn(struct ust_sock *s, uint32_t events, void *arg);

/* Where a socket's byte buffers live. The IPC server puts a program's in
 * memory the program maps, so payload crosses with one copy each way;
 * without one the stack uses malloc. */
struct ust_sock_mem {
	void *(*alloc)(void *arg, size_t bytes);
	void (*free)(void *arg, void *p, size_t bytes);
	void *arg;
};

/* Up to two pieces of a byte buffer (a ring wraps once at most). */
struct ust_sock_span {
	uint8_t *p[2];    /* start of each piece */
	uint32_t len[2];  /* its length, 0 if unused */
};

struct ust_sock_proto {
	int (*bind)(struct ust_sock *s, const struct ust_sockaddr *a);
	int (*listen)(struct ust_sock *s, int backlog);
	int (*accept)(struct ust_sock *s, struct ust_sock **out);
	int (*connect)(struct ust_sock *s, const struct ust_sockaddr *a);
	ssize_t (*sendto)(struct ust_sock *s, const void *buf, size_t len, int flags,
			  const struct ust_sockaddr *to);
	ssize_t (*recvfrom)(struct ust_sock *s, void *buf, size_t len, int flags,
			    struct ust_sockaddr *from);
	int (*shutdown)(struct ust_sock *s, int how);
	/* Release the socket; the protocol may keep its state (TIME_WAIT,
	 * lingering data) but the struct ust_sock is gone for the caller. */
	void (*close)(struct ust_sock *s);
	int (*setopt)(struct ust_sock *s, int level, int name, const void *val, size_t len);
	int (*getopt)(struct ust_sock *s, int level, int name, void *val, size_t *len);
	/* Bytes readable now (FIONREAD). */
	size_t (*nread)(const struct ust_sock *s);
	/* Bytes sent but not yet acknowledged (SIOCOUTQ). */
	size_t (*nunacked)(const struct ust_sock *s);
	/* Zero-copy stream access, NULL where the protocol has none (UDP). */
	ssize_t (*recv_spans)(struct ust_sock *s, size_t max, struct ust_sock_span *sp);
	void (*recv_consume)(struct ust_sock *s, size_t n);
	ssize_t (*send_spans)(struct ust_sock *s, size_t max, struct ust_sock_span *sp);
	void (*send_commit)(struct ust_sock *s, size_t n, int flags);
	/* The next datagram's rxinfo, NULL where there are no datagrams. */
	int (*rxinfo)(const struct ust_sock *s, struct ust_sock_rxinfo *out);
	/* Move the buffers to `mem` (NULL = malloc), keeping their bytes. */
	int (*rehome)(struct ust_sock *s, const struct ust_sock_mem *mem);
};

struct ust_sock {
	const struct ust_sock_proto *proto; /* the protocol behind it */
	struct ust_stack *stack;            /* the stack that owns it */
	uint8_t family;                     /* UST_AF_* */
	uint8_t type;                       /* UST_SOCK_* */
	uint8_t protocol;                   /* IP protocol asked for at creation, 0 = the type's */
	bool reuseaddr;                     /* SO_REUSEADDR */
	bool reuseport;                     /* SO_REUSEPORT */
	bool keepalive;                     /* SO_KEEPALIVE */
	bool bound;                         /* has a local address */
	bool connected;                     /* has a remote address */
	bool listening;                     /* accepts connections (SO_ACCEPTCONN) */
	bool oobinline;                     /* SO_OOBINLINE (no urgent data is kept apart) */
	bool broadcast;                     /* SO_BROADCAST */
	bool dontroute;                     /* SO_DONTROUTE */
	bool freebind;                      /* IP_FREEBIND: bind to an address not ours */
	bool transparent;                   /* IP_TRANSPARENT: likewise, with CAP_NET_ADMIN */
	int rcvlowat;                       /* SO_RCVLOWAT, at least 1 */
	int priority;                       /* SO_PRIORITY */
	uint32_t mark;                      /* SO_MARK */
	uint32_t uid;                       /* creator's effective uid: SO_REUSEPORT stays within it */
	uint16_t rx_cmsgs;                  /* UST_SOCK_RX_*: what recvmsg() tells about a datagram */
	const struct ust_sock_txinfo *tx;   /* during ust_sock_sendmsg: that call's control messages */
	bool v6only;                        /* IPV6_V6ONLY: an AF_INET6 socket takes no IPv4 */
	bool recverr;                       /* IP_RECVERR: IPv4 errors are queued */
	bool recverr6;                      /* IPV6_RECVERR: ICMPv6 errors are queued */
	bool recvhoplimit2292;              /* IPV6_2292HOPLIMIT (likewise) */
	uint8_t ip6_pmtudisc;               /* IPV6_MTU_DISCOVER: UST_IP_PMTUDISC_* */
	uint8_t ip_ttl;                     /* IP_TTL, 0 = the stack's default */
	uint8_t ip_tos;                     /* IP_TOS */
	uint8_t ip_pmtudisc;                /* IP_MTU_DISCOVER: UST_IP_PMTUDISC_* */
	int so_error;                       /* pending error, positive errno */
	struct ust_sock_errq *errq;         /* error queue, oldest first (IP_RECVERR) */
	struct ust_sock_errq *errq_tail;    /* ... newest */
	uint32_t errq_bytes;                /* its bytes, charged to rcvbuf as Linux does */
	uint32_t events;                    /* current UST_EV_* readiness */
	bool arrival;                       /* something arrived since the last callback */
	uint32_t rcvbuf_bytes;              /* SO_RCVBUF */
	uint32_t sndbuf_bytes;              /* SO_SNDBUF */
	struct ust_sockaddr local;          /* bound address */
	struct ust_sockaddr remote;         /* connected peer */
	ust_sock_event_fn *on_event;        /* readiness callback, or NULL */
	void *cb_arg;                       /* its argument */
	void *user;                         /* the owner's handle (IPC server) */
	const struct ust_sock_mem *mem;     /* buffer memory, NULL = malloc */
	struct ust_sock *all_next;          /* the protocol's list of all its sockets (UDP, raw) */
	struct ust_sock *all_prev;          /* ... doubly linked for O(1) removal */
};

int ust_sock_open(struct ust_stack *st, int family, int type, struct ust_sock **out);
/* With socket()'s protocol argument: 0 or the type's own (TCP, UDP), a raw
 * socket's protocol (SOCK_RAW), ICMP/ICMPv6 for a ping socket (SOCK_DGRAM).
 * Permission (CAP_NET_RAW, ping_group_range) is the caller's to check. */
int ust_sock_open_proto(struct ust_stack *st, int family, int type, int protocol,
			struct ust_sock **out);
int ust_sock_bind(struct ust_sock *s, const struct ust_sockaddr *a);
int ust_sock_listen(struct ust_sock *s, int backlog);
int ust_sock_accept(struct ust_sock *s, struct ust_sock **out, struct ust_sockaddr *peer);
int ust_sock_connect(struct ust_sock *s, const struct ust_sockaddr *a);
ssize_t ust_sock_send(struct ust_sock *s, const void *buf, size_t len, int flags);
ssize_t ust_sock_sendto(struct ust_sock *s, const void *buf, size_t len, int flags,
			const struct ust_sockaddr *to);
/* sendto() with sendmsg()'s control messages (NULL = none). */
ssize_t ust_sock_sendmsg(struct ust_sock *s, const void *buf, size_t len, int flags,
			 const struct ust_sockaddr *to, const struct ust_sock_txinfo *tx);
ssize_t ust_sock_recv(struct ust_sock *s, void *buf, size_t len, int flags);
ssize_t ust_sock_recvfrom(struct ust_sock *s, void *buf, size_t len, int flags,
			  struct ust_sockaddr *from);
int ust_sock_shutdown(struct ust_sock *s, int how);
void ust_sock_close(struct ust_sock *s);
int ust_sock_setopt(struct ust_sock *s, int level, int name, const void *val, size_t len);
int ust_sock_getopt(struct ust_sock *s, int level, int name, void *val, size_t *len);
int ust_sock_getname(const struct ust_sock *s, struct ust_sockaddr *a);
int ust_sock_getpeer(const struct ust_sock *s, struct ust_sockaddr *a);
size_t ust_sock_nread(const struct ust_sock *s);
/* A datagram longer than data[] of the IPC holds (longer than any): what
 * sendto() says, -EMSGSIZE, after the local error an IPv6 UDP socket
 * queues for it (__ip6_append_data). */
ssize_t ust_sock_send_oversize(struct ust_sock *s, const struct ust_sockaddr *to);
/* recvmsg(MSG_ERRQUEUE): the oldest queued error into *ee and up to len of
 * the bytes it quotes into buf; returns their count (*trunc: there were
 * more) or -EAGAIN when the queue is empty. so_error follows the queue as
 * Linux's sock_dequeue_err_skb has it. */
ssize_t ust_sock_recv_err(struct ust_sock *s, void *buf, size_t len, struct ust_sock_ee *ee,
			  bool *trunc);
/* The next datagram's rxinfo: 0, -EAGAIN if none is queued, -EOPNOTSUPP
 * for a stream. */
int ust_sock_rxinfo(const struct ust_sock *s, struct ust_sock_rxinfo *out);
/* SIOCOUTQ: bytes sent and not yet acknowledged. */
size_t ust_sock_outq(const struct ust_sock *s);
/* Current readiness (UST_EV_*). */
uint32_t ust_sock_events(const struct ust_sock *s);
void ust_sock_set_callback(struct ust_sock *s, ust_sock_event_fn *fn, void *arg);
/* The rights of the caller of the next socket calls (see struct ust_sock_cred). */
void ust_stack_set_caller(struct ust_stack *st, const struct ust_sock_cred *cred);
/* Whether SO_REUSEPORT lets `me` share a port with `other` (same uid). */
bool ust_sock_reuseport_shares(const struct ust_sock *me, const struct ust_sock *other);
/* Bytes, a datagram or a connection arrived: the next ust_sock_notify runs
 * the callback even if the readiness bits stay the same, because Linux
 * wakes edge-triggered epoll watchers on every arrival. */
void ust_sock_arrived(struct ust_sock *s);
/* Take buffer memory from `mem` (before the first byte moves; a listener
 * passes it to the connections it accepts). */
void ust_sock_set_mem(struct ust_sock *s, const struct ust_sock_mem *mem);
/* Move a socket's buffers, bytes and all, to `mem` (NULL = malloc): before
 * closing a socket whose memory goes away with its owner while the stack
 * still sends what is queued. */
int ust_sock_rehome(struct ust_sock *s, const struct ust_sock_mem *mem);

/* Zero-copy stream I/O for an owner that can reach the buffer memory.
 * recv_spans: up to `max` readable bytes, left in place; returns their count
 * or what recv() would (0 at EOF, -EAGAIN, -ECONNRESET ...). recv_consume:
 * the first n of them were taken, as recv() does after its copy. send_spans:
 * room for up to `max` bytes after what is queued; returns its size or what
 * send() would (-EAGAIN when full, -EPIPE ...). send_commit: the first n
 * bytes of that room were written; queue them, with send()'s flags
 * (MSG_MORE). -EOPNOTSUPP for datagrams. */
ssize_t ust_sock_recv_spans(struct ust_sock *s, size_t max, struct ust_sock_span *sp);
void ust_sock_recv_consume(struct ust_sock *s, size_t n);
ssize_t ust_sock_send_spans(struct ust_sock *s, size_t max, struct ust_sock_span *sp);
void ust_sock_send_commit(struct ust_sock *s, size_t n, int flags);

/* For protocols: read an int option value as setsockopt passes it (-EINVAL
 * when shorter than an int); write one as Linux's getsockopt does, cut to
 * the caller's shorter buffer if it is one. */
int ust_sockopt_get_int(const void *val, size_t len, int *out);
int ust_sockopt_put_int(void *val, size_t *len, int v);

/* One line of `ustack stat`: what ss -tanu shows for a socket. */
struct ust_sock_info {
	uint8_t type;              /* UST_SOCK_STREAM or UST_SOCK_DGRAM */
	const char *state;         /* ss's name: ESTAB, LISTEN, TIME-WAIT, UNCONN, ... */
	struct ust_sockaddr local; /* bound address */
	struct ust_sockaddr peer;  /* connected peer (port 0 if none) */
	uint32_t recvq;            /* bytes received not yet read (listener: accept queue) */
	uint32_t sendq;            /* bytes not yet acknowledged (listener: backlog) */
	const void *owner;         /* the socket's user handle, or NULL (orphans, TIME-WAIT) */
};

typedef void ust_sock_info_fn(const struct ust_sock_info *info, void *arg);
/* Call fn for every TCP connection and UDP socket of the stack. */
void ust_stack_foreach_sock(struct ust_stack *st, ust_sock_info_fn *fn, void *arg);

/* For protocols: set the readiness bits and call the callback if they changed. */
void ust_sock_notify(struct ust_sock *s, uint32_t events);
/* For protocols: how s's local address takes a datagram to `dst` (16-byte
 * form): -1 not at all, 0 as a wildcard, 1 exactly. An AF_INET6 socket on
 * :: takes IPv4 too unless IPV6_V6ONLY. */
int ust_sock_local_match(const struct ust_sock *s, const uint8_t dst[16]);
/* For protocols: whether `me` bound to `addr` would share an address with
 * `other`'s local address (Linux's bind conflict rules across families). */
bool ust_sock_addrs_overlap(const struct ust_sock *me, const uint8_t addr[16],
			    const struct ust_sock *other);
/* For protocols: whether s may send to a: 0, or -ENETUNREACH for IPv4 on an
 * IPV6_V6ONLY socket or a family other than the bound address's. */
int ust_sock_peer_addr_ok(const struct ust_sock *s, const struct ust_sockaddr *a);
/* For protocols: an ICMP error about a datagram s sent, as Linux's
 * datagram sockets take it (__udp4_lib_err, raw_err, ping_err): with
 * IP_RECVERR (IPV6_RECVERR for ICMPv6) it is queued with `len` bytes of
 * `quote` and sets so_error; without, only a hard error on a connected
 * socket sets so_error. Then the protocol's readiness is updated by it. */
void ust_sock_icmp_error(struct ust_sock *s, const struct ust_sock_ee *ee, bool hard,
			 const uint8_t *quote, size_t len);
/* For protocols: queue a local error (ip_local_error: EMSGSIZE with the
 * MTU) if the socket asked for IP_RECVERR (IPV6_RECVERR to IPv6). */
void ust_sock_local_error(struct ust_sock *s, int err, const uint8_t dst[16], uint16_t port,
			  uint32_t info);
/* For protocols: the pending error, negative, taken (0 if none); EPOLLERR
 * stays while the error queue holds something. */
int ust_sock_take_error(struct ust_sock *s);
/* For protocols: free the error queue (a closing socket). */
void ust_sock_err_purge(struct ust_sock *s);
/* For protocols: UST_EV_ERR while an error is pending or queued. */
uint32_t ust_sock_err_events(const struct ust_sock *s);
/* For protocols: add s to (remove it from) a list of sockets by all_next. */
void ust_sock_list_add(struct ust_sock **head, struct ust_sock *s);
void ust_sock_list_del(struct ust_sock **head, struct ust_sock *s);
/* For protocols: fill the common part of a newly allocated socket. */
void ust_sock_init(struct ust_sock *s, struct ust_stack *st, const struct ust_sock_proto *proto,
		   int family, int type);

#endif
