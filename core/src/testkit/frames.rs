//! Tiny packet builders for the decoders' tests, and the truncation sweep.

use crate::decode::checksum;
use crate::decode::{decode, decode_frame};

pub(crate) fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// An IPv4 packet (IHL 5, DF, id 1, TTL 64) with valid header and TCP/UDP/ICMP checksums.
pub(crate) fn ipv4(proto: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut v = vec![0x45, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0]);
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(payload);
    fix_ipv4_checksum(&mut v);
    fix_l4_checksum(&mut v, 20, proto, checksum::addr_sum(&src, &dst), false);
    v
}

pub(crate) fn fix_ipv4_checksum(ip: &mut [u8]) {
    let hl = usize::from(ip[0] & 0x0f) * 4;
    ip[10..12].copy_from_slice(&[0, 0]);
    let c = !checksum::sum(&ip[..hl]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
}

pub(crate) fn fix_udp4_checksum(ip: &mut [u8], off: usize) {
    let addr = checksum::addr_sum(&ip[12..16], &ip[16..20]);
    fix_l4_checksum(ip, off, 17, addr, false);
}

/// Sets the TCP/UDP/ICMP(v6) checksum of the transport data at `ip[off..]`.
fn fix_l4_checksum(ip: &mut [u8], off: usize, proto: u8, addr: u16, v6: bool) {
    let at = match proto {
        6 if ip.len() >= off + 20 => 16,
        17 if ip.len() >= off + 8 => 6,
        1 if !v6 && ip.len() >= off + 4 => 2,
        58 if v6 && ip.len() >= off + 4 => 2,
        _ => return,
    };
    ip[off + at..off + at + 2].copy_from_slice(&[0, 0]);
    let data = &ip[off..];
    let pseudo = if proto == 1 {
        0
    } else {
        checksum::pseudo(addr, proto, data.len() as u32)
    };
    let mut c = !checksum::add(pseudo, checksum::sum(data));
    if proto == 17 && c == 0 {
        c = 0xffff;
    }
    ip[off + at..off + at + 2].copy_from_slice(&c.to_be_bytes());
}

/// 2001:db8::`host`.
pub(crate) fn v6addr(host: u8) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    a[15] = host;
    a
}

/// An IPv6 packet 2001:db8::src → 2001:db8::dst, hop limit 64, with a valid transport checksum.
pub(crate) fn ipv6(next: u8, src: u8, dst: u8, payload: &[u8]) -> Vec<u8> {
    ipv6_addrs(next, v6addr(src), v6addr(dst), payload)
}

/// An IPv6 packet whose payload is left as given (extension headers, quotes).
pub(crate) fn ipv6_raw(next: u8, src: u8, dst: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(&[next, 64]);
    v.extend_from_slice(&v6addr(src));
    v.extend_from_slice(&v6addr(dst));
    v.extend_from_slice(payload);
    v
}

pub(crate) fn ipv6_addrs(next: u8, src: [u8; 16], dst: [u8; 16], payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(&[next, 64]);
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(payload);
    fix_l4_checksum(&mut v, 40, next, checksum::addr_sum(&src, &dst), true);
    v
}

/// A TCP header (seq 1000, ack 2000 when ACK is set, window 65535, checksum left 0) with
/// `opts` (a multiple of 4 bytes) and `payload`.
pub(crate) fn tcp(sport: u16, dport: u16, flags: u8, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    assert_eq!(opts.len() % 4, 0);
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&1000u32.to_be_bytes());
    let ack: u32 = if flags & 0x10 != 0 { 2000 } else { 0 };
    v.extend_from_slice(&ack.to_be_bytes());
    v.push((((20 + opts.len()) / 4) as u8) << 4);
    v.push(flags);
    v.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    v.extend_from_slice(opts);
    v.extend_from_slice(payload);
    v
}

pub(crate) fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

/// A TCP segment from port 1000 with its checksum for 2001:db8::src → 2001:db8::dst.
pub(crate) fn tcp6(src: u8, dst: u8, dport: u16, flags: u8, opts: &[u8]) -> Vec<u8> {
    let mut seg = tcp(1000, dport, flags, opts, b"");
    fix_l4_checksum(
        &mut seg,
        0,
        6,
        checksum::addr_sum(&v6addr(src), &v6addr(dst)),
        true,
    );
    seg
}

/// A UDP datagram from port 1000 with its checksum for 2001:db8::src → 2001:db8::dst.
pub(crate) fn udp6(src: u8, dst: u8, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut d = udp(1000, dport, payload);
    fix_l4_checksum(
        &mut d,
        0,
        17,
        checksum::addr_sum(&v6addr(src), &v6addr(dst)),
        true,
    );
    d
}

/// Decodes every prefix of `frame` and checks the error: `layers` lists (offset, layer) in
/// increasing order; a prefix whose length is ≥ offset (of the last entry that fits) must fail
/// in that layer with "truncated", or decode without error when the layer is "".
pub(crate) fn sweep(linktype: u32, frame: &[u8], layers: &[(usize, &str)]) {
    for len in 0..=frame.len() {
        let want = layers
            .iter()
            .rev()
            .find(|(off, _)| *off <= len)
            .map(|l| l.1)
            .unwrap_or("");
        for d in [
            decode(linktype, &frame[..len]),
            decode_frame(linktype, &frame[..len], frame.len() as u32),
        ] {
            if want.is_empty() {
                assert_eq!(d.error, None, "prefix {len} of {}", frame.len());
            } else {
                let e = d
                    .error
                    .unwrap_or_else(|| panic!("prefix {len}: no error, want {want}"));
                assert_eq!(
                    (e.layer.as_str(), e.reason.as_str()),
                    (want, "truncated"),
                    "prefix {len} of {}",
                    frame.len()
                );
            }
        }
    }
    let d = decode(linktype, frame);
    assert_eq!(d.error, None, "whole frame");
}
