//! CoinGecko v3 endpoints: `/ping`, `/coins/markets`, `/coins/{id}/market_chart`.
//!
//! Reference: <https://docs.coingecko.com/v3.0.1/reference/coins-markets> and
//! <https://docs.coingecko.com/v3.0.1/reference/coins-id-market-chart>. Shapes follow
//! `fixtures/coingecko_coins_markets_example.json` and `fixtures/coingecko_market_chart_example.json`:
//!
//! ```text
//! {"prices":[[1711843200000,69702.3087473573],[1711929600000,71246.9514406015],
//!            [1711983682000,68887.7495158568]],"market_caps":[..],"total_volumes":[..]}
//! ```
//!
//! `days=N&interval=daily` gives N points at 00:00 UTC (the last one today's) plus a final
//! point "now" with the live price. Errors: unknown coin 404 `{"error":"coin not found"}`,
//! bad currency 400 `{"error":"invalid vs_currency"}`, rate limit 429 with the body of
//! `fixtures/coingecko_error_429.json`.

use serde::{Serialize, Serializer};

use crate::config::CoinScenario;
use crate::server::Reply;

const DAY_MS: i64 = 86_400_000;
const BODY_429: &str = r#"{"status":{"error_code":429,"error_message":"You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate limits."}}"#;

/// About ten well-known coins with 90 daily closes each, deterministic for `seed`, ordered
/// by market cap.
///
/// ```
/// let coins = sim::default_coins(42);
/// assert_eq!(coins[0].id, "bitcoin");
/// assert!(coins.iter().all(|c| c.daily.len() >= 10));
/// assert_eq!(coins.len(), sim::default_coins(42).len());
/// ```
pub fn default_coins(seed: u64) -> Vec<CoinScenario> {
    const COINS: &[(&str, &str, &str, f64, f64, f64)] = &[
        ("bitcoin", "btc", "Bitcoin", 60_000.0, 1.2e12, 3.0e10),
        ("ethereum", "eth", "Ethereum", 3_000.0, 3.6e11, 1.5e10),
        ("tether", "usdt", "Tether", 1.0, 1.1e11, 5.0e10),
        ("binancecoin", "bnb", "BNB", 600.0, 9.0e10, 1.5e9),
        ("solana", "sol", "Solana", 150.0, 7.0e10, 3.0e9),
        ("usd-coin", "usdc", "USDC", 1.0, 3.4e10, 6.0e9),
        ("ripple", "xrp", "XRP", 0.6, 3.2e10, 1.2e9),
        ("dogecoin", "doge", "Dogecoin", 0.15, 2.2e10, 1.0e9),
        ("cardano", "ada", "Cardano", 0.45, 1.6e10, 4.0e8),
        ("tron", "trx", "TRON", 0.12, 1.05e10, 3.0e8),
    ];
    let mut rng = fastrand::Rng::with_seed(seed);
    COINS
        .iter()
        .map(|&(id, symbol, name, price, cap, volume)| {
            let sigma = if price == 1.0 { 0.0005 } else { 0.03 };
            let mut p = price;
            let daily: Vec<f64> = (0..90)
                .map(|_| {
                    p *= 1.0 + (rng.f64() - 0.5) * 2.0 * sigma;
                    round_sig(p)
                })
                .collect();
            let live = round_sig(p * (1.0 + (rng.f64() - 0.5) * sigma));
            CoinScenario {
                id: id.into(),
                symbol: symbol.into(),
                name: name.into(),
                current_price: Some(live),
                market_cap: (cap * live / price).round(),
                total_volume: (volume * (0.8 + rng.f64() * 0.4)).round(),
                daily,
            }
        })
        .collect()
}

