//! Mattilda's money units. Gr4vy's description gives every amount "in the smallest currency unit
//! for the given currency, for example `1299` USD cents represents `$12.99`" (`CartItem.unit_amount`,
//! `discount_amount`, `tax_amount`, `duty_amount`, `shipping_amount`) and names no currency whose
//! unit differs from ISO 4217 or must be a multiple of a step. So the rules are empty: the
//! unified ISO 4217 minor units pass unchanged. Every amount still crosses the edge through
//! [`UNITS`], so a rule found later is one line here, not a hunt through the adapter.

use checkout_provider_interface::money::{ProviderUnits, UnitError};
use checkout_provider_interface::{AdapterError, FieldProblem};

pub static UNITS: ProviderUnits = ProviderUnits { provider: "mattilda", rules: &[] };

/// A unified amount in Mattilda's units; a failure names the unified field it came from.
pub fn to_provider(currency: Option<&str>, amount: i64, pointer: &str) -> Result<i64, AdapterError> {
    // Without a currency there is no rule to apply: Mattilda's units are ISO's for every code.
    let Some(currency) = currency else { return Ok(amount) };
    UNITS.to_provider(currency, amount).map_err(|e| invalid(pointer, &e))
}

/// A Mattilda amount in unified units; `None` when it cannot be expressed exactly.
pub fn from_provider(currency: Option<&str>, amount: i64) -> Option<i64> {
    match currency {
        Some(currency) => UNITS.from_provider(currency, amount).ok(),
        None => Some(amount),
    }
}

fn invalid(pointer: &str, error: &UnitError) -> AdapterError {
    AdapterError::Invalid(vec![FieldProblem::new(pointer, error.to_string())])
}

#[cfg(test)]
mod tests {
    use super::UNITS;

    /// (currency, ISO 4217 exponent, a unified amount): Gr4vy's smallest unit is ISO's.
    const REPRESENTATIVE: [(&str, u32, i64); 4] = [
        ("USD", 2, 1299),  // 12.99 USD
        ("JPY", 0, 1299),  // 1299 JPY: zero-decimal
        ("KWD", 3, 12995), // 12.995 KWD: three decimals, no step
        ("ISK", 0, 1299),  // 1299 ISK: zero-decimal at ISO (Stripe alone treats it as two)
    ];

    #[test]
    fn every_representative_currency_crosses_unchanged_both_ways() {
        for (currency, exponent, amount) in REPRESENTATIVE {
            assert_eq!(checkout_provider_interface::money::exponent(currency), Some(exponent), "{currency}");
            assert_eq!(UNITS.to_provider(currency, amount), Ok(amount), "{currency} out");
            assert_eq!(UNITS.from_provider(currency, amount), Ok(amount), "{currency} back");
            // Lower case is the same currency.
            assert_eq!(UNITS.to_provider(&currency.to_ascii_lowercase(), amount), Ok(amount), "{currency}");
        }
        // A fraction of a unit never appears: KWD's third decimal is kept, not rounded to a step.
        assert_eq!(UNITS.to_provider("KWD", 1), Ok(1));
    }
}
