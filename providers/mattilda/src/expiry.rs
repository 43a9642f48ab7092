//! The `expires_in` a full-state PUT carries when the client sent none.
//!
//! `CheckoutSessionUpdate.expires_in` has `default: 3600` in Gr4vy's description, so a PUT
//! without it sets the expiry to one hour from the update: a 24 h session would be shortened and
//! one about to expire extended. The session reports only `expires_at`, so the adapter sends the
//! remaining lifetime `expires_at − ctx.now` instead, within the range Mattilda accepts
//! (3600–86400 s). Where that range changes the expiry, a warning says so. An expired session
//! is refused: any PUT would give it a new expiry, reopening a session the client sees as closed.

use checkout_provider_interface::{AdapterError, FailureClass, ProviderFailure, UnifiedUpdate, Warning, timestamp};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Mattilda's range for `expires_in` (`CheckoutSessionUpdate.expires_in` minimum and maximum).
pub const MIN_SECONDS: i64 = 3600;
pub const MAX_SECONDS: i64 = 86400;
/// The warning code for an expiry the range moved.
pub const CLAMPED: &str = "expiry_clamped";

/// What the PUT says about expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    /// The `expires_in` to send.
    pub seconds: i64,
    /// Set when the sent value is not the session's remaining lifetime.
    pub warning: Option<Warning>,
}

/// The client's `expires_in` as given, else the session's remaining lifetime (clamped, with a
/// warning). `current` is the session read before the update.
pub fn for_update(
    update: &UnifiedUpdate,
    current: &Map<String, Value>,
    now: OffsetDateTime,
) -> Result<Expiry, AdapterError> {
    let expires_at = current
        .get("expires_at")
        .and_then(Value::as_str)
        .and_then(timestamp::parse)
        .ok_or_else(|| AdapterError::unparseable("the session read has no valid `expires_at`"))?;
    if expires_at <= now {
        return Err(expired(expires_at));
    }
    if let Some(seconds) = update.expires_in {
        return Ok(Expiry { seconds: i64::from(seconds), warning: None });
    }
    let remaining = (expires_at - now).whole_seconds();
    let seconds = remaining.clamp(MIN_SECONDS, MAX_SECONDS);
    let warning = (seconds != remaining).then(|| Warning {
        code: CLAMPED.to_owned(),
        pointer: Some("/expires_in".to_owned()),
        detail: format!(
            "the session had {remaining} s left; mattilda's update sets a new expiry of 3600 to 86400 s \
             (3600 when none is sent), so it now expires {seconds} s from the update"
        ),
    });
    Ok(Expiry { seconds, warning })
}

/// Not updatable: the session the client sees as `expired` must stay so.
fn expired(expires_at: OffsetDateTime) -> AdapterError {
    // The read answered 200; the refusal is the gateway's reading of it, so no provider code.
    let mut failure = ProviderFailure::new(FailureClass::NotUpdatable, 200);
    let at = timestamp::format(expires_at).unwrap_or_default();
    failure.message =
        Some(format!("the session expired at {at}; mattilda's update would give it a new expiry, so it is not sent"));
    failure.into()
}

#[cfg(test)]
mod tests {
    use checkout_provider_interface::{AdapterError, FailureClass, UnifiedUpdate};
    use serde_json::{Map, Value, json};
    use time::macros::datetime;

    use super::{CLAMPED, for_update};

    fn run(update: Value, expires_at: &str) -> Result<(i64, Option<String>), AdapterError> {
        let update: UnifiedUpdate = serde_json::from_value(update).unwrap_or_else(|e| panic!("{e}"));
        let current: Map<String, Value> = json!({"expires_at": expires_at}).as_object().cloned().unwrap_or_default();
        let expiry = for_update(&update, &current, datetime!(2026-11-23 12:00:00 UTC))?;
        Ok((expiry.seconds, expiry.warning.map(|w| w.code)))
    }

    #[test]
    fn the_remaining_lifetime_is_carried_within_mattildas_range() {
        let metadata = json!({"metadata": {"a": "b"}});
        assert_eq!(run(metadata.clone(), "2026-11-24T10:00:00+00:00").ok(), Some((79200, None)));
        assert_eq!(run(metadata.clone(), "2026-11-23T13:00:00.000+00:00").ok(), Some((3600, None)));
        assert_eq!(run(metadata.clone(), "2026-11-24T12:00:00Z").ok(), Some((86400, None)));
        // Less than an hour left: Mattilda cannot keep it, so it becomes an hour, said in a warning.
        assert_eq!(run(metadata.clone(), "2026-11-23T12:45:00Z").ok(), Some((3600, Some(CLAMPED.to_owned()))));
        // More than Mattilda's maximum (not creatable there, but not trusted either).
        assert_eq!(run(metadata, "2026-11-25T12:00:00Z").ok(), Some((86400, Some(CLAMPED.to_owned()))));
    }

    #[test]
    fn the_clients_expires_in_wins_and_an_expired_session_is_refused() {
        assert_eq!(run(json!({"expires_in": 7200}), "2026-11-23T12:45:00Z").ok(), Some((7200, None)));
        for update in [json!({"metadata": {"a": "b"}}), json!({"expires_in": 7200})] {
            let Err(AdapterError::Provider(failure)) = run(update, "2026-11-23T12:00:00Z") else {
                panic!("an expired session is not updatable");
            };
            assert_eq!(failure.class, FailureClass::NotUpdatable);
        }
        assert!(matches!(run(json!({"metadata": {}}), "soon"), Err(AdapterError::Unparseable(_))));
    }
}
