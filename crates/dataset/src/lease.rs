//! One writer per dataset prefix on an object store: a lock object `<prefix>/_lock` held
//! as a lease.
//!
//! An object store has no file locks, but it has conditional puts, and they are enough:
//!
//! * **take**: a create-only put (`If-None-Match: *`, [`PutMode::Create`]) of
//!   `<prefix>/_lock` holding the owner (id, host, pid) and an expiry. Of two recorders
//!   starting at once exactly one succeeds; the other reads the object and fails with
//!   [`LeaseError::Held`], naming the holder.
//! * **renew**: every [`LeaseConfig::renew_every`] (each attempt abandoned after
//!   [`LeaseConfig::attempt_timeout`], see [`LeaseConfig::validate`]) the holder rewrites
//!   the object with a new
//!   expiry, conditional on the version it wrote last (`If-Match: <etag>`,
//!   [`PutMode::Update`]). A renewal that fails on the condition means someone took the
//!   prefix over: [`LeaseError::Lost`]. A renewal that fails for want of an answer (an
//!   outage) is retried; because it is conditional on our own last version, a renewal
//!   that succeeds after a long outage still proves nobody took over meanwhile.
//! * **take over**: a lease not renewed until its expiry, a released one, or one held by
//!   the *predecessor* (below) is replaced, again with `If-Match` on the version that was
//!   read, so two recorders taking over at once cannot both win.
//! * **the predecessor**: a recorder keeps a local directory it locks for its life (its
//!   journal). After taking a lease it writes the owner id it holds into that directory
//!   ([`remember_owner`], file [`OWNER_FILE`]); the next recorder that locks the same
//!   directory reads it ([`read_predecessor`]) and may take over a lease held by exactly
//!   that id at once: the directory's lock proves that process is gone (a restart after a
//!   SIGKILL does not wait for expiry). Nothing else shortens a lease: a pid is never
//!   looked up, since a process table answers only for its own PID namespace, and two
//!   containers with the same host name would each see the other's recorder as dead.
//! * **release**: a clean stop rewrites the object as released (`expires_ms=0`, again
//!   conditional), so the next recorder starts at once; the object is not deleted, because
//!   an unconditional delete could remove a successor's lock.
//!
//! Expiry is judged by the clock of the recorder that wants to take over: keep
//! [`LeaseConfig::ttl`] far above the clock skew between machines. The `_lock` name starts
//! with `_`, which dataset readers (Spark, pyarrow, DuckDB's Hive partitioning) skip.
//!
//! The rules themselves (what a lock object means, when to renew) are pure functions in
//! [`record`], unit-tested with injected times; this module does the I/O, and
//! [`LeaseKeeper`] renews in the background.
//!
//! ```no_run
//! # async fn run(store: std::sync::Arc<dyn object_store::ObjectStore>) -> Result<(), dataset::lease::LeaseError> {
//! use dataset::lease::{Lease, LeaseConfig, LeaseKeeper, Owner};
//! let lease = Lease::acquire(store, "binance", Owner::this_process(), LeaseConfig::default(), None).await?;
//! let keeper = LeaseKeeper::spawn(lease);
//! // ... record; before a publish: keeper.status().may_write() ...
//! keeper.release().await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

use super::location::describe;

mod keeper;
pub mod record;

pub use keeper::{LeaseKeeper, LeaseStatus};
pub use record::{judge, LeaseConfig, LeaseRecord, Owner, Verdict, RETRY_AFTER};

/// The lock object's name under the prefix.
pub const LOCK_NAME: &str = "_lock";

/// The file, in the holder's locked local directory, naming the owner id it holds.
pub const OWNER_FILE: &str = "lease_owner";

/// How often acquiring re-reads when the lock object changes under it before giving up.
const ACQUIRE_ATTEMPTS: u32 = 4;

/// Why a lease could not be taken, kept or released.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Another recorder holds the prefix.
    #[error("{path} is held by recorder {holder} until {until}: another recorder writes to this prefix; stop it, or wait until its lease expires")]
    Held {
        /// The lock object.
        path: String,
        /// The holder.
        holder: Owner,
        /// The lease's expiry (RFC 3339, UTC).
        until: String,
    },
    /// Someone replaced our lock object: we no longer own the prefix.
    #[error("{path}: lease lost, the prefix was taken over by {holder}")]
    Lost {
        /// The lock object.
        path: String,
        /// The new holder as far as known.
        holder: String,
    },
    /// The lock object changed under every attempt to take it.
    #[error(
        "{path}: the lock object kept changing while taking it (is another recorder starting?)"
    )]
    Contended {
        /// The lock object.
        path: String,
    },
    /// The [`LeaseConfig`] leaves no time for a retry before expiry
    /// ([`LeaseConfig::validate`]).
    #[error("{0}")]
    BadConfig(String),
    /// The store failed (redacted: status and S3 code only).
    #[error("{path}: {reason}")]
    Store {
        /// The lock object.
        path: String,
        /// [`describe`]'s summary.
        reason: String,
    },
}

