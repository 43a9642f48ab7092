//! The metric names a PromQL expression reads, for checking the dashboard and alert rules against
//! what the gateway exports. Not a PromQL parser: a lexer that drops what cannot be a metric name
//! (strings, label matchers, ranges, numbers and durations, Grafana variables, label lists after
//! `by`/`without`/`on`/`ignoring`/`group_*`, keywords) and sorts the remaining identifiers into
//! function calls and metric names.

use std::collections::BTreeSet;

/// PromQL's functions and aggregation operators. A call to anything else is reported, so a typo
/// in a dashboard's function (which no tool here would catch) fails the test too.
const FUNCTIONS: &[&str] = &[
    "abs",
    "absent",
    "absent_over_time",
    "avg",
    "avg_over_time",
    "bottomk",
    "ceil",
    "changes",
    "clamp",
    "clamp_max",
    "clamp_min",
    "count",
    "count_over_time",
    "count_values",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "delta",
    "deriv",
    "exp",
    "floor",
    "group",
    "histogram_count",
    "histogram_fraction",
    "histogram_quantile",
    "histogram_sum",
    "holt_winters",
    "hour",
    "idelta",
    "increase",
    "irate",
    "label_join",
    "label_replace",
    "last_over_time",
    "ln",
    "log10",
    "log2",
    "max",
    "max_over_time",
    "min",
    "min_over_time",
    "minute",
    "month",
    "predict_linear",
    "present_over_time",
    "quantile",
    "quantile_over_time",
    "rate",
    "resets",
    "round",
    "scalar",
    "sgn",
    "sort",
    "sort_desc",
    "sqrt",
    "stddev",
    "stddev_over_time",
    "stdvar",
    "stdvar_over_time",
    "sum",
    "sum_over_time",
    "time",
    "timestamp",
    "topk",
    "vector",
    "year",
];

/// Keywords followed by a parenthesised list of label names (skipped with it).
const LABEL_LIST_KEYWORDS: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];

/// Other keywords and literals that read like identifiers.
const KEYWORDS: &[&str] = &["and", "or", "unless", "bool", "offset", "inf", "nan"];

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Names {
    pub metrics: BTreeSet<String>,
    /// Calls to something that is not a PromQL function or aggregation.
    pub unknown_functions: BTreeSet<String>,
}

