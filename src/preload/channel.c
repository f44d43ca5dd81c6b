/*
 * The process's registration with ustackd and each thread's channel (see
 * src/ipc/ipc.h for the protocol).
 *
 * Registration happens on the first socket call: connect to the control
 * socket ($USTACK_CTL, default /run/ustack/ctl.sock), hello, receive the
 * region's memfd, map it. A thread takes a free channel on its first call
 * and keeps it until it exits; a channel's eventfd is handed to ustackd
 * the first time a thread of this process takes it.
 *
 * fork: the child keeps the region mapped, and with it every socket and
 * handle. It drops its copies of the parent's control connection and
 * eventfds (they are the parent's: ustackd must see the parent's end when
 * the parent goes) and, in the fork, opens a connection of its own, joins
 * the region by sending the memfd and takes a channel for its thread. The control connection, the
 * memfd and the eventfds sit at high fd numbers, so the program's own fds
 * are numbered as without the library, and its close() loops, close_range
 * and closefrom pass them by.
 *
 * The control connection also carries each new socket's fd (received
 * while the caller holds proc.lock) and the probes of fds found after exec
 * or received over a Unix socket.
 *
 * Waiting (for ustackd's answer, or for a socket's readiness) spins only
 * while spinning can pay off, then sleeps: on the channel's futex for an
 * answer, on its eventfd for readiness. The spin budget adapts per thread
 * and per kind of wait: a wait that ended while spinning lets the next
 * spin last up to twice as long as it took; a spin that ended in a sleep
 * halves it, down to none, and then only every PROBE_EVERY-th wait spins
 * briefly to notice when spinning pays again (on a core shared with the
 * peer it waits for, spinning only delays that peer). A call whose answer
 * came after its caller slept, yet within the cap, sets the budget as if
 * a spin had caught it: ustackd answers on its own CPU, sleeping or not,
 * so the sleep only cost a wake-up. A thread never
 * spins on the CPU ustackd polls on, nor when the process may use only
 * one CPU. USTACK_SPIN_US caps a spin (default 50; 0: never spin).
 * A request made while ustackd sleeps rings its doorbell (ipc.h). A sleep
 * that lasts checks whether ustackd is still there, so a dead daemon turns
 * into errors instead of hangs.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "preload.h"

#define SLEEP_CHECK_NS 100000000LL /* a sleeping call checks on ustackd this often */
#define SPIN_CAP_NS 50000          /* USTACK_SPIN_US's default, in ns */
#define SPIN_START_NS 10000        /* a thread's first spins last this long */
#define SPIN_MIN_NS 1000           /* a budget halved below this is none */
#define PROBE_EVERY 64             /* with no budget, every 64th wait spins ... */
#define PROBE_NS 5000              /* ... this long */
#define NAP_NS 200000LL            /* see nap() */
#define PRIVATE_FD_MAX 4096        /* the library's fds go below this ... */
#define PRIVATE_FD_ROOM 160        /* ... and this far below the fd limit */

static struct {
	pthread_mutex_t lock;      /* registration and every talk on the control socket */
	int ctl_fd;                /* control connection, -1 before registration (or join) */
	int memfd;                 /* the region's memfd: a forked child proves membership */
	pid_t pid;                 /* this process, as of registration or join */
	struct ust_ipc_region *r;  /* the shared region */
	int chan_evfd[UST_IPC_CHANNELS]; /* this process's channel eventfds, -1 = not yet */
	_Atomic bool dead;         /* ustackd went away */
	_Atomic uint32_t gen;      /* bumped when a new region is mapped */
	int failed;                /* registration failed with this errno */
	int64_t spin_cap_ns;       /* USTACK_SPIN_US; 0 = never spin */
	pthread_mutex_t grow_lock; /* opening up more of the region */
	_Atomic uint64_t sock_end; /* our mapping is open up to here (socket table) */
	_Atomic uint64_t arena_end; /* ... and up to here in the arena */
	bool one_cpu;              /* the process may run on one CPU only */
} proc = {.lock = PTHREAD_MUTEX_INITIALIZER, .ctl_fd = -1, .memfd = -1,
	    .grow_lock = PTHREAD_MUTEX_INITIALIZER};

/* How long a thread's next wait of one kind spins. */
struct spinner {
	int64_t budget_ns; /* 0: sleep at once */
	uint32_t skipped;  /* waits without a spin since the last probe */
};

