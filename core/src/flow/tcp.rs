//! TCP connection state for Zeek-compatible `conn_state` and `history`.

/// Per-connection TCP state.
#[derive(Clone, Debug, Default)]
pub struct TcpState {
    /// Flags seen per direction (OR of all flags), index = Dir::idx().
    pub flags_seen: [u8; 2],
}

impl TcpState {
    /// Zeek conn_state.
    pub fn conn_state(&self) -> &'static str {
        "OTH"
    }
}
