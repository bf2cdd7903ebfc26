//! HTTP/1.x start lines (RFC 9112 §3, §4): a request line's method, a status line's code;
//! and, for the first message of a direction, the few header fields and body facts a block
//! page is recognised by ([`Head`]: `Host`, `Location`, the status line's text, the HTML
//! `<title>`).
//!
//! Only the start of a message is read: the method list is the eight methods a client opens
//! a connection with (RFC 9110 §9 minus TRACE, plus PATCH, RFC 5789); a status line is
//! `HTTP/1.` followed by a minor version digit, a space and three digits. Header fields are
//! `name: value` lines up to the empty line (RFC 9112 §5), names compared case-insensitively;
//! the scan stops at the end of the bytes given (a kept prefix), at [`MAX_HEADER_LINES`]
//! lines, and every text it returns is cut to [`MAX_TEXT`] characters.

/// Request methods recognised at the start of a message, each followed by a space.
pub const METHODS: [&str; 8] = [
    "GET", "POST", "HEAD", "PUT", "CONNECT", "OPTIONS", "DELETE", "PATCH",
];

/// The method of a request line at the start of `p` (`"GET "` …).
pub fn request_method(p: &[u8]) -> Option<&'static str> {
    METHODS.iter().copied().find(|m| {
        p.strip_prefix(m.as_bytes())
            .is_some_and(|rest| rest.first() == Some(&b' '))
    })
}

/// `p` starts with `HTTP/1.` (the start of a status line, or a malformed one).
pub fn is_status_prefix(p: &[u8]) -> bool {
    p.starts_with(b"HTTP/1.")
}