/// A lease held by this process on one prefix.
#[derive(Debug)]
pub struct Lease {
    store: Arc<dyn ObjectStore>,
    path: Path,
    config: LeaseConfig,
    record: LeaseRecord,
    version: UpdateVersion,
    renewed_ms: i64,
}

/// The lock object as read: its record (`None` if unreadable), last-modified time, version.
type Found = (Option<LeaseRecord>, i64, UpdateVersion);

impl Lease {
    /// The lock object of `prefix` (`""`: the bucket's root).
    pub fn path_for(prefix: &str) -> Path {
        let prefix = Path::from(prefix);
        prefix.clone().join(LOCK_NAME)
    }

    /// Takes the lease on `prefix` for `owner` now (the system clock); `predecessor` is the
    /// owner id from [`read_predecessor`], if any.
    ///
    /// # Errors
    ///
    /// As [`acquire_at`](Self::acquire_at).
    pub async fn acquire(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        owner: Owner,
        config: LeaseConfig,
        predecessor: Option<&str>,
    ) -> Result<Lease, LeaseError> {
        Lease::acquire_at(store, prefix, owner, config, predecessor, now_ms()).await
    }

    /// [`acquire`](Self::acquire) at the time `now_ms` (ms since the Unix epoch).
    ///
    /// # Errors
    ///
    /// - [`LeaseError::BadConfig`] when `config` fails [`LeaseConfig::validate`].
    /// - [`LeaseError::Held`] when a live lease of another owner is in place (not expired,
    ///   not released, and not held by `predecessor`); it names the holder and its
    ///   expiry.
    /// - [`LeaseError::Contended`] when the lock object was created or replaced between
    ///   our read and our conditional write on every one of the few attempts.
    /// - [`LeaseError::Store`] when reading or writing the lock object fails otherwise
    ///   (unreachable endpoint, denied access, missing bucket, ...).
    pub async fn acquire_at(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        owner: Owner,
        config: LeaseConfig,
        predecessor: Option<&str>,
        now_ms: i64,
    ) -> Result<Lease, LeaseError> {
        config.validate().map_err(LeaseError::BadConfig)?;
        let path = Lease::path_for(prefix);
        for _ in 0..ACQUIRE_ATTEMPTS {
            let found = read(store.as_ref(), &path).await?;
            let verdict = judge(
                found
                    .as_ref()
                    .map(|(r, modified, _)| (r.as_ref(), *modified)),
                now_ms,
                config.ttl,
                predecessor,
            );
            // Our own record: an earlier attempt of ours succeeded but its answer was lost.
            let ours = matches!(&found, Some((Some(r), _, _)) if r.owner.id == owner.id);
            let mode = match (verdict, found) {
                (_, Some((_, _, version))) if ours => PutMode::Update(version),
                (Verdict::Held(holder), _) => {
                    return Err(LeaseError::Held {
                        path: path.to_string(),
                        until: rfc3339(holder.expires_ms),
                        holder: holder.owner,
                    })
                }
                (Verdict::Stale(previous), Some((_, _, version))) => {
                    if let Some(previous) = previous {
                        let why = if previous.expires_ms == 0 {
                            "released"
                        } else if now_ms >= previous.expires_ms {
                            "expired"
                        } else {
                            "the previous recorder of this journal directory, which is gone"
                        };
                        log::warn!(
                            "{path}: taking over the lease of {} ({why})",
                            previous.owner
                        );
                    }
                    PutMode::Update(version)
                }
                _ => PutMode::Create,
            };
            let record = LeaseRecord::new(&owner, now_ms, config.ttl);
            match write(store.as_ref(), &path, &record, mode).await {
                Ok(version) => {
                    return Ok(Lease {
                        store,
                        path,
                        config,
                        record,
                        version,
                        renewed_ms: now_ms,
                    })
                }
                // Someone created or replaced it between our read and our write: read again.
                Err(object_store::Error::AlreadyExists { .. })
                | Err(object_store::Error::Precondition { .. }) => continue,
                Err(e) => return Err(store_error(&path, &e)),
            }
        }
        Err(LeaseError::Contended {
            path: path.to_string(),
        })
    }

    /// Renews now (the system clock).
    ///
    /// # Errors
    ///
    /// As [`renew_at`](Self::renew_at).
    pub async fn renew(&mut self) -> Result<(), LeaseError> {
        self.renew_at(now_ms()).await
    }

    /// Extends the lease to `now_ms + ttl`, conditional on the version this process wrote
    /// last.
    ///
    /// # Errors
    ///
    /// - [`LeaseError::Lost`] when the lock object no longer holds our record (another
    ///   owner replaced it, or it was deleted or made unreadable).
    /// - [`LeaseError::Store`] when the store did not answer or failed otherwise (the
    ///   lease is unchanged: retry).
    /// - [`LeaseError::Contended`] when our own record's version changed under the
    ///   write twice in a row.
    pub async fn renew_at(&mut self, now_ms: i64) -> Result<(), LeaseError> {
        let record = LeaseRecord::new(&self.record.owner, now_ms, self.config.ttl);
        self.replace(record).await?;
        self.renewed_ms = now_ms;
        Ok(())
    }

