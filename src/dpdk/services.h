/*
 * Diagnostic services built into ustackd on the in-stack socket API, so the
 * stack can be exercised from the kernel side before any application is
 * preloaded: echo (RFC 862) over UDP and TCP, discard (RFC 863), chargen
 * (RFC 864), and an active open to a kernel listener that sends N bytes of
 * the chargen pattern or receives that pattern and checks every byte.
 */
#ifndef UST_DPDK_SERVICES_H
#define UST_DPDK_SERVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "stack/stack.h"

struct ust_services_config {
	bool udp_echo;          /* UDP/7 */
	bool tcp_echo;          /* TCP/7 */
	bool tcp_discard;       /* TCP/9 */
	bool tcp_chargen;       /* TCP/19 */
	uint32_t connect_ip;    /* active open to this address (host order), 0 = off */
	uint16_t connect_port;  /* ... and port */
	uint64_t send_bytes;    /* bytes of pattern to send on the active open (0: sink) */
};

struct ust_services;

/* Opens the selected services; prints one line and returns NULL on failure. */
struct ust_services *ust_services_start(struct ust_stack *st, const struct ust_services_config *cfg);
/* Serve whatever is ready; returns the work done (0 when idle). */
unsigned ust_services_poll(struct ust_services *sv);
void ust_services_stop(struct ust_services *sv);

#endif
