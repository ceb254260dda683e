#!/usr/bin/env bash
# Replays "Diving deep into Container Networking" with tbox: two containers on
# the tbox0 bridge, a ping both ways, what tcpdump sees on the bridge, the
# neighbour (ARP) tables, and the host pinging a container. Cleans up after itself.
set -euo pipefail
TBOX=${TBOX:-tbox}
BRIDGE=${TBOX_BRIDGE:-tbox0}
capture=$(mktemp)
dump_pid=

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
cleanup() {
  [ -n "$dump_pid" ] && kill "$dump_pid" 2>/dev/null || true
  $TBOX rm -f app3 app4 >/dev/null 2>&1 || true
  rm -f "$capture"
}
trap cleanup EXIT

step "Two containers, each in its own network namespace, plugged into the $BRIDGE bridge"
show $TBOX run -d --name app3 busybox sleep 1000
show $TBOX run -d --name app4 busybox sleep 1000
ip3=$($TBOX inspect --format '{{.NetworkSettings.IPAddress}}' app3)
ip4=$($TBOX inspect --format '{{.NetworkSettings.IPAddress}}' app4)
show $TBOX network ls
step "The host ends of their veth pairs (hlink in the article) are ports of the bridge"
show ip -br link show master "$BRIDGE"
step "Inside app3: eth0 (clink), its address, and the default route via the bridge's gateway"
show $TBOX exec app3 ip addr show eth0
show $TBOX exec app3 ip route

step "Ping app4 ($ip4) from app3, and app3 ($ip3) from app4, while tcpdump watches the bridge"
tcpdump -i "$BRIDGE" -n -l icmp >"$capture" 2>/dev/null &
dump_pid=$!
sleep 1
show $TBOX exec app3 ping -c 2 "$ip4"
show $TBOX exec app4 ping -c 2 "$ip3"
sleep 0.5
kill "$dump_pid" 2>/dev/null || true
wait "$dump_pid" 2>/dev/null || true
dump_pid=
step "tcpdump -i $BRIDGE icmp"
head -n 8 "$capture"

step "Neighbour tables: each container learned the other's MAC through ARP"
show $TBOX exec app3 ip neigh
show $TBOX exec app4 ip neigh

step "The host reaches a container through the bridge"
show ping -c 2 "$ip3"

step "The whole picture, read from the kernel, and the path app3 -> app4 step by step"
show $TBOX network diagram bridge
show $TBOX trace app3 app4
step "Done; removing app3 and app4"
