//! The publisher task: from the queue to JetStream, acks awaited in a window.
//!
//! The loop keeps three things: `ready` (messages built from the jobs taken off the queue,
//! in hand-over order), `in_flight` (published, ack awaited: at most [`MAX_IN_FLIGHT`]) and
//! `retry` (attempts that failed). It takes a job off the queue only when `ready` runs low,
//! so the events waiting beyond the queue's bound are never more than about one window.
//!
//! A failed publish or ack (server restarting, ack late) starts an outage: it is logged
//! once, nothing new is sent until every outstanding attempt has settled, then the failed
//! messages go out again first, in their original order (an alerter following a symbol
//! must not see an older price after a newer one), after a backoff. The end of the outage
//! is logged with the number of failed attempts. Retries cannot store an event twice: the
//! server drops a repeated message id.
//!
//! A publish that no stream answers means the stream is gone (someone deleted it): before
//! the retries go out the stream is looked up and, if it is missing, created again with the
//! user's limits, said on the log and counted (`bus_stream_recreated_total`); subscribers
//! notice the new stream and follow it (see `subscribe`). A message that can never be
//! published (larger than the server's `max_payload`) is not retried: it is dropped and
//! counted, and the others go on.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use events::Backoff;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use tokio::sync::mpsc;

use super::outgoing::Outgoing;
use super::{Counters, Job};
use crate::metrics::Dropped;
use crate::setup::is_not_found;
use crate::subject::STREAM_NAME;
use crate::{ensure_stream, BusConfig, StreamLimits};

/// Publishes (and acks) outstanding at once.
pub const MAX_IN_FLIGHT: usize = 4096;
/// How long an ack may take before the publish counts as failed and is retried.
const ACK_TIMEOUT: Duration = Duration::from_secs(3);
/// The wait before retrying after a failure: from 200 ms, doubling, up to 2 s.
fn retry_backoff() -> Backoff {
    Backoff::exact(Duration::from_millis(200), MAX_BACKOFF)
}
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How one publish ended.
enum Ack {
    /// Stored by the stream.
    Stored,
    /// A copy the stream already had (another recorder, an earlier attempt).
    Copy,
    /// Not acknowledged: to be retried.
    Failed,
    /// No stream took it (the stream is gone): to be retried once the stream is back.
    NoStream,
    /// Refused for good (larger than the server's `max_payload`): dropped.
    Refused,
}

type AckFuture = BoxFuture<'static, (Ack, Outgoing)>;

/// The publishing loop (see the module docs).
pub(super) async fn run(
    config: BusConfig,
    limits: StreamLimits,
    mut rx: mpsc::UnboundedReceiver<Job>,
    counters: Arc<Counters>,
) {
    let server = config.server();
    let js = connect_and_set_up(&config, &limits).await;
    log::info!("publishing every recorded event to {server}, stream BINANCE_MINITICKER");
    let mut ready: VecDeque<Outgoing> = VecDeque::new();
    let mut in_flight: FuturesUnordered<AckFuture> = FuturesUnordered::new();
    let mut retry: Vec<Outgoing> = Vec::new();
    let mut next_seq = 0u64;
    let mut backoff = retry_backoff();
    let mut outage_failures = 0u64;
    let mut stream_missing = false;
    let mut open = true;
    loop {
        if !retry.is_empty() && in_flight.is_empty() {
            // Every attempt of the outage has settled: the failed ones go first, in order.
            tokio::time::sleep(backoff.next_delay()).await;
            if stream_missing && recreate_if_missing(&js, &limits, &counters).await {
                stream_missing = false;
            }
            retry.sort_unstable_by_key(|m| m.seq);
            for m in retry.drain(..).rev() {
                ready.push_front(m);
            }
        }
        if retry.is_empty() {
            while in_flight.len() < MAX_IN_FLIGHT {
                let Some(m) = ready.pop_front() else { break };
                let ack = publish(&js, m).await;
                in_flight.push(ack);
            }
        }
        if !open && ready.is_empty() && in_flight.is_empty() && retry.is_empty() {
            break;
        }
        tokio::select! {
            job = rx.recv(), if open && ready.len() < MAX_IN_FLIGHT => {
                let Some(job) = job else {
                    open = false;
                    continue;
                };
                counters.queued.fetch_sub(job.len(), Relaxed);
                let first = ready.len();
                match job {
                    Job::Frame {
                        frame,
                        elements,
                        missing,
                    } => {
                        ready.extend(elements.iter().map(|e| Outgoing::element(&frame, e)));
                        if missing > 0 {
                            counters.give_up(Dropped::Unreadable, missing as u64);
                            log::warn!("{missing} recorded event(s) came without their element's span in the frame: not published");
                        }
                    }
                    Job::Ready(messages) => ready.extend(messages),
                }
                for m in ready.iter_mut().skip(first) {
                    m.seq = next_seq;
                    next_seq += 1;
                }
            }
            Some((ack, m)) = in_flight.next() => match ack {
                Ack::Stored | Ack::Copy => {
                    counters.published.fetch_add(1, Relaxed);
                    if matches!(ack, Ack::Copy) {
                        counters.duplicates.fetch_add(1, Relaxed);
                    }
                    if outage_failures > 0 && retry.is_empty() {
                        log::info!("NATS publishing resumed ({outage_failures} failed attempts were retried)");
                        outage_failures = 0;
                        backoff.reset();
                    }
                }
                Ack::Refused => {
                    counters.give_up(Dropped::TooLarge, 1);
                    log::warn!(
                        "NATS refused a message of {} bytes on {} (larger than the server's max_payload): dropped",
                        m.payload.len(),
                        m.subject
                    );
                }
                Ack::Failed | Ack::NoStream => {
                    stream_missing |= matches!(ack, Ack::NoStream);
                    counters.failed_attempts.fetch_add(1, Relaxed);
                    if outage_failures == 0 {
                        log::warn!("NATS publishing failing at {server}; retrying (recording goes on)");
                    }
                    outage_failures += 1;
                    retry.push(m);
                }
            },
            // Not reached: with nothing in flight, the loop above sends or stops.
            else => break,
        }
    }
}

