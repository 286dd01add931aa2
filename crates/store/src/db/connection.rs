//! Choosing and opening the backend from `DATABASE_URL`, and running the migrations.

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{MysqlConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::error::DbError;

/// SQLite schema, embedded at build time.
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
/// MySQL/MariaDB schema, embedded at build time.
const MYSQL_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/mysql");

/// The default database: a SQLite file.
pub const DEFAULT_DATABASE_URL: &str = "storage/trader.db";

/// One connection type for both backends, so the queries are written once.
///
/// Built by [`connect`], which picks the variant from the URL scheme itself (Diesel's
/// derived `establish` tries the variants in order and hides the MySQL error).
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// An SQLite file (bundled SQLite).
    Sqlite(SqliteConnection),
    /// A MySQL or MariaDB server.
    Mysql(MysqlConnection),
}

/// Which backend a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file.
    Sqlite,
    /// MySQL/MariaDB server.
    Mysql,
}

/// A parsed `DATABASE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl {
    backend: Backend,
    /// What the driver gets: a file path for SQLite, the full URL for MySQL.
    target: String,
    redacted: String,
    password: Option<String>,
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DbUrl({:?}, {})", self.backend, self.redacted)
    }
}

impl DbUrl {
    /// Parses `DATABASE_URL`: `mysql://user:pass@host:port/db` is MySQL; `sqlite://path`
    /// or a plain path is an SQLite file; any other `scheme://` is refused.
    ///
    /// ```
    /// use store::db::{Backend, DbUrl};
    /// let u = DbUrl::parse("mysql://bot:s3cret@db:3306/trader").unwrap();
    /// assert_eq!(u.backend(), Backend::Mysql);
    /// assert_eq!(u.redacted(), "mysql://bot:***@db:3306/trader");
    /// assert_eq!(DbUrl::parse("sqlite://data/t.db").unwrap().redacted(), "data/t.db");
    /// ```
    pub fn parse(raw: &str) -> Result<DbUrl, DbError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(DbError::BadUrl {
                url: String::new(),
                reason: "empty".into(),
            });
        }
        if let Some(path) = raw.strip_prefix("sqlite://") {
            return Self::sqlite(path);
        }
        if raw.starts_with("mysql://") {
            return Self::mysql(raw);
        }
        if let Some((scheme, _)) = raw.split_once("://") {
            if !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            {
                return Err(DbError::BadUrl {
                    url: format!("{scheme}://..."),
                    reason: format!(
                        "unsupported scheme {scheme:?} (use mysql://, sqlite:// or a file path)"
                    ),
                });
            }
        }
        Self::sqlite(raw)
    }

    fn sqlite(path: &str) -> Result<DbUrl, DbError> {
        if path.is_empty() {
            return Err(DbError::BadUrl {
                url: "sqlite://".into(),
                reason: "missing file path".into(),
            });
        }
        Ok(DbUrl {
            backend: Backend::Sqlite,
            target: path.into(),
            redacted: path.into(),
            password: None,
        })
    }

    fn mysql(raw: &str) -> Result<DbUrl, DbError> {
        // Never echo an unparsable URL: it may hold a password.
        let bad = |reason: &str| DbError::BadUrl {
            url: "mysql://...".into(),
            reason: reason.into(),
        };
        let mut url = url::Url::parse(raw).map_err(|e| bad(&format!("not a valid URL ({e})")))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("missing host"));
        }
        let password = url.password().map(percent_decode);
        let mut redacted = url.clone();
        if password.is_some() {
            // Cannot fail: the URL has a host.
            let _ = redacted.set_password(Some("***"));
        }
        let redacted = redacted.to_string();
        let db = url.path().trim_start_matches('/');
        if db.is_empty() || db.contains('/') {
            return Err(DbError::BadUrl {
                url: redacted,
                reason: "expected mysql://user:pass@host:port/database".into(),
            });
        }
        url.set_fragment(None);
        Ok(DbUrl {
            backend: Backend::Mysql,
            target: url.into(),
            redacted,
            password: password.filter(|p| !p.is_empty()),
        })
    }

    /// The backend the URL selects.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL with the password replaced by `***` (safe to log).
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// Removes the password from a driver message, in case the driver echoed it.
    pub(crate) fn scrub(&self, message: &str) -> String {
        match &self.password {
            Some(p) => message.replace(p.as_str(), "***"),
            None => message.to_owned(),
        }
    }

    /// The SQLite file, if this is SQLite.
    pub fn sqlite_path(&self) -> Option<&Path> {
        (self.backend == Backend::Sqlite).then(|| Path::new(&self.target))
    }
}

