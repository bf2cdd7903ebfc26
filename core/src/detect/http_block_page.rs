//! `http_block_page`: an HTTP response or TLS alert that the server did not send — a block
//! page, a redirect or an alert injected by a box on the path (issue 10, item 6).
//!
//! # Heuristic
//! Per TCP connection whose client sent an HTTP request or a TLS ClientHello, the first
//! server data segment after it (*the response*) is compared with the server's own packets:
//! its SYN-ACK (TTL), and the server's other packets — those that do not share the
//! response's source (same hop count and, on IPv4, the response's IP ID counter: the chain
//! of packets whose IDs step by 1..=64 from the response's, however long the download).
//! Tests, each named in `evidence.tests`:
//!
//! | test | family | fires when |
//! | --- | --- | --- |
//! | `SECOND_RESPONSE` | race | another server segment covering the same sequence numbers arrives later with another fingerprint (TTL, or an IP ID off the response's counter and > [`IP_ID_GAP`] away): two answers to one request, only one can be the server's |
//! | `REQUEST_EXPIRED` | race | the request was sent TTL-limited and a router answered it with ICMP time exceeded before the response came ([`super::blocking_hop::FlowProbe::expired_before`]): the server never saw the request, so whatever answered it sits on the path before that router |
//! | `DATA_AFTER_FIN` | race | the response's source closed the connection (FIN) and the server's own packets carry on after it |
//! | `TTL_MISMATCH` | ttl | the response's TTL implies another initial TTL, or ≥ `ttl_hop_delta` hops from the SYN-ACK's |
//! | `IP_ID_BREAK` | ip_id | the server's other packets carry a sequential IP ID (≥ 2 IDs, steps 1..=64) that the response's ID is > 1024 away from |
//! | `RESPONSE_WINDOW` | window | the response's window is 0, or outside half to twice the range of the server's other windows |
//! | `REDIRECT_BARE_IP` | content | a 3xx whose `Location` host is an IP literal while the request named a host |
//! | `STATUS_451` | content | status 451, Unavailable For Legal Reasons (RFC 7725) |
//! | `BLOCK_WORDS` | content | the title or start of the page names a block or a law ([`BLOCK_WORDS`]) |
//! | `TLS_ALERT` | content | the server's first TLS record is an alert, not a ServerHello |
//!
//! The race tests are conclusive (the real server answered too; `DATA_AFTER_FIN` needs data
//! after the FIN: a closed server's ACKs may come from another IP ID counter). `TTL_MISMATCH`
//! counts only when some of the server's own packets share the SYN-ACK's TTL (else a SYN
//! proxy answered the handshake and the SYN-ACK is the odd one). Otherwise two families are
//! needed for `blocked`; a page that *looks* like a block page but came with the server's
//! fingerprint (content alone) is reported with severity `info` and says why it is not
//! more: servers send their own 403s, 451s, alerts and redirects. A lone network
//! fingerprint without such a page is not reported (proxies, busy IP ID counters).
//!
//! A response the capture host sent itself ([`super::vantage::Vantage::sent_by_host`]: a
//! server-side capture) is never judged: it left this machine untouched. On the server's
//! side the injected answer is never seen, but its trace is: `ACK_UNSENT_DATA` — after its
//! request the client acknowledges data the server (the capture host, all of whose packets
//! are in the capture) never sent. Conclusive; `response_*` then describe that ACK.
//!
//! # Sources
//! Injected HTTP responses and block pages: Clayton, Murdoch & Watson (PET 2006, the GFW's
//! resets after a response); OONI's `web_connectivity` (block-page fingerprints, "http-diff");
//! Nabi, "The Anatomy of Web Censorship in Pakistan" (FOCI 2013: 302 to a bare address);
//! Aryan et al., "Internet Censorship in Iran" (FOCI 2013: a 403 iframe to 10.10.34.34);
//! RFC 7725 (451). IP ID and window fingerprints as in `rst_injection` (Weaver et al. 2009).
//!
//! # Known false positives
//! A transparent proxy or load balancer answering for the server from another box (another
//! TTL and IP ID counter): it *is* another box, and the finding says so; captive portals
//! (hotel and airport Wi-Fi redirect every request to a bare address — that is blocking by
//! the local network, not the operator); a CDN node answering on behalf of an origin whose
//! SYN-ACK came from a SYN proxy (rare).

use super::blocking::{has, hops, is_dup, is_rst, seq_lt, ttl_mismatch, BlockingConfig, SEC};
use super::blocking_hop::FlowProbe;
use super::{Detector, Input};
use crate::decode::tcp_flags::{ACK, FIN, SYN};
use crate::flow::{Dir, PacketMeta, Transport};
use crate::label::LabeledFlow;
use crate::model::{FindingKind, Severity};
use crate::proto::http::{lowercase, url_host};
use crate::report::evidence::HttpBlockPageEvidence;
use crate::report::Finding;
use crate::secs;
use crate::tx::TlsKind;
use std::net::IpAddr;

/// The detector (emits `http_block_page`).
pub struct HttpBlockPage;

