//! Opening the backend a [`DbUrl`] selects, setting its session up, and running the
//! migrations of that backend under a lock.
//!
//! Diesel's derived `MultiConnection::establish` tries the backends in order and hides
//! the real error, so the variant is chosen from the URL scheme here.
//!
//! Concurrent starts (two `trader --once` at the same moment on a fresh database) must not
//! race on the migrations: SQLite runs them inside one `BEGIN IMMEDIATE` transaction (the
//! second process waits for the write lock, then finds nothing to do), MySQL/MariaDB under
//! `GET_LOCK` (named after the database), PostgreSQL under a transaction-level advisory lock.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{MysqlConnection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::error::DbError;
use super::url::{Backend, DbUrl};

/// SQLite schema, embedded at build time.
pub(crate) const SQLITE_MIGRATIONS: EmbeddedMigrations =
    embed_migrations!("../../migrations/sqlite");
/// MySQL/MariaDB schema, embedded at build time.
pub(crate) const MYSQL_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/mysql");
/// PostgreSQL schema, embedded at build time.
pub(crate) const POSTGRES_MIGRATIONS: EmbeddedMigrations =
    embed_migrations!("../../migrations/postgres");

/// One connection type for the three backends, so the queries are written once.
///
/// Built by [`connect`], which picks the variant from the URL scheme itself.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// An SQLite file (bundled SQLite).
    Sqlite(SqliteConnection),
    /// A MySQL or MariaDB server.
    Mysql(MysqlConnection),
    /// A PostgreSQL server.
    Postgres(PgConnection),
}

/// Opens the database, sets its session up and runs the pending migrations of its backend.
///
/// SQLite: the parent directories of the file are created; foreign keys are enforced, the
/// busy timeout is the URL's statement timeout, and the journal is WAL with
/// `synchronous = NORMAL`. The servers must be up and the database must exist; the lock
/// waits are bounded by the statement timeout.
///
/// This call itself has no deadline (a server that never answers blocks it);
/// [`Store`](super::Store) runs it on its own thread and gives up after the timeouts.
///
/// # Errors
///
/// [`DbError::CreateDir`] (SQLite: the file's directory), [`DbError::Connect`] or
/// [`DbError::Migration`].
pub fn connect(url: &DbUrl) -> Result<DbConnection, DbError> {
    let mut conn = establish(url)?;
    migrate(&mut conn, url)?;
    Ok(conn)
}

/// Whole milliseconds, at least 1.
fn millis(d: Duration) -> u128 {
    d.as_millis().max(1)
}

/// Whole seconds rounded up, at least 1.
fn secs_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0).max(u64::from(d.is_zero()))
}

pub(crate) fn establish(url: &DbUrl) -> Result<DbConnection, DbError> {
    let connect_err = |e: diesel::ConnectionError| DbError::Connect {
        url: url.redacted().to_owned(),
        message: url.scrub(&e.to_string()),
    };
    let session_err = |source| DbError::Query {
        url: url.redacted().to_owned(),
        cause: source,
    };
    let t = url.timeouts();
    Ok(match url.backend() {
        Backend::Sqlite => {
            create_parent(Path::new(url.target()))?;
            let mut c = SqliteConnection::establish(url.target()).map_err(connect_err)?;
            sqlite_session(&mut c, t.statement, url).map_err(session_err)?;
            DbConnection::Sqlite(c)
        }
        Backend::Mysql => {
            let mut c = MysqlConnection::establish(url.target()).map_err(connect_err)?;
            c.batch_execute(&format!(
                "SET SESSION innodb_lock_wait_timeout = {}",
                secs_up(t.statement)
            ))
            .map_err(session_err)?;
            DbConnection::Mysql(c)
        }
        Backend::Postgres => {
            // libpq's own connect timeout (whole seconds), unless the URL sets one.
            let mut target = url::Url::parse(url.target()).map_err(|e| DbError::BadUrl {
                url: url.redacted().to_owned(),
                reason: e.to_string(),
            })?;
            if !target.query_pairs().any(|(k, _)| k == "connect_timeout") {
                target
                    .query_pairs_mut()
                    .append_pair("connect_timeout", &secs_up(t.connect).to_string());
            }
            let mut c = PgConnection::establish(target.as_str()).map_err(connect_err)?;
            c.batch_execute(&format!(
                "SET statement_timeout = {ms}; SET lock_timeout = {ms}; \
                 SET client_min_messages = WARNING;",
                ms = millis(t.statement)
            ))
            .map_err(session_err)?;
            DbConnection::Postgres(c)
        }
    })
}

