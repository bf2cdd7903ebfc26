#!/usr/bin/env python3
"""A fixed-delay line for the voipwatch lab, run in the vw-router namespace. Standard library only.

This kernel has no netem (TOOLCHAIN.md), so a path with propagation delay is built from an
iptables NFQUEUE rule and this program: it binds the queue over a raw netlink socket
(nfnetlink_queue, metadata only: the packets stay in the kernel), and accepts each queued packet
--delay seconds after it was queued, in arrival order. Nothing is dropped or reordered; the
delay line adds no rate limit of its own (it releases every packet that is due at once).

  delayline.py --queue 0 --delay 0.15

Prints `{"role": "delay-line", "ready": true}` once bound, and on SIGINT/SIGTERM a JSON summary:
packets delayed, the largest number held at once, and how late the releases were (the delay
actually applied is --delay plus that lateness, which is measured here so the truth file can say
it). The scenario removes its NFQUEUE rule before ending this program (a queued packet without
a listener is dropped).
"""
import argparse
import collections
import json
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NF_ACCEPT = 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2


def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)


class Queue:
    def __init__(self, num):
        self.num = num
        self.seq = 0
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.bind((0, 0))

    def send(self, msg_type, attrs, ack=False):
        self.seq += 1
        body = struct.pack("!BBH", socket.AF_UNSPEC, 0, self.num) + b"".join(attrs)
        flags = NLM_F_REQUEST | (NLM_F_ACK if ack else 0)
        hdr = struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg_type, flags, self.seq, 0)
        self.sock.send(hdr + body)
        if ack:
            self.expect_ack()

    def expect_ack(self):
        for kind, payload in self.messages(self.sock.recv(65536)):
            if kind == NLMSG_ERROR:
                (err,) = struct.unpack_from("=i", payload, 0)
                if err != 0:
                    raise OSError(-err, "nfnetlink_queue config refused")
                return
        raise OSError("no netlink acknowledgement")

    @staticmethod
    def messages(buf):
        off = 0
        while off + 16 <= len(buf):
            n, kind, _flags, _seq, _pid = struct.unpack_from("=IHHII", buf, off)
            if n < 16:
                break
            yield kind, buf[off + 16:off + n]
            off += (n + 3) & ~3

    def bind(self):
        self.send(NFQNL_MSG_CONFIG, [attr(NFQA_CFG_CMD, struct.pack("!BBH", NFQNL_CFG_CMD_BIND, 0, 0))], ack=True)
        self.send(NFQNL_MSG_CONFIG, [attr(NFQA_CFG_PARAMS, struct.pack("!IB", 0, NFQNL_COPY_META))], ack=True)
        self.send(NFQNL_MSG_CONFIG, [attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", 65536))], ack=True)

    def packet_ids(self, buf):
        for kind, payload in self.messages(buf):
            if kind != (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                continue
            off = 4  # nfgenmsg
            while off + 4 <= len(payload):
                n, t = struct.unpack_from("=HH", payload, off)
                if n < 4:
                    break
                if t & 0x7FFF == NFQA_PACKET_HDR:
                    yield struct.unpack_from("!I", payload, off + 4)[0]
                off += (n + 3) & ~3

    def accept(self, pid):
        self.send(NFQNL_MSG_VERDICT, [attr(NFQA_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, pid))])


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--queue", type=int, default=0)
    a.add_argument("--delay", type=float, required=True, help="seconds added to every queued packet")
    args = a.parse_args()
    q = Queue(args.queue)
    q.bind()
    held = collections.deque()
    stats = {"role": "delay-line", "queue": args.queue, "delay_s": args.delay, "packets": 0, "max_held": 0,
             "late_ms_max": 0.0, "late_ms_sum": 0.0}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print(json.dumps({"role": "delay-line", "ready": True}), flush=True)
    while not stop:
        now = time.monotonic()
        while held and held[0][0] <= now:
            due, pid = held.popleft()
            q.accept(pid)
            late = (now - due) * 1000.0
            stats["late_ms_sum"] += late
            stats["late_ms_max"] = max(stats["late_ms_max"], late)
        wait = max(0.0, held[0][0] - now) if held else 0.2
        try:
            ready, _, _ = select.select([q.sock], [], [], wait)
        except InterruptedError:
            continue
        if ready:
            try:
                buf = q.sock.recv(1 << 20)
            except InterruptedError:
                continue
            t = time.monotonic()
            for pid in q.packet_ids(buf):
                held.append((t + args.delay, pid))
                stats["packets"] += 1
            stats["max_held"] = max(stats["max_held"], len(held))
    for _, pid in held:  # release what is left rather than strand it
        q.accept(pid)
    n = max(stats["packets"], 1)
    stats["late_ms_mean"] = round(stats.pop("late_ms_sum") / n, 3)
    stats["late_ms_max"] = round(stats["late_ms_max"], 3)
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    sys.exit(main())