/// Sends one message; the future resolves when its ack is in (or late).
async fn publish(js: &jetstream::Context, m: Outgoing) -> AckFuture {
    let sent = js
        .publish_with_headers(m.subject.clone(), m.headers(), m.payload.clone())
        .await;
    match sent {
        Ok(ack) => wait_ack(ack).map(move |a| (a, m)).boxed(),
        Err(e) if e.kind() == PublishErrorKind::MaxPayloadExceeded => {
            futures::future::ready((Ack::Refused, m)).boxed()
        }
        Err(e) => {
            log::debug!("NATS publish failed: {}", crate::error::redacted(&e));
            futures::future::ready((Ack::Failed, m)).boxed()
        }
    }
}

/// The ack of one publish; the context's timeout ([`ACK_TIMEOUT`]) bounds the wait.
async fn wait_ack(ack: PublishAckFuture) -> Ack {
    match ack.await {
        Ok(ack) if ack.duplicate => Ack::Copy,
        Ok(_) => Ack::Stored,
        Err(e) if e.kind() == PublishErrorKind::StreamNotFound => Ack::NoStream,
        Err(e) => {
            log::debug!("NATS ack failed: {}", crate::error::redacted(&e));
            Ack::Failed
        }
    }
}

/// After publishes that no stream answered: looks the stream up and, when it is gone,
/// creates it again (logged and counted). True when the stream is there (again); false
/// when that could not be told or done (tried again before the next retries).
async fn recreate_if_missing(
    js: &jetstream::Context,
    limits: &StreamLimits,
    counters: &Counters,
) -> bool {
    match js.get_stream(STREAM_NAME).await {
        Ok(_) => return true,
        Err(e) if is_not_found(&e) => {}
        Err(e) => {
            log::debug!(
                "looking up stream {STREAM_NAME}: {}",
                crate::error::redacted(&e)
            );
            return false;
        }
    }
    match ensure_stream(js, limits).await {
        Ok(_) => {
            counters.stream_recreated.fetch_add(1, Relaxed);
            crate::metrics::stream_recreated();
            log::warn!("NATS stream {STREAM_NAME} was gone (deleted?): created it again; publishing goes on, alerters follow the new stream");
            true
        }
        Err(e) => {
            log::warn!(
                "NATS stream {STREAM_NAME} is gone and could not be created again: {e}; retrying"
            );
            false
        }
    }
}

/// Connects and sets the stream up, retrying (and saying so once) until both work.
async fn connect_and_set_up(config: &BusConfig, limits: &StreamLimits) -> jetstream::Context {
    let server = config.server();
    let mut backoff = retry_backoff();
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
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    };
    // The loop keeps at most MAX_IN_FLIGHT acks outstanding; the client's own limit is set
    // above that, and waits rather than fails if ever reached.
    let js = jetstream::ContextBuilder::new()
        .timeout(ACK_TIMEOUT)
        .max_ack_inflight(MAX_IN_FLIGHT * 2)
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
