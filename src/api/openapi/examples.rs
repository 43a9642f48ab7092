//! The document's examples: Rust values of the answer types, serialized (so they match the
//! derived schemas, which `tests/openapi_document.rs` checks). They name no provider themselves:
//! kinds come from the registry.

use std::collections::BTreeMap;

use checkout_provider_interface::{
    Amounts, Feature, FieldProblem, SessionLineItem, SessionStatus, Support, UnifiedSession,
};
use serde::Serialize;
use serde_json::Value;

use crate::api::answers::{ProviderEntry, ProviderList};
use crate::api::compat::SwitchReport;
use crate::api::problem::{ApiError, Problem, ProviderRef};
use crate::registry;

/// The kind the examples use: the first registered one (examples name no provider themselves).
fn example_kind() -> &'static str {
    registry::PROVIDERS.first().map_or("", |factory| factory.kind)
}

fn to_value(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

pub fn session() -> Value {
    let mut session = UnifiedSession::new("cs_demo_open", example_kind(), SessionStatus::Open);
    session.provider = "main".to_owned();
    session.currency = Some("USD".to_owned());
    session.amounts = Amounts { subtotal: Some(5000), discount: None, tax: None, shipping: None, total: Some(5000) };
    session.line_items = Some(vec![SessionLineItem {
        name: Some("T-shirt".to_owned()),
        quantity: Some(2),
        unit_amount: Some(2500),
        amount_total: Some(5000),
        ..SessionLineItem::default()
    }]);
    session.metadata = Some(BTreeMap::from([("order_id".to_owned(), "42".to_owned())]));
    to_value(&session)
}

/// One problem per status the examples show: the refusal a client meets first when it moves a
/// field to a provider that cannot express it, and a missing tenant key.
pub fn problems() -> Vec<Problem> {
    let request_id = "5b0e6a52-2f7c-4d55-9a39-3f6f1a0c2b7e";
    // Fields whose pointer is the field itself, to find one a registered kind cannot express.
    let simple = [
        (Feature::Currency, "/currency"),
        (Feature::Description, "/description"),
        (Feature::ShippingRate, "/shipping_rate"),
        (Feature::ShippingOptions, "/shipping_options"),
        (Feature::ExpiresIn, "/expires_in"),
    ];
    let (kind, feature, pointer) = registry::PROVIDERS
        .iter()
        .find_map(|factory| {
            simple
                .into_iter()
                .find(|(feature, _)| factory.capabilities.support(*feature) == Support::Unsupported)
                .map(|(feature, pointer)| (factory.kind, feature, pointer))
        })
        .unwrap_or((example_kind(), Feature::Currency, "/currency"));
    let unsupported = ApiError::UnsupportedField {
        provider: ProviderRef { name: "main".to_owned(), kind },
        problems: vec![FieldProblem::new(pointer, format!("{kind} cannot update {}", feature.field()))],
    };
    vec![unsupported.to_problem(request_id), ApiError::Unauthenticated.to_problem(request_id)]
}

pub fn providers() -> Value {
    let entries = registry::PROVIDERS.first().map(|factory| ProviderEntry::new("main", factory, true));
    to_value(&ProviderList::new(entries.into_iter().collect()))
}

pub fn report() -> Value {
    let Some(factory) = registry::PROVIDERS.first() else { return Value::Null };
    let counts = BTreeMap::from([(Feature::MetadataSet, 120), (Feature::Currency, 4)]);
    to_value(&SwitchReport::new("demo", "main", factory.kind, factory.capabilities, &counts))
}
