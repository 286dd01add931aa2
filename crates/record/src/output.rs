//! [`Output`]: where a recorder writes — the dataset (a local directory or an object store,
//! [`dataset::Dataset`]) and the write-ahead journal, which is always local (an object
//! store cannot fsync an append).
//!
//! A local out-dir keeps its journal at `<out-dir>/_journal` unless told otherwise; a
//! dataset on an object store needs a local journal directory (the recorder's default is
//! `./journal`). Both are locked for the recorder's life, so two recorders never share a
//! journal or a dataset: a local dataset by an exclusive lock on `<out-dir>/_journal/.lock`
//! (as ever), a journal elsewhere by `<journal-dir>/.lock`.
//!
//! The journal's lock can be taken early ([`Output::lock_journal`]), before the recorder
//! opens: the binary takes it before the object-store lease, because holding it is what
//! proves that the previous recorder of this journal (named in `<journal-dir>/lease_owner`)
//! is gone, and so that its lease may be taken over at once (`dataset::lease`).
//!
//! # Opening an out-dir
//!
//! [`open`] does all of that from what a user names (`--out-dir`, `--journal-dir`): a local
//! directory is used as it is; a URL such as `s3://bucket/prefix` is reached and probed,
//! the journal locked, the prefix's lease taken and renewed in the background, and every
//! publish guarded by it ([`Opened`]).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dataset::lease::{self, Lease, LeaseConfig, LeaseKeeper, LeaseStatus, Owner};
use dataset::location::{connect_s3, OutDir};
use dataset::Dataset;

use crate::{journal, RecordError};

/// Where a dataset on an object store keeps its journal when not told: `./journal`.
pub const DEFAULT_S3_JOURNAL: &str = "journal";

/// An [`Output`] opened by [`open`], with the object-store lease it holds (if any), to be
/// [released](Opened::release) at the end.
#[derive(Debug)]
pub struct Opened {
    /// Where to record.
    pub output: Output,
    lease: Option<LeaseKeeper>,
}

impl Opened {
    /// Releases the object-store lease (a no-op for a local directory), so that the next
    /// recorder starts at once; a failure is logged (the lease then expires by itself).
    pub async fn release(self) {
        if let Some(keeper) = self.lease {
            if let Err(e) = keeper.release().await {
                log::warn!("releasing the dataset's lease: {e}");
            }
        }
    }
}

/// Opens `out_dir` for recording, its journal in `journal_dir` (default: `<out-dir>/_journal`
/// for a local directory, [`DEFAULT_S3_JOURNAL`] for an object store).
///
/// On an object store: connects and probes it, takes the journal's lock, then the
/// prefix's lease (at once from the recorder this journal names as its predecessor, see
/// `dataset::lease`), notes the lease's owner in the journal, keeps the lease renewed
/// in the background and makes every publish ask it ([`Output::guard`]).
///
/// # Errors
///
/// [`RecordError::Open`] when the object store cannot be reached or its lease is held by
/// another recorder; [`RecordError::OutDir`] when the journal directory cannot be locked.
pub async fn open(out_dir: OutDir, journal_dir: Option<PathBuf>) -> Result<Opened, RecordError> {
    let (bucket, prefix) = match out_dir {
        OutDir::Local(dir) => {
            let mut output = Output::local(dir);
            if let Some(journal) = journal_dir {
                output.journal_dir = journal;
            }
            return Ok(Opened {
                output,
                lease: None,
            });
        }
        OutDir::S3 { bucket, prefix } => (bucket, prefix),
    };
    let url = OutDir::S3 {
        bucket: bucket.clone(),
        prefix: prefix.clone(),
    }
    .to_string();
    let open_err = |e: &dyn std::fmt::Display| RecordError::Open(e.to_string());
    let (store, _) = connect_s3(&bucket, &prefix)
        .await
        .map_err(|e| open_err(&e))?;
    let journal = journal_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_S3_JOURNAL));
    let dataset =
        Dataset::object(store.clone(), &prefix, url.clone()).with_spool(journal.join("_spool"));
    let mut output = Output::new(dataset, journal.clone(), &url);
    // The journal's lock before the lease: holding it proves that the recorder named in
    // `<journal>/lease_owner` is gone, so its lease is taken over without waiting.
    output.lock_journal()?;
    let predecessor = lease::read_predecessor(&journal);
    let owner = Owner::this_process();
    let lease = Lease::acquire(
        store,
        &prefix,
        owner.clone(),
        LeaseConfig::default(),
        predecessor.as_deref(),
    )
    .await
    .map_err(|e| open_err(&e))?;
    if let Err(e) = lease::remember_owner(&journal, &owner) {
        log::warn!(
            "{}: cannot note the lease's owner (a restart after a crash will wait for the lease to expire): {e}",
            journal.display()
        );
    }
    let keeper = LeaseKeeper::spawn(lease);
    let status = keeper.watch();
    output.guard = Some(WriteGuard::new(move || match &*status.borrow() {
        s if s.may_write() => Ok(()),
        LeaseStatus::Lost { error } => Err(error.clone()),
        _ => Err(format!("the lease of {url} has expired during an outage")),
    }));
    Ok(Opened {
        output,
        lease: Some(keeper),
    })
}

