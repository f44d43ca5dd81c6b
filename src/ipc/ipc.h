/*
 * The shared-memory contract between libustack.so (an application) and
 * ustackd. Both sides include this file and nothing else of each other.
 *
 * Registration: the application connects to ustackd's control socket
 * (SOCK_SEQPACKET) and sends struct ust_ipc_hello. ustackd reads the
 * caller's credentials with SO_PEERCRED, creates a memfd holding one
 * struct ust_ipc_region, and sends struct ust_ipc_welcome with the memfd
 * attached (SCM_RIGHTS). A forked child keeps its parent's mapping: it
 * opens a control connection of its own and sends UST_IPC_MSG_JOIN with the
 * region's memfd attached (proof that it holds the region), and shares the
 * region, its sockets and their handles with the parent. The connection
 * stays open for the life of the process: its end tells either side the
 * other is gone (ustackd then frees that process's channels, nothing
 * else), and it carries the rare messages that attach a file descriptor.
 *
 * Sockets: each ustack socket is also a kernel object, an AF_UNIX stream
 * socket pair. ustackd keeps one end; the application's fd for the socket
 * is the other (sent as UST_IPC_MSG_FD while OPEN or ACCEPT is answered).
 * So fstat says socket, and dup, fork, exec, close-on-exec and SCM_RIGHTS
 * act on a real file. When every copy of the application end is closed, in
 * every process, ustackd's end reports HUP and ustackd closes the socket as
 * Linux's close would. A process that finds an fd it did not create (after
 * exec, or received by SCM_RIGHTS) sends it with UST_IPC_MSG_PROBE; ustackd
 * compares its inode with the ends it made and, if it is one, attaches the
 * socket to that process's region under a handle there.
 *
 * Calls: each application thread owns one channel of the region while it
 * lives. It writes a request and publishes it with a release store of
 * req_seq; ustackd's poll loop sees req_seq != resp_seq, serves the request
 * without blocking, writes the response and publishes it with resp_seq.
 * Neither side makes a system call while the other is busy: the
 * application spins (only while that can pay off, see channel.c), then
 * sleeps on resp_seq as a futex after setting `sleeping`, and ustackd
 * calls FUTEX_WAKE only when `sleeping` is set.
 *
 * Doorbell: an idle ustackd sleeps in poll() on the control sockets, the
 * sockets' ends (a last close), the port's receive interrupt and its next
 * timer. Before it sleeps it sets
 * daemon_sleeping in every region and looks at every channel once more;
 * an application that published a request and then finds daemon_sleeping
 * set takes it (exchange to 0) and sends UST_IPC_MSG_DOORBELL on its
 * control socket, so one sleep costs at most one message per process.
 *
 * Payload: a stream socket's byte buffers live in the region's arena, so a
 * program copies its bytes straight from or into them, once. RECV answers
 * with where the readable bytes are (UST_IPC_F_SPANS) instead of copying
 * them into the channel; SEND_ROOM answers with where the next bytes may
 * go. The program copies, then stores the answer's sequence number in
 * done_seq; only then does ustackd take the bytes (consume or queue them),
 * and until then the socket answers other channels with UST_IPC_RETRY.
 * Datagrams, and MSG_PEEK, still cross in the channel's data area.
 *
 * A socket attached to several regions (exec, SCM_RIGHTS) keeps its byte
 * buffers in one region's arena; elsewhere RECV copies through the channel
 * and SEND_ROOM answers UST_IPC_COPY: send the bytes with SEND instead.
 *
 * Readiness: ustackd keeps each socket's readiness (epoll bits) in
 * socks[handle].events. A thread that must wait sets its channel's bit in
 * socks[handle].waiters, checks events again, and polls its channel's
 * eventfd (given to ustackd once per channel); ustackd writes that eventfd
 * only for the waiters it finds, and clears their bits.
 *
 * Growth: the region's layout is fixed (UST_IPC_REGION_BYTES: the socket
 * table for UST_IPC_SOCKS and the whole arena) but both sides map it
 * PROT_NONE and open it up only as far as it is used, so it costs nothing
 * until then, even to a program that calls mlockall(MCL_FUTURE). ustackd
 * opens the socket table and the arena on its side before it hands out a
 * handle or a span there, and publishes how far in sock_end and
 * arena_end; a program opens its own mapping that far when an answer
 * names a handle or span beyond what it opened.
 *
 * epoll: an epoll instance owns a slot of ep[], given by ustackd with the
 * instance's doorbell (UST_IPC_MSG_EPOLL): one end of a socket pair whose
 * other end sits in the kernel epoll set beside the kernel members. The
 * slot is the instance's, not a process's: every process holding the
 * instance (fork) uses it, and ustackd frees it when the end in the set is
 * closed in all of them. Each side opens the slot's pages of its mapping
 * when the slot is given. The application marks the sockets the instance
 * watches: bit `slot` of sock[handle].watch (and of .excl for
 * EPOLLEXCLUSIVE) for slots below UST_IPC_EPOLL_BITS, UST_IPC_OP_WATCH for
 * the others (ustackd keeps those lists). When the socket's events change
 * or something arrives, ustackd sets the socket's bit in each watching
 * slot's ready[] (then the word's bit in summary[] and that one's in
 * top[]), and writes a byte to the doorbell only if `armed` was set by a
 * waiter about to sleep, clearing it; of the EPOLLEXCLUSIVE watchers,
 * those after the first one woken are not told, as in Linux.
 *
 * Everything is fixed-size; layouts are _Static_assert'ed so a mismatch of
 * the two sides fails to compile rather than corrupting memory.
 */
