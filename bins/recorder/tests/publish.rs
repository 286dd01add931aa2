//! `recorder --publish`: the real binary against the simulated exchange and a real
//! `nats-server -js` of each test's own.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::{assert_exactly_once, sent_keys, spawn_recorder, stop_cleanly, wait_until, Sim};
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
        let Ok((_, stream::Message::MiniTickers(t))) = bus::payload::decode_ticker(&m.payload)
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
    let sent = sent_keys(&sim);
    assert_exactly_once(&out_a, &sent);
    assert_exactly_once(&out_b, &sent);
    let (events, _) = stream_contents(&sim, &nats.url());
    let copies: Vec<_> = events.iter().filter(|(_, &n)| n > 1).collect();
    assert!(copies.is_empty(), "stored twice: {copies:?}");
    let stored: HashSet<(String, i64)> = events.into_keys().collect();
    assert_eq!(
        stored, sent,
        "each sent (symbol, event time) once in the stream"
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
    let mut rec = spawn_recorder(&out, &sim.h().ws_base(), &["--publish", &nats.url()]);
    rec.wait_stderr_count(PATIENCE, "publishing every recorded event", 1);
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
