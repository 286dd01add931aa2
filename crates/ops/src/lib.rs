//! Operations: what lets someone watch a tool that runs for months.
//!
//! * [`install`] installs the process-wide `metrics` recorder, which keeps every counter,
//!   gauge and histogram the crates record with the `metrics` macros (`counter!`, `gauge!`,
//!   `histogram!`) and renders them in Prometheus' text format. Until it is called those
//!   macros cost next to nothing and record nothing: libraries depend only on the light
//!   `metrics` facade, never on this crate.
//! * [`serve`] answers `GET /metrics` (for Prometheus) and `GET /health` (JSON, HTTP 200 or
//!   503, from a [`Health`]) on one address: the binaries' `--metrics-addr`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ops::OpsError> {
//! use std::time::Duration;
//! let metrics = ops::install()?;
//! let health = ops::Health::new("event", Some(Duration::from_secs(10)));
//! let endpoint = ops::serve("127.0.0.1:9100".parse().unwrap(), metrics, health.clone()).await?;
//! println!("metrics on http://{}/metrics", endpoint.local_addr());
//! metrics::counter!("demo_events_total").increment(1);
//! health.activity();
//! # Ok(()) }
//! ```
//!
//! Names follow Prometheus' conventions: counters end in `_total`, durations are histograms
//! in seconds, sizes are in bytes; each instrumented crate declares its names once, in its
//! own `metrics` module, with a description for `# HELP`.

//!
//! Feature `server` (default) brings the recorder and the endpoint; without it the crate is
//! only [`Health`], for pipelines that report their health to the binary that serves it.

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

/// The README's examples, compiled (and run where they need no network) as doc-tests, so
/// that the snippet a user copies cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod health;
pub mod probe;
#[cfg(feature = "server")]
mod server;

pub use health::{Health, Report};
#[cfg(feature = "server")]
pub use metrics_exporter_prometheus::PrometheusHandle;
#[cfg(feature = "server")]
pub use server::{serve, Endpoint};

use std::net::SocketAddr;

#[cfg(feature = "server")]
use metrics_exporter_prometheus::PrometheusBuilder;

#[cfg(feature = "server")]
/// Histogram buckets (seconds) for every histogram: from a millisecond (a journal sync) to a
/// minute (a large compaction).
const BUCKETS_SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The metrics recorder could not be installed (another one already was).
    #[error("cannot install the metrics recorder: {0}")]
    Install(String),
    /// The address could not be bound.
    #[error("cannot serve metrics on {addr}: {cause}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The underlying error (in the message, so not also the `source()`).
        cause: std::io::Error,
    },
}

/// Parses `--metrics-addr`: `HOST:PORT`, with a host name (`localhost:9100`) or an IP
/// address (`0.0.0.0:9100`, `[::1]:9100`); the first address the name resolves to is used.
///
/// # Errors
///
/// The message to show (it names the text and says `expected HOST:PORT`) when the text is
/// not `HOST:PORT` or the name resolves to no address.
///
/// ```
/// assert_eq!(ops::parse_addr("127.0.0.1:9100").unwrap().port(), 9100);
/// assert!(ops::parse_addr("9100").unwrap_err().contains("HOST:PORT"));
/// ```
pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let bad = |why: String| format!("bad metrics address {text:?}: {why} (expected HOST:PORT)");
    text.to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("the name resolves to no address".into()))
}

#[cfg(feature = "server")]
/// What a binary does for `--metrics-addr`: installs the recorder ([`install`]), then serves
/// `/metrics` and `/health` on `addr` ([`serve`]) and logs where.
///
/// # Errors
///
/// As [`install`] and [`serve`].
pub async fn start(addr: SocketAddr, health: Health) -> Result<Endpoint, OpsError> {
    let metrics = install()?;
    let endpoint = serve(addr, metrics, health).await?;
    log::info!(
        "serving /metrics and /health on http://{}",
        endpoint.local_addr()
    );
    Ok(endpoint)
}

#[cfg(feature = "server")]
/// Installs the Prometheus recorder as the process' `metrics` recorder and returns the
/// handle that renders it. Call once, early, in a binary.
///
/// # Errors
///
/// [`OpsError::Install`] when the exporter cannot be built or another `metrics`
/// recorder is already installed.
pub fn install() -> Result<PrometheusHandle, OpsError> {
    PrometheusBuilder::new()
        .set_buckets(BUCKETS_SECONDS)
        .map_err(|e| OpsError::Install(e.to_string()))?
        .install_recorder()
        .map_err(|e| OpsError::Install(e.to_string()))
}
