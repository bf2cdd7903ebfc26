//! The speed floor for `benches/peers.sh`: one walk over a classic little-endian pcap's record
//! headers, touching each Ethernet/IPv4 packet's addresses and ports (no decoding, no flows).
//! Whatever voipwatch does on top of this is what its analysis costs.

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: floor CAPTURE.pcap");
        std::process::exit(2);
    };
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let mut off = 24usize;
    let (mut packets, mut acc) = (0u64, 0u64);
    while let Some(hdr) = data.get(off..off + 16) {
        let incl = u32::from_le_bytes([hdr[8], hdr[9], hdr[10], hdr[11]]) as usize;
        let Some(frame) = data.get(off + 16..off + 16 + incl) else {
            break;
        };
        if let Some(ip) = frame.get(26..38) {
            acc = acc.wrapping_add(u64::from(u32::from_be_bytes([ip[0], ip[1], ip[2], ip[3]])))
                ^ u64::from(u32::from_be_bytes([ip[8], ip[9], ip[10], ip[11]]));
        }
        packets += 1;
        off += 16 + incl;
    }
    println!("{packets} packets, checksum {acc}");
}
