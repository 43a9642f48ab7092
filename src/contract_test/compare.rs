//! "Unified answer unchanged": the live unified answer against the one the case records, field
//! by field, as JSON pointers.
//!
//! Ignored, because they legitimately differ between runs or between the recorded session and
//! the live one without any change in the provider's answer format: the session's `id` and its
//! `url` (another session, or `--session`), and `created_at` / `expires_at` (a sandbox session is
//! recreated or extended; a simulator stamps them with the clock). Everything else (status,
//! amounts, currency, line items, metadata, shipping, redirects, texts, warnings) is compared.

use serde::Serialize;
use serde_json::Value;

/// Top-level fields of the unified session that vary per run (see the module docs).
pub const VOLATILE: [&str; 4] = ["/id", "/url", "/created_at", "/expires_at"];

/// One field whose value differs; `None` is a field one side does not have.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub pointer: String,
    pub recorded: Option<Value>,
    pub live: Option<Value>,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |value: &Option<Value>| value.as_ref().map_or_else(|| "(absent)".to_owned(), ToString::to_string);
        write!(f, "{}: {} -> {}", self.pointer, shown(&self.recorded), shown(&self.live))
    }
}

/// Every leaf where `live` differs from `recorded`, outside the volatile fields, in pointer order.
pub fn changes(recorded: &Value, live: &Value) -> Vec<Change> {
    let mut found = Vec::new();
    walk(String::new(), Some(recorded), Some(live), &mut found);
    found
}

fn walk(pointer: String, recorded: Option<&Value>, live: Option<&Value>, found: &mut Vec<Change>) {
    if VOLATILE.contains(&pointer.as_str()) {
        return;
    }
    match (recorded, live) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                walk(format!("{pointer}/{}", escape(key)), a.get(key), b.get(key), found);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for index in 0..a.len().max(b.len()) {
                walk(format!("{pointer}/{index}"), a.get(index), b.get(index), found);
            }
        }
        (a, b) if a == b => {}
        (a, b) => found.push(Change { pointer, recorded: a.cloned(), live: b.cloned() }),
    }
}

/// A member name as a JSON pointer token (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Change, changes};

    #[test]
    fn volatile_fields_are_ignored_and_every_other_difference_is_named() {
        let recorded = json!({
            "id": "cs_1", "url": "https://x/cs_1", "created_at": "2026-01-01T00:00:00Z", "expires_at": null,
            "currency": "USD", "amounts": { "total": 42497 }, "metadata": { "a/b": "1" }, "warnings": []
        });
        let live = json!({
            "id": "cs_2", "url": "https://x/cs_2", "created_at": "2026-11-30T00:00:00Z", "expires_at": "2026-12-01T00:00:00Z",
            "currency": "USD", "amounts": { "total": null }, "metadata": {}, "warnings": [{ "code": "x" }]
        });
        assert_eq!(
            changes(&recorded, &live),
            vec![
                Change { pointer: "/amounts/total".into(), recorded: Some(json!(42497)), live: Some(json!(null)) },
                Change { pointer: "/metadata/a~1b".into(), recorded: Some(json!("1")), live: None },
                Change { pointer: "/warnings/0".into(), recorded: None, live: Some(json!({ "code": "x" })) },
            ]
        );
        assert!(changes(&recorded, &recorded).is_empty());
        assert_eq!(changes(&recorded, &live)[0].to_string(), "/amounts/total: 42497 -> null");
    }

    #[test]
    fn a_nested_id_is_compared() {
        let recorded = json!({ "line_items": [{ "id": "li_1" }] });
        let live = json!({ "line_items": [{ "id": "li_2" }] });
        assert_eq!(changes(&recorded, &live).len(), 1);
    }
}
