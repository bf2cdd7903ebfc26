#!/usr/bin/env python3
"""Traffic roles for benches/make_real.sh (issue 14), run inside the lab namespaces with
`ip netns exec`, talking only to the lab's own addresses. Standard library only.

  short  --connect HOST:PORT --duration S --threads N   many short HTTP/1.1 connections, one GET each
  bulk   --connect HOST:PORT --duration S               back-to-back downloads (the server's --size)
  media  --local HOST:PORT --remote HOST:PORT --streams K --duration S
         K RTP-like streams (PCMU, 160-byte payload every 20 ms) from consecutive even ports,
         sent to the same number of consecutive ports at the remote; what arrives is read and dropped.

Each role prints one JSON line when it ends.
"""
import argparse
import json
import os
import socket
import struct
import threading
import time


def hostport(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def get(host, port, timeout=10.0):
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: voipwatch-bench\r\n\r\n" % host).encode())
        got = 0
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return got
            got += len(chunk)
    finally:
        s.close()


def role_short(args):
    host, port = hostport(args.connect)
    end = time.monotonic() + args.duration
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()

    def worker():
        while time.monotonic() < end:
            try:
                get(host, port)
                key = "ok"
            except OSError:
                key = "failed"
                time.sleep(0.05)
            with lock:
                counts[key] += 1
            if args.gap:
                time.sleep(args.gap)

    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"role": "short", "connections": counts}), flush=True)


def role_bulk(args):
    host, port = hostport(args.connect)
    end = time.monotonic() + args.duration
    n, total = 0, 0
    while time.monotonic() < end:
        try:
            total += get(host, port, timeout=30)
            n += 1
        except OSError:
            time.sleep(0.2)
    print(json.dumps({"role": "bulk", "downloads": n, "bytes": total}), flush=True)


def role_media(args):
    host, port = hostport(args.local)
    rhost, rport = hostport(args.remote)
    socks = []
    for i in range(args.streams):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host, port + 2 * i))
        s.setblocking(False)
        socks.append((s, (rhost, rport + 2 * i), 0x5EED0000 + (port & 0xFFF) * 64 + i))
    payload = bytes((0xFF ^ (i * 7)) & 0xFF for i in range(160))  # PCMU near-silence pattern
    start = time.monotonic()
    n, sent, seq0 = 0, 0, int.from_bytes(os.urandom(2), "big")
    while True:
        now = time.monotonic()
        if now - start >= args.duration:
            break
        for s, dest, ssrc in socks:
            hdr = struct.pack("!BBHII", 0x80, 0x80 if n == 0 else 0x00, (seq0 + n) & 0xFFFF,
                              (n * 160) & 0xFFFFFFFF, ssrc)
            try:
                s.sendto(hdr + payload, dest)
                sent += 1
            except OSError:
                pass
            try:
                while True:
                    s.recv(2048)
            except OSError:
                pass
        n += 1
        pause = start + n * 0.02 - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    for s, _, _ in socks:
        s.close()
    print(json.dumps({"role": "media", "streams": args.streams, "sent": sent}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="role", required=True)
    a = sub.add_parser("short")
    a.add_argument("--connect", required=True)
    a.add_argument("--duration", type=float, default=60)
    a.add_argument("--threads", type=int, default=4)
    a.add_argument("--gap", type=float, default=0.0)
    a = sub.add_parser("bulk")
    a.add_argument("--connect", required=True)
    a.add_argument("--duration", type=float, default=60)
    a = sub.add_parser("media")
    a.add_argument("--local", required=True)
    a.add_argument("--remote", required=True)
    a.add_argument("--streams", type=int, default=10)
    a.add_argument("--duration", type=float, default=60)
    args = p.parse_args()
    globals()["role_" + args.role](args)


if __name__ == "__main__":
    main()
