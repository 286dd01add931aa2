//! `DATABASE_URL`: which backend it selects, what the driver gets, and how it is shown.
//!
//! The rules, in order:
//!
//! * `sqlite://PATH` is an SQLite file;
//! * `mysql://…`, `postgres://…` and `postgresql://…` are servers;
//! * anything else that contains `://` or `:/` is a URL of a scheme we do not support (or
//!   a mistyped one, such as `mysql:/root:pw@host/db`) and is refused;
//! * everything else is the path of an SQLite file.
//!
//! A password is never shown: in the user info (even with an unencoded `@`, as in
//! `mysql://root:pa@ss/w0rd@host/db`, where the user info ends at the **last** `@` before
//! the host) and in query parameters such as `?password=…`. A URL that does not parse is
//! shown as `scheme://...` only.

use std::path::Path;
use std::time::Duration;

use super::error::DbError;

/// The default database: a SQLite file.
pub const DEFAULT_DATABASE_URL: &str = "storage/trader.db";

/// Default time allowed to open a connection (TCP, handshake, authentication).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time allowed to one database operation (a query or a transaction).
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which backend a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file.
    Sqlite,
    /// MySQL/MariaDB server.
    Mysql,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// `sqlite`, `mysql` or `postgres`, as printed by `trader db status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Mysql => "mysql",
            Backend::Postgres => "postgres",
        }
    }
}

/// How long database work may take before it is abandoned.
///
/// Every operation of a [`Store`](super::Store) runs on the store's own thread and is
/// waited for at most this long; a server that accepts TCP but never answers costs one
/// timeout, never a hang.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbTimeouts {
    /// Opening a connection (and, on top of it, one statement timeout for the migrations).
    pub connect: Duration,
    /// One operation: a query, or a whole transaction. Also SQLite's busy timeout and the
    /// servers' lock wait.
    pub statement: Duration,
}

impl Default for DbTimeouts {
    fn default() -> Self {
        DbTimeouts {
            connect: DEFAULT_CONNECT_TIMEOUT,
            statement: DEFAULT_STATEMENT_TIMEOUT,
        }
    }
}

/// A parsed `DATABASE_URL`, with the timeouts of the connections opened from it.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl {
    backend: Backend,
    /// What the driver gets: a file path for SQLite, a normalised URL for the servers.
    target: String,
    redacted: String,
    /// Secret values (decoded and as written), scrubbed from driver messages.
    secrets: Vec<String>,
    timeouts: DbTimeouts,
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DbUrl({:?}, {})", self.backend, self.redacted)
    }
}

/// Query parameters whose values are secrets.
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["pass", "pwd", "secret", "token", "key"]
        .iter()
        .any(|s| k.contains(s))
}

