/*
 * ustackd's port as an interface of the program's host: its name and index
 * (ustackd's --ifname/--ifindex, in the region's header) answer
 * if_nametoindex, if_indextoname, if_nameindex and getifaddrs beside the
 * kernel's interfaces, and the interface ioctls naming it on a ustack
 * socket. So a program finds the index it must give a link-local peer as
 * sin6_scope_id, and the one IPV6_PKTINFO reports, where it looks for it.
 *
 * Not here: glibc's getaddrinfo and getnameinfo read a "%name" scope with
 * their internal copies of if_nametoindex, which no library can replace;
 * "%index" works. Netlink (ip addr) stays the kernel's.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "preload.h"

/* The port, or NULL when ustackd cannot be reached (then the kernel's
 * interfaces are all there is). */
static const struct ust_ipc_if *
port(void)
{
	if (ust_chan_ready() < 0)
		return NULL;
	const struct ust_ipc_region *r = ust_chan_region();
	return r != NULL && r->iface.index != 0 ? &r->iface : NULL;
}

unsigned
ust_if_index(const char *name)
{
	const struct ust_ipc_if *f = name != NULL ? port() : NULL;
	return f != NULL && strncmp(name, f->name, sizeof(f->name)) == 0 ? f->index : 0;
}

const char *
ust_if_name(unsigned index)
{
	const struct ust_ipc_if *f = index != 0 ? port() : NULL;
	return f != NULL && f->index == index ? f->name : NULL;
}

struct if_nameindex *
ust_if_nameindex(void)
{
	struct if_nameindex *k = ust_libc.if_nameindex();
	const struct ust_ipc_if *f = port();
	if (k == NULL || f == NULL)
		return k;
	/* glibc's if_freenameindex frees each name, then the array: build
	 * ours the same way. */
	size_t n = 0;
	while (k[n].if_index != 0)
		n++;
	struct if_nameindex *out = calloc(n + 2, sizeof(*out));
	char *mine = strdup(f->name);
	if (out == NULL || mine == NULL) {
		free(out);
		free(mine);
		ust_libc.if_freenameindex(k);
		errno = ENOBUFS;
		return NULL;
	}
	memcpy(out, k, n * sizeof(*out));
	out[n].if_index = f->index;
	out[n].if_name = mine;
	free(k); /* the names now belong to out */
	return out;
}

/* One entry of a getifaddrs list with room for everything it points at, so
 * a list is one block, freed by glibc's freeifaddrs (a free of its first
 * entry) as glibc's own. */
struct ifa_node {
	struct ifaddrs ifa;
	struct sockaddr_storage addr, mask, peer;
	char name[IF_NAMESIZE];
	struct rtnl_link_stats data; /* an AF_PACKET entry's counters */
};

static size_t
sa_len(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET:
		return sizeof(struct sockaddr_in);
	case AF_INET6:
		return sizeof(struct sockaddr_in6);
	case AF_PACKET: {
		size_t n = offsetof(struct sockaddr_ll, sll_addr) + ((const struct sockaddr_ll *)sa)->sll_halen;
		return n < sizeof(struct sockaddr_ll) ? sizeof(struct sockaddr_ll) : n;
	}
	default:
		return sizeof(struct sockaddr);
	}
}

static struct sockaddr *
put_sa(struct sockaddr_storage *to, const struct sockaddr *from)
{
	if (from == NULL)
		return NULL;
	size_t n = sa_len(from);
	memcpy(to, from, n < sizeof(*to) ? n : sizeof(*to));
	return (struct sockaddr *)to;
}

static void
copy_node(struct ifa_node *d, const struct ifaddrs *s)
{
	snprintf(d->name, sizeof(d->name), "%s", s->ifa_name != NULL ? s->ifa_name : "");
	d->ifa.ifa_name = d->name;
	d->ifa.ifa_flags = s->ifa_flags;
	d->ifa.ifa_addr = put_sa(&d->addr, s->ifa_addr);
	d->ifa.ifa_netmask = put_sa(&d->mask, s->ifa_netmask);
	d->ifa.ifa_broadaddr = put_sa(&d->peer, s->ifa_broadaddr);
	if (s->ifa_data != NULL && s->ifa_addr != NULL && s->ifa_addr->sa_family == AF_PACKET) {
		memcpy(&d->data, s->ifa_data, sizeof(d->data));
		d->ifa.ifa_data = &d->data;
	}
}

static void
v4(struct sockaddr_storage *ss, uint32_t a)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(a);
}

static void
v6(struct sockaddr_storage *ss, const uint8_t a[16], uint32_t scope)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	in6->sin6_family = AF_INET6;
	memcpy(&in6->sin6_addr, a, 16);
	in6->sin6_scope_id = scope;
}

