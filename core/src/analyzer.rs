//! The streaming analyzer: the one entry point used by the CLI and the WASM bindings.

use crate::capture::{ts_note, CaptureError, CaptureReader, Packet};
use crate::classify::Engine;
use crate::decode::{decode_frame, L4};
use crate::detect::{self, DetectConfig};
use crate::flow::{FlowConfig, FlowTable};
use crate::label::LabeledFlow;
use crate::model::{Anomaly, DecodeLayer, DecodeReason};
use crate::report::{self, CaptureInfo, FlowReport, Report};
use crate::{secs, verdict, Nanos};
use std::collections::BTreeMap;

/// Options of one analysis. Everything that changes the report lives here.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Capture name as shown in the report (no directories).
    pub name: String,
    pub flow: FlowConfig,
    pub detect: DetectConfig,
}

/// How far the analysis has got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub bytes: u64,
    pub packets: u64,
    pub flows: u64,
}

#[derive(Debug, Default)]
struct State {
    table: FlowTable,
    engine: Engine,
    packets: u64,
    bytes: u64,
    /// Earliest and latest timestamps (not the first and last packets': time can step back).
    first_ts: Option<Nanos>,
    last_ts: Option<Nanos>,
    /// The previous packet's timestamp, for `time_backwards` and `time_jump`.
    prev_ts: Option<Nanos>,
    decode_errors: BTreeMap<(DecodeLayer, DecodeReason), u64>,
    /// Anomaly counts, in first-seen order: a handful of them, so a linear search beats a
    /// map lookup on every packet; sorted by id into the report's map at the end.
    anomalies: Vec<(Anomaly, u64)>,
    /// Link-layer facts about the capture host (Linux cooked packet types).
    hints: detect::vantage::Hints,
}

/// A step between consecutive timestamps larger than this, either way, is a `time_jump`.
pub const TIME_JUMP: u64 = 86_400_000_000_000;

/// The Linux cooked packet type of a frame (`PACKET_HOST` 0 … `PACKET_OUTGOING` 4), for
/// LINKTYPE_LINUX_SLL (113: a 16-bit field first) and LINKTYPE_LINUX_SLL2 (276: byte 10).
fn cooked_pkttype(linktype: u32, data: &[u8]) -> Option<u16> {
    match linktype {
        113 => Some(u16::from_be_bytes([*data.first()?, *data.get(1)?])),
        276 => data.get(10).map(|b| u16::from(*b)),
        _ => None,
    }
}

/// Adds one to the count of anomaly `name`.
fn count_anomaly(counts: &mut Vec<(Anomaly, u64)>, name: Anomaly) {
    match counts.iter_mut().find(|(k, _)| *k == name) {
        Some((_, n)) => *n = n.saturating_add(1),
        None => counts.push((name, 1)),
    }
}

impl State {
    fn packet(&mut self, p: Packet<'_>) {
        self.packets += 1;
        self.bytes += p.data.len() as u64;
        self.first_ts = Some(self.first_ts.map_or(p.ts, |t| t.min(p.ts)));
        self.last_ts = Some(self.last_ts.map_or(p.ts, |t| t.max(p.ts)));
        if let Some(prev) = self.prev_ts {
            if p.ts < prev {
                count_anomaly(&mut self.anomalies, Anomaly::TimeBackwards);
            }
            if p.ts.abs_diff(prev) > TIME_JUMP {
                count_anomaly(&mut self.anomalies, Anomaly::TimeJump);
            }
        }
        self.prev_ts = Some(p.ts);
        if p.ts_note & ts_note::FRACTION_OVERFLOW != 0 {
            count_anomaly(&mut self.anomalies, Anomaly::TsFractionOverflow);
        }
        if p.ts_note & ts_note::ABSURD_RESOLUTION != 0 {
            count_anomaly(&mut self.anomalies, Anomaly::TsResolutionAbsurd);
        }
        if (p.data.len() as u64) < u64::from(p.origlen) {
            count_anomaly(&mut self.anomalies, Anomaly::SnaplenTruncated);
        }
        let d = decode_frame(p.linktype, p.data, p.origlen);
        for a in d.anomalies.iter() {
            count_anomaly(&mut self.anomalies, a);
        }
        if let Some(e) = d.error {
            *self.decode_errors.entry((e.layer, e.reason)).or_default() += 1;
        }
        if let Some(t) = cooked_pkttype(p.linktype, p.data) {
            self.hints.note_cooked(t, d.net.map(|n| n.src));
        }
        if let Some(a) = d.arp {
            self.hints.note_arp(a, p.frame, p.ts);
        }
        if matches!(d.l4, L4::None) && d.net.is_none() {
            return;
        }
        if let Some(o) = self.table.observe(p.frame, p.ts, &d) {
            if let Some(flow) = self.table.flows().get(o.id as usize) {
                self.engine.on_packet(flow, o.dir, p.frame, p.ts, &d);
            }
        }
    }
}