static bool in_vfork;             /* fork() is serving a vfork() */
static _Thread_local int my_chan = -1;
static _Thread_local bool my_unsettled; /* copied spans ustackd has not yet taken */
static _Thread_local bool my_posted;    /* a request awaits its answer nobody waits for */
static _Thread_local struct spinner call_spin = {.budget_ns = SPIN_START_NS};
static _Thread_local struct spinner ready_spin = {.budget_ns = SPIN_START_NS};
static pthread_key_t chan_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

int64_t
ust_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct ust_ipc_channel *take_channel(void);

static void
release_channel(void *arg)
{
	(void)arg;
	/* The next owner must not write over a request ustackd has not read. */
	if (my_chan >= 0 && proc.r != NULL) {
		take_channel();
		atomic_store(&proc.r->chan[my_chan].owner, 0);
	}
	my_chan = -1;
}

static void
before_fork(void)
{
	/* Before the lock: giving a set its slot talks to ustackd. */
	ust_ep_before_fork();
	pthread_mutex_lock(&proc.lock);
}

static void
after_fork_parent(void)
{
	pthread_mutex_unlock(&proc.lock);
}

static int register_locked(bool join);
static void reach(const struct ust_ipc_resp *p);

static void
after_fork_child(void)
{
	/* The region stays (the sockets are shared); the connection and the
	 * eventfds are the parent's. */
	if (proc.ctl_fd >= 0)
		ust_libc.close(proc.ctl_fd);
	proc.ctl_fd = -1;
	for (unsigned i = 0; i < UST_IPC_CHANNELS; i++) {
		if (proc.chan_evfd[i] >= 0)
			ust_libc.close(proc.chan_evfd[i]);
		proc.chan_evfd[i] = -1;
	}
	atomic_store(&proc.dead, false);
	pthread_mutex_init(&proc.lock, NULL);
	pthread_mutex_init(&proc.grow_lock, NULL);
	my_chan = -1;
	my_unsettled = false;
	my_posted = false;
	/* Join now, with a channel for this (the only) thread: a child may
	 * chroot, drop privileges or enter a seccomp sandbox before it first
	 * uses a socket (sshd does all three) and could not reach ustackd
	 * then. A vfork child only execs or exits. */
	if (proc.r != NULL && proc.failed == 0 && !in_vfork && register_locked(true) == 0)
		ust_chan_get();
}

pid_t
ust_chan_vfork(void)
{
	in_vfork = true;
	pid_t pid = fork();
	in_vfork = false;
	return pid;
}

static void
make_key(void)
{
	pthread_key_create(&chan_key, release_channel);
	for (unsigned i = 0; i < UST_IPC_CHANNELS; i++)
		proc.chan_evfd[i] = -1;
}

/* At load, so a fork before the first socket call is covered too. */
__attribute__((constructor)) static void
install_fork_handlers(void)
{
	pthread_once(&key_once, make_key);
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* Move one of the library's fds up, out of the program's way. */
static int
hide_fd(int fd)
{
	struct rlimit rl;
	long top = PRIVATE_FD_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (long)rl.rlim_cur < top)
		top = (long)rl.rlim_cur;
	if (top - PRIVATE_FD_ROOM <= fd)
		return fd;
	int h = ust_libc.fcntl(fd, F_DUPFD_CLOEXEC, (int)(top - PRIVATE_FD_ROOM));
	if (h < 0)
		return fd;
	ust_libc.close(fd);
	return h;
}

bool
ust_chan_private(int fd)
{
	if (fd < 0)
		return false;
	if (fd == proc.ctl_fd || fd == proc.memfd)
		return true;
	for (unsigned i = 0; i < UST_IPC_CHANNELS; i++)
		if (proc.chan_evfd[i] == fd)
			return true;
	return false;
}

static int
ctl_path(struct sockaddr_un *sa)
{
	const char *p = getenv("USTACK_CTL");
	if (p == NULL || *p == '\0')
		p = "/run/ustack/ctl.sock";
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(p) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, p);
	return 0;
}

/* One message from ustackd on control connection cfd, and the fd it
 * carried (or -1); 0 when the connection ended. With proc.lock held. */
