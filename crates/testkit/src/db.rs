//! Scratch databases on the local servers: one fresh database per test, dropped after it.
//!
//! ```no_run
//! let db = testkit::db::ScratchDb::mysql("store_test");
//! // ... point the code under test at db.url() ...
//! assert!(db.url().starts_with("mysql://root@127.0.0.1:3306/store_test_"));
//! // dropped here: DROP DATABASE
//! ```

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::connection::SimpleConnection;
use diesel::{Connection, MysqlConnection, PgConnection, RunQueryDsl};

/// The MariaDB server the tests use (`root`, empty password).
pub const MYSQL_SERVER: &str = "mysql://root@127.0.0.1:3306";
/// The PostgreSQL server the tests use (`postgres`, trust).
pub const POSTGRES_SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// A database of its own on a local server, created by [`mysql`](Self::mysql) or
/// [`postgres`](Self::postgres) and dropped (with any connections left) on drop.
pub struct ScratchDb {
    admin: Admin,
    name: String,
}

enum Admin {
    Mysql(MysqlConnection),
    Postgres(PgConnection),
}

impl ScratchDb {
    /// A fresh database named `<prefix>_<pid>_<n>_<random>` on the MariaDB server.
    ///
    /// # Panics
    ///
    /// When the server is not reachable or refuses to create it (a test set-up failure,
    /// said in the message).
    pub fn mysql(prefix: &str) -> ScratchDb {
        let mut admin = MysqlConnection::establish(&format!("{MYSQL_SERVER}/mysql"))
            .unwrap_or_else(|e| {
                panic!("MariaDB is required on 127.0.0.1:3306 (root, empty password) for this test; make test starts it: {e}")
            });
        let name = unique_name(prefix);
        admin
            .batch_execute(&format!("CREATE DATABASE `{name}`"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on MariaDB: {e}"));
        ScratchDb {
            admin: Admin::Mysql(admin),
            name,
        }
    }

    /// A fresh database named `<prefix>_<pid>_<n>_<random>` on the PostgreSQL server.
    ///
    /// # Panics
    ///
    /// When the server is not reachable or refuses to create it.
    pub fn postgres(prefix: &str) -> ScratchDb {
        let mut admin = PgConnection::establish(&format!("{POSTGRES_SERVER}/postgres"))
            .unwrap_or_else(|e| {
                panic!("PostgreSQL is required on 127.0.0.1:5432 (postgres, trust) for this test; make test starts it: {e}")
            });
        let name = unique_name(prefix);
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on PostgreSQL: {e}"));
        ScratchDb {
            admin: Admin::Postgres(admin),
            name,
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the database (no password).
    pub fn url(&self) -> String {
        let server = match self.admin {
            Admin::Mysql(_) => MYSQL_SERVER,
            Admin::Postgres(_) => POSTGRES_SERVER,
        };
        format!("{server}/{}", self.name)
    }
}

impl ScratchDb {
    /// The names of the tables in the database, sorted (to check what a command created).
    ///
    /// # Panics
    ///
    /// When the server cannot be asked.
    pub fn tables(&self) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Table {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        let url = self.url();
        let ask = |sql: &str| -> Result<Vec<Table>, String> {
            let q = diesel::sql_query(sql);
            match self.admin {
                Admin::Mysql(_) => MysqlConnection::establish(&url)
                    .map_err(|e| e.to_string())
                    .and_then(|mut c| q.load(&mut c).map_err(|e| e.to_string())),
                Admin::Postgres(_) => PgConnection::establish(&url)
                    .map_err(|e| e.to_string())
                    .and_then(|mut c| q.load(&mut c).map_err(|e| e.to_string())),
            }
        };
        let (name, schema) = match self.admin {
            Admin::Mysql(_) => ("CAST(table_name AS CHAR)", "DATABASE()"),
            Admin::Postgres(_) => ("CAST(table_name AS TEXT)", "current_schema()"),
        };
        let mut names: Vec<String> = ask(&format!(
            "SELECT {name} AS name FROM information_schema.tables WHERE table_schema = {schema}"
        ))
        .unwrap_or_else(|e| panic!("list the tables of {}: {e}", self.name))
        .into_iter()
        .map(|t| t.name)
        .collect();
        names.sort();
        names
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let name = &self.name;
        // Best effort: a database left behind only costs disk on a test server.
        let _ = match &mut self.admin {
            Admin::Mysql(a) => a.batch_execute(&format!("DROP DATABASE IF EXISTS `{name}`")),
            Admin::Postgres(a) => {
                a.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            }
        };
    }
}

/// Unique across the tests of all processes running at once: the process id, a counter
/// within the process, and a random part (a pid can be reused by a later run whose drop
/// did not happen).
fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!(
        "{prefix}_{}_{n}_{:08x}",
        std::process::id(),
        fastrand::u32(..)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_unique_and_safe_unquoted() {
        let a = super::unique_name("t");
        let b = super::unique_name("t");
        assert_ne!(a, b);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
    }
}
