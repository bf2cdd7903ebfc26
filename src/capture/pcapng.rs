//! A minimal pcapng writer for live captures: one section, one interface, Enhanced Packet
//! Blocks with nanosecond timestamps (`if_tsresol` = 9), little-endian.
//!
//! Blocks are returned as byte vectors so the caller can append them to a file or keep them in
//! a ring and write them later; a file is `section_header` + `interface` + the packet blocks.

/// Pads `v` with zeros to a multiple of 4 bytes.
fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

/// Appends one option (code, value, padding).
fn option(v: &mut Vec<u8>, code: u16, value: &[u8]) {
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    v.extend_from_slice(&code.to_le_bytes());
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(value.get(..usize::from(len)).unwrap_or(value));
    pad4(v);
}

/// Wraps a block body: type, total length, body, total length.
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let total = u32::try_from(body.len() + 12).unwrap_or(u32::MAX);
    let mut v = Vec::with_capacity(body.len() + 12);
    v.extend_from_slice(&kind.to_le_bytes());
    v.extend_from_slice(&total.to_le_bytes());
    v.extend_from_slice(body);
    v.extend_from_slice(&total.to_le_bytes());
    v
}

/// Section Header Block naming the writing application.
pub fn section_header() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&u64::MAX.to_le_bytes()); // section length: unspecified
    let app = format!("voipwatch {} capture", env!("CARGO_PKG_VERSION"));
    option(&mut b, 4, app.as_bytes()); // shb_userappl
    option(&mut b, 0, &[]);
    block(0x0A0D_0D0A, &b)
}

/// Interface Description Block: link type, snap length, name, nanosecond timestamps.
pub fn interface(linktype: u16, snaplen: u32, name: &str) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&linktype.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&snaplen.to_le_bytes());
    option(&mut b, 2, name.as_bytes()); // if_name
    option(&mut b, 9, &[9]); // if_tsresol: 10^-9 s
    option(&mut b, 0, &[]);
    block(1, &b)
}

/// Enhanced Packet Block of interface 0; `ts_ns` is nanoseconds since the epoch.
pub fn packet(ts_ns: u64, origlen: u32, data: &[u8]) -> Vec<u8> {
    let caplen = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut b = Vec::with_capacity(data.len() + 24);
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&((ts_ns >> 32) as u32).to_le_bytes());
    b.extend_from_slice(&(ts_ns as u32).to_le_bytes());
    b.extend_from_slice(&caplen.to_le_bytes());
    b.extend_from_slice(&origlen.max(caplen).to_le_bytes());
    b.extend_from_slice(data);
    pad4(&mut b);
    block(6, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_padded_and_carry_their_length_twice() {
        for b in [
            section_header(),
            interface(1, 262144, "eth0"),
            packet(1, 3, b"abc"),
        ] {
            assert_eq!(b.len() % 4, 0);
            let n = b.len();
            assert_eq!(&b[4..8], &(n as u32).to_le_bytes());
            assert_eq!(&b[n - 4..], &(n as u32).to_le_bytes());
        }
    }

    #[test]
    fn the_core_reads_what_is_written_with_nanosecond_timestamps() {
        let mut f = section_header();
        f.extend(interface(1, 65535, "lo"));
        let ts = 1_700_000_000_123_456_789u64;
        // A 60-byte Ethernet frame that is not IP: one packet, no flow.
        let mut frame = vec![0xffu8; 12];
        frame.extend_from_slice(&[0x88, 0xb5]);
        frame.resize(60, 0);
        f.extend(packet(ts, 60, &frame));
        let r = voipwatch_core::analyzer::analyze_bytes(Default::default(), &f);
        assert!(r.capture.complete, "{:?}", r.capture.error);
        assert_eq!(r.capture.packets, 1);
        assert_eq!(r.capture.file_bytes, f.len() as u64);
        assert_eq!(r.capture.first_ts, Some(ts as f64 / 1e9));
    }
}
