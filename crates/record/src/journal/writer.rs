//! [`JournalWriter`]: every record written at once, fdatasync on a thread, rotation, and
//! what a full disk leaves behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::syncer::Syncer;
use super::{
    record_crc, segments, JournalError, RunId, SegmentId, MAGIC, MAX_PAYLOAD, RECORD_HEADER,
    RECORD_MARK,
};

/// Appends received frames to the current journal segment.
///
/// [`append`](Self::append) writes the record to the segment file at once (one writev(2)
/// of header and frame, no copy: from then on the record survives a kill of the process).
/// [`sync`](Self::sync) asks a thread to fdatasync the segment (the records then survive a
/// power cut); the caller's loop never waits for the disk. [`sync_now`](Self::sync_now)
/// waits.
///
/// A failed write (a full disk) is cut back off the file, so the segment holds only whole
/// records; the record is kept in memory and written before the next one, once the disk
/// takes it again: nothing appended is lost while the process lives. Until then
/// [`append`](Self::append) and [`sync`](Self::sync) return the error and
/// [`rotate`](Self::rotate) refuses (postpone the checkpoint).
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
/// assert!(report.damage.is_empty());
/// journal.remove(closed).unwrap();
/// ```
#[derive(Debug)]
pub struct JournalWriter {
    dir: PathBuf,
    current: SegmentId,
    file: Arc<File>,
    /// Bytes of the current segment file that are whole records (a failed write is cut
    /// back to this length).
    len: u64,
    /// Records appended to the current segment (written or waiting in `backlog`).
    records: u64,
    /// Records a failed write could not store: written first once the disk takes them.
    backlog: Vec<u8>,
    syncer: Syncer,
    /// Writes still to fail with ENOSPC (tests inject a full disk).
    fail_writes: u32,
}

impl JournalWriter {
    /// Opens the journal directory `dir` (created if missing) and starts segment 0 of a new
    /// [run](RunId) (named apart from every segment of every earlier run). Returns the writer and the segments left by an earlier run,
    /// oldest first: replay them (see [`replay()`](super::replay())) before removing them.
    ///
    /// # Errors
    ///
    /// [`JournalError::Io`] when the directory cannot be created or listed, or the new
    /// segment cannot be created.
    pub fn open(dir: impl Into<PathBuf>) -> Result<(Self, Vec<SegmentId>), JournalError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(JournalError::io(&dir))?;
        let leftovers = segments(&dir)?;
        let run = RunId::new(chrono::Utc::now().timestamp_millis());
        // A run id drawn twice (one chance in four million within a millisecond) would
        // collide with a left-over segment of that run: draw again.
        let run = if leftovers.iter().any(|s| s.run == run) {
            RunId(run.0 ^ 1)
        } else {
            run
        };
        let current = SegmentId::new(run, 0);
        let mut fail_writes = 0;
        let file = create_segment(&dir, current, &mut fail_writes, true)?;
        let writer = JournalWriter {
            file,
            current,
            len: MAGIC.len() as u64,
            records: 0,
            backlog: Vec::new(),
            syncer: Syncer::spawn().map_err(JournalError::io(&dir))?,
            fail_writes,
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

    /// Appends one received frame: one writev(2) to the segment file. A frame over
    /// [`MAX_PAYLOAD`] is refused with `InvalidInput`. On a write error the record is kept
    /// in memory (see the [type docs](Self)) and the error returned.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a frame over [`MAX_PAYLOAD`]; otherwise the write error, with the
    /// record kept in memory and written at the next call.
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
        let mut head = [0u8; RECORD_HEADER];
        head[0..4].copy_from_slice(RECORD_MARK);
        head[4..8].copy_from_slice(&len.to_le_bytes());
        head[12..20].copy_from_slice(&received_at_ms.to_le_bytes());
        head[20..28].copy_from_slice(&conn_id.to_le_bytes());
        let crc = record_crc(len.to_le_bytes(), &[&head[12..], frame.as_bytes()]);
        head[8..12].copy_from_slice(&crc.to_le_bytes());
        self.records += 1;
        if !self.backlog.is_empty() {
            self.backlog.extend_from_slice(&head);
            self.backlog.extend_from_slice(frame.as_bytes());
            return self.flush_backlog();
        }
        // Header and frame in one writev(2): no copy of the frame, one system call.
        let written = self.write(&mut [IoSlice::new(&head), IoSlice::new(frame.as_bytes())]);
        if written.is_err() {
            self.backlog.extend_from_slice(&head);
            self.backlog.extend_from_slice(frame.as_bytes());
        }
        written
    }

