/*
 * ustackd: one DPDK port, one stack, a poll loop on its own lcore.
 *
 * main() checks what a person can get wrong before DPDK sees it (root,
 * /dev/net/tun, addresses, a second daemon), builds the EAL arguments
 * (--no-huge when no hugepages are free), opens the port, creates the stack
 * and runs ust_stack_poll on a worker lcore until SIGINT/SIGTERM. SIGUSR1
 * prints the counters. Exit stops and closes the port (a tap disappears).
 *
 * The poll loop spins while there is work and for --idle-spin-us after
 * the last, then sleeps in poll() until a frame (the port's receive
 * interrupt), a program's doorbell or control message, a signal or the
 * stack's next timer. A port without receive interrupts caps each sleep
 * at --idle-sleep-us; --idle-sleep-us 0 never sleeps (busy polling).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "ctl.h"
#include "ipc_server.h"
#include "port.h"
#include "services.h"
#include "ipc/ipc.h"
#include "stack/nd6.h"
#include "stack/stack.h"
#include "stack/sysctl.h"

#define EAL_ARGS_MAX 32

struct daemon_config {
	char vdev[256];               /* --vdev, passed to EAL */
	char pci[64];                 /* --pci, an allow-listed device */
	uint32_t ip;                  /* --ip address, host order */
	uint8_t prefix;               /* --ip prefix length */
	uint32_t gw;                  /* --gw, host order */
	bool ip6_set;                 /* --ip6 given: IPv6 is on */
	uint8_t ip6[16];              /* --ip6 address */
	uint8_t prefix6;              /* --ip6 prefix length */
	uint8_t gw6[16];              /* --gw6, :: to learn one from router advertisements */
	unsigned mbufs;               /* --mbufs */
	uint16_t mtu;                 /* --mtu, 0 = the port's */
	unsigned idle_sleep_us;       /* --idle-sleep-us */
	unsigned idle_spin_us;        /* --idle-spin-us */
	int cpu;                      /* --cpu: the poll loop's CPU, -1 = the default */
	char lock_path[256];          /* --lock: one daemon per path */
	char ctl_path[108];           /* --ctl: the control socket */
	uint8_t mac[6];               /* --mac: the stack's own address */
	bool mac_set;                 /* --mac given */
	char ifname[16];              /* --ifname: the port's interface name for programs */
	uint32_t ifindex;             /* --ifindex: its interface index */
	bool verbose;                 /* -v: EAL logs */
	struct ust_services_config services; /* built-in services */
};

static atomic_bool stop_requested;
static atomic_bool stats_requested;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		atomic_store(&stats_requested, true);
	else
		atomic_store(&stop_requested, true);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * UST_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: ustackd --vdev net_tap0,iface=NAME | --pci ADDR --ip A.B.C.D/LEN [options]\n"
		"  --gw A.B.C.D          default gateway\n"
		"  --ip6 ADDR/LEN        turn IPv6 on with this address (the link-local one\n"
		"                        comes from the MAC); --ip6 fe80::/64 for link-local only\n"
		"  --gw6 ADDR            IPv6 default router (else learnt from advertisements)\n"
		"  --config FILE         key=value lines: vdev, pci, ip, gw, ip6, gw6, ifname,\n"
		"                        ifindex, mbufs, services\n"
		"  --services LIST       built-in services: udp-echo, tcp-echo, tcp-discard,\n"
		"                        tcp-chargen (ports 7, 7, 9, 19), or all\n"
		"  --udp-echo            UDP echo on port 7\n"
		"  --tcp-connect IP:PORT open a TCP connection to a listener; with --send-bytes N\n"
		"                        send N bytes of the chargen pattern, else receive and\n"
		"                        check that pattern, and print what happened\n"
		"  --mac XX:XX:XX:XX:XX:XX  the stack's MAC (default: the port's; on net_tap a\n"
		"                        neighbour of it, since the kernel side has the port's)\n"
		"  --mbufs N             packet buffers (default 8191)\n"
		"  --ifname NAME         the port's interface name as programs on ustack see it\n"
		"                        (if_nametoindex, getifaddrs, SIOCGIFINDEX; default ustack0)\n"
		"  --ifindex N           its interface index: link-local scope ids, IP_PKTINFO\n"
		"                        (default 65536, far above the kernel's own)\n"
		"  --mtu N               the MTU we send with, up to what the port takes (DPDK\n"
		"                        22.11: net_tap 1504, net_memif 1500; default: the\n"
		"                        port's own); TCP's MSS follows it. Frames up to 9000\n"
		"                        bytes of MTU are received whatever it is\n"
		"  --cpu N               poll on CPU N (default 1, or 0 on one CPU); give two\n"
		"                        ustackd on one machine different CPUs\n"
		"  --idle-spin-us N      poll this long after the last work before sleeping\n"
		"                        (default 200)\n"
		"  --idle-sleep-us N     where the port has no receive interrupt, sleep at most\n"
		"                        N us at a time (default 50); 0 = never sleep (busy poll)\n"
		"  --lock PATH           lock file: one daemon per path (default /run/ustack/ustackd.lock)\n"
		"  --ctl PATH            control socket for `ustack stat` (default /run/ustack/ctl.sock)\n"
		"  -v                    show DPDK's logs\n");
}