static void
v6_mask(struct sockaddr_storage *ss, unsigned len)
{
	uint8_t m[16] = {0};
	for (unsigned i = 0; i < len && i < 128; i++)
		m[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	v6(ss, m, 0);
}

/* The port's entries as getifaddrs gives an interface's: its link
 * (AF_PACKET), its IPv4 address, its IPv6 addresses. Returns how many. */
static size_t
port_nodes(struct ifa_node *d, const struct ust_ipc_if *f)
{
	static const uint8_t none[16];
	unsigned flags = IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST;
	size_t n = 0;
	struct sockaddr_ll *ll = (struct sockaddr_ll *)&d[n].addr;
	ll->sll_family = AF_PACKET;
	ll->sll_ifindex = (int)f->index;
	ll->sll_hatype = ARPHRD_ETHER;
	ll->sll_halen = 6;
	memcpy(ll->sll_addr, f->mac, 6);
	struct sockaddr_ll *bc = (struct sockaddr_ll *)&d[n].peer;
	*bc = *ll;
	memset(bc->sll_addr, 0xff, 6);
	d[n].ifa.ifa_addr = (struct sockaddr *)&d[n].addr;
	d[n].ifa.ifa_broadaddr = (struct sockaddr *)&d[n].peer;
	d[n].ifa.ifa_data = &d[n].data; /* ustackd's counters are its own: zeros here */
	n++;
	if (f->addr4 != 0) {
		uint32_t mask = f->prefix4 == 0 ? 0 : ~0u << (32 - f->prefix4);
		v4(&d[n].addr, f->addr4);
		v4(&d[n].mask, mask);
		v4(&d[n].peer, f->addr4 | ~mask);
		d[n].ifa.ifa_addr = (struct sockaddr *)&d[n].addr;
		d[n].ifa.ifa_netmask = (struct sockaddr *)&d[n].mask;
		d[n].ifa.ifa_broadaddr = (struct sockaddr *)&d[n].peer;
		n++;
	}
	if (memcmp(f->addr6, none, 16) != 0) {
		v6(&d[n].addr, f->addr6, 0);
		v6_mask(&d[n].mask, f->prefix6);
		d[n].ifa.ifa_addr = (struct sockaddr *)&d[n].addr;
		d[n].ifa.ifa_netmask = (struct sockaddr *)&d[n].mask;
		n++;
	}
	if (memcmp(f->ll6, none, 16) != 0) {
		v6(&d[n].addr, f->ll6, f->index);
		v6_mask(&d[n].mask, 64);
		d[n].ifa.ifa_addr = (struct sockaddr *)&d[n].addr;
		d[n].ifa.ifa_netmask = (struct sockaddr *)&d[n].mask;
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(d[i].name, sizeof(d[i].name), "%s", f->name);
		d[i].ifa.ifa_name = d[i].name;
		d[i].ifa.ifa_flags = flags;
	}
	return n;
}

int
ust_if_getifaddrs(struct ifaddrs **out)
{
	struct ifaddrs *k;
	if (ust_libc.getifaddrs(&k) < 0)
		return -errno;
	const struct ust_ipc_if *f = port();
	if (f == NULL) {
		*out = k;
		return 0;
	}
	size_t n = 0;
	for (struct ifaddrs *i = k; i != NULL; i = i->ifa_next)
		n++;
	struct ifa_node *d = calloc(n + 4, sizeof(*d));
	if (d == NULL) {
		ust_libc.freeifaddrs(k);
		return -ENOMEM;
	}
	size_t j = 0;
	for (struct ifaddrs *i = k; i != NULL; i = i->ifa_next)
		copy_node(&d[j++], i);
	ust_libc.freeifaddrs(k);
	j += port_nodes(d + j, f);
	for (size_t i = 0; i + 1 < j; i++)
		d[i].ifa.ifa_next = &d[i + 1].ifa;
	*out = &d[0].ifa;
	return 0;
}

/* An interface ioctl on a ustack socket (Linux's dev_ioctl, and
 * devinet_ioctl's on an AF_INET one) that names the port: 1 and the
 * answer in *rc, or 0 when the kernel should answer it. */
int
ust_if_ioctl(int family, unsigned long req, void *arg, int *rc)
{
	struct ifreq *r = arg;
	const struct ust_ipc_if *f;
	if (req == SIOCGIFNAME) {
		f = r != NULL ? port() : NULL;
		if (f == NULL || r->ifr_ifindex != (int)f->index)
			return 0;
		snprintf(r->ifr_name, sizeof(r->ifr_name), "%s", f->name);
		*rc = 0;
		return 1;
	}
	switch (req) {
	case SIOCGIFINDEX:
	case SIOCGIFFLAGS:
	case SIOCGIFMTU:
	case SIOCGIFHWADDR:
		break;
	case SIOCGIFADDR:
	case SIOCGIFNETMASK:
	case SIOCGIFBRDADDR:
		if (family != AF_INET)
			return 0;
		break;
	default:
		return 0;
	}
	f = r != NULL ? port() : NULL;
	if (f == NULL || strncmp(r->ifr_name, f->name, sizeof(f->name)) != 0)
		return 0;
	*rc = 0;
	uint32_t mask = f->prefix4 == 0 ? 0 : ~0u << (32 - f->prefix4);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	switch (req) {
	case SIOCGIFINDEX:
		r->ifr_ifindex = (int)f->index;
		return 1;
	case SIOCGIFFLAGS:
		r->ifr_flags = IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST;
		return 1;
	case SIOCGIFMTU:
		r->ifr_mtu = (int)f->mtu;
		return 1;
	case SIOCGIFHWADDR:
		memset(&r->ifr_hwaddr, 0, sizeof(r->ifr_hwaddr));
		r->ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(r->ifr_hwaddr.sa_data, f->mac, 6);
		return 1;
	case SIOCGIFADDR:
		if (f->addr4 == 0) {
			*rc = -EADDRNOTAVAIL;
			return 1;
		}
		v4(&ss, f->addr4);
		break;
	case SIOCGIFNETMASK:
		v4(&ss, mask);
		break;
	default:
		v4(&ss, f->addr4 | ~mask);
		break;
	}
	memcpy(&r->ifr_addr, &ss, sizeof(struct sockaddr_in));
	return 1;
}
