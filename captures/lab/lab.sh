#!/usr/bin/env bash
# voipwatch lab topology (DESIGN §5): vw-client — vw-router — vw-server, joined by veth pairs.
#
#   vw-client  c0 10.71.1.2/24 fd71:1::2/64
#        |
#   vw-router  r1 10.71.1.1/24 fd71:1::1/64   r2 10.71.2.1/24 fd71:2::1/64   (forwarding on, impairments here)
#        |
#   vw-server  s0 10.71.2.2/24 (+ .3 .4 relays, .53 resolver) fd71:2::2/64, initial TTL 128
#
# Usage: lab.sh up | hops | down | status.  `up` is idempotent (it tears down any old lab first).
# When sourced (run.sh does), it defines lab_up / lab_down and nothing runs.
# All traffic stays inside these namespaces; nothing is routed to any other address.
set -euo pipefail

# LAB_NS_PREFIX (default vw) names the namespaces <prefix>-client/-router/-server; with another
# prefix the veth ends are <prefix>c0, <prefix>r1, <prefix>r2, <prefix>s0 too, so two labs with
# different prefixes (two people on one machine) never touch each other's namespaces or links.
LAB_NS_PREFIX=${LAB_NS_PREFIX:-vw}
NS_C=$LAB_NS_PREFIX-client NS_R=$LAB_NS_PREFIX-router NS_S=$LAB_NS_PREFIX-server
if [ "$LAB_NS_PREFIX" = vw ]; then LAB_IFP=""; else LAB_IFP=$LAB_NS_PREFIX; fi
IF_C0=${LAB_IFP}c0 IF_R1=${LAB_IFP}r1 IF_R2=${LAB_IFP}r2 IF_S0=${LAB_IFP}s0
VW_NS=("$NS_C" "$NS_R" "$NS_S")
# the extra routers of the multi-hop scenarios (`lab.sh hops`), removed by lab_down when present
NS_H2=$LAB_NS_PREFIX-hop2 NS_H3=$LAB_NS_PREFIX-hop3
IF_H2A=${LAB_IFP}h2a IF_H2B=${LAB_IFP}h2b IF_H3A=${LAB_IFP}h3a IF_H3B=${LAB_IFP}h3b
# one lab per prefix at a time (run.sh, benches/make_real.sh take this lock)
LAB_LOCK=${TMPDIR:-/tmp}/voipwatch-lab$([ "$LAB_NS_PREFIX" = vw ] || echo "-$LAB_NS_PREFIX").lock

lab_down() {
    local ns
    for ns in "${VW_NS[@]}" "$NS_H2" "$NS_H3"; do
        if ip netns list | grep -qw "$ns"; then
            # processes started inside the namespace by the lab (servers, injectors, tcpdump)
            local pids
            pids=$(ip netns pids "$ns" 2>/dev/null || true)
            if [ -n "$pids" ]; then kill $pids 2>/dev/null || true; sleep 0.2; kill -9 $pids 2>/dev/null || true; fi
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
}

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

lab_up() {
    lab_down
    local ns
    for ns in "${VW_NS[@]}"; do
        ip netns add "$ns"
        # no IPv6 autoconfiguration chatter (router solicitations, DAD) in the captures
        nsx "$ns" sysctl -qw net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.default.accept_ra=0 \
            net.ipv6.conf.default.dad_transmits=0
        nsx "$ns" ip link set lo up
    done
    ip link add "$IF_C0" netns "$NS_C" type veth peer name "$IF_R1" netns "$NS_R"
    ip link add "$IF_S0" netns "$NS_S" type veth peer name "$IF_R2" netns "$NS_R"

    nsx "$NS_C" ip addr add 10.71.1.2/24 dev "$IF_C0"
    nsx "$NS_C" ip -6 addr add fd71:1::2/64 dev "$IF_C0" nodad
    nsx "$NS_R" ip addr add 10.71.1.1/24 dev "$IF_R1"
    nsx "$NS_R" ip -6 addr add fd71:1::1/64 dev "$IF_R1" nodad
    nsx "$NS_R" ip addr add 10.71.2.1/24 dev "$IF_R2"
    nsx "$NS_R" ip -6 addr add fd71:2::1/64 dev "$IF_R2" nodad
    nsx "$NS_S" ip addr add 10.71.2.2/24 dev "$IF_S0"
    local a
    for a in 10.71.2.3 10.71.2.4 10.71.2.53; do nsx "$NS_S" ip addr add "$a/24" dev "$IF_S0"; done
    nsx "$NS_S" ip -6 addr add fd71:2::2/64 dev "$IF_S0" nodad

    nsx "$NS_C" ip link set "$IF_C0" up
    nsx "$NS_R" ip link set "$IF_R1" up
    nsx "$NS_R" ip link set "$IF_R2" up
    nsx "$NS_S" ip link set "$IF_S0" up
    nsx "$NS_C" ip route add default via 10.71.1.1
    nsx "$NS_C" ip -6 route add default via fd71:1::1
    nsx "$NS_S" ip route add default via 10.71.2.1
    nsx "$NS_S" ip -6 route add default via fd71:2::1

    nsx "$NS_R" sysctl -qw net.ipv4.ip_forward=1
    nsx "$NS_R" sysctl -qw net.ipv6.conf.all.forwarding=1
    # The server (and whatever answers from it) starts at TTL 128, the router and client at 64,
    # so a middlebox's forged packet stands out as it does on the Internet.
    nsx "$NS_S" sysctl -qw net.ipv4.ip_default_ttl=128
    nsx "$NS_S" sysctl -qw net.ipv6.conf.all.hop_limit=128 2>/dev/null || true
    nsx "$NS_S" sysctl -qw net.ipv6.conf."$IF_S0".hop_limit=128 2>/dev/null || true

    # veth would otherwise show 64 KB super-segments in the capture (tso/gso/gro) and leave every
    # checksum uncomputed (tx checksum offload: CHECKSUM_PARTIAL is forwarded as is between veths)
    nsx "$NS_C" ethtool -K "$IF_C0" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    nsx "$NS_R" ethtool -K "$IF_R1" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    nsx "$NS_R" ethtool -K "$IF_R2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    nsx "$NS_S" ethtool -K "$IF_S0" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true

    # settle the ARP tables so captures do not start with ARP: one datagram to the discard port
    # (the ICMP error it draws happens before any capture starts). IPv6 is left cold on purpose:
    # warmed neighbours would add ND reachability probes to IPv4-only captures.
    nsx "$NS_C" python3 -c 'import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("10.71.2.2", 9))' 2>/dev/null || true
    # MLD reports sent when the links come up are repeated for about 2 s: let them pass
    sleep 2.5




}