static int
parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

static int
parse_cidr(const char *s, struct daemon_config *c)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	char *end;
	long len = strtol(slash + 1, &end, 10);
	if (*end != '\0' || len < 1 || len > 32 || parse_ip(buf, &c->ip) < 0 || c->ip == 0)
		return -1;
	c->prefix = (uint8_t)len;
	return 0;
}

static int
set_services(struct daemon_config *c, const char *list)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *tok = strtok(buf, ","); tok != NULL; tok = strtok(NULL, ",")) {
		bool all = strcmp(tok, "all") == 0;
		bool known = all;
		if (all || strcmp(tok, "udp-echo") == 0)
			known = c->services.udp_echo = true;
		if (all || strcmp(tok, "tcp-echo") == 0)
			known = c->services.tcp_echo = true;
		if (all || strcmp(tok, "tcp-discard") == 0)
			known = c->services.tcp_discard = true;
		if (all || strcmp(tok, "tcp-chargen") == 0)
			known = c->services.tcp_chargen = true;
		if (!known)
			return -1;
	}
	return 0;
}

/* The stack takes the host's TCP/IP tunables, the way a program moved from
 * the kernel to ustack expects to be tuned; `ustack sysctl -w` changes them
 * in ustackd alone later. */
static void
load_host_sysctls(struct ust_sysctl *sc)
{
	const char *name;
	for (unsigned i = 0; (name = ust_sysctl_name(i)) != NULL; i++) {
		char path[128], val[128], old[128];
		snprintf(path, sizeof(path), "/proc/sys/%s", name);
		for (char *p = path + strlen("/proc/sys/"); *p; p++)
			if (*p == '.')
				*p = '/';
		FILE *f = fopen(path, "re");
		if (f == NULL)
			continue;
		if (fgets(val, sizeof(val), f) != NULL) {
			val[strcspn(val, "\n")] = '\0';
			ust_sysctl_get(sc, name, old, sizeof(old));
			if (ust_sysctl_set(sc, name, val) < 0)
				fprintf(stderr, "ustackd: the host's %s = %s is not supported here — keeping %s\n",
					name, val, old);
		}
		fclose(f);
	}
}

