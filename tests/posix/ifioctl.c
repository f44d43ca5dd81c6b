/* Interface and other ioctls on TCP and UDP sockets: the answers of the
 * host's kernel (loopback's index, name, flags, addresses, MTU), the errors
 * for an unknown interface and an unknown request, and the socket's own
 * ioctls (SIOCATMARK, FIOCLEX). Only loopback is printed: other interfaces
 * come and go while the tests run. */
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/sockios.h>

#include "posix.h"

static void ifreq_named(struct ifreq *r, const char *name)
{
    memset(r, 0, sizeof *r);
    snprintf(r->ifr_name, sizeof r->ifr_name, "%s", name);
}

static void show_sin(const char *name, const struct sockaddr *sa)
{
    char ip[INET_ADDRSTRLEN] = "?";
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    SHOW(name, "family=%d addr=%s", sa->sa_family, ip);
}

static void interfaces(const char *kind, int fd)
{
    char name[64];
    struct ifreq r;

#define NAME(s) (snprintf(name, sizeof name, "%s_%s", kind, (s)), name)
    ifreq_named(&r, "lo");
    CHECK(NAME("siocgifindex_lo"), ioctl(fd, SIOCGIFINDEX, &r));
    SHOW(NAME("siocgifindex_lo_value"), "%d", r.ifr_ifindex);
    int idx = r.ifr_ifindex;
    memset(&r, 0, sizeof r);
    r.ifr_ifindex = idx;
    CHECK(NAME("siocgifname_lo"), ioctl(fd, SIOCGIFNAME, &r));
    SHOW(NAME("siocgifname_lo_value"), "%s", r.ifr_name);
    ifreq_named(&r, "lo");
    CHECK(NAME("siocgifflags_lo"), ioctl(fd, SIOCGIFFLAGS, &r));
    SHOW(NAME("siocgifflags_lo_value"), "up=%d loopback=%d running=%d",
         (r.ifr_flags & IFF_UP) != 0, (r.ifr_flags & IFF_LOOPBACK) != 0,
         (r.ifr_flags & IFF_RUNNING) != 0);
    ifreq_named(&r, "lo");
    CHECK(NAME("siocgifaddr_lo"), ioctl(fd, SIOCGIFADDR, &r));
    show_sin(NAME("siocgifaddr_lo_value"), &r.ifr_addr);
    ifreq_named(&r, "lo");
    CHECK(NAME("siocgifnetmask_lo"), ioctl(fd, SIOCGIFNETMASK, &r));
    show_sin(NAME("siocgifnetmask_lo_value"), &r.ifr_netmask);
    ifreq_named(&r, "lo");
    CHECK(NAME("siocgifhwaddr_lo"), ioctl(fd, SIOCGIFHWADDR, &r));
    SHOW(NAME("siocgifhwaddr_lo_value"), "family=%d zero=%d", r.ifr_hwaddr.sa_family,
         memcmp(r.ifr_hwaddr.sa_data, "\0\0\0\0\0\0", 6) == 0);
    ifreq_named(&r, "lo");
    CHECK(NAME("siocgifmtu_lo"), ioctl(fd, SIOCGIFMTU, &r));
    SHOW(NAME("siocgifmtu_lo_positive"), "%d", r.ifr_mtu > 0);
    ifreq_named(&r, "nosuchif0");
    CHECK(NAME("siocgifflags_unknown_if"), ioctl(fd, SIOCGIFFLAGS, &r));
    memset(&r, 0, sizeof r);
    r.ifr_ifindex = 99999;
    CHECK(NAME("siocgifname_unknown_index"), ioctl(fd, SIOCGIFNAME, &r));
    CHECK(NAME("unknown_request"), ioctl(fd, _IO('x', 99), &r));
    CHECK(NAME("siocgifflags_null"), ioctl(fd, SIOCGIFFLAGS, NULL));

    /* SIOCGIFCONF: first the length it needs, then the list. */
    struct ifconf ifc;
    memset(&ifc, 0, sizeof ifc);
    CHECK(NAME("siocgifconf_len"), ioctl(fd, SIOCGIFCONF, &ifc));
    SHOW(NAME("siocgifconf_len_whole_entries"), "%d",
         ifc.ifc_len > 0 && ifc.ifc_len % (int)sizeof(struct ifreq) == 0);
    struct ifreq list[64];
    ifc.ifc_len = sizeof list;
    ifc.ifc_req = list;
    CHECK(NAME("siocgifconf"), ioctl(fd, SIOCGIFCONF, &ifc));
    int lo = 0;
    for (int i = 0; i < ifc.ifc_len / (int)sizeof(struct ifreq); i++) {
        struct sockaddr_in *in = (struct sockaddr_in *)&list[i].ifr_addr;
        if (strcmp(list[i].ifr_name, "lo") == 0 && in->sin_addr.s_addr == htonl(INADDR_LOOPBACK))
            lo = 1;
    }
    SHOW(NAME("siocgifconf_has_lo"), "%d", lo);
#undef NAME
}

int main(void)
{
    posix_init();
    uint16_t port;
    int lfd = tcp_listener(&port, 4);
    int c, s;
    tcp_pair(lfd, port, &c, &s);
    int u = socket(AF_INET, SOCK_DGRAM, 0);

    interfaces("tcp", c);
    interfaces("udp", u);

    int v = -1;
    CHECK("tcp_siocatmark", ioctl(c, SIOCATMARK, &v));
    SHOW("tcp_siocatmark_value", "%d", v);
    CHECK("listener_siocatmark", ioctl(lfd, SIOCATMARK, &v));
    CHECK("udp_siocatmark", ioctl(u, SIOCATMARK, &v));
    CHECK("tcp_fioclex", ioctl(c, FIOCLEX));
    SHOW("tcp_fioclex_cloexec", "%d", (fcntl(c, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK("tcp_fionclex", ioctl(c, FIONCLEX));
    SHOW("tcp_fionclex_cloexec", "%d", (fcntl(c, F_GETFD) & FD_CLOEXEC) != 0);
    /* Still a working socket afterwards. */
    CHECK("send_after_ioctls", send(c, "ok", 2, 0));
    char buf[4];
    CHECK("recv_after_ioctls", recv_all(s, buf, 2));
    close(c);
    close(s);
    close(u);
    close(lfd);
    return 0;
}
