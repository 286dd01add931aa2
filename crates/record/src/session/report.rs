//! What a session tells its caller: [`Progress`] as it goes, a [`Summary`] at the end.

use std::path::PathBuf;
use std::time::Duration;

use dataset::CompactReport;

use crate::gaps::Gap;
use crate::{RecordError, Startup};

/// What happens during a session, for the caller to show.
#[derive(Debug)]
pub enum Progress {
    /// Periodic status.
    Status {
        /// Distinct symbols recorded in this run.
        symbols: usize,
        /// Events recorded in this run.
        events: u64,
        /// Rows waiting for the next checkpoint.
        pending: usize,
        /// How long the oldest of them has waited ([`crate::Recorder::unpublished_age`]);
        /// `None` when none waits.
        unpublished_age: Option<Duration>,
        /// Share of this run's wall time with a live feed, in %.
        coverage: f64,
        /// Copies dropped (redundant connections, renewal overlaps).
        duplicates: u64,
    },
    /// What start-up recovered from an earlier run.
    Recovered(Startup),
    /// A checkpoint was written.
    Checkpoint {
        /// Files published.
        files: Vec<PathBuf>,
        /// Rows they hold.
        rows: usize,
    },
    /// A checkpoint failed; its rows are kept and retried with a backoff (see
    /// `session/retry.rs`). Only the first failure of a run of consecutive failures is
    /// reported (the later ones are counted in [`crate::metrics`] and logged at debug
    /// level; the run's end is logged), so a long outage is one line, not one per attempt.
    /// Each failed attempt of the final save is reported.
    CheckpointFailed(RecordError),
    /// Closed hours were compacted.
    Compacted(CompactReport),
    /// A connection is live.
    Connected {
        /// Connection number.
        conn_id: u64,
    },
    /// A connection was lost; the stream reconnects by itself (with redundant connections
    /// the feed may still be live).
    FeedLost {
        /// Connection number.
        conn_id: u64,
        /// Why.
        reason: String,
    },
    /// An interval without any live feed, now closed (also written to the gaps dataset).
    Gap(Gap),
    /// A frame that could not be decoded (skipped; the connection is kept).
    Malformed(String),
    /// One element of a frame was not recorded; the frame's other elements were. Reported
    /// once per element.
    Rejected {
        /// Connection it came on.
        conn_id: u64,
        /// Which element and why.
        element: Rejected,
    },
    /// Shutdown was requested; the final save starts.
    Saving,
}

/// Why one element of a received frame was not recorded.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Rejected {
    /// It did not decode (the error's excerpt is the element's own text).
    #[error("{0}")]
    Decode(binance::ElementError),
}

/// The outcome of a session.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Distinct symbols recorded in this run.
    pub symbols: usize,
    /// Events recorded in this run.
    pub events: u64,
    /// Files published in this run.
    pub files: usize,
    /// Rows in the files published in this run.
    pub rows: u64,
    /// The last file published, if any.
    pub last_file: Option<PathBuf>,
    /// The dataset (a directory, or a URL held in a path).
    pub out_dir: PathBuf,
    /// Frames that could not be decoded.
    pub malformed: u64,
    /// Elements of frames not recorded ([`Progress::Rejected`]).
    pub rejected: u64,
    /// Events quarantined for an implausible event time ([`crate::quarantine`]).
    pub quarantined: u64,
    /// Copies dropped (redundant connections, renewal overlaps).
    pub duplicates: u64,
    /// Gaps in this run, start-up included (and the time the recorder was not running
    /// before it, when the last run ended without a clean shutdown).
    pub gaps: usize,
    /// Share of this run's wall time with a live feed, in % (the wall time starts at the
    /// last journaled receive of a run that ended without a clean shutdown).
    pub coverage: f64,
    /// Wall time of this run.
    pub wall: Duration,
}
