//! The part of `ingest_ab` that differs between trees, for a base tree from before the
//! decoder's spans (c68e01f .. 4397b92): `scripts/bench-ab.sh` copies this file over
//! `new.rs` in the base's worktree (and there the venue crate is still named `stream`).

use record::Recorder;

/// A frame decoded as the connection manager decoded it then.
pub struct Decoded {
    pub tickers: Vec<binance::MiniTicker>,
}

/// The frame's mini tickers, or `None` for another kind of frame.
pub fn decode(frame: &str) -> Option<Decoded> {
    match binance::decode(frame) {
        Ok(binance::Message::MiniTickers(tickers)) => Some(Decoded { tickers }),
        _ => None,
    }
}

/// `Recorder::ingest_message` on connection 1.
pub fn ingest_message(rec: &mut Recorder, received_at_ms: i64, frame: &str, decoded: Decoded) {
    rec.ingest_message(1, received_at_ms, frame, decoded.tickers)
        .expect("ingest");
}
