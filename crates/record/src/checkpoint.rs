//! Checkpoints off the ingest path: the hand-off of rotated rows to a writer task.
//!
//! A checkpoint has a cheap part that must happen between two frames and an expensive part
//! that must not hold frames up:
//!
//! 1. [`Recorder::start_checkpoint`](crate::Recorder::start_checkpoint), on the ingest loop:
//!    rotates the journal and takes the buffered rows and gaps (exactly those of the closed
//!    segments, since no frame comes in between) into a [`CheckpointJob`]. It returns a
//!    [`CheckpointTask`] holding the job, any earlier job that failed, and the writers.
//! 2. [`CheckpointTask::run`], anywhere (the session runs it with
//!    `tokio::task::spawn_blocking`): Parquet encode, publish, gaps, and only once all of a
//!    job's files are durable, the deletion of that job's journal segments. Meanwhile the
//!    loop keeps journaling frames into the new segment and buffering them.
//! 3. [`Recorder::finish_checkpoint`](crate::Recorder::finish_checkpoint), back on the loop:
//!    counts what was published and keeps what failed for the next checkpoint.
//!
//! Exactly-once still holds ([`crate::journal`]): each job's files are tagged with its own
//! segments only, so a job that fails never hides another job's rows from a replay, and a
//! segment is deleted only after every row and gap it holds is published. Only one task is
//! out at a time; memory is the live buffer plus the task's rows (plus failed jobs while
//! storage fails, as before).
//!
//! ```
//! use chrono::Utc;
//! let dir = tempfile::tempdir().unwrap();
//! let (mut rec, _) = record::Recorder::open(dir.path(), Utc::now()).unwrap();
//! let frame = r#"{"e":"24hrMiniTicker","E":1764547200000,"s":"BTCUSDT","c":"1","o":"1","h":"1","l":"1","v":"1","q":"1"}"#;
//! let decoded = binance::decode_elements_spanned(frame).unwrap();
//! let binance::Message::MiniTickers(t) = decoded.message else { unreachable!() };
//! rec.ingest_message(1, 1_764_547_200_100, frame, t, decoded.spans).unwrap();
//! let task = rec.start_checkpoint(Utc::now()).unwrap();
//! // ... the loop goes on recording while another thread runs the task ...
//! let done = std::thread::spawn(move || task.run()).join().unwrap();
//! assert_eq!(rec.finish_checkpoint(done).unwrap().len(), 1);
//! assert_eq!((rec.pending(), rec.rows_written()), (0, 1));
//! ```

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use dataset::{Dataset, DatasetWriter, TickBuffer};

use dataset::gaps::GapWriter;

use crate::gaps::Gap;
use crate::journal::{self, SegmentId};
use crate::RecordError;

/// The rows and gaps of some closed journal segments, to be published together.
#[derive(Debug)]
pub struct CheckpointJob {
    /// Rows not yet published (emptied once they are).
    pub(crate) rows: TickBuffer,
    /// Gaps not yet published (emptied once they are).
    pub(crate) gaps: Vec<Gap>,
    /// The journal segments the rows and gaps came from (none without a journal).
    pub(crate) segments: Vec<SegmentId>,
    /// When its oldest row was buffered (`None`: no rows), for the age of what waits.
    pub(crate) since: Option<std::time::Instant>,
}

impl CheckpointJob {
    /// Rows still to publish.
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// Bytes of memory held by the rows.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.rows.memory_bytes()
    }
}

/// The writers a checkpoint needs: they travel with the task and come back with it.
#[derive(Debug)]
pub(crate) struct Writers {
    pub(crate) ticks: DatasetWriter,
    pub(crate) gaps: GapWriter,
    /// The journal directory, when there is a journal (files are then tagged with the
    /// segments, which are deleted once published).
    pub(crate) journal_dir: Option<PathBuf>,
}

impl Writers {
    /// New writers for `dataset`, tagging files with journal segments when `journal_dir`
    /// is given.
    pub(crate) fn for_dataset(dataset: &Dataset, journal_dir: Option<PathBuf>) -> Self {
        Writers {
            ticks: DatasetWriter::for_dataset(dataset.clone()),
            gaps: GapWriter::for_dataset(dataset),
            journal_dir,
        }
    }
}

