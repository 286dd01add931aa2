//! `{:#}` (how the recorder reports an error) says each cause once, however deep.

use std::io;

use dataset::TickError;
use record::journal::JournalError;
use record::RecordError;
use testkit::errors::assert_cause_once;

fn full_disk() -> TickError {
    TickError::Io {
        path: "data/date=2026-01-02/.x.tmp".into(),
        cause: io::Error::new(io::ErrorKind::StorageFull, "no space left on device"),
    }
}

#[test]
fn record_errors_say_their_cause_once() {
    let cause = "no space left on device";
    let checkpoint = || RecordError::Checkpoint {
        rows: 3,
        cause: full_disk(),
    };
    assert_cause_once(checkpoint(), cause);
    let shown = assert_cause_once(
        RecordError::FinalSave {
            attempts: 3,
            rows: 3,
            cause: Box::new(checkpoint()),
        },
        cause,
    );
    assert!(
        shown.starts_with("final save failed after 3 attempts"),
        "{shown}"
    );
    assert_cause_once(RecordError::Gaps(full_disk()), cause);
    assert_cause_once(RecordError::Compact(full_disk()), cause);
    let journal = || JournalError::Io {
        path: "data/_journal/segment_1.wal".into(),
        cause: io::Error::new(io::ErrorKind::StorageFull, "no space left on device"),
    };
    assert_cause_once(journal(), cause);
    assert_cause_once(RecordError::Journal(journal()), cause);
    assert_cause_once(RecordError::CheckpointPostponed(journal()), cause);
    assert_cause_once(JournalError::from(full_disk()), cause);
    assert_cause_once(
        RecordError::JournalWrite(io::Error::new(io::ErrorKind::StorageFull, cause)),
        cause,
    );
}
