//! Cisco Skinny (SCCP) over TCP: each message is a little-endian 32-bit length, a 32-bit
//! header version (0, 0x11, 0x12, 0x14, 0x16 or 0x17 seen in Cisco firmware and Wireshark's
//! dissector), and a little-endian 32-bit message id, the length covering id + body.
//! Accepted when the first message's length is 4…2048, fits the segment or is followed by
//! more segments, and the message id is a known range (0x0000–0x0160 station → manager,
//! 0x8000–0x8160 manager → station). Port 2000 is not required.

use super::{Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};
use super::{Protocol, Scratch};

fn le32(b: &[u8], o: usize) -> Option<u32> {
    crate::wire::array(b, o).map(u32::from_le_bytes)
}

/// The message id when `b` starts with a Skinny message.
pub fn message_id(b: &[u8]) -> Option<u32> {
    let len = le32(b, 0)?;
    let ver = le32(b, 4)?;
    let id = le32(b, 8)?;
    if !(4..=2048).contains(&len) || !matches!(ver, 0 | 0x11 | 0x12 | 0x14 | 0x16 | 0x17) {
        return None;
    }
    if (len as usize).checked_add(8)? > b.len() && b.len() < 1200 {
        return None;
    }
    (id <= 0x160 || (0x8000..=0x8160).contains(&id)).then_some(id)
}

/// The SCCP classifier.
/// Per-flow state: Skinny messages seen.
#[derive(Debug, Default)]
pub struct SccpState {
    messages: u8,
}

pub struct Sccp;

impl Classifier for Sccp {
    type State = SccpState;
    fn id(&self) -> &'static str {
        "skinny"
    }
    fn budget(&self) -> u32 {
        4
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_tcp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, st: &mut Scratch<SccpState>, p: &Pkt<'_>) -> Outcome {
        match message_id(p.payload) {
            Some(id) => {
                let st = &mut st.or_default().messages;
                *st = st.saturating_add(1);
                // Register (0x0001) or two messages in a row.
                if id == 0x0001 || *st >= 2 {
                    cx.class.add_protocol(Protocol::Skinny);
                    cx.class.raise(Confidence::High);
                    cx.class
                        .add_evidence(format!("Skinny message 0x{id:04x} in frame {}", p.frame));
                    return Outcome::Match;
                }
                Outcome::NeedMore
            }
            None => Outcome::NoMatch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register() {
        let b = [0x08, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(message_id(&b), Some(2));
        let bad = [0x08, 0, 0, 0, 9, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(message_id(&bad), None);
        assert_eq!(message_id(&b[..15]), None);
    }
}
