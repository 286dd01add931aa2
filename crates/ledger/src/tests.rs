//! Round trips against real databases: SQLite in a temp dir, the MariaDB server on
//! 127.0.0.1:3306 (root, empty password) and the PostgreSQL server on 127.0.0.1:5432
//! (postgres, trust), each in a fresh database dropped afterwards. The server tests FAIL
//! when the server is not reachable: `make test`'s set-up starts them.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use diesel_migrations::MigrationHarness;
use portfolio::Position;
use testkit::db::ScratchDb;

use super::connection::{establish, MYSQL_MIGRATIONS, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use super::*;

fn obs(id: &str, price: Option<f64>) -> MarketObservation {
    MarketObservation {
        coin_id: id.into(),
        symbol: id[..3].into(),
        name: id.to_uppercase(),
        figures: MarketFigures {
            current_price: price,
            market_cap: Some(1e12),
            market_cap_rank: Some(1),
            total_volume: None,
            // A fraction of a second: stored in whole seconds (MySQL would round it up).
            last_updated: Some(
                Utc.with_ymd_and_hms(2026, 11, 23, 18, 59, 1)
                    .unwrap()
                    .naive_utc()
                    + chrono::Duration::milliseconds(700),
            ),
            avg_price_10d: Some(100.0),
        },
    }
}

fn buy(portfolio: &str, coin: &str, price: f64, at: chrono::DateTime<Utc>) -> NewTrade {
    NewTrade {
        portfolio: portfolio.into(),
        coin_id: coin.into(),
        side: portfolio::Side::Buy,
        quantity: 1.0,
        price,
        executed_at: at,
        fee: 0.5,
        price_source: "coingecko:markets.current_price".into(),
        price_at: Some(at - chrono::Duration::seconds(30)),
    }
}

fn add(price: f64) -> impl PositionUpdate {
    move |p: Position| {
        Ok(Position {
            avg_cost: (p.quantity * p.avg_cost + price) / (p.quantity + 1.0),
            quantity: p.quantity + 1.0,
            ..p
        })
    }
}

fn counts(portfolios: i64, coins: i64, snapshots: i64, trades: i64, positions: i64) -> RowCounts {
    RowCounts {
        portfolios,
        coins,
        snapshots,
        trades,
        positions,
    }
}

/// The same scenario on any backend.
fn scenario(store: &mut Store) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 19, 5, 0).unwrap();
    store
        .record_markets(&[obs("bitcoin", Some(90.0)), obs("ethereum", None)], t0)
        .expect("markets");
    // The migration created 'default'.
    assert_eq!(store.row_counts().expect("counts"), counts(1, 2, 2, 0, 0));
    // The figures come back as written, in the struct they were written from.
    let snaps = store.snapshots("ethereum").expect("snapshots");
    let mut want = obs("ethereum", None).figures;
    want.last_updated = want.last_updated.map(|t| db_time(t.and_utc()));
    assert_eq!(
        want.last_updated.unwrap().to_string(),
        "2026-11-23 18:59:01"
    );
    assert_eq!(snaps.len(), 1, "{snaps:?}");
    assert_eq!(
        (
            snaps[0].coin_id.as_str(),
            snaps[0].fetched_at,
            &snaps[0].figures
        ),
        ("ethereum", db_time(t0), &want)
    );

    let r = store
        .record_trade(&buy("default", "bitcoin", 90.0, t0), add(90.0))
        .expect("trade");
    assert!(
        matches!(&r, TradeOutcome::Recorded(p) if p.quantity == 1.0 && p.avg_cost == 90.0),
        "{r:?}"
    );
    // A position update that refuses the held position (here: a sale of more than is
    // held) is an error, and the trade goes with it: nothing written, the slot still free.
    let refused = store.record_trade(&buy("default", "ethereum", 10.0, t0), |held: Position| {
        Err(portfolio::PositionError::Oversold {
            held: held.quantity,
            sell: 1.0,
        })
    });
    assert!(matches!(refused, Err(DbError::Position(_))), "{refused:?}");
    assert_eq!(store.row_counts().expect("counts").trades, 1);
    assert!(store
        .positions("default")
        .expect("positions")
        .iter()
        .all(|p| p.coin_id != "ethereum"));
    // Same hour, later: refused by the unique key, nothing written.
    let again = store.record_trade(
        &buy(
            "default",
            "bitcoin",
            80.0,
            t0 + chrono::Duration::minutes(50),
        ),
        add(80.0),
    );
    assert_eq!(
        again.expect("dup is not an error"),
        TradeOutcome::AlreadyTradedThisSlot
    );
    assert_eq!(store.row_counts().expect("counts").trades, 1);
    // Another portfolio may buy the same coin in the same hour, once.
    let other = store
        .record_trade(&buy("other", "bitcoin", 85.0, t0), add(85.0))
        .expect("other");
    assert!(matches!(other, TradeOutcome::Recorded(_)), "{other:?}");
    assert_eq!(
        store
            .record_trade(&buy("other", "bitcoin", 85.0, t0), add(85.0))
            .expect("dup"),
        TradeOutcome::AlreadyTradedThisSlot
    );

    // Next hour: a second buy moves the average cost.
    let t1 = t0 + chrono::Duration::hours(1);
    store
        .record_markets(&[obs("bitcoin", Some(70.0))], t1)
        .expect("markets");
    store
        .record_trade(&buy("default", "bitcoin", 70.0, t1), add(70.0))
        .expect("trade");

    let pos = store.positions("default").expect("positions");
    assert_eq!(pos.len(), 1);
    assert_eq!(
        (
            pos[0].symbol.as_str(),
            pos[0].quantity,
            pos[0].avg_cost,
            pos[0].last_price
        ),
        ("bit", 2.0, 80.0, Some(70.0))
    );
    let other_pos = store.positions("other").expect("positions");
    assert_eq!((other_pos[0].quantity, other_pos[0].avg_cost), (1.0, 85.0));
    let trades = store.trades("default").expect("trades");
    let got: Vec<(String, f64, String, f64, Option<String>)> = trades
        .iter()
        .map(|t| {
            (
                t.coin_id.clone(),
                t.price,
                t.executed_at.to_string(),
                t.fee,
                t.price_at.map(|p| p.to_string()),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "bitcoin".to_owned(),
                90.0,
                "2026-11-23 19:05:00".to_owned(),
                0.5,
                Some("2026-11-23 19:04:30".to_owned())
            ),
            (
                "bitcoin".to_owned(),
                70.0,
                "2026-11-23 20:05:00".to_owned(),
                0.5,
                Some("2026-11-23 20:04:30".to_owned())
            )
        ]
    );
    assert_eq!(trades[0].price_source, "coingecko:markets.current_price");
    assert_eq!(store.row_counts().expect("counts"), counts(2, 2, 3, 3, 2));
    let names: Vec<(String, i64, i64)> = store
        .portfolios()
        .expect("portfolios")
        .into_iter()
        .map(|p| (p.name, p.trades, p.open_positions))
        .collect();
    assert_eq!(
        names,
        [("default".to_owned(), 2, 1), ("other".to_owned(), 1, 1)]
    );
    // A trade for an unknown coin violates the foreign key: an error, not a duplicate.
    let bad = store.record_trade(&buy("default", "nope", 1.0, t1), add(1.0));
    assert!(matches!(bad, Err(DbError::Query { .. })), "{bad:?}");
    assert_eq!(store.row_counts().expect("counts").trades, 3);

    // Status: both migrations, the same counts.
    let status = store.status().expect("status");
    assert_eq!(status.migrations.len(), 3, "{status:?}");
    assert_eq!(status.rows, counts(2, 2, 3, 3, 2));

    // Reset one portfolio: its trades, positions and row, nothing else.
    let deleted = store
        .reset(&ResetScope::Portfolio("other".into()))
        .expect("reset other");
    assert_eq!(deleted, counts(1, 0, 0, 1, 1));
    assert_eq!(store.row_counts().expect("counts"), counts(1, 2, 3, 2, 1));
    assert_eq!(store.trades("default").expect("trades").len(), 2);
    // Reset everything.
    let deleted = store.reset(&ResetScope::All).expect("reset all");
    assert_eq!(deleted, counts(1, 2, 3, 2, 1));
    assert_eq!(store.row_counts().expect("counts"), RowCounts::default());
}

