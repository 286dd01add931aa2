//! The ingest path: what happens to a received message between the socket and the column
//! buffer, on the recording loop, for every frame.
//!
//! The order is what makes a crash lose nothing and record nothing twice:
//!
//! 1. quarantine the elements whose event time is not believed ([`crate::quarantine`]);
//! 2. drop the events already seen ([`events::Dedup`]: a redundant connection's copy, the
//!    overlap of a renewal);
//! 3. journal what is left, quarantined elements included (the journal keeps what was
//!    received; a replay quarantines them again): the frame itself when nothing was
//!    dropped, else a re-encoded frame of the kept elements ([`encode_frame`]), so that a
//!    replay sees exactly what was buffered and needs no de-duplication;
//! 4. buffer the new events and hand them to the sink.
//!
//! A journal write that fails does not drop the events: they are buffered all the same and
//! the writer keeps the record until the disk takes it; the error is returned so the caller
//! can report it. Gaps in the feed take the same road ([`Recorder::record_gap`]): journaled,
//! then kept for the next checkpoint.
//!
//! [`Recorder::ingest`] and [`Recorder::ingest_frame`] are the plain entries (no journal, no
//! de-duplication) for tools and benchmarks that bring decoded events or raw frames.

use std::fmt::Write as _;

use binance::{DecodeError, MiniTicker};
use events::{Batch, EventSink, Span};

use super::Recorder;
use crate::gaps::{self, Gap};
use crate::journal::{self, GAP_CONN_ID};
use crate::{quarantine, RecordError};

impl Recorder {
    /// Buffers decoded events (no journal, no de-duplication). An event time outside the
    /// representable range is quarantined ([`crate::quarantine`]), not buffered.
    pub fn ingest(&mut self, tickers: &[MiniTicker]) {
        let mut new = 0;
        for t in tickers {
            match quarantine::check(t.event_time, None) {
                Ok(()) => {
                    self.buffer.push(&crate::as_tick(t));
                    new += 1;
                }
                Err(why) => self.quarantine.note(&[(t.clone(), why)], "ingest"),
            }
        }
        self.events += new;
        if new > 0 && self.buffer_since.is_none() {
            self.buffer_since = Some(std::time::Instant::now());
        }
        crate::metrics::recorded(new as usize);
    }

    /// Takes in one received message: quarantines the elements whose event time is not
    /// believed ([`crate::quarantine`], against `received_at_ms`), drops events already seen
    /// (redundant connections, the overlap of a connection renewal), journals what is left
    /// (quarantined elements included: the journal keeps what was received), then buffers
    /// the new events and hands them to the sink. Returns their number. A journal write
    /// error is returned after the events are buffered: they are not lost (the writer keeps
    /// the record until the disk takes it).
    ///
    /// `spans` are where the tickers' elements lie in `raw` (the decoder's
    /// [`binance::Decoded::spans`]): with them, a frame that lost elements to
    /// de-duplication is journaled as its remaining elements' own text, and the sink
    /// forwards elements without decoding them again. A caller without them passes none
    /// (the journal then re-encodes the kept events; a sink sees no spans).
    ///
    /// # Errors
    ///
    /// [`RecordError::JournalWrite`] when the journal write failed; the events are buffered
    /// all the same and the record is written when the disk takes it.
    pub fn ingest_message(
        &mut self,
        conn_id: u64,
        received_at_ms: i64,
        raw: &str,
        mut tickers: Vec<MiniTicker>,
        mut spans: Vec<Span>,
    ) -> Result<usize, RecordError> {
        let total = tickers.len();
        let mut quarantined = Vec::new();
        retain_spanned(&mut tickers, &mut spans, |t, span| match quarantine::check(
            t.event_time,
            Some(received_at_ms),
        ) {
            Ok(()) => true,
            Err(why) => {
                quarantined.push((t.clone(), why, span));
                false
            }
        });
        if !quarantined.is_empty() {
            let noted: Vec<_> = quarantined
                .iter()
                .map(|(t, why, _)| (t.clone(), *why))
                .collect();
            self.quarantine
                .note(&noted, &format!("connection {conn_id}"));
        }
        let dedup = &mut self.dedup;
        retain_spanned(&mut tickers, &mut spans, |t, _| {
            dedup.first_seen_at(&t.symbol, t.event_time, received_at_ms)
        });
        crate::metrics::message(received_at_ms, total, tickers.len());
        if tickers.is_empty() && quarantined.is_empty() {
            return Ok(0);
        }
        let journaled = match self.journal.as_mut() {
            // Journal exactly what replay must see: the frame itself, or only its new and
            // quarantined elements.
            Some(j) if tickers.len() + quarantined.len() == total => {
                j.append(conn_id, received_at_ms, raw)
            }
            Some(j) => {
                let kept_spans = spans.iter().copied().map(Some);
                let all_spans: Option<Vec<Span>> = kept_spans
                    .chain(quarantined.iter().map(|(_, _, s)| *s))
                    .collect();
                let frame = match all_spans {
                    Some(s) if s.len() == tickers.len() + quarantined.len() => {
                        elements_frame(raw, &s)
                    }
                    _ => {
                        let mut kept: Vec<MiniTicker> = tickers.clone();
                        kept.extend(quarantined.into_iter().map(|(t, _, _)| t));
                        encode_frame(&kept)
                    }
                };
                j.append(conn_id, received_at_ms, &frame)
            }
            None => Ok(()),
        };
        self.ingest(&tickers);
        if let Some(sink) = self.sink.as_mut() {
            sink.events(&Batch {
                frame: raw,
                rows: &tickers,
                spans: &spans,
            });
        }
        journaled.map_err(RecordError::JournalWrite)?;
        Ok(tickers.len())
    }

