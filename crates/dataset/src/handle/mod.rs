//! [`Dataset`]: where a tick dataset lives, a local directory or a prefix of an object
//! store, and the few operations everything else in [`crate`] is built on.
//!
//! Everything that knows the dataset (the writer, the readers, compaction, the gaps
//! dataset) names files by their *key*, the `/`-separated path below the dataset's root
//! (`date=2024-01-01/miniticker_20240101_000100_000000.parquet`), and goes through a
//! `Dataset` for the bytes. Two backends sit behind it:
//!
//! * **Local directory** — our own writer, because the guarantees the recorder has always
//!   given need more than `object_store`'s `LocalFileSystem` offers: a file is written
//!   under a hidden temporary name in its partition, fsynced, published with a hard link
//!   (which fails instead of replacing), and the directory fsynced; the dataset directory
//!   can be locked against a second recorder.
//! * **Object store** (`Arc<dyn ObjectStore>`: S3, R2, MinIO, or any other
//!   implementation, `LocalFileSystem` included, e.g. in tests) — files are spooled to a
//!   local directory, then uploaded whole and create-only (see `dataset/object.rs`): one
//!   conditional `PUT`, or for a large file a multipart upload to a hidden staging key
//!   (`_uploads/…`) and a create-only server-side copy to its name
//!   ([`with_multipart`](Dataset::with_multipart) sets the sizes); reads are ranged GETs of
//!   the column chunks actually needed.
//!
//! ```
//! use std::sync::Arc;
//! use dataset::{Dataset, DatasetWriter, Tick, TickBuffer};
//! let dir = tempfile::tempdir().unwrap();
//! // Any object store; here the local file system seen through `object_store`.
//! let fs = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
//! let dataset = Dataset::object(Arc::new(fs), "ticks", "file-store://ticks");
//! let mut buf = TickBuffer::new();
//! buf.push(&Tick { symbol: "BTCUSDT", event_time: 1_704_067_200_000, close: 1.0, open: 1.0,
//!                  high: 1.0, low: 1.0, base_volume: 1.0, quote_volume: 1.0 });
//! let now = chrono::DateTime::from_timestamp(1_704_067_260, 0).unwrap();
//! let files = DatasetWriter::for_dataset(dataset.clone()).write_checkpoint(&buf, now).unwrap();
//! assert_eq!(files[0].to_str(),
//!            Some("file-store://ticks/date=2024-01-01/miniticker_20240101_000100_000000.parquet"));
//! assert!(dir.path().join("ticks/date=2024-01-01").is_dir());
//! assert_eq!(dataset.read_all().unwrap().iter().map(|b| b.num_rows()).sum::<usize>(), 1);
//! ```

mod local;
pub(crate) mod object;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::ObjectStore;
use parquet::file::reader::{ChunkReader, Length};

pub use object::{ObjectSource, MULTIPART_BYTES, PART_BYTES};

use super::layout;
use super::TickError;
use object::Remote;

/// Where a tick dataset lives: a local directory or a prefix of an object store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Dataset {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Local(PathBuf),
    Object { remote: Remote, spool: PathBuf },
}

/// A file of the dataset: its key and size in bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileEntry {
    /// `/`-separated path below the dataset's root.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

impl FileEntry {
    /// The file name (the key's last part).
    pub fn name(&self) -> &str {
        self.key.rsplit('/').next().unwrap_or(&self.key)
    }

    /// The directory part of the key (`""` at the root).
    pub fn dir(&self) -> &str {
        self.key.rsplit_once('/').map_or("", |(d, _)| d)
    }
}

impl Dataset {
    /// The dataset in the local directory `root` (created on the first write).
    pub fn local(root: impl Into<PathBuf>) -> Self {
        Dataset {
            backend: Backend::Local(root.into()),
        }
    }

    /// The dataset under `prefix` (`/`-separated, may be empty) of `store`; `url` names
    /// it in messages and in the locations writers return (e.g. `s3://bucket/prefix`).
    /// Files are spooled in the system's temporary directory before upload
    /// ([`with_spool`](Self::with_spool) changes that).
    pub fn object(store: Arc<dyn ObjectStore>, prefix: &str, url: impl Into<String>) -> Self {
        let prefix = (prefix.split('/').filter(|p| !p.is_empty()))
            .fold(object_store::path::Path::default(), |p, part| p.join(part));
        let spool = std::env::temp_dir().join(format!("ticks-spool-{}", std::process::id()));
        let url = url.into().trim_end_matches('/').to_owned();
        Dataset {
            backend: Backend::Object {
                remote: Remote {
                    store,
                    staging: prefix.clone().join(layout::UPLOADS_DIR),
                    prefix,
                    staging_url: format!("{url}/{}", layout::UPLOADS_DIR),
                    url,
                    multipart_above: MULTIPART_BYTES,
                    part_bytes: PART_BYTES,
                },
                spool,
            },
        }
    }

