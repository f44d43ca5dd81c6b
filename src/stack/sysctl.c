/*
 * The table behind ust_sysctl_set/get: each Linux name, where its value lives
 * and the range Linux accepts. Nothing else reads names.
 */
#include "sysctl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD(f) offsetof(struct ust_sysctl, f)

static const struct entry {
	const char *name; /* Linux's name */
	size_t off;       /* the field */
	unsigned n;       /* ints in the vector; 0 for a string */
	int64_t min, max; /* accepted range of each int */
	bool u32;         /* shown unsigned, as Linux's unsigned int */
} table[] = {
	{"net.core.rmem_max", FIELD(rmem_max), 1, 2304, INT32_MAX},
	{"net.core.somaxconn", FIELD(somaxconn), 1, 0, INT32_MAX},
	{"net.core.wmem_max", FIELD(wmem_max), 1, 4608, INT32_MAX},
	{"net.ipv4.ip_local_port_range", FIELD(ip_local_port_range), 2, 1, 65535},
	{"net.ipv4.ip_unprivileged_port_start", FIELD(ip_unprivileged_port_start), 1, 0, 65535},
	{"net.ipv4.ping_group_range", FIELD(ping_group_range), 2, 0, INT32_MAX},
	{"net.ipv4.tcp_autocorking", FIELD(tcp_autocorking), 1, 0, 1},
	{"net.ipv4.tcp_congestion_control", FIELD(tcp_congestion_control), 0, 0, 0},
	{"net.ipv4.tcp_early_retrans", FIELD(tcp_early_retrans), 1, 0, 4},
	{"net.ipv4.tcp_fin_timeout", FIELD(tcp_fin_timeout), 1, 1, INT32_MAX},
	{"net.ipv4.tcp_keepalive_intvl", FIELD(tcp_keepalive_intvl), 1, 1, 32767},
	{"net.ipv4.tcp_keepalive_probes", FIELD(tcp_keepalive_probes), 1, 1, 127},
	{"net.ipv4.tcp_keepalive_time", FIELD(tcp_keepalive_time), 1, 1, 32767},
	{"net.ipv4.tcp_max_orphans", FIELD(tcp_max_orphans), 1, 0, INT32_MAX},
	{"net.ipv4.tcp_max_syn_backlog", FIELD(tcp_max_syn_backlog), 1, 1, INT32_MAX},
	{"net.ipv4.tcp_moderate_rcvbuf", FIELD(tcp_moderate_rcvbuf), 1, 0, 1},
	{"net.ipv4.tcp_notsent_lowat", FIELD(tcp_notsent_lowat), 1, 0, UINT32_MAX, true},
	{"net.ipv4.tcp_recovery", FIELD(tcp_recovery), 1, 0, 7},
	{"net.ipv4.tcp_retries2", FIELD(tcp_retries2), 1, 0, 255},
	{"net.ipv4.tcp_rmem", FIELD(tcp_rmem), 3, 1, INT32_MAX},
	{"net.ipv4.tcp_sack", FIELD(tcp_sack), 1, 0, 1},
	{"net.ipv4.tcp_slow_start_after_idle", FIELD(tcp_slow_start_after_idle), 1, 0, 1},
	{"net.ipv4.tcp_syn_retries", FIELD(tcp_syn_retries), 1, 1, 127},
	{"net.ipv4.tcp_syn_linear_timeouts", FIELD(tcp_syn_linear_timeouts), 1, 0, 10},
	{"net.ipv4.tcp_synack_retries", FIELD(tcp_synack_retries), 1, 0, 255},
	{"net.ipv4.tcp_syncookies", FIELD(tcp_syncookies), 1, 0, 2},
	{"net.ipv4.tcp_timestamps", FIELD(tcp_timestamps), 1, 0, 2},
	{"net.ipv4.tcp_window_scaling", FIELD(tcp_window_scaling), 1, 0, 1},
	{"net.ipv4.tcp_wmem", FIELD(tcp_wmem), 3, 1, INT32_MAX},
};