    /// Decodes one text frame (raw or combined endpoint, array or single event) into the
    /// columns. Returns the number of events.
    ///
    /// The recorder's rule ([`journal::decode_frame`]): a bad element of an array is left
    /// out, the others are kept; a frame that is not valid JSON is rejected whole. The frame
    /// is parsed into a scratch vector that is reused from frame to frame, so the steady
    /// state allocates nothing per event.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when the frame is not valid JSON (nothing of it is buffered); bad
    /// elements of an array are left out, not errors.
    pub fn ingest_frame(&mut self, text: &str) -> Result<usize, DecodeError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        let result = journal::decode_frame(text, &mut scratch);
        if result.is_ok() {
            self.ingest(&scratch);
        }
        let events = scratch.len();
        self.scratch = scratch;
        result.map(|_| events)
    }

    /// Makes the journal crash-safe up to now (call at least once a second).
    ///
    /// # Errors
    ///
    /// [`RecordError::JournalWrite`] when a write or the fdatasync failed (retried at the
    /// next call).
    pub fn sync_journal(&mut self) -> Result<(), RecordError> {
        match self.journal.as_mut() {
            Some(j) => {
                crate::metrics::journal_synced(|| j.sync().map_err(RecordError::JournalWrite))
            }
            None => Ok(()),
        }
    }

    /// Keeps a closed gap, journaled like the ticks (a crash loses none); it is written to
    /// the gaps dataset with the next checkpoint (and handed to the sink).
    pub fn record_gap(&mut self, gap: Gap) {
        if let Some(sink) = self.sink.as_mut() {
            sink.gap(&gap, true);
        }
        crate::metrics::gap(&gap);
        if let Some(j) = self.journal.as_mut() {
            if let Err(e) = j.append(GAP_CONN_ID, gap.end_ms, &gaps::to_journal(&gap)) {
                log::warn!("journal write of a gap failed (kept in memory): {e}");
            }
        }
        self.gaps.push(gap);
    }

    /// Tells the sink that the feed is lost since `gap.start_ms` (the gap is recorded once
    /// it closes, with [`Recorder::record_gap`]).
    pub fn feed_lost(&mut self, gap: &Gap) {
        if let Some(sink) = self.sink.as_mut() {
            sink.gap(gap, false);
        }
    }

    /// Hands every event recorded from now on (after de-duplication) and every gap to
    /// `sink` as well, starting with the gaps recorded and not yet checkpointed (such as the
    /// [`Startup::not_running`](crate::Startup::not_running) gap that [`Recorder::open`]
    /// records before a sink can be set).
    pub fn set_sink(&mut self, mut sink: Box<dyn EventSink>) {
        for gap in &self.gaps {
            sink.gap(gap, true);
        }
        self.sink = Some(sink);
    }

    /// Whether a sink is set (it wants each event's span: see [`Recorder::ingest_message`]).
    pub(crate) fn has_sink(&self) -> bool {
        self.sink.is_some()
    }
}

/// Keeps the rows that `keep` accepts (it sees each row with its span, if every row has
/// one), in order, and their spans beside them; spans that do not match the rows one for
/// one are dropped.
fn retain_spanned(
    rows: &mut Vec<MiniTicker>,
    spans: &mut Vec<Span>,
    mut keep: impl FnMut(&MiniTicker, Option<Span>) -> bool,
) {
    if spans.len() != rows.len() {
        spans.clear();
    }
    let spanned = !spans.is_empty();
    let (mut read, mut kept) = (0, 0);
    rows.retain(|row| {
        let span = spanned.then(|| spans[read]);
        read += 1;
        let keeps = keep(row, span);
        if let (true, Some(span)) = (keeps, span) {
            spans[kept] = span;
            kept += 1;
        }
        keeps
    });
    spans.truncate(kept);
}

/// An array frame of the elements of `raw` at `spans`, each as it was received, for
/// journaling the new events of a frame that also carried copies.
fn elements_frame(raw: &str, spans: &[Span]) -> String {
    let mut out =
        String::with_capacity(spans.iter().map(|s| s.end - s.start + 1).sum::<usize>() + 2);
    out.push('[');
    for (i, text) in spans.iter().filter_map(|s| s.of(raw)).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(text);
    }
    out.push(']');
    out
}

/// A `!miniTicker@arr`-shaped frame holding `tickers`, for journaling the new events of a
/// frame that also carried copies, when their elements' spans are not known. Rust prints each f64 in the shortest form that parses
/// back to the same value, so the replayed rows are identical.
fn encode_frame(tickers: &[MiniTicker]) -> String {
    let mut out = String::with_capacity(tickers.len() * 160);
    out.push('[');
    for (i, t) in tickers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            r#"{{"e":"24hrMiniTicker","E":{},"s":"{}","c":"{}","o":"{}","h":"{}","l":"{}","v":"{}","q":"{}"}}"#,
            t.event_time, t.symbol, t.close, t.open, t.high, t.low, t.base_volume, t.quote_volume
        );
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_frames_decode_to_the_same_events() {
        let frame =
            include_str!("../../../../fixtures/binance_spot_miniTicker_arr_raw_2020-06-19.json");
        let Ok(binance::Message::MiniTickers(tickers)) = binance::decode(frame) else {
            panic!("fixture decodes");
        };
        let Ok(binance::Message::MiniTickers(again)) = binance::decode(&encode_frame(&tickers))
        else {
            panic!("encoded frame decodes");
        };
        assert_eq!(again, tickers);
    }
}