#ifndef UST_IPC_H
#define UST_IPC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#define UST_IPC_MAGIC 0x55535431u  /* "UST1" */
#define UST_IPC_VERSION 10u
#define UST_IPC_CHANNELS 128u      /* threads using sockets at once, per process */
#define UST_IPC_DATA_BYTES 65536u  /* payload per call (one UDP datagram fits) */
#define UST_IPC_SOCKS (1u << 20)   /* ustack sockets per process; RLIMIT_NOFILE binds first */
#define UST_IPC_EPOLLS 16384u      /* epoll instances, per region */
#define UST_IPC_EPOLL_BITS 128u    /* slots below this are found by sockstate bitmaps */
#define UST_IPC_NO_HANDLE 0xffffffffu
#define UST_IPC_ARENA_BYTES (4ull << 30) /* socket buffers, at most */
#define UST_IPC_GROW_BYTES (64u << 10) /* the socket table is opened up this much at a time */
#define UST_IPC_RETRY (-1000)       /* ret: another thread holds the socket's bytes; ask again */
#define UST_IPC_COPY (-1001)        /* SEND_ROOM: the buffers are in another region; use SEND */
#define UST_IPC_F_SPANS 0x80000000u /* resp.flags: the bytes are at span_off/span_len */

/* Readiness bits in ust_ipc_sockstate.events: epoll's values. */
#define UST_IPC_EV_IN 0x001u
#define UST_IPC_EV_OUT 0x004u
#define UST_IPC_EV_ERR 0x008u
#define UST_IPC_EV_HUP 0x010u
#define UST_IPC_EV_RDHUP 0x2000u

/* Requests served through a channel. */
enum ust_ipc_op {
	UST_IPC_OP_OPEN = 1,  /* a = family, b = type and SOCK_NONBLOCK, c = protocol -> handle;
			       * the fd arrives as UST_IPC_MSG_FD */
	UST_IPC_OP_CLOSE,     /* handle: this process closed its last fd of it; ustackd
			       * closes the socket if no process holds one any more */
	UST_IPC_OP_BIND,      /* handle, addr */
	UST_IPC_OP_LISTEN,    /* handle, a = backlog */
	UST_IPC_OP_ACCEPT,    /* handle, a = SOCK_NONBLOCK -> resp.handle, resp.addr = peer;
			       * the fd arrives as UST_IPC_MSG_FD */
	UST_IPC_OP_CONNECT,   /* handle, addr */
	UST_IPC_OP_SEND,      /* handle, a = flags, len bytes of data, addr if has_addr;
			       * c < 0: the application found the address bad (errno),
			       * or (-EMSGSIZE) the datagram longer than data[] */
	UST_IPC_OP_RECV,      /* handle, a = flags, len = room -> data, resp.addr = from;
			       * b != 0: a blocking stream receive, -EAGAIN until
			       * SO_RCVLOWAT's bytes (or len) are readable;
			       * a & MSG_ERRQUEUE: the oldest queued error, data =
			       * struct ust_ipc_err then the bytes it quotes,
			       * resp.addr = the failed datagram's destination */
	UST_IPC_OP_SHUTDOWN,  /* handle, a = how */
	UST_IPC_OP_SETOPT,    /* handle, a = level, b = name, len bytes of value */
	UST_IPC_OP_GETOPT,    /* handle, a = level, b = name, len = room -> value */
	UST_IPC_OP_GETNAME,   /* handle -> resp.addr */
	UST_IPC_OP_GETPEER,   /* handle -> resp.addr */
	UST_IPC_OP_NREAD,     /* handle -> bytes readable (FIONREAD) */
	UST_IPC_OP_OUTQ,      /* handle -> bytes not yet acknowledged (SIOCOUTQ) */
	UST_IPC_OP_SEND_ROOM, /* stream handle, len = bytes to send -> room, as spans;
			       * b != 0: this send queued bytes already (a pending
			       * error is reported, not taken) */
	UST_IPC_OP_SETTLE,    /* nothing: ustackd takes the bytes of the channel's last spans */
	UST_IPC_OP_FSET,      /* handle, a = enum ust_ipc_fset, value in data (int64_t) */
	UST_IPC_OP_WATCH,     /* handle, a = epoll slot (>= UST_IPC_EPOLL_BITS), b = 0: not
			       * watched, 1: watched, 2: watched with EPOLLEXCLUSIVE */
};

