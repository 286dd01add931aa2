//! [`recover`]: finishing or undoing a compaction interrupted by a crash (see the crash
//! safety section of the [module docs](super)).

use std::path::Path;

use store::ticks::TickError;

use super::{entry_names, is_merged, partitions, remove, COMPACTED_FROM_KEY};
use crate::gaps;
use crate::journal::replay::footer_metadata;

/// What [`recover`] cleaned up.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoverReport {
    /// Leftover temporary files removed.
    pub tmp_removed: usize,
    /// Parts removed because a published merged file holds their rows.
    pub parts_removed: usize,
}

/// Finishes or undoes interrupted compactions in the dataset `out_dir`: removes leftover
/// temporary files (`.<name>.tmp`) and every part still present beside a merged file that
/// lists it, in the tick partitions and in those of the gaps dataset (day files of
/// [`compact_closed_days`](crate::gaps::compact_closed_days)). Run it at start-up, before
/// anything writes into the dataset (it would take a checkpoint being written for a
/// leftover).
pub fn recover(out_dir: &Path) -> Result<RecoverReport, TickError> {
    let mut report = RecoverReport::default();
    for partition in partitions(out_dir)? {
        recover_partition(&partition, is_merged, &mut report)?;
    }
    for partition in partitions(&out_dir.join(gaps::DIR_NAME))? {
        recover_partition(&partition, gaps::is_day_file, &mut report)?;
    }
    Ok(report)
}

/// [`recover`] in one date partition, whose merged files are those `merged_name` accepts.
fn recover_partition(
    partition: &Path,
    merged_name: fn(&str) -> bool,
    report: &mut RecoverReport,
) -> Result<(), TickError> {
    let names = entry_names(partition)?;
    for name in names
        .iter()
        .filter(|n| n.starts_with('.') && n.ends_with(".tmp"))
    {
        remove(&partition.join(name))?;
        report.tmp_removed += 1;
    }
    for merged in names.iter().filter(|n| merged_name(n)) {
        let path = partition.join(merged);
        let kvs = match footer_metadata(&path) {
            Ok(kvs) => kvs,
            Err(e) => {
                log::warn!("{}: footer unreadable, skipped: {e}", path.display());
                continue;
            }
        };
        let listed = kvs.iter().filter(|kv| kv.key == COMPACTED_FROM_KEY);
        for part in listed.flat_map(|kv| kv.value.as_deref().unwrap_or("").split(',')) {
            let part_path = partition.join(part);
            if part.is_empty()
                || part == merged
                || part.contains(['/', '\\'])
                || !part_path.exists()
            {
                continue;
            }
            log::info!(
                "compaction recovery: {} is in {merged}, removed",
                part_path.display()
            );
            remove(&part_path)?;
            report.parts_removed += 1;
        }
    }
    Ok(())
}
