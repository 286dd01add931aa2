//! `exchange-sim`: the simulated Binance + CoinGecko server on 127.0.0.1 for demos and
//! end-to-end tests. Prints `exchange-sim listening on 127.0.0.1:<port>` and the base URLs,
//! then serves until SIGINT/SIGTERM (exit 0).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use sim::{CoinScenario, Faults, SimConfig};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Simulated Binance spot (WebSocket + REST) and CoinGecko API on 127.0.0.1"
)]
struct Args {
    /// Port to listen on (0: any free port).
    #[arg(long, env = "SIM_PORT", default_value_t = 0)]
    port: u16,
    /// Seed of the synthetic market and the default coins.
    #[arg(long, env = "SIM_SEED", default_value_t = 42)]
    seed: u64,
    /// Number of listed symbols.
    #[arg(long, env = "SIM_SYMBOLS", default_value_t = 1500)]
    symbols: usize,
    /// Milliseconds between market ticks.
    #[arg(long, env = "SIM_INTERVAL_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    interval_ms: u64,
    /// Milliseconds between server pings on each WebSocket.
    #[arg(long, env = "SIM_PING_INTERVAL_MS", default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    ping_interval_ms: u64,
    /// Milliseconds a client may take to answer a ping before it is disconnected.
    #[arg(long, env = "SIM_PONG_TIMEOUT_MS", default_value_t = 60_000)]
    pong_timeout_ms: u64,
    /// Do not disconnect clients that do not answer pings.
    #[arg(long, env = "SIM_NO_PONG_CHECK")]
    no_pong_check: bool,
    /// Seconds after which a WebSocket connection is cut.
    #[arg(long, env = "SIM_MAX_CONN_AGE_SECS", default_value_t = 86_400)]
    max_conn_age_secs: u64,
    /// Close each WebSocket connection after N data messages.
    #[arg(long, env = "SIM_CLOSE_AFTER")]
    close_after: Option<u64>,
    /// Stop sending data to each connection after N data messages (pings go on).
    #[arg(long, env = "SIM_STALL_AFTER")]
    stall_after: Option<u64>,
    /// Every Nth data message of each connection is truncated JSON.
    #[arg(long, env = "SIM_MALFORMED_EVERY", value_parser = clap::value_parser!(u64).range(1..))]
    malformed_every: Option<u64>,
    /// The first N REST requests answer HTTP 429.
    #[arg(long = "http-429", env = "SIM_HTTP_429", default_value_t = 0)]
    http_429: u32,
    /// CoinGecko's 429 body comes with HTTP 200.
    #[arg(long = "cg-429-as-200", env = "SIM_CG_429_AS_200")]
    cg_429_as_200: bool,
    /// After the 429s, the next N REST requests answer 503/500 (4294967295: always).
    #[arg(long = "http-5xx", env = "SIM_HTTP_5XX", default_value_t = 0)]
    http_5xx: u32,
    /// Scripted closes `SYMBOL=p1,p2,...` (repeatable; in the env var, separated by `;`).
    #[arg(long = "price-path", env = "SIM_PRICE_PATH", value_delimiter = ';', value_parser = parse_price_path)]
    price_paths: Vec<(String, Vec<String>)>,
    /// JSON file with the CoinGecko coins (an array of {id, symbol, name, current_price,
    /// market_cap, total_volume, daily}).
    #[arg(long, env = "SIM_COINS")]
    coins: Option<PathBuf>,
}

fn parse_price_path(text: &str) -> Result<(String, Vec<String>), String> {
    let (symbol, prices) = text.split_once('=').ok_or("expected SYMBOL=p1,p2,...")?;
    let symbol = symbol.trim();
    if symbol.is_empty() || !symbol.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("invalid symbol {symbol:?}"));
    }
    let prices: Vec<String> = prices.split(',').map(|p| p.trim().to_string()).collect();
    if let Some(bad) = prices
        .iter()
        .find(|p| !p.parse::<f64>().is_ok_and(|v| v > 0.0 && v.is_finite()))
    {
        return Err(format!("invalid price {bad:?}"));
    }
    Ok((symbol.to_ascii_uppercase(), prices))
}

fn load_coins(path: &PathBuf) -> anyhow::Result<Vec<CoinScenario>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON array of coins", path.display()))
}

fn config(args: &Args) -> anyhow::Result<SimConfig> {
    Ok(SimConfig {
        seed: args.seed,
        symbols: args.symbols,
        interval: Duration::from_millis(args.interval_ms),
        ping_interval: Duration::from_millis(args.ping_interval_ms),
        pong_timeout: Duration::from_millis(args.pong_timeout_ms),
        max_connection_age: Duration::from_secs(args.max_conn_age_secs),
        price_paths: args.price_paths.clone(),
        coins: match &args.coins {
            Some(path) => load_coins(path)?,
            None => sim::default_coins(args.seed),
        },
        faults: Faults {
            close_after: args.close_after,
            stall_after: args.stall_after,
            malformed_every: args.malformed_every,
            pong_check: !args.no_pong_check,
            http_429: args.http_429,
            cg_429_as_200: args.cg_429_as_200,
            http_5xx: args.http_5xx,
        },
        // A demo runs for hours: do not keep every ticker in memory.
        record_sent: false,
    })
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let config = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("exchange-sim: {e:#}");
            std::process::exit(2);
        }
    };
    let _log = logging::init(&logging::LogConfig {
        file: None,
        level: log::LevelFilter::Info,
        console: logging::Console::Stderr,
    });
    if let Err(e) = run(args.port, config).await {
        eprintln!("exchange-sim: {e:#}");
        std::process::exit(1);
    }
}

async fn run(port: u16, config: SimConfig) -> anyhow::Result<()> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let sim = sim::start(addr, config)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "exchange-sim listening on {}", sim.addr())?;
    writeln!(out, "BINANCE_WS_URL={}", sim.ws_base())?;
    writeln!(out, "BINANCE_REST_URL={}", sim.rest_base())?;
    writeln!(out, "COINGECKO_API_URL={}", sim.coingecko_base())?;
    out.flush()?;
    drop(out);
    wait_for_signal().await?;
    log::info!("exchange-sim: shutting down");
    sim.shutdown().await;
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut shutdown =
        logging::shutdown_signal(|_, _| {}).context("cannot watch SIGINT/SIGTERM")?;
    logging::requested(&mut shutdown).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_paths_parse_or_explain() {
        assert_eq!(
            parse_price_path("btcusdt=100,101.50").unwrap(),
            (
                "BTCUSDT".to_string(),
                vec!["100".to_string(), "101.50".to_string()]
            )
        );
        for bad in [
            "BTCUSDT",
            "=1",
            "BTC USDT=1",
            "BTCUSDT=1,x",
            "BTCUSDT=",
            "BTCUSDT=-1",
        ] {
            assert!(parse_price_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_build_the_config() {
        let args = Args::parse_from([
            "exchange-sim",
            "--interval-ms",
            "50",
            "--no-pong-check",
            "--http-5xx",
            "3",
        ]);
        let c = config(&args).unwrap();
        assert_eq!(c.interval, Duration::from_millis(50));
        assert!(!c.faults.pong_check);
        assert_eq!(c.faults.http_5xx, 3);
        assert!(Args::try_parse_from(["exchange-sim", "--interval-ms", "0"]).is_err());
    }
}
