//! Currency facts shared by adapters. Amounts are integer minor units everywhere; only a
//! provider's edge converts, and never through floats.

/// Decimal exponent (minor units per major unit, as a power of ten) of an ISO 4217 currency,
/// plus the crypto units providers use. `None` for an unknown code.
pub fn exponent(code: &str) -> Option<u32> {
    let upper = code.to_ascii_uppercase();
    let code = upper.as_str();
    if !code.chars().all(|c| c.is_ascii_uppercase()) {
        return None;
    }
    match code {
        "SATS" | "SAT" => Some(0),
        "BTC" => Some(8),
        // ISO 4217 zero-decimal currencies.
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
        | "VUV" | "XAF" | "XOF" | "XPF" => Some(0),
        // ISO 4217 three-decimal currencies.
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => Some(3),
        "CLF" | "UYW" => Some(4),
        _ if code.len() == 3 && ISO_4217_TWO_DECIMALS.contains(&code) => Some(2),
        _ => None,
    }
}

/// Active ISO 4217 codes with two decimals.
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
    use super::exponent;

    #[test]
    fn exponents_follow_iso_4217_and_crypto_units() {
        assert_eq!(exponent("usd"), Some(2));
        assert_eq!(exponent("JPY"), Some(0));
        assert_eq!(exponent("KWD"), Some(3));
        assert_eq!(exponent("BTC"), Some(8));
        assert_eq!(exponent("SATS"), Some(0));
        assert_eq!(exponent("XYZ"), None);
        assert_eq!(exponent("us1"), None);
    }
}
