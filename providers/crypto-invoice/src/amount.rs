//! Exact conversion between Speed's decimal major-unit amounts and integer minor units.
//!
//! Speed sends amounts as JSON numbers in major units (`450.5` USD, `0.00000001` BTC) with up to
//! 16 decimals and 32 digits. Binary floats cannot hold most of those values, so the adapter
//! reads the number's own text (through `serde_json::value::RawValue`) and shifts its digits by
//! the currency's exponent, with integer arithmetic only.

/// Why a decimal text has no exact minor-unit value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountProblem {
    /// Not a decimal number (JSON number grammar, optionally inside a JSON string).
    NotANumber,
    /// More decimals than the currency has: a fraction of a minor unit.
    TooPrecise,
    /// Outside the range of `i64` minor units.
    OutOfRange,
}

impl AmountProblem {
    pub fn describe(self) -> &'static str {
        match self {
            Self::NotANumber => "is not a decimal number",
            Self::TooPrecise => "has more decimals than the currency's minor unit",
            Self::OutOfRange => "is too large for integer minor units",
        }
    }
}

/// The exact minor-unit value of a decimal `text` (JSON number grammar, `e` notation allowed)
/// in a currency with `exponent` decimals.
pub fn to_minor(text: &str, exponent: u32) -> Result<i64, AmountProblem> {
    let number = Number::parse(text.trim()).ok_or(AmountProblem::NotANumber)?;
    // value = digits × 10^(exp − fraction length) major units = digits × 10^scale minor units.
    let fraction_len = i64::try_from(number.fraction.len()).unwrap_or(i64::MAX);
    let mut scale = number.exp.saturating_sub(fraction_len).saturating_add(i64::from(exponent));
    let all_digits: String = [number.integer, number.fraction].concat();
    let significant = all_digits.trim_start_matches('0');
    if significant.is_empty() {
        return Ok(0);
    }
    let trimmed = significant.trim_end_matches('0');
    let trailing_zeros = i64::try_from(significant.len() - trimmed.len()).unwrap_or(i64::MAX);
    scale = scale.saturating_add(trailing_zeros);
    if scale < 0 {
        return Err(AmountProblem::TooPrecise);
    }
    // i64 has 19 digits; anything longer cannot fit, whatever the digits are.
    let length = i64::try_from(trimmed.len()).unwrap_or(i64::MAX);
    if length.saturating_add(scale) > 19 {
        return Err(AmountProblem::OutOfRange);
    }
    let mut magnitude: i128 = 0;
    for digit in trimmed.bytes() {
        magnitude = magnitude * 10 + i128::from(digit - b'0');
    }
    for _ in 0..scale {
        magnitude *= 10;
    }
    let signed = if number.negative { -magnitude } else { magnitude };
    i64::try_from(signed).map_err(|_| AmountProblem::OutOfRange)
}

/// The decimal major-unit text of `minor` units in a currency with `exponent` decimals, e.g.
/// `45050` at 2 → `450.50`. Used by the simulator; `to_minor` reads it back exactly.
#[cfg(any(test, feature = "simulator"))]
pub fn to_decimal_text(minor: i64, exponent: u32) -> String {
    let digits = minor.unsigned_abs().to_string();
    let sign = if minor < 0 { "-" } else { "" };
    let decimals = usize::try_from(exponent).unwrap_or(usize::MAX);
    if decimals == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = decimals.saturating_add(1));
    let (integer, fraction) = padded.split_at(padded.len() - decimals);
    format!("{sign}{integer}.{fraction}")
}

/// A decimal number split into its parts, digits kept as text.
struct Number<'a> {
    negative: bool,
    integer: &'a str,
    fraction: &'a str,
    /// The `e` exponent, clamped so that arithmetic on it cannot overflow.
    exp: i64,
}

impl<'a> Number<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        // Speed documents numbers; a decimal inside a JSON string is accepted too.
        let text = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        let (integer, fraction) = match mantissa.split_once('.') {
            Some((integer, fraction)) if !fraction.is_empty() => (integer, fraction),
            Some(_) => return None,
            None => (mantissa, ""),
        };
        let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if integer.is_empty() || !is_digits(integer) || !is_digits(fraction) {
            return None;
        }
        let exp = match exp {
            Some(exp) => parse_exponent(exp)?,
            None => 0,
        };
        Some(Self { negative, integer, fraction, exp })
    }
}

