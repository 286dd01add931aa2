//! Binance spot WebSocket client.
//!
//! - [`decode`] / [`for_each_raw_mini_ticker`]: fast, panic-free decoding of
//!   text frames (mini tickers, `serverShutdown`, control replies and errors)
//!   from the raw (`/ws/`) and combined (`/stream?streams=`) endpoints;
//!   [`decode_elements`] / [`for_each_mini_ticker_element`] skip only the bad
//!   elements of an `!miniTicker@arr` array; [`decode_elements_spanned`] also says
//!   where each kept element lies in the frame, for outputs that forward elements.
//! - [`spawn`]: a connection manager that keeps a stream alive (ping/pong,
//!   read-idle watchdog, capped exponential backoff with jitter, connection
//!   attempt limiter, renewal before Binance's 24-hour cut, rate-limited
//!   `SUBSCRIBE`/`UNSUBSCRIBE`) and reports every disconnected interval as a
//!   [`StreamItem::Gap`].
//!
//! The rows it decodes into ([`MiniTicker`]), why a connection ended ([`DisconnectReason`])
//! and the de-duplication of what two connections both deliver (`events::Dedup`) are the
//! venue-neutral event core's (`events`): this crate is Binance's, and depends on no other
//! crate of ours.
//!
//! ```no_run
//! # async fn run() {
//! let config = binance::StreamConfig::new("wss://stream.binance.com:9443", vec!["!miniTicker@arr".into()]);
//! let (handle, mut items) = binance::spawn(config);
//! while let Some(item) = items.recv().await {
//!     if let binance::StreamItem::Message { message: binance::Message::MiniTickers(tickers), .. } = item {
//!         println!("{} tickers", tickers.len());
//!     }
//! }
//! handle.shutdown().await;
//! # }
//! ```

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

/// The README's examples, compiled (and run where they need no network) as doc-tests, so
/// that the snippet a user copies cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod event;
mod manager;
#[cfg(feature = "rest")]
pub mod rest;

pub use event::{
    decode, decode_elements, decode_elements_spanned, for_each_mini_ticker_element,
    for_each_raw_mini_ticker, ControlReply, DecodeError, Decoded, Element, ElementError, Message,
    MiniTicker, RawMiniTicker, Symbol, EXCERPT_CHARS,
};
pub use manager::{
    spawn, DisconnectReason, Stats, StreamConfig, StreamError, StreamHandle, StreamItem,
    CONTROL_ATTEMPTS, CONTROL_REPLY_TIMEOUT, CONTROL_RETRY_DELAY, CONTROL_RETRY_MAX_DELAY,
    MAX_CONNECTION_LIFETIME, MAX_CONNECT_ATTEMPTS, MAX_CONTROL_MESSAGES_PER_SECOND,
    MAX_STREAMS_PER_CONNECTION,
};

/// Installs rustls' `aws_lc_rs` crypto provider as the process default, once.
///
/// An already installed provider (ours or anyone's) is left in place.
/// [`spawn`] calls this; binaries that make TLS connections in other ways may
/// call it early at start-up.
pub fn ensure_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider is already the default: fine either way.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}
