//! The unified request's JSON Schema (`schema/update-request.schema.json`), compiled once at
//! start-up. The same document is published in `/openapi.json`.
//!
//! Validation is bounded (DESIGN §4): the collection sizes the schema states (`maxItems`,
//! `maxProperties`) are checked first, by a walk that never looks inside an oversized
//! collection, so `[{},{},…]` costs one problem and not four per element; at most
//! [`MAX_PROBLEMS`] + 1 problems are kept; and a detail quotes client input only as a short
//! excerpt.

use std::fmt::Write as _;

use checkout_provider_interface::FieldProblem;
use checkout_provider_interface::capability::escape_pointer;
use jsonschema::ValidationError;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use crate::errors::{EXCERPT_CHARS, MAX_PROBLEMS, excerpt};

/// The schema text, embedded so the binary is self-contained.
pub const UPDATE_REQUEST_SCHEMA: &str = include_str!("../schema/update-request.schema.json");

/// `$ref` hops followed in a row before giving up (the schema's references do not chain).
const MAX_REF_HOPS: usize = 8;

pub struct UpdateSchema {
    validator: jsonschema::Validator,
    document: Value,
}

/// The embedded schema document is broken: a build defect, never the operator's or a client's.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("the embedded update schema is not JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("the embedded update schema does not compile")]
    DoesNotCompile(#[source] jsonschema::ValidationError<'static>),
}

impl UpdateSchema {
    /// Compile the embedded schema. Fails only if the embedded document is broken (a build
    /// defect that the test suite catches).
    pub fn compile() -> Result<Self, SchemaError> {
        let document: Value = serde_json::from_str(UPDATE_REQUEST_SCHEMA).map_err(SchemaError::NotJson)?;
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&document)
            .map_err(|e| SchemaError::DoesNotCompile(e.to_owned()))?;
        Ok(Self { validator, document })
    }

    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The violations, each with the JSON pointer of the offending value: the oversized
    /// collections alone when there are any, else the schema's own findings. At most
    /// [`MAX_PROBLEMS`] + 1 are returned, so the answer can say it was truncated.
    pub fn violations(&self, instance: &Value) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        self.oversized(&self.document, instance, &mut String::new(), &mut problems);
        if !problems.is_empty() {
            return problems;
        }
        // The validator collects its errors eagerly; the size walk above is what bounds them.
        for error in self.validator.iter_errors(instance) {
            for problem in self.describe(&error) {
                if !problems.contains(&problem) {
                    problems.push(problem);
                }
            }
            if problems.len() > MAX_PROBLEMS {
                problems.truncate(MAX_PROBLEMS + 1);
                break;
            }
        }
        problems.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        problems
    }

    /// One validator error as problems (an unknown-fields error names each field).
    fn describe(&self, error: &ValidationError<'_>) -> Vec<FieldProblem> {
        let base = error.instance_path().as_str();
        match error.kind() {
            // Name each unknown field itself, so a typo points at the typo; a name too long to
            // quote is shown as an excerpt at its object.
            ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
                .iter()
                .take(MAX_PROBLEMS + 1)
                .map(|field| {
                    if field.chars().count() > EXCERPT_CHARS {
                        FieldProblem::new(base, format!("unknown field `{}`", excerpt(field, EXCERPT_CHARS)))
                    } else {
                        FieldProblem::new(
                            format!("{base}/{}", escape_pointer(field)),
                            format!("unknown field `{field}`"),
                        )
                    }
                })
                .collect(),
            // A `not` message would quote the whole subschema; its description says it better.
            ValidationErrorKind::Not { .. } => {
                let described = self
                    .document
                    .pointer(error.schema_path().as_str())
                    .and_then(|schema| schema.get("description"))
                    .and_then(Value::as_str);
                vec![FieldProblem::new(base, described.map_or_else(|| message(error), ToOwned::to_owned))]
            }
            _ => vec![FieldProblem::new(base, message(error))],
        }
    }

    /// Walk `instance` along `schema` (properties, items, additional properties, `$ref`) and
    /// report each collection larger than its `maxItems` / `maxProperties`, without looking
    /// inside it.
    /// `pointer` is the instance's JSON pointer, extended and cut back in place as the walk goes
    /// (no string per visited value: this walk runs on every request).
    fn oversized(&self, schema: &Value, instance: &Value, pointer: &mut String, found: &mut Vec<FieldProblem>) {
        let schema = self.resolve(schema);
        let depth = pointer.len();
        match instance {
            Value::Array(items) => {
                if let Some(max) = limit(schema, "maxItems", items.len()) {
                    found.push(FieldProblem::new(
                        &*pointer,
                        format!("{} items; at most {max} are allowed", items.len()),
                    ));
                    return;
                }
                let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) else { return };
                // Only collections can be oversized.
                for (index, item) in items.iter().enumerate().filter(|(_, item)| is_collection(item)) {
                    let _ = write!(pointer, "/{index}");
                    self.oversized(item_schema, item, pointer, found);
                    pointer.truncate(depth);
                }
            }
            Value::Object(map) => {
                if let Some(max) = limit(schema, "maxProperties", map.len()) {
                    found.push(FieldProblem::new(
                        &*pointer,
                        format!("{} members; at most {max} are allowed", map.len()),
                    ));
                    return;
                }
                let properties = schema.get("properties");
                let additional = schema.get("additionalProperties").filter(|s| s.is_object());
                for (key, value) in map.iter().filter(|(_, value)| is_collection(value)) {
                    if let Some(member) = properties.and_then(|p| p.get(key)).or(additional) {
                        pointer.push('/');
                        if key.contains(['~', '/']) {
                            pointer.push_str(&escape_pointer(key));
                        } else {
                            pointer.push_str(key);
                        }
                        self.oversized(member, value, pointer, found);
                        pointer.truncate(depth);
                    }
                }
            }
            _ => {}
        }
    }

    /// Follow local `$ref`s (`#/$defs/…`) to the schema they name.
    fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..MAX_REF_HOPS {
            let Some(target) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) else {
                break;
            };
            // `/$defs/Name`, the schema's only form, without `Value::pointer`'s unescaping copies.
            let definition = target
                .strip_prefix("/$defs/")
                .filter(|name| !name.contains(['~', '/']))
                .map(|name| self.document.get("$defs").and_then(|defs| defs.get(name)));
            match definition.unwrap_or_else(|| self.document.pointer(target)) {
                Some(next) => schema = next,
                None => break,
            }
        }
        schema
    }
}

