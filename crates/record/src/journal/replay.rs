//! Replaying left-over journal segments into the dataset, exactly once (see the
//! [protocol](super#exactly-once-protocol-journal--parquet-checkpoints)).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use binance::{DecodeError, ElementError, MiniTicker};
use chrono::{DateTime, NaiveDate, Utc};
use dataset::gaps::GapWriter;
use dataset::{layout, Dataset, DatasetWriter, TickBuffer};
use events::Dedup;

use super::reader::read_bytes;
use super::writer::remove_segment;
use super::{Damage, JournalError, SegmentId, SegmentReport, GAP_CONN_ID};
use crate::as_tick;
use crate::gaps::{self, Gap};
use crate::quarantine;

/// Directory inside the journal directory where the bytes of damaged records are kept.
pub const QUARANTINE_DIR: &str = "quarantine";

pub use dataset::SEGMENTS_KEY;

/// The metadata entry tagging a checkpoint file with the journal segments its rows came
/// from (pass it to `DatasetWriter::write_checkpoint_with`; the tag is the dataset's, see
/// [`dataset::segments_tag`]).
///
/// ```
/// use record::journal::{segments_metadata, RunId, SegmentId};
/// let run = RunId(0x0196a4c2e1f3a7b9);
/// let tag = segments_metadata(&[SegmentId::new(run, 3), SegmentId::new(run, 4)]);
/// let tags = "0196a4c2e1f3a7b9-3,0196a4c2e1f3a7b9-4";
/// assert_eq!((tag.key(), tag.value()), ("journal_segments", Some(tags)));
/// ```
pub fn segments_metadata(segments: &[SegmentId]) -> dataset::FooterTag {
    dataset::segments_tag(segments)
}

/// The journal segments (their [tags](SegmentId::tag)) covered by the published files of
/// one local date partition directory (none if it does not exist). Unreadable files are logged and skipped.
///
/// # Errors
///
/// [`JournalError::Io`] when the partition exists but cannot be listed (unreadable files
/// are logged and skipped, not errors).
pub fn published_segments(partition: &Path) -> Result<HashSet<String>, JournalError> {
    let (Some(root), Some(name)) = (partition.parent(), partition.file_name()) else {
        return Ok(HashSet::new());
    };
    let dataset = Dataset::local(root);
    Ok(dataset.published_segments(&name.to_string_lossy())?)
}

/// Decodes one text frame into `out` (cleared first) with the recorder's rule, the one the
/// live path follows ([`binance::decode_elements`]): a bad element of an array is left out
/// and returned, the others are kept; a frame that is not valid JSON at all gives no event.
/// Control replies decode to no event.
///
/// # Errors
///
/// The frame's [`DecodeError`](binance::DecodeError) when it is not valid JSON; nothing is
/// added to the output then.
///
/// ```
/// let mut out = Vec::new();
/// let good = r#"{"e":"24hrMiniTicker","E":1,"s":"ETHBTC","c":"0.02456700","o":"0.02459800","h":"0.02470900","l":"0.02438100","v":"163116.186","q":"4006.04936991"}"#;
/// let bad = r#"{"e":"24hrMiniTicker","E":2,"s":"ETHBTC","c":"n/a","o":"1","h":"1","l":"1","v":"1","q":"1"}"#;
/// let frame = format!("[{good},{bad}]");
/// let rejected = record::journal::decode_frame(&frame, &mut out).unwrap();
/// assert_eq!((out.len(), rejected.len(), rejected[0].index), (1, 1, 1));
/// assert!(record::journal::decode_frame(&frame[..50], &mut out).is_err());
/// assert!(out.is_empty());
/// ```
pub fn decode_frame(
    text: &str,
    out: &mut Vec<MiniTicker>,
) -> Result<Vec<ElementError>, DecodeError> {
    out.clear();
    let mut rejected = Vec::new();
    let mut index = 0;
    let decoded = binance::for_each_mini_ticker_element(text, |element| {
        match element.and_then(|raw| raw.parse().map_err(|error| ElementError { index, error })) {
            Ok(t) => out.push(t),
            Err(e) => rejected.push(e),
        }
        index += 1;
    });
    match decoded {
        Err(e) => {
            out.clear();
            Err(e)
        }
        Ok(_) => Ok(rejected),
    }
}