/// Where a recorder writes: the dataset (a local directory or an object store) and the
/// write-ahead journal (always local), both locked for the recorder's life.
#[derive(Debug, Clone)]
pub struct Output {
    /// The dataset.
    pub dataset: Dataset,
    /// The local journal directory.
    pub journal_dir: PathBuf,
    /// The dataset as users name it (a path, or a URL such as `s3://bucket/prefix`).
    pub name: PathBuf,
    /// Asked before every publish (checkpoint, compaction); `None`: always allowed.
    pub guard: Option<WriteGuard>,
    /// The journal directory's lock when taken early ([`Output::lock_journal`]); shared by
    /// the clones, released when the last one is dropped.
    journal_lock: Option<Arc<File>>,
}

/// Whether this recorder may write into the dataset now, e.g. while it holds the lease of
/// an object-store prefix (`dataset::lease`). When it says no, checkpoints fail and
/// keep their rows journaled and buffered, and compaction waits.
#[derive(Clone)]
pub struct WriteGuard(Arc<dyn Fn() -> Result<(), String> + Send + Sync>);

impl WriteGuard {
    /// A guard asking `check`: `Err(why)` refuses the write.
    pub fn new(check: impl Fn() -> Result<(), String> + Send + Sync + 'static) -> Self {
        WriteGuard(Arc::new(check))
    }

    /// Asks it.
    ///
    /// # Errors
    ///
    /// `Err(why)` when the check refuses writing now; `why` is the check's own reason.
    pub fn check(&self) -> Result<(), String> {
        (self.0)()
    }
}

impl std::fmt::Debug for WriteGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteGuard")
    }
}

impl Output {
    /// The dataset in the local directory `out_dir`, journal in `<out_dir>/_journal`.
    pub fn local(out_dir: impl Into<PathBuf>) -> Self {
        let out_dir = out_dir.into();
        Output {
            dataset: Dataset::local(&out_dir),
            journal_dir: journal::dir(&out_dir),
            name: out_dir,
            guard: None,
            journal_lock: None,
        }
    }

    /// `dataset`, journaled in `journal_dir`; `name` names it in messages and the summary.
    pub fn new(
        dataset: Dataset,
        journal_dir: impl Into<PathBuf>,
        name: impl Into<PathBuf>,
    ) -> Self {
        Output {
            dataset,
            journal_dir: journal_dir.into(),
            name: name.into(),
            guard: None,
            journal_lock: None,
        }
    }

    /// Whether the [guard](Self::guard) allows writing now.
    ///
    /// # Errors
    ///
    /// [`RecordError::NotAllowed`] with the guard's reason when it refuses (no guard: never).
    pub fn may_write(&self) -> Result<(), RecordError> {
        match &self.guard {
            Some(guard) => guard.check().map_err(RecordError::NotAllowed),
            None => Ok(()),
        }
    }

    /// Takes the journal directory's lock now (creating the directory) and keeps it in this
    /// output and its clones: a recorder opened on it later does not lock it again. For a
    /// journal outside a local dataset (a dataset on an object store); a no-op when taken
    /// already.
    ///
    /// # Errors
    ///
    /// [`RecordError::OutDir`] when the directory cannot be created or locked, or another
    /// recorder holds it.
    pub fn lock_journal(&mut self) -> Result<(), RecordError> {
        if self.journal_lock.is_none() {
            self.journal_lock = Some(Arc::new(self.lock_journal_dir()?));
        }
        Ok(())
    }

    /// An exclusive lock on the journal directory (outside a local dataset).
    fn lock_journal_dir(&self) -> Result<File, RecordError> {
        let err = |reason: String| RecordError::OutDir {
            path: self.journal_dir.clone(),
            reason: format!("journal directory: {reason}"),
        };
        if self.journal_dir.is_file() {
            return Err(err("it is a file, not a directory".to_string()));
        }
        lock_file(&self.journal_dir, err)
    }

    /// Takes the locks of the dataset and the journal directory (creating them) unless
    /// [taken early](Self::lock_journal); released when the returned files (and this
    /// output's clones) are dropped, or with the process, even on SIGKILL.
    pub(crate) fn lock(&self) -> Result<Vec<File>, RecordError> {
        let mut locks = Vec::new();
        let default_journal = self.dataset.local_root().map(journal::dir);
        if let Some(root) = self.dataset.local_root() {
            let err = |reason: String| RecordError::OutDir {
                path: root.to_path_buf(),
                reason,
            };
            if root.is_file() {
                return Err(err("it is a file, not a directory".to_string()));
            }
            locks.push(lock_file(&journal::dir(root), err)?);
        }
        if default_journal.as_deref() != Some(self.journal_dir.as_path())
            && self.journal_lock.is_none()
        {
            locks.push(self.lock_journal_dir()?);
        }
        Ok(locks)
    }
}

/// An exclusive lock on `dir/.lock`.
fn lock_file(dir: &Path, err: impl Fn(String) -> RecordError) -> Result<File, RecordError> {
    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))
        .map_err(|e| err(e.to_string()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(err("another recorder is already writing to it".to_string()))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(err(format!("cannot lock it: {e}"))),
    }
}
