//! The feed's health across all connections of a session: which are live, the gaps, bad
//! frames, journal trouble.

use binance::{DisconnectReason, Message, StreamItem};

use super::{Progress, Rejected};
use crate::gaps::{self, Gap, GapReason, LiveTracker};
use crate::{RecordError, Recorder};

/// Connection ids of stream `idx` in the journal and the gaps dataset: stream 0 keeps its
/// own (1, 2, …), stream 1 counts from 1,000,001, and so on.
pub(super) fn global_conn_id(idx: usize, conn_id: u64) -> u64 {
    idx as u64 * 1_000_000 + conn_id
}

pub(super) use events::unix_ms;

/// Routes stream items into the recorder and keeps the recorder's own gaps: with redundant
/// connections there is a gap only while none of them is live.
pub(super) struct FeedState {
    tracker: LiveTracker,
    closed: Vec<(i64, i64)>,
    start_ms: i64,
    pub(super) malformed: u64,
    pub(super) rejected: u64,
    journal_failing: bool,
}

impl FeedState {
    /// A run started at `start_ms`: a start-up gap is open until the first connection.
    pub(super) fn new(start_ms: i64) -> Self {
        FeedState {
            tracker: LiveTracker::new(start_ms),
            closed: Vec::new(),
            start_ms,
            malformed: 0,
            rejected: 0,
            journal_failing: false,
        }
    }

    pub(super) fn handle(
        &mut self,
        rec: &mut Recorder,
        idx: usize,
        item: StreamItem,
        on_progress: &mut impl FnMut(Progress),
    ) {
        crate::metrics::stream_item(idx, &item);
        match item {
            StreamItem::Message {
                conn_id,
                received_at,
                raw,
                message: Message::MiniTickers(tickers),
                rejected,
                spans,
            } => {
                let id = global_conn_id(idx, conn_id);
                for error in rejected {
                    self.rejected += 1;
                    on_progress(Progress::Rejected {
                        conn_id: id,
                        element: Rejected::Decode(error),
                    });
                }
                match rec.ingest_message(id, unix_ms(received_at), raw.as_str(), tickers, spans) {
                    Ok(_) if self.journal_failing => {
                        self.journal_failing = false;
                        log::info!("journal writes work again");
                    }
                    Ok(_) => {}
                    Err(e) => self.journal_failed(e),
                }
            }
            StreamItem::Message {
                message: Message::ControlError { code, msg, .. },
                ..
            } => log::warn!("exchange rejected a request: code {code}: {msg}"),
            StreamItem::Message { .. } => {}
            StreamItem::Malformed { error, .. } => {
                self.malformed += 1;
                on_progress(Progress::Malformed(error.to_string()));
            }
            StreamItem::Connected { conn_id, at } => {
                let id = global_conn_id(idx, conn_id);
                if let Some(gap) = self.tracker.connected(id, unix_ms(at)) {
                    self.closed.push(gap.interval());
                    rec.record_gap(gap.clone());
                    if gap.reason != GapReason::Startup {
                        on_progress(Progress::Gap(gap));
                    }
                }
                on_progress(Progress::Connected { conn_id: id });
            }
            // The run is ending: no gap, the wall clock stops too.
            StreamItem::Disconnected {
                reason: DisconnectReason::Shutdown,
                ..
            } => {}
            StreamItem::Disconnected {
                conn_id,
                at,
                reason,
            } => {
                // An idle connection stopped delivering when its last frame came, not when
                // the watchdog noticed.
                let lost_at = match &reason {
                    DisconnectReason::IdleTimeout(idle) => at.checked_sub(*idle).unwrap_or(at),
                    _ => at,
                };
                let id = global_conn_id(idx, conn_id);
                let was_live = self.tracker.is_live();
                self.tracker
                    .disconnected(id, unix_ms(lost_at), reason.clone().into());
                if let Some(open) = self.tracker.open_gap(unix_ms(at)).filter(|_| was_live) {
                    rec.feed_lost(&open);
                }
                if !matches!(reason, DisconnectReason::Renewal) {
                    on_progress(Progress::FeedLost {
                        conn_id: id,
                        reason: reason.to_string(),
                    });
                }
            }
            // Per-connection gaps; the recorder's own, across connections, come from the
            // tracker above.
            StreamItem::Gap { .. } => {}
        }
    }

    /// Counts the time the recorder was not running before this run (see
    /// [`crate::Startup::not_running`]): the wall time then starts with it.
    pub(super) fn not_running(&mut self, gap: &Gap) {
        self.closed.push(gap.interval());
        self.start_ms = self.start_ms.min(gap.start_ms);
    }

    /// Logs a journal failure once, until journal writes work again.
    pub(super) fn journal_failed(&mut self, e: RecordError) {
        if !self.journal_failing {
            log::error!("{e}");
            self.journal_failing = true;
        }
    }

    /// Coverage of the run so far, counting an open gap up to `now_ms`.
    pub(super) fn coverage(&self, now_ms: i64) -> f64 {
        let open = self.tracker.open_gap(now_ms).map(|g| g.interval());
        gaps::coverage(
            self.closed.iter().copied().chain(open),
            self.start_ms,
            now_ms,
        )
    }

    /// At least one connection is live at `now_ms`.
    pub(super) fn live(&self, now_ms: i64) -> bool {
        self.tracker.open_gap(now_ms).is_none()
    }

    /// Gaps closed so far.
    pub(super) fn gaps(&self) -> usize {
        self.closed.len()
    }

    /// Closes an open gap at shutdown (the feed was down when the run ended).
    pub(super) fn finish(&mut self, end_ms: i64) -> Option<Gap> {
        let gap = self.tracker.open_gap(end_ms)?;
        self.closed.push(gap.interval());
        Some(gap)
    }
}
