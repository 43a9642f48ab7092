//! `/openapi.json` is a document a client generator can use: every answer of every operation is
//! typed (a `$ref` to a derived schema or a schema with properties, never a bare object), every
//! `$ref` resolves, every example matches its schema, the problem schema lists every error code,
//! the request schema keeps its own definitions, and what a running gateway answers matches
//! what the document promises.

#![allow(clippy::expect_used, clippy::panic, reason = "test helpers fail the test loudly")]

mod support;

use checkout_gateway::api::openapi::document;
use checkout_gateway::errors::ErrorCode;
use checkout_gateway::schema::UPDATE_REQUEST_SCHEMA;
use serde_json::{Value, json};
use support::{TestGateway, stripe_config};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

fn request_schema() -> Value {
    serde_json::from_str(UPDATE_REQUEST_SCHEMA).expect("the request schema is JSON")
}

fn openapi() -> Value {
    document(&request_schema())
}

/// Every (operation, status, media type, media object) of the document.
fn answers(document: &Value) -> Vec<(String, String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let Some(responses) = operation.get("responses").and_then(Value::as_object) else { continue };
            for (status, response) in responses {
                let response = resolve(document, response);
                for (media_type, media) in response["content"].as_object().into_iter().flatten() {
                    let op = format!("{} {path}", method.to_uppercase());
                    found.push((op, status.clone(), media_type.clone(), media.clone()));
                }
            }
        }
    }
    found
}

/// `value`, or what its `$ref` points at (inside this document).
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(target) => {
            let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("{target} leaves the document"));
            document.pointer(pointer).unwrap_or_else(|| panic!("{target} does not resolve"))
        }
        None => value,
    }
}

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => out.push(target.clone()),
                    // Example values are data, not schemas.
                    ("examples" | "example", _) => {}
                    _ => refs(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
        _ => {}
    }
}

/// A validator for the document's schema at `pointer` (refs resolved inside the document).
fn validator(document: &Value, pointer: &str) -> jsonschema::Validator {
    let mut root = document.clone();
    root["$ref"] = json!(format!("#{pointer}"));
    jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("the schema at {pointer} does not compile: {e}"))
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

#[test]
fn every_answer_of_every_operation_is_typed() {
    let document = openapi();
    let all = answers(&document);
    assert!(all.len() > 50, "too few answers found: {}", all.len());
    for (op, status, media_type, media) in all {
        let schema = &media["schema"];
        let shown = resolve(&document, schema);
        let typed = shown.get("properties").is_some_and(|p| p.as_object().is_some_and(|p| !p.is_empty()))
            || shown.get("type").is_some_and(|t| t != "object");
        assert!(typed, "{op} {status} {media_type}: the schema is a bare object: {schema}");
        let json_answer = media_type == "application/json" || media_type.ends_with("+json");
        let derived = schema.get("$ref").is_some() || op == "GET /openapi.json";
        assert!(!json_answer || derived, "{op} {status}: not a derived schema (no $ref): {schema}");
    }
}

#[test]
fn every_ref_resolves_inside_the_document() {
    let document = openapi();
    let mut targets = Vec::new();
    refs(&document, &mut targets);
    assert!(targets.len() > 100, "too few refs: {}", targets.len());
    for target in targets {
        let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("{target} leaves the document"));
        assert!(document.pointer(pointer).is_some(), "{target} does not resolve");
    }
}

#[test]
fn every_operation_has_an_id_and_a_tag_for_generators() {
    let document = openapi();
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            if method == "parameters" {
                continue;
            }
            let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no id"));
            assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
            assert!(operation["tags"].as_array().is_some_and(|tags| !tags.is_empty()), "{method} {path}: no tag");
        }
    }
}

