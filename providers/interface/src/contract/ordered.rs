//! A JSON tree that keeps the key order of the text it was read from.
//!
//! `serde_json::Value` sorts object keys: the workspace leaves serde_json's `preserve_order` off,
//! because turning it on would change the key order of every JSON body the gateway writes. A
//! contract case rewritten by `UPDATE_EXPECT=1` must keep its hand-chosen order (description
//! first, provider bodies as the provider sends them), so the rewrite reads the file into this
//! tree, changes only the expected outputs, and writes it back in the cases' pretty form.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// A JSON value whose objects list their keys in file order.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Ordered {
    Object(Vec<(String, Ordered)>),
    Array(Vec<Ordered>),
    /// `null`, a boolean, a number or a string.
    Scalar(Value),
}

impl Ordered {
    /// The value of `key` in an object; `None` for a missing key or a non-object.
    pub(super) fn get_mut(&mut self, key: &str) -> Option<&mut Ordered> {
        match self {
            Ordered::Object(entries) => entries.iter_mut().find(|(name, _)| name == key).map(|(_, value)| value),
            Ordered::Array(_) | Ordered::Scalar(_) => None,
        }
    }

    /// `new` written over `self`: keys both hold stay where `self` has them (and unchanged
    /// values keep their text), keys only `new` holds follow in `new`'s order, keys only `self`
    /// holds go. The result equals `new` as JSON; the diff shows only what changed.
    pub(super) fn overwritten_with(&self, new: &Value) -> Ordered {
        match (self, new) {
            (Ordered::Object(old), Value::Object(new_entries)) => {
                let kept = old.iter().filter_map(|(key, value)| {
                    new_entries.get(key).map(|new| (key.clone(), value.overwritten_with(new)))
                });
                let added = new_entries
                    .iter()
                    .filter(|(key, _)| !old.iter().any(|(name, _)| name == *key))
                    .map(|(key, value)| (key.clone(), Ordered::from(value)));
                Ordered::Object(kept.chain(added).collect())
            }
            (Ordered::Array(old), Value::Array(new_items)) => Ordered::Array(
                new_items
                    .iter()
                    .enumerate()
                    .map(|(index, new)| {
                        old.get(index).map_or_else(|| Ordered::from(new), |old| old.overwritten_with(new))
                    })
                    .collect(),
            ),
            (Ordered::Scalar(old), new) if old == new => self.clone(),
            (_, new) => Ordered::from(new),
        }
    }
}

impl From<&Value> for Ordered {
    fn from(value: &Value) -> Self {
        match value {
            Value::Object(entries) => {
                Ordered::Object(entries.iter().map(|(key, value)| (key.clone(), Ordered::from(value))).collect())
            }
            Value::Array(items) => Ordered::Array(items.iter().map(Ordered::from).collect()),
            scalar => Ordered::Scalar(scalar.clone()),
        }
    }
}

impl Serialize for Ordered {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Ordered::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
            Ordered::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Ordered::Scalar(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Ordered;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Ordered>()? {
            entries.push(entry);
        }
        Ok(Ordered::Object(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Ordered>()? {
            items.push(item);
        }
        Ok(Ordered::Array(items))
    }

    fn visit_unit<E>(self) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::Null))
    }

    fn visit_bool<E>(self, value: bool) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::Bool(value)))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::from(value)))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::from(value)))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::from(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::from(value)))
    }

    fn visit_string<E>(self, value: String) -> Result<Ordered, E> {
        Ok(Ordered::Scalar(Value::String(value)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, reason = "tests fail loudly")]

    use serde_json::json;

    use super::Ordered;

    #[test]
    fn keys_keep_their_file_order_through_a_round_trip() {
        let text = "{\n  \"zeta\": 1,\n  \"alpha\": {\n    \"y\": [\n      true,\n      null\n    ],\n    \"b\": \"x\"\n  }\n}";
        let tree: Ordered = serde_json::from_str(text).expect("parses");
        assert_eq!(serde_json::to_string_pretty(&tree).expect("writes"), text);
    }

    #[test]
    fn overwriting_keeps_shared_keys_in_place_and_takes_the_new_values() {
        let old: Ordered = serde_json::from_str(r#"{"b": 1, "gone": 2, "a": {"y": 1, "x": 2}}"#).expect("parses");
        let new = json!({ "a": { "x": 3, "y": 1 }, "b": 1, "c": 4 });
        let merged = old.overwritten_with(&new);
        assert_eq!(serde_json::to_value(&merged).expect("converts"), new);
        assert_eq!(serde_json::to_string(&merged).expect("writes"), r#"{"b":1,"a":{"y":1,"x":3},"c":4}"#);
    }
}
