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
//! [`Dataset`](super::Dataset)), a short retry policy ([`S3Config::retry`]), and a deadline
//! on every request ([`Limits`]: 15 s, plus 1 s per MiB of body), answered or not, retries
//! included: the caller, which keeps the rows journaled, decides what an outage means
//! instead of a request hanging on a server that accepted it and never answers.
//!
//! ```no_run
//! use dataset::location::{probe, OutDir, S3Config};
//! # async fn start() -> Result<(), dataset::location::LocationError> {
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
//!
//! [`ObjectStore`]: object_store::ObjectStore
//! [`S3ConditionalPut::ETagMatch`]: object_store::aws::S3ConditionalPut::ETagMatch
//! [`S3CopyIfNotExists::Multipart`]: object_store::aws::S3CopyIfNotExists::Multipart

use std::fmt;
use std::path::PathBuf;

mod bounded;
mod error;
mod s3;
#[cfg(test)]
mod tests;

pub use bounded::Limits;
pub use error::{describe, LocationError};
pub use s3::{connect_s3, probe, S3Config, Secret, DEFAULT_REGION};

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
