//! The CPU a bus alerter spends per event: the subscriber's work on a message plus the
//! feed's, before and after the bus stopped decoding events (issue 21, "decode once").
//!
//! - `two_parses`: what the alerter did before: the subscriber decoded each message
//!   (`bus::payload::decode_ticker`: the JSON parsed, every number parsed as `f64`) and the
//!   feed parsed it again for the exact decimal strings it compares and prints;
//! - `one_parse`: what it does now: the subscriber checks UTF-8 only
//!   ([`bus::BusItem::Tickers`] carries the text) and the feed parses it once
//!   (`BusSource::apply` → `Feed::prices`).
//!
//! Both cases run the same feed on the same messages (10 watched symbols, 2,000 events, the
//! simulator's sample market re-encoded as the recorder publishes it), so their ratio is the
//! saving: with quiet updates (the default), or with `BUS_DECODE_ALERTS=all` every update
//! alerting (the feed's costliest case). `cargo bench -p alerting --bench bus_decode` prints ns per event and the ratio;
//! `BUS_DECODE_COUNT=two_parses|one_parse valgrind --tool=callgrind --toggle-collect='*counted*'
//! <exe>` counts the instructions of one case (a figure that does not move with the load).

use std::hint::black_box;
use std::time::{Instant, SystemTime};

use alert::{Direction, Level, Mode, Watcher};
use alerting::bus_source::BusSource;
use alerting::feed::Feed;
use alerting::sinks::Sinks;

const WATCHED: usize = 10;

fn main() {
    let (watched, messages) = messages();
    if let Ok(case) = std::env::var("BUS_DECODE_COUNT") {
        let run = case_fn(&case, &watched, &messages);
        counted(run);
        return;
    }
    let events = messages.len() as f64;
    let mut per_event = Vec::new();
    for case in ["two_parses", "one_parse"] {
        let mut run = case_fn(case, &watched, &messages);
        run(); // warm-up
        let rounds = 50;
        let start = Instant::now();
        for _ in 0..rounds {
            run();
        }
        let ns = start.elapsed().as_nanos() as f64 / rounds as f64 / events;
        println!("bus_decode/{case}: {ns:.0} ns per event");
        per_event.push(ns);
    }
    println!(
        "bus_decode: one_parse / two_parses = {:.3}",
        per_event[1] / per_event[0]
    );
}

/// One pass of `case` over `messages` through a fresh feed.
fn case_fn<'a>(
    case: &str,
    watched: &'a [String],
    messages: &'a [Vec<u8>],
) -> Box<dyn FnMut() + 'a> {
    let two_parses = match case {
        "two_parses" => true,
        "one_parse" => false,
        other => panic!("unknown case {other}"),
    };
    Box::new(move || {
        let mut feed = Feed::new(watcher(watched), false, Sinks::default());
        let mut source = BusSource::new("nats://127.0.0.1:4222".into());
        let mut out = std::io::sink();
        for payload in messages {
            if two_parses {
                // The subscriber's decode before: its result was handed on, and only the
                // kind of message was looked at.
                black_box(bus::payload::decode_ticker(payload).expect("a mini ticker"));
            }
            let item = bus::BusItem::Tickers {
                raw: std::str::from_utf8(payload).expect("UTF-8").to_owned(),
                received_at: SystemTime::UNIX_EPOCH,
            };
            black_box(source.apply(item, &mut feed, &mut out).expect("write"));
        }
    })
}

/// What an instruction count measures; never inlined, so that callgrind can toggle on it.
#[inline(never)]
fn counted(mut work: impl FnMut()) {
    work();
    black_box(());
}

/// Levels no price reaches (the usual case: most updates are quiet), or with
/// `BUS_DECODE_ALERTS=all` a level every price is above (each update alerts and prints a
/// line: the feed's costliest case, where the saving is smallest).
fn watcher(symbols: &[String]) -> Watcher {
    let all = std::env::var("BUS_DECODE_ALERTS").is_ok_and(|v| v == "all");
    let price = if all { "0.000001" } else { "1000000000" };
    let levels = symbols
        .iter()
        .map(|s| Level::parse(s.parse().expect("symbol"), Direction::Above, price).expect("level"));
    Watcher::new(levels, Mode::EveryUpdate)
}

/// The `WATCHED` most frequent symbols of the sample market, and 2,000 bus payloads of
/// theirs in market order, as the recorder publishes them (Binance's JSON object of one
/// event, exact decimal strings).
fn messages() -> (Vec<String>, Vec<Vec<u8>>) {
    let (frames, _) = sim::market::sample_frames(7, 200, 400);
    let mut all: Vec<(String, Vec<u8>)> = Vec::new();
    for frame in &frames {
        binance::for_each_raw_mini_ticker(frame, |t| {
            let mut payload = String::new();
            bus::payload::encode_ticker(&t, &mut payload);
            all.push((t.symbol.to_string(), payload.into_bytes()));
        })
        .expect("a sample frame");
    }
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for (s, _) in &all {
        *counts.entry(s.clone()).or_default() += 1;
    }
    let mut top: Vec<(String, usize)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let watched: Vec<String> = top.into_iter().take(WATCHED).map(|(s, _)| s).collect();
    let messages = all
        .into_iter()
        .filter(|(s, _)| watched.contains(s))
        .map(|(_, payload)| payload)
        .take(2_000)
        .collect();
    (watched, messages)
}
