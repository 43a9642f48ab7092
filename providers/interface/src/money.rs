//! Currency facts shared by adapters. Amounts are integer minor units everywhere; only a
//! provider's edge converts, and never through floats.

/// Decimal exponent (minor units per major unit, as a power of ten) of an ISO 4217 currency,
/// plus the crypto units providers use. `None` for an unknown code.
pub fn exponent(code: &str) -> Option<u32> {
    // Every known code has three or four letters. Upper-cased on the stack: this runs for
    // every amount of every request and answer.
    if !(3..=4).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let mut upper = [0_u8; 4];
    for (slot, byte) in upper.iter_mut().zip(code.bytes()) {
        *slot = byte.to_ascii_uppercase();
    }
    let code = std::str::from_utf8(&upper[..code.len()]).ok()?;
    match code {
        "SATS" | "SAT" => Some(0),
        "BTC" => Some(8),
        // Stablecoins (Speed, API 2022-10-15, on Ethereum, Solana and Tron): like BTC's satoshi,
        // the token's own smallest unit, 6 decimals for both on all three chains, so every
        // amount a chain can settle is a whole number of unified minor units.
        "USDT" | "USDC" => Some(6),
        // ISO 4217 zero-decimal currencies.
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
        | "VUV" | "XAF" | "XOF" | "XPF" => Some(0),
        // ISO 4217 three-decimal currencies.
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => Some(3),
        "CLF" | "UYW" => Some(4),
        _ if code.len() == 3 && ISO_4217_TWO_DECIMALS.binary_search(&code).is_ok() => Some(2),
        _ => None,
    }
}

/// Where a provider's own minor unit for a currency differs from ISO 4217's, or its amounts must
/// be a multiple of some step (e.g. Stripe's three-decimal currencies end in 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitRule {
    /// Upper-case currency code.
    pub currency: &'static str,
    /// The provider's decimal exponent for the currency.
    pub exponent: u32,
    /// Provider amounts must be a multiple of this (1: any amount).
    pub multiple_of: i64,
}

/// Why an amount cannot cross a provider's edge exactly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error(
        "{amount} is not a whole number of {provider}'s {currency} units (it takes multiples of {step} minor units)"
    )]
    NotRepresentable { provider: &'static str, currency: String, amount: i64, step: i64 },
    #[error("{amount} {currency} overflows when converted")]
    Overflow { currency: String, amount: i64 },
}

/// A provider's units: ISO 4217 minor units (see [`exponent`]) except for the listed rules. The
/// unified amount is always ISO 4217 minor units; adapters convert at their edge, in both
/// directions, exactly or not at all.
#[derive(Debug, Clone, Copy)]
pub struct ProviderUnits {
    pub provider: &'static str,
    pub rules: &'static [UnitRule],
}

impl ProviderUnits {
    fn rule(&self, currency: &str) -> Option<&UnitRule> {
        self.rules.iter().find(|rule| rule.currency.eq_ignore_ascii_case(currency))
    }

    /// (unified exponent, provider exponent, provider step) for `currency`. A code ISO does not
    /// know is taken to be in the same units on both sides.
    fn exponents(&self, currency: &str) -> (u32, u32, i64) {
        match (exponent(currency), self.rule(currency)) {
            (iso, Some(rule)) => (iso.unwrap_or(rule.exponent), rule.exponent, rule.multiple_of.max(1)),
            (Some(iso), None) => (iso, iso, 1),
            (None, None) => (0, 0, 1),
        }
    }

    /// `currency`'s units looked up once, to convert many amounts (a session's line items).
    pub fn currency<'a>(&'a self, currency: &'a str) -> CurrencyUnits<'a> {
        let (unified, provider, step) = self.exponents(currency);
        CurrencyUnits { units: self, currency, unified, provider, step }
    }

    /// A unified (ISO 4217 minor units) amount in the provider's units.
    pub fn to_provider(&self, currency: &str, amount: i64) -> Result<i64, UnitError> {
        self.currency(currency).to_provider(amount)
    }

    /// A provider amount in unified (ISO 4217 minor) units.
    pub fn from_provider(&self, currency: &str, amount: i64) -> Result<i64, UnitError> {
        self.currency(currency).from_provider(amount)
    }

    /// `amount · 10^places`; for negative `places`, only an exact division.
    fn shift(&self, currency: &str, amount: i64, places: i64) -> Result<i64, UnitError> {
        let overflow = || UnitError::Overflow { currency: currency.to_ascii_uppercase(), amount };
        let factor =
            10_i64.checked_pow(u32::try_from(places.unsigned_abs()).map_err(|_| overflow())?).ok_or_else(overflow)?;
        if places >= 0 {
            amount.checked_mul(factor).ok_or_else(overflow)
        } else if amount % factor == 0 {
            Ok(amount / factor)
        } else {
            Err(self.not_representable(currency, amount, factor))
        }
    }

    fn not_representable(&self, currency: &str, amount: i64, step: i64) -> UnitError {
        UnitError::NotRepresentable { provider: self.provider, currency: currency.to_ascii_uppercase(), amount, step }
    }
}