/* One option, from the command line or the config file. */
static int
apply(struct daemon_config *c, const char *key, const char *val)
{
	if (strcmp(key, "vdev") == 0) {
		snprintf(c->vdev, sizeof(c->vdev), "%s", val);
	} else if (strcmp(key, "pci") == 0) {
		snprintf(c->pci, sizeof(c->pci), "%s", val);
	} else if (strcmp(key, "ip") == 0) {
		if (parse_cidr(val, c) < 0) {
			fprintf(stderr, "ustackd: --ip '%s': not an IPv4 address/prefix — write it like 198.18.0.2/24\n", val);
			return -1;
		}
	} else if (strcmp(key, "gw") == 0) {
		if (parse_ip(val, &c->gw) < 0) {
			fprintf(stderr, "ustackd: --gw '%s': not an IPv4 address — write it like 198.18.0.1\n", val);
			return -1;
		}
	} else if (strcmp(key, "ip6") == 0) {
		char buf[64];
		snprintf(buf, sizeof(buf), "%s", val);
		char *slash = strchr(buf, '/'), *end = NULL;
		long len = slash != NULL ? strtol(slash + 1, &end, 10) : -1;
		if (slash != NULL)
			*slash = '\0';
		if (slash == NULL || *end != '\0' || len < 1 || len > 128 ||
		    inet_pton(AF_INET6, buf, c->ip6) != 1) {
			fprintf(stderr, "ustackd: --ip6 '%s': not an IPv6 address/prefix — write it like 2001:2::2/64\n", val);
			return -1;
		}
		/* fe80::/LEN asks for IPv6 with the link-local address only. */
		if (c->ip6[0] == 0xfe && (c->ip6[1] & 0xc0) == 0x80)
			memset(c->ip6, 0, 16);
		c->prefix6 = (uint8_t)len;
		c->ip6_set = true;
	} else if (strcmp(key, "gw6") == 0) {
		if (inet_pton(AF_INET6, val, c->gw6) != 1) {
			fprintf(stderr, "ustackd: --gw6 '%s': not an IPv6 address — write it like 2001:2::1\n", val);
			return -1;
		}
	} else if (strcmp(key, "mac") == 0) {
		unsigned m[6];
		char tail;
		if (sscanf(val, "%x:%x:%x:%x:%x:%x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &tail) != 6 ||
		    m[0] > 255 || m[1] > 255 || m[2] > 255 || m[3] > 255 || m[4] > 255 || m[5] > 255 ||
		    (m[0] & 1)) {
			fprintf(stderr, "ustackd: --mac '%s': not a unicast MAC — write it like 02:00:00:00:00:02\n", val);
			return -1;
		}
		for (int i = 0; i < 6; i++)
			c->mac[i] = (uint8_t)m[i];
		c->mac_set = true;
	} else if (strcmp(key, "ifname") == 0) {
		if (val[0] == '\0' || strlen(val) >= sizeof(c->ifname) || strchr(val, '/') != NULL ||
		    strchr(val, ':') != NULL || strpbrk(val, " \t") != NULL) {
			fprintf(stderr, "ustackd: --ifname '%s': give 1 to 15 characters without '/', ':' or spaces\n", val);
			return -1;
		}
		snprintf(c->ifname, sizeof(c->ifname), "%s", val);
	} else if (strcmp(key, "ifindex") == 0) {
		char *end;
		unsigned long v = strtoul(val, &end, 10);
		if (*end != '\0' || v < 2 || v > INT32_MAX) {
			fprintf(stderr, "ustackd: --ifindex '%s': give a number from 2 to %d (1 is loopback's)\n",
				val, INT32_MAX);
			return -1;
		}
		c->ifindex = (uint32_t)v;
	} else if (strcmp(key, "mbufs") == 0) {
		c->mbufs = (unsigned)strtoul(val, NULL, 10);
	} else if (strcmp(key, "mtu") == 0) {
		char *end;
		unsigned long v = strtoul(val, &end, 10);
		if (*end != '\0' || v < 576 || v > 9000) {
			fprintf(stderr, "ustackd: --mtu '%s': give a number from 576 to 9000\n", val);
			return -1;
		}
		c->mtu = (uint16_t)v;
	} else if (strcmp(key, "idle-sleep-us") == 0) {
		c->idle_sleep_us = (unsigned)strtoul(val, NULL, 10);
	} else if (strcmp(key, "cpu") == 0) {
		char *end;
		long v = strtol(val, &end, 10);
		if (*end != '\0' || v < 0 || v >= sysconf(_SC_NPROCESSORS_ONLN) || v >= RTE_MAX_LCORE) {
			fprintf(stderr, "ustackd: --cpu '%s': give an online CPU, 0 to %ld\n", val,
				sysconf(_SC_NPROCESSORS_ONLN) - 1);
			return -1;
		}
		c->cpu = (int)v;
	} else if (strcmp(key, "idle-spin-us") == 0) {
		c->idle_spin_us = (unsigned)strtoul(val, NULL, 10);
	} else if (strcmp(key, "tcp-connect") == 0) {
		char ip[64];
		snprintf(ip, sizeof(ip), "%s", val);
		char *colon = strrchr(ip, ':');
		char *end = NULL;
		long port = colon != NULL ? strtol(colon + 1, &end, 10) : 0;
		if (colon != NULL)
			*colon = '\0';
		if (colon == NULL || *end != '\0' || port < 1 || port > 65535 ||
		    parse_ip(ip, &c->services.connect_ip) < 0) {
			fprintf(stderr, "ustackd: --tcp-connect '%s': write it like 198.18.0.1:5001\n", val);
			return -1;
		}
		c->services.connect_port = (uint16_t)port;
	} else if (strcmp(key, "send-bytes") == 0) {
		c->services.send_bytes = strtoull(val, NULL, 10);
	} else if (strcmp(key, "ctl") == 0) {
		snprintf(c->ctl_path, sizeof(c->ctl_path), "%s", val);
	} else if (strcmp(key, "lock") == 0) {
		snprintf(c->lock_path, sizeof(c->lock_path), "%s", val);
	} else if (strcmp(key, "services") == 0) {
		if (set_services(c, val) < 0) {
			fprintf(stderr, "ustackd: --services '%s': unknown service — choose from udp-echo, tcp-echo, tcp-discard, tcp-chargen, all\n", val);
			return -1;
		}
	} else {
		fprintf(stderr, "ustackd: unknown setting '%s' — see ustackd --help\n", key);
		return -1;
	}
	return 0;
}

/* The port as programs on ustack see it (src/preload/iface.c). */
static void
set_iface(struct ust_ipc_server *ipc, const struct daemon_config *c, const struct ust_stack *st)
{
	struct ust_ipc_if f = {.index = c->ifindex, .mtu = st->nif->mtu, .prefix4 = c->prefix,
			       .addr4 = c->ip};
	snprintf(f.name, sizeof(f.name), "%s", c->ifname);
	memcpy(f.mac, st->nif->mac, 6);
	if (c->ip6_set) {
		memcpy(f.addr6, c->ip6, 16);
		f.prefix6 = c->prefix6;
		memcpy(f.ll6, ust_nd6_linklocal_cfg(st), 16);
	}
	ust_ipc_server_set_if(ipc, &f);
}

static int
load_config(struct daemon_config *c, const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "ustackd: %s: %s — give an existing config file\n", path, strerror(errno));
		return -1;
	}
	char line[512];
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		char *p = line + strspn(line, " \t");
		p[strcspn(p, "\r\n")] = '\0';
		if (*p == '#' || *p == '\0')
			continue;
		char *eq = strchr(p, '=');
		if (eq == NULL) {
			fprintf(stderr, "ustackd: %s: '%s' is not key=value\n", path, p);
			rc = -1;
			break;
		}
		*eq = '\0';
		rc = apply(c, p, eq + 1);
	}
	fclose(f);
	return rc;
}

