//! Translation cost per adapter: unified request → provider request (typing the unified JSON,
//! the capability check and `build_update`), provider response → unified session
//! (`parse_session`), and both together, for a metadata-only update and for 100 line items.
//! Stripe also runs 1/10/100 items to show the cost is linear; Mattilda with a private key also
//! times the headers of one attempt (a freshly signed ES512 JWT). Run: `cargo bench --bench translate`.
#![allow(clippy::expect_used, clippy::panic, reason = "a benchmark with a broken fixture must stop loudly")]

mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;

use checkout_provider_interface::capability::check_update;
use checkout_provider_interface::{
    Access, Adapter, Context, CurrentState, ProviderFactory, ProviderResponse, UnifiedUpdate,
};
use criterion::{BenchmarkId, Criterion, Throughput};
use serde::Deserialize;
use serde_json::{Value, json};
use support::cpu_clock::ThreadCpu;

/// One adapter, one update: everything a translation needs, prepared outside the timed loop.
struct Fixture {
    factory: &'static ProviderFactory,
    adapter: Arc<dyn Adapter>,
    ctx: Context,
    unified: Value,
    current: Option<ProviderResponse>,
    response: ProviderResponse,
}

impl Fixture {
    /// Unified JSON (already schema-valid) → provider request, as the gateway's pipeline does.
    fn request(&self) -> checkout_provider_interface::ProviderRequest {
        let update = UnifiedUpdate::deserialize(&self.unified).expect("typed update");
        let update = check_update(self.factory, self.adapter.as_ref(), update)
            .unwrap_or_else(|refused| panic!("fixture must pass the capability check: {refused:?}"));
        let current = self.current.as_ref().map_or(CurrentState::NotRequested, CurrentState::Read);
        self.adapter.build_update(&update, current, &self.ctx).expect("provider request")
    }

    fn response(&self) -> checkout_provider_interface::UnifiedSession {
        self.adapter.parse_session(&self.response, &self.ctx).expect("unified session")
    }

    /// Fail before measuring if the fixture would benchmark an error path.
    fn checked(self, items: Option<usize>) -> Self {
        let request = self.request();
        assert!(!request.body().is_empty(), "an update sends a body");
        let session = self.response();
        if let Some(count) = items {
            assert_eq!(session.line_items.as_ref().map(Vec::len), Some(count), "the answer lists every item");
        }
        self
    }
}

/// A metadata-only (or, for Paypercut, rate-only: all it can update) update from a contract case.
fn small(kind: &str, config_case: &str, case_file: &str) -> Fixture {
    let config = support::case(kind, config_case);
    let case = support::case(kind, case_file);
    Fixture {
        factory: support::factory(kind),
        adapter: support::adapter(kind, &config),
        ctx: support::context(&case),
        unified: case.unified_request.clone().expect("an update case"),
        current: support::current_state(&case),
        response: support::provider_response(&case),
    }
    .checked(None)
}

/// `count` ad-hoc line items; the answer is the case's answer listing `count` items.
fn large(kind: &str, case_file: &str, pointer: &str, count: usize, options: Option<Value>) -> Fixture {
    let case = support::case(kind, case_file);
    Fixture {
        factory: support::factory(kind),
        adapter: support::adapter(kind, &case),
        ctx: support::context(&case),
        unified: support::items_update(count, "USD", options),
        current: support::current_state(&case),
        response: support::with_items(&support::provider_response(&case), pointer, count),
    }
    .checked(Some(count))
}

fn stripe_items(count: usize) -> Fixture {
    let expand = json!({ "stripe": { "expand": ["line_items"] } });
    large("stripe", "03-line-items-all-forms-expanded.json", "/line_items/data", count, Some(expand))
}

/// The same items without `expand[]=line_items`: Stripe then answers with the session alone
/// (2.7 KB instead of 62 KB), which separates the request side from the size of the answer.
fn stripe_items_unexpanded(count: usize) -> Fixture {
    let case = support::case("stripe", "01-metadata-set-and-remove.json");
    Fixture {
        factory: support::factory("stripe"),
        adapter: support::adapter("stripe", &case),
        ctx: support::context(&case),
        unified: support::items_update(count, "USD", None),
        current: None,
        response: support::provider_response(&case),
    }
    .checked(None)
}

/// Exactly what `bench/load.sh` sends through the gateway: its ~1 KB body, and the canned
/// upstream answer (stripe contract case 03, 4 expanded items).
fn stripe_load_body() -> Fixture {
    let case = support::case("stripe", "03-line-items-all-forms-expanded.json");
    Fixture {
        factory: support::factory("stripe"),
        adapter: support::adapter("stripe", &case),
        ctx: support::context(&case),
        unified: support::load_body(),
        current: None,
        response: support::provider_response(&case),
    }
    .checked(Some(4))
}

