//! The HTTP listener behind `--metrics-addr`: `GET /metrics` and `GET /health` on one port.
//!
//! Prometheus scrapes `/metrics` (text exposition format 0.0.4, rendered by
//! `metrics-exporter-prometheus`); a load balancer, systemd watchdog script or uptime checker
//! polls `/health`. Anything else is a 404; a method other than `GET`/`HEAD` is a 405.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::{Health, OpsError};

/// How often histograms are drained into their buckets between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Connections served at once; more are closed as soon as they are accepted. A Prometheus
/// server keeps one, a health checker one per probe: 32 leaves room for several of each
/// while a flood holds few of the descriptors (1,024 under systemd's default) the tool needs.
pub(crate) const MAX_CONNECTIONS: usize = 32;

/// How long a client may take to send a request's head (line and headers), counted from the
/// connection or the end of its previous response: idle and slow clients are dropped.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one connection may live; a keep-alive client (Prometheus) then reconnects.
pub(crate) const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// After [`CONNECTION_LIFETIME`], how long the response in flight may take to be sent before
/// the connection is cut.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(10);

/// The content type of Prometheus' text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A running endpoint; dropping it stops serving.
#[derive(Debug)]
pub struct Endpoint {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Endpoint {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `addr` and serves `/metrics` from `metrics` and `/health` from `health` on a task of
/// the current Tokio runtime.
///
/// Clients get bounded resources, whatever they do: at most 32 connections at once (more
/// are closed as soon as they are accepted), 10 s to send a request's head, 60 s per
/// connection.
///
/// # Errors
///
/// [`OpsError::Bind`] when `addr` cannot be bound (in use, not an address of this
/// machine, a privileged port).
pub async fn serve(
    addr: SocketAddr,
    metrics: PrometheusHandle,
    health: Health,
) -> Result<Endpoint, OpsError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|cause| OpsError::Bind { addr, cause })?;
    let addr = listener
        .local_addr()
        .map_err(|cause| OpsError::Bind { addr, cause })?;
    let task = tokio::spawn(accept_loop(listener, metrics, health));
    Ok(Endpoint { addr, task })
}

