//! The endpoint over real HTTP: `/metrics` renders what the `metrics` macros recorded,
//! `/health` follows the [`ops::Health`] it was given.

use std::time::Duration;

/// `ops::probe::get` off the runtime that serves the endpoint.
async fn get(addr: std::net::SocketAddr, path: &'static str) -> (u16, String) {
    tokio::task::spawn_blocking(move || ops::probe::get(addr, path, Duration::from_secs(10)))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_health_share_one_port() {
    let handle = ops::install().unwrap();
    assert!(ops::install().is_err(), "a second recorder is refused");
    let health = ops::Health::new("event", Some(Duration::from_secs(3600)));
    let endpoint = ops::serve("127.0.0.1:0".parse().unwrap(), handle, health.clone())
        .await
        .unwrap();
    let addr = endpoint.local_addr();

    metrics::describe_counter!("test_things_total", "things seen");
    metrics::describe_histogram!("test_wait_seconds", metrics::Unit::Seconds, "waits");
    metrics::counter!("test_things_total", "kind" => "a").increment(3);
    metrics::histogram!("test_wait_seconds").record(0.2);
    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("# HELP test_things_total things seen"),
        "{body}"
    );
    assert!(body.contains("test_things_total{kind=\"a\"} 3"), "{body}");
    // Histograms are real histograms (buckets), not summaries.
    assert!(
        body.contains("test_wait_seconds_bucket{le=\"0.25\"} 1"),
        "{body}"
    );
    // Prometheus' own parser and linter accept it; a broken exposition does not pass.
    ops::probe::promtool_check_metrics(&body).unwrap();
    assert!(ops::probe::promtool_check_metrics("a{ 1\n").is_err());

    let (status, body) = get(addr, "/health").await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "ok");

    health.fail("checkpoint", "disk full");
    let (status, body) = get(addr, "/health").await;
    assert_eq!(status, 503, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["reasons"][0], "last checkpoint failed: disk full");

    assert_eq!(get(addr, "/nothing").await.0, 404);

    // A taken port is a clear error naming the address.
    let handle2 = metrics_exporter_prometheus::PrometheusBuilder::new()
        .build_recorder()
        .handle();
    let err = ops::serve(addr, handle2, health).await.unwrap_err();
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}
