/*
 * Runner of the scripted wire tests (tests/wire/README.md) against ustack:
 * one stack (198.18.0.1) on end 0 of a memlink without impairments, the
 * runner on end 1 playing the peer (198.18.0.2): it answers ARP, injects the
 * script's segments and checks each segment the stack sends against the
 * script, all in virtual time. Usage: wire_ustack SCRIPT...; exit status 1
 * if any script fails, with file:line and what differed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/netif/memlink.h"
#include "stack/sock.h"
#include "stack/stack.h"
#include "stack/tcp/tcp.h"

#define IP_US 0xc6120001u
#define IP_PEER 0xc6120002u
#define PEER_ISN 1000000000u
#define PEER_PORT 40000
#define TS_BASE 1000u
#define MAX_SOCKS 8
#define MAX_OPTS 10
#define MAX_TOK 24
#define OUTQ 64
#define FRAME_MAX 2048
#define DEFAULT_TOL_NS (60 * UST_NS_PER_MS)
/* Flag letter `p` on an expected segment: PSH either way. Where Linux puts
 * PSH inside a flight depends on how its buffers were cut (GSO). */
#define PSH_ANY 0x80

/* One option of a segment, as a script writes it or as parsed from one. */
struct opt {
	char kind[8];       /* mss ws sackok ts sack raw */
	bool has_val;       /* a value was written (mss:N, ws:N, sack:...) */
	uint32_t val;       /* mss or ws */
	unsigned nblocks;   /* sack */
	uint32_t blk[4][2]; /* sack blocks, relative */
	uint8_t raw[40];    /* raw option bytes */
	unsigned rawlen;    /* their length */
};

struct seg {
	uint8_t flags;           /* TCP flags */
	bool has_seq, has_ack, has_win, has_opt, has_tsval;
	uint32_t seq, ack, win, len, tsval;
	uint16_t port;           /* peer port, 0 = default */
	unsigned nopt;           /* options */
	struct opt opt[MAX_OPTS];
	uint32_t tsecr;          /* parsed segments: the echoed timestamp */
};

struct frame {
	uint64_t t;              /* when the stack sent it (virtual ns) */
	uint32_t len;            /* bytes */
	uint8_t b[FRAME_MAX];    /* Ethernet frame */
};

struct run {
	const char *file;            /* script name, for messages */
	int line;                    /* current line */
	struct ust_memlink *link;    /* the wire */
	struct ust_stack *st;        /* the stack under test */
	uint64_t t0;                 /* virtual time of script time 0 */
	uint64_t now;                /* virtual time */
	uint64_t prev_t;             /* previous line's script time */
	char names[MAX_SOCKS][16];   /* socket names */
	struct ust_sock *socks[MAX_SOCKS]; /* and sockets */
	uint32_t isn;                /* the stack's ISN */
	uint16_t port;               /* the stack's port */
	uint16_t peer_port;          /* the peer's port */
	bool peer_ts, stack_ts;      /* SYNs that carried timestamps */
	uint32_t last_tsval;         /* the stack's latest tsval */
	uint16_t win;                /* the peer's window: stays until a line changes it */
	unsigned nq;                 /* frames waiting to be matched */
	struct frame q[OUTQ];        /* frames the stack sent */
};

