#!/usr/bin/env bash
# Builds the real-traffic capture of issue 14's speed targets (~300 MB, ~600k packets) in the lab's
# network namespaces (captures/lab/lab.sh: client — router — server on veth pairs; nothing leaves
# them). For DURATION seconds, with the router's link to the client shaped by tbf to RATE:
#   - TCP bulk: two back-to-back 20 MB downloads at a time (congestion-controlled, fill the link);
#   - TCP app-limited: two 2 Mbit/s downloads written every 10 ms for the whole run;
#   - UDP media-like: 2 × STREAMS RTP-like streams (PCMU, 20 ms) between client and server;
#   - many short connections: one GET of 2 kB each, 8 client threads;
#   - three SIP calls (INVITE … BYE over UDP 5060, PCMU RTP with RTCP), 20 s each, staggered.
# tcpdump records the client's interface at full snaplen; the packets it drops are reported.
# Output goes outside the repository and is never committed.
# Usage (as root): benches/make_real.sh [OUT.pcap]   (default /work/bench-data/real_mixed.pcap)
#   DURATION=60 RATE=34mbit STREAMS=25 LAB_NS_PREFIX=vw benches/make_real.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lab=$here/../captures/lab
out=${1:-/work/bench-data/real_mixed.pcap}
duration=${DURATION:-60}
rate=${RATE:-34mbit}
streams=${STREAMS:-25}
[ "$(id -u)" = 0 ] || { echo "make_real.sh: needs root (network namespaces)" >&2; exit 2; }
mkdir -p "$(dirname "$out")"
case "$(cd "$(dirname "$out")" && pwd)/" in
  "$(cd "$here/.." && pwd)"/*) echo "make_real.sh: write the capture outside the repository" >&2; exit 2 ;;
esac
# shellcheck source=../captures/lab/lab.sh
source "$lab/lab.sh"
# one lab per LAB_NS_PREFIX at a time on this machine (as captures/lab/run.sh)
exec 9>"$LAB_LOCK"
flock 9
trap lab_down EXIT INT TERM
lab_up
nsx "$NS_R" tc qdisc add dev "$IF_R1" root tbf rate "$rate" burst 64kb latency 100ms

peers="python3 $lab/peers.py"
traffic="python3 $here/real_traffic.py"
S=10.71.2.2 C=10.71.1.2
log=$(mktemp -d)
bg() { local ns=$1 name=$2; shift 2; nsx "$ns" "$@" > "$log/$name.out" 2> "$log/$name.err" & }

bg "$NS_S" bulk-server $peers http-server --listen $S:8080 --size 20000000
bg "$NS_S" app-server $peers http-server --listen $S:8081 --rate 2000000 --duration "$duration"
bg "$NS_S" short-server $peers http-server --listen 10.71.2.3:80 --size 2000
for i in 0 1 2; do
  bg "$NS_S" "sip-uas$i" $peers sip-uas --listen "10.71.2.$((2 + i)):5060" --media-port $((52310 + 10 * i)) --ring 0.5
done
bg "$NS_S" media-server $traffic media --local $S:30000 --remote $C:20000 --streams "$streams" --duration "$duration"
sleep 1

# `ip netns exec` execs tcpdump: $! is tcpdump itself, which the SIGINT below must reach
ip netns exec "$NS_C" tcpdump -i "$IF_C0" -n -s 0 -B 65536 -w "$out" 2> "$log/tcpdump.err" &
tcpdump_pid=$!
for _ in $(seq 50); do grep -q "listening on" "$log/tcpdump.err" 2>/dev/null && break; sleep 0.1; done

echo "make_real.sh: ${duration}s of mixed traffic through a $rate link → $out"
clients=()
bg "$NS_C" media-client $traffic media --local $C:20000 --remote $S:30000 --streams "$streams" --duration "$duration"
clients+=($!)
for i in 1 2; do
  bg "$NS_C" "bulk$i" $traffic bulk --connect $S:8080 --duration "$duration"
  clients+=($!)
  bg "$NS_C" "app$i" $peers http-client --connect $S:8081 --timeout $((duration + 30))
  clients+=($!)
done
bg "$NS_C" short $traffic short --connect 10.71.2.3:80 --duration "$duration" --threads 8
clients+=($!)
for i in 0 1 2; do
  sleep $((duration / 4))
  nsx "$NS_C" $peers sip-uac --local "$C:$((5060 + 2 * i))" --server "10.71.2.$((2 + i)):5060" \
    --media-port $((40002 + 10 * i)) --duration 20 > "$log/sip-uac$i.out" 2>&1 &
  clients+=($!)
done
# every client role ends on its own after DURATION (the calls after 20 s)
wait "${clients[@]}" || true
sleep 1
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" || true
grep -h "captured\|dropped" "$log/tcpdump.err" | sed 's/^/tcpdump: /'
cat "$log"/short.out "$log"/bulk1.out "$log"/bulk2.out "$log"/media-client.out "$log"/sip-uac*.out 2>/dev/null \
  | sed 's/^/  /'
ls -l "$out"
rm -rf "$log"
