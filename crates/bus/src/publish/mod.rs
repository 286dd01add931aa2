//! [`Publisher`]: events onto the bus without ever slowing the recorder down.
//!
//! The recorder calls [`Publisher::publish_frame`] on its ingest path. That call does no
//! per-event work at all: it copies the frame's text into one buffer, takes the frame's new
//! events as they are, and hands that one job to a queue bounded in events; it never
//! waits. When the queue is full (NATS is down, or slower than the feed for longer than the
//! queue holds) the events are counted as dropped and recording goes on: the Parquet dataset
//! is complete whatever NATS does, the bus is best effort. Every message given up is
//! counted, once, with its reason ([`Dropped`], `bus_messages_dropped_total{reason}`), and
//! [`PublishStats::dropped`] is their total.
//!
//! Everything else is the publisher task's ([`PublisherTask`], in `task`): it turns each
//! frame into one message per event (subject, `Nats-Msg-Id`, the event's JSON with the
//! exchange's exact decimal strings), publishes them with up to [`MAX_IN_FLIGHT`] acks
//! outstanding, and retries through an outage. A frame costs the ingest thread one copy of
//! its text; the bench `cargo bench -p record --bench ingest` measures what that leaves of
//! the ingest throughput.
//!
//! The recorder knows the publisher only as an [`EventSink`] (the event core's trait, which
//! the publisher implements here): `record` does not depend on this crate.
//!
//! ```text
//! ingest thread                      │ publisher task (tokio)
//! publish_frame(raw, new) ──Job──▶ queue ──▶ one message per event ──▶ JetStream publish
//!   (copy of the frame, no parsing)  │         (acks awaited in a window, retries in order)
//! ```

mod outgoing;
mod task;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use binance::RawMiniTicker;
use bytes::Bytes;
use events::{Batch, EventSink, Gap};
use tokio::sync::mpsc;

use crate::metrics::Dropped;
use crate::payload::GapMessage;
use crate::{BusConfig, StreamLimits};
use outgoing::{Element, Outgoing};

pub use task::MAX_IN_FLIGHT;

/// Counters of a publisher (totals since start, in messages: one per event or gap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishStats {
    /// Messages handed to the publisher.
    pub offered: u64,
    /// Messages the stream acknowledged (copies included).
    pub published: u64,
    /// Of those, copies the stream had already (another recorder, a retry).
    pub duplicates: u64,
    /// Messages given up, for any reason ([`Dropped`]): the queue was full, an event could
    /// not be read again from its frame, a message too large for the server, or the
    /// publisher stopped with them unsent.
    pub dropped: u64,
    /// Failed publish attempts (each retried).
    pub failed_attempts: u64,
    /// Times the stream was found gone (deleted) and created again.
    pub stream_recreated: u64,
}

impl PublishStats {
    /// Messages offered and neither acknowledged nor dropped yet (queued or in flight).
    pub fn outstanding(&self) -> u64 {
        self.offered
            .saturating_sub(self.published)
            .saturating_sub(self.dropped)
    }
}

#[derive(Debug, Default)]
struct Counters {
    offered: AtomicU64,
    published: AtomicU64,
    duplicates: AtomicU64,
    dropped: AtomicU64,
    failed_attempts: AtomicU64,
    stream_recreated: AtomicU64,
    /// Messages handed to the queue and not yet taken by the task.
    queued: AtomicUsize,
}

impl Counters {
    fn snapshot(&self) -> PublishStats {
        PublishStats {
            offered: self.offered.load(Relaxed),
            published: self.published.load(Relaxed),
            duplicates: self.duplicates.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            failed_attempts: self.failed_attempts.load(Relaxed),
            stream_recreated: self.stream_recreated.load(Relaxed),
        }
    }

    /// Counts `n` messages given up for `reason` (in the stats and the metric).
    fn give_up(&self, reason: Dropped, n: u64) {
        self.dropped.fetch_add(n, Relaxed);
        crate::metrics::dropped(reason, n);
    }
}

/// What the ingest side hands over: one job per call, however many events it holds.
#[derive(Debug)]
enum Job {
    /// A received frame and its new events (frame order), each with its element's span:
    /// turned into messages by the task, each payload a slice of `frame`. `missing`: events
    /// handed over without a span, counted as lost by the task.
    Frame {
        frame: Bytes,
        elements: Vec<Element>,
        missing: usize,
    },
    /// Messages built already (a gap, a single event).
    Ready(Vec<Outgoing>),
}

impl Job {
    /// Messages this job becomes.
    fn len(&self) -> usize {
        match self {
            Job::Frame {
                elements, missing, ..
            } => elements.len() + missing,
            Job::Ready(m) => m.len(),
        }
    }
}