    /// Uploads files larger than `above` bytes in parts of `part_bytes` (object stores
    /// only; defaults [`MULTIPART_BYTES`] and [`PART_BYTES`]), through a staging key and a
    /// create-only copy (see `dataset/object.rs`). S3 refuses parts under 5 MiB (but the
    /// last); smaller values are for tests against servers configured to allow them.
    pub fn with_multipart(mut self, above: u64, part_bytes: usize) -> Self {
        if let Backend::Object { remote, .. } = &mut self.backend {
            remote.multipart_above = above;
            remote.part_bytes = part_bytes.max(1);
        }
        self
    }

    /// Spools files in `dir` before uploading them (object stores only; a local dataset
    /// writes its temporary files in their partition).
    pub fn with_spool(mut self, dir: impl Into<PathBuf>) -> Self {
        if let Backend::Object { spool, .. } = &mut self.backend {
            *spool = dir.into();
        }
        self
    }

    /// The dataset stored under `name` inside this one (e.g. the gaps dataset, `_gaps`).
    pub fn child(&self, name: &str) -> Dataset {
        let backend = match &self.backend {
            Backend::Local(root) => Backend::Local(root.join(name)),
            Backend::Object { remote, spool } => Backend::Object {
                remote: Remote {
                    prefix: remote.path(name),
                    url: remote.url_of(name),
                    ..remote.clone()
                },
                spool: spool.clone(),
            },
        };
        Dataset { backend }
    }

