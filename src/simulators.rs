//! Serves the configured providers' simulators on one loopback port, each under
//! `/<provider-name>/`, for the embedded default config. Provider knowledge stays in each
//! provider crate's simulator; this only routes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use checkout_provider_interface::Simulator;

type Simulators = Arc<HashMap<String, Arc<dyn Simulator>>>;

/// Largest request body a simulator accepts.
const MAX_BODY: usize = 4 * 1024 * 1024;

pub fn router(simulators: &[(String, Arc<dyn Simulator>)]) -> Router {
    let map: Simulators = Arc::new(simulators.iter().cloned().collect());
    Router::new().fallback(route).with_state(map)
}

async fn route(State(simulators): State<Simulators>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let (name, rest) =
        path.trim_start_matches('/').split_once('/').map_or((path.trim_start_matches('/'), ""), |(n, r)| (n, r));
    let Some(simulator) = simulators.get(name).cloned() else {
        return (http::StatusCode::NOT_FOUND, format!("no simulated provider named `{name}`")).into_response();
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return (http::StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response();
    };
    let uri = match parts.uri.query() {
        Some(query) => format!("/{rest}?{query}"),
        None => format!("/{rest}"),
    };
    let mut builder = http::Request::builder().method(parts.method).uri(uri);
    for (header, value) in &parts.headers {
        builder = builder.header(header, value);
    }
    let Ok(inner) = builder.body(bytes.to_vec()) else {
        return (http::StatusCode::BAD_REQUEST, "bad request").into_response();
    };
    let response = simulator.handle(inner);
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Body::from(body))
}
