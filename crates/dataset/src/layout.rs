//! The layout grammar of the dataset: every partition, file name and hour it knows, in one
//! place.
//!
//! ```text
//! ROOT/date=YYYY-MM-DD/miniticker_YYYYMMDD_HHMMSS_<seq:06>.parquet     checkpoint (UTC write time)
//! ROOT/date=YYYY-MM-DD/miniticker_YYYYMMDD_HH0000_h<seq:06>.parquet    an hour compacted
//! ROOT/_gaps/date=YYYY-MM-DD/gaps_YYYYMMDD_HHMMSS_<seq:06>.parquet     gaps, by start date
//! ROOT/_gaps/date=YYYY-MM-DD/gaps_YYYYMMDD_day_<seq:06>.parquet        a day of gaps compacted
//! .<name>.tmp                                                          staged, not yet published
//! ROOT/_uploads/<name>.<pid>.<nanos>.<seq>                             large file in parts, not yet copied
//! ```
//!
//! Ticks are partitioned by the UTC date of their `event_time`, gaps by the date they
//! started; files are named after the time they were written. Names starting with `.` or
//! `_` are hidden from readers (as Hive, Spark and DuckDB hide them).
//!
//! ```
//! use dataset::layout;
//! let date = chrono::NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
//! assert_eq!(layout::partition(date), "date=2024-01-02");
//! assert_eq!(layout::parse_partition("date=2024-01-02"), Some(date));
//! let now = chrono::DateTime::from_timestamp(1_704_067_260, 0).unwrap();
//! assert_eq!(layout::checkpoint_name(&layout::stamp(now), 7), "miniticker_20240101_000100_000007.parquet");
//! assert!(layout::is_merged("miniticker_20240101_230000_h000000.parquet"));
//! ```

use chrono::{DateTime, NaiveDate, NaiveDateTime, Timelike, Utc};

/// Directory of the gaps dataset inside the dataset.
pub const GAPS_DIR: &str = "_gaps";

/// Directory (object stores only) where a large file is uploaded in parts before it is
/// copied, create-only, to its name; hidden from readers like every `_` name.
pub const UPLOADS_DIR: &str = "_uploads";

/// The partition directory of a UTC date: `date=YYYY-MM-DD`.
pub fn partition(date: NaiveDate) -> String {
    format!("date={}", date.format("%Y-%m-%d"))
}

/// The date of a partition directory name.
pub fn parse_partition(name: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(name.strip_prefix("date=")?, "%Y-%m-%d").ok()
}

/// The UTC date of a time in ms since the epoch, `None` outside chrono's range.
pub fn date_of_ms(ms: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp_millis(ms).map(|t| t.date_naive())
}

/// The write-time stamp of file names: `YYYYMMDD_HHMMSS` (UTC).
pub fn stamp(now: DateTime<Utc>) -> String {
    now.format("%Y%m%d_%H%M%S").to_string()
}

/// A checkpoint file name.
pub fn checkpoint_name(stamp: &str, seq: u64) -> String {
    format!("miniticker_{stamp}_{seq:06}.parquet")
}

/// The stem of an hour's merged file names (`miniticker_YYYYMMDD_HH0000_h`).
pub fn merged_stem(hour: NaiveDateTime) -> String {
    hour.format("miniticker_%Y%m%d_%H0000_h").to_string()
}

/// A merged (compacted hour) file name.
pub fn merged_name(hour: NaiveDateTime, seq: u32) -> String {
    format!("{}{seq:06}.parquet", merged_stem(hour))
}

/// The hour of a `miniticker_YYYYMMDD_HHMMSS_*.parquet` name (checkpoint or merged).
pub fn hour_of(name: &str) -> Option<NaiveDateTime> {
    let stamp = name.strip_prefix("miniticker_")?.get(..15)?;
    let time = NaiveDateTime::parse_from_str(stamp, "%Y%m%d_%H%M%S").ok()?;
    time.date().and_hms_opt(time.hour(), 0, 0)
}

/// True for a merged file name (`…_HH0000_h<seq>.parquet`).
pub fn is_merged(name: &str) -> bool {
    hour_of(name).is_some()
        && name
            .strip_suffix(".parquet")
            .and_then(|s| s.rsplit_once("_h"))
            .is_some_and(|(_, seq)| !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit()))
}

/// A gaps file name.
pub fn gaps_name(stamp: &str, seq: u64) -> String {
    format!("gaps_{stamp}_{seq:06}.parquet")
}

/// A day file name of the gaps dataset.
pub fn gaps_day_name(day: NaiveDate, seq: u32) -> String {
    format!("{}{seq:06}.parquet", day.format("gaps_%Y%m%d_day_"))
}

/// True for the name of a day file of the gaps dataset.
pub fn is_gaps_day_file(name: &str) -> bool {
    name.starts_with("gaps_") && name.contains("_day_") && name.ends_with(".parquet")
}

/// The hidden name a file is staged under before it is published.
pub fn tmp_name(name: &str) -> String {
    format!(".{name}.tmp")
}

/// True for a staged (temporary) file name.
pub fn is_tmp(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// True for a name readers skip (`.` or `_` first).
pub fn is_hidden(name: &str) -> bool {
    name.starts_with(['.', '_'])
}

/// True for the key of a file readers see: a `.parquet` file under no hidden directory.
pub fn is_visible_file(key: &str) -> bool {
    key.ends_with(".parquet") && !key.split('/').any(is_hidden)
}

/// `dir/name`, or `name` at the root.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let h = |s| hour_of(s).map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string());
        assert_eq!(
            h("miniticker_20240101_235959_000003.parquet").as_deref(),
            Some("2024-01-01 23:00:00")
        );
        assert_eq!(
            h("miniticker_20240101_230000_h000000.parquet").as_deref(),
            Some("2024-01-01 23:00:00")
        );
        assert_eq!(h("miniticker_2024010_230000_1.parquet"), None);
        assert_eq!(h("gaps_20240101_230000_000001.parquet"), None);
        assert!(is_merged("miniticker_20240101_230000_h000000.parquet"));
        assert!(!is_merged("miniticker_20240101_230000_000000.parquet"));
        assert!(!is_merged("miniticker_20240101_230000_h.parquet"));
        assert!(is_visible_file("date=2024-01-01/a.parquet"));
        assert!(!is_visible_file("_gaps/date=2024-01-01/a.parquet"));
        assert!(!is_visible_file("date=2024-01-01/.a.parquet.tmp"));
        assert_eq!(parse_partition("date=2024-13-01"), None);
        assert!(is_gaps_day_file("gaps_20240101_day_000000.parquet"));
        assert!(is_tmp(&tmp_name("x.parquet")));
    }
}