    /// The directory of a local dataset; `None` for an object store.
    pub fn local_root(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Local(root) => Some(root),
            Backend::Object { .. } => None,
        }
    }

    /// The object store and prefix of an object-store dataset.
    pub fn object_store(&self) -> Option<(&Arc<dyn ObjectStore>, &object_store::path::Path)> {
        match &self.backend {
            Backend::Local(_) => None,
            Backend::Object { remote, .. } => Some((&remote.store, &remote.prefix)),
        }
    }

    /// The spool directory of an object-store dataset.
    pub fn spool_dir(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Local(_) => None,
            Backend::Object { spool, .. } => Some(spool),
        }
    }

    /// Where `key` is, as users name it: a path, or the object's URL held in a `PathBuf`
    /// (e.g. `s3://bucket/prefix/date=…/….parquet`).
    pub fn location(&self, key: &str) -> PathBuf {
        match &self.backend {
            Backend::Local(root) => root.join(key),
            Backend::Object { remote, .. } => PathBuf::from(remote.url_of(key)),
        }
    }

    /// The visible Parquet files under the directory `dir` (`""`: the whole dataset),
    /// recursively, sorted by key. Names starting with `.` or `_` are skipped, as Hive,
    /// Spark and DuckDB do (temporary files, the gaps dataset, the journal). A missing
    /// directory holds no files.
    ///
    /// # Errors
    ///
    /// [`TickError::Io`] (local directory) or [`TickError::Object`] (object store) when
    /// listing fails.
    pub fn files(&self, dir: &str) -> Result<Vec<FileEntry>, TickError> {
        let mut files = match &self.backend {
            Backend::Local(root) => local::files(root, dir)?,
            Backend::Object { remote, .. } => {
                let mut files = Vec::new();
                for (key, size) in remote.list(dir)? {
                    if layout::is_visible_file(&key) {
                        files.push(FileEntry { key, size });
                    }
                }
                files
            }
        };
        files.sort();
        Ok(files)
    }

    /// The date partitions (`date=YYYY-MM-DD` directory names) directly under the root,
    /// sorted; none if the dataset does not exist yet.
    ///
    /// # Errors
    ///
    /// [`TickError::Io`] (local directory) or [`TickError::Object`] (object store) when
    /// listing fails.
    pub fn partitions(&self) -> Result<Vec<String>, TickError> {
        let mut dirs: Vec<String> = self
            .dir_names("")?
            .0
            .into_iter()
            .filter(|n| layout::parse_partition(n).is_some())
            .collect();
        dirs.sort();
        Ok(dirs)
    }

    /// (sub-directory names, file names) directly in `dir`, hidden ones included.
    pub(crate) fn dir_names(&self, dir: &str) -> Result<(Vec<String>, Vec<String>), TickError> {
        match &self.backend {
            Backend::Local(root) => local::names(&root.join(dir)),
            Backend::Object { remote, .. } => remote.names(dir),
        }
    }

    /// Opens `key` for reading (`size`: its size if known, saves a request).
    pub(crate) fn open(&self, key: &str, size: Option<u64>) -> Result<Source, TickError> {
        match &self.backend {
            Backend::Local(root) => {
                let path = root.join(key);
                File::open(&path)
                    .map(Source::File)
                    .map_err(TickError::io(&path))
            }
            Backend::Object { remote, .. } => Ok(Source::Object(remote.source(key, size)?)),
        }
    }

    /// Removes `key`; a missing file is not an error.
    ///
    /// # Errors
    ///
    /// [`TickError::Io`] / [`TickError::Object`] when the removal fails for another reason
    /// than a missing file.
    pub fn delete(&self, key: &str) -> Result<(), TickError> {
        match &self.backend {
            Backend::Local(root) => local::remove(&root.join(key)),
            Backend::Object { remote, .. } => remote.delete(key),
        }
    }

    /// The directory a file for the partition `dir` is staged in, and whether it had to
    /// be created: the partition itself (local), or the spool directory.
    pub(crate) fn stage_dir(&self, dir: &str) -> Result<(PathBuf, bool), TickError> {
        let target = match &self.backend {
            Backend::Local(root) => root.join(dir),
            Backend::Object { spool, .. } => spool.clone(),
        };
        let new_dir = !target.is_dir();
        std::fs::create_dir_all(&target).map_err(TickError::io(&target))?;
        Ok((target, new_dir))
    }

    /// Publishes the staged local file `tmp` as `dir/name` without replacing anything (a
    /// taken name: [`TickError::already_exists`]); returns its [`location`](Self::location).
    pub(crate) fn publish(&self, tmp: &Path, dir: &str, name: &str) -> Result<PathBuf, TickError> {
        let key = layout::join(dir, name);
        match &self.backend {
            Backend::Local(root) => {
                let path = root.join(&key);
                std::fs::hard_link(tmp, &path).map_err(TickError::io(&path))?;
                Ok(path)
            }
            Backend::Object { remote, .. } => {
                remote.upload(tmp, &key)?;
                Ok(self.location(&key))
            }
        }
    }

    /// Whether `dir/name` already holds exactly the bytes of `tmp`: an earlier upload of
    /// ours whose answer was lost (always false on a local directory, where a publish
    /// cannot succeed unseen).
    pub(crate) fn holds(&self, tmp: &Path, dir: &str, name: &str) -> Result<bool, TickError> {
        match &self.backend {
            Backend::Local(_) => Ok(false),
            Backend::Object { remote, .. } => remote.holds(&layout::join(dir, name), tmp),
        }
    }

    /// Deletes the staging objects of interrupted large uploads (object stores; none on a
    /// local directory); returns how many. For the dataset's one writer, at start.
    pub(crate) fn clear_staging(&self) -> Result<usize, TickError> {
        match &self.backend {
            Backend::Local(_) => Ok(0),
            Backend::Object { remote, .. } => remote.clear_staging(),
        }
    }

    /// Makes the directory entries of `dir` durable (local: fsync; object stores: nothing).
    pub(crate) fn sync_dir(&self, dir: &str) {
        if let Backend::Local(root) = &self.backend {
            let path = root.join(dir);
            if let Err(e) = crate::fs::sync_dir(&path) {
                log::warn!("{}: {e}", path.display());
            }
        }
    }
}

/// A readable dataset file: a local file or an object read by ranges.
pub enum Source {
    /// A local file.
    File(File),
    /// An object.
    Object(ObjectSource),
}

impl Length for Source {
    fn len(&self) -> u64 {
        match self {
            Source::File(f) => f.len(),
            Source::Object(o) => o.len(),
        }
    }
}

impl ChunkReader for Source {
    type T = Box<dyn std::io::Read + Send>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(match self {
            Source::File(f) => Box::new(f.get_read(start)?),
            Source::Object(o) => Box::new(o.get_read(start)?),
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        match self {
            Source::File(f) => f.get_bytes(start, length),
            Source::Object(o) => o.get_bytes(start, length),
        }
    }
}
