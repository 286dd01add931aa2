//! The object-store backend of [`Dataset`](super::Dataset): a synchronous face on
//! `object_store`'s async API, ranged reads for the Parquet decoder, create-only uploads.
//!
//! # Sync over async
//!
//! The tick store's API is synchronous (the recorder calls it through
//! [`crate::blocking`]), `object_store` is async. Every request is spawned onto one small
//! runtime owned by this module (one worker thread, started on first use) and the caller
//! waits for its answer on a channel. That works from any thread: a plain one, a worker of
//! the caller's multi-threaded runtime (inside `block_in_place`), even a current-thread
//! runtime, because the request never runs on the caller's runtime. The HTTP connection
//! pool lives on that one runtime, so connections are reused across calls.
//!
//! # Reads
//!
//! [`ObjectSource`] is a Parquet [`ChunkReader`](parquet::file::reader::ChunkReader): the
//! footer is read with two ranged GETs, and a column chunk is fetched whole (one GET) the
//! first time the decoder touches it. Only the chunks of one row group are kept, so memory
//! stays at one row group's compressed bytes, and row groups the reader skips are never
//! downloaded.
//!
//! # Writes
//!
//! A file is written to a local spool file first, then uploaded whole and create-only, so
//! that readers see the whole object or nothing and a taken name is refused, never
//! replaced:
//!
//! * **Up to [`Remote::multipart_above`]** (default [`MULTIPART_BYTES`], 64 MiB): one `PUT`
//!   with `PutMode::Create` (`If-None-Match: *`).
//! * **Larger**: `object_store` 0.14 cannot make the completion of its own multipart upload
//!   conditional, so the file goes up as a multipart upload (parts of
//!   [`Remote::part_bytes`], default [`PART_BYTES`]) to a *staging* key,
//!   `<root>/_uploads/<name>.<pid>.<nanos>.<seq>` (`_`-prefixed, so neither
//!   [`Dataset::files`](super::Dataset::files) nor Hive readers list it), and is then copied
//!   server-side to its name with `copy_if_not_exists` (`CopyMode::Create`), and the staging
//!   object deleted. On S3 that copy is `S3CopyIfNotExists::Multipart`, which
//!   [`S3Config::build`](crate::location::S3Config::build) configures: a one-part
//!   multipart upload whose part is an `UploadPartCopy` of the staging object, completed
//!   with `If-None-Match: *`, so the name appears whole, or the server answers
//!   `412 Precondition Failed` and nothing is replaced.
//!
//! Either way a taken name is an error for which [`TickError::already_exists`] holds,
//! unless the object under the name holds exactly our bytes: a `PUT` or completion that
//! succeeded but whose answer was lost, then retried by the client and refused by its own
//! object. That is our upload, and a success (otherwise the caller would publish the same
//! rows again under the next name).
//!
//! A crash between the steps leaves at most a staging object (and, mid-upload, parts of an
//! unfinished multipart upload, which no listing shows); [`Remote::clear_staging`], run by
//! the writer at start (`Dataset::recover`, after the lease is taken) deletes staging
//! objects. A store that cannot copy create-only (an `AmazonS3` built without
//! `with_copy_if_not_exists`) fails the upload with `NotSupported`: the file is not
//! published, never published unconditionally.

use std::future::Future;
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};

mod source;

pub use source::ObjectSource;

use crate::TickError;

/// Above this size (the default; [`Dataset::with_multipart`](super::Dataset::with_multipart)
/// sets another) an upload is a multipart upload to a staging key; up to it, one
/// create-only PUT of the whole file held in memory. An hour of the real market compacted
/// is ~50 MB, so every file the recorder writes today is one conditional PUT.
pub const MULTIPART_BYTES: u64 = 64 << 20;

/// The default part size of a multipart upload. S3 wants parts of at least 5 MiB (all but
/// the last) and at most 10,000 parts, so 16 MiB parts carry files up to ~156 GiB; the
/// create-only copy (one `UploadPartCopy`) is limited to 5 GiB.
pub const PART_BYTES: usize = 16 << 20;

/// Staging keys made by this process so far (the `<seq>` of a staging key).
static STAGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Runs `f` to completion on the module's runtime and returns its output (see the
/// [module docs](self)).
pub(crate) fn block_on<F>(f: F) -> Result<F::Output, TickError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("store-object-io")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    let runtime = runtime
        .as_ref()
        .map_err(|e| TickError::Runtime(e.clone()))?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _ = tx.send(f.await);
    });
    rx.recv()
        .map_err(|_| TickError::Runtime("an object store request panicked".into()))
}

