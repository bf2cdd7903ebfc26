//! Capture reader alone: no panic on any input, and the packets and the error must not
//! depend on how the input is cut into chunks. The chunk size comes from the input's length,
//! so real captures work as seeds unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voipwatch_core::capture::{CaptureError, CaptureReader, MAX_RECORD};

type Seen = (
    Vec<(u64, i64, u32, u32, Vec<u8>)>,
    Result<(), CaptureError>,
    u64,
);

fn read(data: &[u8], chunk: usize) -> Seen {
    let mut r = CaptureReader::new();
    let mut packets = Vec::new();
    let mut res = Ok(());
    for c in data.chunks(chunk.max(1)) {
        res = r.push(c, |p| {
            assert!(p.data.len() <= MAX_RECORD);
            assert_eq!(p.frame, packets.len() as u64 + 1);
            packets.push((p.frame, p.ts, p.linktype, p.origlen, p.data.to_vec()));
        });
        if res.is_err() {
            break;
        }
    }
    if res.is_ok() {
        res = r.finish();
    }
    assert_eq!(r.packets(), packets.len() as u64);
    (packets, res, r.offset())
}

fuzz_target!(|data: &[u8]| {
    let chunk = 1 + data.len() % 61;
    let whole = read(data, usize::MAX);
    let cut = read(data, chunk);
    assert_eq!(whole, cut, "chunk size {chunk} changed the result");
});
