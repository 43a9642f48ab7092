//! Reading the unified JSON body: media type, size limit and JSON object checks, each with its
//! own problem code.

use axum::body::Body;
use http::HeaderMap;
use serde_json::Value;

use crate::api::problem::ApiError;

/// Read `body` as a JSON object of at most `limit` bytes.
pub async fn read_json(headers: &HeaderMap, body: Body, limit: usize) -> Result<Value, ApiError> {
    parse_object(&read_body(headers, body, limit).await?)
}

/// The bytes of a JSON body of at most `limit` bytes (media type and size checked), as a copy
/// of their own: hyper hands a small body over as a slice of the connection's read buffer, and
/// holding that slice while the request waits would keep the whole buffer (8 KiB) alive next
/// to the one hyper allocates for the connection's next read.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    let media_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    match media_type.as_deref() {
        Some("application/json" | "application/merge-patch+json") => {}
        _ => return Err(ApiError::UnsupportedMediaType),
    }
    if headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|len| len > limit as u64)
    {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        if std::error::Error::source(&e).is_some_and(<dyn std::error::Error>::is::<http_body_util::LengthLimitError>) {
            ApiError::PayloadTooLarge(limit)
        } else if crate::body_deadline::is_deadline(&e) {
            crate::metrics::slow_client("body");
            ApiError::RequestTimeout
        } else {
            ApiError::MalformedJson(format!("the body could not be read: {e}"))
        }
    })?;
    Ok(bytes.to_vec())
}

/// `bytes` as a JSON object.
pub fn parse_object(bytes: &[u8]) -> Result<Value, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(ApiError::MalformedJson("the body must be a JSON object".to_owned())),
        Err(e) => Err(ApiError::MalformedJson(format!("the body is not valid JSON: {e}"))),
    }
}