/// What [`replay()`] did.
#[derive(Debug, Default)]
pub struct ReplayReport {
    /// One report per segment read (with any torn tail or corruption found).
    pub segments: Vec<SegmentReport>,
    /// Frames read from the journal.
    pub frames: u64,
    /// Frames that did not decode (skipped, as the live recorder does).
    pub malformed_frames: u64,
    /// Array elements that did not decode (skipped, as the live recorder does; the other
    /// elements of their frames were replayed).
    pub rejected_elements: u64,
    /// Events whose time was not believed ([`crate::quarantine`]): not written, as live.
    pub quarantined: u64,
    /// Events dropped as copies from a redundant connection.
    pub duplicates: u64,
    /// Rows skipped because a published file already covers their segment and date.
    pub rows_already_published: u64,
    /// Rows written.
    pub rows_written: usize,
    /// Files published.
    pub files: Vec<PathBuf>,
    /// Gaps the journaled run had recorded, written to the gaps dataset now.
    pub gaps: Vec<Gap>,
    /// The latest receive time journaled (frames and gaps), if any record was read.
    pub last_received_ms: Option<i64>,
    /// Files holding the bytes of damaged records, kept aside in `_journal/quarantine/`.
    pub quarantine_files: Vec<PathBuf>,
}

/// Replays the journal `segments` (as returned by
/// [`JournalWriter::open`](super::JournalWriter::open)) of the dataset in `out_dir`: decodes
/// their frames (quarantining the elements whose time is not believed, with the journaled
/// receive time, as the live recorder does; de-duplicated by (symbol, event_time) when
/// `dedup`), writes every row whose UTC date partition has no file tagged with its segment
/// as new checkpoint file(s) named after `now` and tagged with all `segments`, does the
/// same for the journaled gaps in the gaps dataset, copies the bytes of corrupt records to
/// `_journal/quarantine/`, then deletes the segments.
///
/// On error nothing is deleted: the next start replays the same segments, and the tags make
/// that idempotent.
///
/// # Errors
///
/// [`JournalError::Io`] when a segment cannot be read; [`JournalError::Store`] when the
/// replayed rows or gaps cannot be written to the dataset. Nothing is deleted then.
pub fn replay(
    out_dir: &Path,
    segments: &[SegmentId],
    now: DateTime<Utc>,
    dedup: bool,
) -> Result<ReplayReport, JournalError> {
    let dataset = Dataset::local(out_dir);
    replay_into(&dataset, &super::dir(out_dir), segments, now, dedup)
}