/// An IP ID further than this from the response's belongs to another sender (as
/// `rst_injection`'s `IP_ID_BREAK`).
pub const IP_ID_GAP: u16 = 1024;
/// Most IP ID steps between a sender's consecutive packets for one counter.
const IP_ID_STEP: u16 = 64;

/// Words and phrases that name a block or a law on the pages censors inject (lower case;
/// matched on whole words in the title and the first [`crate::proto::http::MAX_BODY`]
/// characters). Generic server wording ("forbidden", "not found") is not in the list.
pub const BLOCK_WORDS: &[&str] = &[
    "blocked",
    "access denied",
    "law",
    "laws",
    "court order",
    "prohibited",
    "filtered",
    "censored",
    "ministry",
    "regulator",
    "unavailable for legal reasons",
    "bloqué",
    "interdit",
    "مسدود",
    "محجوب",
    "заблокирован",
    "запрещен",
    "engellenmiştir",
    "diblokir",
];

/// Race tests: the real server answered as well. One is conclusive.
const CONCLUSIVE: &[&str] = &["SECOND_RESPONSE", "DATA_AFTER_FIN", "REQUEST_EXPIRED"];

/// Tests by family (two families are independent evidence).
const FAMILIES: &[(&str, &[&str])] = &[
    (
        "content",
        &["REDIRECT_BARE_IP", "STATUS_451", "BLOCK_WORDS", "TLS_ALERT"],
    ),
    ("ip_id", &["IP_ID_BREAK"]),
    ("ttl", &["TTL_MISMATCH"]),
    ("window", &["RESPONSE_WINDOW"]),
];

impl Detector for HttpBlockPage {
    fn name(&self) -> &'static str {
        "http_block_page"
    }
    fn detect(&self, input: &Input<'_>, out: &mut Vec<Finding>) {
        let vantage = input.facts().vantage();
        let judged = input.facts().block_pages();
        for (i, f) in input.flows.iter().enumerate() {
            if f.transport != Transport::Tcp {
                continue;
            }
            if let Some(x) = server_side(f, vantage) {
                out.push(x);
                continue;
            }
            let Some(j) = judged.get(i).and_then(|j| j.as_ref()) else {
                continue;
            };
            if vantage.sent_by_host(f.server.ip(), j.response.ttl) {
                continue; // the capture host's own answer: never forged
            }
            out.push(j.finding(f));
        }
    }
}

/// Server side (the capture host sent the SYN-ACK, so every packet the server sent is in the
/// capture): after its request the client acknowledges data the server never sent
/// (`ACK_UNSENT_DATA`) — it got an answer from someone else. Conclusive; the injected answer
/// itself never reaches the server, so the evidence quotes the client's ACK as the response.
fn server_side(f: &LabeledFlow, vantage: &super::vantage::Vantage) -> Option<Finding> {
    let tx = &f.class.tx;
    let http_req = tx.http_opening(Dir::C2s).filter(|h| h.method.is_some());
    let hello = tx
        .tls_opening(Dir::C2s)
        .filter(|t| t.kind == TlsKind::ClientHello);
    if http_req.is_none() && hello.is_none() {
        return None;
    }
    let pk: Vec<&PacketMeta> = f.packets.iter().filter(|p| !is_dup(p)).collect();
    let synack = *pk.iter().find(|p| p.dir == Dir::S2c && has(p, SYN | ACK))?;
    if !vantage.sent_by_host(f.server.ip(), synack.ttl) {
        return None;
    }
    let request = *pk
        .iter()
        .find(|p| p.dir == Dir::C2s && p.payload_len > 0 && !has(p, SYN))?;
    let mut snd_max = synack.seq.wrapping_add(1);
    let mut unsent = None;
    for p in pk.iter().filter(|p| p.ts >= synack.ts) {
        if p.dir == Dir::S2c && !is_rst(p) {
            let mut end = p.seq.wrapping_add(p.payload_len);
            if has(p, FIN) || has(p, SYN) {
                end = end.wrapping_add(1);
            }
            if seq_lt(snd_max, end) {
                snd_max = end;
            }
        } else if p.dir == Dir::C2s
            && p.ts >= request.ts
            && has(p, ACK)
            && !is_rst(p)
            && seq_lt(snd_max, p.ack)
        {
            unsent = Some((*p, p.ack.wrapping_sub(snd_max)));
            break;
        }
    }
    let (ack, bytes) = unsent?;
    let host = http_req
        .and_then(|r| r.head.host.clone())
        .or_else(|| f.class.sni.clone());
    let dest = match &host {
        Some(h) => format!("{} ({h})", f.server),
        None => f.server.to_string(),
    };
    Some(Finding {
        filter: None,
        kind: FindingKind::HttpBlockPage,
        flow: Some(f.id),
        ts: secs(ack.ts),
        severity: Severity::Blocked,
        confidence: 0.9,
        summary: format!(
            "Request to {dest} was answered by someone else (conclusive, seen from the server): the client acknowledged {bytes} byte{} this server never sent (frame {}), so an answer injected on the path reached it first (tests: ACK_UNSENT_DATA).",
            if bytes == 1 { "" } else { "s" },
            ack.frame
        ),
        evidence: HttpBlockPageEvidence {
            basis: "conclusive",
            fingerprint_families: Vec::new(),
            location: None,
            request_frame: request.frame,
            request_expired_frame: None,
            request_host: host,
            request_target: http_req.and_then(|r| r.head.target.clone()),
            response_frame: ack.frame,
            response_ip_id: (ack.ip_id != u32::MAX).then_some(ack.ip_id),
            response_ttl: ack.ttl,
            response_window: ack.window,
            second_response_frame: None,
            server_ip_id_near: None,
            server_ttl: Some(synack.ttl),
            server_window: None,
            sni: f.class.sni.clone(),
            status: None,
            status_line: None,
            tests: vec!["ACK_UNSENT_DATA"],
            title: None,
            tls_alert: false,
            ttl_reason: None,
        }
        .into(),
        packets: vec![request.frame, ack.frame],
    })
}

