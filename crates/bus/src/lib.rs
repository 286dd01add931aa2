//! Mini-ticker fan-out over NATS JetStream: one recorder holds the Binance connection and
//! publishes every de-duplicated event; any number of alerters, on any number of machines,
//! follow their symbols from the bus.
//!
//! ```text
//! Binance socket ─▶ recorder (dedup, journal, Parquet) ─▶ Publisher ─▶ JetStream stream
//!                                                                     BINANCE_MINITICKER
//!                          alerter ◀─ Subscriber (ordered consumers) ◀──┘
//! ```
//!
//! * [`subject`]: the subject layout (`binance.spot.miniticker.<SYMBOL>`, gaps on
//!   `binance.spot.miniticker._gaps`) and the reversible encoding of symbols that are not
//!   safe subject tokens.
//! * [`payload`]: what a message carries: the event as Binance's own JSON object (so
//!   [`binance::decode`] reads it), the `Nats-Msg-Id` header `<SYMBOL>:<E>` that lets
//!   JetStream drop copies server-side (two recorders publishing one feed), and the gap rows.
//! * [`StreamLimits`] / [`ensure_stream`]: the stream is created or updated on start with the
//!   user's limits.
//! * [`Publisher`]: a bounded queue the recorder fills without ever waiting; a task publishes
//!   and awaits the acks, retries through an outage and counts what it had to drop.
//! * [`metrics`]: what the publisher gave up and why, stream re-creations.
//! * [`subscribe`]: the alerter side: [`BusItem`]s for the watched symbols, new messages
//!   only, with NATS disconnects and the recorder's gaps reported.
//!
//! ```no_run
//! # async fn demo() -> Result<(), bus::BusError> {
//! let config = bus::BusConfig::from_url("nats://127.0.0.1:4222")?;
//! let (publisher, task) = bus::Publisher::start(config.clone(), bus::StreamLimits::default(), 65_536);
//! let frame = r#"[{"e":"24hrMiniTicker","E":1,"s":"BTCUSDT","c":"1.5","o":"1","h":"2","l":"1","v":"3","q":"4"}]"#;
//! binance::for_each_raw_mini_ticker(frame, |t| publisher.publish(&t)).ok();
//! drop(publisher);
//! let stats = task.finish(std::time::Duration::from_secs(5)).await;
//! println!("{} published", stats.published);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

/// The README's examples, compiled (and run where they need no network) as doc-tests, so
/// that the snippet a user copies cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod config;
mod error;
pub mod metrics;
pub mod payload;
mod publish;
mod read;
mod setup;
pub mod subject;
mod subscribe;

pub use config::BusConfig;
pub use error::BusError;
pub use payload::GapMessage;
pub use publish::{PublishStats, Publisher, PublisherTask, MAX_IN_FLIGHT};
pub use read::{read_stream, StoredMessage};
pub use setup::{ensure_stream, StreamLimits};
pub use subject::{subject_for, GAPS_SUBJECT, STREAM_NAME};
pub use subscribe::{subscribe, BusItem};