impl DbUrl {
    /// Parses `DATABASE_URL` (see the module docs for the rules).
    ///
    /// # Errors
    ///
    /// [`DbError::BadUrl`] for an empty text, an unsupported scheme, a malformed URL, or a
    /// server URL without host or database; the message shows the URL redacted.
    ///
    /// ```
    /// use ledger::{Backend, DbUrl};
    /// let u = DbUrl::parse("mysql://bot:s3cret@db:3306/trader").unwrap();
    /// assert_eq!(u.backend(), Backend::Mysql);
    /// assert_eq!(u.redacted(), "mysql://bot:***@db:3306/trader");
    /// let u = DbUrl::parse("postgres://bot:pa@ss@db/trader?password=x").unwrap();
    /// assert_eq!(u.redacted(), "postgres://bot:***@db/trader?password=***");
    /// assert_eq!(DbUrl::parse("sqlite://data/t.db").unwrap().redacted(), "data/t.db");
    /// assert!(DbUrl::parse("mysql:/root:pw@db/x").is_err());
    /// ```
    pub fn parse(raw: &str) -> Result<DbUrl, DbError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(bad("", "empty"));
        }
        if let Some(path) = raw.strip_prefix("sqlite://") {
            return Self::sqlite(path);
        }
        let scheme = raw.split(':').next().unwrap_or_default();
        let server_scheme = ["mysql", "postgres", "postgresql"]
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s));
        if !(raw.contains("://")
            || raw.contains(":/")
            || (server_scheme && raw.len() > scheme.len()))
        {
            return Self::sqlite(raw);
        }
        let scheme_ok = scheme.len() <= 20
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        let shown = if scheme_ok {
            format!("{scheme}://...")
        } else {
            "...".to_owned()
        };
        let backend = match scheme.to_ascii_lowercase().as_str() {
            "mysql" => Backend::Mysql,
            "postgres" | "postgresql" => Backend::Postgres,
            _ if scheme_ok => {
                return Err(bad(
                    &shown,
                    &format!(
                        "unsupported scheme {scheme:?} (use mysql://, postgres://, sqlite:// or a file path)"
                    ),
                ))
            }
            _ => return Err(bad(&shown, "not a URL nor a file path")),
        };
        let Some(rest) = raw[scheme.len()..].strip_prefix("://") else {
            return Err(bad(
                &shown,
                &format!("expected {scheme}://user:pass@host:port/database"),
            ));
        };
        Self::server(backend, scheme, rest, &shown)
    }

    fn sqlite(path: &str) -> Result<DbUrl, DbError> {
        if path.is_empty() {
            return Err(bad("sqlite://", "missing file path"));
        }
        Ok(DbUrl {
            backend: Backend::Sqlite,
            target: path.into(),
            redacted: path.into(),
            secrets: Vec::new(),
            timeouts: DbTimeouts::default(),
        })
    }

    /// `rest` is what follows `scheme://`.
    fn server(backend: Backend, scheme: &str, rest: &str, shown: &str) -> Result<DbUrl, DbError> {
        // The user info ends at the last `@` that is followed by `host/...`: an unencoded
        // `@` (or `/`) inside the password stays in the password.
        let at = rest
            .match_indices('@')
            .map(|(i, _)| i)
            .rev()
            .find(|&i| rest[i + 1..].contains('/'));
        let (userinfo, hostpart) = match at {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            Some(ui) => match ui.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (ui, None),
            },
            None => ("", None),
        };
        let mut secrets = Vec::new();
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            secrets.push(p.to_owned());
            secrets.push(percent_decode(p));
        }
        // Re-encode the user info so that the URL parser and the driver see the same
        // password as the user meant.
        let normalised = match userinfo {
            Some(_) => {
                let p = password.map_or(String::new(), |p| {
                    format!(":{}", encode(&percent_decode(p)))
                });
                format!("{scheme}://{}{p}@{hostpart}", encode(&percent_decode(user)))
            }
            None => format!("{scheme}://{hostpart}"),
        };
        // From here on, messages may show the host part but never the user info.
        let mut url = url::Url::parse(&normalised)
            .map_err(|e| bad(shown, &format!("not a valid URL ({e})")))?;
        for (k, v) in url.query_pairs() {
            if is_secret_key(&k) && !v.is_empty() {
                secrets.push(v.into_owned());
            }
        }
        let redacted = redact(&url);
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad(&redacted, "missing host"));
        }
        let db = url.path().trim_start_matches('/');
        if db.is_empty() || db.contains('/') {
            return Err(bad(
                &redacted,
                &format!("expected {scheme}://user:pass@host:port/database"),
            ));
        }
        url.set_fragment(None);
        secrets.sort();
        secrets.dedup();
        Ok(DbUrl {
            backend,
            target: url.into(),
            redacted,
            secrets,
            timeouts: DbTimeouts::default(),
        })
    }

    /// The same URL with other timeouts.
    pub fn with_timeouts(mut self, timeouts: DbTimeouts) -> DbUrl {
        self.timeouts = timeouts;
        self
    }

    /// The timeouts of the connections opened from this URL.
    pub fn timeouts(&self) -> DbTimeouts {
        self.timeouts
    }

    /// The backend the URL selects.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL with the password (and any secret query parameter) replaced by `***`.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// What the driver gets (holds the password: never print it).
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// Removes every secret from a driver message, in case the driver echoed one.
    pub(crate) fn scrub(&self, message: &str) -> String {
        let mut out = message.to_owned();
        // Longest first, so that a secret containing another is removed whole.
        let mut secrets: Vec<&String> = self.secrets.iter().collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for s in secrets {
            out = out.replace(s.as_str(), "***");
        }
        out
    }

    /// The SQLite file, if this is SQLite.
    pub fn sqlite_path(&self) -> Option<&Path> {
        (self.backend == Backend::Sqlite).then(|| Path::new(&self.target))
    }
}

fn bad(url: &str, reason: &str) -> DbError {
    DbError::BadUrl {
        url: url.into(),
        reason: reason.into(),
    }
}

/// The URL with the password and the secret query values replaced by `***`.
fn redact(url: &url::Url) -> String {
    let mut r = url.clone();
    if r.password().is_some() {
        // Fails only for URLs without a host, which are refused anyway.
        let _ = r.set_password(Some("***"));
    }
    if r.query().is_some() {
        let pairs: Vec<(String, String)> = r
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_key(&k) {
                    "***".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        let query = pairs
            .iter()
            .map(|(k, v)| {
                if v == "***" {
                    format!("{}=***", encode(k))
                } else {
                    format!("{}={}", encode(k), encode(v))
                }
            })
            .collect::<Vec<_>>()
            .join("&");
        r.set_query(Some(&query));
    }
    r.set_fragment(None);
    r.to_string()
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (the password as the server sees it).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[path = "url_tests.rs"]
mod tests;