# Multi-hop path for the TTL-limited probe scenarios (issue 10 item 7): two more routers between
# the router and the server, so a probe run has three routers that answer with ICMP time exceeded
# before the server (hop 4):
#   client c0 10.71.1.2 — router r1 10.71.1.1 | r2 10.71.3.1 — hop2 h2a 10.71.3.2 | h2b 10.71.4.1
#   — hop3 h3a 10.71.4.2 | h3b 10.71.2.1 — server s0 10.71.2.2 (.3 .4 .53), default via 10.71.2.1
# Linux sends the time exceeded from the address of the interface its route back to the sender
# leaves by, so the hops answer from 10.71.1.1, 10.71.3.2 and 10.71.4.2. IPv4 only.
lab_hops() {
    local ns a
    nsx "$NS_R" ip link del "$IF_R2"
    for ns in "$NS_H2" "$NS_H3"; do
        ip netns add "$ns"
        nsx "$ns" sysctl -qw net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.default.accept_ra=0 \
            net.ipv6.conf.default.dad_transmits=0 net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        nsx "$ns" ip link set lo up
        nsx "$ns" sysctl -qw net.ipv4.ip_forward=1
    done
    ip link add "$IF_R2" netns "$NS_R" type veth peer name "$IF_H2A" netns "$NS_H2"
    ip link add "$IF_H2B" netns "$NS_H2" type veth peer name "$IF_H3A" netns "$NS_H3"
    ip link add "$IF_H3B" netns "$NS_H3" type veth peer name "$IF_S0" netns "$NS_S"
    nsx "$NS_R" ip addr add 10.71.3.1/24 dev "$IF_R2"
    nsx "$NS_H2" ip addr add 10.71.3.2/24 dev "$IF_H2A"
    nsx "$NS_H2" ip addr add 10.71.4.1/24 dev "$IF_H2B"
    nsx "$NS_H3" ip addr add 10.71.4.2/24 dev "$IF_H3A"
    nsx "$NS_H3" ip addr add 10.71.2.1/24 dev "$IF_H3B"
    nsx "$NS_S" ip addr add 10.71.2.2/24 dev "$IF_S0"
    for a in 10.71.2.3 10.71.2.4 10.71.2.53; do nsx "$NS_S" ip addr add "$a/24" dev "$IF_S0"; done
    nsx "$NS_R" ip link set "$IF_R2" up
    nsx "$NS_H2" ip link set "$IF_H2A" up
    nsx "$NS_H2" ip link set "$IF_H2B" up
    nsx "$NS_H3" ip link set "$IF_H3A" up
    nsx "$NS_H3" ip link set "$IF_H3B" up
    nsx "$NS_S" ip link set "$IF_S0" up
    nsx "$NS_R" ip route add 10.71.2.0/24 via 10.71.3.2
    nsx "$NS_R" ip route add 10.71.4.0/24 via 10.71.3.2
    nsx "$NS_H2" ip route add 10.71.1.0/24 via 10.71.3.1
    nsx "$NS_H2" ip route add default via 10.71.4.2
    nsx "$NS_H3" ip route add default via 10.71.4.1
    nsx "$NS_S" ip route add default via 10.71.2.1
    nsx "$NS_R" ethtool -K "$IF_R2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    nsx "$NS_H2" ethtool -K "$IF_H2A" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    nsx "$NS_H2" ethtool -K "$IF_H2B" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    nsx "$NS_H3" ethtool -K "$IF_H3A" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    nsx "$NS_H3" ethtool -K "$IF_H3B" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    nsx "$NS_S" ethtool -K "$IF_S0" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    # warm the ARP caches along the new path (the ICMP error it draws comes before the capture)
    nsx "$NS_C" python3 -c 'import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("10.71.2.2", 9))' 2>/dev/null || true
    sleep 0.5
}

lab_status() {
    local ns
    for ns in "${VW_NS[@]}"; do
        echo "== $ns"; nsx "$ns" ip -br addr 2>/dev/null || echo "(absent)"
    done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case "${1:-}" in
        up) trap 'echo "lab up failed, cleaning up" >&2; lab_down' ERR; lab_up; trap - ERR; lab_status ;;
        hops) lab_hops ;;  # after `up`: the multi-hop path (lab.py runs it for the ttl_probe_* scenarios)
        down) lab_down ;;
        status) lab_status ;;
        *) echo "usage: $0 up|hops|down|status" >&2; exit 2 ;;
    esac
fi
