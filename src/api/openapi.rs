//! `/openapi.json`: OpenAPI 3.1 of this API, generated from what the server itself uses: the
//! request schema file the validator compiles, and `schemars` schemas of the response and
//! problem types the handlers serialize.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use checkout_provider_interface::UnifiedSession;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::api::problem::Problem;
use crate::errors::ErrorCode;
use crate::state::Gateway;

pub async fn serve(State(gateway): State<Arc<Gateway>>) -> Json<Value> {
    Json(document(gateway.current().schema.document()))
}

/// Build the document around the unified request schema.
pub fn document(request_schema: &Value) -> Value {
    let mut schemas = Map::new();
    // The request schema's `$defs` become components; its refs are rewritten to match.
    let mut request = rewrite_refs(request_schema.clone(), "#/$defs/", "#/components/schemas/");
    if let Some(object) = request.as_object_mut() {
        object.remove("$schema");
        object.remove("$id");
        if let Some(Value::Object(defs)) = object.remove("$defs") {
            schemas.extend(defs);
        }
    }
    schemas.insert("UpdateRequest".to_owned(), request);
    let mut generator =
        SchemaSettings::draft2020_12().with(|s| s.definitions_path = "/components/schemas/".into()).into_generator();
    // Registering the types fills the definitions; the returned `$ref`s are not needed.
    generator.subschema_for::<UnifiedSession>();
    generator.subschema_for::<Problem>();
    for (name, schema) in generator.take_definitions(true) {
        schemas.insert(name, schema);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "checkout-gateway",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "One API to update and read checkout sessions at several payment providers."
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "components": {
            "schemas": schemas,
            "securitySchemes": { "tenantKey": { "type": "http", "scheme": "bearer" } },
            "parameters": parameters(),
            "responses": responses(),
        },
        "security": [{ "tenantKey": [] }],
        "paths": paths(),
    })
}

fn rewrite_refs(value: Value, from: &str, to: &str) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => (key, Value::String(target.replacen(from, to, 1))),
                    (_, value) => (key, rewrite_refs(value, from, to)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| rewrite_refs(v, from, to)).collect()),
        other => other,
    }
}

fn parameters() -> Value {
    json!({
        "SessionId": { "name": "id", "in": "path", "required": true,
            "schema": { "type": "string", "pattern": "^[A-Za-z0-9_\\-:.]{1,200}$" } },
        "CheckoutProvider": { "name": "Checkout-Provider", "in": "header", "required": false,
            "description": "Use this configured provider instead of the tenant's default.",
            "schema": { "type": "string" } },
        "IdempotencyKey": { "name": "Idempotency-Key", "in": "header", "required": false,
            "schema": { "type": "string", "pattern": "^[A-Za-z0-9:_\\-.]{1,255}$" } },
        "RequestId": { "name": "X-Request-Id", "in": "header", "required": false,
            "description": "Used as the request id when it is 1-128 characters of A-Z a-z 0-9 - _ . :; otherwise a UUID is generated instead.",
            "schema": { "type": "string" } },
        "Include": { "name": "include", "in": "query", "required": false,
            "schema": { "type": "string", "enum": ["provider_data"] } }
    })
}

