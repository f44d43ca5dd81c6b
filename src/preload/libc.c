/* The real libc functions behind the ones libustack.so interposes. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "preload.h"

struct ust_libc ust_libc;

static void
load(void)
{
#define SYM(name)                                                                              \
	do {                                                                                   \
		*(void **)&ust_libc.name = dlsym(RTLD_NEXT, #name);                            \
		if (ust_libc.name == NULL) {                                                   \
			fprintf(stderr, "libustack: libc has no %s — is this a glibc system?\n", \
				#name);                                                        \
			abort();                                                               \
		}                                                                              \
	} while (0)
	SYM(socket);
	SYM(close);
	SYM(bind);
	SYM(connect);
	SYM(listen);
	SYM(accept4);
	SYM(read);
	SYM(write);
	SYM(readv);
	SYM(writev);
	SYM(recvfrom);
	SYM(sendto);
	SYM(recvmsg);
	SYM(sendmsg);
	SYM(shutdown);
	SYM(getsockname);
	SYM(getpeername);
	SYM(setsockopt);
	SYM(getsockopt);
	/* By its plain name: the headers may have renamed ours fcntl64. */
	*(void **)&ust_libc.fcntl = dlsym(RTLD_NEXT, "fcntl64");
	if (ust_libc.fcntl == NULL)
		*(void **)&ust_libc.fcntl = dlsym(RTLD_NEXT, "fcntl");
	SYM(ioctl);
	SYM(dup);
	SYM(dup2);
	SYM(dup3);
	SYM(poll);
	SYM(ppoll);
	SYM(select);
	SYM(pselect);
	SYM(sendfile);
	SYM(splice);
	SYM(recvmmsg);
	SYM(sendmmsg);
	SYM(syscall);
	SYM(epoll_create1);
	SYM(epoll_ctl);
	SYM(epoll_pwait);
	SYM(epoll_pwait2);
	SYM(if_nametoindex);
	SYM(if_indextoname);
	SYM(if_nameindex);
	SYM(if_freenameindex);
	SYM(getifaddrs);
	SYM(freeifaddrs);
#undef SYM
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

void
ust_libc_init(void)
{
	pthread_once(&once, load);
}

/* At load time, before the program's main: resolving lazily from inside
 * a libc call (a read() under setlocale, say) can deadlock on libc's own
 * locks when dlsym takes them. */
__attribute__((constructor(101))) static void
load_early(void)
{
	pthread_once(&once, load);
}
