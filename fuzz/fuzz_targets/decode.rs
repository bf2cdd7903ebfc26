//! The decoder alone, under every link type it knows: no panic; an error lies within the
//! frame; error layers, reasons and anomalies are ids of `model` that round-trip (issue 9:
//! they are enums now, so this also keeps the fuzz crate building against that API). The
//! first input byte picks the link type (and, in its high nibble, how many bytes the wire
//! length exceeds the frame by, to reach the snaplen-truncation paths).
#![no_main]

use libfuzzer_sys::fuzz_target;
use voipwatch_core::decode::{decode_frame, Anomaly, DecodeLayer, DecodeReason};

const LINKTYPES: [u32; 14] = [0, 1, 9, 12, 14, 50, 51, 101, 108, 113, 228, 229, 276, 999];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let linktype = LINKTYPES[usize::from(pick) % LINKTYPES.len()];
    let extra = u32::from(pick >> 4);
    let frame = rest;
    let d = decode_frame(linktype, frame, frame.len() as u32 + extra);
    if let Some(e) = d.error {
        assert!(e.offset <= frame.len(), "{e:?} beyond {}", frame.len());
        assert_eq!(DecodeLayer::from_id(e.layer.as_str()), Some(e.layer));
        assert_eq!(DecodeReason::from_id(e.reason.as_str()), Some(e.reason));
    }
    for a in d.anomalies.iter() {
        assert_eq!(Anomaly::from_id(a.as_str()), Some(a));
    }
});
