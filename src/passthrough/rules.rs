//! The allow-list (`passthrough.allow` in a provider table) and the checks on a request path
//! before it may be matched against it or forwarded.
//!
//! A rule is `"METHOD /path/pattern"`. `METHOD` is one HTTP method (or `*` for any); each
//! pattern segment is a literal, `*` (exactly one segment) or, last only, `**` (one or more
//! segments). Literals compare with the request's percent-decoded segments, which is what the
//! provider will see after decoding.

use std::fmt;

use http::Method;
use percent_encoding::percent_decode_str;

/// One parsed allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    /// `None` for `*`: any method.
    method: Option<Method>,
    segments: Vec<Segment>,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    One,
    Rest,
}

impl fmt::Display for AllowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why a `passthrough.allow` entry is refused; each says what is wrong with the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("`{0}` is not \"METHOD /path\" (e.g. \"GET /v1/things/*\")")]
    NotMethodAndPath(String),
    #[error("`{0}` is not an HTTP method")]
    NotAMethod(String),
    #[error("`{0}` is not an upper-case HTTP method or `*`")]
    NotUpperCase(String),
    #[error("`{0}` must start with `/`")]
    NotAbsolute(String),
    #[error("`{0}`: `**` may only be the last segment")]
    RestNotLast(String),
    #[error("`{0}`: empty, `.` and `..` segments are not allowed")]
    DotOrEmptySegment(String),
    #[error("`{0}`: a segment is a literal (no `*`, `%`, `?`, `#`, `;` or spaces), `*` or a final `**`")]
    BadLiteral(String),
}

/// Why a passthrough path is refused (answered as `400 invalid_passthrough_path`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the provider path is empty")]
    Empty,
    #[error("the path has malformed percent-encoding")]
    MalformedEscape,
    #[error("the path is not valid percent-encoded UTF-8")]
    NotUtf8,
    #[error("the path has an empty segment (`//` or a trailing `/`)")]
    EmptySegment,
    #[error("`.` and `..` segments are refused")]
    DotSegment,
    #[error("an encoded `/` or `\\` inside a path segment is refused")]
    EncodedSeparator,
    #[error("control characters in the path are refused")]
    ControlCharacter,
    #[error("`;` (path parameters) in the path is refused")]
    PathParameter,
    #[error("an encoded `%` (`%25`, double encoding) in the path is refused")]
    EncodedPercent,
}

impl AllowRule {
    /// Parse `"GET /v1/checkout/sessions/*"`; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let (method, path) = text.trim().split_once(' ').ok_or_else(|| RuleError::NotMethodAndPath(text.to_owned()))?;
        let method = match method {
            "*" => None,
            token if !token.is_empty() && token.bytes().all(|b| b.is_ascii_uppercase()) => {
                Some(Method::from_bytes(token.as_bytes()).map_err(|_| RuleError::NotAMethod(token.to_owned()))?)
            }
            token => return Err(RuleError::NotUpperCase(token.to_owned())),
        };
        let path = path.trim();
        let Some(path) = path.strip_prefix('/') else {
            return Err(RuleError::NotAbsolute(path.to_owned()));
        };
        let parts: Vec<&str> = path.split('/').collect();
        let mut segments = Vec::with_capacity(parts.len());
        for (index, part) in parts.iter().enumerate() {
            segments.push(match *part {
                "**" if index + 1 == parts.len() => Segment::Rest,
                "**" => return Err(RuleError::RestNotLast(text.to_owned())),
                "*" => Segment::One,
                "" | "." | ".." => return Err(RuleError::DotOrEmptySegment(text.to_owned())),
                literal
                    if literal
                        .bytes()
                        .any(|b| matches!(b, b'*' | b'%' | b'?' | b'#' | b';') || b.is_ascii_whitespace()) =>
                {
                    return Err(RuleError::BadLiteral(text.to_owned()));
                }
                literal => Segment::Literal(literal.to_owned()),
            });
        }
        Ok(Self { method, segments, text: text.trim().to_owned() })
    }

    /// The path pattern, e.g. `/v1/checkout/sessions/*` (what a provider scopes credentials by).
    pub fn path_pattern(&self) -> &str {
        self.text.split_once(' ').map_or("", |(_, path)| path.trim())
    }

    /// Does this rule admit `method` on a path of (decoded) `segments`?
    pub fn matches(&self, method: &Method, segments: &[String]) -> bool {
        if self.method.as_ref().is_some_and(|allowed| allowed != method) {
            return false;
        }
        let mut path = segments.iter();
        for (index, pattern) in self.segments.iter().enumerate() {
            match pattern {
                // `**` is last (checked at parse time) and needs at least one segment.
                Segment::Rest => return index < segments.len(),
                Segment::One => {
                    if path.next().is_none() {
                        return false;
                    }
                }
                Segment::Literal(literal) => {
                    if path.next() != Some(literal) {
                        return false;
                    }
                }
            }
        }
        path.next().is_none()
    }
}

