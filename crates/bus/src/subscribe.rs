//! [`subscribe`]: the alerter's side of the bus.
//!
//! One JetStream *ordered consumer* per watched subject (each symbol's, plus the gaps
//! subject), delivering new messages only: an alerter that starts late sees the feed from
//! that moment on, as with a direct connection. Ordered consumers are ephemeral, need no acks
//! and recreate themselves after a NATS restart, resuming after the last message they
//! delivered (<https://docs.nats.io/using-nats/developer/develop_jetstream/consumers#ordered-consumers>).
//! One consumer per subject rather than one with several filter subjects keeps it working
//! with servers older than 2.10.
//!
//! The consumers are *push* consumers: the server sends each message to the consumer's
//! inbox as it is stored. A pull consumer only gets what an outstanding pull request asks
//! for, and async-nats renews its request when the server says it expired (every 30 s); a
//! message that reaches a busy server at that moment could leave no request renewed, and a
//! quiet symbol's update then stayed on the server until something else pulled — its next
//! update, or the library's own retry (issue 20: "one update late on a quiet symbol").
//!
//! What comes out is a channel of [`BusItem`]s: the events (as frames `binance`'s decoder
//! reads), the recorder's gaps, and the client's own connection losses.
//!
//! Two things the client library does not do are done here:
//!
//! * **Waiting for the server at start.** A server that cannot be reached (or JetStream that
//!   does not answer) is logged and tried again, 0.5 s, 1 s, 2 s, then every 5 s, as the
//!   Binance source waits for the exchange; only an unusable configuration is an error.
//! * **Following a re-created stream.** When the stream is deleted, the consumers go with
//!   it; a consumer the library recreates on the new stream would start after the last
//!   sequence number of the *old* one, and the new stream numbers from 1 again: the
//!   alerter would hear nothing until the new stream caught up. So the stream is looked at
//!   every [`STREAM_CHECK`]: when it is gone, a [`BusItem::StreamGone`] says so (the feed
//!   is lost); when a stream of another creation time is there, every consumer is replaced
//!   by one reading the new stream from its start, and a [`BusItem::Connected`] says the
//!   feed is back (logged, `bus_consumers_reattached_total`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_nats::jetstream::{self, consumer::push, consumer::DeliverPolicy};
use events::Backoff;
use futures::StreamExt;
use tokio::sync::{mpsc, watch};

use crate::error::redacted;
use crate::payload::GapMessage;
use crate::setup::is_not_found;
use crate::subject::{subject_for, GAPS_SUBJECT, STREAM_NAME};
use crate::{BusConfig, BusError, StreamLimits};

/// One thing the bus tells a subscriber.
#[derive(Debug, Clone)]
pub enum BusItem {
    /// Subscribed (at start), the NATS connection is back, or the stream is back after
    /// [`BusItem::StreamGone`].
    Connected {
        /// When.
        at: SystemTime,
    },
    /// The NATS connection is lost; the client reconnects by itself.
    Disconnected {
        /// When.
        at: SystemTime,
    },
    /// The stream is gone (deleted): nothing comes until a recorder creates it again.
    StreamGone {
        /// When it was found gone.
        at: SystemTime,
    },
    /// An event of a watched symbol, not decoded: its consumer decodes it once, into what it
    /// needs (the alerter: the exact decimal strings, with `binance::for_each_raw_mini_ticker`).
    Tickers {
        /// The payload: one event as Binance's JSON object (UTF-8 checked, nothing more).
        raw: String,
        /// When it came off the bus.
        received_at: SystemTime,
    },
    /// The recorder lost its feed (`end: None`) or has it back (`end: Some`).
    Gap(GapMessage),
}

/// Channel depth between the consumers and the caller.
const CHANNEL: usize = 4096;
/// How often the stream is looked at (gone? created again?).
pub const STREAM_CHECK: Duration = Duration::from_secs(1);
/// The waits before trying the server again at start: 0.5 s, doubling, up to 5 s.
fn start_backoff() -> Backoff {
    Backoff::exact(Duration::from_millis(500), Duration::from_secs(5))
}

/// Where a new consumer starts.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// With the next message published.
    New,
    /// After this stream sequence (the last one delivered).
    After(u64),
    /// With the stream's first message (a stream created again: all of it is new).
    All,
}

