/*
 * ustackd's side of the preload channel (src/ipc/ipc.h): one client per
 * process that loaded libustack.so. Adopts the control connection after a
 * hello, checks the caller's credentials (SO_PEERCRED, /proc/PID/status) and
 * hands it a memfd region of its own; then serves the calls its threads
 * publish there, from the poll loop, without blocking and without locks.
 * Each socket is a kernel socket pair (ipc.h); it closes, as Linux's close
 * would, when ustackd's end reports that every copy of the other end is
 * closed. When a client's connection ends (the process exited or died),
 * only its channels are freed.
 */
#ifndef UST_DPDK_IPC_SERVER_H
#define UST_DPDK_IPC_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ust_stack;
struct ust_ipc_if;
struct ust_ipc_server;

struct ust_ipc_server *ust_ipc_server_create(struct ust_stack *st);
/* Aborts every client's sockets and frees the regions. */
void ust_ipc_server_destroy(struct ust_ipc_server *srv);
/* Take over control connection `fd` whose first message (`msg`, `len`
 * bytes, with `msgfd` attached or -1) was a hello or a join; answers it and
 * keeps `fd`, or closes it. msgfd stays the caller's. */
void ust_ipc_server_adopt(struct ust_ipc_server *srv, int fd, const void *msg, size_t len,
			  int msgfd);
/* Serve the calls waiting in the channels; every turn of the loop. */
unsigned ust_ipc_server_poll(struct ust_ipc_server *srv);
/* Read the control connections (channel registrations, hangups); this
 * costs a system call per client, so not every turn. */
unsigned ust_ipc_server_poll_ctl(struct ust_ipc_server *srv);
/* The CPU the poll loop runs on, told to every program (-1: none), so a
 * program never spins on that CPU (src/preload/channel.c). */
void ust_ipc_server_set_cpu(struct ust_ipc_server *srv, int cpu);
/* The port as programs see it (if_nametoindex, getifaddrs ...), copied
 * into every region made after the call: make it before any. */
void ust_ipc_server_set_if(struct ust_ipc_server *srv, const struct ust_ipc_if *iface);
/* Before the poll loop sleeps: tell every program so (their next request
 * rings the doorbell) and look at every channel once more. Returns false,
 * and takes the word back, if a request or a finished copy is waiting. */
bool ust_ipc_server_sleep(struct ust_ipc_server *srv);
/* After the sleep: programs need not ring any more. */
void ust_ipc_server_wake(struct ust_ipc_server *srv);
/* The control connections to sleep on (doorbells, hangups, channel
 * registrations), at most `max`; returns how many were filled. */
unsigned ust_ipc_server_pollfds(const struct ust_ipc_server *srv, struct pollfd *fds, unsigned max);
/* The pid owning a socket's user handle, for `ustack stat`; 0 if none. */
pid_t ust_ipc_owner_pid(const void *owner);

#endif
