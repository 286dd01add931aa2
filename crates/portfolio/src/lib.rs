//! Trading logic of the hourly bot, free of I/O: the decision rule, the simulated order,
//! positions with average cost, and the P&L report.
//!
//! ```
//! use portfolio::{decide, submit_order, Decision, Holding, Order, Position, Report};
//!
//! let now = chrono::Utc::now();
//! let mut position = Position::empty("bitcoin");
//! if decide(95.0, 100.0) == Decision::Buy {
//!     let fill = submit_order(&Order::buy("bitcoin", 1.0), 95.0, now).unwrap();
//!     position.apply(&fill).unwrap();
//! }
//! let report = Report::new(vec![Holding::new("btc", "Bitcoin", position.quantity, position.avg_cost, Some(99.0))]);
//! assert_eq!(report.holdings[0].pnl_pct, Some(4.21));
//! ```

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

/// The README's examples, compiled (and run where they need no network) as doc-tests, so
/// that the snippet a user copies cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod decision;
mod order;
mod position;
mod report;

pub use decision::{decide, Decision};
pub use order::{submit_order, Fill, Order, OrderError, Side};
pub use position::{Position, PositionError};
pub use report::{fmt_price, pnl_pct, round2, Holding, Report};
