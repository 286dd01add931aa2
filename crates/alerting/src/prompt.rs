//! Interactive mode: the two questions of the original, asked again until answered well.
//!
//! The questions stay in step with the answers: a symbol check that fails (the exchange
//! cannot be asked) is tried again rather than asking the next question, so a piped
//! `BTCUSDT\n43680\n` never has its price read as a symbol; if the check keeps failing, the
//! conversation ends with [`Asked::CheckFailed`]. End of input is said on `err`.

use std::io::Write;
use std::time::Duration;

use alert::{Direction, Level, Symbol};
use events::Backoff;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The first question, exactly as the original asks it.
pub const SYMBOL_PROMPT: &str =
    "Enter Symbol to monitor (eg: BNBBTC,ETHBTC,BTCUSDT,ETHUSDT,etc..): ";

/// The second question for `symbol`, exactly as the original asks it.
pub fn price_prompt(symbol: &Symbol) -> String {
    format!("Enter price to monitor {symbol} symbol: ")
}

/// What the exchange says about a symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SymbolCheck {
    /// Exists and trades.
    Trading,
    /// Not listed.
    Unknown,
    /// Listed with another status (`BREAK`, `HALT`, ...).
    NotTrading(String),
    /// The check itself failed (network, unexpected answer).
    Failed(String),
}

/// Checks symbols against the exchange (the REST client in production, a table in tests).
pub trait CheckSymbol {
    /// Looks `symbol` up.
    fn check(&self, symbol: &Symbol) -> impl std::future::Future<Output = SymbolCheck>;
}

/// Attempts of a symbol check that fails ([`SymbolCheck::Failed`]) before giving up.
pub const CHECK_ATTEMPTS: u32 = 3;
/// Wait before the second attempt of a failed check; doubled before each further one.
pub const CHECK_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Checks `symbol`; a check that fails is tried again after [`CHECK_RETRY_DELAY`] (doubled
/// each time), up to [`CHECK_ATTEMPTS`] in all, and each failure but the last is told to
/// `retrying` with the wait. Returns the last answer.
///
/// # Errors
///
/// Only what `retrying` returns (e.g. writing the notice failed); a failed check is the
/// answer [`SymbolCheck::Failed`], not an error.
pub async fn check_patiently<C: CheckSymbol>(
    checker: &C,
    symbol: &Symbol,
    mut retrying: impl FnMut(&str, Duration) -> std::io::Result<()>,
) -> std::io::Result<SymbolCheck> {
    let mut backoff = Backoff::exact(CHECK_RETRY_DELAY, Duration::MAX);
    for _ in 1..CHECK_ATTEMPTS {
        match checker.check(symbol).await {
            SymbolCheck::Failed(why) => {
                let delay = backoff.next_delay();
                retrying(&why, delay)?;
                tokio::time::sleep(delay).await;
            }
            answer => return Ok(answer),
        }
    }
    Ok(checker.check(symbol).await)
}

/// How the conversation of [`ask_level`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// Both answers are good: alert above this level.
    Level(Level),
    /// Input ended before both answers were given (said on `err`).
    EndOfInput,
    /// The exchange could not be asked about `symbol` after [`CHECK_ATTEMPTS`] attempts.
    CheckFailed {
        /// The symbol given.
        symbol: Symbol,
        /// Why the last attempt failed.
        why: String,
    },
}

/// Asks for a symbol and a price until both are good.
///
/// Prompts go to `out`; complaints about an answer go to `err`, followed by the question
/// again. The level alerts above the price, as the original did.
///
/// # Errors
///
/// An I/O error reading `input` or writing `out` / `err`; a bad answer is told on `err`
/// and asked again, not an error.
pub async fn ask_level<R, C>(
    input: &mut R,
    out: &mut impl Write,
    err: &mut impl Write,
    checker: &C,
) -> std::io::Result<Asked>
where
    R: AsyncBufRead + Unpin,
    C: CheckSymbol,
{
    let symbol = loop {
        let Some(answer) = ask(input, out, SYMBOL_PROMPT).await? else {
            writeln!(err, "end of input: no symbol given; exiting")?;
            return Ok(Asked::EndOfInput);
        };
        let symbol: Symbol = match answer.parse() {
            Ok(s) => s,
            Err(e) => {
                writeln!(err, "{e}")?;
                continue;
            }
        };
        let retrying = |why: &str, wait: Duration| {
            writeln!(
                err,
                "could not check symbol {symbol}: {why}; checking again in {wait:?}"
            )
        };
        let checked = check_patiently(checker, &symbol, retrying).await?;
        match checked {
            SymbolCheck::Trading => break symbol,
            SymbolCheck::Unknown => writeln!(err, "unknown symbol {symbol}")?,
            SymbolCheck::NotTrading(status) => writeln!(
                err,
                "symbol {symbol} is not trading now (status {status}); choose another"
            )?,
            SymbolCheck::Failed(why) => return Ok(Asked::CheckFailed { symbol, why }),
        }
    };
    let prompt = price_prompt(&symbol);
    loop {
        let Some(answer) = ask(input, out, &prompt).await? else {
            writeln!(err, "end of input: no price given for {symbol}; exiting")?;
            return Ok(Asked::EndOfInput);
        };
        match Level::parse(symbol.clone(), Direction::Above, &answer) {
            Ok(level) => return Ok(Asked::Level(level)),
            Err(e) => writeln!(
                err,
                "invalid price: {e}; enter a positive number such as 43680.5"
            )?,
        }
    }
}

