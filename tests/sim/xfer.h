/* Bidirectional bulk transfer over one TCP connection, checked by hash. */
#ifndef SIM_XFER_H
#define SIM_XFER_H

#include "harness.h"

struct xfer {
	struct ust_sock *c;  /* client end */
	struct ust_sock *s;  /* server end */
	size_t total;        /* bytes each way */
	size_t sent[2];      /* [0] client→server, [1] server→client */
	size_t rcvd[2];      /* same directions, at the receiver */
	uint64_t h_sent[2];  /* FNV of what was sent */
	uint64_t h_rcvd[2];  /* FNV of what arrived */
	bool eof[2];         /* receiver saw the FIN */
	bool shut[2];        /* sender shut down writing */
	int error;           /* first error seen, negative errno */
};

void xfer_init(struct xfer *x, struct ust_sock *c, struct ust_sock *s, size_t total);
/* Move what can move; true when both directions are complete. */
bool xfer_pump(void *arg);
/* The byte at offset i of direction d. */
uint8_t xfer_byte(unsigned d, size_t i);

#endif
