//! Binance spot REST: `GET /api/v3/exchangeInfo`, used to check that a symbol exists and
//! trades before following its stream (feature `rest`).
//!
//! Official docs: <https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-endpoints#exchange-information>
//! and error codes: <https://developers.binance.com/docs/binance-spot-api-docs/errors>.
//!
//! `GET /api/v3/exchangeInfo?symbol=ETHBTC` answers (trimmed; fixture
//! `fixtures/binance_rest_exchangeInfo_3symbols_2021-03-02.json`):
//!
//! ```json
//! {
//!   "timezone": "UTC",
//!   "serverTime": 1614694549948,
//!   "rateLimits": [ { "rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 1200 } ],
//!   "exchangeFilters": [],
//!   "symbols": [
//!     {
//!       "symbol": "ETHBTC",
//!       "status": "TRADING",
//!       "baseAsset": "ETH",
//!       "baseAssetPrecision": 8,
//!       "quoteAsset": "BTC",
//!       "quotePrecision": 8,
//!       "filters": [ { "filterType": "PRICE_FILTER", "minPrice": "0.00000100", "maxPrice": "100000.00000000", "tickSize": "0.00000100" } ],
//!       "permissions": [ "SPOT", "MARGIN" ]
//!     }
//!   ]
//! }
//! ```
//!
//! An unknown symbol is HTTP 400 with `{"code":-1121,"msg":"Invalid symbol."}`.
//!
//! Symbols are not only ASCII any more. Binance's spot changelog of 2025-12-02
//! (<https://developers.binance.com/docs/binance-spot-api-docs/CHANGELOG>):
//!
//! > Parameter `symbol` and `symbols` can now support Unicode values encoded in UTF-8.
//!
//! and of 2025-12-15: "if your request contains a symbol name containing non-ASCII
//! characters, then the response may contain non-ASCII characters encoded in UTF-8". So
//! `exchangeInfo` is the authority on what a symbol is: [`RestClient::symbol_info`] asks it
//! about any name (percent-encoded as UTF-8 in the query, `?symbol=%E5%B8%81…USDT` for
//! `币安人生USDT`) instead of judging the characters itself.
//! `status` is one of `PRE_TRADING`, `TRADING`, `POST_TRADING`, `END_OF_DAY`, `HALT`,
//! `AUCTION_MATCH`, `BREAK`; only `TRADING` streams live prices.
//!
//! Inside: `exchange_info` decodes the payload and Binance's error bodies (pure, table
//! tested on the fixture and on malformed bodies), `client` is the HTTP side
//! ([`RestClient`]: timeouts, UTF-8 symbols percent-encoded, log-safe URLs), `error` is
//! [`RestError`]. Everything is re-exported here: the paths are `binance::rest::…`.

mod client;
mod error;
mod exchange_info;

pub use client::{RestClient, MAX_BODY_BYTES};
pub use error::RestError;
pub use exchange_info::{
    decode_error, decode_exchange_info, SymbolInfo, SymbolStatus, ILLEGAL_CHARS, INVALID_SYMBOL,
};
