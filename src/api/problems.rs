//! `GET /problems/{code}`: a short human explanation of every error code the gateway returns,
//! read from the one table in `crate::errors`.

use axum::Json;
use axum::extract::Path;
use serde_json::{Value, json};

use crate::api::problem::ApiError;
use crate::errors::ErrorCode;

/// The explanation of `code`, when the gateway has such a code.
pub fn explain(code: &str) -> Option<Value> {
    ErrorCode::parse(code).map(|code| {
        let entry = code.entry();
        json!({ "code": entry.code, "status": entry.status, "title": entry.title, "explanation": entry.description })
    })
}

/// `GET /problems/{code}`.
pub async fn serve(Path(code): Path<String>) -> Result<Json<Value>, ApiError> {
    explain(&code).map(Json).ok_or(ApiError::NotFound)
}
