//! `GET /problems/{code}`: a short human explanation of every error code the gateway returns,
//! read from the one table in `crate::errors`.

use axum::Json;
use axum::extract::Path;
use schemars::JsonSchema;
use serde::Serialize;

use crate::api::problem::ApiError;
use crate::errors::ErrorCode;

/// One row of the error table, for people.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Explanation {
    pub code: ErrorCode,
    /// The HTTP status the code is always sent with.
    pub status: u16,
    pub title: &'static str,
    pub explanation: &'static str,
}

/// The explanation of `code`, when the gateway has such a code.
pub fn explain(code: &str) -> Option<Explanation> {
    ErrorCode::parse(code).map(|code| {
        let entry = code.entry();
        Explanation { code, status: entry.status, title: entry.title, explanation: entry.description }
    })
}

/// `GET /problems/{code}`.
pub async fn serve(Path(code): Path<String>) -> Result<Json<Explanation>, ApiError> {
    explain(&code).map(Json).ok_or(ApiError::NotFound)
}