/// One judged response (the [`super::facts::Facts::block_pages`] fact).
pub struct Judged<'a> {
    /// The first answer to the request: the one judged.
    pub response: &'a PacketMeta,
    request: &'a PacketMeta,
    tests: Vec<&'static str>,
    families: Vec<&'static str>,
    /// "conclusive", "two_fingerprints" or "one_fingerprint".
    pub basis: &'static str,
    second: Option<&'a PacketMeta>,
    server_ttl: Option<u8>,
    ttl_reason: Option<&'static str>,
    near: Option<&'a PacketMeta>,
    server_window: Option<u16>,
    words: Vec<&'static str>,
    alert: bool,
    /// `REQUEST_EXPIRED`: the request's time exceeded (ICMP frame, router).
    expired: Option<(u64, IpAddr)>,
}

fn id16(v: u32) -> Option<u16> {
    (v != u32::MAX).then(|| u16::try_from(v & 0xffff).unwrap_or(0))
}

fn id_dist(a: u16, b: u16) -> u16 {
    a.wrapping_sub(b).min(b.wrapping_sub(a))
}

fn seq_end(p: &PacketMeta) -> u32 {
    p.seq.wrapping_add(p.payload_len)
}

/// Frames of the server-side packets on the IP ID counter of the packet at `ri`: walking
/// forward (and backward) in time from it, each packet whose ID is 1..=[`IP_ID_STEP`] past
/// (before) the chain's last (first) ID joins it. A real server's counter runs through all
/// its packets, however many; an injector's is another chain. Linear in the packets.
fn id_chain(pk: &[&PacketMeta], ri: usize) -> std::collections::BTreeSet<u64> {
    let mut out = std::collections::BTreeSet::new();
    let Some(start) = pk.get(ri).and_then(|r| id16(r.ip_id).filter(|v| *v != 0)) else {
        return out;
    };
    let ids = |p: &&&PacketMeta| {
        (p.dir == Dir::S2c)
            .then(|| id16(p.ip_id).filter(|v| *v != 0))
            .flatten()
    };
    let mut last = start;
    for p in pk.iter().skip(ri) {
        if let Some(v) = ids(&p) {
            if v == start || (1..=IP_ID_STEP).contains(&v.wrapping_sub(last)) {
                last = v;
                out.insert(p.frame);
            }
        }
    }
    let mut first = start;
    for p in pk.iter().take(ri).rev() {
        if let Some(v) = ids(&p) {
            if (1..=IP_ID_STEP).contains(&first.wrapping_sub(v)) {
                first = v;
                out.insert(p.frame);
            }
        }
    }
    out
}

/// Whole-word (or whole-phrase) occurrences of [`BLOCK_WORDS`] in `text` (lower case).
pub fn block_words(text: &str) -> Vec<&'static str> {
    block_words_lower(&crate::proto::http::lowercase(text))
}

/// [`block_words`] of text already lower-cased (as [`crate::proto::http::Head`]'s body is).
fn block_words_lower(t: &str) -> Vec<&'static str> {
    // No non-ASCII word can occur in ASCII text.
    let ascii = t.is_ascii();
    let mut hit = [false; BLOCK_WORDS.len()];
    // One pass over the bytes instead of one substring search per word: only where a word's
    // first byte occurs (never a UTF-8 continuation byte, so at a character boundary) and the
    // character before is not alphanumeric are the words starting there tried. Every
    // occurrence a word-by-word search accepts is at such a place.
    // For each byte, the words (bit k: BLOCK_WORDS[k]) starting with it.
    let mut firsts = [0u32; 256];
    for (k, w) in BLOCK_WORDS.iter().enumerate() {
        if let Some(f) = w
            .as_bytes()
            .first()
            .and_then(|b| firsts.get_mut(usize::from(*b)))
        {
            *f |= 1 << k;
        }
    }
    for (i, b) in t.bytes().enumerate() {
        let starting = firsts.get(usize::from(b)).copied().unwrap_or(0);
        if starting == 0 {
            continue;
        }
        let before = t.get(..i).and_then(|s| s.chars().next_back());
        if before.is_some_and(char::is_alphanumeric) {
            continue;
        }
        let rest = t.get(i..).unwrap_or("");
        for (k, (h, w)) in hit.iter_mut().zip(BLOCK_WORDS).enumerate() {
            if *h || starting & (1 << k) == 0 || (ascii && !w.is_ascii()) {
                continue;
            }
            if let Some(after) = rest.strip_prefix(w) {
                *h = !after.chars().next().is_some_and(char::is_alphanumeric);
            }
        }
    }
    BLOCK_WORDS
        .iter()
        .zip(hit)
        .filter_map(|(w, h)| h.then_some(*w))
        .collect()
}

