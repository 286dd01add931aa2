//! What the recorder prints and logs: the per-second status line and the session's events
//! as they happen ([`progress`]), and the reports at the end ([`summary`], [`published`]).
//!
//! Two channels, on purpose. Stdout carries the lines the contract fixes (`Total Symbols
//! recorded: N` every second, `saving data`, the exit summary), which scripts read; the log
//! (stderr and the log file) carries the diagnostics: recovery after a crash, checkpoints,
//! compactions, connections and gaps. Nothing here decides anything: it only words what
//! `record` reports.

use std::path::PathBuf;

use record::journal::Damage;
use record::{Progress, Summary};

/// Shows one [`Progress`] report; `extended` (`--status`) adds events, pending rows,
/// coverage and duplicates to the status line.
pub fn progress(progress: Progress, extended: bool) {
    let now = || chrono::Local::now().format("%H:%M:%S");
    match progress {
        Progress::Status {
            symbols,
            events,
            pending,
            coverage,
            duplicates,
            ..
        } if extended => println!(
            "{} Total Symbols recorded: {symbols} | events {events} | pending {pending} | coverage {coverage:.2}% | duplicates {duplicates}",
            now()
        ),
        Progress::Status { symbols, .. } => println!("{} Total Symbols recorded: {symbols}", now()),
        Progress::Recovered(startup) => recovered(&startup),
        Progress::Checkpoint { files, rows } => {
            log::info!("checkpoint: {rows} rows -> {}", display_paths(&files))
        }
        Progress::CheckpointFailed(e) => log::error!("{e}"),
        Progress::Compacted(report) => log::info!(
            "compacted {} files ({} rows) into {}",
            report.parts_removed,
            report.rows,
            display_paths(&report.merged)
        ),
        Progress::Connected { conn_id } => log::info!("connected (connection {conn_id})"),
        Progress::FeedLost { conn_id, reason } => {
            log::warn!("connection {conn_id} lost: {reason}; reconnecting")
        }
        Progress::Gap(gap) => log::warn!(
            "no live feed for {:.1} s ({})",
            (gap.end_ms - gap.start_ms) as f64 / 1000.0,
            gap.reason
        ),
        Progress::Malformed(e) => log::warn!("skipped a malformed frame: {e}"),
        Progress::Rejected { conn_id, element } => {
            log::warn!("connection {conn_id}: kept the rest of the frame, {element}")
        }
        Progress::Saving => println!("saving data"),
    }
}

/// The start-up report: what was recovered from an earlier run's journal (and the damage
/// found in it), how long the recorder was down, and an interrupted compaction finished.
/// Silent when there was nothing to repair.
fn recovered(startup: &record::Startup) {
    let r = &startup.replay;
    if !r.segments.is_empty() {
        log::warn!(
            "recovered {} rows from the journal of an earlier run ({} already published) into {}",
            r.rows_written,
            r.rows_already_published,
            display_paths(&r.files)
        );
    }
    for damage in r.segments.iter().flat_map(|s| &s.damage) {
        match damage {
            Damage::TornTail {
                segment,
                offset,
                bytes_dropped,
            } => log::warn!(
                "journal segment {segment}: torn last record at byte {offset} ({bytes_dropped} bytes dropped)"
            ),
            Damage::Corrupt {
                segment,
                offset,
                bytes_dropped,
                reason,
            } => log::warn!(
                "journal segment {segment}: {reason} at byte {offset} ({bytes_dropped} bytes dropped)"
            ),
        }
    }
    if let Some(gap) = &startup.not_running {
        log::warn!(
            "no feed for {:.1} s before this start ({})",
            (gap.end_ms - gap.start_ms) as f64 / 1000.0,
            gap.reason
        );
    }
    let c = &startup.compaction;
    if c.tmp_removed + c.parts_removed > 0 {
        log::warn!(
            "finished an interrupted compaction ({} parts, {} temporary files removed)",
            c.parts_removed,
            c.tmp_removed
        );
    }
}

/// The exit summary of a session that saved everything: what was saved (stdout), the
/// feed's coverage (stdout), and what was recorded and skipped (log).
pub fn summary(summary: &Summary) {
    saved(summary);
    println!(
        "Coverage: {:.2}% of {:.1} s with a live feed ({} gaps, {} duplicates dropped)",
        summary.coverage,
        summary.wall.as_secs_f64(),
        summary.gaps,
        summary.duplicates
    );
    log::info!(
        "recorded {} events of {} symbols into {} files ({} malformed frames and {} bad elements skipped, {} events quarantined)",
        summary.events,
        summary.symbols,
        summary.files,
        summary.malformed,
        summary.rejected,
        summary.quarantined
    );
}

/// The contract's line (the last file, N = the run's symbols), then the run's files and
/// rows so that N is not read as that file's rows; with nothing written, says so.
fn saved(summary: &Summary) {
    let dir = summary.out_dir.display();
    match &summary.last_file {
        Some(last) => {
            println!(
                "Total no. of symbol data saved in file '{}': {}",
                last.display(),
                summary.symbols
            );
            println!(
                "Saved in this run: {} files, {} rows of {} symbols, in '{dir}'",
                summary.files, summary.rows, summary.symbols
            );
        }
        None => {
            println!("No symbol data saved: nothing was recorded in this run (dataset '{dir}')")
        }
    }
}

/// What `--publish` did over the run (log).
pub fn published(s: &bus::PublishStats) {
    log::info!(
        "NATS: {} messages published ({} copies the stream already had), {} dropped, {} failed attempts retried",
        s.published,
        s.duplicates,
        s.dropped,
        s.failed_attempts
    );
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
