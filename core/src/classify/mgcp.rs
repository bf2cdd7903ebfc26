//! MGCP (RFC 3435): text commands `VERB transaction-id endpoint MGCP 1.0` and responses
//! `NNN transaction-id`, over UDP (ports 2427/2727 by convention, any port accepted).
//! A command line must end with `MGCP 1.0` (optionally followed by a profile name); a
//! response needs a 3-digit code and a numeric transaction id and is only accepted on a flow
//! already seen carrying a command. CRCX (create connection) is call evidence.

use super::{Classifier, Confidence, Ctx, FlowInfo, FlowLabels, Outcome, Pkt};
use super::{Protocol, Scratch};

const VERBS: &[&[u8]] = &[
    b"EPCF", b"CRCX", b"MDCX", b"DLCX", b"RQNT", b"NTFY", b"AUEP", b"AUCX", b"RSIP", b"MESG",
];

/// True when the first line is an MGCP command.
pub fn is_command(b: &[u8]) -> bool {
    let end = b
        .iter()
        .take(256)
        .position(|c| *c == b'\r' || *c == b'\n')
        .unwrap_or(b.len().min(256));
    let Some(line) = b.get(..end) else {
        return false;
    };
    VERBS
        .iter()
        .any(|v| line.starts_with(v) && line.get(4) == Some(&b' '))
        && line.windows(9).any(|w| w == b" MGCP 1.0")
}

/// The MGCP classifier.
pub struct Mgcp;

impl Classifier for Mgcp {
    type State = ();
    fn id(&self) -> &'static str {
        "mgcp"
    }
    fn budget(&self) -> u32 {
        8
    }
    fn wants(&self, f: &FlowInfo, _c: &FlowLabels) -> bool {
        f.is_udp()
    }
    fn inspect(&self, cx: &mut Ctx<'_>, _st: &mut Scratch<()>, p: &Pkt<'_>) -> Outcome {
        if is_command(p.payload) {
            cx.class.add_protocol(Protocol::Mgcp);
            cx.class.raise(Confidence::High);
            cx.class
                .add_evidence(format!("MGCP command in frame {}", p.frame));
            if p.payload.starts_with(b"CRCX") {
                cx.class.mark_call("MGCP CRCX (create connection)");
            }
            return Outcome::NeedMore;
        }
        if cx.class.has_protocol(Protocol::Mgcp) || p.nth < 3 {
            Outcome::NeedMore
        } else {
            Outcome::NoMatch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        assert!(is_command(b"RQNT 1 *@gateway44.myplace.com MGCP 1.0\r\n"));
        assert!(is_command(
            b"CRCX 1204 aaln/1@rgw.whatever.net MGCP 1.0 NCS 1.0\n"
        ));
        assert!(!is_command(b"RQNTX 1 x MGCP 1.0"));
        assert!(!is_command(b"RQNT 1 x SIP/2.0"));
    }
}