/* What FSET sets: state of the socket, not of one process's fd, mirrored
 * by ustackd into the sockstate of every region that has the socket. */
enum ust_ipc_fset {
	UST_IPC_FSET_NONBLOCK = 1, /* O_NONBLOCK: 0 or 1 */
	UST_IPC_FSET_RCVTIMEO,     /* SO_RCVTIMEO in ns, 0 = none */
	UST_IPC_FSET_SNDTIMEO,     /* SO_SNDTIMEO in ns, 0 = none */
};

/* struct ust_sockaddr's layout, repeated here so src/ipc stays libc-only. */
struct ust_ipc_addr {
	uint16_t family;   /* AF_INET or AF_INET6 */
	uint16_t port;     /* host order */
	uint32_t addr4;    /* host order */
	uint8_t addr6[16]; /* wire order */
	uint32_t scope_id; /* sin6_scope_id: an interface index */
};

struct ust_ipc_req {
	uint32_t op;              /* enum ust_ipc_op */
	uint32_t handle;          /* the socket */
	int32_t a, b, c;          /* op arguments, see enum ust_ipc_op */
	uint32_t len;             /* bytes in data[] (SEND, SETOPT) or room for them */
	uint32_t has_addr;        /* addr is set (SEND) */
	uint32_t pad;
	struct ust_ipc_addr addr; /* BIND, CONNECT, SEND */
	uint32_t tx_src4;         /* SEND of a datagram: IP_PKTINFO's source, host order */
	uint8_t tx_has;           /* ... the UST_IPC_TX_* control messages given */
	uint8_t tx_ttl;           /* ... IP_TTL's value */
	uint8_t tx_tos;           /* ... IP_TOS's value */
	uint8_t tx_pad;
	uint8_t tx_src6[16];      /* ... IPV6_PKTINFO's source, wire order */
	uint32_t pad2;            /* the response after it stays 8-aligned */
};

/* req.tx_has: sendmsg() control messages that act on that datagram alone. */
#define UST_IPC_TX_SRC 0x1u
#define UST_IPC_TX_TTL 0x2u
#define UST_IPC_TX_TOS 0x4u
#define UST_IPC_TX_SRC6 0x8u