static ssize_t
ctl_recv_on(int cfd, void *m, size_t len, int *fd, int flags)
{
	union ust_ipc_fdbuf u;
	struct iovec iov = {.iov_base = m, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ust_ipc_fd_attach(&mh, &u, -1);
	ssize_t r;
	do
		r = ust_libc.recvmsg(cfd, &mh, flags);
	while (r < 0 && errno == EINTR);
	*fd = r > 0 ? ust_ipc_fd_take(&mh) : -1;
	return r;
}

static ssize_t
ctl_recv(void *m, size_t len, int *fd, int flags)
{
	ssize_t r = ctl_recv_on(proc.ctl_fd, m, len, fd, flags);
	if (r <= 0)
		atomic_store(&proc.dead, true);
	return r;
}

/* Send a hello (or, with the region's memfd, a join) and map the region
 * the answer names; with proc.lock held. */
static int
register_locked(bool join)
{
	struct sockaddr_un sa;
	int rc = ctl_path(&sa);
	if (rc < 0)
		return rc;
	int fd = ust_libc.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ust_libc.connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		fprintf(stderr, "libustack: cannot reach ustackd at %s: %s — start ustackd, or set "
				"USTACK_CTL to its --ctl path\n",
			sa.sun_path, strerror(-rc));
		ust_libc.close(fd);
		return rc;
	}
	/* proc.ctl_fd is set last: other threads take it as "registered". */
	fd = hide_fd(fd);
	struct ust_ipc_hello h = {.msg = join ? UST_IPC_MSG_JOIN : UST_IPC_MSG_HELLO,
				  .version = UST_IPC_VERSION};
	struct iovec iov = {.iov_base = &h, .iov_len = sizeof(h)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	union ust_ipc_fdbuf u;
	if (join)
		ust_ipc_fd_attach(&mh, &u, proc.memfd);
	struct ust_ipc_welcome w = {0};
	int memfd = -1;
	if (ust_libc.sendmsg(fd, &mh, MSG_NOSIGNAL) != sizeof(h) ||
	    ctl_recv_on(fd, &w, sizeof(w), &memfd, MSG_CMSG_CLOEXEC) != sizeof(w) ||
	    w.msg != UST_IPC_MSG_WELCOME) {
		fprintf(stderr, "libustack: ustackd at %s did not answer the registration — is it "
				"the same version as this library?\n",
			sa.sun_path);
		rc = -EPROTO;
		goto fail;
	}
	if (w.ret < 0 || w.region_bytes != UST_IPC_REGION_BYTES || (!join && memfd < 0)) {
		fprintf(stderr, "libustack: ustackd refused the registration: %s\n",
			strerror(w.ret < 0 ? -w.ret : EPROTO));
		rc = w.ret < 0 ? w.ret : -EPROTO;
		goto fail;
	}
	if (memfd >= 0) {
		/* A new region (for a child: its parent's is gone). Only what is
		 * used is opened up (ipc.h: growth). */
		void *m = mmap(NULL, UST_IPC_REGION_BYTES, PROT_NONE, MAP_SHARED, memfd, 0);
		if (m == MAP_FAILED || mprotect(m, UST_IPC_FIXED_BYTES, PROT_READ | PROT_WRITE) < 0) {
			if (m != MAP_FAILED)
				munmap(m, UST_IPC_REGION_BYTES);
			rc = -ENOMEM;
			goto fail;
		}
		if (proc.r != NULL)
			munmap(proc.r, UST_IPC_REGION_BYTES);
		if (proc.memfd >= 0)
			ust_libc.close(proc.memfd);
		proc.r = m;
		proc.memfd = hide_fd(memfd);
		atomic_fetch_add(&proc.gen, 1);
		atomic_store(&proc.sock_end, UST_IPC_FIXED_BYTES);
		atomic_store(&proc.arena_end, UST_IPC_ARENA_OFF);
	}
	const char *cap = getenv("USTACK_SPIN_US");
	proc.spin_cap_ns = cap != NULL && *cap != '\0' ? atoll(cap) * 1000 : SPIN_CAP_NS;
	cpu_set_t cpus;
	proc.one_cpu = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) < 2;
	proc.pid = getpid();
	atomic_store(&proc.dead, false);
	atomic_thread_fence(memory_order_release);
	proc.ctl_fd = fd;
	return 0;
fail:
	if (memfd >= 0)
		ust_libc.close(memfd);
	ust_libc.close(fd);
	return rc;
}

