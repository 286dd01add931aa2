//! Crash-safe write-ahead journal of received frames.
//!
//! Every text frame the recorder receives is appended here before it is decoded, so a crash
//! (SIGKILL, panic, power cut) loses at most what was not yet synced (the caller syncs at
//! least once a second) and the next start rebuilds the lost checkpoint from the journal.
//!
//! # On disk
//!
//! `<out_dir>/_journal/segment_<run>_<20-digit seq>.wal`, one run per
//! [`JournalWriter::open`] (see [`SegmentId`] for why segment names never repeat). The `_` prefix hides the directory from
//! Hive-style dataset discovery (Spark, Arrow, DuckDB, polars and
//! [`dataset::list_files`] skip `_`/`.` names). A segment is:
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
//!    one writev(2) at once: from then on a process kill cannot lose it), then buffered;
//!    [`JournalWriter::sync`] asks for an fdatasync (on a thread) at least once a second,
//!    so a power cut loses at most that second.
//! 2. Checkpoint: [`JournalWriter::rotate`] closes the current segment *S* (on the same
//!    thread as ingest, with no frame in between, so the buffer holds exactly the rows of
//!    the closed segment). The buffer goes to a checkpoint task ([`crate::checkpoint`],
//!    off the ingest loop, which meanwhile journals into the next segment); the task writes
//!    it with [`segments_metadata`]`(&[S])` in each file's key-value metadata
//!    (`journal_segments=<id>,<id>…`), publishes it, and only then deletes *S*. If the write
//!    fails, *S* stays and the rows are retried (still tagged with *S* only) by the next
//!    checkpoint. If `rotate` fails, postpone the checkpoint (its rows would otherwise be
//!    published from a segment that keeps growing).
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
pub(crate) use writer::remove_segment;
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

/// One journal segment: the run of the recorder that wrote it and its number in that run.
///
/// # Why a run
///
/// A checkpoint file names the segments its rows came from ([`segments_metadata`]), and a
/// replay skips the rows of a segment that some file of their date partition names. That is
/// exact only if no two segments, ever, anywhere, have the same name: a recorder whose
/// numbering restarted at 0 after a clean stop (the journal directory is empty then) would
/// see its crashed run's segment 0 as published by the earlier run's file, and lose it. So
/// every [`JournalWriter::open`] draws a new [`RunId`] (the start time and random bits),
/// and a segment is named by both: `segment_<run: 16 hex>_<seq: 20 digits>.wal`, tagged
/// `<run>-<seq>` in footers. Segments of the earlier naming (`segment_<20 digits>.wal`,
/// tagged `<seq>`) are still read and replayed, as run [`RunId::LEGACY`].
///
/// Segments sort by run (so by the start time of their run), then by number: the order they
/// were written in, and the order they are replayed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentId {
    /// The recorder run that wrote the segment.
    pub run: RunId,
    /// The segment's number within its run, from 0.
    pub seq: u64,
}

/// A recorder run: the milliseconds of its start (42 bits, enough until the year 2109) and
/// 22 random bits, so two runs that start in the same millisecond, on one host or two, still
/// differ (by chance one in four million).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(pub u64);

impl RunId {
    /// The run of segments named before runs were (`segment_<20 digits>.wal`).
    pub const LEGACY: RunId = RunId(0);

    /// A new run starting at `now_ms` (ms since the Unix epoch), with random low bits.
    pub fn new(now_ms: i64) -> RunId {
        use std::hash::{BuildHasher, Hasher};
        // RandomState is seeded from the operating system's randomness once per process and
        // perturbed per instance: enough to tell runs apart, no dependency needed.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_i64(now_ms);
        hasher.write_u32(std::process::id());
        let random = hasher.finish() & ((1 << 22) - 1);
        let millis = u64::try_from(now_ms).unwrap_or(0) & ((1 << 42) - 1);
        RunId((millis << 22) | random).max(RunId(1))
    }
}

impl SegmentId {
    /// Segment `seq` of run `run`.
    pub fn new(run: RunId, seq: u64) -> SegmentId {
        SegmentId { run, seq }
    }

    /// The segment's file name: `segment_<run: 16 hex>_<seq: 20 digits>.wal`, or
    /// `segment_<20 digits>.wal` for a [legacy](RunId::LEGACY) one.
    pub fn file_name(self) -> String {
        if self.run == RunId::LEGACY {
            format!("segment_{:020}.wal", self.seq)
        } else {
            format!("segment_{:016x}_{:020}.wal", self.run.0, self.seq)
        }
    }

    /// The id of a segment file name; `None` for any other name.
    ///
    /// ```
    /// use record::journal::{RunId, SegmentId};
    /// let id = SegmentId::new(RunId(0x0196a4c2e1f3a7b9), 42);
    /// assert_eq!(id.file_name(), "segment_0196a4c2e1f3a7b9_00000000000000000042.wal");
    /// assert_eq!(SegmentId::parse(&id.file_name()), Some(id));
    /// let legacy = SegmentId::new(RunId::LEGACY, 42);
    /// assert_eq!(SegmentId::parse("segment_00000000000000000042.wal"), Some(legacy));
    /// assert_eq!(SegmentId::parse("segment_42.wal"), None);
    /// ```
    pub fn parse(name: &str) -> Option<SegmentId> {
        let stem = name.strip_prefix("segment_")?.strip_suffix(".wal")?;
        let (run, seq) = match stem.split_once('_') {
            None => (RunId::LEGACY, stem),
            Some((run, seq)) => {
                // Exactly as `file_name` spells it: 16 lower-case hex digits, not 0.
                let hex =
                    run.len() == 16 && run.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                let run = u64::from_str_radix(run, 16)
                    .ok()
                    .filter(|&r| hex && r != 0)?;
                (RunId(run), seq)
            }
        };
        if seq.len() != 20 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        seq.parse().ok().map(|seq| SegmentId { run, seq })
    }

    /// The token naming this segment in a checkpoint file's footer (see
    /// [`dataset::parse_segments`]): `<run: 16 hex>-<seq>`, or `<seq>` for a legacy one.
    ///
    /// ```
    /// use record::journal::{RunId, SegmentId};
    /// assert_eq!(SegmentId::new(RunId(0xab), 7).tag(), "00000000000000ab-7");
    /// assert_eq!(SegmentId::new(RunId::LEGACY, 7).tag(), "7");
    /// ```
    pub fn tag(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for SegmentId {
    /// The segment's [tag](SegmentId::tag), which is also how messages name it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.run == RunId::LEGACY {
            write!(f, "{}", self.seq)
        } else {
            write!(f, "{:016x}-{}", self.run.0, self.seq)
        }
    }
}

/// Errors of the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An I/O operation on `path` failed.
    #[error("journal {path}: {cause}", path = path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error (in the message, so not also the `source()`).
        cause: std::io::Error,
    },
    /// Writing the replayed rows to the dataset failed (the segments are kept).
    #[error("journal replay: {0}")]
    Store(dataset::TickError),
}

impl From<dataset::TickError> for JournalError {
    fn from(e: dataset::TickError) -> Self {
        JournalError::Store(e)
    }
}

impl JournalError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |cause| JournalError::Io { path, cause }
    }
}

/// CRC-32C of a record: its 4 length bytes, then the payload pieces in order.
pub(crate) fn record_crc(len: [u8; 4], payload: &[&[u8]]) -> u32 {
    payload.iter().fold(crc32c::crc32c(&len), |crc, part| {
        crc32c::crc32c_append(crc, part)
    })
}
