//! Percent-decoding of one path segment (an id in `/sessions/{id}`).
//!
//! RFC 3986 §2.1: a `%` always starts an escape of two hexadecimal digits. A segment that breaks
//! that rule, or decodes to bytes that are not UTF-8, names nothing: `None`. (The two decoders
//! this replaces disagreed on `%+1`: one read it as byte 1, because `from_str_radix` takes a
//! sign, the other refused it.) The decoding itself is the `percent-encoding` crate's.

/// The decoded segment, or `None` when it is not well-formed percent-encoded UTF-8.
pub fn decode_segment(segment: &str) -> Option<String> {
    if !well_formed(segment) {
        return None;
    }
    percent_encoding::percent_decode_str(segment).decode_utf8().ok().map(std::borrow::Cow::into_owned)
}

/// Every `%` is followed by two hexadecimal digits.
fn well_formed(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|&(_, &byte)| byte == b'%')
        .all(|(at, _)| bytes.get(at + 1..at + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_to_utf8() {
        assert_eq!(decode_segment("cs_1").as_deref(), Some("cs_1"));
        assert_eq!(decode_segment("a%2Fb%20c").as_deref(), Some("a/b c"));
        assert_eq!(decode_segment("%C3%A9").as_deref(), Some("é"));
        assert_eq!(decode_segment("%25").as_deref(), Some("%"));
        assert_eq!(decode_segment("").as_deref(), Some(""));
    }

    /// Where the old decoders disagreed: a sign is not a hexadecimal digit.
    #[test]
    fn a_signed_escape_is_malformed() {
        assert_eq!(decode_segment("%+1"), None);
        assert_eq!(decode_segment("%-1"), None);
    }

    #[test]
    fn malformed_escapes_and_non_utf8_name_nothing() {
        assert_eq!(decode_segment("%"), None);
        assert_eq!(decode_segment("%4"), None);
        assert_eq!(decode_segment("%zz"), None);
        assert_eq!(decode_segment("ab%"), None);
        assert_eq!(decode_segment("%FF"), None);
    }
}
