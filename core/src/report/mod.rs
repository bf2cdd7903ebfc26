//! The `voipwatch.report/1` report (DESIGN §3): serde structs with a deterministic order.
//!
//! The JSON depends only on the capture's bytes, its name and the options: maps are
//! `BTreeMap`, lists are sorted by id or time, and floats are printed by serde_json (ryu),
//! identically natively and in WASM.

use crate::capture::Format;
use crate::flow::Flow;
use crate::label::FlowLabels;
pub use crate::label::RtpStats;
use crate::model::{App, Confidence, Protocol, Service};
use crate::model::{FindingKind, Severity, Status};
use crate::{secs, Nanos};
use serde::Serialize;
use std::collections::BTreeMap;

pub mod chart;
pub mod evidence;
pub mod filter;
pub mod limits;
pub mod message;

pub use evidence::{Evidence, Media, Subject};
pub use limits::Limit;

pub const SCHEMA: &str = "voipwatch.report/1";

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub capture: CaptureInfo,
    pub flows: Vec<FlowReport>,
    pub calls: Vec<Call>,
    pub findings: Vec<Finding>,
    pub verdicts: Vec<Verdict>,
    /// Throughput/RTT series with loss episodes of the flows the findings cite (see
    /// [`chart`]); absent when no finding cites a flow.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<chart::FlowChart>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CaptureInfo {
    pub name: String,
    pub format: Option<Format>,
    /// Link-type names in first-seen order ("ethernet", "linux_sll", … or "linktype_N").
    pub linktypes: Vec<String>,
    pub packets: u64,
    /// Bytes of captured packet data.
    pub bytes: u64,
    /// Size of the capture file read, in bytes.
    pub file_bytes: u64,
    pub first_ts: Option<f64>,
    pub last_ts: Option<f64>,
    /// "layer.reason" → packets.
    pub decode_errors: BTreeMap<String, u64>,
    /// anomaly name → packets.
    pub anomalies: BTreeMap<String, u64>,
    pub flows: u64,
    /// Flows ended by idle timeout (their key was reused by a later flow).
    pub flow_timeouts: u64,
    /// Flows ended because their endpoints were reused by a new connection (TCP port reuse,
    /// a SYN after a close), as Zeek splits them.
    pub flow_port_reuse: u64,
    /// Packets not attributed to a flow because the flow cap was reached.
    pub untracked_packets: u64,
    /// Non-first IP fragments whose first fragment was never seen.
    pub unattributed_fragments: u64,
    pub complete: bool,
    pub error: Option<String>,
    /// The error as a message (id and parameters, see [`message`]): what the file is when it
    /// is not a capture, and what to do, in the reader's language. Absent without an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<message::Message>,
    /// Every cap that cut evidence (see [`limits`]); empty when none did.
    pub limits: Vec<Limit>,
    /// Who the capture host is and where it sits (see `detect::vantage`).
    pub vantage: VantageInfo,
}

/// The capture's vantage point (`capture.vantage`): the capture host, when it could be told,
/// and whether the capture was taken at the client, the server or on the path.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VantageInfo {
    /// The rules that decided ("linux_cooked_outgoing", "zero_hop_ttl", "most_flows",
    /// "no_zero_hop_sender").
    pub basis: Vec<&'static str>,
    /// The capture host's address.
    pub host: Option<String>,
    /// Flows the capture host takes part in.
    pub host_flows: u64,
    /// "client", "server", "path" or "unknown".
    pub side: &'static str,
}

/// Two values, one per direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PerDir {
    pub c2s: u64,
    pub s2c: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct FlowReport {
    pub id: u32,
    pub transport: &'static str,
    pub client: String,
    pub server: String,
    #[serde(skip_serializing_if = "is_zero_u16")]
    pub vlan: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<&'static str>,
    pub first_ts: f64,
    pub last_ts: f64,
    pub duration: f64,
    pub packets: PerDir,
    pub bytes: PerDir,
    pub payload_bytes: PerDir,
    pub app: Option<App>,
    pub service: Service,
    /// Sorted by id.
    pub protocols: Vec<Protocol>,
    pub sni: Option<String>,
    pub confidence: Confidence,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    pub conn_state: &'static str,
    pub history: String,
    #[serde(skip_serializing_if = "PerDir::is_zero")]
    pub retransmissions: PerDir,
    /// TCP bytes the peer acknowledged that the capture never showed (capture loss or a
    /// one-sided capture), per sending direction.
    #[serde(skip_serializing_if = "PerDir::is_zero")]
    pub missed_bytes: PerDir,
    /// Median RTT at the capture point in seconds, when measured.
    pub rtt: Option<f64>,
    /// Most common TTL / hop limit each way.
    pub ttl: TtlPair,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rtp: Vec<RtpStats>,
    /// Peers behind a TURN relay on this flow (XOR-PEER-ADDRESS), `ip:port`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relay_peers: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct TtlPair {
    pub c2s: Option<u8>,
    pub s2c: Option<u8>,
}

