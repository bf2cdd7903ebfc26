//! Packet decoding: link layer → IP → transport, through tunnels.
//!
//! [`decode`] is lax and zero-copy: it returns every layer it could read plus, when it
//! stopped early, a [`DecodeError`] naming the layer, offset and reason. Payload slices
//! borrow from the caller's buffer. For tunnels (GRE, GTP-U, VXLAN, IP-in-IP, Teredo)
//! the innermost IP packet is the one reported: the inner flow is the flow.

use std::net::IpAddr;

/// TCP flag bits as on the wire (low byte of the flags field).
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// The network-layer facts of the (innermost) IP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification (None for IPv6 unless a fragment header carries one).
    pub ip_id: Option<u32>,
    /// IPv4 don't-fragment bit (false for IPv6).
    pub df: bool,
    /// Total IP packet length claimed by the header (IPv4 total length, IPv6 40 + payload length).
    pub ip_len: u32,
    /// Transport protocol number after extension headers.
    pub proto: u8,
    /// Set when this packet is a fragment.
    pub frag: Option<Frag>,
}

/// IP fragment facts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frag {
    pub id: u32,
    /// Offset in bytes.
    pub offset: u32,
    pub more: bool,
}

/// Transport layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4<'a> {
    Tcp(Tcp<'a>),
    Udp(Udp<'a>),
    Icmp(Icmp),
    /// A non-first IP fragment: no transport header here.
    Fragment,
    /// A transport we do not decode (protocol number in `Net::proto`).
    Other,
    /// Nothing beyond the network layer could be read (see `Decoded::error`).
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tcp<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    /// See [`tcp_flags`].
    pub flags: u8,
    pub window: u16,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_permitted: bool,
    /// TCP timestamp option (TSval, TSecr).
    pub timestamps: Option<(u32, u32)>,
    /// Segment payload length on the wire, from the IP length (may exceed `payload.len()` when truncated).
    pub seg_len: u32,
    /// Captured payload bytes.
    pub payload: &'a [u8],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Udp<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    /// Payload length on the wire, from the UDP length field (or IP length when that lies).
    pub len: u32,
    /// Captured payload bytes.
    pub payload: &'a [u8],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmp {
    /// ICMPv6 when true.
    pub v6: bool,
    pub kind: u8,
    pub code: u8,
    /// For error messages: the flow quoted in the error (original src → dst).
    pub quoted: Option<Quoted>,
}

/// The header quoted inside an ICMP error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quoted {
    pub proto: u8,
    pub src: std::net::SocketAddr,
    pub dst: std::net::SocketAddr,
}

/// Where and why decoding stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Layer name, stable snake_case: "ethernet", "vlan", "sll", "ipv4", "ipv6", "tcp", "udp", "gre", …
    pub layer: &'static str,
    /// Byte offset in the frame where the layer starts.
    pub offset: usize,
    /// Stable snake_case reason: "truncated", "bad_version", "bad_header_length", "unsupported_linktype", …
    pub reason: &'static str,
}

/// A set of named oddities seen while decoding (bounded, no allocation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Anomalies {
    names: [Option<&'static str>; 4],
}

impl Anomalies {
    /// Records an anomaly by stable snake_case name (at most 4 per packet are kept).
    pub fn add(&mut self, name: &'static str) {
        for slot in self.names.iter_mut() {
            match slot {
                Some(n) if *n == name => return,
                None => {
                    *slot = Some(name);
                    return;
                }
                _ => {}
            }
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.names.iter().flatten().copied()
    }
    pub fn is_empty(&self) -> bool {
        self.names[0].is_none()
    }
}

/// Everything decoded from one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub net: Option<Net>,
    pub l4: L4<'a>,
    /// Outer VLAN ID (0 when untagged); part of the flow key.
    pub vlan: u16,
    /// Tunnel encapsulation the inner packet came through, if any: "gre", "gtp_u", "vxlan", "ipip", "teredo".
    pub tunnel: Option<&'static str>,
    pub anomalies: Anomalies,
    pub error: Option<DecodeError>,
}

/// Decodes one frame of the given LINKTYPE.
pub fn decode(linktype: u32, data: &[u8]) -> Decoded<'_> {
    let _ = (linktype, data);
    Decoded { net: None, l4: L4::None, vlan: 0, tunnel: None, anomalies: Anomalies::default(), error: None }
}
