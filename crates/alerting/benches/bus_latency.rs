//! Alert latency through the bus: from the recorder's receive time (the stream manager's
//! `received_at` on the recorder's `!miniTicker@arr` connection) to the alert line written by
//! an alerter that follows the symbols on NATS JetStream — recorder ingest (de-duplication,
//! buffer, `bus::Publisher`), a local `nats-server -js`, `bus::subscribe`, `BusSource`,
//! `Feed::handle`: the code `recorder --publish` and `alerter --source` run.
//!
//! Run: `cargo bench -p alerting --bench bus_latency` (release; needs `nats-server`). 100
//! watched symbols; prints p50/p90/p99/p99.9/max. Lines go to `/dev/null`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

mod common;

use alerting::bus_source::BusSource;
use alerting::feed::Feed;
use alerting::sinks::Sinks;
use binance::{Message, StreamItem};
use common::{start_market, watcher, SYMBOLS, TICKS};

/// (symbol, event time) -> when the recorder received it.
type Received = Arc<Mutex<HashMap<(String, i64), SystemTime>>>;

fn main() {
    common::run(
        &format!("alert latency through NATS, {SYMBOLS} symbols"),
        measure(),
    );
}

async fn measure() -> Vec<Duration> {
    let nats = sim::nats::NatsServer::start().expect("nats-server starts");
    let bus_config = bus::BusConfig::from_url(&nats.url()).expect("url");
    let (names, sim) = start_market().await;

    // The alerter side subscribes first: the paths advance once the recorder watches.
    let watcher = watcher(&names);
    let mut items = bus::subscribe(&bus_config, &names)
        .await
        .expect("subscribed");
    let mut source = BusSource::new(bus_config.server());
    let mut feed = Feed::new(watcher, false, Sinks::default());

    // The recorder side.
    let received: Received = Arc::default();
    let (publisher, publisher_task) =
        bus::Publisher::start(bus_config.clone(), bus::StreamLimits::default(), 65_536);
    let dir = tempfile::tempdir().expect("temp dir");
    let recorder = tokio::spawn(record_into_bus(
        sim.ws_base(),
        dir.path().to_path_buf(),
        publisher,
        received.clone(),
    ));

    let mut out = std::fs::File::create("/dev/null").expect("/dev/null");
    let expected = SYMBOLS * TICKS / 2;
    let mut samples = Vec::with_capacity(expected);
    let collect = async {
        while samples.len() < expected {
            let Some(item) = items.recv().await else {
                break;
            };
            // The event's key, read only once it alerted (outside the alerter's own work).
            let event = match &item {
                bus::BusItem::Tickers { raw, .. } => Some(raw.clone()),
                _ => None,
            };
            let lines = source.apply(item, &mut feed, &mut out).expect("write");
            let (Some(raw), true) = (event, lines > 0) else {
                continue;
            };
            let now = SystemTime::now();
            let Ok(Message::MiniTickers(t)) = binance::decode(&raw) else {
                continue;
            };
            let key = (t[0].symbol.to_string(), t[0].event_time);
            if let Some(at) = received.lock().expect("lock").get(&key) {
                samples.push(now.duration_since(*at).unwrap_or_default());
            }
        }
    };
    tokio::select! {
        () = collect => {}
        () = tokio::time::sleep(Duration::from_secs(120)) => eprintln!("timed out"),
    }
    recorder.abort();
    let _ = recorder.await;
    let stats = publisher_task.finish(Duration::from_secs(5)).await;
    eprintln!("publisher: {stats:?}");
    samples
}

/// The recorder's ingest path with the bus as its sink, on the all-market stream.
async fn record_into_bus(
    ws_base: String,
    dir: std::path::PathBuf,
    publisher: bus::Publisher,
    received: Received,
) {
    let mut rec = record::Recorder::new(dir).expect("recorder");
    rec.set_sink(Box::new(publisher));
    let (_handle, mut items) = binance::spawn(binance::StreamConfig::new(
        &ws_base,
        vec!["!miniTicker@arr".into()],
    ));
    while let Some(item) = items.recv().await {
        if let StreamItem::Message {
            conn_id,
            received_at,
            raw,
            message: Message::MiniTickers(tickers),
            spans,
            ..
        } = item
        {
            {
                let mut map = received.lock().expect("lock");
                for t in &tickers {
                    map.insert((t.symbol.to_string(), t.event_time), received_at);
                }
            }
            let ms = received_at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let _ = rec.ingest_message(conn_id, ms, raw.as_str(), tickers, spans);
        }
    }
}