static int
parse_args(int argc, char **argv, struct daemon_config *c)
{
	static const struct option opts[] = {
		{"vdev", required_argument, 0, 'd'},  {"pci", required_argument, 0, 'p'},
		{"ip", required_argument, 0, 'i'},    {"gw", required_argument, 0, 'g'},
		{"config", required_argument, 0, 'c'}, {"services", required_argument, 0, 's'},
		{"udp-echo", no_argument, 0, 'u'},    {"mbufs", required_argument, 0, 'm'},
		{"idle-sleep-us", required_argument, 0, 'I'}, {"lock", required_argument, 0, 'l'},
		{"tcp-connect", required_argument, 0, 'C'}, {"send-bytes", required_argument, 0, 'B'},
		{"mac", required_argument, 0, 'M'},          {"ctl", required_argument, 0, 'S'},
		{"idle-spin-us", required_argument, 0, 'P'}, {"mtu", required_argument, 0, 'U'},
		{"ip6", required_argument, 0, '6'},   {"gw6", required_argument, 0, 'G'},
		{"cpu", required_argument, 0, 'K'},
		{"ifname", required_argument, 0, 'N'}, {"ifindex", required_argument, 0, 'X'},
		{"help", no_argument, 0, 'h'},        {0, 0, 0, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		int rc = 0;
		switch (o) {
		case 'd': rc = apply(c, "vdev", optarg); break;
		case 'p': rc = apply(c, "pci", optarg); break;
		case 'i': rc = apply(c, "ip", optarg); break;
		case 'g': rc = apply(c, "gw", optarg); break;
		case '6': rc = apply(c, "ip6", optarg); break;
		case 'G': rc = apply(c, "gw6", optarg); break;
		case 'c': rc = load_config(c, optarg); break;
		case 's': rc = apply(c, "services", optarg); break;
		case 'u': c->services.udp_echo = true; break;
		case 'm': rc = apply(c, "mbufs", optarg); break;
		case 'I': rc = apply(c, "idle-sleep-us", optarg); break;
		case 'P': rc = apply(c, "idle-spin-us", optarg); break;
		case 'U': rc = apply(c, "mtu", optarg); break;
		case 'K': rc = apply(c, "cpu", optarg); break;
		case 'N': rc = apply(c, "ifname", optarg); break;
		case 'X': rc = apply(c, "ifindex", optarg); break;
		case 'l': rc = apply(c, "lock", optarg); break;
		case 'C': rc = apply(c, "tcp-connect", optarg); break;
		case 'B': rc = apply(c, "send-bytes", optarg); break;
		case 'M': rc = apply(c, "mac", optarg); break;
		case 'S': rc = apply(c, "ctl", optarg); break;
		case 'v': c->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
		if (rc < 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "ustackd: unexpected argument '%s' — see ustackd --help\n", argv[optind]);
		return -1;
	}
	if (c->vdev[0] == '\0' && c->pci[0] == '\0') {
		fprintf(stderr, "ustackd: no port given — pass --vdev net_tap0,iface=NAME or --pci ADDR\n");
		return -1;
	}
	if (c->ip == 0) {
		fprintf(stderr, "ustackd: no address given — pass --ip 198.18.0.2/24 (address/prefix)\n");
		return -1;
	}
	return 0;
}

/* The checks DPDK would turn into pages of log: one line each instead. */
static int
preflight(const struct daemon_config *c)
{
	if (geteuid() != 0) {
		fprintf(stderr, "ustackd: not root — run as root (DPDK needs raw device and memory access)\n");
		return -1;
	}
	if (strncmp(c->vdev, "net_tap", 7) == 0 && access("/dev/net/tun", R_OK | W_OK) != 0) {
		fprintf(stderr, "ustackd: /dev/net/tun: %s — load the tun module (modprobe tun) or "
				"run as root with CAP_NET_ADMIN\n",
			strerror(errno));
		return -1;
	}
	return 0;
}

static int
take_lock(const char *path)
{
	char dir[256];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "ustackd: %s: %s — choose another --lock path\n", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char pid[32] = "?";
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
		if (n > 0)
			pid[strcspn(pid, "\n")] = '\0';
		fprintf(stderr, "ustackd: another ustackd (pid %s) holds %s — stop it first, or give "
				"this one its own --lock\n",
			pid, path);
		close(fd);
		return -1;
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) < 0)
		perror("ustackd: lock file");
	return fd;
}

