//! `recorder --publish`: the real binary against the simulated exchange and a real
//! `nats-server -js` of each test's own.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::{
    assert_exactly_once, dataset_keys, recorder_command, sent_keys, spawn, spawn_recorder,
    stop_cleanly, wait_until, Sim,
};
use sim::nats::NatsServer;

const PATIENCE: Duration = Duration::from_secs(60);

fn market() -> sim::SimConfig {
    sim::SimConfig {
        seed: 11,
        symbols: 200,
        interval: Duration::from_millis(50),
        ..sim::SimConfig::default()
    }
}

/// (symbol, event time) -> how often the stream holds it; and the gap messages.
fn stream_contents(sim: &Sim, url: &str) -> (HashMap<(String, i64), usize>, Vec<bus::GapMessage>) {
    let config = bus::BusConfig::from_url(url).unwrap();
    let stored = sim
        .runtime
        .block_on(async { tokio::time::timeout(PATIENCE, bus::read_stream(&config)).await })
        .expect("stream read in time")
        .unwrap();
    let mut events = HashMap::new();
    let mut gaps = Vec::new();
    for m in stored {
        if m.subject == bus::GAPS_SUBJECT {
            gaps.push(bus::GapMessage::decode(&m.payload).unwrap());
            continue;
        }
        let Ok((_, binance::Message::MiniTickers(t))) = bus::payload::decode_ticker(&m.payload)
        else {
            panic!("unreadable message on {}", m.subject)
        };
        assert_eq!(m.subject, bus::subject_for(&t[0].symbol));
        *events
            .entry((t[0].symbol.to_string(), t[0].event_time))
            .or_insert(0) += 1;
    }
    (events, gaps)
}

/// A recorder of `sim` into `out` publishing to `nats`, once it publishes.
fn publishing_recorder(sim: &Sim, nats: &NatsServer, out: &std::path::Path) -> common::Running {
    let mut rec = spawn_recorder(out, &sim.h().ws_base(), &["--publish", &nats.url()]);
    rec.wait_stderr_count(PATIENCE, "publishing every recorded event", 1);
    rec
}

/// The exit log line with the publishing totals.
fn totals(rec: &common::Running) -> String {
    rec.err
        .iter()
        .find(|l| l.contains("messages published"))
        .cloned()
        .unwrap_or_default()
}

#[test]
fn two_recorders_publishing_one_feed_store_each_event_once() {
    let sim = Sim::start(market());
    let nats = NatsServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let publish = ["--publish", &nats.url()];
    let (out_a, out_b) = (dir.path().join("a"), dir.path().join("b"));
    let mut a = spawn_recorder(&out_a, &sim.h().ws_base(), &publish);
    let mut b = spawn_recorder(&out_b, &sim.h().ws_base(), &publish);
    for rec in [&mut a, &mut b] {
        rec.wait_stderr_count(PATIENCE, "publishing every recorded event", 1);
    }
    wait_until(PATIENCE, "a few hundred events", || {
        sim.h().sent_count() > 600
    });
    // Both stop with the feed stalled: each received everything the simulator sent.
    sim.h().set_stalled(true);
    std::thread::sleep(Duration::from_millis(500));
    for rec in [&mut a, &mut b] {
        rec.signal("TERM");
        let status = rec.wait(PATIENCE);
        assert_eq!(status.code(), Some(0), "stderr: {:#?}", rec.err);
    }
    // What the two recorded (each once; a reconnect of one under load may cost it what the
    // other still got) is exactly what the stream holds, each event once.
    let sent = sent_keys(&sim);
    let mut recorded = HashSet::new();
    for out in [&out_a, &out_b] {
        let keys = dataset_keys(out);
        assert!(keys.values().all(|&n| n == 1), "duplicated rows");
        assert!(keys.keys().all(|k| sent.contains(k)), "rows never sent");
        recorded.extend(keys.into_keys());
    }
    assert!(recorded.len() > 300, "{}", recorded.len());
    let (events, _) = stream_contents(&sim, &nats.url());
    let copies: Vec<_> = events.iter().filter(|(_, &n)| n > 1).collect();
    assert!(copies.is_empty(), "stored twice: {copies:?}");
    let stored: HashSet<(String, i64)> = events.into_keys().collect();
    assert_eq!(
        stored, recorded,
        "each recorded (symbol, event time) once in the stream"
    );
    // Each recorder published every event; the stream dropped the other's copies.
    let logs = [&a, &b].map(|r| r.err.join("\n"));
    assert!(
        logs.iter()
            .any(|l| l.contains("copies the stream already had")),
        "{logs:?}"
    );
}

