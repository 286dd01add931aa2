//! The single HTTP/1 listener: routes REST requests to Binance or CoinGecko handlers and
//! upgrades `/ws...` and `/stream...` to WebSocket sessions.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::faults::{lock, RestFault};
use crate::{binance_rest, coingecko, ws, Shared};

/// A REST answer before it becomes a hyper response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    retry_after: bool,
}

impl Reply {
    pub(crate) fn json(status: u16, body: String) -> Self {
        Reply {
            status,
            body,
            retry_after: false,
        }
    }

    /// Adds `retry-after: 1`.
    pub(crate) fn retry_after(mut self) -> Self {
        self.retry_after = true;
        self
    }

    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        let mut builder = Response::builder()
            .status(self.status)
            .header("content-type", "application/json;charset=UTF-8");
        if self.retry_after {
            builder = builder.header("retry-after", "1");
        }
        builder
            .body(Full::new(Bytes::from(self.body)))
            .unwrap_or_else(|_| {
                // Only reachable with an invalid status code, which this module never builds.
                Response::new(Full::new(Bytes::new()))
            })
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Accepts connections until shutdown; each is served on its own task.
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut conns = JoinSet::new();
    loop {
        while conns.try_join_next().is_some() {}
        let stream = tokio::select! {
            _ = crate::ws::stopped(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        conns.spawn(async move {
            let service = service_fn(move |req| route(shared.clone(), req));
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.with_upgrades().await {
                log::debug!("http connection ended: {e}");
            }
        });
    }
    conns.shutdown().await;
}

async fn route(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    if path == "/ws" || path.starts_with("/ws/") || path == "/stream" {
        return Ok(ws::upgrade(shared, req));
    }
    let line = match req.uri().query() {
        Some(q) => format!("{} {path}?{q}", req.method()),
        None => format!("{} {path}", req.method()),
    };
    let query: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let gecko = is_coingecko(&path, &req);
    let reply = match shared.faults.on_request(line) {
        Some(RestFault::TooMany) if gecko => {
            coingecko::too_many_requests(shared.config.faults.cg_429_as_200)
        }
        Some(RestFault::TooMany) => binance_rest::too_many_requests(),
        Some(RestFault::Server(status)) if gecko => coingecko::server_error(status),
        Some(RestFault::Server(status)) => binance_rest::server_error(status),
        None if req.method() != Method::GET => {
            Reply::json(405, r#"{"error":"method not allowed"}"#.into())
        }
        None => rest(&shared, &path, &query, gecko),
    };
    Ok(reply.into_response())
}

/// CoinGecko paths, and `/api/v3/ping` when the request carries a CoinGecko key (both APIs
/// share that path on this single listener; without a key it answers as Binance: `{}`).
fn is_coingecko(path: &str, req: &Request<Incoming>) -> bool {
    let keyed = req.headers().contains_key("x-cg-demo-api-key")
        || req.headers().contains_key("x-cg-pro-api-key")
        || req
            .uri()
            .query()
            .is_some_and(|q| q.contains("x_cg_demo_api_key") || q.contains("x_cg_pro_api_key"));
    path.starts_with("/api/v3/coins/") || (path == "/api/v3/ping" && keyed)
}

fn rest(shared: &Shared, path: &str, query: &[(String, String)], gecko: bool) -> Reply {
    let now = now_ms();
    match path {
        "/api/v3/ping" if gecko => coingecko::ping(),
        "/api/v3/ping" => Reply::json(200, "{}".into()),
        "/api/v3/time" => Reply::json(200, format!(r#"{{"serverTime":{now}}}"#)),
        "/api/v3/exchangeInfo" => binance_rest::exchange_info(&lock(&shared.market), query, now),
        "/api/v3/ticker/price" => binance_rest::ticker_price(&lock(&shared.market), query),
        "/api/v3/coins/markets" => coingecko::markets(&lock(&shared.coins), query, now),
        _ => match path
            .strip_prefix("/api/v3/coins/")
            .and_then(|p| p.strip_suffix("/market_chart"))
        {
            Some(id) if !id.contains('/') => {
                coingecko::market_chart(&lock(&shared.coins), id, query, now)
            }
            _ if gecko => Reply::json(404, r#"{"error":"Not Found"}"#.into()),
            _ => Reply::json(404, r#"{"code":-1,"msg":"Not found."}"#.into()),
        },
    }
}
