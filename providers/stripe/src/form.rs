//! Stripe's wire format: `application/x-www-form-urlencoded` with bracket notation for nested
//! objects and indexed arrays (`line_items[0][price]=price_1&metadata[k]=v`), the same shape
//! stripe-node produces (it also keeps the brackets literal). Encoding and decoding go through
//! `serde_qs`; this module only fixes the settings and the key order.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

/// Deepest key we produce is `shipping_options[0][shipping_rate_data][delivery_estimate][minimum][unit]`
/// (6 segments); provider options may nest a little deeper.
const MAX_DEPTH: usize = 12;

/// Encode a nested JSON object as a Stripe form body. Keys are sorted at every level so the
/// body is byte-for-byte stable whatever `serde_json`'s map ordering feature is. `null`
/// becomes an empty value, as stripe-node sends it (Stripe reads it as "unset").
pub fn encode(body: &Map<String, Value>) -> Result<String, String> {
    if body.is_empty() {
        return Ok(String::new());
    }
    // Query-string mode keeps brackets literal and encodes spaces as `+`; both are valid form
    // encoding and what Stripe's own library sends.
    let config = serde_qs::Config::new().use_form_encoding(false).max_depth(MAX_DEPTH);
    config.serialize_string(&Sorted(&Value::Object(body.clone()))).map_err(|e| e.to_string())
}

/// Decode a form body or query string into nested JSON (every leaf a string). Percent-encoded
/// brackets (`line_items%5B0%5D…`) are accepted as well as literal ones.
pub fn decode(text: &str) -> Result<Value, String> {
    if text.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let config = serde_qs::Config::new().use_form_encoding(true).max_depth(MAX_DEPTH);
    config.deserialize_str::<Value>(text).map_err(|e| e.to_string())
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
            encode(&body).as_deref(),
            Ok(
                "expand[0]=line_items&line_items[0][id]=li_1&line_items[0][quantity]=2&line_items[1][price]=price_1&line_items[1][quantity]=1&metadata[gone]=&metadata[order+id]=4%262&shipping_options=&unset="
            )
        );
        assert_eq!(encode(&Map::new()).as_deref(), Ok(""));
    }

    #[test]
    fn decodes_literal_and_percent_encoded_brackets() {
        let decoded = decode(
            "line_items%5B0%5D%5Bid%5D=li_1&line_items[0][quantity]=2&metadata[a+b]=x%26y&expand[]=line_items&shipping_options=",
        );
        assert_eq!(
            decoded,
            Ok(json!({
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
        assert_eq!(decode(&encoded), Ok(Value::Object(body)));
    }
}
