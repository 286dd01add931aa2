//! [`JournalWriter`]: appends into memory, writes and fdatasyncs on an I/O thread, rotation.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::worker::Worker;
use super::{record_crc, segments, JournalError, SegmentId, MAGIC, MAX_PAYLOAD, RECORD_HEADER};

/// Bytes appended in memory before they are handed to the I/O thread without waiting for
/// the next [`JournalWriter::sync`].
const SPILL_BYTES: usize = 4 << 20;

/// Appends received frames to the current journal segment.
///
/// [`append`](Self::append) only copies the record into memory (no syscall).
/// [`sync`](Self::sync) hands the appended records to an I/O thread, which writes them to
/// the segment (from then on they survive a process kill, normally within milliseconds) and
/// fdatasyncs it (they survive a power cut); the caller's loop never waits for the disk,
/// only for queue room if the disk falls behind. [`sync_now`](Self::sync_now) waits.
///
/// A failed write leaves a torn record at the end of the segment; the I/O thread then drops
/// the rest of that segment, the next [`sync`](Self::sync) returns the error, and
/// [`rotate`](Self::rotate) starts a clean segment. Journal errors cost durability only:
/// the rows are still in the caller's memory and still checkpointed.
///
/// ```
/// use record::journal::{read_segment, JournalWriter};
/// let dir = tempfile::tempdir().unwrap();
/// let (mut journal, leftovers) = JournalWriter::open(dir.path()).unwrap();
/// assert!(leftovers.is_empty());
/// journal.append(7, 1_700_000_000_000, r#"[{"e":"24hrMiniTicker"}]"#).unwrap();
/// journal.sync().unwrap();
/// let closed = journal.rotate().unwrap();
/// journal.sync_now().unwrap();
/// let mut frames = Vec::new();
/// let report = read_segment(dir.path(), closed, |r| frames.push((r.conn_id, r.frame.to_owned()))).unwrap();
/// assert_eq!(frames, [(7, r#"[{"e":"24hrMiniTicker"}]"#.to_owned())]);
/// assert!(report.damage.is_none());
/// journal.remove(closed).unwrap();
/// ```
#[derive(Debug)]
pub struct JournalWriter {
    dir: PathBuf,
    current: SegmentId,
    file: Arc<File>,
    buf: Vec<u8>,
    /// Records appended to the current segment.
    records: u64,
    /// Records handed off since the last fdatasync request.
    unsynced: bool,
    worker: Worker,
}

impl JournalWriter {
    /// Opens the journal directory `dir` (created if missing) and starts a new segment after
    /// the last existing one. Returns the writer and the segments left by an earlier run,
    /// oldest first: replay them (see [`replay()`](super::replay())) before removing them.
    pub fn open(dir: impl Into<PathBuf>) -> Result<(Self, Vec<SegmentId>), JournalError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(JournalError::io(&dir))?;
        let leftovers = segments(&dir)?;
        let current = SegmentId(leftovers.last().map_or(0, |s| s.0 + 1));
        let file = create_segment(&dir, current)?;
        let writer = JournalWriter {
            buf: Vec::with_capacity(SPILL_BYTES),
            file,
            current,
            records: 0,
            unsynced: false,
            worker: Worker::spawn().map_err(JournalError::io(&dir))?,
            dir,
        };
        Ok((writer, leftovers))
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The segment appends go to.
    pub fn current(&self) -> SegmentId {
        self.current
    }

