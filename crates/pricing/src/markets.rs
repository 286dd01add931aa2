//! `GET /coins/markets`: coins ranked by market cap.
//!
//! Raw payload (one element of the array, trimmed; the fields we do not use are ignored):
//!
//! ```text
//! [{"id":"bitcoin","symbol":"btc","name":"Bitcoin","image":"https://...",
//!   "current_price":70187,"market_cap":1381651251183,"market_cap_rank":1,
//!   "total_volume":20154184933,"high_24h":70215,"low_24h":68060, ...,
//!   "roi":null,"last_updated":"2024-04-07T16:49:31.736Z"}]
//! ```
//!
//! Docs: <https://docs.coingecko.com/reference/coins-markets>. Every number may be `null`
//! (a coin without recent trades), so they are all `Option`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// One coin of the `/coins/markets` answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CoinMarket {
    /// CoinGecko id, e.g. `bitcoin` (used in `/coins/{id}/...`).
    pub id: String,
    /// Ticker symbol, lower case as CoinGecko sends it, e.g. `btc`.
    pub symbol: String,
    /// Display name, e.g. `Bitcoin`.
    pub name: String,
    /// Current price in the `vs_currency`.
    #[serde(default)]
    pub current_price: Option<f64>,
    /// Market capitalisation.
    #[serde(default)]
    pub market_cap: Option<f64>,
    /// Rank by market cap (1 = largest).
    #[serde(default)]
    pub market_cap_rank: Option<u32>,
    /// 24 h traded volume.
    #[serde(default)]
    pub total_volume: Option<f64>,
    /// When CoinGecko last updated the coin; `None` when absent or unparsable.
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub last_updated: Option<DateTime<Utc>>,
}

