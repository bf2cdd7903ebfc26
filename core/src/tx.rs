//! Transactions: the protocol messages classification parsed in its single pass, kept per
//! flow (bounded) so that detectors read facts instead of re-parsing payload bytes.
//!
//! Recorded by `classify::record` with the parsers in [`crate::proto`]:
//! - UDP datagrams, as they arrive: DNS messages (flows with port 53 at either end), STUN
//!   messages (the lax [`crate::proto::stun::Header`] view) and QUIC long headers.
//! - TCP stream openings, at the end of the pass, from each direction's kept prefix (a
//!   ClientHello spans segments): the first TLS record (ClientHello with SNI, ServerHello,
//!   other handshake, alert) and the HTTP request or status line.
//!
//! **Current limit (issue 13 lifts it).** Detectors used to read these messages back from
//! the first `FlowConfig::payload_prefix` bytes (512 by default) of each direction; to keep
//! the report unchanged the recorder still only parses UDP datagrams that lie entirely inside
//! that prefix (QUIC: whose first byte does), and TCP openings from the prefix. Datagrams it
//! parsed are counted in [`Transactions::datagrams_in_prefix`].
//!
//! **Caps.** At most [`MAX_PER_KIND`] messages of each kind per flow; what the cap refused is
//! counted in [`Transactions::dropped`] (per flow), for the report's limits list to pick up.

use crate::flow::Dir;
use crate::Nanos;
use std::net::IpAddr;

/// Most messages of one kind kept per flow.
pub const MAX_PER_KIND: usize = 64;

/// Where and how a message arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At {
    pub frame: u64,
    pub ts: Nanos,
    pub dir: Dir,
    /// IP TTL / hop limit of the packet.
    pub ip_ttl: u8,
    /// IPv4 ID (u32::MAX when absent).
    pub ip_id: u32,
}

/// One DNS answer-section record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsRecord {
    pub rtype: u16,
    pub ttl: u32,
    /// A/AAAA address.
    pub addr: Option<IpAddr>,
}

/// One DNS message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsTx {
    pub at: At,
    pub id: u16,
    pub response: bool,
    pub opcode: u8,
    pub rcode: u8,
    pub qdcount: u16,
    pub qname: String,
    pub qtype: u16,
    /// Answer records in order (at most `proto::dns::MAX_ANSWERS`).
    pub answers: Vec<DnsRecord>,
    /// FNV-1a hash of the message bytes (recognises exact duplicates).
    pub digest: u64,
}

/// One STUN message (lax header view).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StunTx {
    pub at: At,
    pub typ: u16,
    pub method: u16,
    /// 0 request, 1 indication, 2 success, 3 error.
    pub class: u8,
    pub cookie: bool,
    /// The length field tiles the datagram.
    pub tiles: bool,
    /// Bytes 4..20 (cookie + 96-bit id, or the classic 128-bit id).
    pub txid: [u8; 16],
}

/// What the first TLS record of a TCP direction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsKind {
    ClientHello,
    ServerHello,
    /// Another handshake message type.
    Handshake(u8),
    Alert,
}

/// The TLS opening of one TCP direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsTx {
    pub at: At,
    pub kind: TlsKind,
    /// A ClientHello's server name, read as far as the prefix goes.
    pub sni: Option<String>,
}

/// One QUIC long-header datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuicTx {
    pub at: At,
    pub version: u32,
    /// The header parsed as an Initial (token and Length fields read).
    pub initial: bool,
    /// UDP payload length.
    pub len: u32,
}

/// The HTTP opening of one TCP direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpTx {
    pub at: At,
    /// Request method, for a request line.
    pub method: Option<&'static str>,
    /// Status code, for a status line.
    pub status: Option<u16>,
    /// Start line, `Host`, `Location`, title and body start, as far as the prefix goes
    /// ([`crate::proto::http::head`]).
    pub head: crate::proto::http::Head,
}

pub use crate::slim::Slim;

/// A flow's transactions, in arrival order per kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transactions {
    pub dns: Slim<DnsTx>,
    pub stun: Slim<StunTx>,
    pub tls: Slim<TlsTx>,
    pub quic: Slim<QuicTx>,
    pub http: Slim<HttpTx>,
    /// Messages left out by [`MAX_PER_KIND`].
    pub dropped: u32,
    /// UDP datagrams per direction (C2s, S2c) inside the payload-prefix limit.
    pub datagrams_in_prefix: [u32; 2],
}

impl Transactions {
    /// Pushes `x` unless the kind is full (then counts it in `dropped`).
    pub fn push<T>(v: &mut Slim<T>, dropped: &mut u32, x: T) {
        if v.len() < MAX_PER_KIND {
            v.push(x);
        } else {
            *dropped = dropped.saturating_add(1);
        }
    }
    /// The TLS opening of `dir`.
    pub fn tls_opening(&self, dir: Dir) -> Option<&TlsTx> {
        self.tls.iter().find(|t| t.at.dir == dir)
    }
    /// The HTTP opening of `dir`.
    pub fn http_opening(&self, dir: Dir) -> Option<&HttpTx> {
        self.http.iter().find(|t| t.at.dir == dir)
    }
}
