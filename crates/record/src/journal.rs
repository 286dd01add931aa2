//! Crash-safe write-ahead journal of received frames.
//!
//! Every text frame the recorder receives is appended here before it is decoded, so a crash
//! (SIGKILL, panic, power cut) loses at most what was not yet synced (the caller syncs at
//! least once a second) and the next start rebuilds the lost checkpoint from the journal.
//!
//! # On disk
//!
//! `<out_dir>/_journal/segment_<20-digit seq>.wal`. The `_` prefix hides the directory from
//! Hive-style dataset discovery (Spark, Arrow, DuckDB, polars and
//! [`store::ticks::list_files`] skip `_`/`.` names). A segment is:
//!
//! ```text
//! "MTJRNL2\n"                                         8-byte magic
//! record*                                             appended, never rewritten
//! record = [FF 'R' 'E' 'C'][u32 LE len][u32 LE crc][payload; len bytes]
//! payload = [i64 LE received_at_ms][u64 LE conn_id][frame text, UTF-8]
//! crc = CRC-32C (Castagnoli) of the 4 length bytes followed by the payload
//! ```
//!
//! The CRC covers the length too, so a damaged length is detected rather than trusted.
//! `len` is at least 16 and at most [`MAX_PAYLOAD`]. The 4-byte [`RECORD_MARK`] (its first
//! byte never occurs in UTF-8 text) lets a reader find the next record after damage.
//! Segments of the first format (magic `"MTJRNL1\n"`, [`MAGIC_V1`], records without the
//! marker) are still read; they are no longer written.
//!
//! A record with conn_id [`GAP_CONN_ID`] holds a gap of the feed instead of a frame (see
//! [`crate::gaps::to_journal`]): gaps are journaled like ticks, so a crash loses none.
//!
//! # Reading back
//!
//! [`read_segment`] hands every whole record to a callback, in order. It never panics on
//! garbage, and every stretch without a valid record is reported as a [`Damage`]:
//! [`Damage::TornTail`] when it is the tail of the file (a short header or payload, a CRC
//! mismatch on the last record, or only zero bytes left: what a crash or power cut leaves),
//! [`Damage::Corrupt`] otherwise (bit rot, a foreign file). After corruption, reading
//! resumes at the next marker that starts a whole record with a valid CRC, so a flipped
//! byte costs one record; a resynchronisation never accepts a record its CRC rejects.
//! [`replay()`] copies the corrupt bytes to `_journal/quarantine/` before it deletes a
//! segment.
//!
//! # Exactly-once protocol (journal ↔ Parquet checkpoints)
//!
//! Rows reach the dataset either from the live buffer (a checkpoint) or, after a crash, from
//! the journal ([`replay()`]); never from both:
//!
//! 1. Live: every frame is [`JournalWriter::append`]ed (written to the segment file with
//!    write(2) at once: from then on a process kill cannot lose it), then buffered;
//!    [`JournalWriter::sync`] asks for an fdatasync (on a thread) at least once a second,
//!    so a power cut loses at most that second. (Frames the stream tasks have read while
//!    the loop is busy with a checkpoint wait in the stream's channel until the loop takes
//!    them: a kill in that moment loses them, as it loses what the kernel still holds.)
//! 2. Checkpoint: [`JournalWriter::rotate`] closes the current segment *S* (on the same
//!    thread as ingest, with no frame in between, so the buffer holds exactly the rows of
//!    the closed segments not yet published). The buffer is written with
//!    [`segments_metadata`]`(&[..S])` in each file's key-value metadata
//!    (`journal_segments=<id>,<id>…`), published, and only then the segments are
//!    [`JournalWriter::remove`]d. If the write fails, the segments stay and the next
//!    checkpoint carries them all. If `rotate` fails, postpone the checkpoint (its rows
//!    would otherwise be published from a segment that keeps growing).
//! 3. Start-up: [`JournalWriter::open`] starts a fresh segment and returns the segments
//!    left by an earlier run; [`replay()`] decodes them and writes every row whose UTC date
//!    partition holds no file tagged with its segment (a crash between publishing and
//!    deleting, possibly half-way through a multi-date checkpoint, is thus neither lost nor
//!    duplicated), then deletes them. Compaction carries the tags of its parts over to the
//!    merged file, so the check stays valid after compaction.

mod reader;
pub(crate) mod replay;
mod syncer;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};

pub use reader::{read_segment, recover, segments, Damage, Record, SegmentReport};
pub use replay::{
    decode_frame, published_segments, replay, replay_into, segments_metadata, ReplayReport,
    QUARANTINE_DIR, SEGMENTS_KEY,
};
pub use writer::JournalWriter;

/// Name of the journal directory inside the dataset directory.
pub const DIR_NAME: &str = "_journal";

/// The magic bytes every segment starts with.
pub const MAGIC: &[u8; 8] = b"MTJRNL2\n";

/// The magic of first-format segments (records without [`RECORD_MARK`]): read, not written.
pub const MAGIC_V1: &[u8; 8] = b"MTJRNL1\n";

/// The bytes every record of a current-format segment starts with.
pub const RECORD_MARK: &[u8; 4] = b"\xFFREC";

/// The conn_id of a journal record that holds a gap, not a frame.
pub const GAP_CONN_ID: u64 = u64::MAX;

/// Largest accepted payload (64 MiB): a bigger length field is damage, not a frame.
pub const MAX_PAYLOAD: u32 = 64 << 20;

/// Bytes of a record before the frame text: marker, length, CRC, received_at_ms, conn_id.
pub(crate) const RECORD_HEADER: usize = 28;

/// The journal directory of the dataset directory `out_dir`.
pub fn dir(out_dir: &Path) -> PathBuf {
    out_dir.join(DIR_NAME)
}

/// The number of a journal segment; segments are written and replayed in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentId(pub u64);

impl SegmentId {
    /// The segment's file name, `segment_<20-digit seq>.wal`.
    pub fn file_name(self) -> String {
        format!("segment_{:020}.wal", self.0)
    }

    /// The id of a segment file name; `None` for any other name.
    ///
    /// ```
    /// use record::journal::SegmentId;
    /// let id = SegmentId(42);
    /// assert_eq!(SegmentId::parse(&id.file_name()), Some(id));
    /// assert_eq!(SegmentId::parse("segment_42.wal"), None);
    /// ```
    pub fn parse(name: &str) -> Option<SegmentId> {
        let digits = name.strip_prefix("segment_")?.strip_suffix(".wal")?;
        if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(SegmentId)
    }
}

impl fmt::Display for SegmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Errors of the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An I/O operation on `path` failed.
    #[error("journal {path}: {source}", path = path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Writing the replayed rows to the dataset failed (the segments are kept).
    #[error("journal replay: {0}")]
    Store(#[from] store::ticks::TickError),
}

impl JournalError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| JournalError::Io { path, source }
    }
}

/// CRC-32C of a record: its 4 length bytes, then the payload pieces in order.
pub(crate) fn record_crc(len: [u8; 4], payload: &[&[u8]]) -> u32 {
    payload.iter().fold(crc32c::crc32c(&len), |crc, part| {
        crc32c::crc32c_append(crc, part)
    })
}
