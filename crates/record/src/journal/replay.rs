//! Replaying left-over journal segments into the dataset, exactly once (see the
//! [protocol](super#exactly-once-protocol-journal--parquet-checkpoints)).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use parquet::file::metadata::KeyValue;
use parquet::file::reader::{FileReader, SerializedFileReader};
use store::ticks::{DatasetWriter, TickBuffer, TickError};
use stream::{DecodeError, Dedup, ElementError, MiniTicker};

use super::reader::read_bytes;
use super::writer::remove_segment;
use super::{Damage, JournalError, SegmentId, SegmentReport, GAP_CONN_ID};
use crate::as_tick;
use crate::gaps::{Gap, GapWriter};
use crate::quarantine;

/// Directory inside the journal directory where the bytes of damaged records are kept.
pub const QUARANTINE_DIR: &str = "quarantine";

/// Key of the Parquet key-value metadata entry naming the journal segments a file covers:
/// decimal ids separated by commas.
pub const SEGMENTS_KEY: &str = "journal_segments";

/// The metadata entry tagging a checkpoint file with the journal segments its rows came
/// from (pass it to `DatasetWriter::write_checkpoint_with`).
///
/// ```
/// use record::journal::{segments_metadata, SegmentId};
/// let kv = segments_metadata(&[SegmentId(3), SegmentId(4)]);
/// assert_eq!((kv.key.as_str(), kv.value.as_deref()), ("journal_segments", Some("3,4")));
/// ```
pub fn segments_metadata(segments: &[SegmentId]) -> KeyValue {
    let ids: Vec<String> = segments.iter().map(|s| s.0.to_string()).collect();
    KeyValue::new(SEGMENTS_KEY.to_owned(), ids.join(","))
}

/// The ids in a [`SEGMENTS_KEY`] value (garbage between commas is skipped).
pub(crate) fn parse_segments(value: &str) -> impl Iterator<Item = SegmentId> + '_ {
    value
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .map(SegmentId)
}

/// The key-value metadata of a Parquet file's footer.
///
/// # Errors
///
/// [`TickError::Io`] when the file cannot be opened, [`TickError::Parquet`] when it is not
/// a readable Parquet file (truncated, not Parquet at all); both name the file.
pub(crate) fn footer_metadata(path: &Path) -> Result<Vec<KeyValue>, TickError> {
    let file = File::open(path).map_err(|source| TickError::Io {
        path: path.into(),
        cause: source,
    })?;
    let reader = SerializedFileReader::new(file).map_err(|source| TickError::Parquet {
        path: path.into(),
        cause: source,
    })?;
    Ok(reader
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .cloned()
        .unwrap_or_default())
}

/// The journal segments covered by the published files of one date partition directory
/// (none if it does not exist). Unreadable files are logged and skipped.
pub fn published_segments(partition: &Path) -> Result<HashSet<SegmentId>, JournalError> {
    let mut covered = HashSet::new();
    let entries = match fs::read_dir(partition) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(covered),
        Err(e) => {
            return Err(JournalError::Io {
                path: partition.into(),
                cause: e,
            })
        }
    };
    for entry in entries {
        let path = entry.map_err(JournalError::io(partition))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or(".");
        if name.starts_with(['.', '_']) || !name.ends_with(".parquet") {
            continue;
        }
        match footer_metadata(&path) {
            Ok(kvs) => covered.extend(
                kvs.iter()
                    .filter(|kv| kv.key == SEGMENTS_KEY)
                    .flat_map(|kv| parse_segments(kv.value.as_deref().unwrap_or(""))),
            ),
            Err(e) => log::warn!("{}: footer unreadable, ignored: {e}", path.display()),
        }
    }
    Ok(covered)
}

/// Decodes one text frame into `out` (cleared first) with the recorder's rule, the one the
/// live path follows ([`stream::decode_elements`]): a bad element of an array is left out
/// and returned, the others are kept; a frame that is not valid JSON at all gives no event.
/// Control replies decode to no event.
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
    let decoded = stream::for_each_mini_ticker_element(text, |element| {
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
pub fn replay(
    out_dir: &Path,
    segments: &[SegmentId],
    now: DateTime<Utc>,
    dedup: bool,
) -> Result<ReplayReport, JournalError> {
    let journal = super::dir(out_dir);
    let mut report = ReplayReport::default();
    let mut buf = TickBuffer::new();
    let mut covered = Covered::default();
    let mut gap_covered = Covered::default();
    let gaps_root = out_dir.join(crate::gaps::DIR_NAME);
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
                let Some(gap) = Gap::from_journal(record.frame) else {
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
                match covered.contains(out_dir, t.event_time, segment) {
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
            .extend(keep_corrupt_bytes(&journal, &data, &seg_report)?);
        report.segments.push(seg_report);
    }
    report.duplicates = dedup.map_or(0, |d| d.duplicates());
    report.quarantined = quarantine.count();
    let tag = segments_metadata(segments);
    if !buf.is_empty() {
        report.files = DatasetWriter::new(out_dir).write_checkpoint_with(
            &buf,
            now,
            std::slice::from_ref(&tag),
        )?;
        report.rows_written = buf.len();
    }
    if !report.gaps.is_empty() {
        GapWriter::new(out_dir).write_with(&report.gaps, now, &[tag])?;
    }
    for &segment in segments {
        remove_segment(&journal, segment)?;
    }
    Ok(report)
}

/// The journal segments already published per date partition of one dataset root, read
/// once per partition.
#[derive(Default)]
struct Covered(HashMap<NaiveDate, HashSet<SegmentId>>);

impl Covered {
    /// Whether the partition of `time_ms` under `root` holds a file tagged with `segment`.
    /// (Times are in range: the caller quarantined the others.)
    fn contains(
        &mut self,
        root: &Path,
        time_ms: i64,
        segment: SegmentId,
    ) -> Result<bool, JournalError> {
        let Some(date) = DateTime::from_timestamp_millis(time_ms).map(|d| d.date_naive()) else {
            return Ok(true); // no partition can hold it: never written
        };
        let published = match self.0.entry(date) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let partition = root.join(format!("date={}", date.format("%Y-%m-%d")));
                e.insert(published_segments(&partition)?)
            }
        };
        Ok(published.contains(&segment))
    }
}

/// Copies the corrupt stretches of one segment's bytes to
/// `<journal>/quarantine/segment_<id>_at_<offset>.bad` (torn tails are what a crash leaves,
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
        let path = dir.join(format!("segment_{:020}_at_{offset}.bad", segment.0));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What compaction and replay report for an unreadable footer says which file and what
    /// failed (it once said "schema mismatch" for a file that was merely missing).
    #[test]
    fn an_unreadable_footer_says_which_file_and_what_failed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("gone.parquet");
        let short = dir.path().join("short.parquet");
        fs::write(&short, b"PAR1 not a whole file").expect("write");
        let cases: [(&Path, &str); 2] = [(&missing, "No such file"), (&short, ": parquet: ")];
        for (path, what) in cases {
            let err = footer_metadata(path).expect_err("unreadable");
            let text = err.to_string();
            assert!(text.starts_with(&path.display().to_string()), "{text}");
            assert!(text.contains(what), "{path:?}: {text}");
            assert!(!text.contains("schema mismatch"), "{text}");
        }
        assert!(matches!(
            footer_metadata(&missing),
            Err(TickError::Io { .. })
        ));
        assert!(matches!(
            footer_metadata(&short),
            Err(TickError::Parquet { .. })
        ));
    }
}