/// Subscribes to the events of `symbols` (exactly as Binance spells them) and to the
/// recorder's gaps.
///
/// Waits for the server: while it cannot be reached or JetStream does not answer, the
/// reason is logged and the attempt repeated (0.5 s, 1 s, 2 s, then every 5 s), for as
/// long as the caller awaits (bound it with a signal or a timeout). Once subscribed,
/// outages are items ([`BusItem::Disconnected`] / [`BusItem::Connected`], and
/// [`BusItem::StreamGone`] when the stream is deleted).
///
/// The stream is created with [`StreamLimits::default`] when no recorder has created it yet.
///
/// # Errors
///
/// [`BusError::Config`] only: a configuration no attempt can work with (an unreadable
/// credentials file).
pub async fn subscribe(
    config: &BusConfig,
    symbols: &[String],
) -> Result<mpsc::Receiver<BusItem>, BusError> {
    let (tx, rx) = mpsc::channel(CHANNEL);
    // Connection events count from the first subscription on (that one says Connected).
    let subscribed = Arc::new(AtomicBool::new(false));
    let (reconnects, reconnected) = watch::channel(0u64);
    let reconnects = Arc::new(reconnects);
    let mut backoff = start_backoff();
    let (js, stream) = loop {
        match open(config, &tx, &subscribed, &reconnects).await {
            Ok(opened) => break opened,
            Err(e @ BusError::Config(_)) => return Err(e),
            Err(e) => {
                let wait = backoff.next_delay();
                log::warn!("{e}; trying again in {wait:?}");
                tokio::time::sleep(wait).await;
            }
        }
    };
    let created = stream.cached_info().created;
    let client = js.client();
    let (recreated, epoch) = watch::channel(0u64);
    let subjects = symbols
        .iter()
        .map(|s| subject_for(s))
        .chain([GAPS_SUBJECT.to_owned()]);
    for subject in subjects {
        // Set up once the stream is there: a failure here is a passing one, retried by
        // `forward` itself.
        let messages = consume(&client, &stream, &subject, Start::New).await.ok();
        tokio::spawn(forward(
            client.clone(),
            stream.clone(),
            subject,
            messages,
            reconnected.clone(),
            epoch.clone(),
            tx.clone(),
        ));
    }
    tokio::spawn(watch_stream(js, created, recreated, tx.clone()));
    // Every consumer exists: from now on no message of a watched subject is missed.
    subscribed.store(true, Ordering::Release);
    let _ = tx
        .send(BusItem::Connected {
            at: SystemTime::now(),
        })
        .await;
    Ok(rx)
}

/// One attempt: connects and opens (or creates) the stream.
async fn open(
    config: &BusConfig,
    tx: &mpsc::Sender<BusItem>,
    subscribed: &Arc<AtomicBool>,
    reconnects: &Arc<watch::Sender<u64>>,
) -> Result<(jetstream::Context, jetstream::stream::Stream), BusError> {
    let server = config.server();
    let (events, live, reconnects) = (tx.clone(), subscribed.clone(), reconnects.clone());
    let client = config
        .connect("alerter", move |event| {
            crate::config::log_event(&server, event.clone());
            if !live.load(Ordering::Acquire) {
                return;
            }
            let at = SystemTime::now();
            let item = match event {
                async_nats::Event::Disconnected => BusItem::Disconnected { at },
                async_nats::Event::Connected => {
                    reconnects.send_modify(|n| *n += 1);
                    BusItem::Connected { at }
                }
                _ => return,
            };
            // A full channel already holds plenty to report; the state shows up again.
            let _ = events.try_send(item);
        })
        .await?;
    let js = jetstream::new(client);
    let stream = js
        .get_or_create_stream(StreamLimits::default().stream_config())
        .await
        .map_err(|e| BusError::JetStream {
            what: "opening stream BINANCE_MINITICKER",
            reason: redacted(&e),
        })?;
    Ok((js, stream))
}

/// Looks at the stream every [`STREAM_CHECK`] until the receiver is gone: says when it is
/// gone, and moves the consumers (`recreated`) when one of another creation time is there.
async fn watch_stream(
    js: jetstream::Context,
    mut created: async_nats::datetime::DateTime,
    recreated: watch::Sender<u64>,
    tx: mpsc::Sender<BusItem>,
) {
    let mut gone = false;
    loop {
        tokio::time::sleep(STREAM_CHECK).await;
        if tx.is_closed() {
            return;
        }
        match js.get_stream(STREAM_NAME).await {
            Ok(stream) if stream.cached_info().created == created => {}
            Ok(stream) => {
                created = stream.cached_info().created;
                gone = false;
                log::warn!("NATS stream {STREAM_NAME} was created again: following the new one from its start");
                crate::metrics::consumers_reattached();
                recreated.send_modify(|n| *n += 1);
                let _ = tx
                    .send(BusItem::Connected {
                        at: SystemTime::now(),
                    })
                    .await;
            }
            Err(e) if is_not_found(&e) => {
                if !gone {
                    gone = true;
                    log::warn!("NATS stream {STREAM_NAME} is gone (deleted?); waiting for a recorder to create it again");
                    let _ = tx
                        .send(BusItem::StreamGone {
                            at: SystemTime::now(),
                        })
                        .await;
                }
            }
            // Disconnected, or a slow answer: the connection events say what matters.
            Err(e) => log::debug!("looking at stream {STREAM_NAME}: {}", redacted(&e)),
        }
    }
}

