#!/usr/bin/env python3
"""On-path injectors for the voipwatch lab, run in the vw-router namespace. Standard library only.

They watch a router interface with an AF_PACKET socket (they see a copy; the real packets are still
forwarded untouched) and race the real server with forged packets sent through a raw IPv4 socket
(IP_HDRINCL), so the forged packets leave the router with the router's own initial TTL (64) while the
server's real packets arrive with TTL 127: the fingerprint a middlebox leaves on the Internet.

  rst   — sees a TLS ClientHello whose SNI contains --sni and sends --count forged RST+ACK segments to
          the client, spoofed from the server, with sequence numbers stepping by --step (the "seq jump"
          of Weaver et al.'s RST_SEQ_CHANGE test).
  http  — sees an HTTP request whose Host contains --host and answers it first, spoofed from the
          server: the block page (--page redirect: 302 to a bare address; --page law: 403 naming a
          law), then FIN and RST, with IP TTL --ttl (64: the router's own; 127: copied from the
          server, as IPS "reject" actions do), IP IDs from a counter of its own and window --window.
          The real request still reaches the server, whose answer follows.
  synack — sees a SYN to --dport on --iface and answers it at once with a forged SYN-ACK spoofed from
          the server (random ISN, TTL 64, window 5840); on --back it holds the server's real SYN-ACKs
          from --dport (dropped from FORWARD by an iptables rule the scenario adds) and re-sends them
          --delay s later with the TTL decremented, as forwarding would.
  arp   — sends --count ARP requests for --target from --iface (the router asking for the client,
          as a gateway does when its neighbour entry goes stale), one per --every s.
  dns   — sees a DNS query for --name and answers first, spoofed from the resolver, with --answer and
          --ttl; the real resolver's answer follows.

Only packets between the lab's own namespaces are read or sent.
"""
import argparse
import json
import random
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
RNG = random.Random(0x1A1)


