//! `alerter`: alerts when a Binance spot symbol's last price goes beyond a level.
//! See `alerter --help` and the README; the logic lives in the `alerting` and `alert` crates.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let config = match cli::parse(std::env::args_os()) {
        Ok(c) => c,
        Err(cli::CliExit::Info(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(cli::CliExit::Usage(msg)) => return fail(2, &msg),
    };
    let _log = match logging::init(&logging::LogConfig {
        file: Some(config.log_file.clone()),
        level: log::LevelFilter::Info,
        console: logging::Console::Stderr,
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
    let result = runtime.block_on(alerting::run(pipeline(config)));
    runtime.shutdown_timeout(alerting::SHUTDOWN_GRACE);
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) if e.is_usage() => fail(2, &e.to_string()),
        Err(e) => fail(1, &format!("{:#}", anyhow::Error::from(e))),
    }
}

/// The flags the pipeline needs (the log file is this binary's business).
fn pipeline(c: cli::Config) -> alerting::Config {
    alerting::Config {
        levels: c.levels,
        mode: c.mode,
        verbose: c.verbose,
        exec: c.exec,
        webhook: c.webhook,
        ws_url: c.ws_url,
        rest_url: c.rest_url,
        idle_timeout: c.idle_timeout,
        source: c.source,
    }
}

fn fail(code: u8, msg: &str) -> ExitCode {
    eprintln!("alerter: {msg}");
    ExitCode::from(code)
}
