//! [`Publisher`]: events onto the bus without ever slowing the recorder down.
//!
//! The recorder calls [`Publisher::publish_frame`] on its ingest path. That call only encodes
//! the new events of the frame into one buffer and hands it to a queue bounded in events; it
//! never waits. When the queue is full (NATS is down, or slower than the feed) the events are
//! counted as dropped and recording goes on: the Parquet dataset is complete whatever NATS
//! does, the bus is best effort.
//!
//! A task ([`PublisherTask`]) connects (retrying until the server answers), creates or updates
//! the stream, publishes with `Nats-Msg-Id` and awaits the acks with up to
//! [`MAX_IN_FLIGHT`] messages outstanding. A failed publish or ack (server restarting,
//! timeout) starts an outage: it is logged once, the messages are retried in order with a
//! backoff, and the end of the outage is logged with the number of failed attempts. Retries
//! cannot store an event twice: the server drops a repeated message id.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, context::PublishAckFuture};
use async_nats::HeaderMap;
use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use stream::{MiniTicker, RawMiniTicker};
use tokio::sync::mpsc;

use crate::payload::{encode_ticker, for_each_kept, GapMessage};
use crate::subject::{push_token, GAPS_SUBJECT, SUBJECT_PREFIX};
use crate::{ensure_stream, BusConfig, StreamLimits};

/// Publishes (and acks) outstanding at once.
pub const MAX_IN_FLIGHT: usize = 1024;
/// How long an ack may take before the publish counts as failed and is retried.
const ACK_TIMEOUT: Duration = Duration::from_secs(3);
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Counters of a publisher (totals since start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishStats {
    /// Messages the stream acknowledged (copies included).
    pub published: u64,
    /// Of those, copies the stream had already (another recorder, a retry).
    pub duplicates: u64,
    /// Events given up: the queue was full, or the publisher stopped with them unsent.
    pub dropped: u64,
    /// Failed publish attempts (each retried).
    pub failed_attempts: u64,
}

#[derive(Debug, Default)]
struct Counters {
    published: AtomicU64,
    duplicates: AtomicU64,
    dropped: AtomicU64,
    failed_attempts: AtomicU64,
    /// Messages handed to the queue and not yet taken by the task.
    queued: AtomicUsize,
}

impl Counters {
    fn snapshot(&self) -> PublishStats {
        PublishStats {
            published: self.published.load(Relaxed),
            duplicates: self.duplicates.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            failed_attempts: self.failed_attempts.load(Relaxed),
        }
    }
}

/// Messages of one frame, encoded into one buffer: for each, where its subject, its message
/// id (empty: none) and its payload end.
#[derive(Debug, Default)]
struct Batch {
    text: String,
    ends: Vec<[usize; 3]>,
}

impl Batch {
    fn push_ticker(&mut self, t: &RawMiniTicker<'_>) {
        let text = &mut self.text;
        text.push_str(SUBJECT_PREFIX);
        text.push('.');
        push_token(text, t.symbol);
        let subject_end = text.len();
        push_token(text, t.symbol);
        text.push(':');
        // Writing to a String cannot fail.
        let _ = write!(text, "{}", t.event_time);
        let id_end = text.len();
        encode_ticker(t, text);
        self.ends.push([subject_end, id_end, text.len()]);
    }

    fn push_gap(&mut self, gap: &GapMessage) {
        self.text.push_str(GAPS_SUBJECT);
        let end = self.text.len();
        // JSON of numbers and a string is valid UTF-8.
        self.text
            .push_str(std::str::from_utf8(&gap.encode()).expect("JSON is UTF-8"));
        self.ends.push([end, end, self.text.len()]);
    }

    fn messages(&self) -> impl Iterator<Item = Outgoing> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&[s, i, p]| {
            let m = Outgoing {
                subject: self.text[start..s].to_owned(),
                id: self.text[s..i].to_owned(),
                payload: Bytes::copy_from_slice(&self.text.as_bytes()[i..p]),
            };
            start = p;
            m
        })
    }
}

#[derive(Debug, Clone)]
struct Outgoing {
    subject: String,
    id: String,
    payload: Bytes,
}

