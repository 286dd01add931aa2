//! Reading segments back: every whole record, in order; damage reported, never a panic.

use std::fs;
use std::path::Path;

use super::{
    record_crc, JournalError, RunId, SegmentId, MAGIC, MAGIC_V1, MAX_PAYLOAD, RECORD_MARK,
};

/// One journaled frame, borrowed from the segment being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The segment holding it.
    pub segment: SegmentId,
    /// Byte offset of the record in its segment file.
    pub offset: u64,
    /// When the frame was received, ms since the Unix epoch (the caller's clock).
    pub received_at_ms: i64,
    /// The connection it came from.
    pub conn_id: u64,
    /// The frame text, exactly as received.
    pub frame: &'a str,
}

/// A stretch of a segment that held no whole record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// The segment ends in an incomplete record (what a crash or power cut leaves): the
    /// `bytes_dropped` bytes from `offset` to the end were ignored.
    TornTail {
        /// The segment.
        segment: SegmentId,
        /// Offset of the torn record.
        offset: u64,
        /// Bytes ignored (to the end of the file).
        bytes_dropped: u64,
    },
    /// A bad record with data after it: its `bytes_dropped` bytes from `offset` (up to the
    /// next valid record, or to the end of the file) were skipped.
    Corrupt {
        /// The segment.
        segment: SegmentId,
        /// Offset of the bad record.
        offset: u64,
        /// Bytes skipped.
        bytes_dropped: u64,
        /// What was wrong.
        reason: &'static str,
    },
}

/// The outcome of reading one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentReport {
    /// The segment.
    pub segment: SegmentId,
    /// Whole records handed to the callback.
    pub records: u64,
    /// The damaged stretches skipped, in order (none for a clean segment).
    pub damage: Vec<Damage>,
}

/// The segments in the journal directory `dir`, oldest first (none if `dir` is missing).
/// Other names are ignored.
///
/// # Errors
///
/// [`JournalError::Io`] when the directory exists but cannot be listed.
pub fn segments(dir: &Path) -> Result<Vec<SegmentId>, JournalError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(JournalError::Io {
                path: dir.into(),
                cause: e,
            })
        }
    };
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry.map_err(JournalError::io(dir))?;
        if let Some(id) = entry.file_name().to_str().and_then(SegmentId::parse) {
            ids.push(id);
        }
    }
    ids.sort();
    Ok(ids)
}

/// Reads segment `segment` of the journal in `dir`, handing each whole record to `f` in
/// order, and reports every stretch of damage it skipped.
///
/// The file is read into memory at once (a segment spans one checkpoint interval). In a
/// current-format segment a bad record costs only itself: reading resumes at the next
/// record marker that starts a whole, CRC-valid record. A first-format segment (magic
/// [`MAGIC_V1`](super::MAGIC_V1), no markers) ends at its first bad record.
///
/// # Errors
///
/// [`JournalError::Io`] when the segment cannot be opened or read; damaged records are not
/// errors (they are skipped and reported).
pub fn read_segment(
    dir: &Path,
    segment: SegmentId,
    f: impl FnMut(Record<'_>),
) -> Result<SegmentReport, JournalError> {
    let path = dir.join(segment.file_name());
    let data = fs::read(&path).map_err(JournalError::io(&path))?;
    Ok(read_bytes(&data, segment, f))
}

/// [`read_segment`] on bytes already read.
pub(crate) fn read_bytes(
    data: &[u8],
    segment: SegmentId,
    mut f: impl FnMut(Record<'_>),
) -> SegmentReport {
    let mut report = SegmentReport {
        segment,
        records: 0,
        damage: Vec::new(),
    };
    let damage = |offset: usize, end: usize, reason: Option<&'static str>| {
        let bytes_dropped = (end - offset) as u64;
        let offset = offset as u64;
        match reason {
            None => Damage::TornTail {
                segment,
                offset,
                bytes_dropped,
            },
            Some(reason) => Damage::Corrupt {
                segment,
                offset,
                bytes_dropped,
                reason,
            },
        }
    };
    let format = match data.get(..MAGIC.len()) {
        Some(m) if m == MAGIC => Format::Marked,
        Some(m) if m == MAGIC_V1 => Format::Plain,
        _ => {
            let torn = data.len() < MAGIC.len() && MAGIC.starts_with(data);
            let reason = (!torn).then_some("not a journal segment (bad magic)");
            if !data.is_empty() {
                report.damage.push(damage(0, data.len(), reason));
            }
            return report;
        }
    };
    let mut pos = MAGIC.len();
    while pos < data.len() {
        match parse(&data[pos..], format) {
            Ok((rec, used)) => {
                f(Record {
                    segment,
                    offset: pos as u64,
                    ..rec
                });
                report.records += 1;
                pos += used;
            }
            Err(bad) => {
                if let Some(next) = format.resync(data, pos) {
                    report.damage.push(damage(pos, next, Some(bad.reason())));
                    pos = next;
                    continue;
                }
                let tail = &data[pos..];
                let torn = bad == Bad::Short
                    || (bad == Bad::Crc && format.record_len(tail) == Some(tail.len()))
                    || tail.iter().all(|&b| b == 0);
                let reason = (!torn).then_some(bad.reason());
                report.damage.push(damage(pos, data.len(), reason));
                break;
            }
        }
    }
    report
}

/// The two segment formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// [`MAGIC_V1`]: records without a marker (read, never written).
    Plain,
    /// [`MAGIC`]: every record starts with [`RECORD_MARK`].
    Marked,
}

