//! Logging set-up shared by the binaries: console and an appended log file, one format,
//! timestamps, a level, and no secrets in any line.
//!
//! ```no_run
//! use logging::{Console, LogConfig};
//!
//! let _guard = logging::init(&LogConfig {
//!     file: Some("storage/logs/app.log".into()),
//!     level: log::LevelFilter::Info,
//!     console: Console::Stderr,
//!     format: logging::LogFormat::Text,
//! })
//! .expect("log file can be opened");
//! log::info!("connected to {}", logging::redact_url("mysql://bot:secret@db:3306/trader"));
//! ```
//!
//! Every line, on the console and in the file, looks like
//! `2026-11-23T19:06:25.123Z INFO  trader: bought 1 BTC at 70187.00`. Messages pass through
//! [`redact`] so that a URL with a password or an `api_key=` parameter that slips into a
//! message is masked before it is written.
//!
//! [`cli`] holds the command-line piece every binary shares: boolean flags that may be set
//! from the environment (`1`/`0`, `true`/`false`, `yes`/`no`).
//!
//! With [`LogFormat::Json`] every line is instead one JSON object, for Loki, Elasticsearch
//! and `jq` (see [`json`]):
//! `{"time":"2026-11-23T19:06:25.123Z","level":"INFO","target":"trader","message":"bought 1 BTC at 70187.00","fields":{}}`.

#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

/// The README's examples, compiled (and run where they need no network) as doc-tests, so
/// that the snippet a user copies cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod chain;
pub mod cli;
pub mod json;
mod redact;
mod shutdown;

pub use chain::error_chain;
pub use json::LogFormat;
pub use redact::{redact, redact_url};
pub use shutdown::{requested, shutdown_signal, Signal};

use std::fs::{self, OpenOptions};
use std::path::PathBuf;

/// Where console lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Console {
    /// Diagnostics on standard error (the default: stdout stays for the tool's own output).
    #[default]
    Stderr,
    /// On standard output (for tools whose log *is* their output, such as the trader).
    Stdout,
    /// No console output; only the file.
    Off,
}

/// What [`init`] sets up.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Log file, opened for appending; parent directories are created. `None`: no file.
    pub file: Option<PathBuf>,
    /// The most verbose level written.
    pub level: log::LevelFilter,
    /// Where console lines go.
    pub console: Console,
    /// How each line is written, on the console and in the file alike.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            file: None,
            level: log::LevelFilter::Info,
            console: Console::Stderr,
            format: LogFormat::Text,
        }
    }
}

/// Errors setting up logging.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log file or its directory could not be created or opened.
    #[error("cannot open log file {path}: {cause}")]
    File {
        /// The file that could not be opened.
        path: PathBuf,
        /// The underlying error (in the message, so not also the `source()`).
        cause: std::io::Error,
    },
    /// A global logger was already installed in this process.
    #[error("a logger is already installed: {0}")]
    AlreadySet(log::SetLoggerError),
}

impl From<log::SetLoggerError> for LogError {
    fn from(e: log::SetLoggerError) -> Self {
        LogError::AlreadySet(e)
    }
}

/// Proof that logging is set up; dropping it flushes the logger.
#[must_use = "dropping the guard flushes the log; keep it for the life of the program"]
#[derive(Debug)]
pub struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        log::logger().flush();
    }
}

/// Installs the global logger described by `config`.
///
/// Library crates keep logging through the `log` macros; only a binary calls this, once.
///
/// # Errors
///
/// [`LogError::File`] when the log file or its directory cannot be created or opened;
/// [`LogError::AlreadySet`] when a logger is already installed in this process.
pub fn init(config: &LogConfig) -> Result<Guard, LogError> {
    let mut root = fern::Dispatch::new()
        .level(config.level)
        // Dependencies are chatty at debug level; keep them at warn unless tracing.
        .level_for("hyper", log::LevelFilter::Warn)
        .level_for("hyper_util", log::LevelFilter::Warn)
        .level_for("reqwest", log::LevelFilter::Warn)
        .level_for("rustls", log::LevelFilter::Warn)
        .level_for("tungstenite", log::LevelFilter::Warn)
        .level_for("tokio_tungstenite", log::LevelFilter::Warn);
    root = match config.format {
        LogFormat::Text => root.format(|out, message, record| {
            out.finish(format_args!(
                "{} {:<5} {}: {}",
                chrono::Utc::now().format(json::TIME_FORMAT),
                record.level(),
                record.target(),
                redact(&message.to_string())
            ))
        }),
        LogFormat::Json => root.format(|out, message, record| {
            out.finish(format_args!(
                "{}",
                json::line(chrono::Utc::now(), message, record)
            ))
        }),
    };
    root = match config.console {
        Console::Stderr => root.chain(std::io::stderr()),
        Console::Stdout => root.chain(std::io::stdout()),
        Console::Off => root,
    };
    if let Some(path) = &config.file {
        let err = |source| LogError::File {
            path: path.clone(),
            cause: source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(err)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(err)?;
        root = root.chain(file);
    }
    root.apply()?;
    Ok(Guard(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_logging_appends_redacted_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/logs/app.log");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "earlier line\n").unwrap();
        let guard = init(&LogConfig {
            file: Some(path.clone()),
            level: log::LevelFilter::Info,
            console: Console::Off,
            format: LogFormat::Text,
        })
        .unwrap();
        log::info!("db at mysql://bot:hunter2@127.0.0.1:3306/trader");
        log::debug!("not written at info level");
        drop(guard);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "earlier line", "file is appended, not truncated");
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[1].contains("INFO"), "{}", lines[1]);
        assert!(lines[1].contains("mysql://bot:***@127.0.0.1:3306/trader"));
        assert!(!text.contains("hunter2"));
        assert!(!text.contains("not written"));
        // A second logger in the same process is refused, not silently ignored.
        assert!(matches!(
            init(&LogConfig::default()),
            Err(LogError::AlreadySet(_))
        ));
    }

    #[test]
    fn unopenable_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("a-file");
        std::fs::write(&blocker, "x").unwrap();
        let err = init(&LogConfig {
            file: Some(blocker.join("app.log")),
            ..LogConfig::default()
        })
        .unwrap_err();
        assert!(matches!(err, LogError::File { .. }));
        assert!(err.to_string().contains("a-file"), "{err}");
    }
}
