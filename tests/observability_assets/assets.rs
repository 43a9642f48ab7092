//! The PromQL expressions of `deploy/observability/`: every panel target and query variable of
//! the Grafana dashboard, every rule's `expr` in the alert rules.

use std::path::{Path, PathBuf};

use super::promql::{self, Names};

/// One expression and where it comes from, for the failure message.
pub struct Expression {
    pub origin: String,
    pub text: String,
    pub names: Names,
}

pub fn observability_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/observability")
}

/// Every `expr` anywhere under `panels` (rows nest theirs) and every query variable.
pub fn dashboard_expressions(dashboard: &serde_json::Value) -> Vec<Expression> {
    let mut found = Vec::new();
    collect_targets(&dashboard["panels"], "panels", &mut found);
    let variables = dashboard["templating"]["list"].as_array().map(Vec::as_slice).unwrap_or_default();
    for variable in variables.iter().filter(|v| v["type"] == "query") {
        // Grafana stores the query as a string, or (newer editors) as `{ "query": "…" }`.
        let query = variable["query"]["query"].as_str().or_else(|| variable["query"].as_str()).unwrap_or_default();
        found.push(Expression {
            origin: format!("dashboard variable `{}`", variable["name"].as_str().unwrap_or_default()),
            text: query.to_owned(),
            names: promql::variable_query_names(query),
        });
    }
    found
}

fn collect_targets(value: &serde_json::Value, origin: &str, found: &mut Vec<Expression>) {
    match value {
        serde_json::Value::Object(object) => {
            let origin =
                object.get("title").and_then(|t| t.as_str()).map_or(origin.to_owned(), |t| format!("panel `{t}`"));
            if let Some(expr) = object.get("expr").and_then(|e| e.as_str()) {
                found.push(Expression { origin: origin.clone(), text: expr.to_owned(), names: promql::names(expr) });
            }
            for child in object.values() {
                collect_targets(child, &origin, found);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_targets(item, origin, found)),
        _ => {}
    }
}

/// Each rule's `expr`: inline, quoted, or a block scalar (`|`, `>`) whose lines are indented
/// deeper than the key. (The rules file is simple YAML; `promtool check rules` parses it fully.)
pub fn rule_expressions(yaml: &str) -> Vec<Expression> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut found = Vec::new();
    for (number, line) in lines.iter().enumerate() {
        let Some(value) = line.trim_start().strip_prefix("expr:") else { continue };
        let value = value.trim();
        let text = if value.starts_with('|') || value.starts_with('>') {
            let indent = indentation(line);
            lines[number + 1..]
                .iter()
                .take_while(|next| next.trim().is_empty() || indentation(next) > indent)
                .map(|next| next.trim())
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            unquote(value)
        };
        let origin = format!("alerts.yml line {}", number + 1);
        found.push(Expression { origin, names: promql::names(&text), text });
    }
    found
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn unquote(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return inner.replace("''", "'");
    }
    if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        return inner.replace("\\\"", "\"").replace("\\\\", "\\");
    }
    value.to_owned()
}
