//! Every adapter's response parser on arbitrary provider answers: the first byte picks the
//! status, the second which headers are present, the rest is the body. The answer then goes the
//! way the gateway takes it: `parse_session`, the session serialised (with `provider_data`), or
//! the error mapped by `update::adapter_error` (secret scrubbing, `Retry-After`) and rendered as
//! problem+json; `retry_advice` and `dispatch::retry_after` as the dispatcher reads them.
//! Nothing may panic.
#![no_main]

use checkout_gateway::dispatch::retry_after;
use checkout_gateway::update;
use checkout_gateway_fuzz::{harness, render};
use checkout_provider_interface::ProviderResponse;
use libfuzzer_sys::fuzz_target;

/// Statuses providers answer with (success, client errors the adapters classify, server errors).
const STATUSES: [u16; 20] =
    [200, 201, 202, 204, 301, 400, 401, 402, 403, 404, 409, 410, 422, 425, 429, 500, 502, 503, 504, 599];

/// Headers the adapters or the dispatcher read, switched on by the bits of the second byte.
const HEADERS: [(&str, &str); 8] = [
    ("content-type", "application/json"),
    ("content-type", "text/html; charset=utf-8"),
    ("request-id", "req_fuzz_provider"),
    ("x-request-id", "req_fuzz_provider"),
    ("stripe-should-retry", "true"),
    ("stripe-should-retry", "false"),
    ("retry-after", "2"),
    ("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),
];

fn response(data: &[u8]) -> Option<ProviderResponse> {
    let (&status, rest) = data.split_first()?;
    let (&flags, body) = rest.split_first()?;
    let mut builder = http::Response::builder().status(STATUSES[usize::from(status) % STATUSES.len()]);
    for (bit, (name, value)) in HEADERS.iter().enumerate() {
        if flags & (1 << bit) != 0 {
            builder = builder.header(*name, *value);
        }
    }
    builder.body(body.to_vec()).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some(response) = response(data) else { return };
    let harness = harness();
    let state = harness.state.as_ref();
    std::hint::black_box(retry_after(&response));
    for target in &harness.targets {
        let provider = &target.provider;
        std::hint::black_box(provider.adapter.retry_advice(&response));
        match provider.adapter.parse_session(&response, &target.ctx) {
            Ok(mut session) => {
                session.provider.clone_from(&provider.name);
                session.provider_data = serde_json::from_slice(response.body()).ok();
                std::hint::black_box(serde_json::to_vec(&session).ok());
            }
            Err(error) => {
                render(update::adapter_error(state, provider, error, Some(&response)), &target.ctx.request_id);
            }
        }
    }
});
