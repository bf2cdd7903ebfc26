//! Flow keys: a compact, direction-free identity for a flow, plus Zeek's role-guessing rules.
//!
//! A key holds both endpoints in a canonical order (the smaller `(address, port)` first), so
//! both directions of a flow hash to the same key. Addresses are stored as the 16 bytes of an
//! IPv6 address (IPv4 as IPv4-mapped IPv6) with a family flag, so the key is a small
//! fixed-size value built, compared and hashed in registers: hashing it is the only
//! per-packet lookup cost. Bytes, not a `u128`: a `u128` is 16-byte aligned, which made an
//! endpoint 32 bytes and a key 80 (the flow map held 96 bytes an entry, 200 MB for a million
//! flows); as bytes an endpoint is 20 and a key 44, and they order the same (big-endian).
//!
//! ICMP has no ports: like Zeek, the "ports" of an ICMP flow are the message type (sender
//! side) and, for request/reply types, the matching type on the other side — so an echo
//! request and its reply share one flow — or the code for other messages.

use std::net::{IpAddr, SocketAddr};

/// One endpoint of a key: the address as the IPv6 address's bytes (IPv4 mapped), a family
/// flag, a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub addr: [u8; 16],
    pub v6: bool,
    pub port: u16,
}

impl Endpoint {
    pub fn new(ip: IpAddr, port: u16) -> Endpoint {
        match ip {
            IpAddr::V4(a) => Endpoint {
                addr: a.to_ipv6_mapped().octets(),
                v6: false,
                port,
            },
            IpAddr::V6(a) => Endpoint {
                addr: a.octets(),
                v6: true,
                port,
            },
        }
    }
    /// The endpoint as a socket address (IPv4 back from its mapped form).
    pub fn socket(&self) -> SocketAddr {
        let v6 = std::net::Ipv6Addr::from(self.addr);
        let ip = match (self.v6, v6.to_ipv4_mapped()) {
            (false, Some(v4)) => IpAddr::V4(v4),
            _ => IpAddr::V6(v6),
        };
        SocketAddr::new(ip, self.port)
    }
}

/// The direction-free identity of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowKey {
    /// The smaller endpoint.
    pub lo: Endpoint,
    /// The larger endpoint.
    pub hi: Endpoint,
    /// IP protocol number (ICMPv6 = 58).
    pub proto: u8,
    pub vlan: u16,
    /// Tunnel kind the packet came through ([`tunnel_code`]), 0 for none.
    pub tunnel: u8,
}

impl FlowKey {
    /// The key of a packet from `src` to `dst`, and whether `src` is the key's `lo` endpoint.
    pub fn new(proto: u8, src: Endpoint, dst: Endpoint, vlan: u16, tunnel: u8) -> (FlowKey, bool) {
        if src <= dst {
            (
                FlowKey {
                    lo: src,
                    hi: dst,
                    proto,
                    vlan,
                    tunnel,
                },
                true,
            )
        } else {
            (
                FlowKey {
                    lo: dst,
                    hi: src,
                    proto,
                    vlan,
                    tunnel,
                },
                false,
            )
        }
    }
}

/// The address as two 64-bit words (for hashing).
fn halves(a: &[u8; 16]) -> [u64; 2] {
    let (hi, lo) = a.split_at(8);
    let word = |b: &[u8]| b.try_into().map_or(0, u64::from_be_bytes);
    [word(hi), word(lo)]
}

impl std::hash::Hash for FlowKey {
    /// Hashes the key as five 64-bit words (the table's hasher mixes a word per call).
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let [lo0, lo1] = halves(&self.lo.addr);
        let [hi0, hi1] = halves(&self.hi.addr);
        state.write_u64(lo0);
        state.write_u64(lo1);
        state.write_u64(hi0);
        state.write_u64(hi1);
        state.write_u64(
            u64::from(self.lo.port)
                | u64::from(self.hi.port) << 16
                | u64::from(self.vlan) << 32
                | u64::from(self.proto) << 48
                | u64::from(self.tunnel & 0x3f) << 56
                | u64::from(self.lo.v6) << 62
                | u64::from(self.hi.v6) << 63,
        );
    }
}

