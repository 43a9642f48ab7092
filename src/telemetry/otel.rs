//! The OTLP/HTTP trace pipeline: spans batched on the SDK's own thread and sent as protobuf by
//! a blocking client there, so the export never runs on a request's task.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

use crate::config::TelemetryConfig;

/// The trace export could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the OTLP trace export (telemetry.otlp_endpoint)")]
pub struct TelemetryError(#[source] opentelemetry_otlp::ExporterBuildError);

/// The installed trace export, if any. Shut it down after the last request.
#[must_use = "the trace export is flushed only by `shutdown`"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    pub(super) fn off() -> Self {
        Self { provider: None }
    }

    /// The layer is part of the global subscriber: spans are exported from now on.
    pub(super) fn installed(self) -> Self {
        super::trace::set_enabled(self.provider.is_some());
        self
    }

    /// Whether spans are exported (and trace context is sent to providers).
    pub fn is_exporting(&self) -> bool {
        self.provider.is_some() && super::trace::enabled()
    }

    /// Export the spans still batched and stop the export thread. Blocks until the collector
    /// answered or the export timeout passed: call it outside the async runtime.
    pub fn shutdown(self) {
        let Some(provider) = self.provider else { return };
        super::trace::set_enabled(false);
        if let Err(error) = provider.shutdown() {
            tracing::warn!(error = %error, "the last spans could not be exported");
        }
    }
}

/// The tracer provider for `config` and the layer that turns the gateway's spans into OTel spans.
pub(super) fn layer<S>(config: &TelemetryConfig) -> Result<(Telemetry, impl Layer<S>), TelemetryError>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(config.traces_url.as_str())
        .build()
        .map_err(TelemetryError)?;
    // A client that sampled (or not) decides; a new trace is kept with the configured ratio.
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(config.sampling_ratio)));
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(sampler)
        .with_resource(Resource::builder().with_service_name(config.service_name.clone()).build())
        .build();
    let tracer = provider.tracer("checkout-gateway");
    // Only the gateway's own spans and events: dependencies' (and the exporter's own
    // diagnostics) are not part of a request's trace.
    let targets = Targets::new().with_target(env!("CARGO_CRATE_NAME"), tracing::Level::INFO);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_filter(targets);
    Ok((Telemetry { provider: Some(provider) }, layer))
}