/// One object store and the prefix of a dataset in it.
#[derive(Debug, Clone)]
pub(crate) struct Remote {
    pub store: Arc<dyn ObjectStore>,
    pub prefix: ObjPath,
    /// The prefix as users name it (`s3://bucket/prefix`), for messages.
    pub url: String,
    /// Where large files are uploaded before their create-only copy: `_uploads` under the
    /// root dataset (shared by its children, e.g. the gaps dataset).
    pub staging: ObjPath,
    /// [`staging`](Self::staging) as users name it, for messages.
    pub staging_url: String,
    /// Files larger than this go up in parts through [`staging`](Self::staging).
    pub multipart_above: u64,
    /// Part size of those uploads (at least 1; S3 wants at least 5 MiB).
    pub part_bytes: usize,
}

impl Remote {
    pub fn path(&self, key: &str) -> ObjPath {
        key.split('/')
            .filter(|p| !p.is_empty())
            .fold(self.prefix.clone(), |p, part| p.join(part))
    }

    pub fn url_of(&self, key: &str) -> String {
        if key.is_empty() {
            self.url.clone()
        } else {
            format!("{}/{key}", self.url.trim_end_matches('/'))
        }
    }

    fn err(&self, key: &str) -> impl FnOnce(object_store::Error) -> TickError {
        TickError::object(self.url_of(key))
    }

    /// The URL of a staging object, for messages.
    fn staging_url_of(&self, path: &ObjPath) -> String {
        let name = path.filename().unwrap_or_default();
        format!("{}/{name}", self.staging_url)
    }

    /// The key (relative to the prefix, `/`-separated) of an object path under it.
    fn key_of(&self, path: &ObjPath) -> Option<String> {
        let parts: Vec<String> = path
            .prefix_match(&self.prefix)?
            .map(|p| p.as_ref().to_owned())
            .collect();
        Some(parts.join("/"))
    }

    /// Every object under `dir` (recursively): (key below the dataset root, size).
    pub fn list(&self, dir: &str) -> Result<Vec<(String, u64)>, TickError> {
        let (store, prefix) = (self.store.clone(), self.path(dir));
        let metas =
            block_on(async move { store.list(Some(&prefix)).try_collect::<Vec<_>>().await })?
                .map_err(self.err(dir))?;
        Ok(metas
            .iter()
            .filter_map(|m| Some((self.key_of(&m.location)?, m.size)))
            .collect())
    }

    /// The names directly under `dir`: (sub-directories, objects).
    pub fn names(&self, dir: &str) -> Result<(Vec<String>, Vec<String>), TickError> {
        let (store, prefix) = (self.store.clone(), self.path(dir));
        let listed = block_on(async move { store.list_with_delimiter(Some(&prefix)).await })?
            .map_err(self.err(dir))?;
        let last = |p: &ObjPath| p.parts().next_back().map(|s| s.as_ref().to_owned());
        let dirs = listed.common_prefixes.iter().filter_map(last).collect();
        let objects = listed
            .objects
            .iter()
            .filter_map(|m| last(&m.location))
            .collect();
        Ok((dirs, objects))
    }

    pub fn delete(&self, key: &str) -> Result<(), TickError> {
        self.delete_at(&self.path(key), self.url_of(key))
            .map(|_| ())
    }

    /// Deletes the object at `path` (`url` names it in an error); `Ok(false)` when there
    /// was none, which is no error: the object is gone either way.
    fn delete_at(&self, path: &ObjPath, url: String) -> Result<bool, TickError> {
        let (store, path) = (self.store.clone(), path.clone());
        match block_on(async move { store.delete(&path).await })? {
            Ok(()) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(TickError::object(url)(e)),
        }
    }

