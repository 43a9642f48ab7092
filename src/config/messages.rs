//! Config error messages without the values they refuse. A value written in the wrong place may
//! be a secret (`api_key_sha256 = <the plaintext key>` through the environment, a URL with a
//! password), and these messages reach stderr, `check-config` and the reload log.

use figment::error::{Actual, Kind};

/// figment's message for `kind`, naming what was expected and the type found, never the value.
pub fn without_values(kind: &Kind) -> String {
    match kind {
        Kind::InvalidType(actual, expected) => format!("invalid type: found {}, expected {expected}", type_of(actual)),
        Kind::InvalidValue(actual, expected) => {
            format!("invalid value: found {}, expected {expected}", type_of(actual))
        }
        Kind::UnknownVariant(_, expected) => format!("unknown variant, expected one of: {}", expected.join(", ")),
        Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => "integer out of range".to_owned(),
        Kind::Unsupported(actual) => format!("unsupported type {}", type_of(actual)),
        Kind::UnsupportedKey(actual, expected) => {
            format!("unsupported key type {}, expected {expected}", type_of(actual))
        }
        Kind::Message(message) => without_source_lines(message),
        // Field names are keys, not values; lengths quote no value.
        Kind::InvalidLength(..) | Kind::UnknownField(..) | Kind::MissingField(_) | Kind::DuplicateField(_) => {
            kind.to_string()
        }
    }
}

/// A parse error without its quoted source lines (`12 | api_key = sk_live_…`): an unquoted
/// secret is a TOML syntax error, and the parser shows the line it stopped at.
fn without_source_lines(message: &str) -> String {
    let is_source =
        |line: &str| line.trim_start().trim_start_matches(|c: char| c.is_ascii_digit()).trim_start().starts_with('|');
    let kept: Vec<&str> = message.lines().filter(|line| !is_source(line) && !line.trim().is_empty()).collect();
    kept.join("; ")
}

/// The kind of a refused value, without the value.
fn type_of(actual: &Actual) -> &'static str {
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a float",
        Actual::Char(_) => "a character",
        Actual::Str(_) => "a string",
        Actual::Bytes(_) => "bytes",
        Actual::Unit => "unit",
        Actual::Option => "an option",
        Actual::NewtypeStruct => "a new-type struct",
        Actual::Seq => "a sequence",
        Actual::Map => "a map",
        Actual::Enum | Actual::UnitVariant | Actual::NewtypeVariant | Actual::TupleVariant | Actual::StructVariant => {
            "an enum"
        }
        Actual::Other(_) => "a value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_values_are_described_by_type_only() {
        let secret = "sk_live_51SecretValue";
        let kinds = [
            Kind::InvalidType(Actual::Str(secret.to_owned()), "u64".to_owned()),
            Kind::InvalidValue(Actual::Str(secret.to_owned()), "a URL".to_owned()),
            Kind::UnknownVariant(secret.to_owned(), &["memory", "redis"]),
            Kind::Unsupported(Actual::Other(secret.to_owned())),
        ];
        for kind in &kinds {
            let message = without_values(kind);
            assert!(!message.contains(secret), "{message}");
            assert!(kind.to_string().contains(secret), "figment's own message quotes it: {kind}");
        }
        assert_eq!(without_values(&kinds[0]), "invalid type: found a string, expected u64");
        assert_eq!(without_values(&kinds[2]), "unknown variant, expected one of: memory, redis");
    }

    #[test]
    fn a_parse_error_keeps_its_position_and_reason_but_not_the_source_line() {
        let parse_error = "TOML parse error at line 12, column 11\n   |\n12 | api_key = sk_live_51SecretValue\n   |           ^\ninvalid string\nexpected `\"`, `'`";
        assert_eq!(
            without_values(&Kind::Message(parse_error.to_owned())),
            "TOML parse error at line 12, column 11; invalid string; expected `\"`, `'`"
        );
    }
}
