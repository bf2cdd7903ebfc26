#!/usr/bin/env python3
"""Writes a large classic pcap for speed comparisons by repeating the packets of smaller
Ethernet pcaps (little-endian µs or ns pcap only) with shifted timestamps and, per repetition,
a different client port so the flow table grows the way it does on a real long capture.

Usage: make_big.py OUT SIZE_MB INPUT.pcap [INPUT.pcap ...]
"""
import struct, sys

def packets(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        raise SystemExit(f"{path}: only little-endian classic pcap inputs are supported")
    if struct.unpack("<I", data[20:24])[0] != 1:
        raise SystemExit(f"{path}: only Ethernet inputs are supported")
    scale = 1_000 if magic == 0xA1B2C3D4 else 1
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        out.append((sec * 1_000_000_000 + frac * scale, data[off + 16:off + 16 + incl], orig))
        off += 16 + incl
    return out

def main():
    out_path, size_mb, inputs = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    pkts = [p for i in inputs for p in packets(i)]
    if not pkts:
        raise SystemExit("no packets in the inputs")
    t0 = min(p[0] for p in pkts)
    span = max(p[0] for p in pkts) - t0 + 1_000_000_000
    target = int(size_mb * 1e6)
    with open(out_path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1))
        written, rep = 24, 0
        while written < target:
            for ts, frame, orig in pkts:
                fr = bytearray(frame)
                # IPv4 TCP/UDP: tweak the low byte of both ports so each repetition is new flows
                # (checksums are left as they are: a speed test, not a correctness one).
                if len(fr) >= 38 and fr[12:14] == b"\x08\x00" and fr[23] in (6, 17):
                    ihl = (fr[14] & 0x0F) * 4
                    p = 14 + ihl
                    if len(fr) >= p + 4:
                        fr[p + 1] ^= rep & 0xFF
                        fr[p + 3] ^= rep & 0xFF
                t = ts - t0 + rep * span + 1_700_000_000_000_000_000
                f.write(struct.pack("<IIII", t // 1_000_000_000, t % 1_000_000_000, len(fr), orig))
                f.write(fr)
                written += 16 + len(fr)
            rep += 1
    print(f"{out_path}: {written / 1e6:.0f} MB, {rep} repetitions of {len(pkts)} packets")

main()
