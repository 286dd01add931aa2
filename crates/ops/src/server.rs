//! The HTTP listener behind `--metrics-addr`: `GET /metrics` and `GET /health` on one port.
//!
//! Prometheus scrapes `/metrics` (text exposition format 0.0.4, rendered by
//! `metrics-exporter-prometheus`); a load balancer, systemd watchdog script or uptime checker
//! polls `/health`. Anything else is a 404; a method other than `GET`/`HEAD` is a 405.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::{Health, OpsError};

/// How often histograms are drained into their buckets between scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

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
    loop {
        let stream = tokio::select! {
            _ = upkeep.tick() => {
                metrics.run_upkeep();
                continue;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    log::warn!("metrics endpoint: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (metrics, health) = (metrics.clone(), health.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let reply = answer(&req, &metrics, &health);
                async move { Ok::<_, Infallible>(reply) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                log::debug!("metrics endpoint: connection ended: {e}");
            }
        });
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
