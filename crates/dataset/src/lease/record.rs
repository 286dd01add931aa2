//! The lease's pure half: what the lock object says, and who may write when. No I/O and no
//! clock: the time comes in as an argument, so every rule is a plain unit test.

use std::time::Duration;

/// How long a lease lasts, how often its holder renews it, and how long one renewal may
/// take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    /// A lease not renewed for this long may be taken over. It must dwarf the clock skew
    /// between the machines of two recorders (expiry is judged by the taker's clock) and
    /// the longest renewal outage to ride out.
    pub ttl: Duration,
    /// How often the holder renews (well below `ttl`: a few renewals may fail in a row).
    pub renew_every: Duration,
    /// One renewal attempt that has no answer by then is abandoned and retried
    /// [`RETRY_AFTER`] later.
    pub attempt_timeout: Duration,
}

/// How soon a failed renewal is tried again (an outage; the lease itself is unchanged).
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

impl Default for LeaseConfig {
    /// 60 s lease, renewed every 15 s, 10 s per renewal attempt.
    fn default() -> Self {
        LeaseConfig {
            ttl: Duration::from_secs(60),
            renew_every: Duration::from_secs(15),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

impl LeaseConfig {
    /// Checks that a renewal that times out still leaves time for a retry before the lease
    /// expires: `renew_every + attempt_timeout + RETRY_AFTER + attempt_timeout < ttl`
    /// (the default: 15 + 10 + 1 + 10 = 36 s of a 60 s lease).
    ///
    /// # Errors
    ///
    /// A message naming the four durations when they do not fit.
    pub fn validate(&self) -> Result<(), String> {
        let worst = self.renew_every + self.attempt_timeout + RETRY_AFTER + self.attempt_timeout;
        if worst < self.ttl && !self.attempt_timeout.is_zero() {
            Ok(())
        } else {
            Err(format!(
                "lease timing: renewing every {:?} with {:?} per attempt and a retry {:?} later \
                 needs a lease longer than {worst:?}, not {:?}",
                self.renew_every, self.attempt_timeout, RETRY_AFTER, self.ttl
            ))
        }
    }
}

/// Who holds a lease: a process-unique id, and the host and the pid for the message a
/// second recorder prints. Only the id decides anything: a pid means nothing outside its
/// own PID namespace (containers sharing a host name each have their own pid 7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// Unique per process run (host, pid and start time).
    pub id: String,
    /// The host name.
    pub host: String,
    /// The process id.
    pub pid: u32,
}

impl Owner {
    /// This process: host from `/proc/sys/kernel/hostname` (or `$HOSTNAME`), its pid, and an
    /// id that also carries the start time, so a restarted process is a new owner.
    pub fn this_process() -> Owner {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown-host".to_owned());
        let pid = std::process::id();
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        Owner {
            id: format!("{host}-{pid}-{started:x}"),
            host,
            pid,
        }
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (host {}, pid {})", self.id, self.host, self.pid)
    }
}

/// The content of the lock object: one `key=value` per line, readable with `cat`.
///
/// ```text
/// owner=host1-4242-18c2f0a1b2c3d4e5
/// host=host1
/// pid=4242
/// expires_ms=1733054400000
/// ```
///
/// A released lease keeps the object with `expires_ms=0` (see [`LeaseRecord::released`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseRecord {
    /// The holder.
    pub owner: Owner,
    /// When the lease ends unless renewed, ms since the Unix epoch (0: released).
    pub expires_ms: i64,
}

impl LeaseRecord {
    /// A lease for `owner` from `now_ms` for `ttl`.
    pub fn new(owner: &Owner, now_ms: i64, ttl: Duration) -> Self {
        LeaseRecord {
            owner: owner.clone(),
            expires_ms: now_ms.saturating_add(duration_ms(ttl)),
        }
    }

    /// The record a clean stop leaves behind: anyone may take it at once.
    pub fn released(owner: &Owner) -> Self {
        LeaseRecord {
            owner: owner.clone(),
            expires_ms: 0,
        }
    }

    /// The bytes of the lock object.
    pub fn encode(&self) -> String {
        format!(
            "owner={}\nhost={}\npid={}\nexpires_ms={}\n",
            self.owner.id, self.owner.host, self.owner.pid, self.expires_ms
        )
    }

    /// Reads a lock object; `None` when it is not one (then [`judge`] treats it by age).
    pub fn decode(text: &str) -> Option<Self> {
        let field = |key: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
                .map(str::trim)
        };
        Some(LeaseRecord {
            owner: Owner {
                id: field("owner")?.to_owned(),
                host: field("host")?.to_owned(),
                pid: field("pid")?.parse().ok()?,
            },
            expires_ms: field("expires_ms")?.parse().ok()?,
        })
    }
}

/// What the lock object found at start means for this process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nobody holds the prefix: take it with a create-only put.
    Free,
    /// The lease ran out, was released, or its holder is the predecessor this process
    /// inherited the journal of: take it over by replacing exactly this version of the
    /// object (`If-Match`).
    Stale(Option<LeaseRecord>),
    /// Someone else holds a live lease.
    Held(LeaseRecord),
}