struct ust_ipc_resp {
	int64_t ret;              /* result or negative errno, as the Linux call */
	uint32_t handle;          /* OPEN, ACCEPT: the new socket */
	uint32_t len;             /* bytes in data[] (RECV, GETOPT) */
	uint32_t flags;           /* RECV: MSG_TRUNC when the datagram was longer; UST_IPC_F_SPANS */
	uint32_t rx_inq;          /* RECV of a stream with UST_IPC_RX_INQ: bytes left to read (TCP_INQ) */
	struct ust_ipc_addr addr; /* ACCEPT, RECV, GETNAME, GETPEER */
	uint64_t span_off[2];     /* F_SPANS: the bytes, as offsets from the region's start */
	uint32_t span_len[2];     /* ... and lengths (the second 0 unless the ring wrapped) */
	uint32_t rx_cmsgs;        /* RECV of a datagram: the UST_IPC_RX_* its socket asked for */
	uint32_t rx_dst4;         /* ... its destination address, host order (IP_PKTINFO) */
	uint32_t rx_ifindex;      /* ... the interface it came in on (IP_PKTINFO) */
	uint8_t rx_ttl;           /* ... its TTL (IP_RECVTTL) */
	uint8_t rx_tos;           /* ... its TOS (IP_RECVTOS) */
	uint16_t rx_pad;
	int64_t rx_stamp_ns;      /* ... its arrival, CLOCK_REALTIME (SO_TIMESTAMP, SO_TIMESTAMPNS) */
	uint8_t rx_dst6[16];      /* ... its destination, wire order, IPv4 mapped (IPV6_PKTINFO) */
};

/* RECV with MSG_ERRQUEUE: the head of data[], struct sock_extended_err's
 * fields and the offender (the ICMP error's sender). */
struct ust_ipc_err {
	uint32_t err;         /* ee_errno */
	uint8_t origin;       /* ee_origin: SO_EE_ORIGIN_* */
	uint8_t type;         /* ee_type */
	uint8_t code;         /* ee_code */
	uint8_t hlim;         /* the ICMP error's TTL or hop limit (resp.rx_cmsgs says if asked) */
	uint32_t info;        /* ee_info */
	uint32_t offender_scope; /* the offender's sin6_scope_id */
	uint8_t offender[16]; /* wire order, IPv4 mapped; all zero for a local error */
};

/* resp.rx_cmsgs: the control messages recvmsg() gives with a datagram. */
#define UST_IPC_RX_PKTINFO 0x1u
#define UST_IPC_RX_TTL 0x2u
#define UST_IPC_RX_TOS 0x4u
#define UST_IPC_RX_TIMESTAMP 0x8u
#define UST_IPC_RX_TIMESTAMPNS 0x10u
#define UST_IPC_RX_INQ 0x20u /* a stream's read: rx_inq is valid */
#define UST_IPC_RX_HOPLIMIT 0x40u     /* IPV6_RECVHOPLIMIT: IPV6_HOPLIMIT (rx_ttl, or an error's) */
#define UST_IPC_RX_2292HOPLIMIT 0x80u /* IPV6_2292HOPLIMIT: an error's, with that type */
#define UST_IPC_RX_PKTINFO6 0x100u    /* IPV6_RECVPKTINFO: IPV6_PKTINFO */
#define UST_IPC_RX_TCLASS 0x200u      /* IPV6_RECVTCLASS: IPV6_TCLASS (rx_tos) */
#define UST_IPC_RX_NO_SPEC_DST 0x400u /* IP_PKTINFO's ipi_spec_dst is 0.0.0.0, not rx_dst4 */

struct ust_ipc_channel {
	_Atomic uint32_t req_seq;  /* bumped by the application per request */
	_Atomic uint32_t resp_seq; /* set to req_seq by ustackd when answered; a futex */
	_Atomic uint32_t sleeping; /* the application sleeps on resp_seq */
	_Atomic uint32_t owner;    /* thread id holding the channel, 0 = free */
	_Atomic uint32_t done_seq; /* the application is done with that answer's spans */
	_Atomic uint32_t evfd_pid; /* process whose eventfd ustackd holds for it (the
				    * application's bookkeeping: a region has several) */
	struct ust_ipc_req req;    /* written by the application */
	struct ust_ipc_resp resp;  /* written by ustackd */
	uint8_t pad[256 - 24 - sizeof(struct ust_ipc_req) - sizeof(struct ust_ipc_resp)];
	uint8_t data[UST_IPC_DATA_BYTES]; /* payload, either way */
};

struct ust_ipc_sockstate {
	_Atomic uint32_t events;      /* readiness, epoll bits, written by ustackd */
	_Atomic uint32_t nonblock;    /* O_NONBLOCK of the socket, written by ustackd */
	_Atomic uint64_t waiters[2];  /* channels waiting for a change, one bit each */
	_Atomic int64_t rcvtimeo_ns;  /* SO_RCVTIMEO, 0 = none, written by ustackd */
	_Atomic int64_t sndtimeo_ns;  /* SO_SNDTIMEO, 0 = none, written by ustackd */
	_Atomic uint64_t watch[UST_IPC_EPOLL_BITS / 64]; /* epoll slots watching it, one bit each */
	_Atomic uint64_t excl[UST_IPC_EPOLL_BITS / 64];  /* ... of them with EPOLLEXCLUSIVE */
};

