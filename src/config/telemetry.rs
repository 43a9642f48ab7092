//! `[telemetry]`: OpenTelemetry traces over OTLP/HTTP. Off unless `otlp_endpoint` is set.

use serde::Deserialize;

use super::ConfigError;

/// The path OTLP/HTTP receivers serve traces on, appended to a bare collector address.
const TRACES_PATH: &str = "/v1/traces";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTelemetry {
    /// The collector's OTLP/HTTP address (`http://collector:4318`), or the full traces URL.
    pub otlp_endpoint: Option<String>,
    /// The share of new traces recorded (0.0 to 1.0); a client's sampled flag wins.
    pub sampling_ratio: f64,
    /// `service.name` on every exported span.
    pub service_name: String,
}

impl Default for RawTelemetry {
    fn default() -> Self {
        Self { otlp_endpoint: None, sampling_ratio: 1.0, service_name: "checkout-gateway".to_owned() }
    }
}

/// Validated `[telemetry]`, present only when traces are exported.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    /// The URL spans are POSTed to (protobuf), ending in `/v1/traces` unless a path was given.
    pub traces_url: String,
    pub sampling_ratio: f64,
    pub service_name: String,
}

/// `None` when no endpoint is configured; otherwise the checked settings.
pub fn settings(raw: &RawTelemetry) -> Result<Option<TelemetryConfig>, ConfigError> {
    if !(0.0..=1.0).contains(&raw.sampling_ratio) {
        return Err(ConfigError::new("telemetry.sampling_ratio", "must be between 0.0 and 1.0"));
    }
    let service_name = raw.service_name.trim();
    if service_name.is_empty() || service_name.len() > 128 {
        return Err(ConfigError::new("telemetry.service_name", "must be 1 to 128 characters"));
    }
    let Some(endpoint) = &raw.otlp_endpoint else {
        return Ok(None);
    };
    let traces_url = traces_url(endpoint).map_err(|why| ConfigError::new("telemetry.otlp_endpoint", why))?;
    Ok(Some(TelemetryConfig { traces_url, sampling_ratio: raw.sampling_ratio, service_name: service_name.to_owned() }))
}

/// The traces URL for `endpoint`. The texts never repeat the URL: it may carry credentials.
fn traces_url(endpoint: &str) -> Result<String, &'static str> {
    let url = reqwest::Url::parse(endpoint).map_err(|_| "not a URL (expected http(s)://host:port)")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the scheme must be http or https (OTLP over HTTP)");
    }
    // The URL is logged and shown by `check-config`; collector credentials belong in
    // OTEL_EXPORTER_OTLP_HEADERS.
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials (user:password@); use OTEL_EXPORTER_OTLP_HEADERS");
    }
    if url.host().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err("must be scheme://host[:port][/path] without query or fragment");
    }
    let base = endpoint.trim_end_matches('/');
    // A bare address gets the standard traces path; a path given is the operator's choice.
    Ok(if url.path() == "/" { format!("{base}{TRACES_PATH}") } else { base.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_endpoint(endpoint: &str) -> RawTelemetry {
        RawTelemetry { otlp_endpoint: Some(endpoint.to_owned()), ..RawTelemetry::default() }
    }

    #[test]
    fn off_without_an_endpoint_and_the_traces_path_added_to_a_bare_address() {
        assert_eq!(settings(&RawTelemetry::default()).unwrap(), None);
        let on = settings(&with_endpoint("http://127.0.0.1:4318")).unwrap().unwrap();
        assert_eq!(on.traces_url, "http://127.0.0.1:4318/v1/traces");
        assert_eq!(on.service_name, "checkout-gateway");
        let custom = settings(&with_endpoint("https://otel.example/ingest/traces/")).unwrap().unwrap();
        assert_eq!(custom.traces_url, "https://otel.example/ingest/traces");
    }

    #[test]
    fn bad_values_name_their_key_without_repeating_the_url() {
        for endpoint in ["not a url", "grpc://collector:4317", "http://user:pw@collector:4318", "http://c:4318/?a=b"] {
            let error = settings(&with_endpoint(endpoint)).unwrap_err();
            assert_eq!(error.key, "telemetry.otlp_endpoint", "{endpoint}");
            assert!(!error.message.contains("pw@"), "{}", error.message);
        }
        for ratio in [-0.1, 1.5, f64::NAN] {
            let raw = RawTelemetry { sampling_ratio: ratio, ..with_endpoint("http://127.0.0.1:4318") };
            assert_eq!(settings(&raw).unwrap_err().key, "telemetry.sampling_ratio", "{ratio}");
        }
        let raw = RawTelemetry { service_name: " ".to_owned(), ..RawTelemetry::default() };
        assert_eq!(settings(&raw).unwrap_err().key, "telemetry.service_name");
    }
}
