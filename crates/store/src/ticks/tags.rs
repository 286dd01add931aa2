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

use super::dataset::FileEntry;
use super::{Dataset, TickError};

/// Key of the footer entry naming the journal segments a file's rows came from.
pub const SEGMENTS_KEY: &str = "journal_segments";

/// Key of a merged file's footer entry listing its parts (comma-separated names).
pub const COMPACTED_FROM_KEY: &str = "compacted_from";

/// The footer entry tagging a file with journal segments.
///
/// ```
/// let kv = store::ticks::segments_tag(&[3, 4]);
/// assert_eq!((kv.key.as_str(), kv.value.as_deref()), ("journal_segments", Some("3,4")));
/// assert_eq!(store::ticks::parse_segments("3, x,4").collect::<Vec<_>>(), [3, 4]);
/// ```
pub fn segments_tag(segments: &[u64]) -> KeyValue {
    let ids: Vec<String> = segments.iter().map(u64::to_string).collect();
    KeyValue::new(SEGMENTS_KEY.to_owned(), ids.join(","))
}

/// The ids in a [`SEGMENTS_KEY`] value (garbage between commas is skipped).
pub fn parse_segments(value: &str) -> impl Iterator<Item = u64> + '_ {
    value.split(',').filter_map(|s| s.trim().parse().ok())
}

/// The values of `key` in `kvs`, split at commas.
pub(crate) fn listed<'a>(kvs: &'a [KeyValue], key: &'a str) -> impl Iterator<Item = &'a str> {
    (kvs.iter().filter(move |kv| kv.key == key))
        .flat_map(|kv| kv.value.as_deref().unwrap_or("").split(','))
        .filter(|s| !s.is_empty())
}

impl Dataset {
    /// The key-value metadata of a file's footer.
    pub fn footer(&self, file: &FileEntry) -> Result<Vec<KeyValue>, TickError> {
        let path = self.location(&file.key);
        let source = self.open(&file.key, Some(file.size))?;
        let metadata = ParquetMetaDataReader::new()
            .parse_and_finish(&source)
            .map_err(TickError::parquet(&path))?;
        Ok(metadata
            .file_metadata()
            .key_value_metadata()
            .cloned()
            .unwrap_or_default())
    }

    /// The journal segments the files of the partition `dir` (e.g. `date=2024-01-01`) are
    /// tagged with; none if it does not exist. Unreadable footers are logged and skipped.
    pub fn published_segments(&self, dir: &str) -> Result<HashSet<u64>, TickError> {
        let mut covered = HashSet::new();
        for file in self.files(dir)? {
            if file.dir() != dir {
                continue;
            }
            match self.footer(&file) {
                Ok(kvs) => covered.extend(listed(&kvs, SEGMENTS_KEY).flat_map(parse_segments)),
                Err(e) => log::warn!("footer unreadable, ignored: {e}"),
            }
        }
        Ok(covered)
    }
}
