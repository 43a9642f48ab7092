//! Keeps credentials out of the provider texts a client sees (error messages, codes, request
//! ids, `errors[]`, `?include=provider_data`). A provider, or a debugging echo in front of it,
//! may repeat a credential in any of the forms the gateway sent it: the configured secret
//! itself, HTTP Basic's `base64("<key>:")`, or a token minted for one attempt (a signed JWT)
//! that no config holds. Every occurrence, overlapping ones too, becomes `[redacted]`.
//!
//! The streaming passthrough masks its answers separately (`crate::passthrough::scrub`), byte
//! for byte so `Content-Length` stays true.

use aho_corasick::AhoCorasick;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use checkout_provider_interface::wire::REDACTED;
use checkout_provider_interface::{ProviderResponse, Secret};
use serde_json::Value;

/// Shorter values are too common to redact (the passthrough's floor too).
pub const MIN_SECRET_LEN: usize = 6;

/// The credential header values (marked sensitive) of the attempt that got an answer, kept in
/// that answer's extensions by the dispatcher: a per-attempt token is in no config.
#[derive(Clone, Default)]
pub struct SentCredentials(pub Vec<http::HeaderValue>);

impl SentCredentials {
    pub fn of(headers: &http::HeaderMap) -> Self {
        Self(headers.values().filter(|v| v.is_sensitive()).cloned().collect())
    }
}

/// Every form of every secret one set of provider answers could echo.
pub struct TextScrubber {
    patterns: Vec<String>,
    /// Built on the first text that holds a pattern: most answers hold none, and building the
    /// automaton cost more than the rest of a request's JSON work (issue 15).
    finder: std::sync::OnceLock<Option<AhoCorasick>>,
}

impl TextScrubber {
    /// `secrets` in raw and Basic (base64) form, and the credentials each of `answers` was
    /// sent with, whole and without their scheme (`Bearer `, `Basic `).
    pub fn new(secrets: &[Secret], answers: &[&ProviderResponse]) -> Self {
        let mut patterns: Vec<String> = Vec::new();
        for secret in secrets {
            let raw = secret.expose();
            patterns.push(raw.to_owned());
            // Unpadded, so a padded echo matches too (the unpadded text is its prefix).
            patterns.push(STANDARD_NO_PAD.encode(format!("{raw}:")));
            patterns.push(STANDARD_NO_PAD.encode(raw));
        }
        let sent = answers.iter().filter_map(|answer| answer.extensions().get::<SentCredentials>());
        for value in sent.flat_map(|credentials| &credentials.0) {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            if let Some((_scheme, credential)) = text.split_once(' ') {
                patterns.push(credential.to_owned());
            }
            patterns.push(text);
        }
        patterns.retain(|p| p.len() >= MIN_SECRET_LEN);
        patterns.sort();
        patterns.dedup();
        Self { patterns, finder: std::sync::OnceLock::new() }
    }

    fn finder(&self) -> Option<&AhoCorasick> {
        // Building fails only beyond aho-corasick's size limits, far past any set of credentials.
        self.finder.get_or_init(|| AhoCorasick::new(&self.patterns).ok()).as_ref()
    }

    fn holds_a_secret(&self, text: &str) -> bool {
        self.patterns.iter().any(|pattern| text.contains(pattern.as_str()))
    }

