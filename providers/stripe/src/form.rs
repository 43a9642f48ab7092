//! Stripe's wire format: `application/x-www-form-urlencoded` with bracket notation for nested
//! objects and indexed arrays (`line_items[0][price]=price_1&metadata[k]=v`), the same shape
//! stripe-node produces (it also keeps the brackets literal).
//!
//! Encoding walks the JSON tree once into one string, escaping exactly as `serde_qs` does in
//! query-string mode (the tests below hold the two byte-for-byte equal): `serde_qs`'s serializer
//! allocated a key segment per nesting level per value and needed a sorted copy of the body,
//! which made it most of the request-building time for 100 line items (BENCHMARKS.md).
//! Decoding (the simulator) goes through `serde_qs`.

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

/// Encode a nested JSON object as a Stripe form body. Keys are sorted at every level so the
/// body is byte-for-byte stable whatever `serde_json`'s map ordering feature is. `null`
/// becomes an empty value, as stripe-node sends it (Stripe reads it as "unset"); so does an
/// empty object or array (`shipping_options=`).
pub fn encode(body: &Map<String, Value>) -> Result<String, FormError> {
    encode_with(body, None)
}

/// [`encode`], except that the pairs of the top-level key `written.0` are `written.1`, already
/// encoded by a [`Pairs`] rooted at that key (its value in `body` is only a placeholder). The
/// adapter writes its line items this way, straight from the typed items, instead of building
/// and encoding a JSON tree of them.
pub fn encode_with(body: &Map<String, Value>, written: Option<(&str, &str)>) -> Result<String, FormError> {
    let capacity = 256 + written.map_or(0, |(_, pairs)| pairs.len());
    let mut out = String::with_capacity(capacity);
    let mut key = String::with_capacity(64);
    in_key_order(body, |name, value| match written {
        Some((written, pairs)) if written == name => {
            if !out.is_empty() && !pairs.is_empty() {
                out.push('&');
            }
            out.push_str(pairs);
            Ok(())
        }
        _ => {
            key.clear();
            escape_into(&mut key, name);
            self::pairs(&mut out, &mut key, 1, value)
        }
    })?;
    Ok(out)
}

/// A form fragment written pair by pair under one top-level key, as [`encode`] would write the
/// same values from a tree: callers visit keys in sorted order (the tests compare the two).
pub struct Pairs {
    out: String,
    key: String,
    depth: usize,
}

impl Pairs {
    /// An empty fragment rooted at the top-level key `name`.
    pub fn new(name: &str, capacity: usize) -> Self {
        let mut key = String::with_capacity(64);
        escape_into(&mut key, name);
        Self { out: String::with_capacity(capacity), key, depth: 1 }
    }

    /// Run `write` one level down, under `[segment]`.
    pub fn nested<R>(&mut self, segment: &str, write: impl FnOnce(&mut Self) -> R) -> R {
        let len = self.key.len();
        self.key.push('[');
        escape_into(&mut self.key, segment);
        self.key.push(']');
        self.depth += 1;
        let result = write(self);
        self.depth -= 1;
        self.key.truncate(len);
        result
    }

    /// `[index]`, for an array element.
    pub fn element<R>(&mut self, index: usize, write: impl FnOnce(&mut Self) -> R) -> R {
        self.nested(itoa::Buffer::new().format(index), write)
    }

    /// `key=text`; `None` is an empty value, as `null` is in [`encode`].
    pub fn text(&mut self, text: Option<&str>) {
        pair(&mut self.out, &self.key, text.unwrap_or_default());
    }

    /// `key=digits`; `None` is an empty value.
    pub fn integer(&mut self, number: Option<i64>) {
        match number {
            Some(number) => pair(&mut self.out, &self.key, itoa::Buffer::new().format(number)),
            None => pair(&mut self.out, &self.key, ""),
        }
    }

    /// Every pair of a JSON value at the current key (as [`encode`] writes it).
    pub fn json(&mut self, value: &Value) -> Result<(), FormError> {
        pairs(&mut self.out, &mut self.key, self.depth, value)
    }

    pub fn finish(self) -> String {
        self.out
    }
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

/// `serde_qs`'s escaping in query-string mode: every byte of [`CHANGED`] but the space as `%XX`
/// (upper-case hex), a space as `+`. One pass over the bytes, copying the runs that need nothing (most of
/// a key or value) whole: the general percent-encoder and splitting on spaces were a fifth of
/// encoding 100 items' names (BENCHMARKS.md).
fn escape_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut rest = text;
    while let Some(at) = rest.bytes().position(|byte| CHANGED[usize::from(byte)]) {
        let (plain, changed) = rest.split_at(at);
        out.push_str(plain);
        // The changed bytes up to the next plain one; a multi-byte character is escaped whole,
        // so `rest` always starts on a character boundary.
        let end = changed.bytes().position(|byte| !CHANGED[usize::from(byte)]).unwrap_or(changed.len());
        for byte in changed[..end].bytes() {
            if byte == b' ' {
                out.push('+');
            } else {
                out.push('%');
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0xF)]));
            }
        }
        rest = &changed[end..];
    }
    out.push_str(rest);
}

/// The bytes `escape_into` changes, as a lookup table: `serde_qs`'s query-string set (the
/// WHATWG query percent-encode set, i.e. controls, `"`, `#`, `<`, `>`, plus the characters that
/// structure a form: `%`, `+`, `[`, `]`, `=`, `&`), the space, and every non-ASCII byte.
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
