//! `recorder`: records Binance's all-market mini-ticker stream into a Hive-partitioned Parquet
//! dataset. All logic lives in the `record` crate; this is flags, wiring and output.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use record::journal::Damage;
use record::{Output, Progress, SessionConfig, WriteGuard};
use store::ticks::lease::{Lease, LeaseConfig, LeaseKeeper, Owner};
use store::ticks::location::{connect_s3, OutDir};
use store::ticks::Dataset;

/// Records every event of Binance's all-market mini-ticker stream (`!miniTicker@arr`) into
/// Parquet files: DIR/date=YYYY-MM-DD/miniticker_YYYYMMDD_HHMMSS_NNNNNN.parquet.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
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
    metrics_addr: Option<std::net::SocketAddr>,
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
        format: args.log_format,
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
    let out_dir = match OutDir::parse(&args.out_dir) {
        Ok(out_dir) => out_dir,
        Err(e) => return fail(2, &format!("bad configuration: RECORDER_OUT_DIR: {e}")),
    };
    let publish = match args
        .publish
        .as_deref()
        .map(bus::BusConfig::from_url_and_env)
    {
        None => None,
        Some(Ok(config)) => Some(config),
        Some(Err(e)) => return fail(2, &format!("bad configuration: RECORDER_PUBLISH_URL: {e}")),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(1, &format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(record(args, out_dir, publish))
}

/// Where the dataset goes: a local directory, or an object store reached, probed and
/// leased (the lease keeper is returned, to release the prefix at the end).
async fn output(
    out_dir: OutDir,
    journal_dir: Option<PathBuf>,
) -> Result<(Output, Option<LeaseKeeper>), String> {
    let (bucket, prefix) = match out_dir {
        OutDir::Local(dir) => {
            let mut output = Output::local(dir);
            if let Some(journal) = journal_dir {
                output.journal_dir = journal;
            }
            return Ok((output, None));
        }
        OutDir::S3 { bucket, prefix } => (bucket, prefix),
    };
    let url = OutDir::S3 {
        bucket: bucket.clone(),
        prefix: prefix.clone(),
    }
    .to_string();
    let (store, _) = connect_s3(&bucket, &prefix)
        .await
        .map_err(|e| e.to_string())?;
    let lease = Lease::acquire(
        store.clone(),
        &prefix,
        Owner::this_process(),
        LeaseConfig::default(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let keeper = LeaseKeeper::spawn(lease);
    let journal = journal_dir.unwrap_or_else(|| PathBuf::from("journal"));
    let dataset = Dataset::object(store, &prefix, url.clone()).with_spool(journal.join("_spool"));
    let mut output = Output::new(dataset, journal, &url);
    let status = keeper.watch();
    output.guard = Some(WriteGuard::new(move || match &*status.borrow() {
        s if s.may_write() => Ok(()),
        store::ticks::lease::LeaseStatus::Lost { error } => Err(error.clone()),
        _ => Err(format!("the lease of {url} has expired during an outage")),
    }));
    Ok((output, Some(keeper)))
}

async fn record(args: Args, out_dir: OutDir, publish: Option<bus::BusConfig>) -> ExitCode {
    let stream_config = |url: &str| {
        let mut s =
            stream::StreamConfig::new(url.trim_end_matches('/'), vec!["!miniTicker@arr".into()]);
        s.idle_timeout = Duration::from_secs(args.idle_timeout_secs);
        s.max_connection_age = Duration::from_secs(args.renew_after_secs);
        s
    };
    let (output, lease) = match output(out_dir, args.journal_dir.clone()).await {
        Ok(found) => found,
        Err(e) => return fail(2, &e),
    };
    let mut config = SessionConfig::with_output(
        output,
        Duration::from_secs(args.checkpoint_secs),
        stream_config(&args.ws_url),
    );
    let backup = args.backup_ws_url.as_deref().unwrap_or(&args.ws_url);
    config
        .streams
        .extend((1..args.redundant).map(|_| stream_config(backup)));
    config.journal = !args.no_journal;
    config.compact_after =
        (args.compact_after_secs > 0).then(|| Duration::from_secs(args.compact_after_secs));
    let extended_status = args.status;
    // Healthy while events arrive: silence longer than the idle timeout is a dead feed.
    let health = ops::Health::new("event", Some(Duration::from_secs(args.idle_timeout_secs)));
    let _endpoint = match args.metrics_addr {
        Some(addr) => match ops::start(addr, health.clone()).await {
            Ok(endpoint) => {
                record::metrics::describe();
                Some(endpoint)
            }
            Err(e) => return fail(2, &format!("bad configuration: {e}")),
        },
        None => None,
    };

    // Later signals keep being caught during the save, so a second Ctrl-C cannot interrupt it.
    let mut signals = match logging::shutdown_signal(|_, first| {
        if !first {
            eprintln!("still saving, please wait");
        }
    }) {
        Ok(s) => s,
        Err(e) => return fail(1, &format!("cannot install signal handlers: {e}")),
    };
    // Printed from the recording loop's own task, so it cannot interleave with a status line.
    let shutdown = async move {
        logging::requested(&mut signals).await;
        println!("Received exit, exiting");
    };

    let (sink, publisher_task) = match publish {
        Some(bus_config) => {
            let limits = bus::StreamLimits {
                max_age: Duration::from_secs(args.publish_max_age_secs),
                max_bytes: args.publish_max_bytes,
                ..bus::StreamLimits::default()
            };
            let queue = usize::try_from(args.publish_queue).unwrap_or(usize::MAX);
            let (publisher, task) = bus::Publisher::start(bus_config, limits, queue);
            let sink: Box<dyn record::EventSink> = Box::new(publisher);
            (Some(sink), Some(task))
        }
        None => (None, None),
    };
    let mut events = 0;
    let result = record::run_with_sink(config, sink, shutdown, |p| {
        watch_health(&health, &p, &mut events);
        show_progress(p, extended_status)
    })
    .await;
    if let Some(task) = publisher_task {
        let s = task.finish(Duration::from_secs(5)).await;
        log::info!(
            "NATS: {} messages published ({} copies the stream already had), {} dropped, {} failed attempts retried",
            s.published,
            s.duplicates,
            s.dropped,
            s.failed_attempts
        );
    }
    if let Some(keeper) = lease {
        if let Err(e) = keeper.release().await {
            log::warn!("releasing the dataset's lease: {e}");
        }
    }
    match result {
        Ok(summary) => {
            print_saved(&summary);
            println!(
                "Coverage: {:.2}% of {:.1} s with a live feed ({} gaps, {} duplicates dropped)",
                summary.coverage,
                summary.wall.as_secs_f64(),
                summary.gaps,
                summary.duplicates
            );
            log::info!(
                "recorded {} events of {} symbols into {} files ({} malformed frames and {} bad elements skipped, {} events quarantined)",
                summary.events,
                summary.symbols,
                summary.files,
                summary.malformed,
                summary.rejected,
                summary.quarantined
            );
            ExitCode::SUCCESS
        }
        Err(e @ record::RecordError::OutDir { .. }) => fail(2, &format!("bad configuration: {e}")),
        Err(e) => fail(1, &e.to_string()),
    }
}

/// The contract's line (the last file, N = the run's symbols), then the run's files and
/// rows so that N is not read as that file's rows; with nothing written, says so.
fn print_saved(summary: &record::Summary) {
    let dir = summary.out_dir.display();
    match &summary.last_file {
        Some(last) => {
            println!(
                "Total no. of symbol data saved in file '{}': {}",
                last.display(),
                summary.symbols
            );
            println!(
                "Saved in this run: {} files, {} rows of {} symbols, in '{dir}'",
                summary.files, summary.rows, summary.symbols
            );
        }
        None => {
            println!("No symbol data saved: nothing was recorded in this run (dataset '{dir}')")
        }
    }
}

fn show_progress(progress: Progress, extended: bool) {
    let now = || chrono::Local::now().format("%H:%M:%S");
    match progress {
        Progress::Status {
            symbols,
            events,
            pending,
            coverage,
            duplicates,
        } if extended => println!(
            "{} Total Symbols recorded: {symbols} | events {events} | pending {pending} | coverage {coverage:.2}% | duplicates {duplicates}",
            now()
        ),
        Progress::Status { symbols, .. } => println!("{} Total Symbols recorded: {symbols}", now()),
        Progress::Recovered(startup) => {
            let r = &startup.replay;
            if !r.segments.is_empty() {
                log::warn!(
                    "recovered {} rows from the journal of an earlier run ({} already published) into {}",
                    r.rows_written,
                    r.rows_already_published,
                    display_paths(&r.files)
                );
            }
            for damage in r.segments.iter().flat_map(|s| &s.damage) {
                match damage {
                    Damage::TornTail { segment, offset, bytes_dropped } => log::warn!(
                        "journal segment {segment}: torn last record at byte {offset} ({bytes_dropped} bytes dropped)"
                    ),
                    Damage::Corrupt { segment, offset, bytes_dropped, reason } => log::warn!(
                        "journal segment {segment}: {reason} at byte {offset} ({bytes_dropped} bytes dropped)"
                    ),
                }
            }
            if let Some(gap) = &startup.not_running {
                log::warn!(
                    "no feed for {:.1} s before this start ({})",
                    (gap.end_ms - gap.start_ms) as f64 / 1000.0,
                    gap.reason
                );
            }
            let c = &startup.compaction;
            if c.tmp_removed + c.parts_removed > 0 {
                log::warn!(
                    "finished an interrupted compaction ({} parts, {} temporary files removed)",
                    c.parts_removed,
                    c.tmp_removed
                );
            }
        }
        Progress::Checkpoint { files, rows } => {
            log::info!("checkpoint: {rows} rows -> {}", display_paths(&files))
        }
        Progress::CheckpointFailed(e) => log::error!("{e}"),
        Progress::Compacted(report) => log::info!(
            "compacted {} files ({} rows) into {}",
            report.parts_removed,
            report.rows,
            display_paths(&report.merged)
        ),
        Progress::Connected { conn_id } => log::info!("connected (connection {conn_id})"),
        Progress::FeedLost { conn_id, reason } => {
            log::warn!("connection {conn_id} lost: {reason}; reconnecting")
        }
        Progress::Gap(gap) => log::warn!(
            "no live feed for {:.1} s ({})",
            (gap.end_ms - gap.start_ms) as f64 / 1000.0,
            gap.reason
        ),
        Progress::Malformed(e) => log::warn!("skipped a malformed frame: {e}"),
        Progress::Rejected { conn_id, element } => {
            log::warn!("connection {conn_id}: kept the rest of the frame, {element}")
        }
        Progress::Saving => println!("saving data"),
    }
}

/// Keeps `/health` up to date: events arriving (seen by the status line's count, once a
/// second) and the outcome of the last checkpoint.
fn watch_health(health: &ops::Health, progress: &Progress, events_seen: &mut u64) {
    match progress {
        Progress::Status { events, .. } if *events > *events_seen => {
            *events_seen = *events;
            health.activity();
        }
        Progress::Checkpoint { .. } => health.recover("checkpoint"),
        Progress::CheckpointFailed(e) => health.fail("checkpoint", &e.to_string()),
        _ => {}
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
