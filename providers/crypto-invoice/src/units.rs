//! Speed's units: amounts are decimal major units (`450.5` USD), so the minor unit comes from
//! the currency's exponent (`money::exponent`: ISO 4217, `SATS` 0, `BTC` 8, `USDT`/`USDC` 6).
//! Speed documents no currency whose decimals differ from those, so its table has no rule; a
//! rule added here would set the exponent the decimal text is read with, and the shared
//! `ProviderUnits` conversion then takes it to unified (ISO) minor units.

use checkout_provider_interface::money::{self, ProviderUnits, UnitError};

use crate::amount::{self, AmountProblem};

pub static UNITS: ProviderUnits = ProviderUnits { provider: "crypto-invoice", rules: &[] };

/// Why a Speed amount has no exact unified value; the text becomes an `amount_not_convertible`
/// warning's detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitsError {
    #[error("amount {text} is in `{currency}`, a currency without a known minor unit")]
    UnknownCurrency { text: String, currency: String },
    #[error("amount {text} {currency} {} ({exponent} decimals)", AmountProblem::TooPrecise.describe())]
    TooPrecise { text: String, currency: String, exponent: u32 },
    #[error("amount {text} {currency} {}", .problem.describe())]
    NotAnAmount { text: String, currency: String, problem: AmountProblem },
    #[error("amount {text} {currency} is negative")]
    Negative { text: String, currency: String },
    #[error(transparent)]
    Unit(#[from] UnitError),
}

/// The unified minor-unit value of Speed's decimal `text` in `currency`, or why there is none.
pub fn to_unified(text: &str, currency: &str) -> Result<i64, UnitsError> {
    let rule = UNITS.rules.iter().find(|rule| rule.currency.eq_ignore_ascii_case(currency)).map(|rule| rule.exponent);
    let Some(exponent) = rule.or_else(|| money::exponent(currency)) else {
        return Err(UnitsError::UnknownCurrency { text: text.to_owned(), currency: currency.to_owned() });
    };
    let minor = amount::to_minor(text, exponent).map_err(|problem| match problem {
        AmountProblem::TooPrecise => {
            UnitsError::TooPrecise { text: text.to_owned(), currency: currency.to_owned(), exponent }
        }
        AmountProblem::NotANumber | AmountProblem::OutOfRange => {
            UnitsError::NotAnAmount { text: text.to_owned(), currency: currency.to_owned(), problem }
        }
    })?;
    if minor < 0 {
        return Err(UnitsError::Negative { text: text.to_owned(), currency: currency.to_owned() });
    }
    Ok(UNITS.from_provider(currency, minor)?)
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
            assert!(got.as_ref().is_err_and(|e| e.to_string().contains(why)), "{text} {currency}: {got:?}");
        }
    }
}
