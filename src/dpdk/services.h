/*
 * Diagnostic services built into ustackd on the in-stack socket API, so the
 * stack can be exercised from the kernel side before any application is
 * preloaded: UDP echo (RFC 862).
 */
#ifndef UST_DPDK_SERVICES_H
#define UST_DPDK_SERVICES_H

#include <stdbool.h>

#include "stack/stack.h"

struct ust_services_config {
	bool udp_echo; /* UDP/7 */
};

struct ust_services;

/* Opens the selected services; prints one line and returns NULL on failure. */
struct ust_services *ust_services_start(struct ust_stack *st, const struct ust_services_config *cfg);
/* Serve whatever is ready; returns the work done (0 when idle). */
unsigned ust_services_poll(struct ust_services *sv);
void ust_services_stop(struct ust_services *sv);

#endif