/// SQLite's session: the busy timeout first (every later statement waits that long for a
/// lock), foreign keys, then WAL with `synchronous = NORMAL`.
///
/// WAL + `synchronous = NORMAL`: a commit is one append to the WAL without fsync (the
/// database stays consistent on power loss; the last commits may be lost, trade and
/// position together). Readers (`trader portfolio`) never block the writer; a writer waits
/// up to the statement timeout for another.
///
/// Switching a fresh file to WAL needs its exclusive lock, and SQLite does not always wait
/// for it: when this connection holds the read lock and another holds the write lock
/// (another process inside its `BEGIN IMMEDIATE` migration), SQLite answers `SQLITE_BUSY`
/// at once instead of calling the busy handler, since waiting could deadlock
/// (<https://sqlite.org/c3ref/busy_handler.html>). So the switch is retried here until the
/// timeout. The mode is stored in the file: once one connection switched it, the others
/// find WAL already set. A file system without WAL support (no shared memory) keeps its
/// journal mode, with a warning.
fn sqlite_session(
    c: &mut SqliteConnection,
    timeout: Duration,
    url: &DbUrl,
) -> Result<(), diesel::result::Error> {
    c.batch_execute(&format!(
        "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON;",
        millis(timeout)
    ))?;
    let deadline = Instant::now() + timeout;
    // Jittered: the connections that collided here must not retry in lockstep.
    let mut pause = events::Backoff::new(Duration::from_millis(2), Duration::from_millis(100));
    let mode = loop {
        match set_wal(c) {
            Ok(mode) => break mode,
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                let left = deadline.saturating_duration_since(Instant::now());
                std::thread::sleep(pause.next_delay().min(left));
            }
            Err(e) => return Err(e),
        }
    };
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        log::warn!(
            "{} stays in SQLite journal mode {mode}: WAL is not available on its file system",
            url.redacted()
        );
    }
    c.batch_execute("PRAGMA synchronous = NORMAL;")
}

/// `PRAGMA journal_mode = WAL`, answering the mode the file is in afterwards.
fn set_wal(c: &mut SqliteConnection) -> Result<String, diesel::result::Error> {
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    diesel::sql_query("PRAGMA journal_mode = WAL")
        .get_result::<Mode>(c)
        .map(|m| m.journal_mode)
}

/// SQLite's `SQLITE_BUSY` (any extended code): diesel has no kind for it, and SQLite's
/// message for it is fixed (`sqlite3_errstr`).
fn is_busy(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(_, info) if info.message() == "database is locked")
}

/// Why the migrations failed, inside the locking transaction.
#[derive(Debug)]
enum MigrateError {
    Db(diesel::result::Error),
    Migration(String),
}

impl From<diesel::result::Error> for MigrateError {
    fn from(e: diesel::result::Error) -> Self {
        MigrateError::Db(e)
    }
}

fn run<B: diesel::backend::Backend>(
    c: &mut impl MigrationHarness<B>,
    m: EmbeddedMigrations,
) -> Result<usize, MigrateError> {
    c.run_pending_migrations(m)
        .map(|v| v.len())
        .map_err(|e| MigrateError::Migration(e.to_string()))
}

