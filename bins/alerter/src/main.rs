//! `alerter`: alerts when a Binance spot symbol's last price goes beyond a level.
//! See `alerter --help` and the README; the logic lives in the `alert` crate and `lib.rs`.

use std::process::ExitCode;

use alerter::{cli, Failure};

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
    let result = runtime.block_on(alerter::run(config));
    runtime.shutdown_timeout(alerter::SHUTDOWN_GRACE);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => fail(2, &msg),
        Err(Failure::Runtime(e)) => fail(1, &format!("{e:#}")),
    }
}

fn fail(code: u8, msg: &str) -> ExitCode {
    eprintln!("alerter: {msg}");
    ExitCode::from(code)
}
