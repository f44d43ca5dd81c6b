/* Built-in diagnostic services; see services.h. */
#include "services.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack/sock.h"

struct ust_services {
	struct ust_stack *st;     /* the stack they run on */
	struct ust_sock *udp_echo; /* UDP/7, or NULL */
};

static struct ust_sock *
udp_listen_on(struct ust_stack *st, uint16_t port)
{
	struct ust_sock *s;
	if (ust_sock_open(st, UST_AF_INET, UST_SOCK_DGRAM, &s) < 0)
		return NULL;
	struct ust_sockaddr a = {.family = UST_AF_INET, .port = port};
	int rc = ust_sock_bind(s, &a);
	if (rc < 0) {
		fprintf(stderr, "ustackd: udp echo: cannot bind port %u: %s\n", port, strerror(-rc));
		ust_sock_close(s);
		return NULL;
	}
	return s;
}

struct ust_services *
ust_services_start(struct ust_stack *st, const struct ust_services_config *cfg)
{
	struct ust_services *sv = calloc(1, sizeof(*sv));
	if (sv == NULL)
		return NULL;
	sv->st = st;
	if (cfg->udp_echo && (sv->udp_echo = udp_listen_on(st, 7)) == NULL) {
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

unsigned
ust_services_poll(struct ust_services *sv)
{
	unsigned work = 0;
	if (sv->udp_echo != NULL && (ust_sock_events(sv->udp_echo) & UST_EV_IN))
		work += serve_udp_echo(sv->udp_echo);
	return work;
}

void
ust_services_stop(struct ust_services *sv)
{
	if (sv == NULL)
		return;
	if (sv->udp_echo != NULL)
		ust_sock_close(sv->udp_echo);
	free(sv);
}