fn migrate(conn: &mut DbConnection, url: &DbUrl) -> Result<(), DbError> {
    let lock_secs = secs_up(url.timeouts().statement);
    let applied = match conn {
        DbConnection::Sqlite(c) => c.immediate_transaction(|c| run(c, SQLITE_MIGRATIONS)),
        DbConnection::Mysql(c) => mysql_locked(c, lock_secs),
        DbConnection::Postgres(c) => c.transaction(|c| {
            // Released at commit or rollback; waits at most lock_timeout.
            diesel::sql_query("SELECT pg_advisory_xact_lock(7215011)").execute(c)?;
            run(c, POSTGRES_MIGRATIONS)
        }),
    };
    let applied = applied.map_err(|e| DbError::Migration {
        url: url.redacted().to_owned(),
        message: url.scrub(&match e {
            MigrateError::Db(e) => e.to_string(),
            MigrateError::Migration(m) => m,
        }),
    })?;
    if applied > 0 {
        log::info!(
            "applied {applied} database migration(s) to {}",
            url.redacted()
        );
    }
    Ok(())
}

/// MySQL DDL is not transactional: a named lock, per database, serialises the migrations.
fn mysql_locked(c: &mut MysqlConnection, lock_secs: u64) -> Result<usize, MigrateError> {
    use diesel::sql_types::{Integer, Nullable};
    let got: Option<i32> = diesel::select(diesel::dsl::sql::<Nullable<Integer>>(&format!(
        "GET_LOCK(CONCAT('trader_migrations:', DATABASE()), {lock_secs})"
    )))
    .get_result(c)?;
    if got != Some(1) {
        return Err(MigrateError::Migration(format!(
            "another process held the migration lock for more than {lock_secs} s"
        )));
    }
    let res = run(c, MYSQL_MIGRATIONS);
    c.batch_execute("DO RELEASE_LOCK(CONCAT('trader_migrations:', DATABASE()))")?;
    res
}

/// The migrations this build embeds for the connection's backend, as (version, name).
fn embedded(conn: &DbConnection) -> Result<Vec<(String, String)>, String> {
    use diesel::migration::{Migration, MigrationSource};
    fn list<B: diesel::backend::Backend>(
        m: &dyn MigrationSource<B>,
    ) -> Result<Vec<(String, String)>, String> {
        let all: Vec<Box<dyn Migration<B>>> = m.migrations().map_err(|e| e.to_string())?;
        Ok(all
            .iter()
            .map(|m| (m.name().version().to_string(), m.name().to_string()))
            .collect())
    }
    match conn {
        DbConnection::Sqlite(_) => list::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS),
        DbConnection::Mysql(_) => list::<diesel::mysql::Mysql>(&MYSQL_MIGRATIONS),
        DbConnection::Postgres(_) => list::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS),
    }
}

/// The versions recorded in Diesel's `__diesel_schema_migrations`, or `None` when the
/// table does not exist. Read with plain queries: Diesel's own `applied_migrations`
/// creates the table when it is missing, and a read-only command must not.
fn applied_versions(conn: &mut DbConnection) -> Result<Option<Vec<String>>, diesel::result::Error> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let exists = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT COUNT(*) AS n FROM sqlite_master \
             WHERE type = 'table' AND name = '__diesel_schema_migrations'"
        }
        DbConnection::Mysql(_) => {
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = '__diesel_schema_migrations'"
        }
        DbConnection::Postgres(_) => {
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '__diesel_schema_migrations'"
        }
    };
    if diesel::sql_query(exists).get_result::<Count>(conn)?.n == 0 {
        return Ok(None);
    }
    let rows = diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
        .load::<Version>(conn)?;
    Ok(Some(rows.into_iter().map(|r| r.version).collect()))
}

/// Names of the applied migrations (directory names, e.g. `2026-11-23-000000_create_trader`,
/// or the bare version for one this build does not embed), oldest first. Never writes.
pub(crate) fn applied_migrations(conn: &mut DbConnection) -> Result<Vec<String>, String> {
    let embedded = embedded(conn)?;
    let versions = applied_versions(conn)
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let mut names: Vec<String> = versions
        .into_iter()
        .map(|v| {
            embedded
                .iter()
                .find(|(ev, _)| *ev == v)
                .map_or(v, |(_, name)| name.clone())
        })
        .collect();
    names.sort();
    Ok(names)
}

