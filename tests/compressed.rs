//! Issue 13 item 8: compressed captures. Every shipped capture, compressed on the fly with
//! gzip and zstd (in-process encoders, and the gzip/zstd tools when installed), gives the
//! byte-identical JSON of the plain file, however the compressed bytes are chunked; a cut
//! .gz or .zst gives a partial report naming the problem; bombs stream with bounded memory;
//! other compressed formats are named in the error.

use crate::golden::captures;
use std::io::Write;
use std::process::{Command, Stdio};
use voipwatch_core::{Analyzer, Config};

/// One gzip member (RFC 1952) of `data`, with a file name in the header as `gzip` writes it.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3];
    out.extend_from_slice(b"capture.pcap\0");
    out.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(data, 6));
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// One zstd frame of `data` (ruzstd's encoder).
pub fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

fn analyze(name: &str, data: &[u8], chunk: usize) -> (String, voipwatch_core::Report) {
    let mut a = Analyzer::new(Config {
        name: name.into(),
        ..Default::default()
    });
    for c in data.chunks(chunk.max(1)) {
        if a.push(c).is_err() {
            break;
        }
    }
    let r = a.finish();
    (r.to_json(), r)
}

/// `tool args` with `data` on stdin, or None when the tool is not installed.
fn pipe(tool: &str, args: &[&str], data: &[u8]) -> Option<Vec<u8>> {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let data = data.to_vec();
    let w = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().ok()?;
    w.join().ok()?.ok()?;
    out.status.success().then_some(out.stdout)
}

#[test]
fn issue_13_compressed_captures_give_the_plain_json() {
    let all = captures();
    assert!(all.len() > 10);
    for (i, p) in all.iter().enumerate() {
        let plain = std::fs::read(p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let (want, _) = analyze(&name, &plain, 1 << 20);
        // An odd chunk size that cuts headers, blocks and records anywhere.
        let chunk = [4093, 65_536, 1 << 20, 777][i % 4];
        for (codec, packed) in [("gzip", gzip(&plain)), ("zstd", zstd(&plain))] {
            let (got, _) = analyze(&name, &packed, chunk);
            if got != want {
                let d = std::env::temp_dir();
                std::fs::write(d.join(format!("{name}.want.json")), &want).unwrap();
                std::fs::write(d.join(format!("{name}.{codec}.got.json")), &got).unwrap();
            }
            assert!(
                got == want,
                "{name}: {codec} (chunks of {chunk}) changed the report"
            );
        }
    }
}

#[test]
fn issue_13_gzip_and_zstd_tool_output_and_multi_member_streams() {
    let p = &captures()[0];
    let plain = std::fs::read(p).unwrap();
    let (want, _) = analyze("x", &plain, 1 << 20);
    let mut streams = vec![
        // Two gzip members and two zstd frames with a skippable frame between them.
        [gzip(&plain[..1000]), gzip(&plain[1000..])].concat(),
        [
            zstd(&plain[..5000]),
            vec![0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3],
            zstd(&plain[5000..]),
        ]
        .concat(),
    ];
    let mut tools = 0;
    for (tool, args) in [("gzip", &["-9c"][..]), ("zstd", &["-19", "-c", "-q"][..])] {
        if let Some(out) = pipe(tool, args, &plain) {
            streams.push(out);
            tools += 1;
        }
    }
    for (i, s) in streams.iter().enumerate() {
        for chunk in [1, 13, 1 << 20] {
            if chunk == 1 && s.len() > 300_000 {
                continue;
            }
            let (got, _) = analyze("x", s, chunk);
            assert!(got == want, "stream {i} in chunks of {chunk} differs");
        }
    }
    if tools < 2 {
        eprintln!("gzip or zstd tool absent: checked the in-process encoders only");
    }
}

#[test]
fn issue_13_truncated_compressed_capture_is_partial_with_the_problem_named() {
    let p = captures()
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .unwrap();
    let plain = std::fs::read(&p).unwrap();
    let (_, full) = analyze("x", &plain, 1 << 20);
    for (codec, packed) in [("gzip", gzip(&plain)), ("zstd", zstd(&plain))] {
        let cut = &packed[..packed.len() * 3 / 5];
        let (_, r) = analyze("x", cut, 65_536);
        let err = r.capture.error.clone().unwrap_or_default();
        assert!(!r.capture.complete, "{codec}: {err}");
        assert!(
            err.contains(codec) && err.contains("cut short"),
            "{codec}: {err}"
        );
        assert!(
            r.capture.packets > 0 && r.capture.packets < full.capture.packets,
            "{codec}: {} of {} packets",
            r.capture.packets,
            full.capture.packets
        );
    }
    // A flipped byte in the deflate data or the CRC is named too.
    let mut bad = gzip(&plain);
    let n = bad.len();
    bad[n - 6] ^= 0xff;
    let (_, r) = analyze("x", &bad, 65_536);
    let err = r.capture.error.unwrap_or_default();
    assert!(err.contains("CRC-32 mismatch"), "{err}");
}

#[test]
fn issue_13_other_compressions_are_named() {
    for (head, name, how) in [
        (&b"\xfd7zXZ\x00\x00\x04"[..], "xz", "xz -d"),
        (b"BZh91AY&SY", "bzip2", "bunzip2"),
        (b"\x04\x22\x4d\x18\x64\x40", "lz4", "lz4 -d"),
        (b"PK\x03\x04\x14\x00", "zip", "unzip"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "7z", "7z x"),
    ] {
        let (_, r) = analyze("x", head, 3);
        let err = r.capture.error.unwrap_or_default();
        assert!(
            err.contains(&format!("a {name}-compressed file")) && err.contains(how),
            "{err}"
        );
    }
}

/// The pcap global header of a capture whose records carry 65,535-byte frames.
fn pcap_header() -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    h.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    h.extend_from_slice(&65_535u32.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    h
}

/// One record of 65,535 zero bytes at second `t`.
fn zero_record(t: u32) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(&t.to_le_bytes());
    r.extend_from_slice(&[0; 4]);
    r.extend_from_slice(&65_535u32.to_le_bytes());
    r.extend_from_slice(&65_535u32.to_le_bytes());
    r.resize(16 + 65_535, 0);
    r
}

