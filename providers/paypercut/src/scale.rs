//! Paypercut states each session's currency as `{iso, scale}`: amounts are integers with `scale`
//! decimals. The unified session uses the ISO 4217 exponent, so when the two differ amounts are
//! converted exactly (integer arithmetic), or reported as null with a warning.

use checkout_provider_interface::Warning;
use checkout_provider_interface::money::{ProviderUnits, exponent};

/// Paypercut's units where an amount comes without a `scale` (a shipping rate's `fixed_amount`
/// in another currency than the session's): ISO 4217 minor units, no exceptions. Paypercut's docs
/// state every session and shipping-cost amount with its own `currency {iso, scale}`, which
/// [`Scaler`] honours, and name no currency whose unit differs from ISO's, so no rule is declared.
pub(crate) static UNITS: ProviderUnits = ProviderUnits { provider: "paypercut", rules: &[] };

/// Largest power of ten an `i64` holds.
const MAX_SHIFT: u32 = 18;

/// How to turn a Paypercut amount into unified minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scaler {
    /// Scale and exponent agree (or Paypercut gave no currency or one we do not know, whose
    /// scale is then taken as its exponent).
    Same,
    /// Paypercut has more decimals: divide, exactly or not at all.
    Divide { factor: i64, scale: i64, exponent: u32 },
    /// Paypercut has fewer decimals: multiply, unless it overflows.
    Multiply { factor: i64, scale: i64, exponent: u32 },
    /// A scale that makes no sense (negative, or beyond what an `i64` can shift).
    Unusable { scale: i64 },
}

impl Scaler {
    pub(crate) fn new(iso: &str, scale: i64) -> Self {
        let Some(exponent) = exponent(iso) else {
            return Self::Same;
        };
        let Ok(scale_u32) = u32::try_from(scale) else {
            return Self::Unusable { scale };
        };
        if scale_u32 > MAX_SHIFT {
            return Self::Unusable { scale };
        }
        match scale_u32.cmp(&exponent) {
            std::cmp::Ordering::Equal => Self::Same,
            std::cmp::Ordering::Greater => Self::Divide { factor: 10_i64.pow(scale_u32 - exponent), scale, exponent },
            std::cmp::Ordering::Less => Self::Multiply { factor: 10_i64.pow(exponent - scale_u32), scale, exponent },
        }
    }

    /// Convert `amount`; on failure push a warning for `pointer` and give `None`.
    pub(crate) fn convert(&self, amount: i64, pointer: &str, warnings: &mut Vec<Warning>) -> Option<i64> {
        let why = match *self {
            Self::Same => return Some(amount),
            Self::Divide { factor, scale, exponent } => {
                if amount % factor == 0 {
                    return Some(amount / factor);
                }
                format!("{amount} at scale {scale} has no exact value with {exponent} decimals")
            }
            Self::Multiply { factor, scale, exponent } => match amount.checked_mul(factor) {
                Some(converted) => return Some(converted),
                None => format!("{amount} at scale {scale} overflows with {exponent} decimals"),
            },
            Self::Unusable { scale } => format!("paypercut reported an unusable currency scale {scale}"),
        };
        warnings.push(Warning {
            code: "amount_not_convertible".to_owned(),
            pointer: Some(pointer.to_owned()),
            detail: why,
        });
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{Scaler, UNITS};

    #[test]
    fn units_are_iso_minor_units_for_representative_currencies() {
        // Two, zero and three decimals, and a code ISO does not know: unchanged both ways.
        for (currency, amount) in [("USD", 1999), ("EUR", 500), ("JPY", 1500), ("KWD", 1250), ("XYZ", 7)] {
            assert_eq!(UNITS.from_provider(currency, amount), Ok(amount), "{currency}");
            assert_eq!(UNITS.to_provider(currency, amount), Ok(amount), "{currency}");
        }
        // A session that states its scale is brought to the ISO exponent whatever the scale.
        assert_eq!(convert("usd", 4, 199_900), (Some(1999), 0));
        assert_eq!(convert("JPY", 0, 1500), (Some(1500), 0));
        assert_eq!(convert("kwd", 2, 125), (Some(1250), 0));
    }

    fn convert(iso: &str, scale: i64, amount: i64) -> (Option<i64>, usize) {
        let mut warnings = Vec::new();
        let got = Scaler::new(iso, scale).convert(amount, "/amounts/total", &mut warnings);
        (got, warnings.len())
    }

    #[test]
    fn matching_or_unknown_scales_pass_through() {
        assert_eq!(convert("usd", 2, 1234), (Some(1234), 0));
        assert_eq!(convert("KWD", 3, 1250), (Some(1250), 0));
        assert_eq!(convert("XYZ", 5, 77), (Some(77), 0));
    }

    #[test]
    fn differing_scales_convert_exactly_or_warn() {
        assert_eq!(convert("JPY", 2, 150_000), (Some(1500), 0));
        assert_eq!(convert("JPY", 2, 150_050), (None, 1));
        assert_eq!(convert("KWD", 2, 125), (Some(1250), 0));
        assert_eq!(convert("KWD", 0, i64::MAX), (None, 1));
        assert_eq!(convert("USD", -1, 5), (None, 1));
        assert_eq!(convert("USD", 40, 5), (None, 1));
        assert_eq!(convert("JPY", 18, -3_000_000_000_000_000_000), (Some(-3), 0));
    }
}