#[test]
fn a_nats_restart_costs_the_dataset_nothing_and_publishing_resumes() {
    let sim = Sim::start(market());
    let mut nats = NatsServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let mut rec = publishing_recorder(&sim, &nats, &out);
    wait_until(PATIENCE, "events", || sim.h().sent_count() > 300);

    nats.stop();
    rec.wait_stderr_count(PATIENCE, "NATS connection to", 2); // "up", then "lost"
    let sent_during_outage = sim.h().sent_count();
    wait_until(PATIENCE, "events during the outage", || {
        sim.h().sent_count() > sent_during_outage + 200
    });
    nats.restart().unwrap();
    rec.wait_stderr_count(PATIENCE, "NATS connection to", 3); // up again
    let after_restart = sim.h().sent_count();
    wait_until(PATIENCE, "events after the restart", || {
        sim.h().sent_count() > after_restart + 300
    });
    stop_cleanly(&sim, &mut rec);

    // The dataset: every event the simulator sent, exactly once, outage or not.
    let sent = sent_keys(&sim);
    assert_exactly_once(&out, &sent);
    // The stream: what was published before the cut survived the restart (file store), and
    // publishing resumed: the events sent after the restart are there.
    let (events, _) = stream_contents(&sim, &nats.url());
    assert!(events.values().all(|&n| n == 1));
    let sent_after: Vec<(String, i64)> = sim.h().sent()[after_restart + 100..]
        .iter()
        .map(|s| (s.symbol.clone(), s.event_time))
        .collect();
    let missing = sent_after
        .iter()
        .filter(|k| !events.contains_key(*k))
        .count();
    assert_eq!(
        missing, 0,
        "events sent after the restart missing from the stream"
    );
    assert!(
        events.len() >= 300,
        "events from before the cut kept: {}",
        events.len()
    );
    let log = rec.err.join("\n");
    assert!(
        log.contains("NATS connection to") && log.contains("lost"),
        "{log}"
    );
}

#[test]
fn nats_credentials_never_reach_the_log_or_help() {
    let secret = "s3cret-pw";
    // Nothing listens on this port: the connection error path is taken and logged.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("nats://bot:{secret}@127.0.0.1:{port}");
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_recorder"))
        .arg("--help")
        .env("RECORDER_PUBLISH_URL", &url)
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--publish"), "{help}");
    assert!(!help.contains(secret), "{help}");

    let sim = Sim::start(market());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let mut rec = spawn_recorder(&out, &sim.h().ws_base(), &["--publish", &url]);
    rec.wait_stderr_count(PATIENCE, "retrying in the background", 1);
    wait_until(PATIENCE, "events", || sim.h().sent_count() > 100);
    stop_cleanly(&sim, &mut rec);
    // NATS was never there: the dataset is complete all the same.
    assert_exactly_once(&out, &sent_keys(&sim));
    let log = rec.err.join("\n") + &std::fs::read_to_string(out.with_extension("log")).unwrap();
    assert!(log.contains(&format!("nats://127.0.0.1:{port}")), "{log}");
    assert!(!log.contains(secret), "{log}");
}

