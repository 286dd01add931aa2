//! [`Health`]: what `/health` answers, kept up to date by the tool that serves it.
//!
//! A tool is healthy while nothing is wrong with it. Two things make it unhealthy:
//!
//! * **silence**: no *activity* (an event for the recorder and the alerter) for longer than
//!   the tool's idle timeout: the feed is down, whatever the sockets say;
//! * a **failing check**: the last checkpoint failed, the last trader cycle failed. A check
//!   fails with [`Health::fail`] and recovers with [`Health::recover`]; only the latest
//!   outcome counts;
//! * a **backlog** older than its bound ([`Health::with_backlog`]): the recorder's oldest
//!   row not yet published has waited too long, whatever holds it back (a store that does
//!   not answer, a lease not held, a stuck checkpoint). The tool says since when the oldest
//!   item waits ([`Health::backlog`]); its age is computed when `/health` is asked, so it
//!   keeps growing even if the tool stops reporting.
//!
//! ```
//! use std::time::Duration;
//! let health = ops::Health::new("event", Some(Duration::from_secs(10)));
//! health.activity();
//! health.fail("checkpoint", "disk full");
//! let report = health.report();
//! assert!(!report.healthy());
//! assert_eq!(report.reasons(), ["last checkpoint failed: disk full"]);
//! health.recover("checkpoint");
//! assert!(health.report().healthy());
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The health of one tool; cheap to clone (all clones share one state).
#[derive(Debug, Clone)]
pub struct Health {
    activity: &'static str,
    stale_after: Option<Duration>,
    /// The backlog's name and bound ([`Health::with_backlog`]).
    backlog: Option<(&'static str, Duration)>,
    started: Instant,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    last_activity: Option<Instant>,
    /// Failing checks by name, with why.
    failing: BTreeMap<&'static str, String>,
    /// Since when the oldest item of the backlog waits (`None`: nothing waits).
    backlog_since: Option<Instant>,
}

impl Health {
    /// A healthy state. `activity` names what the tool does (`"event"`, `"cycle"`): the
    /// report's `last_<activity>_age_seconds`. With `stale_after`, more than that long without
    /// [`Health::activity`] (counted from now until the first) is unhealthy.
    pub fn new(activity: &'static str, stale_after: Option<Duration>) -> Self {
        Health {
            activity,
            stale_after,
            backlog: None,
            started: Instant::now(),
            state: Arc::default(),
        }
    }

    /// Also unhealthy while the oldest item of a backlog named `name` (e.g.
    /// `"unpublished"` rows) has waited longer than `limit`; the report then carries
    /// `<name>_age_seconds`.
    pub fn with_backlog(mut self, name: &'static str, limit: Duration) -> Self {
        self.backlog = Some((name, limit));
        self
    }

    /// The oldest item of the backlog waits since `since` (`None`: nothing waits).
    pub fn backlog(&self, since: Option<Instant>) {
        self.state().backlog_since = since;
    }

    /// Something happened now (an event arrived, a cycle ran).
    pub fn activity(&self) {
        self.state().last_activity = Some(Instant::now());
    }

    /// The check `check` (e.g. `"checkpoint"`, `"cycle"`) failed, because of `reason`
    /// (secrets are masked).
    pub fn fail(&self, check: &'static str, reason: &str) {
        self.state().failing.insert(check, logging::redact(reason));
    }

    /// The check `check` succeeded: it no longer makes the tool unhealthy.
    pub fn recover(&self, check: &'static str) {
        self.state().failing.remove(check);
    }

    /// The state now.
    pub fn report(&self) -> Report {
        self.report_at(Instant::now())
    }

