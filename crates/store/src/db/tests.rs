//! Round trips against real databases: SQLite in a temp dir, and the MariaDB server on
//! 127.0.0.1:3306 (root, empty password) in a fresh database dropped afterwards.

use chrono::{TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::{Connection, MysqlConnection};

use super::*;

fn obs(id: &str, price: Option<f64>) -> MarketObservation {
    MarketObservation {
        coin_id: id.into(),
        symbol: id[..3].into(),
        name: id.to_uppercase(),
        current_price: price,
        market_cap: Some(1e12),
        market_cap_rank: Some(1),
        total_volume: None,
        last_updated: Some(Utc.with_ymd_and_hms(2026, 11, 23, 18, 59, 1).unwrap()),
        avg_price_10d: Some(100.0),
    }
}

fn buy(coin: &str, price: f64, at: chrono::DateTime<Utc>) -> NewTrade {
    NewTrade {
        coin_id: coin.into(),
        side: "buy".into(),
        quantity: 1.0,
        price,
        executed_at: at,
    }
}

fn add(p: Option<&PositionRow>, price: f64) -> (f64, f64) {
    match p {
        Some(p) => (
            p.quantity + 1.0,
            (p.quantity * p.avg_cost + price) / (p.quantity + 1.0),
        ),
        None => (1.0, price),
    }
}

/// The same scenario on any backend.
fn scenario(store: &mut Store) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 19, 5, 0).unwrap();
    store
        .record_markets(&[obs("bitcoin", Some(90.0)), obs("ethereum", None)], t0)
        .expect("markets");
    assert_eq!(
        store.row_counts().expect("counts"),
        RowCounts {
            coins: 2,
            snapshots: 2,
            trades: 0,
            positions: 0
        }
    );

    let r = store
        .record_trade(&buy("bitcoin", 90.0, t0), |p| add(p, 90.0))
        .expect("trade");
    assert!(
        matches!(&r, TradeOutcome::Recorded(p) if p.quantity == 1.0 && p.avg_cost == 90.0),
        "{r:?}"
    );
    // Same hour, later: refused by the unique key, nothing written.
    let again = store.record_trade(
        &buy("bitcoin", 80.0, t0 + chrono::Duration::minutes(50)),
        |p| add(p, 80.0),
    );
    assert_eq!(
        again.expect("dup is not an error"),
        TradeOutcome::AlreadyTradedThisSlot
    );
    assert_eq!(store.row_counts().expect("counts").trades, 1);

    // Next hour: a second buy moves the average cost.
    let t1 = t0 + chrono::Duration::hours(1);
    store
        .record_markets(&[obs("bitcoin", Some(70.0))], t1)
        .expect("markets");
    store
        .record_trade(&buy("bitcoin", 70.0, t1), |p| add(p, 70.0))
        .expect("trade");

    let pos = store.positions().expect("positions");
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
    let trades = store.trades().expect("trades");
    let got: Vec<(String, f64, String)> = trades
        .iter()
        .map(|t| (t.coin_id.clone(), t.price, t.executed_at.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            ("bitcoin".to_owned(), 90.0, "2026-11-23 19:05:00".to_owned()),
            ("bitcoin".to_owned(), 70.0, "2026-11-23 20:05:00".to_owned())
        ]
    );
    assert_eq!(
        store.row_counts().expect("counts"),
        RowCounts {
            coins: 2,
            snapshots: 3,
            trades: 2,
            positions: 1
        }
    );
    // A trade for an unknown coin violates the foreign key: an error, not a duplicate.
    let bad = store.record_trade(&buy("nope", 1.0, t1), |p| add(p, 1.0));
    assert!(matches!(bad, Err(DbError::Query { .. })), "{bad:?}");
    assert_eq!(store.row_counts().expect("counts").trades, 2);
}

#[test]
fn sqlite_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store =
        Store::open(dir.path().join("t.db").to_str().expect("utf8 path")).expect("open");
    assert_eq!(store.backend(), Backend::Sqlite);
    scenario(&mut store);
}

/// A fresh MariaDB database, dropped on drop.
struct TempMysql {
    admin: MysqlConnection,
    name: String,
}

impl TempMysql {
    fn new() -> TempMysql {
        let mut admin = MysqlConnection::establish("mysql://root@127.0.0.1:3306/mysql").unwrap_or_else(|e| {
            panic!("MariaDB is required on 127.0.0.1:3306 (root, empty password) for this test; .ci/run starts it: {e}")
        });
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("store_test_{}_{nanos}", std::process::id());
        admin
            .batch_execute(&format!("CREATE DATABASE `{name}`"))
            .expect("create database");
        TempMysql { admin, name }
    }
}

impl Drop for TempMysql {
    fn drop(&mut self) {
        let _ = self
            .admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS `{}`", self.name));
    }
}

#[test]
fn mysql_round_trip() {
    let db = TempMysql::new();
    let mut store = Store::open(&format!("mysql://root@127.0.0.1:3306/{}", db.name)).expect("open");
    assert_eq!(store.backend(), Backend::Mysql);
    scenario(&mut store);
    drop(store);
    // Reopening runs no migration twice.
    let mut again =
        Store::open(&format!("mysql://root:@127.0.0.1:3306/{}", db.name)).expect("reopen");
    assert_eq!(again.row_counts().expect("counts").trades, 2);
}