/// Streaming analyzer: `new` → `push`* → `finish`.
#[derive(Debug)]
pub struct Analyzer {
    cfg: Config,
    reader: CaptureReader,
    state: State,
    error: Option<CaptureError>,
    file_bytes: u64,
    /// Bytes pushed (compressed bytes for a compressed capture), for progress.
    input_bytes: u64,
}

impl Analyzer {
    pub fn new(cfg: Config) -> Analyzer {
        let state = State {
            table: FlowTable::new(cfg.flow.clone()),
            ..Default::default()
        };
        Analyzer {
            cfg,
            reader: CaptureReader::new(),
            state,
            error: None,
            file_bytes: 0,
            input_bytes: 0,
        }
    }

    /// Feeds the next chunk of the file. After the first error, further input is ignored and
    /// the same error is returned; the report built by `finish` is then partial.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), CaptureError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        self.input_bytes += chunk.len() as u64;
        let state = &mut self.state;
        let r = self.reader.push(chunk, |p| state.packet(p));
        // Capture bytes: after decompression, so a compressed capture reports as the plain one.
        self.file_bytes = self.reader.capture_bytes();
        match r {
            Ok(()) => Ok(()),
            Err(e) => {
                // Reading stopped at the bad structure: count the file up to it, so the
                // report does not depend on how the input was cut into chunks.
                self.file_bytes = e.offset.min(self.file_bytes);
                self.error = Some(e.clone());
                Err(e)
            }
        }
    }

    pub fn progress(&self) -> Progress {
        Progress {
            bytes: self.input_bytes,
            packets: self.state.packets,
            flows: self.state.table.flows().len() as u64,
        }
    }

    /// The error that stopped reading, if any.
    pub fn error(&self) -> Option<&CaptureError> {
        self.error.as_ref()
    }

    /// Ends the input and builds the report.
    pub fn finish(self) -> Report {
        self.finish_inner(Keep::Nothing).0
    }

    /// Ends the input and builds the report, also returning the finished flows (with their
    /// packet logs and labels), for callers that analyse flows further (`voipwatch compare`).
    pub fn finish_with_flows(self) -> (Report, Vec<LabeledFlow>) {
        let (report, flows, _) = self.finish_inner(Keep::Flows);
        (report, flows)
    }

    /// Ends the input and builds the report, also returning the plan of its evidence pack
    /// (which frames it holds), made from the flows before they are freed: a caller that
    /// streams the capture writes the pack in a second pass (`evidence_pack::PackWriter`)
    /// without keeping the flows.
    pub fn finish_with_plan(self) -> (Report, crate::evidence_pack::Plan) {
        let (report, _, plan) = self.finish_inner(Keep::Plan);
        (report, plan.unwrap_or_default())
    }

    /// Builds the report; unless `keep` is [`Keep::Flows`] the flows are consumed while their
    /// report rows are built (from the back, shrinking the flow array as it empties), so the
    /// flows and the rows never both stand at full size, and an empty flow list is returned.
    fn finish_inner(
        mut self,
        keep: Keep,
    ) -> (Report, Vec<LabeledFlow>, Option<crate::evidence_pack::Plan>) {
        let keep_flows = keep == Keep::Flows;
        if self.error.is_none() {
            let state = &mut self.state;
            if let Err(e) = self.reader.finish_with(|p| state.packet(p)) {
                self.error = Some(e);
            }
            self.file_bytes = self.reader.capture_bytes();
        }
        let State {
            table,
            mut engine,
            packets,
            bytes,
            first_ts,
            last_ts,
            decode_errors,
            anomalies,
            hints,
            ..
        } = self.state;
        let timeouts = table.timeouts;
        let untracked = table.untracked_packets;
        let memory_refused = table.memory_refused;
        let reuse = table.ended_reuse;
        let unattributed = table.unattributed_fragments;
        let mut anomalies = anomalies;
        if table.duplicate_frames > 0 {
            anomalies.push((Anomaly::DuplicateFrame, table.duplicate_frames));
        }
        let (flows, mut calls) = engine.finish(table.into_flows());
        let input = detect::Input::new(&flows, &calls, &self.cfg.detect).with_hints(hints);
        let mut findings = detect::run_all(&input);
        let vantage = input.facts().vantage().info();
        let skipped = input.facts().skipped();
        drop(input);
        let mut flows = flows;
        for id in skipped.iter().flat_map(|(_, ids)| ids) {
            if let Ok(i) = flows.binary_search_by_key(id, |f| f.id) {
                if let Some(f) = flows.get_mut(i) {
                    f.limits |= crate::flow::limit::WORK_BUDGET;
                }
            }
        }
        let plain: Vec<&crate::flow::Flow> = flows.iter().map(|f| &*f.flow).collect();
        for f in &mut findings {
            f.filter = report::filter::finding_filter(f, &plain);
        }
        let charts = report::chart::charts(&findings, &flows, self.cfg.flow.rate_bin);
        let plan = (keep == Keep::Plan).then(|| crate::evidence_pack::Plan::new(&findings, &flows));
        let mut verdicts = verdict::judge(&flows, &mut calls, &findings);
        let mut limits = report::limits::limits(&plain, &self.cfg.flow, untracked, memory_refused);
        let budget = self
            .cfg
            .detect
            .work_budget
            .unwrap_or(detect::DEFAULT_WORK_BUDGET);
        limits.extend(report::limits::work_budget(&skipped, budget));
        verdict::apply_limits(&mut verdicts, &mut calls, &flows, untracked);
        if verdicts.is_empty() {
            let error = self.error.as_ref().map(|e| e.to_string());
            verdicts.extend(
                verdict::nothing_to_judge(packets, error.as_deref(), &flows)
                    .or_else(|| verdict::cut_capture(&limits)),
            );
        }
        // The report's maps are keyed and sorted by the ids as strings.
        let decode_errors = decode_errors
            .into_iter()
            .map(|((layer, reason), n)| (format!("{layer}.{reason}"), n))
            .collect();
        let capture = CaptureInfo {
            name: self.cfg.name.clone(),
            format: self.reader.format(),
            linktypes: self
                .reader
                .linktypes()
                .iter()
                .map(|l| report::linktype_name(*l))
                .collect(),
            packets,
            bytes,
            file_bytes: self.file_bytes,
            first_ts: first_ts.map(secs),
            last_ts: last_ts.map(secs),
            decode_errors,
            anomalies: anomalies
                .into_iter()
                .map(|(k, v)| (k.as_str().to_string(), v))
                .collect(),
            flows: flows.len() as u64,
            flow_timeouts: timeouts,
            flow_port_reuse: reuse,
            untracked_packets: untracked,
            unattributed_fragments: unattributed,
            complete: self.error.is_none(),
            error: self.error.as_ref().map(|e| e.to_string()),
            error_message: self.error.as_ref().map(|e| {
                crate::report::message::capture_error(
                    e,
                    self.reader.content_head(),
                    self.reader.compression().map(|c| c.as_str()),
                    self.reader.unsupported_compression(),
                )
            }),
            limits,
            vantage,
        };
        let rows = if keep_flows {
            flows
                .iter()
                .map(|f| FlowReport::from_flow(&f.flow, &f.class))
                .collect()
        } else {
            let mut rows: Vec<FlowReport> = Vec::new();
            let _ = rows.try_reserve_exact(flows.len());
            while let Some(f) = flows.pop() {
                rows.push(FlowReport::from_flow(&f.flow, &f.class));
                drop(f);
                if flows.capacity() > 1024 && flows.len() < flows.capacity() / 8 * 7 {
                    flows.shrink_to_fit();
                }
            }
            rows.reverse();
            rows
        };
        let report = Report {
            schema: report::SCHEMA,
            capture,
            flows: rows,
            calls,
            findings,
            verdicts,
            charts,
        };
        (report, flows, plan)
    }
}

/// What [`Analyzer::finish_inner`] keeps beside the report.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    Nothing,
    Flows,
    Plan,
}

/// Convenience: analyses a whole in-memory capture.
pub fn analyze_bytes(cfg: Config, data: &[u8]) -> Report {
    let mut a = Analyzer::new(cfg);
    let _ = a.push(data);
    a.finish()
}