    /// The state at `now` (for tests with a clock of their own).
    pub fn report_at(&self, now: Instant) -> Report {
        let state = self.state();
        let since = state.last_activity.unwrap_or(self.started);
        let silent = now.saturating_duration_since(since);
        let mut reasons = Vec::new();
        if let Some(limit) = self.stale_after.filter(|limit| silent > *limit) {
            let what = if state.last_activity.is_some() {
                format!("no {} for {:.1} s", self.activity, silent.as_secs_f64())
            } else {
                format!(
                    "no {} since the start {:.1} s ago",
                    self.activity,
                    silent.as_secs_f64()
                )
            };
            reasons.push(format!("{what} (idle timeout {} s)", limit.as_secs_f64()));
        }
        let backlog = self.backlog.map(|(name, limit)| {
            let age = state
                .backlog_since
                .map(|at| now.saturating_duration_since(at));
            if let Some(age) = age.filter(|age| *age > limit) {
                reasons.push(format!(
                    "{name} rows waiting for {:.1} s (bound {} s)",
                    age.as_secs_f64(),
                    limit.as_secs_f64()
                ));
            }
            (name, age)
        });
        reasons.extend(
            state
                .failing
                .iter()
                .map(|(check, why)| format!("last {check} failed: {why}")),
        );
        Report {
            activity: self.activity,
            uptime: now.saturating_duration_since(self.started),
            last_activity_age: state
                .last_activity
                .map(|at| now.saturating_duration_since(at)),
            backlog,
            reasons,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-updated (each update is
        // one assignment), so a poisoned lock is still good to use.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One answer of `/health`.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    activity: &'static str,
    uptime: Duration,
    last_activity_age: Option<Duration>,
    /// The backlog's name and the age of its oldest item, when the tool has one.
    backlog: Option<(&'static str, Option<Duration>)>,
    reasons: Vec<String>,
}

impl Report {
    /// Nothing is wrong.
    pub fn healthy(&self) -> bool {
        self.reasons.is_empty()
    }

    /// Why the tool is unhealthy (empty when healthy).
    pub fn reasons(&self) -> &[String] {
        &self.reasons
    }

    /// The HTTP status `/health` answers with: 200 healthy, 503 unhealthy.
    pub fn http_status(&self) -> u16 {
        if self.healthy() {
            200
        } else {
            503
        }
    }

    /// The JSON body, e.g.
    /// `{"status":"unhealthy","uptime_seconds":42.1,"last_event_age_seconds":12.5,"reasons":["no event for 12.5 s (idle timeout 10 s)"]}`
    /// (`last_<activity>_age_seconds` is `null` before the first activity).
    pub fn to_json(&self) -> String {
        let mut body = serde_json::Map::new();
        let status = if self.healthy() { "ok" } else { "unhealthy" };
        body.insert("status".into(), status.into());
        body.insert("uptime_seconds".into(), secs(self.uptime).into());
        body.insert(
            format!("last_{}_age_seconds", self.activity),
            self.last_activity_age.map(secs).into(),
        );
        if let Some((name, age)) = self.backlog {
            body.insert(format!("{name}_age_seconds"), age.map(secs).into());
        }
        body.insert("reasons".into(), self.reasons.clone().into());
        serde_json::Value::Object(body).to_string()
    }
}

/// Seconds, to the millisecond.
fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(report: &Report) -> serde_json::Value {
        serde_json::from_str(&report.to_json()).unwrap()
    }

    #[test]
    fn silence_beyond_the_idle_timeout_is_unhealthy_until_the_next_activity() {
        let health = Health::new("event", Some(Duration::from_secs(10)));
        let t0 = health.started;
        // Before the first event, silence counts from the start.
        let early = health.report_at(t0 + Duration::from_secs(5));
        assert!(early.healthy(), "{early:?}");
        assert_eq!(
            json(&early)["last_event_age_seconds"],
            serde_json::Value::Null
        );
        let late = health.report_at(t0 + Duration::from_secs(11));
        assert_eq!(late.http_status(), 503);
        assert!(late.reasons()[0].contains("since the start"), "{late:?}");

        health.activity();
        let at = health.state().last_activity.unwrap();
        let fresh = health.report_at(at + Duration::from_millis(1500));
        assert_eq!(fresh.http_status(), 200);
        let body = json(&fresh);
        assert_eq!(body["status"], "ok");
        assert_eq!(body["last_event_age_seconds"], 1.5);
        assert_eq!(body["reasons"], serde_json::json!([]));

        let stale = health.report_at(at + Duration::from_secs(12));
        let body = json(&stale);
        assert_eq!(body["status"], "unhealthy");
        assert_eq!(
            body["reasons"],
            serde_json::json!(["no event for 12.0 s (idle timeout 10 s)"])
        );
    }

    #[test]
    fn a_backlog_older_than_its_bound_is_unhealthy_even_without_news() {
        let health =
            Health::new("event", None).with_backlog("unpublished", Duration::from_secs(90));
        let t0 = health.started;
        assert!(health.report_at(t0).healthy());
        assert_eq!(
            json(&health.report_at(t0))["unpublished_age_seconds"],
            serde_json::Value::Null
        );
        health.backlog(Some(t0));
        let young = health.report_at(t0 + Duration::from_secs(90));
        assert!(young.healthy(), "{young:?}");
        assert_eq!(json(&young)["unpublished_age_seconds"], 90.0);
        // No further report from the tool: the age still grows when asked.
        let old = health.report_at(t0 + Duration::from_secs(95));
        assert_eq!(old.http_status(), 503);
        assert_eq!(
            old.reasons(),
            ["unpublished rows waiting for 95.0 s (bound 90 s)"]
        );
        health.backlog(None);
        assert!(health.report_at(t0 + Duration::from_secs(95)).healthy());
        // A tool without a backlog keeps its body as it was.
        let plain = Health::new("cycle", None);
        assert!(json(&plain.report())
            .get("unpublished_age_seconds")
            .is_none());
    }

    #[test]
    fn a_failed_check_counts_until_it_succeeds_again() {
        let health = Health::new("cycle", None);
        // No idle timeout: silence alone never makes it unhealthy.
        let now = health.started + Duration::from_secs(86_400);
        assert!(health.report_at(now).healthy());
        health.fail("cycle", "db at mysql://bot:hunter2@db/trader is down");
        health.fail("cycle", "CoinGecko answered 503");
        let report = health.report_at(now);
        assert_eq!(
            report.reasons(),
            ["last cycle failed: CoinGecko answered 503"]
        );
        health.fail("checkpoint", "mysql://bot:hunter2@db/x");
        let text = health.report_at(now).to_json();
        assert!(!text.contains("hunter2"), "{text}");
        health.recover("cycle");
        health.recover("checkpoint");
        assert!(health.report_at(now).healthy());
        assert!(json(&health.report_at(now))["last_cycle_age_seconds"].is_null());
    }
}
