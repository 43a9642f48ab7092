//! PayPal money: `{currency_code, value}` with `value` a decimal string in major units. The
//! unified amount is an integer in ISO 4217 minor units; both directions are exact or refused,
//! never rounded and never through floats.
//!
//! PayPal's decimals differ from ISO 4217 in two ways (its currency-codes reference, and the
//! description's `DECIMAL_PRECISION` issue: "If the currency supports decimals, only two decimal
//! place precision is supported"):
//! - HUF and TWD take no decimals at PayPal ("This currency does not support decimals"), JPY
//!   neither (as in ISO). A HUF or TWD amount must be a whole forint / dollar: a multiple of 100
//!   unified minor units.
//! - At most two decimals for every currency, so a three-decimal currency (KWD, BHD, …) must end
//!   in 0 (5120 → "5.12"; 5124 is refused). Whether PayPal accepts the currency at all is
//!   PayPal's answer (`INVALID_CURRENCY_CODE`), not guessed here.

use checkout_provider_interface::money;

/// The most decimals PayPal takes in a `value`.
const MAX_DECIMALS: u32 = 2;
/// Currencies PayPal takes without decimals although ISO 4217 gives them two.
const NO_DECIMALS: [&str; 2] = ["HUF", "TWD"];

/// Why an amount cannot cross exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not a currency the gateway knows the decimals of")]
    UnknownCurrency(String),
    #[error("{amount} is not a whole number of paypal's {currency} units (it takes multiples of {step} minor units)")]
    NotRepresentable { currency: String, amount: i64, step: i64 },
    #[error("`{0}` is not a decimal amount")]
    NotDecimal(String),
    #[error("`{value}` {currency} has more decimals than ISO 4217 minor units hold")]
    TooPrecise { currency: String, value: String },
    #[error("the amount overflows")]
    Overflow,
}

/// (ISO 4217 exponent, PayPal's exponent) of `currency`.
fn exponents(currency: &str) -> Result<(u32, u32), MoneyError> {
    let code = currency.to_ascii_uppercase();
    let iso = money::exponent(&code).ok_or_else(|| MoneyError::UnknownCurrency(code.clone()))?;
    let paypal = if NO_DECIMALS.contains(&code.as_str()) { 0 } else { iso.min(MAX_DECIMALS) };
    Ok((iso, paypal))
}

/// A unified amount as PayPal's decimal `value`, e.g. (`USD`, 1050) → `"10.50"`, (`JPY`, 500) →
/// `"500"`, (`KWD`, 5120) → `"5.12"`.
pub fn to_value(currency: &str, amount: i64) -> Result<String, MoneyError> {
    let (iso, paypal) = exponents(currency)?;
    let step = 10_i64.checked_pow(iso - paypal).ok_or(MoneyError::Overflow)?;
    if amount % step != 0 {
        return Err(MoneyError::NotRepresentable { currency: currency.to_ascii_uppercase(), amount, step });
    }
    let units = amount / step;
    let sign = if units < 0 { "-" } else { "" };
    let magnitude = units.unsigned_abs();
    if paypal == 0 {
        return Ok(format!("{sign}{magnitude}"));
    }
    let scale = 10_u64.pow(paypal);
    let width = paypal as usize;
    Ok(format!("{sign}{}.{:0width$}", magnitude / scale, magnitude % scale))
}

/// PayPal's decimal `value` in unified minor units. More decimals than the currency's ISO
/// exponent are accepted only when they are zeros.
pub fn from_value(currency: &str, value: &str) -> Result<i64, MoneyError> {
    let (iso, _) = exponents(currency)?;
    let not_decimal = || MoneyError::NotDecimal(value.to_owned());
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return Err(not_decimal());
    }
    if digits.contains('.') && fraction.is_empty() {
        return Err(not_decimal());
    }
    let iso_digits = iso as usize;
    let (kept, extra) = fraction.split_at(fraction.len().min(iso_digits));
    if extra.bytes().any(|b| b != b'0') {
        return Err(MoneyError::TooPrecise { currency: currency.to_ascii_uppercase(), value: value.to_owned() });
    }
    let scale = 10_i64.checked_pow(iso).ok_or(MoneyError::Overflow)?;
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| MoneyError::Overflow)? };
    let padded = format!("{kept:0<iso_digits$}");
    let fraction: i64 = if padded.is_empty() { 0 } else { padded.parse().map_err(|_| MoneyError::Overflow)? };
    let minor = whole.checked_mul(scale).and_then(|w| w.checked_add(fraction)).ok_or(MoneyError::Overflow)?;
    Ok(if negative { -minor } else { minor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_amounts_become_decimal_strings_per_paypal_decimals() {
        assert_eq!(to_value("usd", 1050).as_deref(), Ok("10.50"));
        assert_eq!(to_value("USD", 5).as_deref(), Ok("0.05"));
        assert_eq!(to_value("EUR", 0).as_deref(), Ok("0.00"));
        assert_eq!(to_value("JPY", 500).as_deref(), Ok("500"));
        assert_eq!(to_value("HUF", 150_000).as_deref(), Ok("1500"));
        assert_eq!(to_value("TWD", 1_000).as_deref(), Ok("10"));
        assert_eq!(to_value("KWD", 5_120).as_deref(), Ok("5.12"));
        assert_eq!(to_value("USD", -250).as_deref(), Ok("-2.50"));
    }

    #[test]
    fn amounts_paypal_cannot_hold_are_refused() {
        assert!(matches!(to_value("HUF", 150_050), Err(MoneyError::NotRepresentable { step: 100, .. })));
        assert!(matches!(to_value("KWD", 5_124), Err(MoneyError::NotRepresentable { step: 10, .. })));
        assert!(matches!(to_value("XYZ", 1), Err(MoneyError::UnknownCurrency(_))));
    }

    #[test]
    fn decimal_strings_become_unified_amounts_exactly() {
        assert_eq!(from_value("USD", "10.50"), Ok(1050));
        assert_eq!(from_value("USD", "10.5"), Ok(1050));
        assert_eq!(from_value("USD", "10"), Ok(1000));
        assert_eq!(from_value("USD", ".5"), Ok(50));
        assert_eq!(from_value("USD", "10.500"), Ok(1050));
        assert_eq!(from_value("JPY", "500"), Ok(500));
        assert_eq!(from_value("HUF", "1500"), Ok(150_000));
        assert_eq!(from_value("KWD", "5.12"), Ok(5_120));
        assert_eq!(from_value("USD", "-2.50"), Ok(-250));
        assert!(matches!(from_value("USD", "10.505"), Err(MoneyError::TooPrecise { .. })));
        assert!(matches!(from_value("JPY", "5.5"), Err(MoneyError::TooPrecise { .. })));
        for bad in ["", ".", "1.", "1e3", "1,00", " 1", "+1", "--1"] {
            assert!(matches!(from_value("USD", bad), Err(MoneyError::NotDecimal(_))), "{bad}");
        }
        assert_eq!(from_value("USD", "99999999999999999999"), Err(MoneyError::Overflow));
    }
}
