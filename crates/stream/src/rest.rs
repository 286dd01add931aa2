//! Binance REST helpers (being written).
