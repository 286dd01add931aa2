//! Binance spot WebSocket client (being written).
#[cfg(feature = "rest")]
pub mod rest;