/// A signed exponent; values beyond ±10^15 are clamped (far outside any i64 amount either way).
fn parse_exponent(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    const LIMIT: i64 = 1_000_000_000_000_000;
    let mut value: i64 = 0;
    for digit in digits.bytes() {
        value = (value * 10 + i64::from(digit - b'0')).min(LIMIT);
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{AmountProblem, to_decimal_text, to_minor};

    #[test]
    fn converts_the_documented_examples_exactly() {
        assert_eq!(to_minor("450.5", 2), Ok(45050));
        assert_eq!(to_minor("450.50", 2), Ok(45050));
        assert_eq!(to_minor("0.00000001", 8), Ok(1));
        assert_eq!(to_minor("1e-8", 8), Ok(1));
        assert_eq!(to_minor("1E-8", 8), Ok(1));
        assert_eq!(to_minor("21000", 0), Ok(21000));
        assert_eq!(to_minor("2.1e4", 0), Ok(21000));
        assert_eq!(to_minor("0", 2), Ok(0));
        assert_eq!(to_minor("-0.0", 2), Ok(0));
        assert_eq!(to_minor("0e999999999999999999999", 2), Ok(0));
        assert_eq!(to_minor("\"450.5\"", 2), Ok(45050));
        assert_eq!(to_minor("-1.25", 2), Ok(-125));
    }

    #[test]
    fn keeps_21_decimal_places_exact() {
        assert_eq!(to_minor("450.500000000000000000000", 2), Ok(45050));
        assert_eq!(to_minor("450.500000000000000000001", 2), Err(AmountProblem::TooPrecise));
        assert_eq!(to_minor("0.000000010000000000000", 8), Ok(1));
    }

    #[test]
    fn refuses_what_has_no_exact_minor_value() {
        assert_eq!(to_minor("0.001", 2), Err(AmountProblem::TooPrecise));
        assert_eq!(to_minor("0.5", 0), Err(AmountProblem::TooPrecise));
        assert_eq!(to_minor("1e-999999999999999999999", 8), Err(AmountProblem::TooPrecise));
        assert_eq!(to_minor("92233720368547758.08", 2), Err(AmountProblem::OutOfRange));
        assert_eq!(to_minor("1e999999999999999999999", 2), Err(AmountProblem::OutOfRange));
        assert_eq!(to_minor("12345678901234567890123456789012", 2), Err(AmountProblem::OutOfRange));
        assert_eq!(to_minor("92233720368547758.07", 2), Ok(i64::MAX));
        assert_eq!(to_minor("-92233720368547758.08", 2), Ok(i64::MIN));
    }

    #[test]
    fn refuses_non_numbers() {
        for text in ["", "-", ".5", "5.", "1e", "1e+", "abc", "true", "null", "{}", "1.2.3", "0x10", "1 2", "+1", "--1"]
        {
            assert_eq!(to_minor(text, 2), Err(AmountProblem::NotANumber), "{text}");
        }
    }

    #[test]
    fn writes_decimal_text() {
        assert_eq!(to_decimal_text(45050, 2), "450.50");
        assert_eq!(to_decimal_text(1, 8), "0.00000001");
        assert_eq!(to_decimal_text(-5, 2), "-0.05");
        assert_eq!(to_decimal_text(21000, 0), "21000");
        assert_eq!(to_decimal_text(i64::MIN, 3), "-9223372036854775.808");
    }

    proptest! {
        #[test]
        fn every_minor_amount_round_trips(minor in any::<i64>(), exponent in 0u32..=8) {
            let text = to_decimal_text(minor, exponent);
            prop_assert_eq!(to_minor(&text, exponent), Ok(minor));
            // The same value with trailing zeros or in `e` notation reads back the same.
            let padded = if exponent == 0 { format!("{text}.000") } else { format!("{text}000") };
            prop_assert_eq!(to_minor(&padded, exponent), Ok(minor));
            let digits = minor.unsigned_abs().to_string();
            let sign = if minor < 0 { "-" } else { "" };
            prop_assert_eq!(to_minor(&format!("{sign}{digits}e-{exponent}"), exponent), Ok(minor));
        }

        #[test]
        fn a_fraction_of_a_minor_unit_is_refused(minor in any::<i64>(), exponent in 0u32..=8) {
            // One more decimal than the currency has, ending in a non-zero digit.
            prop_assume!(minor % 10 != 0);
            let text = to_decimal_text(minor, exponent + 1);
            prop_assert_eq!(to_minor(&text, exponent), Err(AmountProblem::TooPrecise));
        }

        #[test]
        fn beyond_i64_is_out_of_range(extra in 1u64..=u64::MAX, exponent in 0u32..=8, negative in any::<bool>()) {
            let magnitude = if negative {
                i128::from(i64::MIN).unsigned_abs() + u128::from(extra)
            } else {
                u128::from(i64::MAX.unsigned_abs()) + u128::from(extra)
            };
            let text = format!("{}{magnitude}e-{exponent}", if negative { "-" } else { "" });
            prop_assert_eq!(to_minor(&text, exponent), Err(AmountProblem::OutOfRange));
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,40}", exponent in 0u32..=8) {
            let _ = to_minor(&text, exponent);
        }
    }
}
