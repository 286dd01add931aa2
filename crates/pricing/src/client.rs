//! The HTTP client: URL building, key header, timeouts and the retry loop.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;

use events::{Invalid, Problem};

use crate::error::{ApiErrorBody, Error};
use crate::retry::{parse_retry_after, RetryPolicy};
use crate::{CoinMarket, MarketChart};

/// The largest CoinGecko answer read, in bytes (4 MiB): `/coins/markets` with 250 coins
/// is about 250 KiB, a daily `market_chart` of a year about 30 KiB. A larger answer is
/// refused with [`Error::TooLarge`], before reading when its `Content-Length` says so,
/// else as soon as the chunks read pass the cap: never more than the cap (plus one chunk)
/// is held in memory.
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// The host whose keys are "pro" keys (header `x-cg-pro-api-key`).
const PRO_HOST: &str = "pro-api.coingecko.com";

/// How to reach CoinGecko.
#[derive(Clone)]
pub struct ClientConfig {
    /// Base URL, e.g. `https://api.coingecko.com/api/v3`.
    pub base_url: String,
    /// Optional API key: sent as `x-cg-demo-api-key`, or `x-cg-pro-api-key` when the base
    /// host is `pro-api.coingecko.com`. Never logged, never in an error.
    pub api_key: Option<String>,
    /// Whole-request timeout (connect, send, read the body).
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Retries and waits.
    pub retry: RetryPolicy,
}

impl ClientConfig {
    /// Defaults for `base_url`: no key, 30 s timeout, 10 s connect timeout, default retries.
    pub fn new(base_url: impl Into<String>) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            api_key: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}

impl ClientConfig {
    /// Every problem of this configuration (the [pattern](events::Invalid)): a base URL
    /// that is not an absolute `http(s)://` URL, an API key that cannot travel in a header,
    /// a zero timeout, no attempt at all (a delay above its cap is not a problem: the cap
    /// wins, as [`RetryPolicy`] says).
    /// [`CoinGecko::new`] refuses an invalid configuration.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut config = pricing::ClientConfig::new("ftp://example.com");
    /// config.timeout = Duration::ZERO;
    /// assert_eq!(config.validate().unwrap_err().0.len(), 2);
    /// assert!(pricing::ClientConfig::new("https://api.coingecko.com/api/v3").validate().is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// [`Invalid`] with every problem found (never the key itself).
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut problems = Vec::new();
        if let Err(reason) = parse_base(&self.base_url) {
            problems.push(Problem::new("base_url", format!("is not usable: {reason}")));
        }
        if self
            .api_key
            .as_deref()
            .is_some_and(|k| HeaderValue::from_str(k).is_err())
        {
            problems.push(Problem::new(
                "api_key",
                "holds characters not allowed in an HTTP header",
            ));
        }
        for (field, value) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
        ] {
            if value.is_zero() {
                problems.push(Problem::new(field, "must be more than 0 s"));
            }
        }
        if self.retry.max_attempts == 0 {
            problems.push(Problem::new("retry.max_attempts", "must be at least 1"));
        }
        Invalid::check(problems)
    }
}

/// `base` as an absolute `http(s)://` URL that paths can be joined to.
fn parse_base(base: &str) -> Result<Url, String> {
    let url = Url::parse(base).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err("expected an http:// or https:// URL".into());
    }
    Ok(url)
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// A CoinGecko REST client for `/coins/markets` and `/coins/{id}/market_chart`.
///
/// ```no_run
/// # async fn demo() -> Result<(), pricing::Error> {
/// let cg = pricing::CoinGecko::new(pricing::ClientConfig::new("https://api.coingecko.com/api/v3"))?;
/// let top = cg.top_markets("usd", 3).await?;
/// let chart = cg.market_chart_daily(&top[0].id, "usd", 10).await?;
/// let avg = pricing::daily_average(&chart.prices, 10);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CoinGecko {
    http: reqwest::Client,
    base: Url,
    retry: RetryPolicy,
}

/// Why one attempt failed.
enum Failure {
    /// Not worth another try (4xx, an error body, an undecodable answer).
    Fatal(Error),
    /// Worth another try; `rate_limit` is `Some(retry_after)` for rate limits.
    Retry {
        error: Error,
        rate_limit: Option<Option<Duration>>,
    },
}