fn problem(description: &str) -> Value {
    json!({ "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } })
}

fn responses() -> Value {
    json!({
        "Session": { "description": "The unified session.",
            "headers": { "Checkout-Provider": { "schema": { "type": "string" } }, "X-Request-Id": { "schema": { "type": "string" } } },
            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/UnifiedSession" } } } },
        "Problem": problem("An error (RFC 9457); `code` is stable, see /problems/{code}.")
    })
}

/// The statuses each operation can answer, with the problem codes behind them (from the one
/// error table, so the document cannot list a code with another status than it is sent with).
fn error_responses(statuses: &[u16]) -> Map<String, Value> {
    statuses
        .iter()
        .map(|status| {
            let codes: Vec<&str> =
                ErrorCode::ALL.into_iter().filter(|code| code.status() == *status).map(ErrorCode::as_str).collect();
            (status.to_string(), problem(&format!("Problem: {}", codes.join(", "))))
        })
        .collect()
}

fn paths() -> Value {
    let session_params = json!([
        { "$ref": "#/components/parameters/SessionId" },
        { "$ref": "#/components/parameters/CheckoutProvider" },
        { "$ref": "#/components/parameters/RequestId" }
    ]);
    let body = json!({ "required": true, "content": {
        "application/json": { "schema": { "$ref": "#/components/schemas/UpdateRequest" } },
        "application/merge-patch+json": { "schema": { "$ref": "#/components/schemas/UpdateRequest" } } } });
    let update_errors = error_responses(&[400, 401, 403, 404, 409, 413, 415, 422, 429, 502, 503, 504]);
    let mut update_responses = Map::new();
    update_responses.insert("200".to_owned(), json!({ "$ref": "#/components/responses/Session" }));
    update_responses.extend(update_errors);
    let update = json!({
        "summary": "Update a checkout session",
        "parameters": [ { "$ref": "#/components/parameters/IdempotencyKey" }, { "$ref": "#/components/parameters/Include" } ],
        "requestBody": body,
        "responses": update_responses,
    });
    let mut retrieve_responses = Map::new();
    retrieve_responses.insert("200".to_owned(), json!({ "$ref": "#/components/responses/Session" }));
    retrieve_responses.extend(error_responses(&[400, 401, 403, 404, 422, 429, 502, 503, 504]));
    let mut preview_responses = Map::new();
    preview_responses.insert(
        "200".to_owned(),
        json!({ "description": "The provider request(s), credentials redacted.",
        "content": { "application/json": { "schema": { "type": "object",
            "required": ["provider", "provider_kind", "requests", "notes", "warnings"],
            "properties": { "provider": { "type": "string" }, "provider_kind": { "type": "string" },
                "requests": { "type": "array", "items": { "type": "object" } },
                "notes": { "type": "array", "items": { "type": "string" } },
                "warnings": { "type": "array", "items": { "$ref": "#/components/schemas/Warning" } } } } } } }),
    );
    preview_responses.extend(error_responses(&[400, 401, 403, 413, 415, 422, 429]));
    json!({
        "/v1/checkout/sessions/{id}": {
            "parameters": session_params,
            "get": { "summary": "Retrieve a checkout session",
                "parameters": [ { "$ref": "#/components/parameters/Include" } ], "responses": retrieve_responses },
            "patch": update.clone(),
            "post": update,
        },
        "/v1/checkout/sessions/{id}/preview": {
            "parameters": session_params,
            "post": { "summary": "Dry run: the provider request(s) an update would send", "requestBody": body,
                "parameters": [ { "$ref": "#/components/parameters/IdempotencyKey" } ],
                "responses": preview_responses }
        },
        "/v1/passthrough/{provider}/{path}": passthrough(),
        "/v1/providers": { "get": { "summary": "The tenant's providers and capability matrix",
            "responses": { "200": { "description": "Providers.", "content": { "application/json": { "schema": { "type": "object" } } } },
                "401": { "$ref": "#/components/responses/Problem" }, "429": { "$ref": "#/components/responses/Problem" } } } },
        "/v1/providers/compatibility": { "get": { "summary": "Switch report: the fields this tenant sent and how a target provider supports each",
            "parameters": [ { "name": "to", "in": "query", "required": true, "schema": { "type": "string" } } ],
            "responses": { "200": { "description": "Report.", "content": { "application/json": { "schema": { "type": "object",
                    "required": ["tenant", "to", "kind", "compatible", "breaking", "fields"] } } } },
                "401": { "$ref": "#/components/responses/Problem" }, "403": { "$ref": "#/components/responses/Problem" },
                "422": { "$ref": "#/components/responses/Problem" }, "429": { "$ref": "#/components/responses/Problem" },
                "503": { "$ref": "#/components/responses/Problem" } } } },
        "/metrics": { "get": { "summary": "Prometheus metrics", "security": [],
            "responses": { "200": { "description": "Prometheus text format.", "content": { "text/plain": { "schema": { "type": "string" } } } } } } },
        "/healthz": { "get": { "summary": "Liveness", "security": [],
            "responses": { "200": { "description": "Serving.", "content": { "application/json": { "schema": { "type": "object" } } } } } } },
        "/readyz": { "get": { "summary": "Readiness", "security": [],
            "responses": { "200": { "description": "Ready.", "content": { "application/json": { "schema": { "type": "object" } } } },
                "503": { "$ref": "#/components/responses/Problem" } } } },
        "/openapi.json": { "get": { "summary": "This document", "security": [],
            "responses": { "200": { "description": "OpenAPI 3.1.", "content": { "application/json": { "schema": { "type": "object" } } } } } } },
        "/problems/{code}": { "get": { "summary": "Explain an error code", "security": [],
            "parameters": [ { "name": "code", "in": "path", "required": true, "schema": { "type": "string" } } ],
            "responses": { "200": { "description": "Explanation.", "content": { "application/json": { "schema": { "type": "object" } } } },
                "404": { "$ref": "#/components/responses/Problem" } } } }
    })
}

/// DESIGN §7. OpenAPI has no wildcard path parameter: `{path}` stands for one or more segments.
fn passthrough() -> Value {
    let mut responses = Map::new();
    responses.insert(
        "default".to_owned(),
        json!({ "description": "The provider's own answer, status and body unchanged (credentials masked), with Checkout-Provider." }),
    );
    responses.extend(error_responses(&[400, 401, 403, 413, 429, 502, 503, 504]));
    let operation = json!({
        "summary": "Forward to the provider's own API (allow-listed method + path only)",
        "description": "The provider's credentials replace the client's Authorization; hop-by-hop headers are dropped; the query string and body are forwarded unchanged, streamed, within server.max_body_bytes.",
        "responses": responses,
    });
    json!({
        "parameters": [
            { "name": "provider", "in": "path", "required": true, "schema": { "type": "string" },
              "description": "A configured provider in the tenant's allowed_providers." },
            { "name": "path", "in": "path", "required": true, "schema": { "type": "string" },
              "description": "The provider path (one or more segments), matched against the provider's passthrough.allow." },
            { "$ref": "#/components/parameters/RequestId" }
        ],
        "get": operation.clone(), "post": operation.clone(), "put": operation.clone(),
        "patch": operation.clone(), "delete": operation,
    })
}