/// Opens the database and runs the pending migrations of its backend.
///
/// SQLite: the parent directories of the file are created; foreign keys are enforced, a
/// busy timeout is set, and the journal is WAL with `synchronous = NORMAL`. MySQL: the server must be up and the database must exist.
pub fn connect(url: &DbUrl) -> Result<DbConnection, DbError> {
    let connect_err = |e: diesel::ConnectionError| DbError::Connect {
        url: url.redacted.clone(),
        message: url.scrub(&e.to_string()),
    };
    let mut conn = match url.backend {
        Backend::Sqlite => {
            create_parent(Path::new(&url.target))?;
            let mut c = SqliteConnection::establish(&url.target).map_err(connect_err)?;
            // WAL + synchronous=NORMAL: a commit is one append to the WAL without fsync
            // (the database stays consistent on power loss; the last commits may be lost,
            // trade and position together). Readers (`trader portfolio`) never block
            // the writer.
            c.batch_execute(
                "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                 PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
            )
            .map_err(|source| DbError::Query {
                url: url.redacted.clone(),
                source,
            })?;
            DbConnection::Sqlite(c)
        }
        Backend::Mysql => {
            DbConnection::Mysql(MysqlConnection::establish(&url.target).map_err(connect_err)?)
        }
    };
    let applied = match &mut conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Mysql(c) => c.run_pending_migrations(MYSQL_MIGRATIONS).map(|v| v.len()),
    }
    .map_err(|e| DbError::Migration {
        url: url.redacted.clone(),
        message: url.scrub(&e.to_string()),
    })?;
    if applied > 0 {
        log::info!(
            "applied {applied} database migration(s) to {}",
            url.redacted
        );
    }
    Ok(conn)
}

/// Decodes `%XX` escapes (the password as the server sees it, to scrub messages).
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

fn create_parent(file: &Path) -> Result<(), DbError> {
    if file.as_os_str() == ":memory:" {
        return Ok(());
    }
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                path: PathBuf::from(dir),
                source,
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_table() {
        // (input, backend or None for an error, redacted / error text must not hold "pw")
        let cases: &[(&str, Option<Backend>, &str)] = &[
            (
                "storage/trader.db",
                Some(Backend::Sqlite),
                "storage/trader.db",
            ),
            (
                "sqlite://storage/x.db",
                Some(Backend::Sqlite),
                "storage/x.db",
            ),
            ("sqlite:///tmp/abs.db", Some(Backend::Sqlite), "/tmp/abs.db"),
            ("/var/lib/t.db", Some(Backend::Sqlite), "/var/lib/t.db"),
            (
                "mysql://root@127.0.0.1:3306/t",
                Some(Backend::Mysql),
                "mysql://root@127.0.0.1:3306/t",
            ),
            (
                "mysql://u:pw@db:3306/t",
                Some(Backend::Mysql),
                "mysql://u:***@db:3306/t",
            ),
            (
                "mysql://u:p%40w@db/t",
                Some(Backend::Mysql),
                "mysql://u:***@db/t",
            ),
            ("mysql://u:pw@db:3306/", None, "mysql://u:***@db:3306/"),
            ("mysql://u:pw@:3306/t", None, "mysql://..."),
            ("mysql://u:pw@db:notaport/t", None, "mysql://..."),
            ("postgres://u:pw@db/t", None, "postgres://..."),
            ("sqlite://", None, "sqlite://"),
            ("", None, ""),
        ];
        for (raw, backend, shown) in cases {
            match (DbUrl::parse(raw), backend) {
                (Ok(u), Some(b)) => {
                    assert_eq!(u.backend(), *b, "{raw}");
                    assert_eq!(u.redacted(), *shown, "{raw}");
                }
                (Err(e), None) => {
                    let DbError::BadUrl { url, .. } = &e else {
                        panic!("{raw}: {e}")
                    };
                    assert_eq!(url, shown, "{raw}");
                    assert!(!e.to_string().contains("pw"), "{raw}: {e}");
                    assert!(e.is_config());
                }
                (r, _) => panic!("{raw}: unexpected {r:?}"),
            }
        }
    }

    #[test]
    fn scrub_removes_the_decoded_password() {
        let u = DbUrl::parse("mysql://u:p%40ss@db/t").expect("url");
        assert_eq!(
            u.scrub("Access denied, password p@ss"),
            "Access denied, password ***"
        );
        assert!(!format!("{u:?}").contains("p%40ss"));
    }

    #[test]
    fn sqlite_creates_parent_dirs_and_migrates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b/trader.db");
        let url = DbUrl::parse(&format!("sqlite://{}", path.display())).expect("url");
        connect(&url).expect("connect");
        assert!(path.exists());
        // Running again applies nothing and succeeds.
        connect(&url).expect("reconnect");
    }

    #[test]
    fn unreachable_mysql_is_a_connect_error_without_password() {
        // Port 1 on loopback: refused immediately.
        let url = DbUrl::parse("mysql://bot:hunter2@127.0.0.1:1/trader").expect("url");
        let err = connect(&url).err().expect("must fail");
        assert!(matches!(err, DbError::Connect { .. }), "{err}");
        let text = err.to_string();
        assert!(
            !text.contains("hunter2") && text.contains("mysql://bot:***@127.0.0.1:1/trader"),
            "{text}"
        );
    }
}
