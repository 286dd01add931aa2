//! What the alerter prints itself: `--help`/`--version`, the one line of a failure, and the
//! terminal the pipeline prints its alert lines and prompts on.

use std::process::ExitCode;

/// The process's stdin, stdout and stderr, for [`alerting::run`].
pub fn terminal() -> alerting::Terminal {
    alerting::Terminal::stdio()
}

/// `--help` or `--version`, as clap renders them.
pub fn info(text: &str) -> ExitCode {
    print!("{text}");
    ExitCode::SUCCESS
}

/// One line on stderr, and the exit code.
pub fn fail(code: u8, msg: &str) -> ExitCode {
    eprintln!("alerter: {msg}");
    ExitCode::from(code)
}