/// Judges the first answer to the flow's request (`probe`: the flow's
/// [`super::blocking_hop::FlowProbe`], for `REQUEST_EXPIRED`).
pub fn judge<'a>(
    f: &'a LabeledFlow,
    cfg: &BlockingConfig,
    probe: Option<&FlowProbe>,
) -> Option<Judged<'a>> {
    let tx = &f.class.tx;
    let http_req = tx.http_opening(Dir::C2s).filter(|h| h.method.is_some());
    let hello = tx
        .tls_opening(Dir::C2s)
        .filter(|t| t.kind == TlsKind::ClientHello);
    if http_req.is_none() && hello.is_none() {
        return None;
    }
    let pk: Vec<&PacketMeta> = f.packets.iter().filter(|p| !is_dup(p)).collect();
    let synack = pk.iter().find(|p| p.dir == Dir::S2c && has(p, SYN | ACK));
    let request = *pk
        .iter()
        .find(|p| p.dir == Dir::C2s && p.payload_len > 0 && !has(p, SYN))?;
    let ri = pk.iter().position(|p| {
        p.dir == Dir::S2c && p.payload_len > 0 && !has(p, SYN) && p.ts >= request.ts
    })?;
    let response = *pk.get(ri)?;
    let r_id = id16(response.ip_id).filter(|v| *v != 0);
    let chain = id_chain(&pk, ri);
    // Packets from the response's source: its hop count and, on IPv4, its IP ID counter
    // (the chain of steps 1..=64 through the response's ID; ID 0 matches any source).
    let same_source = |q: &PacketMeta| {
        hops(q.ttl) == hops(response.ttl)
            && match (r_id, id16(q.ip_id)) {
                (Some(_), Some(b)) if b != 0 => chain.contains(&q.frame),
                _ => true,
            }
    };
    let own: Vec<&PacketMeta> = pk
        .iter()
        .copied()
        .filter(|q| q.dir == Dir::S2c && !is_rst(q) && !has(q, SYN) && q.frame != response.frame)
        .filter(|q| !same_source(q))
        .collect();
    let server_ttl = synack.map(|s| s.ttl);
    let mut tests: Vec<&'static str> = Vec::new();
    let add = |t: &'static str, tests: &mut Vec<&'static str>| {
        if !tests.contains(&t) {
            tests.push(t);
        }
    };

    // Race: a second answer covering the same bytes, from another fingerprint.
    let r_end = seq_end(response);
    let second = pk.iter().skip(ri + 1).copied().find(|q| {
        q.dir == Dir::S2c
            && q.payload_len > 0
            && !has(q, SYN)
            && seq_lt(q.seq, r_end)
            && seq_lt(response.seq, seq_end(q))
            && (ttl_mismatch(q.ttl, response.ttl, 1).is_some()
                || matches!((r_id, id16(q.ip_id)), (Some(a), Some(b)) if b != 0 && id_dist(a, b) > IP_ID_GAP && !chain.contains(&q.frame)))
    });
    if second.is_some() {
        add("SECOND_RESPONSE", &mut tests);
    }
    // Race: the request never got past a router on the way (it was sent TTL-limited and a
    // time exceeded quoting it came back before the answer), so the server never saw it.
    let expired = probe
        .and_then(|p| p.expired_before(response.ts))
        .and_then(|c| c.expired)
        .map(|e| (e.frame, e.from));
    if expired.is_some() {
        add("REQUEST_EXPIRED", &mut tests);
    }
    // Race: the response's source closed, the server went on.
    let fin = pk.iter().skip(ri).position(|q| {
        q.dir == Dir::S2c
            && has(q, FIN)
            && same_source(q)
            && q.ts.saturating_sub(response.ts) <= SEC
    });
    if let Some(fi) = fin {
        if pk
            .iter()
            .skip(ri + fi + 1)
            .any(|q| q.dir == Dir::S2c && q.payload_len > 0 && !same_source(q))
        {
            add("DATA_AFTER_FIN", &mut tests);
        }
    }
    // Fingerprints against the server's SYN-ACK and own packets.
    // Only when the server's own packets (off the response's source) look like its SYN-ACK:
    // else the SYN-ACK is the odd one (a SYN proxy answered the handshake).
    let ttl_reason = server_ttl
        .filter(|t| {
            own.iter()
                .any(|q| ttl_mismatch(q.ttl, *t, cfg.ttl_hop_delta).is_none())
        })
        .and_then(|t| ttl_mismatch(response.ttl, t, cfg.ttl_hop_delta));
    if ttl_reason.is_some() {
        add("TTL_MISMATCH", &mut tests);
    }
    if let Some(a) = r_id {
        let ids: Vec<u16> = own
            .iter()
            .filter_map(|q| id16(q.ip_id))
            .filter(|v| *v != 0)
            .take(4096)
            .collect();
        let sequential = ids.len() >= 2
            && ids.windows(2).all(|w| match w {
                [x, y] => (1..=IP_ID_STEP).contains(&y.wrapping_sub(*x)),
                _ => true,
            });
        if sequential && ids.iter().all(|b| id_dist(a, *b) > IP_ID_GAP) {
            add("IP_ID_BREAK", &mut tests);
        }
    }
    let windows: Vec<u16> = own.iter().map(|q| q.window).collect();
    let server_window = windows.iter().copied().max();
    if let (Some(lo), Some(hi)) = (windows.iter().copied().min(), server_window) {
        let w = u32::from(response.window);
        if (w == 0 && lo > 0) || w * 2 < u32::from(lo) || w > u32::from(hi) * 2 {
            add("RESPONSE_WINDOW", &mut tests);
        }
    }
    // Content: what the answer says.
    let resp = tx.http_opening(Dir::S2c).filter(|h| h.status.is_some());
    let mut words = Vec::new();
    if let Some(h) = resp {
        let status = h.status.unwrap_or(0);
        let named = http_req
            .and_then(|r| r.head.host.clone())
            .or_else(|| f.class.sni.clone());
        let bare = h
            .head
            .location
            .as_deref()
            .and_then(url_host)
            .is_some_and(|host| host.parse::<IpAddr>().is_ok())
            && named.is_some_and(|n| n.parse::<IpAddr>().is_err());
        if (300..400).contains(&status) && bare {
            add("REDIRECT_BARE_IP", &mut tests);
        }
        if status == 451 {
            add("STATUS_451", &mut tests);
        }
        // The body is lower-cased already (and lower-casing is idempotent, and a title's
        // last Σ ends a word before the space either way): only the title needs it.
        let mut text = lowercase(h.head.title.as_deref().unwrap_or(""));
        text.push(' ');
        text.push_str(h.head.body.as_deref().unwrap_or(""));
        words = block_words_lower(&text);
        if !words.is_empty() {
            add("BLOCK_WORDS", &mut tests);
        }
    }
    let alert = hello.is_some()
        && tx
            .tls_opening(Dir::S2c)
            .is_some_and(|t| t.kind == TlsKind::Alert);
    if alert {
        add("TLS_ALERT", &mut tests);
    }
    if tests.is_empty() {
        return None;
    }
    // A TLS alert or an HTTP answer alone, with the server's fingerprint, is the server's.
    let families: Vec<&'static str> = FAMILIES
        .iter()
        .filter(|(_, m)| m.iter().any(|t| tests.contains(t)))
        .map(|(n, _)| *n)
        .collect();
    let conclusive = tests.iter().any(|t| CONCLUSIVE.contains(t));
    let basis = if conclusive {
        "conclusive"
    } else if families.len() >= 2 {
        "two_fingerprints"
    } else {
        "one_fingerprint"
    };
    // A lone fingerprint without a page that looks blocked is no claim worth reporting
    // (servers behind proxies, busy IP ID counters); a lone block-page look is, as info.
    if basis == "one_fingerprint" && families != ["content"] {
        return None;
    }
    let near = own
        .iter()
        .copied()
        .min_by_key(|q| q.ts.abs_diff(response.ts));
    Some(Judged {
        response,
        request,
        tests,
        families,
        basis,
        second,
        server_ttl,
        ttl_reason,
        near,
        server_window,
        words,
        alert,
        expired,
    })
}

