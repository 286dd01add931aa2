//! Issue 20: the commands that read (`portfolio`, `trades`, `portfolios`, `db status`, and
//! `db reset`, which deletes rows but never touches the schema) never migrate: on an
//! empty database they print one line naming `trader db migrate` and leave it without a
//! table. `trader db migrate` then creates the schema, and they work.
//! (Before, `trader db status` against PostgreSQL created the six tables.)

mod common;

use common::*;

const READ_ONLY: [&[&str]; 6] = [
    &["portfolio"],
    &["trades", "--json"],
    &["portfolios"],
    &["db", "status"],
    &["db", "reset", "--yes"],
    &["portfolio", "--portfolio", "alice"],
];

fn read_only_commands_never_migrate(backend: Backend, tables: impl Fn(&Env) -> Vec<String>) {
    let env = Env::on(backend, scenario(Some(120.0)));
    for args in READ_ONLY {
        let stderr = one_line_failure(&env.trader(args), 1);
        assert!(
            stderr.contains("is not ready for the trader")
                && stderr.contains("run `trader db migrate`"),
            "{args:?}: {stderr}"
        );
        assert_eq!(
            tables(&env),
            Vec::<String>::new(),
            "{args:?} created tables"
        );
    }

    let migrated = ok(&env.trader(&["db", "migrate"]));
    assert!(
        migrated.contains("is up to date: 3 migrations applied"),
        "{migrated}"
    );
    assert!(!tables(&env).is_empty());
    let status = ok(&env.trader(&["db", "status"]));
    assert!(status.contains("migrations: 3 applied"), "{status}");
    assert_eq!(env.json("portfolios")[0]["name"], "default");
    // Migrating again is a no-op that says the same.
    assert!(ok(&env.trader(&["db", "migrate"])).contains("3 migrations applied"));
}

fn server_tables(env: &Env) -> Vec<String> {
    match &env.db {
        Db::Server(db) => db.tables(),
        Db::Sqlite(_) => unreachable!("a server database"),
    }
}

#[test]
fn sqlite_read_only_commands_never_migrate() {
    read_only_commands_never_migrate(Backend::Sqlite, |env| match &env.db {
        // No file at all: a read-only command does not create one.
        Db::Sqlite(path) if !path.exists() => Vec::new(),
        Db::Sqlite(path) => vec![format!("{} exists", path.display())],
        Db::Server(_) => unreachable!("an SQLite database"),
    });
}

#[test]
fn mysql_read_only_commands_never_migrate() {
    read_only_commands_never_migrate(Backend::Mysql, server_tables);
}

#[test]
fn postgres_read_only_commands_never_migrate() {
    read_only_commands_never_migrate(Backend::Postgres, server_tables);
}
