//! Price-level alert decisions, with no I/O: exact decimal [`Price`]s, [`Level`]s
//! (symbol, [`Direction`], price), the alert [`Mode`] (every update beyond the level, or once
//! per crossing), the [`Watcher`] that keeps the crossing state and turns updates into
//! [`Alert`]s, and the exact output lines ([`render_update`], [`alert_line`]).
//!
//! ```
//! use alert::{Direction, Hms, Level, Mode, Watcher, render_update};
//! let level = Level::parse("btcusdt".parse().unwrap(), Direction::Above, "43680").unwrap();
//! let mut watcher = Watcher::new([level], Mode::EveryUpdate);
//! let now = Hms::of(&chrono::NaiveTime::from_hms_opt(14, 7, 2).unwrap());
//! let mut out = String::new();
//! for last in ["43680.00000000", "43680.01000000"] {
//!     let update = watcher.on_update("BTCUSDT", last).unwrap();
//!     render_update(&mut out, now, "BTCUSDT", last, &update, false);
//! }
//! assert_eq!(out, "14:07:02 BTCUSDT price has gone above 43680 Last price: 43680.01000000\n");
//! ```

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

/// The README's examples, compiled (and run where they need no network) as doc-tests, so
/// that the snippet a user copies cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod format;
mod level;
mod price;
mod watcher;

pub use format::{alert_line, render_update, Hms};
pub use level::{Direction, Level, LevelError, Mode, Symbol, SymbolError};
pub use price::{Price, PriceError, SCALE};
pub use watcher::{Alert, Update, Watcher};