    /// Whether `serialized`, a JSON document as text, is what [`Self::scrub_json`] would leave
    /// unchanged: no secret in it, and no secret with a character JSON escapes (which could
    /// hide an escaped occurrence from a search of the text).
    pub fn leaves_json_unchanged(&self, serialized: &str) -> bool {
        let plain = |pattern: &String| !pattern.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20);
        self.patterns.iter().all(plain) && !self.holds_a_secret(serialized)
    }

    /// `text` with every secret replaced by `[redacted]` (overlapping matches merged first, so
    /// no part of either survives).
    pub fn scrub(&self, text: &str) -> String {
        if !self.holds_a_secret(text) {
            return text.to_owned();
        }
        let Some(finder) = self.finder() else { return text.to_owned() };
        let mut spans: Vec<(usize, usize)> = match finder.try_find_overlapping_iter(text) {
            Ok(found) => found.map(|m| (m.start(), m.end())).collect(),
            // Unreachable with the default match kind; redacting everything is the safe answer.
            Err(_) => return REDACTED.to_owned(),
        };
        if spans.is_empty() {
            return text.to_owned();
        }
        spans.sort_unstable();
        let mut clean = String::with_capacity(text.len());
        let mut copied = 0;
        let mut spans = spans.into_iter().peekable();
        while let Some((start, mut end)) = spans.next() {
            while let Some(&(next_start, next_end)) = spans.peek() {
                if next_start > end {
                    break;
                }
                end = end.max(next_end);
                spans.next();
            }
            // Patterns and text are UTF-8, so every match starts and ends on a char boundary.
            clean.push_str(&text[copied..start]);
            clean.push_str(REDACTED);
            copied = end;
        }
        clean.push_str(&text[copied..]);
        clean
    }

    pub fn scrub_option(&self, text: Option<String>) -> Option<String> {
        text.map(|t| self.scrub(&t))
    }

    /// Every string in `value`, member names included.
    pub fn scrub_json(&self, value: &mut Value) {
        if self.patterns.is_empty() {
            return;
        }
        match value {
            Value::String(text) => *text = self.scrub(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.scrub_json(item)),
            Value::Object(map) => {
                let members = std::mem::take(map);
                for (name, mut member) in members {
                    self.scrub_json(&mut member);
                    map.insert(self.scrub(&name), member);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const KEY: &str = "sk_live_51SecretValue";

    fn answer_sent_with(credential: &str) -> ProviderResponse {
        let mut value = http::HeaderValue::from_str(credential).unwrap();
        value.set_sensitive(true);
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, value);
        headers.insert("x-trace", http::HeaderValue::from_static("not-a-credential"));
        let mut answer = http::Response::new(Vec::new());
        answer.extensions_mut().insert(SentCredentials::of(&headers));
        answer
    }

    #[test]
    fn every_form_of_a_configured_secret_is_redacted() {
        let scrubber = TextScrubber::new(&[Secret::new(KEY)], &[]);
        // printf 'sk_live_51SecretValue:' | base64
        let basic = "c2tfbGl2ZV81MVNlY3JldFZhbHVlOg==";
        let text = format!("key {KEY}; basic Basic {basic}; bare {}", STANDARD_NO_PAD.encode(KEY));
        let clean = scrubber.scrub(&text);
        assert_eq!(clean, "key [redacted]; basic Basic [redacted]==; bare [redacted]");
    }

    #[test]
    fn the_credentials_an_answer_was_sent_with_are_redacted_whole_and_without_scheme() {
        let jwt = "eyJhbGciOiJFUzUxMiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let answer = answer_sent_with(&format!("Bearer {jwt}"));
        let scrubber = TextScrubber::new(&[], &[&answer]);
        assert_eq!(scrubber.scrub(&format!("token {jwt} expired")), "token [redacted] expired");
        assert_eq!(scrubber.scrub(&format!("got Bearer {jwt}")), "got [redacted]");
        assert_eq!(scrubber.scrub("not-a-credential stays"), "not-a-credential stays");
    }

    #[test]
    fn overlapping_secrets_leave_no_part_of_either() {
        let scrubber = TextScrubber::new(&[Secret::new("abcdef-123"), Secret::new("123-uvwxyz")], &[]);
        assert_eq!(scrubber.scrub("<abcdef-123-uvwxyz>"), "<[redacted]>");
    }

    #[test]
    fn every_string_of_a_json_document_is_scrubbed() {
        let scrubber = TextScrubber::new(&[Secret::new(KEY)], &[]);
        let mut document = json!({ "a": [KEY, 1, { KEY: format!("x{KEY}y") }], "b": null });
        assert!(!scrubber.leaves_json_unchanged(&document.to_string()));
        scrubber.scrub_json(&mut document);
        assert_eq!(document, json!({ "a": ["[redacted]", 1, { "[redacted]": "x[redacted]y" }], "b": null }));
        assert!(scrubber.leaves_json_unchanged(&document.to_string()));
    }

    #[test]
    fn a_secret_json_would_escape_is_never_judged_absent_from_the_text() {
        let quoted = "sk_live_\"quoted\"";
        let scrubber = TextScrubber::new(&[Secret::new(quoted)], &[]);
        let document = json!({ "a": quoted });
        // The text holds the escaped form only; a plain search would miss it.
        assert!(!document.to_string().contains(quoted));
        assert!(!scrubber.leaves_json_unchanged(&document.to_string()));
    }
}