int
ust_chan_ready(void)
{
	ust_libc_init();
	pthread_once(&key_once, make_key);
	if (__builtin_expect(proc.ctl_fd >= 0, 1))
		return atomic_load(&proc.dead) ? -EPIPE : 0;
	pthread_mutex_lock(&proc.lock);
	int rc = 0;
	if (proc.ctl_fd < 0) {
		/* Fail every later call the same way, without a message each time. */
		rc = proc.failed != 0 ? -proc.failed : register_locked(proc.r != NULL);
		if (rc < 0)
			proc.failed = -rc;
	}
	pthread_mutex_unlock(&proc.lock);
	return rc;
}

pid_t
ust_chan_pid(void)
{
	return proc.pid;
}

uint32_t
ust_chan_gen(void)
{
	return atomic_load_explicit(&proc.gen, memory_order_relaxed);
}

bool
ust_chan_joined(void)
{
	return proc.ctl_fd >= 0 && !atomic_load(&proc.dead);
}

bool
ust_chan_dead(void)
{
	return atomic_load_explicit(&proc.dead, memory_order_relaxed);
}

bool
ust_chan_probe_dead(void)
{
	if (atomic_load(&proc.dead))
		return true;
	if (proc.ctl_fd < 0)
		return false;
	struct pollfd p = {.fd = proc.ctl_fd, .events = 0};
	if (ust_libc.poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)))
		atomic_store(&proc.dead, true);
	return atomic_load(&proc.dead);
}

void
ust_chan_lock(void)
{
	pthread_mutex_lock(&proc.lock);
}

void
ust_chan_unlock(void)
{
	pthread_mutex_unlock(&proc.lock);
}

int
ust_chan_recv_fd(uint32_t handle, bool cloexec)
{
	for (;;) {
		struct ust_ipc_chanmsg m;
		int fd;
		ssize_t r = ctl_recv(&m, sizeof(m), &fd, cloexec ? MSG_CMSG_CLOEXEC : 0);
		if (r <= 0)
			return -EPIPE;
		if (r == sizeof(m) && m.msg == UST_IPC_MSG_FD && m.channel == handle)
			return fd >= 0 ? fd : -EMFILE; /* no room for it: the kernel dropped it */
		/* Left by a call that gave up (a thread cancelled, say). */
		if (fd >= 0)
			ust_libc.close(fd);
	}
}

int
ust_chan_probe(int fd, uint32_t *handle, int *family, int *type, int *protocol)
{
	int rc = ust_chan_ready();
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&proc.lock);
	struct ust_ipc_chanmsg m = {.msg = UST_IPC_MSG_PROBE};
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	union ust_ipc_fdbuf u;
	ust_ipc_fd_attach(&mh, &u, fd);
	rc = -EPIPE;
	if (ust_libc.sendmsg(proc.ctl_fd, &mh, MSG_NOSIGNAL) == sizeof(m)) {
		for (;;) {
			int extra;
			ssize_t r = ctl_recv(&m, sizeof(m), &extra, MSG_CMSG_CLOEXEC);
			if (extra >= 0)
				ust_libc.close(extra);
			if (r <= 0)
				break;
			if (r == sizeof(m) && m.msg == UST_IPC_MSG_ACK) {
				rc = m.ret;
				*handle = m.channel;
				*type = (int)(m.pad & 0xff);
				*family = (int)((m.pad >> 8) & 0xff);
				*protocol = (int)(m.pad >> 16);
				break;
			}
		}
	}
	pthread_mutex_unlock(&proc.lock);
	if (rc == 0) {
		struct ust_ipc_resp p = {.handle = *handle};
		reach(&p);
	}
	return rc;
}

/* Send m with fd attached (fd >= 0) on the control socket and return the
 * ACK's ret; with proc.lock held. */
static int
ctl_call_locked(struct ust_ipc_chanmsg m, int fd)
{
	union ust_ipc_fdbuf u;
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ust_ipc_fd_attach(&mh, &u, fd);
	struct ust_ipc_chanmsg ack = {0};
	if (ust_libc.sendmsg(proc.ctl_fd, &mh, MSG_NOSIGNAL) != sizeof(m)) {
		atomic_store(&proc.dead, true);
		return -EPIPE;
	}
	int extra;
	ssize_t r = ctl_recv(&ack, sizeof(ack), &extra, MSG_CMSG_CLOEXEC);
	if (extra >= 0)
		ust_libc.close(extra);
	if (r != sizeof(ack) || ack.msg != UST_IPC_MSG_ACK)
		return r <= 0 ? -EPIPE : -EPROTO;
	return ack.ret;
}