    /// Writes `parts` to the segment at once (writev(2), repeated only if the kernel takes
    /// a part of them); a partial write is cut back off the file.
    fn write(&mut self, parts: &mut [IoSlice<'_>]) -> io::Result<()> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let result = match take_fault(&mut self.fail_writes) {
            Err(e) => Err(e),
            Ok(()) => write_all_vectored(&self.file, parts),
        };
        match result {
            Ok(()) => {
                self.len += total as u64;
                Ok(())
            }
            Err(e) => {
                if let Err(cut) = self.file.set_len(self.len) {
                    // The reader resynchronises past a torn record anyway.
                    log::warn!("journal: cannot cut a failed write back off: {cut}");
                }
                Err(e)
            }
        }
    }

    /// Writes the records a failed write left in memory.
    fn flush_backlog(&mut self) -> io::Result<()> {
        if self.backlog.is_empty() {
            return Ok(());
        }
        let backlog = std::mem::take(&mut self.backlog);
        let written = self.write(&mut [IoSlice::new(&backlog)]);
        match written {
            Ok(()) => log::info!(
                "journal: {} bytes written after a write error",
                backlog.len()
            ),
            Err(_) => self.backlog = backlog,
        }
        written
    }

    /// Asks for an fdatasync of the segment, without waiting. Returns the error of a write
    /// still failing or of an earlier fdatasync, if one failed.
    ///
    /// # Errors
    ///
    /// The error of a write still failing, or of an earlier fdatasync.
    pub fn sync(&mut self) -> io::Result<()> {
        self.flush_backlog()?;
        self.syncer.request(&self.file)?;
        self.syncer.take_error().map_or(Ok(()), Err)
    }

    /// Like [`sync`](Self::sync), but returns once everything appended so far (in every
    /// segment) is fdatasynced (for shutdown and tests).
    ///
    /// # Errors
    ///
    /// The error of a write still failing, or of the fdatasync.
    pub fn sync_now(&mut self) -> io::Result<()> {
        self.flush_backlog()?;
        self.syncer.sync_and_wait(&self.file)?;
        self.syncer.take_error().map_or(Ok(()), Err)
    }

    /// Closes the current segment and starts the next one; returns the id of the closed one.
    ///
    /// The closed segment is fdatasynced on the thread, and so is the directory entry of
    /// the new one (before any fdatasync of it): no disk wait here. Fails if records of the current
    /// segment are still waiting for the disk, or if the new segment cannot be created; the
    /// writer then stays on the current segment (postpone the checkpoint) and a later call
    /// starts over (a half-created segment is removed, not left in the way).
    ///
    /// # Errors
    ///
    /// [`JournalError::Io`] when records of the current segment still wait for the disk or
    /// the new segment cannot be created; the writer stays on the current segment.
    pub fn rotate(&mut self) -> Result<SegmentId, JournalError> {
        let closed_path = self.dir.join(self.current.file_name());
        self.flush_backlog()
            .map_err(JournalError::io(closed_path.clone()))?;
        let next = SegmentId::new(self.current.run, self.current.seq + 1);
        // The new name is made durable by the thread too, before any fdatasync of it.
        let file = create_segment(&self.dir, next, &mut self.fail_writes, false)?;
        self.syncer
            .request(&self.file)
            .and_then(|()| self.syncer.request_dir(&file, self.dir.clone()))
            .map_err(JournalError::io(closed_path))?;
        let closed = self.current;
        self.file = file;
        self.current = next;
        self.len = MAGIC.len() as u64;
        self.records = 0;
        Ok(closed)
    }

