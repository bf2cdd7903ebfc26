//! Entering a tunnel: the inner packet replaces the outer one when it decodes; when it does
//! not, the outer flow is kept and the anomaly `tunnel_inner_undecodable` says why.
//!
//! Nesting is capped at [`MAX_TUNNEL_DEPTH`]: beyond it the packet is reported at the deepest
//! tunnel allowed, with the anomaly `tunnel_depth_exceeded`.

use super::{Cx, L4, MAX_TUNNEL_DEPTH};
use crate::model::Anomaly;

/// Decodes a tunnel's inner packet with `inner`. `name` is the encapsulation reported in
/// `Decoded::tunnel` (the innermost one wins when tunnels nest).
pub(crate) fn run<'a>(cx: &mut Cx<'a>, name: &'static str, inner: impl FnOnce(&mut Cx<'a>)) {
    if cx.depth >= MAX_TUNNEL_DEPTH {
        cx.d.anomalies.add(Anomaly::TunnelDepthExceeded);
        return;
    }
    let outer = cx.d;
    cx.d.net = None;
    cx.d.l4 = L4::None;
    cx.d.error = None;
    cx.d.tunnel = Some(name);
    cx.depth += 1;
    inner(cx);
    cx.depth -= 1;
    if cx.d.net.is_some() {
        return;
    }
    // The inner packet is not IP: keep the outer flow. Only a failure is an anomaly; a
    // valid non-IP payload (ARP inside VXLAN, a GRE keepalive) is not.
    let failed = cx.d.error.is_some();
    let vlan = cx.d.vlan;
    cx.d = outer;
    cx.d.vlan = vlan;
    if failed {
        cx.d.anomalies.add(Anomaly::TunnelInnerUndecodable);
    }
}

#[cfg(test)]
mod tests {
    use super::run;
    use crate::decode::{Cx, DecodeError, Decoded, L4, MAX_TUNNEL_DEPTH};
    use crate::model::{DecodeLayer, DecodeReason};

    fn outer_cx() -> Cx<'static> {
        let mut d = Decoded::empty();
        d.l4 = L4::Other;
        d.vlan = 7;
        Cx {
            d,
            snap_short: false,
            depth: 0,
            layers: 0,
        }
    }

    #[test]
    fn failed_inner_restores_outer_with_anomaly() {
        let mut cx = outer_cx();
        run(&mut cx, "gre", |cx| {
            cx.fail(DecodeLayer::Ipv4, 40, DecodeReason::Truncated)
        });
        assert_eq!(
            (cx.d.l4, cx.d.tunnel, cx.d.error, cx.d.vlan),
            (L4::Other, None, None, 7)
        );
        assert_eq!(
            cx.d.anomalies
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>(),
            ["tunnel_inner_undecodable"]
        );
        assert_eq!(cx.depth, 0);
    }

    #[test]
    fn non_ip_inner_restores_outer_silently() {
        let mut cx = outer_cx();
        run(&mut cx, "vxlan", |_| {});
        assert_eq!((cx.d.l4, cx.d.tunnel), (L4::Other, None));
        assert!(cx.d.anomalies.is_empty());
    }

    #[test]
    fn inner_ip_wins_and_keeps_its_error() {
        let mut cx = outer_cx();
        let pkt = crate::testkit::frames::ipv4(6, [1, 1, 1, 1], [2, 2, 2, 2], &[]);
        let inner = crate::decode::decode(228, &pkt);
        run(&mut cx, "ipip", |cx| {
            cx.d.net = inner.net;
            cx.fail(DecodeLayer::Tcp, 20, DecodeReason::BadDataOffset);
        });
        assert_eq!(cx.d.tunnel, Some("ipip"));
        assert_eq!(cx.d.net, inner.net);
        assert_eq!(
            cx.d.error,
            Some(DecodeError {
                layer: DecodeLayer::Tcp,
                offset: 20,
                reason: DecodeReason::BadDataOffset
            })
        );
    }

    #[test]
    fn depth_cap() {
        let mut cx = outer_cx();
        cx.depth = MAX_TUNNEL_DEPTH;
        let mut entered = false;
        run(&mut cx, "gre", |_| entered = true);
        assert!(!entered);
        assert_eq!(
            cx.d.anomalies
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>(),
            ["tunnel_depth_exceeded"]
        );
    }
}