/* One epoll instance's readiness news, by socket handle: three levels of
 * bitmap, so a look at an idle set reads a few words. */
struct ust_ipc_epoll {
	_Atomic uint32_t armed;    /* a waiter sleeps: write the doorbell on the next news */
	_Atomic uint32_t ctl_seq;  /* bumped by every epoll_ctl on the instance, in any process */
	_Atomic uint32_t sleepers; /* threads asleep in the kernel set, in any process */
	uint32_t pad[5];
	_Atomic uint64_t top[UST_IPC_SOCKS / (64 * 64 * 64)]; /* bit s: summary[s] may be nonzero */
	_Atomic uint64_t summary[UST_IPC_SOCKS / (64 * 64)];  /* bit w: ready[w] may be nonzero */
	_Atomic uint64_t ready[UST_IPC_SOCKS / 64];           /* sockets with news since last looked */
	uint8_t pad_page[4096 - (64 + UST_IPC_SOCKS / 512) % 4096]; /* slots on pages of their own */
};

/* ustackd's interface as programs see it (if_nametoindex, getifaddrs,
 * SIOCGIFINDEX ...): fixed while ustackd runs. */
struct ust_ipc_if {
	uint32_t index;     /* its interface index: scope ids, IP_PKTINFO */
	uint32_t mtu;       /* its MTU */
	char name[16];      /* its name, NUL-terminated (IFNAMSIZ) */
	uint8_t mac[6];     /* its hardware address */
	uint8_t prefix4;    /* IPv4 prefix length */
	uint8_t prefix6;    /* global IPv6 prefix length */
	uint32_t addr4;     /* IPv4 address, host order; 0 = none */
	uint8_t addr6[16];  /* global IPv6 address, wire order; :: = none */
	uint8_t ll6[16];    /* link-local IPv6 address; :: = IPv6 is off */
};

struct ust_ipc_region {
	uint32_t magic;         /* UST_IPC_MAGIC */
	uint32_t version;       /* UST_IPC_VERSION */
	uint32_t channels;      /* UST_IPC_CHANNELS */
	uint32_t socks;         /* UST_IPC_SOCKS */
	_Atomic uint32_t daemon_sleeping; /* ustackd sleeps: ring the doorbell */
	_Atomic int32_t daemon_cpu; /* the CPU ustackd polls on, -1 = not pinned */
	_Atomic uint64_t sock_end;  /* bytes from the start ustackd opened up to (socket table) */
	_Atomic uint64_t arena_end; /* the same in the arena (page-aligned offsets) */
	struct ust_ipc_if iface;    /* the port, written before the region is handed out */
	uint8_t pad[128 - 40 - sizeof(struct ust_ipc_if)];
	struct ust_ipc_channel chan[UST_IPC_CHANNELS];
	struct ust_ipc_sockstate sock[UST_IPC_SOCKS];
	_Alignas(4096) struct ust_ipc_epoll ep[UST_IPC_EPOLLS]; /* opened slot by slot */
	/* UST_IPC_ARENA_BYTES of socket buffers follow, page-aligned. */
};

#define UST_IPC_PAGE_UP(x) (((uint64_t)(x) + 4095) & ~(uint64_t)4095)
/* Where the arena starts, from the region's start. */
#define UST_IPC_ARENA_OFF UST_IPC_PAGE_UP(sizeof(struct ust_ipc_region))
#define UST_IPC_REGION_BYTES (UST_IPC_ARENA_OFF + UST_IPC_ARENA_BYTES)
/* What is open from the start: the header and the channels. */
#define UST_IPC_FIXED_BYTES UST_IPC_PAGE_UP(offsetof(struct ust_ipc_region, sock))
/* The region's bytes up to the end of socket `handle`'s state. */
#define UST_IPC_SOCK_END(handle) \
	(offsetof(struct ust_ipc_region, sock) + ((uint64_t)(handle) + 1) * sizeof(struct ust_ipc_sockstate))

