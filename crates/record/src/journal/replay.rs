//! Replaying left-over journal segments into the dataset, exactly once (see the
//! [protocol](super#exactly-once-protocol-journal--parquet-checkpoints)).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use parquet::file::metadata::KeyValue;
use parquet::file::reader::{FileReader, SerializedFileReader};
use store::ticks::{DatasetWriter, TickBuffer};
use stream::{DecodeError, MiniTicker};

use super::writer::remove_segment;
use super::{read_segment, JournalError, SegmentId, SegmentReport};
use crate::as_tick;
use crate::dedup::Dedup;

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
pub(crate) fn footer_metadata(path: &Path) -> Result<Vec<KeyValue>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let reader = SerializedFileReader::new(file).map_err(|e| e.to_string())?;
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
                source: e,
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

/// Decodes one text frame into `out` (cleared first) with the recorder's rule: a frame with
/// any bad element is rejected whole. Control replies decode to no event. Returns the
/// number of events.
///
/// ```
/// let mut out = Vec::new();
/// let frame = r#"[{"e":"24hrMiniTicker","E":1,"s":"ETHBTC","c":"0.02456700","o":"0.02459800","h":"0.02470900","l":"0.02438100","v":"163116.186","q":"4006.04936991"}]"#;
/// assert_eq!(record::journal::decode_frame(frame, &mut out).unwrap(), 1);
/// assert!(record::journal::decode_frame(&frame[..50], &mut out).is_err());
/// assert!(out.is_empty());
/// ```
pub fn decode_frame(text: &str, out: &mut Vec<MiniTicker>) -> Result<usize, DecodeError> {
    out.clear();
    let mut first_error = None;
    let decoded = stream::for_each_raw_mini_ticker(text, |raw| {
        if first_error.is_none() {
            match raw.parse() {
                Ok(t) => out.push(t),
                Err(e) => first_error = Some(e),
            }
        }
    });
    match (decoded, first_error) {
        (Err(e), _) | (Ok(_), Some(e)) => {
            out.clear();
            Err(e)
        }
        (Ok(n), None) => Ok(n),
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
    /// Events dropped as copies from a redundant connection.
    pub duplicates: u64,
    /// Rows skipped because a published file already covers their segment and date.
    pub rows_already_published: u64,
    /// Rows written.
    pub rows_written: usize,
    /// Files published.
    pub files: Vec<PathBuf>,
}

/// Replays the journal `segments` (as returned by
/// [`JournalWriter::open`](super::JournalWriter::open)) of the dataset in `out_dir`: decodes
/// their frames (de-duplicated by (symbol, event_time) when `dedup`), writes every row whose
/// UTC date partition has no file tagged with its segment as new checkpoint file(s) named
/// after `now` and tagged with all `segments`, then deletes the segments.
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
    let mut covered: HashMap<NaiveDate, HashSet<SegmentId>> = HashMap::new();
    let mut dedup = dedup.then(Dedup::new);
    let mut scratch = Vec::new();
    let mut failure = None;
    for &segment in segments {
        let seg_report = read_segment(&journal, segment, |record| {
            report.frames += 1;
            if decode_frame(record.frame, &mut scratch).is_err() {
                report.malformed_frames += 1;
                return;
            }
            if let Some(d) = dedup.as_mut() {
                d.retain(&mut scratch);
            }
            for t in &scratch {
                let Some(date) =
                    DateTime::from_timestamp_millis(t.event_time).map(|d| d.date_naive())
                else {
                    log::warn!(
                        "journal {segment}: {} event_time {} out of range, skipped",
                        t.symbol,
                        t.event_time
                    );
                    continue;
                };
                let published = match covered.entry(date) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => {
                        let partition = out_dir.join(format!("date={}", date.format("%Y-%m-%d")));
                        match published_segments(&partition) {
                            Ok(set) => e.insert(set),
                            Err(err) => {
                                failure.get_or_insert(err);
                                return;
                            }
                        }
                    }
                };
                if published.contains(&segment) {
                    report.rows_already_published += 1;
                } else {
                    buf.push(&as_tick(t));
                }
            }
        })?;
        if let Some(e) = failure.take() {
            return Err(e);
        }
        report.segments.push(seg_report);
    }
    report.duplicates = dedup.map_or(0, |d| d.duplicates());
    if !buf.is_empty() {
        let tag = segments_metadata(segments);
        report.files = DatasetWriter::new(out_dir).write_checkpoint_with(&buf, now, &[tag])?;
        report.rows_written = buf.len();
    }
    for &segment in segments {
        remove_segment(&journal, segment)?;
    }
    Ok(report)
}
