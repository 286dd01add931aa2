//! `recorder`: records Binance's all-market mini-ticker stream into a Hive-partitioned Parquet
//! dataset. All logic lives in the `record` crate; this is flags, wiring and output.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use futures::StreamExt;
use record::{Progress, SessionConfig};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_tokio::Signals;

/// Records every event of Binance's all-market mini-ticker stream (`!miniTicker@arr`) into
/// Parquet files: DIR/date=YYYY-MM-DD/miniticker_YYYYMMDD_HHMMSS_<seq>.parquet.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Dataset directory.
    #[arg(long, env = "RECORDER_OUT_DIR", default_value = "data")]
    out_dir: PathBuf,

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

    /// Seconds without any data after which the connection is considered dead.
    #[arg(long, env = "RECORDER_IDLE_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    idle_timeout_secs: u64,

    /// Log file (appended); diagnostics also go to stderr.
    #[arg(long, env = "LOG_FILE", default_value = "storage/logs/app.log")]
    log_file: PathBuf,

    /// Log level: error, warn, info, debug or trace.
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    log_level: log::LevelFilter,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One clear line, as the contract asks; clap's first line says it all.
            let text = e.render().to_string();
            return fail(
                2,
                text.lines()
                    .next()
                    .unwrap_or("bad usage")
                    .trim_start_matches("error: "),
            );
        }
    };
    let _log = match logging::init(&logging::LogConfig {
        file: Some(args.log_file.clone()),
        level: args.log_level,
        console: logging::Console::Stderr,
    }) {
        Ok(guard) => guard,
        Err(e) => return fail(2, &format!("bad configuration: {e}")),
    };
    if !args.ws_url.starts_with("ws://") && !args.ws_url.starts_with("wss://") {
        return fail(
            2,
            &format!(
                "bad configuration: BINANCE_WS_URL must start with ws:// or wss://, got {}",
                logging::redact_url(&args.ws_url)
            ),
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(1, &format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(record(args))
}

async fn record(args: Args) -> ExitCode {
    let mut stream = stream::StreamConfig::new(
        args.ws_url.trim_end_matches('/'),
        vec!["!miniTicker@arr".into()],
    );
    stream.idle_timeout = Duration::from_secs(args.idle_timeout_secs);
    let config = SessionConfig::new(
        &args.out_dir,
        Duration::from_secs(args.checkpoint_secs),
        stream,
    );

    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(s) => s,
        Err(e) => return fail(1, &format!("cannot install signal handlers: {e}")),
    };
    let signals_handle = signals.handle();
    let (first_signal_tx, first_signal_rx) = tokio::sync::oneshot::channel::<()>();
    // Signals keep being consumed during the save, so a second Ctrl-C cannot interrupt it.
    let signal_task = tokio::spawn(async move {
        let mut tx = Some(first_signal_tx);
        while signals.next().await.is_some() {
            match tx.take() {
                Some(tx) => {
                    let _ = tx.send(());
                }
                None => eprintln!("still saving, please wait"),
            }
        }
    });
    // Printed from the recording loop's own task, so it cannot interleave with a status line.
    let shutdown = async {
        let _ = first_signal_rx.await;
        println!("Received exit, exiting");
    };

    let result = record::run(config, shutdown, show_progress).await;
    signals_handle.close();
    let _ = signal_task.await;
    match result {
        Ok(summary) => {
            let path = summary.last_file.unwrap_or(summary.out_dir);
            println!(
                "Total no. of symbol data saved in file '{}': {}",
                path.display(),
                summary.symbols
            );
            log::info!(
                "recorded {} events of {} symbols into {} files ({} malformed frames skipped)",
                summary.events,
                summary.symbols,
                summary.files,
                summary.malformed
            );
            ExitCode::SUCCESS
        }
        Err(e @ record::RecordError::OutDir { .. }) => fail(2, &format!("bad configuration: {e}")),
        Err(e) => fail(1, &e.to_string()),
    }
}

fn show_progress(progress: Progress) {
    match progress {
        Progress::Status { symbols, .. } => println!(
            "{} Total Symbols recorded: {symbols}",
            chrono::Local::now().format("%H:%M:%S")
        ),
        Progress::Checkpoint { files, rows } => {
            log::info!("checkpoint: {rows} rows -> {}", display_paths(&files))
        }
        Progress::CheckpointFailed(e) => log::error!("{e}"),
        Progress::Connected { conn_id } => log::info!("connected (connection {conn_id})"),
        Progress::FeedLost { conn_id, reason } => {
            log::warn!("feed lost (connection {conn_id}): {reason}; reconnecting")
        }
        Progress::Gap { from, to, reason } => log::warn!(
            "no data for {:.1} s ({reason})",
            to.duration_since(from).unwrap_or_default().as_secs_f64()
        ),
        Progress::Malformed(e) => log::warn!("skipped a malformed frame: {e}"),
        Progress::Saving => println!("saving data"),
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("recorder: {message}");
    ExitCode::from(code)
}
