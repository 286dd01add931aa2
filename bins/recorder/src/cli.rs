//! Command line: the clap definition of the flags (each also read from its environment
//! variable, which a flag overrides), and their conversion into what the recording session
//! needs.
//!
//! Two steps, each with its own kind of failure:
//!
//! 1. [`parse`]: clap's checks (known flags, numbers in range). `--help`/`--version` and bad
//!    usage come back as a [`CliExit`].
//! 2. [`Args::check`]: what clap cannot check (the WebSocket URL's scheme, the dataset's
//!    location, the NATS URL), each failure a "bad configuration" line. It runs after
//!    logging is up ([`Args::log_config`]), so a bad log file is reported first.
//!
//! The checked [`Config`] becomes a [`SessionConfig`] once the dataset's [`Output`] is known
//! ([`SessionFlags::config`]): for `s3://` that takes a connection and a lease, which is
//! wiring and stays in `main.rs`.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use binance::StreamConfig;
use clap::Parser;
use dataset::location::OutDir;
use record::{Output, SessionConfig};

/// Records every event of Binance's all-market mini-ticker stream (`!miniTicker@arr`) into
/// Parquet files: DIR/date=YYYY-MM-DD/miniticker_YYYYMMDD_HHMMSS_NNNNNN.parquet.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Args {
    /// Dataset: a local directory, or s3://BUCKET/PREFIX on any S3 API (S3, R2, MinIO;
    /// settings from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
    /// AWS_REGION, AWS_ENDPOINT_URL, AWS_ALLOW_HTTP).
    #[arg(long, env = "RECORDER_OUT_DIR", default_value = "data")]
    out_dir: String,

    /// Write-ahead journal directory, always local; default: OUT_DIR/_journal for a local
    /// out-dir, ./journal for s3://.
    #[arg(long, env = "RECORDER_JOURNAL_DIR")]
    journal_dir: Option<PathBuf>,

    /// Seconds between checkpoints: each writes the rows recorded since the last one.
    #[arg(long, env = "RECORDER_CHECKPOINT_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    checkpoint_secs: u64,

    /// Binance spot WebSocket base URL.
    #[arg(
        long,
        env = "BINANCE_WS_URL",
        default_value = "wss://stream.binance.com:9443"
    )]
    ws_url: String,

    /// Connections kept open at once; with 2 or more, one dropping loses no event (events are
    /// de-duplicated by symbol and event time).
    #[arg(long, env = "RECORDER_REDUNDANT", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(1..=4))]
    redundant: u8,

    /// Base URL for the second and further redundant connections (e.g.
    /// wss://data-stream.binance.vision); default: the same as --ws-url.
    #[arg(long, env = "BINANCE_BACKUP_WS_URL")]
    backup_ws_url: Option<String>,

    /// Seconds after which a connection is replaced, gap-free, by a new one (Binance cuts
    /// connections at 24 h).
    #[arg(long, env = "RECORDER_RENEW_AFTER_SECS", default_value_t = 85_800,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    renew_after_secs: u64,

    /// Merge the checkpoint files of an hour into one file this many seconds after the hour
    /// closed; 0: never.
    #[arg(long, env = "RECORDER_COMPACT_AFTER_SECS", default_value_t = 600)]
    compact_after_secs: u64,

    /// Do not journal received data (a crash then loses everything since the last
    /// checkpoint).
    #[arg(long, env = "RECORDER_NO_JOURNAL", value_parser = logging::cli::EnvBool)]
    no_journal: bool,

    /// Extend the per-second status line with events, pending rows, coverage and duplicates.
    #[arg(long, env = "RECORDER_STATUS", value_parser = logging::cli::EnvBool)]
    status: bool,

    /// Seconds without any data after which the connection is considered dead.
    #[arg(long, env = "RECORDER_IDLE_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    idle_timeout_secs: u64,

    /// Also publish every recorded event to NATS JetStream at this URL
    /// (nats://HOST:PORT, optionally user:pass@ or token@ before HOST; NATS_CREDS /
    /// NATS_TOKEN add credentials),
    /// stream BINANCE_MINITICKER, subjects binance.spot.miniticker.SYMBOL.
    #[arg(long, env = "RECORDER_PUBLISH_URL", hide_env_values = true)]
    publish: Option<String>,

    /// Stream limit: messages older than this many seconds are removed (0: no limit).
    #[arg(long, env = "RECORDER_PUBLISH_MAX_AGE_SECS", default_value_t = 86_400)]
    publish_max_age_secs: u64,

    /// Stream limit: at most this many bytes, oldest messages removed first (-1: no limit).
    #[arg(long, env = "RECORDER_PUBLISH_MAX_BYTES", default_value_t = 1 << 30,
          value_parser = clap::value_parser!(i64).range(-1..))]
    publish_max_bytes: i64,

    /// Events waiting to be published at most; beyond it (NATS down or slow) events are
    /// dropped from the bus and counted, never from the dataset.
    #[arg(long, env = "RECORDER_PUBLISH_QUEUE", default_value_t = 65_536,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    publish_queue: u64,

    /// Log file (appended); diagnostics also go to stderr.
    #[arg(long, env = "LOG_FILE", default_value = "storage/logs/app.log")]
    log_file: PathBuf,

    /// Log level: error, warn, info, debug or trace.
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    log_level: log::LevelFilter,

    /// Log line format: text, or json (one JSON object per line, console and file).
    #[arg(long, env = "LOG_FORMAT", default_value = "text")]
    log_format: logging::LogFormat,

    /// Serve Prometheus metrics at /metrics and a health check at /health on HOST:PORT
    /// (e.g. 127.0.0.1:9464); off by default.
    #[arg(long, env = "RECORDER_METRICS_ADDR", value_name = "HOST:PORT", value_parser = ops::parse_addr)]
    metrics_addr: Option<SocketAddr>,
}

