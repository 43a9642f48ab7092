//! `/openapi.json`: OpenAPI 3.1 of this API, generated from what the server itself uses: the
//! request schema file the validator compiles, and `schemars` schemas of every answer type the
//! handlers serialize (a field added to one of them is in the document at once). The examples
//! are Rust values of those types, serialized, so they cannot drift from the schemas either.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use checkout_provider_interface::UnifiedSession;
use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use crate::api::answers::{Liveness, ProviderList, Readiness};
use crate::api::compat::SwitchReport;
use crate::api::problem::Problem;
use crate::api::problems::Explanation;
use crate::errors::ErrorCode;
use crate::preview::Preview;
use crate::state::Gateway;

mod examples;

pub async fn serve(State(gateway): State<Arc<Gateway>>) -> Json<Value> {
    Json(document(gateway.current().schema.document()))
}

/// `$ref`s to the answer schemas, registered with one generator.
struct Answers {
    session: Value,
    problem: Value,
    providers: Value,
    report: Value,
    preview: Value,
    explanation: Value,
    liveness: Value,
    readiness: Value,
}

impl Answers {
    fn register(generator: &mut SchemaGenerator) -> Self {
        fn reference<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
            generator.subschema_for::<T>().to_value()
        }
        Self {
            session: reference::<UnifiedSession>(generator),
            problem: reference::<Problem>(generator),
            providers: reference::<ProviderList>(generator),
            report: reference::<SwitchReport>(generator),
            preview: reference::<Preview>(generator),
            explanation: reference::<Explanation>(generator),
            liveness: reference::<Liveness>(generator),
            readiness: reference::<Readiness>(generator),
        }
    }
}

/// Build the document around the unified request schema.
pub fn document(request_schema: &Value) -> Value {
    let mut generator =
        SchemaSettings::draft2020_12().with(|s| s.definitions_path = "/components/schemas/".into()).into_generator();
    let answers = Answers::register(&mut generator);
    let mut schemas: Map<String, Value> = generator.take_definitions(true);
    schemas.extend(request_schemas(request_schema, &schemas));
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "checkout-gateway",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "One API to update and read checkout sessions at several payment providers."
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "tags": [
            { "name": "sessions", "description": "Update and read checkout sessions (DESIGN §2-§3)." },
            { "name": "providers", "description": "The tenant's providers, their capabilities, switching." },
            { "name": "passthrough", "description": "The provider's own API, allow-listed paths only." },
            { "name": "operations", "description": "Probes, metrics, this document, error codes." }
        ],
        "components": {
            "schemas": schemas,
            "securitySchemes": { "tenantKey": { "type": "http", "scheme": "bearer" } },
            "parameters": parameters(),
        },
        "security": [{ "tenantKey": [] }],
        "paths": paths(&answers),
    })
}

/// The request schema and its `$defs` as components. A definition named like an answer type
/// (the request's `DeliveryBound` is not the session's) is renamed `UpdateRequest<Name>`, and
/// the refs with it.
fn request_schemas(request_schema: &Value, answers: &Map<String, Value>) -> Map<String, Value> {
    let mut request = request_schema.clone();
    let mut defs = Map::new();
    if let Some(object) = request.as_object_mut() {
        object.remove("$schema");
        object.remove("$id");
        if let Some(Value::Object(found)) = object.remove("$defs") {
            defs = found;
        }
    }
    let component = |name: &str| {
        if answers.contains_key(name) { format!("UpdateRequest{name}") } else { name.to_owned() }
    };
    let names: BTreeMap<String, String> = defs
        .keys()
        .map(|name| (format!("#/$defs/{name}"), format!("#/components/schemas/{}", component(name))))
        .collect();
    let mut schemas = Map::new();
    for (name, schema) in defs {
        schemas.insert(component(&name), rewrite_refs(schema, &names));
    }
    schemas.insert("UpdateRequest".to_owned(), rewrite_refs(request, &names));
    schemas
}

fn rewrite_refs(value: Value, names: &BTreeMap<String, String>) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => {
                        let target = names.get(&target).cloned().unwrap_or(target);
                        (key, Value::String(target))
                    }
                    (_, value) => (key, rewrite_refs(value, names)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| rewrite_refs(v, names)).collect()),
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