/// Prints `prompt`, reads one line; `None` at end of input.
async fn ask<R: AsyncBufRead + Unpin>(
    input: &mut R,
    out: &mut impl Write,
    prompt: &str,
) -> std::io::Result<Option<String>> {
    out.write_all(prompt.as_bytes())?;
    out.flush()?;
    let mut line = String::new();
    if input.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `FLAKY` fails its first two checks, then trades; `DOWN` always fails.
    #[derive(Default)]
    struct Table {
        flaky_failures: std::cell::Cell<u32>,
    }

    impl CheckSymbol for Table {
        async fn check(&self, symbol: &Symbol) -> SymbolCheck {
            let failed = || SymbolCheck::Failed("connection refused".into());
            match symbol.as_str() {
                "BTCUSDT" | "ETHBTC" => SymbolCheck::Trading,
                "OLDCOIN" => SymbolCheck::NotTrading("BREAK".into()),
                "FLAKY" if self.flaky_failures.get() < 2 => {
                    self.flaky_failures.set(self.flaky_failures.get() + 1);
                    failed()
                }
                "FLAKY" => SymbolCheck::Trading,
                "DOWN" => failed(),
                _ => SymbolCheck::Unknown,
            }
        }
    }

    async fn converse(input: &str) -> (Option<String>, String, String) {
        let mut reader = input.as_bytes();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let asked = ask_level(&mut reader, &mut out, &mut err, &Table::default())
            .await
            .unwrap();
        let level = match asked {
            Asked::Level(l) => Some(format!("{} {} {}", l.symbol, l.direction, l.price)),
            Asked::EndOfInput => None,
            Asked::CheckFailed { symbol, why } => Some(format!("check failed: {symbol}: {why}")),
        };
        (
            level,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    // Paused time: the waits between check attempts pass at once.
    #[tokio::test(start_paused = true)]
    async fn conversations() {
        let sp = SYMBOL_PROMPT;
        let pp = "Enter price to monitor BTCUSDT symbol: ";
        let cases: Vec<(&str, Option<&str>, String, &str)> = vec![
            ("btcusdt\n43680\n", Some("BTCUSDT above 43680"), format!("{sp}{pp}"), ""),
            (
                "NOPE\nbtcusdt\nabc\n0\n-3\ninf\n43680.5\n",
                Some("BTCUSDT above 43680.5"),
                format!("{sp}{sp}{pp}{pp}{pp}{pp}{pp}"),
                "unknown symbol NOPE\n\
                 invalid price: 'abc' is not a number (expected a plain decimal such as 43680 or 0.0015); enter a positive number such as 43680.5\n\
                 invalid price: the price must be greater than zero; enter a positive number such as 43680.5\n\
                 invalid price: '-3' is negative; a price must be positive; enter a positive number such as 43680.5\n\
                 invalid price: 'inf' is not a finite number; enter a positive number such as 43680.5\n",
            ),
            (
                "oldcoin\n\nbtc usdt\r\nbtcusdt\r\n1\r\n",
                Some("BTCUSDT above 1"),
                format!("{sp}{sp}{sp}{sp}{pp}"),
                "symbol OLDCOIN is not trading now (status BREAK); choose another\n\
                 no symbol given\n\
                 'btc usdt' is not a symbol (one name without blanks, such as BTCUSDT or 币安人生USDT)\n",
            ),
            // A failed check is tried again: the next answer is the price, as asked.
            (
                "flaky\n43680\n",
                Some("FLAKY above 43680"),
                format!("{sp}Enter price to monitor FLAKY symbol: "),
                "could not check symbol FLAKY: connection refused; checking again in 1s\n\
                 could not check symbol FLAKY: connection refused; checking again in 2s\n",
            ),
            // A check that keeps failing ends the conversation; 43680 is never a symbol.
            (
                "down\n43680\n",
                Some("check failed: DOWN: connection refused"),
                sp.to_string(),
                "could not check symbol DOWN: connection refused; checking again in 1s\n\
                 could not check symbol DOWN: connection refused; checking again in 2s\n",
            ),
            ("", None, sp.to_string(), "end of input: no symbol given; exiting\n"),
            (
                "NOPE\n",
                None,
                format!("{sp}{sp}"),
                "unknown symbol NOPE\nend of input: no symbol given; exiting\n",
            ),
            (
                "btcusdt\n",
                None,
                format!("{sp}{pp}"),
                "end of input: no price given for BTCUSDT; exiting\n",
            ),
            ("btcusdt\n12", Some("BTCUSDT above 12"), format!("{sp}{pp}"), ""),
        ];
        for (input, level, out, err) in cases {
            let got = converse(input).await;
            assert_eq!(
                got,
                (level.map(str::to_owned), out, err.to_owned()),
                "input {input:?}"
            );
        }
    }
}
