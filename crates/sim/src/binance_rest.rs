//! Binance spot REST endpoints used by the clients: `exchangeInfo`, `ticker/price`, `ping`.
//!
//! Reference: <https://developers.binance.com/docs/binance-spot-api-docs/rest-api>.
//!
//! `GET /api/v3/ticker/price?symbol=LTCBTC` answers `{"symbol":"LTCBTC","price":"4.00000200"}`;
//! an unknown symbol answers HTTP 400 `{"code":-1121,"msg":"Invalid symbol."}`;
//! `exchangeInfo` has the shape of `fixtures/binance_rest_exchangeInfo_3symbols_2021-03-02.json`:
//!
//! ```text
//! {"timezone":"UTC","serverTime":1614694549948,"rateLimits":[..],"exchangeFilters":[],
//!  "symbols":[{"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH",..,"filters":[..],
//!  "permissions":["SPOT","MARGIN"]}]}
//! ```

use serde::Serialize;

use crate::market::{Market, SymbolInfo};
use crate::server::Reply;

const ILLEGAL_SYMBOL: &str =
    "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'.";
const ILLEGAL_SYMBOLS: &str = "Illegal characters found in parameter 'symbols'; legal range is \
     '^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.";

/// `{"code":..,"msg":..}` with HTTP 400.
fn error(code: i32, msg: &str) -> Reply {
    Reply::json(
        400,
        serde_json::json!({ "code": code, "msg": msg }).to_string(),
    )
}

/// HTTP 429 as Binance answers it (with `Retry-After`).
pub(crate) fn too_many_requests() -> Reply {
    Reply::json(
        429,
        r#"{"code":-1003,"msg":"Too many requests; current limit of IP(127.0.0.1) is 6000 requests per minute. Please use the websocket for live updates to avoid bans."}"#.into(),
    )
    .retry_after()
}

/// HTTP 5xx as Binance answers it.
pub(crate) fn server_error(status: u16) -> Reply {
    Reply::json(
        status,
        r#"{"code":-1001,"msg":"Internal error; unable to process your request. Please try again."}"#.into(),
    )
}

/// Which symbols a request selects: all, or the ones named by `symbol` / `symbols`.
fn selection<'m>(market: &'m Market, query: &[(String, String)]) -> Result<Selection<'m>, Reply> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let names: Vec<String> = if let Some(s) = param("symbol") {
        if !legal(s) {
            return Err(error(-1100, ILLEGAL_SYMBOL));
        }
        vec![s.to_string()]
    } else if let Some(list) = param("symbols") {
        match serde_json::from_str::<Vec<String>>(list) {
            Ok(v) if v.iter().all(|s| legal(s)) => v,
            _ => return Err(error(-1100, ILLEGAL_SYMBOLS)),
        }
    } else {
        return Ok(Selection::All(market.symbols().iter().collect()));
    };
    let mut picked = Vec::with_capacity(names.len());
    for name in &names {
        match market.symbols().iter().find(|s| &s.symbol == name) {
            Some(info) => picked.push(info),
            None => return Err(error(-1121, "Invalid symbol.")),
        }
    }
    Ok(if param("symbol").is_some() {
        Selection::One(picked[0])
    } else {
        Selection::Many(picked)
    })
}

