//! The one escaping function for text printed to a terminal (issue 13, item 4).
//!
//! Every string that came from a capture (DNS names, SNI, certificate names, STUN REALM and
//! SOFTWARE, HTTP Host, SIP headers, file names, the summaries that quote them) goes through
//! [`esc`] before it reaches text output, so a packet cannot move the cursor, clear the
//! screen, forge a line of the report or reverse the reading order of what follows.
//! As tshark and Zeek do, the bytes stay visible instead of being dropped:
//!
//! | input | printed |
//! |---|---|
//! | `\` | `\\` (so an escape in the output is never ambiguous) |
//! | LF, CR, TAB, NUL | `\n`, `\r`, `\t`, `\0` |
//! | other C0 controls (ESC …), DEL | `\x1b`, `\x7f` |
//! | C1 controls U+0080–U+009F (8-bit CSI U+009B …) | `\u{9b}` |
//! | bidi controls U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069 | `\u{202e}` |
//! | line/paragraph separators U+2028/U+2029, zero-width U+200B–U+200D, U+2060, U+FEFF | `\u{2028}` |
//!
//! Everything else (letters in any script, `→`, `—`) passes unchanged. JSON output needs none
//! of this (serde escapes control characters inside strings) and the page builds its DOM with
//! `textContent` only; both are checked by tests.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must be escaped before it reaches a terminal.
fn hostile(c: char) -> bool {
    matches!(c,
        '\\'
        | '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}'
        | '\u{feff}')
}

/// `s` made safe for a terminal: borrowed unchanged when nothing needs escaping.
pub fn esc(s: &str) -> Cow<'_, str> {
    if !s.chars().any(hostile) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            '\u{1}'..='\u{1f}' | '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if hostile(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let s = "g.whatsapp.net → 157.240.1.1 — café, مرحبا";
        assert!(matches!(esc(s), std::borrow::Cow::Borrowed(_)));
        assert_eq!(esc(s), s);
    }

    #[test]
    fn controls_become_visible_escapes() {
        assert_eq!(esc("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(esc("l1\r\nl2\t\0"), "l1\\r\\nl2\\t\\0");
        assert_eq!(esc("\x7f\u{9b}31m"), "\\x7f\\u{9b}31m");
        assert_eq!(esc("evil\u{202e}gnp.exe"), "evil\\u{202e}gnp.exe");
        assert_eq!(
            esc("\u{2066}x\u{2069}\u{feff}"),
            "\\u{2066}x\\u{2069}\\u{feff}"
        );
        assert_eq!(esc("a\\x1b"), "a\\\\x1b");
    }

    #[test]
    fn output_never_holds_a_control() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let e = esc(&all);
        assert!(!e.chars().any(|c| c.is_control()));
        assert!(!e.contains('\u{202e}') && !e.contains('\u{2028}'));
    }
}