fn is_collection(value: &Value) -> bool {
    matches!(value, Value::Array(_) | Value::Object(_))
}

/// The schema's `keyword` limit when `size` exceeds it.
fn limit(schema: &Value, keyword: &str, size: usize) -> Option<u64> {
    schema.get(keyword).and_then(Value::as_u64).filter(|max| u64::try_from(size).is_ok_and(|size| size > *max))
}

/// The validator's message with the offending value shown only as a short excerpt (its own
/// message would quote the whole value).
fn message(error: &ValidationError<'_>) -> String {
    if let ValidationErrorKind::PropertyNames { error: name_error } = error.kind() {
        return format!("property name {}", message(name_error));
    }
    error.masked_with(instance_excerpt(error.instance())).to_string()
}

/// `value` as compact JSON, cut after [`EXCERPT_CHARS`] characters without rendering the rest.
fn instance_excerpt(value: &Value) -> String {
    let mut out = Bounded { text: String::new(), left: EXCERPT_CHARS, cut: false };
    // A full buffer stops the rendering with an error; what was written is the excerpt.
    let _ = write!(out, "{value}");
    if out.cut {
        out.text.push('…');
    }
    out.text
}

/// A `fmt::Write` that keeps the first `left` characters and then refuses more.
struct Bounded {
    text: String,
    left: usize,
    cut: bool,
}

impl std::fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for c in s.chars() {
            if self.left == 0 {
                self.cut = true;
                return Err(std::fmt::Error);
            }
            self.text.push(c);
            self.left -= 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> UpdateSchema {
        UpdateSchema::compile().unwrap()
    }

    #[test]
    fn an_oversized_array_is_one_problem_at_its_pointer() {
        let items: Vec<Value> = (0..5_000).map(|_| json!({})).collect();
        let problems = schema().violations(&json!({ "line_items": items }));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].pointer, "/line_items");
        assert_eq!(problems[0].detail, "5000 items; at most 100 are allowed");
    }

    #[test]
    fn nested_and_object_limits_are_checked_before_validation() {
        let categories: Vec<String> = (0..21).map(|i| format!("c{i}")).collect();
        let metadata: serde_json::Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!(7))).collect();
        let body = json!({
            "line_items": [{ "id": "li_1", "categories": categories }],
            "metadata": metadata,
            "shipping_options": [{}, {}, {}, {}, {}, {}],
        });
        let pointers: Vec<String> = schema().violations(&body).into_iter().map(|p| p.pointer).collect();
        assert_eq!(pointers, ["/line_items/0/categories", "/metadata", "/shipping_options"]);
    }

    #[test]
    fn problems_stop_one_past_the_cap() {
        let items: Vec<Value> = (0..100).map(|_| json!({})).collect();
        assert_eq!(schema().violations(&json!({ "line_items": items })).len(), MAX_PROBLEMS + 1);
    }

    #[test]
    fn a_detail_quotes_only_an_excerpt_of_the_value() {
        let long = "x".repeat(10_000);
        let problems = schema().violations(&json!({ "description": long, "metadata": { long.clone(): "v" } }));
        assert!(!problems.is_empty());
        for problem in &problems {
            assert!(problem.detail.chars().count() < EXCERPT_CHARS + 60, "{problem:?}");
            assert!(problem.pointer.len() < 100, "{problem:?}");
        }
        let unknown = schema().violations(&json!({ long.clone(): 1 }));
        assert_eq!(unknown[0].pointer, "");
        assert!(unknown[0].detail.ends_with("…`"), "{unknown:?}");
    }
}