impl CoinGecko {
    /// Builds the client; fails on a bad base URL or an API key unfit for a header.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidBaseUrl`], [`Error::InvalidApiKey`] (not a valid header value),
    /// [`Error::Config`] (the rest of [`ClientConfig::validate`]) or [`Error::Build`] (TLS
    /// set-up); no request is made here.
    pub fn new(config: ClientConfig) -> Result<CoinGecko, Error> {
        let base = parse_base(&config.base_url).map_err(|reason| Error::InvalidBaseUrl {
            url: config.base_url.clone(),
            reason,
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(key) = config.api_key.as_deref().filter(|k| !k.is_empty()) {
            let name = key_header(base.host_str());
            let mut value = HeaderValue::from_str(key).map_err(|_| Error::InvalidApiKey)?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("marketdata-trader/", env!("CARGO_PKG_VERSION")))
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| Error::Build(error_chain(e)))?;
        config.validate().map_err(Error::Config)?;
        Ok(CoinGecko {
            http,
            base,
            retry: config.retry,
        })
    }

    /// The base URL in use (it holds no key: the key travels in a header).
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// `GET /coins/markets?vs_currency=<vs>&order=market_cap_desc&per_page=<n>&page=1`:
    /// the `n` largest coins by market cap, at most `n` whatever the server sends
    /// ([`select_top`](crate::select_top)).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] (a 4xx or an error body), [`Error::RateLimited`], [`Error::Server`] or
    /// [`Error::Transport`] once the retries are spent, [`Error::Decode`] for a body of another
    /// shape.
    pub async fn top_markets(&self, vs_currency: &str, n: u32) -> Result<Vec<CoinMarket>, Error> {
        let url = self.url(
            &["coins", "markets"],
            &[
                ("vs_currency", vs_currency),
                ("order", "market_cap_desc"),
                ("per_page", &n.to_string()),
                ("page", "1"),
            ],
        );
        let coins: Vec<CoinMarket> = self.get_json(url, "/coins/markets").await?;
        Ok(crate::markets::select_top(coins, n as usize))
    }

    /// `GET /coins/{id}/market_chart?vs_currency=<vs>&days=<days>&interval=daily`:
    /// `days` daily points (00:00 UTC) followed by one live point.
    ///
    /// # Errors
    ///
    /// As [`CoinGecko::top_markets`].
    pub async fn market_chart_daily(
        &self,
        id: &str,
        vs_currency: &str,
        days: u32,
    ) -> Result<MarketChart, Error> {
        let url = self.url(
            &["coins", id, "market_chart"],
            &[
                ("vs_currency", vs_currency),
                ("days", &days.to_string()),
                ("interval", "daily"),
            ],
        );
        self.get_json(url, &format!("/coins/{id}/market_chart"))
            .await
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        // `cannot_be_a_base` was refused in `new`, so the segments are always available.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url.query_pairs_mut().extend_pairs(query);
        url
    }

    async fn get_json<T: DeserializeOwned>(&self, url: Url, endpoint: &str) -> Result<T, Error> {
        let mut attempt = 1;
        loop {
            let (error, rate_limit) = match self.attempt(url.clone(), endpoint).await {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry { error, rate_limit }) => (error, rate_limit),
            };
            let error = with_attempts(error, attempt);
            crate::metrics::retryable_failure(
                rate_limit.is_some(),
                attempt < self.retry.max_attempts,
            );
            if attempt >= self.retry.max_attempts {
                return Err(error);
            }
            let wait = match rate_limit {
                Some(retry_after) => self.retry.rate_limit_wait(retry_after),
                None => self.retry.backoff(attempt),
            };
            log::warn!(
                "{error}; retry {}/{} in {:.1}s",
                attempt,
                self.retry.max_attempts - 1,
                wait.as_secs_f64()
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One request.
    async fn attempt<T: DeserializeOwned>(&self, url: Url, endpoint: &str) -> Result<T, Failure> {
        let transport = |e: reqwest::Error| Failure::Retry {
            error: Error::Transport {
                endpoint: endpoint.into(),
                attempts: 1,
                message: error_chain(e),
            },
            rate_limit: None,
        };
        let resp = self.http.get(url).send().await.map_err(transport)?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let too_large = || {
            Failure::Fatal(Error::TooLarge {
                endpoint: endpoint.into(),
                limit: MAX_BODY_BYTES,
            })
        };
        let body = read_capped(resp, MAX_BODY_BYTES)
            .await
            .map_err(transport)?
            .ok_or_else(too_large)?;
        let rate_limited = |body: ApiErrorBody| {
            Err(Failure::Retry {
                error: Error::RateLimited {
                    endpoint: endpoint.into(),
                    attempts: 1,
                    body,
                },
                rate_limit: Some(retry_after),
            })
        };
        if status.is_success() {
            return match serde_json::from_slice::<T>(&body) {
                Ok(v) => Ok(v),
                Err(decode) => {
                    let err = ApiErrorBody::parse(&body);
                    if err.is_rate_limit() {
                        rate_limited(err)
                    } else if err.is_error() {
                        Err(Failure::Fatal(Error::Api {
                            endpoint: endpoint.into(),
                            status: status.as_u16(),
                            body: err,
                        }))
                    } else {
                        Err(Failure::Fatal(Error::Decode {
                            endpoint: endpoint.into(),
                            message: decode.to_string(),
                        }))
                    }
                }
            };
        }
        let err = ApiErrorBody::parse(&body);
        if status == StatusCode::TOO_MANY_REQUESTS || err.is_rate_limit() {
            rate_limited(err)
        } else if status.is_server_error() {
            Err(Failure::Retry {
                error: Error::Server {
                    endpoint: endpoint.into(),
                    status: status.as_u16(),
                    attempts: 1,
                    body: err,
                },
                rate_limit: None,
            })
        } else {
            Err(Failure::Fatal(Error::Api {
                endpoint: endpoint.into(),
                status: status.as_u16(),
                body: err,
            }))
        }
    }
}

/// The body, or `None` once it is known to exceed `cap` bytes (by `Content-Length`, or by
/// the chunks read so far, whatever their number).
async fn read_capped(
    mut resp: reqwest::Response,
    cap: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while resp.content_length().is_none_or(|n| n <= cap as u64) && body.len() <= cap {
        let Some(chunk) = resp.chunk().await? else {
            return Ok(Some(body));
        };
        body.extend_from_slice(&chunk);
    }
    Ok(None)
}

/// The header that carries the key: the pro one for the pro host, else the demo one.
fn key_header(host: Option<&str>) -> &'static str {
    if host.is_some_and(|h| h.eq_ignore_ascii_case(PRO_HOST)) {
        "x-cg-pro-api-key"
    } else {
        "x-cg-demo-api-key"
    }
}

fn with_attempts(error: Error, n: u32) -> Error {
    match error {
        Error::RateLimited { endpoint, body, .. } => Error::RateLimited {
            endpoint,
            attempts: n,
            body,
        },
        Error::Server {
            endpoint,
            status,
            body,
            ..
        } => Error::Server {
            endpoint,
            status,
            attempts: n,
            body,
        },
        Error::Transport {
            endpoint, message, ..
        } => Error::Transport {
            endpoint,
            attempts: n,
            message,
        },
        other => other,
    }
}

/// `e` and its causes on one line ([`logging::error_chain`]), without the URL (the caller
/// names the endpoint), after "timed out" when it is a timeout.
fn error_chain(e: reqwest::Error) -> String {
    let timeout = e.is_timeout();
    let chain = logging::error_chain(&e.without_url());
    if timeout {
        format!("timed out: {chain}")
    } else {
        chain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_header_follows_the_host() {
        let cases = [
            ("https://pro-api.coingecko.com/api/v3", "x-cg-pro-api-key"),
            ("https://api.coingecko.com/api/v3", "x-cg-demo-api-key"),
            ("http://127.0.0.1:8080/api/v3", "x-cg-demo-api-key"),
        ];
        for (url, want) in cases {
            let url = Url::parse(url).expect("url");
            assert_eq!(key_header(url.host_str()), want, "{url}");
        }
    }

    #[test]
    fn urls_are_built_under_the_base_path() {
        let cg = CoinGecko::new(ClientConfig::new("http://h/api/v3/")).expect("client");
        let url = cg.url(&["coins", "a b/c", "market_chart"], &[("days", "10")]);
        assert_eq!(
            url.as_str(),
            "http://h/api/v3/coins/a%20b%2Fc/market_chart?days=10"
        );
    }

    /// Issue 20: an answer over 4 MiB is refused with one clear error and not retried,
    /// before reading it when Content-Length says so (the 1 GiB body never comes: reading
    /// it would wait for the timeout), else after at most the cap of an endless body.
    #[tokio::test]
    async fn an_oversize_answer_is_refused_without_reading_it_whole() {
        use testkit::http::{oversize, CHUNKED, DECLARED_1_GIB};
        for (head, endless) in [(DECLARED_1_GIB, false), (CHUNKED, true)] {
            let addr = oversize(head, endless);
            let mut config = ClientConfig::new(format!("http://{addr}/api/v3"));
            config.timeout = Duration::from_secs(20);
            let err = CoinGecko::new(config)
                .expect("client")
                .top_markets("usd", 3)
                .await
                .expect_err("too large");
            assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
            assert_eq!(
                err.to_string(),
                "CoinGecko /coins/markets sent an answer larger than 4 MiB: refused, not read whole"
            );
        }
    }
}