/// A JSON answer of `schema`, with `examples` (name → value) when there are any.
fn json_response(description: &str, schema: &Value, examples: &[(&str, Value)]) -> Value {
    let mut media = json!({ "schema": schema });
    if !examples.is_empty() {
        let examples: Map<String, Value> =
            examples.iter().map(|(name, value)| ((*name).to_owned(), json!({ "value": value }))).collect();
        media["examples"] = Value::Object(examples);
    }
    json!({ "description": description, "content": { "application/json": media } })
}

fn problem_response(description: &str, answers: &Answers) -> Value {
    json!({ "description": description,
        "content": { "application/problem+json": { "schema": answers.problem } } })
}

/// The statuses an operation can answer besides its success, each with the problem codes
/// behind it (from the one error table, so the document cannot list a code with another status
/// than it is sent with). A status with a [`examples::problems`] entry shows it.
fn error_responses(statuses: &[u16], answers: &Answers) -> Map<String, Value> {
    statuses
        .iter()
        .map(|status| {
            let codes: Vec<&str> =
                ErrorCode::ALL.into_iter().filter(|code| code.status() == *status).map(ErrorCode::as_str).collect();
            let description =
                format!("A problem (RFC 9457), `code` one of: {}. See /problems/{{code}}.", codes.join(", "));
            let mut response = problem_response(&description, answers);
            let examples: Map<String, Value> = examples::problems()
                .into_iter()
                .filter(|problem| problem.status == *status)
                .map(|problem| (problem.code.as_str().to_owned(), json!({ "value": problem })))
                .collect();
            if !examples.is_empty() {
                response["content"]["application/problem+json"]["examples"] = Value::Object(examples);
            }
            (status.to_string(), response)
        })
        .collect()
}

fn operation(id: &str, tag: &str, summary: &str, responses: Map<String, Value>) -> Value {
    let mut operation = json!({ "operationId": id, "tags": [tag], "summary": summary });
    operation["responses"] = Value::Object(responses);
    operation
}

/// `success` (status, response) first, then the problems of `errors`.
fn responses(success: (&str, Value), errors: &[u16], answers: &Answers) -> Map<String, Value> {
    let mut all = Map::new();
    all.insert(success.0.to_owned(), success.1);
    all.extend(error_responses(errors, answers));
    all
}

