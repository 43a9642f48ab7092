//! The unified request path on arbitrary bytes: JSON parse and object check (as `read_json`),
//! JSON Schema validation, typing and the capability check (`update::prepare`, in both
//! `on_unsupported` modes), then every adapter's request builders (`preview::preview`, and
//! `build_update` against each known current state for read-then-write adapters). Every error is
//! rendered as the gateway would answer it. Nothing may panic. (Providers whose config signs a
//! JWT per call are left out: see `Target::signs_per_call`.)
#![no_main]

use checkout_gateway::api::problem::ApiError;
use checkout_gateway::config::OnUnsupported;
use checkout_gateway::preview::preview;
use checkout_gateway::{idempotency, update};
use checkout_gateway_fuzz::{harness, render};
use checkout_provider_interface::CurrentState;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let harness = harness();
    let state = harness.state.as_ref();
    // `read_json`: only a JSON object reaches the pipeline.
    let body = match serde_json::from_slice::<Value>(data) {
        Ok(body @ Value::Object(_)) => body,
        Ok(_) | Err(_) => return,
    };
    // `prepare` starts with the schema; when it fails, it fails the same for every provider.
    let violations = state.schema.violations(&body);
    if !violations.is_empty() {
        render(ApiError::ValidationFailed(violations), "req_fuzz");
        return;
    }
    for target in harness.targets.iter().filter(|target| !target.signs_per_call) {
        let provider = &target.provider;
        std::hint::black_box(idempotency::fingerprint("PATCH", &target.ctx.session_id, &provider.name, &body));
        for mode in [OnUnsupported::Reject, OnUnsupported::Ignore] {
            let prepared = match update::prepare(state, provider, body.clone(), mode) {
                Ok(prepared) => prepared,
                Err(error) => {
                    render(error, &target.ctx.request_id);
                    continue;
                }
            };
            match preview(state, provider, &prepared, &target.ctx) {
                Ok(calls) => {
                    std::hint::black_box(serde_json::to_vec(&calls).ok());
                }
                Err(error) => render(error, &target.ctx.request_id),
            }
            let adapter = provider.adapter.as_ref();
            let update::Plan::Update(checked) = &prepared.plan else { continue };
            if adapter.needs_current_state(checked) {
                for current in &target.current_states {
                    if let Err(error) = adapter.build_update(checked, CurrentState::Read(current), &target.ctx) {
                        render(update::adapter_error(state, provider, error, None), &target.ctx.request_id);
                    }
                }
            }
        }
    }
});