    /// Deletes a closed segment (once its rows are published). Refuses the current one.
    ///
    /// # Errors
    ///
    /// [`JournalError::Io`] for the current segment (refused) or when the file cannot be removed.
    pub fn remove(&self, segment: SegmentId) -> Result<(), JournalError> {
        if segment == self.current {
            let source = io::Error::new(io::ErrorKind::InvalidInput, "segment still being written");
            return Err(JournalError::Io {
                path: self.dir.join(segment.file_name()),
                cause: source,
            });
        }
        remove_segment(&self.dir, segment)
    }

    /// Clean shutdown, after the final checkpoint: deletes the current segment if nothing
    /// was appended to it since the last rotation, else makes it durable and keeps it (it
    /// is replayed at the next start).
    ///
    /// # Errors
    ///
    /// [`JournalError::Io`] when the segment cannot be removed or made durable.
    pub fn close(mut self) -> Result<(), JournalError> {
        if self.records == 0 {
            return remove_segment(&self.dir, self.current);
        }
        let path = self.dir.join(self.current.file_name());
        self.sync_now().map_err(JournalError::io(path))
    }

    /// Makes the next `writes` writes (records, segment magic) fail with ENOSPC, as a full
    /// disk does.
    #[cfg(test)]
    pub(crate) fn inject_disk_full(&mut self, writes: u32) {
        self.fail_writes = writes;
    }
}

impl Drop for JournalWriter {
    /// Records still in memory get one last try; then the thread fdatasyncs and stops.
    fn drop(&mut self) {
        if self.flush_backlog().is_ok() {
            let _ = self.syncer.request(&self.file);
        }
    }
}

/// `write_all` for a list of buffers (the standard one is not stable yet).
fn write_all_vectored(mut file: &File, mut parts: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut parts, 0);
    while !parts.is_empty() {
        match file.write_vectored(parts) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut parts, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// An injected ENOSPC, while `remaining` is not zero.
fn take_fault(remaining: &mut u32) -> io::Result<()> {
    if *remaining == 0 {
        return Ok(());
    }
    *remaining -= 1;
    Err(io::Error::from_raw_os_error(28)) // ENOSPC
}

/// Deletes segment `segment` of the journal in `dir` and makes the deletion durable.
/// A segment already gone is not an error.
pub(crate) fn remove_segment(dir: &Path, segment: SegmentId) -> Result<(), JournalError> {
    let path = dir.join(segment.file_name());
    match fs::remove_file(&path) {
        Ok(()) => sync_dir(dir),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(JournalError::Io { path, cause: e }),
    }
}

/// Creates segment `id` with its magic, and fsyncs `dir` if `sync` (else the caller has the
/// syncer do it). A file of that name holding no record (what a failed creation leaves) is
/// replaced; a failed creation removes what it created.
fn create_segment(
    dir: &Path,
    id: SegmentId,
    faults: &mut u32,
    sync: bool,
) -> Result<Arc<File>, JournalError> {
    let path = dir.join(id.file_name());
    let open = || OpenOptions::new().append(true).create_new(true).open(&path);
    let opened = match open() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let empty = fs::metadata(&path).is_ok_and(|m| m.len() <= MAGIC.len() as u64);
            if !empty {
                return Err(JournalError::Io { path, cause: e });
            }
            fs::remove_file(&path).map_err(JournalError::io(&path))?;
            open()
        }
        other => other,
    };
    let mut file = opened.map_err(JournalError::io(&path))?;
    if let Err(e) = take_fault(faults).and_then(|()| file.write_all(MAGIC)) {
        let _ = fs::remove_file(&path);
        return Err(JournalError::Io { path, cause: e });
    }
    if sync {
        sync_dir(dir)?;
    }
    Ok(Arc::new(file))
}

/// Makes the directory entries of `dir` durable ([`dataset::fs::sync_dir`]).
fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    dataset::fs::sync_dir(dir).map_err(JournalError::io(dir))
}
