#!/usr/bin/env bash
# Install the Debian 12 packages ustack needs to build, test and run its demo.
# Idempotent: prints nothing and touches nothing when everything is there.
set -euo pipefail

pkgs=(
	meson ninja-build pkg-config gcc clang libclang-rt-14-dev
	libdpdk-dev dpdk libpcap-dev libcmocka-dev
	iproute2 iputils-ping iputils-tracepath tcpdump tshark python3 python3-scapy
	socat netcat-openbsd curl wget iperf3 procps util-linux dnsmasq-base dnsutils
	redis-server redis-tools memcached libmemcached-tools lighttpd
	openssh-server openssh-client openssh-sftp-server nginx wrk
)

if [ "$(id -u)" -ne 0 ]; then
	echo "tools/deps.sh: not root — run as root (apt-get needs it)" >&2
	exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "tools/deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, quietly.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
# Server packages (nginx, redis, memcached ...) must not start their system
# services: the tests start their own instances on their own ports. A
# policy-rc.d that we put in place only for this install says so.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod +x "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
