//! Connection manager: keeps one Binance stream connection alive and hands
//! decoded frames to a bounded channel. Renewals (age limit, `serverShutdown`)
//! open the next connection before closing the old one, so they leave no gap
//! (see `renewal`).
//!
//! Binance rules it follows (official docs, "General WSS information" and
//! "WebSocket Limits",
//! <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#general-wss-information>):
//! the server pings and expects a pong with the same payload; a connection
//! lives at most 24 hours; at most 5 incoming messages (pings, pongs, control
//! requests) per second per connection; at most 300 connection attempts per
//! 5 minutes per IP; `serverShutdown` means the server will close the
//! connection soon.
//!
//! Inside, one file per job:
//!
//! - `config`: [`StreamConfig`] and the Binance limits as constants;
//! - `handle`: [`spawn`], [`StreamHandle`] (the application's side) and [`StreamError`];
//! - `item`: [`StreamItem`] and [`DisconnectReason`], what the manager reports;
//! - `stats`: [`Stats`], the counters;
//! - `supervisor`: the task itself, one connection at a time, reconnects and gaps;
//! - `connection`: one WebSocket connection (connect, ping/pong, idle watchdog, decode);
//! - `renewal`: the gap-free handover to a successor connection;
//! - `control`: `SUBSCRIBE`/`UNSUBSCRIBE`/`LIST_SUBSCRIPTIONS`, paced and retried;
//! - `backoff`: capped exponential backoff with jitter and the attempt limiter;
//! - `url`: stream URLs (percent-encoded) and log-safe (redacted) URLs.

mod backoff;
mod config;
mod connection;
mod control;
mod handle;
mod item;
mod renewal;
mod stats;
mod supervisor;
pub(crate) mod url;

/// Log-safe URLs, shared with the REST client.
#[cfg_attr(not(feature = "rest"), allow(unused_imports))]
pub(crate) use url::redact;

pub use config::{
    StreamConfig, CONTROL_ATTEMPTS, CONTROL_REPLY_TIMEOUT, CONTROL_RETRY_DELAY,
    CONTROL_RETRY_MAX_DELAY, MAX_CONNECTION_LIFETIME, MAX_CONNECT_ATTEMPTS,
    MAX_CONTROL_MESSAGES_PER_SECOND, MAX_STREAMS_PER_CONNECTION,
};
pub use handle::{spawn, StreamError, StreamHandle};
use handle::{Ack, Command};
pub use item::{DisconnectReason, StreamItem};
use stats::Counters;
pub use stats::Stats;
