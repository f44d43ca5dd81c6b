/*
 * ustackd's side of the preload channel (src/ipc/ipc.h): one client per
 * process that loaded libustack.so. Adopts the control connection after a
 * hello, checks the caller's credentials (SO_PEERCRED, /proc/PID/status) and
 * hands it a memfd region of its own; then serves the calls its threads
 * publish there, from the poll loop, without blocking and without locks.
 * When a client's connection ends (the process died or exited), its sockets
 * are aborted: TCP connections get a reset, as the peer of a dead program
 * should see.
 */
#ifndef UST_DPDK_IPC_SERVER_H
#define UST_DPDK_IPC_SERVER_H

#include <stddef.h>
#include <sys/types.h>

struct ust_stack;
struct ust_ipc_server;

struct ust_ipc_server *ust_ipc_server_create(struct ust_stack *st);
/* Aborts every client's sockets and frees the regions. */
void ust_ipc_server_destroy(struct ust_ipc_server *srv);
/* Take over control connection `fd` whose first message (`msg`, `len`
 * bytes) was a hello; answers it and keeps `fd`, or closes it. */
void ust_ipc_server_adopt(struct ust_ipc_server *srv, int fd, const void *msg, size_t len);
/* Serve the calls waiting in the channels; every turn of the loop. */
unsigned ust_ipc_server_poll(struct ust_ipc_server *srv);
/* Read the control connections (channel registrations, hangups); this
 * costs a system call per client, so not every turn. */
unsigned ust_ipc_server_poll_ctl(struct ust_ipc_server *srv);
/* The pid owning a socket's user handle, for `ustack stat`; 0 if none. */
pid_t ust_ipc_owner_pid(const void *owner);

#endif