#define NENTRIES (sizeof(table) / sizeof(table[0]))

void
ust_sysctl_defaults(struct ust_sysctl *s)
{
	*s = (struct ust_sysctl){
		.tcp_rmem = {4096, 131072, 6291456},
		.tcp_wmem = {4096, 16384, 4194304},
		.tcp_window_scaling = 1,
		.tcp_timestamps = 1,
		.tcp_sack = 1,
		.tcp_syn_retries = 6,
		.tcp_syn_linear_timeouts = 4,
		.tcp_synack_retries = 5,
		.tcp_retries2 = 15,
		.tcp_fin_timeout = 60,
		.tcp_keepalive_time = 7200,
		.tcp_keepalive_intvl = 75,
		.tcp_keepalive_probes = 9,
		.tcp_congestion_control = "cubic",
		.tcp_slow_start_after_idle = 1,
		.tcp_early_retrans = 3,
		.tcp_recovery = 1,
		.tcp_notsent_lowat = UINT32_MAX,
		.tcp_syncookies = 1,
		.tcp_max_syn_backlog = 4096,
		.tcp_max_orphans = 65536,
		.tcp_moderate_rcvbuf = 1,
		.tcp_autocorking = 1,
		.somaxconn = 4096,
		.rmem_max = 4194304,
		.wmem_max = 4194304,
		.ip_local_port_range = {32768, 60999},
		.ip_unprivileged_port_start = 1024,
		.ping_group_range = {1, 0},
	};
}

static const struct entry *
find(const char *name)
{
	for (size_t i = 0; i < NENTRIES; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

const char *
ust_sysctl_name(unsigned i)
{
	return i < NENTRIES ? table[i].name : NULL;
}

int
ust_sysctl_set(struct ust_sysctl *s, const char *name, const char *value)
{
	const struct entry *e = find(name);
	if (e == NULL)
		return -ENOENT;
	char *field = (char *)s + e->off;
	if (e->n == 0) {
		/* The congestion controls ustack has. */
		if (strcmp(value, "cubic") != 0 && strcmp(value, "reno") != 0)
			return -ENOENT;
		snprintf(field, sizeof(s->tcp_congestion_control), "%s", value);
		return 0;
	}
	int32_t v[3];
	const char *p = value;
	for (unsigned i = 0; i < e->n; i++) {
		char *end;
		long long x = strtoll(p, &end, 10);
		if (end == p || x < e->min || x > e->max)
			return -EINVAL;
		v[i] = (int32_t)(uint32_t)x;
		p = end;
	}
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p != '\0')
		return -EINVAL;
	/* Vectors are ordered: a range's first port, a buffer's minimum. A
	 * reversed group range is the empty one, "1 0" (ipv4_ping_group_range). */
	bool groups = e->off == FIELD(ping_group_range);
	for (unsigned i = 1; i < e->n; i++)
		if (v[i] < v[i - 1] && !groups)
			return -EINVAL;
	if (groups && v[1] < v[0]) {
		v[0] = 1;
		v[1] = 0;
	}
	memcpy(field, v, sizeof(v[0]) * e->n);
	return 0;
}

int
ust_sysctl_get(const struct ust_sysctl *s, const char *name, char *buf, size_t len)
{
	const struct entry *e = find(name);
	if (e == NULL)
		return -ENOENT;
	const char *field = (const char *)s + e->off;
	if (e->n == 0) {
		snprintf(buf, len, "%s", field);
		return 0;
	}
	int32_t v[3];
	memcpy(v, field, sizeof(v[0]) * e->n);
	size_t w = 0;
	for (unsigned i = 0; i < e->n && w < len; i++)
		if (e->u32)
			w += (size_t)snprintf(buf + w, len - w, "%s%u", i ? "\t" : "", (uint32_t)v[i]);
		else
			w += (size_t)snprintf(buf + w, len - w, "%s%d", i ? "\t" : "", v[i]);
	return 0;
}
