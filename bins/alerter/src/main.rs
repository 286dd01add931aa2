//! `alerter`: alerts when a Binance spot symbol's last price goes beyond a level.
//! See `alerter --help` and the README; the logic lives in the `alerting` and `alert` crates;
//! the flags are `cli`'s, what the binary prints itself is `output`'s.

mod cli;
mod output;

use std::process::ExitCode;

use output::fail;

fn main() -> ExitCode {
    let config = match cli::parse(std::env::args_os()) {
        Ok(c) => c,
        Err(cli::CliExit::Info(text)) => return output::info(&text),
        Err(cli::CliExit::Usage(msg)) => return fail(2, &msg),
    };
    let _log = match logging::init(&logging::LogConfig {
        file: Some(config.log_file.clone()),
        level: log::LevelFilter::Info,
        console: logging::Console::Stderr,
        format: config.log_format,
    }) {
        Ok(guard) => guard,
        Err(e) => return fail(2, &e.to_string()),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(1, &format!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(async {
        let mut pipeline = config.pipeline;
        // Healthy while prices arrive: silence longer than the idle timeout is a dead feed.
        let health = ops::Health::new("update", Some(pipeline.idle_timeout));
        let _endpoint = match config.metrics_addr {
            Some(addr) => {
                let endpoint = ops::start(addr, health.clone()).await?;
                alerting::metrics::describe();
                pipeline.health = Some(health);
                Some(endpoint)
            }
            None => None,
        };
        Ok::<_, ops::OpsError>(alerting::run(pipeline, output::terminal()).await)
    });
    runtime.shutdown_timeout(alerting::SHUTDOWN_GRACE);
    match result {
        Err(e) => fail(2, &format!("bad configuration: {e}")),
        Ok(Ok(_)) => ExitCode::SUCCESS,
        Ok(Err(e)) if e.is_usage() => fail(2, &e.to_string()),
        Ok(Err(e)) => fail(1, &format!("{:#}", anyhow::Error::from(e))),
    }
}