static bool
fail(struct run *r, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: ", r->file, r->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static uint32_t
csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += get16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- script syntax ---- */

static const struct {
	const char *name;
	int level, opt;
} sockopts[] = {
	{"SO_KEEPALIVE", 1, 9},       {"SO_RCVBUF", 1, 8},        {"SO_SNDBUF", 1, 7},
	{"SO_ERROR", 1, 4},           {"SO_LINGER", 1, 13},       {"IP_TOS", 0, 1},
	{"IP_TTL", 0, 2},             {"IP_MTU_DISCOVER", 0, 10}, {"IP_MTU", 0, 14},
	{"TCP_NODELAY", 6, 1},        {"TCP_MAXSEG", 6, 2},       {"TCP_CORK", 6, 3},
	{"TCP_KEEPIDLE", 6, 4},       {"TCP_KEEPINTVL", 6, 5},    {"TCP_KEEPCNT", 6, 6},
	{"TCP_SYNCNT", 6, 7},         {"TCP_LINGER2", 6, 8},      {"TCP_DEFER_ACCEPT", 6, 9},
	{"TCP_WINDOW_CLAMP", 6, 10},  {"TCP_QUICKACK", 6, 12},    {"TCP_USER_TIMEOUT", 6, 18},
	{"TCP_NOTSENT_LOWAT", 6, 25}, {"TCP_INQ", 6, 36},
};

static const struct {
	const char *name;
	int val;
} errnos[] = {
	{"EAGAIN", EAGAIN},         {"EINPROGRESS", EINPROGRESS}, {"ECONNRESET", ECONNRESET},
	{"ECONNREFUSED", ECONNREFUSED}, {"ETIMEDOUT", ETIMEDOUT}, {"EPIPE", EPIPE},
	{"ENOTCONN", ENOTCONN},     {"EINVAL", EINVAL},           {"EISCONN", EISCONN},
	{"ENOPROTOOPT", ENOPROTOOPT}, {"EALREADY", EALREADY},
};

static bool
parse_value(const char *s, long *v, bool *is_errno)
{
	*is_errno = false;
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (strcmp(s, errnos[i].name) == 0) {
			*v = errnos[i].val;
			*is_errno = true;
			return true;
		}
	char *end;
	*v = strtol(s, &end, 0);
	return *s != '\0' && *end == '\0';
}

static bool
parse_time(struct run *r, const char *s, uint64_t *t)
{
	bool rel = *s == '+';
	char *end;
	double v = strtod(s + rel, &end);
	if (*end != '\0' || v < 0)
		return fail(r, "bad time '%s'", s);
	uint64_t ns = (uint64_t)(v * 1e9 + 0.5);
	*t = rel ? r->prev_t + ns : ns;
	return true;
}

static bool
parse_flags(struct run *r, const char *s, uint8_t *f)
{
	static const char letters[] = "FSRP.Up";
	*f = 0;
	for (; *s; s++) {
		const char *p = strchr(letters, *s);
		if (p == NULL)
			return fail(r, "bad flag '%c'", *s);
		*f |= (uint8_t)(p == letters + 4 ? 0x10 : p == letters + 5 ? 0x20 : p == letters + 6 ? PSH_ANY : 1u << (p - letters));
	}
	return true;
}

static bool
parse_opts(struct run *r, char *s, struct seg *g)
{
	g->has_opt = true;
	if (strcmp(s, "-") == 0)
		return true;
	for (char *tok = strtok(s, ","); tok != NULL; tok = strtok(NULL, ",")) {
		if (g->nopt == MAX_OPTS)
			return fail(r, "too many options");
		struct opt *o = &g->opt[g->nopt++];
		memset(o, 0, sizeof(*o));
		char *colon = strchr(tok, ':');
		if (colon != NULL)
			*colon++ = '\0';
		snprintf(o->kind, sizeof(o->kind), "%s", tok);
		if (colon == NULL)
			continue;
		o->has_val = true;
		if (strcmp(o->kind, "sack") == 0) {
			for (char *b = colon; b != NULL && *b; o->nblocks++) {
				if (o->nblocks == 4)
					return fail(r, "more than 4 SACK blocks");
				char *end;
				o->blk[o->nblocks][0] = (uint32_t)strtoul(b, &end, 0);
				if (*end != '-')
					return fail(r, "bad SACK block '%s'", b);
				o->blk[o->nblocks][1] = (uint32_t)strtoul(end + 1, &end, 0);
				b = *end == '/' ? end + 1 : NULL;
			}
		} else if (strcmp(o->kind, "raw") == 0) {
			size_t n = strlen(colon);
			if (n % 2 || n / 2 > sizeof(o->raw))
				return fail(r, "bad raw option '%s'", colon);
			for (size_t i = 0; i < n / 2; i++) {
				unsigned b;
				sscanf(colon + 2 * i, "%2x", &b);
				o->raw[i] = (uint8_t)b;
			}
			o->rawlen = (unsigned)(n / 2);
		} else {
			o->val = (uint32_t)strtoul(colon, NULL, 0);
		}
	}
	return true;
}

static bool
parse_seg(struct run *r, char **tok, int n, struct seg *g, uint64_t *tol)
{
	memset(g, 0, sizeof(*g));
	if (n < 1 || !parse_flags(r, tok[0], &g->flags))
		return fail(r, "segment without flags");
	for (int i = 1; i < n; i++) {
		char *eq = strchr(tok[i], '=');
		if (tok[i][0] == '~') {
			*tol = (uint64_t)(strtod(tok[i] + 1, NULL) * 1e9);
			continue;
		}
		if (eq == NULL)
			return fail(r, "bad segment field '%s'", tok[i]);
		*eq++ = '\0';
		uint32_t v = (uint32_t)strtoul(eq, NULL, 0);
		if (strcmp(tok[i], "seq") == 0) {
			g->has_seq = true;
			g->seq = v;
		} else if (strcmp(tok[i], "ack") == 0) {
			g->has_ack = true;
			g->ack = v;
		} else if (strcmp(tok[i], "win") == 0) {
			g->has_win = true;
			g->win = v;
		} else if (strcmp(tok[i], "len") == 0) {
			g->len = v;
		} else if (strcmp(tok[i], "tsval") == 0) {
			g->has_tsval = true;
			g->tsval = v;
		} else if (strcmp(tok[i], "port") == 0) {
			g->port = (uint16_t)v;
		} else if (strcmp(tok[i], "opt") == 0) {
			if (!parse_opts(r, eq, g))
				return false;
		} else {
			return fail(r, "unknown segment field '%s'", tok[i]);
		}
	}
	return true;
}

/* ---- segments on the wire ---- */

static size_t
build_opts(struct run *r, const struct seg *g, uint8_t *p, bool auto_ts)
{
	size_t n = 0;
	uint32_t tsval = g->has_tsval ? g->tsval : TS_BASE + (uint32_t)((r->now - r->t0) / UST_NS_PER_MS);
	for (unsigned i = 0; i < g->nopt; i++) {
		const struct opt *o = &g->opt[i];
		if (strcmp(o->kind, "mss") == 0) {
			p[n] = 2, p[n + 1] = 4;
			put16(p + n + 2, o->val);
			n += 4;
		} else if (strcmp(o->kind, "ws") == 0) {
			p[n] = 3, p[n + 1] = 3, p[n + 2] = (uint8_t)o->val;
			n += 3;
		} else if (strcmp(o->kind, "sackok") == 0) {
			p[n] = 4, p[n + 1] = 2;
			n += 2;
		} else if (strcmp(o->kind, "ts") == 0) {
			p[n] = 8, p[n + 1] = 10;
			put32(p + n + 2, tsval);
			put32(p + n + 6, (g->flags & 0x10) ? r->last_tsval : 0);
			n += 10;
		} else if (strcmp(o->kind, "nop") == 0) {
			p[n++] = 1;
		} else if (strcmp(o->kind, "eol") == 0) {
			p[n++] = 0;
		} else if (strcmp(o->kind, "sack") == 0) {
			p[n] = 5, p[n + 1] = (uint8_t)(2 + 8 * o->nblocks);
			for (unsigned b = 0; b < o->nblocks; b++) {
				put32(p + n + 2 + 8 * b, r->isn + o->blk[b][0]);
				put32(p + n + 6 + 8 * b, r->isn + o->blk[b][1]);
			}
			n += 2 + 8 * o->nblocks;
		} else if (strcmp(o->kind, "raw") == 0) {
			memcpy(p + n, o->raw, o->rawlen);
			n += o->rawlen;
		}
	}
	if (auto_ts) {
		p[n] = 1, p[n + 1] = 1, p[n + 2] = 8, p[n + 3] = 10;
		put32(p + n + 4, tsval);
		put32(p + n + 8, r->last_tsval);
		n += 12;
	}
	while (n % 4)
		p[n++] = 0;
	return n;
}

static bool
inject(struct run *r, const struct seg *g)
{
	uint8_t f[FRAME_MAX];
	memset(f, 0, sizeof(f));
	struct ust_netif *us = ust_memlink_netif(r->link, 0), *peer = ust_memlink_netif(r->link, 1);
	memcpy(f, us->mac, 6);
	memcpy(f + 6, peer->mac, 6);
	put16(f + 12, 0x0800);
	uint8_t *th = f + 34;
	bool auto_ts = !g->has_opt && r->peer_ts && r->stack_ts && !(g->flags & 0x02);
	size_t olen = build_opts(r, g, th + 20, auto_ts);
	if (olen > 40)
		return fail(r, "options longer than 40 bytes");
	size_t tcplen = 20 + olen + g->len;
	if (14 + 20 + tcplen > FRAME_MAX)
		return fail(r, "segment too long");
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	put16(ip + 2, (uint32_t)(20 + tcplen));
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, IP_PEER);
	put32(ip + 16, IP_US);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	uint16_t peer_port = g->port != 0 ? g->port : r->peer_port;
	put16(th, peer_port);
	put16(th + 2, r->port);
	put32(th + 4, PEER_ISN + g->seq);
	put32(th + 8, (g->flags & 0x10) ? r->isn + g->ack : 0);
	th[12] = (uint8_t)(((20 + olen) / 4) << 4);
	th[13] = g->flags;
	if (g->has_win)
		r->win = (uint16_t)g->win;
	put16(th + 14, r->win);
	memset(th + 20 + olen, 'x', g->len);
	uint8_t ph[12] = {0};
	put32(ph, IP_PEER);
	put32(ph + 4, IP_US);
	ph[9] = 6;
	put16(ph + 10, (uint32_t)tcplen);
	put16(th + 16, csum_fold(csum_add(csum_add(0, ph, 12), th, tcplen)));
	if ((g->flags & 0x02) && !(g->flags & 0x10))
		r->peer_ts = false;
	for (unsigned i = 0; i < g->nopt; i++)
		if ((g->flags & 0x02) && strcmp(g->opt[i].kind, "ts") == 0)
			r->peer_ts = true;
	if (ust_memlink_inject(r->link, 1, f, (uint32_t)(14 + 20 + tcplen)) < 0)
		return fail(r, "memlink: no buffer to inject");
	return true;
}

