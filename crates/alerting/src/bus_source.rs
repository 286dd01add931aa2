//! `--source nats://…`: the watched symbols' updates from the recorder's JetStream subjects
//! instead of a Binance connection.
//!
//! [`BusSource`] turns [`bus::BusItem`]s into the [`StreamItem`]s a direct connection
//! yields, so the same [`Feed`] and [`alert::Watcher`] make the same
//! decisions and print the same lines. "Feed lost / regained" come from two places:
//!
//! * the NATS connection itself (lost → `Disconnected`, back → `Connected`), and the
//!   stream (deleted → `Disconnected`, created again and followed → `Connected`);
//! * the recorder's gap messages: an open gap (the recorder lost Binance, or stopped) →
//!   `Disconnected`; the gap closed → `Connected` and a `Gap`. A closed gap that came
//!   without an open one (a killed recorder cannot say it stops; when it starts again it
//!   publishes the time it was down) is all three at once; the recorder's own start-up gap
//!   is not a loss of this alerter's feed and is passed over.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use binance::{DisconnectReason, StreamItem};
use bus::{BusItem, GapMessage};
use events::GapReason;

use crate::feed::Feed;

/// Connection number the bus items carry (there is no Binance connection).
const CONN_ID: u64 = 0;

/// Maps bus items to stream items (see the module docs).
#[derive(Debug)]
pub struct BusSource {
    server: String,
    /// The recorder reported its feed lost and not yet back.
    recorder_lost: bool,
}

impl BusSource {
    /// A source on `server` (`nats://host:port`, as shown in the log lines).
    pub fn new(server: String) -> Self {
        BusSource {
            server,
            recorder_lost: false,
        }
    }

    /// Hands `item` to `feed`: an event as text, which the feed decodes once
    /// ([`Feed::prices`]); anything else as the stream items of a direct connection
    /// ([`Feed::handle`]). Returns how many lines were written to `out`.
    ///
    /// # Errors
    ///
    /// Only an I/O error writing or flushing `out`.
    pub fn apply(
        &mut self,
        item: BusItem,
        feed: &mut Feed,
        out: &mut impl Write,
    ) -> std::io::Result<usize> {
        if let BusItem::Tickers { raw, received_at } = item {
            return feed.prices(&raw, received_at, out);
        }
        let mut lines = 0;
        for item in self.state_items(item) {
            lines += feed.handle(&item, out)?;
        }
        Ok(lines)
    }

    /// The stream items a state item of the bus stands for (none, one or two); an event
    /// stands for none here (see [`BusSource::apply`]).
    fn state_items(&mut self, item: BusItem) -> Vec<StreamItem> {
        match item {
            BusItem::Tickers { .. } => Vec::new(),
            BusItem::Connected { at } => vec![StreamItem::Connected {
                conn_id: CONN_ID,
                at,
            }],
            BusItem::Disconnected { at } => vec![StreamItem::Disconnected {
                conn_id: CONN_ID,
                at,
                reason: DisconnectReason::Error(format!("NATS connection to {} lost", self.server)),
            }],
            BusItem::StreamGone { at } => vec![StreamItem::Disconnected {
                conn_id: CONN_ID,
                at,
                reason: DisconnectReason::Error(format!(
                    "NATS stream {} on {} is gone",
                    bus::STREAM_NAME,
                    self.server
                )),
            }],
            BusItem::Gap(gap) => self.on_gap(gap),
        }
    }

    fn on_gap(&mut self, gap: GapMessage) -> Vec<StreamItem> {
        let from = at_ms(gap.start);
        match gap.end {
            None if self.recorder_lost => Vec::new(),
            None => {
                self.recorder_lost = true;
                vec![StreamItem::Disconnected {
                    conn_id: CONN_ID,
                    at: from,
                    reason: DisconnectReason::Error(format!(
                        "the recorder has no live feed: {}",
                        gap.reason
                    )),
                }]
            }
            // The recorder's start-up (from its start to its first connection) is no loss
            // of a feed this alerter had: nothing to report unless it was reported lost.
            Some(_) if !self.recorder_lost && gap.reason == GapReason::Startup => Vec::new(),
            // Any other closed gap of which no open one came is a loss nobody could announce
            // (the time a killed recorder was down, published when it starts again): lost
            // and regained, after the fact.
            Some(end) if !self.recorder_lost => vec![
                StreamItem::Disconnected {
                    conn_id: CONN_ID,
                    at: from,
                    reason: DisconnectReason::Error(format!(
                        "the recorder had no live feed: {}",
                        gap.reason
                    )),
                },
                StreamItem::Connected {
                    conn_id: CONN_ID,
                    at: at_ms(end),
                },
                StreamItem::Gap {
                    from,
                    to: at_ms(end),
                    reason: DisconnectReason::Error(gap.reason.to_string()),
                },
            ],
            Some(end) => {
                self.recorder_lost = false;
                let to = at_ms(end);
                vec![
                    StreamItem::Connected {
                        conn_id: CONN_ID,
                        at: to,
                    },
                    StreamItem::Gap {
                        from,
                        to,
                        reason: DisconnectReason::Error(gap.reason.to_string()),
                    },
                ]
            }
        }
    }
}

