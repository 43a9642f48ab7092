//! Speed's units: amounts are decimal major units (`450.5` USD), so the minor unit comes from
//! the currency's exponent (`money::exponent`: ISO 4217, `SATS` 0, `BTC` 8, `USDT`/`USDC` 6).
//! Speed documents no currency whose decimals differ from those, so its table has no rule; a
//! rule added here would set the exponent the decimal text is read with, and the shared
//! `ProviderUnits` conversion then takes it to unified (ISO) minor units.

use checkout_provider_interface::money::{self, ProviderUnits};

use crate::amount::{self, AmountProblem};

pub static UNITS: ProviderUnits = ProviderUnits { provider: "crypto-invoice", rules: &[] };

/// The unified minor-unit value of Speed's decimal `text` in `currency`, or why there is none.
pub fn to_unified(text: &str, currency: &str) -> Result<i64, String> {
    let rule = UNITS.rules.iter().find(|rule| rule.currency.eq_ignore_ascii_case(currency)).map(|rule| rule.exponent);
    let Some(exponent) = rule.or_else(|| money::exponent(currency)) else {
        return Err(format!("amount {text} is in `{currency}`, a currency without a known minor unit"));
    };
    let minor = amount::to_minor(text, exponent).map_err(|problem| match problem {
        AmountProblem::TooPrecise => {
            format!("amount {text} {currency} {} ({exponent} decimals)", problem.describe())
        }
        AmountProblem::NotANumber | AmountProblem::OutOfRange => {
            format!("amount {text} {currency} {}", problem.describe())
        }
    })?;
    if minor < 0 {
        return Err(format!("amount {text} {currency} is negative"));
    }
    UNITS.from_provider(currency, minor).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::to_unified;

    #[test]
    fn representative_currencies_convert_exactly() {
        let cases = [
            ("450.5", "USD", 45_050),
            ("1500", "JPY", 1_500),
            ("1.25", "KWD", 1_250),
            ("0.00000001", "BTC", 1),
            ("21000", "SATS", 21_000),
            ("25.123456", "USDT", 25_123_456),
            ("10.5", "usdc", 10_500_000),
        ];
        for (text, currency, minor) in cases {
            assert_eq!(to_unified(text, currency), Ok(minor), "{text} {currency}");
        }
    }

    #[test]
    fn what_has_no_exact_unified_value_says_why() {
        let cases = [
            ("0.0000001", "USDT", "6 decimals"),
            ("1.5", "JPY", "0 decimals"),
            ("10", "DOGE", "without a known minor unit"),
            ("-1", "USDC", "negative"),
            ("99999999999999", "USDT", "too large"),
        ];
        for (text, currency, why) in cases {
            let got = to_unified(text, currency);
            assert!(got.as_ref().is_err_and(|e| e.contains(why)), "{text} {currency}: {got:?}");
        }
    }
}
