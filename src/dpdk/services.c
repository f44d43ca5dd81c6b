/* Built-in diagnostic services; see services.h. */
#include "services.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/sock.h"

#define MAX_CONNS 64

enum svc_kind {
	SVC_ECHO,    /* send back what arrives */
	SVC_DISCARD, /* read and drop */
	SVC_CHARGEN, /* send the RFC 864 pattern, drop input */
	SVC_CLIENT,  /* the active open: send a pattern or sink, then report */
};

struct conn {
	struct ust_sock *s;  /* connected socket, NULL when the slot is free */
	enum svc_kind kind;  /* what it serves */
	uint8_t pend[65536]; /* echo: bytes read but not yet sent back */
	uint32_t pend_len;   /* how many */
	uint32_t pend_off;   /* how many of them went out */
	uint64_t sent;       /* bytes sent */
	uint64_t rcvd;       /* bytes received */
	uint64_t bad_at;     /* client: first byte off the chargen pattern + 1, 0 = none */
	bool eof;            /* peer finished */
	bool shut;           /* we shut down writing */
	bool connecting;     /* client: connect in progress */
};

struct ust_services {
	struct ust_stack *st;             /* the stack they run on */
	struct ust_sock *udp_echo;        /* UDP/7, or NULL */
	struct ust_sock *listen[3];       /* TCP echo, discard, chargen listeners */
	struct conn *conns[MAX_CONNS];    /* accepted or active connections */
	uint64_t client_bytes;            /* --send-bytes */
	bool client_done;                 /* the active open reported */
};

static struct ust_sock *
open_bound(struct ust_stack *st, int type, uint16_t port)
{
	struct ust_sock *s;
	/* One dual-stack socket on [::] serves IPv4 (as ::ffff:a.b.c.d) and IPv6. */
	if (ust_sock_open(st, UST_AF_INET6, type, &s) < 0)
		return NULL;
	int one = 1;
	ust_sock_setopt(s, UST_SOL_SOCKET, UST_SO_REUSEADDR, &one, sizeof(one));
	struct ust_sockaddr a = {.family = UST_AF_INET6, .port = port};
	int rc = ust_sock_bind(s, &a);
	if (rc == 0 && type == UST_SOCK_STREAM)
		rc = ust_sock_listen(s, 128);
	if (rc < 0) {
		fprintf(stderr, "ustackd: service on port %u: %s\n", port, strerror(-rc));
		ust_sock_close(s);
		return NULL;
	}
	return s;
}

static struct conn *
add_conn(struct ust_services *sv, struct ust_sock *s, enum svc_kind kind)
{
	for (int i = 0; i < MAX_CONNS; i++) {
		if (sv->conns[i] == NULL) {
			struct conn *c = calloc(1, sizeof(*c));
			if (c == NULL)
				break;
			c->s = s;
			c->kind = kind;
			sv->conns[i] = c;
			return c;
		}
	}
	ust_sock_close(s);
	return NULL;
}