#[test]
fn sqlite_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store =
        Store::open(dir.path().join("t.db").to_str().expect("utf8 path")).expect("open");
    assert_eq!(store.backend(), Backend::Sqlite);
    scenario(&mut store);
}

/// The side is read back as a `portfolio::Side`; a stored text that is no side is a query
/// error that quotes it, never a silent default.
#[test]
fn sides_are_typed_and_a_foreign_side_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.db");
    let mut store = Store::open(path.to_str().expect("utf8 path")).expect("open");
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 19, 5, 0).unwrap();
    store
        .record_markets(&[obs("bitcoin", Some(90.0))], t0)
        .expect("markets");
    store
        .record_trade(&buy("default", "bitcoin", 90.0, t0), add(90.0))
        .expect("trade");
    let sides: Vec<_> = store
        .trades("default")
        .expect("trades")
        .into_iter()
        .map(|t| t.side)
        .collect();
    assert_eq!(sides, [portfolio::Side::Buy]);
    let mut raw = diesel::SqliteConnection::establish(path.to_str().expect("utf8 path"))
        .expect("raw connection");
    raw.batch_execute("UPDATE trades SET side = 'hold'")
        .expect("tamper");
    let err = store.trades("default").expect_err("'hold' is no side");
    assert!(matches!(err, DbError::Query { .. }), "{err:?}");
    assert!(err.to_string().contains("\"hold\""), "{err}");
}

