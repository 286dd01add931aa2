//! Merge passes: an hour with more parts than [`MergeLimits::fan_in`] is merged in rounds.
//!
//! Memory follows the number of parts read at once (one decoded batch plus the Parquet
//! reader's decompressed pages per part: ~2.2 MB each, measured by `benches/compact.rs`),
//! so a short `--checkpoint-secs` (720 parts an hour at 5 s) would make one k-way merge
//! hold gigabytes. Above `fan_in` parts, consecutive groups of `fan_in` parts are first
//! merged into hidden temporary files (`.<stem>p<pass>_<group>.parquet.tmp`, skipped by
//! readers, removed by [`recover`](super::recover) after a crash and here on every exit),
//! then those are merged, until one pass of at most `fan_in` inputs writes the hour's file.
//! Groups keep the parts' order, so rows equal in (symbol, event_time) keep the order a
//! single merge gives them. The parts are untouched until the caller publishes the result.

use parquet::file::properties::WriterProperties;

use super::merge::{merge_parts, Input, Merged};
use super::{CompactReport, MergeLimits};
use crate::{schema, Dataset, StagedFile, StagedWriter, TickError};

/// Where and how an hour is merged.
pub(super) struct Pass<'a> {
    /// The dataset and partition of the hour (intermediate files are staged for it).
    pub dataset: &'a Dataset,
    pub dir: &'a str,
    /// The stem of the hour's merged file names.
    pub stem: &'a str,
    pub props: &'a WriterProperties,
    pub limits: MergeLimits,
}

/// Merges `parts` (in order) into `writer`, in as many passes as `limits.fan_in` requires;
/// intermediate files are staged (never published) under names starting with `stem`.
/// Raises the report's `peak_buffered_rows` and `merge_passes`.
pub(super) fn merge_in_passes(
    ctx: &Pass<'_>,
    parts: &[Input],
    writer: StagedWriter,
    report: &mut CompactReport,
) -> Result<Merged, TickError> {
    let (stem, props, limits) = (ctx.stem, ctx.props, ctx.limits);
    let peak = &mut report.peak_buffered_rows;
    let fan_in = limits.fan_in.max(2);
    let mut temps = Temps(Vec::new());
    let mut inputs = parts.to_vec();
    let mut pass = 0;
    while inputs.len() > fan_in {
        pass += 1;
        let mut next = Vec::with_capacity(inputs.len().div_ceil(fan_in));
        for (group, paths) in inputs.chunks(fan_in).enumerate() {
            if let [single] = paths {
                next.push(single.clone());
                continue;
            }
            let name = format!("{stem}p{pass}_{group}.parquet");
            let w = StagedWriter::create(ctx.dataset, ctx.dir, &name, schema(), props, &[])?;
            match merge_parts(paths, w, limits.batch_rows, peak)? {
                Merged::Staged { staged, .. } => {
                    next.push(Input::Local(staged.tmp_path().to_owned()));
                    temps.0.push(staged);
                }
                Merged::Empty => {}
                skipped @ Merged::Skipped(_) => return Ok(skipped),
            }
        }
        inputs = next;
    }
    if inputs.is_empty() {
        return Ok(Merged::Empty);
    }
    let merged = merge_parts(&inputs, writer, limits.batch_rows, peak);
    report.merge_passes = report.merge_passes.max(pass + 1);
    merged
}

/// Intermediate files, removed whatever happens to the merge.
struct Temps(Vec<StagedFile>);

impl Drop for Temps {
    fn drop(&mut self) {
        for t in &self.0 {
            t.discard();
        }
    }
}
