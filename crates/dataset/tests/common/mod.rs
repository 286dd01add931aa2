//! Shared helpers of the compaction tests: the hour, dataset reads and directory copies.

#![allow(dead_code)] // each test file uses part of the helpers

use std::fs;
use std::path::Path;

use chrono::{DateTime, Utc};
use dataset::{read_dataset, rows, OwnedTick};

pub const HOUR: i64 = 3_600_000;
/// 2024-01-01 22:00:00 UTC.
pub const T0: i64 = 1_704_146_400_000;

pub fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

/// Every row of the dataset, sorted by (symbol, event_time).
pub fn dataset(out: &Path) -> Vec<OwnedTick> {
    let mut all: Vec<OwnedTick> = read_dataset(out)
        .unwrap()
        .iter()
        .flat_map(|b| rows(b).unwrap())
        .collect();
    all.sort_by(|a, b| {
        (&a.symbol, a.event_time)
            .partial_cmp(&(&b.symbol, b.event_time))
            .unwrap()
    });
    all
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Hidden files (temporary names) in the partitions of `out`.
pub fn hidden_files(out: &Path) -> usize {
    fs::read_dir(out)
        .unwrap()
        .flat_map(|d| fs::read_dir(d.unwrap().path()).unwrap())
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count()
}