#[test]
fn mysql_round_trip() {
    let db = ScratchDb::mysql("store_test");
    let mut store = Store::open(&db.url()).expect("open");
    assert_eq!(store.backend(), Backend::Mysql);
    scenario(&mut store);
    drop(store);
    // Reopening runs no migration twice.
    let mut again = Store::open(&db.url().replace("root@", "root:@")).expect("reopen");
    assert_eq!(again.status().expect("status").migrations.len(), 3);
}

#[test]
fn postgres_round_trip() {
    let db = ScratchDb::postgres("store_test");
    let mut store = Store::open(&db.url()).expect("open");
    assert_eq!(store.backend(), Backend::Postgres);
    scenario(&mut store);
    drop(store);
    let mut again = Store::open(&db.url()).expect("reopen");
    assert_eq!(again.status().expect("status").migrations.len(), 3);
}

/// A database made by the first schema (the release before portfolios), with a trade and
/// a position, is migrated in place: every row is kept, under `default`.
fn migrates_in_place(url: &str) {
    let url = DbUrl::parse(url).expect("url");
    let mut raw = establish(&url).expect("establish");
    match &mut raw {
        DbConnection::Sqlite(c) => c.run_next_migration(SQLITE_MIGRATIONS).map(drop),
        DbConnection::Mysql(c) => c.run_next_migration(MYSQL_MIGRATIONS).map(drop),
        DbConnection::Postgres(c) => c.run_next_migration(POSTGRES_MIGRATIONS).map(drop),
    }
    .expect("first migration");
    raw.batch_execute(
        "INSERT INTO coins (id, symbol, name, first_seen_at, updated_at) \
             VALUES ('bitcoin', 'btc', 'Bitcoin', '2026-11-23 19:05:00', '2026-11-23 19:05:00'); \
         INSERT INTO market_snapshots (coin_id, fetched_at, current_price) \
             VALUES ('bitcoin', '2026-11-23 19:05:00', 90.0); \
         INSERT INTO trades (coin_id, side, quantity, price, executed_at, slot) \
             VALUES ('bitcoin', 'buy', 1, 90.0, '2026-11-23 19:05:00', '2026-11-23 19:00:00'); \
         INSERT INTO trades (coin_id, side, quantity, price, executed_at, slot) \
             VALUES ('bitcoin', 'buy', 1, 70.0, '2026-11-23 20:05:00', '2026-11-23 20:00:00'); \
         INSERT INTO positions (coin_id, quantity, avg_cost, updated_at) \
             VALUES ('bitcoin', 2, 80.0, '2026-11-23 20:05:00');",
    )
    .expect("rows of the old schema");
    drop(raw);

    let mut store = Store::open_url(url).expect("migrate");
    assert_eq!(store.row_counts().expect("counts"), counts(1, 1, 1, 2, 1));
    let trades = store.trades("default").expect("trades");
    assert_eq!(
        trades
            .iter()
            .map(|t| (t.price, t.fee, t.price_at))
            .collect::<Vec<_>>(),
        [(90.0, 0.0, None), (70.0, 0.0, None)]
    );
    let pos = store.positions("default").expect("positions");
    assert_eq!((pos[0].quantity, pos[0].avg_cost), (2.0, 80.0));
    // The new key: the old slot is still taken for 'default', free for another portfolio.
    let t = Utc.with_ymd_and_hms(2026, 11, 23, 20, 30, 0).unwrap();
    assert_eq!(
        store
            .record_trade(&buy("default", "bitcoin", 60.0, t), add(60.0))
            .expect("dup"),
        TradeOutcome::AlreadyTradedThisSlot
    );
    assert!(matches!(
        store
            .record_trade(&buy("b", "bitcoin", 60.0, t), add(60.0))
            .expect("other portfolio"),
        TradeOutcome::Recorded(_)
    ));
}

