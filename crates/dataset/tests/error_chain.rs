//! `{:#}` (how the binaries print an error) says each cause once.

use std::io;

use testkit::errors::assert_cause_once;

#[test]
fn tick_errors_say_their_cause_once() {
    use dataset::TickError;
    let denied = || io::Error::from(io::ErrorKind::PermissionDenied);
    let e = TickError::Io {
        path: "data/date=2026-01-02/x.parquet".into(),
        cause: denied(),
    };
    let shown = assert_cause_once(e, "permission denied");
    assert!(
        shown.starts_with("data/date=2026-01-02/x.parquet: "),
        "{shown}"
    );
    let e = TickError::Parquet {
        path: "x.parquet".into(),
        cause: parquet::errors::ParquetError::EOF("file too short".into()),
    };
    assert_cause_once(e, "file too short");
    let arrow = || arrow_schema::ArrowError::SchemaError("no column close".into());
    assert_cause_once(
        TickError::Decode {
            path: "x.parquet".into(),
            cause: arrow(),
        },
        "no column close",
    );
    assert_cause_once(TickError::from(arrow()), "no column close");
}