/// A request path that is safe to forward: the raw text exactly as received (so the provider
/// decodes what the allow-list matched), and its decoded segments for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardPath {
    /// Starts with `/`, still percent-encoded.
    pub raw: String,
    pub segments: Vec<String>,
}

/// Check the path after `/v1/passthrough/{provider}`. Refused: empty, `.` or `..` segments
/// (also when percent-encoded, e.g. `%2e%2E`), an encoded `/` or `\` inside a segment, control
/// characters, malformed percent-encoding and non-UTF-8, `;` (raw or `%3B`: servlet-style stacks
/// read `..;` as `..` and strip `;params`) and an encoded `%` (`%25`: double encoding, which a
/// provider that decodes twice reads as `%2e%2e`) — anything a URL resolver or the provider
/// might read as a different path than the one the allow-list matched.
pub fn forward_path(raw: &str) -> Result<ForwardPath, PathError> {
    if raw.is_empty() {
        return Err(PathError::Empty);
    }
    let mut segments = Vec::new();
    for part in raw.split('/') {
        if !well_formed_escapes(part) {
            return Err(PathError::MalformedEscape);
        }
        let decoded = percent_decode_str(part).decode_utf8().map_err(|_| PathError::NotUtf8)?;
        match decoded.as_ref() {
            "" => return Err(PathError::EmptySegment),
            "." | ".." => return Err(PathError::DotSegment),
            text if text.contains(['/', '\\']) => return Err(PathError::EncodedSeparator),
            text if text.chars().any(char::is_control) => return Err(PathError::ControlCharacter),
            text if text.contains(';') => return Err(PathError::PathParameter),
            text if text.contains('%') => return Err(PathError::EncodedPercent),
            text => segments.push(text.to_owned()),
        }
    }
    Ok(ForwardPath { raw: format!("/{raw}"), segments })
}

/// Every `%` starts a two-hex-digit escape.
fn well_formed_escapes(part: &str) -> bool {
    let bytes = part.as_bytes();
    bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(path: &str) -> Vec<String> {
        forward_path(path).map(|p| p.segments).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn rules_match_method_and_segments() {
        let rule = AllowRule::parse("GET /v1/checkout/sessions/*").unwrap();
        assert!(rule.matches(&Method::GET, &segments("v1/checkout/sessions/cs_1")));
        assert!(!rule.matches(&Method::POST, &segments("v1/checkout/sessions/cs_1")));
        assert!(!rule.matches(&Method::GET, &segments("v1/checkout/sessions")));
        assert!(!rule.matches(&Method::GET, &segments("v1/checkout/sessions/cs_1/line_items")));
        // Literals compare decoded: `session%73` is what the provider reads as `sessions`.
        assert!(rule.matches(&Method::GET, &segments("v1/checkout/session%73/cs_1")));
        let any = AllowRule::parse("* /v1/things/**").unwrap();
        assert!(any.matches(&Method::DELETE, &segments("v1/things/a/b/c")));
        assert!(!any.matches(&Method::GET, &segments("v1/things")));
        assert_eq!(any.path_pattern(), "/v1/things/**");
        let exact = AllowRule::parse("POST /v1/refunds").unwrap();
        assert!(exact.matches(&Method::POST, &segments("v1/refunds")));
        assert!(!exact.matches(&Method::POST, &segments("v1/refunds/re_1")));
    }

    #[test]
    fn malformed_rules_are_refused() {
        for bad in [
            "GET",
            "get /v1",
            "GET v1/x",
            "GET /v1//x",
            "GET /v1/../x",
            "GET /v1/**/x",
            "GET /v1/a*b",
            "GET /v1/%2e",
            "GET /v1/x?y=1",
            "GET /v1/x;y",
        ] {
            assert!(AllowRule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn traversal_and_ambiguous_paths_are_refused() {
        for bad in [
            "",
            "v1/../secret",
            "v1/./x",
            "v1/%2e%2e/x",
            "v1/%2E%2e/x",
            "v1/%2e/x",
            "v1/a%2fb",
            "v1/a%2Fb",
            "v1/a%5cb",
            "v1//x",
            "v1/x/",
            "v1/%00",
            "v1/%zz",
            "v1/%ff",
            "v1/x;jsessionid=1",
            "v1/..;/secret",
            "v1/x%3b/y",
            "v1/%252e%252e/secret",
            "v1/100%25",
        ] {
            assert!(forward_path(bad).is_err(), "{bad}");
        }
        let ok = forward_path("v1/checkout/sessions/cs_1%20x").unwrap();
        assert_eq!(ok.raw, "/v1/checkout/sessions/cs_1%20x");
        assert_eq!(ok.segments.last().map(String::as_str), Some("cs_1 x"));
    }
}
