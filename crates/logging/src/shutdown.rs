//! The one shutdown-signal helper of the binaries: SIGINT (Ctrl-C) or SIGTERM asks the
//! program to stop.
//!
//! [`shutdown_signal`] installs both handlers at once (so a signal that arrives before
//! anyone waits is not lost) and returns a [`watch::Receiver`] that turns `true` at the
//! first signal. A long-running loop checks it between steps or `select!`s on
//! [`requested`]; later signals are caught too (the process is not killed halfway through
//! its final save) and handed to the callback, which may say "still saving".
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let mut shutdown = logging::shutdown_signal(|signal, first| {
//!     if first {
//!         log::info!("{signal} received: stopping");
//!     } else {
//!         eprintln!("still stopping, please wait");
//!     }
//! })?;
//! tokio::select! {
//!     () = logging::requested(&mut shutdown) => {}
//!     () = std::future::pending::<()>() => {} // the program's work
//! }
//! # Ok(()) }
//! ```

use tokio::sync::watch;

/// Which signal asked for the shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (`kill`, a service manager, `docker stop`).
    Terminate,
}

/// `SIGINT` or `SIGTERM`.
impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        })
    }
}

/// Listens for SIGINT and SIGTERM from now on; the receiver turns `true` at the first one.
/// `on_signal(signal, first)` is called from the listening task for every signal received
/// (`first` is true once).
///
/// Must be called inside a tokio runtime with its signal driver enabled
/// (`Builder::enable_all`).
///
/// # Errors
/// A handler cannot be installed (the operating system refused it).
pub fn shutdown_signal<F>(mut on_signal: F) -> std::io::Result<watch::Receiver<bool>>
where
    F: FnMut(Signal, bool) + Send + 'static,
{
    let (tx, rx) = watch::channel(false);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        tokio::spawn(async move {
            loop {
                let got = tokio::select! {
                    got = int.recv() => got.map(|()| Signal::Interrupt),
                    got = term.recv() => got.map(|()| Signal::Terminate),
                };
                let Some(signal) = got else { return };
                let first = !tx.send_replace(true);
                on_signal(signal, first);
            }
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            let first = !tx.send_replace(true);
            on_signal(Signal::Interrupt, first);
        }
    });
    Ok(rx)
}

/// Resolves once `shutdown` is `true` (at once if it already is).
pub async fn requested(shutdown: &mut watch::Receiver<bool>) {
    // An error means the listening task is gone (the runtime is shutting down): nothing
    // will ever be signalled, so wait forever like an unsignalled program would.
    if shutdown.wait_for(|&stop| stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    fn kill(signal: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(std::process::id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal}");
    }

    #[tokio::test]
    async fn the_first_signal_turns_the_flag_and_later_ones_are_still_caught() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let mut shutdown = shutdown_signal(move |s, first| log.lock().unwrap().push((s, first)))
            .expect("handlers install");
        assert!(!*shutdown.borrow());
        kill("TERM");
        tokio::time::timeout(Duration::from_secs(30), requested(&mut shutdown))
            .await
            .expect("SIGTERM is seen");
        kill("INT");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while seen.lock().unwrap().len() < 2 {
            assert!(tokio::time::Instant::now() < deadline, "{seen:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            *seen.lock().unwrap(),
            [(Signal::Terminate, true), (Signal::Interrupt, false)]
        );
        // Already requested: resolves at once.
        requested(&mut shutdown).await;
    }
}
