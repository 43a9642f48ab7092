//! The unified request's JSON Schema (`schema/update-request.schema.json`), compiled once at
//! start-up. The same document is published in `/openapi.json`.

use checkout_provider_interface::FieldProblem;
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

/// The schema text, embedded so the binary is self-contained.
pub const UPDATE_REQUEST_SCHEMA: &str = include_str!("../schema/update-request.schema.json");

pub struct UpdateSchema {
    validator: jsonschema::Validator,
    document: Value,
}

impl UpdateSchema {
    /// Compile the embedded schema. Fails only if the embedded document is broken (a build
    /// defect that the test suite catches).
    pub fn compile() -> Result<Self, String> {
        let document: Value = serde_json::from_str(UPDATE_REQUEST_SCHEMA).map_err(|e| e.to_string())?;
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&document)
            .map_err(|e| e.to_string())?;
        Ok(Self { validator, document })
    }

    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Every violation, each with the JSON pointer of the offending value.
    pub fn violations(&self, instance: &Value) -> Vec<FieldProblem> {
        let mut problems: Vec<FieldProblem> = Vec::new();
        for error in self.validator.iter_errors(instance) {
            let base = error.instance_path().as_str().to_owned();
            match error.kind() {
                // Name each unknown field itself, so a typo points at the typo.
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    for field in unexpected {
                        let pointer =
                            format!("{base}/{}", checkout_provider_interface::capability::escape_pointer(field));
                        problems.push(FieldProblem::new(pointer, format!("unknown field `{field}`")));
                    }
                }
                // A `not` message would quote the whole subschema; its description says it better.
                ValidationErrorKind::Not { .. } => {
                    let described = self
                        .document
                        .pointer(error.schema_path().as_str())
                        .and_then(|schema| schema.get("description"))
                        .and_then(Value::as_str);
                    let detail = described.map_or_else(|| truncate(error.to_string()), ToOwned::to_owned);
                    problems.push(FieldProblem::new(base, detail));
                }
                _ => problems.push(FieldProblem::new(base, truncate(error.to_string()))),
            }
        }
        problems.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        problems.dedup();
        problems
    }
}

/// Violation messages quote the offending value; keep a huge value from bloating the answer.
fn truncate(mut message: String) -> String {
    const LIMIT: usize = 300;
    if message.len() > LIMIT {
        let mut cut = LIMIT;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    message
}