/// The status code of a status line at the start of `p` (`HTTP/1.1 200 OK`).
pub fn status_code(p: &[u8]) -> Option<u16> {
    match p {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', m, b' ', a, b, c, ..]
            if m.is_ascii_digit() && [a, b, c].iter().all(|d| d.is_ascii_digit()) =>
        {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

/// Most header lines read.
pub const MAX_HEADER_LINES: usize = 64;
/// Longest text kept from a field, the status line or the title (characters).
pub const MAX_TEXT: usize = 160;
/// Most body characters kept (lower-cased) for the detectors' phrase tests.
pub const MAX_BODY: usize = 400;

/// What the first message of a direction says about itself, as far as the bytes go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// The start line without its line ending (`HTTP/1.1 302 Found`, `GET / HTTP/1.1`).
    pub start_line: Option<String>,
    /// The request target (second word of a request line).
    pub target: Option<String>,
    pub host: Option<String>,
    pub location: Option<String>,
    /// The HTML `<title>` of the body, whitespace collapsed.
    pub title: Option<String>,
    /// The start of the body as lower-case text (HTML tags kept), at most [`MAX_BODY`] chars.
    pub body: Option<String>,
}

/// Printable text of `b`, control characters replaced, cut to `max` characters.
fn text(b: &[u8], max: usize) -> String {
    // Each character (a replacement character too) comes from 1 to 4 bytes, and deciding it
    // reads at most the byte after it: the first `max` characters lie in the first `4 max + 4`
    // bytes, so decoding only those gives the same text without converting a whole body.
    // ASCII prefix (the common case): its first `max` bytes are the first `max` characters,
    // control bytes become spaces, and after that the only whitespace `trim` can meet is ' '.
    let ascii = b.get(..max).unwrap_or(b);
    if ascii.is_ascii() {
        let is_kept = |c: &u8| !c.is_ascii_control() && *c != b' ';
        let start = ascii.iter().position(is_kept).unwrap_or(ascii.len());
        let end = ascii.iter().rposition(is_kept).map_or(start, |i| i + 1);
        let kept = ascii.get(start..end).unwrap_or(&[]);
        return kept
            .iter()
            .map(|&c| {
                if c.is_ascii_control() {
                    ' '
                } else {
                    char::from(c)
                }
            })
            .collect();
    }
    let b = b
        .get(..max.saturating_mul(4).saturating_add(4))
        .unwrap_or(b);
    // What `String::from_utf8_lossy(b).chars()` yields (each maximal invalid sequence one
    // U+FFFD), taken and mapped straight into the result: no intermediate copies.
    let mut out = String::with_capacity(max.min(b.len()));
    let mut n = 0;
    'chunks: for chunk in b.utf8_chunks() {
        let invalid = (!chunk.invalid().is_empty()).then_some(char::REPLACEMENT_CHARACTER);
        for c in chunk.valid().chars().chain(invalid) {
            if n == max {
                break 'chunks;
            }
            out.push(if c.is_control() { ' ' } else { c });
            n += 1;
        }
    }
    let t = out.trim();
    if t.len() == out.len() {
        out
    } else {
        t.to_string()
    }
}

/// Splits off one line (ending in LF, CR stripped); None when no line ending is in `p`.
fn line(p: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = p.iter().position(|b| *b == b'\n')?;
    let (l, rest) = (p.get(..i)?, p.get(i + 1..)?);
    Some((l.strip_suffix(b"\r").unwrap_or(l), rest))
}

/// The `<title>` of an HTML body (case-insensitive tag), whitespace collapsed.
fn html_title(body: &[u8]) -> Option<String> {
    let open = find_ignore_case(body, b"<title")?;
    let after = body.get(open..)?;
    let gt = open + after.iter().position(|b| *b == b'>')? + 1;
    let len = body
        .get(gt..)
        .and_then(|r| find_ignore_case(r, b"</title"))
        .unwrap_or_else(|| body.len().saturating_sub(gt));
    let t = text(body.get(gt..gt + len)?, MAX_TEXT * 2);
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    (!t.is_empty()).then(|| t.chars().take(MAX_TEXT).collect())
}

/// `s.to_lowercase()`, faster on the texts pages give: ASCII and U+FFFD (what lossy decoding
/// makes of binary bytes, which has no case) skip the Unicode case tables. Σ, the one
/// character whose lower case depends on its neighbours, sends the whole text to
/// `str::to_lowercase`; every other character maps on its own, as there.
pub fn lowercase(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    if s.contains('Σ') {
        return s.to_lowercase();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if c == char::REPLACEMENT_CHARACTER {
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// First position of `needle` (lower case) in `hay`, ASCII letters compared case-insensitively
/// (without lower-casing a copy of `hay`).
fn find_ignore_case(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    hay.windows(needle.len()).position(|w| {
        w.first().map(u8::to_ascii_lowercase) == Some(first) && w.eq_ignore_ascii_case(needle)
    })
}

/// First position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads the start line, the `Host` and `Location` fields and the body's title from the
/// first bytes of a direction. None unless `p` starts with a request or status line.
pub fn head(p: &[u8]) -> Option<Head> {
    if request_method(p).is_none() && status_code(p).is_none() {
        return None;
    }
    let mut h = Head::default();
    let (start, mut rest) = line(p).unwrap_or((p, &[]));
    h.start_line = Some(text(start, MAX_TEXT));
    if request_method(p).is_some() {
        h.target = start
            .split(|b| *b == b' ')
            .nth(1)
            .map(|t| text(t, MAX_TEXT));
    }
    let mut complete = false;
    for _ in 0..MAX_HEADER_LINES {
        let Some((l, r)) = line(rest) else { break };
        rest = r;
        if l.is_empty() {
            complete = true;
            break;
        }
        let Some(colon) = l.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (
            l.get(..colon).unwrap_or(&[]),
            l.get(colon + 1..).unwrap_or(&[]),
        );
        let value = text(value, MAX_TEXT);
        if name.eq_ignore_ascii_case(b"host") {
            h.host.get_or_insert(value);
        } else if name.eq_ignore_ascii_case(b"location") {
            h.location.get_or_insert(value);
        }
    }
    if complete && !rest.is_empty() {
        h.title = html_title(rest);
        h.body = Some(lowercase(&text(rest, MAX_BODY)));
    }
    Some(h)
}

/// The host part of a URL or `Location` value (`http://198.51.100.7:8080/x` → `198.51.100.7`),
/// brackets of an IPv6 literal removed; None for a relative reference.
pub fn url_host(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let auth = rest.split(['/', '?', '#']).next()?;
    let auth = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    if let Some(v6) = auth.strip_prefix('[') {
        return v6.split(']').next();
    }
    Some(auth.split(':').next().unwrap_or(auth))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(request_method(b"GET / HTTP/1.1\r\n"), Some("GET"));
        assert_eq!(request_method(b"CONNECT x:443 HTTP/1.1"), Some("CONNECT"));
        assert_eq!(request_method(b"GETX / HTTP/1.1"), None);
        assert_eq!(request_method(b"GET"), None);
        assert_eq!(request_method(b"get / HTTP/1.1"), None);
        assert_eq!(request_method(b"HTTP/1.1 200 OK"), None);
        assert_eq!(request_method(b""), None);
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_code(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(status_code(b"HTTP/1.0 302"), Some(302));
        assert_eq!(status_code(b"HTTP/1.1 20"), None);
        assert_eq!(status_code(b"HTTP/1.x 200"), None);
        assert!(is_status_prefix(b"HTTP/1.1 2"));
        let s = b"HTTP/1.1 404 Not Found";
        for i in 0..s.len() {
            let _ = status_code(&s[..i]);
        }
    }

    #[test]
    fn heads_of_block_pages() {
        let page = b"HTTP/1.1 302 Found\r\nLocation: http://10.10.34.34/?type=Invalid\r\nContent-Length: 0\r\n\r\n";
        let h = head(page).unwrap();
        assert_eq!(h.start_line.as_deref(), Some("HTTP/1.1 302 Found"));
        assert_eq!(
            h.location.as_deref(),
            Some("http://10.10.34.34/?type=Invalid")
        );
        assert_eq!(h.title, None);
        assert_eq!(
            url_host(h.location.as_deref().unwrap()),
            Some("10.10.34.34")
        );
        let page = b"HTTP/1.0 403 Forbidden\r\ncontent-type: text/html\r\n\r\n<html><head><TITLE> Access\n  Denied </TITLE></head><body>Blocked by law 12/3</body>";
        let h = head(page).unwrap();
        assert_eq!(h.title.as_deref(), Some("Access Denied"));
        assert!(h.body.unwrap().contains("blocked by law"));
        let req = b"GET /x HTTP/1.1\r\nHOST: blocked.example\r\n\r\n";
        let h = head(req).unwrap();
        assert_eq!(
            (h.host.as_deref(), h.target.as_deref()),
            (Some("blocked.example"), Some("/x"))
        );
        assert_eq!(head(b"\x16\x03\x01"), None);
        // Cut anywhere: never a panic, never more than the bytes say.
        for i in 0..page.len() {
            let _ = head(&page[..i]);
        }
        assert_eq!(url_host("https://[2001:db8::1]:443/"), Some("2001:db8::1"));
        assert_eq!(url_host("https://u@www.example/"), Some("www.example"));
        assert_eq!(url_host("/relative"), None);
    }

    /// `text` decodes only the bytes its characters can come from: the same text as
    /// decoding the whole input, for multi-byte, invalid and control bytes around the cut.
    #[test]
    fn text_of_a_prefix_equals_text_of_everything() {
        let whole = |b: &[u8], max: usize| -> String {
            String::from_utf8_lossy(b)
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(max)
                .collect::<String>()
                .trim()
                .to_string()
        };
        let mut samples: Vec<Vec<u8>> = vec![
            "é".repeat(50).into_bytes(),
            "€𝄞a".repeat(30).into_bytes(),
            [0xe2, 0x82].repeat(40),
            [0xf0, 0x9d, 0x84].repeat(40),
            [0xff, b' ', 0xc3].repeat(40),
        ];
        samples.push([b"x".repeat(7), "ب".repeat(20).into_bytes(), vec![0xe2; 9]].concat());
        // ASCII with controls and spaces at both ends and inside (the fast path), then a
        // non-ASCII byte after a run of ASCII (where the fast path must give way).
        samples.push(b" \t\x01ab c\x7f\r\n  d \x1f ".repeat(3));
        samples.push([b" ok\x0b".repeat(6), vec![0xc3, 0xa9, b' ', 0x85]].concat());
        for b in &samples {
            for max in 0..24 {
                for cut in 0..b.len() {
                    let p = b.get(..cut).unwrap_or(b);
                    assert_eq!(text(p, max), whole(p, max), "max {max}, {p:?}");
                }
            }
        }
        assert_eq!(
            html_title(b"<TiTlE x>Hi  there</TITLE>"),
            Some("Hi there".into())
        );
        for t in [
            "ÀB\u{fffd}c",
            "ΟΔΟΣ ΟΔΟΣ",
            "İstanbul ǅ",
            "ΣΑ\u{fffd}",
            "plain",
            "MiXed ASCII 12",
        ] {
            assert_eq!(lowercase(t), t.to_lowercase(), "{t}");
        }
    }
}