/// One currency of a provider's units ([`ProviderUnits::currency`]).
#[derive(Debug, Clone, Copy)]
pub struct CurrencyUnits<'a> {
    units: &'a ProviderUnits,
    currency: &'a str,
    unified: u32,
    provider: u32,
    step: i64,
}

impl CurrencyUnits<'_> {
    /// [`ProviderUnits::to_provider`] for this currency.
    pub fn to_provider(&self, amount: i64) -> Result<i64, UnitError> {
        let (units, currency, unified, provider, step) =
            (self.units, self.currency, self.unified, self.provider, self.step);
        let converted = units.shift(currency, amount, i64::from(provider) - i64::from(unified))?;
        if converted % step != 0 {
            // Express the step in unified units for the client.
            let unified_step = units.shift(currency, step, i64::from(unified) - i64::from(provider)).unwrap_or(step);
            return Err(units.not_representable(currency, amount, unified_step.max(1)));
        }
        Ok(converted)
    }

    /// [`ProviderUnits::from_provider`] for this currency.
    pub fn from_provider(&self, amount: i64) -> Result<i64, UnitError> {
        self.units.shift(self.currency, amount, i64::from(self.unified) - i64::from(self.provider))
    }
}

/// Active ISO 4217 codes with two decimals, sorted: [`exponent`] searches them by bisection.
const ISO_4217_TWO_DECIMALS: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BMD", "BND",
    "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CNY", "COP", "CRC", "CUP", "CVE", "CZK",
    "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD",
    "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK",
    "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN",
    "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON",
    "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "UYU", "UZS", "VES", "WST", "XCD",
    "YER", "ZAR", "ZMW", "ZWG",
];

#[cfg(test)]
mod tests {
    use super::{ISO_4217_TWO_DECIMALS, ProviderUnits, UnitError, UnitRule, exponent};

    const UNITS: ProviderUnits = ProviderUnits {
        provider: "test",
        rules: &[
            UnitRule { currency: "ISK", exponent: 2, multiple_of: 100 },
            UnitRule { currency: "MGA", exponent: 0, multiple_of: 1 },
            UnitRule { currency: "KWD", exponent: 3, multiple_of: 10 },
        ],
    };

    #[test]
    fn provider_units_convert_exactly_both_ways_or_refuse() {
        assert_eq!(UNITS.to_provider("usd", 1234), Ok(1234));
        assert_eq!(UNITS.to_provider("ISK", 5), Ok(500));
        assert_eq!(UNITS.from_provider("isk", 500), Ok(5));
        assert!(matches!(UNITS.from_provider("ISK", 550), Err(UnitError::NotRepresentable { step: 100, .. })));
        assert_eq!(UNITS.to_provider("MGA", 1500), Ok(15));
        assert!(matches!(UNITS.to_provider("MGA", 150), Err(UnitError::NotRepresentable { step: 100, .. })));
        assert_eq!(UNITS.from_provider("MGA", 15), Ok(1500));
        assert_eq!(UNITS.to_provider("KWD", 5120), Ok(5120));
        assert!(matches!(UNITS.to_provider("KWD", 5124), Err(UnitError::NotRepresentable { step: 10, .. })));
        assert!(matches!(UNITS.to_provider("ISK", i64::MAX), Err(UnitError::Overflow { .. })));
        assert_eq!(UNITS.to_provider("XYZ", 7), Ok(7));
        // One lookup for many amounts converts as the per-amount calls do.
        let isk = UNITS.currency("isk");
        assert_eq!(isk.from_provider(500), Ok(5));
        assert!(matches!(isk.from_provider(550), Err(UnitError::NotRepresentable { step: 100, .. })));
        assert_eq!(UNITS.currency("MGA").from_provider(15), Ok(1500));
        assert_eq!(UNITS.currency("kwd").to_provider(5120), Ok(5120));
        assert!(matches!(UNITS.currency("KWD").to_provider(5124), Err(UnitError::NotRepresentable { step: 10, .. })));
    }

    #[test]
    fn exponents_follow_iso_4217_and_crypto_units() {
        assert_eq!(exponent("usd"), Some(2));
        assert_eq!(exponent("JPY"), Some(0));
        assert_eq!(exponent("KWD"), Some(3));
        assert_eq!(exponent("BTC"), Some(8));
        assert_eq!(exponent("SATS"), Some(0));
        assert_eq!(exponent("usdt"), Some(6));
        assert_eq!(exponent("USDC"), Some(6));
        assert_eq!(exponent("XYZ"), None);
        assert_eq!(exponent("us1"), None);
        assert_eq!(exponent("usdollar"), None);
        assert_eq!(exponent("ÜSD"), None);
    }

    #[test]
    fn the_two_decimal_table_is_sorted_for_its_binary_search() {
        assert!(ISO_4217_TWO_DECIMALS.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(ISO_4217_TWO_DECIMALS.iter().all(|code| exponent(code) == Some(2)));
    }
}
