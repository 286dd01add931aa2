//! [`Stats`]: the counters a running manager keeps (frames, malformed frames, rejected
//! elements, connections, back-pressure waits), read through
//! [`super::StreamHandle::stats`].

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters since [`spawn`](super::spawn).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Data frames received (text and binary).
    pub frames: u64,
    /// Frames that could not be decoded.
    pub malformed: u64,
    /// Array elements skipped because they could not be decoded (their frames' other
    /// elements were delivered).
    pub rejected_elements: u64,
    /// Connections opened.
    pub connects: u64,
    /// Times an item found the channel full and the manager had to wait.
    pub consumer_full: u64,
}

/// The live counters behind [`Stats`], bumped by the connections.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) frames: AtomicU64,
    pub(super) malformed: AtomicU64,
    pub(super) rejected_elements: AtomicU64,
    pub(super) connects: AtomicU64,
    pub(super) consumer_full: AtomicU64,
}

impl Counters {
    pub(super) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot of every counter.
    pub(super) fn snapshot(&self) -> Stats {
        Stats {
            frames: self.frames.load(Ordering::Relaxed),
            malformed: self.malformed.load(Ordering::Relaxed),
            rejected_elements: self.rejected_elements.load(Ordering::Relaxed),
            connects: self.connects.load(Ordering::Relaxed),
            consumer_full: self.consumer_full.load(Ordering::Relaxed),
        }
    }
}
