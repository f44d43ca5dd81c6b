/*
 * ustackd's control socket (a Unix SOCK_SEQPACKET socket): `ustack stat`
 * connects, sends "stat", and reads the socket table and counters back, one
 * message per line and an empty message at the end; `ustack sysctl` sends
 * "sysctl [NAME | -w NAME=VALUE]" and reads tunables back as sysctl(8)
 * prints them (a line starting "ustackd:" is an error). Served from the poll
 * loop, on the stack's core, so it reads and sets the stack without locks.
 */
#ifndef UST_DPDK_CTL_H
#define UST_DPDK_CTL_H

#include <stdint.h>

#include "ipc_server.h"
#include "stack/stack.h"

struct ust_ctl;

/* Listen on `path`; prints one line and returns NULL on failure (another
 * ustackd already listening there, no permission, path too long). */
struct ust_ctl *ust_ctl_open(const char *path);
/* Answer whatever requests are waiting and hand libustack.so clients to
 * `srv`; never blocks. */
unsigned ust_ctl_poll(struct ust_ctl *ctl, struct ust_stack *st, struct ust_ipc_server *srv);
/* The sockets to sleep on (the listener, clients not yet served), at most
 * `max`; returns how many were filled. */
unsigned ust_ctl_pollfds(const struct ust_ctl *ctl, struct pollfd *fds, unsigned max);
void ust_ctl_close(struct ust_ctl *ctl);

#endif
