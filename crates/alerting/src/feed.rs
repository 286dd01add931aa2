//! The hot path: stream items in, alert lines out.

use std::io::Write;

use alert::{render_update, Hms, Update, Watcher};
use binance::{DisconnectReason, Message, StreamItem};
use events::unix_ms;
use events::Dedup;

use crate::sinks::{Fired, Sinks};

/// Turns stream items into output lines and reports the feed's health on the log (stderr).
#[derive(Debug)]
pub struct Feed {
    watcher: Watcher,
    verbose: bool,
    sinks: Sinks,
    /// The feed was lost and not yet regained.
    lost: bool,
    /// Reused output buffer: one `write_all` per frame.
    buf: String,
    /// Alerts of the current frame, waiting for the sinks.
    fired: Vec<alert::Alert>,
    /// While the stream renews its connection both connections deliver for a moment, and a
    /// repeated update must not alert twice: copies (same symbol and event time) are dropped.
    dedup: Dedup,
}

impl Feed {
    /// A feed printing the decisions of `watcher`.
    pub fn new(watcher: Watcher, verbose: bool, sinks: Sinks) -> Self {
        Feed {
            watcher,
            verbose,
            sinks,
            lost: false,
            buf: String::new(),
            fired: Vec::new(),
            dedup: Dedup::new(),
        }
    }

    /// Handles one item; returns how many lines were written to `out` (flushed).
    ///
    /// # Errors
    ///
    /// Only an I/O error writing or flushing `out`; a bad frame or price is logged and
    /// skipped.
    pub fn handle(&mut self, item: &StreamItem, out: &mut impl Write) -> std::io::Result<usize> {
        match item {
            StreamItem::Message {
                raw,
                message,
                received_at,
                ..
            } => match message {
                Message::MiniTickers(_) => return self.prices(raw.as_str(), *received_at, out),
                Message::ServerShutdown { .. } => {
                    log::warn!("exchange announced a server shutdown; the feed will reconnect")
                }
                Message::ControlError { code, msg, .. } => {
                    log::warn!("exchange refused a subscription request: {code} {msg}")
                }
                Message::ControlReply(_) | Message::Other { .. } => {}
            },
            StreamItem::Connected { .. } => {
                if self.lost {
                    log::warn!("price feed regained");
                } else {
                    log::info!("price feed connected");
                }
                self.lost = false;
                crate::metrics::feed_up(true);
            }
            StreamItem::Disconnected {
                reason: DisconnectReason::Renewal,
                ..
            } => log::debug!("connection renewed without a gap"),
            StreamItem::Disconnected { reason, .. } => {
                if !self.lost {
                    log::warn!("price feed lost ({reason}); reconnecting");
                }
                self.lost = true;
                crate::metrics::feed_up(false);
            }
            StreamItem::Gap { .. } => log::info!("no prices were received while the feed was down"),
            StreamItem::Malformed { error, .. } => {
                crate::metrics::malformed();
                log::warn!("unreadable frame skipped: {error}")
            }
        }
        Ok(0)
    }

    /// Handles the mini tickers of `text` (a frame, or one bus message: Binance's JSON
    /// object of one event) received at `received_at`, decoding it once for their exact
    /// decimal strings; returns how many lines were written to `out`.
    ///
    /// # Errors
    ///
    /// Only an I/O error writing or flushing `out`; an unreadable text or a bad price is
    /// logged and skipped.
    pub fn prices(
        &mut self,
        text: &str,
        received_at: std::time::SystemTime,
        out: &mut impl Write,
    ) -> std::io::Result<usize> {
        crate::metrics::prices_received(received_at);
        self.on_tickers(text, unix_ms(received_at), out)
    }

    fn on_tickers(
        &mut self,
        text: &str,
        received_at_ms: i64,
        out: &mut impl Write,
    ) -> std::io::Result<usize> {
        self.buf.clear();
        let mut now: Option<(Hms, chrono::DateTime<chrono::Local>)> = None;
        let (watcher, buf, fired, verbose, dedup) = (
            &mut self.watcher,
            &mut self.buf,
            &mut self.fired,
            self.verbose,
            &mut self.dedup,
        );
        let mut lines = 0;
        let visited = binance::for_each_raw_mini_ticker(text, |t| {
            if !dedup.first_seen_at(&t.symbol, t.event_time, received_at_ms) {
                return;
            }
            let update = match watcher.on_update(&t.symbol, &t.close) {
                Ok(u) => u,
                Err(e) => {
                    log::warn!("{}: bad last price skipped: {e}", t.symbol);
                    return;
                }
            };
            if !matches!(update, Update::Unwatched) {
                crate::metrics::update();
            }
            let shown = match &update {
                Update::Unwatched => return,
                Update::Quiet if !verbose => return,
                Update::Quiet => 1,
                Update::Alerts(a) => a.len(),
            };
            let (hms, _) = *now.get_or_insert_with(|| {
                let at = chrono::Local::now();
                (Hms::of(&at), at)
            });
            render_update(buf, hms, &t.symbol, &t.close, &update, verbose);
            lines += shown;
            if let Update::Alerts(a) = update {
                fired.extend(a);
            }
        });
        if let Err(e) = visited {
            log::warn!("unreadable frame skipped: {e}");
        }
        if !self.buf.is_empty() {
            out.write_all(self.buf.as_bytes())?;
            out.flush()?;
        }
        if let Some((_, at)) = now {
            for alert in self.fired.drain(..) {
                crate::metrics::alert(&alert);
                if !self.sinks.is_empty() {
                    self.sinks.push(&Fired { alert, at });
                }
            }
        }
        Ok(lines)
    }
}
