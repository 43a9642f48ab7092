//! `GET /v1/checkout/sessions/{id}/line_items`: a session's line items as Stripe's paginated
//! list (docs.stripe.com/api/checkout/sessions/line_items): `limit` 1–100 (default 10),
//! `starting_after` or `ending_before` an item id of the session, and
//! `expand[]=data.price.product`. Answers `{object: "list", data, has_more, url}`.

use serde_json::{Map, Value};

use super::StripeError;
use super::state::Session;

/// Stripe's default and largest page sizes.
const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 100;

pub fn list(session: &Session, query: &Map<String, Value>) -> Result<Value, StripeError> {
    if let Some(key) =
        query.keys().find(|k| !["limit", "starting_after", "ending_before", "expand"].contains(&k.as_str()))
    {
        return Err(StripeError::unknown(key));
    }
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(value) => {
            let text = value.as_str().unwrap_or_default();
            let limit = text.parse::<usize>().map_err(|_| {
                StripeError::invalid("parameter_invalid_integer", &format!("Invalid integer: {text}"), "limit")
            })?;
            if !(1..=MAX_LIMIT).contains(&limit) {
                let message = format!("This value must be between 1 and {MAX_LIMIT} (it currently is '{limit}').");
                return Err(StripeError::invalid("", &message, "limit"));
            }
            limit
        }
    };
    let expand_products = match query.get("expand") {
        None => false,
        Some(Value::Array(paths)) => {
            for (index, path) in paths.iter().enumerate() {
                let path = path.as_str().unwrap_or_default();
                if path != "data.price.product" {
                    let message = format!("This property cannot be expanded ({path}).");
                    return Err(StripeError::invalid("", &message, &format!("expand[{index}]")));
                }
            }
            !paths.is_empty()
        }
        Some(_) => return Err(StripeError::invalid("parameter_invalid_array", "Invalid array", "expand")),
    };
    let position = |param: &str| -> Result<Option<usize>, StripeError> {
        let Some(id) = query.get(param) else { return Ok(None) };
        let id = id.as_str().unwrap_or_default();
        let found = session.items.iter().position(|item| item.id == id);
        found.map(Some).ok_or_else(|| StripeError::missing_resource("line item", id, param))
    };
    let total = session.items.len();
    let (positions, has_more) = match (position("starting_after")?, position("ending_before")?) {
        (Some(_), Some(_)) => {
            let message = "You may only specify one of these parameters: ending_before, starting_after.";
            return Err(StripeError::invalid("", message, "ending_before"));
        }
        (None, Some(end)) => {
            let start = end.saturating_sub(limit);
            (start..end, start > 0)
        }
        (after, None) => {
            let start = after.map_or(0, |index| index + 1);
            let end = start.saturating_add(limit).min(total);
            (start..end, end < total)
        }
    };
    Ok(session.line_items_list(positions, has_more, expand_products))
}
