//! Stripe's minor units where they differ from ISO 4217 (the unified amount's units).
//!
//! Source: docs.stripe.com/currencies ("Zero-decimal currencies", "Three-decimal currencies",
//! "Special cases") and support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds.
//! - Zero-decimal at Stripe: BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF.
//!   All are zero-decimal in ISO 4217 too except MGA (ISO: 2 decimals).
//! - ISK: zero-decimal in ISO 4217, but "ISK will remain a two-decimal currency in the Stripe
//!   API, and an ISK amount of 100 will continue to represent 1 króna"; amounts "must be evenly
//!   divisible by 100".
//! - HUF and TWD: two-decimal in the API like ISO 4217 (only payouts are whole units), so no rule.
//! - BHD JOD KWD OMR TND: three decimals as in ISO 4217, but "the least-significant (last) digit
//!   [must] be 0".

use checkout_provider_interface::money::{CurrencyUnits, ProviderUnits, UnitError, UnitRule};
use checkout_provider_interface::{UnifiedSession, Warning};

use crate::KIND;

pub static UNITS: ProviderUnits = ProviderUnits {
    provider: KIND,
    rules: &[
        UnitRule { currency: "MGA", exponent: 0, multiple_of: 1 },
        UnitRule { currency: "ISK", exponent: 2, multiple_of: 100 },
        UnitRule { currency: "BHD", exponent: 3, multiple_of: 10 },
        UnitRule { currency: "JOD", exponent: 3, multiple_of: 10 },
        UnitRule { currency: "KWD", exponent: 3, multiple_of: 10 },
        UnitRule { currency: "OMR", exponent: 3, multiple_of: 10 },
        UnitRule { currency: "TND", exponent: 3, multiple_of: 10 },
    ],
};

/// A unified amount in Stripe's units; the error says why Stripe cannot take it exactly.
pub fn to_stripe(currency: &str, amount: i64) -> Result<i64, UnitError> {
    UNITS.to_provider(currency, amount)
}

/// Stripe's units of one currency, looked up once for the many amounts of a request or answer
/// (`CurrencyUnits::to_provider` is [`to_stripe`]).
pub fn of(currency: &str) -> CurrencyUnits<'_> {
    UNITS.currency(currency)
}

/// Every amount of a session mapped from Stripe's answer, in unified units: the session's own
/// amounts and line items in the session currency, each shipping option in its own currency.
/// An amount with no exact unified value becomes null with an `amount_not_convertible` warning.
pub fn session_to_unified(session: &mut UnifiedSession) {
    let currency = session.currency.clone();
    // The session currency's units are looked up once for all its amounts.
    let session_units = currency.as_deref().map(of);
    let mut reader = Reader { warnings: &mut session.warnings };
    let amounts = &mut session.amounts;
    for (name, amount) in [
        ("subtotal", &mut amounts.subtotal),
        ("discount", &mut amounts.discount),
        ("tax", &mut amounts.tax),
        ("shipping", &mut amounts.shipping),
        ("total", &mut amounts.total),
    ] {
        *amount = reader.amount(session_units, *amount, || format!("/amounts/{name}"));
    }
    for (index, item) in session.line_items.iter_mut().flatten().enumerate() {
        item.unit_amount =
            reader.amount(session_units, item.unit_amount, || format!("/line_items/{index}/unit_amount"));
        item.amount_total =
            reader.amount(session_units, item.amount_total, || format!("/line_items/{index}/amount_total"));
    }
    for (index, option) in session.shipping.iter_mut().flat_map(|s| s.options.iter_mut()).enumerate() {
        let units = match option.currency.as_deref() {
            Some(code) => Some(of(code)),
            None => session_units,
        };
        option.amount = reader.amount(units, option.amount, || format!("/shipping/options/{index}/amount"));
    }
}

/// Reads Stripe amounts into unified units, collecting a warning for each one that has no exact
/// unified value (reported as null rather than rounded).
pub struct Reader<'a> {
    pub warnings: &'a mut Vec<Warning>,
}

impl Reader<'_> {
    /// `amount` (in Stripe's units of `currency`) in unified units; `None` with a warning naming
    /// `pointer` when it has no exact value. Without a currency, the amount is taken as is.
    /// The pointer is only written out for a warning (a session has hundreds of amounts).
    pub fn amount(
        &mut self,
        currency: Option<CurrencyUnits<'_>>,
        amount: Option<i64>,
        pointer: impl FnOnce() -> String,
    ) -> Option<i64> {
        let (Some(currency), Some(amount)) = (currency, amount) else { return amount };
        match currency.from_provider(amount) {
            Ok(unified) => Some(unified),
            Err(error) => {
                let (code, why) = match &error {
                    UnitError::NotRepresentable { currency, .. } => {
                        (currency, "has no exact value in ISO 4217 minor units")
                    }
                    UnitError::Overflow { currency, .. } => {
                        (currency, "overflows when converted to ISO 4217 minor units")
                    }
                };
                self.warnings.push(Warning {
                    code: "amount_not_convertible".to_owned(),
                    pointer: Some(pointer()),
                    detail: format!("stripe's {code} amount {amount} {why}; shown as null"),
                });
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_units_differ_from_iso_only_where_stripe_says() {
        // Unified (ISO 4217) -> Stripe.
        assert_eq!(to_stripe("usd", 1234), Ok(1234));
        assert_eq!(to_stripe("JPY", 500), Ok(500));
        assert_eq!(to_stripe("huf", 1050), Ok(1050));
        assert_eq!(to_stripe("TWD", 1001), Ok(1001));
        assert_eq!(to_stripe("ISK", 5), Ok(500));
        assert_eq!(to_stripe("mga", 1500), Ok(15));
        assert!(matches!(to_stripe("MGA", 1550), Err(UnitError::NotRepresentable { step: 100, .. })));
        assert_eq!(to_stripe("KWD", 5120), Ok(5120));
        for currency in ["BHD", "JOD", "KWD", "OMR", "TND"] {
            assert!(matches!(to_stripe(currency, 5124), Err(UnitError::NotRepresentable { step: 10, .. })));
        }
        assert!(to_stripe("isk", i64::MAX).is_err());
        // Stripe -> unified.
        assert_eq!(UNITS.from_provider("isk", 500), Ok(5));
        assert!(UNITS.from_provider("ISK", 550).is_err());
        assert_eq!(UNITS.from_provider("MGA", 15), Ok(1500));
        assert_eq!(UNITS.from_provider("jpy", 500), Ok(500));
    }

    #[test]
    fn inexact_amounts_read_as_null_with_a_warning() {
        let mut warnings = Vec::new();
        let mut reader = Reader { warnings: &mut warnings };
        let total = || "/amounts/total".to_owned();
        let isk = Some(UNITS.currency("isk"));
        assert_eq!(reader.amount(isk, Some(550), total), None);
        assert_eq!(reader.amount(isk, Some(500), total), Some(5));
        assert_eq!(reader.amount(None, Some(550), total), Some(550));
        assert_eq!(reader.amount(isk, None, total), None);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].pointer.as_deref(), Some("/amounts/total"));
        assert_eq!(
            warnings[0].detail,
            "stripe's ISK amount 550 has no exact value in ISO 4217 minor units; shown as null"
        );
    }
}
