//! Interactive mode: the two questions of the original, asked again until answered well.

use std::io::Write;

use alert::{Direction, Level, Symbol};
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

/// Asks for a symbol and a price until both are good. `Ok(None)`: end of input.
///
/// Prompts go to `out`; complaints about an answer go to `err`, followed by the question
/// again. The level alerts above the price, as the original did.
pub async fn ask_level<R, C>(
    input: &mut R,
    out: &mut impl Write,
    err: &mut impl Write,
    checker: &C,
) -> std::io::Result<Option<Level>>
where
    R: AsyncBufRead + Unpin,
    C: CheckSymbol,
{
    let symbol = loop {
        let Some(answer) = ask(input, out, SYMBOL_PROMPT).await? else {
            return Ok(None);
        };
        let symbol: Symbol = match answer.parse() {
            Ok(s) => s,
            Err(e) => {
                writeln!(err, "{e}")?;
                continue;
            }
        };
        match checker.check(&symbol).await {
            SymbolCheck::Trading => break symbol,
            SymbolCheck::Unknown => writeln!(err, "unknown symbol {symbol}")?,
            SymbolCheck::NotTrading(status) => writeln!(
                err,
                "symbol {symbol} is not trading now (status {status}); choose another"
            )?,
            SymbolCheck::Failed(why) => writeln!(err, "could not check symbol {symbol}: {why}")?,
        }
    };
    let prompt = price_prompt(&symbol);
    loop {
        let Some(answer) = ask(input, out, &prompt).await? else {
            return Ok(None);
        };
        match Level::parse(symbol.clone(), Direction::Above, &answer) {
            Ok(level) => return Ok(Some(level)),
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

    struct Table;

    impl CheckSymbol for Table {
        async fn check(&self, symbol: &Symbol) -> SymbolCheck {
            match symbol.as_str() {
                "BTCUSDT" | "ETHBTC" => SymbolCheck::Trading,
                "OLDCOIN" => SymbolCheck::NotTrading("BREAK".into()),
                "FLAKY" => SymbolCheck::Failed("connection refused".into()),
                _ => SymbolCheck::Unknown,
            }
        }
    }

    async fn converse(input: &str) -> (Option<String>, String, String) {
        let mut reader = input.as_bytes();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let level = ask_level(&mut reader, &mut out, &mut err, &Table)
            .await
            .unwrap();
        let level = level.map(|l| format!("{} {} {}", l.symbol, l.direction, l.price));
        (
            level,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[tokio::test]
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
                "oldcoin\nflaky\n\nBTC/USDT\r\nbtcusdt\r\n1\r\n",
                Some("BTCUSDT above 1"),
                format!("{sp}{sp}{sp}{sp}{sp}{pp}"),
                "symbol OLDCOIN is not trading now (status BREAK); choose another\n\
                 could not check symbol FLAKY: connection refused\n\
                 no symbol given\n\
                 'BTC/USDT' is not a symbol (letters and digits only, such as BTCUSDT)\n",
            ),
            ("", None, sp.to_string(), ""),
            ("NOPE\n", None, format!("{sp}{sp}"), "unknown symbol NOPE\n"),
            ("btcusdt\n", None, format!("{sp}{pp}"), ""),
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