/// Why parsing stopped.
#[derive(Debug)]
pub enum CliExit {
    /// `--help` / `--version`: print it with [`clap::Error::print`] (on stdout, styled on a
    /// terminal), exit 0.
    Info(clap::Error),
    /// Bad usage: one line (clap's first, without its `error: `), exit 2.
    Usage(String),
}

/// Parses the command line `args` (the program's name first), and the environment.
pub fn parse<I, T>(args: I) -> Result<Args, CliExit>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Args::try_parse_from(args).map_err(|e| {
        if !e.use_stderr() {
            return CliExit::Info(e);
        }
        // One clear line, as the contract asks; clap's first line says it all.
        let text = e.render().to_string();
        let line = text.lines().next().unwrap_or("bad usage");
        CliExit::Usage(line.trim_start_matches("error: ").to_owned())
    })
}

/// `--publish` and its stream limits.
#[derive(Debug)]
pub struct Publish {
    /// Where NATS is, with its credentials.
    pub bus: bus::BusConfig,
    /// How much of the feed the stream keeps.
    pub limits: bus::StreamLimits,
    /// Events waiting to be published at most.
    pub queue: usize,
}

/// The checked configuration: the session's part, and what only this binary uses.
#[derive(Debug)]
pub struct Config {
    /// Where the dataset goes.
    pub out_dir: OutDir,
    /// `--journal-dir`, if given.
    pub journal_dir: Option<PathBuf>,
    /// The session, once its output is known.
    pub session: SessionFlags,
    /// `--publish`, if given.
    pub publish: Option<Publish>,
    /// `--metrics-addr`, if given.
    pub metrics_addr: Option<SocketAddr>,
    /// Silence after which a connection (and so `/health`) is dead.
    pub idle_timeout: Duration,
    /// `--status`: the extended per-second status line.
    pub extended_status: bool,
}

/// The flags that make the [`SessionConfig`], kept until its [`Output`] is known.
#[derive(Debug)]
pub struct SessionFlags {
    checkpoint_every: Duration,
    /// The first connection's.
    stream: StreamConfig,
    /// The second and further redundant connections'.
    redundant: Vec<StreamConfig>,
    journal: bool,
    compact_after: Option<Duration>,
}

impl SessionFlags {
    /// The session's configuration, writing to `output`.
    pub fn config(self, output: Output) -> SessionConfig {
        let mut config = SessionConfig::with_output(output, self.checkpoint_every, self.stream);
        config.streams.extend(self.redundant);
        config.journal = self.journal;
        config.compact_after = self.compact_after;
        config
    }
}

/// `binance` if it is valid ([`StreamConfig::validate`]), otherwise one line naming every
/// problem by its setting (the URL's by `url_setting`, with any credentials redacted).
fn checked(stream: StreamConfig, url_setting: &'static str) -> Result<StreamConfig, String> {
    match stream.validate() {
        Ok(()) => Ok(stream),
        Err(invalid) => Err(format!(
            "bad configuration: {}",
            invalid.describe(|field| match field {
                "base_url" => url_setting,
                "idle_timeout" => "RECORDER_IDLE_TIMEOUT_SECS",
                "max_connection_age" => "RECORDER_RENEW_AFTER_SECS",
                other => other,
            })
        )),
    }
}

/// The `!miniTicker@arr` stream at `url`.
fn miniticker(url: &str, idle_timeout: Duration, renew_after_secs: u64) -> StreamConfig {
    let mut s = StreamConfig::new(url.trim_end_matches('/'), vec!["!miniTicker@arr".into()]);
    s.idle_timeout = idle_timeout;
    s.max_connection_age = Duration::from_secs(renew_after_secs);
    s
}

impl Args {
    /// The logging the flags ask for (console: stderr).
    pub fn log_config(&self) -> logging::LogConfig {
        logging::LogConfig {
            file: Some(self.log_file.clone()),
            level: self.log_level,
            console: logging::Console::Stderr,
            format: self.log_format,
        }
    }