/// Builds [`KeyHasher`]s: a folded-multiply hash (the construction of foldhash/ahash's
/// fallback) seeded from the standard library's random state, so the flow map's bucket order
/// cannot be predicted by whoever crafted the capture (hash flooding) while costing a few
/// cycles per word instead of SipHash's rounds. Iteration order never reaches the output.
#[derive(Clone, Debug)]
pub struct KeyHashBuilder {
    seed: u64,
    key: u64,
}

impl Default for KeyHashBuilder {
    fn default() -> Self {
        use std::hash::BuildHasher;
        let rs = std::collections::hash_map::RandomState::new();
        KeyHashBuilder {
            seed: rs.hash_one(0x5eed_u64),
            key: rs.hash_one(0x006b_6579_u64) | 1,
        }
    }
}

impl std::hash::BuildHasher for KeyHashBuilder {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher {
            acc: self.seed,
            key: self.key,
        }
    }
}

/// See [`KeyHashBuilder`].
#[derive(Clone, Debug)]
pub struct KeyHasher {
    acc: u64,
    key: u64,
}

const MIX: u64 = 0x243f_6a88_85a3_08d3;

fn folded_multiply(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            if let Some(dst) = w.get_mut(..chunk.len()) {
                dst.copy_from_slice(chunk);
            }
            self.write_u64(u64::from_le_bytes(w) ^ chunk.len() as u64);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.acc = folded_multiply(self.acc ^ x, self.key ^ MIX).rotate_left(23);
    }
    fn finish(&self) -> u64 {
        folded_multiply(self.acc, self.key)
    }
}

/// A small stable code per tunnel kind (part of the key: the same inner 5-tuple seen
/// through different encapsulations is a different flow).
pub fn tunnel_code(t: Option<&'static str>) -> u8 {
    match t {
        None => 0,
        Some("gre") => 1,
        Some("gtp_u") => 2,
        Some("vxlan") => 3,
        Some("ipip") => 4,
        Some("teredo") => 5,
        Some(_) => 255,
    }
}

/// For ICMP request/reply types, the type of the other half and whether `kind` is the reply.
/// Sources: RFC 792 (echo 8/0, timestamp 13/14, information 15/16), RFC 950 (address mask
/// 17/18), RFC 1256 (router solicitation 10 / advertisement 9), RFC 4443 (echo 128/129),
/// RFC 4861 (router 133/134, neighbour 135/136), RFC 2710 (MLD query 130 / report 131),
/// RFC 4620 (node information 139/140).
pub fn icmp_counterpart(v6: bool, kind: u8) -> Option<(u8, bool)> {
    let pairs: &[(u8, u8)] = if v6 {
        &[(128, 129), (133, 134), (135, 136), (130, 131), (139, 140)]
    } else {
        &[(8, 0), (13, 14), (15, 16), (17, 18), (10, 9)]
    };
    for &(req, rep) in pairs {
        if kind == req {
            return Some((rep, false));
        }
        if kind == rep {
            return Some((req, true));
        }
    }
    None
}

/// Zeek's `likely_server_ports` idea: a port a server probably listens on. We take every port
/// below 1024 plus the registered high ports of common services (and the VoIP ones this tool
/// cares about). Used only to orient flows first seen mid-stream. Known false positives: a
/// client that happens to use one of these ports as its source port.
pub fn likely_server_port(port: u16) -> bool {
    port != 0 && (port < 1024 || SERVER_PORTS_HIGH.binary_search(&port).is_ok())
}