pub fn names(expr: &str) -> Names {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = Names::default();
    let mut at = 0;
    while let Some(&c) = chars.get(at) {
        at = match c {
            '"' | '\'' | '`' => skip_string(&chars, at),
            '$' => skip_variable(&chars, at),
            '{' => skip_group(&chars, at, '{', '}'),
            '[' => skip_group(&chars, at, '[', ']'),
            c if c.is_ascii_digit() || (c == '.' && chars.get(at + 1).is_some_and(char::is_ascii_digit)) => {
                // Numbers and durations (`0.99`, `1e3`, `15m` after `offset`).
                skip_while(&chars, at, |c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => identifier(&chars, at, &mut names),
            _ => at + 1,
        };
    }
    names
}

/// The metrics a Grafana variable query reads: `label_values(<selector>, <label>)` reads the
/// selector, `label_values(<label>)` none, anything else is PromQL.
pub fn variable_query_names(query: &str) -> Names {
    let Some(args) = query.trim().strip_prefix("label_values(").and_then(|rest| rest.strip_suffix(')')) else {
        return names(query);
    };
    match args.rsplit_once(',') {
        Some((selector, _label)) => names(selector),
        None => Names::default(),
    }
}

fn identifier(chars: &[char], start: usize, names: &mut Names) -> usize {
    let end = skip_while(chars, start, |c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    let word: String = chars[start..end].iter().collect();
    let next = skip_while(chars, end, char::is_whitespace);
    // PromQL keywords are case-insensitive (`AND`, `Inf`).
    let lower = word.to_ascii_lowercase();
    if LABEL_LIST_KEYWORDS.contains(&lower.as_str()) {
        return if chars.get(next) == Some(&'(') { skip_group(chars, next, '(', ')') } else { end };
    }
    if KEYWORDS.contains(&lower.as_str()) {
        return end;
    }
    // `sum by (x) (…)`: an aggregation may put its label list before the parenthesis.
    let called = chars.get(next) == Some(&'(') || {
        let after: String =
            chars[next..skip_while(chars, next, |c| c.is_ascii_alphabetic() || c == '_')].iter().collect();
        after.eq_ignore_ascii_case("by") || after.eq_ignore_ascii_case("without")
    };
    if !called {
        names.metrics.insert(word);
    } else if !FUNCTIONS.contains(&word.as_str()) {
        names.unknown_functions.insert(word);
    }
    end
}

fn skip_while(chars: &[char], mut at: usize, keep: impl Fn(char) -> bool) -> usize {
    while chars.get(at).is_some_and(|&c| keep(c)) {
        at += 1;
    }
    at
}

/// Past the closing quote (a backslash escapes the next character, except in raw strings).
fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut at = start + 1;
    while let Some(&c) = chars.get(at) {
        if c == '\\' && quote != '`' {
            at += 2;
        } else if c == quote {
            return at + 1;
        } else {
            at += 1;
        }
    }
    at
}

/// `$name`, `${name}`, `${name:format}`, `$__rate_interval`.
fn skip_variable(chars: &[char], start: usize) -> usize {
    if chars.get(start + 1) == Some(&'{') {
        return skip_group(chars, start + 1, '{', '}');
    }
    skip_while(chars, start + 1, |c| c.is_ascii_alphanumeric() || c == '_')
}

/// Past the `close` matching the `open` at `start`, skipping strings inside (a `}` in a regex).
fn skip_group(chars: &[char], start: usize, open: char, close: char) -> usize {
    let mut depth = 0;
    let mut at = start;
    while let Some(&c) = chars.get(at) {
        if c == '"' || c == '\'' || c == '`' {
            at = skip_string(chars, at);
            continue;
        }
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return at + 1;
            }
        }
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(expr: &str) -> Vec<String> {
        let found = names(expr);
        assert!(found.unknown_functions.is_empty(), "{expr}: {:?}", found.unknown_functions);
        found.metrics.into_iter().collect()
    }

    #[test]
    fn selectors_ranges_and_label_lists_leave_only_metric_names() {
        let expr = r#"histogram_quantile(0.99, sum by (le, provider) (rate(a_seconds_bucket{provider=~"$provider", x="}{"}[$__rate_interval])))"#;
        assert_eq!(metrics(expr), ["a_seconds_bucket"]);
        let expr = "sum without (instance) (rate(a_total[5m])) / on (provider) group_left (tenant) b_total > bool 0.1 and c offset 15m";
        assert_eq!(metrics(expr), ["a_total", "b_total", "c"]);
        assert_eq!(metrics("max(x) by (provider) == 2 or ${var:raw} or 1e3 or -Inf"), ["x"]);
        assert_eq!(metrics("sum(rate(x{}[5m:1m]))"), ["x"]);
    }

    #[test]
    fn grafana_label_values_reads_only_its_selector() {
        assert_eq!(variable_query_names("label_values(gateway_requests_total, tenant)").metrics.len(), 1);
        assert!(variable_query_names("label_values(tenant)").metrics.is_empty());
        assert_eq!(variable_query_names("up{job=\"x\"}").metrics.into_iter().collect::<Vec<_>>(), ["up"]);
    }

    #[test]
    fn a_call_to_an_unknown_function_is_reported() {
        let found = names("histogram_quantil(0.9, rate(x_bucket[5m]))");
        assert_eq!(found.unknown_functions.into_iter().collect::<Vec<_>>(), ["histogram_quantil"]);
    }
}
