//! Gaps: every interval in which the recorder was not receiving, as data.
//!
//! A gap and its typed reason are the event core's ([`Gap`], [`GapReason`]); the gaps
//! dataset (schema, files `DIR/_gaps/date=YYYY-MM-DD/*.parquet`, reading, compaction of
//! closed days) is [`dataset::gaps`]; this module decides when a gap opens and
//! closes: [`LiveTracker`] turns per-connection up/down events into gaps of the
//! *recorder* (with redundant connections there is a gap only while none is live),
//! [`to_journal`] and [`from_journal`] carry a gap through the write-ahead journal, and
//! [`coverage`] is the share of wall time with a live feed.

mod tracker;

pub use events::{Gap, GapReason};
pub use tracker::LiveTracker;

/// The text of a gap's journal record (conn_id [`GAP_CONN_ID`](crate::journal::GAP_CONN_ID)):
/// `gap <start_ms> <end_ms> <connection_id> <reason>`, tab-separated.
///
/// ```
/// use record::gaps::{from_journal, to_journal, Gap};
/// let gap = Gap { start_ms: 1, end_ms: 2, reason: "stall\tand more".into(), connection_id: 3 };
/// assert_eq!(from_journal(&to_journal(&gap)), Some(gap));
/// assert_eq!(from_journal("[{}]"), None);
/// ```
pub fn to_journal(gap: &Gap) -> String {
    format!(
        "gap\t{}\t{}\t{}\t{}",
        gap.start_ms, gap.end_ms, gap.connection_id, gap.reason
    )
}

/// The gap of a journal record's text; `None` if it is not one.
pub fn from_journal(text: &str) -> Option<Gap> {
    let mut fields = text.strip_prefix("gap\t")?.splitn(4, '\t');
    let mut number = || fields.next()?.parse::<i64>().ok();
    let (start_ms, end_ms, connection_id) = (number()?, number()?, number()?);
    Some(Gap {
        start_ms,
        end_ms,
        connection_id: u64::try_from(connection_id).ok()?,
        reason: GapReason::parse(fields.next()?),
    })
}

/// Percentage (0–100) of the wall-clock window `[wall_start_ms, wall_end_ms)` covered by a
/// live feed, i.e. not inside any of the gap `intervals` (`(start_ms, end_ms)`; overlaps
/// count once, parts outside the window are ignored). An empty window is 100% covered.
///
/// ```
/// use record::gaps::coverage;
/// assert_eq!(coverage([(0, 10), (5, 20)], 0, 100), 80.0);
/// assert_eq!(coverage([], 0, 100), 100.0);
/// ```
pub fn coverage(
    intervals: impl IntoIterator<Item = (i64, i64)>,
    wall_start_ms: i64,
    wall_end_ms: i64,
) -> f64 {
    if wall_end_ms <= wall_start_ms {
        return 100.0;
    }
    let mut spans: Vec<(i64, i64)> = intervals
        .into_iter()
        .map(|(s, e)| (s.max(wall_start_ms), e.min(wall_end_ms)))
        .filter(|(s, e)| s < e)
        .collect();
    spans.sort_unstable();
    let mut missed = 0i64;
    let mut reach = wall_start_ms;
    for (s, e) in spans {
        let s = s.max(reach);
        if e > s {
            missed += e - s;
            reach = e;
        }
    }
    let wall = (wall_end_ms - wall_start_ms) as f64;
    100.0 * (wall - missed as f64) / wall
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_table() {
        type Case = (&'static [(i64, i64)], i64, i64, f64);
        let cases: &[Case] = &[
            (&[], 0, 1000, 100.0),
            (&[(0, 1000)], 0, 1000, 0.0),
            (&[(100, 200)], 0, 1000, 90.0),
            (&[(100, 200), (150, 300)], 0, 1000, 80.0),
            (&[(100, 200), (200, 300)], 0, 1000, 80.0),
            (&[(150, 300), (100, 200), (900, 1200)], 0, 1000, 70.0),
            (&[(-500, 100)], 0, 1000, 90.0),
            (&[(2000, 3000)], 0, 1000, 100.0),
            (&[(300, 200)], 0, 1000, 100.0),
            (&[(0, 10)], 500, 500, 100.0),
            (&[(0, 50), (10, 20), (40, 60)], 0, 100, 40.0),
        ];
        for &(intervals, start, end, expected) in cases {
            let got = coverage(intervals.iter().copied(), start, end);
            assert!(
                (got - expected).abs() < 1e-9,
                "{intervals:?} in [{start}, {end}): {got} != {expected}"
            );
        }
    }
}
