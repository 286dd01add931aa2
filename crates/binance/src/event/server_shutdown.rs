//! `serverShutdown`: the server is about to go away; reconnect at once.
//!
//! Official docs, "Server Shutdown":
//! <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#server-shutdown>
//!
//! Raw stream:
//! ```json
//! {
//!   "e": "serverShutdown", // Event type
//!   "E": 1770123456789     // Event time
//! }
//! ```
//! Combined stream:
//! ```json
//! {"stream": "!serverShutdown", "data": {"e": "serverShutdown", "E": 1770123456789}}
//! ```

use super::fields::Fields;
use super::DecodeError;

/// Value of `e` for the shutdown notice.
pub(crate) const EVENT_TYPE: &str = "serverShutdown";

/// Event time (`E`, ms) of a `serverShutdown` event.
pub(crate) fn event_time(f: &Fields<'_>) -> Result<i64, DecodeError> {
    f.event_time.int("E")
}