/* Decode a frame the stack sent into *g (sequence numbers still absolute). */
static bool
decode(struct run *r, const struct frame *fr, struct seg *g, uint16_t *sport, uint16_t *dport)
{
	memset(g, 0, sizeof(*g));
	const uint8_t *ip = fr->b + 14;
	if (fr->len < 54 || ip[9] != 6)
		return fail(r, "the stack sent a frame that is not TCP/IPv4");
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	const uint8_t *th = ip + ihl;
	size_t tcplen = get16(ip + 2) - ihl;
	size_t hlen = (size_t)(th[12] >> 4) * 4;
	*sport = get16(th);
	*dport = get16(th + 2);
	g->seq = get32(th + 4);
	g->ack = get32(th + 8);
	g->flags = th[13] & 0x3f;
	g->win = get16(th + 14);
	g->len = (uint32_t)(tcplen - hlen);
	for (size_t i = 20; i < hlen;) {
		uint8_t k = th[i];
		if (k == 0)
			break;
		if (k == 1) {
			i++;
			continue;
		}
		uint8_t l = th[i + 1];
		if (l < 2 || i + l > hlen || g->nopt == MAX_OPTS)
			return fail(r, "the stack sent malformed options");
		struct opt *o = &g->opt[g->nopt++];
		memset(o, 0, sizeof(*o));
		o->has_val = true;
		switch (k) {
		case 2:
			strcpy(o->kind, "mss");
			o->val = get16(th + i + 2);
			break;
		case 3:
			strcpy(o->kind, "ws");
			o->val = th[i + 2];
			break;
		case 4:
			strcpy(o->kind, "sackok");
			break;
		case 5:
			strcpy(o->kind, "sack");
			for (unsigned b = 0; b < (unsigned)(l - 2) / 8 && b < 4; b++, o->nblocks++) {
				o->blk[b][0] = get32(th + i + 2 + 8 * b) - PEER_ISN;
				o->blk[b][1] = get32(th + i + 6 + 8 * b) - PEER_ISN;
			}
			break;
		case 8:
			strcpy(o->kind, "ts");
			g->has_tsval = true;
			g->tsval = get32(th + i + 2);
			g->tsecr = get32(th + i + 6);
			break;
		default:
			snprintf(o->kind, sizeof(o->kind), "k%u", k);
			break;
		}
		i += l;
	}
	return true;
}

