//! Where the dataset lives: a local directory or a prefix of an S3 bucket, the
//! [`ObjectStore`] for the bucket, and the start-up [`probe`] that turns a wrong bucket,
//! wrong credentials or an unreachable endpoint into one clear line.
//!
//! # From a flag to a store
//!
//! An out-dir value is either a path or `s3://bucket/prefix` ([`OutDir::parse`]); any other
//! scheme is refused with one message, so a typo such as `s3:/bucket` or `gs://bucket` never
//! becomes a local directory of that name. For S3 the connection comes from the standard
//! AWS variables ([`S3Config::from_env`]):
//!
//! | variable | meaning |
//! |---|---|
//! | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` | static credentials |
//! | `AWS_SESSION_TOKEN` | session token of temporary credentials |
//! | `AWS_REGION` (or `AWS_DEFAULT_REGION`) | region, default `us-east-1` (R2: `auto`) |
//! | `AWS_ENDPOINT_URL` | an S3-compatible server (MinIO, R2, Ceph, …); AWS itself when unset |
//! | `AWS_ALLOW_HTTP=true` | allow a plain-HTTP endpoint (local servers) |
//!
//! [`S3Config::build`] makes an `AmazonS3` with path-style requests, create-only and
//! `If-Match` conditional puts ([`S3ConditionalPut::ETagMatch`], what the checkpoint
//! publisher and the [lease](super::lease) rely on), create-only copies
//! ([`S3CopyIfNotExists::Multipart`]: how a large file's upload is published, see
//! [`Dataset`](super::Dataset)), and a bounded retry policy
//! ([`S3Config::retry`]): a request gives up after a few attempts and a few seconds, so that
//! the caller, which keeps the rows journaled, decides what an outage means instead of a
//! request hanging for minutes.
//!
//! ```no_run
//! use store::ticks::location::{probe, OutDir, S3Config};
//! # async fn start() -> Result<(), store::ticks::location::LocationError> {
//! match OutDir::parse("s3://my-bucket/binance")? {
//!     OutDir::Local(dir) => println!("local dataset in {}", dir.display()),
//!     OutDir::S3 { bucket, prefix } => {
//!         let config = S3Config::from_env(&bucket)?;
//!         let store = config.build()?;
//!         probe(store.as_ref(), &config, &prefix).await?; // exit 2 with this line on error
//!         // (the three steps in one: `connect_s3(&bucket, &prefix).await?`)
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Secrets
//!
//! The secret key and the session token are held in a [`Secret`], whose `Debug` prints
//! `***`; no error of this module carries a server's response body (an S3
//! `SignatureDoesNotMatch` answer quotes the signed request, session token included), only
//! the S3 error code and the HTTP status. [`describe`] gives the same redacted one-line
//! summary for any `object_store` error, for logs.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, S3ConditionalPut, S3CopyIfNotExists};
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

mod error;
#[cfg(test)]
mod tests;

pub use error::{describe, LocationError};

/// The region when neither `AWS_REGION` nor `AWS_DEFAULT_REGION` is set.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Where the dataset is written and read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutDir {
    /// A directory of the local file system.
    Local(PathBuf),
    /// A prefix (possibly empty) inside an S3 bucket.
    S3 {
        /// The bucket name.
        bucket: String,
        /// The key prefix without leading or trailing `/` (`""`: the bucket's root).
        prefix: String,
    },
}

impl OutDir {
    /// Parses a `--out-dir` value: `s3://bucket[/prefix]`, or a path (anything without
    /// `://`). Other schemes, and an `s3://` URL without a bucket, are refused.
    ///
    /// # Errors
    ///
    /// - [`LocationError::EmptyOutDir`] for `""`.
    /// - [`LocationError::UnsupportedScheme`] for a URL whose scheme is not `s3`
    ///   (`gs://…`, `file://…`).
    /// - [`LocationError::NoBucket`] for `s3://` or `s3:///prefix`.
    /// - [`LocationError::BadPrefix`] when the prefix has a `.`, `..` or empty segment.
    pub fn parse(value: &str) -> Result<OutDir, LocationError> {
        let Some((scheme, rest)) = value.split_once("://") else {
            if value.is_empty() {
                return Err(LocationError::EmptyOutDir);
            }
            return Ok(OutDir::Local(PathBuf::from(value)));
        };
        if !scheme.eq_ignore_ascii_case("s3") {
            return Err(LocationError::UnsupportedScheme {
                scheme: scheme.to_owned(),
            });
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(LocationError::NoBucket {
                value: value.to_owned(),
            });
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|part| part == "." || part == "..") || prefix.contains("//") {
            return Err(LocationError::BadPrefix {
                value: value.to_owned(),
            });
        }
        Ok(OutDir::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// Whether the dataset is on an object store (the journal then cannot live beside it).
    pub fn is_remote(&self) -> bool {
        matches!(self, OutDir::S3 { .. })
    }
}

impl std::str::FromStr for OutDir {
    type Err = LocationError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        OutDir::parse(value)
    }
}

impl fmt::Display for OutDir {
    /// The path, or `s3://bucket/prefix` as the user would write it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutDir::Local(dir) => write!(f, "{}", dir.display()),
            OutDir::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            OutDir::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

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
    /// Longest time one request may take (an upload of one checkpoint or part).
    pub request_timeout: Duration,
}

impl S3Config {
    /// The configuration for `bucket` from the process environment (the variables in the
    /// [module docs](self)).
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
            request_timeout: Duration::from_secs(60),
        })
    }

    /// The bounded retry policy of one request: 3 retries, backoff from 100 ms doubling up to
    /// 2 s, and never longer than 15 s in all. Throttling (503 SlowDown) and 5xx are
    /// retried like connection errors; the caller retries a whole checkpoint later.
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

    /// The store for the bucket. Without static credentials, `object_store`'s chain
    /// applies (web identity, ECS, instance metadata).
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
                ClientOptions::new()
                    .with_allow_http(self.allow_http)
                    .with_connect_timeout(self.connect_timeout)
                    .with_timeout(self.request_timeout),
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
        Ok(Arc::new(store))
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