#[test]
fn sqlite_migrates_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    migrates_in_place(dir.path().join("old.db").to_str().expect("utf8"));
}

#[test]
fn mysql_migrates_in_place() {
    let db = ScratchDb::mysql("store_test");
    migrates_in_place(&db.url());
}

#[test]
fn postgres_migrates_in_place() {
    let db = ScratchDb::postgres("store_test");
    migrates_in_place(&db.url());
}

/// Several stores opened at once on a fresh database: the migrations run once, and of
/// the same trade exactly one is recorded.
fn concurrent_opens_and_trades(url: &str) {
    let t = Utc::now();
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let url = url.to_owned();
            std::thread::spawn(move || {
                let timeouts = DbTimeouts {
                    connect: Duration::from_secs(20),
                    statement: Duration::from_secs(20),
                };
                let mut s =
                    Store::open_url(DbUrl::parse(&url).expect("url").with_timeouts(timeouts))
                        .expect("open");
                s.record_markets(&[obs("bitcoin", Some(1.0))], t)
                    .expect("markets");
                s.record_trade(&buy("default", "bitcoin", 1.0, t), add(1.0))
                    .expect("trade")
            })
        })
        .collect();
    let outcomes: Vec<TradeOutcome> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let recorded = outcomes
        .iter()
        .filter(|o| matches!(o, TradeOutcome::Recorded(_)))
        .count();
    assert_eq!(recorded, 1, "{outcomes:?}");
    let mut s = Store::open(url).expect("open");
    assert_eq!(s.row_counts().expect("counts"), counts(1, 1, 3, 1, 1));
}

#[test]
fn sqlite_concurrent_opens_and_trades() {
    let dir = tempfile::tempdir().expect("tempdir");
    concurrent_opens_and_trades(dir.path().join("c.db").to_str().expect("utf8"));
}

#[test]
fn mysql_concurrent_opens_and_trades() {
    let db = ScratchDb::mysql("store_test");
    concurrent_opens_and_trades(&db.url());
}

#[test]
fn postgres_concurrent_opens_and_trades() {
    let db = ScratchDb::postgres("store_test");
    concurrent_opens_and_trades(&db.url());
}