/// A checkpoint to run off the ingest loop (see the [module docs](self)).
#[derive(Debug)]
#[must_use = "run the task and hand its result to Recorder::finish_checkpoint"]
pub struct CheckpointTask {
    pub(crate) writers: Writers,
    /// Earlier failed jobs first, then the new one.
    pub(crate) jobs: Vec<CheckpointJob>,
    pub(crate) now: DateTime<Utc>,
}

/// What [`CheckpointTask::run`] did; hand it to
/// [`Recorder::finish_checkpoint`](crate::Recorder::finish_checkpoint).
#[derive(Debug)]
#[must_use = "hand it to Recorder::finish_checkpoint"]
pub struct CheckpointDone {
    pub(crate) writers: Writers,
    /// Files published, in order.
    pub(crate) files: Vec<PathBuf>,
    /// Rows in those files.
    pub(crate) rows: usize,
    /// Jobs not (wholly) published: retried at the next checkpoint.
    pub(crate) left: Vec<CheckpointJob>,
    /// Emptied row buffers, for reuse.
    pub(crate) spare: Vec<TickBuffer>,
    /// The first failure, if any.
    pub(crate) error: Option<RecordError>,
}

impl CheckpointTask {
    /// Rows the task is to publish.
    pub fn rows(&self) -> usize {
        self.jobs.iter().map(CheckpointJob::rows).sum()
    }

    /// Publishes the jobs in order (blocking: Parquet encode, fsyncs), deleting each job's
    /// journal segments once its rows and gaps are durable. Stops at the first failure; the
    /// failed job and those after it come back in [`CheckpointDone`] for the next try.
    pub fn run(self) -> CheckpointDone {
        let CheckpointTask {
            mut writers,
            jobs,
            now,
        } = self;
        let started = std::time::Instant::now();
        let mut out = Published::default();
        let mut error = None;
        let mut jobs = jobs.into_iter();
        for mut job in jobs.by_ref() {
            if let Err(e) = write_job(&mut writers, &mut job, now, &mut out) {
                out.left.push(job);
                error = Some(e);
                break;
            }
            out.spare.push(job.rows);
        }
        out.left.extend(jobs);
        crate::metrics::checkpoint(started.elapsed(), out.rows, &out.files, error.is_none());
        CheckpointDone {
            writers,
            files: out.files,
            rows: out.rows,
            left: out.left,
            spare: out.spare,
            error,
        }
    }
}

/// What a task has published so far.
#[derive(Default)]
struct Published {
    files: Vec<PathBuf>,
    rows: usize,
    left: Vec<CheckpointJob>,
    spare: Vec<TickBuffer>,
}

impl CheckpointDone {
    /// Files published by the task.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Rows in the files published by the task.
    pub fn rows(&self) -> usize {
        self.rows
    }
}

/// Publishes one job: its rows, then its gaps (both tagged with its segments), then deletes
/// its segments. What is published is counted in `done` and removed from the job, so a
/// retry publishes only the rest.
fn write_job(
    writers: &mut Writers,
    job: &mut CheckpointJob,
    now: DateTime<Utc>,
    done: &mut Published,
) -> Result<(), RecordError> {
    let tags = match writers.journal_dir {
        Some(_) => vec![journal::segments_metadata(&job.segments)],
        None => Vec::new(),
    };
    if !job.rows.is_empty() {
        let rows = job.rows.len();
        let paths = writers
            .ticks
            .write_checkpoint_with(&job.rows, now, &tags)
            .map_err(|cause| RecordError::Checkpoint { rows, cause })?;
        job.rows.clear();
        done.rows += rows;
        done.files.extend(paths);
    }
    // The gaps go out, tagged like the ticks, before the segments holding them go.
    if !job.gaps.is_empty() {
        writers
            .gaps
            .write_with(&job.gaps, now, &tags)
            .map_err(RecordError::Gaps)?;
        job.gaps.clear();
    }
    if let Some(dir) = &writers.journal_dir {
        for segment in job.segments.drain(..) {
            // Published: a leftover segment would only be skipped by the next replay.
            if let Err(e) = journal::remove_segment(dir, segment) {
                log::warn!("{e}");
            }
        }
    }
    Ok(())
}