/* Hand channel i's eventfd to ustackd; with proc.lock held. */
static int
attach_channel_locked(unsigned i)
{
	if (proc.chan_evfd[i] >= 0 && atomic_load(&proc.r->chan[i].evfd_pid) == (uint32_t)proc.pid)
		return 0;
	int efd = proc.chan_evfd[i];
	if (efd < 0)
		efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return -errno;
	efd = hide_fd(efd);
	int rc = ctl_call_locked((struct ust_ipc_chanmsg){.msg = UST_IPC_MSG_CHANNEL, .channel = i}, efd);
	if (rc < 0) {
		ust_libc.close(efd);
		proc.chan_evfd[i] = -1;
		return rc;
	}
	proc.chan_evfd[i] = efd;
	atomic_store(&proc.r->chan[i].evfd_pid, (uint32_t)proc.pid);
	return 0;
}

int
ust_chan_epoll_open(int doorbell)
{
	int rc = ust_chan_ready();
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&proc.lock);
	rc = ctl_call_locked((struct ust_ipc_chanmsg){.msg = UST_IPC_MSG_EPOLL}, doorbell);
	pthread_mutex_unlock(&proc.lock);
	return rc;
}

int
ust_chan_watch(uint32_t handle, int slot, int how)
{
	struct ust_ipc_channel *ch = ust_chan_get();
	if (ch == NULL)
		return -EPIPE;
	memset(&ch->req, 0, sizeof(ch->req));
	ch->req.op = UST_IPC_OP_WATCH;
	ch->req.handle = handle;
	ch->req.a = slot;
	ch->req.b = how;
	return (int)ust_chan_call(ch);
}

struct ust_ipc_region *
ust_chan_region(void)
{
	return proc.r;
}

struct ust_ipc_channel *
ust_chan_get(void)
{
	if (__builtin_expect(my_chan >= 0, 1))
		return &proc.r->chan[my_chan];
	if (ust_chan_ready() < 0)
		return NULL;
	uint32_t tid = (uint32_t)syscall(SYS_gettid);
	for (;;) {
		for (unsigned i = 0; i < UST_IPC_CHANNELS; i++) {
			uint32_t free_owner = 0;
			if (!atomic_compare_exchange_strong(&proc.r->chan[i].owner, &free_owner, tid))
				continue;
			pthread_mutex_lock(&proc.lock);
			int rc = attach_channel_locked(i);
			pthread_mutex_unlock(&proc.lock);
			if (rc < 0) {
				atomic_store(&proc.r->chan[i].owner, 0);
				return NULL;
			}
			my_chan = (int)i;
			pthread_setspecific(chan_key, &my_chan);
			return &proc.r->chan[i];
		}
		/* More threads than channels: wait for one to exit. */
		sched_yield();
	}
}

/* How long this wait may spin: nothing where spinning cannot help. */
static int64_t
spin_budget(struct spinner *sp)
{
	if (proc.spin_cap_ns <= 0 || proc.one_cpu ||
	    sched_getcpu() == atomic_load_explicit(&proc.r->daemon_cpu, memory_order_relaxed))
		return 0;
	if (sp->budget_ns > 0)
		return sp->budget_ns < proc.spin_cap_ns ? sp->budget_ns : proc.spin_cap_ns;
	if (++sp->skipped < PROBE_EVERY)
		return 0;
	sp->skipped = 0;
	return PROBE_NS < proc.spin_cap_ns ? PROBE_NS : proc.spin_cap_ns;
}

/* Learn from a wait that spun `budget` ns: `hit` if it ended while
 * spinning, after `waited` ns. */
static void
spin_learn(struct spinner *sp, int64_t budget, bool hit, int64_t waited)
{
	if (budget == 0)
		return;
	if (hit) {
		int64_t want = 2 * waited > SPIN_MIN_NS ? 2 * waited : SPIN_MIN_NS;
		if (want > sp->budget_ns)
			sp->budget_ns = want < proc.spin_cap_ns ? want : proc.spin_cap_ns;
	} else {
		sp->budget_ns /= 2;
		if (sp->budget_ns < SPIN_MIN_NS)
			sp->budget_ns = 0;
	}
}