/// The `n` largest coins of an answer, whatever the server sent: sorted by
/// `market_cap_rank` (then market cap, largest first), at most `n`.
///
/// A coin without a rank, and the second and later entries of one id, are dropped with a
/// warning (the first kept is the best ranked). Coins without a price are kept: the cycle
/// skips them with a warning of its own, so they still count among the `n`.
///
/// ```
/// use pricing::{select_top, CoinMarket};
/// let coin = |id: &str, rank: Option<u32>| CoinMarket {
///     id: id.into(), symbol: id.into(), name: id.into(), current_price: Some(1.0),
///     market_cap: Some(1.0), market_cap_rank: rank, total_volume: None, last_updated: None,
/// };
/// let got = select_top(vec![coin("c", Some(3)), coin("x", None), coin("a", Some(1)),
///                           coin("a", Some(7)), coin("b", Some(2)), coin("d", Some(4))], 3);
/// let ids: Vec<&str> = got.iter().map(|c| c.id.as_str()).collect();
/// assert_eq!(ids, ["a", "b", "c"]);
/// ```
pub fn select_top(coins: Vec<CoinMarket>, n: usize) -> Vec<CoinMarket> {
    let received = coins.len();
    let mut ranked: Vec<(u32, CoinMarket)> = Vec::with_capacity(received);
    for c in coins {
        match c.market_cap_rank {
            Some(rank) => ranked.push((rank, c)),
            None => log::warn!(
                "/coins/markets: dropping {} ({}): no market_cap_rank",
                c.id,
                c.symbol.to_uppercase()
            ),
        }
    }
    // Best rank first; equal ranks by market cap, largest first, unknown caps last.
    ranked.sort_by(|(ra, a), (rb, b)| {
        ra.cmp(rb).then_with(|| {
            let cap = |c: &CoinMarket| c.market_cap.filter(|m| m.is_finite());
            cap(b)
                .partial_cmp(&cap(a))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    });
    let mut out: Vec<CoinMarket> = Vec::with_capacity(n);
    for (rank, c) in ranked {
        if out.iter().any(|o| o.id == c.id) {
            log::warn!(
                "/coins/markets: dropping a duplicate of {} (rank {rank})",
                c.id
            );
            continue;
        }
        if out.len() < n {
            out.push(c);
        }
    }
    if received > n {
        log::debug!("/coins/markets sent {received} coins, {n} asked for: kept the top {n}");
    }
    out
}

/// Accepts an RFC 3339 string, `null`, or anything else (which becomes `None`: a bad
/// timestamp is no reason to drop the prices).
fn lenient_datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(v.as_ref()
        .and_then(|v| v.as_str())
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_documented_example() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/coingecko_coins_markets_example.json"
        );
        let body = std::fs::read(path).expect("fixture");
        let coins: Vec<CoinMarket> = serde_json::from_slice(&body).expect("decode");
        assert_eq!(coins.len(), 1);
        let c = &coins[0];
        assert_eq!(
            (c.id.as_str(), c.symbol.as_str(), c.name.as_str()),
            ("bitcoin", "btc", "Bitcoin")
        );
        assert_eq!(c.current_price, Some(70187.0));
        assert_eq!(c.market_cap, Some(1_381_651_251_183.0));
        assert_eq!(c.market_cap_rank, Some(1));
        assert_eq!(c.total_volume, Some(20_154_184_933.0));
        assert_eq!(
            c.last_updated.map(|t| t.timestamp_millis()),
            Some(1_712_508_571_736)
        );
    }

    fn coin(id: &str, rank: Option<u32>, cap: Option<f64>) -> CoinMarket {
        CoinMarket {
            id: id.into(),
            symbol: id.into(),
            name: id.into(),
            current_price: Some(1.0),
            market_cap: cap,
            market_cap_rank: rank,
            total_volume: None,
            last_updated: None,
        }
    }

    #[test]
    fn selection_table() {
        let many: Vec<CoinMarket> = (1..=503)
            .rev()
            .map(|i| coin(&format!("c{i}"), Some(i), Some(1e9 / f64::from(i))))
            .collect();
        // (answer, want ids)
        let cases: Vec<(Vec<CoinMarket>, Vec<&str>)> = vec![
            // A server that sends 503 coins (reversed): still exactly the top 3.
            (many, vec!["c1", "c2", "c3"]),
            (vec![], vec![]),
            (vec![coin("a", Some(1), None)], vec!["a"]),
            // Duplicates and coins without a rank are dropped.
            (
                vec![
                    coin("a", Some(2), Some(5.0)),
                    coin("a", Some(1), Some(5.0)),
                    coin("x", None, Some(1e12)),
                    coin("b", Some(3), None),
                    coin("c", Some(9), None),
                    coin("d", Some(10), None),
                ],
                vec!["a", "b", "c"],
            ),
            // Equal ranks: the larger market cap first; an unknown cap last.
            (
                vec![
                    coin("small", Some(1), Some(1.0)),
                    coin("none", Some(1), None),
                    coin("big", Some(1), Some(2.0)),
                ],
                vec!["big", "small", "none"],
            ),
        ];
        for (answer, want) in cases {
            let got: Vec<String> = select_top(answer, 3).into_iter().map(|c| c.id).collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn table_of_shapes() {
        // (body, decodes?, current_price, last_updated present?)
        let cases: &[(&str, bool, Option<f64>, bool)] = &[
            (
                r#"[{"id":"a","symbol":"a","name":"A","current_price":null,"market_cap":null,"market_cap_rank":null,"total_volume":null,"last_updated":null}]"#,
                true,
                None,
                false,
            ),
            (r#"[{"id":"a","symbol":"a","name":"A"}]"#, true, None, false),
            (
                r#"[{"id":"a","symbol":"a","name":"A","current_price":1.5,"last_updated":"yesterday"}]"#,
                true,
                Some(1.5),
                false,
            ),
            (
                r#"[{"id":"a","symbol":"a","name":"A","current_price":2,"last_updated":"2024-04-07T16:49:31Z"}]"#,
                true,
                Some(2.0),
                true,
            ),
            (r#"[{"symbol":"a","name":"A"}]"#, false, None, false),
            (
                r#"[{"id":"a","symbol":"a","name":"A","current_price":"1"}]"#,
                false,
                None,
                false,
            ),
            (r#"[{"id":"a","symbol":"a","#, false, None, false),
            (r#"{"status":{"error_code":429}}"#, false, None, false),
        ];
        for (body, ok, price, updated) in cases {
            let r: Result<Vec<CoinMarket>, _> = serde_json::from_str(body);
            assert_eq!(r.is_ok(), *ok, "{body}");
            if let Ok(coins) = r {
                assert_eq!(coins[0].current_price, *price, "{body}");
                assert_eq!(coins[0].last_updated.is_some(), *updated, "{body}");
            }
        }
    }
}
