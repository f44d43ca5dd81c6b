/* Bulk transfer driver of xfer.h. */
#include "xfer.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

uint8_t
xfer_byte(unsigned d, size_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ (d + 1) * 0xbf58476d1ce4e5b9ull;
	return (uint8_t)(x >> 29);
}

void
xfer_init(struct xfer *x, struct ust_sock *c, struct ust_sock *s, size_t total)
{
	memset(x, 0, sizeof(*x));
	x->c = c;
	x->s = s;
	x->total = total;
	x->h_sent[0] = x->h_sent[1] = x->h_rcvd[0] = x->h_rcvd[1] = SIM_FNV_INIT;
}

static void
pump_dir(struct xfer *x, unsigned d, struct ust_sock *from, struct ust_sock *to)
{
	static uint8_t buf[65536];
	/* The pattern (a function of direction and offset) of the next bytes,
	 * kept while a full send buffer refuses them: the simulation pumps at
	 * every event. */
	static uint8_t pat[2][65536];
	static size_t pat_off[2] = {SIZE_MAX, SIZE_MAX}, pat_len[2];
	while (x->sent[d] < x->total) {
		size_t n = x->total - x->sent[d];
		if (n > sizeof(pat[d]))
			n = sizeof(pat[d]);
		if (pat_off[d] != x->sent[d] || pat_len[d] < n) {
			for (size_t i = 0; i < n; i++)
				pat[d][i] = xfer_byte(d, x->sent[d] + i);
			pat_off[d] = x->sent[d];
			pat_len[d] = n;
		}
		ssize_t w = ust_sock_send(from, pat[d], n, 0);
		if (w == -EAGAIN)
			break;
		if (w < 0) {
			x->error = x->error != 0 ? x->error : (int)w;
			return;
		}
		x->h_sent[d] = sim_fnv(x->h_sent[d], pat[d], (size_t)w);
		x->sent[d] += (size_t)w;
	}
	if (x->sent[d] == x->total && !x->shut[d]) {
		ust_sock_shutdown(from, UST_SHUT_WR);
		x->shut[d] = true;
	}
	for (;;) {
		ssize_t r = ust_sock_recv(to, buf, sizeof(buf), 0);
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			x->error = x->error != 0 ? x->error : (int)r;
			return;
		}
		if (r == 0) {
			x->eof[d] = true;
			break;
		}
		x->h_rcvd[d] = sim_fnv(x->h_rcvd[d], buf, (size_t)r);
		x->rcvd[d] += (size_t)r;
	}
}

bool
xfer_pump(void *arg)
{
	struct xfer *x = arg;
	pump_dir(x, 0, x->c, x->s);
	pump_dir(x, 1, x->s, x->c);
	return x->error != 0 || (x->eof[0] && x->eof[1]);
}