/// Peak RSS (VmHWM, kB) of `voipwatch analyze FILE`, polled from /proc while it runs.
fn peak_rss_kb(file: &std::path::Path) -> (u64, std::process::Output) {
    let child = Command::new(env!("CARGO_BIN_EXE_voipwatch"))
        .args(["analyze", "--format", "json"])
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d2 = done.clone();
    let poll = std::thread::spawn(move || {
        let mut peak = 0u64;
        while !d2.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok(s) = std::fs::read_to_string(&status) {
                if let Some(kb) = s
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    peak = peak.max(kb);
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        peak
    });
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    (poll.join().unwrap(), out)
}

#[test]
fn issue_13_gzip_and_zstd_bombs_stream_with_bounded_memory() {
    // 8,192 records of 64 KiB zeros: 512 MiB of capture from about 1 MiB of gzip (one member
    // per record, so the bomb is built without compressing 512 MiB here) or zstd.
    const RECORDS: u32 = 8192;
    let dir = std::env::temp_dir().join(format!("voipwatch-bomb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rec = zero_record(1_700_000_000);
    for (ext, pack) in [("gz", gzip as fn(&[u8]) -> Vec<u8>), ("zst", zstd)] {
        let unit = pack(&rec);
        let mut bomb = pack(&pcap_header());
        for _ in 0..RECORDS {
            bomb.extend_from_slice(&unit);
        }
        let path = dir.join(format!("bomb.pcap.{ext}"));
        std::fs::write(&path, &bomb).unwrap();
        let t = std::time::Instant::now();
        let (peak_kb, out) = peak_rss_kb(&path);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        eprintln!(
            "{ext} bomb: {} compressed bytes -> {} capture bytes, {} packets, peak RSS {} MB, {:.1} s",
            bomb.len(),
            v["capture"]["file_bytes"],
            v["capture"]["packets"],
            peak_kb / 1024,
            t.elapsed().as_secs_f64()
        );
        assert_eq!(v["capture"]["packets"], u64::from(RECORDS));
        assert_eq!(v["capture"]["complete"], true);
        assert!(peak_kb < 96 * 1024, "{ext} bomb peaked at {peak_kb} kB");
    }
}

#[test]
fn issue_13_cli_reads_a_gz_file_like_the_plain_one() {
    let p = &captures()[1];
    let plain = std::fs::read(p).unwrap();
    let dir = std::env::temp_dir().join(format!("voipwatch-gz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let gz = dir.join("same.pcap.gz");
    std::fs::write(&gz, gzip(&plain)).unwrap();
    let run = |f: &std::path::Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_voipwatch"))
            .args(["analyze", "--format", "json"])
            .arg(f)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["capture"]["name"] = serde_json::Value::Null;
        v
    };
    assert_eq!(run(p), run(&gz));
}

#[test]
fn issue_13_corrupt_compressed_data_gives_the_same_report_whatever_the_chunking() {
    let plain = std::fs::read(&captures()[2]).unwrap();
    for (codec, mut packed) in [("gzip", gzip(&plain)), ("zstd", zstd(&plain))] {
        let at = packed.len() / 2;
        packed[at] ^= 0x5a;
        packed[at + 1] ^= 0xa5;
        let (want, r) = analyze("x", &packed, usize::MAX);
        assert!(!r.capture.complete, "{codec}: flipped bytes went unnoticed");
        for chunk in [1, 13, 4093, 65_536] {
            let (got, _) = analyze("x", &packed, chunk);
            assert!(
                got == want,
                "{codec}: chunks of {chunk} changed the report:\n{got}\nvs\n{want}"
            );
        }
    }
}

/// Inputs the fuzzers found (issue 13 item 10), replayed whole and in small chunks.
#[test]
fn issue_13_fuzz_finds_replay_the_same_whatever_the_chunking() {
    let finds: &[&[u8]] = &[
        // gzip header with reserved flag bits: the error named a byte count that depended on
        // how many header bytes had arrived.
        &[
            31, 139, 8, 250, 255, 0, 0, 8, 2, 3, 187, 114, 120, 211, 66, 38, 6, 22, 65, 229, 96,
            97, 96, 4, 146, 175, 119, 172, 121, 13, 43, 67, 54, 80, 18, 132, 33, 6, 66, 12, 7, 27,
            235, 89, 171, 227, 192, 6, 244, 144, 117, 32, 157, 82, 72, 58, 81, 252, 214, 2, 0, 0,
        ],
        // compress (.Z) magic: the error quoted as many first bytes as had arrived.
        &[31, 157, 157, 157, 157, 157, 31, 139, 8, 0],
    ];
    for (i, f) in finds.iter().enumerate() {
        let (want, _) = analyze("x", f, usize::MAX);
        for chunk in 1..8 {
            let (got, _) = analyze("x", f, chunk);
            assert!(
                got == want,
                "find {i}, chunks of {chunk}:\n{got}\nvs\n{want}"
            );
        }
    }
}

/// The frames of a pcapng file: (frame, data).
fn frames_of(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut r = voipwatch_core::capture::CaptureReader::new();
    let mut v = Vec::new();
    let _ = r.push(bytes, |p| v.push((p.frame, p.data.to_vec())));
    v
}

#[test]
fn issue_13_evidence_pack_from_a_zst_capture_holds_the_same_frames() {
    let p =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/rst_injection_race.pcap");
    let plain = std::fs::read(&p).unwrap();
    let dir = std::env::temp_dir().join(format!("voipwatch-ev-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let zst = dir.join("race.pcap.zst");
    std::fs::write(&zst, zstd(&plain)).unwrap();
    let pack = |f: &std::path::Path, out: &str| {
        let out = dir.join(out);
        let o = Command::new(env!("CARGO_BIN_EXE_voipwatch"))
            .arg("evidence")
            .arg(f)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        frames_of(&std::fs::read(out).unwrap())
    };
    let a = pack(&p, "plain.pcapng");
    assert!(!a.is_empty());
    assert_eq!(a, pack(&zst, "zst.pcapng"));
}
