//! HTTP/1.x start lines (RFC 9112 §3, §4): a request line's method, a status line's code.
//!
//! Only the start of a message is read: the method list is the eight methods a client opens
//! a connection with (RFC 9110 §9 minus TRACE, plus PATCH, RFC 5789); a status line is
//! `HTTP/1.` followed by a minor version digit, a space and three digits.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

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
}
