//! The bus's metrics: every name is declared here once, with its `# HELP` text in
//! [`describe`]; the publisher and the subscriber record them through the small functions
//! below. They go to whatever [`metrics`] recorder the process installed (`recorder
//! --metrics-addr` / `alerter --metrics-addr` install the Prometheus one, see the `ops`
//! crate); without one they cost a relaxed load and a branch.
//!
//! | name | type | what |
//! |---|---|---|
//! | `bus_messages_dropped_total{reason}` | counter | messages the publisher gave up (see [`Dropped`]) |
//! | `bus_stream_recreated_total` | counter | times the publisher found the stream gone and created it again |
//! | `bus_consumers_reattached_total` | counter | times a subscriber found the stream re-created and followed the new one |

use metrics::{counter, describe_counter, Unit};

/// Counter: messages the publisher gave up, by `reason` ([`Dropped::label`]).
pub const MESSAGES_DROPPED: &str = "bus_messages_dropped_total";
/// Counter: times the publisher found the stream gone (deleted) and created it again.
pub const STREAM_RECREATED: &str = "bus_stream_recreated_total";
/// Counter: times a subscriber found the stream re-created and moved its consumers to it.
pub const CONSUMERS_REATTACHED: &str = "bus_consumers_reattached_total";

/// Why the publisher gave a message up; every drop is counted once, under one reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// The queue was full (NATS down or slower than the feed for longer than it holds).
    QueueFull,
    /// An event handed over without the span of its element in the frame (never expected
    /// from the recorder, whose decoder gives every kept event its span).
    Unreadable,
    /// The message is larger than the server's `max_payload`: no attempt can succeed.
    TooLarge,
    /// Still queued or unacknowledged when the publisher had to stop.
    Unsent,
}

impl Dropped {
    /// The `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            Dropped::QueueFull => "queue_full",
            Dropped::Unreadable => "unreadable",
            Dropped::TooLarge => "too_large",
            Dropped::Unsent => "unsent_at_exit",
        }
    }
}

/// Declares the `# HELP` texts (call once, after installing a recorder).
pub fn describe() {
    describe_counter!(
        MESSAGES_DROPPED,
        Unit::Count,
        "Messages the NATS publisher gave up, by reason (the dataset keeps them)"
    );
    describe_counter!(
        STREAM_RECREATED,
        Unit::Count,
        "Times the NATS publisher found the stream gone and created it again"
    );
    describe_counter!(
        CONSUMERS_REATTACHED,
        Unit::Count,
        "Times a NATS subscriber found the stream re-created and followed the new one"
    );
}

pub(crate) fn dropped(reason: Dropped, n: u64) {
    if n > 0 {
        counter!(MESSAGES_DROPPED, "reason" => reason.label()).increment(n);
    }
}

pub(crate) fn stream_recreated() {
    counter!(STREAM_RECREATED).increment(1);
}

pub(crate) fn consumers_reattached() {
    counter!(CONSUMERS_REATTACHED).increment(1);
}