fn is_zero_u16(v: &u16) -> bool {
    *v == 0
}

impl PerDir {
    fn is_zero(&self) -> bool {
        self.c2s == 0 && self.s2c == 0
    }
}

/// A call: flows of one app and one client joined together.
#[derive(Clone, Debug, Serialize)]
pub struct Call {
    pub id: u32,
    pub app: App,
    pub client: String,
    pub flows: Vec<u32>,
    pub first_ts: f64,
    pub last_ts: f64,
    pub media: Media,
    pub status: Status,
}

/// One finding of a detector. Serialised with its [`message`](Finding::message) after the
/// summary (see [`message`]).
#[derive(Clone, Debug)]
pub struct Finding {
    pub kind: FindingKind,
    /// The flow the finding is about, if one (see [`Finding::subjects`]).
    pub flow: Option<u32>,
    pub ts: f64,
    pub severity: Severity,
    pub confidence: f64,
    pub summary: String,
    /// The facts behind the finding; its shape follows `kind`.
    pub evidence: Evidence,
    /// A Wireshark display filter showing the packets the finding is about (its flows'
    /// endpoints, else the frames it cites); `None` when it names neither. Filled in by the
    /// analyzer from the flows, not by the detectors.
    pub filter: Option<String>,
    /// 1-based frame numbers.
    pub packets: Vec<u64>,
}

impl Finding {
    /// What the finding is about: its flow, then the call and the app its evidence names;
    /// [`Subject::Capture`] alone when it names none.
    pub fn subjects(&self) -> Vec<Subject> {
        let mut out: Vec<Subject> = self.flow.map(Subject::Flow).into_iter().collect();
        out.extend(self.evidence.call().map(Subject::Call));
        out.extend(self.evidence.app().map(Subject::App));
        if out.is_empty() {
            out.push(Subject::Capture);
        }
        out
    }
}

/// Whom a verdict is about: an app, `other` for trouble on unrecognised flows, or `capture`
/// when the capture as a whole gives nothing to judge (no packets, no flows, one direction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerdictApp {
    App(App),
    Other,
    Capture,
}

impl VerdictApp {
    /// The id as in the report (an app id, or "other").
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictApp::App(a) => a.as_str(),
            VerdictApp::Other => "other",
            VerdictApp::Capture => "capture",
        }
    }
    /// The name shown to people (the app table's, or "other").
    pub fn name(self) -> &'static str {
        match self {
            VerdictApp::App(a) => a.name(),
            VerdictApp::Other => "other",
            VerdictApp::Capture => "capture",
        }
    }
}

impl PartialEq<&str> for VerdictApp {
    fn eq(&self, id: &&str) -> bool {
        self.as_str() == *id
    }
}

impl Serialize for VerdictApp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A per-app (or per-call) verdict. Serialised with its [`message`](Verdict::message) after
/// the summary.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub app: VerdictApp,
    pub service: Service,
    pub status: Status,
    pub summary: String,
    /// Why it is inconclusive (or, for an app without a call, unable to answer) when no
    /// finding says; it selects the verdict's message.
    pub reason: Option<message::Reason>,
    pub calls: Vec<u32>,
    pub flows: Vec<u32>,
    /// Indices into `findings`.
    pub findings: Vec<usize>,
}

impl Serialize for Finding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Finding", 10)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("flow", &self.flow)?;
        st.serialize_field("ts", &self.ts)?;
        st.serialize_field("severity", &self.severity)?;
        st.serialize_field("confidence", &self.confidence)?;
        st.serialize_field("summary", &self.summary)?;
        st.serialize_field("message", &self.message())?;
        st.serialize_field("evidence", &self.evidence)?;
        st.serialize_field("filter", &self.filter)?;
        st.serialize_field("packets", &self.packets)?;
        st.end()
    }
}

