//! The client against the simulated CoinGecko (crates/sim) on 127.0.0.1.

use std::time::Duration;

use pricing::{daily_average, ClientConfig, CoinGecko, Error, RetryPolicy};
use sim::{CoinScenario, Faults, SimConfig, SimHandle};

fn coin(id: &str, cap: f64, price: Option<f64>, daily: Vec<f64>) -> CoinScenario {
    CoinScenario {
        id: id.into(),
        symbol: id[..3].into(),
        name: id.to_uppercase(),
        current_price: price,
        market_cap: cap,
        total_volume: 1e9,
        daily,
    }
}

fn coins() -> Vec<CoinScenario> {
    vec![
        coin("alpha", 3e9, Some(5.0), (1..=12).map(f64::from).collect()),
        coin("gamma", 1e9, None, vec![1.0; 12]),
        coin("beta", 2e9, Some(9.0), vec![2.0; 12]),
        coin("delta", 5e8, Some(1.0), vec![1.0; 12]),
    ]
}

async fn start(faults: Faults) -> SimHandle {
    let config = SimConfig {
        symbols: 10,
        coins: coins(),
        faults,
        ..SimConfig::default()
    };
    sim::start("127.0.0.1:0".parse().expect("addr"), config)
        .await
        .expect("sim starts")
}

fn client(sim: &SimHandle, attempts: u32) -> CoinGecko {
    let mut config = ClientConfig::new(sim.coingecko_base());
    config.retry = RetryPolicy::immediate(attempts);
    config.timeout = Duration::from_secs(5);
    CoinGecko::new(config).expect("client")
}

fn cg_requests(sim: &SimHandle) -> Vec<String> {
    sim.requests()
        .into_iter()
        .filter(|r| r.contains("/coins/"))
        .collect()
}

#[tokio::test]
async fn top_three_and_the_ten_day_average() {
    let sim = start(Faults::default()).await;
    let cg = client(&sim, 1);
    let top = cg.top_markets("usd", 3).await.expect("markets");
    let ids: Vec<&str> = top.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["alpha", "beta", "gamma"]);
    assert_eq!(top[0].current_price, Some(5.0));
    assert_eq!(top[2].current_price, None, "null price stays None");
    assert_eq!(top[1].market_cap_rank, Some(2));
    assert!(top[0].last_updated.is_some());

    let chart = cg
        .market_chart_daily("alpha", "usd", 10)
        .await
        .expect("chart");
    assert_eq!(chart.prices.len(), 11, "10 daily points + the live one");
    // Daily 3..=12 are the last ten closes; the live 5.0 is left out.
    assert_eq!(daily_average(&chart.prices, 10), Ok(7.5));
    let req = cg_requests(&sim);
    assert!(
        req[0].contains(
            "/api/v3/coins/markets?vs_currency=usd&order=market_cap_desc&per_page=3&page=1"
        ),
        "{req:?}"
    );
    assert!(
        req[1].contains("/api/v3/coins/alpha/market_chart?vs_currency=usd&days=10&interval=daily"),
        "{req:?}"
    );
}

#[tokio::test]
async fn retries_5xx_then_succeeds() {
    let sim = start(Faults::default()).await;
    sim.set_http_faults(0, 2);
    let top = client(&sim, 3)
        .top_markets("usd", 3)
        .await
        .expect("third attempt succeeds");
    assert_eq!(top.len(), 3);
    assert_eq!(cg_requests(&sim).len(), 3);
}

#[tokio::test]
async fn gives_up_after_max_attempts_on_5xx() {
    let sim = start(Faults::default()).await;
    sim.set_http_faults(0, u32::MAX);
    let err = client(&sim, 3)
        .top_markets("usd", 3)
        .await
        .expect_err("always 5xx");
    match &err {
        Error::Server {
            status,
            attempts,
            body,
            ..
        } => {
            assert!(*status == 500 || *status == 503, "{err}");
            assert_eq!(*attempts, 3);
            assert!(body.message.is_some(), "body kept: {err}");
        }
        other => panic!("expected Server, got {other:?}"),
    }
    assert_eq!(cg_requests(&sim).len(), 3);
}

