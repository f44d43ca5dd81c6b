#!/usr/bin/env bash
# ustackd on DPDK's net_pcap: the replay fixture of a ping (ARP request, echo
# request) goes in through the PMD, and the replies ustack sends come out in
# the PMD's tx capture. Proves the port and mbuf wrapping on a second driver.
. "$(dirname "$0")/lib.sh"
fx=$(cd "$(dirname "$0")/../replay/fixtures" && pwd)

ust_start --vdev "net_pcap0,rx_pcap=$fx/ping.in.pcap,tx_pcap=$WORK/out.pcap" \
	--mac 02:00:00:00:00:02 --ip 198.18.0.2/24
sleep 1
ust_stop
tshark -r "$WORK/out.pcap" 2>/dev/null | sed 's/^/  /'
tshark -r "$WORK/out.pcap" -Y 'arp.opcode == 2 && arp.src.proto_ipv4 == 198.18.0.2' 2>/dev/null | grep -q . ||
	fail "no ARP reply in the tx capture"
tshark -r "$WORK/out.pcap" -Y 'icmp.type == 0 && ip.src == 198.18.0.2 && icmp.ident == 0x4242' 2>/dev/null |
	grep -q . || fail "no echo reply in the tx capture"
[ "$(counter 'ICMP echo replies sent')" -eq 1 ] || fail "echo reply counter"
echo PASS