impl Format {
    /// Bytes before the length field.
    fn mark_len(self) -> usize {
        match self {
            Format::Plain => 0,
            Format::Marked => RECORD_MARK.len(),
        }
    }

    /// The total size (marker, header, payload) the record at the start of `data` claims.
    fn record_len(self, data: &[u8]) -> Option<usize> {
        let at = self.mark_len();
        let len = u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?);
        Some(at + 8 + len as usize)
    }

    /// The offset of the next whole, valid record after a bad one at `bad`, if any.
    fn resync(self, data: &[u8], bad: usize) -> Option<usize> {
        if self == Format::Plain {
            return None;
        }
        let mut from = bad + 1;
        while let Some(i) = data
            .get(from..)?
            .windows(RECORD_MARK.len())
            .position(|w| w == RECORD_MARK)
        {
            let at = from + i;
            if parse(&data[at..], self).is_ok() {
                return Some(at);
            }
            from = at + 1;
        }
        None
    }
}

/// Reads every segment of the journal in `dir`, oldest first, handing each whole record to
/// `f`; one report per segment.
///
/// # Errors
///
/// [`JournalError::Io`] when the directory cannot be listed or a segment cannot be read or
/// moved to quarantine.
///
/// ```
/// use record::journal::{recover, JournalWriter};
/// let dir = tempfile::tempdir().unwrap();
/// let (mut journal, _) = JournalWriter::open(dir.path()).unwrap();
/// journal.append(1, 10, "a").unwrap();
/// journal.rotate().unwrap();
/// journal.append(1, 20, "b").unwrap();
/// drop(journal); // written and fdatasynced on drop
/// let mut seen = Vec::new();
/// let reports = recover(dir.path(), |r| seen.push(r.frame.to_owned())).unwrap();
/// assert_eq!(seen, ["a", "b"]);
/// assert_eq!(reports.len(), 2);
/// ```
pub fn recover(
    dir: &Path,
    mut f: impl FnMut(Record<'_>),
) -> Result<Vec<SegmentReport>, JournalError> {
    segments(dir)?
        .into_iter()
        .map(|segment| read_segment(dir, segment, &mut f))
        .collect()
}

/// What is wrong with the record at the start of a slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    /// The header or the payload runs past the end of the data.
    Short,
    /// No record marker where a record should start.
    Marker,
    /// The length field is impossible.
    Length,
    /// The CRC does not match.
    Crc,
    /// The CRC matches but the frame is not UTF-8 (never written by the writer).
    Utf8,
}

impl Bad {
    fn reason(self) -> &'static str {
        match self {
            Bad::Short => "record runs past the end of the segment",
            Bad::Marker => "no record marker",
            Bad::Length => "impossible record length",
            Bad::Crc => "CRC mismatch",
            Bad::Utf8 => "frame is not UTF-8",
        }
    }
}

/// Parses the record at the start of `data`: the record (segment and offset unset) and its
/// size in bytes.
fn parse(data: &[u8], format: Format) -> Result<(Record<'_>, usize), Bad> {
    let at = format.mark_len();
    if format == Format::Marked {
        match data.get(..at) {
            Some(mark) if mark == RECORD_MARK => {}
            Some(_) => return Err(Bad::Marker),
            None => return Err(Bad::Short),
        }
    }
    let word = |from: usize| -> Result<[u8; 8], Bad> {
        data.get(at + from..at + from + 8)
            .and_then(|b| b.try_into().ok())
            .ok_or(Bad::Short)
    };
    let first = word(0)?;
    let len_bytes = [first[0], first[1], first[2], first[3]];
    let len = u32::from_le_bytes(len_bytes);
    let crc = u32::from_le_bytes([first[4], first[5], first[6], first[7]]);
    if !(16..=MAX_PAYLOAD).contains(&len) {
        return Err(Bad::Length);
    }
    let end = at + 8 + len as usize;
    let payload = data.get(at + 8..end).ok_or(Bad::Short)?;
    if record_crc(len_bytes, &[payload]) != crc {
        return Err(Bad::Crc);
    }
    let received_at_ms = i64::from_le_bytes(word(8)?);
    let conn_id = u64::from_le_bytes(word(16)?);
    let frame = std::str::from_utf8(&data[at + 24..end]).map_err(|_| Bad::Utf8)?;
    let record = Record {
        segment: SegmentId::new(RunId::LEGACY, 0),
        offset: 0,
        received_at_ms,
        conn_id,
        frame,
    };
    Ok((record, end))
}
