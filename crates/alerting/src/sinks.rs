//! Alert destinations besides stdout: `--exec` and `--webhook`.
//!
//! Each destination has its own worker task fed through a bounded queue, so a slow command
//! or a dead web server never delays the alert lines: when a queue is full the alert is
//! dropped for that destination (and logged). Every failure is logged and forgotten; the
//! webhook URL, which often holds a secret token, is never logged.

use std::time::Duration;

use alert::Alert;
use chrono::{DateTime, Local};
use tokio::sync::mpsc;

/// Alerts waiting per destination before new ones are dropped.
pub const QUEUE: usize = 256;
const EXEC_TIMEOUT: Duration = Duration::from_secs(30);
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// One alert with the time it fired.
#[derive(Debug, Clone)]
pub struct Fired {
    /// The alert.
    pub alert: Alert,
    /// When it fired (local time).
    pub at: DateTime<Local>,
}

impl Fired {
    /// The environment given to `--exec`.
    pub fn env(&self) -> [(&'static str, String); 5] {
        [
            ("ALERT_SYMBOL", self.alert.symbol.to_string()),
            ("ALERT_DIRECTION", self.alert.direction.to_string()),
            ("ALERT_LEVEL", self.alert.level.to_string()),
            ("ALERT_PRICE", self.alert.last.clone()),
            ("ALERT_TIME", self.time()),
        ]
    }

    /// The JSON body POSTed to `--webhook`; prices are strings so that they stay exact.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "symbol": self.alert.symbol.as_str(),
            "direction": self.alert.direction.as_str(),
            "level": self.alert.level.to_string(),
            "price": self.alert.last,
            "time": self.time(),
        })
    }

    fn time(&self) -> String {
        self.at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
    }
}

/// The running destinations.
#[derive(Debug, Default)]
pub struct Sinks {
    queues: Vec<(&'static str, mpsc::Sender<Fired>)>,
}

impl Sinks {
    /// Starts one worker per configured destination (none: a no-op).
    ///
    /// # Errors
    ///
    /// reqwest's error when the `--webhook` HTTP client cannot be built (TLS set-up); no
    /// destination is contacted here.
    pub fn start(exec: Option<String>, webhook: Option<String>) -> Result<Self, reqwest::Error> {
        let mut queues = Vec::new();
        if let Some(cmd) = exec {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run_exec(cmd, rx));
            queues.push(("--exec", tx));
        }
        if let Some(url) = webhook {
            let client = reqwest::Client::builder()
                .timeout(WEBHOOK_TIMEOUT)
                .build()?;
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run_webhook(client, url, rx));
            queues.push(("--webhook", tx));
        }
        Ok(Sinks { queues })
    }

    /// `true` when there is nowhere to send alerts.
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    /// Hands `fired` to every destination without waiting.
    pub fn push(&self, fired: &Fired) {
        for (name, tx) in &self.queues {
            if let Err(e) = tx.try_send(fired.clone()) {
                crate::metrics::sink_failed(name);
                log::warn!("{name}: alert for {} dropped ({e})", fired.alert.symbol);
            }
        }
    }
}

async fn run_exec(cmd: String, mut rx: mpsc::Receiver<Fired>) {
    while let Some(fired) = rx.recv().await {
        let mut command = tokio::process::Command::new("sh");
        command
            .arg("-c")
            .arg(&cmd)
            .envs(fired.env())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        match tokio::time::timeout(EXEC_TIMEOUT, command.status()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => {
                crate::metrics::sink_failed("exec");
                log::warn!("--exec: command failed ({status})")
            }
            Ok(Err(e)) => {
                crate::metrics::sink_failed("exec");
                log::warn!("--exec: cannot run sh: {e}")
            }
            Err(_) => {
                crate::metrics::sink_failed("exec");
                log::warn!("--exec: command killed after {}s", EXEC_TIMEOUT.as_secs())
            }
        }
    }
}

async fn run_webhook(client: reqwest::Client, url: String, mut rx: mpsc::Receiver<Fired>) {
    while let Some(fired) = rx.recv().await {
        match client.post(&url).json(&fired.json()).send().await {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => {
                crate::metrics::sink_failed("webhook");
                log::warn!("--webhook: HTTP {}", r.status())
            }
            // Webhook URLs often carry a secret token (Slack, Discord): never log them.
            Err(e) => {
                crate::metrics::sink_failed("webhook");
                log::warn!(
                    "--webhook: POST failed: {}",
                    logging::error_chain(&e.without_url())
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alert::{Level, Mode, Update, Watcher};

    fn fired() -> Fired {
        let level = Level::parse(
            "BTCUSDT".parse().unwrap(),
            alert::Direction::Below,
            "43680.50",
        )
        .unwrap();
        let mut w = Watcher::new([level], Mode::EveryUpdate);
        let Update::Alerts(mut a) = w.on_update("BTCUSDT", "43000.10000000").unwrap() else {
            panic!("43000.1 is below 43680.5");
        };
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T14:07:02.5+00:00").unwrap();
        Fired {
            alert: a.remove(0),
            at: at.with_timezone(&Local),
        }
    }

    #[test]
    fn payloads_keep_prices_exact() {
        let f = fired();
        let env: Vec<(&str, String)> = f
            .env()
            .into_iter()
            .filter(|(k, _)| *k != "ALERT_TIME")
            .collect();
        assert_eq!(
            env,
            vec![
                ("ALERT_SYMBOL", "BTCUSDT".to_owned()),
                ("ALERT_DIRECTION", "below".to_owned()),
                ("ALERT_LEVEL", "43680.5".to_owned()),
                ("ALERT_PRICE", "43000.10000000".to_owned()),
            ]
        );
        let json = f.json();
        assert_eq!(json["price"], "43000.10000000");
        assert_eq!(json["level"], "43680.5");
        let time = chrono::DateTime::parse_from_rfc3339(json["time"].as_str().unwrap()).unwrap();
        assert_eq!(time, f.at);
    }

    #[tokio::test]
    async fn exec_gets_the_alert_and_failures_do_not_stop_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("alerts.txt");
        let cmd = format!(
            "echo \"$ALERT_SYMBOL $ALERT_DIRECTION $ALERT_LEVEL $ALERT_PRICE\" >> '{}'; exit 3",
            out.display()
        );
        let sinks = Sinks::start(Some(cmd), Some("http://127.0.0.1:9/unreachable".into())).unwrap();
        sinks.push(&fired());
        sinks.push(&fired());
        // The command exits 3 each time; the second alert must still be run.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            if text.lines().count() == 2 {
                assert_eq!(text, "BTCUSDT below 43680.5 43000.10000000\n".repeat(2));
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "exec ran {text:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