/* A call answered only after its caller slept, `waited` ns after it was
 * asked: ustackd answers on its own CPU whether or not the caller sleeps,
 * so a spin that long would have caught the answer if the cap allows it
 * (a miss alone would only ever shrink the budget, and a budget of none
 * left calls that ustackd answers in a microsecond sleeping). */
static void
spin_learn_late(struct spinner *sp, int64_t waited)
{
	if (waited <= proc.spin_cap_ns)
		spin_learn(sp, 1, true, waited);
}

/* Spin per the policy until done(arg); returns whether it became true,
 * and in *t0 when the spin began (0: it did not). */
static bool
spin(struct spinner *sp, bool (*done)(const void *), const void *arg, int64_t *t0_out)
{
	int64_t budget = spin_budget(sp);
	*t0_out = 0;
	if (budget == 0)
		return done(arg);
	int64_t t0 = ust_now_ns(), t = t0;
	*t0_out = t0;
	bool hit = false;
	while (!hit && t - t0 < budget) {
		for (int i = 0; i < 32 && !(hit = done(arg)); i++)
			__builtin_ia32_pause();
		t = ust_now_ns();
	}
	spin_learn(sp, budget, hit, t - t0);
	return hit;
}

/* Wake ustackd if it sleeps: one message per sleep, whoever sees it
 * first. Returns whether ustackd was asleep. */
static bool
ring_doorbell(void)
{
	/* seq_cst after the caller's seq_cst publish pairs with ustackd's
	 * sleeping-then-check (ipc.h). */
	if (atomic_load(&proc.r->daemon_sleeping) == 0)
		return false;
	if (atomic_exchange(&proc.r->daemon_sleeping, 0) != 0) {
		/* write(), not send(): a seccomp sandbox (sshd's) allows it, and
		 * a SOCK_SEQPACKET socket raises no SIGPIPE. */
		struct ust_ipc_chanmsg m = {.msg = UST_IPC_MSG_DOORBELL};
		if (ust_libc.write(proc.ctl_fd, &m, sizeof(m)) < 0 && errno == EPIPE)
			atomic_store(&proc.dead, true);
	}
	return true;
}

bool
ust_chan_spin(bool (*done)(const void *), const void *arg)
{
	int64_t t0;
	return spin(&ready_spin, done, arg, &t0);
}

int
ust_chan_private_fds(int *out, int max)
{
	int n = 0;
	if (proc.ctl_fd >= 0 && n < max)
		out[n++] = proc.ctl_fd;
	if (proc.memfd >= 0 && n < max)
		out[n++] = proc.memfd;
	for (unsigned i = 0; i < UST_IPC_CHANNELS && n < max; i++)
		if (proc.chan_evfd[i] >= 0)
			out[n++] = proc.chan_evfd[i];
	return n;
}

struct ust_ipc_sockstate *
ust_chan_sockstate(const struct ust_psock *ps)
{
	return &proc.r->sock[ps->handle];
}

uint8_t *
ust_chan_base(void)
{
	return (uint8_t *)proc.r;
}

void
ust_chan_spans_done(struct ust_ipc_channel *ch, bool received)
{
	/* ustackd takes the bytes on its next turn, which a sleeping
	 * ustackd has to be woken for. Until then a socket's readiness still
	 * counts bytes received and copied out (sent bytes only make OUT
	 * late, which no wait depends on). */
	atomic_store(&ch->done_seq, atomic_load_explicit(&ch->req_seq, memory_order_relaxed));
	ring_doorbell();
	my_unsettled = received;
}

void
ust_chan_settle(void)
{
	/* Readiness counts bytes this thread already took until ustackd
	 * settles them; ask it to, so poll does not see them again. */
	if (!my_unsettled)
		return;
	my_unsettled = false;
	struct ust_ipc_channel *ch = ust_chan_take();
	if (ch == NULL)
		return;
	memset(&ch->req, 0, sizeof(ch->req));
	ch->req.op = UST_IPC_OP_SETTLE;
	ust_chan_call(ch);
}

static int64_t call_once(struct ust_ipc_channel *ch);

int64_t
ust_chan_call(struct ust_ipc_channel *ch)
{
	int64_t rc;
	/* Another thread is copying this socket's bytes: a memcpy away. */
	while ((rc = call_once(ch)) == UST_IPC_RETRY)
		sched_yield();
	return rc;
}

