// Writes small valid pcap files for the browser tests (classic pcap, microseconds, Ethernet).
// Used when captures/ has no reference captures yet, and for the 1 GB streaming test.
import { openSync, writeSync, closeSync } from "node:fs";

const HEADER = Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0]);

function csum(buf) {
  let s = 0;
  for (let i = 0; i + 1 < buf.length; i += 2) s += buf.readUInt16BE(i);
  if (buf.length & 1) s += buf[buf.length - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}

/** Ethernet + IPv4 frame. proto 17 (UDP) or 6 (TCP); l4 is the transport header + payload. */
function ipv4Frame(src, dst, proto, l4, ttl, id) {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45; ip.writeUInt16BE(20 + l4.length, 2); ip.writeUInt16BE(id & 0xffff, 4); ip[6] = 0x40;
  ip[8] = ttl; ip[9] = proto; Buffer.from(src).copy(ip, 12); Buffer.from(dst).copy(ip, 16);
  ip.writeUInt16BE(csum(ip), 10);
  const eth = Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
  return Buffer.concat([eth, ip, l4]);
}

function pseudo(src, dst, proto, len) {
  const p = Buffer.alloc(12);
  Buffer.from(src).copy(p, 0); Buffer.from(dst).copy(p, 4); p[9] = proto; p.writeUInt16BE(len, 10);
  return p;
}

export function udp(src, sport, dst, dport, payload, ttl = 64, id = 1) {
  const u = Buffer.alloc(8);
  u.writeUInt16BE(sport, 0); u.writeUInt16BE(dport, 2); u.writeUInt16BE(8 + payload.length, 4);
  const l4 = Buffer.concat([u, payload]);
  l4.writeUInt16BE(csum(Buffer.concat([pseudo(src, dst, 17, l4.length), l4])) || 0xffff, 6);
  return ipv4Frame(src, dst, 17, l4, ttl, id);
}

export function tcp(src, sport, dst, dport, seq, ack, flags, payload = Buffer.alloc(0), ttl = 64, id = 1) {
  const t = Buffer.alloc(20);
  t.writeUInt16BE(sport, 0); t.writeUInt16BE(dport, 2); t.writeUInt32BE(seq >>> 0, 4); t.writeUInt32BE(ack >>> 0, 8);
  t[12] = 5 << 4; t[13] = flags; t.writeUInt16BE(65535, 14);
  const l4 = Buffer.concat([t, payload]);
  l4.writeUInt16BE(csum(Buffer.concat([pseudo(src, dst, 6, l4.length), l4])), 16);
  return ipv4Frame(src, dst, 6, l4, ttl, id);
}

export function record(tsMicros, frame) {
  const r = Buffer.alloc(16);
  r.writeUInt32LE(Math.floor(tsMicros / 1e6), 0); r.writeUInt32LE(tsMicros % 1e6, 4);
  r.writeUInt32LE(frame.length, 8); r.writeUInt32LE(frame.length, 12);
  return Buffer.concat([r, frame]);
}

function stunBinding(type, txid) {
  const m = Buffer.alloc(20);
  m.writeUInt16BE(type, 0); m.writeUInt16BE(0, 2); m.writeUInt32BE(0x2112a442, 4); txid.copy(m, 8);
  return m;
}

function rtp(seq, ts, ssrc, len) {
  const p = Buffer.alloc(12 + len, 0xd5);
  p[0] = 0x80; p[1] = 0; p.writeUInt16BE(seq & 0xffff, 2); p.writeUInt32BE(ts >>> 0, 4); p.writeUInt32BE(ssrc >>> 0, 8);
  return p;
}

const C = [192, 168, 1, 20], S = [198, 51, 100, 7], W = [203, 0, 113, 80];
const T0 = 1_700_000_000_000_000; // µs

/** A small call-like capture: STUN binding, two-way RTP (20 ms), and a TCP/HTTPS-like flow. */
export function callPcap() {
  const recs = [HEADER];
  let t = T0;
  const tx = Buffer.from("0123456789ab");
  recs.push(record(t, udp(C, 50000, S, 3478, stunBinding(0x0001, tx))));
  t += 30_000;
  recs.push(record(t, udp(S, 3478, C, 50000, stunBinding(0x0101, tx), 120)));
  for (let i = 0; i < 150; i++) {
    t += 10_000;
    recs.push(record(t, udp(C, 50000, S, 3478, rtp(1000 + i, 160 * i, 0x11223344, 160), 64, i)));
    t += 10_000;
    recs.push(record(t, udp(S, 3478, C, 50000, rtp(5000 + i, 160 * i, 0x55667788, 160), 120, i)));
  }
  const isn = 1000, isn2 = 90000;
  recs.push(record((t += 1000), tcp(C, 40001, W, 443, isn, 0, 0x02)));
  recs.push(record((t += 20_000), tcp(W, 443, C, 40001, isn2, isn + 1, 0x12, undefined, 120)));
  recs.push(record((t += 100), tcp(C, 40001, W, 443, isn + 1, isn2 + 1, 0x10)));
  recs.push(record((t += 100), tcp(C, 40001, W, 443, isn + 1, isn2 + 1, 0x18, Buffer.alloc(200, 0x16))));
  recs.push(record((t += 20_000), tcp(W, 443, C, 40001, isn2 + 1, isn + 201, 0x18, Buffer.alloc(1200, 0x16), 120)));
  recs.push(record((t += 100), tcp(C, 40001, W, 443, isn + 201, isn2 + 1201, 0x11)));
  recs.push(record((t += 20_000), tcp(W, 443, C, 40001, isn2 + 1201, isn + 202, 0x11, undefined, 120)));
  recs.push(record((t += 100), tcp(C, 40001, W, 443, isn + 202, isn2 + 1202, 0x10)));
  return Buffer.concat(recs);
}

/**
 * Writes a pcap of about `size` bytes to `path`: a block of RTP-like packets over a few flows,
 * repeated with advancing timestamps and sequence numbers. Returns { bytes, packets }.
 */
export function writeBigPcap(path, size) {
  const fd = openSync(path, "w");
  let written = 0, packets = 0;
  try {
    writeSync(fd, HEADER);
    written += HEADER.length;
    const flows = [[C, 50000, S, 3478], [S, 3478, C, 50000], [C, 50002, W, 3480], [W, 3480, C, 50002]];
    const perBlock = 3000; // packets per ~3.6 MB block
    const frames = [];
    for (let i = 0; i < perBlock; i++) {
      const [a, ap, b, bp] = flows[i % flows.length];
      frames.push(udp(a, ap, b, bp, rtp(i, 160 * i, 0x1000 + (i % flows.length), 1160), 64, i));
    }
    const recLen = frames.reduce((n, f) => n + 16 + f.length, 0);
    const block = Buffer.alloc(recLen);
    const tsOffsets = [];
    let o = 0;
    for (const f of frames) {
      tsOffsets.push(o);
      block.writeUInt32LE(f.length, o + 8); block.writeUInt32LE(f.length, o + 12);
      f.copy(block, o + 16);
      o += 16 + f.length;
    }
    let t = T0, seq = 0;
    while (written + block.length <= size) {
      for (let i = 0; i < perBlock; i++) {
        t += 250; // 4000 packets/s
        const at = tsOffsets[i];
        block.writeUInt32LE(Math.floor(t / 1e6), at); block.writeUInt32LE(t % 1e6, at + 4);
        // RTP sequence at Ethernet 14 + IP 20 + UDP 8 + 2 inside the frame.
        block.writeUInt16BE(seq++ & 0xffff, at + 16 + 44);
      }
      writeSync(fd, block);
      written += block.length;
      packets += perBlock;
    }
  } finally {
    closeSync(fd);
  }
  return { bytes: written, packets };
}

/** `n` one-packet UDP flows, as `many_flows` of tests/complexity_gen.rs (distinct client
 *  addresses 10.x.y.z and ports, one every 100 µs, to 198.51.100.(1+i%200):53), written to
 *  `path` in 4 MB writes. Returns the file size. */
export function writeManyFlowsPcap(path, n) {
  const fd = openSync(path, "w");
  let size = 0;
  const out = [];
  let pending = 0;
  const flush = () => { const b = Buffer.concat(out); writeSync(fd, b); size += b.length; out.length = 0; pending = 0; };
  out.push(HEADER); pending += HEADER.length;
  const payload = Buffer.from("hostile-generator");
  const t0 = 1_700_000_000 * 1e6;
  for (let i = 0; i < n; i++) {
    const c = [10, (i >> 16) & 255, (i >> 8) & 255, i & 255];
    const s = [198, 51, 100, 1 + (i % 200)];
    const r = record(t0 + i * 100, udp(c, 1024 + (i % 50_000), s, 53, payload));
    out.push(r); pending += r.length;
    if (pending >= 4 << 20) flush();
  }
  flush();
  closeSync(fd);
  return size;
}

/** The generated call plus two frames the decoder refuses (IPv4 header length 1, IP version
 *  6 in an IPv4 ethertype): a capture whose `capture.decode_errors` is not empty. */
export function decodeErrorsPcap() {
  const bad = udp([10, 0, 0, 1], 40000, [10, 0, 0, 2], 3478, Buffer.from("x"));
  bad[14] = 0x41;
  const bad6 = udp([10, 0, 0, 1], 40000, [10, 0, 0, 2], 3478, Buffer.from("x"));
  bad6[14] = 0x65;
  return Buffer.concat([callPcap(), record(1_700_000_100 * 1e6, bad), record(1_700_000_101 * 1e6, bad6)]);
}
