//! Command line: clap definitions, and the grouping of `--above`/`--below` under the
//! `--symbol` they follow.

use std::ffi::OsString;
use std::path::PathBuf;

use alert::{Direction, Level, Mode, Symbol};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};

/// Alerts when a Binance spot symbol's last price goes above or below a level.
///
/// Without --symbol it asks for a symbol and a price and alerts above that price.
/// With flags, levels belong to the --symbol they follow:
///   alerter --symbol BTCUSDT --above 70000 --below 60000 --symbol ethbtc --above 0.05
#[derive(Debug, Parser)]
#[command(name = "alerter", version, verbatim_doc_comment)]
pub struct Args {
    /// Symbol to watch (any case); repeat for several symbols on one connection.
    #[arg(long = "symbol", env = "ALERTER_SYMBOL", value_name = "SYMBOL")]
    pub symbols: Vec<String>,
    /// Alert when the last price is strictly above PRICE (repeatable).
    #[arg(
        long = "above",
        env = "ALERTER_ABOVE",
        value_name = "PRICE",
        allow_hyphen_values = true
    )]
    pub above: Vec<String>,
    /// Alert when the last price is strictly below PRICE (repeatable).
    #[arg(
        long = "below",
        env = "ALERTER_BELOW",
        value_name = "PRICE",
        allow_hyphen_values = true
    )]
    pub below: Vec<String>,
    /// Alert once per crossing instead of on every update beyond the level.
    #[arg(long, env = "ALERTER_ON_CROSS", value_parser = logging::cli::EnvBool)]
    pub on_cross: bool,
    /// Also print updates that raise no alert (`Last price for symbol ...`).
    #[arg(short, long, env = "ALERTER_VERBOSE", value_parser = logging::cli::EnvBool)]
    pub verbose: bool,
    /// Run CMD with `sh -c` for every alert, with ALERT_SYMBOL, ALERT_DIRECTION, ALERT_LEVEL,
    /// ALERT_PRICE and ALERT_TIME set; failures are logged and never stop the alerter.
    #[arg(long, env = "ALERTER_EXEC", value_name = "CMD", hide_env_values = true)]
    pub exec: Option<String>,
    /// POST every alert as JSON to URL; failures are logged and never stop the alerter.
    #[arg(
        long,
        env = "ALERTER_WEBHOOK",
        value_name = "URL",
        hide_env_values = true
    )]
    pub webhook: Option<String>,
    /// Binance spot WebSocket base.
    #[arg(
        long,
        env = "BINANCE_WS_URL",
        default_value = "wss://stream.binance.com:9443"
    )]
    pub ws_url: String,
    /// Binance spot REST base (symbol check via /api/v3/exchangeInfo).
    #[arg(
        long,
        env = "BINANCE_REST_URL",
        default_value = "https://api.binance.com"
    )]
    pub rest_url: String,
    /// Take the updates from the recorder's NATS JetStream subjects at this URL
    /// (nats://HOST:PORT, optionally user:pass@ or token@ before HOST; NATS_CREDS /
    /// NATS_TOKEN add credentials)
    /// instead of connecting to Binance. A server that is not there yet is waited for.
    #[arg(
        long,
        env = "ALERTER_SOURCE",
        value_name = "URL",
        hide_env_values = true
    )]
    pub source: Option<String>,
    /// Seconds without any data after which the connection is considered dead and replaced.
    #[arg(long, env = "ALERTER_IDLE_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub idle_timeout_secs: u64,
    /// Log file (appended).
    #[arg(long, env = "LOG_FILE", default_value = "storage/logs/app.log")]
    pub log_file: PathBuf,
    /// Log line format: text, or json (one JSON object per line, console and file).
    #[arg(long, env = "LOG_FORMAT", default_value = "text")]
    pub log_format: logging::LogFormat,
    /// Serve Prometheus metrics at /metrics and a health check at /health on HOST:PORT;
    /// off by default.
    #[arg(long, env = "ALERTER_METRICS_ADDR", value_name = "HOST:PORT", value_parser = ops::parse_addr)]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// The checked configuration: the pipeline's, and what only this binary uses.