    /// The size of `key`, `None` if there is no such object.
    pub fn size(&self, key: &str) -> Result<Option<u64>, TickError> {
        let (store, path) = (self.store.clone(), self.path(key));
        match block_on(async move { store.head(&path).await })? {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(key)(e)),
        }
    }

    pub fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes, TickError> {
        let (store, path) = (self.store.clone(), self.path(key));
        block_on(async move { store.get_range(&path, range).await })?.map_err(self.err(key))
    }

    /// Uploads the local file `file` as `key`, create-only (see the [module docs](self)):
    /// a taken name is an error for which [`TickError::already_exists`] is true.
    pub fn upload(&self, file: &Path, key: &str) -> Result<(), TickError> {
        let size = std::fs::metadata(file).map_err(TickError::io(file))?.len();
        let (store, path) = (self.store.clone(), self.path(key));
        let result = if size <= self.multipart_above {
            let data = std::fs::read(file).map_err(TickError::io(file))?;
            let opts = PutOptions::from(PutMode::Create);
            let payload = PutPayload::from(data);
            block_on(async move { store.put_opts(&path, payload, opts).await })?
                .map(|_| ())
                .map_err(self.err(key))
        } else {
            self.upload_staged(file, key)
        };
        match result {
            // A taken name that holds exactly our bytes is our own earlier success whose
            // answer was lost and whose retry then met its own object: published.
            Err(e) if e.already_exists() && self.holds(key, file)? => Ok(()),
            result => result,
        }
    }

    /// The multipart path of [`upload`](Self::upload): parts to a fresh staging key, then
    /// the create-only copy to `key`; the staging object is removed whatever happened.
    fn upload_staged(&self, file: &Path, key: &str) -> Result<(), TickError> {
        let staged = self.staging_path(key);
        let result = self
            .upload_parts(file, &staged)
            .and_then(|()| self.copy_create(&staged, key));
        // The staging object goes whatever happened; a leftover is hidden and removed by
        // the next start (`clear_staging`).
        if let Err(e) = self.delete_at(&staged, self.staging_url_of(&staged)) {
            log::warn!("staging object not removed (the next start removes it): {e}");
        }
        result
    }

    /// A fresh staging key for `key`: `<staging>/<name>.<pid>.<nanos>.<seq>`.
    fn staging_path(&self, key: &str) -> ObjPath {
        let name = key.rsplit('/').next().unwrap_or(key);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let seq = STAGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pid = std::process::id();
        self.staging
            .clone()
            .join(format!("{name}.{pid}.{nanos}.{seq}"))
    }

    /// Uploads `file` to `path` (a staging key) as a multipart upload, at most two parts in
    /// flight; an unfinished upload is aborted on error.
    fn upload_parts(&self, file: &Path, path: &ObjPath) -> Result<(), TickError> {
        let err = |e| TickError::object(self.staging_url_of(path))(e);
        let mut reader = std::fs::File::open(file).map_err(TickError::io(file))?;
        let (store, p) = (self.store.clone(), path.clone());
        let upload = block_on(async move { store.put_multipart(&p).await })?.map_err(err)?;
        let part = self.part_bytes.max(1);
        let mut writer = WriteMultipart::new_with_chunk_size(upload, part);
        loop {
            let mut chunk = Vec::with_capacity(part);
            if let Err(e) = (&mut reader).take(part as u64).read_to_end(&mut chunk) {
                // Dropping the writer does not abort the upload: abort it ourselves.
                let _ = block_on(async move { writer.abort().await });
                return Err(TickError::io(file)(e));
            }
            if chunk.is_empty() {
                break;
            }
            // `put` spawns the part's upload, so it runs on the module's runtime too; at most
            // two parts in flight: memory stays at a few parts.
            let (w, waited) = block_on(async move {
                writer.put(Bytes::from(chunk));
                let r = writer.wait_for_capacity(2).await;
                (writer, r)
            })?;
            writer = w;
            if let Err(e) = waited {
                let _ = block_on(async move { writer.abort().await });
                return Err(err(e));
            }
        }
        block_on(async move { writer.finish().await })?.map_err(err)?;
        Ok(())
    }

    /// Copies the staging object `staged` to `key` only if `key` does not exist.
    fn copy_create(&self, staged: &ObjPath, key: &str) -> Result<(), TickError> {
        let (store, from, to) = (self.store.clone(), staged.clone(), self.path(key));
        block_on(async move { store.copy_if_not_exists(&from, &to).await })?.map_err(self.err(key))
    }

    /// Deletes every staging object (see the [module docs](self)); returns how many. Only
    /// the dataset's one writer may call it, before it uploads anything: another writer's
    /// upload in flight would lose its staging object.
    pub fn clear_staging(&self) -> Result<usize, TickError> {
        let (store, staging) = (self.store.clone(), self.staging.clone());
        let metas =
            block_on(async move { store.list(Some(&staging)).try_collect::<Vec<_>>().await })?
                .map_err(TickError::object(self.staging_url.clone()))?;
        let mut removed = 0;
        for meta in metas {
            let url = self.staging_url_of(&meta.location);
            if self.delete_at(&meta.location, url.clone())? {
                log::info!("{url}: staging object of an interrupted upload, removed");
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// True when the object `key` holds exactly the bytes of the local file `file` (our
    /// own earlier upload whose answer was lost).
    pub fn holds(&self, key: &str, file: &Path) -> Result<bool, TickError> {
        let local = std::fs::metadata(file).map_err(TickError::io(file))?.len();
        if self.size(key)? != Some(local) {
            return Ok(false);
        }
        let mut f = std::fs::File::open(file).map_err(TickError::io(file))?;
        let mut offset = 0;
        let mut buf = vec![0u8; self.part_bytes.clamp(1, PART_BYTES)];
        while offset < local {
            let n = f.read(&mut buf).map_err(TickError::io(file))?;
            if n == 0 {
                return Ok(false);
            }
            let remote = self.get_range(key, offset..offset + n as u64)?;
            if remote.as_ref() != &buf[..n] {
                return Ok(false);
            }
            offset += n as u64;
        }
        Ok(true)
    }

    pub fn source(&self, key: &str, size: Option<u64>) -> Result<ObjectSource, TickError> {
        let size = match size {
            Some(size) => size,
            None => self.size(key)?.ok_or_else(|| {
                let path = self.path(key).to_string();
                let source = object_store::Error::NotFound {
                    path,
                    source: "no such object".into(),
                };
                self.err(key)(source)
            })?,
        };
        Ok(ObjectSource::new(self.clone(), key, size))
    }
}
