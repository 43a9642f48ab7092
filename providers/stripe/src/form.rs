//! Stripe's wire format: `application/x-www-form-urlencoded` with bracket notation for nested
//! objects and indexed arrays (`line_items[0][price]=price_1&metadata[k]=v`), the same shape
//! stripe-node produces (it also keeps the brackets literal).
//!
//! Encoding walks the JSON tree once into one string, escaping exactly as `serde_qs` does in
//! query-string mode (the tests below hold the two byte-for-byte equal): `serde_qs`'s serializer
//! allocated a key segment per nesting level per value and needed a sorted copy of the body,
//! which made it most of the request-building time for 100 line items (BENCHMARKS.md).
//! Decoding (the simulator) goes through `serde_qs`.

use percent_encoding::{AsciiSet, CONTROLS};
use serde_json::{Map, Value};

/// Deepest key we produce is `shipping_options[0][shipping_rate_data][delivery_estimate][minimum][unit]`
/// (6 segments); provider options may nest a little deeper.
const MAX_DEPTH: usize = 12;

/// Why a body could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    /// Nested deeper than [`MAX_DEPTH`] (only `provider_options` can be): `serde_qs`'s own words.
    #[error("Maximum serialization depth `{MAX_DEPTH}` exceeded")]
    TooDeep,
    #[error("not a form body")]
    Decode(#[source] serde_qs::Error),
}

/// `serde_qs`'s query-string set: the WHATWG query percent-encode set plus the characters that
/// structure a form (`%`, `+`, `[`, `]`, `=`, `&`). Spaces are left out here and become `+`.
const ESCAPED: &AsciiSet =
    &CONTROLS.add(b'"').add(b'#').add(b'<').add(b'>').add(b'%').add(b'+').add(b'[').add(b']').add(b'=').add(b'&');

/// Encode a nested JSON object as a Stripe form body. Keys are sorted at every level so the
/// body is byte-for-byte stable whatever `serde_json`'s map ordering feature is. `null`
/// becomes an empty value, as stripe-node sends it (Stripe reads it as "unset"); so does an
/// empty object or array (`shipping_options=`).
pub fn encode(body: &Map<String, Value>) -> Result<String, FormError> {
    let mut out = String::with_capacity(256);
    let mut key = String::with_capacity(64);
    in_key_order(body, |name, value| {
        key.clear();
        escape_into(&mut key, name);
        pairs(&mut out, &mut key, 1, value)
    })?;
    Ok(out)
}

/// Write the `key=value` pairs of `value` under `key` (which has `depth` segments).
fn pairs(out: &mut String, key: &mut String, depth: usize, value: &Value) -> Result<(), FormError> {
    let mut nested = |key: &mut String, segment: &str, value: &Value| {
        if depth > MAX_DEPTH {
            return Err(FormError::TooDeep);
        }
        let len = key.len();
        key.push('[');
        escape_into(key, segment);
        key.push(']');
        let result = pairs(out, key, depth + 1, value);
        key.truncate(len);
        result
    };
    match value {
        Value::Object(map) if !map.is_empty() => in_key_order(map, |name, value| nested(key, name, value)),
        Value::Array(items) if !items.is_empty() => {
            let mut index = itoa::Buffer::new();
            for (i, item) in items.iter().enumerate() {
                nested(key, index.format(i), item)?;
            }
            Ok(())
        }
        Value::Null | Value::Object(_) | Value::Array(_) => {
            pair(out, key, "");
            Ok(())
        }
        Value::String(text) => {
            pair(out, key, text);
            Ok(())
        }
        Value::Bool(flag) => {
            pair(out, key, if *flag { "true" } else { "false" });
            Ok(())
        }
        Value::Number(number) => {
            // Digits for integers; floats the way `serde_qs` prints them (ryu).
            let (mut int, mut float) = (itoa::Buffer::new(), ryu::Buffer::new());
            let text = match (number.as_u64(), number.as_i64(), number.as_f64()) {
                (Some(u), _, _) => int.format(u),
                (None, Some(i), _) => int.format(i),
                (None, None, f) => float.format(f.unwrap_or_default()),
            };
            pair(out, key, text);
            Ok(())
        }
    }
}

fn pair(out: &mut String, key: &str, value: &str) {
    if !out.is_empty() {
        out.push('&');
    }
    out.push_str(key);
    out.push('=');
    escape_into(out, value);
}

fn escape_into(out: &mut String, text: &str) {
    // Most keys and values (ids, amounts, plain names) need no escaping at all.
    if !text.bytes().any(|byte| CHANGED[usize::from(byte)]) {
        out.push_str(text);
        return;
    }
    for chunk in percent_encoding::utf8_percent_encode(text, ESCAPED) {
        // Spaces pass the percent-encoder (they are not in the set) and become `+`.
        let mut pieces = chunk.split(' ');
        out.push_str(pieces.next().unwrap_or_default());
        for piece in pieces {
            out.push('+');
            out.push_str(piece);
        }
    }
}

/// The bytes `escape_into` changes, as a lookup table: those of [`ESCAPED`], the space, and
/// every non-ASCII byte.
static CHANGED: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b == b' '
            || !b.is_ascii()
            || b.is_ascii_control()
            || matches!(b, b'"' | b'#' | b'<' | b'>' | b'%' | b'+' | b'[' | b']' | b'=' | b'&');
        byte += 1;
    }
    table
};