/// Registered high ports of common services, sorted (binary search).
const SERVER_PORTS_HIGH: &[u16] = &[
    1080, 1194, 1433, 1521, 1701, 1723, 1812, 1813, 1883, 1900, 2049, 2123, 2152, 2181, 2375, 2376,
    2811, 3128, 3268, 3269, 3306, 3389, 3478, 3479, 3544, 4443, 4500, 4789, 5004, 5005, 5060, 5061,
    5222, 5223, 5228, 5269, 5349, 5353, 5355, 5432, 5671, 5672, 5900, 6081, 6379, 6443, 6660, 6661,
    6662, 6663, 6664, 6665, 6666, 6667, 6668, 6669, 8000, 8008, 8080, 8081, 8088, 8443, 8801, 8802,
    8883, 8888, 9000, 9092, 9200, 9418, 19302, 27017,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_compact_and_order_endpoints_by_address_then_port() {
        // The flow map holds one key per flow: a million flows, 44 bytes each.
        assert!(std::mem::size_of::<FlowKey>() <= 44);
        assert!(std::mem::size_of::<Endpoint>() <= 20);
        let e = |s: &str| {
            let a: SocketAddr = s.parse().unwrap_or_else(|_| ([0, 0, 0, 0], 0).into());
            Endpoint::new(a.ip(), a.port())
        };
        let sorted = [
            "9.255.255.255:65535",
            "10.0.0.1:53",
            "10.0.0.1:1024",
            "10.0.1.0:1",
            "[::ffff:10.0.1.1]:7",
            "[2001:db8::1]:5",
            "[2001:db8::1:0]:1",
        ];
        for w in sorted.windows(2) {
            assert!(e(w[0]) < e(w[1]), "{} < {}", w[0], w[1]);
        }
        for s in sorted {
            assert_eq!(e(s).socket().to_string(), s);
        }
    }

    #[test]
    fn key_is_direction_free() {
        let a = Endpoint::new("10.0.0.1".parse().unwrap(), 5000);
        let b = Endpoint::new("10.0.0.2".parse().unwrap(), 80);
        let (k1, lo1) = FlowKey::new(6, a, b, 0, 0);
        let (k2, lo2) = FlowKey::new(6, b, a, 0, 0);
        assert_eq!(k1, k2);
        assert_ne!(lo1, lo2);
        let (k3, _) = FlowKey::new(6, a, b, 7, 0);
        assert_ne!(k1, k3, "the VLAN is part of the key");
        let (k4, _) = FlowKey::new(17, a, b, 0, 0);
        assert_ne!(k1, k4, "the protocol is part of the key");
    }

    #[test]
    fn endpoint_round_trips_both_families() {
        for s in ["192.0.2.1:53", "[2001:db8::1]:443", "[::ffff:192.0.2.1]:9"] {
            let sa: SocketAddr = s.parse().unwrap();
            assert_eq!(Endpoint::new(sa.ip(), sa.port()).socket(), sa, "{s}");
        }
        let v4 = Endpoint::new("192.0.2.1".parse().unwrap(), 1);
        let mapped = Endpoint::new("::ffff:192.0.2.1".parse().unwrap(), 1);
        assert_ne!(
            v4, mapped,
            "an IPv4-mapped IPv6 address is not the IPv4 address"
        );
    }

    #[test]
    fn hasher_separates_close_keys() {
        use std::collections::HashSet;
        use std::hash::BuildHasher;
        let b = KeyHashBuilder::default();
        let mut seen = HashSet::new();
        for port in 0..2000u16 {
            let a = Endpoint::new("10.0.0.1".parse().unwrap(), port);
            let s = Endpoint::new("10.0.0.2".parse().unwrap(), 443);
            let (k, _) = FlowKey::new(6, a, s, 0, 0);
            seen.insert(b.hash_one(k));
        }
        assert_eq!(
            seen.len(),
            2000,
            "no collisions among 2000 neighbouring keys"
        );
        let (k1, _) = FlowKey::new(
            6,
            Endpoint::new("10.0.0.1".parse().unwrap(), 1),
            Endpoint::new("10.0.0.2".parse().unwrap(), 2),
            0,
            0,
        );
        assert_eq!(
            b.hash_one(k1),
            b.clone().hash_one(k1),
            "one builder hashes consistently"
        );
    }

    #[test]
    fn icmp_pairs() {
        assert_eq!(icmp_counterpart(false, 8), Some((0, false)));
        assert_eq!(icmp_counterpart(false, 0), Some((8, true)));
        assert_eq!(icmp_counterpart(true, 129), Some((128, true)));
        assert_eq!(icmp_counterpart(false, 3), None);
        assert_eq!(icmp_counterpart(true, 1), None);
    }

    #[test]
    fn server_ports() {
        for p in [80, 443, 22, 53, 3478, 5060, 8080, 3544, 27017] {
            assert!(likely_server_port(p), "{p}");
        }
        for p in [0, 1024, 49152, 50000, 65535, 3797] {
            assert!(!likely_server_port(p), "{p}");
        }
        assert!(
            SERVER_PORTS_HIGH.windows(2).all(|w| w[0] < w[1]),
            "the table must stay sorted"
        );
    }
}
