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
//! What comes out is a channel of [`BusItem`]s: the events (as frames `stream`'s decoder
//! reads), the recorder's gaps, and the client's own connection losses.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_nats::jetstream::{self, consumer::pull::OrderedConfig, consumer::DeliverPolicy};
use futures::StreamExt;
use tokio::sync::{mpsc, watch};

use crate::error::redacted;
use crate::payload::{decode_ticker, GapMessage};
use crate::subject::{subject_for, GAPS_SUBJECT, STREAM_NAME};
use crate::{BusConfig, BusError, StreamLimits};

/// One thing the bus tells a subscriber.
#[derive(Debug, Clone)]
pub enum BusItem {
    /// Subscribed (at start), or the NATS connection is back.
    Connected {
        /// When.
        at: SystemTime,
    },
    /// The NATS connection is lost; the client reconnects by itself.
    Disconnected {
        /// When.
        at: SystemTime,
    },
    /// An event of a watched symbol.
    Tickers {
        /// The payload: one event as Binance's JSON object.
        raw: String,
        /// `raw`, decoded.
        message: stream::Message,
        /// When it came off the bus.
        received_at: SystemTime,
    },
    /// The recorder lost its feed (`end: None`) or has it back (`end: Some`).
    Gap(GapMessage),
}

/// Channel depth between the consumers and the caller.
const CHANNEL: usize = 4096;

/// Subscribes to the events of `symbols` (exactly as Binance spells them) and to the
/// recorder's gaps. Fails when the server cannot be reached or JetStream refuses; once
/// subscribed, outages are items ([`BusItem::Disconnected`] / [`BusItem::Connected`]).
///
/// The stream is created with [`StreamLimits::default`] when no recorder has created it yet.
///
/// # Errors
///
/// [`BusError::Connect`] when the server cannot be reached at the first attempt;
/// [`BusError::JetStream`] when the stream or a consumer cannot be opened.
pub async fn subscribe(
    config: &BusConfig,
    symbols: &[String],
) -> Result<mpsc::Receiver<BusItem>, BusError> {
    let (tx, rx) = mpsc::channel(CHANNEL);
    let events = tx.clone();
    let server = config.server();
    // Connection events count from the first subscription on (that one says Connected).
    let subscribed = Arc::new(AtomicBool::new(false));
    let live = subscribed.clone();
    let (reconnects, reconnected) = watch::channel(0u64);
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
    let subjects = symbols
        .iter()
        .map(|s| subject_for(s))
        .chain([GAPS_SUBJECT.to_owned()]);
    for subject in subjects {
        let messages = consume(&stream, &subject, 0).await?;
        tokio::spawn(forward(
            stream.clone(),
            subject,
            messages,
            reconnected.clone(),
            tx.clone(),
        ));
    }
    // Every consumer exists: from now on no message of a watched subject is missed.
    subscribed.store(true, Ordering::Release);
    let _ = tx
        .send(BusItem::Connected {
            at: SystemTime::now(),
        })
        .await;
    Ok(rx)
}

/// An ordered consumer of `subject`: new messages only, or from `after + 1` on when this
/// replaces a consumer that had delivered up to stream sequence `after`.
async fn consume(
    stream: &jetstream::stream::Stream,
    subject: &str,
    after: u64,
) -> Result<jetstream::consumer::pull::Ordered, BusError> {
    let err = |e: &dyn std::fmt::Display| BusError::JetStream {
        what: "creating an ordered consumer",
        reason: logging::redact(&e.to_string()),
    };
    let deliver_policy = match after {
        0 => DeliverPolicy::New,
        seq => DeliverPolicy::ByStartSequence {
            start_sequence: seq + 1,
        },
    };
    let consumer = stream
        .create_consumer(OrderedConfig {
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
/// one goes on after the last message delivered.
async fn forward(
    stream: jetstream::stream::Stream,
    subject: String,
    mut messages: jetstream::consumer::pull::Ordered,
    mut reconnected: watch::Receiver<u64>,
    tx: mpsc::Sender<BusItem>,
) {
    let mut last_seq = 0;
    loop {
        loop {
            let message = tokio::select! {
                m = messages.next() => m,
                changed = reconnected.changed() => match changed {
                    Ok(()) => None,
                    Err(_) => return, // the client is gone
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
                last_seq = info.stream_sequence;
            }
            let Some(item) = to_item(&subject, &message.payload) else {
                continue;
            };
            if tx.send(item).await.is_err() {
                return;
            }
        }
        log::debug!("{STREAM_NAME}: a new consumer of {subject} after sequence {last_seq}");
        loop {
            if tx.is_closed() {
                return;
            }
            match consume(&stream, &subject, last_seq).await {
                Ok(m) => {
                    messages = m;
                    break;
                }
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
    match decode_ticker(payload) {
        Ok((raw, message)) => Some(BusItem::Tickers {
            raw: raw.to_owned(),
            message,
            received_at: SystemTime::now(),
        }),
        Err(e) => {
            log::warn!("unreadable message on {subject} skipped: {e}");
            None
        }
    }
}