/// Rounds to 8 significant digits, as prices look on CoinGecko.
fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(7 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

fn error(status: u16, message: &str) -> Reply {
    Reply::json(status, serde_json::json!({ "error": message }).to_string())
}

/// `GET /ping`.
pub(crate) fn ping() -> Reply {
    Reply::json(200, r#"{"gecko_says":"(V3) To the Moon!"}"#.into())
}

/// The rate-limit answer: HTTP 429 (or 200 when `as_200`), `retry-after: 1`.
pub(crate) fn too_many_requests(as_200: bool) -> Reply {
    Reply::json(if as_200 { 200 } else { 429 }, BODY_429.into()).retry_after()
}

/// HTTP 500/503 in CoinGecko's error shape.
pub(crate) fn server_error(status: u16) -> Reply {
    let message = if status == 503 {
        "Service Unavailable"
    } else {
        "Internal Server Error"
    };
    let body = serde_json::json!({ "status": { "error_code": status, "error_message": message } });
    Reply::json(status, body.to_string())
}

fn param<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn check_currency(query: &[(String, String)]) -> Result<(), Reply> {
    match param(query, "vs_currency") {
        None => Err(error(400, "Missing parameter vs_currency")),
        Some(c) if c.eq_ignore_ascii_case("usd") => Ok(()),
        Some(_) => Err(error(400, "invalid vs_currency")),
    }
}

/// `GET /coins/markets?vs_currency=usd&order=market_cap_desc&per_page=N&page=P[&ids=a,b]`.
pub(crate) fn markets(coins: &[CoinScenario], query: &[(String, String)], now_ms: i64) -> Reply {
    if let Err(reply) = check_currency(query) {
        return reply;
    }
    let mut ranked: Vec<&CoinScenario> = coins.iter().collect();
    ranked.sort_by(|a, b| {
        b.market_cap
            .total_cmp(&a.market_cap)
            .then_with(|| a.id.cmp(&b.id))
    });
    let rank = |c: &CoinScenario| {
        ranked
            .iter()
            .position(|r| r.id == c.id)
            .map(|p| p as u32 + 1)
    };
    let mut list = ranked.clone();
    match param(query, "order").unwrap_or("market_cap_desc") {
        "market_cap_desc" => {}
        "market_cap_asc" => list.reverse(),
        "volume_desc" => list.sort_by(|a, b| b.total_volume.total_cmp(&a.total_volume)),
        "volume_asc" => list.sort_by(|a, b| a.total_volume.total_cmp(&b.total_volume)),
        "id_asc" => list.sort_by(|a, b| a.id.cmp(&b.id)),
        "id_desc" => list.sort_by(|a, b| b.id.cmp(&a.id)),
        _ => return error(400, "invalid order"),
    }
    if let Some(ids) = param(query, "ids") {
        let wanted: Vec<&str> = ids.split(',').map(str::trim).collect();
        list.retain(|c| wanted.contains(&c.id.as_str()));
    }
    let per_page = param(query, "per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(100);
    let per_page = per_page.clamp(1, 250);
    let page = param(query, "page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let entries: Vec<MarketEntry> = list
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(|c| market_entry(c, rank(c), now_ms))
        .collect();
    to_reply(&entries)
}

fn to_reply<T: Serialize>(value: &T) -> Reply {
    match serde_json::to_string(value) {
        Ok(body) => Reply::json(200, body),
        Err(e) => error(500, &e.to_string()),
    }
}

/// `GET /coins/{id}/market_chart?vs_currency=usd&days=N[&interval=daily]`.
pub(crate) fn market_chart(
    coins: &[CoinScenario],
    id: &str,
    query: &[(String, String)],
    now_ms: i64,
) -> Reply {
    let Some(coin) = coins.iter().find(|c| c.id == id) else {
        return error(404, "coin not found");
    };
    if let Err(reply) = check_currency(query) {
        return reply;
    }
    let days = match param(query, "days") {
        Some("max") => coin.daily.len(),
        Some(d) => match d.parse::<usize>() {
            Ok(n) if n >= 1 => n.min(coin.daily.len()),
            _ => return error(400, "invalid days"),
        },
        None => return error(400, "Missing parameter days"),
    };
    let live = coin
        .current_price
        .or(coin.daily.last().copied())
        .unwrap_or(0.0);
    let supply = if live > 0.0 {
        coin.market_cap / live
    } else {
        0.0
    };
    let today = now_ms - now_ms.rem_euclid(DAY_MS);
    let first = coin.daily.len() - days;
    let mut points: Vec<(i64, f64)> = coin.daily[first..]
        .iter()
        .enumerate()
        .map(|(i, &p)| (today - (days - 1 - i) as i64 * DAY_MS, p))
        .collect();
    points.push((now_ms, live));
    let series = |f: &dyn Fn(f64) -> f64| -> Vec<(i64, Num)> {
        points.iter().map(|&(t, p)| (t, Num(Some(f(p))))).collect()
    };
    let volume_scale = if live > 0.0 {
        coin.total_volume / live
    } else {
        0.0
    };
    to_reply(&Chart {
        prices: series(&|p| p),
        market_caps: series(&|p| p * supply),
        total_volumes: series(&|p| p * volume_scale),
    })
}

#[derive(Serialize)]
struct Chart {
    prices: Vec<(i64, Num)>,
    market_caps: Vec<(i64, Num)>,
    total_volumes: Vec<(i64, Num)>,
}

/// A JSON number written as CoinGecko does: whole values without a fraction; `None` is null.
#[derive(Clone, Copy, Debug)]
struct Num(Option<f64>);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(x) if x.fract() == 0.0 && x.abs() < 9e15 => s.serialize_i64(x as i64),
            Some(x) if x.is_finite() => s.serialize_f64(x),
            _ => s.serialize_none(),
        }
    }
}

#[derive(Serialize)]
struct MarketEntry {
    id: String,
    symbol: String,
    name: String,
    image: String,
    current_price: Num,
    market_cap: Num,
    market_cap_rank: Option<u32>,
    fully_diluted_valuation: Num,
    total_volume: Num,
    high_24h: Num,
    low_24h: Num,
    price_change_24h: Num,
    price_change_percentage_24h: Num,
    market_cap_change_24h: Num,
    market_cap_change_percentage_24h: Num,
    circulating_supply: Num,
    total_supply: Num,
    max_supply: Num,
    ath: Num,
    ath_change_percentage: Num,
    ath_date: String,
    atl: Num,
    atl_change_percentage: Num,
    atl_date: String,
    roi: Option<()>,
    last_updated: String,
}

fn market_entry(c: &CoinScenario, rank: Option<u32>, now_ms: i64) -> MarketEntry {
    let p = c.current_price;
    let prev = c.daily.last().copied();
    let round5 = |x: f64| (x * 1e5).round() / 1e5;
    let change = p.zip(prev).map(|(p, prev)| p - prev);
    let pct = change
        .zip(prev)
        .filter(|(_, prev)| *prev != 0.0)
        .map(|(d, prev)| round5(d / prev * 100.0));
    let circulating = p.filter(|p| *p > 0.0).map(|p| (c.market_cap / p).round());
    let max_supply = (c.id == "bitcoin").then_some(21_000_000.0);
    let total_supply = max_supply.or(circulating);
    let today = now_ms - now_ms.rem_euclid(DAY_MS);
    let day_of = |i: usize| today - (c.daily.len() - 1 - i) as i64 * DAY_MS;
    let extreme = |better: fn(f64, f64) -> bool| -> (Option<f64>, i64) {
        let mut best: Option<(f64, i64)> = p.map(|p| (p, now_ms));
        for (i, &v) in c.daily.iter().enumerate() {
            if best.is_none_or(|(b, _)| better(v, b)) {
                best = Some((v, day_of(i)));
            }
        }
        best.map_or((None, now_ms), |(v, t)| (Some(v), t))
    };
    let (ath, ath_at) = extreme(|a, b| a > b);
    let (atl, atl_at) = extreme(|a, b| a < b);
    let vs = |extreme: Option<f64>| {
        p.zip(extreme)
            .filter(|(_, e)| *e != 0.0)
            .map(|(p, e)| round5((p - e) / e * 100.0))
    };
    let cap_change = pct.map(|pct| c.market_cap - c.market_cap / (1.0 + pct / 100.0));
    MarketEntry {
        id: c.id.clone(),
        symbol: c.symbol.clone(),
        name: c.name.clone(),
        image: format!(
            "https://assets.coingecko.com/coins/images/1/large/{}.png",
            c.id
        ),
        current_price: Num(p),
        market_cap: Num(Some(c.market_cap)),
        market_cap_rank: rank,
        fully_diluted_valuation: Num(p.zip(total_supply).map(|(p, s)| (p * s).round())),
        total_volume: Num(Some(c.total_volume)),
        high_24h: Num(p.zip(prev).map(|(p, q)| p.max(q))),
        low_24h: Num(p.zip(prev).map(|(p, q)| p.min(q))),
        price_change_24h: Num(change.map(round5)),
        price_change_percentage_24h: Num(pct),
        market_cap_change_24h: Num(cap_change.map(f64::round)),
        market_cap_change_percentage_24h: Num(pct),
        circulating_supply: Num(circulating),
        total_supply: Num(total_supply),
        max_supply: Num(max_supply),
        ath: Num(ath),
        ath_change_percentage: Num(vs(ath)),
        ath_date: iso8601(ath_at),
        atl: Num(atl),
        atl_change_percentage: Num(vs(atl)),
        atl_date: iso8601(atl_at),
        roi: None,
        last_updated: iso8601(now_ms),
    }
}

/// `2024-04-07T16:49:31.736Z` for a Unix time in ms.
pub(crate) fn iso8601(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    // Civil-from-days (Howard Hinnant's algorithm), proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

#[cfg(test)]
mod tests;
