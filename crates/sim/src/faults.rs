//! Fault injection: what happens to each data frame of a connection, and which REST
//! requests fail.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

use crate::config::Faults;

/// What to do with the next data frame of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Send it as is.
    Send,
    /// Send a truncated copy (invalid JSON).
    Malformed,
    /// Do not send it: the connection is stalled.
    Withhold,
}

/// Per-connection data-frame fault state.
#[derive(Debug)]
pub(crate) struct FrameFaults {
    close_after: Option<u64>,
    stall_after: Option<u64>,
    malformed_every: Option<u64>,
    /// Data frames sent so far (malformed ones included).
    sent: u64,
    /// Frames still to corrupt because of `inject_malformed`.
    injected: u32,
}

impl FrameFaults {
    pub(crate) fn new(faults: &Faults) -> Self {
        FrameFaults {
            close_after: faults.close_after,
            stall_after: faults.stall_after,
            malformed_every: faults.malformed_every.filter(|&n| n > 0),
            sent: 0,
            injected: 0,
        }
    }

    /// Corrupts the next `frames` data frames.
    pub(crate) fn inject(&mut self, frames: u32) {
        self.injected = self.injected.saturating_add(frames);
    }

    /// Decides the next frame's fate and counts it as sent unless it is withheld.
    pub(crate) fn next(&mut self, globally_stalled: bool) -> Fate {
        if globally_stalled || self.stall_after.is_some_and(|n| self.sent >= n) {
            return Fate::Withhold;
        }
        self.sent += 1;
        if self.injected > 0 {
            self.injected -= 1;
            return Fate::Malformed;
        }
        match self.malformed_every {
            Some(n) if self.sent.is_multiple_of(n) => Fate::Malformed,
            _ => Fate::Send,
        }
    }

    /// True once `close_after` data frames have been sent.
    pub(crate) fn should_close(&self) -> bool {
        self.close_after.is_some_and(|n| self.sent >= n)
    }
}

/// Cuts a frame so that it is no longer valid JSON.
pub(crate) fn corrupt(text: &str) -> String {
    let mut cut = text.len() / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text[..cut].to_string()
}

/// How a REST request fails, if it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RestFault {
    /// HTTP 429 rate limit.
    TooMany,
    /// HTTP 500 or 503.
    Server(u16),
}

/// Shared REST fault counters, the global stall switch and the request log.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    pub(crate) stalled: AtomicBool,
    /// `SUBSCRIBE` requests still to swallow.
    ignore_subscribes: AtomicU32,
    http: Mutex<HttpFaults>,
    requests: Mutex<Vec<String>>,
}

#[derive(Debug, Default)]
struct HttpFaults {
    remaining_429: u32,
    remaining_5xx: u32,
    served_5xx: u64,
}

impl FaultState {
    pub(crate) fn new(faults: &Faults) -> Self {
        let state = FaultState::default();
        state.set_http(faults.http_429, faults.http_5xx);
        state.ignore_subscribes(faults.ignore_subscribes);
        state
    }

    pub(crate) fn set_http(&self, http_429: u32, http_5xx: u32) {
        let mut h = lock(&self.http);
        h.remaining_429 = http_429;
        h.remaining_5xx = http_5xx;
    }

    /// The next `n` `SUBSCRIBE` requests get no answer.
    pub(crate) fn ignore_subscribes(&self, n: u32) {
        self.ignore_subscribes.store(n, Ordering::Relaxed);
    }

    /// `true` (and one fewer to go) when this `SUBSCRIBE` is to be swallowed.
    pub(crate) fn swallow_subscribe(&self) -> bool {
        self.ignore_subscribes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    pub(crate) fn is_stalled(&self) -> bool {
        self.stalled.load(Ordering::Relaxed)
    }

    /// Logs a REST request (`"GET /path?query"`) and decides whether it fails.
    pub(crate) fn on_request(&self, line: String) -> Option<RestFault> {
        lock(&self.requests).push(line);
        let mut h = lock(&self.http);
        if h.remaining_429 > 0 {
            h.remaining_429 -= 1;
            return Some(RestFault::TooMany);
        }
        if h.remaining_5xx > 0 {
            if h.remaining_5xx != u32::MAX {
                h.remaining_5xx -= 1;
            }
            h.served_5xx += 1;
            let status = if h.served_5xx % 2 == 1 { 503 } else { 500 };
            return Some(RestFault::Server(status));
        }
        None
    }

    pub(crate) fn requests(&self) -> Vec<String> {
        lock(&self.requests).clone()
    }
}

/// Locks a mutex, going on with the data if a panicking thread poisoned it (the data here
/// are logs and counters, always left consistent).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_fates_follow_the_configured_faults() {
        let cases: &[(Faults, bool, &[Fate])] = &[
            (
                Faults::default(),
                false,
                &[Fate::Send, Fate::Send, Fate::Send],
            ),
            (Faults::default(), true, &[Fate::Withhold, Fate::Withhold]),
            (
                Faults {
                    malformed_every: Some(2),
                    ..Faults::default()
                },
                false,
                &[Fate::Send, Fate::Malformed, Fate::Send, Fate::Malformed],
            ),
            (
                Faults {
                    stall_after: Some(2),
                    ..Faults::default()
                },
                false,
                &[Fate::Send, Fate::Send, Fate::Withhold, Fate::Withhold],
            ),
            (
                Faults {
                    malformed_every: Some(0),
                    ..Faults::default()
                },
                false,
                &[Fate::Send],
            ),
        ];
        for (faults, stalled, want) in cases {
            let mut f = FrameFaults::new(faults);
            let got: Vec<Fate> = want.iter().map(|_| f.next(*stalled)).collect();
            assert_eq!(&got, want, "{faults:?}");
        }
    }

    #[test]
    fn close_after_counts_sent_frames_and_injection_corrupts_the_next_ones() {
        let mut f = FrameFaults::new(&Faults {
            close_after: Some(3),
            ..Faults::default()
        });
        f.inject(2);
        assert_eq!(f.next(false), Fate::Malformed);
        assert!(!f.should_close());
        assert_eq!(f.next(false), Fate::Malformed);
        assert_eq!(f.next(false), Fate::Send);
        assert!(f.should_close());
    }

    #[test]
    fn corrupt_text_is_not_json() {
        for text in [r#"[{"e":"24hrMiniTicker","E":1}]"#, r#"{"a":"é"}"#, "{}"] {
            assert!(serde_json::from_str::<serde_json::Value>(&corrupt(text)).is_err());
        }
    }

    #[test]
    fn rest_faults_429_first_then_5xx_alternating_then_none() {
        let s = FaultState::new(&Faults {
            http_429: 1,
            http_5xx: 3,
            ..Faults::default()
        });
        let got: Vec<Option<RestFault>> =
            (0..6).map(|n| s.on_request(format!("GET /{n}"))).collect();
        use RestFault::*;
        assert_eq!(
            got,
            [
                Some(TooMany),
                Some(Server(503)),
                Some(Server(500)),
                Some(Server(503)),
                None,
                None
            ]
        );
        assert_eq!(s.requests().len(), 6);
        s.set_http(0, u32::MAX);
        assert!((0..10).all(|_| s.on_request(String::new()).is_some()));
    }
}
