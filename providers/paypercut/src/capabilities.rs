//! What Paypercut can update (DESIGN §10): its update endpoint only selects one of the session's
//! existing shipping rates, so every other unified field is unsupported.

use checkout_provider_interface::capability::UpdateCheck;
use checkout_provider_interface::{Capabilities, Feature, FieldProblem, IdempotencyMode, Support, UnifiedUpdate};
use serde_json::Value;

use crate::KIND;

pub(crate) static CAPABILITIES: Capabilities = Capabilities {
    features: &[(Feature::ShippingRate, Support::Native("shipping_rate"))],
    // Paypercut honours `Idempotency-Key` on every POST, so the gateway may retry updates.
    idempotency: IdempotencyMode::ForwardsKey,
};

/// Paypercut's body requires `shipping_rate`. An update that carries nothing Paypercut can
/// express (only unsupported fields, or only other `provider_options`) would be an invalid
/// provider request, so it is refused up front, naming `/shipping_rate`. The rate may come from
/// `provider_options.paypercut.shipping_rate` instead, as long as it is a non-empty string.
pub(crate) fn check(update: &UnifiedUpdate) -> UpdateCheck {
    let mut check = UpdateCheck::default();
    if update.shipping_rate.is_some() {
        return check;
    }
    match update.provider_options.get(KIND).and_then(|options| options.get("shipping_rate")) {
        Some(Value::String(rate)) if !rate.is_empty() => {}
        Some(_) => check.invalid.push(FieldProblem::new(
            format!("/provider_options/{KIND}/shipping_rate"),
            "paypercut needs `shipping_rate` to be a non-empty string",
        )),
        None => check.invalid.push(missing_shipping_rate()),
    }
    check
}

pub(crate) fn missing_shipping_rate() -> FieldProblem {
    FieldProblem::new(
        "/shipping_rate",
        "paypercut can only select a shipping rate, so an update must set `shipping_rate`",
    )
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::UnifiedUpdate;
    use serde_json::json;

    use super::check;

    fn pointers(body: serde_json::Value) -> Vec<String> {
        let update: UnifiedUpdate = serde_json::from_value(body).unwrap();
        check(&update).invalid.into_iter().map(|p| p.pointer).collect()
    }

    #[test]
    fn shipping_rate_is_required_from_either_source() {
        assert!(pointers(json!({"shipping_rate": "shr_1"})).is_empty());
        assert!(pointers(json!({"provider_options": {"paypercut": {"shipping_rate": "shr_1"}}})).is_empty());
        assert_eq!(pointers(json!({"metadata": {"a": "b"}})), ["/shipping_rate"]);
        assert_eq!(pointers(json!({"provider_options": {"paypercut": {"locale": "de"}}})), ["/shipping_rate"]);
        assert_eq!(pointers(json!({"provider_options": {"stripe": {"shipping_rate": "x"}}})), ["/shipping_rate"]);
        assert_eq!(
            pointers(json!({"provider_options": {"paypercut": {"shipping_rate": 5}}})),
            ["/provider_options/paypercut/shipping_rate"]
        );
    }
}