#[derive(Debug)]
pub struct Config {
    /// What the pipeline needs (its `health` is set once the endpoint is up).
    pub pipeline: alerting::Config,
    /// Log file.
    pub log_file: PathBuf,
    /// Log line format.
    pub log_format: logging::LogFormat,
    /// `--metrics-addr`.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// Why parsing stopped.
#[derive(Debug)]
pub enum CliExit {
    /// `--help` / `--version`: print this on stdout, exit 0.
    Info(String),
    /// Bad usage: one line, exit 2.
    Usage(String),
}

/// Parses the command line (and the environment, which a flag overrides).
pub fn parse<I, T>(args: I) -> Result<Config, CliExit>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = Args::command()
        .try_get_matches_from(args)
        .map_err(|e| match e.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                CliExit::Info(e.to_string())
            }
            _ => CliExit::Usage(first_line(&e.to_string())),
        })?;
    let args =
        Args::from_arg_matches(&matches).map_err(|e| CliExit::Usage(first_line(&e.to_string())))?;
    let levels = group_levels(&matches).map_err(CliExit::Usage)?;
    let source = match args.source.as_deref() {
        Some(url) => Some(
            bus::BusConfig::from_url_and_env(url)
                .map_err(|e| CliExit::Usage(format!("--source: {e}")))?,
        ),
        None => None,
    };
    let pipeline = alerting::Config {
        source,
        levels,
        mode: if args.on_cross {
            Mode::OnCross
        } else {
            Mode::EveryUpdate
        },
        verbose: args.verbose,
        exec: args.exec,
        webhook: args.webhook,
        ws_url: args.ws_url,
        rest_url: args.rest_url,
        idle_timeout: std::time::Duration::from_secs(args.idle_timeout_secs),
        health: None,
    };
    // What clap cannot check, named by the flags (the library names its fields).
    pipeline.validate().map_err(|invalid| {
        CliExit::Usage(invalid.describe(|field| match field {
            "webhook" => "--webhook",
            "exec" => "--exec",
            "ws_url" => "--ws-url",
            "rest_url" => "--rest-url",
            "idle_timeout" => "--idle-timeout-secs",
            other => other,
        }))
    })?;
    Ok(Config {
        pipeline,
        log_file: args.log_file,
        log_format: args.log_format,
        metrics_addr: args.metrics_addr,
    })
}

fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("bad usage");
    line.trim_start_matches("error: ").to_owned()
}

/// A flag's values with their positions on the command line (`None` position: from the
/// environment).
fn positioned(matches: &ArgMatches, id: &str) -> Vec<(Option<usize>, String)> {
    let values: Vec<String> = matches
        .get_many::<String>(id)
        .map(|v| v.cloned().collect())
        .unwrap_or_default();
    let from_env = matches.value_source(id) == Some(ValueSource::EnvVariable);
    let indices: Vec<usize> = match (from_env, matches.indices_of(id)) {
        (false, Some(i)) => i.collect(),
        _ => Vec::new(),
    };
    values
        .into_iter()
        .enumerate()
        .map(|(n, v)| (indices.get(n).copied(), v))
        .collect()
}

