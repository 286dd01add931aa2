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