    /// Marks the lease released (the next recorder need not wait); conditional like a
    /// renewal.
    ///
    /// # Errors
    ///
    /// As [`renew_at`](Self::renew_at): [`LeaseError::Lost`] when someone else holds the
    /// prefix by now, [`LeaseError::Store`] when the store failed (the lease then simply
    /// expires), [`LeaseError::Contended`] as there.
    pub async fn release(mut self) -> Result<(), LeaseError> {
        let record = LeaseRecord::released(&self.record.owner);
        self.replace(record).await
    }

    /// Whether a renewal is due at `now_ms`.
    pub fn renew_due(&self, now_ms: i64) -> bool {
        record::renew_due(self.renewed_ms, now_ms, &self.config)
    }

    /// The record as last written.
    pub fn record(&self) -> &LeaseRecord {
        &self.record
    }

    /// The lock object.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The timing.
    pub fn config(&self) -> LeaseConfig {
        self.config
    }

    /// Rewrites the lock object conditional on our last version. When the condition fails
    /// but the object still holds our record (a write of ours whose answer was lost in an
    /// outage), its version is adopted and the write tried once more.
    async fn replace(&mut self, record: LeaseRecord) -> Result<(), LeaseError> {
        for _ in 0..2 {
            let mode = PutMode::Update(self.version.clone());
            match write(self.store.as_ref(), &self.path, &record, mode).await {
                Ok(version) => {
                    self.version = version;
                    self.record = record;
                    return Ok(());
                }
                Err(object_store::Error::Precondition { .. })
                | Err(object_store::Error::NotFound { .. }) => {
                    let holder = match read(self.store.as_ref(), &self.path).await? {
                        Some((Some(r), _, version)) if r.owner.id == self.record.owner.id => {
                            self.version = version;
                            continue;
                        }
                        Some((Some(r), _, _)) => r.owner.to_string(),
                        Some((None, _, _)) => "an unreadable lock object".to_owned(),
                        None => "nobody (the lock object was deleted)".to_owned(),
                    };
                    return Err(LeaseError::Lost {
                        path: self.path.to_string(),
                        holder,
                    });
                }
                Err(e) => return Err(store_error(&self.path, &e)),
            }
        }
        Err(LeaseError::Contended {
            path: self.path.to_string(),
        })
    }
}

async fn read(store: &dyn ObjectStore, path: &Path) -> Result<Option<Found>, LeaseError> {
    let got = match store.get(path).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(store_error(path, &e)),
    };
    let version = UpdateVersion {
        e_tag: got.meta.e_tag.clone(),
        version: got.meta.version.clone(),
    };
    let modified_ms = got.meta.last_modified.timestamp_millis();
    let bytes = got.bytes().await.map_err(|e| store_error(path, &e))?;
    let record = std::str::from_utf8(&bytes)
        .ok()
        .and_then(LeaseRecord::decode);
    Ok(Some((record, modified_ms, version)))
}

async fn write(
    store: &dyn ObjectStore,
    path: &Path,
    record: &LeaseRecord,
    mode: PutMode,
) -> Result<UpdateVersion, object_store::Error> {
    let payload = PutPayload::from(record.encode().into_bytes());
    let done = store
        .put_opts(path, payload, PutOptions::from(mode))
        .await?;
    Ok(UpdateVersion {
        e_tag: done.e_tag,
        version: done.version,
    })
}

fn store_error(path: &Path, e: &object_store::Error) -> LeaseError {
    LeaseError::Store {
        path: path.to_string(),
        reason: describe(e),
    }
}

/// The owner id the previous holder wrote into `dir` ([`remember_owner`]), if any.
///
/// Call it only while holding an exclusive lock on `dir` that the predecessor held for its
/// whole life (the recorder's journal lock): that lock is what proves the predecessor is
/// gone, and so what makes its lease free to take at once.
pub fn read_predecessor(dir: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(OWNER_FILE)).ok()?;
    let id = text.trim();
    (!id.is_empty()).then(|| id.to_owned())
}

/// Writes `owner`'s id into `dir` for the next holder of the directory
/// ([`read_predecessor`]): a temporary file, synced, renamed over [`OWNER_FILE`].
///
/// # Errors
///
/// The I/O error of the write, sync or rename (a failure only costs the next start the
/// wait for this lease's expiry).
pub fn remember_owner(dir: &std::path::Path, owner: &Owner) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = dir.join(format!("{OWNER_FILE}.tmp"));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(format!("{}\n", owner.id).as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, dir.join(OWNER_FILE))?;
    // The rename itself is durable once the directory is synced (best effort elsewhere).
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| format!("{ms} ms"))
}
