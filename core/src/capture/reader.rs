//! The format-sniffing streaming reader (implementation owned by the capture work).
use super::{CaptureError, Format, Packet};

/// Streaming reader for pcap and pcapng; sniffs the format from the first bytes.
#[derive(Debug, Default)]
pub struct CaptureReader {
    consumed: u64,
    packets: u64,
    format: Option<Format>,
    linktypes: Vec<u32>,
}

impl CaptureReader {
    pub fn new() -> Self {
        Self::default()
    }
    /// Feeds the next chunk; calls `sink` once per complete packet, in file order.
    pub fn push<F: FnMut(Packet<'_>)>(&mut self, chunk: &[u8], _sink: F) -> Result<(), CaptureError> {
        self.consumed += chunk.len() as u64;
        Ok(())
    }
    /// Declares end of input: an error if the input was empty or ended inside a record.
    pub fn finish(&mut self) -> Result<(), CaptureError> {
        Ok(())
    }
    pub fn format(&self) -> Option<Format> {
        self.format
    }
    /// Distinct link types in first-seen order.
    pub fn linktypes(&self) -> &[u32] {
        &self.linktypes
    }
    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.consumed
    }
    pub fn packets(&self) -> u64 {
        self.packets
    }
}
