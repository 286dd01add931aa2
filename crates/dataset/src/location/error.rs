//! [`LocationError`]: what can be wrong with an out-dir value, the S3 variables, or the
//! bucket behind them, each as one line that says what to fix; and [`describe`], the
//! redacted summary of an `object_store` error.

use super::S3Config;

/// A wrong out-dir, wrong S3 variables, or a bucket that cannot be used.
///
/// Messages never contain the secret key, the session token or a server's response body.
#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    /// `--out-dir ""`.
    #[error("the out-dir is empty: give a directory or s3://bucket/prefix")]
    EmptyOutDir,
    /// A URL whose scheme is not `s3`.
    #[error("unsupported out-dir scheme `{scheme}://`: give a directory or s3://bucket/prefix")]
    UnsupportedScheme {
        /// The scheme as written.
        scheme: String,
    },
    /// `s3://` or `s3:///prefix`.
    #[error("`{value}` names no bucket: use s3://bucket/prefix")]
    NoBucket {
        /// The value as written.
        value: String,
    },
    /// A prefix with `.`/`..` segments or an empty segment (`a//b`).
    #[error("`{value}`: the prefix must not contain `.`, `..` or empty segments")]
    BadPrefix {
        /// The value as written.
        value: String,
    },
    /// An `AWS_*` variable has a value that cannot be used.
    #[error("{name}: {reason}")]
    BadVariable {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `object_store` refused the configuration.
    #[error("s3://{bucket}: bad S3 configuration: {reason}")]
    Config {
        /// The bucket.
        bucket: String,
        /// `object_store`'s reason (redacted).
        reason: String,
    },
    /// The bucket does not exist at the endpoint.
    #[error("s3://{bucket}: no such bucket at {endpoint} (create it, or check AWS_ENDPOINT_URL and AWS_REGION)")]
    NoSuchBucket {
        /// The bucket.
        bucket: String,
        /// The endpoint asked.
        endpoint: String,
    },
    /// The server does not accept the credentials (unknown key, bad signature, expired
    /// token).
    #[error("s3://{bucket}: credentials rejected by {endpoint} ({code}): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN")]
    Credentials {
        /// The bucket.
        bucket: String,
        /// The endpoint asked.
        endpoint: String,
        /// The S3 error code or HTTP status.
        code: String,
    },
    /// The credentials are valid but may not list the prefix.
    #[error("s3://{bucket}/{prefix}: access denied by {endpoint} ({code}): the credentials may not list this prefix")]
    AccessDenied {
        /// The bucket.
        bucket: String,
        /// The prefix.
        prefix: String,
        /// The endpoint asked.
        endpoint: String,
        /// The S3 error code or HTTP status.
        code: String,
    },
    /// No answer from the endpoint (connection refused, DNS, timeout).
    #[error("s3://{bucket}: endpoint {endpoint} unreachable: {reason}")]
    Unreachable {
        /// The bucket.
        bucket: String,
        /// The endpoint asked.
        endpoint: String,
        /// The network error.
        reason: String,
    },
    /// Any other failure of the start-up probe.
    #[error("s3://{bucket}: cannot list the dataset at {endpoint}: {reason}")]
    Other {
        /// The bucket.
        bucket: String,
        /// The endpoint asked.
        endpoint: String,
        /// A redacted summary ([`describe`]).
        reason: String,
    },
}

/// S3 error codes that mean "these credentials are not valid".
const CREDENTIAL_CODES: [&str; 6] = [
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AuthorizationHeaderMalformed",
];