fn bench_fixture(c: &mut Criterion<ThreadCpu>, group: &str, name: &str, fixture: &Fixture) {
    let mut group = c.benchmark_group(format!("translate/{group}"));
    group.bench_function(format!("{name}/request"), |b| b.iter(|| black_box(fixture.request())));
    group.bench_function(format!("{name}/response"), |b| b.iter(|| black_box(fixture.response())));
    group.bench_function(format!("{name}/both"), |b| {
        b.iter(|| {
            black_box(fixture.request());
            black_box(fixture.response())
        });
    });
    group.finish();
}

/// The headers the adapter mints for each attempt of a write (with a private key: a freshly
/// signed ES512 JWT), which the core adds to every attempt, retries included.
fn bench_attempt_headers(c: &mut Criterion<ThreadCpu>, group: &str, name: &str, fixture: &Fixture) {
    let headers = || fixture.adapter.attempt_headers(Access::Write, &fixture.ctx, 1).expect("attempt headers");
    assert!(headers().contains_key(http::header::AUTHORIZATION), "the fixture signs a token per attempt");
    let mut group = c.benchmark_group(format!("translate/{group}"));
    group.bench_function(format!("{name}/attempt_headers"), |b| b.iter(|| black_box(headers())));
    group.finish();
}

/// The core asks every successful answer whether it needs a follow-up read (Stripe: a first
/// page of line items); with nothing to follow up, as here, that is all it costs.
fn bench_follow_up(c: &mut Criterion<ThreadCpu>, group: &str, name: &str, fixture: &Fixture) {
    let follow_up = || fixture.adapter.follow_up(&fixture.response, &fixture.ctx).expect("follow-up decision");
    assert!(follow_up().is_none(), "the fixture's answer lists every item");
    let mut group = c.benchmark_group(format!("translate/{group}"));
    group.bench_function(format!("{name}/follow_up"), |b| b.iter(|| black_box(follow_up())));
    group.finish();
}

/// What no serde_json-based parse of the answer can beat: the same checks and scan the
/// response side starts with (UTF-8 once, then every token of the body), with nothing kept.
fn bench_scan_floor(c: &mut Criterion<ThreadCpu>, group: &str, name: &str, fixture: &Fixture) {
    let scan = || {
        let text = std::str::from_utf8(fixture.response.body()).expect("UTF-8 answer");
        serde_json::from_str::<serde::de::IgnoredAny>(text).expect("JSON answer")
    };
    let mut group = c.benchmark_group(format!("translate/{group}"));
    group.bench_function(format!("{name}/scan_floor"), |b| b.iter(|| black_box(scan())));
    group.finish();
}

fn adapters(c: &mut Criterion<ThreadCpu>) {
    let stripe = "stripe";
    let metadata = "01-metadata-set-and-remove.json";
    bench_fixture(c, stripe, "metadata", &small(stripe, metadata, metadata));
    let items = stripe_items(100);
    bench_fixture(c, stripe, "items_100", &items);
    bench_follow_up(c, stripe, "items_100", &items);
    bench_scan_floor(c, stripe, "items_100", &items);
    bench_fixture(c, stripe, "items_100_unexpanded", &stripe_items_unexpanded(100));
    bench_fixture(c, stripe, "load_1k", &stripe_load_body());

    // Token auth for both sizes, so they differ only in the items; the JWT variant below is
    // signed per attempt (`attempt_headers`, outside `build_update`): its own row shows what
    // signing a fresh ES512 token adds to each attempt.
    let mattilda = "mattilda";
    let token = "02-update-line-items-currency-token.json";
    bench_fixture(c, mattilda, "metadata", &small(mattilda, token, "01-update-metadata-merge-jwt.json"));
    bench_fixture(c, mattilda, "items_100", &large(mattilda, token, "/cart_items", 100, None));
    let jwt = "01-update-metadata-merge-jwt.json";
    let signed = small(mattilda, jwt, jwt);
    bench_fixture(c, mattilda, "metadata_jwt", &signed);
    bench_attempt_headers(c, mattilda, "metadata_jwt", &signed);

    // Paypercut can only select a shipping rate; crypto-invoice has no line items.
    let paypercut = "01-select-shipping-rate.json";
    bench_fixture(c, "paypercut", "shipping_rate", &small("paypercut", paypercut, paypercut));
    let speed = "03-update-metadata-without-version.json";
    bench_fixture(c, "crypto-invoice", "metadata", &small("crypto-invoice", speed, speed));
}

/// Request build + response parse for 1, 10 and 100 Stripe items: linear if time/item is flat.
fn stripe_linearity(c: &mut Criterion<ThreadCpu>) {
    let mut group = c.benchmark_group("translate/stripe_items");
    for count in [1_usize, 10, 100] {
        let fixture = stripe_items(count);
        group.throughput(Throughput::Elements(count as u64));
        group.bench_with_input(BenchmarkId::from_parameter(count), &fixture, |b, fixture| {
            b.iter(|| {
                black_box(fixture.request());
                black_box(fixture.response())
            });
        });
    }
    group.finish();
}

fn main() {
    let started = SystemTime::now();
    let mut c = support::criterion();
    adapters(&mut c);
    stripe_linearity(&mut c);
    c.final_summary();
    support::print_medians(started);
}