/// The recorder's side of the bus: cheap to clone, never blocks. Dropping every clone lets
/// the [`PublisherTask`] finish.
#[derive(Debug, Clone)]
pub struct Publisher {
    tx: mpsc::UnboundedSender<Batch>,
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
    /// published. Needs a Tokio runtime.
    pub fn start(
        config: BusConfig,
        limits: StreamLimits,
        queue: usize,
    ) -> (Publisher, PublisherTask) {
        let (tx, rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let handle = tokio::spawn(run(config, limits, rx, counters.clone()));
        let publisher = Publisher {
            tx,
            counters: counters.clone(),
            capacity: queue.max(1),
        };
        (publisher, PublisherTask { handle, counters })
    }

    /// Publishes one event.
    pub fn publish(&self, t: &RawMiniTicker<'_>) {
        let mut batch = Batch::default();
        batch.push_ticker(t);
        self.send(batch);
    }

    /// Publishes the events of `new` as the frame `raw` spells them (exact decimal text).
    /// `new` are the frame's events that are not copies, in frame order (what
    /// de-duplication kept); the frame's other events are skipped.
    pub fn publish_frame(&self, raw: &str, new: &[MiniTicker]) {
        let mut batch = Batch {
            text: String::with_capacity(new.len() * 200),
            ends: Vec::with_capacity(new.len()),
        };
        for_each_kept(raw, new, |t| batch.push_ticker(&t));
        self.send(batch);
    }

    /// Publishes a gap of the recorder's feed.
    pub fn publish_gap(&self, gap: &GapMessage) {
        let mut batch = Batch::default();
        batch.push_gap(gap);
        self.send(batch);
    }

    /// Totals so far.
    pub fn stats(&self) -> PublishStats {
        self.counters.snapshot()
    }

    fn send(&self, batch: Batch) {
        let n = batch.ends.len();
        if n == 0 {
            return;
        }
        let queued = self.counters.queued.fetch_add(n, Relaxed);
        if queued + n > self.capacity {
            self.counters.queued.fetch_sub(n, Relaxed);
            self.counters.dropped.fetch_add(n as u64, Relaxed);
            return;
        }
        if self.tx.send(batch).is_err() {
            // The task is gone (runtime shutting down): nothing will publish these.
            self.counters.queued.fetch_sub(n, Relaxed);
            self.counters.dropped.fetch_add(n as u64, Relaxed);
        }
    }
}

impl PublisherTask {
    /// Waits, at most `grace`, for every queued event to be published once all
    /// [`Publisher`] clones are dropped; what is still unsent then is counted as dropped.
    pub async fn finish(self, grace: Duration) -> PublishStats {
        let mut handle = self.handle;
        if tokio::time::timeout(grace, &mut handle).await.is_err() {
            handle.abort();
            let unsent = self.counters.queued.swap(0, Relaxed);
            self.counters.dropped.fetch_add(unsent as u64, Relaxed);
            log::warn!("NATS publishing stopped after {grace:?} with messages unsent");
        }
        self.counters.snapshot()
    }

