//! The HTTP API: routes and the middleware stack, read top to bottom.

pub mod answers;
pub mod body;
pub mod compat;
pub mod extract;
pub mod handlers;
pub mod idempotent;
pub mod openapi;
pub mod passthrough;
pub mod problem;
pub mod problems;
pub mod respond;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::HeaderValue;
use tower::ServiceBuilder;
use tracing::Instrument;

use crate::admission::TenantSlot;
use crate::api::extract::{RequestId, TenantLabel};
use crate::api::problem::{ApiError, fill_request_id};
use crate::api::respond::PROVIDER_HEADER;
use crate::state::Gateway;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The gateway's router over `state`. `/metrics` is here only when no `server.admin_listen`
/// is configured (then it is on [`admin_router`]).
pub fn router(gateway: Arc<Gateway>) -> Router {
    let metrics_here = gateway.current().config.server.admin_listen.is_none();
    // The API proper: every route counts against the one global `max_concurrency` and reads its
    // body under the body deadline (`admit`). A `route_layer` on this router would otherwise
    // build one limiter per route and method, so the limit lives in `Gateway::admission`.
    let api = Router::new()
        .route(
            "/v1/checkout/sessions/{id}",
            get(handlers::retrieve_session).patch(handlers::update_session).post(handlers::update_session),
        )
        .route("/v1/checkout/sessions/{id}/preview", post(handlers::preview_update))
        .route("/v1/providers", get(handlers::list_providers))
        .route("/v1/providers/compatibility", get(compat::report))
        .route(passthrough::ROUTE, axum::routing::any(passthrough::forward))
        .route("/openapi.json", get(openapi::serve))
        .route("/problems/{code}", get(problems::serve))
        .route_layer(axum::middleware::from_fn_with_state(Arc::clone(&gateway), admit));
    // Probes (and metrics) are never shed: an orchestrator must see a busy gateway as alive.
    let mut probes = Router::new().route("/healthz", get(handlers::healthz)).route("/readyz", get(handlers::readyz));
    if metrics_here {
        probes = probes.route("/metrics", get(handlers::metrics));
    }
    let routes = api.merge(probes).fallback(not_found).method_not_allowed_fallback(method_not_allowed);
    with_request_layers(routes).with_state(gateway)
}

/// The outermost layers of the API: every response carries X-Request-Id and runs inside a span
/// that has it; every problem body carries the same id (also the shedding 503 and the panic
/// 500, which the inner layers produce).
fn with_request_layers<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes.layer(
        ServiceBuilder::new()
            .layer(axum::middleware::from_fn(request_span))
            // A panic is a bug, but the client still gets problem+json, not a dropped connection.
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response)),
    )
}

/// The admin listener (`server.admin_listen`): metrics and the detailed readiness, for the
/// operator's network only.
pub fn admin_router(gateway: Arc<Gateway>) -> Router {
    Router::new()
        .route("/metrics", get(handlers::metrics))
        .route("/readyz", get(handlers::readiness_detail))
        .route("/healthz", get(handlers::healthz))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(admin_request_id))
        .with_state(gateway)
}

/// Admission for the API routes: one slot of the global `max_concurrency` (read from the
/// current config, so a reload changes it), a place for the tenant's own slot, and the body
/// read deadline. Beyond the limit the request is shed with 503 rather than queued.
async fn admit(State(gateway): State<Arc<Gateway>>, mut request: Request, next: Next) -> Response {
    let (max_concurrency, body_deadline) = {
        let state = gateway.current();
        (state.config.server.max_concurrency, state.config.server.body_read_timeout)
    };
    let Some(permit) = gateway.admission.enter(max_concurrency) else {
        crate::metrics::shed("global");
        return ApiError::Overloaded.into_response();
    };
    let tenant_slot = TenantSlot::default();
    request.extensions_mut().insert(tenant_slot.clone());
    let request = request.map(|body| crate::body_deadline::with_deadline(body, body_deadline));
    let response = next.run(request).await;
    // Both slots are held until the handler has produced its response.
    drop((tenant_slot, permit));
    response
}

/// Choose the request id (the client's, if sane), run the request in its span, echo the id.
async fn request_span(mut request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), ToOwned::to_owned);
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = request.method().clone();
    request.extensions_mut().insert(RequestId(request_id.clone()));
    let tenant = TenantLabel::default();
    request.extensions_mut().insert(tenant.clone());
    let span = tracing::info_span!(
        "request",
        otel.kind = tracing::field::Empty,
        request_id = %request_id,
        %method,
        route = %route,
        tenant = tracing::field::Empty,
        provider = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    // With trace export on, the client's `traceparent` is this span's parent.
    crate::telemetry::trace::continue_trace(&span, request.headers());
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("status", status);
    crate::telemetry::trace::end_request(&span, &method, &route, status);
    span.record("latency_ms", started.elapsed().as_millis());
    let provider = response.headers().get(PROVIDER_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let tenant = tenant.0.get().map_or("", String::as_str);
    crate::metrics::request(tenant, provider, &route, status, started.elapsed());
    span.in_scope(|| tracing::info!(status, "request finished"));
    fill_request_id(&mut response, &request_id);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// The admin listener has no request span; its problem bodies still get an id of their own.
async fn admin_request_id(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    fill_request_id(&mut response, &uuid::Uuid::new_v4().to_string());
    response
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The panic's message, when it has one, is logged as the cause (it names a bug, not a secret).
fn panic_response(payload: Box<dyn std::any::Any + Send>) -> Response {
    let message = match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload.downcast_ref::<&str>().map_or("no message", |text| text).to_owned(),
    };
    ApiError::Internal { what: "handler panicked".to_owned(), cause: Some(message.into()) }.into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_a_500_problem_with_the_request_id() {
        async fn boom() -> &'static str {
            panic!("a bug")
        }
        let routes: Router = Router::new().route("/boom", get(boom));
        let request = Request::builder().uri("/boom").header(REQUEST_ID_HEADER, "rid-panic").body(Body::empty());
        let response = with_request_layers(routes).oneshot(request.unwrap()).await.unwrap();
        assert_eq!(response.status(), 500);
        assert_eq!(response.headers()[REQUEST_ID_HEADER], "rid-panic");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "internal_error");
        assert_eq!(problem["request_id"], "rid-panic");
        assert!(!problem.to_string().contains("a bug"), "the panic message is logged, not shown");
    }
}
