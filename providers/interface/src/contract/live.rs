//! A live run's answers, written back into a case (`checkout-gateway contract-test --record`).
//!
//! The gateway sends a `live_safe` case's request to a real account and keeps the provider's
//! answers; [`record_answers`] writes them over the case's recorded answers (keeping the file's
//! key order, as `UPDATE_EXPECT=1` does), then lets the rewrite recompute the expected outputs
//! from them with the case's own context, so the offline runner passes on the refreshed case and
//! the diff shows exactly what the provider now answers.

use std::path::Path;

use serde_json::{Map, Value};

use super::ordered::Ordered;
use super::{CaseError, CaseResponse, rewrite_file};
use crate::ProviderResponse;

/// The provider's answers to one live run of a case, in the case's own shape.
#[derive(Debug, Clone)]
pub struct LiveAnswers {
    /// When the answers were given (RFC 3339): the case's `context.now` becomes this, so the
    /// offline runner maps them at the time they were made (a remaining lifetime, an expiry).
    pub now: String,
    /// The read a read-then-write adapter made first.
    pub current_state: Option<CaseResponse>,
    /// The answer to the case's request.
    pub response: CaseResponse,
    /// The follow-up read the adapter asked for after that answer, if it asked for one.
    pub follow_up: Option<CaseResponse>,
}

impl CaseResponse {
    /// `response` as a case records it: a JSON body as JSON, any other as text, and only the
    /// headers named in `keep` (a live answer carries dates, lengths and tracing headers no
    /// adapter reads; a case keeps the ones it already shows, e.g. the request id).
    pub fn recorded(response: &ProviderResponse, keep: &[String]) -> Self {
        let headers: Map<String, Value> = keep
            .iter()
            .filter_map(|name| {
                let value = response.headers().get(name.as_str())?;
                Some((name.clone(), Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned())))
            })
            .collect();
        let raw = response.body();
        let (body, body_text) = if raw.is_empty() {
            (None, None)
        } else {
            match serde_json::from_slice::<Value>(raw) {
                Ok(json) => (Some(json), None),
                Err(_) => (None, Some(String::from_utf8_lossy(raw).into_owned())),
            }
        };
        Self { status: response.status().as_u16(), headers, body, body_text }
    }
}

/// Write `answers` into the case at `path` (its `provider_response`, `current_state.response`
/// and `follow_up`), then rewrite its expected outputs from them (`UPDATE_EXPECT=1`'s rewrite)
/// and check the case passes offline. A follow-up the live answer needed and the case lacks is
/// added (its expected request filled in by the rewrite); one it no longer needs goes. Returns
/// whether the file changed.
pub fn record_answers(factory: &crate::ProviderFactory, path: &Path, answers: &LiveAnswers) -> Result<bool, CaseError> {
    let text = std::fs::read_to_string(path).map_err(|e| CaseError::Io(e).at(path))?;
    let tree: Ordered = serde_json::from_str(&text).map_err(|e| CaseError::Json(e).at(path))?;
    let recorded = with_answers(tree.clone(), answers).map_err(|e| e.at(path))?;
    let answers_changed = recorded != tree;
    if answers_changed {
        let mut written = serde_json::to_string_pretty(&recorded).map_err(CaseError::Json)?;
        written.push('\n');
        std::fs::write(path, written).map_err(|e| CaseError::Io(e).at(path))?;
    }
    let outputs_changed = rewrite_file(factory, path)?;
    Ok(answers_changed || outputs_changed)
}

