//! Summarises a recorded dataset through the dataset reader: files, rows, symbols, and the last
//! rows of a few symbols.
//!
//! `cargo run -p dataset --example inspect -- DIR [SYMBOL]`
//!
//! `inspect DIR --counts` prints instead one `symbol<TAB>rows` line per symbol, in symbol
//! order: what other readers of the dataset must find too (`scripts/read-dataset.py`).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: inspect DIR [SYMBOL | --counts]");
        return ExitCode::from(2);
    };
    let symbol = args.next();
    let result = match symbol.as_deref() {
        Some("--counts") => counts(&dir),
        symbol => run(&dir, symbol),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("inspect: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(dir: &std::path::Path, symbol: Option<&str>) -> Result<(), dataset::TickError> {
    let files = dataset::list_files(dir)?;
    let by_symbol = dataset::read_by_symbol(dir)?;
    let rows: usize = by_symbol.values().map(|b| b.num_rows()).sum();
    println!(
        "{} files, {rows} rows, {} symbols",
        files.len(),
        by_symbol.len()
    );
    let shown: Vec<&String> = match symbol {
        Some(s) => by_symbol
            .keys()
            .filter(|k| k.eq_ignore_ascii_case(s))
            .collect(),
        None => by_symbol.keys().take(3).collect(),
    };
    println!(
        "{:<12} {:>25} {:>16} {:>16} {:>18}",
        "symbol", "event_time (UTC)", "close", "high", "quote_volume"
    );
    for name in shown {
        let ticks = dataset::rows(&by_symbol[name])?;
        for t in ticks.iter().rev().take(3).rev() {
            let time = chrono::DateTime::from_timestamp_millis(t.event_time)
                .map(|d| d.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
                .unwrap_or_else(|| t.event_time.to_string());
            println!(
                "{:<12} {:>25} {:>16.8} {:>16.8} {:>18.2}",
                t.symbol, time, t.close, t.high, t.quote_volume
            );
        }
    }
    Ok(())
}

fn counts(dir: &std::path::Path) -> Result<(), dataset::TickError> {
    for (symbol, batch) in dataset::read_by_symbol(dir)? {
        println!("{symbol}\t{}", batch.num_rows());
    }
    Ok(())
}
