//! [`JournalWriter`]: buffered appends, background fdatasync, segment rotation.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::{record_crc, segments, JournalError, SegmentId, MAGIC, MAX_PAYLOAD, RECORD_HEADER};

/// Bytes buffered in memory between write syscalls.
const BUFFER_BYTES: usize = 1 << 20;

/// Appends received frames to the current journal segment.
///
/// Appends are buffered (one `write` syscall per ~1 MiB, not per frame). [`sync`](Self::sync)
/// hands the buffer to the kernel (enough to survive SIGKILL) and asks a background thread
/// to `fdatasync` the segment (enough to survive a power cut), so the caller's loop never
/// waits for the disk; [`sync_now`](Self::sync_now) waits.
///
/// A failed write leaves a torn record at the end of the segment: the writer then refuses
/// appends until [`rotate`](Self::rotate) starts a clean segment. Journal errors cost
/// durability only: the rows are still in the caller's memory and still checkpointed.
///
/// ```
/// use record::journal::{read_segment, JournalWriter};
/// let dir = tempfile::tempdir().unwrap();
/// let (mut journal, leftovers) = JournalWriter::open(dir.path()).unwrap();
/// assert!(leftovers.is_empty());
/// journal.append(7, 1_700_000_000_000, r#"[{"e":"24hrMiniTicker"}]"#).unwrap();
/// journal.sync().unwrap();
/// let closed = journal.rotate().unwrap();
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
    out: BufWriter<SharedFile>,
    broken: bool,
    records: u64,
    syncer: Syncer,
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
            out: BufWriter::with_capacity(BUFFER_BYTES, SharedFile(file.clone())),
            file,
            current,
            broken: false,
            records: 0,
            syncer: Syncer::spawn().map_err(JournalError::io(&dir))?,
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

    /// Appends one received frame (buffered: no syscall per frame).
    ///
    /// A frame over [`MAX_PAYLOAD`] is refused with `InvalidInput` (nothing written). After
    /// a write error every append fails until [`rotate`](Self::rotate).
    pub fn append(&mut self, conn_id: u64, received_at_ms: i64, frame: &str) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other(format!(
                "journal segment {} is broken by an earlier write error (waiting for rotation)",
                self.current
            )));
        }
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
        head[0..4].copy_from_slice(&len.to_le_bytes());
        head[8..16].copy_from_slice(&received_at_ms.to_le_bytes());
        head[16..24].copy_from_slice(&conn_id.to_le_bytes());
        let crc = record_crc(len.to_le_bytes(), &[&head[8..], frame.as_bytes()]);
        head[4..8].copy_from_slice(&crc.to_le_bytes());
        let written = self
            .out
            .write_all(&head)
            .and_then(|()| self.out.write_all(frame.as_bytes()));
        match written {
            Ok(()) => self.records += 1,
            Err(_) => self.broken = true,
        }
        written
    }

    /// Hands the buffered records to the kernel (they survive a process kill from here on)
    /// and asks the background thread to fdatasync the segment (they survive a power cut
    /// once it is done, normally milliseconds later). Does not wait for the disk. Returns
    /// the error of an earlier background fdatasync, if one failed.
    pub fn sync(&mut self) -> io::Result<()> {
        self.flush()?;
        self.syncer.request(&self.file);
        self.syncer.take_error().map_or(Ok(()), Err)
    }

    /// Like [`sync`](Self::sync), but fdatasyncs on this thread and returns when the
    /// records are durable (for shutdown and tests).
    pub fn sync_now(&mut self) -> io::Result<()> {
        self.flush()?;
        self.file.sync_data()?;
        self.syncer.take_error().map_or(Ok(()), Err)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other("journal segment broken; rotate"));
        }
        let flushed = self.out.flush();
        if flushed.is_err() {
            self.broken = true;
        }
        flushed
    }

    /// Closes the current segment and starts the next one; returns the id of the closed one.
    ///
    /// The closed segment is flushed and queued for fdatasync. If it cannot be flushed, its
    /// unflushed tail is dropped (the rows are still in the caller's buffer) and rotation
    /// goes on, so a broken segment is left behind. Fails only if the new segment cannot be
    /// created; the writer then stays on the current segment (postpone the checkpoint).
    pub fn rotate(&mut self) -> Result<SegmentId, JournalError> {
        let next = SegmentId(self.current.0 + 1);
        let file = create_segment(&self.dir, next)?;
        if let Err(e) = self.flush() {
            log::warn!(
                "journal segment {}: unflushed records dropped: {e}",
                self.current
            );
        }
        let fresh = BufWriter::with_capacity(BUFFER_BYTES, SharedFile(file.clone()));
        let (_, _unflushed) = std::mem::replace(&mut self.out, fresh).into_parts();
        self.syncer.request(&self.file);
        let closed = self.current;
        self.file = file;
        self.current = next;
        self.broken = false;
        self.records = 0;
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
}

impl JournalWriter {
    /// Clean shutdown, after the final checkpoint: deletes the current segment if nothing
    /// was appended to it since the last rotation, else makes it durable and keeps it (it
    /// is replayed at the next start).
    pub fn close(mut self) -> Result<(), JournalError> {
        if self.records == 0 && !self.broken {
            return remove_segment(&self.dir, self.current);
        }
        let path = self.dir.join(self.current.file_name());
        self.sync_now().map_err(JournalError::io(path))
    }
}

impl Drop for JournalWriter {
    /// Hands buffered records to the kernel and lets the sync thread fdatasync them.
    fn drop(&mut self) {
        if self.flush().is_ok() {
            self.syncer.request(&self.file);
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

fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(JournalError::io(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The segment file, shared between the buffered writer and the sync thread.
#[derive(Debug)]
struct SharedFile(Arc<File>);

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        (&*self.0).write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A background thread that fdatasyncs the files it is handed.
///
/// Requests are coalesced: a file already waiting is not queued twice, and one fdatasync
/// covers every write made before it starts.
#[derive(Debug)]
struct Syncer {
    shared: Arc<SyncShared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct SyncShared {
    state: Mutex<SyncState>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct SyncState {
    pending: Vec<Arc<File>>,
    error: Option<io::Error>,
    stop: bool,
}

impl Syncer {
    fn spawn() -> io::Result<Self> {
        let shared = Arc::new(SyncShared::default());
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("journal-sync".into())
            .spawn(move || worker.run())?;
        Ok(Syncer {
            shared,
            thread: Some(thread),
        })
    }

    fn request(&self, file: &Arc<File>) {
        let mut state = self.shared.lock();
        if !state.pending.iter().any(|f| Arc::ptr_eq(f, file)) {
            state.pending.push(file.clone());
        }
        self.shared.wake.notify_one();
    }

    fn take_error(&self) -> Option<io::Error> {
        self.shared.lock().error.take()
    }
}

impl SyncShared {
    /// The state is plain data, consistent after any panic: a poisoned lock is still usable.
    fn lock(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn run(&self) {
        let mut state = self.lock();
        loop {
            if !state.pending.is_empty() {
                let files = std::mem::take(&mut state.pending);
                drop(state);
                let failed = files.iter().find_map(|f| f.sync_data().err());
                state = self.lock();
                if let Some(e) = failed {
                    log::error!("journal fdatasync failed: {e}");
                    state.error = Some(e);
                }
            } else if state.stop {
                return;
            } else {
                state = self
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
    }
}

impl Drop for Syncer {
    /// Finishes the queued fdatasyncs, then stops the thread.
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