    /// Checks what clap cannot and builds the [`Config`].
    ///
    /// # Errors
    ///
    /// One line starting with `bad configuration: ` naming the setting (its URL with any
    /// credentials redacted).
    pub fn check(self) -> Result<Config, String> {
        let out_dir = OutDir::parse(&self.out_dir)
            .map_err(|e| format!("bad configuration: RECORDER_OUT_DIR: {e}"))?;
        let publish = match self.publish.as_deref() {
            None => None,
            Some(url) => Some(Publish {
                bus: bus::BusConfig::from_url_and_env(url)
                    .map_err(|e| format!("bad configuration: RECORDER_PUBLISH_URL: {e}"))?,
                limits: bus::StreamLimits {
                    max_age: Duration::from_secs(self.publish_max_age_secs),
                    max_bytes: self.publish_max_bytes,
                    ..bus::StreamLimits::default()
                },
                queue: usize::try_from(self.publish_queue).unwrap_or(usize::MAX),
            }),
        };
        let idle_timeout = Duration::from_secs(self.idle_timeout_secs);
        let backup = self.backup_ws_url.as_deref().unwrap_or(&self.ws_url);
        let backup_flag = match self.backup_ws_url {
            Some(_) => "BINANCE_BACKUP_WS_URL",
            None => "BINANCE_WS_URL",
        };
        let stream = |url: &str| miniticker(url, idle_timeout, self.renew_after_secs);
        let primary = checked(stream(&self.ws_url), "BINANCE_WS_URL")?;
        let redundant = (1..self.redundant)
            .map(|_| checked(stream(backup), backup_flag))
            .collect::<Result<_, _>>()?;
        Ok(Config {
            out_dir,
            journal_dir: self.journal_dir,
            session: SessionFlags {
                checkpoint_every: Duration::from_secs(self.checkpoint_secs),
                stream: primary,
                redundant,
                journal: !self.no_journal,
                compact_after: (self.compact_after_secs > 0)
                    .then(|| Duration::from_secs(self.compact_after_secs)),
            },
            publish,
            metrics_addr: self.metrics_addr,
            idle_timeout,
            extended_status: self.status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(argv: &[&str]) -> Result<Config, String> {
        let argv = std::iter::once("recorder").chain(argv.iter().copied());
        match parse(argv) {
            Ok(args) => args.check(),
            Err(CliExit::Usage(line)) => Err(line),
            Err(CliExit::Info(e)) => Err(format!("info: {e}")),
        }
    }

    /// The base URL of each connection the session opens.
    fn urls(session: &SessionConfig) -> Vec<&str> {
        session
            .streams
            .iter()
            .map(|s| s.base_url.as_str())
            .collect()
    }

    #[test]
    fn redundant_connections_go_to_the_backup_url_and_flags_reach_the_session() {
        let config = check(&[
            "--ws-url=ws://primary:1/",
            "--backup-ws-url=ws://backup:2",
            "--redundant=3",
            "--idle-timeout-secs=7",
            "--renew-after-secs=60",
            "--checkpoint-secs=5",
            "--compact-after-secs=0",
            "--no-journal",
            "--status",
        ])
        .unwrap();
        assert_eq!(config.idle_timeout, Duration::from_secs(7));
        assert!(config.extended_status);
        let session = config.session.config(Output::local("data"));
        assert_eq!(
            urls(&session),
            ["ws://primary:1", "ws://backup:2", "ws://backup:2"]
        );
        for s in &session.streams {
            assert_eq!(s.streams, ["!miniTicker@arr"]);
            assert_eq!(s.idle_timeout, Duration::from_secs(7));
            assert_eq!(s.max_connection_age, Duration::from_secs(60));
        }
        assert_eq!(session.checkpoint_every, Duration::from_secs(5));
        assert_eq!((session.journal, session.compact_after), (false, None));
    }

    #[test]
    fn one_connection_by_default_and_compaction_after_the_given_delay() {
        let config = check(&["--ws-url=ws://only:1", "--compact-after-secs=30"]).unwrap();
        let session = config.session.config(Output::local("data"));
        assert_eq!(urls(&session), ["ws://only:1"]);
        assert!(session.journal);
        assert_eq!(session.compact_after, Some(Duration::from_secs(30)));
    }

    #[test]
    fn what_clap_cannot_check_is_one_bad_configuration_line_without_secrets() {
        let bad: &[(&[&str], &str)] = &[
            (
                &["--ws-url=http://user:hunter2@host/"],
                "bad configuration: BINANCE_WS_URL must start with ws:// or wss://",
            ),
            (
                &["--out-dir=s3://"],
                "bad configuration: RECORDER_OUT_DIR: ",
            ),
            (
                &["--publish=http://user:hunter2@host"],
                "bad configuration: RECORDER_PUBLISH_URL: ",
            ),
            (&["--redundant=9"], "invalid value '9' for '--redundant"),
            // The backup connections' URL is checked like the main one.
            (
                &[
                    "--redundant=2",
                    "--backup-ws-url=https://user:hunter2@backup/",
                ],
                "bad configuration: BINANCE_BACKUP_WS_URL must start with ws:// or wss://",
            ),
        ];
        for (argv, start) in bad {
            let line = check(argv).expect_err(&format!("{argv:?} should fail"));
            assert!(line.starts_with(start), "{argv:?}: {line:?}");
            assert!(
                !line.contains("hunter2"),
                "{argv:?}: {line:?} shows a secret"
            );
            assert!(!line.contains('\n'), "{argv:?}: {line:?} is not one line");
        }
    }
}