struct ust_services *
ust_services_start(struct ust_stack *st, const struct ust_services_config *cfg)
{
	struct ust_services *sv = calloc(1, sizeof(*sv));
	if (sv == NULL)
		return NULL;
	sv->st = st;
	sv->client_bytes = cfg->send_bytes;
	bool ok = true;
	if (cfg->udp_echo)
		ok &= (sv->udp_echo = open_bound(st, UST_SOCK_DGRAM, 7)) != NULL;
	if (cfg->tcp_echo)
		ok &= (sv->listen[SVC_ECHO] = open_bound(st, UST_SOCK_STREAM, 7)) != NULL;
	if (cfg->tcp_discard)
		ok &= (sv->listen[SVC_DISCARD] = open_bound(st, UST_SOCK_STREAM, 9)) != NULL;
	if (cfg->tcp_chargen)
		ok &= (sv->listen[SVC_CHARGEN] = open_bound(st, UST_SOCK_STREAM, 19)) != NULL;
	if (ok && cfg->connect_ip != 0) {
		struct ust_sock *s;
		int one = 1, buf = 2 << 20;
		ok = ust_sock_open(st, UST_AF_INET, UST_SOCK_STREAM, &s) == 0;
		if (ok) {
			ust_sock_setopt(s, UST_SOL_TCP, UST_TCP_NODELAY, &one, sizeof(one));
			ust_sock_setopt(s, UST_SOL_SOCKET, UST_SO_SNDBUF, &buf, sizeof(buf));
			ust_sock_setopt(s, UST_SOL_SOCKET, UST_SO_RCVBUF, &buf, sizeof(buf));
			struct ust_sockaddr to = {.family = UST_AF_INET, .addr4 = cfg->connect_ip,
						  .port = cfg->connect_port};
			int rc = ust_sock_connect(s, &to);
			if (rc != -EINPROGRESS) {
				fprintf(stderr, "ustackd: connect: %s\n", strerror(-rc));
				ust_sock_close(s);
				ok = false;
			} else {
				struct conn *c = add_conn(sv, s, SVC_CLIENT);
				ok = c != NULL;
				if (c != NULL)
					c->connecting = true;
			}
		}
	}
	if (!ok) {
		ust_services_stop(sv);
		return NULL;
	}
	return sv;
}

static unsigned
serve_udp_echo(struct ust_sock *s)
{
	static uint8_t buf[65536];
	unsigned n = 0;
	struct ust_sockaddr from;
	ssize_t len;
	while ((len = ust_sock_recvfrom(s, buf, sizeof(buf), 0, &from)) >= 0) {
		ust_sock_sendto(s, buf, (size_t)len, 0, &from);
		n++;
	}
	return n;
}

/* RFC 864: 72-character lines rotating through the 95 printable characters. */
static uint8_t
chargen_byte(uint64_t i)
{
	uint64_t line = i / 74, col = i % 74;
	if (col == 72)
		return '\r';
	if (col == 73)
		return '\n';
	return (uint8_t)(' ' + (line + col) % 95);
}

