//! `GET /coins/{id}/market_chart`: price history, and the N-day average built from it.
//!
//! Raw payload (`?vs_currency=usd&days=1&interval=daily`, from CoinGecko's OpenAPI example):
//!
//! ```text
//! {"prices":[[1711843200000,69702.3087473573],[1711929600000,71246.9514406015],
//!            [1711983682000,68887.7495158568]],
//!  "market_caps":[...], "total_volumes":[...]}
//! ```
//!
//! Docs: <https://docs.coingecko.com/reference/coins-id-market-chart>. With
//! `interval=daily` the answer holds one point per day at 00:00 UTC **plus one last point
//! that is the live price** (here 15:01:22): `days=10` gives 11 points.

use serde::Deserialize;

/// The part of the `/coins/{id}/market_chart` answer the bot uses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MarketChart {
    /// `[unix_ms, price]` pairs, oldest first; a price may be `null`.
    pub prices: Vec<PricePoint>,
}

/// One `[unix_ms, price]` pair.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(from = "(f64, Option<f64>)")]
pub struct PricePoint {
    /// Unix time in milliseconds.
    pub timestamp_ms: i64,
    /// Price, `None` when CoinGecko sent `null`.
    pub price: Option<f64>,
}

impl From<(f64, Option<f64>)> for PricePoint {
    fn from((t, price): (f64, Option<f64>)) -> Self {
        // Timestamps are integral milliseconds; `as` saturates on absurd values.
        PricePoint {
            timestamp_ms: t as i64,
            price,
        }
    }
}

/// Why an average could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AverageError {
    /// Fewer daily points than asked for (a coin listed recently, or a short answer).
    #[error("only {got} daily prices, {need} needed")]
    NotEnoughHistory {
        /// Daily points available (the live point excluded).
        got: usize,
        /// Daily points needed.
        need: usize,
    },
    /// One of the daily prices used is `null`, not finite, or not positive.
    #[error("daily price at {timestamp_ms} ms is missing or invalid")]
    BadPrice {
        /// Timestamp of the offending point.
        timestamp_ms: i64,
    },
    /// `days` was zero.
    #[error("an average over 0 days is undefined")]
    ZeroDays,
}

/// Average of the last `days` **daily** prices of a `market_chart?interval=daily` answer.
///
/// The last point of the answer is the live price, not a daily close, so it is always
/// left out; the `days` points before it are averaged (arithmetic mean). Points are
/// sorted by time first (an answer out of order changes nothing). Extra older points, if
/// CoinGecko sends any, are ignored. Every averaged price must be present, finite and
/// positive. Same as [`daily_average_before`] without a known live time.
///
/// # Errors
///
/// As [`daily_average_before`].
///
/// ```
/// use pricing::{daily_average, PricePoint};
/// let day = 86_400_000;
/// let mut points: Vec<PricePoint> = (0..10)
///     .map(|i| PricePoint { timestamp_ms: i * day, price: Some(100.0 + i as f64) })
///     .collect();
/// points.push(PricePoint { timestamp_ms: 9 * day + 3_600_000, price: Some(1.0) }); // live
/// assert_eq!(daily_average(&points, 10), Ok(104.5));
/// ```
pub fn daily_average(points: &[PricePoint], days: usize) -> Result<f64, AverageError> {
    daily_average_before(points, days, None)
}

