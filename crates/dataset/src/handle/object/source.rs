//! [`ObjectSource`]: a Parquet object read with ranged GETs (see the
//! [reads](super#reads) section of the parent module).

use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::{Buf, Bytes};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{ChunkReader, Length};

use super::Remote;

/// The column chunks of the row group most recently read: (row group, byte range, bytes).
#[derive(Default)]
struct Cache {
    row_group: Option<usize>,
    chunks: Vec<(Range<u64>, Bytes)>,
}

/// A Parquet object read with ranged GETs: the footer first, then each column chunk the
/// decoder touches, whole; only one row group's chunks are kept.
pub struct ObjectSource {
    remote: Arc<Remote>,
    key: String,
    size: u64,
    /// (row group, byte range) of every column chunk, once the footer is known.
    chunks: Vec<(usize, Range<u64>)>,
    cache: Mutex<Cache>,
    requests: std::sync::atomic::AtomicU64,
}

impl ObjectSource {
    pub(super) fn new(remote: Remote, key: &str, size: u64) -> Self {
        ObjectSource {
            remote: Arc::new(remote),
            key: key.to_owned(),
            size,
            chunks: Vec::new(),
            cache: Mutex::new(Cache::default()),
            requests: Default::default(),
        }
    }

    /// Tells the source where the column chunks are, so that it fetches them whole.
    pub(crate) fn set_layout(&mut self, metadata: &ParquetMetaData) {
        self.chunks = (metadata.row_groups().iter().enumerate())
            .flat_map(|(i, rg)| {
                rg.columns().iter().map(move |c| {
                    let (start, len) = c.byte_range();
                    (i, start..start + len)
                })
            })
            .collect();
    }

    /// Ranged GETs made so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn fetch(&self, range: Range<u64>) -> parquet::errors::Result<Bytes> {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.remote
            .get_range(&self.key, range)
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
    }

    /// `len` bytes at `start` (`None`: to the end of their column chunk or of the file).
    fn bytes(&self, start: u64, len: Option<usize>) -> parquet::errors::Result<Bytes> {
        let chunk = self
            .chunks
            .iter()
            .find(|(_, r)| r.contains(&start) && len.is_none_or(|l| start + l as u64 <= r.end));
        let Some((row_group, range)) = chunk else {
            let end = len.map_or(self.size, |l| start + l as u64).min(self.size);
            return self.fetch(start..end.max(start));
        };
        // A poisoned lock only means another read panicked; the cache is still consistent.
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.row_group != Some(*row_group) {
            cache.row_group = Some(*row_group);
            cache.chunks.clear();
        }
        let bytes = match cache.chunks.iter().find(|(r, _)| r == range) {
            Some((_, bytes)) => bytes.clone(),
            None => {
                let bytes = self.fetch(range.clone())?;
                cache.chunks.push((range.clone(), bytes.clone()));
                bytes
            }
        };
        let from = (start - range.start) as usize;
        let to = len.map_or(bytes.len(), |l| from + l);
        Ok(bytes.slice(from..to))
    }
}

impl Length for ObjectSource {
    fn len(&self) -> u64 {
        self.size
    }
}

impl ChunkReader for ObjectSource {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(self.bytes(start, None)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.bytes(start, Some(length))
    }
}
