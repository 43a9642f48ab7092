//! Logging: `tracing` with text or JSON lines, filtered by `RUST_LOG` (default `info`). With
//! `[telemetry] otlp_endpoint`, the request and provider-attempt spans are also exported as
//! OpenTelemetry traces over OTLP/HTTP (`otel`), continuing the client's W3C trace context and
//! passing it on to providers (`trace`).

mod log_writer;
mod otel;
pub mod trace;

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{LogFormat, TelemetryConfig};
pub use otel::{Telemetry, TelemetryError};

/// Install the subscriber: the log lines, and the trace export when `traces` is set. Keep the
/// returned [`Telemetry`] and call [`Telemetry::shutdown`] after the last request, so the spans
/// still batched are sent.
pub fn init(format: LogFormat, traces: Option<&TelemetryConfig>) -> Result<Telemetry, TelemetryError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let Some(traces) = traces else {
        // Without traces the filter stays global, as cheap as it has always been.
        // A second init (tests starting several gateways) keeps the first subscriber.
        let _ = tracing_subscriber::registry().with(log_layer(format)).with(filter).try_init();
        return Ok(Telemetry::off());
    };
    let (telemetry, layer) = otel::layer(traces)?;
    // Each layer its own filter: `RUST_LOG` quiets the logs, not the spans the export needs.
    let installed =
        tracing_subscriber::registry().with(log_layer(format).with_filter(filter)).with(layer).try_init().is_ok();
    Ok(if installed { telemetry.installed() } else { telemetry })
}

/// Wait (up to two seconds) until every log line so far is written: the lines go to stdout from
/// a writer thread of their own ([`log_writer`]), which exiting would cut short.
pub fn flush_logs() {
    log_writer::flush(std::time::Duration::from_secs(2));
}

/// The log lines' formatter and writer.
fn log_layer(format: LogFormat) -> Box<dyn Layer<Registry> + Send + Sync> {
    // Colour codes only for a terminal: in a log file or pipe they are noise, and writing them
    // cost more than a tenth of the log line.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let layer =
        tracing_subscriber::fmt::layer().with_target(false).with_ansi(ansi).with_writer(log_writer::NonBlockingStdout);
    match format {
        LogFormat::Text => layer.boxed(),
        LogFormat::Json => layer.json().with_current_span(true).with_span_list(false).boxed(),
    }
}
