//! The load: `concurrency` workers share one counter and send `PATCH` requests until `requests`
//! have been sent. Each request carries its own `x-request-id` (`soak-<n>`, or `warmup-<n>`
//! before the measured phase), which the gateway forwards to the provider, so the mock's record
//! can be matched to the answer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinSet;

/// What a request body asks for, and so what answer is right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BodyKind {
    /// A valid update Stripe can express: expects 200 (or a 5xx explained by a fault).
    Valid,
    /// An unknown field: expects 422 `validation_failed`, without a provider call.
    Invalid,
    /// A field Stripe cannot express: expects 422 `unsupported_field`, without a provider call.
    Unsupported,
}

pub struct Plan {
    pub base: String,
    pub tenant_key: &'static str,
    pub requests: usize,
    pub concurrency: usize,
    /// Request ids are `<id_prefix>-<n>`.
    pub id_prefix: &'static str,
}

/// What the load saw: counts of everything, and the outcomes that are not a plain success (a
/// valid update answered with a session), which are few; successes are only counted.
#[derive(Default)]
pub struct Tally {
    pub statuses: BTreeMap<u16, usize>,
    pub codes: BTreeMap<String, usize>,
    pub kinds: BTreeMap<BodyKind, usize>,
    pub others: Vec<Outcome>,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        *self.kinds.entry(outcome.kind).or_default() += 1;
        if let Ok(answer) = &outcome.answer {
            *self.statuses.entry(answer.status).or_default() += 1;
            if let Some(code) = &answer.code {
                *self.codes.entry(code.clone()).or_default() += 1;
            }
            if outcome.kind == BodyKind::Valid && answer.status == 200 && answer.is_session {
                return;
            }
        }
        self.others.push(outcome);
    }

    fn merge(&mut self, other: Self) {
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        for (code, n) in other.codes {
            *self.codes.entry(code).or_default() += n;
        }
        for (kind, n) in other.kinds {
            *self.kinds.entry(kind).or_default() += n;
        }
        self.others.extend(other.others);
    }

    pub fn requests(&self) -> usize {
        self.kinds.values().sum()
    }
}

/// How one request ended.
pub struct Outcome {
    pub request_id: String,
    pub kind: BodyKind,
    pub answer: Result<Answer, String>,
}

pub struct Answer {
    pub status: u16,
    /// The problem `code` of an error answer.
    pub code: Option<String>,
    /// A 200 carried a unified checkout session.
    pub is_session: bool,
}

/// The `n`-th request: mostly metadata updates on the two open demo sessions, some with
/// expanded line items or a shipping rate choice, and 2 % refused by the gateway itself.
pub fn request(n: usize) -> (String, BodyKind, Value) {
    let session = if n % 2 == 0 { "cs_demo_open" } else { "cs_demo_open_2" };
    let (kind, body) = match n % 100 {
        37 => (BodyKind::Invalid, json!({ "metadata": { "soak_seq": n.to_string() }, "colour": "blue" })),
        73 => (BodyKind::Unsupported, json!({ "description": "not expressible on Stripe" })),
        m if m % 10 == 1 => (
            BodyKind::Valid,
            json!({ "shipping_options": [ { "shipping_rate": "shr_standard" }, { "shipping_rate": "shr_express" } ] }),
        ),
        m if m % 10 == 2 => (
            BodyKind::Valid,
            json!({
                "metadata": { "soak_seq": n.to_string() },
                "provider_options": { "stripe": { "expand": ["line_items"] } }
            }),
        ),
        _ => (BodyKind::Valid, json!({ "metadata": { "soak_seq": n.to_string(), "soak": "yes" } })),
    };
    (session.to_owned(), kind, body)
}

/// Send every request of the plan.
pub async fn run(plan: Plan) -> anyhow::Result<Tally> {
    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(30)).pool_max_idle_per_host(plan.concurrency).build()?;
    let plan = Arc::new(plan);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..plan.concurrency {
        let (client, plan, next) = (client.clone(), Arc::clone(&plan), Arc::clone(&next));
        workers.spawn(async move {
            let mut tally = Tally::default();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= plan.requests {
                    return tally;
                }
                tally.add(send(&client, &plan, n).await);
            }
        });
    }
    let mut tally = Tally::default();
    while let Some(done) = workers.join_next().await {
        tally.merge(done?);
    }
    Ok(tally)
}

async fn send(client: &reqwest::Client, plan: &Plan, n: usize) -> Outcome {
    let (session, kind, body) = request(n);
    let request_id = format!("{}-{n}", plan.id_prefix);
    let result = client
        .patch(format!("{}/v1/checkout/sessions/{session}", plan.base))
        .bearer_auth(plan.tenant_key)
        .header("x-request-id", &request_id)
        .json(&body)
        .send()
        .await;
    let answer = match result {
        Ok(response) => {
            let status = response.status().as_u16();
            match response.json::<Value>().await {
                Ok(body) => Ok(Answer {
                    status,
                    code: body.get("code").and_then(Value::as_str).map(str::to_owned),
                    is_session: body.get("object").and_then(Value::as_str) == Some("checkout_session"),
                }),
                Err(error) => Err(format!("{status} with an unreadable body: {error}")),
            }
        }
        Err(error) => Err(error.to_string()),
    };
    Outcome { request_id, kind, answer }
}
