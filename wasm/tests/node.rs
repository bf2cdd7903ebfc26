//! Bindings tests, run in Node by wasm-bindgen-test-runner:
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!  cargo test -p voipwatch-wasm --target wasm32-unknown-unknown`
#![cfg(target_arch = "wasm32")]

use voipwatch_wasm::{apps, compare, Analyzer, Sha256};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

/// A classic little-endian microsecond pcap (Ethernet) with two UDP packets of one flow,
/// one each way, built from literal header bytes.
fn tiny_pcap() -> Vec<u8> {
    let mut v = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ];
    for (i, (src, dst, sp, dp)) in [
        ([10, 0, 0, 1], [10, 0, 0, 2], 40000u16, 3478u16),
        ([10, 0, 0, 2], [10, 0, 0, 1], 3478, 40000),
    ]
    .into_iter()
    .enumerate()
    {
        let payload = [0u8; 8];
        let udp_len = 8 + payload.len() as u16;
        let ip_len = 20 + udp_len;
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&[
            0x45,
            0,
            (ip_len >> 8) as u8,
            ip_len as u8,
            0,
            1,
            0x40,
            0,
            64,
            17,
            0,
            0,
        ]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&sp.to_be_bytes());
        f.extend_from_slice(&dp.to_be_bytes());
        f.extend_from_slice(&udp_len.to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(&payload);
        let ts_sec: u32 = 1_700_000_000 + i as u32;
        v.extend_from_slice(&ts_sec.to_le_bytes());
        v.extend_from_slice(&(250_000u32 * i as u32).to_le_bytes());
        v.extend_from_slice(&(f.len() as u32).to_le_bytes());
        v.extend_from_slice(&(f.len() as u32).to_le_bytes());
        v.extend_from_slice(&f);
    }
    v
}

fn native_json(name: &str, data: &[u8]) -> String {
    let cfg = voipwatch_core::Config {
        name: name.into(),
        ..Default::default()
    };
    voipwatch_core::analyzer::analyze_bytes(cfg, data).to_json()
}

fn error_message(e: wasm_bindgen::JsError) -> String {
    let v: JsValue = e.into();
    v.dyn_into::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_default()
}

fn num(o: &JsValue, k: &str) -> f64 {
    js_sys::Reflect::get(o, &JsValue::from_str(k))
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(-1.0)
}

#[wasm_bindgen_test]
fn finish_equals_the_engine_json_whatever_the_chunking() {
    let data = tiny_pcap();
    let expected = native_json("tiny.pcap", &data);
    assert!(
        expected.ends_with("}\n"),
        "report JSON ends with a newline: {expected}"
    );
    for chunk in [1usize, 7, 24, 1 << 20] {
        let mut a = Analyzer::new(JsValue::from_str("tiny.pcap"))
            .map_err(error_message)
            .unwrap();
        for c in data.chunks(chunk) {
            a.push(c).map_err(error_message).unwrap();
        }
        let got = a.finish().map_err(error_message).unwrap();
        assert_eq!(got, expected, "chunk size {chunk}");
    }
}

/// Issue 13 item 5: the report leaves the engine in parts that join to the exact JSON, the
/// view is the report without flows, and the flows come a page at a time.
#[wasm_bindgen_test]
fn end_streams_the_json_in_parts_and_pages_the_flows() {
    let data = tiny_pcap();
    let expected = native_json("tiny.pcap", &data);
    let mut a = Analyzer::new(JsValue::from_str("tiny.pcap"))
        .map_err(error_message)
        .unwrap();
    a.push(&data).map_err(error_message).unwrap();
    assert_eq!(a.end().map_err(error_message).unwrap(), 1);
    let parts = js_sys::Array::new();
    let sink: js_sys::Function = js_sys::Function::new_with_args("parts, p", "parts.push(p)")
        .bind1(&JsValue::NULL, &parts)
        .unchecked_into();
    a.write_json(&sink, 0).map_err(error_message).unwrap();
    let mut got = Vec::new();
    for p in parts.iter() {
        got.extend(p.dyn_into::<js_sys::Uint8Array>().unwrap().to_vec());
    }
    assert_eq!(String::from_utf8(got).unwrap(), expected);
    let view: serde_json::Value =
        serde_json::from_str(&a.view().map_err(error_message).unwrap()).unwrap();
    let full: serde_json::Value = serde_json::from_str(&expected).unwrap();
    assert_eq!(view["capture"], full["capture"]);
    assert_eq!(view["flow_count"], 1);
    assert!(view.get("flows").is_none());
    let page: serde_json::Value = serde_json::from_str(
        &a.flow_page("", "all", "id", true, 0, 500)
            .map_err(error_message)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(page["matching"], 1);
    assert_eq!(page["rows"][0], full["flows"][0]);
    let none: serde_json::Value = serde_json::from_str(
        &a.flow_page("zzz", "all", "id", true, 0, 500)
            .map_err(error_message)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(none["matching"], 0);
    assert_eq!(error_message(a.end().unwrap_err()), "finish called twice");
}

/// Issue 13: a gzip- or zstd-compressed capture gives the plain capture's JSON in wasm.
#[wasm_bindgen_test]
fn compressed_captures_give_the_plain_json() {
    let data = tiny_pcap();
    let expected = native_json("tiny.pcap", &data);
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    gz.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(&data, 6));
    gz.extend_from_slice(&crc32fast::hash(&data).to_le_bytes());
    gz.extend_from_slice(&(data.len() as u32).to_le_bytes());
    let zst = ruzstd::encoding::compress_to_vec(
        data.as_slice(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    for packed in [gz, zst] {
        for chunk in [1usize, 7, 1 << 20] {
            let mut a = Analyzer::new(JsValue::from_str("tiny.pcap"))
                .map_err(error_message)
                .unwrap();
            for c in packed.chunks(chunk) {
                a.push(c).map_err(error_message).unwrap();
            }
            let got = a.finish().map_err(error_message).unwrap();
            assert_eq!(got, expected, "chunk size {chunk}");
        }
    }
}

#[wasm_bindgen_test]
fn options_object_and_paths_give_the_bare_name() {
    let opts = js_sys::Object::new();
    js_sys::Reflect::set(&opts, &"name".into(), &"/some/dir/x.pcap".into()).unwrap();
    let mut a = Analyzer::new(opts.into()).map_err(error_message).unwrap();
    a.push(&tiny_pcap()).map_err(error_message).unwrap();
    let json = a.finish().map_err(error_message).unwrap();
    assert!(json.contains("\"name\": \"x.pcap\""), "{json}");
    assert!(!json.contains("/some/dir"), "{json}");
    let bad = Analyzer::new(JsValue::from_f64(3.0));
    assert!(bad.is_err());
    let bad_hint = js_sys::Object::new();
    js_sys::Reflect::set(&bad_hint, &"sizeHint".into(), &"big".into()).unwrap();
    assert_eq!(
        error_message(Analyzer::new(bad_hint.into()).err().unwrap()),
        "Analyzer options: 'sizeHint' must be a number"
    );
}

#[wasm_bindgen_test]
fn a_size_hint_grows_memory_once_and_changes_nothing_else() {
    let memory = || {
        wasm_bindgen::memory()
            .dyn_into::<js_sys::WebAssembly::Memory>()
            .unwrap()
            .buffer()
            .dyn_into::<js_sys::ArrayBuffer>()
            .unwrap()
            .byte_length()
    };
    let data = tiny_pcap();
    let hint = 24.0 * 1024.0 * 1024.0;
    let before = memory();
    let opts = js_sys::Object::new();
    js_sys::Reflect::set(&opts, &"name".into(), &"tiny.pcap".into()).unwrap();
    js_sys::Reflect::set(&opts, &"sizeHint".into(), &hint.into()).unwrap();
    let mut a = Analyzer::new(opts.into()).map_err(error_message).unwrap();
    let after = memory();
    assert!(
        f64::from(after) >= hint,
        "memory {after} covers the hint (was {before})"
    );
    a.push(&data).map_err(error_message).unwrap();
    assert_eq!(memory(), after, "no further growth for a small capture");
    assert_eq!(
        a.finish().map_err(error_message).unwrap(),
        native_json("tiny.pcap", &data)
    );
}

#[wasm_bindgen_test]
fn progress_counts_bytes_and_packets() {
    let data = tiny_pcap();
    let mut a = Analyzer::new(JsValue::from_str("p.pcap"))
        .map_err(error_message)
        .unwrap();
    let p0 = a.progress().map_err(error_message).unwrap();
    assert_eq!(num(&p0, "bytes"), 0.0);
    a.push(&data).map_err(error_message).unwrap();
    let p = a.progress().map_err(error_message).unwrap();
    assert_eq!(num(&p, "bytes"), data.len() as f64);
    let native = {
        let mut n = voipwatch_core::Analyzer::new(Default::default());
        n.push(&data).unwrap();
        n.progress()
    };
    assert_eq!(num(&p, "packets"), native.packets as f64);
    assert_eq!(num(&p, "flows"), native.flows as f64);
    a.finish().map_err(error_message).unwrap();
    // After finish, progress still answers with the last values; a second finish is an error.
    let p2 = a.progress().map_err(error_message).unwrap();
    assert_eq!(num(&p2, "bytes"), data.len() as f64);
    assert_eq!(
        error_message(a.finish().unwrap_err()),
        "finish called twice"
    );
    assert_eq!(
        error_message(a.push(&[0]).unwrap_err()),
        "push after finish"
    );
}

#[wasm_bindgen_test]
fn a_text_file_throws_the_engine_error_and_still_reports() {
    let text = b"this is not a capture, just some text\n";
    let mut a = Analyzer::new(JsValue::from_str("notes.txt"))
        .map_err(error_message)
        .unwrap();
    let err = a.push(text).map(|_| ()).map_err(error_message);
    // The engine decides where the error surfaces: at push, or at finish (as complete:false).
    let json = a.finish().map_err(error_message).unwrap();
    let mut native = voipwatch_core::Analyzer::new(voipwatch_core::Config {
        name: "notes.txt".into(),
        ..Default::default()
    });
    let native_err = native.push(text).map_err(|e| e.to_string());
    assert_eq!(err, native_err, "same error as the engine");
    assert_eq!(json, native.finish().to_json());
    // Once the engine reports the error (at push or at finish), the report says so.
    if err.is_err() {
        assert!(json.contains("\"complete\": false"), "{json}");
    }
}

#[wasm_bindgen_test]
fn apps_exports_the_engine_app_table() {
    let v: serde_json::Value = serde_json::from_str(&apps()).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), voipwatch_core::model::APPS.len());
    for (row, info) in rows.iter().zip(voipwatch_core::model::APPS) {
        assert_eq!(row["id"], info.id.as_str());
        assert_eq!(row["name"], info.name);
        assert_eq!(row["calls"], info.calls);
    }
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "fs")]
extern "C" {
    #[wasm_bindgen(js_name = readFileSync, catch)]
    fn read_file_sync(path: &str) -> Result<js_sys::Uint8Array, JsValue>;
    #[wasm_bindgen(js_name = readdirSync, catch)]
    fn readdir_sync(path: &str) -> Result<js_sys::Array, JsValue>;
}

/// The first byte offset where two reports differ, with a little context, for the message.
fn first_difference(a: &str, b: &str) -> String {
    let at = a
        .bytes()
        .zip(b.bytes())
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let ctx = |s: &str| {
        let hi = (at + 80).min(s.len());
        let lo = at.saturating_sub(80).min(hi);
        String::from_utf8_lossy(s.as_bytes().get(lo..hi).unwrap_or_default()).into_owned()
    };
    format!(
        "first difference at byte {at}:\n  wasm:   …{}…\n  native: …{}…",
        ctx(a),
        ctx(b)
    )
}

/// Every capture shipped in `captures/`, analysed by the wasm32 engine in Node, gives the exact
/// bytes of its golden report, which `tests/golden.rs` checks against the native engine. This is
/// the determinism promise of the page (same bytes in → same JSON out as `voipwatch analyze`)
/// checked without a browser, so float differences between the platforms' math libraries show
/// up here first.
#[wasm_bindgen_test]
fn every_shipped_capture_gives_its_native_golden_report() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let names = readdir_sync(&format!("{root}/captures")).expect("captures/ is readable");
    let mut names: Vec<String> = names
        .iter()
        .filter_map(|v| v.as_string())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "captures/ holds the reference captures");
    let mut failures = Vec::new();
    for name in &names {
        let data = read_file_sync(&format!("{root}/captures/{name}"))
            .expect("capture is readable")
            .to_vec();
        let Ok(golden) = read_file_sync(&format!("{root}/tests/golden/{name}.json")) else {
            failures.push(format!(
                "{name}: no golden report (tests/golden.rs writes it)"
            ));
            continue;
        };
        let golden = String::from_utf8(golden.to_vec()).expect("golden is UTF-8");
        let mut a = Analyzer::new(JsValue::from_str(name))
            .map_err(error_message)
            .unwrap();
        for c in data.chunks(64 * 1024) {
            if a.push(c).is_err() {
                break;
            }
        }
        let got = a.finish().map_err(error_message).unwrap();
        if got != golden {
            failures.push(format!("{name}: {}", first_difference(&got, &golden)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} captures differ between wasm32 and native:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

#[wasm_bindgen_test]
fn messages_give_the_verdicts_in_plain_french_and_arabic() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let data = read_file_sync(&format!("{root}/captures/udp_media_blackhole.pcap"))
        .expect("capture is readable")
        .to_vec();
    let mut a = Analyzer::new(JsValue::from_str("x.pcap"))
        .map_err(error_message)
        .unwrap();
    assert!(a.messages("fr").is_err(), "no messages before finish");
    a.push(&data).map_err(error_message).unwrap();
    a.finish().map_err(error_message).unwrap();
    let fr: serde_json::Value =
        serde_json::from_str(&a.messages("fr").map_err(error_message).unwrap()).unwrap();
    assert_eq!(
        fr["verdicts"][0]["headline"],
        "Les appels WhatsApp ont été bloqués."
    );
    assert_eq!(fr["verdicts"][0]["status"], "bloqué");
    assert!(fr["verdicts"][0]["because"]
        .as_str()
        .unwrap()
        .contains("rien n'est revenu"));
    let ar: serde_json::Value =
        serde_json::from_str(&a.messages("ar-MA").map_err(error_message).unwrap()).unwrap();
    assert_eq!(ar["verdicts"][0]["headline"], "حُظرت مكالمات WhatsApp.");
    assert!(a.messages("xx").is_err());
}

#[wasm_bindgen_test]
fn sha256_matches_the_known_digest_whatever_the_chunking() {
    let data: Vec<u8> = b"abc".to_vec();
    let mut h = Sha256::new();
    h.update(&data);
    assert_eq!(
        h.hex(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let long: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let mut a = Sha256::new();
    a.update(&long);
    let whole = a.hex();
    let mut b = Sha256::new();
    for c in long.chunks(4093) {
        b.update(c);
    }
    assert_eq!(b.hex(), whole);
}

/// The page's comparison gives the bytes of `voipwatch compare T C --format json`, which
/// `tests/cli.rs` pins as `tests/golden/compare_target_vs_control.json`.
#[wasm_bindgen_test]
fn compare_of_two_captures_equals_the_cli_document() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let side = |name: &str| {
        let data = read_file_sync(&format!("{root}/captures/{name}"))
            .expect("capture is readable")
            .to_vec();
        let mut a = Analyzer::new(JsValue::from_str(name))
            .map_err(error_message)
            .unwrap();
        a.push(&data).map_err(error_message).unwrap();
        a.finish_side().map_err(error_message).unwrap()
    };
    let (t, c) = (side("compare_target.pcap"), side("compare_control.pcap"));
    let got = compare(&t, &c, "", "largest")
        .map_err(error_message)
        .unwrap();
    let want = read_file_sync(&format!(
        "{root}/tests/golden/compare_target_vs_control.json"
    ))
    .expect("the CLI's compare golden exists");
    assert_eq!(got, String::from_utf8(want.to_vec()).unwrap());
    let err = compare(&t, &c, "sni=nothing.example", "").map_err(error_message);
    assert!(err.unwrap_err().contains("matches no flow"));
}
