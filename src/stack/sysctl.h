/*
 * Linux's TCP/IP tunables, by Linux's names (net.ipv4.tcp_rmem, ...): the
 * values a stack gives new sockets. The stack starts from Linux's defaults;
 * ustackd overwrites them with the host's at start, and `ustack sysctl -w`
 * changes one later. Values are parsed and printed as /proc/sys does
 * (vectors separated by tabs or spaces). Reading the host is not done here:
 * the stack makes no system calls.
 */
#ifndef UST_SYSCTL_H
#define UST_SYSCTL_H

#include <stddef.h>
#include <stdint.h>

struct ust_sysctl {
	int32_t tcp_rmem[3];              /* min, default, max receive buffer */
	int32_t tcp_wmem[3];              /* min, default, max send buffer */
	int32_t tcp_window_scaling;       /* offer RFC 7323 window scaling */
	int32_t tcp_timestamps;           /* offer RFC 7323 timestamps */
	int32_t tcp_sack;                 /* offer RFC 2018 SACK */
	int32_t tcp_syn_retries;          /* SYN retransmissions before ETIMEDOUT */
	int32_t tcp_syn_linear_timeouts;  /* SYN retransmissions before the RTO doubles */
	int32_t tcp_synack_retries;       /* SYN-ACK retransmissions */
	int32_t tcp_retries2;             /* data retransmissions before ETIMEDOUT */
	int32_t tcp_fin_timeout;          /* seconds an orphan waits in FIN_WAIT_2 */
	int32_t tcp_keepalive_time;       /* idle seconds before the first probe */
	int32_t tcp_keepalive_intvl;      /* seconds between probes */
	int32_t tcp_keepalive_probes;     /* probes before the connection is dropped */
	char tcp_congestion_control[16];  /* "cubic" or "reno" */
	int32_t tcp_slow_start_after_idle; /* restart from the initial window after an idle RTO */
	int32_t tcp_early_retrans;        /* 3 or 4: tail loss probes (RFC 8985 7) */
	int32_t tcp_recovery;             /* kept and shown: RACK is on whatever bit 0 says, as on Linux 6.18 */
	uint32_t tcp_notsent_lowat;       /* default TCP_NOTSENT_LOWAT, UINT32_MAX = none */
	int32_t tcp_syncookies;           /* 0 never, 1 when the SYN queue is full, 2 always */
	int32_t tcp_max_syn_backlog;      /* embryonic connections per listener at most */
	int32_t tcp_max_orphans;          /* closed-by-owner connections kept at most */
	int32_t tcp_moderate_rcvbuf;      /* receive buffer autotuning */
	int32_t tcp_autocorking;          /* hold a small write while earlier segments wait below TCP */
	int32_t somaxconn;                /* listen() backlog cap */
	int32_t rmem_max;                 /* SO_RCVBUF cap */
	int32_t wmem_max;                 /* SO_SNDBUF cap */
	int32_t ip_local_port_range[2];   /* ephemeral ports, first and last */
	int32_t ip_unprivileged_port_start; /* ports below need CAP_NET_BIND_SERVICE */
	int32_t ping_group_range[2];      /* groups that may open ICMP datagram sockets, first and last */
};

/* Linux's defaults; rmem_max and wmem_max as a host tuned for 10 Gbit/s. */
void ust_sysctl_defaults(struct ust_sysctl *s);
/* Set `name` (e.g. "net.ipv4.tcp_sack") from its /proc/sys text: 0, -ENOENT
 * for a name ustack does not have, -EINVAL for a value out of range. */
int ust_sysctl_set(struct ust_sysctl *s, const char *name, const char *value);
/* The value as /proc/sys prints it (vectors tab-separated); 0 or -ENOENT. */
int ust_sysctl_get(const struct ust_sysctl *s, const char *name, char *buf, size_t len);
/* The i-th name, or NULL past the last. */
const char *ust_sysctl_name(unsigned i);

#endif