    /// Totals so far.
    pub fn stats(&self) -> PublishStats {
        self.counters.snapshot()
    }
}

/// How one publish ended.
enum Ack {
    /// Stored by the stream.
    Stored,
    /// A copy the stream already had (another recorder, an earlier attempt).
    Copy,
    /// Not acknowledged: to be retried.
    Failed,
}

type AckFuture = futures::future::BoxFuture<'static, (Ack, Outgoing)>;

/// The publishing loop (see the module docs).
async fn run(
    config: BusConfig,
    limits: StreamLimits,
    mut rx: mpsc::UnboundedReceiver<Batch>,
    counters: Arc<Counters>,
) {
    let server = config.server();
    let js = connect_and_set_up(&config, &limits).await;
    log::info!("publishing every recorded event to {server}, stream BINANCE_MINITICKER");
    let mut in_flight: FuturesUnordered<AckFuture> = FuturesUnordered::new();
    let mut retry: VecDeque<Outgoing> = VecDeque::new();
    let mut backoff = FIRST_BACKOFF;
    let mut outage_failures = 0u64;
    let mut open = true;
    loop {
        // Retried messages go first, after a pause, once the last attempts are settled.
        if !retry.is_empty() && in_flight.is_empty() {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
            while in_flight.len() < MAX_IN_FLIGHT {
                let Some(m) = retry.pop_front() else { break };
                let ack = publish(&js, m).await;
                in_flight.push(ack);
            }
            continue;
        }
        tokio::select! {
            batch = rx.recv(), if open && retry.is_empty() && in_flight.len() < MAX_IN_FLIGHT => {
                let Some(batch) = batch else {
                    open = false;
                    continue;
                };
                counters.queued.fetch_sub(batch.ends.len(), Relaxed);
                for m in batch.messages() {
                    let ack = publish(&js, m).await;
                    in_flight.push(ack);
                }
            }
            Some((ack, m)) = in_flight.next() => match ack {
                Ack::Stored => {
                    counters.published.fetch_add(1, Relaxed);
                    if outage_failures > 0 {
                        log::info!("NATS publishing resumed ({outage_failures} failed attempts were retried)");
                        outage_failures = 0;
                        backoff = FIRST_BACKOFF;
                    }
                }
                Ack::Copy => {
                    counters.published.fetch_add(1, Relaxed);
                    counters.duplicates.fetch_add(1, Relaxed);
                }
                Ack::Failed => {
                    counters.failed_attempts.fetch_add(1, Relaxed);
                    if outage_failures == 0 {
                        log::warn!("NATS publishing failing at {server}; retrying (recording goes on)");
                    }
                    outage_failures += 1;
                    if retry.len() < MAX_IN_FLIGHT * 64 {
                        retry.push_back(m);
                    } else {
                        counters.dropped.fetch_add(1, Relaxed);
                    }
                }
            },
            else => break,
        }
    }
}

/// Sends one message; the future resolves when its ack is in (or late).
async fn publish(js: &jetstream::Context, m: Outgoing) -> AckFuture {
    let mut headers = HeaderMap::new();
    if !m.id.is_empty() {
        headers.insert("Nats-Msg-Id", m.id.as_str());
    }
    let sent = js
        .publish_with_headers(m.subject.clone(), headers, m.payload.clone())
        .await;
    Box::pin(async move {
        let result = match sent {
            Ok(ack) => wait_ack(ack).await,
            Err(e) => {
                log::debug!("NATS publish failed: {}", crate::error::redacted(&e));
                Ack::Failed
            }
        };
        (result, m)
    })
}

async fn wait_ack(ack: PublishAckFuture) -> Ack {
    match tokio::time::timeout(ACK_TIMEOUT, ack).await {
        Ok(Ok(ack)) if ack.duplicate => Ack::Copy,
        Ok(Ok(_)) => Ack::Stored,
        Ok(Err(e)) => {
            log::debug!("NATS ack failed: {}", crate::error::redacted(&e));
            Ack::Failed
        }
        Err(_) => Ack::Failed,
    }
}

/// Connects and sets the stream up, retrying (and saying so once) until both work.
async fn connect_and_set_up(config: &BusConfig, limits: &StreamLimits) -> jetstream::Context {
    let server = config.server();
    let mut backoff = FIRST_BACKOFF;
    let mut warned = false;
    let client = loop {
        let events_server = server.clone();
        match config
            .connect("recorder", move |event| {
                crate::config::log_event(&events_server, event)
            })
            .await
        {
            Ok(c) => break c,
            Err(e) => {
                if !warned {
                    log::warn!("{e}; retrying in the background (recording goes on)");
                    warned = true;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    };
    // The loop keeps about MAX_IN_FLIGHT acks outstanding (plus one frame's batch); the
    // client's own limit is set above that, and waits rather than fails if ever reached.
    let js = jetstream::ContextBuilder::new()
        .timeout(ACK_TIMEOUT)
        .max_ack_inflight(MAX_IN_FLIGHT * 8)
        .backpressure_on_inflight(true)
        .build(client);
    let mut warned = false;
    loop {
        match ensure_stream(&js, limits).await {
            Ok(_) => return js,
            Err(e) => {
                if !warned {
                    log::error!("{e}; retrying (is JetStream enabled on the server?)");
                    warned = true;
                }
                tokio::time::sleep(MAX_BACKOFF).await;
            }
        }
    }
}