/// A server that accepts TCP and never says a word: opening gives up after the timeouts.
fn silent_server_times_out(scheme: &str) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let held = std::thread::spawn(move || {
        // Keep the accepted sockets open (never answered) until the test ends.
        let mut keep = Vec::new();
        for s in listener.incoming().take(2) {
            keep.push(s);
        }
        std::thread::sleep(Duration::from_secs(5));
    });
    let url = DbUrl::parse(&format!("{scheme}://u:hunter2@127.0.0.1:{port}/x"))
        .expect("url")
        .with_timeouts(DbTimeouts {
            connect: Duration::from_millis(300),
            statement: Duration::from_millis(300),
        });
    // Before the fix this call never returned.
    let err = Store::open_url(url).expect_err("must time out");
    assert!(
        matches!(err, DbError::Timeout { .. } | DbError::Connect { .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    drop(held);
}

#[test]
fn silent_mysql_server_times_out() {
    silent_server_times_out("mysql");
}

#[test]
fn silent_postgres_server_times_out() {
    silent_server_times_out("postgres");
}

/// Issue 20: names differing only by case or accent are four portfolios on every backend,
/// each with its own trade of the same coin in the same slot.
fn names_are_exact(url: &str) {
    let mut store = Store::open(url).expect("open");
    let t = Utc.with_ymd_and_hms(2026, 12, 5, 10, 5, 0).unwrap();
    store
        .record_markets(&[obs("bitcoin", Some(90.0))], t)
        .expect("markets");
    let names = ["Alice", "alice", "cafe", "café"];
    for (i, name) in names.iter().enumerate() {
        let price = 90.0 + i as f64;
        let outcome = store
            .record_trade(&buy(name, "bitcoin", price, t), add(price))
            .expect("trade");
        assert!(
            matches!(outcome, TradeOutcome::Recorded(_)),
            "{name}: {outcome:?}"
        );
    }
    // Listed in byte order on every backend.
    let listed: Vec<String> = store
        .portfolios()
        .expect("portfolios")
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(listed, ["Alice", "alice", "cafe", "café", "default"]);
    for (i, name) in names.iter().enumerate() {
        let trades = store.trades(name).expect("trades");
        assert_eq!(trades.len(), 1, "{name}");
        assert_eq!(trades[0].price, 90.0 + i as f64, "{name}");
        let pos = store.positions(name).expect("positions");
        assert_eq!((pos.len(), pos[0].avg_cost), (1, 90.0 + i as f64), "{name}");
    }
}

#[test]
fn sqlite_names_are_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    names_are_exact(dir.path().join("t.db").to_str().expect("utf8"));
}

#[test]
fn mysql_names_are_exact() {
    let db = ScratchDb::mysql("store_test");
    names_are_exact(&db.url());
}

#[test]
fn postgres_names_are_exact() {
    let db = ScratchDb::postgres("store_test");
    names_are_exact(&db.url());
}

/// A database of the portfolios schema (before the names migration) with rows in two
/// portfolios keeps every row through the migration, and a name differing only by case
/// is then a portfolio of its own.
fn names_migration_keeps_rows(url: &str) {
    let url = DbUrl::parse(url).expect("url");
    let mut raw = establish(&url).expect("establish");
    for _ in 0..2 {
        match &mut raw {
            DbConnection::Sqlite(c) => c.run_next_migration(SQLITE_MIGRATIONS).map(drop),
            DbConnection::Mysql(c) => c.run_next_migration(MYSQL_MIGRATIONS).map(drop),
            DbConnection::Postgres(c) => c.run_next_migration(POSTGRES_MIGRATIONS).map(drop),
        }
        .expect("earlier migration");
    }
    raw.batch_execute(
        "INSERT INTO coins (id, symbol, name, first_seen_at, updated_at) \
             VALUES ('bitcoin', 'btc', 'Bitcoin', '2026-11-23 19:05:00', '2026-11-23 19:05:00'); \
         INSERT INTO portfolios (name, created_at) VALUES ('Alice', '2026-11-23 19:05:00'); \
         INSERT INTO trades (portfolio, coin_id, side, quantity, price, executed_at, slot) \
             VALUES ('default', 'bitcoin', 'buy', 1, 90.0, '2026-11-23 19:05:00', '2026-11-23 19:00:00'); \
         INSERT INTO trades (portfolio, coin_id, side, quantity, price, executed_at, slot) \
             VALUES ('Alice', 'bitcoin', 'buy', 1, 70.0, '2026-11-23 19:05:00', '2026-11-23 19:00:00'); \
         INSERT INTO positions (portfolio, coin_id, quantity, avg_cost, updated_at) \
             VALUES ('default', 'bitcoin', 1, 90.0, '2026-11-23 19:05:00'); \
         INSERT INTO positions (portfolio, coin_id, quantity, avg_cost, updated_at) \
             VALUES ('Alice', 'bitcoin', 1, 70.0, '2026-11-23 19:05:00');",
    )
    .expect("rows of the portfolios schema");
    drop(raw);

    let mut store = Store::open_url(url).expect("migrate");
    assert_eq!(store.status().expect("status").migrations.len(), 3);
    assert_eq!(store.row_counts().expect("counts"), counts(2, 1, 0, 2, 2));
    assert_eq!(store.trades("Alice").expect("trades")[0].price, 70.0);
    assert_eq!(
        store.positions("Alice").expect("positions")[0].avg_cost,
        70.0
    );
    assert_eq!(store.trades("default").expect("trades")[0].price, 90.0);
    // 'alice' is not 'Alice': its own portfolio, free to buy in the same slot.
    let t = Utc.with_ymd_and_hms(2026, 11, 23, 19, 30, 0).unwrap();
    assert!(matches!(
        store
            .record_trade(&buy("alice", "bitcoin", 60.0, t), add(60.0))
            .expect("alice"),
        TradeOutcome::Recorded(_)
    ));
    assert_eq!(store.trades("Alice").expect("trades").len(), 1);
    assert_eq!(store.row_counts().expect("counts"), counts(3, 1, 0, 3, 3));
}

#[test]
fn sqlite_names_migration_keeps_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    names_migration_keeps_rows(dir.path().join("old.db").to_str().expect("utf8"));
}