#[tokio::test]
async fn http_429_then_success_honours_retry_after() {
    let sim = start(Faults::default()).await;
    sim.set_http_faults(1, 0);
    let mut config = ClientConfig::new(sim.coingecko_base());
    // Backoff of 0 but rate-limit fallback of 30 s: only the server's `retry-after: 1`
    // can make this finish quickly.
    config.retry = RetryPolicy {
        rate_limit_delay: Duration::from_secs(30),
        max_rate_limit_delay: Duration::from_secs(30),
        ..RetryPolicy::immediate(2)
    };
    let started = std::time::Instant::now();
    let top = CoinGecko::new(config)
        .expect("client")
        .top_markets("usd", 3)
        .await
        .expect("second attempt");
    assert_eq!(top.len(), 3);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(20),
        "{waited:?}"
    );
}

#[tokio::test]
async fn rate_limit_body_with_http_200_is_retried() {
    let sim = start(Faults {
        http_429: 2,
        cg_429_as_200: true,
        ..Faults::default()
    })
    .await;
    let chart = client(&sim, 3)
        .market_chart_daily("beta", "usd", 10)
        .await
        .expect("third attempt");
    assert_eq!(chart.prices.len(), 11);

    let sim = start(Faults {
        http_429: 5,
        cg_429_as_200: true,
        ..Faults::default()
    })
    .await;
    let err = client(&sim, 2)
        .top_markets("usd", 3)
        .await
        .expect_err("still limited");
    match &err {
        Error::RateLimited {
            attempts: 2, body, ..
        } => assert!(body.is_rate_limit(), "{err}"),
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn unknown_coin_keeps_the_404_body_and_is_not_retried() {
    let sim = start(Faults::default()).await;
    let err = client(&sim, 4)
        .market_chart_daily("nope", "usd", 10)
        .await
        .expect_err("404");
    match &err {
        Error::Api {
            status: 404, body, ..
        } => assert_eq!(body.message.as_deref(), Some("coin not found")),
        other => panic!("expected Api 404, got {other:?}"),
    }
    assert!(err.to_string().contains("coin not found"), "{err}");
    assert_eq!(cg_requests(&sim).len(), 1, "4xx is final");
}

#[tokio::test]
async fn network_errors_are_retried_then_reported() {
    // Bind then drop: nothing listens on this port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut config = ClientConfig::new(format!("http://127.0.0.1:{port}/api/v3"));
    config.retry = RetryPolicy::immediate(2);
    config.api_key = Some("sekret-key".into());
    let err = CoinGecko::new(config)
        .expect("client")
        .top_markets("usd", 3)
        .await
        .expect_err("refused");
    assert!(
        matches!(err, Error::Transport { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("sekret") && !format!("{err:?}").contains("sekret"));
}

#[tokio::test]
async fn key_header_is_sent_and_never_shown() {
    let sim = start(Faults::default()).await;
    let mut config = ClientConfig::new(sim.coingecko_base());
    config.api_key = Some("demo-key-123".into());
    assert!(!format!("{config:?}").contains("demo-key-123"));
    let cg = CoinGecko::new(config).expect("client");
    assert!(!format!("{cg:?}").contains("demo-key-123"));
    cg.top_markets("usd", 3).await.expect("markets");

    let mut bad = ClientConfig::new(sim.coingecko_base());
    bad.api_key = Some("line\nbreak".into());
    assert!(matches!(CoinGecko::new(bad), Err(Error::InvalidApiKey)));
    for url in ["not a url", "ftp://x/y", "mailto:a@b"] {
        assert!(
            matches!(
                CoinGecko::new(ClientConfig::new(url)),
                Err(Error::InvalidBaseUrl { .. })
            ),
            "{url}"
        );
    }
}
