//! `recorder`: records Binance's all-market mini-ticker stream into a Hive-partitioned Parquet
//! dataset. All logic lives in the `record` crate; this is wiring: the flags are `cli`'s,
//! what is printed is `output`'s.

mod cli;
mod output;

use std::process::ExitCode;
use std::time::Duration;

use record::{Progress, RecordError};

fn main() -> ExitCode {
    let args = match cli::parse(std::env::args_os()) {
        Ok(args) => args,
        Err(cli::CliExit::Info(e)) => {
            // --help and --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(cli::CliExit::Usage(line)) => return fail(2, &line),
    };
    let _log = match logging::init(&args.log_config()) {
        Ok(guard) => guard,
        Err(e) => return fail(2, &format!("bad configuration: {e}")),
    };
    let config = match args.check() {
        Ok(config) => config,
        Err(line) => return fail(2, &line),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(1, &format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(record(config))
}

async fn record(config: cli::Config) -> ExitCode {
    let opened = match record::output::open(config.out_dir, config.journal_dir).await {
        Ok(opened) => opened,
        Err(e @ RecordError::OutDir { .. }) => return fail(2, &format!("bad configuration: {e}")),
        Err(e) => return fail(2, &e.to_string()),
    };
    let session = config.session.config(opened.output.clone());
    // Healthy while events arrive (silence longer than the idle timeout is a dead feed) and
    // rows get published (none waiting longer than `unpublished_bound`).
    let health = ops::Health::new("event", Some(config.idle_timeout))
        .with_backlog("unpublished", unpublished_bound(session.checkpoint_every));
    let _endpoint = match config.metrics_addr {
        Some(addr) => match ops::start(addr, health.clone()).await {
            Ok(endpoint) => {
                record::metrics::describe();
                // `--publish`: the bus's own counters.
                bus::metrics::describe();
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

    let (sink, publisher_task) = match config.publish {
        Some(publish) => {
            let (publisher, task) =
                bus::Publisher::start(publish.bus, publish.limits, publish.queue);
            let sink: Box<dyn events::EventSink> = Box::new(publisher);
            (Some(sink), Some(task))
        }
        None => (None, None),
    };
    let extended_status = config.extended_status;
    let mut events = 0;
    let result = record::run_with_sink(session, sink, shutdown, |p| {
        watch_health(&health, &p, &mut events);
        output::progress(p, extended_status)
    })
    .await;
    if let Some(task) = publisher_task {
        output::published(&task.finish(Duration::from_secs(5)).await);
    }
    opened.release().await;
    match result {
        Ok(summary) => {
            output::summary(&summary);
            ExitCode::SUCCESS
        }
        Err(e @ RecordError::OutDir { .. }) => fail(2, &format!("bad configuration: {e}")),
        Err(e) => fail(1, &e.to_string()),
    }
}

/// How long a row may wait to be published before `/health` says 503: three checkpoint
/// intervals and 30 s (a row waits up to one interval for its checkpoint, which then takes
/// a few bounded requests; a checkpoint that failed is retried within an interval).
fn unpublished_bound(checkpoint_every: Duration) -> Duration {
    checkpoint_every.saturating_mul(3) + Duration::from_secs(30)
}

/// Keeps `/health` up to date: events arriving and the age of the oldest unpublished row
/// (seen by the status line, once a second), and the outcome of the last checkpoint.
fn watch_health(health: &ops::Health, progress: &Progress, events_seen: &mut u64) {
    match progress {
        Progress::Status {
            events,
            unpublished_age,
            ..
        } => {
            let now = std::time::Instant::now();
            health.backlog(unpublished_age.and_then(|age| now.checked_sub(age)));
            if *events > *events_seen {
                *events_seen = *events;
                health.activity();
            }
        }
        Progress::Checkpoint { .. } => health.recover("checkpoint"),
        Progress::CheckpointFailed(e) => health.fail("checkpoint", &e.to_string()),
        _ => {}
    }
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("recorder: {message}");
    ExitCode::from(code)
}