/// Opens the database as [`connect`] does, but never migrates it: for the commands that
/// only read (and `trader db reset`, which deletes rows but never touches the schema).
///
/// SQLite: a missing file is not created. A database without the trader's schema, or
/// with migrations of this build not applied yet, is [`DbError::NotMigrated`], naming
/// them and the fix; nothing has been written to it.
///
/// # Errors
///
/// [`DbError::NotMigrated`], [`DbError::Connect`], or [`DbError::Query`] when the
/// migration history cannot be read.
pub fn connect_existing(url: &DbUrl) -> Result<DbConnection, DbError> {
    let not_migrated = |detail: String| DbError::NotMigrated {
        url: url.redacted().to_owned(),
        detail,
    };
    if url.backend() == Backend::Sqlite
        && url.target() != ":memory:"
        && !Path::new(url.target()).exists()
    {
        return Err(not_migrated("the SQLite file does not exist".into()));
    }
    let mut conn = establish(url)?;
    let query_err = |e| DbError::Query {
        url: url.redacted().to_owned(),
        cause: e,
    };
    let Some(applied) = applied_versions(&mut conn).map_err(query_err)? else {
        return Err(not_migrated("it has no trader schema".into()));
    };
    let embedded = embedded(&conn).map_err(|m| DbError::Migration {
        url: url.redacted().to_owned(),
        message: m,
    })?;
    let pending: Vec<&str> = embedded
        .iter()
        .filter(|(v, _)| !applied.contains(v))
        .map(|(_, name)| name.as_str())
        .collect();
    if !pending.is_empty() {
        return Err(not_migrated(format!(
            "{} migration(s) not applied yet: {}",
            pending.len(),
            pending.join(", ")
        )));
    }
    Ok(conn)
}

fn create_parent(file: &Path) -> Result<(), DbError> {
    if file.as_os_str() == ":memory:" {
        return Ok(());
    }
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                path: PathBuf::from(dir),
                cause: source,
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_creates_parent_dirs_and_migrates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b/trader.db");
        let url = DbUrl::parse(&format!("sqlite://{}", path.display())).expect("url");
        let mut c = connect(&url).expect("connect");
        assert!(path.exists());
        assert_eq!(applied_migrations(&mut c).expect("applied").len(), 3);
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

    /// Many connections opening one fresh file at the same instant: each switches it to WAL
    /// (or finds it switched) and the migrations run once, none gets "database is locked".
    #[test]
    fn simultaneous_opens_of_a_fresh_sqlite_file_all_succeed() {
        let dir = tempfile::tempdir().expect("tempdir");
        for round in 0..15 {
            let path = dir.path().join(format!("r{round}.db"));
            let url = DbUrl::parse(&format!("sqlite://{}", path.display()))
                .expect("url")
                .with_timeouts(crate::DbTimeouts {
                    connect: Duration::from_secs(20),
                    statement: Duration::from_secs(20),
                });
            let start = std::sync::Arc::new(std::sync::Barrier::new(8));
            let opened: Vec<_> = (0..8)
                .map(|_| {
                    let (url, start) = (url.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        connect(&url).map(|_| ()).map_err(|e| e.to_string())
                    })
                })
                .collect();
            for h in opened {
                if let Err(e) = h.join().expect("thread") {
                    panic!("round {round}: open: {e}");
                }
            }
            let mut c = connect(&url).expect("reopen");
            assert_eq!(applied_migrations(&mut c).expect("applied").len(), 3);
            let DbConnection::Sqlite(c) = &mut c else {
                unreachable!("an sqlite URL")
            };
            assert_eq!(set_wal(c).expect("mode"), "wal");
        }
    }

    #[test]
    fn busy_is_told_from_other_errors() {
        use diesel::result::{DatabaseErrorKind, Error};
        let locked = Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("database is locked".to_owned()),
        );
        let other = Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("disk I/O error".to_owned()),
        );
        assert!(is_busy(&locked));
        assert!(!is_busy(&other));
        assert!(!is_busy(&Error::NotFound));
    }

    #[test]
    fn secs_and_millis_round_up() {
        assert_eq!(secs_up(Duration::from_millis(1500)), 2);
        assert_eq!(secs_up(Duration::from_secs(3)), 3);
        assert_eq!(secs_up(Duration::ZERO), 1);
        assert_eq!(millis(Duration::ZERO), 1);
    }
}