static void
describe(char *out, size_t n, const struct seg *g, bool expected)
{
	static const char letters[] = "FSRP.U_p";
	char fl[10];
	size_t k = 0;
	for (int i = 0; i < 8; i++)
		if (g->flags & (1u << i))
			fl[k++] = letters[i];
	fl[k] = '\0';
	int w = snprintf(out, n, "%s", fl);
	if (!expected || g->has_seq)
		w += snprintf(out + w, n - (size_t)w, " seq=%u", g->seq);
	if (!expected || g->has_ack)
		w += snprintf(out + w, n - (size_t)w, " ack=%u", g->ack);
	if (!expected || g->has_win)
		w += snprintf(out + w, n - (size_t)w, " win=%u", g->win);
	w += snprintf(out + w, n - (size_t)w, " len=%u opt=", g->len);
	for (unsigned i = 0; i < g->nopt && (size_t)w < n; i++) {
		const struct opt *o = &g->opt[i];
		w += snprintf(out + w, n - (size_t)w, "%s%s", i ? "," : "", o->kind);
		if (strcmp(o->kind, "mss") == 0 || strcmp(o->kind, "ws") == 0)
			w += snprintf(out + w, n - (size_t)w, ":%u", o->val);
		for (unsigned b = 0; b < o->nblocks; b++)
			w += snprintf(out + w, n - (size_t)w, "%s%u-%u", b ? "/" : ":", o->blk[b][0], o->blk[b][1]);
	}
}

