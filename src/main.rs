//! voipwatch CLI (being built).
fn main() {
    let r = voipwatch_core::analyzer::analyze_bytes(Default::default(), &[]);
    print!("{}", r.to_json());
}
