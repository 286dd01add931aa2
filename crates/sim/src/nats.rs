//! A real `nats-server` with JetStream of a test's own (beside the simulated exchange, for
//! the tests of the NATS bus): a free port on
//! 127.0.0.1, a fresh store directory, and stop / restart on the same port and directory to
//! play an outage.
//!
//! The binary is `$NATS_SERVER`, else `nats-server` on `PATH`, else Debian's
//! `/usr/sbin/nats-server` (`apt-get install nats-server`; `make test` installs it).

use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a start may take before it counts as failed.
const START_PATIENCE: Duration = Duration::from_secs(30);

/// A running (or stopped) test server; killed on drop.
#[derive(Debug)]
pub struct NatsServer {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    starts: u32,
    /// Extra command-line arguments (e.g. `--auth TOKEN`), kept for restarts.
    extra: Vec<String>,
}

impl NatsServer {
    /// Starts a server on a free port with a fresh store directory; returns once it says it
    /// is ready.
    ///
    /// The free port is found by binding port 0 and letting it go, so a test running in
    /// parallel may take it before `nats-server` binds it: then a new port is tried (a few
    /// times), instead of failing the test on a race of the test harness.
    pub fn start() -> io::Result<Self> {
        Self::start_with(&[])
    }

    /// [`NatsServer::start`] with extra `nats-server` arguments, used on every restart too:
    /// e.g. `["--auth", "TOKEN"]` for a server that wants a token, or
    /// `["--user", "U", "--pass", "P"]`.
    pub fn start_with(extra: &[&str]) -> io::Result<Self> {
        let mut server = NatsServer {
            port: 0,
            dir: tempfile::tempdir()?,
            child: None,
            starts: 0,
            extra: extra.iter().map(|a| a.to_string()).collect(),
        };
        let mut attempts = 0;
        loop {
            server.port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
                .local_addr()?
                .port();
            match server.restart() {
                Ok(()) => return Ok(server),
                Err(e) if attempts < 5 && e.to_string().contains("address already in use") => {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The JetStream store directory.
    pub fn store_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills the server (SIGKILL: an outage, not a clean shutdown) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store directory (stopping it first if
    /// it runs).
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        self.starts += 1;
        let log = self.dir.path().join(format!("server-{}.log", self.starts));
        let store = self.dir.path().join("store");
        let child = Command::new(binary())
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&store)
            .arg("-l")
            .arg(&log)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run nats-server: {e}")))?;
        self.child = Some(child);
        let deadline = Instant::now() + START_PATIENCE;
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Server is ready") {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "nats-server did not start on port {}: {text}",
                    self.port
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return path.into();
    }
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("nats-server"))
            .collect::<Vec<_>>()
    });
    on_path
        .chain([PathBuf::from("/usr/sbin/nats-server")])
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("nats-server"))
}