enum Selection<'m> {
    All(Vec<&'m SymbolInfo>),
    Many(Vec<&'m SymbolInfo>),
    One(&'m SymbolInfo),
}

impl<'m> Selection<'m> {
    fn list(self) -> Vec<&'m SymbolInfo> {
        match self {
            Selection::All(v) | Selection::Many(v) => v,
            Selection::One(s) => vec![s],
        }
    }
}

/// Binance's old rule `^[A-Z0-9-_.]{1,20}$` for the ASCII characters, widened for UTF-8:
/// since the spot changelog of 2025-12-02, "Parameter `symbol` and `symbols` can now
/// support Unicode values encoded in UTF-8" (`币安人生USDT`). Non-ASCII letters and digits
/// pass; lower-case ASCII, blanks and punctuation still do not. (The error text above is the
/// one Binance sent before that change.)
fn legal(symbol: &str) -> bool {
    (1..=20).contains(&symbol.chars().count())
        && symbol.chars().all(|c| {
            c.is_ascii_uppercase()
                || c.is_ascii_digit()
                || "-_.".contains(c)
                || (!c.is_ascii() && c.is_alphanumeric())
        })
}

/// `GET /api/v3/exchangeInfo[?symbol=X | ?symbols=["A","B"]]`.
pub(crate) fn exchange_info(market: &Market, query: &[(String, String)], now_ms: i64) -> Reply {
    let symbols = match selection(market, query) {
        Ok(s) => s.list(),
        Err(reply) => return reply,
    };
    let info = ExchangeInfo {
        timezone: "UTC",
        server_time: now_ms,
        rate_limits: vec![
            RateLimit {
                rate_limit_type: "REQUEST_WEIGHT",
                interval: "MINUTE",
                interval_num: 1,
                limit: 6000,
            },
            RateLimit {
                rate_limit_type: "ORDERS",
                interval: "SECOND",
                interval_num: 10,
                limit: 100,
            },
            RateLimit {
                rate_limit_type: "ORDERS",
                interval: "DAY",
                interval_num: 1,
                limit: 200_000,
            },
        ],
        exchange_filters: Vec::new(),
        symbols: symbols.into_iter().map(symbol_entry).collect(),
    };
    match serde_json::to_string(&info) {
        Ok(body) => Reply::json(200, body),
        Err(e) => Reply::json(500, format!(r#"{{"code":-1000,"msg":"{e}"}}"#)),
    }
}

/// `GET /api/v3/ticker/price[?symbol=X | ?symbols=[..]]`.
pub(crate) fn ticker_price(market: &Market, query: &[(String, String)]) -> Reply {
    let price = |s: &SymbolInfo| PriceEntry {
        symbol: s.symbol.clone(),
        price: market.last_price(&s.symbol).unwrap_or_default().to_string(),
    };
    let body = match selection(market, query) {
        Ok(Selection::One(s)) => serde_json::to_string(&price(s)),
        Ok(sel) => serde_json::to_string(&sel.list().into_iter().map(price).collect::<Vec<_>>()),
        Err(reply) => return reply,
    };
    match body {
        Ok(body) => Reply::json(200, body),
        Err(e) => Reply::json(500, format!(r#"{{"code":-1000,"msg":"{e}"}}"#)),
    }
}

#[derive(Serialize)]
struct PriceEntry {
    symbol: String,
    price: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExchangeInfo {
    timezone: &'static str,
    server_time: i64,
    rate_limits: Vec<RateLimit>,
    exchange_filters: Vec<Filter>,
    symbols: Vec<SymbolEntry>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RateLimit {
    rate_limit_type: &'static str,
    interval: &'static str,
    interval_num: u32,
    limit: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SymbolEntry {
    symbol: String,
    status: &'static str,
    base_asset: String,
    base_asset_precision: u32,
    quote_asset: String,
    quote_precision: u32,
    quote_asset_precision: u32,
    base_commission_precision: u32,
    quote_commission_precision: u32,
    order_types: [&'static str; 5],
    iceberg_allowed: bool,
    oco_allowed: bool,
    quote_order_qty_market_allowed: bool,
    is_spot_trading_allowed: bool,
    is_margin_trading_allowed: bool,
    filters: Vec<Filter>,
    permissions: Vec<&'static str>,
}

/// Variant names are Binance's `filterType` values (`PRICE_FILTER`, ...).
#[derive(Serialize)]
#[serde(tag = "filterType", rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(clippy::enum_variant_names)]
enum Filter {
    #[serde(rename_all = "camelCase")]
    PriceFilter {
        min_price: String,
        max_price: String,
        tick_size: String,
    },
    #[serde(rename_all = "camelCase")]
    PercentPrice {
        multiplier_up: &'static str,
        multiplier_down: &'static str,
        avg_price_mins: u32,
    },
    #[serde(rename_all = "camelCase")]
    LotSize {
        min_qty: String,
        max_qty: &'static str,
        step_size: String,
    },
    #[serde(rename_all = "camelCase")]
    MinNotional {
        min_notional: &'static str,
        apply_to_market: bool,
        avg_price_mins: u32,
    },
    IcebergParts {
        limit: u32,
    },
    #[serde(rename_all = "camelCase")]
    MarketLotSize {
        min_qty: &'static str,
        max_qty: &'static str,
        step_size: &'static str,
    },
    #[serde(rename_all = "camelCase")]
    MaxNumOrders {
        max_num_orders: u32,
    },
    #[serde(rename_all = "camelCase")]
    MaxNumAlgoOrders {
        max_num_algo_orders: u32,
    },
}

fn symbol_entry(s: &SymbolInfo) -> SymbolEntry {
    let min_notional = match s.quote.as_str() {
        "BTC" => "0.00010000",
        "ETH" => "0.00100000",
        "BNB" => "0.01000000",
        "TRY" => "100.00000000",
        _ => "5.00000000",
    };
    SymbolEntry {
        symbol: s.symbol.clone(),
        status: s.status.as_str(),
        base_asset: s.base.clone(),
        base_asset_precision: 8,
        quote_asset: s.quote.clone(),
        quote_precision: 8,
        quote_asset_precision: 8,
        base_commission_precision: 8,
        quote_commission_precision: 8,
        order_types: [
            "LIMIT",
            "LIMIT_MAKER",
            "MARKET",
            "STOP_LOSS_LIMIT",
            "TAKE_PROFIT_LIMIT",
        ],
        iceberg_allowed: true,
        oco_allowed: true,
        quote_order_qty_market_allowed: true,
        is_spot_trading_allowed: true,
        is_margin_trading_allowed: s.margin,
        filters: vec![
            Filter::PriceFilter {
                min_price: s.tick_size(),
                max_price: "1000000.00000000".into(),
                tick_size: s.tick_size(),
            },
            Filter::PercentPrice {
                multiplier_up: "5",
                multiplier_down: "0.2",
                avg_price_mins: 5,
            },
            Filter::LotSize {
                min_qty: s.step_size(),
                max_qty: "900000.00000000",
                step_size: s.step_size(),
            },
            Filter::MinNotional {
                min_notional,
                apply_to_market: true,
                avg_price_mins: 5,
            },
            Filter::IcebergParts { limit: 10 },
            Filter::MarketLotSize {
                min_qty: "0.00000000",
                max_qty: "10000.00000000",
                step_size: "0.00000000",
            },
            Filter::MaxNumOrders {
                max_num_orders: 200,
            },
            Filter::MaxNumAlgoOrders {
                max_num_algo_orders: 5,
            },
        ],
        permissions: if s.margin {
            vec!["SPOT", "MARGIN"]
        } else {
            vec!["SPOT"]
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbol_parameters_are_validated_like_binance() {
        let m = Market::new(1, 50);
        let q = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        type Query = Vec<(String, String)>;
        let cases: &[(Query, u16, &str)] = &[
            (q("symbol", "BTCUSDT"), 200, r#""symbol":"BTCUSDT""#),
            (q("symbol", "btcusdt"), 400, r#""code":-1100"#),
            (
                q("symbol", "NOPEUSDT"),
                400,
                r#"{"code":-1121,"msg":"Invalid symbol."}"#,
            ),
            (
                q("symbols", r#"["ETHBTC","LTCBTC"]"#),
                200,
                r#""symbol":"LTCBTC""#,
            ),
            (q("symbols", r#"["ETHBTC","NOPE"]"#), 400, r#""code":-1121"#),
            (q("symbols", "ETHBTC"), 400, r#""code":-1100"#),
            (q("symbols", r#"["ETHBTC""#), 400, r#""code":-1100"#),
        ];
        for (query, status, needle) in cases {
            let r = exchange_info(&m, query, 1);
            assert_eq!(r.status, *status, "{query:?}");
            assert!(
                r.body.contains(needle),
                "{query:?}: {}",
                &r.body[..r.body.len().min(200)]
            );
        }
    }

    #[test]
    fn ticker_price_one_is_an_object_all_is_an_array() {
        let m = Market::new(1, 20);
        let one = ticker_price(&m, &[("symbol".into(), "LTCBTC".into())]);
        let v: serde_json::Value = serde_json::from_str(&one.body).unwrap();
        assert_eq!(v["symbol"], "LTCBTC");
        assert_eq!(v["price"].as_str(), m.last_price("LTCBTC"));
        let all: Vec<serde_json::Value> =
            serde_json::from_str(&ticker_price(&m, &[]).body).unwrap();
        assert_eq!(all.len(), 20);
    }
}