impl LocationError {
    /// Sorts a failed probe into the variant that says what to fix.
    pub(super) fn classify(e: &object_store::Error, config: &S3Config, prefix: &str) -> Self {
        let summary = Summary::of(e);
        let bucket = config.bucket.clone();
        let endpoint = config.endpoint_display();
        let code = summary
            .code
            .clone()
            .unwrap_or_else(|| match summary.status {
                Some(status) => format!("HTTP {status}"),
                None => "no code".to_owned(),
            });
        let is = |c: &str| summary.code.as_deref() == Some(c);
        if is("NoSuchBucket") {
            return LocationError::NoSuchBucket { bucket, endpoint };
        }
        if CREDENTIAL_CODES.iter().any(|c| is(c))
            || matches!(e, object_store::Error::Unauthenticated { .. })
            || summary.status == Some(401)
        {
            return LocationError::Credentials {
                bucket,
                endpoint,
                code,
            };
        }
        if is("AccessDenied")
            || matches!(e, object_store::Error::PermissionDenied { .. })
            || summary.status == Some(403)
        {
            return LocationError::AccessDenied {
                bucket,
                prefix: prefix.to_owned(),
                endpoint,
                code,
            };
        }
        if summary.status.is_none() {
            if let Some(reason) = summary.network {
                return LocationError::Unreachable {
                    bucket,
                    endpoint,
                    reason,
                };
            }
        }
        LocationError::Other {
            bucket,
            endpoint,
            reason: summary.to_string(),
        }
    }
}

/// A redacted one-line summary of an `object_store` error, safe to log: the kind of error,
/// the HTTP status, the S3 error code, and for network failures the OS error; never the
/// response body, the request URL's query or any header.
///
/// ```
/// let e = object_store::Error::NotFound { path: "a/b".into(), source: "<Error>…</Error>".into() };
/// assert_eq!(dataset::location::describe(&e), "not found: a/b");
/// ```
pub fn describe(e: &object_store::Error) -> String {
    Summary::of(e).to_string()
}

/// What may be said about an `object_store` error.
#[derive(Debug)]
struct Summary {
    kind: String,
    status: Option<u16>,
    code: Option<String>,
    network: Option<String>,
}

impl Summary {
    fn of(e: &object_store::Error) -> Summary {
        use object_store::Error as E;
        let kind = match e {
            E::NotFound { path, .. } => format!("not found: {path}"),
            E::AlreadyExists { path, .. } => format!("already exists: {path}"),
            E::Precondition { path, .. } => format!("precondition failed: {path}"),
            E::NotModified { path, .. } => format!("not modified: {path}"),
            E::PermissionDenied { path, .. } => format!("permission denied: {path}"),
            E::Unauthenticated { path, .. } => format!("unauthenticated: {path}"),
            E::InvalidPath { source } => format!("invalid path: {source}"),
            E::NotSupported { .. } => "operation not supported".to_owned(),
            E::NotImplemented { operation, .. } => format!("not implemented: {operation}"),
            E::UnknownConfigurationKey { key, .. } => format!("unknown configuration key {key}"),
            E::JoinError { .. } => "task failed".to_owned(),
            _ => "request failed".to_owned(),
        };
        // The chain's messages are read for the status and the S3 code only; the text
        // itself (which may quote the signed request) goes nowhere.
        let mut text = String::new();
        let mut network = None;
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = source {
            text.push_str(&err.to_string());
            text.push('\n');
            if let Some(http) = err.downcast_ref::<object_store::client::HttpError>() {
                use object_store::client::HttpErrorKind as K;
                if matches!(http.kind(), K::Connect | K::Timeout | K::Interrupted) {
                    network.get_or_insert_with(|| format!("{:?}", http.kind()).to_lowercase());
                }
            }
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                network = Some(io.to_string());
            }
            source = err.source();
        }
        Summary {
            kind,
            status: status_in(&text),
            code: code_in(&text),
            network,
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.kind)?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status}")?;
            if let Some(code) = &self.code {
                write!(f, ", {code}")?;
            }
            f.write_str(")")?;
        } else if let Some(network) = &self.network {
            write!(f, " ({network})")?;
        }
        Ok(())
    }
}

/// `… non-2xx status code: 403 Forbidden: …` → 403 (object_store's message of a failed
/// request).
fn status_in(text: &str) -> Option<u16> {
    let (_, rest) = text.split_once("status code: ")?;
    rest.get(..3)?.parse().ok()
}

/// `<Code>NoSuchBucket</Code>` → `NoSuchBucket`; only an identifier is accepted, so nothing
/// but a code can come out of the body.
fn code_in(text: &str) -> Option<String> {
    let (_, rest) = text.split_once("<Code>")?;
    let (code, _) = rest.split_once("</Code>")?;
    (!code.is_empty() && code.len() <= 64 && code.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| code.to_owned())
}