impl Judged<'_> {
    /// The TTL of the request copy the answer followed.
    fn request_ttl(&self) -> u8 {
        self.request.ttl
    }

    fn finding(&self, f: &LabeledFlow) -> Finding {
        let tx = &f.class.tx;
        let req = tx.http_opening(Dir::C2s).filter(|h| h.method.is_some());
        let resp = tx.http_opening(Dir::S2c).filter(|h| h.status.is_some());
        let host = req
            .and_then(|r| r.head.host.clone())
            .or_else(|| f.class.sni.clone());
        let dest = match &host {
            Some(h) => format!("{} ({h})", f.server),
            None => f.server.to_string(),
        };
        let what = if self.alert {
            "a TLS alert".to_string()
        } else {
            match resp.and_then(|r| r.head.start_line.clone()) {
                Some(l) => format!("\"{l}\""),
                None => "a response".to_string(),
            }
        };
        let mut reasons: Vec<String> = Vec::new();
        if let Some((fr, from)) = self.expired {
            reasons.push(format!(
                "the request never reached the server: it was sent with TTL {} and {from} answered it with time exceeded (frame {fr})",
                self.request_ttl()
            ));
        }
        if let Some(s) = self.second {
            reasons.push(format!(
                "a second answer to the same request arrived (frame {}) with another fingerprint",
                s.frame
            ));
        }
        if self.tests.contains(&"DATA_AFTER_FIN") {
            reasons.push("the server kept sending after the \"server's\" FIN".into());
        }
        if let (Some(_), Some(t)) = (self.ttl_reason, self.server_ttl) {
            reasons.push(format!(
                "it arrived with TTL {} where the server's SYN-ACK had TTL {t}",
                self.response.ttl
            ));
        }
        if self.tests.contains(&"IP_ID_BREAK") {
            reasons.push("its IP ID breaks the server's IP ID sequence".into());
        }
        if self.tests.contains(&"RESPONSE_WINDOW") {
            reasons.push(format!(
                "its receive window ({}) is not the server's",
                self.response.window
            ));
        }
        if self.tests.contains(&"REDIRECT_BARE_IP") {
            if let Some(l) = resp.and_then(|r| r.head.location.clone()) {
                reasons.push(format!("it redirects to a bare address ({l})"));
            }
        }
        if self.tests.contains(&"STATUS_451") {
            reasons.push("status 451 says \"unavailable for legal reasons\"".into());
        }
        if !self.words.is_empty() {
            reasons.push(format!("the page says \"{}\"", self.words.join("\", \"")));
        }
        let (severity, confidence, lead) = match self.basis {
            "conclusive"
                if self.second.is_none()
                    && self.expired.is_some()
                    && !self.tests.contains(&"DATA_AFTER_FIN") =>
            {
                (
                    Severity::Blocked,
                    0.9,
                    "conclusive: the request expired on the way, so the server never saw it"
                        .to_string(),
                )
            }
            "conclusive" => (
                Severity::Blocked,
                0.9,
                "conclusive: the real server answered too".to_string(),
            ),
            "two_fingerprints" => (
                Severity::Blocked,
                if self.families.len() >= 3 { 0.9 } else { 0.8 },
                format!(
                    "{} independent signs: {}",
                    self.families.len(),
                    self.families.join(", ")
                ),
            ),
            _ => (
                Severity::Info,
                0.4,
                "one sign only, which the server itself can give: not enough to call it injected"
                    .to_string(),
            ),
        };
        let verb = if severity == Severity::Blocked {
            "was answered by"
        } else {
            "got"
        };
        let summary = format!(
            "Request to {dest} {verb} {what} that looks injected by the network ({lead}): {} (tests: {}).",
            if reasons.is_empty() {
                "it differs from the server's packets".to_string()
            } else {
                reasons.join("; ")
            },
            self.tests.join(", ")
        );
        let mut packets = vec![self.request.frame, self.response.frame];
        packets.extend(self.second.map(|s| s.frame));
        packets.extend(self.expired.map(|(fr, _)| fr));
        packets.sort_unstable();
        packets.dedup();
        let h = resp.map(|r| &r.head);
        Finding {
            filter: None,
            kind: FindingKind::HttpBlockPage,
            flow: Some(f.id),
            ts: secs(self.response.ts),
            severity,
            confidence,
            summary,
            evidence: HttpBlockPageEvidence {
                basis: self.basis,
                fingerprint_families: self.families.clone(),
                location: h.and_then(|h| h.location.clone()),
                request_frame: self.request.frame,
                request_expired_frame: self.expired.map(|(fr, _)| fr),
                request_host: host,
                request_target: req.and_then(|r| r.head.target.clone()),
                response_frame: self.response.frame,
                response_ip_id: (self.response.ip_id != u32::MAX).then_some(self.response.ip_id),
                response_ttl: self.response.ttl,
                response_window: self.response.window,
                second_response_frame: self.second.map(|s| s.frame),
                server_ip_id_near: self
                    .near
                    .and_then(|p| (p.ip_id != u32::MAX).then_some(p.ip_id)),
                server_ttl: self.server_ttl,
                server_window: self.server_window,
                sni: f.class.sni.clone(),
                status: resp.and_then(|r| r.status),
                status_line: h.and_then(|h| h.start_line.clone()),
                tests: self.tests.clone(),
                title: h.and_then(|h| h.title.clone()),
                tls_alert: self.alert,
                ttl_reason: self.ttl_reason,
            }
            .into(),
            packets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tcp_flags::{PSH, RST};
    use crate::testkit::flows::*;

    fn run(flows: &[LabeledFlow]) -> Vec<Finding> {
        run_detector(&HttpBlockPage, flows)
    }

    /// A request to `host`; server SYN-ACK at TTL 117 (frames 1–4).
    fn request(host: &str) -> LabeledFlow {
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:80");
        push(&mut f, &tcp_handshake());
        push(&mut f, &[pkt(4, 30, C, PSH | ACK, 1001, 5001, 60, 64)]);
        prefix(
            &mut f,
            C,
            format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes(),
        );
        f
    }

    fn with_id(mut p: P, id: u32, window: u16) -> P {
        p.m.ip_id = id;
        p.m.window = window;
        p
    }

    const REDIRECT: &[u8] =
        b"HTTP/1.1 302 Found\r\nLocation: http://10.10.34.34/blocked\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn injected_redirect_with_fin_and_the_real_answer_racing_it_is_blocked() {
        let mut f = request("blocked.example");
        push(
            &mut f,
            &[
                // The box on the path: page, FIN, RST — TTL 64, its own IP IDs, window 5840.
                with_id(pkt(5, 31, S, PSH | ACK, 5001, 1061, 80, 64), 9000, 5840),
                with_id(pkt(6, 31, S, FIN | ACK, 5081, 1061, 0, 64), 9001, 5840),
                with_id(pkt(7, 31, S, RST | ACK, 5082, 1061, 0, 64), 9002, 0),
                // The real server: its ACK and its own answer at the same sequence numbers.
                with_id(pkt(8, 50, S, ACK, 5001, 1061, 0, 117), 300, 502),
                with_id(pkt(9, 51, S, PSH | ACK, 5001, 1061, 400, 117), 301, 502),
            ],
        );
        prefix(&mut f, S, REDIRECT);
        let out = run(&[f]);
        assert_eq!(out.len(), 1, "{out:?}");
        let x = &out[0];
        assert_eq!(
            (x.kind.as_str(), x.severity.as_str()),
            ("http_block_page", "blocked")
        );
        let e = ev(x);
        assert_eq!(e["basis"], "conclusive");
        for t in [
            "SECOND_RESPONSE",
            "DATA_AFTER_FIN",
            "TTL_MISMATCH",
            "IP_ID_BREAK",
            "RESPONSE_WINDOW",
            "REDIRECT_BARE_IP",
        ] {
            assert!(
                e["tests"].as_array().unwrap().iter().any(|v| v == t),
                "{t}: {e}"
            );
        }
        assert_eq!(e["status"], 302);
        assert_eq!(e["location"], "http://10.10.34.34/blocked");
        assert_eq!(e["request_host"], "blocked.example");
        assert_eq!(e["second_response_frame"], 9);
        assert_eq!(x.packets, vec![4, 5, 9]);
        assert!(x.summary.contains("302 Found"), "{}", x.summary);
    }

    #[test]
    fn ips_reject_with_the_servers_ttl_is_betrayed_by_ip_id_and_window() {
        // TTL copied from the server: only the IP ID and the window give it away, plus the page.
        let mut f = request("law.example");
        push(
            &mut f,
            &[
                with_id(pkt(5, 31, S, PSH | ACK, 5001, 1061, 200, 117), 40_000, 8192),
                with_id(pkt(6, 31, S, FIN | ACK, 5201, 1061, 0, 117), 40_001, 8192),
                with_id(pkt(7, 40, S, ACK, 5001, 1061, 0, 117), 300, 502),
                with_id(pkt(8, 41, S, PSH | ACK, 5001, 1061, 300, 117), 301, 502),
            ],
        );
        prefix(
            &mut f,
            S,
            b"HTTP/1.1 403 Forbidden\r\n\r\n<html><title>Blocked</title>Access to this site is blocked by law.</html>",
        );
        let out = run(&[f]);
        assert_eq!(out.len(), 1, "{out:?}");
        let e = ev(&out[0]);
        assert_eq!(out[0].severity, "blocked");
        assert_eq!(e["title"], "Blocked");
        assert!(e["ttl_reason"].is_null());
        let t: Vec<&str> = e["tests"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert!(
            t.contains(&"IP_ID_BREAK")
                && t.contains(&"RESPONSE_WINDOW")
                && t.contains(&"BLOCK_WORDS"),
            "{t:?}"
        );
        assert!(t.contains(&"DATA_AFTER_FIN"), "{t:?}");
    }

    #[test]
    fn the_servers_own_pages_are_not_blocked() {
        // An ordinary 200, and an ordinary 403 from the server's own stack: nothing.
        for page in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"[..],
            b"HTTP/1.1 403 Forbidden\r\n\r\n<title>403 Forbidden</title>",
        ] {
            let mut f = request("www.example");
            push(
                &mut f,
                &[
                    with_id(pkt(5, 50, S, PSH | ACK, 5001, 1061, 100, 117), 300, 502),
                    with_id(pkt(6, 51, S, FIN | ACK, 5101, 1061, 0, 117), 301, 502),
                    with_id(pkt(7, 52, C, FIN | ACK, 1061, 5102, 0, 64), 20, 501),
                ],
            );
            prefix(&mut f, S, page);
            assert!(run(&[f]).is_empty());
        }
        // A server's own page naming a block: one sign only, info, and it says why.
        let mut f = request("www.example");
        push(
            &mut f,
            &[with_id(
                pkt(5, 50, S, PSH | ACK, 5001, 1061, 100, 117),
                300,
                502,
            )],
        );
        prefix(
            &mut f,
            S,
            b"HTTP/1.1 403 Forbidden\r\n\r\n<title>You have been blocked</title>",
        );
        let out = run(&[f]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, "info");
        assert_eq!(ev(&out[0])["basis"], "one_fingerprint");
        assert!(
            out[0].summary.contains("one sign only"),
            "{}",
            out[0].summary
        );
    }

    #[test]
    fn a_retransmitted_response_is_not_a_second_answer() {
        let mut f = request("www.example");
        push(
            &mut f,
            &[
                with_id(pkt(5, 50, S, PSH | ACK, 5001, 1061, 100, 117), 300, 502),
                with_id(pkt(6, 300, S, PSH | ACK, 5001, 1061, 100, 117), 301, 502),
            ],
        );
        prefix(&mut f, S, b"HTTP/1.1 200 OK\r\n\r\n");
        assert!(run(&[f]).is_empty());
    }

    #[test]
    fn injected_tls_alert_is_blocked_and_a_servers_alert_is_not() {
        let tls = |alert_ttl: u8, id: u32| {
            let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:443");
            push(&mut f, &tcp_handshake());
            push(
                &mut f,
                &[
                    pkt(4, 30, C, PSH | ACK, 1001, 5001, 200, 64),
                    with_id(pkt(5, 31, S, PSH | ACK, 5001, 1201, 7, alert_ttl), id, 502),
                    with_id(pkt(6, 50, S, ACK, 5001, 1201, 0, 117), 300, 502),
                    with_id(pkt(7, 51, S, ACK, 5001, 1201, 0, 117), 301, 502),
                ],
            );
            prefix(&mut f, C, &client_hello("blocked.example"));
            prefix(&mut f, S, &[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
            f
        };
        let out = run(&[tls(64, 9000)]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].severity, "blocked");
        assert_eq!(ev(&out[0])["tls_alert"], true);
        // The server's own alert (its TTL, its IP ID counter): info at most, never blocked.
        let out = run(&[tls(117, 299)]);
        assert!(out.iter().all(|x| x.severity == "info"), "{out:?}");
    }

    #[test]
    fn server_side_the_client_acks_an_answer_the_server_never_sent() {
        // Server-side capture (server at 0 hops, TTL 128): the client ACKs 101 bytes + FIN
        // before the server sent anything.
        let mut f = flow(0, Transport::Tcp, "10.0.0.2:40000", "203.0.113.5:80");
        push(
            &mut f,
            &[
                pkt(1, 0, C, SYN, 1000, 0, 0, 60),
                pkt(2, 0, S, SYN | ACK, 5000, 1001, 0, 128),
                pkt(3, 20, C, ACK, 1001, 5001, 0, 60),
                pkt(4, 21, C, PSH | ACK, 1001, 5001, 60, 60),
                pkt(5, 21, S, ACK, 5001, 1061, 0, 128),
                pkt(6, 22, C, ACK, 1061, 5103, 0, 60),
                pkt(7, 70, S, PSH | ACK, 5001, 1061, 100, 128),
                pkt(8, 71, C, RST, 1061, 0, 0, 60),
            ],
        );
        prefix(
            &mut f,
            C,
            b"GET / HTTP/1.1\r\nHost: blocked.example\r\n\r\n",
        );
        prefix(&mut f, S, b"HTTP/1.1 200 OK\r\n\r\n");
        let mut g = flow(1, Transport::Tcp, "10.0.0.9:40001", "203.0.113.5:80");
        push(
            &mut g,
            &[
                pkt(10, 100, C, SYN, 1, 0, 0, 50),
                pkt(11, 100, S, SYN | ACK, 9, 2, 0, 128),
            ],
        );
        let out = run(&[f.clone(), g.clone()]);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].severity, "blocked");
        assert_eq!(ev(&out[0])["tests"][0], "ACK_UNSENT_DATA");
        assert_eq!(out[0].packets, vec![4, 6]);
        // The same connection with an ordinary exchange: nothing.
        let mut h = f;
        h.packets.retain(|p| p.frame != 6);
        assert!(run(&[h, g]).is_empty());
    }

    #[test]
    fn block_words_match_whole_words() {
        assert_eq!(block_words("Blocked by LAW"), vec!["blocked", "law"]);
        assert!(block_words("the lawn is unblocked").is_empty());
        assert_eq!(block_words("سایت مسدود است"), vec!["مسدود"]);
        // The one boundary pass finds what one search per word finds.
        let per_word = |text: &str| -> Vec<&'static str> {
            let t = text.to_lowercase();
            BLOCK_WORDS
                .iter()
                .copied()
                .filter(|w| {
                    t.match_indices(w).any(|(i, _)| {
                        let before = t.get(..i).and_then(|s| s.chars().next_back());
                        let after = t.get(i + w.len()..).and_then(|s| s.chars().next());
                        !before.is_some_and(char::is_alphanumeric)
                            && !after.is_some_and(char::is_alphanumeric)
                    })
                })
                .collect()
        };
        for t in [
            "Blocked by LAW",
            "laws, court order; ACCESS DENIED.",
            "lawlaw law2 _law_ (law) regulatoregulator regulator",
            "blocked",
            "",
            "xblocked blockedx unavailable for legal reasons",
            "\u{fffd}law\u{fffd}\u{fffd}ЗАБЛОКИРОВАН\u{fffd}éblocked bloqué. سایتمسدود مسدود",
            "ΣLAW lawΣ ميسدود محجوب",
        ] {
            assert_eq!(block_words(t), per_word(t), "{t}");
            let t = format!("{t} é");
            assert_eq!(block_words(&t), per_word(&t), "{t}");
        }
        assert_eq!(block_words("(law) laws"), vec!["law", "laws"]);
        // What `judge` relies on to skip lower-casing the (already lower-cased) body again:
        // lower-casing is idempotent on every character, and on a title and a body joined by
        // a space it is the title's lower case, the space, and the body's.
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let once = lowercase(&c.to_string());
            assert_eq!(lowercase(&once), once, "{c:?}");
        }
        for (title, body) in [
            ("ΟΔΟΣ", "σ"),
            ("AΣ", "Σa"),
            ("Σ", ""),
            ("", "ΑΣ x"),
            ("İ", "BLOCKED"),
        ] {
            let joined = lowercase(&format!("{title} {body}"));
            assert_eq!(joined, format!("{} {}", lowercase(title), lowercase(body)));
        }
    }
}