/// Average of the last `days` daily prices strictly before the live price.
///
/// The points are sorted by time; every point at or after the live price's time is left
/// out: `live_at_ms` (CoinGecko's `last_updated` of the coin) when known, or the latest
/// point's time, whichever is earlier. So neither the live point nor an extra point
/// after it can reach the average. The mean is computed incrementally, so prices near
/// `f64::MAX` do not overflow to infinity.
///
/// # Errors
///
/// [`AverageError::ZeroDays`] for `days == 0`; [`AverageError::NotEnoughHistory`] when
/// fewer than `days` daily points come before the live one; [`AverageError::BadPrice`]
/// when one of the prices used is missing, not finite or not positive.
///
/// ```
/// use pricing::{daily_average_before, PricePoint};
/// let day = 86_400_000;
/// let mut points: Vec<PricePoint> = (0..10)
///     .map(|i| PricePoint { timestamp_ms: i * day, price: Some(100.0 + i as f64) })
///     .collect();
/// let live = 9 * day + 3_600_000;
/// points.push(PricePoint { timestamp_ms: live + 60_000, price: Some(1.0) }); // later still
/// points.push(PricePoint { timestamp_ms: live, price: Some(1.0) }); // the live point
/// assert_eq!(daily_average_before(&points, 10, Some(live)), Ok(104.5));
/// ```
pub fn daily_average_before(
    points: &[PricePoint],
    days: usize,
    live_at_ms: Option<i64>,
) -> Result<f64, AverageError> {
    if days == 0 {
        return Err(AverageError::ZeroDays);
    }
    let mut sorted = points.to_vec();
    sorted.sort_by_key(|p| p.timestamp_ms);
    let latest = sorted.last().map(|p| p.timestamp_ms);
    let cutoff = match (live_at_ms, latest) {
        (Some(live), Some(last)) => live.min(last),
        (None, Some(last)) => last,
        (_, None) => i64::MIN,
    };
    let daily: Vec<PricePoint> = sorted
        .into_iter()
        .filter(|p| p.timestamp_ms < cutoff)
        .collect();
    if daily.len() < days {
        return Err(AverageError::NotEnoughHistory {
            got: daily.len(),
            need: days,
        });
    }
    let mut mean = 0.0;
    for (i, p) in daily[daily.len() - days..].iter().enumerate() {
        match p.price {
            // Incremental mean: never larger than the largest price, so never infinite.
            Some(v) if v.is_finite() && v > 0.0 => mean += (v - mean) / (i as f64 + 1.0),
            _ => {
                return Err(AverageError::BadPrice {
                    timestamp_ms: p.timestamp_ms,
                })
            }
        }
    }
    Ok(mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(prices: &[Option<f64>]) -> Vec<PricePoint> {
        prices
            .iter()
            .enumerate()
            .map(|(i, &price)| PricePoint {
                timestamp_ms: i as i64 * 86_400_000,
                price,
            })
            .collect()
    }

    #[test]
    fn decodes_the_documented_example() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/coingecko_market_chart_example.json"
        );
        let chart: MarketChart =
            serde_json::from_slice(&std::fs::read(path).expect("fixture")).expect("decode");
        assert_eq!(chart.prices.len(), 3);
        assert_eq!(
            chart.prices[0],
            PricePoint {
                timestamp_ms: 1_711_843_200_000,
                price: Some(69702.3087473573)
            }
        );
        assert_eq!(chart.prices[2].timestamp_ms, 1_711_983_682_000);
        // Two daily points, the third (live) one is left out.
        let avg = daily_average(&chart.prices, 2).expect("average");
        assert!((avg - (69702.3087473573 + 71246.9514406015) / 2.0).abs() < 1e-9);
        assert_eq!(
            daily_average(&chart.prices, 3),
            Err(AverageError::NotEnoughHistory { got: 2, need: 3 })
        );
    }

    #[test]
    fn decode_table() {
        let cases: &[(&str, Option<usize>)] = &[
            (r#"{"prices":[[1,2.5],[2,null]]}"#, Some(2)),
            (
                r#"{"prices":[[1.0e3,2]],"market_caps":[],"total_volumes":[]}"#,
                Some(1),
            ),
            (r#"{"prices":[]}"#, Some(0)),
            (r#"{"prices":[[1]]}"#, None),
            (r#"{"prices":[["x",1]]}"#, None),
            (r#"{"prices":[[1,2.5],"#, None),
            (
                r#"{"status":{"error_code":429,"error_message":"slow down"}}"#,
                None,
            ),
            (r#"{"error":"coin not found"}"#, None),
        ];
        for (body, len) in cases {
            let r: Result<MarketChart, _> = serde_json::from_str(body);
            assert_eq!(r.ok().map(|c| c.prices.len()), *len, "{body}");
        }
    }

    #[test]
    fn average_leaves_out_the_live_point() {
        let mut prices: Vec<Option<f64>> = (1..=10).map(|i| Some(i as f64)).collect();
        prices.push(Some(1_000_000.0));
        assert_eq!(daily_average(&pts(&prices), 10), Ok(5.5));
    }

    #[test]
    fn average_uses_the_most_recent_days_only() {
        let mut prices = vec![Some(999.0), Some(999.0)];
        prices.extend((0..10).map(|_| Some(2.0)));
        prices.push(Some(7.0));
        assert_eq!(daily_average(&pts(&prices), 10), Ok(2.0));
    }

    #[test]
    fn huge_prices_do_not_overflow() {
        let mut prices: Vec<Option<f64>> = (0..10).map(|_| Some(1e308)).collect();
        prices.push(Some(1e308));
        let avg = daily_average(&pts(&prices), 10).expect("average");
        assert!(
            avg.is_finite() && (avg - 1e308).abs() / 1e308 < 1e-12,
            "{avg}"
        );
        let mut mixed: Vec<Option<f64>> = (0..10).map(|_| Some(f64::MAX)).collect();
        mixed.push(Some(1.0));
        assert_eq!(daily_average(&pts(&mixed), 10), Ok(f64::MAX));
    }

    #[test]
    fn out_of_order_and_later_points_never_reach_the_average() {
        let day = 86_400_000;
        let live = 10 * day + 3_600_000;
        let point = |t: i64, p: f64| PricePoint {
            timestamp_ms: t,
            price: Some(p),
        };
        // (points, live time, want)
        let mut daily: Vec<PricePoint> = (0..10).map(|i| point(i * day, 2.0)).collect();
        let mut reversed = daily.clone();
        reversed.push(point(live, 1000.0));
        reversed.reverse();
        let mut extra = daily.clone();
        extra.push(point(live, 1000.0));
        extra.push(point(live + 1000, 5000.0));
        let mut shuffled = extra.clone();
        shuffled.swap(0, 11);
        shuffled.swap(3, 10);
        daily.push(point(live, 1000.0));
        type Case<'a> = (&'a [PricePoint], Option<i64>, Result<f64, AverageError>);
        let cases: &[Case] = &[
            (&daily, None, Ok(2.0)),
            (&daily, Some(live), Ok(2.0)),
            (&reversed, None, Ok(2.0)),
            (&reversed, Some(live), Ok(2.0)),
            (&extra, Some(live), Ok(2.0)),
            (&shuffled, Some(live), Ok(2.0)),
            // The live time is earlier than the chart's live point: still left out.
            (&daily, Some(live + 60_000), Ok(2.0)),
        ];
        for (i, (points, at, want)) in cases.iter().enumerate() {
            assert_eq!(&daily_average_before(points, 10, *at), want, "case {i}");
        }
    }

    #[test]
    fn average_errors() {
        let ten: Vec<Option<f64>> = (0..10).map(|_| Some(1.0)).collect();
        assert_eq!(
            daily_average(&pts(&ten), 10),
            Err(AverageError::NotEnoughHistory { got: 9, need: 10 })
        );
        assert_eq!(
            daily_average(&[], 10),
            Err(AverageError::NotEnoughHistory { got: 0, need: 10 })
        );
        assert_eq!(daily_average(&pts(&ten), 0), Err(AverageError::ZeroDays));
        for bad in [
            None,
            Some(f64::NAN),
            Some(0.0),
            Some(-1.0),
            Some(f64::INFINITY),
        ] {
            let mut p = ten.clone();
            p[3] = bad;
            p.push(Some(1.0));
            assert_eq!(
                daily_average(&pts(&p), 10),
                Err(AverageError::BadPrice {
                    timestamp_ms: 3 * 86_400_000
                })
            );
        }
        // A null live price does not matter.
        let mut p = ten;
        p.push(None);
        assert_eq!(daily_average(&pts(&p), 10), Ok(1.0));
    }
}
