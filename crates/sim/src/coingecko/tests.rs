use super::*;
use serde_json::Value;

const NOW: i64 = 1_711_983_682_000; // 2024-04-01T15:01:22Z

fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn coin(id: &str, cap: f64, price: Option<f64>) -> CoinScenario {
    CoinScenario {
        id: id.into(),
        symbol: id[..3].into(),
        name: id.into(),
        current_price: price,
        market_cap: cap,
        total_volume: cap / 10.0,
        daily: (1..=12).map(f64::from).collect(),
    }
}

#[test]
fn iso8601_matches_known_dates() {
    for (ms, text) in [
        (0, "1970-01-01T00:00:00.000Z"),
        (1_711_843_200_000, "2024-03-31T00:00:00.000Z"),
        (NOW, "2024-04-01T15:01:22.000Z"),
        (951_782_400_123, "2000-02-29T00:00:00.123Z"),
    ] {
        assert_eq!(iso8601(ms), text);
    }
}

#[test]
fn market_chart_has_days_midnights_plus_now() {
    let coins = vec![coin("bitcoin", 1e12, Some(70.0))];
    let r = market_chart(
        &coins,
        "bitcoin",
        &q(&[
            ("vs_currency", "usd"),
            ("days", "10"),
            ("interval", "daily"),
        ]),
        NOW,
    );
    assert_eq!(r.status, 200);
    let v: Value = serde_json::from_str(&r.body).unwrap();
    for key in ["prices", "market_caps", "total_volumes"] {
        let points = v[key].as_array().unwrap();
        assert_eq!(points.len(), 11, "{key}");
        let times: Vec<i64> = points.iter().map(|p| p[0].as_i64().unwrap()).collect();
        assert_eq!(times[9], 1_711_929_600_000, "last midnight is today's");
        assert!(times[..10].iter().all(|t| t % 86_400_000 == 0));
        assert!(times.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(times[10], NOW);
    }
    let prices: Vec<f64> = v["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .collect();
    assert_eq!(
        prices[..10],
        (3..=12).map(f64::from).collect::<Vec<_>>()[..]
    );
    assert_eq!(prices[10], 70.0);
}

#[test]
fn market_chart_errors() {
    let coins = vec![coin("bitcoin", 1e12, None)];
    type Params<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(&str, Params, u16, &str)] = &[
        (
            "nope",
            &[("vs_currency", "usd"), ("days", "10")],
            404,
            r#"{"error":"coin not found"}"#,
        ),
        (
            "bitcoin",
            &[("vs_currency", "xyz"), ("days", "10")],
            400,
            r#"{"error":"invalid vs_currency"}"#,
        ),
        (
            "bitcoin",
            &[("vs_currency", "usd"), ("days", "ten")],
            400,
            r#"{"error":"invalid days"}"#,
        ),
    ];
    for (id, query, status, body) in cases {
        let r = market_chart(&coins, id, &q(query), NOW);
        assert_eq!((r.status, r.body.as_str()), (*status, *body));
    }
    // A null live price falls back to the last daily close; days beyond history are capped.
    let r = market_chart(
        &coins,
        "bitcoin",
        &q(&[("vs_currency", "usd"), ("days", "365")]),
        NOW,
    );
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["prices"].as_array().unwrap().len(), 13);
    assert_eq!(v["prices"][12][1], 12);
}

#[test]
fn markets_are_ranked_by_cap_and_paged() {
    let coins = vec![
        coin("ccc", 1.0, Some(1.0)),
        coin("aaa", 3.0, Some(1.0)),
        coin("bbb", 2.0, None),
    ];
    let page = |pp: &str, p: &str| -> Vec<Value> {
        let r = markets(
            &coins,
            &q(&[
                ("vs_currency", "usd"),
                ("order", "market_cap_desc"),
                ("per_page", pp),
                ("page", p),
            ]),
            NOW,
        );
        assert_eq!(r.status, 200);
        serde_json::from_str(&r.body).unwrap()
    };
    let all = page("250", "1");
    let ids: Vec<&str> = all.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["aaa", "bbb", "ccc"]);
    let ranks: Vec<u64> = all
        .iter()
        .map(|c| c["market_cap_rank"].as_u64().unwrap())
        .collect();
    assert_eq!(ranks, [1, 2, 3]);
    assert!(all[1]["current_price"].is_null() && all[1]["price_change_24h"].is_null());
    assert_eq!(page("2", "1").len(), 2);
    assert_eq!(page("2", "2")[0]["id"], "ccc");
    assert!(page("2", "3").is_empty());
    let bad = markets(&coins, &q(&[("vs_currency", "usdx")]), NOW);
    assert_eq!(
        (bad.status, bad.body.as_str()),
        (400, r#"{"error":"invalid vs_currency"}"#)
    );
}

#[test]
fn market_entries_have_the_fixture_fields_and_types() {
    let fixture: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/coingecko_coins_markets_example.json"
    )))
    .unwrap();
    let body = markets(
        &default_coins(1),
        &q(&[("vs_currency", "usd"), ("per_page", "3")]),
        NOW,
    )
    .body;
    let ours: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ours.as_array().unwrap().len(), 3);
    let (want, got) = (
        fixture[0].as_object().unwrap(),
        ours[0].as_object().unwrap(),
    );
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    for (k, v) in want {
        let kind = |v: &Value| {
            if v.is_number() {
                "number"
            } else if v.is_string() {
                "string"
            } else {
                "null"
            }
        };
        assert_eq!(kind(v), kind(&got[k]), "{k}");
    }
    assert_eq!(got["id"], "bitcoin");
}

#[test]
fn numbers_are_written_like_coingecko() {
    assert_eq!(serde_json::to_string(&Num(Some(70187.0))).unwrap(), "70187");
    assert_eq!(
        serde_json::to_string(&Num(Some(2126.88))).unwrap(),
        "2126.88"
    );
    assert_eq!(serde_json::to_string(&Num(None)).unwrap(), "null");
    assert_eq!(serde_json::to_string(&Num(Some(f64::NAN))).unwrap(), "null");
}

#[test]
fn rate_limit_bodies_match_the_fixture() {
    let fixture = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/coingecko_error_429.json"
    ));
    let r = too_many_requests(false);
    assert_eq!((r.status, r.body.as_str()), (429, fixture.trim()));
    assert_eq!(too_many_requests(true).status, 200);
}
