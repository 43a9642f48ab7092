//! Provider timestamps to RFC 3339 UTC.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Epoch seconds to RFC 3339 UTC.
pub fn from_unix_seconds(seconds: i64) -> Option<String> {
    format(OffsetDateTime::from_unix_timestamp(seconds).ok()?)
}

/// Epoch milliseconds to RFC 3339 UTC (sub-second precision kept when present).
pub fn from_unix_millis(millis: i64) -> Option<String> {
    let nanos = i128::from(millis).checked_mul(1_000_000)?;
    format(OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?)
}

/// An ISO 8601 / RFC 3339 string with any offset, normalised to UTC.
pub fn from_rfc3339(text: &str) -> Option<String> {
    format(OffsetDateTime::parse(text, &Rfc3339).ok()?)
}

/// Parse an RFC 3339 string into a time value.
pub fn parse(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

pub fn format(at: OffsetDateTime) -> Option<String> {
    at.to_offset(time::UtcOffset::UTC).format(&Rfc3339).ok()
}
