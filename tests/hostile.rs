//! Issue 13 item 4: output that cannot be used against the reader. A generated capture whose
//! DNS name carries ESC sequences, CR/LF, NUL, an 8-bit CSI and a backslash, saved under a
//! file name with U+202E, goes through the real CLI; the text must show every byte as a
//! visible escape, the JSON must keep the exact name (serde escapes the controls), and the page
//! must never parse capture strings as HTML.

use crate::util;
use std::net::Ipv4Addr;
use std::process::Command;

/// The hostile first label: clear screen, home, a forged "all clear" line, NUL, 8-bit CSI,
/// DEL and a backslash that must not be mistaken for an escape.
const LABEL: &[u8] = b"\x1b[2J\x1b[H\r\nVerdict: OK\x00\x9b31m\x7f\\x1b";

/// A DNS message for `labels` (query, or a response with one A record).
fn dns(id: u16, labels: &[&[u8]], answer: Option<[u8; 4]>) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(if answer.is_some() {
        &[0x81, 0x80]
    } else {
        &[0x01, 0x00]
    });
    m.extend_from_slice(&[0, 1, 0, u8::from(answer.is_some()), 0, 0, 0, 0]);
    for l in labels {
        m.push(l.len() as u8);
        m.extend_from_slice(l);
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    if let Some(a) = answer {
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        m.extend_from_slice(&a);
    }
    m
}

/// A capture with one DNS query for a hostile name under whatsapp.net and its answer; the
/// flow's server name (`sni`, shown in the flows table) is that name.
pub fn hostile_dns_capture() -> Vec<u8> {
    let c = Ipv4Addr::new(10, 0, 0, 5);
    let r = Ipv4Addr::new(10, 0, 0, 53);
    let labels: &[&[u8]] = &[LABEL, b"g", b"whatsapp", b"net"];
    let t0 = 1_700_000_000.0;
    util::pcap(&[
        (
            t0,
            util::frame(17, (c, 53000), (r, 53), None, &dns(7, labels, None)),
        ),
        (
            t0 + 0.02,
            util::frame(
                17,
                (r, 53),
                (c, 53000),
                None,
                &dns(7, labels, Some([127, 0, 0, 1])),
            ),
        ),
    ])
}

/// The hostile name as the DNS parser reads it (each byte a char, lowercased).
fn hostile_name() -> String {
    let mut s: String = LABEL
        .iter()
        .map(|b| b.to_ascii_lowercase() as char)
        .collect();
    s.push_str(".g.whatsapp.net");
    s
}

fn write(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("voipwatch-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// No byte a terminal acts on: C0 controls but LF, DEL, C1, bidi and separator characters.
fn assert_terminal_safe(text: &str) {
    for (i, line) in text.lines().enumerate() {
        for c in line.chars() {
            assert!(
                !(c.is_control()
                    || matches!(c, '\u{61c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')),
                "line {i} holds U+{:04X}: {line:?}",
                u32::from(c)
            );
        }
    }
}

#[test]
fn issue_13_hostile_strings_are_escaped_in_text_output() {
    let p = write("call\u{202e}gnp.pcap", &hostile_dns_capture());
    let out = Command::new(env!("CARGO_BIN_EXE_voipwatch"))
        .args(["analyze", "--format", "text", p.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_terminal_safe(&text);
    assert!(
        text.contains("\\x1b[2j\\x1b[h\\r\\nverdict: ok\\0\\u{9b}31m\\x7f\\\\x1b.g.whatsapp.net"),
        "the name is not shown escaped:\n{text}"
    );
    assert!(text.contains("call\\u{202e}gnp.pcap"), "{text}");
    // The forged line did not become a line of its own.
    assert!(!text.lines().any(|l| l.starts_with("verdict: ok")));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_terminal_safe(&err);
}

#[test]
fn issue_13_json_keeps_the_exact_name_with_controls_escaped() {
    let p = write("hostile-json.pcap", &hostile_dns_capture());
    let out = Command::new(env!("CARGO_BIN_EXE_voipwatch"))
        .args(["analyze", "--format", "json", p.to_str().unwrap()])
        .output()
        .unwrap();
    // No raw C0 byte (ESC, CR, LF inside a string, NUL) anywhere but the JSON's own newlines.
    assert!(
        !out.stdout.iter().any(|b| *b < 0x20 && *b != b'\n'),
        "raw control byte in the JSON"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["flows"][0]["sni"].as_str(), Some(hostile_name().as_str()));
}

#[test]
fn issue_13_page_builds_its_dom_without_html_parsing() {
    // The page shows report strings through textContent (and attributes through setAttribute);
    // any HTML-parsing sink would let a capture string become markup.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let mut checked = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "js") {
            let src = std::fs::read_to_string(&p).unwrap();
            for sink in [
                ".innerHTML",
                ".outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "createContextualFragment",
                "DOMParser",
                "eval(",
                "new Function",
                "srcdoc",
            ] {
                let code: String = src
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                assert!(
                    !code.contains(sink),
                    "{} uses {sink}: capture strings could become markup",
                    p.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "web/*.js not found");
}

#[test]
fn issue_13_compare_lists_hostile_server_names_escaped() {
    let p = write("hostile-compare.pcap", &hostile_dns_capture());
    let out = Command::new(env!("CARGO_BIN_EXE_voipwatch"))
        .args([
            "compare",
            p.to_str().unwrap(),
            "--target",
            "sni=x",
            "--control",
            "largest",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_terminal_safe(&err);
    assert!(err.contains("server names seen: \\x1b[2j"), "{err}");
}
