//! [`LeaseKeeper`]: renews a [`Lease`] in the background and says whether the process may
//! still write.

use std::sync::Arc;

use tokio::sync::{watch, Mutex, Notify};
use tokio::task::JoinHandle;

use super::{now_ms, Lease, LeaseError, RETRY_AFTER};

/// What the keeper knows about its lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseStatus {
    /// Renewed; valid until `expires_ms`.
    Held {
        /// Expiry, ms since the Unix epoch.
        expires_ms: i64,
    },
    /// The last renewal failed for want of an answer (`error`, redacted); the lease stays
    /// ours as long as nobody takes it over, which is possible after `expires_ms`.
    Failing {
        /// Expiry of the last successful renewal.
        expires_ms: i64,
        /// Why the renewal failed.
        error: String,
    },
    /// Someone else took the prefix over: stop writing.
    Lost {
        /// The [`LeaseError::Lost`] message.
        error: String,
    },
}

impl LeaseStatus {
    /// Whether publishing at `now_ms` is safe: held, or failing but not yet expired. After
    /// expiry call [`LeaseKeeper::renew_now`] first: a renewal that succeeds proves nobody
    /// took over.
    pub fn may_write_at(&self, now_ms: i64) -> bool {
        match self {
            LeaseStatus::Held { expires_ms } | LeaseStatus::Failing { expires_ms, .. } => {
                now_ms < *expires_ms
            }
            LeaseStatus::Lost { .. } => false,
        }
    }

    /// [`may_write_at`](Self::may_write_at) now.
    pub fn may_write(&self) -> bool {
        self.may_write_at(now_ms())
    }
}

/// Renews a lease every [`renew_every`](super::LeaseConfig::renew_every) on a tokio task,
/// abandoning an attempt after [`attempt_timeout`](super::LeaseConfig::attempt_timeout)
/// and retrying [`RETRY_AFTER`] later; [`release`](Self::release) stops it and releases
/// the lease.
#[derive(Debug)]
pub struct LeaseKeeper {
    lease: Arc<Mutex<Lease>>,
    status: watch::Receiver<LeaseStatus>,
    status_tx: Arc<watch::Sender<LeaseStatus>>,
    stop: Arc<Notify>,
    task: JoinHandle<()>,
}

impl LeaseKeeper {
    /// Starts renewing `lease` (needs a tokio runtime with the time driver).
    pub fn spawn(lease: Lease) -> LeaseKeeper {
        let every = lease.config().renew_every;
        let (status_tx, status) = watch::channel(LeaseStatus::Held {
            expires_ms: lease.record().expires_ms,
        });
        let status_tx = Arc::new(status_tx);
        let lease = Arc::new(Mutex::new(lease));
        let stop = Arc::new(Notify::new());
        let task = {
            let (lease, status_tx, stop) = (lease.clone(), status_tx.clone(), stop.clone());
            tokio::spawn(async move {
                let mut wait = every;
                loop {
                    if tokio::time::timeout(wait, stop.notified()).await.is_ok() {
                        return;
                    }
                    let status = renew(&lease, &status_tx).await;
                    wait = match status {
                        LeaseStatus::Held { .. } => every,
                        LeaseStatus::Failing { .. } => RETRY_AFTER.min(every),
                        LeaseStatus::Lost { .. } => return,
                    };
                }
            })
        };
        LeaseKeeper {
            lease,
            status,
            status_tx,
            stop,
            task,
        }
    }

    /// The current status.
    pub fn status(&self) -> LeaseStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change.
    pub fn watch(&self) -> watch::Receiver<LeaseStatus> {
        self.status.clone()
    }

    /// Renews at once (e.g. before a publish after an outage longer than the lease).
    pub async fn renew_now(&self) -> LeaseStatus {
        renew(&self.lease, &self.status_tx).await
    }

    /// Stops renewing and releases the lease (a clean stop).
    ///
    /// # Errors
    ///
    /// Those of [`Lease::release`]. [`LeaseError::Contended`] (path `lease keeper`) if the
    /// lease were still shared after the renewal task ended, which the keeper does not let
    /// happen.
    pub async fn release(self) -> Result<(), LeaseError> {
        self.stop.notify_one();
        let _ = self.task.await;
        let lease = Arc::try_unwrap(self.lease)
            .map_err(|_| LeaseError::Contended {
                path: "lease keeper".to_owned(),
            })?
            .into_inner();
        lease.release().await
    }
}

async fn renew(lease: &Mutex<Lease>, status_tx: &watch::Sender<LeaseStatus>) -> LeaseStatus {
    let mut lease = lease.lock().await;
    if matches!(*status_tx.borrow(), LeaseStatus::Lost { .. }) {
        return status_tx.borrow().clone();
    }
    let limit = lease.config().attempt_timeout;
    // An abandoned attempt may still have written our record: the next one adopts its
    // version (`Lease::replace`).
    let renewed = tokio::time::timeout(limit, lease.renew())
        .await
        .unwrap_or_else(|_| {
            Err(LeaseError::Store {
                path: lease.path().to_string(),
                reason: format!("no answer within {} s", limit.as_secs_f64()),
            })
        });
    let status = match renewed {
        Ok(()) => LeaseStatus::Held {
            expires_ms: lease.record().expires_ms,
        },
        Err(e @ LeaseError::Lost { .. }) => {
            log::error!("{e}");
            LeaseStatus::Lost {
                error: e.to_string(),
            }
        }
        Err(e) => {
            log::warn!("lease renewal failed, retrying: {e}");
            LeaseStatus::Failing {
                expires_ms: lease.record().expires_ms,
                error: e.to_string(),
            }
        }
    };
    status_tx.send_replace(status.clone());
    status
}
