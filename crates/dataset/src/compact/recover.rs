//! [`recover`]: finishing or undoing a compaction interrupted by a crash (see the crash
//! safety section of the [module docs](super)).

use std::collections::HashSet;
use std::path::Path;

use super::super::tags::listed;
use crate::handle::FileEntry;
use crate::COMPACTED_FROM_KEY;
use crate::{layout, Dataset, TickError};

/// What [`recover`] cleaned up.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoverReport {
    /// Leftover temporary files removed (object stores: spool files, and staging objects
    /// of large uploads under `_uploads/`).
    pub tmp_removed: usize,
    /// Parts removed because a published merged file holds their rows.
    pub parts_removed: usize,
}

/// Finishes or undoes interrupted compactions in the dataset directory `out_dir`
/// ([`Dataset::recover`]).
///
/// # Errors
///
/// As [`Dataset::recover`].
pub fn recover(out_dir: &Path) -> Result<RecoverReport, TickError> {
    Dataset::local(out_dir).recover()
}

impl Dataset {
    /// Finishes or undoes interrupted compactions: removes leftover temporary files
    /// (`.<name>.tmp` in the partitions of a local dataset; on an object store those of the
    /// spool directory and the staging objects of interrupted large uploads, `_uploads/…`)
    /// and every part still present beside a merged file that lists it, in
    /// the tick partitions and in those of the gaps dataset (day files of
    /// [`compact_closed_days`](crate::gaps::compact_closed_days)). Run it at
    /// start-up, before anything writes into the dataset, and only in the dataset's one
    /// writer (on an object store the lease holder): it would take a file being written for
    /// a leftover.
    ///
    /// Only merged files that share their hour (or, for gaps, their day) with another file
    /// can have leftover parts, so only their footers are read: recovery costs a listing,
    /// not a read of every file.
    ///
    /// # Errors
    ///
    /// [`TickError::Io`] / [`TickError::Object`] when listing, reading a footer or removing
    /// a leftover fails; [`TickError::Parquet`] for a footer that does not decode. What was
    /// done so far stays done; the next start goes on.
    pub fn recover(&self) -> Result<RecoverReport, TickError> {
        let mut report = RecoverReport::default();
        if let Some(spool) = self.spool_dir() {
            report.tmp_removed += remove_tmp_files(spool)?;
        }
        report.tmp_removed += self.clear_staging()?;
        for partition in self.partitions()? {
            self.recover_partition(&partition, Kind::Ticks, &mut report)?;
        }
        let gaps = self.child(layout::GAPS_DIR);
        for partition in gaps.partitions()? {
            gaps.recover_partition(&partition, Kind::Gaps, &mut report)?;
        }
        Ok(report)
    }

    /// [`recover`](Self::recover) in one date partition.
    fn recover_partition(
        &self,
        partition: &str,
        kind: Kind,
        report: &mut RecoverReport,
    ) -> Result<(), TickError> {
        if let Some(root) = self.local_root() {
            report.tmp_removed += remove_tmp_files(&root.join(partition))?;
        }
        let files: Vec<FileEntry> = (self.files(partition)?.into_iter())
            .filter(|f| f.dir() == partition)
            .collect();
        let names: HashSet<&str> = files.iter().map(FileEntry::name).collect();
        for merged in files.iter().filter(|f| kind.is_merged(f.name())) {
            let has_company = match kind {
                Kind::Ticks => {
                    let hour = layout::hour_of(merged.name());
                    names
                        .iter()
                        .any(|n| *n != merged.name() && layout::hour_of(n) == hour)
                }
                Kind::Gaps => names.len() > 1,
            };
            if !has_company {
                continue;
            }
            let kvs = match self.footer(merged) {
                Ok(kvs) => kvs,
                Err(e) => {
                    log::warn!("footer unreadable, skipped: {e}");
                    continue;
                }
            };
            for part in listed(&kvs, COMPACTED_FROM_KEY) {
                if part == merged.name() || part.contains(['/', '\\']) || !names.contains(part) {
                    continue;
                }
                let key = layout::join(partition, part);
                log::info!(
                    "compaction recovery: {} is in {}, removed",
                    self.location(&key).display(),
                    merged.name()
                );
                self.delete(&key)?;
                report.parts_removed += 1;
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Ticks,
    Gaps,
}

impl Kind {
    fn is_merged(self, name: &str) -> bool {
        match self {
            Kind::Ticks => layout::is_merged(name),
            Kind::Gaps => layout::is_gaps_day_file(name),
        }
    }
}

/// Removes the staged (`.<name>.tmp`) files directly in `dir`; returns how many.
fn remove_tmp_files(dir: &Path) -> Result<usize, TickError> {
    let names = Dataset::local(dir).dir_names("")?.1;
    let mut removed = 0;
    for name in names.iter().filter(|n| layout::is_tmp(n)) {
        let path = dir.join(name);
        std::fs::remove_file(&path).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(TickError::io(&path)(e)),
        })?;
        removed += 1;
    }
    Ok(removed)
}
