//! What `trader portfolio` and `trader trades` print, as text or JSON.

use chrono::{NaiveDateTime, SecondsFormat};
use portfolio::{Report, Side};
use store::db::TradeView;
use trading::report::fmt_price;

/// One trade as printed: keys `symbol`, `side`, `quantity`, `price`, `executed_at`, and
/// how it was filled: `fee`, `price_source`, `price_at` (RFC 3339 or null).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TradeOut {
    /// Ticker, upper case.
    pub symbol: String,
    /// `buy` or `sell`.
    pub side: Side,
    /// Coins.
    pub quantity: f64,
    /// Fill price (USD).
    pub price: f64,
    /// RFC 3339 UTC, e.g. `2026-11-23T19:05:00Z`.
    pub executed_at: String,
    /// Fee paid (USD).
    pub fee: f64,
    /// Where the price came from.
    pub price_source: String,
    /// When that price was current (RFC 3339 UTC), if known.
    pub price_at: Option<String>,
}

impl From<TradeView> for TradeOut {
    fn from(t: TradeView) -> Self {
        TradeOut {
            symbol: t.symbol.to_uppercase(),
            side: t.side,
            quantity: t.quantity,
            price: t.price,
            executed_at: rfc3339(t.executed_at),
            fee: t.fee,
            price_source: t.price_source,
            price_at: t.price_at.map(rfc3339),
        }
    }
}

fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `trader portfolio`: a table, or with `json` an array of holdings.
pub fn render_portfolio(report: &Report, json: bool) -> Result<String, serde_json::Error> {
    if json {
        return serde_json::to_string_pretty(&report.holdings);
    }
    Ok(report.to_string())
}

/// `trader trades`: a table, or with `json` an array of trades.
pub fn render_trades(trades: Vec<TradeView>, json: bool) -> Result<String, serde_json::Error> {
    let trades: Vec<TradeOut> = trades.into_iter().map(TradeOut::from).collect();
    if json {
        return serde_json::to_string_pretty(&trades);
    }
    let mut out = format!(
        "{:<20} {:<5} {:<8} {:>12} {:>16} {:>12}\n",
        "EXECUTED AT", "SIDE", "SYMBOL", "QUANTITY", "PRICE", "FEE"
    );
    for t in &trades {
        out.push_str(&format!(
            "{:<20} {:<5} {:<8} {:>12} {:>16} {:>12}\n",
            t.executed_at,
            t.side.as_str(),
            t.symbol,
            t.quantity,
            fmt_price(t.price),
            fmt_price(t.fee)
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_and_trades() {
        assert_eq!(fmt_price(57_000.0), "57000.00");
        assert_eq!(fmt_price(0.000123), "0.00012300");
        let t = TradeView {
            id: 1,
            coin_id: "bitcoin".into(),
            symbol: "btc".into(),
            side: Side::Buy,
            quantity: 1.0,
            price: 5.5,
            executed_at: chrono::DateTime::from_timestamp(1_700_000_000, 0)
                .expect("ts")
                .naive_utc(),
            fee: 0.0,
            price_source: "coingecko:markets.current_price".into(),
            price_at: None,
        };
        let json = render_trades(vec![t.clone()], true).expect("json");
        let v: serde_json::Value = serde_json::from_str(&json).expect("parse");
        assert_eq!(
            v,
            serde_json::json!([{"symbol":"BTC","side":"buy","quantity":1.0,"price":5.5,"executed_at":"2023-11-14T22:13:20Z","fee":0.0,"price_source":"coingecko:markets.current_price","price_at":null}])
        );
        let text = render_trades(vec![t], false).expect("text");
        assert!(
            text.lines()
                .nth(1)
                .is_some_and(|l| l.contains("BTC") && l.contains("5.50")),
            "{text}"
        );
    }
}