/// An ordered push consumer of `subject`, starting at `start`, delivering to a new inbox of
/// `client`.
async fn consume(
    client: &async_nats::Client,
    stream: &jetstream::stream::Stream,
    subject: &str,
    start: Start,
) -> Result<push::Ordered, BusError> {
    let err = |e: &dyn std::fmt::Display| BusError::JetStream {
        what: "creating an ordered consumer",
        reason: logging::redact(&e.to_string()),
    };
    let deliver_policy = match start {
        Start::New => DeliverPolicy::New,
        Start::After(seq) => DeliverPolicy::ByStartSequence {
            start_sequence: seq + 1,
        },
        Start::All => DeliverPolicy::All,
    };
    let consumer = stream
        .create_consumer(push::OrderedConfig {
            deliver_subject: client.new_inbox(),
            filter_subject: subject.to_owned(),
            deliver_policy,
            ..Default::default()
        })
        .await
        .map_err(|e| err(&e))?;
    consumer.messages().await.map_err(|e| err(&e))
}

/// Hands one consumer's messages on until the receiver is gone. After a reconnect (the
/// server may have restarted and forgotten the consumer) or the end of the consumer, a new
/// one goes on after the last message delivered; after the stream was created again (the
/// watcher says so, or a message's stream sequence goes back, whichever comes first), a
/// new one reads the new stream from its start.
async fn forward(
    client: async_nats::Client,
    stream: jetstream::stream::Stream,
    subject: String,
    mut messages: Option<push::Ordered>,
    mut reconnected: watch::Receiver<u64>,
    mut recreated: watch::Receiver<u64>,
    tx: mpsc::Sender<BusItem>,
) {
    let mut start = Start::New;
    // This consumer already moved to a new stream the watcher has not reported yet.
    let mut moved_early = false;
    loop {
        while let Some(consumer) = messages.as_mut() {
            let message = tokio::select! {
                m = consumer.next() => m,
                changed = reconnected.changed() => match changed {
                    Ok(()) => None,
                    Err(_) => return, // the client is gone
                },
                changed = recreated.changed() => match changed {
                    Ok(()) if std::mem::take(&mut moved_early) => continue,
                    Ok(()) => {
                        start = Start::All;
                        None
                    }
                    Err(_) => return, // the watcher is gone: so is the receiver
                },
            };
            let Some(message) = message else { break };
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    log::debug!("{subject}: {}", redacted(&e));
                    continue;
                }
            };
            if let Ok(info) = message.info() {
                if matches!(start, Start::After(last) if info.stream_sequence <= last) {
                    // Sequences only go back in a new stream: the client library's own
                    // consumer resumed it after the old stream's last sequence, skipping
                    // what the new one already holds. Read the new one from its start
                    // (this message included) without waiting for the watcher.
                    log::debug!("{subject}: stream {STREAM_NAME} is a new one");
                    start = Start::All;
                    moved_early = true;
                    break;
                }
                start = Start::After(info.stream_sequence);
            }
            let Some(item) = to_item(&subject, &message.payload) else {
                continue;
            };
            if tx.send(item).await.is_err() {
                return;
            }
        }
        log::debug!("{STREAM_NAME}: a new consumer of {subject} from {start:?}");
        messages = None;
        while messages.is_none() {
            if tx.is_closed() {
                return;
            }
            match consume(&client, &stream, &subject, start).await {
                Ok(m) => messages = Some(m),
                Err(e) => {
                    log::debug!("{e}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}

/// The item a payload of `subject` stands for; `None` (logged) for an unreadable one.
fn to_item(subject: &str, payload: &[u8]) -> Option<BusItem> {
    if subject == GAPS_SUBJECT {
        return match GapMessage::decode(payload) {
            Ok(gap) => Some(BusItem::Gap(gap)),
            Err(e) => {
                log::warn!("unreadable gap message skipped: {e}");
                None
            }
        };
    }
    // Not decoded here: the consumer does it once (a second parse per event cost a bus
    // alerter about half its CPU).
    match std::str::from_utf8(payload) {
        Ok(raw) => Some(BusItem::Tickers {
            raw: raw.to_owned(),
            received_at: SystemTime::now(),
        }),
        Err(_) => {
            log::warn!("unreadable message on {subject} skipped: not UTF-8");
            None
        }
    }
}