/* Control-socket messages. */
enum ust_ipc_msg {
	UST_IPC_MSG_HELLO = 0x48454c4fu, /* application -> ustackd: register */
	UST_IPC_MSG_WELCOME,             /* ustackd -> application: region attached */
	UST_IPC_MSG_CHANNEL,             /* application -> ustackd: a channel's eventfd attached */
	UST_IPC_MSG_ACK,                 /* ustackd -> application: done, see `ret` */
	UST_IPC_MSG_DOORBELL,            /* application -> ustackd: wake up, a request waits */
	UST_IPC_MSG_EPOLL,               /* application -> ustackd: a doorbell attached;
					  * ACK's ret = its slot of ep[] */
	UST_IPC_MSG_JOIN,                /* forked child -> ustackd: share the attached region */
	UST_IPC_MSG_FD,                  /* ustackd -> application: a new socket's fd attached */
	UST_IPC_MSG_PROBE,               /* application -> ustackd: is the attached fd a socket of yours? */
};

struct ust_ipc_hello {
	uint32_t msg;     /* UST_IPC_MSG_HELLO, or UST_IPC_MSG_JOIN with the region's memfd */
	uint32_t version; /* UST_IPC_VERSION */
};

struct ust_ipc_welcome {
	uint32_t msg;          /* UST_IPC_MSG_WELCOME */
	int32_t ret;           /* 0, or negative errno: no region for you */
	uint64_t region_bytes; /* UST_IPC_REGION_BYTES */
};
/* A JOIN whose region ustackd no longer knows (none of its sockets is
 * left) is answered as a HELLO, with a new region's memfd attached. */

/* CHANNEL/ACK; also FD (channel = the socket's handle), PROBE (nothing
 * but the fd) and its answer, an ACK with ret = 0 and channel = the handle
 * in the asker's region, pad = its type, family and protocol, or ret = -ENOTSOCK. */
struct ust_ipc_chanmsg {
	uint32_t msg;     /* UST_IPC_MSG_* */
	int32_t ret;      /* ACK: 0 or negative errno */
	uint32_t channel; /* which channel the eventfd wakes; FD, PROBE
			   * answer: the handle */
	uint32_t pad;     /* PROBE answer: type | family << 8 | protocol << 16 */
};

/* Control space for the one fd a control message carries (SCM_RIGHTS). */
union ust_ipc_fdbuf {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

/* Point mh's control data at u: with fd attached when fd >= 0, or as room
 * to receive one when fd < 0. */
static inline void
ust_ipc_fd_attach(struct msghdr *mh, union ust_ipc_fdbuf *u, int fd)
{
	memset(u, 0, sizeof(*u));
	mh->msg_control = u->buf;
	mh->msg_controllen = sizeof(u->buf);
	if (fd < 0)
		return;
	struct cmsghdr *cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
}

/* The fd a received message carried, or -1. */
static inline int
ust_ipc_fd_take(struct msghdr *mh)
{
	int fd = -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(mh);
	if (cm != NULL && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

_Static_assert(sizeof(struct ust_ipc_addr) == 28, "ust_ipc_addr layout");
_Static_assert(sizeof(struct ust_ipc_req) == 88, "ust_ipc_req layout");
_Static_assert(sizeof(struct ust_ipc_resp) == 120, "ust_ipc_resp layout");
_Static_assert(sizeof(struct ust_ipc_if) == 68, "ust_ipc_if layout");
_Static_assert(sizeof(struct ust_ipc_err) == 32, "ust_ipc_err layout");
_Static_assert(sizeof(struct ust_ipc_channel) == 256 + UST_IPC_DATA_BYTES, "channel layout");
_Static_assert(sizeof(struct ust_ipc_sockstate) == 40 + UST_IPC_EPOLL_BITS / 4, "sockstate layout");
_Static_assert(offsetof(struct ust_ipc_region, chan) == 128, "region header layout");
_Static_assert(sizeof(struct ust_ipc_epoll) % 4096 == 0 &&
	       offsetof(struct ust_ipc_epoll, ready) == 64 + UST_IPC_SOCKS / 512,
	       "epoll layout");
_Static_assert(UST_IPC_SOCKS % (64 * 64 * 64) == 0 && UST_IPC_EPOLL_BITS % 64 == 0 &&
	       UST_IPC_EPOLL_BITS <= UST_IPC_EPOLLS, "bitmap words");
_Static_assert(UST_IPC_CHANNELS <= 128, "waiters[] holds 128 channel bits");

#endif
