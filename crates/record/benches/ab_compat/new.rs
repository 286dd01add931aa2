//! The part of `ingest_ab` that differs between trees, for this tree: the recorder's
//! decoder gives each kept ticker its element's span, and `Recorder::ingest_message` takes
//! them. `scripts/bench-ab.sh` puts `old.rs` in its place in a base tree without spans.

use record::Recorder;

/// A frame decoded as the connection manager decodes it for a recorder without an output
/// (no spans: the manager notes them only for a sink).
pub struct Decoded {
    pub tickers: Vec<binance::MiniTicker>,
    spans: Vec<events::Span>,
}

/// The frame's mini tickers, or `None` for another kind of frame.
pub fn decode(frame: &str) -> Option<Decoded> {
    match binance::decode_elements(frame) {
        Ok(binance::Decoded {
            message: binance::Message::MiniTickers(tickers),
            spans,
            ..
        }) => Some(Decoded { tickers, spans }),
        _ => None,
    }
}

/// `Recorder::ingest_message` on connection 1.
pub fn ingest_message(rec: &mut Recorder, received_at_ms: i64, frame: &str, decoded: Decoded) {
    rec.ingest_message(1, received_at_ms, frame, decoded.tickers, decoded.spans)
        .expect("ingest");
}
