//! The event core: what every stream's pipeline shares, whatever the venue and the output.
//!
//! # What lives here
//!
//! - **Row kinds** ([`MiniTicker`]): one recorded event each, as the pipeline carries it
//!   from a venue's decoder to every output. A venue crate (`binance` for Binance) decodes
//!   its frames into these; an output (the tick dataset, the bus) writes them.
//! - **Gaps** ([`Gap`], [`GapReason`], [`DisconnectReason`]): the intervals without a live
//!   feed, with a typed reason. The text of a reason is what files and messages keep; in a
//!   process the reason stays typed, so nobody parses a label back out of a sentence.
//! - **De-duplication** ([`Dedup`]): what "a copy" of an event is, for every pipeline that
//!   reads two connections at once (a renewal's overlap, redundant connections).
//! - **The sink** ([`EventSink`]): what a recording session hands its events (a [`Batch`]
//!   per frame: the new rows, the frame's text and each row's [`Span`] in it) and gaps to.
//!   Outputs implement it for themselves, below the pipeline that drives them (as
//!   ripgrep's `grep-printer` implements `grep-searcher::Sink`), so the pipeline knows no
//!   output by name and fans out to several through the trait.
//! - **Helpers every crate needs the same way**: [`unix_ms`] (a wall-clock time as the
//!   milliseconds the rows carry) and [`Backoff`] (the one capped exponential backoff of
//!   the workspace: reconnects, retries, checkpoints), and [`Invalid`], every problem of
//!   a configuration at once, which each library configuration's `validate()` returns.
//!
//! # What does not
//!
//! No I/O, no async runtime, no venue's wire format and no storage format: this crate is
//! layer 0 (see the workspace's `ARCHITECTURE.md`). Decoding is the venue crate's, files
//! are the dataset crate's, subjects are the bus's.

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

/// The README's examples, compiled and run as doc-tests, so that the snippet a user copies
/// cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod backoff;
pub mod dedup;
mod disconnect;
pub mod gap;
pub mod invalid;
mod mini_ticker;
pub mod sink;
mod span;
mod time;

pub use backoff::Backoff;
pub use dedup::Dedup;
pub use disconnect::DisconnectReason;
pub use gap::{Gap, GapReason};
pub use invalid::{Invalid, Problem};
pub use mini_ticker::{MiniTicker, Symbol};
pub use sink::{Batch, EventSink};
pub use span::Span;
pub use time::unix_ms;