/* Returns work done; closes and frees the connection when it is finished. */
static unsigned
serve_conn(struct ust_services *sv, int idx)
{
	static uint8_t buf[65536];
	struct conn *c = sv->conns[idx];
	unsigned work = 0;
	uint32_t ev = ust_sock_events(c->s);
	if (c->connecting) {
		if (ev & UST_EV_ERR) {
			int err = 0;
			size_t len = sizeof(err);
			ust_sock_getopt(c->s, UST_SOL_SOCKET, UST_SO_ERROR, &err, &len);
			printf("ustackd: client: connect failed: %s\n", strerror(err));
			goto done;
		}
		if (!(ev & UST_EV_OUT))
			return 0;
		c->connecting = false;
		printf("ustackd: client: connected\n");
	}
	for (;;) {
		/* Echo: what was read goes back before more is read. */
		if (c->kind == SVC_ECHO && c->pend_off < c->pend_len) {
			ssize_t w = ust_sock_send(c->s, c->pend + c->pend_off, c->pend_len - c->pend_off, 0);
			if (w == -EAGAIN)
				break;
			if (w < 0)
				goto done;
			c->pend_off += (uint32_t)w;
			c->sent += (uint64_t)w;
			work++;
			continue;
		}
		ssize_t r = c->eof ? -EAGAIN : ust_sock_recv(c->s, c->kind == SVC_ECHO ? c->pend : buf,
							    c->kind == SVC_ECHO ? sizeof(c->pend) : sizeof(buf), 0);
		if (r == 0) {
			c->eof = true;
		} else if (r > 0) {
			c->rcvd += (uint64_t)r;
			if (c->kind == SVC_ECHO) {
				c->pend_len = (uint32_t)r;
				c->pend_off = 0;
			} else if (c->kind == SVC_CLIENT && c->bad_at == 0) {
				uint64_t base = c->rcvd - (uint64_t)r;
				for (ssize_t i = 0; i < r; i++) {
					if (buf[i] != chargen_byte(base + (uint64_t)i)) {
						c->bad_at = base + (uint64_t)i + 1;
						break;
					}
				}
			}
			work++;
			continue;
		} else if (r != -EAGAIN) {
			goto done;
		}
		break;
	}
	uint64_t to_send = c->kind == SVC_CHARGEN ? UINT64_MAX : c->kind == SVC_CLIENT ? sv->client_bytes : 0;
	while (c->sent < to_send && !c->shut) {
		size_t n = sizeof(buf);
		if (to_send - c->sent < n)
			n = (size_t)(to_send - c->sent);
		for (size_t i = 0; i < n; i++)
			buf[i] = chargen_byte(c->sent + i);
		ssize_t w = ust_sock_send(c->s, buf, n, 0);
		if (w == -EAGAIN)
			break;
		if (w < 0)
			goto done;
		c->sent += (uint64_t)w;
		work++;
	}
	/* Half-close once our side is finished: echo and discard when the peer
	 * finished, the client when its bytes are out. */
	bool finished = c->kind == SVC_CLIENT ? c->sent >= to_send && (to_send > 0 || c->eof)
					      : c->eof && c->pend_off >= c->pend_len;
	if (finished && !c->shut) {
		ust_sock_shutdown(c->s, UST_SHUT_WR);
		c->shut = true;
	}
	if (c->shut && c->eof)
		goto done;
	if (c->eof && c->kind == SVC_CHARGEN)
		goto done;
	return work;
done:
	if (c->kind == SVC_CLIENT && c->bad_at != 0)
		printf("ustackd: client: sent %" PRIu64 " bytes, received %" PRIu64
		       " bytes, pattern differs at byte %" PRIu64 "\n",
		       c->sent, c->rcvd, c->bad_at - 1);
	else if (c->kind == SVC_CLIENT)
		printf("ustackd: client: sent %" PRIu64 " bytes, received %" PRIu64
		       " bytes, pattern ok\n",
		       c->sent, c->rcvd);
	ust_sock_close(c->s);
	free(c);
	sv->conns[idx] = NULL;
	return work + 1;
}

unsigned
ust_services_poll(struct ust_services *sv)
{
	unsigned work = 0;
	if (sv->udp_echo != NULL && (ust_sock_events(sv->udp_echo) & UST_EV_IN))
		work += serve_udp_echo(sv->udp_echo);
	for (int k = 0; k < 3; k++) {
		struct ust_sock *ns;
		while (sv->listen[k] != NULL && ust_sock_accept(sv->listen[k], &ns, NULL) == 0) {
			int buf = 2 << 20;
			ust_sock_setopt(ns, UST_SOL_SOCKET, UST_SO_SNDBUF, &buf, sizeof(buf));
			ust_sock_setopt(ns, UST_SOL_SOCKET, UST_SO_RCVBUF, &buf, sizeof(buf));
			add_conn(sv, ns, (enum svc_kind)k);
			work++;
		}
	}
	for (int i = 0; i < MAX_CONNS; i++)
		if (sv->conns[i] != NULL)
			work += serve_conn(sv, i);
	return work;
}

void
ust_services_stop(struct ust_services *sv)
{
	if (sv == NULL)
		return;
	if (sv->udp_echo != NULL)
		ust_sock_close(sv->udp_echo);
	for (int k = 0; k < 3; k++)
		if (sv->listen[k] != NULL)
			ust_sock_close(sv->listen[k]);
	for (int i = 0; i < MAX_CONNS; i++) {
		if (sv->conns[i] != NULL) {
			ust_sock_close(sv->conns[i]->s);
			free(sv->conns[i]);
		}
	}
	free(sv);
}
