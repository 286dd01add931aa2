//! The `DATABASE_URL` table: backends, redaction, what the driver gets.

use super::*;

#[test]
fn url_table() {
    // (input, backend or None for an error, redacted / error URL); nothing shown may
    // hold "pw", "ss/w0rd" or "SECRET".
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
        ("file.db:x", Some(Backend::Sqlite), "file.db:x"),
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
        // An unencoded `@` and `/` in the password.
        (
            "mysql://root:pa@ss/w0rd@host/db",
            Some(Backend::Mysql),
            "mysql://root:***@host/db",
        ),
        (
            "mysql://root@host/db?password=pw&ssl_mode=required",
            Some(Backend::Mysql),
            "mysql://root@host/db?password=***&ssl_mode=required",
        ),
        (
            "postgres://u:pw@db:5432/t",
            Some(Backend::Postgres),
            "postgres://u:***@db:5432/t",
        ),
        (
            "postgresql://u@db/t?sslpassword=pw",
            Some(Backend::Postgres),
            "postgresql://u@db/t?sslpassword=***",
        ),
        ("mysql://u:pw@db:3306/", None, "mysql://u:***@db:3306/"),
        ("mysql://u:pw@:3306/t", None, "mysql://..."),
        ("mysql://u:pw@db:notaport/t", None, "mysql://..."),
        // One slash: a mistyped URL, never an SQLite file named after the password.
        ("mysql:/root:SECRET@host/x", None, "mysql://..."),
        ("mysql:root:SECRET@host/x", None, "mysql://..."),
        ("oracle://u:pw@db/t", None, "oracle://..."),
        ("http:/u:pw@db/t", None, "http://..."),
        ("sqlite://", None, "sqlite://"),
        ("", None, ""),
    ];
    for (raw, backend, shown) in cases {
        match (DbUrl::parse(raw), backend) {
            (Ok(u), Some(b)) => {
                assert_eq!(u.backend(), *b, "{raw}");
                assert_eq!(u.redacted(), *shown, "{raw}");
                if *b != Backend::Sqlite {
                    assert!(!u.redacted().contains("pw") && !u.redacted().contains("ss/w0rd"));
                }
            }
            (Err(e), None) => {
                let DbError::BadUrl { url, .. } = &e else {
                    panic!("{raw}: {e}")
                };
                assert_eq!(url, shown, "{raw}");
                let text = e.to_string();
                assert!(
                    !text.contains("pw") && !text.contains("SECRET"),
                    "{raw}: {e}"
                );
                assert!(e.is_config());
            }
            (r, _) => panic!("{raw}: unexpected {r:?}"),
        }
    }
}

#[test]
fn the_driver_gets_the_password_as_meant() {
    let u = DbUrl::parse("mysql://root:pa@ss/w0rd@host/db").expect("url");
    assert_eq!(u.target(), "mysql://root:pa%40ss%2Fw0rd@host/db");
    let u = DbUrl::parse("mysql://u:p%40w@db/t").expect("url");
    assert_eq!(u.target(), "mysql://u:p%40w@db/t");
}

#[test]
fn scrub_removes_every_secret() {
    let u = DbUrl::parse("mysql://u:p%40ss@db/t?password=hunter2").expect("url");
    assert_eq!(
        u.scrub("Access denied, password p@ss or hunter2 (p%40ss)"),
        "Access denied, password *** or *** (***)"
    );
    assert!(!format!("{u:?}").contains("p%40ss"));
}