#[test]
fn every_example_matches_its_schema() {
    let document = openapi();
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let mut media_objects: Vec<(String, Value)> = Vec::new();
            for (status, response) in operation.get("responses").and_then(Value::as_object).into_iter().flatten() {
                for (media_type, media) in resolve(&document, response)["content"].as_object().into_iter().flatten() {
                    media_objects.push((format!("{status} {media_type}"), media.clone()));
                }
            }
            for (media_type, media) in operation["requestBody"]["content"].as_object().into_iter().flatten() {
                media_objects.push((format!("request {media_type}"), media.clone()));
            }
            for (place, media) in media_objects {
                let Some(examples) = media.get("examples").and_then(Value::as_object) else { continue };
                let target = media["schema"]["$ref"].as_str().expect("examples sit beside a $ref");
                let validator = validator(&document, target.trim_start_matches('#'));
                for (name, example) in examples {
                    let found = errors(&validator, &example["value"]);
                    assert!(found.is_empty(), "{method} {path} {place} example {name}: {found:?}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 8, "too few examples: {checked}");
}

#[test]
fn the_problem_schema_lists_every_error_code() {
    let document = openapi();
    let code = resolve(&document, &document["components"]["schemas"]["Problem"]["properties"]["code"]);
    let listed: Vec<&str> = code["enum"].as_array().expect("an enum").iter().filter_map(Value::as_str).collect();
    let table: Vec<&str> = ErrorCode::ALL.into_iter().map(ErrorCode::as_str).collect();
    assert_eq!(listed, table);
    let explained = &document["paths"]["/problems/{code}"]["get"]["parameters"][0]["schema"];
    assert_eq!(resolve(&document, explained)["enum"], code["enum"]);
}

/// The request schema's definitions survive next to the derived ones: a name both use (the
/// request's `DeliveryBound` and the session's) must not let one replace the other.
#[test]
fn the_update_request_validates_in_the_document_as_the_server_validates_it() {
    let document = openapi();
    let server = jsonschema::draft202012::new(&request_schema()).expect("the request schema compiles");
    let published = validator(&document, "/components/schemas/UpdateRequest");
    let option = |bound: Value| {
        json!({ "shipping_options": [ { "display_name": "Express", "amount": 500,
        "delivery_estimate": { "minimum": bound } } ] })
    };
    let bodies = [
        json!({ "metadata": { "order_id": "42" }, "currency": "usd",
            "line_items": [ { "name": "T-shirt", "quantity": 2, "unit_amount": 2500 } ] }),
        json!({}),
        json!({ "currency": "dollars" }),
        json!({ "redirects": { "success_url": "https://example.com/ok", "success_message": "thanks" } }),
        option(json!({ "unit": "day", "value": 2 })),
        option(json!({ "unit": "day", "value": 0 })),
        option(json!({ "unit": "fortnight", "value": 1 })),
        json!({ "shipping_details": { "name": "Ada" }, "line_items": [ { "id": "li_1" } ] }),
    ];
    for body in bodies {
        assert_eq!(published.is_valid(&body), server.is_valid(&body), "the verdicts differ for {body}");
    }
    assert!(!published.is_valid(&option(json!({ "unit": "day", "value": 0 }))));
}

/// A mock provider that must not be called: every answer below is the gateway's own.
async fn untouchable() -> MockServer {
    let mock = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(500)).expect(0).mount(&mock).await;
    mock
}

#[tokio::test]
async fn a_running_gateway_answers_what_the_document_promises() {
    let mock = untouchable().await;
    let gateway =
        TestGateway::start(&stripe_config(&mock.uri(), r#"allowed_providers = ["stripe-main", "stripe-other"]"#)).await;
    let document: Value = gateway.get("/openapi.json").await.json().await.expect("json");
    assert_eq!(document, openapi(), "the served document is the built one");
    let body = |value: Value| value.to_string();
    // (operation path, method, status, request path, body): each answer checked against its schema.
    let calls = [
        ("/v1/providers", "get", 200, "GET /v1/providers", None),
        ("/v1/providers/compatibility", "get", 200, "GET /v1/providers/compatibility?to=stripe-other", None),
        (
            "/v1/checkout/sessions/{id}/preview",
            "post",
            200,
            "POST /v1/checkout/sessions/cs_1/preview",
            Some(body(json!({ "metadata": { "order_id": "42" } }))),
        ),
        (
            "/v1/checkout/sessions/{id}",
            "patch",
            422,
            "PATCH /v1/checkout/sessions/cs_1",
            Some(body(json!({ "expires_in": 3600 }))),
        ),
        ("/v1/checkout/sessions/{id}", "patch", 400, "PATCH /v1/checkout/sessions/cs_1", Some("[1]".to_owned())),
        ("/problems/{code}", "get", 200, "GET /problems/unsupported_field", None),
        ("/problems/{code}", "get", 404, "GET /problems/no_such_code", None),
        ("/healthz", "get", 200, "GET /healthz", None),
        ("/readyz", "get", 200, "GET /readyz", None),
    ];
    for (path, method, status, request, sent) in calls {
        let (got, text) = gateway.raw(request, sent.as_deref().unwrap_or("")).await;
        assert_eq!(got, status, "{request}: {text}");
        let response = resolve(&document, &document["paths"][path][method]["responses"][status.to_string()]);
        let (_, media) = response["content"].as_object().and_then(|c| c.iter().next()).expect("a media type");
        let target = media["schema"]["$ref"].as_str().expect("a $ref");
        let answer: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{request}: not JSON ({e}): {text}"));
        let found = errors(&validator(&document, target.trim_start_matches('#')), &answer);
        assert!(found.is_empty(), "{request} answered outside {target}: {found:?}\n{answer}");
    }
    gateway.stop().await;
}