static bool
opts_match(const struct seg *exp, const struct seg *got)
{
	unsigned real = 0;
	for (unsigned i = 0; i < exp->nopt; i++) {
		const struct opt *e = &exp->opt[i];
		if (strcmp(e->kind, "nop") == 0 || strcmp(e->kind, "eol") == 0)
			continue;
		real++;
		const struct opt *g = NULL;
		for (unsigned j = 0; j < got->nopt; j++)
			if (strcmp(got->opt[j].kind, e->kind) == 0)
				g = &got->opt[j];
		if (g == NULL)
			return false;
		if (!e->has_val)
			continue;
		if ((strcmp(e->kind, "mss") == 0 || strcmp(e->kind, "ws") == 0) && e->val != g->val)
			return false;
		if (strcmp(e->kind, "sack") == 0 &&
		    (e->nblocks != g->nblocks || memcmp(e->blk, g->blk, sizeof(e->blk[0]) * e->nblocks) != 0))
			return false;
	}
	return real == got->nopt;
}

static bool
check_seg(struct run *r, const struct seg *exp, const struct frame *fr, uint64_t t, uint64_t tol)
{
	struct seg got;
	uint16_t sport, dport;
	if (!decode(r, fr, &got, &sport, &dport))
		return false;
	if ((got.flags & 0x02) && (exp->flags & 0x02)) {
		r->isn = got.seq;
		r->port = sport;
		r->peer_port = dport;
		r->stack_ts = false;
		for (unsigned i = 0; i < got.nopt; i++)
			if (strcmp(got.opt[i].kind, "ts") == 0)
				r->stack_ts = true;
	}
	if (got.has_tsval)
		r->last_tsval = got.tsval;
	got.seq -= r->isn;
	got.ack = (got.flags & 0x10) ? got.ack - PEER_ISN : 0;
	char e[256], g[256];
	describe(e, sizeof(e), exp, true);
	describe(g, sizeof(g), &got, false);
	double at = (double)(fr->t - r->t0) / 1e9;
	if (fr->t + tol < r->t0 + t)
		return fail(r, "expected %s at %.3f, got it early at %.3f", e, (double)t / 1e9, at);
	uint8_t mask = (exp->flags & PSH_ANY) ? (uint8_t)~(PSH_ANY | 0x08) : 0xff;
	if ((got.flags & mask) != (exp->flags & mask) || (exp->has_seq && got.seq != exp->seq) ||
	    (exp->has_ack && got.ack != exp->ack) || (exp->has_win && got.win != exp->win) ||
	    got.len != exp->len || (exp->has_opt && !opts_match(exp, &got)))
		return fail(r, "expected %s, got %s at %.3f", e, g, at);
	return true;
}

/* ---- the stack in virtual time ---- */

static void
answer_arp(struct run *r, const uint8_t *f)
{
	uint8_t rep[42];
	struct ust_netif *peer = ust_memlink_netif(r->link, 1);
	memcpy(rep, f + 6, 6);
	memcpy(rep + 6, peer->mac, 6);
	put16(rep + 12, 0x0806);
	memcpy(rep + 14, f + 14, 6);
	put16(rep + 20, 2);
	memcpy(rep + 22, peer->mac, 6);
	memcpy(rep + 28, f + 38, 4);
	memcpy(rep + 32, f + 22, 10);
	ust_memlink_inject(r->link, 1, rep, sizeof(rep));
}

/* Poll at r->now until quiet, collecting what the stack sent. */
static bool
settle(struct run *r)
{
	struct ust_netif *peer = ust_memlink_netif(r->link, 1);
	for (;;) {
		ust_memlink_set_time(r->link, r->now);
		ust_stack_poll(r->st, r->now);
		struct ust_pkt *p[32];
		uint16_t n = peer->ops->rx_burst(peer, p, 32);
		if (n == 0)
			return true;
		for (uint16_t i = 0; i < n; i++) {
			uint8_t b[FRAME_MAX];
			uint32_t len = ust_pkt_read(p[i], 0, b, sizeof(b));
			ust_pkt_free(p[i]);
			if (len >= 42 && get16(b + 12) == 0x0806) {
				if (get16(b + 20) == 1)
					answer_arp(r, b);
				continue;
			}
			if (len < 34 || get16(b + 12) != 0x0800 || b[23] != 6)
				continue;
			if (r->nq == OUTQ)
				return fail(r, "the stack sent more than %d segments unmatched", OUTQ);
			struct frame *fr = &r->q[r->nq++];
			fr->t = r->now;
			fr->len = len;
			memcpy(fr->b, b, len);
		}
	}
}