#[test]
fn full_market_frames_are_published_without_a_drop() {
    // The simulator's whole market (1,500 symbols) in one frame every 250 ms: each frame a
    // burst of ~1,000 events, at four times Binance's one frame a second.
    let sim = Sim::start(sim::SimConfig {
        seed: 5,
        symbols: 1500,
        interval: Duration::from_millis(250),
        ..sim::SimConfig::default()
    });
    let nats = NatsServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let mut rec = publishing_recorder(&sim, &nats, &out);
    let from = sim.h().sent_count();
    wait_until(PATIENCE, "some bursts", || {
        sim.h().sent_count() > from + 15_000
    });
    stop_cleanly(&sim, &mut rec);

    let totals = totals(&rec);
    assert!(totals.contains(" 0 dropped"), "{totals}");
    let sent = sent_keys(&sim);
    assert_exactly_once(&out, &sent);
    let (events, _) = stream_contents(&sim, &nats.url());
    assert!(events.values().all(|&n| n == 1), "stored twice");
    let stored: HashSet<(String, i64)> = events.into_keys().collect();
    assert_eq!(stored.len(), sent.len(), "every recorded event on the bus");
    assert_eq!(stored, sent);
}

#[test]
fn a_restart_after_a_crash_publishes_the_not_running_gap() {
    let sim = Sim::start(market());
    let nats = NatsServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let publish = ["--publish", &nats.url()];
    let mut first = spawn_recorder(&out, &sim.h().ws_base(), &publish);
    first.wait_stderr_count(PATIENCE, "publishing every recorded event", 1);
    let from = sim.h().sent_count();
    // Past a journal sync (once a second), so the journal knows when it last received.
    wait_until(PATIENCE, "events", || sim.h().sent_count() > from + 300);
    first.signal("KILL");
    first.wait(PATIENCE);

    let mut second = spawn_recorder(&out, &sim.h().ws_base(), &publish);
    second.wait_stderr_count(PATIENCE, "publishing every recorded event", 1);
    let from = sim.h().sent_count();
    wait_until(PATIENCE, "events", || sim.h().sent_count() > from + 100);
    stop_cleanly(&sim, &mut second);

    let in_dataset: Vec<record::gaps::Gap> = dataset::gaps::read_gaps(&out)
        .unwrap()
        .into_iter()
        .filter(|g| g.reason == record::gaps::GapReason::NotRunning)
        .collect();
    assert_eq!(in_dataset.len(), 1, "one crash, one not-running gap");
    let (_, gaps) = stream_contents(&sim, &nats.url());
    let want = bus::GapMessage {
        start: in_dataset[0].start_ms,
        end: Some(in_dataset[0].end_ms),
        reason: record::gaps::GapReason::NotRunning,
        connection_id: in_dataset[0].connection_id,
    };
    assert!(
        gaps.contains(&want),
        "{want:?} not on the gaps subject: {gaps:#?}"
    );
}

#[test]
fn nats_tokens_and_creds_files_log_in_and_never_reach_the_log() {
    let secret = "tok-s3cret-42";
    let nats = NatsServer::start_with(&["--auth", secret]).unwrap();
    let sim = Sim::start(market());
    let dir = tempfile::tempdir().unwrap();
    let log_of = |rec: &common::Running, out: &std::path::Path| {
        rec.err.join("\n") + &std::fs::read_to_string(out.with_extension("log")).unwrap()
    };

    // NATS_TOKEN: the server takes it (publishing starts), the log never shows it.
    let out = dir.path().join("env");
    let mut cmd = recorder_command(&out, &sim.h().ws_base(), &["--publish", &nats.url()]);
    cmd.env("NATS_TOKEN", secret).env_remove("NATS_CREDS");
    let mut rec = spawn(cmd);
    rec.wait_stderr_count(PATIENCE, "publishing every recorded event", 1);
    stop_cleanly(&sim, &mut rec);
    let log = log_of(&rec, &out);
    assert!(!log.contains(secret), "{log}");
    sim.h().set_stalled(false);

    // A wrong token in the URL: refused, retried, said without either token.
    let out = dir.path().join("wrong");
    let url = nats.url().replace("nats://", "nats://wrong-s3cret@");
    let mut cmd = recorder_command(&out, &sim.h().ws_base(), &["--publish", &url]);
    cmd.env_remove("NATS_TOKEN").env_remove("NATS_CREDS");
    let mut rec = spawn(cmd);
    rec.wait_stderr_count(PATIENCE, "retrying in the background", 1);
    stop_cleanly(&sim, &mut rec);
    let log = log_of(&rec, &out);
    assert!(log.contains(&nats.url()), "{log}");
    assert!(
        !log.contains("wrong-s3cret") && !log.contains(secret),
        "{log}"
    );
    sim.h().set_stalled(false);

    // NATS_CREDS naming a file that is no credentials file: one clear error at start-up,
    // the file's contents never shown.
    let out = dir.path().join("creds");
    let creds = dir.path().join("bad.creds");
    std::fs::write(&creds, format!("not a creds file {secret}\n")).unwrap();
    let mut cmd = recorder_command(&out, &sim.h().ws_base(), &["--publish", &nats.url()]);
    cmd.env("NATS_CREDS", &creds).env_remove("NATS_TOKEN");
    let mut rec = spawn(cmd);
    rec.wait_stderr_count(PATIENCE, "NATS_CREDS", 1);
    stop_cleanly(&sim, &mut rec);
    let log = log_of(&rec, &out);
    assert!(!log.contains(secret), "{log}");
}