fn paths(answers: &Answers) -> Value {
    let session_params = json!([
        { "$ref": "#/components/parameters/SessionId" },
        { "$ref": "#/components/parameters/CheckoutProvider" },
        { "$ref": "#/components/parameters/RequestId" }
    ]);
    let body = json!({ "required": true, "content": {
        "application/json": { "schema": { "$ref": "#/components/schemas/UpdateRequest" },
            "examples": { "update": { "value": { "metadata": { "order_id": "42" }, "currency": "usd",
                "line_items": [ { "name": "T-shirt", "quantity": 2, "unit_amount": 2500 } ] } } } },
        "application/merge-patch+json": { "schema": { "$ref": "#/components/schemas/UpdateRequest" } } } });
    let session = || {
        let mut response = json_response("The unified session.", &answers.session, &[("open", examples::session())]);
        response["headers"] = json!({ "Checkout-Provider": { "schema": { "type": "string" } },
            "X-Request-Id": { "schema": { "type": "string" } } });
        response
    };
    let update_errors = [400, 401, 403, 404, 409, 413, 415, 422, 429, 502, 503, 504];
    let update = |id: &str| {
        let mut operation = operation(
            id,
            "sessions",
            "Update a checkout session",
            responses(("200", session()), &update_errors, answers),
        );
        operation["parameters"] = json!([ { "$ref": "#/components/parameters/IdempotencyKey" },
            { "$ref": "#/components/parameters/Include" } ]);
        operation["requestBody"] = body.clone();
        operation
    };
    let mut retrieve = operation(
        "retrieveSession",
        "sessions",
        "Retrieve a checkout session",
        responses(("200", session()), &[400, 401, 403, 404, 422, 429, 502, 503, 504], answers),
    );
    retrieve["parameters"] = json!([ { "$ref": "#/components/parameters/Include" } ]);
    let mut preview = operation(
        "previewUpdate",
        "sessions",
        "Dry run: the provider request(s) an update would send",
        responses(
            ("200", json_response("The provider request(s), credentials redacted.", &answers.preview, &[])),
            &[400, 401, 403, 413, 415, 422, 429],
            answers,
        ),
    );
    preview["parameters"] = json!([ { "$ref": "#/components/parameters/IdempotencyKey" } ]);
    preview["requestBody"] = body.clone();
    let providers = operation(
        "listProviders",
        "providers",
        "The tenant's providers and capability matrix",
        responses(
            ("200", json_response("Providers.", &answers.providers, &[("providers", examples::providers())])),
            &[401, 429],
            answers,
        ),
    );
    let mut report = operation(
        "switchReport",
        "providers",
        "Switch report: the fields this tenant sent and how a target provider supports each",
        responses(
            ("200", json_response("Report.", &answers.report, &[("report", examples::report())])),
            &[401, 403, 422, 429, 503],
            answers,
        ),
    );
    report["parameters"] = json!([
        { "name": "to", "in": "query", "required": true, "schema": { "type": "string" },
          "description": "The provider to compare with (a configured name in the tenant's allowed_providers)." },
        { "name": "from", "in": "query", "required": false, "schema": { "type": "string" },
          "description": "The provider moved away from; default: the tenant's default provider." }
    ]);
    let mut metrics = operation("metrics", "operations", "Prometheus metrics", Map::new());
    metrics["responses"] = json!({ "200": { "description": "Prometheus text format.",
        "content": { "text/plain": { "schema": { "type": "string" } } } } });
    let mut problem_code = operation(
        "explainProblem",
        "operations",
        "Explain an error code",
        responses(("200", json_response("Explanation.", &answers.explanation, &[])), &[404], answers),
    );
    problem_code["parameters"] = json!([ { "name": "code", "in": "path", "required": true,
        "schema": { "$ref": "#/components/schemas/ErrorCode" } } ]);
    let public = |mut operation: Value| {
        operation["security"] = json!([]);
        operation
    };
    json!({
        "/v1/checkout/sessions/{id}": {
            "parameters": session_params,
            "get": retrieve,
            "patch": update("updateSession"),
            "post": update("updateSessionPost"),
        },
        "/v1/checkout/sessions/{id}/preview": { "parameters": session_params, "post": preview },
        "/v1/passthrough/{provider}/{path}": passthrough(answers),
        "/v1/providers": { "get": providers },
        "/v1/providers/compatibility": { "get": report },
        "/metrics": { "get": public(metrics) },
        "/healthz": { "get": public(operation("healthz", "operations", "Liveness",
            responses(("200", json_response("Serving.", &answers.liveness, &[])), &[], answers))) },
        "/readyz": { "get": public(operation("readyz", "operations", "Readiness",
            responses(("200", json_response("Ready.", &answers.readiness, &[])), &[503], answers))) },
        "/openapi.json": { "get": public(operation("openapi", "operations", "This document",
            responses(("200", json_response("OpenAPI 3.1.", &document_schema(), &[])), &[], answers))) },
        "/problems/{code}": { "get": public(problem_code) },
    })
}

/// This document's own shape: the one answer without a Rust type (it is built as JSON).
fn document_schema() -> Value {
    json!({ "type": "object", "required": ["openapi", "info", "paths"],
        "properties": { "openapi": { "type": "string" }, "info": { "type": "object" },
            "paths": { "type": "object" }, "components": { "type": "object" } } })
}

/// DESIGN §7. OpenAPI has no wildcard path parameter: `{path}` stands for one or more segments.
fn passthrough(answers: &Answers) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "default".to_owned(),
        json!({ "description": "The provider's own answer, status and body unchanged (credentials masked), with Checkout-Provider." }),
    );
    responses.extend(error_responses(&[400, 401, 403, 413, 429, 502, 503, 504], answers));
    let operation = |method: &str| {
        json!({
            "operationId": format!("passthrough{method}"),
            "tags": ["passthrough"],
            "summary": "Forward to the provider's own API (allow-listed method + path only)",
            "description": "The provider's credentials replace the client's Authorization; hop-by-hop headers are dropped; the query string and body are forwarded unchanged, streamed, within server.max_body_bytes.",
            "responses": responses,
        })
    };
    json!({
        "parameters": [
            { "name": "provider", "in": "path", "required": true, "schema": { "type": "string" },
              "description": "A configured provider in the tenant's allowed_providers." },
            { "name": "path", "in": "path", "required": true, "schema": { "type": "string" },
              "description": "The provider path (one or more segments), matched against the provider's passthrough.allow." },
            { "$ref": "#/components/parameters/RequestId" }
        ],
        "get": operation("Get"), "post": operation("Post"), "put": operation("Put"),
        "patch": operation("Patch"), "delete": operation("Delete"),
    })
}