/* Advance virtual time to `until`, stopping early once a segment is out
 * when `stop_on_seg`. */
static bool
advance(struct run *r, uint64_t until, bool stop_on_seg)
{
	for (;;) {
		if (!settle(r))
			return false;
		if (stop_on_seg && r->nq > 0)
			return true;
		uint64_t next = ust_stack_next_deadline(r->st);
		uint64_t d = ust_memlink_next_delivery(r->link);
		if (d < next)
			next = d;
		if (next <= r->now)
			next = r->now + 1;
		if (next > until) {
			r->now = until;
			return settle(r);
		}
		r->now = next;
	}
}

static void
pop(struct run *r)
{
	memmove(r->q, r->q + 1, sizeof(r->q[0]) * --r->nq);
}

/* ---- socket calls ---- */

static struct ust_sock **
sock_slot(struct run *r, const char *name, bool create)
{
	for (int i = 0; i < MAX_SOCKS; i++)
		if (r->socks[i] != NULL && strcmp(r->names[i], name) == 0)
			return &r->socks[i];
	if (!create)
		return NULL;
	for (int i = 0; i < MAX_SOCKS; i++)
		if (r->socks[i] == NULL) {
			snprintf(r->names[i], sizeof(r->names[i]), "%s", name);
			return &r->socks[i];
		}
	return NULL;
}

static bool
find_sockopt(const char *name, int *level, int *opt)
{
	for (size_t i = 0; i < sizeof(sockopts) / sizeof(sockopts[0]); i++)
		if (strcmp(sockopts[i].name, name) == 0) {
			*level = sockopts[i].level;
			*opt = sockopts[i].opt;
			return true;
		}
	return false;
}

static uint32_t
parse_events(const char *s)
{
	static const struct {
		const char *n;
		uint32_t v;
	} ev[] = {{"IN", UST_EV_IN}, {"OUT", UST_EV_OUT}, {"ERR", UST_EV_ERR},
		  {"HUP", UST_EV_HUP}, {"RDHUP", UST_EV_RDHUP}};
	uint32_t v = 0;
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok(buf, "|"); t != NULL; t = strtok(NULL, "|"))
		for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
			if (strcmp(t, ev[i].n) == 0)
				v |= ev[i].v;
	return v;
}

