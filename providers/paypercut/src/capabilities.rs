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

/// Paypercut's body requires `shipping_rate`, so an update that sends Paypercut something (its
/// own `provider_options`) without a rate would be an invalid provider request: refused up front,
/// naming `/shipping_rate`. The rate may come from `provider_options.paypercut.shipping_rate`
/// instead, as long as it is a non-empty string.
///
/// An update that leaves Paypercut nothing at all is not refused here: what it asked for is
/// either unsupported (reported by the capability table, or dropped with `field_ignored` warnings
/// under `on_unsupported = "ignore"`) or nothing, and such an update becomes a read (DESIGN §1.2):
/// the gateway's own "nothing left" rule, which counts an empty object (e.g. the `metadata: {}`
/// an ignored key leaves behind) as nothing.
pub(crate) fn check(update: &UnifiedUpdate) -> UpdateCheck {
    let mut check = UpdateCheck::default();
    if update.shipping_rate.is_some() {
        return check;
    }
    let Some(options) = update.provider_options.get(KIND) else {
        return check;
    };
    match options.get("shipping_rate") {
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
    fn shipping_rate_is_required_from_either_source_when_paypercut_gets_anything() {
        assert!(pointers(json!({"shipping_rate": "shr_1"})).is_empty());
        assert!(pointers(json!({"provider_options": {"paypercut": {"shipping_rate": "shr_1"}}})).is_empty());
        assert_eq!(pointers(json!({"provider_options": {"paypercut": {"locale": "de"}}})), ["/shipping_rate"]);
        // Nothing for Paypercut: the capability table reports what is unsupported, and what is
        // left (nothing) becomes a read, so no rule of Paypercut's body applies.
        assert!(pointers(json!({"metadata": {"a": "b"}})).is_empty());
        assert!(pointers(json!({"metadata": {}})).is_empty());
        assert!(pointers(json!({"provider_options": {"stripe": {"shipping_rate": "x"}}})).is_empty());
        assert_eq!(
            pointers(json!({"provider_options": {"paypercut": {"shipping_rate": 5}}})),
            ["/provider_options/paypercut/shipping_rate"]
        );
    }
}
