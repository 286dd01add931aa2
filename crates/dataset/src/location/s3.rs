//! The S3 side of a location: the connection settings from the environment
//! ([`S3Config`], its secrets in a [`Secret`]), the store they build, and the start-up
//! [`probe`] ([`connect_s3`] does all three).
//!
//! The variables and the guarantees (bounded retries, nothing secret in a message) are in
//! the [parent module's docs](super); the checks here are the ones a typo in a variable
//! would otherwise turn into a confusing failure much later: a boolean that is not one, an
//! endpoint that is not a URL or carries credentials, half a key pair.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, S3ConditionalPut, S3CopyIfNotExists};
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use super::bounded::{Bounded, Limits};
use super::{describe, LocationError};

/// The region when neither `AWS_REGION` nor `AWS_DEFAULT_REGION` is set.
pub const DEFAULT_REGION: &str = "us-east-1";

/// A credential that must never be printed: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that signs requests with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How an S3 connection is made; `Debug` never shows the secret key or the token.
#[derive(Clone, Debug)]
pub struct S3Config {
    /// The bucket.
    pub bucket: String,
    /// `AWS_REGION` / `AWS_DEFAULT_REGION`, default [`DEFAULT_REGION`].
    pub region: String,
    /// `AWS_ENDPOINT_URL`: an S3-compatible server; `None` for AWS itself.
    pub endpoint: Option<String>,
    /// `AWS_ALLOW_HTTP=true`: plain HTTP allowed.
    pub allow_http: bool,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<Secret>,
    /// `AWS_SESSION_TOKEN`.
    pub session_token: Option<Secret>,
    /// Retries of one request (see [`S3Config::retry`]).
    pub retry: RetryConfig,
    /// Longest wait for a TCP connection to the endpoint.
    pub connect_timeout: Duration,
    /// The bound of every request, answered or not, retries included ([`Limits`]).
    pub limits: Limits,
}

impl S3Config {
    /// The configuration for `bucket` from the process environment (the variables in the
    /// [module docs](super)).
    ///
    /// # Errors
    ///
    /// As [`from_vars`](Self::from_vars).
    pub fn from_env(bucket: &str) -> Result<S3Config, LocationError> {
        S3Config::from_vars(bucket, |name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the variables looked up by `var` (tests pass a
    /// map). Empty values count as unset.
    ///
    /// # Errors
    ///
    /// [`LocationError::BadVariable`] naming the variable when `AWS_ALLOW_HTTP` is not a
    /// boolean (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`), when `AWS_ENDPOINT_URL`
    /// is not an `http(s)://host[:port]` URL, carries credentials, or is plain `http`
    /// without `AWS_ALLOW_HTTP=true`, or when only one of `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY` is set.
    pub fn from_vars(
        bucket: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<S3Config, LocationError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let allow_http = match var("AWS_ALLOW_HTTP") {
            None => false,
            Some(v) => parse_bool(&v).ok_or_else(|| LocationError::BadVariable {
                name: "AWS_ALLOW_HTTP",
                reason: format!("`{v}` is not true or false"),
            })?,
        };
        let endpoint = match var("AWS_ENDPOINT_URL") {
            None => None,
            Some(url) => Some(check_endpoint(&url, allow_http)?),
        };
        let access_key_id = var("AWS_ACCESS_KEY_ID");
        let secret_access_key = var("AWS_SECRET_ACCESS_KEY").map(Secret);
        if access_key_id.is_some() != secret_access_key.is_some() {
            return Err(LocationError::BadVariable {
                name: if access_key_id.is_some() {
                    "AWS_SECRET_ACCESS_KEY"
                } else {
                    "AWS_ACCESS_KEY_ID"
                },
                reason: "must be set together with the other half of the key".to_owned(),
            });
        }
        Ok(S3Config {
            bucket: bucket.to_owned(),
            region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| DEFAULT_REGION.to_owned()),
            endpoint,
            allow_http,
            access_key_id,
            secret_access_key,
            session_token: var("AWS_SESSION_TOKEN").map(Secret),
            retry: S3Config::retry(),
            connect_timeout: Duration::from_secs(5),
            limits: Limits::default(),
        })
    }

    /// The retry policy of one request: 3 retries, backoff from 100 ms doubling up to 2 s,
    /// no retry started after 15 s. Throttling (503 SlowDown) and 5xx are retried like
    /// connection errors; the caller retries a whole checkpoint later. The request as a
    /// whole, retries included, is bounded by [`S3Config::limits`] (a server that never
    /// answers is not a failure `object_store` would retry on its own).
    pub fn retry() -> RetryConfig {
        RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
            max_retries: 3,
            retry_timeout: Duration::from_secs(15),
        }
    }

    /// The endpoint requests go to, for messages: `AWS_ENDPOINT_URL` or AWS' regional one.
    pub fn endpoint_display(&self) -> String {
        match &self.endpoint {
            Some(url) => url.clone(),
            None => format!("https://s3.{}.amazonaws.com", self.region),
        }
    }

    /// The store for the bucket, every request bounded by [`limits`](Self::limits) (see
    /// [`Limits`]). Without static credentials, `object_store`'s chain applies (web
    /// identity, ECS, instance metadata).
    ///
    /// # Errors
    ///
    /// [`LocationError::Config`] when `object_store` refuses the configuration (e.g. an
    /// endpoint URL it cannot parse); the reason is redacted by [`describe`].
    pub fn build(&self) -> Result<Arc<dyn ObjectStore>, LocationError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_allow_http(self.allow_http)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .with_copy_if_not_exists(S3CopyIfNotExists::Multipart)
            .with_retry(self.retry.clone())
            .with_client_options(
                // No per-attempt timeout of the client's: one attempt may carry a 64 MiB
                // body. `Bounded` puts the deadline on the whole request instead.
                ClientOptions::new()
                    .with_allow_http(self.allow_http)
                    .with_connect_timeout(self.connect_timeout)
                    .with_timeout_disabled(),
            );
        if let Some(endpoint) = &self.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let (Some(id), Some(secret)) = (&self.access_key_id, &self.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret.expose());
        }
        if let Some(token) = &self.session_token {
            builder = builder.with_token(token.expose());
        }
        let store = builder.build().map_err(|e| LocationError::Config {
            bucket: self.bucket.clone(),
            reason: describe(&e),
        })?;
        Ok(Arc::new(Bounded::new(Arc::new(store), self.limits)))
    }
}