fn group_levels(matches: &ArgMatches) -> Result<Vec<Level>, String> {
    let symbols: Vec<(Option<usize>, Symbol)> = positioned(matches, "symbols")
        .into_iter()
        .map(|(i, s)| {
            s.parse::<Symbol>()
                .map(|s| (i, s))
                .map_err(|e| format!("--symbol: {e}"))
        })
        .collect::<Result<_, _>>()?;
    let mut raw_levels: Vec<(Option<usize>, Direction, String)> = Vec::new();
    for (id, direction) in [("above", Direction::Above), ("below", Direction::Below)] {
        raw_levels.extend(
            positioned(matches, id)
                .into_iter()
                .map(|(i, p)| (i, direction, p)),
        );
    }
    raw_levels.sort_by_key(|(i, _, _)| *i);
    if symbols.is_empty() {
        return match raw_levels.first() {
            Some((_, d, p)) => Err(format!("--{d} {p} needs a --symbol")),
            None => Ok(Vec::new()),
        };
    }
    let mut levels = Vec::new();
    for (at, direction, price) in raw_levels {
        let symbol = if symbols.len() == 1 {
            symbols[0].1.clone()
        } else {
            let at = at.ok_or_else(|| {
                format!("with several --symbol, give --{direction} as a flag after its --symbol")
            })?;
            symbols
                .iter()
                .rev()
                .find(|(i, _)| i.is_some_and(|i| i < at))
                .map(|(_, s)| s.clone())
                .ok_or_else(|| {
                    format!("--{direction} {price} must follow the --symbol it applies to")
                })?
        };
        let level = Level::parse(symbol, direction, &price)
            .map_err(|e| format!("--{direction} {price}: {e}"))?;
        levels.push(level);
    }
    if let Some((_, lonely)) = symbols
        .iter()
        .find(|(_, s)| !levels.iter().any(|l| &l.symbol == s))
    {
        return Err(format!(
            "--symbol {lonely} needs at least one --above or --below"
        ));
    }
    Ok(levels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(argv: &[&str]) -> Result<Vec<String>, String> {
        let argv = std::iter::once("alerter").chain(argv.iter().copied());
        match parse(argv) {
            Ok(c) => Ok(c
                .pipeline
                .levels
                .iter()
                .map(|l| format!("{} {} {}", l.symbol, l.direction, l.price))
                .collect()),
            Err(CliExit::Usage(m)) => Err(m),
            Err(CliExit::Info(_)) => Err("info".into()),
        }
    }

    #[test]
    fn groups_levels_under_their_symbol() {
        let ok: &[(&[&str], &[&str])] = &[
            (&[], &[]),
            (
                &["--symbol", "btcusdt", "--above", "43680"],
                &["BTCUSDT above 43680"],
            ),
            (
                &["--above", "1", "--symbol", "BTCUSDT"],
                &["BTCUSDT above 1"],
            ),
            (
                &[
                    "--symbol", "BTCUSDT", "--above", "2", "--below", "1.50", "--symbol", "ethbtc",
                    "--below", "0.03",
                ],
                &["BTCUSDT above 2", "BTCUSDT below 1.5", "ETHBTC below 0.03"],
            ),
            (
                &["--symbol=BNBBTC", "--below=0.001", "--on-cross", "-v"],
                &["BNBBTC below 0.001"],
            ),
        ];
        for (argv, expected) in ok {
            assert_eq!(
                levels(argv),
                Ok(expected.iter().map(|s| s.to_string()).collect()),
                "{argv:?}"
            );
        }
    }

    #[test]
    fn bad_usage_is_one_clear_line() {
        let bad: &[(&[&str], &str)] = &[
            (&["--above", "1"], "--above 1 needs a --symbol"),
            (
                &["--symbol", "BTCUSDT"],
                "--symbol BTCUSDT needs at least one --above or --below",
            ),
            (
                &["--symbol", "BTCUSDT", "--above", "0"],
                "greater than zero",
            ),
            (
                &["--symbol", "BTCUSDT", "--above", "abc"],
                "'abc' is not a number",
            ),
            (&["--symbol", "BTCUSDT", "--below", "-1"], "negative"),
            (&["--symbol", "BTC USDT", "--above", "1"], "not a symbol"),
            (
                &[
                    "--above", "1", "--symbol", "A", "--symbol", "B", "--above", "2",
                ],
                "must follow the --symbol",
            ),
            (
                &["--symbol", "A", "--above", "1", "--symbol", "B"],
                "--symbol B needs",
            ),
            (&["--frobnicate"], "unexpected argument '--frobnicate'"),
            (
                &["--symbol", "A", "--above", "1", "--webhook", "ftp://x"],
                "--webhook must be",
            ),
        ];
        for (argv, needle) in bad {
            let msg = levels(argv).expect_err(&format!("{argv:?} should fail"));
            assert!(msg.contains(needle), "{argv:?}: {msg:?} lacks {needle:?}");
            assert!(!msg.contains('\n'), "{argv:?}: {msg:?} is not one line");
        }
    }

    #[test]
    fn help_lists_env_variables() {
        let Err(CliExit::Info(help)) = parse(["alerter", "--help"]) else {
            panic!("--help is info");
        };
        for var in [
            "ALERTER_SYMBOL",
            "BINANCE_WS_URL",
            "BINANCE_REST_URL",
            "LOG_FILE",
            "ALERTER_EXEC",
        ] {
            assert!(help.contains(var), "--help lacks {var}");
        }
    }
}