/// Decides from the lock object (`None`: there is none; `Some(None)`: there is one that is
/// not a lease record, last modified at `modified_ms`) whether this process may take it.
///
/// Ownership is decided by the record alone: its owner id and its expiry. A live lease is
/// stale before its expiry only when its owner id is `predecessor`: the id the previous
/// recorder of this process's journal directory wrote there (see
/// [`read_predecessor`](super::read_predecessor)). Holding that directory's lock proves
/// the predecessor is gone, so a restart after a crash does not wait out its own lease;
/// no process table is consulted (a pid looked up in another PID namespace says nothing).
/// A record that cannot be read counts as held until `ttl` after it was last written.
pub fn judge(
    found: Option<(Option<&LeaseRecord>, i64)>,
    now_ms: i64,
    ttl: Duration,
    predecessor: Option<&str>,
) -> Verdict {
    match found {
        None => Verdict::Free,
        Some((None, modified_ms)) => {
            if now_ms >= modified_ms.saturating_add(duration_ms(ttl)) {
                Verdict::Stale(None)
            } else {
                Verdict::Held(LeaseRecord {
                    owner: Owner {
                        id: "(unreadable lock object)".to_owned(),
                        host: "?".to_owned(),
                        pid: 0,
                    },
                    expires_ms: modified_ms.saturating_add(duration_ms(ttl)),
                })
            }
        }
        Some((Some(record), _)) => {
            let expired = now_ms >= record.expires_ms;
            let inherited = predecessor == Some(record.owner.id.as_str());
            if expired || inherited {
                Verdict::Stale(Some(record.clone()))
            } else {
                Verdict::Held(record.clone())
            }
        }
    }
}

/// Whether the holder should renew now: `renew_every` after the last successful renewal.
pub fn renew_due(last_renewed_ms: i64, now_ms: i64, config: &LeaseConfig) -> bool {
    now_ms >= last_renewed_ms.saturating_add(duration_ms(config.renew_every))
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(id: &str, host: &str, pid: u32) -> Owner {
        Owner {
            id: id.into(),
            host: host.into(),
            pid,
        }
    }

    const TTL: Duration = Duration::from_secs(60);

    #[test]
    fn record_round_trip_and_garbage() {
        let r = LeaseRecord::new(&owner("h-1-ab", "h", 1), 1_000, TTL);
        assert_eq!(r.expires_ms, 61_000);
        assert_eq!(LeaseRecord::decode(&r.encode()), Some(r.clone()));
        assert_eq!(LeaseRecord::released(&r.owner).expires_ms, 0);
        for bad in [
            "",
            "owner=x\nhost=h\npid=notanumber\nexpires_ms=1",
            "hello",
            "owner=x\n",
        ] {
            assert_eq!(LeaseRecord::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn verdicts() {
        let other = LeaseRecord::new(&owner("o", "me-host", 7), 0, TTL);
        let judge_at = |found, now, predecessor| judge(found, now, TTL, predecessor);
        // (found, now, predecessor, verdict)
        assert_eq!(judge_at(None, 5, None), Verdict::Free);
        assert_eq!(
            judge_at(Some((Some(&other), 0)), 59_999, None),
            Verdict::Held(other.clone())
        );
        assert_eq!(
            judge_at(Some((Some(&other), 0)), 60_000, None),
            Verdict::Stale(Some(other.clone()))
        );
        // Same host, any pid: still held. Only the record's owner id counts.
        assert_eq!(
            judge_at(Some((Some(&other), 0)), 10, Some("someone-else")),
            Verdict::Held(other.clone())
        );
        // The predecessor of this journal: taken over at once.
        assert_eq!(
            judge_at(Some((Some(&other), 0)), 10, Some("o")),
            Verdict::Stale(Some(other.clone()))
        );
        let released = LeaseRecord::released(&other.owner);
        assert_eq!(
            judge_at(Some((Some(&released), 0)), 1, None),
            Verdict::Stale(Some(released.clone()))
        );
        // Unreadable: held until ttl after its last write, whoever asks.
        assert!(
            matches!(judge_at(Some((None, 1_000)), 60_999, Some("o")), Verdict::Held(r) if r.expires_ms == 61_000)
        );
        assert_eq!(
            judge_at(Some((None, 1_000)), 61_000, None),
            Verdict::Stale(None)
        );
    }

    #[test]
    fn renewal_timing() {
        let config = LeaseConfig::default();
        assert!(
            config.renew_every * 3 < config.ttl,
            "room for failed renewals"
        );
        config.validate().unwrap();
        let tight = LeaseConfig {
            attempt_timeout: Duration::from_secs(30),
            ..config
        };
        let err = tight.validate().unwrap_err();
        assert!(err.contains("longer than 76s, not 60s"), "{err}");
        assert!(!renew_due(1_000, 15_999, &config));
        assert!(renew_due(1_000, 16_000, &config));
    }

    #[test]
    fn this_process_is_named() {
        let me = Owner::this_process();
        assert_eq!(me.pid, std::process::id());
        assert!(!me.host.is_empty() && me.id.contains(&me.pid.to_string()));
        assert!(me.to_string().contains(&format!("pid {}", me.pid)));
    }
}