async fn accept_loop(listener: TcpListener, metrics: PrometheusHandle, health: Health) {
    let mut upkeep = tokio::time::interval(UPKEEP_EVERY);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    // Whether the limit was reached and not yet said: one warning per episode, not one per
    // refused connection.
    let mut full = false;
    loop {
        let stream = tokio::select! {
            _ = upkeep.tick() => {
                metrics.run_upkeep();
                continue;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors (EMFILE) or a connection reset before it was
                    // accepted: try again a little later rather than spin.
                    log::warn!("metrics endpoint: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if !full {
                log::warn!(
                    "metrics endpoint: {MAX_CONNECTIONS} connections open; closing new ones \
                     until some end"
                );
                full = true;
            }
            drop(stream);
            continue;
        };
        if full {
            log::info!("metrics endpoint: taking connections again");
            full = false;
        }
        let (metrics, health) = (metrics.clone(), health.clone());
        tokio::spawn(async move {
            serve_connection(stream, metrics, health).await;
            drop(slot);
        });
    }
}

/// Serves one connection within [`HEADER_TIMEOUT`] and [`CONNECTION_LIFETIME`].
async fn serve_connection(stream: TcpStream, metrics: PrometheusHandle, health: Health) {
    let service = service_fn(move |req| {
        let reply = answer(&req, &metrics, &health);
        async move { Ok::<_, Infallible>(reply) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    let ended = tokio::select! {
        ended = conn.as_mut() => ended,
        () = tokio::time::sleep(CONNECTION_LIFETIME) => {
            conn.as_mut().graceful_shutdown();
            match tokio::time::timeout(CLOSE_GRACE, conn.as_mut()).await {
                Ok(ended) => ended,
                Err(_) => {
                    log::debug!("metrics endpoint: connection cut after its lifetime");
                    return;
                }
            }
        }
    };
    if let Err(e) = ended {
        log::debug!("metrics endpoint: connection ended: {e}");
    }
}

/// The response to one request.
fn answer(
    req: &Request<Incoming>,
    metrics: &PrometheusHandle,
    health: &Health,
) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        );
    }
    match req.uri().path() {
        "/metrics" => {
            metrics.run_upkeep();
            reply(StatusCode::OK, PROMETHEUS_TEXT, metrics.render())
        }
        "/health" => {
            let report = health.report();
            let status = StatusCode::from_u16(report.http_status())
                .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            reply(status, "application/json", report.to_json())
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /metrics or /health\n".into(),
        ),
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::Instant;

    async fn endpoint() -> Endpoint {
        let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
            .build_recorder()
            .handle();
        let health = Health::new("event", None);
        serve("127.0.0.1:0".parse().unwrap(), handle, health)
            .await
            .unwrap()
    }

    /// `GET path` on a keep-alive connection: the status line, or `None` if the server
    /// closed (or reset) the connection instead of answering.
    async fn get(conn: &mut TcpStream, path: &str) -> Option<String> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
        conn.write_all(request.as_bytes()).await.ok()?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&buf);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")?
                            .trim()
                            .parse()
                            .ok()
                    })
                    .expect("a content-length");
                if body.len() >= len {
                    return Some(head.lines().next().unwrap_or_default().to_owned());
                }
            }
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// `true` when the server has closed (or reset) `conn`, after reading what it sent.
    async fn closed(conn: &mut TcpStream) -> bool {
        let mut chunk = [0u8; 4096];
        loop {
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_over_the_limit_are_closed_at_once() {
        let endpoint = endpoint().await;
        let addr = endpoint.local_addr();
        let mut idle = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            idle.push(TcpStream::connect(addr).await.unwrap());
        }
        // They are accepted in order: this one finds every slot taken.
        let mut over = TcpStream::connect(addr).await.unwrap();
        assert_eq!(get(&mut over, "/health").await, None);
        // Once a client goes, its slot is free again (as soon as the server sees it leave).
        drop(idle.pop());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut conn = TcpStream::connect(addr).await.unwrap();
            if let Some(status) = get(&mut conn, "/health").await {
                assert_eq!(status, "HTTP/1.1 200 OK");
                break;
            }
            assert!(Instant::now() < deadline, "no slot came free");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // Paused time: the timeouts are virtual, so the test takes no real 10 s, and the
    // elapsed times below are exact.
    #[tokio::test(start_paused = true)]
    async fn idle_and_slow_clients_are_dropped_after_the_header_timeout() {
        let endpoint = endpoint().await;
        let addr = endpoint.local_addr();

        let mut idle = TcpStream::connect(addr).await.unwrap();
        let start = Instant::now();
        assert!(closed(&mut idle).await);
        assert!(start.elapsed() >= HEADER_TIMEOUT, "{:?}", start.elapsed());

        // One byte of a request head a second: never a whole head within the timeout.
        let mut slow = TcpStream::connect(addr).await.unwrap();
        let start = Instant::now();
        let mut dropped = false;
        for byte in b"GET /metrics HTTP/1.1\r\nHost: a-very-long-host-name\r\n\r\n" {
            if slow.write_all(&[*byte]).await.is_err() {
                dropped = true;
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert!(dropped || closed(&mut slow).await);
        assert!(start.elapsed() >= HEADER_TIMEOUT, "{:?}", start.elapsed());
        assert!(
            start.elapsed() < 2 * HEADER_TIMEOUT,
            "{:?}",
            start.elapsed()
        );

        // Between requests of a keep-alive connection the same timeout runs.
        let mut kept = TcpStream::connect(addr).await.unwrap();
        assert!(get(&mut kept, "/health").await.is_some());
        let start = Instant::now();
        assert!(closed(&mut kept).await);
        assert!(start.elapsed() >= HEADER_TIMEOUT, "{:?}", start.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_keep_alive_connection_ends_after_its_lifetime() {
        let endpoint = endpoint().await;
        let mut conn = TcpStream::connect(endpoint.local_addr()).await.unwrap();
        let start = Instant::now();
        let mut answered = 0;
        while let Some(status) = get(&mut conn, "/metrics").await {
            assert_eq!(status, "HTTP/1.1 200 OK");
            answered += 1;
            assert!(start.elapsed() < 2 * CONNECTION_LIFETIME, "never closed");
            tokio::time::sleep(HEADER_TIMEOUT / 2).await;
        }
        assert!(
            start.elapsed() >= CONNECTION_LIFETIME,
            "{:?}",
            start.elapsed()
        );
        assert!(answered >= 2 * CONNECTION_LIFETIME.as_secs() / HEADER_TIMEOUT.as_secs() - 1);
    }
}
