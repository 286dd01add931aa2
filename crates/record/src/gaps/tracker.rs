//! [`LiveTracker`]: the recorder's gaps from the up/down events of its connections.

use super::{Gap, GapReason};

/// Turns per-connection up/down events into gaps of the recorder: a gap opens when the last
/// live connection is lost (or at start-up) and closes when any connection is live again.
///
/// ```
/// use events::{DisconnectReason, GapReason};
/// use record::gaps::LiveTracker;
/// let mut t = LiveTracker::new(0);
/// assert_eq!(t.connected(1, 300).unwrap().reason, GapReason::Startup);
/// assert!(t.connected(2, 400).is_none());
/// let reset = DisconnectReason::Error("reset".into());
/// t.disconnected(1, 1_000, reset.clone().into()); // connection 2 is still live: no gap
/// assert!(t.is_live());
/// t.disconnected(2, 2_000, reset.clone().into());
/// let gap = t.connected(3, 2_500).unwrap();
/// assert_eq!((gap.start_ms, gap.end_ms, gap.reason, gap.connection_id),
///            (2_000, 2_500, GapReason::Lost(reset), 2));
/// ```
#[derive(Debug)]
pub struct LiveTracker {
    live: Vec<u64>,
    open: Option<Gap>,
}

impl LiveTracker {
    /// A tracker for a recorder started at `start_ms`: a `startup` gap is open.
    pub fn new(start_ms: i64) -> Self {
        let startup = Gap {
            start_ms,
            end_ms: start_ms,
            reason: GapReason::Startup,
            connection_id: 0,
        };
        LiveTracker {
            live: Vec::new(),
            open: Some(startup),
        }
    }

    /// Connection `conn_id` is live at `at_ms`; returns the gap this closes, if one was open.
    pub fn connected(&mut self, conn_id: u64, at_ms: i64) -> Option<Gap> {
        if !self.live.contains(&conn_id) {
            self.live.push(conn_id);
        }
        let mut gap = self.open.take()?;
        gap.end_ms = at_ms.max(gap.start_ms);
        if gap.reason == GapReason::Startup {
            gap.connection_id = conn_id;
        }
        Some(gap)
    }

    /// Connection `conn_id` stopped delivering at `at_ms` (for a stall: the time of its last
    /// message, not of the detection) for `reason`. Opens a gap if no connection is left.
    pub fn disconnected(&mut self, conn_id: u64, at_ms: i64, reason: GapReason) {
        let was_live = self.live.contains(&conn_id);
        self.live.retain(|&c| c != conn_id);
        if was_live && self.live.is_empty() && self.open.is_none() {
            self.open = Some(Gap {
                start_ms: at_ms,
                end_ms: at_ms,
                reason,
                connection_id: conn_id,
            });
        }
    }

    /// True while at least one connection is live.
    pub fn is_live(&self) -> bool {
        !self.live.is_empty()
    }

    /// The open gap, if any, as if it ended at `at_ms` (for a status line or the shutdown
    /// summary; the tracker is unchanged).
    pub fn open_gap(&self, at_ms: i64) -> Option<Gap> {
        self.open.as_ref().map(|g| Gap {
            end_ms: at_ms.max(g.start_ms),
            ..g.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(start_ms: i64, end_ms: i64, reason: &str, connection_id: u64) -> Gap {
        Gap {
            start_ms,
            end_ms,
            reason: reason.into(),
            connection_id,
        }
    }

    #[test]
    fn tracker_reports_only_intervals_with_no_live_connection() {
        let mut t = LiveTracker::new(1_000);
        assert!(!t.is_live());
        assert_eq!(t.open_gap(1_500), Some(gap(1_000, 1_500, "startup", 0)));
        assert_eq!(t.connected(1, 2_000), Some(gap(1_000, 2_000, "startup", 1)));
        assert_eq!(t.connected(1, 2_100), None, "already live");
        assert_eq!(t.connected(2, 2_200), None);
        t.disconnected(1, 3_000, "reconnect: closed".into());
        assert_eq!(t.open_gap(3_500), None, "connection 2 is still live");
        assert_eq!(t.connected(1, 3_400), None);
        t.disconnected(9, 3_500, "never connected".into());
        assert!(t.is_live());
        t.disconnected(1, 4_000, "renewal".into());
        t.disconnected(2, 4_100, "stall".into());
        t.disconnected(1, 4_200, "again".into());
        assert_eq!(t.connected(2, 5_000), Some(gap(4_100, 5_000, "stall", 2)));
    }
}
