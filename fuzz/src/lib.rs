//! What the fuzz targets share: one gateway state, built once per process, with a provider for
//! every registered kind and every distinct `provider_config` found in that kind's contract
//! cases (so a new provider is fuzzed as soon as it is registered and has cases).
//!
//! The state is the real one (`config::load` + `AppState::new`), so the targets drive the same
//! functions the HTTP handlers call. Set-up failures panic on purpose: a fuzz target that cannot
//! start must fail loudly, and libFuzzer reports the panic.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use checkout_gateway::api::problem::ApiError;
use checkout_gateway::config::{self, Provider};
use checkout_gateway::registry::PROVIDERS;
use checkout_gateway::state::AppState;
use checkout_provider_interface::contract::Case;
use checkout_provider_interface::{Context, ProviderResponse};
use serde_json::{Map, Value, json};

/// One configured provider with a context its adapter accepts.
pub struct Target {
    pub provider: Arc<Provider>,
    pub ctx: Context,
    /// Provider answers to the read that read-then-write adapters do first (from the cases'
    /// `current_state`), so `build_update` also runs against a real current state.
    pub current_states: Vec<ProviderResponse>,
    /// The config signs a JWT per call (Mattilda's `private_key`). The signature depends only on
    /// the context, never on the request body, and ES512 signing under ASan is ~30x the cost of
    /// the rest of the pipeline, so `update_request` leaves these out; the same kind's token
    /// config runs the same body builder.
    pub signs_per_call: bool,
}

pub struct Harness {
    pub state: Arc<AppState>,
    pub targets: Vec<Target>,
    /// Kept alive for anything the state's constructor spawned.
    _runtime: tokio::runtime::Runtime,
}

/// The shared harness, built on first use.
pub fn harness() -> &'static Harness {
    static HARNESS: LazyLock<Harness> = LazyLock::new(build);
    &HARNESS
}

/// The crate's `providers/` directory (the fuzz crate lives in `<repo>/fuzz`).
fn providers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("providers")
}

/// Every contract case of `kind`, parsed.
pub fn cases(kind: &str) -> Vec<Case> {
    let dir = providers_dir().join(kind).join("contracts");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}

fn build() -> Harness {
    // Provider name -> (kind, the kind's cases' contexts and current states).
    let mut providers = Map::new();
    let mut per_name: BTreeMap<String, (Vec<Context>, Vec<ProviderResponse>)> = BTreeMap::new();
    let mut signing = Vec::new();
    for factory in PROVIDERS {
        let cases = cases(factory.kind);
        assert!(!cases.is_empty(), "{}: no contract cases to take a provider config from", factory.kind);
        let contexts: Vec<Context> = cases.iter().filter_map(|case| case.context().ok()).collect();
        let currents: Vec<ProviderResponse> = cases
            .iter()
            .filter_map(|case| case.current_state.as_ref())
            .filter_map(|exchange| exchange.response.to_response().ok())
            .collect();
        let mut seen = Vec::new();
        for case in &cases {
            if seen.contains(&case.provider_config) {
                continue;
            }
            seen.push(case.provider_config.clone());
            let name = format!("{}-{}", factory.kind, seen.len());
            if case.provider_config.contains_key("private_key") {
                signing.push(name.clone());
            }
            let mut table = case.provider_config.clone();
            table.insert("kind".to_owned(), json!(factory.kind));
            // Never contacted: the targets only build requests and parse given answers.
            table.insert("base_url".to_owned(), json!("http://127.0.0.1:9"));
            table.insert("allow_insecure_http".to_owned(), json!(true));
            providers.insert(name.clone(), Value::Object(table));
            per_name.insert(name, (contexts.clone(), currents.clone()));
        }
    }
    let document = json!({ "server": { "listen": "127.0.0.1:0" }, "providers": providers });
    let text = toml::to_string(&document).unwrap_or_else(|e| panic!("config as TOML: {e}"));
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap_or_else(|e| panic!("temp file: {e}"));
    file.write_all(text.as_bytes()).unwrap_or_else(|e| panic!("write config: {e}"));
    let config = config::load(file.path()).unwrap_or_else(|e| panic!("fuzz config: {e}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    let state = runtime.block_on(AppState::new(config)).unwrap_or_else(|e| panic!("gateway state: {e}"));
    let targets = state
        .config
        .providers
        .values()
        .map(|provider| {
            let (contexts, current_states) = per_name.remove(&provider.name).unwrap_or_default();
            // A context whose session id this adapter accepts (cases also show rejected ids).
            let ctx = contexts
                .into_iter()
                .find(|ctx| provider.adapter.check_session_id(&ctx.session_id).is_ok())
                .unwrap_or_else(|| panic!("{}: no contract case with a valid session id", provider.name));
            let signs_per_call = signing.contains(&provider.name);
            Target { provider: Arc::clone(provider), ctx, current_states, signs_per_call }
        })
        .collect();
    Harness { state, targets, _runtime: runtime }
}

/// Render an error the way the gateway answers it (problem+json body and headers); pipeline
/// errors pass through the same mapping to [`ApiError`] as in the handlers.
pub fn render(error: impl Into<ApiError>, request_id: &str) {
    let stored = error.into().to_stored(request_id);
    std::hint::black_box(stored);
}
