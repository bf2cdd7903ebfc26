#!/usr/bin/env python3
"""Traffic roles for the voipwatch lab (DESIGN §5). Standard library only, except the `quic-client`
role, which uses the `cryptography` package (AES for QUIC Initial protection) when present.

Every role runs inside one lab namespace (lab.py starts it with `ip netns exec`) and talks only to the
lab's own addresses (10.71.0.0/16, fd71::/16). Packets are real: they cross the Linux stack of the
client, router and server namespaces. Protocol messages that Python cannot produce natively (RTP, RTCP,
SIP, STUN/TURN, DTLS records, QUIC Initials, DNS) are built byte by byte here, following the RFCs.

Each role prints one JSON line on stdout describing what happened (lab.py records it in the truth).
"""
import argparse
import hashlib
import hmac
import json
import os
import random
import select
import socket
import ssl
import struct
import sys
import threading
import time
import zlib

RNG = random.Random(0x7177)  # deterministic message contents from run to run


def log(**kw):
    print(json.dumps(kw, sort_keys=True), flush=True)


def hostport(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# ----------------------------------------------------------------------------------------------
# TCP / HTTP / TLS
# ----------------------------------------------------------------------------------------------

def serve_http(conn, args):
    """Reads one request and answers it: `size` bytes at full speed, or `rate` bit/s for `duration` s."""
    conn.settimeout(30)
    req = b""
    while b"\r\n\r\n" not in req and len(req) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            return 0
        req += chunk
    head, _, body = req.partition(b"\r\n\r\n")
    want = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            want = int(value.strip())
    got = len(body)
    while got < want:  # an upload (POST body) is read in full before the answer
        chunk = conn.recv(65536)
        if not chunk:
            return 0
        got += len(chunk)
    if args.delay:
        time.sleep(args.delay)
    if args.rate:
        total = int(args.rate / 8 * args.duration)
    else:
        total = args.size
    hdr = ("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n"
           "Connection: close\r\n\r\n" % total).encode()
    conn.sendall(hdr)
    block = bytes(RNG.getrandbits(8) for _ in range(16384))
    sent = 0
    if args.rate:
        tick = args.tick  # the app writes rate × tick bytes every tick (a burst at line rate)
        per_tick = args.rate / 8 * tick
        start = time.monotonic()
        owed = 0.0
        n = 0
        while sent < total:
            owed += per_tick
            k = min(int(owed), total - sent)
            if k > 0:
                conn.sendall(block[:k] if k <= len(block) else (block * (k // len(block) + 1))[:k])
                sent += k
                owed -= k
            n += 1
            pause = start + n * tick - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    else:
        while sent < total:
            k = min(len(block), total - sent)
            conn.sendall(block[:k])
            sent += k
    return sent


def role_http_server(args):
    host, port = hostport(args.listen)
    ls = socket.socket(family(host), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(16)
    ctx = None
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        ctx.set_alpn_protocols(["http/1.1"])

    def handle(conn, peer):
        try:
            if args.cc:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, args.cc.encode())
            if args.max_pacing_rate:
                conn.setsockopt(socket.SOL_SOCKET, 47, int(args.max_pacing_rate / 8))  # SO_MAX_PACING_RATE, B/s
            if ctx is not None:
                if args.delay:
                    time.sleep(args.delay)  # the server's think time, lets an on-path injector win the race
                conn = ctx.wrap_socket(conn, server_side=True)
            sent = serve_http(conn, args)
            if ctx is not None:
                try:
                    conn = conn.unwrap()
                except (ssl.SSLError, OSError):
                    pass
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(10)
            while conn.recv(4096):
                pass
            log(role="http-server", peer=str(peer), sent=sent)
        except (OSError, ssl.SSLError) as e:
            log(role="http-server", peer=str(peer), error=type(e).__name__ + ": " + str(e))
        finally:
            conn.close()

    while True:
        conn, peer = ls.accept()
        threading.Thread(target=handle, args=(conn, peer), daemon=True).start()


def send_paced(conn, total, rate, tick):
    """Sends `total` bytes: at full speed without `rate`, else rate × tick bytes every tick."""
    block = bytes(RNG.getrandbits(8) for _ in range(16384))
    sent, n, start = 0, 0, time.monotonic()
    while sent < total:
        k = min(total - sent, int(rate / 8 * tick) if rate else len(block))
        conn.sendall((block * (k // len(block) + 1))[:k])
        sent += k
        if rate:
            n += 1
            pause = start + n * tick - time.monotonic()
            if pause > 0:
                time.sleep(pause)


def role_http_client(args):
    host, port = hostport(args.connect)
    t0 = time.monotonic()
    s = socket.socket(family(host), socket.SOCK_STREAM)
    if args.rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)  # caps the advertised window
    s.settimeout(args.timeout)
    got = 0
    try:
        s.connect((host, port))
        conn = s
        if args.sni:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["http/1.1"])
            conn = ctx.wrap_socket(s, server_hostname=args.sni)
        name = args.sni or args.host or host
        if args.upload:
            conn.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: voipwatch-lab\r\nContent-Length: %d\r\n\r\n"
                          % (args.path, name, args.upload)).encode())
            send_paced(conn, args.upload, args.upload_rate, 0.01)
        else:
            conn.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: voipwatch-lab\r\n\r\n"
                          % (args.path, name)).encode())
        while True:
            try:
                chunk = conn.recv(65536)
            except ssl.SSLZeroReturnError:
                break
            if not chunk:
                break
            got += len(chunk)
        if args.sni:
            try:
                conn.unwrap()
            except (ssl.SSLError, OSError):
                pass
        s.close()
        log(role="http-client", connect=args.connect, sni=args.sni, received=got,
            seconds=round(time.monotonic() - t0, 3), result="ok")
    except (OSError, ssl.SSLError) as e:
        s.close()
        log(role="http-client", connect=args.connect, sni=args.sni, received=got,
            seconds=round(time.monotonic() - t0, 3), result=type(e).__name__ + ": " + str(e))


def role_http_ttl_probe(args):
    """A TTL-limited probe run (traceroute-style, as CenTrace and OONI-style path probes do): for each
    TTL from --min-ttl to --max-ttl, a new TCP connection with the normal TTL, then IP_TTL set to that
    TTL and the same GET for --host sent; wait --wait s for an answer (the kernel retransmits the
    request at the limited TTL meanwhile), then an abortive close (SO_LINGER 0: a RST at the limited
    TTL, so a request that expired on the path is never completed by a full-TTL retransmission)."""
    host, port = hostport(args.connect)
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: voipwatch-lab\r\n\r\n" % (args.path, args.host)).encode()
    ctx = None
    if args.sni:
        # the probe is the TLS ClientHello itself (SNI = --host): sent at the limited TTL
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    for ttl in range(args.min_ttl, args.max_ttl + 1):
        t0 = time.monotonic()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        got, result = 0, "timeout"
        try:
            s.settimeout(2.0)
            s.connect((host, port))
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
            end = t0 + args.wait
            if ctx is not None:
                s.settimeout(args.wait)
                t = ctx.wrap_socket(s, server_hostname=args.host, do_handshake_on_connect=False)
                try:
                    t.do_handshake()
                    result = "handshake"
                except (socket.timeout, ssl.SSLError, OSError) as e:
                    result = type(e).__name__ + ": " + str(e)
                s = t
                raise StopIteration
            s.sendall(req)
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                s.settimeout(left)
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    result = "closed"
                    break
                got += len(chunk)
                result = "answered"
        except StopIteration:
            pass
        except OSError as e:
            result = type(e).__name__ + ": " + str(e)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        s.close()
        log(role="http-ttl-probe", connect=args.connect, host=args.host, ttl=ttl, received=got, result=result,
            seconds=round(time.monotonic() - t0, 3))
        time.sleep(args.gap)


# ----------------------------------------------------------------------------------------------
# RTP / RTCP (RFC 3550)
# ----------------------------------------------------------------------------------------------

NTP_EPOCH = 2208988800


def ntp_now():
    t = time.time() + NTP_EPOCH
    return int(t), int((t % 1) * (1 << 32))


class RtpReceiver:
    """RFC 3550 A.1/A.8 receiver statistics for the RR block."""

    def __init__(self):
        self.ssrc = None
        self.base = None
        self.max_seq = 0
        self.cycles = 0
        self.received = 0
        self.expected_prior = 0
        self.received_prior = 0
        self.jitter = 0.0
        self.transit = None
        self.lsr = 0
        self.lsr_at = None

    def packet(self, data, clock):
        if len(data) < 12:
            return
        seq, ts, ssrc = struct.unpack("!HII", data[2:12])
        if self.ssrc is None:
            self.ssrc, self.base, self.max_seq = ssrc, seq, seq
        elif ssrc != self.ssrc:
            return
        if seq < self.max_seq and self.max_seq - seq > 30000:
            self.cycles += 1 << 16
        if ((seq - self.max_seq) & 0xFFFF) < 30000:
            self.max_seq = seq
        self.received += 1
        arrival = time.monotonic() * clock
        transit = arrival - ts
        if self.transit is not None:
            d = abs(transit - self.transit)
            self.jitter += (d - self.jitter) / 16
        self.transit = transit

    def report_block(self):
        if self.ssrc is None:
            return None
        ext = self.cycles + self.max_seq
        expected = ext - self.base + 1
        lost = max(0, expected - self.received)
        exp_int = expected - self.expected_prior
        rec_int = self.received - self.received_prior
        self.expected_prior, self.received_prior = expected, self.received
        lost_int = exp_int - rec_int
        frac = 0 if exp_int == 0 or lost_int <= 0 else (lost_int << 8) // exp_int
        dlsr = 0
        if self.lsr_at is not None:
            dlsr = int((time.monotonic() - self.lsr_at) * 65536)
        return struct.pack("!IB3sIIII", self.ssrc, frac & 0xFF, min(lost, 0x7FFFFF).to_bytes(3, "big"),
                           ext & 0xFFFFFFFF, int(self.jitter), self.lsr, dlsr)


def rtcp_compound(ssrc, sent_packets, sent_octets, rtp_ts, recv, cname):
    """SR (or RR when nothing was sent) + SDES CNAME: a compound packet as RFC 3550 §6.1 requires."""
    block = recv.report_block()
    blocks = [block] if block else []
    if sent_packets:
        sec, frac = ntp_now()
        body = struct.pack("!IIIIII", ssrc, sec, frac, rtp_ts, sent_packets, sent_octets) + b"".join(blocks)
        first = struct.pack("!BBH", 0x80 | len(blocks), 200, (len(body) + 4) // 4 - 1) + body
    else:
        body = struct.pack("!I", ssrc) + b"".join(blocks)
        first = struct.pack("!BBH", 0x80 | len(blocks), 201, (len(body) + 4) // 4 - 1) + body
    item = bytes([1, len(cname)]) + cname + b"\x00"
    item += b"\x00" * ((-len(item)) % 4)
    chunk = struct.pack("!I", ssrc) + item
    sdes = struct.pack("!BBH", 0x81, 202, (len(chunk) + 4) // 4 - 1) + chunk
    return first + sdes


def rtcp_has_bye(data):
    off = 0
    for _ in range(16):
        if off + 4 > len(data):
            return False
        if data[off + 1] == 203:
            return True
        off += (struct.unpack("!H", data[off + 2:off + 4])[0] + 1) * 4
    return False


def rtcp_bye(ssrc):
    return struct.pack("!BBHI", 0x81, 203, 1, ssrc)


def rtp_session(sock, remote, rtcp_sock, rtcp_remote, pt, payload_len, duration, ssrc, clock=8000,
                ptime=0.02, ext=False, stop_event=None, rtcp_interval=5.0, cname=b"lab@voipwatch",
                demux=None, stop_on_bye=True):
    """Sends RTP every `ptime` to `remote` for `duration` s while receiving; RTCP every
    `rtcp_interval` s on `rtcp_sock` (None: RTCP not sent). `remote` None: learn it from the first
    packet received. `demux(data, addr)` gets non-RTP packets (STUN on the same 5-tuple)."""
    recv = RtpReceiver()
    seq = RNG.randrange(0, 65536)
    ts = RNG.randrange(0, 1 << 32)
    sent = octets = received = 0
    state = {"remote": remote}
    start = time.monotonic()
    next_send = start
    next_rtcp = start + rtcp_interval / 2 + RNG.random() * 0.5
    socks = [sock] + ([rtcp_sock] if rtcp_sock else [])
    first = True
    bye_seen = False
    while time.monotonic() - start < duration and not (stop_event and stop_event.is_set()):
        now = time.monotonic()
        if state["remote"] is not None and now >= next_send:
            marker = 0x80 if first else 0
            first = False
            hdr = struct.pack("!BBHII", 0x90 if ext else 0x80, marker | pt, seq, ts & 0xFFFFFFFF, ssrc)
            if ext:  # RFC 8285 one-byte header extension: audio level (id 1)
                hdr += struct.pack("!HH", 0xBEDE, 1) + bytes([0x10, RNG.randrange(0, 128), 0, 0])
            payload = bytes(RNG.getrandbits(8) for _ in range(payload_len))
            try:
                sock.sendto(hdr + payload, state["remote"])
            except OSError:
                pass
            sent += 1
            octets += payload_len
            seq = (seq + 1) & 0xFFFF
            ts += int(clock * ptime)
            next_send += ptime
        if rtcp_sock and now >= next_rtcp and (rtcp_remote or state["remote"]):
            dest = rtcp_remote or (state["remote"][0], state["remote"][1] + 1)
            try:
                rtcp_sock.sendto(rtcp_compound(ssrc, sent, octets, ts, recv, cname), dest)
            except OSError:
                pass
            next_rtcp += rtcp_interval
        timeout = max(0.0, min(next_send, next_rtcp) - time.monotonic()) if state["remote"] else 0.05
        r, _, _ = select.select(socks, [], [], timeout)
        for s in r:
            data, addr = s.recvfrom(4096)
            if s is sock:
                if data and data[0] >> 6 == 2 and not (200 <= (data[1] if len(data) > 1 else 0) <= 213):
                    recv.packet(data, clock)
                    received += 1
                    if state["remote"] is None:
                        state["remote"] = addr
                        next_send = time.monotonic()
                elif demux:
                    demux(data, addr)
            elif s is rtcp_sock:
                if len(data) >= 20 and data[1] == 200:
                    recv.lsr = struct.unpack("!I", data[10:14])[0]
                    recv.lsr_at = time.monotonic()
                if rtcp_has_bye(data) and stop_on_bye:
                    bye_seen = True
        if bye_seen:
            break
    if rtcp_sock and (rtcp_remote or state["remote"]):
        dest = rtcp_remote or (state["remote"][0], state["remote"][1] + 1)
        try:
            rtcp_sock.sendto(rtcp_compound(ssrc, sent, octets, ts, recv, cname) + rtcp_bye(ssrc), dest)
        except OSError:
            pass
        # linger so the peer's own final RTCP/BYE finds an open port
        t_end = time.monotonic() + 0.3
        while time.monotonic() < t_end:
            r, _, _ = select.select(socks, [], [], 0.05)
            for x in r:
                x.recvfrom(4096)
    return {"rtp_sent": sent, "rtp_received": received}


def udp_sock(bind):
    host, port = hostport(bind)
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    return s


def role_rtp_peer(args):
    host, port = hostport(args.local)
    s = udp_sock(args.local)
    r = udp_sock("%s:%d" % (host, port + 1)) if args.rtcp else None
    remote = hostport(args.remote) if args.remote else None
    rtcp_remote = (remote[0], remote[1] + 1) if remote else None
    res = rtp_session(s, remote, r, rtcp_remote, args.pt, args.payload, args.duration,
                      args.ssrc, ptime=args.ptime)
    log(role="rtp-peer", local=args.local, **res)


# ----------------------------------------------------------------------------------------------
# SIP (RFC 3261) with SDP (RFC 4566), signalling over UDP 5060
# ----------------------------------------------------------------------------------------------

def sdp(addr, port, sess):
    return ("v=0\r\no=- %d 1 IN IP4 %s\r\ns=voipwatch lab\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=sendrecv\r\n"
            % (sess, addr, addr, port)).encode()


def sip_msg(first, headers, body=b""):
    h = first + "\r\n" + "".join("%s: %s\r\n" % kv for kv in headers)
    h += "Content-Length: %d\r\n\r\n" % len(body)
    return h.encode() + body


def parse_sip(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs.setdefault(k.strip().lower(), v.strip())
    return lines[0], hdrs, body


def sdp_media(body):
    addr, port = None, None
    for ln in body.decode(errors="replace").split("\r\n"):
        if ln.startswith("c=IN IP4 "):
            addr = ln[9:].strip()
        if ln.startswith("m=audio "):
            port = int(ln.split()[1])
    return addr, port


def role_sip_uas(args):
    host, port = hostport(args.listen)
    s = udp_sock(args.listen)
    media_port = args.media_port
    dialogs = {}
    pending = {}
    while True:
        data, peer = s.recvfrom(65535)
        first, hdrs, body = parse_sip(data)
        common = [("Via", hdrs.get("via", "")), ("From", hdrs.get("from", "")),
                  ("Call-ID", hdrs.get("call-id", "")), ("CSeq", hdrs.get("cseq", ""))]
        to = hdrs.get("to", "")
        if first.startswith("INVITE"):
            totag = to + ";tag=%08x" % RNG.getrandbits(32)
            s.sendto(sip_msg("SIP/2.0 100 Trying", common + [("To", to)]), peer)
            time.sleep(0.05)
            s.sendto(sip_msg("SIP/2.0 180 Ringing", common + [("To", totag),
                                                              ("Contact", "<sip:bob@%s:%d>" % (host, port))]), peer)
            time.sleep(args.ring)
            caddr, cport = sdp_media(body)
            # media sockets are open before the answer goes out, so the first RTP finds them
            ms = udp_sock("%s:%d" % (host, media_port))
            rs = udp_sock("%s:%d" % (host, media_port + 1))
            s.sendto(sip_msg("SIP/2.0 200 OK", common + [("To", totag), ("Contact", "<sip:bob@%s:%d>" % (host, port)),
                                                         ("Content-Type", "application/sdp")],
                             sdp(host, media_port, 2002)), peer)
            stop = threading.Event()

            def media():
                res = rtp_session(ms, (caddr, cport), rs, (caddr, cport + 1), 0, 160, 3600,
                                  0x5EB0B000 | RNG.getrandbits(12), stop_event=stop, cname=b"bob@lab")
                log(role="sip-uas", media=res)
                ms.close()
                rs.close()

            dialogs[hdrs.get("call-id")] = stop
            if args.media_on_ack:
                pending[hdrs.get("call-id")] = media  # starts when the ACK arrives
            else:
                threading.Thread(target=media, daemon=True).start()
        elif first.startswith("BYE"):
            s.sendto(sip_msg("SIP/2.0 200 OK", common + [("To", to)]), peer)
            ev = dialogs.pop(hdrs.get("call-id"), None)
            if ev:
                ev.set()
        elif first.startswith("ACK"):
            start = pending.pop(hdrs.get("call-id"), None)
            if start:
                threading.Thread(target=start, daemon=True).start()


def role_sip_uac(args):
    host, port = hostport(args.local)
    rhost, rport = hostport(args.server)
    s = udp_sock(args.local)
    s.settimeout(0.5)
    callid = "%016x@%s" % (RNG.getrandbits(64), host)
    ftag = "%08x" % RNG.getrandbits(32)
    branch = lambda: "z9hG4bK%010x" % RNG.getrandbits(40)  # noqa: E731
    frm = "<sip:alice@lab.example>;tag=" + ftag
    to = "<sip:bob@lab.example>"
    via = "SIP/2.0/UDP %s:%d;branch=%s;rport"
    inv_branch = branch()
    body = sdp(host, args.media_port, 1001)
    invite = sip_msg("INVITE sip:bob@%s:%d SIP/2.0" % (rhost, rport), [
        ("Via", via % (host, port, inv_branch)), ("Max-Forwards", "70"), ("From", frm), ("To", to),
        ("Call-ID", callid), ("CSeq", "1 INVITE"), ("Contact", "<sip:alice@%s:%d>" % (host, port)),
        ("User-Agent", "voipwatch-lab"), ("Content-Type", "application/sdp")], body)
    # RFC 3261 timer A: retransmit INVITE at T1 = 0.5 s doubling until a provisional response
    t_next, interval, final = time.monotonic(), 0.5, None
    provisional = False
    s.sendto(invite, (rhost, rport))
    deadline = time.monotonic() + 32
    while final is None and time.monotonic() < deadline:
        try:
            data, _ = s.recvfrom(65535)
            first, hdrs, rbody = parse_sip(data)
            code = int(first.split()[1])
            if code < 200:
                provisional = True
            else:
                final = (code, hdrs, rbody)
        except socket.timeout:
            if not provisional and time.monotonic() - t_next >= interval:
                s.sendto(invite, (rhost, rport))
                t_next, interval = time.monotonic(), interval * 2
    if final is None or final[0] != 200:
        log(role="sip-uac", result="no answer")
        return
    _, hdrs, rbody = final
    totag = hdrs.get("to", to)
    ack = sip_msg("ACK sip:bob@%s:%d SIP/2.0" % (rhost, rport), [
        ("Via", via % (host, port, branch())), ("Max-Forwards", "70"), ("From", frm), ("To", totag),
        ("Call-ID", callid), ("CSeq", "1 ACK")])
    s.sendto(ack, (rhost, rport))
    maddr, mport = sdp_media(rbody)
    ms = udp_sock("%s:%d" % (host, args.media_port))
    rs = udp_sock("%s:%d" % (host, args.media_port + 1))
    res = rtp_session(ms, (maddr, mport), rs, (maddr, mport + 1), 0, 160, args.duration,
                      0xA11CE000 | RNG.getrandbits(12), cname=b"alice@lab")
    bye = sip_msg("BYE sip:bob@%s:%d SIP/2.0" % (rhost, rport), [
        ("Via", via % (host, port, branch())), ("Max-Forwards", "70"), ("From", frm), ("To", totag),
        ("Call-ID", callid), ("CSeq", "2 BYE")])
    # timer E: 0.5, 1, 2 s... give up after 4 tries in the lab
    ok = False
    for wait in (0.5, 1.0, 2.0, 4.0):
        s.sendto(bye, (rhost, rport))
        s.settimeout(wait)
        try:
            data, _ = s.recvfrom(65535)
            if data.startswith(b"SIP/2.0 200"):
                ok = True
                break
        except socket.timeout:
            continue
    log(role="sip-uac", result="ok", media_remote="%s:%d" % (maddr, mport), bye_answered=ok, **res)


# ----------------------------------------------------------------------------------------------
# STUN / TURN (RFC 5389/8489, 5766/8656), WhatsApp-style relay messages (DESIGN §4)
# ----------------------------------------------------------------------------------------------

COOKIE = 0x2112A442


def stun_attr(t, v):
    return struct.pack("!HH", t, len(v)) + v + b"\x00" * ((-len(v)) % 4)


def xor_addr(t, addr, tid):
    ip, port = addr
    if ":" in ip:
        raw = socket.inet_pton(socket.AF_INET6, ip)
        key = struct.pack("!I", COOKIE) + tid
        x = bytes(a ^ b for a, b in zip(raw, key))
        return stun_attr(t, struct.pack("!BBH", 0, 2, port ^ (COOKIE >> 16)) + x)
    raw = struct.unpack("!I", socket.inet_aton(ip))[0]
    return stun_attr(t, struct.pack("!BBHI", 0, 1, port ^ (COOKIE >> 16), raw ^ COOKIE))


def stun_msg(mtype, tid, attrs=b"", integrity_key=None, fingerprint=False, length_delta=0):
    """A STUN message. MESSAGE-INTEGRITY (HMAC-SHA1) and FINGERPRINT (CRC-32 ^ 0x5354554e) are
    computed over the message with the length field adjusted as RFC 5389 §15.4/§15.5 require.
    `length_delta` makes the header length lie (WhatsApp-style mismatch)."""
    body = attrs
    if integrity_key is not None:
        hdr = struct.pack("!HHI", mtype, len(body) + 24, COOKIE) + tid
        mac = hmac.new(integrity_key, hdr + body, hashlib.sha1).digest()
        body += stun_attr(0x0008, mac)
    if fingerprint:
        hdr = struct.pack("!HHI", mtype, len(body) + 8, COOKIE) + tid
        crc = (zlib.crc32(hdr + body) ^ 0x5354554E) & 0xFFFFFFFF
        body += stun_attr(0x8028, struct.pack("!I", crc))
    return struct.pack("!HHI", mtype, len(body) + length_delta, COOKIE) + tid + body


def tid():
    return bytes(RNG.getrandbits(8) for _ in range(12))


def is_stun(data):
    return len(data) >= 20 and data[0] < 0x40 and struct.unpack("!I", data[4:8])[0] == COOKIE


def wa_token(n):
    return bytes(RNG.getrandbits(8) for _ in range(n))


def role_wa_relay(args):
    """The relay plays the far party too: answers the client's STUN-like messages and sends RTP PT 120
    back on the same 5-tuple (as WhatsApp relays do, one UDP port for control and media). The media
    thread reads the same socket, so both readers hand STUN-like messages to one handler."""
    s = udp_sock(args.listen)
    peers = {}
    lock = threading.Lock()

    def handle(data, peer):
        if not is_stun(data):
            return
        mtype = struct.unpack("!H", data[:2])[0]
        t = data[8:20]
        if mtype == 0x0003:  # allocate-like request → success with XOR-MAPPED-ADDRESS + 0x4002
            s.sendto(stun_msg(0x0103, t, xor_addr(0x0020, peer, t) +
                              stun_attr(0x4002, struct.pack("!II", 0x00000186, RNG.getrandbits(32)))), peer)
        elif mtype == 0x0800:  # WhatsApp relay "join": answered with 0x0803 carrying peer info
            s.sendto(stun_msg(0x0803, t, stun_attr(0x4003, wa_token(8)) + stun_attr(0x4004, wa_token(4)) +
                              xor_addr(0x0020, peer, t)), peer)
            with lock:
                fresh = peer not in peers
                peers[peer] = True
            if fresh:
                threading.Thread(target=wa_media, args=(s, peer, args, handle), daemon=True).start()
        elif mtype == 0x0801:  # keepalive ping → pong
            s.sendto(stun_msg(0x0802, t), peer)

    while True:
        data, peer = s.recvfrom(4096)
        handle(data, peer)


def wa_media(s, peer, args, handle):
    # the relay's own 0x0804 notification (attributes 0x4005–0x4007), then media
    t = tid()
    s.sendto(stun_msg(0x0804, t, stun_attr(0x4005, wa_token(4)) + stun_attr(0x4006, wa_token(16)) +
                      stun_attr(0x4007, struct.pack("!I", 1))), peer)
    res = rtp_session(s, peer, None, None, 120, 60, args.duration, 0x3E1A0000 | RNG.getrandbits(16),
                      clock=16000, ext=True, demux=handle)
    log(role="wa-relay", peer=str(peer), **res)


def stun_transact(s, dest, msg, rc=7, rto=0.5, rm=16, want=None):
    """RFC 5389 §7.2.1 retransmission: send at 0, RTO, 3·RTO, 7·RTO, ... (Rc sends), then wait
    Rm·RTO after the last. Returns (response, sends)."""
    t0 = time.monotonic()
    sends = 0
    deadline_at = None
    wait = rto
    next_send = t0
    while True:
        now = time.monotonic()
        if sends < rc and now >= next_send:
            s.sendto(msg, dest)
            sends += 1
            if sends == rc:
                deadline_at = now + rm * rto
            else:
                next_send = now + wait
                wait *= 2
        limit = deadline_at if deadline_at is not None else next_send
        s.settimeout(max(0.001, limit - time.monotonic()))
        try:
            data, addr = s.recvfrom(4096)
            if addr[0] == dest[0] and is_stun(data) and data[8:20] == msg[8:20]:
                return data, sends
            if want:
                want(data, addr)
        except socket.timeout:
            if deadline_at is not None and time.monotonic() >= deadline_at:
                return None, sends


def role_wa_client(args):
    s = udp_sock(args.local)
    relays = [hostport(r) for r in args.relay]
    token = wa_token(96)
    results = {}

    # all relays are probed from the same socket, one after the other as quick as WhatsApp does it,
    # then each retried on RFC 5389 timing until answered or Rc sends
    pending = {}
    t_start = time.monotonic()
    for relay in relays:
        t = tid()
        pending[t] = {"relay": relay, "msg": stun_msg(0x0003, t, stun_attr(0x4000, token)), "sends": 0,
                      "next": t_start, "wait": 0.5, "answered": False, "done_at": None}
    while any(not p["answered"] and p["done_at"] is None for p in pending.values()):
        now = time.monotonic()
        for p in pending.values():
            if p["answered"] or p["done_at"] is not None:
                continue
            if now >= p["next"]:
                if p["sends"] < args.rc:
                    s.sendto(p["msg"], p["relay"])
                    p["sends"] += 1
                    if p["sends"] == args.rc:
                        p["next"] = now + 16 * 0.5  # Rm × RTO
                    else:
                        p["next"] = now + p["wait"]
                        p["wait"] *= 2
                else:
                    p["done_at"] = now
        nxt = min([p["next"] for p in pending.values() if not p["answered"] and p["done_at"] is None] or [now])
        s.settimeout(max(0.001, nxt - time.monotonic()))
        try:
            data, addr = s.recvfrom(4096)
            if is_stun(data) and data[8:20] in pending:
                pending[data[8:20]]["answered"] = True
        except socket.timeout:
            pass
        if any(p["answered"] for p in pending.values()) and all(p["answered"] or p["sends"] >= 1 for p in pending.values()):
            # first answer wins, as in WhatsApp: stop probing the others after a short grace
            time.sleep(0.05)
            break
    for p in pending.values():
        results["%s:%d" % p["relay"]] = {"answered": p["answered"], "sends": p["sends"]}
    chosen = next((p["relay"] for p in pending.values() if p["answered"]), None)
    if chosen is None:
        log(role="wa-client", relays=results, call="no relay answered")
        return
    # join the relay (0x0800 with the 0x4000 token and 0x4001), then media + keepalives
    t = tid()
    s.sendto(stun_msg(0x0800, t, stun_attr(0x4000, token) + stun_attr(0x4001, struct.pack("!I", 2))), chosen)
    control = {"0803": 0, "0804": 0, "0802": 0}
    keep = {"next": time.monotonic() + 1.0}

    def demux(data, addr):
        if not is_stun(data):
            return
        mtype = struct.unpack("!H", data[:2])[0]
        key = "%04x" % mtype
        if key in control:
            control[key] += 1
        if mtype == 0x0804:
            # acknowledged with 0x0805 whose header length claims 4 bytes more than the datagram holds
            s.sendto(stun_msg(0x0805, data[8:20], stun_attr(0x4005, data[24:28]), length_delta=4), addr)

    stop = threading.Event()

    def keepalive():
        while not stop.wait(args.keepalive):
            s.sendto(stun_msg(0x0801, tid()), chosen)

    threading.Thread(target=keepalive, daemon=True).start()
    res = rtp_session(s, chosen, None, None, 120, 60, args.duration, 0xC11E0000 | RNG.getrandbits(16),
                      clock=16000, ext=True, demux=demux)
    stop.set()
    log(role="wa-client", relays=results, relay="%s:%d" % chosen, control=control, **res)


# ---- WebRTC data channel: ICE (STUN binding with MI/FINGERPRINT) + DTLS 1.2 records, no RTP ----

def dtls_record(ctype, epoch, seq, body, version=0xFEFD):
    return struct.pack("!BHH", ctype, version, epoch) + seq.to_bytes(6, "big") + struct.pack("!H", len(body)) + body


def dtls_hs(msg_type, msg_seq, body):
    n = len(body).to_bytes(3, "big")
    return bytes([msg_type]) + n + struct.pack("!H", msg_seq) + b"\x00\x00\x00" + n + body


def dtls_client_hello():
    ext = b""
    ext += struct.pack("!HH", 0x000E, 5) + struct.pack("!HH", 2, 0x0001) + b"\x00"  # use_srtp
    ext += struct.pack("!HHH", 0x000A, 4, 2) + struct.pack("!H", 0x001D)  # supported_groups x25519
    ext += struct.pack("!HHB", 0x000B, 2, 1) + b"\x00"  # ec_point_formats
    ext += struct.pack("!HH", 0x0017, 0)  # extended_master_secret
    ext += struct.pack("!HHH", 0x000D, 6, 4) + struct.pack("!HH", 0x0403, 0x0804)  # signature_algorithms
    suites = struct.pack("!HHH", 0xC02B, 0xC02F, 0xCCA9)
    body = struct.pack("!H", 0xFEFD) + wa_token(32) + b"\x00" + b"\x00" + struct.pack("!H", len(suites)) + suites
    body += b"\x01\x00" + struct.pack("!H", len(ext)) + ext
    return body


def role_webrtc_peer(args):
    """Both ends of a WebRTC data channel. The client is ICE-controlling and the DTLS client."""
    s = udp_sock(args.local)
    key = b"lab-ice-password-22chars"
    remote = hostport(args.remote) if args.remote else None
    seq = [0]

    def rec(ctype, epoch, body):
        r = dtls_record(ctype, epoch, seq[0], body, version=0xFEFF if ctype == 22 and epoch == 0 and args.client else 0xFEFD)
        seq[0] += 1
        return r

    def binding_request():
        attrs = stun_attr(0x0006, b"rmtU:locU") + stun_attr(0x0024, struct.pack("!I", 0x6E7F1EFF))
        attrs += stun_attr(0x802A if args.client else 0x8029, wa_token(8))
        return stun_msg(0x0001, tid(), attrs, integrity_key=key, fingerprint=True)

    def binding_response(req, addr):
        return stun_msg(0x0101, req[8:20], xor_addr(0x0020, addr, req[8:20]), integrity_key=key, fingerprint=True)

    stats = {"stun_out": 0, "dtls_out": 0, "app_out": 0, "received": 0}

    def handle(data, addr):
        nonlocal remote
        stats["received"] += 1
        if is_stun(data) and data[:2] == b"\x00\x01":
            s.sendto(binding_response(data, addr), addr)
            if remote is None:
                remote = addr
        elif data[:1] == b"\x16" and not args.client and data[13:14] == b"\x01":
            # ServerHello, Certificate (opaque bytes), ServerHelloDone in one flight
            flight = rec(22, 0, dtls_hs(2, 0, struct.pack("!H", 0xFEFD) + wa_token(32) + b"\x00" +
                                         struct.pack("!HB", 0xC02B, 0) + struct.pack("!H", 9) +
                                         struct.pack("!HH", 0x000E, 5) + struct.pack("!HH", 2, 1) + b"\x00"))
            flight += rec(22, 0, dtls_hs(11, 1, wa_token(420)))
            flight += rec(22, 0, dtls_hs(14, 2, b""))
            s.sendto(flight, addr)
        elif data[:1] == b"\x16" and not args.client and data[13:14] == b"\x10":
            s.sendto(rec(20, 0, b"\x01") + rec(22, 1, wa_token(40)), addr)

    s.settimeout(0.02)
    start = time.monotonic()
    if args.client:
        # ICE connectivity check until answered
        while True:
            s.sendto(binding_request(), remote)
            stats["stun_out"] += 1
            try:
                data, addr = s.recvfrom(4096)
                if is_stun(data):
                    break
            except socket.timeout:
                time.sleep(0.05)
        # answer the peer's own check, then DTLS handshake
        t_end = time.monotonic() + 0.3
        while time.monotonic() < t_end:
            try:
                data, addr = s.recvfrom(4096)
                handle(data, addr)
            except socket.timeout:
                pass
        s.sendto(rec(22, 0, dtls_hs(1, 0, dtls_client_hello())), remote)
        got = False
        s.settimeout(1.0)
        while not got:
            data, addr = s.recvfrom(4096)
            got = data[:1] == b"\x16"
        seq[0] = 1
        s.sendto(rec(22, 0, dtls_hs(16, 1, b"\x20" + wa_token(32))) + rec(20, 0, b"\x01") + rec(22, 1, wa_token(40)), remote)
        s.settimeout(1.0)
        s.recvfrom(4096)
        seq[0] = 1
        s.settimeout(0.02)
    # SCTP over DTLS application data: chat-sized messages both ways, consent checks every 5 s
    next_msg = time.monotonic()
    next_check = time.monotonic() + 5
    while time.monotonic() - start < args.duration:
        now = time.monotonic()
        if remote is not None and now >= next_msg and (args.client or stats["received"] > 3):
            s.sendto(dtls_record(23, 1, seq[0], wa_token(RNG.randrange(60, 400))), remote)
            seq[0] += 1
            stats["app_out"] += 1
            next_msg = now + RNG.uniform(0.2, 0.8)
        if remote is not None and now >= next_check:
            s.sendto(binding_request(), remote)
            stats["stun_out"] += 1
            next_check = now + 5
        try:
            data, addr = s.recvfrom(4096)
            handle(data, addr)
        except socket.timeout:
            pass
    log(role="webrtc-peer", client=args.client, **stats)


# ---- TURN over TCP 443 with RFC 4571 framing, after UDP STUN went unanswered ----

def frame4571(b):
    return struct.pack("!H", len(b)) + b


def read_frame(conn):
    hdr = b""
    while len(hdr) < 2:
        c = conn.recv(2 - len(hdr))
        if not c:
            return None
        hdr += c
    n = struct.unpack("!H", hdr)[0]
    body = b""
    while len(body) < n:
        c = conn.recv(n - len(body))
        if not c:
            return None
        body += c
    return body


def long_term_key(user, realm, password):
    return hashlib.md5(("%s:%s:%s" % (user, realm, password)).encode()).digest()


REALM = b"relay.lab.example"
NONCE = b"6c6162206e6f6e6365"


def role_udp_sink(args):
    """A bound UDP socket that reads and never answers (an unanswered relay, without ICMP errors)."""
    s = udp_sock(args.listen)
    while True:
        s.recvfrom(65535)


def role_turn_server(args):
    host, port = hostport(args.listen)
    ls = socket.socket(family(host), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(4)
    key = long_term_key("labuser", REALM.decode(), "labpass")
    while True:
        conn, peer = ls.accept()
        threading.Thread(target=turn_session, args=(conn, peer, key, args), daemon=True).start()


def turn_session(conn, peer, key, args):
    channel = None
    stop = threading.Event()
    try:
        while True:
            f = read_frame(conn)
            if f is None:
                break
            if is_stun(f):
                mtype = struct.unpack("!H", f[:2])[0]
                t = f[8:20]
                has_mi = b"\x00\x08\x00\x14" in f
                if mtype == 0x0003 and not has_mi:
                    resp = stun_msg(0x0113, t, stun_attr(0x0009, struct.pack("!HBB", 0, 4, 1) + b"Unauthorized") +
                                    stun_attr(0x0014, REALM) + stun_attr(0x0015, NONCE), fingerprint=True)
                elif mtype == 0x0003:
                    resp = stun_msg(0x0103, t, xor_addr(0x0016, ("10.71.2.3", 49170), t) +
                                    xor_addr(0x0020, peer, t) + stun_attr(0x000D, struct.pack("!I", 600)),
                                    integrity_key=key, fingerprint=True)
                elif mtype == 0x0008:  # CreatePermission
                    resp = stun_msg(0x0108, t, b"", integrity_key=key, fingerprint=True)
                elif mtype == 0x0009:  # ChannelBind
                    channel = struct.unpack("!H", f[24:26])[0] if len(f) >= 26 else 0x4000
                    resp = stun_msg(0x0109, t, b"", integrity_key=key, fingerprint=True)

                    def media():
                        # the peer's RTP, relayed to the client in ChannelData frames
                        ssrc = 0x7E3E0000 | RNG.getrandbits(16)
                        seq, ts = RNG.randrange(65536), RNG.getrandbits(32)
                        t0 = time.monotonic()
                        n = 0
                        while not stop.is_set() and time.monotonic() - t0 < args.duration:
                            rtp = struct.pack("!BBHII", 0x80, 111, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + wa_token(80)
                            cd = struct.pack("!HH", channel, len(rtp)) + rtp
                            try:
                                conn.sendall(frame4571(cd))
                            except OSError:
                                break
                            seq += 1
                            ts += 960
                            n += 1
                            pause = t0 + n * 0.02 - time.monotonic()
                            if pause > 0:
                                time.sleep(pause)

                    threading.Thread(target=media, daemon=True).start()
                elif mtype == 0x0004:  # Refresh (lifetime 0 = deallocate)
                    resp = stun_msg(0x0104, t, stun_attr(0x000D, struct.pack("!I", 0)), integrity_key=key, fingerprint=True)
                else:
                    continue
                conn.sendall(frame4571(resp))
        stop.set()
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        stop.set()
        conn.close()


def role_turn_client(args):
    relay_udp = hostport(args.udp_relay)
    s = udp_sock(args.local)
    # ICE over UDP first: a Binding request retried on RFC 5389 timing (4 sends: 0, 0.5, 1.5, 3.5 s)
    req = stun_msg(0x0001, tid(), stun_attr(0x8022, b"voipwatch-lab"), fingerprint=True)
    resp, sends = stun_transact(s, relay_udp, req, rc=args.udp_tries, rm=2)
    if resp is not None:
        log(role="turn-client", udp="answered")
        return
    host, port = hostport(args.tcp_relay)
    c = socket.create_connection((host, port), timeout=5)
    c.settimeout(5)

    def txn(msg):
        c.sendall(frame4571(msg))
        return read_frame(c)

    user = stun_attr(0x0006, b"labuser")
    req_tr = stun_attr(0x0019, b"\x11\x00\x00\x00")  # REQUESTED-TRANSPORT UDP
    r1 = txn(stun_msg(0x0003, tid(), req_tr, fingerprint=True))
    key = long_term_key("labuser", REALM.decode(), "labpass")
    auth = user + stun_attr(0x0014, REALM) + stun_attr(0x0015, NONCE)
    r2 = txn(stun_msg(0x0003, tid(), req_tr + auth, integrity_key=key, fingerprint=True))
    peer = (args.peer.rpartition(":")[0], int(args.peer.rpartition(":")[2]))
    t = tid()
    txn(stun_msg(0x0008, t, xor_addr(0x0012, peer, t) + auth, integrity_key=key, fingerprint=True))
    t = tid()
    txn(stun_msg(0x0009, t, stun_attr(0x000C, struct.pack("!HH", 0x4000, 0)) + xor_addr(0x0012, peer, t) + auth,
                 integrity_key=key, fingerprint=True))
    # media: our RTP in ChannelData frames every 20 ms, while reading the peer's
    ssrc = 0xC7C70000 | RNG.getrandbits(16)
    seq, ts = RNG.randrange(65536), RNG.getrandbits(32)
    t0 = time.monotonic()
    n = got = 0
    c.setblocking(False)
    buf = b""
    while time.monotonic() - t0 < args.duration:
        rtp = struct.pack("!BBHII", 0x80, 111, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + wa_token(80)
        c.sendall(frame4571(struct.pack("!HH", 0x4000, len(rtp)) + rtp))
        seq += 1
        ts += 960
        n += 1
        while True:
            pause = t0 + n * 0.02 - time.monotonic()
            if pause <= 0:
                break
            r, _, _ = select.select([c], [], [], pause)
            if r:
                try:
                    d = c.recv(65536)
                except BlockingIOError:
                    continue
                buf += d
                while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                    k = struct.unpack("!H", buf[:2])[0]
                    buf = buf[2 + k:]
                    got += 1
    c.setblocking(True)
    c.settimeout(2)
    try:
        c.sendall(frame4571(stun_msg(0x0004, tid(), stun_attr(0x000D, b"\x00\x00\x00\x00") + auth,
                                     integrity_key=key, fingerprint=True)))
        time.sleep(0.2)
        c.shutdown(socket.SHUT_WR)
        while c.recv(65536):
            pass
    except OSError:
        pass
    c.close()
    log(role="turn-client", udp_sends=sends, allocate_401=bool(r1 and r1[:2] == b"\x01\x13"),
        allocate_ok=bool(r2 and r2[:2] == b"\x01\x03"), sent=n, received_frames=got)


# ----------------------------------------------------------------------------------------------
# DNS (RFC 1035): resolver, client
# ----------------------------------------------------------------------------------------------

def dns_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def parse_qname(msg, off=12):
    labels = []
    while off < len(msg) and msg[off] != 0 and len(labels) < 64:
        n = msg[off]
        labels.append(msg[off + 1:off + 1 + n].decode(errors="replace"))
        off += 1 + n
    return ".".join(labels), off + 1


def dns_answer(query, answers, ttl, rcode=0, authority=None):
    qid = query[:2]
    qname, end = parse_qname(query)
    question = query[12:end + 4]
    flags = 0x8180 | rcode
    an = b""
    for ip in answers:
        an += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, ttl, 4) + socket.inet_aton(ip)
    ns = b""
    nscount = 0
    if authority:
        zone = authority
        soa = dns_name("ns1." + zone) + dns_name("hostmaster." + zone) + struct.pack("!IIIII", 2026112801, 7200, 900, 1209600, 300)
        ns = dns_name(zone) + struct.pack("!HHIH", 6, 1, 300, len(soa)) + soa
        nscount = 1
    return qid + struct.pack("!HHHHH", flags, 1, len(answers), nscount, 0) + question + an + ns


def role_dns_server(args):
    table = {}
    for spec in args.record:
        name, _, ips = spec.partition("=")
        table[name.lower()] = ips.split(",") if ips else []
    s = udp_sock(args.listen)
    while True:
        q, peer = s.recvfrom(4096)
        if len(q) < 17:
            continue
        name, end = parse_qname(q)
        if args.delay:
            time.sleep(args.delay)
        ips = table.get(name.lower())
        if ips is None:
            ips = []
        if not ips:
            resp = dns_answer(q, [], args.ttl, rcode=3, authority=".".join(name.split(".")[-2:]))
        else:
            resp = dns_answer(q, ips, args.ttl)
        s.sendto(resp, peer)


def role_dns_client(args):
    server = hostport(args.server)
    out = []
    for name in args.name:
        # a fresh socket (source port) per name, as stub resolvers do
        s = socket.socket(family(server[0]), socket.SOCK_DGRAM)
        qid = RNG.getrandbits(16)
        q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", 1, 1)
        answers = []
        for attempt in range(args.tries):
            s.sendto(q, server)
            s.settimeout(args.timeout)
            t0 = time.monotonic()
            try:
                while True:  # keep reading for late duplicates until the timeout
                    s.settimeout(max(0.001, args.timeout - (time.monotonic() - t0)))
                    r, _ = s.recvfrom(4096)
                    if r[:2] != q[:2]:
                        continue
                    an = struct.unpack("!H", r[6:8])[0]
                    ips, ttls = [], []
                    off = parse_qname(r)[1] + 4
                    for _ in range(min(an, 16)):
                        off += 2
                        typ, _, ttl, rdlen = struct.unpack("!HHIH", r[off:off + 10])
                        if typ == 1:
                            ips.append(socket.inet_ntoa(r[off + 10:off + 14]))
                            ttls.append(ttl)
                        off += 10 + rdlen
                    answers.append({"rcode": r[3] & 0xF, "ips": ips, "ttls": ttls,
                                    "after_ms": round((time.monotonic() - t0) * 1000, 2)})
            except socket.timeout:
                pass
            if answers:
                break
        out.append({"name": name, "answers": answers})
        s.close()
        time.sleep(args.gap)
    log(role="dns-client", results=out)


# ----------------------------------------------------------------------------------------------
# QUIC v1 Initial (RFC 9000/9001) carrying a real TLS 1.3 ClientHello with SNI
# ----------------------------------------------------------------------------------------------

def hkdf_extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand_label(secret, label, length):
    full = b"tls13 " + label
    info = struct.pack("!HB", length, len(full)) + full + b"\x00"
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(secret, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:length]


def tls_client_hello(sni, alpn):
    """A real TLS ClientHello produced by Python's ssl module (record header stripped)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_alpn_protocols(alpn)
    inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inb, outb, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    rec = outb.read()
    return rec[5:5 + struct.unpack("!H", rec[3:5])[0]]


def quic_initial(dcid, scid, pn, crypto):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    salt = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
    secret = hkdf_expand_label(hkdf_extract(salt, dcid), b"client in", 32)
    key = hkdf_expand_label(secret, b"quic key", 16)
    iv = hkdf_expand_label(secret, b"quic iv", 12)
    hp = hkdf_expand_label(secret, b"quic hp", 16)

    def varint(v):
        return struct.pack("!H", 0x4000 | v) if v < 0x4000 else struct.pack("!I", 0x80000000 | v)

    frame = b"\x06" + b"\x00" + varint(len(crypto)) + crypto
    pn_len = 4
    hdr_wo_len = bytes([0xC0 | (pn_len - 1)]) + struct.pack("!I", 1) + bytes([len(dcid)]) + dcid + \
        bytes([len(scid)]) + scid + b"\x00"
    # pad so that the whole datagram is 1200 bytes (RFC 9000 §14.1)
    payload_len = 1200 - len(hdr_wo_len) - 2 - pn_len - 16
    payload = frame + b"\x00" * max(0, payload_len - len(frame))
    header = hdr_wo_len + varint(pn_len + len(payload) + 16) + struct.pack("!I", pn)
    nonce = bytes(a ^ b for a, b in zip(iv, (b"\x00" * 8 + struct.pack("!I", pn))))
    ct = AESGCM(key).encrypt(nonce, payload, header)
    pn_off = len(header) - pn_len
    sample = ct[4 - pn_len:4 - pn_len + 16]
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = enc.update(sample) + enc.finalize()
    first = bytes([header[0] ^ (mask[0] & 0x0F)])
    pnb = bytes(a ^ b for a, b in zip(header[pn_off:], mask[1:1 + pn_len]))
    return first + header[1:pn_off] + pnb + ct


def role_quic_client(args):
    host, port = hostport(args.connect)
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    ch = tls_client_hello(args.sni, ["h3"])
    dcid = bytes(RNG.getrandbits(8) for _ in range(8))
    scid = bytes(RNG.getrandbits(8) for _ in range(8))
    sends = 0
    wait = args.pto
    answered = False
    s.settimeout(wait)
    for pn in range(args.tries):
        s.sendto(quic_initial(dcid, scid, pn, ch), (host, port))
        sends += 1
        try:
            s.recvfrom(4096)
            answered = True
            break
        except socket.timeout:
            wait *= 2
            s.settimeout(wait)
    log(role="quic-client", sends=sends, answered=answered)


# ----------------------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="role", required=True)
    a = sub.add_parser("http-server")
    a.add_argument("--listen", required=True)
    a.add_argument("--size", type=int, default=200_000)
    a.add_argument("--rate", type=float, default=0.0, help="app-limited send rate, bit/s")
    a.add_argument("--duration", type=float, default=10.0)
    a.add_argument("--delay", type=float, default=0.0)
    a.add_argument("--tick", type=float, default=0.01, help="with --rate: write period, s")
    a.add_argument("--cc", help="TCP congestion control of the accepted socket (e.g. bbr)")
    a.add_argument("--max-pacing-rate", type=float, default=0.0, help="SO_MAX_PACING_RATE, bit/s")
    a.add_argument("--cert")
    a.add_argument("--key")
    a = sub.add_parser("http-ttl-probe")
    a.add_argument("--connect", required=True)
    a.add_argument("--host", required=True)
    a.add_argument("--path", default="/")
    a.add_argument("--sni", action="store_true", help="probe with a TLS ClientHello for --host instead of a GET")
    a.add_argument("--min-ttl", type=int, default=1)
    a.add_argument("--max-ttl", type=int, default=5)
    a.add_argument("--wait", type=float, default=1.0)
    a.add_argument("--gap", type=float, default=0.2)
    a = sub.add_parser("http-client")
    a.add_argument("--connect", required=True)
    a.add_argument("--sni")
    a.add_argument("--host", help="Host header of a plain-HTTP request (default: the address)")
    a.add_argument("--path", default="/")
    a.add_argument("--timeout", type=float, default=10.0)
    a.add_argument("--rcvbuf", type=int, default=0)
    a.add_argument("--upload", type=int, default=0, help="POST this many bytes before reading the answer")
    a.add_argument("--upload-rate", type=float, default=0.0, help="with --upload: app-limited rate, bit/s")
    a = sub.add_parser("rtp-peer")
    a.add_argument("--local", required=True)
    a.add_argument("--remote")
    a.add_argument("--pt", type=int, default=0)
    a.add_argument("--payload", type=int, default=160)
    a.add_argument("--ptime", type=float, default=0.02)
    a.add_argument("--duration", type=float, default=10.0)
    a.add_argument("--ssrc", type=lambda v: int(v, 0), default=0x11223344)
    a.add_argument("--rtcp", action="store_true")
    a = sub.add_parser("sip-uas")
    a.add_argument("--listen", required=True)
    a.add_argument("--media-port", type=int, default=50004)
    a.add_argument("--ring", type=float, default=1.0)
    a.add_argument("--media-on-ack", action="store_true",
                   help="start sending RTP when the ACK arrives (default: right after the 200 OK)")
    a = sub.add_parser("sip-uac")
    a.add_argument("--local", required=True)
    a.add_argument("--server", required=True)
    a.add_argument("--media-port", type=int, default=40002)
    a.add_argument("--duration", type=float, default=10.0)
    a = sub.add_parser("wa-relay")
    a.add_argument("--listen", required=True)
    a.add_argument("--duration", type=float, default=10.0)
    a = sub.add_parser("wa-client")
    a.add_argument("--local", required=True)
    a.add_argument("--relay", action="append", required=True)
    a.add_argument("--duration", type=float, default=10.0)
    a.add_argument("--keepalive", type=float, default=3.0)
    a.add_argument("--rc", type=int, default=7)
    a = sub.add_parser("webrtc-peer")
    a.add_argument("--local", required=True)
    a.add_argument("--remote")
    a.add_argument("--client", action="store_true")
    a.add_argument("--duration", type=float, default=10.0)
    a = sub.add_parser("udp-sink")
    a.add_argument("--listen", required=True)
    a = sub.add_parser("turn-server")
    a.add_argument("--listen", required=True)
    a.add_argument("--duration", type=float, default=10.0)
    a = sub.add_parser("turn-client")
    a.add_argument("--local", required=True)
    a.add_argument("--udp-relay", required=True)
    a.add_argument("--tcp-relay", required=True)
    a.add_argument("--peer", default="10.71.2.4:50000")
    a.add_argument("--udp-tries", type=int, default=4)
    a.add_argument("--duration", type=float, default=10.0)
    a = sub.add_parser("dns-server")
    a.add_argument("--listen", required=True)
    a.add_argument("--record", action="append", default=[], help="name=ip[,ip] (empty: NXDOMAIN)")
    a.add_argument("--ttl", type=int, default=300)
    a.add_argument("--delay", type=float, default=0.0)
    a = sub.add_parser("dns-client")
    a.add_argument("--server", required=True)
    a.add_argument("--name", action="append", required=True)
    a.add_argument("--tries", type=int, default=2)
    a.add_argument("--timeout", type=float, default=1.0)
    a.add_argument("--gap", type=float, default=0.2)
    a = sub.add_parser("quic-client")
    a.add_argument("--connect", required=True)
    a.add_argument("--sni", required=True)
    a.add_argument("--tries", type=int, default=4)
    a.add_argument("--pto", type=float, default=0.3)
    args = p.parse_args()
    globals()["role_" + args.role.replace("-", "_")](args)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