/// `case` with the live answers in place of the recorded ones.
fn with_answers(mut case: Ordered, answers: &LiveAnswers) -> Result<Ordered, CaseError> {
    let as_value = |answer: &CaseResponse| serde_json::to_value(answer).map_err(CaseError::Json);
    let response = as_value(&answers.response)?;
    let slot = case.get_mut("provider_response").ok_or(CaseError::Inputs("the case has no `provider_response`"))?;
    *slot = slot.overwritten_with(&response);
    if let Some(answer) = &answers.current_state {
        let answer = as_value(answer)?;
        let slot = case
            .get_mut("current_state")
            .and_then(|exchange| exchange.get_mut("response"))
            .ok_or(CaseError::NoExchange { name: "current_state.response", exchange: "current_state" })?;
        *slot = slot.overwritten_with(&answer);
    }
    let now = Ordered::Scalar(Value::String(answers.now.clone()));
    match case.get_mut("context") {
        Some(Ordered::Object(context)) => match context.iter_mut().find(|(key, _)| key == "now") {
            Some((_, slot)) => *slot = now,
            None => context.push(("now".to_owned(), now)),
        },
        _ => return Err(CaseError::Inputs("the case has no `context` object")),
    }
    let Ordered::Object(entries) = &mut case else { return Err(CaseError::Inputs("a case is a JSON object")) };
    let existing = entries.iter().position(|(key, _)| key == "follow_up");
    match (&answers.follow_up, existing) {
        (Some(answer), Some(index)) => {
            let answer = as_value(answer)?;
            let exchange = &mut entries[index].1;
            let slot = exchange.get_mut("response").ok_or(CaseError::Inputs("`follow_up` has no `response`"))?;
            *slot = slot.overwritten_with(&answer);
        }
        (Some(answer), None) => {
            // The rewrite fills in the expected request; it must only exist.
            let exchange = serde_json::json!({ "expected_request": {}, "response": as_value(answer)? });
            let after = entries.iter().position(|(key, _)| key == "provider_response").map_or(entries.len(), |i| i + 1);
            entries.insert(after, ("follow_up".to_owned(), Ordered::from(&exchange)));
        }
        (None, Some(index)) => {
            entries.remove(index);
        }
        (None, None) => {}
    }
    Ok(case)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, reason = "tests fail loudly")]

    use serde_json::json;

    use super::{LiveAnswers, Ordered, with_answers};
    use crate::contract::CaseResponse;

    fn answer(body: serde_json::Value) -> CaseResponse {
        CaseResponse { status: 200, headers: serde_json::Map::new(), body: Some(body), body_text: None }
    }

    #[test]
    fn answers_replace_the_recorded_ones_in_place_and_follow_ups_come_and_go() {
        let case: Ordered = serde_json::from_str(
            r#"{"description": "d", "context": {"session_id": "s"}, "provider_response": {"status": 200, "headers": {"request-id": "r1"}, "body": {"b": 1, "a": 2}}, "follow_up": {"expected_request": {}, "response": {"status": 200}}, "expected_session": {}}"#,
        )
        .expect("parses");
        let mut live = answer(json!({ "a": 3, "b": 1 }));
        live.headers.insert("request-id".to_owned(), json!("r2"));
        let now = "2026-11-30T20:00:00Z".to_owned();
        let answers = LiveAnswers { now, current_state: None, response: live, follow_up: None };
        let written = serde_json::to_string(&with_answers(case.clone(), &answers).expect("records")).expect("writes");
        assert_eq!(
            written,
            r#"{"description":"d","context":{"session_id":"s","now":"2026-11-30T20:00:00Z"},"provider_response":{"status":200,"headers":{"request-id":"r2"},"body":{"b":1,"a":3}},"expected_session":{}}"#
        );
        let answers = LiveAnswers { follow_up: Some(answer(json!({ "data": [] }))), ..answers };
        let without: Ordered = serde_json::from_str(&written).expect("parses");
        let written = serde_json::to_value(with_answers(without, &answers).expect("records")).expect("converts");
        assert_eq!(written["follow_up"]["response"]["body"], json!({ "data": [] }));
    }

    #[test]
    fn a_state_answer_needs_the_cases_read() {
        let case: Ordered =
            serde_json::from_str(r#"{"context": {}, "provider_response": {"status": 200}}"#).expect("parses");
        let answers = LiveAnswers {
            now: String::new(),
            current_state: Some(answer(json!({}))),
            response: answer(json!({})),
            follow_up: None,
        };
        let error = with_answers(case, &answers).expect_err("no current_state in the case");
        assert!(error.to_string().contains("current_state"), "{error}");
    }
}
