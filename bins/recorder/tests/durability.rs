//! Durability end to end: the real `recorder` binary killed, restarted, with redundant
//! connections and with connection renewal, against the in-process simulated exchange.

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{
    assert_exactly_once, dataset_keys, sent_keys, spawn_recorder, stop_cleanly, wait_until, Sim,
};

fn market(max_connection_age: Duration) -> sim::SimConfig {
    sim::SimConfig {
        seed: 11,
        symbols: 1500,
        interval: Duration::from_millis(50),
        max_connection_age,
        ..sim::SimConfig::default()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Stops the feed, lets in-flight frames arrive, then stops the recorder cleanly.
/// Journal segment files in the dataset directory.
fn journal_segments(out: &Path) -> usize {
    out.join("_journal")
        .read_dir()
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "wal")
        })
        .count()
}

/// Reasons of the gaps dataset other than the start-up gap of each run.
fn gaps_other_than_startup(out: &Path) -> Vec<String> {
    record::gaps::read_gaps(out)
        .unwrap()
        .into_iter()
        .filter(|g| g.reason != "startup")
        .map(|g| g.reason)
        .collect()
}

/// SIGKILL at a random moment under load, then a restart: the journal is replayed and every
/// event sent more than 1 s before the kill is on disk exactly once.
#[test]
fn sigkill_at_a_random_moment_loses_at_most_the_last_second() {
    let sim = Sim::start(market(Duration::from_secs(86_400)));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    // Long checkpoints: most of what the kill catches is only in the journal.
    let mut rec = spawn_recorder(&out, &sim.h().ws_base(), &["--checkpoint-secs", "3"]);
    rec.wait_stdout(Duration::from_secs(20), |l| {
        l.contains("Total Symbols recorded:")
    });
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let delay = Duration::from_millis(1_500 + u64::from(nanos % 3_000));
    eprintln!("killing the recorder {delay:?} after its first status line");
    std::thread::sleep(delay);
    let kill_ms = now_ms();
    rec.child.kill().unwrap(); // SIGKILL
    rec.wait(Duration::from_secs(10));
    // The journal of the killed run is left behind.
    assert!(journal_segments(&out) > 0);

    let mut again = spawn_recorder(&out, &sim.h().ws_base(), &[]);
    again.wait_stdout(Duration::from_secs(20), |l| {
        l.contains("Total Symbols recorded:")
    });
    stop_cleanly(&sim, &mut again);
    assert!(
        again
            .err
            .iter()
            .any(|l| l.contains("recovered") && l.contains("rows from the journal")),
        "no recovery reported: {:#?}",
        again.err
    );

    let keys = dataset_keys(&out);
    assert!(keys.values().all(|&n| n == 1), "duplicates after recovery");
    let sent = sim.h().sent();
    let old_enough: Vec<_> = sent
        .iter()
        .filter(|s| s.sent_at_ms < kill_ms - 1_000)
        .collect();
    assert!(
        old_enough.len() > 5_000,
        "too little traffic: {}",
        old_enough.len()
    );
    let lost: Vec<_> = old_enough
        .iter()
        .filter(|s| !keys.contains_key(&(s.symbol.clone(), s.event_time)))
        .collect();
    assert!(
        lost.is_empty(),
        "{} events sent > 1 s before the kill were lost, e.g. {:?}",
        lost.len(),
        lost[0]
    );
    // The clean stop leaves no journal to replay.
    assert_eq!(journal_segments(&out), 0);
}

/// Two redundant connections, one of them forced closed again and again: no event lost, no
/// duplicate, and the gaps dataset shows no gap.
#[test]
fn redundant_connections_lose_nothing_when_one_keeps_dropping() {
    let sim = Sim::start(market(Duration::from_secs(86_400)));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let mut rec = spawn_recorder(&out, &sim.h().ws_base(), &["--redundant", "2", "--status"]);
    rec.wait_stdout(Duration::from_secs(20), |l| {
        l.contains("Total Symbols recorded:")
    });
    wait_until(Duration::from_secs(10), "two connections", || {
        sim.h().open_connection_ids().len() == 2
    });
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(700));
        let ids = sim.h().open_connection_ids();
        let victim = ids[0];
        sim.h().disconnect(victim);
        wait_until(
            Duration::from_secs(10),
            "the dropped connection replaced",
            || {
                let now = sim.h().open_connection_ids();
                now.len() == 2 && !now.contains(&victim)
            },
        );
    }
    assert!(sim.h().connection_count_total() >= 6);
    stop_cleanly(&sim, &mut rec);

    assert_exactly_once(&out, &sent_keys(&sim));
    assert_eq!(gaps_other_than_startup(&out), Vec::<String>::new());
    let status = rec
        .out
        .iter()
        .rev()
        .find(|l| l.contains("duplicates"))
        .unwrap();
    assert!(
        !status.ends_with("duplicates 0"),
        "copies were not de-duplicated? {status}"
    );
}

/// Connections renewed before the exchange's cut-off (shortened to seconds): zero lost and
/// no gap.
#[test]
fn renewal_before_the_cutoff_loses_nothing() {
    let sim = Sim::start(market(Duration::from_secs(3)));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let mut rec = spawn_recorder(&out, &sim.h().ws_base(), &["--renew-after-secs", "1"]);
    rec.wait_stdout(Duration::from_secs(20), |l| {
        l.contains("Total Symbols recorded:")
    });
    wait_until(Duration::from_secs(20), "four renewals", || {
        sim.h().connection_count_total() >= 5
    });
    stop_cleanly(&sim, &mut rec);

    assert_exactly_once(&out, &sent_keys(&sim));
    assert_eq!(gaps_other_than_startup(&out), Vec::<String>::new());
    assert!(
        !rec.err.iter().any(|l| l.contains("lost")),
        "{:#?}",
        rec.err
    );
}
