//! `voipwatch serve`: the upload-and-check page served from the binary (owned by the web stream).

/// Serves the embedded page on 127.0.0.1:`port` until interrupted.
pub fn run(port: u16) -> Result<(), String> {
    Err(format!("serve on port {port}: the page is not embedded in this build yet"))
}
