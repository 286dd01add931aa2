//! The footer tags of the dataset's files: key-value metadata that makes publishing and
//! compaction exactly-once.
//!
//! | key | value | written by |
//! |---|---|---|
//! | [`SEGMENTS_KEY`] `journal_segments` | decimal journal segment ids, comma-separated | the recorder's checkpoints (and journal replay); compaction carries the union of its parts' |
//! | [`COMPACTED_FROM_KEY`] `compacted_from` | file names of the parts, comma-separated | compaction (ticks and gaps) |
//!
//! A file tagged with segment *S* in partition *D* proves that the rows of *S* dated *D*
//! are published (the recorder's journal replay relies on it); a merged file listing a
//! part proves that the part's rows are in it (compaction recovery relies on it).

use std::collections::HashSet;

use parquet::file::metadata::{KeyValue, ParquetMetaDataReader};

use super::{Dataset, TickError};
use crate::handle::FileEntry;

/// Key of the footer entry naming the journal segments a file's rows came from.
pub const SEGMENTS_KEY: &str = "journal_segments";

/// Key of a merged file's footer entry listing its parts (comma-separated names).
pub const COMPACTED_FROM_KEY: &str = "compacted_from";

/// One key-value entry of a file's footer: what the writers take
/// ([`DatasetWriter::write_checkpoint_with`](crate::DatasetWriter::write_checkpoint_with),
/// [`write_new_file`](crate::write_new_file), the gaps writer) and what
/// [`Dataset::footer`] gives back. The dataset's own keys are [`SEGMENTS_KEY`] and
/// [`COMPACTED_FROM_KEY`]; any other key is kept as it is.
///
/// ```
/// let tag = dataset::FooterTag::new("source", "replay");
/// assert_eq!((tag.key(), tag.value()), ("source", Some("replay")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FooterTag(KeyValue);

impl FooterTag {
    /// The entry `key` = `value`.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> FooterTag {
        FooterTag(KeyValue::new(key.into(), value.into()))
    }

    /// The entry's key.
    pub fn key(&self) -> &str {
        &self.0.key
    }

    /// The entry's value (Parquet allows a key without one).
    pub fn value(&self) -> Option<&str> {
        self.0.value.as_deref()
    }

    /// The Parquet entry, for the writers.
    pub(crate) fn to_parquet(&self) -> KeyValue {
        self.0.clone()
    }
}

/// The footer entry tagging a file with journal segments, each given by its token (see
/// [`parse_segments`] for what a token is).
///
/// ```
/// let tag = dataset::segments_tag(&["0196a4c2e1f3a7b9-3", "4"]);
/// assert_eq!((tag.key(), tag.value()), ("journal_segments", Some("0196a4c2e1f3a7b9-3,4")));
/// ```
pub fn segments_tag<T: std::fmt::Display>(segments: &[T]) -> FooterTag {
    let ids: Vec<String> = segments.iter().map(T::to_string).collect();
    FooterTag::new(SEGMENTS_KEY, ids.join(","))
}

/// The footer entry of a merged file listing its parts (file names).
pub(crate) fn compacted_from_tag(parts: &[&str]) -> FooterTag {
    FooterTag::new(COMPACTED_FROM_KEY, parts.join(","))
}

/// The segment tokens in a [`SEGMENTS_KEY`] value, trimmed; anything else between commas is
/// skipped.
///
/// A token names one journal segment of one recorder run: `<run>-<seq>` (the run a
/// 16-digit lower-case hex number, the sequence decimal), or a bare decimal `<seq>` as the
/// recorder wrote before segment names carried their run. The dataset treats tokens as
/// opaque: two files name the same segment when their tokens are equal.
///
/// ```
/// let tokens: Vec<_> = dataset::parse_segments("3, x,0196a4c2e1f3a7b9-4,-1,").collect();
/// assert_eq!(tokens, ["3", "0196a4c2e1f3a7b9-4"]);
/// ```
pub fn parse_segments(value: &str) -> impl Iterator<Item = &str> + '_ {
    value
        .split(',')
        .map(str::trim)
        .filter(|t| is_segment_token(t))
}

/// Whether `token` has the form of a segment token (`<seq>` or `<16 hex>-<seq>`).
fn is_segment_token(token: &str) -> bool {
    let decimal = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    match token.split_once('-') {
        None => decimal(token),
        Some((run, seq)) => {
            run.len() == 16
                && run.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                && decimal(seq)
        }
    }
}

/// The values of `key` in `kvs`, split at commas.
pub(crate) fn listed<'a>(kvs: &'a [FooterTag], key: &'a str) -> impl Iterator<Item = &'a str> {
    (kvs.iter().filter(move |kv| kv.key() == key))
        .flat_map(|kv| kv.value().unwrap_or("").split(','))
        .filter(|s| !s.is_empty())
}

impl Dataset {
    /// The key-value metadata of a file's footer.
    ///
    /// # Errors
    ///
    /// [`TickError::Io`] / [`TickError::Object`] when the file cannot be read;
    /// [`TickError::Parquet`] when its footer does not decode.
    pub fn footer(&self, file: &FileEntry) -> Result<Vec<FooterTag>, TickError> {
        let path = self.location(&file.key);
        let source = self.open(&file.key, Some(file.size))?;
        let metadata = ParquetMetaDataReader::new()
            .parse_and_finish(&source)
            .map_err(TickError::parquet(&path))?;
        Ok(metadata
            .file_metadata()
            .key_value_metadata()
            .map(|kvs| kvs.iter().cloned().map(FooterTag).collect())
            .unwrap_or_default())
    }

    /// The journal segment tokens the files of the partition `dir` (e.g. `date=2024-01-01`)
    /// are tagged with; none if it does not exist. Unreadable footers are logged and skipped.
    ///
    /// # Errors
    ///
    /// [`TickError::Io`] (local directory) or [`TickError::Object`] (object store) when
    /// listing fails.
    pub fn published_segments(&self, dir: &str) -> Result<HashSet<String>, TickError> {
        let mut covered = HashSet::new();
        for file in self.files(dir)? {
            if file.dir() != dir {
                continue;
            }
            match self.footer(&file) {
                Ok(kvs) => covered.extend(
                    listed(&kvs, SEGMENTS_KEY)
                        .flat_map(parse_segments)
                        .map(str::to_owned),
                ),
                Err(e) => log::warn!("footer unreadable, ignored: {e}"),
            }
        }
        Ok(covered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What compaction and replay report for an unreadable footer says which file and what
    /// failed (it once said "schema mismatch" for a file that was merely missing).
    #[test]
    fn an_unreadable_footer_says_which_file_and_what_failed() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("short.parquet"), b"PAR1 not a whole file").expect("write");
        let dataset = Dataset::local(dir.path());
        let entry = |key: &str, size| FileEntry {
            key: key.into(),
            size,
        };
        let (missing, short) = (entry("gone.parquet", 100), entry("short.parquet", 21));
        for (file, what) in [(&missing, "gone.parquet"), (&short, ": parquet: ")] {
            let err = dataset.footer(file).expect_err("unreadable");
            let text = err.to_string();
            assert!(text.contains(&file.key), "{text}");
            assert!(text.contains(what), "{:?}: {text}", file.key);
            assert!(!text.contains("schema mismatch"), "{text}");
        }
        assert!(matches!(
            dataset.footer(&missing),
            Err(TickError::Io { .. })
        ));
        assert!(matches!(
            dataset.footer(&short),
            Err(TickError::Parquet { .. })
        ));
    }
}