/// A JSON mini-ticker element, written as given (the symbol is not escaped).
fn element(symbol: &str, event_time: i64, close: &str) -> String {
    format!(
        r#"{{"e":"24hrMiniTicker","E":{event_time},"s":"{symbol}","c":"{close}","o":"1","h":"2","l":"1","v":"3","q":"4"}}"#
    )
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    since.as_millis() as i64
}

#[test]
fn the_bus_holds_exactly_the_rows_the_dataset_keeps_whatever_bad_elements_come() {
    let sim = Sim::start(market());
    let nats = NatsServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("data");
    let mut rec = publishing_recorder(&sim, &nats, &out);
    wait_until(PATIENCE, "events", || sim.h().sent_count() > 200);
    // Frames with a bad element (fields missing; a close that is not a number) beside the
    // market's good ones, and an element whose symbol alone is longer than a NATS control
    // line (4,096 bytes) would be as a subject.
    let long = "L".repeat(5_004);
    for i in 0..20 {
        let at = now_ms() + i;
        sim.h().inject_elements(vec![
            element(&long, at, "1.5"),
            r#"{"e":"24hrMiniTicker","E":1}"#.to_owned(),
            element("BADCLOSE", at, "not-a-number"),
            element("AFTERBAD", at, "2.5"),
        ]);
        std::thread::sleep(Duration::from_millis(120)); // > the 50 ms tick: one frame each
    }
    let before = sim.h().sent_count();
    wait_until(PATIENCE, "events after", || {
        sim.h().sent_count() > before + 200
    });
    stop_cleanly(&sim, &mut rec);

    let rows = dataset_keys(&out);
    let longs = rows.keys().filter(|(s, _)| *s == long).count();
    assert_eq!(longs, 20, "the dataset keeps the long symbol's events");
    let after_bad = rows.keys().filter(|(s, _)| s == "AFTERBAD").count();
    assert_eq!(after_bad, 20, "and the good elements after a bad one");
    assert!(rows.keys().all(|(s, _)| s != "BADCLOSE"));
    let (events, gaps) = stream_contents(&sim, &nats.url());
    assert!(events.values().all(|&n| n == 1), "stored twice");
    let stored: HashSet<(String, i64)> = events.into_keys().collect();
    let rows: HashSet<(String, i64)> = rows.into_keys().collect();
    let missing = rows.difference(&stored).count();
    let extra = stored.difference(&rows).count();
    assert_eq!(
        (missing, extra),
        (0, 0),
        "the stream holds exactly the dataset's rows ({} rows)",
        rows.len()
    );
    let totals = totals(&rec);
    assert!(
        totals.contains(&format!(
            "NATS: {} messages published",
            rows.len() + gaps.len()
        )) && totals.contains(" 0 dropped"),
        "every row (and gap) published, nothing dropped: {totals}"
    );
    let log = rec.err.join("\n");
    let lost = log
        .lines()
        .filter(|l| l.contains("NATS connection to") && l.contains("lost"));
    assert_eq!(lost.count(), 0, "no disconnects: {log}");
}
