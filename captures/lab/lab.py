#!/usr/bin/env python3
"""Runs one voipwatch lab scenario (DESIGN §5) and writes captures/<name>.pcap[ng] + <name>.truth.json.

Called by run.sh, which builds the namespaces with lab.sh first and tears them down on exit. Standard
library only (peers.py's QUIC role needs `cryptography` for AES). Truth facts about the capture
(packet counts, flows, TCP states, rates, retransmissions) are measured here with tshark and capinfos
on the capture that was written, never assumed from the configuration.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

LAB = os.path.dirname(os.path.abspath(__file__))
CAPTURES = os.path.dirname(LAB)
PEERS = os.path.join(LAB, "peers.py")
INJECT = os.path.join(LAB, "inject.py")
_TMP = []


def tmp(name):
    """A path in this run's scratch directory (made on first use, removed when the scenario ends)."""
    if not _TMP:
        _TMP.append(tempfile.mkdtemp(prefix="vwlab-"))
    return os.path.join(_TMP[0], name)

# LAB_NS_PREFIX (lab.sh): the namespaces are <prefix>-client/-router/-server, and with a prefix other
# than vw the veth ends carry it too (<prefix>c0 …). Truth files record the default names.
PREFIX = os.environ.get("LAB_NS_PREFIX", "vw")
IFP = "" if PREFIX == "vw" else PREFIX
CLIENT, ROUTER, SERVER = PREFIX + "-client", PREFIX + "-router", PREFIX + "-server"
HOP2, HOP3 = PREFIX + "-hop2", PREFIX + "-hop3"


def ifn(name):
    """The real name of lab interface `name` (c0, r1, h3a …) under LAB_NS_PREFIX."""
    return IFP + name


def canonical(text):
    """`text` with this run's namespace and interface names as the default prefix spells them."""
    return text if PREFIX == "vw" else text.replace(PREFIX + "-", "vw-").replace(IFP, "")
C, S, RELAY1, RELAY2, DNS = "10.71.1.2", "10.71.2.2", "10.71.2.3", "10.71.2.4", "10.71.2.53"
C6, S6 = "fd71:1::2", "fd71:2::2"

TOPOLOGY = ("vw-client (c0 10.71.1.2, fd71:1::2) — vw-router (r1 10.71.1.1 | r2 10.71.2.1, forwarding, "
            "impairments) — vw-server (s0 10.71.2.2 web, .3/.4 relays, .53 resolver, fd71:2::2; initial TTL 128). "
            "veth pairs with tso/gso/gro off; capture on c0 in vw-client.")


def sh(ns, *cmd, check=True, capture=False):
    full = ["ip", "netns", "exec", ns, *cmd] if ns else list(cmd)
    r = subprocess.run(full, check=check, text=True, capture_output=True)
    return r.stdout if capture else r


class Procs:
    """Background processes this scenario started; ended by their own pids, never by name."""

    def __init__(self):
        self.items = []

    def start(self, ns, *cmd):
        out = open(tmp("proc%d.out" % len(self.items)), "w+")
        p = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)
        self.items.append((p, out))
        return p

    def stop_all(self):
        logs = []
        for p, out in self.items:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGINT)
                try:
                    p.wait(3)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            out.seek(0)
            logs += [ln for ln in out.read().splitlines() if ln.strip()]
            out.close()
        self.items = []
        return logs