def csum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, proto, payload, ttl=64, ident=None):
    ident = RNG.getrandbits(16) if ident is None else ident
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, ttl, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def tcp_segment(src, dst, sport, dport, seq, ack, flags, window=0, data=b""):
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, window, 0,
                      0) + data
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(seg))
    c = csum(pseudo + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp_datagram(src, dst, sport, dport, payload):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(seg))
    c = csum(pseudo + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def frames(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    while True:
        data, addr = s.recvfrom(65535)
        pkttype = addr[2]
        if pkttype == socket.PACKET_OUTGOING:
            continue
        if len(data) < 34 or data[12:14] != b"\x08\x00":
            continue
        ip = data[14:]
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        yield ip[:total], ihl


def log(**kw):
    print(json.dumps(kw, sort_keys=True), flush=True)


def sni_of(payload):
    """SNI of a TLS ClientHello in one segment, or None."""
    try:
        if len(payload) < 43 or payload[0] != 0x16 or payload[5] != 0x01:
            return None
        off = 9 + 2 + 32
        off += 1 + payload[off]
        off += 2 + struct.unpack("!H", payload[off:off + 2])[0]
        off += 1 + payload[off]
        end = off + 2 + struct.unpack("!H", payload[off:off + 2])[0]
        off += 2
        while off + 4 <= end:
            t, n = struct.unpack("!HH", payload[off:off + 4])
            if t == 0:
                ln = struct.unpack("!H", payload[off + 7:off + 9])[0]
                return payload[off + 9:off + 9 + ln].decode(errors="replace")
            off += 4 + n
    except (IndexError, struct.error):
        return None
    return None


def run_rst(args):
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for ip, ihl in frames(args.iface):
        if ip[9] != 6 or not ip[12:16].startswith(bytes([10, 71, 1])):
            continue
        tcp = ip[ihl:]
        sport, dport, seq, ack = struct.unpack("!HHII", tcp[:12])
        doff = (tcp[12] >> 4) * 4
        payload = tcp[doff:]
        name = sni_of(payload)
        if not name or args.sni not in name:
            continue
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        client_next = seq + len(payload)
        sent = []
        for i in range(args.count):
            s = ack + i * args.step  # the server's next seq, then jumps past anything it could send
            seg = tcp_segment(dst, src, dport, sport, s, client_next, 0x14, args.window)
            raw.sendto(ipv4(dst, src, 6, seg, ttl=args.ttl), (src, 0))
            sent.append(s)
        log(injector="rst", sni=name, client="%s:%d" % (src, sport), server="%s:%d" % (dst, dport),
            rst_seqs=sent, at=time.time())


PAGES = {
    "redirect": b"HTTP/1.1 302 Found\r\nLocation: http://10.71.1.1/blocked.html\r\nContent-Length: 0\r\n"
                b"Connection: close\r\n\r\n",
    "law": b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
           b"<html><head><title>Blocked</title></head><body>Access to this site is blocked by law.</body></html>",
}


def run_http(args):
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    page = PAGES[args.page]
    for ip, ihl in frames(args.iface):
        if ip[9] != 6 or not ip[12:16].startswith(bytes([10, 71, 1])):
            continue
        tcp = ip[ihl:]
        sport, dport, seq, ack = struct.unpack("!HHII", tcp[:12])
        payload = tcp[(tcp[12] >> 4) * 4:]
        if not payload.startswith(b"GET "):
            continue
        host = b""
        for line in payload.split(b"\r\n")[1:]:
            if line.lower().startswith(b"host:"):
                host = line[5:].strip()
        if args.host.encode() not in host:
            continue
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        client_next = seq + len(payload)
        ident = RNG.getrandbits(16)
        segs = [(ack, 0x18, page, args.window), (ack + len(page), 0x11, b"", args.window),
                (ack + len(page) + 1, 0x14, b"", 0)]
        for i, (s, flags, data, win) in enumerate(segs):
            seg = tcp_segment(dst, src, dport, sport, s, client_next, flags, win, data)
            raw.sendto(ipv4(dst, src, 6, seg, ttl=args.ttl, ident=(ident + i) & 0xFFFF), (src, 0))
        log(injector="http", host=host.decode(errors="replace"), page=args.page, client="%s:%d" % (src, sport),
            server="%s:%d" % (dst, dport), ttl=args.ttl, ip_id_first=ident, at=time.time())


def run_synack(args):
    import threading
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)

    def forge():
        for ip, ihl in frames(args.iface):
            if ip[9] != 6 or not ip[12:16].startswith(bytes([10, 71, 1])):
                continue
            tcp = ip[ihl:]
            sport, dport, seq = struct.unpack("!HHI", tcp[:8])
            if dport != args.dport or tcp[13] & 0x3F != 0x02:
                continue
            src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
            isn = RNG.getrandbits(32)
            seg = tcp_segment(dst, src, dport, sport, isn, seq + 1, 0x12, 5840)
            raw.sendto(ipv4(dst, src, 6, seg, ttl=64), (src, 0))
            log(injector="synack", client="%s:%d" % (src, sport), server="%s:%d" % (dst, dport), forged_isn=isn,
                at=time.time())

    def hold():
        for ip, ihl in frames(args.back):
            if ip[9] != 6 or not ip[16:20].startswith(bytes([10, 71, 1])):
                continue
            tcp = ip[ihl:]
            sport = struct.unpack("!H", tcp[:2])[0]
            if sport != args.dport or tcp[13] & 0x12 != 0x12:
                continue
            pkt = bytearray(ip)
            pkt[8] -= 1
            pkt[10:12] = b"\x00\x00"
            pkt[10:12] = struct.pack("!H", csum(bytes(pkt[:ihl])))
            threading.Timer(args.delay, raw.sendto, (bytes(pkt), (socket.inet_ntoa(ip[16:20]), 0))).start()
            log(injector="synack-hold", server_isn=struct.unpack("!I", tcp[4:8])[0], delay=args.delay,
                at=time.time())

    threading.Thread(target=hold, daemon=True).start()
    forge()


def run_arp(args):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((args.iface, 0))
    mac = bytes.fromhex(open("/sys/class/net/%s/address" % args.iface).read().strip().replace(":", ""))
    sender = socket.inet_aton(args.sender)
    for i in range(args.count):
        arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + sender + b"\x00" * 6 + socket.inet_aton(args.target)
        s.send(b"\xff" * 6 + mac + b"\x08\x06" + arp + b"\x00" * 18)
        log(injector="arp", request_for=args.target, sender=args.sender, at=time.time())
        time.sleep(args.every)


def run_dns(args):
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    for ip, ihl in frames(args.iface):
        if ip[9] != 17 or not ip[12:16].startswith(bytes([10, 71, 1])):
            continue
        udp = ip[ihl:]
        sport, dport = struct.unpack("!HH", udp[:4])
        if dport != 53:
            continue
        q = udp[8:]
        labels, off = [], 12
        while off < len(q) and q[off] != 0 and len(labels) < 64:
            labels.append(q[off + 1:off + 1 + q[off]].decode(errors="replace"))
            off += 1 + q[off]
        name = ".".join(labels)
        if name.lower() != args.name.lower():
            continue
        question = q[12:off + 5]
        ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, args.ttl, 4) + socket.inet_aton(args.answer)
        resp = q[:2] + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0) + question + ans
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        raw.sendto(ipv4(dst, src, 17, udp_datagram(dst, src, 53, sport, resp), ttl=args.ip_ttl), (src, 0))
        log(injector="dns", name=name, answer=args.answer, ttl=args.ttl, client="%s:%d" % (src, sport), at=time.time())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="kind", required=True)
    a = sub.add_parser("rst")
    a.add_argument("--iface", default="r1")
    a.add_argument("--sni", required=True)
    a.add_argument("--count", type=int, default=3)
    a.add_argument("--step", type=int, default=1460)
    a.add_argument("--ttl", type=int, default=64)
    a.add_argument("--window", type=int, default=0, help="TCP window of the RSTs (IPS rejects often send one)")
    a = sub.add_parser("http")
    a.add_argument("--iface", default="r1")
    a.add_argument("--host", required=True)
    a.add_argument("--page", choices=sorted(PAGES), default="redirect")
    a.add_argument("--ttl", type=int, default=64)
    a.add_argument("--window", type=int, default=5840)
    a = sub.add_parser("synack")
    a.add_argument("--iface", default="r1")
    a.add_argument("--back", default="r2")
    a.add_argument("--dport", type=int, required=True)
    a.add_argument("--delay", type=float, default=0.02)
    a = sub.add_parser("arp")
    a.add_argument("--iface", default="r1")
    a.add_argument("--target", required=True)
    a.add_argument("--sender", required=True)
    a.add_argument("--count", type=int, default=1)
    a.add_argument("--every", type=float, default=1.0)
    a = sub.add_parser("dns")
    a.add_argument("--iface", default="r1")
    a.add_argument("--name", required=True)
    a.add_argument("--answer", required=True)
    a.add_argument("--ttl", type=int, default=3600, help="DNS record TTL of the forged answer")
    a.add_argument("--ip-ttl", type=int, default=64)
    args = p.parse_args()
    try:
        {"rst": run_rst, "http": run_http, "synack": run_synack, "arp": run_arp, "dns": run_dns}[args.kind](args)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