static bool
do_call(struct run *r, char **tok, int n)
{
	long want = 0;
	bool want_errno = false, has_want = false;
	if (n >= 2 && strcmp(tok[n - 2], "=") == 0) {
		if (strcmp(tok[0], "events") == 0) {
			want = (long)parse_events(tok[n - 1]);
		} else if (!parse_value(tok[n - 1], &want, &want_errno)) {
			return fail(r, "bad result '%s'", tok[n - 1]);
		}
		has_want = true;
		n -= 2;
	}
	if (n < 2)
		return fail(r, "call without a socket");
	const char *c = tok[0];
	struct ust_sock **sp = sock_slot(r, tok[1], strcmp(c, "socket") == 0 || strcmp(c, "accept") == 0);
	if (strcmp(c, "accept") == 0) {
		struct ust_sock **lp = sock_slot(r, tok[1], false);
		sp = n >= 3 ? sock_slot(r, tok[2], true) : NULL;
		if (lp == NULL || sp == NULL)
			return fail(r, "accept needs a listener and a new name");
		long rc = ust_sock_accept(*lp, sp, NULL);
		if (rc < 0)
			*sp = NULL;
		if (has_want ? rc != (want_errno ? -want : want) : rc != 0)
			return fail(r, "accept returned %ld", rc);
		return true;
	}
	if (sp == NULL)
		return fail(r, "no socket '%s'", tok[1]);
	long rc = 0;
	long dflt = 0;
	static uint8_t buf[1 << 20];
	if (strcmp(c, "socket") == 0) {
		rc = ust_sock_open(r->st, UST_AF_INET, UST_SOCK_STREAM, sp);
	} else if (strcmp(c, "bind") == 0 && n == 3) {
		struct ust_sockaddr a = {.family = UST_AF_INET, .port = (uint16_t)atoi(tok[2])};
		rc = ust_sock_bind(*sp, &a);
		r->port = a.port;
	} else if (strcmp(c, "listen") == 0 && n == 3) {
		rc = ust_sock_listen(*sp, atoi(tok[2]));
	} else if (strcmp(c, "connect") == 0 && n == 3) {
		struct ust_sockaddr a = {.family = UST_AF_INET, .addr4 = IP_PEER, .port = (uint16_t)atoi(tok[2])};
		rc = ust_sock_connect(*sp, &a);
		if (!has_want && rc == -EINPROGRESS)
			rc = 0;
	} else if (strcmp(c, "write") == 0 && n >= 3) {
		size_t len = (size_t)atol(tok[2]);
		if (len > sizeof(buf))
			return fail(r, "write too large");
		memset(buf, 'y', len);
		int fl = n >= 4 && strcmp(tok[3], "more") == 0 ? 0x8000 : 0;
		rc = ust_sock_send(*sp, buf, len, fl);
		dflt = (long)len;
	} else if (strcmp(c, "read") == 0 && n == 3) {
		size_t len = (size_t)atol(tok[2]);
		rc = ust_sock_recv(*sp, buf, len < sizeof(buf) ? len : sizeof(buf), 0);
		dflt = (long)len;
	} else if (strcmp(c, "shutdown") == 0 && n == 3) {
		int how = strcmp(tok[2], "rd") == 0 ? UST_SHUT_RD : strcmp(tok[2], "wr") == 0 ? UST_SHUT_WR : UST_SHUT_RDWR;
		rc = ust_sock_shutdown(*sp, how);
	} else if (strcmp(c, "close") == 0) {
		ust_sock_close(*sp);
		*sp = NULL;
	} else if ((strcmp(c, "setsockopt") == 0 || strcmp(c, "getsockopt") == 0) && n == 4 - (c[0] == 'g')) {
		int level, opt;
		if (!find_sockopt(tok[2], &level, &opt))
			return fail(r, "unknown option %s", tok[2]);
		if (c[0] == 's') {
			/* An int, or ints separated by commas for a struct (SO_LINGER). */
			int v[4];
			size_t k = 0;
			for (char *p = tok[3]; k < 4 && p != NULL; k++) {
				v[k] = (int)strtol(p, &p, 0);
				p = *p == ',' ? p + 1 : NULL;
			}
			rc = ust_sock_setopt(*sp, level, opt, v, k * sizeof(int));
		} else {
			int v = 0;
			size_t len = sizeof(v);
			rc = ust_sock_getopt(*sp, level, opt, &v, &len);
			if (rc == 0 && has_want && !want_errno) {
				if (v != want)
					return fail(r, "getsockopt %s gave %d, expected %ld", tok[2], v, want);
				return true;
			}
			if (rc == 0 && has_want && want_errno) {
				if (v != want)
					return fail(r, "getsockopt %s gave %d, expected %ld", tok[2], v, want);
				return true;
			}
		}
	} else if (strcmp(c, "events") == 0) {
		uint32_t ev = ust_sock_events(*sp);
		if (has_want && ev != (uint32_t)want)
			return fail(r, "events 0x%x, expected 0x%lx", ev, want);
		return true;
	} else {
		return fail(r, "unknown call '%s' or wrong arguments", c);
	}
	long exp = has_want ? (want_errno ? -want : want) : dflt;
	if (rc != exp)
		return fail(r, "%s returned %ld, expected %ld", c, rc, exp);
	return true;
}

/* ---- tunables ---- */

static bool
do_sysctl(struct run *r, char **tok, int n)
{
	if (n != 3)
		return fail(r, "sysctl NAME VALUE");
	/* Vectors are written with commas in scripts (no spaces in a token). */
	for (char *c = tok[2]; *c; c++)
		if (*c == ',')
			*c = ' ';
	int rc = ust_sysctl_set(&r->st->sysctl, tok[1], tok[2]);
	if (rc < 0)
		return fail(r, "sysctl %s=%s: %s", tok[1], tok[2], strerror(-rc));
	return true;
}

/* ---- one script ---- */

static int
tokenize(char *line, char **tok)
{
	char *hash = strchr(line, '#');
	if (hash != NULL)
		*hash = '\0';
	int n = 0;
	for (char *t = strtok(line, " \t\r\n"); t != NULL && n < MAX_TOK; t = strtok(NULL, " \t\r\n"))
		tok[n++] = t;
	return n;
}