def peer(ns, role, *args, timeout=300):
    """Runs a peers.py role to completion in `ns`; returns its JSON lines."""
    r = subprocess.run(["ip", "netns", "exec", ns, sys.executable, PEERS, role, *args], text=True,
                       capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("%s %s failed: %s" % (role, args, r.stderr[-2000:]))
    return [json.loads(ln) for ln in r.stdout.splitlines() if ln.startswith("{")]


# Frames kept whole in the bulk scenarios: anything that is not TCP, short frames (handshakes, ACKs),
# and TCP segments whose payload starts a TLS handshake record (0x16) or an HTTP request/response
# line ("GET ", "HTTP"). Every other TCP segment (bulk data) is cut to the split snaplen. A short
# frame is accepted by `less 199` before the payload byte is read, so the two filters never both
# miss a frame (BPF rejects a frame whose load runs past its end).
PAYLOAD = "tcp[((tcp[12] & 0xf0) >> 2)"
FULL_FILTER = ("not tcp or less 199 or %s] = 0x16 or %s:4] = 0x47455420 or %s:4] = 0x48545450"
               % (PAYLOAD, PAYLOAD, PAYLOAD))


class Capture:
    """tcpdump on the client's interface. `split_snap`: frames ≥ 1000 bytes are cut to that many
    bytes (headers are enough for throughput analysis), shorter frames (handshakes, ClientHellos,
    ACKs) are kept whole; the two halves are merged by timestamp."""

    def __init__(self, name, nano=False, split_snap=None, ns=None, iface="c0"):
        self.name, self.nano, self.split_snap = name, nano, split_snap
        self.ns, self.iface = ns or CLIENT, iface
        self.procs = []

    def _start(self, path, snap, filt):
        iface = self.iface if self.iface == "any" else ifn(self.iface)
        cmd = ["ip", "netns", "exec", self.ns, "tcpdump", "-i", iface, "-n", "-U", "--immediate-mode", "-s", str(snap), "-w", path]
        if self.nano:
            cmd[8:8] = ["--time-stamp-precision=nano"]
        if self.iface == "any":
            # every frame twice, in bursts: libpcap's default 2 MiB ring drops whole bursts
            cmd[8:8] = ["-B", "16384"]
        if filt:
            cmd.append(filt)
        err = open(path + ".err", "w+")
        p = subprocess.Popen(cmd, stderr=err, start_new_session=True)
        for _ in range(100):
            err.seek(0)
            if "listening on" in err.read():
                break
            time.sleep(0.05)
        self.procs.append((p, err))

    def __enter__(self):
        if self.split_snap:
            self.parts = [tmp(self.name + ".small.pcap"), tmp(self.name + ".big.pcap")]
            self._start(self.parts[0], 0, FULL_FILTER)
            self._start(self.parts[1], self.split_snap, "not (%s)" % FULL_FILTER)
        else:
            self.parts = [tmp(self.name + ".pcap")]
            self._start(self.parts[0], 0, None)
        time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        time.sleep(0.5)
        for p, err in self.procs:
            os.killpg(p.pid, signal.SIGINT)
            p.wait(10)
            err.close()
        return False

    def write(self, out):
        if len(self.parts) == 1:
            shutil.copy(self.parts[0], out)
        else:
            sh(None, "mergecap", "-F", "pcap", "-w", out, *self.parts)


# ----------------------------------------------------------------------------------------------
# measuring a capture with tshark / capinfos
# ----------------------------------------------------------------------------------------------

FIELDS = ["frame.number", "frame.time_epoch", "frame.len", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "tcp.flags", "tcp.len", "ip.ttl",
          "ipv6.hlim", "icmp.type", "icmpv6.type", "tcp.seq_raw", "tcp.analysis.retransmission", "ip.len",
          "ipv6.plen"]


def tshark_packets(path, only=None):
    out = sh(None, "tshark", "-r", path, "-n", "-o", "tcp.relative_sequence_numbers:FALSE", "-T", "fields",
             "-E", "separator=\t", "-E", "occurrence=f", *sum([["-e", f] for f in FIELDS], []),
             *(["-Y", only] if only else []), capture=True)
    rows = []
    for ln in out.splitlines():
        v = dict(zip(FIELDS, ln.split("\t")))
        rows.append(v)
    return rows


def count_frames(path, display_filter):
    out = sh(None, "tshark", "-r", path, "-n", "-Y", display_filter, "-T", "fields", "-e", "frame.number",
             capture=True)
    return len(out.split())


def capinfos(path):
    out = sh(None, "capinfos", "-M", "-T", "-r", "-c", "-E", "-i", "-s", "-u", "-t", path, capture=True)
    cols = out.strip().split("\t")
    return {"file_type": cols[1], "encapsulation": cols[2], "packets": int(cols[3]),
            "file_bytes": int(cols[4]), "duration_s": float(cols[5]), "timestamp_precision": cols[6]}


def endpoint(ip, port):
    return "[%s]:%s" % (ip, port) if ":" in ip else "%s:%s" % (ip, port)


def flows_of(rows):
    """Flows as the engine keys them: transport + unordered endpoint pair; client = sender of a
    SYN (without ACK) if the flow starts with one, else the first packet's sender."""
    flows = {}
    order = []
    for r in rows:
        src = r["ip.src"] or r["ipv6.src"]
        dst = r["ip.dst"] or r["ipv6.dst"]
        if not src:
            continue
        if r["icmp.type"] or r["icmpv6.type"]:
            transport, sp, dp = "icmp", "0", "0"
        elif r["tcp.srcport"]:
            transport, sp, dp = "tcp", r["tcp.srcport"], r["tcp.dstport"]
        elif r["udp.srcport"]:
            transport, sp, dp = "udp", r["udp.srcport"], r["udp.dstport"]
        else:
            continue
        a, b = endpoint(src, sp), endpoint(dst, dp)
        key = (transport, tuple(sorted([a, b])))
        if key not in flows:
            flows[key] = {"transport": transport, "client": a, "server": b, "pk": [], "first": r}
            order.append(key)
        f = flows[key]
        f["pk"].append((r, a == f["client"]))
    return [flows[k] for k in order]


def conn_state(f):
    """Zeek's conn_state (base/protocols/conn/main.zeek) from per-endpoint TCP states."""
    INACTIVE, SYN, SYNACK, EST, CLOSED, RESET, PARTIAL = range(7)
    st = {True: INACTIVE, False: INACTIVE}
    size = {True: 0, False: 0}
    hist = ""
    saw_synack = False
    for r, c2s in f["pk"]:
        flags = int(r["tcp.flags"] or "0", 16)
        syn, ack, fin, rst = flags & 2, flags & 16, flags & 1, flags & 4
        size[c2s] += int(r["tcp.len"] or 0)
        me = st[c2s]
        if rst:
            st[c2s] = RESET
            hist += "R" if c2s else "r"
        elif me == RESET:
            continue
        elif syn and not ack:
            st[c2s] = SYN
            hist += "S" if c2s else "s"
        elif syn and ack:
            st[c2s] = SYNACK
            saw_synack = True
            hist += "H" if c2s else "h"
        elif fin:
            st[c2s] = CLOSED
        else:
            if me == INACTIVE:
                st[c2s] = PARTIAL if not saw_synack else EST
            elif me in (SYN, SYNACK):
                st[c2s] = EST
            if st[not c2s] in (SYN, SYNACK) and saw_synack:
                st[not c2s] = EST
    os_, rs = st[True], st[False]
    o_in = os_ in (INACTIVE, PARTIAL)
    r_in = rs in (INACTIVE, PARTIAL)
    if rs == RESET:
        if os_ in (SYN, SYNACK) or (os_ == RESET and size[True] == 0 and size[False] == 0):
            return "REJ"
        return "RSTRH" if o_in else "RSTR"
    if os_ == RESET:
        if r_in:
            return "RSTOS0" if hist.startswith("S") and "h" not in hist else "OTH"
        return "RSTO"
    if rs == CLOSED and os_ == CLOSED:
        return "SF"
    if os_ == CLOSED:
        return "SH" if r_in else "S2"
    if rs == CLOSED:
        return "SHR" if o_in else "S3"
    if os_ == SYN and rs == INACTIVE:
        return "S0"
    if os_ == EST and rs == EST:
        return "S1"
    return "OTH"


def rate_facts(f, c2s=False, bin_s=1.0):
    """Throughput of one direction (default server→client): payload bytes, goodput over the span of
    data packets, 1 s bins, retransmissions as tshark's tcp.analysis flags them."""
    pk = [(float(r["frame.time_epoch"]), int(r["tcp.len"] or 0), r) for r, d in f["pk"] if d == c2s]
    data = [(t, n, r) for t, n, r in pk if n > 0]
    if len(data) < 2:
        return None
    t0, t1 = data[0][0], data[-1][0]
    total = sum(n for _, n, _ in data)
    bins = {}
    for t, n, r in data:
        ipl = int(r["ip.len"] or 0) or (int(r["ipv6.plen"] or 0) + 40)
        bins[int((t - t0) // bin_s)] = bins.get(int((t - t0) // bin_s), 0) + ipl
    series = [round(bins.get(i, 0) * 8 / bin_s) for i in range(int((t1 - t0) // bin_s) + 1)]
    full = series[1:-1] if len(series) > 3 else series
    med = sorted(full)[len(full) // 2] if full else 0
    retx = sum(1 for _, _, r in data if r["tcp.analysis.retransmission"])
    return {"data_packets": len(data), "payload_bytes": total, "span_s": round(t1 - t0, 3),
            "goodput_bps": round(total * 8 / (t1 - t0)) if t1 > t0 else None,
            "ip_bps_per_1s": series, "median_ip_bps_full_bins": med, "retransmissions": retx}


def bad_checksums(path):
    out = sh(None, "tshark", "-r", path, "-n", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
             "-o", "ip.check_checksum:TRUE", "-Y", "tcp.checksum.status == 0 || udp.checksum.status == 0 || "
             "ip.checksum.status == 0", "-T", "fields", "-e", "frame.number", capture=True)
    return len(out.split())


# Per scenario: tshark display filters whose match counts show that the impairment really happened
# (recorded under measured.tshark_counts; `lab.py --recount` refreshes them on existing captures).
WA = "udp.port == 3478 && udp.payload[0:2] == "
VERIFY = {
    "tcp_download": ["tcp.analysis.retransmission", "http.response.code == 200"],
    "udp_rtp_call": ["rtp.p_type == 0", "rtcp.pt == 200", "rtcp.pt == 203"],
    "nanosecond_pcapng": ["ipv6 && tcp", "dns", "rtp", "rtcp"],
    "sip_call": ["sip.Method == \"INVITE\"", "sip.Method == \"BYE\"", "sip.Status-Code == 200",
                 "sdp.media.port == 41234", "sdp.media.port == 52310", "rtp && udp.port == 52310",
                 "rtcp && udp.port == 52311"],
    "whatsapp_call_stun": [WA + "00:03", WA + "01:03", WA + "08:00", WA + "08:01", WA + "08:02", WA + "08:03",
                           WA + "08:04", WA + "08:05", "rtp.p_type == 120 && ip.src == 10.71.1.2",
                           "rtp.p_type == 120 && ip.dst == 10.71.1.2",
                           "tls.handshake.extensions_server_name == \"g.whatsapp.net\""],
    "webrtc_datachannel": ["stun", "dtls.handshake.type == 1", "dtls.record.content_type == 23", "rtp"],
    "turn_tcp_fallback": ["udp.dstport == 3478", "udp.srcport == 3478", "stun && tcp", "tcp.len > 0"],
    "tls_sni_reset_v6": ["tcp.flags.reset == 1 && ipv6.src == fd71:2::2 && ipv6.hlim == 64",
                         "tcp.flags.reset == 1 && ipv6.src == fd71:2::2 && ipv6.hlim == 127",
                         "tls.handshake.type == 1", "tls.handshake.type == 2"],
    "tls_sni_reset": ["tcp.flags.reset == 1 && ip.src == 10.71.2.2 && ip.ttl == 64",
                      "tcp.flags.reset == 1 && ip.src == 10.71.2.2 && ip.ttl == 127",
                      "tls.handshake.type == 1", "tls.handshake.type == 2"],
    "rst_injection_race": ["tcp.flags.reset == 1 && ip.src == 10.71.2.2 && ip.ttl == 64",
                           "tcp.flags.reset == 1 && ip.src == 10.71.1.2", "tls.handshake.type == 1",
                           "tls.handshake.type == 2"],
    "stun_arp_only": ["arp.opcode == 1 && arp.src.proto_ipv4 == 10.71.1.1", "arp.opcode == 2", "udp.dstport == 3478",
                      "udp.srcport == 3478", "ip.dst == 10.71.1.2"],
    "synproxy_server": ["tcp.flags.syn == 1 && tcp.flags.ack == 1 && ip.ttl == 64", "tcp.flags.reset == 1 && ip.ttl == 127",
                        "http.response.code == 200"],
    "rst_ips_reject": ["tcp.flags.reset == 1 && ip.src == 10.71.2.2 && ip.ttl == 127 && tcp.window_size_value == 8192",
                       "tls.handshake.type == 2"],
    "http_block_page_server": ["http.response.code == 200", "tcp.flags.reset == 1 && ip.src == 10.71.1.2"],
    "http_block_page": ["http.response.code == 302 && ip.ttl == 64", "http.response.code == 403 && ip.ttl == 127",
                        "http.response.code == 200", "tcp.flags.fin == 1 && ip.src == 10.71.2.2",
                        "tcp.flags.reset == 1 && ip.src == 10.71.2.2"],
    "request_blackholed": ["http.request && http.host == \"blackholed.example\"", "tcp.analysis.retransmission",
                           "tcp.srcport == 80 && tcp.len > 0", "tcp.flags.syn == 1 && tcp.flags.ack == 1"],
    "synack_injected": ["tcp.flags.syn == 1 && tcp.flags.ack == 1 && ip.ttl == 64",
                        "tcp.flags.syn == 1 && tcp.flags.ack == 1 && ip.ttl == 127", "tcp.flags.reset == 1"],
    "synack_injected_server": ["tcp.flags.syn == 1 && tcp.flags.ack == 1", "tcp.flags.reset == 1",
                               "tcp.srcport == 8080 && tcp.flags.syn == 1"],
    "syn_drop": ["tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == 443", "tcp.srcport == 443",
                 "tcp.srcport == 80"],
    "udp_media_blackhole": ["udp && ip.dst == 10.71.2.3", "udp && ip.src == 10.71.2.3"],
    "stun_relay_dropped": ["udp.dstport == 3478", "udp.srcport == 3478", WA + "00:03",
                           "tls.handshake.extensions_server_name == \"g.whatsapp.net\""],
    "udp_blocked_tcp_fallback": ["udp.dstport == 3478", "udp.srcport == 3478", "stun && tcp", "tcp.len > 0"],
    "dns_injection": ["dns.flags.response == 1 && dns.qry.name == \"g.whatsapp.net\"",
                      "dns.flags.response == 1 && dns.qry.name == \"g.whatsapp.net\" && ip.ttl == 64",
                      "dns.flags.response == 1 && dns.qry.name == \"example.org\""],
    "dns_bogon": ["dns.a == 127.0.0.1", "dns.a == 10.10.34.35", "dns.a == 93.184.215.14"],
    "dns_nxdomain": ["dns.flags.rcode == 3", "dns.flags.rcode == 0 && dns.flags.response == 1"],
    "quic_blocked": ["quic.long.packet_type == 0", "udp.srcport == 443",
                     "tls.handshake.extensions_server_name == \"video.lab.example\"", "tls.handshake.type == 2"],
}
VERIFY["rtp_policed"] = ["rtp && ip.src == 10.71.2.2", "rtp && ip.src == 10.71.1.2", "sip"]
VERIFY["rtp_random_loss"] = VERIFY["rtp_policed"]
for _n in ("policer_1mbit", "policer_4mbit", "shaper_tbf", "shaper_tbf_rwnd", "tbf_tiny_queue", "random_loss",
           "app_limited"):
    VERIFY[_n] = ["tcp.analysis.retransmission", "tcp.analysis.lost_segment", "tcp.len > 0 && tcp.srcport == 80"]
for _n in ("sni_policer_pair", "compare_target", "compare_control", "same_path_a", "same_path_b"):
    VERIFY[_n] = ["tcp.analysis.retransmission", "tls.handshake.extensions_server_name == \"video.lab.example\"",
                  "tls.handshake.extensions_server_name == \"other.lab.example\""]


def rtp_streams(path):
    """tshark -q -z rtp,streams (RTP found heuristically): one entry per stream."""
    text = sh(None, "tshark", "-r", path, "-q", "-n", "-o", "rtp.heuristic_rtp:TRUE", "-z", "rtp,streams",
              capture=True)
    out = []
    for ln in text.splitlines():
        c = ln.split()
        if len(c) >= 17 and c[6].startswith("0x"):
            out.append({"src": "%s:%s" % (c[2], c[3]), "dst": "%s:%s" % (c[4], c[5]), "ssrc": c[6],
                        "payload": c[7], "packets": int(c[8]), "lost": int(c[9]), "lost_pct": c[10].strip("()"),
                        "max_delta_ms": float(c[13]), "mean_jitter_ms": float(c[15]), "max_jitter_ms": float(c[16])})
    return out


def tshark_counts(name, path):
    out = {}
    for filt in VERIFY.get(name, []):
        text = sh(None, "tshark", "-r", path, "-n", "-o", "rtp.heuristic_rtp:TRUE", "-o", "rtcp.heuristic_rtcp:TRUE",
                  "-d", "udp.port==5060,sip", "-Y", filt, "-T", "fields", "-e", "frame.number", capture=True)
        out[filt] = len(text.split())
    return out


def direction_spans(f, t0):
    """Seconds from the capture's first packet to each direction's first and last packet."""
    out = {}
    for name, want in (("c2s", True), ("s2c", False)):
        ts = [float(r["frame.time_epoch"]) - t0 for r, d in f["pk"] if d == want]
        out[name] = [round(min(ts), 6), round(max(ts), 6)] if ts else None
    return out


def measure(path, only=None):
    """`only`: a display filter choosing the frames flows are measured from (one copy of each
    packet in a capture that holds two)."""
    info = capinfos(path)
    info["bad_checksums"] = bad_checksums(path)
    rows = tshark_packets(path, only)
    t0 = float(rows[0]["frame.time_epoch"]) if rows else 0.0
    flows = flows_of(rows)
    out = []
    for f in flows:
        c2s = sum(1 for _, d in f["pk"] if d)
        e = {"match": {"transport": f["transport"], "client": f["client"], "server": f["server"]},
             "packets": {"c2s": c2s, "s2c": len(f["pk"]) - c2s}}
        if f["transport"] == "tcp":
            e["conn_state"] = conn_state(f)
        ttl_c = sorted({r["ip.ttl"] or r["ipv6.hlim"] for r, d in f["pk"] if d} - {""})
        ttl_s = sorted({r["ip.ttl"] or r["ipv6.hlim"] for r, d in f["pk"] if not d} - {""})
        e["ttl_seen"] = {"c2s": [int(x) for x in ttl_c], "s2c": [int(x) for x in ttl_s]}
        e["first_last_rel_s"] = direction_spans(f, t0)
        out.append(e)
    return info, rows, flows, out


# ----------------------------------------------------------------------------------------------
# router impairments
# ----------------------------------------------------------------------------------------------

def router(*cmd):
    sh(ROUTER, *cmd)
    return " ".join(cmd)


def nft_policer(match, rate_bytes, burst_bytes):
    ruleset = ("table inet vwlab {\n  chain police {\n    type filter hook forward priority 0; policy accept;\n"
               "    %s limit rate over %d bytes/second burst %d bytes drop\n  }\n}\n" % (match, rate_bytes, burst_bytes))
    path = tmp("policer.nft")
    with open(path, "w") as fh:
        fh.write(ruleset)
    sh(ROUTER, "nft", "-f", path)
    return ["nft -f - <<'EOF'\n" + ruleset + "EOF"]


_CERT = {}


def cert():
    if not _CERT:
        c, k = tmp("cert.pem"), tmp("key.pem")
        sh(None, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
           "-nodes", "-subj", "/CN=lab.example", "-days", "30", "-keyout", k, "-out", c)
        _CERT.update(cert=c, key=k)
    return ["--cert", _CERT["cert"], "--key", _CERT["key"]]


def https_server(procs, listen, *extra):
    procs.start(SERVER, sys.executable, PEERS, "http-server", "--listen", listen, *cert(), *extra)


def http_server(procs, listen, *extra):
    procs.start(SERVER, sys.executable, PEERS, "http-server", "--listen", listen, *extra)


def wait_listen(ns, port, proto="t"):
    for _ in range(100):
        out = sh(ns, "ss", "-ln" + proto, capture=True)
        if (":%d " % port) in out:
            return
        time.sleep(0.05)
    raise RuntimeError("nothing listening on %d in %s" % (port, ns))


# ----------------------------------------------------------------------------------------------
# scenarios: each returns (truth dict without measured facts, capture object, log lines)
# ----------------------------------------------------------------------------------------------

SCENARIOS = {}


def scenario(issue, fmt="pcap"):
    def reg(fn):
        SCENARIOS[fn.__name__] = (fn, issue, fmt)
        return fn
    return reg


NO_BLOCK = ["tcp_reset_injected", "tcp_reset_suspicious", "handshake_timeout", "handshake_rejected",
            "tls_sni_reset", "tls_sni_drop", "quic_blocked", "udp_one_way", "stun_unanswered",
            "udp_media_blocked", "rtp_cut", "udp_blocked_tcp_fallback", "dns_injection", "dns_bogon",
            "dns_nxdomain"]
NO_THROTTLE = ["throttling_policer", "throttling_shaper"]


@scenario(2)
def tcp_download(run):
    http_server(run.procs, S + ":80", "--size", "200000")
    wait_listen(SERVER, 80)
    with run.capture():
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80")
    return {"description": "Control: one HTTP/1.1 download of 200,000 bytes from 10.71.2.2:80, no impairment.",
            "applied": {"impairment": "none", "config": {}},
            "expect": {"findings_absent_everywhere": NO_BLOCK + NO_THROTTLE, "no_verdict_status": ["blocked", "throttled"],
                       "calls_total": 0},
            "flow_notes": {("tcp", S + ":80"): {"role": "control", "protocols_include": ["http"]}}}


@scenario(2)
def udp_rtp_call(run):
    run.procs.start(SERVER, sys.executable, PEERS, "rtp-peer", "--local", S + ":30000", "--rtcp",
                    "--duration", "30", "--ssrc", "0x5E4BE401")
    wait_listen(SERVER, 30000, "u")
    with run.capture():
        run.log += peer(CLIENT, "rtp-peer", "--local", C + ":20000", "--remote", S + ":30000", "--rtcp",
                        "--duration", "10", "--ssrc", "0xC1E47001")
        time.sleep(0.5)
    return {"description": "Clean two-way RTP-like call without signalling: PCMU (PT 0) 20 ms packets, 160-byte "
                           "payloads, RFC 3550 headers (stable SSRC, seq +1, ts +160) both ways for 10 s between "
                           "10.71.1.2:20000 and 10.71.2.2:30000; RTCP compound SR+SDES on ports 20001/30001 about "
                           "every 5 s and a final SR+SDES+BYE from each side.",
            "applied": {"impairment": "none", "config": {"ptime_ms": 20, "payload_type": 0, "payload_bytes": 160}},
            "expect": {"findings_absent_everywhere": NO_BLOCK + NO_THROTTLE, "no_verdict_status": ["blocked", "throttled"]},
            "flow_notes": {("udp", S + ":30000"): {"role": "media", "protocols_include": ["rtp"]},
                           ("udp", S + ":30001"): {"role": "rtcp", "protocols_include": ["rtcp"]}}}


@scenario(2, fmt="pcapng")
def nanosecond_pcapng(run):
    http_server(run.procs, "[%s]:80" % S6, "--size", "20000")
    run.procs.start(SERVER, sys.executable, PEERS, "dns-server", "--listen", DNS + ":53",
                    "--record", "www.lab.example=10.71.2.2")
    run.procs.start(SERVER, sys.executable, PEERS, "rtp-peer", "--local", S + ":30000", "--rtcp", "--duration", "30")
    wait_listen(SERVER, 80)
    wait_listen(SERVER, 53, "u")
    with run.capture(nano=True):
        run.log += peer(CLIENT, "dns-client", "--server", DNS + ":53", "--name", "www.lab.example")
        run.log += peer(CLIENT, "http-client", "--connect", "[%s]:80" % S6)
        run.log += peer(CLIENT, "rtp-peer", "--local", C + ":20000", "--remote", S + ":30000", "--rtcp", "--duration", "1")
    return {"description": "Short mixed capture written as pcapng with nanosecond timestamps (tcpdump "
                           "--time-stamp-precision=nano, converted with editcap -F pcapng, if_tsresol=9): a DNS "
                           "query, an IPv6 HTTP download of 20,000 bytes, 1 s of RTP.",
            "applied": {"impairment": "none", "config": {"timestamp_precision": "nanoseconds"}},
            "expect": {"findings_absent_everywhere": NO_BLOCK + NO_THROTTLE, "no_verdict_status": ["blocked", "throttled"]}}


@scenario(3)
def sip_call(run):
    run.procs.start(SERVER, sys.executable, PEERS, "sip-uas", "--listen", S + ":5060", "--media-port", "52310",
                    "--media-on-ack")
    wait_listen(SERVER, 5060, "u")
    with run.capture():
        run.log += peer(CLIENT, "sip-uac", "--local", C + ":5060", "--server", S + ":5060",
                        "--media-port", "41234", "--duration", "10")
        time.sleep(0.5)
    sip = {"app": "sip", "service": "call", "protocols_include": ["rtp"]}
    return {"description": "A SIP call over UDP 5060 (INVITE/100/180/200/ACK … BYE/200) whose SDP offers "
                           "m=audio 41234 (client) and answers m=audio 52310 (server): non-standard even ports "
                           "known only from SDP. 10 s of PCMU RTP both ways on exactly those ports, RTCP on "
                           "41235/52311.",
            "applied": {"impairment": "none", "config": {"sdp_client_port": 41234, "sdp_server_port": 52310}},
            "expect": {"calls": [{"app": "sip", "count": 1}], "verdicts": [{"app": "sip", "status": "ok"}],
                       "findings_absent_everywhere": NO_BLOCK + NO_THROTTLE},
            "flow_notes": {("udp", S + ":5060"): {"role": "signalling", "app": "sip", "protocols_include": ["sip", "sdp"]},
                           ("udp", S + ":52310"): dict(sip, role="media"),
                           ("udp", S + ":52311"): {"role": "rtcp", "app": "sip", "protocols_include": ["rtcp"]}}}


def wa_servers(procs, duration):
    for r in (RELAY1, RELAY2):
        procs.start(SERVER, sys.executable, PEERS, "wa-relay", "--listen", r + ":3478", "--duration", str(duration))
    https_server(procs, S + ":443", "--size", "3000")
    wait_listen(SERVER, 3478, "u")
    wait_listen(SERVER, 443)


@scenario(3)
def whatsapp_call_stun(run):
    wa_servers(run.procs, 10)
    with run.capture():
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", "g.whatsapp.net")
        run.log += peer(CLIENT, "wa-client", "--local", C + ":40100", "--relay", RELAY1 + ":3478",
                        "--relay", RELAY2 + ":3478", "--duration", "10")
        time.sleep(0.5)
    wa = {"app": "whatsapp", "service": "call", "protocols_include": ["stun", "rtp"]}
    return {"description": "A WhatsApp-style call. Signalling: TLS to 10.71.2.2:443 with SNI g.whatsapp.net. "
                           "Relay selection: 0x0003 requests carrying attribute 0x4000 sent from one socket to two "
                           "relays (10.71.2.3 and .4:3478), answered with 0x0103 (XOR-MAPPED-ADDRESS, 0x4002). "
                           "On the chosen relay: 0x0800 join (0x4000, 0x4001) answered 0x0803 (0x4003, 0x4004); "
                           "relay-sent 0x0804 (0x4005-0x4007) acknowledged by 0x0805 whose header length claims 4 "
                           "bytes more than the datagram holds; 0x0801/0x0802 keepalives every 3 s; RTP PT 120 with "
                           "an RFC 8285 header extension, 20 ms, both ways for 10 s on the same 5-tuple. The message "
                           "type and attribute numbers follow DESIGN §4 and nDPI's WhatsApp captures; their pairing "
                           "(which answers which) is this lab's invention.",
            "applied": {"impairment": "none", "config": {"relays": [RELAY1 + ":3478", RELAY2 + ":3478"]}},
            "expect": {"calls": [{"app": "whatsapp", "count": 1}], "verdicts": [{"app": "whatsapp", "status": "ok"}],
                       "findings_absent_everywhere": NO_BLOCK + NO_THROTTLE},
            "flow_notes": {("udp", RELAY1 + ":3478"): dict(wa, role="media via relay"),
                           ("udp", RELAY2 + ":3478"): {"role": "relay probe", "app": "whatsapp", "protocols_include": ["stun"]},
                           ("tcp", S + ":443"): {"role": "signalling", "app": "whatsapp", "sni": "g.whatsapp.net",
                                                 "protocols_include": ["tls"]}}}


@scenario(3)
def webrtc_datachannel(run):
    run.procs.start(SERVER, sys.executable, PEERS, "webrtc-peer", "--local", S + ":50500", "--duration", "12")
    wait_listen(SERVER, 50500, "u")
    with run.capture():
        run.log += peer(CLIENT, "webrtc-peer", "--local", C + ":50400", "--remote", S + ":50500",
                        "--client", "--duration", "10")
        time.sleep(0.5)
    return {"description": "A WebRTC data channel, not a call: ICE Binding requests/responses with USERNAME, "
                           "PRIORITY, ICE-CONTROLLING/CONTROLLED, MESSAGE-INTEGRITY and FINGERPRINT; a DTLS 1.2 "
                           "handshake (ClientHello with use_srtp offered, as browsers do, ServerHello/Certificate/"
                           "ServerHelloDone, ClientKeyExchange/CCS/Finished, CCS/Finished); then DTLS application "
                           "data (SCTP-sized records) both ways and consent checks every 5 s. No RTP or SRTP.",
            "applied": {"impairment": "none", "config": {}},
            "expect": {"calls_total": 0, "findings_absent_everywhere": NO_BLOCK + NO_THROTTLE},
            "flow_notes": {("udp", S + ":50500"): {"role": "data channel", "protocols_include": ["stun", "dtls"],
                                                   "service_not": "call"}}}


AIORTC = os.path.join(LAB, "aiortc_peer.py")


def coturn(procs, tls=None):
    """coturn (Debian) on RELAY2: TURN over UDP and TCP 3478, long-term credentials lab/labpass;
    with `tls` (cert, key), TURN over TLS on 5349 too."""
    sec = ["--no-tls"] if tls is None else ["--tls-listening-port", "5349", "--cert", tls[0], "--pkey", tls[1]]
    procs.start(SERVER, "turnserver", "-n", "--listening-ip", RELAY2, "--relay-ip", RELAY2,
                "--listening-port", "3478", "--min-port", "49160", "--max-port", "49200",
                "--lt-cred-mech", "--user", "lab:labpass", "--realm", "lab.example", "--fingerprint",
                *sec, "--no-dtls", "--no-cli", "--log-file", "stdout", "--simple-log")
    wait_listen(SERVER, 3478)
    if tls is not None:
        wait_listen(SERVER, 5349)


def relay_cert():
    """A self-signed certificate for the relay, with its address as subjectAltName so that a
    verifying client (Python's default context, given this certificate as its CA through
    SSL_CERT_FILE) accepts it: nothing is turned off."""
    c, k = tmp("relay-cert.pem"), tmp("relay-key.pem")
    sh(None, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-nodes", "-subj", "/CN=turn.lab.example", "-addext", "subjectAltName=IP:%s,DNS:turn.lab.example" % RELAY2,
       "-days", "30", "-keyout", k, "-out", c)
    return c, k


def aiortc_call(run, *offer_args, env=None, duration=6):
    """An aiortc audio call: the answerer in the server namespace, the offerer (the user) in the
    client's, signalling over TCP 8100; `duration` s of Opus audio each way. `env`: extra environment
    variables for the offerer."""
    ans = run.procs.start(SERVER, sys.executable, AIORTC, "answer", "--signal", S + ":8100", "--duration",
                          str(duration))
    for _ in range(12):  # importing aiortc takes seconds on a loaded machine
        try:
            wait_listen(SERVER, 8100)
            break
        except RuntimeError:
            if ans.poll() is not None:
                raise RuntimeError("aiortc answerer exited: %s" % run.procs.stop_all())
    else:
        raise RuntimeError("aiortc answerer never listened on 8100")
    with run.capture():
        r = subprocess.run(["ip", "netns", "exec", CLIENT, sys.executable, AIORTC, "offer", "--signal",
                            S + ":8100", "--duration", str(duration), *offer_args], text=True, capture_output=True,
                           timeout=120, env=dict(os.environ, **(env or {})))
        if r.returncode != 0:
            raise RuntimeError("aiortc offer failed: %s" % r.stderr[-2000:])
        run.log += [json.loads(ln) for ln in r.stdout.splitlines() if ln.startswith("{")]
        time.sleep(1.0)


WEBRTC_CALL = ("A real WebRTC audio call between two aiortc %s peers (PyPI aiortc/aioice): SDP offer/answer "
               "over TCP 8100, ICE connectivity checks, DTLS-SRTP (DTLS 1.2 with use_srtp), then SRTP Opus "
               "(aiortc's AudioStreamTrack, 20 ms frames) both ways for 6 s (4 s over TURN/TLS; 3 s per leg in the fallback call) with RTCP, then close. %s")


@scenario(11)
def webrtc_call_p2p(run):
    aiortc_call(run)
    return {"description": WEBRTC_CALL % (version("aiortc"), "Host candidates only: the media flows P2P "
                                          "between 10.71.1.2 and 10.71.2.2 through the router."),
            "applied": {"impairment": "none", "config": {"ice": "host candidates"}},
            "expect": {"calls": [{"app": "webrtc", "count": 1}], "no_verdict_status": ["blocked", "throttled"],
                       "findings_absent_everywhere": NO_BLOCK + NO_THROTTLE},
            "flow_notes": {("tcp", S + ":8100"): {"role": "signalling (SDP over TCP)"}}}


@scenario(11)
def webrtc_call_turn_udp(run):
    coturn(run.procs)
    aiortc_call(run, "--turn", "turn:%s:3478?transport=udp" % RELAY2, "--relay")
    return {"description": WEBRTC_CALL % (version("aiortc"), "The offerer only uses relayed candidates "
                                          "(iceTransportPolicy relay): its media goes through coturn (Debian) "
                                          "on 10.71.2.4:3478 over UDP (Allocate with long-term credentials, "
                                          "CreatePermission/ChannelBind, then ChannelData or Send/Data "
                                          "indications carrying STUN checks, DTLS and SRTP)."),
            "applied": {"impairment": "none", "config": {"turn": RELAY2 + ":3478/udp", "relay_only": True}},
            "expect": {"calls": [{"app": "webrtc", "count": 1}], "no_verdict_status": ["blocked", "throttled"],
                       "findings_absent_everywhere": NO_BLOCK + NO_THROTTLE},
            "flow_notes": {("tcp", S + ":8100"): {"role": "signalling (SDP over TCP)"},
                           ("udp", RELAY2 + ":3478"): {"role": "media via TURN/UDP", "app": "webrtc",
                                                       "service": "call",
                                                       "protocols_include": ["stun", "turn", "rtp"]}}}


@scenario(11)
def webrtc_call_turn_tcp(run):
    coturn(run.procs)
    aiortc_call(run, "--turn", "turn:%s:3478?transport=tcp" % RELAY2, "--relay")
    return {"description": WEBRTC_CALL % (version("aiortc"), "The offerer only uses relayed candidates "
                                          "and reaches coturn on 10.71.2.4:3478 over TCP (RFC 6062 stream "
                                          "framing: STUN messages and 4-byte-padded ChannelData back to back); "
                                          "the relay talks UDP to the answerer."),
            "applied": {"impairment": "none", "config": {"turn": RELAY2 + ":3478/tcp", "relay_only": True}},
            "expect": {"calls": [{"app": "webrtc", "count": 1}], "no_verdict_status": ["blocked", "throttled"],
                       "findings_absent_everywhere": NO_BLOCK + NO_THROTTLE},
            "flow_notes": {("tcp", S + ":8100"): {"role": "signalling (SDP over TCP)"},
                           ("tcp", RELAY2 + ":3478"): {"role": "media via TURN/TCP", "app": "webrtc",
                                                       "service": "call",
                                                       "protocols_include": ["stun", "turn", "rtp"]}}}


BARESIP_MODULES = ("g711.so", "ausine.so", "aubridge.so", "srtp.so", "account.so", "menu.so")


def baresip_conf(name, ip, user, rtp_ports):
    """A config directory for one baresip (Debian) UA: no registrar (regint=0), SDES-SRTP mandatory
    (RTP/SAVP with a=crypto), PCMU only, a 440 Hz sine as the microphone (ausine: 48 kHz stereo only,
    baresip resamples to PCMU's 8 kHz mono), the speaker a dead end (aubridge)."""
    d = tmp("baresip-" + name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config"), "w") as fh:
        fh.write("poll_method epoll\nsip_listen %s:5060\naudio_player aubridge,%s\naudio_source ausine,440\n"
                 "audio_alert aubridge,%s\nausrc_srate 48000\nauplay_srate 48000\nausrc_channels 2\nauplay_channels 2\n"
                 "rtp_ports %s\nrtcp_mux no\njitter_buffer_delay 5-10\nmodule_path /usr/lib/baresip/modules\n"
                 % (ip, name, name, rtp_ports) + "".join("module %s\n" % m for m in BARESIP_MODULES))
    with open(os.path.join(d, "accounts"), "w") as fh:
        fh.write("<sip:%s@%s:5060>;regint=0;mediaenc=srtp-mand;answermode=auto;audio_codecs=PCMU\n" % (user, ip))
    return d


def baresip_version():
    r = subprocess.run(["baresip", "-h"], text=True, capture_output=True)
    first = (r.stdout + r.stderr).splitlines()
    return first[0].split(" Copyright")[0] if first else "baresip"


def baresip_call(run, seconds):
    """bob (the callee, auto-answer) in the server namespace, alice (the user) dials him from the
    client's and quits `seconds` after starting, which hangs up with a BYE."""
    bob = baresip_conf("bob", S, "bob", "52300-52310")
    alice = baresip_conf("alice", C, "alice", "41200-41210")
    run.procs.start(SERVER, "baresip", "-f", bob, "-t", str(seconds + 20))
    wait_listen(SERVER, 5060, "u")
    with run.capture():
        r = subprocess.run(["ip", "netns", "exec", CLIENT, "baresip", "-f", alice, "-e", "/dial sip:bob@%s:5060" % S,
                            "-t", str(seconds)], text=True, capture_output=True, timeout=seconds + 30,
                           stdin=subprocess.DEVNULL)
        out = r.stdout + r.stderr
        run.log.append({"role": "baresip-caller", "version": baresip_version(), "exit": r.returncode,
                        "established": "established" in out.lower(),
                        "log_tail": [ln for ln in out.splitlines() if "call" in ln.lower()][-6:]})
        time.sleep(1.0)


SIP_SRTP = ("A real SIP call between two %s UAs (Debian baresip): alice@10.71.1.2 dials "
            "sip:bob@10.71.2.2:5060 directly (no registrar), INVITE/100/180?/200/ACK over UDP 5060 with SDP "
            "m=audio RTP/SAVP and a=crypto (SDES-SRTP, mediaenc=srtp-mand), bob answers automatically; PCMU "
            "(PT 0, 20 ms) SRTP both ways from a 440 Hz sine, RTCP (SRTCP) on the next port; alice hangs up "
            "with a BYE after about %d s. RTP headers are in the clear (SRTP encrypts the payload only), so "
            "sequence, timestamps, loss and jitter are measurable.")


@scenario(11)
def sip_srtp_call(run):
    baresip_call(run, 4)
    sip = {"app": "sip", "service": "call", "protocols_include": ["rtp"]}
    return {"description": SIP_SRTP % (baresip_version(), 4),
            "applied": {"impairment": "none", "config": {"mediaenc": "srtp-mand", "codec": "PCMU"}},
            "expect": {"calls": [{"app": "sip", "count": 1}], "calls_total": 1,
                       "verdicts": [{"app": "sip", "status": "ok"}],
                       "no_verdict_status": ["blocked", "throttled"],
                       "findings_absent_everywhere": NO_BLOCK + NO_THROTTLE},
            "flow_notes": {("udp", S + ":5060"): {"role": "signalling", "app": "sip",
                                                  "protocols_include": ["sip", "sdp"]}},
            "flow_port_notes": [("udp", lambda p: 52300 <= p <= 52310 and p % 2 == 0, dict(sip, role="media")),
                                ("udp", lambda p: 52300 <= p <= 52310 and p % 2 == 1,
                                 {"role": "rtcp (SRTCP)", "app": "sip"})]}


@scenario(11)
def webrtc_call_turn_tls(run):
    c, k = relay_cert()
    coturn(run.procs, tls=(c, k))
    aiortc_call(run, "--turn", "turns:%s:5349?transport=tcp" % RELAY2, "--relay", env={"SSL_CERT_FILE": c},
                duration=4)
    return {"description": WEBRTC_CALL % (version("aiortc"), "The offerer only uses relayed candidates and "
                                          "reaches coturn on 10.71.2.4:5349 over TLS (turns:, a self-signed "
                                          "certificate for IP 10.71.2.4 that the client trusts as its CA; "
                                          "the handshake verifies it). Everything of the call (Allocate, "
                                          "ChannelData, ICE checks, DTLS, SRTP) is inside TLS application "
                                          "data: on the wire there is one TCP connection with a TLS "
                                          "handshake (no SNI: the server is an address) and records both "
                                          "ways at the call's packet rate. RTP sequence numbers, "
                                          "timestamps, payload types and SSRCs cannot be seen, so loss, "
                                          "jitter and MOS cannot be measured; the connection's timing and "
                                          "rate, and TCP loss, can."),
            "applied": {"impairment": "none", "config": {"turn": RELAY2 + ":5349/tls", "relay_only": True}},
            "expect": {"calls_total": 1, "no_verdict_status": ["blocked", "throttled"],
                       "findings_absent_everywhere": NO_BLOCK + NO_THROTTLE},
            "flow_notes": {("tcp", S + ":8100"): {"role": "signalling (SDP over TCP)"},
                           ("tcp", RELAY2 + ":5349"): {"role": "media via TURN/TLS", "service": "call",
                                                       "protocols_include": ["tls"]}}}


@scenario(11)
def webrtc_udp_blocked_turn_tcp(run):
    coturn(run.procs)
    rule = ["iptables", "-I", "FORWARD", "-p", "udp", "-j", "DROP"]
    count = ["iptables", "-A", "FORWARD", "-p", "udp", "-j", "RETURN"]  # counts forwarded UDP, accepts it
    router(*count)
    ans = run.procs.start(SERVER, sys.executable, AIORTC, "answer", "--signal", S + ":8100", "--duration", "3",
                          "--legs", "2")
    for _ in range(12):
        try:
            wait_listen(SERVER, 8100)
            break
        except RuntimeError:
            if ans.poll() is not None:
                raise RuntimeError("aiortc answerer exited: %s" % run.procs.stop_all())
    else:
        raise RuntimeError("aiortc answerer never listened on 8100")
    with run.capture():
        off = subprocess.Popen(["ip", "netns", "exec", CLIENT, sys.executable, AIORTC, "offer", "--signal",
                                S + ":8100", "--duration", "3", "--fallback-turn",
                                "turn:%s:3478?transport=tcp" % RELAY2, "--stall", "2"],
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # the media starts once aiortc has imported and connected: wait for UDP to flow (a counting rule)
        t0 = time.time()
        while time.time() - t0 < 60 and udp_forwarded() < 150:  # ICE checks, DTLS, ~1 s of Opus
            time.sleep(0.1)
        time.sleep(1.5)
        router(*rule)
        run.applied_at = time.time()
        stdout, stderr = off.communicate(timeout=120)
        if off.returncode != 0:
            raise RuntimeError("aiortc offer failed: %s" % stderr[-2000:])
        run.log += [json.loads(ln) for ln in stdout.splitlines() if ln.startswith("{")]
        time.sleep(1.0)
    return {"description": WEBRTC_CALL % (version("aiortc"), "About 3 s into the P2P media (host candidates, "
                                          "UDP between 10.71.1.2 and 10.71.2.2) the router starts dropping "
                                          "all forwarded UDP. aiortc has no ICE restart, so the caller does "
                                          "what an app can: once no audio has arrived for 2 s it hangs that "
                                          "leg up and calls again (a new offer over the same TCP 8100 "
                                          "signalling) with relayed candidates only, through coturn on "
                                          "10.71.2.4:3478 over TCP (RFC 6062 framing); that leg's media "
                                          "flows for 3 s, the relay reaching the answerer over UDP inside "
                                          "the server network, which the router does not see."),
            "applied": {"impairment": "iptables DROP of all forwarded UDP, from ~3 s into the call",
                        "where": "vw-router FORWARD", "commands": [" ".join(count), " ".join(rule)],
                        "config": {"fallback_turn": RELAY2 + ":3478/tcp", "stall_s": 2}},
            "expect": {"calls_total": 1, "calls": [{"app": "webrtc", "count": 1}],
                       "findings": [{"kind": "udp_blocked_tcp_fallback", "call_app": "webrtc"}],
                       "no_verdict_status": ["blocked", "throttled"],
                       "findings_absent_everywhere": ["tcp_reset_injected", "dns_injection", "udp_media_blocked"]
                       + NO_THROTTLE},
            "flow_notes": {("tcp", S + ":8100"): {"role": "signalling (SDP over TCP)"},
                           ("tcp", RELAY2 + ":3478"): {"role": "media via TURN/TCP after the fallback",
                                                       "service": "call", "findings": ["udp_blocked_tcp_fallback"],
                                                       "protocols_include": ["stun", "turn", "rtp"]}}}


def udp_forwarded():
    """UDP packets the router has forwarded so far (its FORWARD counters, a rule of its own)."""
    out = sh(ROUTER, "iptables", "-L", "FORWARD", "-v", "-x", "-n", capture=True)
    for ln in out.splitlines():
        f = ln.split()
        if len(f) > 3 and f[2] == "RETURN" and f[3] in ("udp", "17"):
            return int(f[0])
    return 0


def version(pkg):
    try:
        from importlib.metadata import version as v
        return v(pkg)
    except Exception:
        return "?"


def turn_servers(procs, duration):
    procs.start(SERVER, sys.executable, PEERS, "udp-sink", "--listen", RELAY1 + ":3478")
    procs.start(SERVER, sys.executable, PEERS, "turn-server", "--listen", RELAY1 + ":443", "--duration", str(duration))
    wait_listen(SERVER, 443)
    wait_listen(SERVER, 3478, "u")


@scenario(3)
def turn_tcp_fallback(run):
    turn_servers(run.procs, 6)
    with run.capture():
        run.log += peer(CLIENT, "turn-client", "--local", C + ":40200", "--udp-relay", RELAY1 + ":3478",
                        "--tcp-relay", RELAY1 + ":443", "--duration", "6")
        time.sleep(0.5)
    return {"description": "ICE over UDP fails (Binding requests to the relay's UDP 3478 at 0, 0.5, 1.5, 3.5 s go "
                           "unanswered: the relay reads and ignores them), then TURN over TCP 443 with RFC 4571 "
                           "2-byte framing: Allocate → 401 (REALM, NONCE) → authenticated Allocate → success "
                           "(XOR-RELAYED-ADDRESS), CreatePermission, ChannelBind 0x4000, then 6 s of ChannelData "
                           "frames carrying RTP (PT 111) both ways, Refresh lifetime 0, FIN.",
            "applied": {"impairment": "none (the relay does not answer UDP)", "config": {"framing": "RFC 4571"}},
            "expect": {},
            "flow_notes": {("tcp", RELAY1 + ":443"): {"role": "TURN over TCP", "protocols_include": ["stun", "turn"]},
                           ("udp", RELAY1 + ":3478"): {"role": "unanswered ICE check", "protocols_include": ["stun"]}}}


@scenario(4)
def tls_sni_reset(run):
    https_server(run.procs, S + ":443", "--size", "20000")
    wait_listen(SERVER, 443)
    rule = ["iptables", "-A", "FORWARD", "-p", "tcp", "--dport", "443", "-m", "string", "--string",
            "blocked.example", "--algo", "bm", "-j", "REJECT", "--reject-with", "tcp-reset"]
    router(*rule)
    with run.capture():
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", "allowed.example")
        time.sleep(0.5)
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", "blocked.example")
        time.sleep(1)
    run.flow_roles = [("tcp", S + ":443", 0, {"role": "control", "sni": "allowed.example", "no_findings": ["tls_sni_reset", "tcp_reset_injected"]}),
                      ("tcp", S + ":443", 1, {"role": "target", "sni": "blocked.example", "findings": ["tls_sni_reset"]})]
    return {"description": "In-path SNI filter: the router REJECTs with tcp-reset any TCP segment to port 443 "
                           "containing 'blocked.example' (the ClientHello). The ClientHello is dropped and the "
                           "router answers with a RST spoofed from the server (TTL 64 seen vs the server's 127). "
                           "Control first: the same server with SNI allowed.example downloads 20,000 bytes.",
            "applied": {"impairment": "iptables REJECT tcp-reset on SNI match", "where": "vw-router FORWARD",
                        "commands": [" ".join(rule)], "config": {"sni": "blocked.example"}},
            "expect": {"verdicts": [], "findings_absent_everywhere": ["dns_injection", "quic_blocked"] + NO_THROTTLE}}


@scenario(4)
def tls_sni_reset_v6(run):
    https_server(run.procs, "[%s]:443" % S6, "--size", "20000")
    wait_listen(SERVER, 443)
    rule = ["ip6tables", "-A", "FORWARD", "-p", "tcp", "--dport", "443", "-m", "string", "--string",
            "blocked.example", "--algo", "bm", "-j", "REJECT", "--reject-with", "tcp-reset"]
    router(*rule)
    target = "[%s]:443" % S6
    with run.capture():
        run.log += peer(CLIENT, "http-client", "--connect", target, "--sni", "allowed.example")
        time.sleep(0.5)
        run.log += peer(CLIENT, "http-client", "--connect", target, "--sni", "blocked.example")
        time.sleep(1)
    run.flow_roles = [("tcp", target, 0, {"role": "control", "sni": "allowed.example", "no_findings": ["tls_sni_reset", "tcp_reset_injected"]}),
                      ("tcp", target, 1, {"role": "target", "sni": "blocked.example", "findings": ["tls_sni_reset"]})]
    return {"description": "tls_sni_reset over IPv6 (fd71:1::2 → [fd71:2::2]:443): ip6tables REJECT with tcp-reset "
                           "on 'blocked.example' in the ClientHello. The router's RST arrives with hop limit 64, the "
                           "server's packets with 127. Control first: SNI allowed.example. Neighbour discovery "
                           "appears at the start (IPv6 caches are cold).",
            "applied": {"impairment": "ip6tables REJECT tcp-reset on SNI match", "where": "vw-router FORWARD",
                        "commands": [" ".join(rule)], "config": {"sni": "blocked.example"}},
            "expect": {"findings_absent_everywhere": ["dns_injection", "quic_blocked"] + NO_THROTTLE}}


@scenario(4)
def rst_injection_race(run):
    https_server(run.procs, S + ":443", "--size", "20000", "--delay", "0.05")
    wait_listen(SERVER, 443)
    inj = run.procs.start(ROUTER, sys.executable, INJECT, "rst", "--iface", "r1", "--sni", "blocked.example",
                          "--count", "3", "--step", "1460")
    time.sleep(0.5)
    with run.capture():
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", "allowed.example")
        time.sleep(0.5)
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", "blocked.example")
        time.sleep(1)
    del inj
    run.flow_roles = [("tcp", S + ":443", 0, {"role": "control", "sni": "allowed.example", "no_findings": ["tcp_reset_injected", "tcp_reset_suspicious"]}),
                      ("tcp", S + ":443", 1, {"role": "target", "sni": "blocked.example", "findings": ["tcp_reset_injected"]})]
    return {"description": "On-path injector (inject.py rst in vw-router, AF_PACKET copy of r1, raw-socket send): on "
                           "a ClientHello whose SNI contains 'blocked.example' it sends 3 RST+ACK to the client "
                           "spoofed from the server, seq = the server's next seq, +1460, +2920, IP TTL 64, window 0. "
                           "The real ClientHello still reaches the server, whose ServerHello (sent after a 50 ms "
                           "think time, TTL 127) arrives after the RSTs, and the client's stack answers it with "
                           "RSTs. Control first: SNI allowed.example, no injection.",
            "applied": {"impairment": "on-path RST injection race", "where": "vw-router, r1",
                        "commands": ["inject.py rst --iface r1 --sni blocked.example --count 3 --step 1460"],
                        "config": {"rst_count": 3, "seq_step": 1460, "injector_ttl": 64, "server_think_time_s": 0.05}},
            "expect": {"findings_absent_everywhere": ["dns_injection", "quic_blocked"] + NO_THROTTLE}}


@scenario(10)
def stun_arp_only(run):
    wa_servers(run.procs, 10)
    rule = ["iptables", "-A", "FORWARD", "-p", "udp", "-d", RELAY1 + "," + RELAY2, "--dport", "3478", "-j", "DROP"]
    router(*rule)
    arp = "inject.py arp --iface r1 --target %s --sender 10.71.1.1 --count 2 --every 8" % C
    with run.capture():
        run.procs.start(ROUTER, sys.executable, INJECT, *arp.split()[1:])
        run.log += peer(CLIENT, "wa-client", "--local", C + ":40100", "--relay", RELAY1 + ":3478",
                        "--relay", RELAY2 + ":3478", "--duration", "10", "--rc", "7", timeout=120)
        time.sleep(0.3)
    return {"description": "A client capture whose only inbound frames are ARP (issue 10, item 8): the "
                           "WhatsApp-style relay probes of stun_relay_dropped, dropped by the router, and nothing "
                           "else but two ARP requests from the gateway (inject.py arp in vw-router: the router asks "
                           "for the client, as a gateway does when its neighbour entry goes stale; the client "
                           "answers). No IP flow carries a packet toward the client, yet the return path was "
                           "captured: a blocked STUN relay, not 'one direction only'.",
            "applied": {"impairment": "iptables DROP of UDP to the relays' port 3478", "where": "vw-router FORWARD",
                        "commands": [" ".join(rule), arp], "config": {"rto_s": 0.5, "rc": 7}},
            "expect": {"verdicts": [{"app": "whatsapp", "status": "blocked"}],
                       "findings_absent_everywhere": ["tcp_reset_injected"] + NO_THROTTLE},
            "flow_notes": {("udp", RELAY1 + ":3478"): {"role": "target", "findings": ["stun_unanswered"]},
                           ("udp", RELAY2 + ":3478"): {"role": "target", "findings": ["stun_unanswered"]}}}


@scenario(10)
def synproxy_server(run):
    http_server(run.procs, S + ":80", "--size", "4000")
    wait_listen(SERVER, 80)
    cmds = ["sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0",
            "iptables -t raw -A PREROUTING -i r1 -p tcp -m multiport --dports 80,81 --syn -j CT --notrack",
            "iptables -A FORWARD -i r1 -p tcp -m multiport --dports 80,81 -m conntrack --ctstate INVALID,UNTRACKED "
            "-j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460",
            "iptables -A FORWARD -i r1 -p tcp -m multiport --dports 80,81 -m conntrack --ctstate INVALID -j DROP"]
    for c in cmds:
        router(*c.split())
    with run.capture():
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--host", "allowed.example")
        time.sleep(0.3)
        run.log += peer(CLIENT, "http-client", "--connect", S + ":81", "--host", "closed.example", "--timeout", "3")
        time.sleep(0.5)
    absent = ["tcp_reset_injected", "tcp_synack_injected", "http_block_page", "request_blackholed"]
    run.flow_roles = [("tcp", S + ":80", 0, {"role": "control", "no_findings": absent + ["tcp_reset_suspicious"]}),
                      ("tcp", S + ":81", 0, {"role": "target", "no_findings": absent})]
    return {"description": "A server behind iptables SYNPROXY in the router (genuine resets that look odd): the "
                           "router answers every SYN to ports 80 and 81 itself (a SYN cookie, TTL 64), then opens the "
                           "connection to the server and splices the two, translating sequence numbers. Port 80 "
                           "serves a page (the control); nothing listens on port 81, so the server's RST (TTL 127) "
                           "reaches the client after a handshake the router completed: the server's own refusal, "
                           "not an injection, though its TTL is not the SYN-ACK's.",
            "applied": {"impairment": "none (a SYN proxy in front of the server)", "where": "vw-router raw PREROUTING, FORWARD",
                        "commands": cmds, "config": {"ports": [80, 81]}},
            "expect": {"findings_absent_everywhere": absent + ["dns_injection", "quic_blocked"] + NO_THROTTLE,
                       "no_verdict_status": ["blocked"]}}


@scenario(10)
def rst_ips_reject(run):
    https_server(run.procs, S + ":443", "--size", "20000", "--delay", "0.05")
    wait_listen(SERVER, 443)
    inj = "inject.py rst --iface r1 --sni blocked.example --count 1 --ttl 127 --window 8192"
    run.procs.start(ROUTER, sys.executable, INJECT, *inj.split()[1:])
    time.sleep(0.5)
    with run.capture():
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", "allowed.example")
        time.sleep(0.5)
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", "blocked.example")
        time.sleep(1)
    run.flow_roles = [("tcp", S + ":443", 0, {"role": "control", "sni": "allowed.example",
                                              "no_findings": ["tcp_reset_injected", "tcp_reset_suspicious"]}),
                      ("tcp", S + ":443", 1, {"role": "target", "sni": "blocked.example",
                                              "findings": [{"kind": "tcp_reset_injected", "severity": "blocked"}]})]
    return {"description": "IPS-style reject whose TTL is copied from the real server: on a ClientHello with SNI "
                           "'blocked.example' the router (inject.py rst) sends one RST+ACK to the client spoofed from "
                           "the server at the server's next seq, with IP TTL 127 (what the server's packets arrive "
                           "with), window 8192 and an IP ID of its own. TTL cannot betray it; its IP ID, its window "
                           "and the race (the server's ServerHello, after a 50 ms think time, at the RST's seq) do. "
                           "Control first: SNI allowed.example.",
            "applied": {"impairment": "on-path RST with the server's TTL (IPS reject)", "where": "vw-router, r1",
                        "commands": [inj], "config": {"rst_count": 1, "injector_ttl": 127, "rst_window": 8192}},
            "expect": {"findings_absent_everywhere": ["dns_injection", "quic_blocked", "http_block_page"] + NO_THROTTLE}}


@scenario(10)
def http_block_page(run):
    return http_block_pages(run, CLIENT, "c0")


@scenario(10)
def http_block_page_server(run):
    """The same injections captured on the server's side: the server never sees the block pages."""
    return http_block_pages(run, SERVER, "s0")


def http_block_pages(run, ns, iface):
    http_server(run.procs, S + ":80", "--size", "4000", "--delay", "0.05")
    wait_listen(SERVER, 80)
    cmds = ["inject.py http --iface r1 --host blocked.example --page redirect --ttl 64 --window 5840",
            "inject.py http --iface r1 --host law.example --page law --ttl 127 --window 8192"]
    for c in cmds:
        run.procs.start(ROUTER, sys.executable, INJECT, *c.split()[1:])
    time.sleep(0.5)
    with run.capture(ns=ns, iface=iface):
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--host", "allowed.example")
        time.sleep(0.3)
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--host", "blocked.example", "--timeout", "3")
        time.sleep(0.3)
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--host", "law.example", "--timeout", "3")
        time.sleep(1)
    absent = ["http_block_page", "tcp_reset_injected", "tcp_reset_suspicious"]
    blocked = [{"kind": "http_block_page", "severity": "blocked"}]
    if ns == SERVER:
        # The server never sees the injected pages, and its own answers are never forged; but the
        # client acknowledges bytes the server never sent (ACK_UNSENT_DATA).
        run.flow_roles = [("tcp", S + ":80", 0, {"role": "control", "no_findings": absent})] + [
            ("tcp", S + ":80", i, {"role": "target", "findings": blocked,
                                   "no_findings": ["tcp_reset_injected", "tcp_reset_suspicious"]}) for i in (1, 2)]
    else:
        run.flow_roles = [("tcp", S + ":80", 0, {"role": "control", "no_findings": absent}),
                          ("tcp", S + ":80", 1, {"role": "target", "findings": blocked}),
                          ("tcp", S + ":80", 2, {"role": "target", "findings": blocked})]
    return {"description": "On-path HTTP block pages (inject.py http in vw-router, AF_PACKET copy of r1, raw-socket "
                           "send): on a GET whose Host contains 'blocked.example' the router answers first, spoofed "
                           "from the server, with a 302 to the bare address http://10.71.1.1/blocked.html, a FIN and "
                           "a RST (IP TTL 64, its own IP ID counter, window 5840); on 'law.example' with a 403 page "
                           "titled 'Blocked' that says 'blocked by law', FIN and RST, its TTL copied from the server "
                           "(127 on arrival, as an IPS reject does) so only IP ID, window and the race betray it. "
                           "The real request still reaches the server, which answers after a 50 ms think time "
                           "(TTL 127) at the same sequence numbers; the client's stack, already reset, answers that "
                           "with RSTs. Control first: Host allowed.example, no injection. Captured on %s."
                           % ("c0 (the client)" if ns == CLIENT else "s0 in vw-server (the server's side: the "
                              "injected pages never reach it; it sees its own answers, the client's ACK of bytes it never sent, "
                              "and the client's resets)"),
            "applied": {"impairment": "on-path HTTP block-page injection", "where": "vw-router, r1",
                        "commands": cmds,
                        "config": {"redirect_location": "http://10.71.1.1/blocked.html", "injector_ttls": [64, 127],
                                   "server_think_time_s": 0.05}},
            "expect": {"findings_absent_everywhere": ["dns_injection", "quic_blocked"] + NO_THROTTLE}}


@scenario(10)
def request_blackholed(run):
    http_server(run.procs, S + ":80", "--size", "4000")
    wait_listen(SERVER, 80)
    rule = ["iptables", "-A", "FORWARD", "-p", "tcp", "--dport", "80", "-m", "string", "--string",
            "Host: blackholed.example", "--algo", "bm", "-j", "DROP"]
    router(*rule)
    with run.capture():
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--host", "allowed.example")
        time.sleep(0.3)
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--host", "blackholed.example", "--timeout", "4")
        time.sleep(1.5)
    run.flow_roles = [("tcp", S + ":80", 0, {"role": "control", "no_findings": ["request_blackholed", "http_block_page"]}),
                      ("tcp", S + ":80", 1, {"role": "target",
                                             "findings": [{"kind": "request_blackholed", "severity": "blocked"}]})]
    return {"description": "Request black-holed after the handshake: the router DROPs every TCP segment to port 80 "
                           "containing 'Host: blackholed.example'. The handshake completes; the GET and its "
                           "retransmissions vanish, the client gives up after 4 s and closes (its FIN rides on the "
                           "still unacknowledged request and is dropped too); the server never sees the request. "
                           "Control first: the same server answers Host allowed.example.",
            "applied": {"impairment": "iptables string match DROP after the handshake", "where": "vw-router FORWARD",
                        "commands": [" ".join(rule)], "config": {"host": "blackholed.example"}},
            "expect": {"findings_absent_everywhere": ["tcp_reset_injected", "tcp_reset_suspicious", "http_block_page",
                                                      "dns_injection", "quic_blocked"] + NO_THROTTLE}}


# ----------------------------------------------------------------------------------------------
# TTL-limited probe runs on a multi-hop path (issue 10 item 7)
# ----------------------------------------------------------------------------------------------

TOPOLOGY_HOPS = ("vw-client (c0 10.71.1.2) — vw-router (hop 1: r1 10.71.1.1 | r2 10.71.3.1) — vw-hop2 (hop 2: h2a "
                 "10.71.3.2 | h2b 10.71.4.1) — vw-hop3 (hop 3: h3a 10.71.4.2 | h3b 10.71.2.1) — vw-server (hop 4: s0 "
                 "10.71.2.2; initial TTL 128), all forwarding IPv4 (lab.sh hops). Each router answers an expired "
                 "packet with ICMP time exceeded (Linux default, rate limit left at its default) from the address "
                 "of its interface toward the client. veth pairs with tso/gso/gro off; capture on c0 in vw-client.")
PROBE_MAX_TTL = 5
PROBE_WAIT = 1.0


def hops_up():
    sh(None, "bash", os.path.join(LAB, "lab.sh"), "hops")


def probe_runs(run, hosts, tls=False):
    """One probe run per host, one after the other: TTL 1..PROBE_MAX_TTL, a new connection per TTL."""
    for h in hosts:
        extra = ["--sni"] if tls else []
        run.log += peer(CLIENT, "http-ttl-probe", "--connect", S + (":443" if tls else ":80"), "--host", h,
                        "--max-ttl", str(PROBE_MAX_TTL), "--wait", str(PROBE_WAIT), *extra, timeout=120)
        time.sleep(0.5)


def probe_roles(host_runs, port=80):
    """Flow roles of the probe connections, in order: (host, ttl, extra) per connection."""
    roles, i = [], 0
    for host, per_ttl in host_runs:
        for ttl in range(1, PROBE_MAX_TTL + 1):
            extra = dict(per_ttl(ttl))
            extra.setdefault("role", "probe %s ttl %d" % (host, ttl))
            roles.append(("tcp", "%s:%d" % (S, port), i, extra))
            i += 1
    return roles


PROBE_DESC = ("A TTL-limited probe run (peers.py http-ttl-probe, as CenTrace-style censorship traceroutes do): for "
              "each TTL 1..5 a new TCP connection to 10.71.2.2:80 with the normal TTL, then IP_TTL set to that TTL "
              "and one GET sent; %.1f s to answer (the kernel retransmits the request at the limited TTL "
              "meanwhile), then an abortive close (RST at the limited TTL). Routers 1-3 answer the expired "
              "requests with ICMP time exceeded from 10.71.1.1, 10.71.3.2 and 10.71.4.2; TTL 4 reaches the "
              "server. " % PROBE_WAIT)
NO_HOP_CONTROL = ["http_block_page", "request_blackholed", "tcp_reset_injected", "blocking_hop"]


@scenario(10)
def ttl_probe_block_page(run):
    hops_up()
    http_server(run.procs, S + ":80", "--size", "4000", "--delay", "0.05")
    wait_listen(SERVER, 80)
    cmd = "inject.py http --iface h3a --host blocked.example --page redirect --ttl 64 --window 5840"
    run.procs.start(HOP3, sys.executable, INJECT, "http", "--iface", ifn("h3a"), "--host", "blocked.example",
                    "--page", "redirect", "--ttl", "64", "--window", "5840")
    time.sleep(0.5)
    with run.capture():
        probe_runs(run, ["allowed.example", "blocked.example"])
    run.flow_roles = probe_roles([
        ("allowed.example", lambda t: {"role": "control ttl %d" % t, "no_findings": NO_HOP_CONTROL}),
        ("blocked.example", lambda t: {"role": "target ttl %d (expires before the tap)" % t,
                                       "no_findings": ["request_blackholed", "http_block_page"]} if t < 3 else
         {"role": "target ttl %d (past the tap)" % t,
          "findings": [{"kind": "http_block_page", "severity": "blocked"}], "no_findings": ["request_blackholed"]}),
    ])
    return {"topology": TOPOLOGY_HOPS,
            "description": PROBE_DESC + "A tap on the link between hop 2 and hop 3 (inject.py http on h3a in vw-hop3, "
                           "AF_PACKET copy of what arrives there, raw-socket send) answers every GET whose Host "
                           "contains 'blocked.example' first, spoofed from the server: a 302 to the bare address "
                           "http://10.71.1.1/blocked.html, FIN and RST (IP TTL 64, 62 on arrival). So the requests "
                           "sent with TTL 1 and 2 expire before the tap (time exceeded from hops 1 and 2), the one "
                           "with TTL 3 reaches it (block page, and time exceeded from hop 3), TTL 4 and 5 reach the "
                           "tap and the server (block page, then the server's own answer at the same sequence "
                           "numbers). Control run first: Host allowed.example through the same path.",
            "applied": {"impairment": "on-path HTTP block-page injection between hop 2 and hop 3",
                        "where": "vw-hop3, h3a (the link from hop 2)", "commands": [cmd],
                        "config": {"injector_between_hops": [2, 3], "probe_ttls": list(range(1, PROBE_MAX_TTL + 1)),
                                   "server_hop": 4, "server_think_time_s": 0.05}},
            "expect": {"findings": [{"kind": "blocking_hop", "severity": "blocked", "evidence": {
                "first_blocked_ttl": 3, "last_hop_ttl": 2, "last_hop_from": "10.71.3.2", "onset": "injected",
                "onset_hop_from": "10.71.4.2", "trigger": "blocked.example"}}],
                       "findings_absent_everywhere": ["dns_injection", "quic_blocked"] + NO_THROTTLE}}


@scenario(10)
def ttl_probe_blackholed(run):
    hops_up()
    http_server(run.procs, S + ":80", "--size", "4000")
    wait_listen(SERVER, 80)
    rule = ["iptables", "-A", "FORWARD", "-p", "tcp", "--dport", "80", "-m", "string", "--string",
            "Host: blackholed.example", "--algo", "bm", "-j", "DROP"]
    sh(HOP3, *rule)
    with run.capture():
        probe_runs(run, ["allowed.example", "blackholed.example"])
    run.flow_roles = probe_roles([
        ("allowed.example", lambda t: {"role": "control ttl %d" % t, "no_findings": NO_HOP_CONTROL}),
        ("blackholed.example", lambda t: {"role": "target ttl %d (expires at or before the filter)" % t,
                                          "no_findings": ["request_blackholed", "http_block_page"]} if t < 4 else
         {"role": "target ttl %d (dropped by the filter)" % t,
          "findings": [{"kind": "request_blackholed", "severity": "blocked"}], "no_findings": ["http_block_page"]}),
    ])
    return {"topology": TOPOLOGY_HOPS,
            "description": PROBE_DESC + "Hop 3 (vw-hop3) DROPs in FORWARD every TCP segment to port 80 containing "
                           "'Host: blackholed.example'. Linux checks the TTL before the FORWARD hook, so the request "
                           "sent with TTL 3 still draws time exceeded from hop 3 (10.71.4.2); from TTL 4 on the "
                           "requests are dropped there and nothing comes back. Control run first: Host "
                           "allowed.example through the same path (served from TTL 4 on).",
            "applied": {"impairment": "iptables string match DROP at hop 3 (FORWARD)", "where": "vw-hop3 FORWARD",
                        "commands": [" ".join(rule)],
                        "config": {"filter_hop": 3, "probe_ttls": list(range(1, PROBE_MAX_TTL + 1)), "server_hop": 4}},
            "expect": {"findings": [{"kind": "blocking_hop", "severity": "blocked", "evidence": {
                "first_blocked_ttl": 4, "last_hop_ttl": 3, "last_hop_from": "10.71.4.2", "onset": "silence",
                "control": "same_server", "control_trigger": "allowed.example", "trigger": "blackholed.example"}}],
                       "findings_absent_everywhere": ["tcp_reset_injected", "tcp_reset_suspicious", "http_block_page",
                                                      "dns_injection", "quic_blocked"] + NO_THROTTLE}}


@scenario(10)
def ttl_probe_sni_reset(run):
    hops_up()
    https_server(run.procs, S + ":443", "--size", "4000", "--delay", "0.05")
    wait_listen(SERVER, 443)
    cmd = "inject.py rst --iface h3a --sni blocked.example --count 3 --step 1460"
    run.procs.start(HOP3, sys.executable, INJECT, "rst", "--iface", ifn("h3a"), "--sni", "blocked.example",
                    "--count", "3", "--step", "1460")
    time.sleep(0.5)
    with run.capture():
        probe_runs(run, ["allowed.example", "blocked.example"], tls=True)
    quiet = ["tls_sni_drop", "tls_sni_reset", "tcp_reset_injected", "request_blackholed"]
    run.flow_roles = probe_roles([
        ("allowed.example", lambda t: {"role": "control ttl %d" % t, "no_findings": quiet + ["blocking_hop"]}),
        ("blocked.example", lambda t: {"role": "target ttl %d (expires before the tap)" % t, "no_findings": quiet}
         if t < 3 else {"role": "target ttl %d (past the tap)" % t,
                        "findings": [{"kind": "tcp_reset_injected", "severity": "blocked"}],
                        "no_findings": ["tls_sni_drop", "request_blackholed"]}),
    ], port=443)
    return {"topology": TOPOLOGY_HOPS,
            "description": PROBE_DESC.replace("GET", "TLS ClientHello (SNI = the host)").replace(":80", ":443")
            + "A tap on the link between hop 2 and hop 3 (inject.py rst on h3a in vw-hop3) answers every "
              "ClientHello whose SNI contains 'blocked.example' with 3 forged RST+ACK spoofed from the server "
              "(IP TTL 64, 62 on arrival; sequence numbers stepping by 1460). TTL 1 and 2 expire before the tap; "
              "the TTL-3 ClientHello reaches the tap (RSTs) and expires at hop 3; from TTL 4 it reaches the server "
              "too, whose ServerHello (after a 50 ms think time) meets the client's own resets. Control run "
              "first: SNI allowed.example through the same path.",
            "applied": {"impairment": "on-path RST injection on an SNI between hop 2 and hop 3",
                        "where": "vw-hop3, h3a (the link from hop 2)", "commands": [cmd],
                        "config": {"injector_between_hops": [2, 3], "probe_ttls": list(range(1, PROBE_MAX_TTL + 1)),
                                   "server_hop": 4, "server_think_time_s": 0.05}},
            "expect": {"findings": [{"kind": "blocking_hop", "severity": "blocked", "evidence": {
                "first_blocked_ttl": 3, "last_hop_ttl": 2, "last_hop_from": "10.71.3.2", "onset": "injected",
                "onset_hop_from": "10.71.4.2", "trigger": "blocked.example"}}],
                       "findings_absent_everywhere": ["http_block_page", "dns_injection", "quic_blocked"] + NO_THROTTLE}}


@scenario(10)
def ttl_probe_control(run):
    hops_up()
    http_server(run.procs, S + ":80", "--size", "4000")
    wait_listen(SERVER, 80)
    with run.capture():
        probe_runs(run, ["allowed.example", "blocked.example"])
    run.flow_roles = probe_roles([
        (h, lambda t: {"role": "control ttl %d" % t, "no_findings": NO_HOP_CONTROL})
        for h in ("allowed.example", "blocked.example")])
    return {"topology": TOPOLOGY_HOPS,
            "description": PROBE_DESC + "Control: no censor anywhere; the same two probe runs (Host allowed.example, "
                           "then blocked.example) each see time exceeded from hops 1-3 and the server's answer from "
                           "TTL 4 on.",
            "applied": {"impairment": "none", "config": {"probe_ttls": list(range(1, PROBE_MAX_TTL + 1)),
                                                         "server_hop": 4}},
            "expect": {"findings_absent_everywhere": NO_BLOCK + NO_THROTTLE + ["http_block_page", "request_blackholed",
                                                                               "blocking_hop"],
                       "no_verdict_status": ["blocked", "throttled"]}}


def client_bridge():
    """Puts the client's address on a Linux bridge br0 with c0 as its only port (same MAC, IPv6 off
    on br0): `tcpdump -i any` then sees every frame twice, on br0 and on c0, as real captures on
    bridged hosts (containers, VMs, Wi-Fi bridges) do. Returns the commands."""
    mac = sh(CLIENT, "cat", "/sys/class/net/c0/address", capture=True).strip()
    cmds = [["ip", "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0"],
            ["sysctl", "-qw", "net.ipv6.conf.br0.disable_ipv6=1"],
            ["ip", "link", "set", "br0", "address", mac],
            ["ip", "addr", "flush", "dev", "c0"],
            ["ip", "link", "set", "c0", "master", "br0"],
            ["ip", "addr", "add", C + "/24", "dev", "br0"],
            ["ip", "link", "set", "br0", "up"],
            ["ip", "route", "replace", "default", "via", "10.71.1.1"],
            ["ethtool", "-K", "br0", "tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off"]]
    for c in cmds:
        sh(CLIENT, *c, check=c[0] != "ethtool")
    # settle ARP again (the bridge port was re-addressed) before any capture starts
    sh(CLIENT, sys.executable, "-c", 'import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM)'
       '.sendto(b"x", ("%s", 9))' % S)
    time.sleep(1.0)
    return [" ".join(c) for c in cmds]


def bridged_traffic(run, iface):
    """The traffic of the duplicate-frame pair: a WhatsApp-style call (3 s of media both ways), a TLS
    connection with SNI allowed.example (control), one with blocked.example (REJECTed with a reset
    spoofed from the server) and an HTTP request whose Host the router DROPs (black-holed)."""
    bridge = client_bridge()
    wa_servers(run.procs, 6)
    http_server(run.procs, S + ":80", "--size", "4000")
    wait_listen(SERVER, 80)
    rules = [["iptables", "-A", "FORWARD", "-p", "tcp", "--dport", "443", "-m", "string", "--string",
              "blocked.example", "--algo", "bm", "-j", "REJECT", "--reject-with", "tcp-reset"],
             ["iptables", "-A", "FORWARD", "-p", "tcp", "--dport", "80", "-m", "string", "--string",
              "Host: blackholed.example", "--algo", "bm", "-j", "DROP"]]
    for r in rules:
        router(*r)
    with run.capture(iface=iface):
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", "allowed.example")
        time.sleep(0.3)
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", "blocked.example")
        time.sleep(0.3)
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--host", "allowed.example")
        time.sleep(0.3)
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--host", "blackholed.example", "--timeout", "3")
        run.log += peer(CLIENT, "wa-client", "--local", C + ":40100", "--relay", RELAY1 + ":3478",
                        "--relay", RELAY2 + ":3478", "--duration", "3")
        time.sleep(0.5)
    run.flow_roles = [("tcp", S + ":443", 0, {"role": "control", "sni": "allowed.example",
                                              "no_findings": ["tls_sni_reset", "tcp_reset_injected", "tcp_reset_suspicious"]}),
                      ("tcp", S + ":443", 1, {"role": "target", "sni": "blocked.example",
                                              "findings": [{"kind": "tls_sni_reset", "severity": "blocked"},
                                                           {"kind": "tcp_reset_suspicious", "severity": "info"}]}),
                      ("tcp", S + ":80", 0, {"role": "control", "no_findings": ["request_blackholed", "http_block_page"]}),
                      ("tcp", S + ":80", 1, {"role": "target",
                                             "findings": [{"kind": "request_blackholed", "severity": "blocked"}]})]
    wa = {"app": "whatsapp", "service": "call", "protocols_include": ["stun", "rtp"],
          "no_findings": ["stun_unanswered", "udp_one_way", "udp_media_blocked", "rtp_cut", "rtp_degraded"]}
    applied = {"impairment": "iptables REJECT tcp-reset on SNI blocked.example; DROP on Host blackholed.example",
               "where": "vw-router FORWARD; the client's address on bridge br0 (port c0)",
               "commands": bridge + [" ".join(r) for r in rules],
               "config": {"sni": "blocked.example", "host": "blackholed.example", "capture_interface": iface}}
    return applied, {("udp", RELAY1 + ":3478"): dict(wa, role="media via relay"),
                     ("udp", RELAY2 + ":3478"): {"role": "relay probe", "app": "whatsapp", "protocols_include": ["stun"]}}


DUP_EXPECT = {"calls": [{"app": "whatsapp", "count": 1}],
              "findings_absent_everywhere": ["tcp_reset_injected", "http_block_page",
                                             "dns_injection", "quic_blocked", "handshake_timeout",
                                             "udp_media_blocked", "stun_unanswered"] + NO_THROTTLE}


@scenario(10, fmt="pcapng")
def dup_frames_any(run):
    applied, notes = bridged_traffic(run, "any")
    c0 = sh(CLIENT, "cat", "/sys/class/net/c0/ifindex", capture=True).strip()
    return {"measure_only": "sll.ifindex == %s" % c0,
            "anomaly_counts": {"duplicate_frame": "ip && sll.ifindex != %s" % c0},
            "description": "Every frame doubled (issue 10, item 2): the client's address sits on a Linux bridge br0 "
                           "whose only port is c0, and the capture is `tcpdump -i any` (Linux cooked headers), so "
                           "each IP packet is captured on br0 and on c0, microseconds apart, byte for byte the same. "
                           "Traffic: TLS with SNI allowed.example (control), SNI blocked.example REJECTed by the "
                           "router with a reset spoofed from the server, HTTP Host allowed.example (control), Host "
                           "blackholed.example DROPped after the handshake, and a 3 s WhatsApp-style relay call. "
                           "Control: dup_frames_control, the same traffic captured on br0 alone. Every copy is one "
                           "packet: the duplicate_frame anomaly, no ghost flow, the same findings as the control.",
            "applied": applied, "expect": DUP_EXPECT,
            "flow_notes": notes}


@scenario(10, fmt="pcapng")
def dup_frames_control(run):
    applied, notes = bridged_traffic(run, "br0")
    return {"anomaly_counts": {"duplicate_frame": None},
            "description": "Control of dup_frames_any: the same bridge and traffic captured on br0 alone (one copy "
                           "of every frame). Its findings are what the doubled capture must give.",
            "applied": applied, "expect": DUP_EXPECT,
            "flow_notes": notes}


def synack_race(run, ns, iface, side):
    http_server(run.procs, S + ":80", "--size", "4000")
    http_server(run.procs, S + ":8080", "--size", "4000")
    wait_listen(SERVER, 8080)
    rule = ["iptables", "-A", "FORWARD", "-p", "tcp", "--sport", "8080", "--tcp-flags", "SYN,ACK", "SYN,ACK",
            "-j", "DROP"]
    router(*rule)
    inj = "inject.py synack --iface r1 --back r2 --dport 8080 --delay 0.02"
    run.procs.start(ROUTER, sys.executable, INJECT, *inj.split()[1:])
    time.sleep(0.5)
    with run.capture(ns=ns, iface=iface):
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--host", "allowed.example")
        time.sleep(0.3)
        run.log += peer(CLIENT, "http-client", "--connect", S + ":8080", "--host", "www.lab.example", "--timeout", "3")
        time.sleep(1)
    absent = ["tcp_synack_injected", "tcp_reset_injected", "http_block_page", "request_blackholed"]
    run.flow_roles = [("tcp", S + ":80", 0, {"role": "control", "no_findings": absent}),
                      ("tcp", S + ":8080", 0, {"role": "target",
                                               "findings": [{"kind": "tcp_synack_injected", "severity": "blocked"}]})]
    where = ("the client's side (c0)" if side == "client" else
             "the server's side (s0 in vw-server: the forged SYN-ACK is never seen there, only the client's ACK "
             "of an ISN the server never sent)")
    return {"description": "Forged SYN-ACK raced from the router (inject.py synack): on a SYN to port 8080 the router "
                           "answers at once, spoofed from the server (a random ISN, TTL 64, window 5840, no options); "
                           "the server's real SYN-ACK is held in the router (FORWARD DROP of SYN-ACKs from 8080, "
                           "re-sent 20 ms later by the injector, TTL 127 as if forwarded). The client ACKs the forged "
                           "ISN and sends its GET; the server, which sent another ISN, resets; the real SYN-ACK then "
                           "finds no socket and the client resets it. Captured on %s. Control first: port 80 of the "
                           "same server, untouched." % where,
            "applied": {"impairment": "forged SYN-ACK race", "where": "vw-router, r1 and r2",
                        "commands": [" ".join(rule), inj], "config": {"dport": 8080, "real_synack_delay_s": 0.02}},
            "expect": {"findings_absent_everywhere": ["dns_injection", "quic_blocked"] + NO_THROTTLE}}


@scenario(10)
def synack_injected(run):
    return synack_race(run, CLIENT, "c0", "client")


@scenario(10)
def synack_injected_server(run):
    return synack_race(run, SERVER, "s0", "server")


@scenario(4)
def syn_drop(run):
    http_server(run.procs, S + ":80", "--size", "20000")
    https_server(run.procs, S + ":443", "--size", "20000")
    wait_listen(SERVER, 443)
    rule = ["iptables", "-A", "FORWARD", "-p", "tcp", "--dport", "443", "--syn", "-j", "DROP"]
    router(*rule)
    with run.capture():
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80")
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", "www.lab.example", "--timeout", "10")
        time.sleep(0.2)
    return {"description": "SYNs to port 443 are dropped by the router: the client's connect() retries its SYN at "
                           "about 0, 1, 2, 3, 4, 5 and 7 s (Linux 6.x: initial RTO 1 s, the first 4 retries linear "
                           "because net.ipv4.tcp_syn_linear_timeouts=4, then doubling) and gives up after 10 s. "
                           "Control first: HTTP on port 80 of the same server works.",
            "applied": {"impairment": "iptables DROP of SYNs to tcp/443", "where": "vw-router FORWARD",
                        "commands": [" ".join(rule)], "config": {}},
            "expect": {"findings_absent_everywhere": ["tcp_reset_injected", "dns_injection"] + NO_THROTTLE},
            "flow_notes": {("tcp", S + ":80"): {"role": "control", "no_findings": ["handshake_timeout"]},
                           ("tcp", S + ":443"): {"role": "target", "findings": ["handshake_timeout"]}}}


@scenario(4)
def udp_media_blackhole(run):
    wa_servers(run.procs, 15)
    rule = ["iptables", "-I", "FORWARD", "-p", "udp", "-j", "DROP"]
    with run.capture():
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", "g.whatsapp.net")
        client = run.procs.start(CLIENT, sys.executable, PEERS, "wa-client", "--local", C + ":40100",
                                 "--relay", RELAY1 + ":3478", "--relay", RELAY2 + ":3478", "--duration", "15")
        time.sleep(5.3)  # about 5 s of media
        router(*rule)
        run.applied_at = time.time()
        client.wait(40)
        time.sleep(0.5)
    return {"description": "A WhatsApp-style call (as whatsapp_call_stun: TLS g.whatsapp.net, relay probes, "
                           "0x0800 join, RTP PT 120 both ways) whose UDP is black-holed by the router about 5 s "
                           "into the media: from then on the client keeps sending RTP and keepalives (0x0801) and "
                           "receives nothing, until it hangs up at 15 s. No BYE-like signal is sent.",
            "applied": {"impairment": "iptables DROP of all UDP, both directions, from ~5 s into the call",
                        "where": "vw-router FORWARD", "commands": [" ".join(rule)], "config": {"after_s": 5}},
            "expect": {"verdicts": [{"app": "whatsapp", "status": "blocked"}],
                       "findings_absent_everywhere": ["tcp_reset_injected", "dns_injection"] + NO_THROTTLE},
            "flow_notes": {("udp", RELAY1 + ":3478"): {"role": "target", "app": "whatsapp",
                                                       "findings_any": ["rtp_cut", "udp_media_blocked", "udp_one_way"]},
                           ("tcp", S + ":443"): {"role": "control", "sni": "g.whatsapp.net"}}}


@scenario(4)
def stun_relay_dropped(run):
    wa_servers(run.procs, 10)
    rule = ["iptables", "-A", "FORWARD", "-p", "udp", "-d", RELAY1 + "," + RELAY2, "--dport", "3478", "-j", "DROP"]
    router(*rule)
    with run.capture():
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", "g.whatsapp.net")
        run.log += peer(CLIENT, "wa-client", "--local", C + ":40100", "--relay", RELAY1 + ":3478",
                        "--relay", RELAY2 + ":3478", "--duration", "10", "--rc", "7", timeout=120)
        time.sleep(0.3)
    return {"description": "WhatsApp-style relay probes (0x0003 + attribute 0x4000) to two relays, dropped by the "
                           "router from the start. The client retries each transaction on RFC 5389 §7.2.1 timing "
                           "(RTO 500 ms: sends at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s, Rc = 7, then waits Rm×RTO "
                           "= 8 s) and gives up: no call media. Two-way traffic elsewhere: the TLS signalling "
                           "connection (SNI g.whatsapp.net) works.",
            "applied": {"impairment": "iptables DROP of UDP to the relays' port 3478", "where": "vw-router FORWARD",
                        "commands": [" ".join(rule)], "config": {"rto_s": 0.5, "rc": 7, "rm": 16}},
            "expect": {"verdicts": [{"app": "whatsapp", "status": "blocked"}],
                       "findings_absent_everywhere": ["tcp_reset_injected"] + NO_THROTTLE},
            "flow_notes": {("udp", RELAY1 + ":3478"): {"role": "target", "findings": ["stun_unanswered"]},
                           ("udp", RELAY2 + ":3478"): {"role": "target", "findings": ["stun_unanswered"]},
                           ("tcp", S + ":443"): {"role": "control", "sni": "g.whatsapp.net"}}}


@scenario(4)
def udp_blocked_tcp_fallback(run):
    turn_servers(run.procs, 6)
    run.procs.start(SERVER, sys.executable, PEERS, "dns-server", "--listen", DNS + ":53",
                    "--record", "relay.lab.example=10.71.2.3")
    rule = ["iptables", "-A", "FORWARD", "-p", "udp", "-d", "10.71.2.0/24", "-j", "DROP"]
    router(*rule)
    with run.capture():
        run.log += peer(CLIENT, "turn-client", "--local", C + ":40200", "--udp-relay", RELAY1 + ":3478",
                        "--tcp-relay", RELAY1 + ":443", "--duration", "6")
        time.sleep(0.5)
    return {"description": "All UDP from the client side to the server network is dropped by the router. The "
                           "client's ICE Binding requests to the relay's UDP 3478 (0, 0.5, 1.5, 3.5 s) go "
                           "unanswered; it falls back to TURN over TCP 443 (RFC 4571 framing: Allocate/401/"
                           "Allocate/ChannelBind, then ChannelData carrying RTP both ways for 6 s).",
            "applied": {"impairment": "iptables DROP of all UDP to 10.71.2.0/24", "where": "vw-router FORWARD",
                        "commands": [" ".join(rule)], "config": {}},
            "expect": {"findings_absent_everywhere": ["tcp_reset_injected"] + NO_THROTTLE},
            "flow_notes": {("tcp", RELAY1 + ":443"): {"role": "fallback", "protocols_include": ["stun", "turn"],
                                                      "findings_any": ["udp_blocked_tcp_fallback"]},
                           ("udp", RELAY1 + ":3478"): {"role": "blocked", "protocols_include": ["stun"]}}}


REAL_WA = "157.240.196.60"     # a plausible public answer; never contacted
FORGED = "93.46.8.90"          # the kind of address a censor's injector returns; never contacted
EXAMPLE = "93.184.215.14"      # never contacted


@scenario(4)
def dns_injection(run):
    run.procs.start(SERVER, sys.executable, PEERS, "dns-server", "--listen", DNS + ":53", "--delay", "0.02",
                    "--ttl", "300", "--record", "g.whatsapp.net=" + REAL_WA, "--record", "example.org=" + EXAMPLE)
    run.procs.start(ROUTER, sys.executable, INJECT, "dns", "--iface", "r1", "--name", "g.whatsapp.net",
                    "--answer", FORGED, "--ttl", "3600")
    wait_listen(SERVER, 53, "u")
    time.sleep(0.5)
    with run.capture():
        run.log += peer(CLIENT, "dns-client", "--server", DNS + ":53", "--name", "example.org",
                        "--name", "g.whatsapp.net", "--timeout", "1")
    return {"description": "The resolver 10.71.2.53 (vw-server, 20 ms think time, record TTL 300) answers every "
                           "query. An on-path injector in vw-router (inject.py dns) sees the query for "
                           "g.whatsapp.net and answers first, spoofed from the resolver, with A %s, record TTL "
                           "3600 and IP TTL 64; the real answer (A %s, TTL 300, IP TTL 127) follows on the same "
                           "5-tuple. Control: example.org, answered once. No address in the answers is contacted."
                           % (FORGED, REAL_WA),
            "applied": {"impairment": "on-path DNS answer injection", "where": "vw-router, r1",
                        "commands": ["inject.py dns --iface r1 --name g.whatsapp.net --answer %s --ttl 3600" % FORGED],
                        "config": {"name": "g.whatsapp.net", "forged_answer": FORGED, "forged_ttl": 3600,
                                   "real_answer": REAL_WA, "real_ttl": 300}},
            "expect": {"findings_absent_everywhere": ["tcp_reset_injected"] + NO_THROTTLE},
            "flow_query": {"g.whatsapp.net": {"role": "target", "findings": ["dns_injection"]},
                           "example.org": {"role": "control", "no_findings": ["dns_injection"]}}}


@scenario(4)
def dns_bogon(run):
    run.procs.start(SERVER, sys.executable, PEERS, "dns-server", "--listen", DNS + ":53",
                    "--record", "g.whatsapp.net=127.0.0.1", "--record", "web.whatsapp.com=10.10.34.35",
                    "--record", "example.org=" + EXAMPLE)
    wait_listen(SERVER, 53, "u")
    with run.capture():
        run.log += peer(CLIENT, "dns-client", "--server", DNS + ":53", "--name", "example.org",
                        "--name", "g.whatsapp.net", "--name", "web.whatsapp.com")
    return {"description": "The resolver itself lies: g.whatsapp.net → 127.0.0.1 and web.whatsapp.com → "
                           "10.10.34.35 (private, as reported for national filters); control example.org → %s "
                           "(public). No address is contacted." % EXAMPLE,
            "applied": {"impairment": "resolver answers bogons for call-app names", "where": "vw-server resolver",
                        "config": {"g.whatsapp.net": "127.0.0.1", "web.whatsapp.com": "10.10.34.35"}},
            "expect": {"findings_absent_everywhere": ["tcp_reset_injected", "dns_injection"] + NO_THROTTLE},
            "flow_query": {"g.whatsapp.net": {"role": "target", "findings": ["dns_bogon"]},
                           "web.whatsapp.com": {"role": "target", "findings": ["dns_bogon"]},
                           "example.org": {"role": "control", "no_findings": ["dns_bogon"]}}}


@scenario(4)
def dns_nxdomain(run):
    run.procs.start(SERVER, sys.executable, PEERS, "dns-server", "--listen", DNS + ":53",
                    "--record", "g.whatsapp.net=", "--record", "web.whatsapp.com=", "--record", "example.org=" + EXAMPLE)
    wait_listen(SERVER, 53, "u")
    with run.capture():
        run.log += peer(CLIENT, "dns-client", "--server", DNS + ":53", "--name", "example.org",
                        "--name", "g.whatsapp.net", "--name", "web.whatsapp.com")
    return {"description": "The resolver answers NXDOMAIN (rcode 3, SOA in authority) for g.whatsapp.net and "
                           "web.whatsapp.com; control example.org → %s." % EXAMPLE,
            "applied": {"impairment": "resolver answers NXDOMAIN for call-app names", "where": "vw-server resolver",
                        "config": {"nxdomain": ["g.whatsapp.net", "web.whatsapp.com"]}},
            "expect": {"findings_absent_everywhere": ["tcp_reset_injected", "dns_injection"] + NO_THROTTLE},
            "flow_query": {"g.whatsapp.net": {"role": "target", "findings": ["dns_nxdomain"]},
                           "web.whatsapp.com": {"role": "target", "findings": ["dns_nxdomain"]},
                           "example.org": {"role": "control", "no_findings": ["dns_nxdomain"]}}}


@scenario(4)
def quic_blocked(run):
    https_server(run.procs, S + ":443", "--size", "20000")
    wait_listen(SERVER, 443)
    rule = ["iptables", "-A", "FORWARD", "-p", "udp", "--dport", "443", "-j", "DROP"]
    router(*rule)
    with run.capture():
        run.log += peer(CLIENT, "quic-client", "--connect", S + ":443", "--sni", "video.lab.example",
                        "--tries", "4", "--pto", "0.3")
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", "video.lab.example")
        time.sleep(0.2)
    return {"description": "UDP 443 is dropped by the router while TCP 443 to the same host works. The client "
                           "sends 4 QUIC v1 Initial packets (1200 bytes, real RFC 9001 protection with keys from "
                           "the DCID, CRYPTO frame holding a real TLS 1.3 ClientHello with SNI video.lab.example "
                           "and ALPN h3) at 0, 0.3, 0.9, 2.1 s (PTO 300 ms doubling), gets nothing, then fetches "
                           "20,000 bytes over TLS/TCP 443 with the same SNI.",
            "applied": {"impairment": "iptables DROP of udp/443", "where": "vw-router FORWARD",
                        "commands": [" ".join(rule)], "config": {"sni": "video.lab.example"}},
            "expect": {"findings_absent_everywhere": ["tcp_reset_injected"] + NO_THROTTLE},
            "flow_notes": {("udp", S + ":443"): {"role": "target", "protocols_include": ["quic"], "sni": "video.lab.example",
                                                 "findings": ["quic_blocked"]},
                           ("tcp", S + ":443"): {"role": "control", "sni": "video.lab.example",
                                                 "protocols_include": ["tls"], "no_findings": ["tls_sni_reset", "tls_sni_drop"]}}}


# ---- throttling ----

def sip_call_with(run, impair, *uas):
    run.procs.start(SERVER, sys.executable, PEERS, "sip-uas", "--listen", S + ":5060", "--media-port", "52310", *uas)
    wait_listen(SERVER, 5060, "u")
    cmds = impair()
    with run.capture():
        run.log += peer(CLIENT, "sip-uac", "--local", C + ":5060", "--server", S + ":5060",
                        "--media-port", "41234", "--duration", "6")
        time.sleep(0.5)
    return cmds


@scenario(5)
def rtp_policed(run):
    cmds = sip_call_with(run, lambda: nft_policer("ip saddr %s udp sport 52310" % S, 6000, 1500))
    return {"description": "The SIP call of sip_call, 6 s of media (PCMU, 50 packets/s of 200 IP bytes = 80 kbit/s each way) "
                           "with its download RTP (server 52310 → client 41234) policed by nftables at 6000 "
                           "bytes/s (48 kbit/s), burst 1500 bytes: about 40 % of the server's RTP packets are "
                           "dropped and the received rate is flat at the policed rate. Signalling and the "
                           "upload direction are untouched. The UAS starts its RTP right after its 200 OK, so the server's "
                           "RTP may reach the capture before the client's (it did in the committed capture: the media "
                           "flow's originator is the server side).",
            "applied": {"impairment": "UDP policer on the download RTP", "where": "vw-router forward hook",
                        "commands": cmds, "config": {"rate_bps": 48_000, "burst_bytes": 1500, "direction": "s2c",
                                                     "offered_bps": 80_000}},
            "expect": {"calls": [{"app": "sip", "count": 1}], "no_verdict_status": ["ok", "blocked"],
                       "findings_absent_everywhere": NO_BLOCK},
            "flow_notes": {("udp", S + ":5060"): {"role": "signalling", "app": "sip"},
                           ("udp", S + ":52310"): {"role": "target", "app": "sip",
                                                   "findings_any": ["throttling_policer", "rtp_degraded"]}}}


@scenario(5)
def rtp_random_loss(run):
    rule = ["iptables", "-A", "FORWARD", "-s", S, "-p", "udp", "--sport", "52310", "-m", "statistic",
            "--mode", "random", "--probability", "0.05", "-j", "DROP"]
    sip_call_with(run, lambda: router(*rule), "--media-on-ack")
    return {"description": "The SIP call of sip_call, 6 s of media, with 5 % random loss on its download RTP (iptables "
                           "statistic), no rate limit: the call is degraded (loss), not throttled. The UAS starts "
                           "its RTP when the ACK arrives, so the client's RTP comes first.",
            "applied": {"impairment": "random loss 5 % on the download RTP", "where": "vw-router FORWARD",
                        "commands": [" ".join(rule)], "config": {"loss_probability": 0.05}},
            "expect": {"calls": [{"app": "sip", "count": 1}], "no_verdict_status": ["blocked", "throttled"],
                       "findings_absent_everywhere": NO_BLOCK + NO_THROTTLE},
            "flow_notes": {("udp", S + ":5060"): {"role": "signalling", "app": "sip"},
                           ("udp", S + ":52310"): {"role": "target", "app": "sip", "findings": ["rtp_degraded"]}}}

@scenario(5)
def policer_1mbit(run):
    return policer(run, 1_000_000)


@scenario(5)
def policer_4mbit(run):
    return policer(run, 4_000_000)


def policer(run, bps):
    size = 2_500_000
    http_server(run.procs, S + ":80", "--size", str(size))
    wait_listen(SERVER, 80)
    burst = 25_000 if bps == 1_000_000 else 50_000
    cmds = nft_policer("ip saddr %s tcp sport 80" % S, bps // 8, burst)
    with run.capture(split_snap=96):
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--timeout", "90")
    return {"description": "Bulk HTTP download of %d bytes through an nftables policer on the download direction "
                           "(server→client): 'limit rate over %d bytes/second burst %d bytes drop' = %g Mbit/s. "
                           "Packets over the rate are dropped, not queued." % (size, bps // 8, burst, bps / 1e6),
            "applied": {"impairment": "policer (nftables limit rate over … drop)", "where": "vw-router forward hook",
                        "commands": cmds, "config": {"rate_bps": bps, "burst_bytes": burst, "direction": "s2c"}},
            "expect": {"findings_absent_everywhere": NO_BLOCK + ["throttling_shaper"],
                       "verdicts": []},
            "flow_notes": {("tcp", S + ":80"): {"role": "target", "findings": ["throttling_policer"],
                                                "rate_bps": bps, "rate_tolerance": 0.15}},
            "rate_flow": ("tcp", S + ":80")}


@scenario(5)
def shaper_tbf(run):
    size = 2_000_000
    http_server(run.procs, S + ":80", "--size", str(size))
    wait_listen(SERVER, 80)
    cmd = router("tc", "qdisc", "add", "dev", "r1", "root", "tbf", "rate", "2mbit", "burst", "32kbit", "latency", "400ms")
    with run.capture(split_snap=96):
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--timeout", "90")
    return {"description": "Bulk HTTP download of %d bytes through a token-bucket shaper with a deep queue on the "
                           "router's client-facing egress: tc tbf rate 2mbit burst 32kbit latency 400ms (about "
                           "100 KB of queue): packets wait instead of being dropped, so the RTT inflates." % size,
            "applied": {"impairment": "shaper (tc tbf, deep queue)", "where": "vw-router r1 egress (download direction)",
                        "commands": [cmd], "config": {"rate_bps": 2_000_000, "burst_bits": 32_000, "latency_ms": 400}},
            "expect": {"findings_absent_everywhere": NO_BLOCK + ["throttling_policer"]},
            "flow_notes": {("tcp", S + ":80"): {"role": "target", "findings": ["throttling_shaper"],
                                                "rate_bps": 2_000_000, "rate_tolerance": 0.15}},
            "rate_flow": ("tcp", S + ":80")}


@scenario(5)
def shaper_tbf_rwnd(run):
    size = 2_000_000
    http_server(run.procs, S + ":80", "--size", str(size))
    wait_listen(SERVER, 80)
    cmd = router("tc", "qdisc", "add", "dev", "r1", "root", "tbf", "rate", "2mbit", "burst", "32kbit", "latency", "400ms")
    with run.capture(split_snap=96):
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--timeout", "90", "--rcvbuf", "49152")
    return {"description": "As shaper_tbf (tc tbf rate 2mbit burst 32kbit latency 400ms, about 100 KB of queue), "
                           "but the client's receive buffer is set to 48 KB (SO_RCVBUF 49152, which Linux doubles), "
                           "so the advertised window stays below the queue: TCP never overflows it. The classic "
                           "shaper signature: a flat 2 Mbit/s, the RTT inflated by the standing queue, no loss. "
                           "(shaper_tbf, with autotuned windows, fills the queue and loses packets on each "
                           "overflow, the more so as this lab has no propagation delay.)",
            "applied": {"impairment": "shaper (tc tbf, deep queue), receiver window capped",
                        "where": "vw-router r1 egress (download direction)",
                        "commands": [cmd], "config": {"rate_bps": 2_000_000, "burst_bits": 32_000, "latency_ms": 400,
                                                      "client_so_rcvbuf": 49152}},
            "expect": {"findings_absent_everywhere": NO_BLOCK + ["throttling_policer"]},
            "flow_notes": {("tcp", S + ":80"): {"role": "target", "findings": ["throttling_shaper"],
                                                "rate_bps": 2_000_000, "rate_tolerance": 0.15}},
            "rate_flow": ("tcp", S + ":80")}


@scenario(5)
def tbf_tiny_queue(run):
    size = 1_500_000
    http_server(run.procs, S + ":80", "--size", str(size))
    wait_listen(SERVER, 80)
    cmd = router("tc", "qdisc", "add", "dev", "r1", "root", "tbf", "rate", "2mbit", "burst", "25kb", "limit", "3000")
    with run.capture(split_snap=96):
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--timeout", "90")
    return {"description": "Bulk HTTP download of %d bytes through tc tbf rate 2mbit burst 25kb limit 3000 "
                           "(a 25 KB bucket but only two packets of queue): excess packets are dropped almost at "
                           "once instead of waiting, so it behaves like a policer." % size,
            "applied": {"impairment": "tbf with a tiny queue (policer-like)", "where": "vw-router r1 egress",
                        "commands": [cmd], "config": {"rate_bps": 2_000_000, "burst_bytes": 25_600, "limit_bytes": 3000}},
            "expect": {"findings_absent_everywhere": NO_BLOCK},
            "flow_notes": {("tcp", S + ":80"): {"role": "target", "findings": ["throttling_policer"],
                                                "rate_bps": 2_000_000, "rate_tolerance": 0.15}},
            "rate_flow": ("tcp", S + ":80")}


@scenario(5)
def random_loss(run):
    http_server(run.procs, S + ":80", "--rate", "8000000", "--duration", "2.5")
    wait_listen(SERVER, 80)
    rule = ["iptables", "-A", "FORWARD", "-s", S, "-p", "tcp", "--sport", "80", "-m", "statistic", "--mode",
            "random", "--probability", "0.02", "-j", "DROP"]
    router(*rule)
    with run.capture(split_snap=96):
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--timeout", "60")
    return {"description": "2 % random loss on the download direction (iptables statistic), no rate limit. The "
                           "server is application-limited at 8 Mbit/s for 2.5 s (2.5 MB) so the capture stays "
                           "small; the loss is what TCP sees, not a rate cap. Must not be called throttling.",
            "applied": {"impairment": "random loss 2 %", "where": "vw-router FORWARD", "commands": [" ".join(rule)],
                        "config": {"loss_probability": 0.02, "app_rate_bps": 8_000_000}},
            "expect": {"findings_absent_everywhere": NO_BLOCK + NO_THROTTLE, "no_verdict_status": ["throttled", "blocked"]},
            "flow_notes": {("tcp", S + ":80"): {"role": "control (lossy, unthrottled)"}},
            "rate_flow": ("tcp", S + ":80")}


@scenario(5)
def app_limited(run):
    http_server(run.procs, S + ":80", "--rate", "500000", "--duration", "10")
    wait_listen(SERVER, 80)
    with run.capture(split_snap=96):
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--timeout", "60")
    return {"description": "An application-limited sender: the server writes 1,250 bytes every 10 ms (500 kbit/s) "
                           "for 10 s, no impairment anywhere. Flat low rate, no loss, no queueing: not throttling.",
            "applied": {"impairment": "none", "config": {"app_rate_bps": 500_000}},
            "expect": {"findings_absent_everywhere": NO_BLOCK + NO_THROTTLE, "no_verdict_status": ["throttled", "blocked"]},
            "flow_notes": {("tcp", S + ":80"): {"role": "control (app-limited)"}},
            "rate_flow": ("tcp", S + ":80")}


def confounder(run, description, config, server_args, client_args=(), impair=None, flows=1, gap=0.0):
    """A sender that limits itself (or a path that is slow for everyone): never a throttling finding.
    With flows > 1 the second download goes to another host and port (10.71.2.3:8080)."""
    http_server(run.procs, S + ":80", *server_args)
    wait_listen(SERVER, 80)
    if flows > 1:
        http_server(run.procs, RELAY1 + ":8080", *server_args)
        wait_listen(SERVER, 8080)
    cmds = [impair()] if impair else []
    with run.capture(split_snap=96):
        if flows == 1:
            run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--timeout", "90", *client_args)
        else:
            # concurrent downloads: start them together, wait for all
            outs = [tmp("flow%d.json" % i) for i in range(flows)]
            ps = []
            for i, o in enumerate(outs):
                ps.append(subprocess.Popen(["ip", "netns", "exec", CLIENT, sys.executable, PEERS, "http-client",
                                            "--connect", S + ":80" if i == 0 else RELAY1 + ":8080",
                                            "--timeout", "90", *client_args],
                                           stdout=open(o, "w")))
                time.sleep(gap)
            for pr in ps:
                pr.wait(timeout=120)
            for o in outs:
                run.log += [json.loads(ln) for ln in open(o) if ln.startswith("{")]
    return {"description": description,
            "applied": {"impairment": "none (confounder)" if not impair else "shared bottleneck",
                        "commands": cmds, "config": config},
            "expect": {"findings_absent_everywhere": NO_BLOCK + NO_THROTTLE,
                       "no_verdict_status": ["throttled", "blocked"]},
            "flow_notes": {("tcp", S + ":80"): {"role": "control (confounder)", "no_findings": NO_THROTTLE}},
            "rate_flows": True}


def app_bursty(run, rate, tick):
    burst = int(rate / 8 * tick)
    return confounder(run, "An application-limited sender with no impairment anywhere: the server writes %d bytes "
                           "(%.0f KiB) every %.0f ms (%.2f Mbit/s) for 10 s; each write leaves at line rate, then the "
                           "sender is idle. The RTT samples that span the idle time measure the application, not a "
                           "queue: not throttling (issue 12)." % (burst, burst / 1024, tick * 1000, rate / 1e6),
                      {"app_rate_bps": rate, "write_bytes": burst, "write_period_ms": tick * 1000},
                      ["--rate", str(rate), "--duration", "10", "--tick", str(tick)])


@scenario(12)
def app_bursty_32k(run):
    return app_bursty(run, 2_700_000, 0.0971)


@scenario(12)
def app_bursty_64k(run):
    return app_bursty(run, 2_000_000, 0.262)


@scenario(12)
def app_bursty_8k(run):
    return app_bursty(run, 2_600_000, 0.0252)


@scenario(12)
def video_onoff(run):
    return confounder(run, "A video-like on/off download: the server writes a 256 KiB chunk every 2 s (as a DASH/HLS "
                           "player fetching 2 s segments, 1.05 Mbit/s on average) for 12 s, each chunk at line rate, "
                           "no impairment: not throttling (issue 12).",
                      {"app_rate_bps": 1_048_576, "write_bytes": 262_144, "write_period_ms": 2000},
                      ["--rate", "1048576", "--duration", "12", "--tick", "2.0"])


@scenario(12)
def paced_sender(run):
    return confounder(run, "A paced sender: the server uses BBR (this kernel has no fq qdisc, so TCP's internal "
                           "pacing) with SO_MAX_PACING_RATE 3 Mbit/s for a 2 MB download, no impairment on the path: "
                           "the rate is flat and low because the sender paces itself; no queue builds, so not "
                           "throttling (issue 12).",
                      {"congestion_control": "bbr", "so_max_pacing_rate_bps": 3_000_000, "size_bytes": 2_000_000},
                      ["--size", "2000000", "--cc", "bbr", "--max-pacing-rate", "3000000"])


@scenario(12)
def shared_bottleneck(run):
    truth = confounder(run, "Two bulk downloads (1.5 MB each, from 10.71.2.2:80 and 10.71.2.3:8080) started together through one slow link: the router's "
                           "client-facing egress is tc htb rate 4mbit with a 100-packet FIFO (a slow access link, "
                           "nothing selective). Both flows share the link; neither is throttled on purpose: no "
                           "throttling finding on either flow (issue 12).",
                      {"link_rate_bps": 4_000_000, "flows": 2, "size_bytes": 1_500_000},
                      ["--size", "1500000"], flows=2,
                      impair=lambda: " && ".join([
                          router("tc", "qdisc", "add", "dev", "r1", "root", "handle", "1:", "htb", "default", "1"),
                          router("tc", "class", "add", "dev", "r1", "parent", "1:", "classid", "1:1", "htb", "rate",
                                 "4mbit", "ceil", "4mbit"),
                          router("tc", "qdisc", "add", "dev", "r1", "parent", "1:1", "pfifo", "limit", "100")]))
    # A slow link shared by two flows is nothing selective: no throttling finding of either kind on
    # either flow (confounder() already forbids both everywhere; issue 12 made this strict).
    truth["flow_notes"] = {("tcp", S + ":80"): {"role": "bulk (shared link)", "no_findings": NO_THROTTLE},
                           ("tcp", RELAY1 + ":8080"): {"role": "bulk (shared link)", "no_findings": NO_THROTTLE}}
    return truth


DELAYLINE = os.path.join(LAB, "delayline.py")


def delay_line(run, one_way_s):
    """Propagation delay without netem (TOOLCHAIN.md): every forwarded TCP packet goes through an
    NFQUEUE and delayline.py accepts it one_way_s later, so the path's RTT is 2 × one_way_s. Returns
    the commands; the caller removes the rule (delay_line_off) before the delay line is ended."""
    p = run.procs.start(ROUTER, sys.executable, DELAYLINE, "--queue", "0", "--delay", str(one_way_s))
    out = run.procs.items[-1][1]
    for _ in range(100):
        out.seek(0)
        if '"ready": true' in out.read():
            break
        if p.poll() is not None:
            raise RuntimeError("delay line did not start")
        time.sleep(0.05)
    rule = ["iptables", "-A", "FORWARD", "-p", "tcp", "-j", "NFQUEUE", "--queue-num", "0"]
    router(*rule)
    return ["python3 captures/lab/delayline.py --queue 0 --delay %g  # in vw-router" % one_way_s, " ".join(rule)]


def delay_line_off():
    router("iptables", "-D", "FORWARD", "-p", "tcp", "-j", "NFQUEUE", "--queue-num", "0")


def delayed_download(run, description, config, size, client_args=()):
    http_server(run.procs, S + ":80", "--size", str(size))
    wait_listen(SERVER, 80)
    cmds = delay_line(run, 0.15)
    with run.capture(split_snap=96):
        run.log += peer(CLIENT, "http-client", "--connect", S + ":80", "--timeout", "90", *client_args)
    delay_line_off()
    return {"description": description,
            "applied": {"impairment": "propagation delay 150 ms each way (RTT 300 ms), no rate limit, no loss",
                        "where": "vw-router FORWARD (NFQUEUE + delayline.py)", "commands": cmds,
                        "config": {"one_way_delay_ms": 150, "rtt_ms": 300, "size_bytes": size, **config}},
            "expect": {"findings_absent_everywhere": NO_BLOCK + NO_THROTTLE,
                       "no_verdict_status": ["throttled", "blocked"]},
            "flow_notes": {("tcp", S + ":80"): {"role": "control (confounder)", "no_findings": NO_THROTTLE}},
            "rate_flow": ("tcp", S + ":80")}


@scenario(12)
def long_delay(run):
    return delayed_download(
        run, "A bulk HTTP download of 2 MB over a long path: 150 ms of delay each way (RTT 300 ms, as netem "
             "delay would give; built with NFQUEUE and delayline.py since this kernel has no netem), no rate "
             "limit, no loss. The client's receive buffer is 64 KB (SO_RCVBUF 65536, which Linux doubles), so "
             "TCP is window-limited: a flat rate near window ÷ RTT for the whole transfer, like a shaper's, "
             "but the RTT stays at the path's 300 ms (no queue). Not throttling (issue 12).",
        {"client_so_rcvbuf": 65536}, 2_000_000, ["--rcvbuf", "65536"])


@scenario(12)
def slow_start_short(run):
    return delayed_download(
        run, "A short HTTP download (400 kB) over the 300 ms path of long_delay, default buffers: the whole "
             "transfer is TCP slow start (the rate doubles every RTT and the transfer ends before any "
             "limit is reached). Its rate is low because the flow is short, not because it is throttled "
             "(issue 12).",
        {}, 400_000)


TARGET_SNI, CONTROL_SNI = "video.lab.example", "other.lab.example"


def sni_policer_setup(run):
    https_server(run.procs, S + ":443", "--rate", "2500000", "--duration", "3")
    wait_listen(SERVER, 443)
    mark = ["iptables", "-t", "mangle", "-A", "FORWARD", "-p", "tcp", "--dport", "443", "-m", "string",
            "--string", TARGET_SNI, "--algo", "bm", "-j", "CONNMARK", "--set-mark", "1"]
    router(*mark)
    cmds = nft_policer("ct mark 1 ip saddr %s tcp sport 443" % S, 125_000, 25_000)
    return [" ".join(mark)] + cmds


def sni_policer_applied(cmds):
    return {"impairment": "SNI-selective policer", "where": "vw-router",
            "commands": cmds, "config": {"target_sni": TARGET_SNI, "control_sni": CONTROL_SNI,
                                         "rate_bps": 1_000_000, "burst_bytes": 25_000, "app_rate_bps": 2_500_000,
                                         "app_duration_s": 3}}


@scenario(5)
def sni_policer_pair(run):
    cmds = sni_policer_setup(run)
    with run.capture(split_snap=96):
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", TARGET_SNI, "--timeout", "60")
        time.sleep(0.5)
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", CONTROL_SNI, "--timeout", "60")
    run.flow_roles = [("tcp", S + ":443", 0, {"role": "target", "sni": TARGET_SNI, "findings": ["throttling_policer"],
                                              "rate_bps": 1_000_000, "rate_tolerance": 0.15}),
                      ("tcp", S + ":443", 1, {"role": "control", "sni": CONTROL_SNI, "no_findings": NO_THROTTLE})]
    return {"description": "SNI-selective policing: the router marks the connection whose ClientHello contains "
                           "%s (iptables string match → CONNMARK 1) and nftables polices only marked download "
                           "traffic at 1 Mbit/s. The server streams 2.5 Mbit/s for 3 s (937,500 bytes) on each of two "
                           "TLS connections made one after the other: target SNI %s (policed), then control SNI "
                           "%s (same server, same port, not policed)." % (TARGET_SNI, TARGET_SNI, CONTROL_SNI),
            "applied": sni_policer_applied(cmds),
            "expect": {"findings_absent_everywhere": NO_BLOCK + ["throttling_shaper"],
                       "compare": {"target": "sni=" + TARGET_SNI, "control": "sni=" + CONTROL_SNI,
                                   "verdict": "differentiated"}},
            "rate_flows": True}


BOTH_RATE = 17_500  # bytes/s: 140 kbit/s, the 2021 pattern (one service policed at ~130-150 kbit/s both ways)


@scenario(12)
def sni_policer_both(run):
    https_server(run.procs, S + ":443", "--rate", "400000", "--duration", "3")
    wait_listen(SERVER, 443)
    mark = ["iptables", "-t", "mangle", "-A", "FORWARD", "-p", "tcp", "--dport", "443", "-m", "string",
            "--string", TARGET_SNI, "--algo", "bm", "-j", "CONNMARK", "--set-mark", "1"]
    router(*mark)
    ruleset = ("table inet vwlab {\n  chain police {\n    type filter hook forward priority 0; policy accept;\n"
               "    ct mark 1 ip saddr %s tcp sport 443 limit rate over %d bytes/second burst 5000 bytes drop\n"
               "    ct mark 1 ip daddr %s tcp dport 443 limit rate over %d bytes/second burst 5000 bytes drop\n"
               "  }\n}\n" % (S, BOTH_RATE, S, BOTH_RATE))
    path = tmp("policer.nft")
    with open(path, "w") as fh:
        fh.write(ruleset)
    sh(ROUTER, "nft", "-f", path)
    up = ["--upload", "150000", "--upload-rate", "400000"]
    with run.capture(split_snap=96):
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", TARGET_SNI, "--timeout", "90", *up)
        time.sleep(0.5)
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", CONTROL_SNI, "--timeout", "90", *up)
    bps = BOTH_RATE * 8
    both = [{"kind": "throttling_policer", "severity": "throttled", "dir": d, "rate_bps": bps,
             "rate_tolerance": 0.15, "comparison": "selective"} for d in ("c2s", "s2c")]
    run.flow_roles = [("tcp", S + ":443", 0, {"role": "target (policed both ways)", "sni": TARGET_SNI,
                                              "findings": both,
                                              "note": "one finding per direction, each with its rate and an in-capture comparison against the control flow's same direction (docs/throttling.md)"}),
                      ("tcp", S + ":443", 1, {"role": "control", "sni": CONTROL_SNI, "no_findings": NO_THROTTLE})]
    return {"description": "SNI-triggered policing of both directions (the 2021 pattern: one service's flows policed "
                           "at ~130-150 kbit/s up and down, other traffic untouched). The router marks the connection "
                           "whose ClientHello contains %s (iptables string match → CONNMARK 1); nftables polices "
                           "the marked connection's upload and its download, each at %d bytes/s (%d kbit/s) burst "
                           "5000 bytes, with separate buckets. Each of two TLS connections to the same server and "
                           "port, one after the other, first uploads 150,000 bytes (POST, the client app-limited at "
                           "400 kbit/s) and then downloads 150,000 bytes (the server app-limited at 400 kbit/s for "
                           "3 s): target SNI %s (policed), then control SNI %s (untouched)."
                           % (TARGET_SNI, BOTH_RATE, bps // 1000, TARGET_SNI, CONTROL_SNI),
            "applied": {"impairment": "SNI-selective policer, both directions", "where": "vw-router",
                        "commands": [" ".join(mark), "nft -f - <<'EOF'\n" + ruleset + "EOF"],
                        "config": {"target_sni": TARGET_SNI, "control_sni": CONTROL_SNI, "rate_bps": bps,
                                   "burst_bytes": 5000, "directions": ["c2s", "s2c"], "app_rate_bps": 400_000,
                                   "upload_bytes": 150_000, "download_bytes": 150_000}},
            "expect": {"findings_absent_everywhere": NO_BLOCK + ["throttling_shaper"],
                       "no_verdict_status": ["blocked"]},
            "rate_flows": True}


@scenario(5)
def compare_target(run):
    cmds = sni_policer_setup(run)
    with run.capture(split_snap=96):
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", TARGET_SNI, "--timeout", "60")
    return {"description": "The target half of sni_policer_pair alone (SNI %s through the SNI-selective 1 Mbit/s "
                           "policer); `voipwatch compare compare_target.pcap compare_control.pcap` must say "
                           "differentiated." % TARGET_SNI,
            "applied": sni_policer_applied(cmds),
            "expect": {"findings_absent_everywhere": NO_BLOCK,
                       "compare": {"target": "compare_target.pcap", "control": "compare_control.pcap",
                                   "verdict": "differentiated"}},
            "flow_notes": {("tcp", S + ":443"): {"role": "target", "sni": TARGET_SNI, "findings": ["throttling_policer"],
                                                 "rate_bps": 1_000_000, "rate_tolerance": 0.15}},
            "rate_flow": ("tcp", S + ":443")}


@scenario(5)
def compare_control(run):
    cmds = sni_policer_setup(run)
    with run.capture(split_snap=96):
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", CONTROL_SNI, "--timeout", "60")
    return {"description": "The control half of sni_policer_pair alone (SNI %s, same policer installed but not "
                           "matching): 2.5 Mbit/s for 3 s." % CONTROL_SNI,
            "applied": sni_policer_applied(cmds),
            "expect": {"findings_absent_everywhere": NO_BLOCK + NO_THROTTLE,
                       "compare": {"target": "compare_target.pcap", "control": "compare_control.pcap",
                                   "verdict": "differentiated"}},
            "flow_notes": {("tcp", S + ":443"): {"role": "control", "sni": CONTROL_SNI}},
            "rate_flow": ("tcp", S + ":443")}


def same_path(run):
    https_server(run.procs, S + ":443", "--rate", "2500000", "--duration", "3")
    wait_listen(SERVER, 443)
    with run.capture(split_snap=96):
        run.log += peer(CLIENT, "http-client", "--connect", S + ":443", "--sni", CONTROL_SNI, "--timeout", "60")
    return {"description": "One of two runs of the same unthrottled path (TLS, SNI %s, server streams 2.5 Mbit/s "
                           "for 3 s); `voipwatch compare same_path_a.pcap same_path_b.pcap` must say not "
                           "differentiated." % CONTROL_SNI,
            "applied": {"impairment": "none", "config": {"app_rate_bps": 2_500_000, "app_duration_s": 3}},
            "expect": {"findings_absent_everywhere": NO_BLOCK + NO_THROTTLE,
                       "compare": {"target": "same_path_a.pcap", "control": "same_path_b.pcap",
                                   "verdict": "not differentiated"}},
            "flow_notes": {("tcp", S + ":443"): {"role": "control", "sni": CONTROL_SNI}},
            "rate_flow": ("tcp", S + ":443")}


@scenario(5)
def same_path_a(run):
    return same_path(run)


@scenario(5)
def same_path_b(run):
    return same_path(run)


# ----------------------------------------------------------------------------------------------

class Run:
    def __init__(self, name):
        self.name = name
        self.procs = Procs()
        self.log = []
        self.cap = None
        self.flow_roles = []
        self.applied_at = None

    def capture(self, nano=False, split_snap=None, ns=None, iface="c0"):
        """tcpdump on `iface` in `ns` (default: c0 in the client, what a user captures)."""
        self.cap = Capture(self.name, nano=nano, split_snap=split_snap, ns=ns, iface=iface)
        return self.cap


def dns_flows(rows, flows):
    """Which DNS flow asked which name (for flow_query notes)."""
    out = sh(None, "tshark", "-r", ROWS_PATH[0], "-n", "-Y", "dns.flags.response == 0", "-T", "fields",
             "-e", "udp.srcport", "-e", "dns.qry.name", capture=True)
    return {name: int(port) for port, name in (ln.split("\t") for ln in out.splitlines() if "\t" in ln)}


ROWS_PATH = [None]
# The truth format (docs/truth.md) that `voipwatch verify` and tests/lab.rs read.
TRUTH_SCHEMA = "voipwatch.truth/1"


def main():
    name = sys.argv[1]
    fn, issue, fmt = SCENARIOS[name]
    run = Run(name)
    try:
        truth = fn(run)
    finally:
        logs = run.procs.stop_all()
    for ln in logs:
        if ln.startswith("{"):
            try:
                run.log.append(json.loads(ln))
            except ValueError:
                pass
    ext = "pcapng" if fmt == "pcapng" else "pcap"
    out = os.path.join(CAPTURES, "%s.%s" % (name, ext))
    for old in (os.path.join(CAPTURES, name + ".pcap"), os.path.join(CAPTURES, name + ".pcapng")):
        if os.path.exists(old):
            os.remove(old)
    if fmt == "pcapng":
        merged = tmp(name + ".merged.pcap")
        run.cap.write(merged)
        sh(None, "editcap", "-F", "pcapng", merged, out)
    else:
        run.cap.write(out)
    ROWS_PATH[0] = out
    only = truth.pop("measure_only", None)
    info, rows, flows, flow_facts = measure(out, only)
    anomaly_filters = truth.pop("anomaly_counts", {})

    notes = truth.pop("flow_notes", {})
    query_notes = truth.pop("flow_query", {})
    rate_flow = truth.pop("rate_flow", None)
    port_notes = truth.pop("flow_port_notes", [])
    rate_flows = truth.pop("rate_flows", False)
    qports = dns_flows(rows, flows) if query_notes else {}
    seen = {}
    measured_rates = []
    other = [e for e in flow_facts if e["match"]["transport"] == "icmp"]
    keep = [(e, f) for e, f in zip(flow_facts, flows) if e["match"]["transport"] != "icmp"]
    flow_facts = [e for e, _ in keep]
    flows = [f for _, f in keep]
    for e, f in zip(flow_facts, flows):
        key = (e["match"]["transport"], e["match"]["server"])
        idx = seen.get(key, 0)
        seen[key] = idx + 1
        alt = (e["match"]["transport"], e["match"]["client"])
        if key in notes:
            e.update(notes[key])
        elif alt in notes:  # e.g. an RTCP flow whose first packet came from the server side
            e.update(notes[alt])
        for t, pred, extra in port_notes:  # media on ports the stack chose (known from SDP, not here)
            ports = [int(e["match"][k].rsplit(":", 1)[1]) for k in ("client", "server")]
            if t == e["match"]["transport"] and any(pred(p) for p in ports):
                e.update(extra)
        for t, srv, i, extra in run.flow_roles:
            if (t, srv) == key and i == idx:
                e.update(extra)
        for qname, port in qports.items():
            if e["match"]["client"].endswith(":%d" % port) and e["match"]["server"].endswith(":53"):
                e.update(query_notes[qname])
                e["dns_query"] = qname
        if f["transport"] == "tcp" and (rate_flows or key == rate_flow):
            rf = rate_facts(f)
            if rf:
                e["measured_s2c"] = rf
                measured_rates.append({"flow": e["match"], **rf})
    expect = truth.pop("expect")
    expect = {"packets": info["packets"], "flows": flow_facts, **expect}
    if anomaly_filters:
        # counted by tshark, independently of voipwatch (0: the anomaly must be absent)
        expect["anomalies"] = {k: (count_frames(out, f) if f else 0) for k, f in anomaly_filters.items()}

    doc = {
        "schema": TRUTH_SCHEMA,
        "scenario": name,
        "issue": issue,
        "capture": os.path.basename(out),
        "made_with": "sudo captures/lab/run.sh %s" % name,
        "topology": truth.pop("topology", TOPOLOGY),
        "capture_settings": {"interface": canonical("%s in %s" % (run.cap.iface, run.cap.ns)),
                             "snaplen": ("%d bytes for TCP bulk-data segments; full for everything else (frames under "
                                         "199 bytes, non-TCP, segments starting a TLS handshake record or an HTTP "
                                         "request/response line). Two tcpdumps merged with mergecap; full-snaplen "
                                         "filter: %s" % (run.cap.split_snap, FULL_FILTER))
                             if run.cap.split_snap else "full (262144)",
                             "timestamps": "nanoseconds" if run.cap.nano else "microseconds"},
        **truth,
        "measured": {"tool": "capinfos -M; tshark -T fields (per-packet flags, lengths, TTLs); "
                             "tshark tcp.analysis.retransmission",
                     "capinfos": info, "tshark_counts": tshark_counts(name, out), "rates": measured_rates,
                     "rtp_streams": rtp_streams(out),
                     "icmp_flows_not_enforced": other,
                     **({"flows_measured_from": only} if only else {}),
                     "impairment_applied_at_epoch": run.applied_at,
                     "impairment_applied_at_rel_s": round(run.applied_at - float(rows[0]["frame.time_epoch"]), 6)
                     if run.applied_at and rows else None},
        "peer_logs": run.log,
        "expect": expect,
    }
    with open(os.path.join(CAPTURES, name + ".truth.json"), "w") as fh:
        json.dump(doc, fh, indent=1, sort_keys=False)
        fh.write("\n")
    print("%s: %d packets, %d bytes, %d flows" % (os.path.basename(out), info["packets"], info["file_bytes"],
                                                  len(flow_facts)))
    for e in flow_facts:
        print("  %s %s -> %s %s %s %s" % (e["match"]["transport"], e["match"]["client"], e["match"]["server"],
                                          e["packets"], e.get("conn_state", ""), e.get("role", "")))
    for r in measured_rates:
        print("  rate s2c: goodput %s bps, median 1s bin %s bps, retx %d" % (r["goodput_bps"],
                                                                              r["median_ip_bps_full_bins"], r["retransmissions"]))
    for d in _TMP:
        shutil.rmtree(d, ignore_errors=True)


def recount():
    """Refreshes measured.tshark_counts, measured.rtp_streams and the flows' first_last_rel_s in
    every existing truth file (no traffic is sent)."""
    for name in SCENARIOS:
        tp = os.path.join(CAPTURES, name + ".truth.json")
        if not os.path.exists(tp):
            continue
        with open(tp) as fh:
            doc = json.load(fh)
        path = os.path.join(CAPTURES, doc["capture"])
        doc = {"schema": TRUTH_SCHEMA, **{k: v for k, v in doc.items() if k != "schema"}}
        doc["measured"]["tshark_counts"] = tshark_counts(name, path)
        doc["measured"]["rtp_streams"] = rtp_streams(path)
        rows = tshark_packets(path)
        t0 = float(rows[0]["frame.time_epoch"]) if rows else 0.0
        spans = {(f["transport"], f["client"], f["server"]): direction_spans(f, t0) for f in flows_of(rows)}
        for e in doc["expect"]["flows"]:
            m = e["match"]
            span = spans.get((m["transport"], m["client"], m["server"]))
            if span is not None:
                e["first_last_rel_s"] = span
        at = doc["measured"].get("impairment_applied_at_epoch")
        doc["measured"]["impairment_applied_at_rel_s"] = round(at - t0, 6) if at else None
        with open(tp, "w") as fh:
            json.dump(doc, fh, indent=1, sort_keys=False)
            fh.write("\n")
        print(name, doc["measured"]["tshark_counts"])


if __name__ == "__main__":
    if sys.argv[1:] == ["--recount"]:
        recount()
        sys.exit(0)
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        print("usage: lab.py SCENARIO\nscenarios: " + " ".join(SCENARIOS), file=sys.stderr)
        sys.exit(2)
    main()