static bool
hugepages_free(void)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");
	unsigned long n = 0;
	if (f != NULL) {
		if (fscanf(f, "%lu", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n > 0;
}

static int
eal_init(const struct daemon_config *c, const char *prog)
{
	char *argv[EAL_ARGS_MAX];
	int argc = 0;
	static char vdev_arg[300], pci_arg[80], prefix_arg[64], lcores_arg[64], main_arg[64];
	argv[argc++] = (char *)prog;
	/* The main lcore waits for signals, the next one polls: CPU 1 (or
	 * --cpu) polls, and the main lcore sits on another CPU. */
	int cpu = c->cpu >= 0 ? c->cpu : sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0;
	int main_cpu = cpu == 0 ? 1 : 0;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		argv[argc++] = (char *)"-l0";
	} else {
		snprintf(lcores_arg, sizeof(lcores_arg), "-l%d,%d", main_cpu < cpu ? main_cpu : cpu,
			 main_cpu < cpu ? cpu : main_cpu);
		snprintf(main_arg, sizeof(main_arg), "--main-lcore=%d", main_cpu);
		argv[argc++] = lcores_arg;
		argv[argc++] = main_arg;
	}
	if (!hugepages_free()) {
		argv[argc++] = (char *)"--no-huge";
		argv[argc++] = (char *)"-m1024";
		argv[argc++] = (char *)"--no-shconf";
	} else {
		argv[argc++] = (char *)"--in-memory";
	}
	argv[argc++] = (char *)"--no-telemetry";
	/* A file prefix per daemon keeps a second one from fighting over
	 * /var/run/dpdk/rte before our lock has even said no. */
	snprintf(prefix_arg, sizeof(prefix_arg), "--file-prefix=ustackd%d", getpid());
	argv[argc++] = prefix_arg;
	if (c->pci[0] != '\0') {
		snprintf(pci_arg, sizeof(pci_arg), "-a%s", c->pci);
		argv[argc++] = pci_arg;
	} else {
		argv[argc++] = (char *)"--no-pci";
	}
	if (c->vdev[0] != '\0') {
		snprintf(vdev_arg, sizeof(vdev_arg), "--vdev=%s", c->vdev);
		argv[argc++] = vdev_arg;
	}
	if (!c->verbose)
		argv[argc++] = (char *)"--log-level=*:error";
	argv[argc] = NULL;
	/* DPDK's own log lines go to memory unless -v: a person reads our one
	 * line; with -v they see everything. */
	char *eal_log = NULL;
	size_t eal_log_len = 0;
	FILE *mem = c->verbose ? NULL : open_memstream(&eal_log, &eal_log_len);
	if (mem != NULL)
		rte_openlog_stream(mem);
	int rc = rte_eal_init(argc, argv);
	if (mem != NULL) {
		rte_openlog_stream(NULL);
		fclose(mem);
		free(eal_log);
	}
	if (rc < 0 && rte_errno == ENODEV) {
		fprintf(stderr, "ustackd: no such DPDK device '%s' — use --vdev net_tap0,iface=NAME, "
				"net_pcap0,... or net_memif0, or --pci with a NIC bound to vfio-pci\n",
			c->vdev[0] != '\0' ? c->vdev : c->pci);
		return -1;
	}
	if (rc < 0) {
		fprintf(stderr, "ustackd: DPDK EAL init failed: %s — rerun with -v to see why\n",
			rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

struct loop_ctx {
	struct ust_stack *st;       /* the stack */
	struct ust_port *port;      /* its port, for the receive interrupt */
	struct ust_ctl *ctl;        /* control socket */
	struct ust_ipc_server *ipc; /* libustack.so clients */
	struct ust_services *sv;    /* built-in services */
	unsigned idle_sleep_us;     /* --idle-sleep-us */
	unsigned idle_spin_us;      /* --idle-spin-us */
	int wake_fd;                /* eventfd: the main thread saw a signal */
};

static void
print_counters(const struct ust_stack *st)
{
	printf("ustackd counters:\n");
	for (int i = 0; i < UST_STAT_MAX; i++)
		if (st->stats.stat[i] != 0)
			printf("  %-44s %" PRIu64 "\n", ust_stat_name(i), st->stats.stat[i]);
	for (int i = 1; i < UST_DROP_MAX; i++)
		if (st->stats.drop[i] != 0)
			printf("  drop: %-38s %" PRIu64 "\n", ust_drop_name(i), st->stats.drop[i]);
	fflush(stdout);
}

#define SLEEP_FDS 1024

/* Sleep until something may need the loop (see the top of this file).
 * Returns without sleeping when anything is pending. */
static void
sleep_until_work(struct loop_ctx *lc, uint64_t now)
{
	uint64_t dl = ust_stack_next_deadline(lc->st);
	if (dl != UST_TIME_NEVER && dl <= now)
		return;
	int rx_fd = ust_port_rx_intr_fd(lc->port);
	uint64_t wait = dl == UST_TIME_NEVER ? UINT64_MAX : dl - now;
	if (rx_fd < 0 && wait > (uint64_t)lc->idle_sleep_us * UST_NS_PER_US)
		wait = (uint64_t)lc->idle_sleep_us * UST_NS_PER_US;
	if (rx_fd >= 0 && ust_port_rx_intr_arm(lc->port, true) < 0)
		return;
	/* A frame that came before the interrupt was armed raised none. */
	if (ust_stack_poll(lc->st, now) != 0 || !ust_ipc_server_sleep(lc->ipc)) {
		if (rx_fd >= 0)
			ust_port_rx_intr_arm(lc->port, false);
		return;
	}
	static struct pollfd fds[SLEEP_FDS];
	unsigned n = 0;
	fds[n++] = (struct pollfd){.fd = lc->wake_fd, .events = POLLIN};
	if (rx_fd >= 0)
		fds[n++] = (struct pollfd){.fd = rx_fd, .events = POLLIN};
	n += ust_ctl_pollfds(lc->ctl, fds + n, SLEEP_FDS - n);
	n += ust_ipc_server_pollfds(lc->ipc, fds + n, SLEEP_FDS - n);
	struct timespec ts = {.tv_sec = (time_t)(wait / UST_NS_PER_S), .tv_nsec = (long)(wait % UST_NS_PER_S)};
	int r = ppoll(fds, n, wait == UINT64_MAX ? NULL : &ts, NULL);
	ust_ipc_server_wake(lc->ipc);
	if (rx_fd >= 0) {
		ust_port_rx_intr_arm(lc->port, false);
		if (r > 0 && (fds[1].revents & POLLIN))
			ust_port_rx_intr_ack(lc->port);
	}
	uint64_t v;
	if (r > 0 && (fds[0].revents & POLLIN) && read(lc->wake_fd, &v, sizeof(v)) < 0)
		return; /* another wake-up took the count */
}

static int
poll_loop(void *arg)
{
	struct loop_ctx *lc = arg;
	uint64_t last_work_ns = 0;
	uint64_t last_ctl_ns = 0;
	ust_ipc_server_set_cpu(lc->ipc, sched_getcpu());
	while (!atomic_load_explicit(&stop_requested, memory_order_relaxed)) {
		uint64_t now = now_ns();
		unsigned work = ust_stack_poll(lc->st, now);
		if (lc->sv != NULL)
			work += ust_services_poll(lc->sv);
		work += ust_ipc_server_poll(lc->ipc);
		if (atomic_exchange(&stats_requested, false))
			print_counters(lc->st);
		/* The control sockets cost system calls: look at them once a
		 * millisecond while busy, and after every sleep. */
		if (now - last_ctl_ns >= UST_NS_PER_MS) {
			last_ctl_ns = now;
			work += ust_ctl_poll(lc->ctl, lc->st, lc->ipc);
			work += ust_ipc_server_poll_ctl(lc->ipc);
		}
		if (work != 0) {
			last_work_ns = now;
			continue;
		}
		if (lc->idle_sleep_us == 0 || now - last_work_ns < (uint64_t)lc->idle_spin_us * UST_NS_PER_US)
			continue;
		sleep_until_work(lc, now);
		last_ctl_ns = 0;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct daemon_config c = {.mbufs = 8191, .idle_sleep_us = 50, .idle_spin_us = 200, .cpu = -1,
				  .lock_path = "/run/ustack/ustackd.lock", .ctl_path = "/run/ustack/ctl.sock",
				  .ifname = "ustack0", .ifindex = 65536};
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(argc, argv, &c) < 0 || preflight(&c) < 0)
		return 2;
	/* Each client channel holds an eventfd here: take every fd we may. */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	int lock_fd = take_lock(c.lock_path);
	if (lock_fd < 0)
		return 2;
	/* Before DPDK: a second daemon must fail before it creates a port. */
	struct ust_ctl *ctl = ust_ctl_open(c.ctl_path);
	if (ctl == NULL) {
		close(lock_fd);
		return 2;
	}
	if (eal_init(&c, argv[0]) < 0) {
		ust_ctl_close(ctl);
		close(lock_fd);
		return 1;
	}
	int rc = 1;
	struct ust_port *port = NULL;
	struct ust_stack *st = NULL;
	struct ust_services *sv = NULL;
	struct ust_ipc_server *ipc = NULL;
	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "ustackd: no DPDK port found — check --vdev/--pci (a PCI NIC must be bound "
				"to vfio-pci with dpdk-devbind.py)\n");
		goto out;
	}
	uint16_t port_id = 0;
	RTE_ETH_FOREACH_DEV(port_id) break;
	port = ust_port_open(port_id, c.mbufs, rte_socket_id(), c.mtu);
	if (port == NULL)
		goto out;
	if (c.mac_set)
		memcpy(ust_port_netif(port)->mac, c.mac, 6);
	struct ust_stack_config sc = {.ip4_addr = c.ip, .ip4_prefix = c.prefix, .ip4_gateway = c.gw,
				      .seed = now_ns() ^ ((uint64_t)getpid() << 32),
				      .ip6_enable = c.ip6_set, .ip6_prefix = c.prefix6, .ifindex = c.ifindex};
	memcpy(sc.ip6_addr, c.ip6, 16);
	memcpy(sc.ip6_gateway, c.gw6, 16);
	st = ust_stack_create(&sc, ust_port_netif(port), now_ns());
	if (st == NULL) {
		fprintf(stderr, "ustackd: cannot create the stack: out of memory\n");
		goto out;
	}
	load_host_sysctls(&st->sysctl);
	sv = ust_services_start(st, &c.services);
	ipc = ust_ipc_server_create(st);
	if (sv == NULL || ipc == NULL)
		goto out;
	set_iface(ipc, &c, st);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	const uint8_t *m = ust_port_netif(port)->mac;
	struct in_addr a = {.s_addr = htonl(c.ip)};
	printf("ustackd: up on port %u mac %02x:%02x:%02x:%02x:%02x:%02x ip %s/%u mtu %u%s%s%s%s if %s index %u\n",
	       port_id, m[0], m[1], m[2], m[3], m[4], m[5], inet_ntoa(a), c.prefix,
	       ust_port_netif(port)->mtu, c.services.udp_echo ? " udp-echo" : "",
	       c.services.tcp_echo ? " tcp-echo" : "", c.services.tcp_discard ? " tcp-discard" : "",
	       c.services.tcp_chargen ? " tcp-chargen" : "", c.ifname, c.ifindex);

	struct loop_ctx lc = {.st = st, .port = port, .ctl = ctl, .ipc = ipc, .sv = sv,
			      .idle_sleep_us = c.idle_sleep_us, .idle_spin_us = c.idle_spin_us,
			      .wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
	if (lc.wake_fd < 0) {
		fprintf(stderr, "ustackd: eventfd: %s\n", strerror(errno));
		goto out;
	}
	unsigned worker = rte_get_next_lcore(-1, 1, 0);
	if (worker < RTE_MAX_LCORE) {
		rte_eal_remote_launch(poll_loop, &lc, worker);
		/* Signals come here; a sleeping poll loop hears of them. */
		uint64_t one = 1;
		while (!atomic_load(&stop_requested)) {
			pause();
			if (write(lc.wake_fd, &one, sizeof(one)) < 0)
				perror("ustackd: wake the poll loop");
		}
		rte_eal_wait_lcore(worker);
	} else {
		poll_loop(&lc);
	}
	close(lc.wake_fd);
	printf("ustackd: stopping\n");
	print_counters(st);
	ust_port_print_stats(port);
	rc = 0;
out:
	ust_ctl_close(ctl);
	ust_ipc_server_destroy(ipc);
	ust_services_stop(sv);
	ust_stack_destroy(st);
	ust_port_close(port);
	/* Without shared config DPDK still leaves its empty runtime folder. */
	char run_dir[PATH_MAX];
	snprintf(run_dir, sizeof(run_dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	rmdir(run_dir);
	close(lock_fd);
	return rc;
}