    /// Appends one received frame (in memory: no syscall, unless 4 MiB are
    /// waiting, which are then handed to the I/O thread). A frame over [`MAX_PAYLOAD`] is
    /// refused with `InvalidInput`.
    pub fn append(&mut self, conn_id: u64, received_at_ms: i64, frame: &str) -> io::Result<()> {
        let len = u32::try_from(frame.len() + 16)
            .ok()
            .filter(|&n| n <= MAX_PAYLOAD)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "frame too large for the journal",
                )
            })?;
        if !self.buf.is_empty() && self.buf.len() + RECORD_HEADER + frame.len() > SPILL_BYTES {
            self.hand_off(false)?;
        }
        let mut head = [0u8; RECORD_HEADER];
        head[0..4].copy_from_slice(&len.to_le_bytes());
        head[8..16].copy_from_slice(&received_at_ms.to_le_bytes());
        head[16..24].copy_from_slice(&conn_id.to_le_bytes());
        let crc = record_crc(len.to_le_bytes(), &[&head[8..], frame.as_bytes()]);
        head[4..8].copy_from_slice(&crc.to_le_bytes());
        self.buf.extend_from_slice(&head);
        self.buf.extend_from_slice(frame.as_bytes());
        self.records += 1;
        Ok(())
    }

    /// Hands the appended records to the I/O thread, to be written and fdatasynced, without
    /// waiting. Returns the error of an earlier background write or fdatasync, if one failed.
    pub fn sync(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() || self.unsynced {
            self.hand_off(true)?;
        }
        self.worker.take_error().map_or(Ok(()), Err)
    }

    /// Like [`sync`](Self::sync), but returns once everything appended so far (in every
    /// segment) is written and fdatasynced (for shutdown and tests).
    pub fn sync_now(&mut self) -> io::Result<()> {
        let data = std::mem::replace(&mut self.buf, self.worker.buffer(0));
        self.unsynced = false;
        self.worker.write_and_sync(&self.file, data)?;
        self.worker.take_error().map_or(Ok(()), Err)
    }

    fn hand_off(&mut self, sync: bool) -> io::Result<()> {
        let data = std::mem::replace(&mut self.buf, self.worker.buffer(SPILL_BYTES));
        self.unsynced = !sync;
        self.worker.submit(&self.file, data, sync)
    }

    /// Closes the current segment and starts the next one; returns the id of the closed one.
    ///
    /// The closed segment's last records are handed to the I/O thread with an fdatasync.
    /// Fails only if the new segment cannot be created (or the I/O thread is gone); the
    /// writer then stays on the current segment (postpone the checkpoint).
    pub fn rotate(&mut self) -> Result<SegmentId, JournalError> {
        let next = SegmentId(self.current.0 + 1);
        let file = create_segment(&self.dir, next)?;
        let closed_path = self.dir.join(self.current.file_name());
        self.hand_off(true).map_err(JournalError::io(closed_path))?;
        let closed = self.current;
        self.file = file;
        self.current = next;
        self.records = 0;
        self.unsynced = false;
        Ok(closed)
    }

    /// Deletes a closed segment (once its rows are published). Refuses the current one.
    pub fn remove(&self, segment: SegmentId) -> Result<(), JournalError> {
        if segment == self.current {
            let source = io::Error::new(io::ErrorKind::InvalidInput, "segment still being written");
            return Err(JournalError::Io {
                path: self.dir.join(segment.file_name()),
                source,
            });
        }
        remove_segment(&self.dir, segment)
    }

    /// Clean shutdown, after the final checkpoint: deletes the current segment if nothing
    /// was appended to it since the last rotation, else makes it durable and keeps it (it
    /// is replayed at the next start).
    pub fn close(mut self) -> Result<(), JournalError> {
        if self.records == 0 {
            return remove_segment(&self.dir, self.current);
        }
        let path = self.dir.join(self.current.file_name());
        self.sync_now().map_err(JournalError::io(path))
    }
}

impl Drop for JournalWriter {
    /// Hands the appended records to the I/O thread, which writes and fdatasyncs them
    /// before it stops.
    fn drop(&mut self) {
        if !self.buf.is_empty() || self.unsynced {
            let _ = self.hand_off(true);
        }
    }
}

/// Deletes segment `segment` of the journal in `dir` and makes the deletion durable.
/// A segment already gone is not an error.
pub(crate) fn remove_segment(dir: &Path, segment: SegmentId) -> Result<(), JournalError> {
    let path = dir.join(segment.file_name());
    match fs::remove_file(&path) {
        Ok(()) => sync_dir(dir),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(JournalError::Io { path, source: e }),
    }
}

fn create_segment(dir: &Path, id: SegmentId) -> Result<Arc<File>, JournalError> {
    let path = dir.join(id.file_name());
    let mut file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(&path)
        .map_err(JournalError::io(&path))?;
    file.write_all(MAGIC).map_err(JournalError::io(&path))?;
    sync_dir(dir)?;
    Ok(Arc::new(file))
}

/// Makes the directory entries of `dir` durable ([`store::fs::sync_dir`]).
fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    store::fs::sync_dir(dir).map_err(JournalError::io(dir))
}