#[test]
fn mysql_names_migration_keeps_rows() {
    let db = ScratchDb::mysql("store_test");
    names_migration_keeps_rows(&db.url());
}

#[test]
fn postgres_names_migration_keeps_rows() {
    let db = ScratchDb::postgres("store_test");
    names_migration_keeps_rows(&db.url());
}

/// Issue 20: opening without migrating writes nothing to an empty database (no table,
/// not even Diesel's migration table) and names the fix; after the migrations it opens.
fn open_existing_never_migrates(url: &str, tables: impl Fn() -> i64) {
    let url = DbUrl::parse(url).expect("url");
    let err = Store::open_existing(url.clone()).expect_err("not migrated");
    let text = err.to_string();
    assert!(
        matches!(err, DbError::NotMigrated { .. }) && text.contains("trader db migrate"),
        "{text}"
    );
    assert_eq!(tables(), 0, "tables were created");
    drop(Store::open_url(url.clone()).expect("migrate"));
    let mut store = Store::open_existing(url).expect("open migrated");
    assert_eq!(store.status().expect("status").migrations.len(), 3);
}

fn server_tables(url: &str, schema: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let url = DbUrl::parse(url).expect("url");
    let mut c = establish(&url).expect("establish");
    diesel::RunQueryDsl::get_result::<Count>(
        diesel::sql_query(format!(
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = {schema}"
        )),
        &mut c,
    )
    .expect("count tables")
    .n
}

#[test]
fn sqlite_open_existing_never_migrates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sub/t.db");
    open_existing_never_migrates(path.to_str().expect("utf8"), || {
        i64::from(path.exists() && std::fs::metadata(&path).map_or(0, |m| m.len()) > 0)
    });
}

#[test]
fn mysql_open_existing_never_migrates() {
    let db = ScratchDb::mysql("store_test");
    open_existing_never_migrates(&db.url(), || server_tables(&db.url(), "DATABASE()"));
}

#[test]
fn postgres_open_existing_never_migrates() {
    let db = ScratchDb::postgres("store_test");
    open_existing_never_migrates(&db.url(), || server_tables(&db.url(), "'public'"));
}

/// A migrated database with a migration of this build missing is refused the same way.
#[test]
fn open_existing_names_the_pending_migration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.db");
    let url = DbUrl::parse(path.to_str().expect("utf8")).expect("url");
    let mut raw = establish(&url).expect("establish");
    let DbConnection::Sqlite(c) = &mut raw else {
        unreachable!("an sqlite URL")
    };
    c.run_next_migration(SQLITE_MIGRATIONS).expect("first");
    drop(raw);
    let text = Store::open_existing(url).expect_err("behind").to_string();
    assert!(
        text.contains("2 migration(s) not applied yet: 2026-12-01-000000_portfolios, ")
            && text.contains("run `trader db migrate`"),
        "{text}"
    );
}