impl Serialize for Verdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Verdict", 8)?;
        st.serialize_field("app", &self.app)?;
        st.serialize_field("service", &self.service)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("summary", &self.summary)?;
        st.serialize_field("message", &self.message())?;
        st.serialize_field("calls", &self.calls)?;
        st.serialize_field("flows", &self.flows)?;
        st.serialize_field("findings", &self.findings)?;
        st.end()
    }
}

impl FlowReport {
    /// Builds the report row of one flow from its facts and labels.
    pub fn from_flow(f: &Flow, l: &FlowLabels) -> FlowReport {
        let [c, s] = &f.dir;
        let mut rtts: Vec<Nanos> = f.rtt.iter().map(|r| r.rtt).collect();
        rtts.sort_unstable();
        FlowReport {
            id: f.id,
            transport: f.transport.as_str(),
            client: f.client.to_string(),
            server: f.server.to_string(),
            vlan: f.vlan,
            tunnel: f.tunnel,
            first_ts: secs(f.first_ts),
            last_ts: secs(f.last_ts),
            duration: secs(f.duration()),
            packets: PerDir {
                c2s: c.packets,
                s2c: s.packets,
            },
            bytes: PerDir {
                c2s: c.bytes,
                s2c: s.bytes,
            },
            payload_bytes: PerDir {
                c2s: c.payload_bytes,
                s2c: s.payload_bytes,
            },
            app: l.app,
            service: l.service,
            protocols: l.protocols.to_vec(),
            sni: l.sni.clone(),
            confidence: l.confidence,
            evidence: l.evidence.to_vec(),
            conn_state: f.conn_state(),
            history: f.history.clone(),
            retransmissions: PerDir {
                c2s: c.retransmissions,
                s2c: s.retransmissions,
            },
            missed_bytes: PerDir {
                c2s: c.missed_bytes,
                s2c: s.missed_bytes,
            },
            rtt: rtts.get(rtts.len() / 2).map(|r| secs(*r)),
            ttl: TtlPair {
                c2s: c.ttl_mode(),
                s2c: s.ttl_mode(),
            },
            rtp: l.rtp.to_vec(),
            relay_peers: l.relay_peers.iter().map(|a| a.to_string()).collect(),
        }
    }
}

impl Report {
    /// Pretty JSON with a trailing newline: the bytes the CLI prints and the page downloads.
    pub fn to_json(&self) -> String {
        let mut s =
            serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
        s.push('\n');
        s
    }
    /// Writes the same bytes as [`Report::to_json`] to `w` without building the string (a
    /// million-flow report is hundreds of MB of JSON: streaming it halves the peak memory).
    pub fn write_json<W: std::io::Write>(&self, w: W) -> std::io::Result<()> {
        let mut w = w;
        serde_json::to_writer_pretty(&mut w, self).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    }
    /// Writes the same bytes as [`Report::to_json_line`] plus a newline to `w`.
    pub fn write_json_line<W: std::io::Write>(&self, w: W) -> std::io::Result<()> {
        let mut w = w;
        serde_json::to_writer(&mut w, self).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    }
    /// One line of JSON (for ndjson output).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// Human name of a LINKTYPE value.
pub fn linktype_name(lt: u32) -> String {
    match lt {
        0 => "null".into(),
        1 => "ethernet".into(),
        12 | 101 => "raw".into(),
        51 => "pppoe".into(),
        108 => "loop".into(),
        113 => "linux_sll".into(),
        228 => "ipv4".into(),
        229 => "ipv6".into(),
        276 => "linux_sll2".into(),
        n => format!("linktype_{n}"),
    }
}

#[cfg(test)]
mod tests {
    use crate::analyzer::{analyze_bytes, Config};

    #[test]
    fn streamed_json_is_the_same_bytes() {
        let r = analyze_bytes(Config::default(), b"not a capture");
        let mut a = Vec::new();
        r.write_json(&mut a).unwrap();
        assert_eq!(a, r.to_json().into_bytes());
        let mut b = Vec::new();
        r.write_json_line(&mut b).unwrap();
        assert_eq!(b, (r.to_json_line() + "\n").into_bytes());
    }
}