/* Open our mapping of one part of the region as far as ustackd did. */
static void
follow(_Atomic uint64_t *mine, const _Atomic uint64_t *theirs, uint64_t limit)
{
	uint64_t from = atomic_load(mine);
	uint64_t to = atomic_load_explicit(theirs, memory_order_acquire);
	if (to > limit)
		to = limit;
	if (to > from && mprotect((uint8_t *)proc.r + from, to - from, PROT_READ | PROT_WRITE) == 0)
		atomic_store(mine, to);
}

/* An answer may name a handle or span beyond what this process opened of
 * the region: open it up first. */
static void
reach(const struct ust_ipc_resp *p)
{
	bool sock = p->handle != UST_IPC_NO_HANDLE && UST_IPC_SOCK_END(p->handle) > atomic_load(&proc.sock_end);
	bool arena = false;
	if (p->flags & UST_IPC_F_SPANS)
		for (int k = 0; k < 2; k++)
			arena |= p->span_len[k] != 0 && p->span_off[k] + p->span_len[k] > atomic_load(&proc.arena_end);
	if (!sock && !arena)
		return;
	pthread_mutex_lock(&proc.grow_lock);
	follow(&proc.sock_end, &proc.r->sock_end, UST_IPC_ARENA_OFF);
	follow(&proc.arena_end, &proc.r->arena_end, UST_IPC_REGION_BYTES);
	pthread_mutex_unlock(&proc.grow_lock);
}

struct answer {
	struct ust_ipc_channel *ch; /* the channel asked */
	uint32_t seq;               /* the request's number */
};

static bool
answered(const void *arg)
{
	const struct answer *a = arg;
	return atomic_load_explicit(&a->ch->resp_seq, memory_order_acquire) == a->seq;
}

/* Wait for the answer to request `seq`; `learn` from how long it took
 * unless ustackd was asleep (`woke`: that wait was its wake-up). */
static int64_t
await_answer(struct ust_ipc_channel *ch, uint32_t seq, bool woke, bool learn)
{
	struct answer a = {.ch = ch, .seq = seq};
	int64_t t0 = 0;
	/* A sleeping ustackd answers after a wake-up, too late for a spin. */
	if (woke ? answered(&a) : spin(&call_spin, answered, &a, &t0)) {
		reach(&ch->resp);
		return ch->resp.ret;
	}
	if (!woke && t0 == 0)
		t0 = ust_now_ns();
	for (;;) {
		/* seq_cst pairs with ustackd's publish-then-check (ipc.h). */
		atomic_store(&ch->sleeping, 1);
		if (atomic_load(&ch->resp_seq) != seq) {
			struct timespec ts = {.tv_sec = 0, .tv_nsec = SLEEP_CHECK_NS};
			syscall(SYS_futex, &ch->resp_seq, FUTEX_WAIT, seq - 1, &ts, NULL, 0);
		}
		atomic_store(&ch->sleeping, 0);
		if (atomic_load_explicit(&ch->resp_seq, memory_order_acquire) == seq) {
			if (!woke && learn)
				spin_learn_late(&call_spin, ust_now_ns() - t0);
			reach(&ch->resp);
			return ch->resp.ret;
		}
		if (ust_chan_probe_dead())
			return -EPIPE;
	}
}

/* Publish the request in ch->req; returns whether ustackd was asleep. */
static bool
publish(struct ust_ipc_channel *ch, uint32_t *seq)
{
	*seq = atomic_load_explicit(&ch->req_seq, memory_order_relaxed) + 1;
	/* ustackd settles the channel's last spans before any request. */
	my_unsettled = false;
	atomic_store(&ch->req_seq, *seq);
	return ring_doorbell();
}

static int64_t
call_once(struct ust_ipc_channel *ch)
{
	uint32_t seq;
	bool woke = publish(ch, &seq);
	return await_answer(ch, seq, woke, true);
}

void
ust_chan_post(struct ust_ipc_channel *ch)
{
	uint32_t seq;
	publish(ch, &seq);
	my_posted = true;
}

static struct ust_ipc_channel *
take_channel(void)
{
	struct ust_ipc_channel *ch = &proc.r->chan[my_chan];
	if (my_posted) {
		my_posted = false;
		uint32_t seq = atomic_load_explicit(&ch->req_seq, memory_order_relaxed);
		if (await_answer(ch, seq, false, false) == -EPIPE)
			return NULL; /* ustackd is gone */
	}
	return ch;
}