static bool
run_line(struct run *r, char **tok, int n)
{
	uint64_t t = 0;
	if (!parse_time(r, tok[0], &t))
		return false;
	r->prev_t = t;
	if (n < 2)
		return true;
	if (strcmp(tok[1], ">") == 0) {
		struct seg exp;
		uint64_t tol = DEFAULT_TOL_NS;
		if (!parse_seg(r, tok + 2, n - 2, &exp, &tol))
			return false;
		if (r->nq == 0 && !advance(r, r->t0 + t + tol, true))
			return false;
		if (r->nq == 0) {
			char e[256];
			describe(e, sizeof(e), &exp, true);
			return fail(r, "expected %s at %.3f, nothing was sent", e, (double)t / 1e9);
		}
		bool ok = check_seg(r, &exp, &r->q[0], t, tol);
		pop(r);
		return ok;
	}
	if (r->t0 + t > r->now && !advance(r, r->t0 + t, true))
		return false;
	if (r->nq > 0) {
		struct seg got;
		uint16_t sp, dp;
		char g[256];
		decode(r, &r->q[0], &got, &sp, &dp);
		got.seq -= r->isn;
		got.ack -= PEER_ISN;
		describe(g, sizeof(g), &got, false);
		return fail(r, "unexpected %s at %.3f", g, (double)(r->q[0].t - r->t0) / 1e9);
	}
	if (r->now < r->t0 + t && !advance(r, r->t0 + t, false))
		return false;
	/* The kernel handles an injected segment within the write to the tun:
	 * the stack polls at once too, before the next line runs. */
	if (strcmp(tok[1], "<") == 0) {
		struct seg g;
		uint64_t tol;
		return parse_seg(r, tok + 2, n - 2, &g, &tol) && inject(r, &g) && settle(r);
	}
	if (strcmp(tok[1], "sysctl") == 0)
		return do_sysctl(r, tok + 1, n - 1);
	return do_call(r, tok + 1, n - 1) && settle(r);
}

static bool
run_script(const char *file)
{
	FILE *f = fopen(file, "r");
	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", file, strerror(errno));
		return false;
	}
	static struct run r;
	memset(&r, 0, sizeof(r));
	r.file = file;
	r.peer_port = PEER_PORT;
	r.win = 65535;
	r.t0 = r.now = UST_NS_PER_S;
	r.link = ust_memlink_create(4096, 1);
	struct ust_stack_config cfg = {.ip4_addr = IP_US, .ip4_prefix = 24, .seed = 7,
				       .no_gratuitous_arp = true};
	r.st = ust_stack_create(&cfg, ust_memlink_netif(r.link, 0), r.now);
	bool ok = r.link != NULL && r.st != NULL;
	char line[512];
	while (ok && fgets(line, sizeof(line), f) != NULL) {
		r.line++;
		char *tok[MAX_TOK];
		int n = tokenize(line, tok);
		if (n > 0)
			ok = run_line(&r, tok, n);
	}
	fclose(f);
	/* What the stack dropped tells why a segment went unanswered. */
	for (int i = 0; !ok && r.st != NULL && i < UST_DROP_MAX; i++)
		if (r.st->stats.drop[i] != 0)
			fprintf(stderr, "  dropped: %s %llu\n", ust_drop_name((enum ust_drop)i),
				(unsigned long long)r.st->stats.drop[i]);
	for (int i = 0; i < MAX_SOCKS; i++)
		if (r.socks[i] != NULL)
			ust_sock_close(r.socks[i]);
	ust_stack_destroy(r.st);
	ust_memlink_set_time(r.link, UINT64_MAX - 1);
	struct ust_pkt *p[32];
	for (unsigned e = 0; e < 2; e++) {
		struct ust_netif *nif = ust_memlink_netif(r.link, e);
		uint16_t k;
		while ((k = nif->ops->rx_burst(nif, p, 32)) > 0)
			ust_pkt_free_bulk(p, k);
	}
	if (ust_memlink_in_use(r.link, 0) != 0) {
		fprintf(stderr, "%s: packet buffers leaked\n", file);
		ok = false;
	}
	ust_memlink_destroy(r.link);
	printf("%s %s\n", ok ? "PASS" : "FAIL", file);
	return ok;
}

int
main(int argc, char **argv)
{
	int failed = 0;
	for (int i = 1; i < argc; i++)
		failed += !run_script(argv[i]);
	printf("wire_ustack: %d of %d scripts passed\n", argc - 1 - failed, argc - 1);
	return failed != 0;
}
