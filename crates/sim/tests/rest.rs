//! Binance and CoinGecko REST over HTTP: shapes against the fixtures, parameters, errors
//! and injected 429/5xx faults.

mod common;

use common::*;
use serde_json::Value;
use sim::{CoinScenario, Faults, SimConfig};

async fn get(url: String) -> (u16, Option<String>, Value) {
    let r = reqwest::get(url).await.expect("request");
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let text = r.text().await.unwrap();
    (
        status,
        retry,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

#[tokio::test]
async fn exchange_info_full_one_many_and_unknown() {
    let sim = start(SimConfig {
        symbols: 1500,
        ..fast()
    })
    .await;
    let fixture = fixture("binance_rest_exchangeInfo_3symbols_2021-03-02.json");
    let base = sim.rest_base();

    let (status, _, all) = get(format!("{base}/api/v3/exchangeInfo")).await;
    assert_eq!(status, 200);
    assert_eq!(shape(&all), shape(&fixture));
    let symbols = all["symbols"].as_array().unwrap();
    assert_eq!(symbols.len(), 1500);
    for s in symbols.iter().take(50) {
        assert_eq!(shape(s), shape(&fixture["symbols"][0]), "{}", s["symbol"]);
        let filters = s["filters"].as_array().unwrap();
        let want = fixture["symbols"][0]["filters"].as_array().unwrap();
        assert_eq!(filters.len(), want.len());
        for (f, w) in filters.iter().zip(want) {
            assert_eq!(shape(f), shape(w));
        }
    }
    for name in ["BTCUSDT", "ETHBTC", "BNBBTC", "LTCBTC", "ETHUSDT"] {
        assert!(symbols.iter().any(|s| s["symbol"] == name), "{name} listed");
    }
    assert!(symbols.iter().any(|s| s["status"] == "BREAK"));

    let (status, _, one) = get(format!("{base}/api/v3/exchangeInfo?symbol=BTCUSDT")).await;
    assert_eq!(status, 200);
    assert_eq!(one["symbols"].as_array().unwrap().len(), 1);
    assert_eq!(one["symbols"][0]["baseAsset"], "BTC");
    assert_eq!(one["symbols"][0]["quoteAsset"], "USDT");

    let (_, _, two) = get(format!(
        "{base}/api/v3/exchangeInfo?symbols=%5B%22ETHBTC%22,%22LTCBTC%22%5D"
    ))
    .await;
    let names: Vec<&str> = two["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ETHBTC", "LTCBTC"]);

    let (status, _, err) = get(format!("{base}/api/v3/exchangeInfo?symbol=NOPEUSDT")).await;
    assert_eq!(
        (status, err),
        (
            400,
            serde_json::json!({"code": -1121, "msg": "Invalid symbol."})
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn ticker_price_and_ping() {
    let sim = start(fast()).await;
    let base = sim.rest_base();
    let (status, _, one) = get(format!("{base}/api/v3/ticker/price?symbol=LTCBTC")).await;
    assert_eq!(status, 200);
    assert_eq!(
        shape(&one),
        [
            ("price".to_string(), "string"),
            ("symbol".to_string(), "string")
        ]
    );
    assert_eq!(one["symbol"], "LTCBTC");
    assert!(one["price"].as_str().unwrap().parse::<f64>().unwrap() > 0.0);
    let (_, _, all) = get(format!("{base}/api/v3/ticker/price")).await;
    assert_eq!(all.as_array().unwrap().len(), 120);
    let (status, _, err) = get(format!("{base}/api/v3/ticker/price?symbol=NOPE")).await;
    assert_eq!((status, err["code"].as_i64()), (400, Some(-1121)));
    let (status, _, ping) = get(format!("{base}/api/v3/ping")).await;
    assert_eq!((status, ping), (200, serde_json::json!({})));
    let keyed = reqwest::Client::new()
        .get(format!("{}/ping", sim.coingecko_base()))
        .header("x-cg-demo-api-key", "k")
        .send()
        .await
        .unwrap();
    let gecko: Value = keyed.json().await.unwrap();
    assert!(gecko["gecko_says"].is_string());
    sim.shutdown().await;
}

#[tokio::test]
async fn coins_markets_sorted_by_cap_with_per_page() {
    let sim = start(fast()).await;
    let fixture = fixture("coingecko_coins_markets_example.json");
    let url = |pp: u32, page: u32| {
        format!(
            "{}/coins/markets?vs_currency=usd&order=market_cap_desc&per_page={pp}&page={page}",
            sim.coingecko_base()
        )
    };
    let (status, _, top3) = get(url(3, 1)).await;
    assert_eq!(status, 200);
    let top3 = top3.as_array().unwrap();
    assert_eq!(top3.len(), 3);
    assert_eq!(shape(&top3[0]), shape(&fixture[0]));
    let caps: Vec<f64> = top3
        .iter()
        .map(|c| c["market_cap"].as_f64().unwrap())
        .collect();
    assert!(caps.windows(2).all(|w| w[0] >= w[1]), "{caps:?}");
    let ranks: Vec<u64> = top3
        .iter()
        .map(|c| c["market_cap_rank"].as_u64().unwrap())
        .collect();
    assert_eq!(ranks, [1, 2, 3]);
    let (_, _, page2) = get(url(3, 2)).await;
    assert_eq!(page2[0]["market_cap_rank"], 4);

    let mut coins = sim::default_coins(1);
    coins[1].current_price = None;
    coins[1].market_cap = 2e12; // now the largest
    sim.set_coins(coins);
    let (_, _, top) = get(url(1, 1)).await;
    assert_eq!(top[0]["id"], "ethereum");
    assert!(top[0]["current_price"].is_null());

    let (status, _, err) = get(format!(
        "{}/coins/markets?vs_currency=zzz",
        sim.coingecko_base()
    ))
    .await;
    assert_eq!(
        (status, err),
        (
            400,
            fixture_error("coingecko_error_400_invalid_vs_currency.json")
        )
    );
    sim.shutdown().await;
}

fn fixture_error(name: &str) -> Value {
    common::fixture(name)
}

#[tokio::test]
async fn market_chart_has_days_plus_one_points_at_midnight() {
    let sim = start(fast()).await;
    let coin = CoinScenario {
        id: "testcoin".into(),
        symbol: "tst".into(),
        name: "Test".into(),
        current_price: Some(42.5),
        market_cap: 1e9,
        total_volume: 1e7,
        daily: (1..=30).map(f64::from).collect(),
    };
    sim.set_coins(vec![coin]);
    let base = sim.coingecko_base();
    let (status, _, chart) = get(format!(
        "{base}/coins/testcoin/market_chart?vs_currency=usd&days=10&interval=daily"
    ))
    .await;
    assert_eq!(status, 200);
    let prices = chart["prices"].as_array().unwrap();
    assert_eq!(prices.len(), 11);
    assert_eq!(chart["market_caps"].as_array().unwrap().len(), 11);
    assert_eq!(chart["total_volumes"].as_array().unwrap().len(), 11);
    let times: Vec<i64> = prices.iter().map(|p| p[0].as_i64().unwrap()).collect();
    assert!(times[..10].iter().all(|t| t % 86_400_000 == 0), "{times:?}");
    assert!(times.windows(2).all(|w| w[0] < w[1]));
    let values: Vec<f64> = prices.iter().map(|p| p[1].as_f64().unwrap()).collect();
    assert_eq!(
        values[..10],
        (21..=30).map(f64::from).collect::<Vec<_>>()[..]
    );
    assert_eq!(values[10], 42.5);

    let (status, _, err) = get(format!(
        "{base}/coins/nope/market_chart?vs_currency=usd&days=10"
    ))
    .await;
    assert_eq!(
        (status, err),
        (
            404,
            fixture_error("coingecko_error_404_coin_not_found.json")
        )
    );
    let (status, _, err) = get(format!(
        "{base}/coins/testcoin/market_chart?vs_currency=xx&days=10"
    ))
    .await;
    assert_eq!(
        (status, err),
        (
            400,
            fixture_error("coingecko_error_400_invalid_vs_currency.json")
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn first_requests_get_429_then_5xx_then_succeed() {
    let faults = Faults {
        http_429: 2,
        http_5xx: 2,
        ..Faults::default()
    };
    let sim = start(SimConfig { faults, ..fast() }).await;
    let markets = format!(
        "{}/coins/markets?vs_currency=usd&per_page=3&page=1",
        sim.coingecko_base()
    );
    let (status, retry, body) = get(markets.clone()).await;
    assert_eq!((status, retry.as_deref()), (429, Some("1")));
    assert_eq!(body, fixture("coingecko_error_429.json"));
    let (status, retry, body) = get(format!("{}/api/v3/exchangeInfo", sim.rest_base())).await;
    assert_eq!((status, retry.as_deref()), (429, Some("1")));
    assert_eq!(body["code"], -1003);
    let (s1, _, _) = get(markets.clone()).await;
    let (s2, _, _) = get(markets.clone()).await;
    assert_eq!([s1, s2], [503, 500]);
    let (status, _, _) = get(markets.clone()).await;
    assert_eq!(status, 200);
    let log = sim.requests();
    assert_eq!(log.len(), 5);
    assert_eq!(
        log[0],
        "GET /api/v3/coins/markets?vs_currency=usd&per_page=3&page=1"
    );
    assert_eq!(log[1], "GET /api/v3/exchangeInfo");

    sim.set_http_faults(0, u32::MAX);
    for _ in 0..3 {
        assert!(get(markets.clone()).await.0 >= 500);
    }
    sim.set_http_faults(0, 0);
    assert_eq!(get(markets).await.0, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn coingecko_429_can_come_with_status_200() {
    let faults = Faults {
        http_429: 1,
        cg_429_as_200: true,
        ..Faults::default()
    };
    let sim = start(SimConfig { faults, ..fast() }).await;
    let (status, _, body) = get(format!(
        "{}/coins/markets?vs_currency=usd",
        sim.coingecko_base()
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"]["error_code"], 429);
    sim.shutdown().await;
}
