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
//! Inside, one file per job, each using only the ones listed after it (no two
//! import each other):
//!
//! - `handle`: [`spawn`] and [`StreamHandle`], the application's side;
//! - `supervisor`: the task itself, one connection at a time, reconnects, renewals
//!   and gaps; the only part that delivers items and reads the handle's commands;
//! - `renewal`: the state of the gap-free handover to a successor connection;
//! - `connection`: connection attempts and their limit, and one WebSocket
//!   connection (ping/pong, idle watchdog, decode, close);
//! - `control`: `SUBSCRIBE`/`UNSUBSCRIBE`/`LIST_SUBSCRIPTIONS`, paced and retried,
//!   and [`StreamError`];
//! - `config`: [`StreamConfig`] and the Binance limits as constants;
//! - `item`: [`StreamItem`] and [`DisconnectReason`], what the manager reports;
//! - `stats`: [`Stats`], the counters;
//! - `backoff`: the sliding-window limiter (connection attempts, control messages);
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
pub use control::StreamError;
pub use handle::{spawn, StreamHandle};
pub use item::{DisconnectReason, StreamItem};
pub use stats::Stats;