/// The recorder's side of the bus: cheap to clone, never blocks. Dropping every clone lets
/// the [`PublisherTask`] finish.
#[derive(Debug, Clone)]
pub struct Publisher {
    tx: mpsc::UnboundedSender<Job>,
    counters: Arc<Counters>,
    capacity: usize,
}

/// The task behind a [`Publisher`]; [`PublisherTask::finish`] waits for it.
#[derive(Debug)]
pub struct PublisherTask {
    handle: tokio::task::JoinHandle<()>,
    counters: Arc<Counters>,
}

impl Publisher {
    /// Starts publishing to `config`'s server (the connection is made in the background, so
    /// this returns at once even when NATS is down). `queue` bounds the events waiting to be
    /// published (not counting the at most [`MAX_IN_FLIGHT`] being published). Needs a Tokio
    /// runtime.
    pub fn start(
        config: BusConfig,
        limits: StreamLimits,
        queue: usize,
    ) -> (Publisher, PublisherTask) {
        let (tx, rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let handle = tokio::spawn(task::run(config, limits, rx, counters.clone()));
        let publisher = Publisher {
            tx,
            counters: counters.clone(),
            capacity: queue.max(1),
        };
        (publisher, PublisherTask { handle, counters })
    }

    /// Publishes one event.
    pub fn publish(&self, t: &RawMiniTicker<'_>) {
        self.send(Job::Ready(vec![Outgoing::ticker(t)]));
    }

    /// Publishes the events of `batch` as the frame spells them: each payload is the
    /// event's element, sliced from the frame by its span (the exchange's own JSON object,
    /// not decoded again). `batch.rows` are the frame's events that are not copies, in frame
    /// order (what de-duplication kept); the frame's other events are skipped; a row without
    /// a span is counted as dropped (`unreadable`). Costs the caller one copy of the frame
    /// and a symbol, an event time and a span per event; the messages are built by the
    /// publisher task.
    pub fn publish_frame(&self, batch: &Batch<'_>) {
        if batch.rows.is_empty() {
            return;
        }
        let elements: Vec<Element> = (batch.rows.iter().zip(batch.spans))
            .filter(|(_, span)| span.of(batch.frame).is_some())
            .map(|(row, &span)| Element {
                symbol: row.symbol.clone(),
                event_time: row.event_time,
                span,
            })
            .collect();
        self.send(Job::Frame {
            frame: Bytes::copy_from_slice(batch.frame.as_bytes()),
            missing: batch.rows.len() - elements.len(),
            elements,
        });
    }

    /// Publishes a gap of the recorder's feed.
    pub fn publish_gap(&self, gap: &GapMessage) {
        self.send(Job::Ready(vec![Outgoing::gap(gap)]));
    }

    /// Totals so far.
    pub fn stats(&self) -> PublishStats {
        self.counters.snapshot()
    }

    fn send(&self, job: Job) {
        let n = job.len();
        if n == 0 {
            return;
        }
        self.counters.offered.fetch_add(n as u64, Relaxed);
        let queued = self.counters.queued.fetch_add(n, Relaxed);
        if queued + n > self.capacity {
            self.counters.queued.fetch_sub(n, Relaxed);
            self.counters.give_up(Dropped::QueueFull, n as u64);
            return;
        }
        if self.tx.send(job).is_err() {
            // The task is gone (runtime shutting down): nothing will publish these.
            self.counters.queued.fetch_sub(n, Relaxed);
            self.counters.give_up(Dropped::Unsent, n as u64);
        }
    }
}

/// The recorder's events and gaps onto the bus (`recorder --publish`).
impl EventSink for Publisher {
    fn events(&mut self, batch: &Batch<'_>) {
        self.publish_frame(batch);
    }

    fn gap(&mut self, gap: &Gap, closed: bool) {
        self.publish_gap(&GapMessage {
            start: gap.start_ms,
            end: closed.then_some(gap.end_ms),
            reason: gap.reason.clone(),
            connection_id: gap.connection_id,
        });
    }
}

impl PublisherTask {
    /// Waits, at most `grace`, for every queued event to be published once all
    /// [`Publisher`] clones are dropped; what is still unsent then is counted as dropped.
    pub async fn finish(self, grace: Duration) -> PublishStats {
        let mut handle = self.handle;
        if tokio::time::timeout(grace, &mut handle).await.is_err() {
            handle.abort();
            // Whatever was offered and not acknowledged is lost to the bus now.
            let _ = (&mut handle).await;
            let s = self.counters.snapshot();
            self.counters.give_up(Dropped::Unsent, s.outstanding());
            log::warn!("NATS publishing stopped after {grace:?} with messages unsent");
        }
        self.counters.snapshot()
    }

    /// Totals so far.
    pub fn stats(&self) -> PublishStats {
        self.counters.snapshot()
    }
}