fn at_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(end: Option<i64>, reason: &str) -> BusItem {
        BusItem::Gap(GapMessage {
            start: 1_000,
            end,
            reason: reason.into(),
            connection_id: 1,
        })
    }

    /// The kinds of stream items, in order.
    fn kinds(items: &[StreamItem]) -> Vec<&'static str> {
        items
            .iter()
            .map(|i| match i {
                StreamItem::Connected { .. } => "connected",
                StreamItem::Disconnected { .. } => "disconnected",
                StreamItem::Gap { .. } => "gap",
                StreamItem::Message { .. } => "message",
                StreamItem::Malformed { .. } => "malformed",
            })
            .collect()
    }

    #[test]
    fn bus_items_become_the_stream_items_of_a_direct_connection() {
        let now = SystemTime::now();
        let cases: Vec<(BusItem, Vec<&str>)> = vec![
            (BusItem::Connected { at: now }, vec!["connected"]),
            (gap(Some(2_000), "startup"), vec![]), // never reported lost: nothing
            // A killed recorder's down time, published at its restart: lost and regained.
            (
                gap(
                    Some(2_000),
                    "not running (previous run ended without a clean shutdown)",
                ),
                vec!["disconnected", "connected", "gap"],
            ),
            (gap(None, "reconnect: reset"), vec!["disconnected"]),
            (gap(None, "reconnect: reset"), vec![]), // still lost: said once
            (
                gap(Some(2_000), "reconnect: reset"),
                vec!["connected", "gap"],
            ),
            (BusItem::Disconnected { at: now }, vec!["disconnected"]),
            (BusItem::Connected { at: now }, vec!["connected"]),
            (BusItem::StreamGone { at: now }, vec!["disconnected"]),
            (BusItem::Connected { at: now }, vec!["connected"]),
        ];
        let mut source = BusSource::new("nats://127.0.0.1:4222".into());
        for (item, want) in cases {
            let shown = format!("{item:?}");
            let got = source.state_items(item);
            assert_eq!(kinds(&got), want, "{shown}");
        }
    }

    #[test]
    fn an_event_goes_to_the_feed_as_text_and_alerts_like_a_direct_frame() {
        let level =
            alert::Level::parse("BTCUSDT".parse().unwrap(), alert::Direction::Above, "1.25")
                .unwrap();
        let watcher = alert::Watcher::new([level], alert::Mode::EveryUpdate);
        let sinks = crate::sinks::Sinks::start(None, None).unwrap();
        let mut feed = Feed::new(watcher, false, sinks);
        let mut source = BusSource::new("nats://127.0.0.1:4222".into());
        let event = |e: i64, c: &str| BusItem::Tickers {
            raw: format!(
                r#"{{"e":"24hrMiniTicker","E":{e},"s":"BTCUSDT","c":"{c}","o":"1","h":"2","l":"1","v":"3","q":"4"}}"#
            ),
            received_at: SystemTime::now(),
        };
        let mut out = Vec::new();
        let lines = source.apply(event(1, "1.50"), &mut feed, &mut out).unwrap();
        assert_eq!(lines, 1);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with("BTCUSDT price has gone above 1.25 Last price: 1.50\n"),
            "{text:?}"
        );
        // The same event again (a copy) and a text that is no event: nothing printed.
        let mut out = Vec::new();
        assert_eq!(
            source.apply(event(1, "1.50"), &mut feed, &mut out).unwrap(),
            0
        );
        let junk = BusItem::Tickers {
            raw: "not json".into(),
            received_at: SystemTime::now(),
        };
        assert_eq!(source.apply(junk, &mut feed, &mut out).unwrap(), 0);
        assert!(out.is_empty());
    }
}