/// Visit a map's entries in key order: directly with the default (sorted) map, through a sorted
/// copy of the entry list when `serde_json`'s `preserve_order` feature is on somewhere in the build.
fn in_key_order<'a>(
    map: &'a Map<String, Value>,
    mut visit: impl FnMut(&'a str, &'a Value) -> Result<(), FormError>,
) -> Result<(), FormError> {
    if map.keys().is_sorted() {
        return map.iter().try_for_each(|(name, value)| visit(name, value));
    }
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries.into_iter().try_for_each(|(name, value)| visit(name, value))
}

/// Decode a form body or query string into nested JSON (every leaf a string). Percent-encoded
/// brackets (`line_items%5B0%5D…`) are accepted as well as literal ones.
pub fn decode(text: &str) -> Result<Value, FormError> {
    if text.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let config = serde_qs::Config::new().use_form_encoding(true).max_depth(MAX_DEPTH);
    config.deserialize_str::<Value>(text).map_err(FormError::Decode)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
    use serde_json::json;

    use super::*;

    /// The reference: `serde_qs` in query-string mode over the key-sorted body (what `encode`
    /// was before it walked the tree itself).
    fn reference(body: &Map<String, Value>) -> Result<String, String> {
        if body.is_empty() {
            return Ok(String::new());
        }
        let config = serde_qs::Config::new().use_form_encoding(false).max_depth(MAX_DEPTH);
        config.serialize_string(&Sorted(&Value::Object(body.clone()))).map_err(|e| e.to_string())
    }

    struct Sorted<'a>(&'a Value);

    impl Serialize for Sorted<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            match self.0 {
                Value::Null => serializer.serialize_str(""),
                Value::Object(map) => {
                    let mut entries: Vec<_> = map.iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    let mut out = serializer.serialize_map(Some(entries.len()))?;
                    for (key, value) in entries {
                        out.serialize_entry(key, &Sorted(value))?;
                    }
                    out.end()
                }
                Value::Array(items) => {
                    let mut out = serializer.serialize_seq(Some(items.len()))?;
                    for item in items {
                        out.serialize_element(&Sorted(item))?;
                    }
                    out.end()
                }
                scalar => scalar.serialize(serializer),
            }
        }
    }

    /// Keys and texts drawn from what makes form encoding interesting.
    fn text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[a-z0-9 _.~*'()!$,;:/?@&=+%#\\[\\]\"<>\\x00-\\x1f\\x7fäß€😀-]{0,8}")
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(text(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn matches_serde_qs_byte_for_byte(body in prop::collection::btree_map(text(), json_value(), 0..6)) {
            let body: Map<String, Value> = body.into_iter().collect();
            prop_assert_eq!(encode(&body).map_err(|e| e.to_string()), reference(&body));
        }
    }

    #[test]
    fn matches_serde_qs_on_edge_cases() {
        let deep = (0..14).fold(json!("x"), |inner, i| json!({ format!("k{i}"): inner }));
        let bodies = [
            json!({"": "", "a b": "c d", "x": {"": []}, "y": [[], {}, null, [1]]}),
            json!({"n": [0, -1, 1.5, 1e21, -2.5e-7, 18446744073709551615_u64, -9223372036854775808_i64]}),
            json!({"t": true, "f": false, "u": "Grüße + 100% [ok] = yes & <b> \"q\" #1\u{7f}\n"}),
            json!({"deep": deep}),
        ];
        for body in bodies {
            let body = object(body);
            assert_eq!(encode(&body).map_err(|e| e.to_string()), reference(&body), "{body:?}");
        }
    }

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn encodes_brackets_indices_and_empty_values() {
        let body = object(json!({
            "shipping_options": "",
            "metadata": {"order id": "4&2", "gone": ""},
            "line_items": [{"quantity": 2, "id": "li_1"}, {"price": "price_1", "quantity": 1}],
            "expand": ["line_items"],
            "unset": null
        }));
        assert_eq!(
            encode(&body).ok().as_deref(),
            Some(
                "expand[0]=line_items&line_items[0][id]=li_1&line_items[0][quantity]=2&line_items[1][price]=price_1&line_items[1][quantity]=1&metadata[gone]=&metadata[order+id]=4%262&shipping_options=&unset="
            )
        );
        assert_eq!(encode(&Map::new()).ok().as_deref(), Some(""));
    }

    #[test]
    fn decodes_literal_and_percent_encoded_brackets() {
        let decoded = decode(
            "line_items%5B0%5D%5Bid%5D=li_1&line_items[0][quantity]=2&metadata[a+b]=x%26y&expand[]=line_items&shipping_options=",
        );
        assert_eq!(
            decoded.ok(),
            Some(json!({
                "line_items": [{"id": "li_1", "quantity": "2"}],
                "metadata": {"a b": "x&y"},
                "expand": ["line_items"],
                "shipping_options": ""
            }))
        );
    }

    #[test]
    fn round_trips_non_ascii_and_reserved_characters() {
        let body =
            object(json!({"metadata": {"note": "Grüße + 100% [ok] = yes"}, "images": ["https://e.x/a.png?b=1&c=2"]}));
        let encoded = encode(&body).unwrap_or_default();
        assert_eq!(decode(&encoded).ok(), Some(Value::Object(body)));
    }
}