struct ust_ipc_channel *
ust_chan_take(void)
{
	return ust_chan_get() == NULL ? NULL : take_channel();
}

uint32_t
ust_chan_events(const struct ust_psock *ps)
{
	return atomic_load(&proc.r->sock[ps->handle].events);
}

int
ust_chan_arm(const struct ust_psock *ps)
{
	struct ust_ipc_sockstate *ss = &proc.r->sock[ps->handle];
	atomic_fetch_or(&ss->waiters[my_chan / 64], 1ull << (my_chan % 64));
	return 0;
}

int
ust_chan_wake_fd(void)
{
	return proc.chan_evfd[my_chan];
}

int
ust_chan_ctl_fd(void)
{
	return proc.ctl_fd;
}

void
ust_chan_drain(void)
{
	/* Not a semaphore: one read takes the whole count (a second one
	 * would only fail with EAGAIN, a system call per wait). */
	uint64_t v;
	(void)ust_libc.read(proc.chan_evfd[my_chan], &v, sizeof(v));
}

/* Whether the kernel would restart a socket call a signal interrupted:
 * the handler that ran had SA_RESTART (man 7 signal). Which one ran is
 * not known here, so every installed handler must have it, except those
 * of faults, which a thread blocked in a system call cannot receive. */
static bool
restartable(void)
{
	for (int sig = 1; sig < SIGRTMAX; sig++) {
		struct sigaction sa;
		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP ||
		    sig == SIGSYS)
			continue;
		if (sigaction(sig, NULL, &sa) < 0 || sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN)
			continue;
		if (!(sa.sa_flags & SA_RESTART))
			return false;
	}
	return true;
}

struct readiness {
	const struct ust_psock *ps; /* the socket */
	uint32_t mask;              /* the events that end the wait */
};

static bool
ready(const void *arg)
{
	const struct readiness *w = arg;
	return (ust_chan_events(w->ps) & w->mask) != 0;
}

/* A process with no room for fds cannot poll (nfds above RLIMIT_NOFILE:
 * sshd's sandboxed child sets it to 0): look at the socket every
 * NAP_NS instead, with no other system call. */
static int
nap(const struct ust_psock *ps, uint32_t mask, int64_t deadline_ns)
{
	for (;;) {
		if (ust_chan_events(ps) & mask)
			return 0;
		if (deadline_ns >= 0 && ust_now_ns() >= deadline_ns)
			return -EAGAIN;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = NAP_NS};
		nanosleep(&ts, NULL);
	}
}

int
ust_chan_wait(const struct ust_psock *ps, uint32_t mask, int64_t deadline_ns)
{
	if (ust_chan_get() == NULL)
		return -EPIPE;
	mask |= UST_IPC_EV_ERR | UST_IPC_EV_HUP;
	ust_chan_settle();
	/* Spin while that pays (see the top of this file), then sleep.
	 * Armed before the eventfd is drained, so a change in between still
	 * shows in the events checked after. */
	struct readiness w = {.ps = ps, .mask = mask};
	if (ust_chan_spin(ready, &w))
		return 0;
	ust_chan_arm(ps);
	ust_chan_drain();
	if (ust_chan_events(ps) & mask)
		return 0;
	int timeout_ms = -1;
	if (deadline_ns >= 0) {
		int64_t left = deadline_ns - ust_now_ns();
		if (left <= 0)
			return -EAGAIN;
		timeout_ms = (int)((left + 999999) / 1000000);
	}
	struct pollfd p[2] = {{.fd = proc.chan_evfd[my_chan], .events = POLLIN},
			      {.fd = proc.ctl_fd, .events = 0}};
	int r;
	/* A socket timeout makes the call unrestartable, as in Linux. */
	while ((r = ust_libc.poll(p, 2, timeout_ms)) < 0 && errno == EINTR && deadline_ns < 0 &&
	       restartable())
		;
	if (r < 0 && errno == EINVAL)
		return nap(ps, mask, deadline_ns);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -EAGAIN;
	if (p[1].revents & (POLLHUP | POLLERR)) {
		atomic_store(&proc.dead, true);
		return -EPIPE;
	}
	return 0;
}