/// Everything a start needs for `s3://bucket/prefix`: the configuration from the
/// environment, the store, and a passed [`probe`]; returns the store and the prefix as an
/// object path.
///
/// # Errors
///
/// Those of [`S3Config::from_env`] ([`LocationError::BadVariable`]), of
/// [`S3Config::build`] ([`LocationError::Config`]) and of [`probe`].
pub async fn connect_s3(
    bucket: &str,
    prefix: &str,
) -> Result<(Arc<dyn ObjectStore>, object_store::path::Path), LocationError> {
    let config = S3Config::from_env(bucket)?;
    let store = config.build()?;
    probe(store.as_ref(), &config, prefix).await?;
    Ok((store, object_store::path::Path::from(prefix)))
}

/// Checks at start that the dataset's prefix can be listed: one `LIST` request (first page,
/// at most one key). A missing bucket, rejected credentials, a denied listing or an
/// unreachable endpoint each become their own [`LocationError`] with one clear line.
///
/// # Errors
///
/// - [`LocationError::NoSuchBucket`] when the server answers `NoSuchBucket`.
/// - [`LocationError::Credentials`] when it rejects the credentials (unknown key, bad
///   signature, expired or invalid token, HTTP 401).
/// - [`LocationError::AccessDenied`] when the credentials may not list the prefix
///   (`AccessDenied`, HTTP 403).
/// - [`LocationError::Unreachable`] when no answer comes (connection refused, DNS,
///   timeout).
/// - [`LocationError::Other`] for any other failure of the listing.
pub async fn probe(
    store: &dyn ObjectStore,
    config: &S3Config,
    prefix: &str,
) -> Result<(), LocationError> {
    use futures::StreamExt;
    let prefix = object_store::path::Path::from(prefix);
    let first = store.list(Some(&prefix)).next().await;
    match first {
        None | Some(Ok(_)) => Ok(()),
        Some(Err(e)) => Err(LocationError::classify(&e, config, prefix.as_ref())),
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// An endpoint must be an `http(s)://host[:port]` URL without credentials in it (they would
/// end up in every message that names the endpoint); plain HTTP needs `AWS_ALLOW_HTTP`.
fn check_endpoint(url: &str, allow_http: bool) -> Result<String, LocationError> {
    let bad = |reason: &str| LocationError::BadVariable {
        name: "AWS_ENDPOINT_URL",
        reason: reason.to_owned(),
    };
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("not a URL: use http(s)://host[:port]"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad(
            "must not contain credentials (use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
        ));
    }
    if authority.is_empty() {
        return Err(bad("has no host"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(url.to_owned()),
        "http" if allow_http => Ok(url.to_owned()),
        "http" => Err(bad("is plain http: set AWS_ALLOW_HTTP=true to allow it")),
        _ => Err(bad("scheme must be http or https")),
    }
}
