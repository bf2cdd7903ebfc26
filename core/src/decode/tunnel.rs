//! Entering a tunnel: the inner packet replaces the outer one when it decodes; when it does
//! not, the outer flow is kept and the anomaly `tunnel_inner_undecodable` says why.
//!
//! Nesting is capped at [`MAX_TUNNEL_DEPTH`]: beyond it the packet is reported at the deepest
//! tunnel allowed, with the anomaly `tunnel_depth_exceeded`.

use super::{Cx, L4, MAX_TUNNEL_DEPTH};

/// Decodes a tunnel's inner packet with `inner`. `name` is the encapsulation reported in
/// `Decoded::tunnel` (the innermost one wins when tunnels nest).
pub(crate) fn run<'a>(cx: &mut Cx<'a>, name: &'static str, inner: impl FnOnce(&mut Cx<'a>)) {
    if cx.depth >= MAX_TUNNEL_DEPTH {
        cx.d.anomalies.add("tunnel_depth_exceeded");
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
        cx.d.anomalies.add("tunnel_inner_undecodable");
    }
}