/// [`replay()`] of the segments in the journal directory `journal` into `dataset` (a
/// local directory or an object store).
///
/// # Errors
///
/// As [`replay()`].
pub fn replay_into(
    dataset: &Dataset,
    journal: &Path,
    segments: &[SegmentId],
    now: DateTime<Utc>,
    dedup: bool,
) -> Result<ReplayReport, JournalError> {
    let mut report = ReplayReport::default();
    let mut buf = TickBuffer::new();
    let mut covered = Covered::default();
    let mut gap_covered = Covered::default();
    let gaps_root = dataset.child(dataset::gaps::DIR_NAME);
    let mut dedup = dedup.then(|| Dedup::with_horizon(quarantine::MAX_SKEW_MS));
    let mut quarantine = quarantine::Counter::default();
    let mut scratch = Vec::new();
    let mut failure = None;
    for &segment in segments {
        let path = journal.join(segment.file_name());
        let data = fs::read(&path).map_err(JournalError::io(&path))?;
        let seg_report = read_bytes(&data, segment, |record| {
            report.last_received_ms = report.last_received_ms.max(Some(record.received_at_ms));
            if record.conn_id == GAP_CONN_ID {
                let Some(gap) = gaps::from_journal(record.frame) else {
                    report.malformed_frames += 1;
                    return;
                };
                match gap_covered.contains(&gaps_root, gap.start_ms, segment) {
                    Ok(true) => {}
                    Ok(false) => report.gaps.push(gap),
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                }
                return;
            }
            report.frames += 1;
            match decode_frame(record.frame, &mut scratch) {
                Ok(rejected) => report.rejected_elements += rejected.len() as u64,
                Err(_) => {
                    report.malformed_frames += 1;
                    return;
                }
            }
            let bad = quarantine::split(&mut scratch, Some(record.received_at_ms));
            quarantine.note(&bad, &format!("journal segment {segment}"));
            if let Some(d) = dedup.as_mut() {
                d.retain_at(&mut scratch, record.received_at_ms);
            }
            for t in &scratch {
                match covered.contains(dataset, t.event_time, segment) {
                    Ok(true) => report.rows_already_published += 1,
                    Ok(false) => buf.push(&as_tick(t)),
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                }
            }
        });
        if let Some(e) = failure.take() {
            return Err(e);
        }
        report
            .quarantine_files
            .extend(keep_corrupt_bytes(journal, &data, &seg_report)?);
        report.segments.push(seg_report);
    }
    report.duplicates = dedup.map_or(0, |d| d.duplicates());
    report.quarantined = quarantine.count();
    let tag = segments_metadata(segments);
    if !buf.is_empty() {
        report.files = DatasetWriter::for_dataset(dataset.clone()).write_checkpoint_with(
            &buf,
            now,
            std::slice::from_ref(&tag),
        )?;
        report.rows_written = buf.len();
    }
    if !report.gaps.is_empty() {
        GapWriter::for_dataset(dataset).write_with(&report.gaps, now, &[tag])?;
    }
    for &segment in segments {
        remove_segment(journal, segment)?;
    }
    Ok(report)
}

/// The journal segments already published per date partition of one dataset root, read
/// once per partition.
#[derive(Default)]
struct Covered(HashMap<NaiveDate, HashSet<String>>);

impl Covered {
    /// Whether the partition of `time_ms` in `dataset` holds a file tagged with `segment`.
    /// (Times are in range: the caller quarantined the others.)
    fn contains(
        &mut self,
        dataset: &Dataset,
        time_ms: i64,
        segment: SegmentId,
    ) -> Result<bool, JournalError> {
        let Some(date) = layout::date_of_ms(time_ms) else {
            return Ok(true); // no partition can hold it: never written
        };
        let published = match self.0.entry(date) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(dataset.published_segments(&layout::partition(date))?),
        };
        Ok(published.contains(&segment.tag()))
    }
}

/// Copies the corrupt stretches of one segment's bytes to
/// `<journal>/quarantine/<segment file stem>_at_<offset>.bad` (torn tails are what a crash leaves,
/// not kept). Returns the files written.
fn keep_corrupt_bytes(
    journal: &Path,
    data: &[u8],
    report: &SegmentReport,
) -> Result<Vec<PathBuf>, JournalError> {
    let mut files = Vec::new();
    for damage in &report.damage {
        let Damage::Corrupt {
            segment,
            offset,
            bytes_dropped,
            reason,
        } = damage
        else {
            continue;
        };
        let dir = journal.join(QUARANTINE_DIR);
        fs::create_dir_all(&dir).map_err(JournalError::io(&dir))?;
        let stem = segment.file_name();
        let stem = stem.strip_suffix(".wal").unwrap_or(&stem);
        let path = dir.join(format!("{stem}_at_{offset}.bad"));
        let start = usize::try_from(*offset)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let end = start.saturating_add(usize::try_from(*bytes_dropped).unwrap_or(0));
        fs::write(&path, &data[start..end.min(data.len())]).map_err(JournalError::io(&path))?;
        log::warn!(
            "journal segment {segment}: {reason}: {bytes_dropped} bytes at {offset} kept in {}",
            path.display()
        );
        files.push(path);
    }
    Ok(files)
}
