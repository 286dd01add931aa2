//! The application's side of a manager: [`spawn`] starts the task, and [`StreamHandle`]
//! subscribes, unsubscribes, lists, reads the [`super::Stats`] and shuts it down.
//!
//! A handle talks to its task over a command channel; each request carries a one-shot
//! sender that the task settles with Binance's reply, a refusal, or the connection's end.
//! The requests and their error, [`StreamError`], are the `control` module's.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::config::{valid_stream_name, StreamConfig};
use super::control::{Ack, Command, StreamError};
use super::item::StreamItem;
use super::stats::{Counters, Stats};
use super::supervisor::Supervisor;

/// Controls a running manager; see [`spawn`].
#[derive(Debug)]
pub struct StreamHandle {
    commands: mpsc::Sender<Command>,
    /// How long a request may take ([`StreamConfig::control_patience`]).
    patience: Duration,
    shutdown: watch::Sender<bool>,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl StreamHandle {
    /// Sends `SUBSCRIBE`; the streams are remembered and re-sent on every new
    /// connection (reconnect or renewal). Resolves when Binance acknowledges,
    /// or at once while disconnected (they go out on the next connection).
    /// During a renewal, requests go to the newer connection.
    ///
    /// Without a reply the request is sent again (see
    /// [`StreamConfig::control_reply_timeout`]); when every attempt went unanswered the
    /// connection is replaced and this resolves `Ok`: the next connection carries the
    /// streams.
    ///
    /// # Errors
    ///
    /// [`StreamError::InvalidStreamName`] before anything is sent;
    /// [`StreamError::Rejected`] when Binance refuses; [`StreamError::Closed`] when the
    /// manager has stopped.
    pub async fn subscribe(&self, streams: Vec<String>) -> Result<(), StreamError> {
        validate(&streams)?;
        self.request(|ack| Command::Subscribe(streams, ack)).await
    }

    /// Sends `UNSUBSCRIBE` and forgets the streams (resolving like [`Self::subscribe`]).
    ///
    /// # Errors
    ///
    /// As [`Self::subscribe`].
    pub async fn unsubscribe(&self, streams: Vec<String>) -> Result<(), StreamError> {
        validate(&streams)?;
        self.request(|ack| Command::Unsubscribe(streams, ack)).await
    }

    /// Asks Binance for the active subscriptions (`LIST_SUBSCRIPTIONS`).
    ///
    /// # Errors
    ///
    /// [`StreamError::NotConnected`] while no connection is open (or when it ends before
    /// the answer); [`StreamError::Rejected`] when Binance refuses;
    /// [`StreamError::Closed`] when the manager has stopped.
    pub async fn list_subscriptions(&self) -> Result<Vec<String>, StreamError> {
        self.request(Command::List).await
    }

    async fn request<T>(&self, command: impl FnOnce(Ack<T>) -> Command) -> Result<T, StreamError> {
        let (ack, reply) = oneshot::channel();
        self.commands
            .send(command(ack))
            .await
            .map_err(|_| StreamError::Closed)?;
        // The manager settles every request (reply, refusal, or the connection's end);
        // this is only a safety net.
        match tokio::time::timeout(self.patience, reply).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(StreamError::Closed),
            Err(_) => Err(StreamError::Timeout(self.patience)),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.counters.snapshot()
    }

    /// Closes the socket cleanly and stops the manager; the receiver then ends
    /// (after a final [`StreamItem::Disconnected`] with
    /// [`DisconnectReason::Shutdown`](super::DisconnectReason::Shutdown) if a connection was open and the channel
    /// had room).
    pub async fn shutdown(self) {
        self.shutdown.send_replace(true);
        // A panicked task has nothing left to clean up.
        let _ = self.task.await;
    }
}

/// Every name of `streams` a valid stream name ([`valid_stream_name`]).
fn validate(streams: &[String]) -> Result<(), StreamError> {
    match streams.iter().find(|name| !valid_stream_name(name)) {
        Some(name) => Err(StreamError::InvalidStreamName(name.clone())),
        None => Ok(()),
    }
}

/// Starts the manager task; items arrive on the returned receiver.
///
/// The manager stops when [`StreamHandle::shutdown`] is called or the
/// receiver is dropped; dropping the handle alone does not stop it.
/// Must be called inside a Tokio runtime.
pub fn spawn(config: StreamConfig) -> (StreamHandle, mpsc::Receiver<StreamItem>) {
    crate::ensure_crypto_provider();
    let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
    let (command_tx, command_rx) = mpsc::channel(64);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let counters = Arc::new(Counters::default());
    let patience = config.control_patience();
    let supervisor = Supervisor::new(config, tx, command_rx, shutdown_rx, counters.clone());
    let task = tokio::spawn(supervisor.run());
    let handle = StreamHandle {
        commands: command_tx,
        patience,
        shutdown: shutdown_tx,
        counters,
        task,
    };
    (handle, rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_that_would_break_the_url_are_refused() {
        assert!(validate(&["btcusdt@miniTicker".into(), "!miniTicker@arr".into()]).is_ok());
        assert!(validate(&["币安人生usdt@miniTicker".into(), "é".into()]).is_ok());
        for bad in [
            "",
            "a b",
            "a/b",
            "a?b",
            "a\"b",
            "a%b",
            "币安\u{3000}人生",
            "a\u{85}b",
        ] {
            assert_eq!(
                validate(&[bad.to_owned()]),
                Err(StreamError::InvalidStreamName(bad.to_owned()))
            );
        }
    }
}
