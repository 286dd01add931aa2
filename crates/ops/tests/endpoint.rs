//! The endpoint over real HTTP: `/metrics` renders what the `metrics` macros recorded,
//! `/health` follows the [`ops::Health`] it was given.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A plain HTTP/1.1 GET; returns the status code and the body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).await.unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

#[tokio::test]
async fn metrics_and_health_share_one_port() {
    let handle = ops::install().unwrap();
    assert!(ops::install().is_err(), "a second recorder is refused");
    let health = ops::Health::new("event", Some(Duration::from_secs(3600)));
    let endpoint = ops::serve("127.0.0.1:0".parse().unwrap(), handle, health.clone())
        .await
        .unwrap();
    let addr = endpoint.local_addr();

    metrics::describe_counter!("test_things_total", "things seen");
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
