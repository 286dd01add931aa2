//! A real S3-compatible server of a test's own: `moto_server` (PyPI `moto[server]`) on
//! 127.0.0.1 with one bucket, behind a [`TcpProxy`] so that a test can play an outage of the
//! endpoint without losing the objects.
//!
//! `moto_server` implements the S3 REST API, including the create-only conditional put
//! (`If-None-Match: *`) and `If-Match` that the tick dataset and its lease rely on. It keeps
//! everything in its process memory, so restarting the process would empty the bucket; no
//! real object store loses data when it is unreachable. [`S3Server::stop`] therefore cuts
//! the endpoint at the TCP level (connections refused, open ones reset) while moto keeps
//! running behind it, and [`S3Server::restart`] opens the same endpoint again with every
//! object still there.
//!
//! The program is `$MOTO_SERVER`, else `moto_server` on `PATH`, else the virtualenv that
//! `scripts/setup-test-env.sh` creates (`$MOTO_VENV`, default `~/.cache/marketdata/moto`).
//!
//! ```no_run
//! let mut s3 = sim::s3::S3Server::start().expect("S3 test server");
//! let mut recorder = std::process::Command::new("recorder");
//! recorder.envs(s3.env()).arg("--out-dir").arg(s3.url("ticks"));
//! // ... run it, then play an outage:
//! s3.stop();
//! s3.restart().unwrap();
//! ```

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::tcp_proxy::TcpProxy;

/// How long moto may take to answer after it was spawned (Python imports take a while on a
/// loaded machine).
const START_PATIENCE: Duration = Duration::from_secs(60);

/// The bucket [`S3Server::start`] creates.
pub const BUCKET: &str = "ticks-test";
/// The region the server and the clients are configured for.
pub const REGION: &str = "us-east-1";
/// The dummy access key id (moto accepts any credentials).
pub const ACCESS_KEY_ID: &str = "AKIDTESTONLY";
/// The dummy secret key: tests look for it in output that must not contain secrets.
pub const SECRET_ACCESS_KEY: &str = "test-secret-do-not-print-0123456789";

/// A running `moto_server` with one bucket, reachable through a cuttable endpoint; killed on
/// drop.
#[derive(Debug)]
pub struct S3Server {
    proxy: TcpProxy,
    backend_port: u16,
    child: Child,
    dir: tempfile::TempDir,
    bucket: String,
}

impl S3Server {
    /// Starts moto on a free port, waits until it answers and creates the bucket [`BUCKET`].
    ///
    /// Fails with an error that says to run `scripts/setup-test-env.sh` when `moto_server`
    /// is not installed. The backend port is found by binding port 0 and letting it go, so
    /// another test may take it first: then another port is tried (a few times).
    ///
    /// # Errors
    ///
    /// As [`start_with_bucket`](Self::start_with_bucket).
    pub fn start() -> io::Result<Self> {
        Self::start_with_bucket(BUCKET)
    }

    /// [`start`](Self::start) with another bucket name.
    ///
    /// # Errors
    ///
    /// - [`io::ErrorKind::NotFound`] when no `moto_server` is found (neither `MOTO_SERVER`,
    ///   `PATH` nor the `MOTO_VENV` / `~/.cache/marketdata/moto` virtualenv has one).
    /// - An error carrying moto's log when it cannot be spawned, exits, or does not answer
    ///   HTTP within the start patience (after five retries on "address already in use").
    /// - Any I/O error of the temporary directory, the port probe or the proxy
    ///   ([`TcpProxy::start`]).
    /// - The error of [`create_bucket`](Self::create_bucket) for `bucket`.
    pub fn start_with_bucket(bucket: &str) -> io::Result<Self> {
        let program = binary().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "moto_server not found (set MOTO_SERVER, or run scripts/setup-test-env.sh)",
            )
        })?;
        let dir = tempfile::tempdir()?;
        let mut attempts = 0;
        let (child, backend_port) = loop {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
                .local_addr()?
                .port();
            let log = dir.path().join(format!("moto-{port}.log"));
            match spawn_and_wait(&program, port, &log) {
                Ok(child) => break (child, port),
                Err(e) if attempts < 5 && e.to_string().contains("already in use") => {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        };
        let backend = SocketAddr::from((Ipv4Addr::LOCALHOST, backend_port));
        let server = S3Server {
            proxy: TcpProxy::start(backend)?,
            backend_port,
            child,
            dir,
            bucket: bucket.to_owned(),
        };
        server.create_bucket(bucket)?;
        Ok(server)
    }

    /// `http://127.0.0.1:PORT`, the endpoint clients use (the proxy; stable across
    /// [`stop`](Self::stop) and [`restart`](Self::restart)).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.proxy.addr())
    }

    /// The bucket created at start.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// `s3://<bucket>/<prefix>` (or `s3://<bucket>` for an empty prefix).
    pub fn url(&self, prefix: &str) -> String {
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{prefix}", self.bucket)
        }
    }

    /// The environment a client process needs to reach this server: `AWS_ENDPOINT_URL`,
    /// `AWS_ALLOW_HTTP=true`, dummy `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, and
    /// `AWS_REGION`. Pass it to `Command::envs`.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
            ("AWS_REGION", REGION.to_owned()),
        ]
    }

    /// One variable of [`env`](Self::env) by name (a lookup for configuration readers
    /// such as `store::ticks::location::S3Config::from_vars`).
    pub fn var(&self, name: &str) -> Option<String> {
        self.env()
            .into_iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// Creates another bucket (a plain `PUT /<bucket>`).
    ///
    /// # Errors
    ///
    /// An I/O error when moto cannot be reached or its answer is not HTTP, and an error
    /// naming the status when moto answers anything but 200 (e.g. an invalid bucket name).
    pub fn create_bucket(&self, bucket: &str) -> io::Result<()> {
        let status = request(self.backend_port, "PUT", &format!("/{bucket}"))?;
        if status == 200 {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "moto_server answered {status} to PUT /{bucket}"
            )))
        }
    }

    /// Plays an outage: the endpoint refuses connections and open ones are reset, while the
    /// server behind it keeps every object. Idempotent.
    pub fn stop(&mut self) {
        self.proxy.cut();
    }

    /// Ends an outage: the endpoint answers again on the same port with the same objects.
    ///
    /// # Errors
    ///
    /// As [`TcpProxy::restore`]: the port could not be bound again (another process took
    /// it during the outage).
    pub fn restart(&mut self) -> io::Result<()> {
        self.proxy.restore()
    }

    /// Whether the endpoint currently accepts connections.
    pub fn is_up(&self) -> bool {
        self.proxy.is_up()
    }

    /// How many outages [`stop`](Self::stop) played.
    pub fn outages(&self) -> u64 {
        self.proxy.cuts()
    }

    /// moto's request log (one line per request), for a failing test's message.
    pub fn log(&self) -> String {
        let path = self
            .dir
            .path()
            .join(format!("moto-{}.log", self.backend_port));
        std::fs::read_to_string(path).unwrap_or_default()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns moto on `port` and waits until it answers HTTP; on failure the child is killed
/// and the error carries its log (which says "Address already in use" on a port race).
fn spawn_and_wait(program: &PathBuf, port: u16, log: &std::path::Path) -> io::Result<Child> {
    let out = std::fs::File::create(log)?;
    let mut child = Command::new(program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run moto_server: {e}")))?;
    let deadline = Instant::now() + START_PATIENCE;
    loop {
        if request(port, "GET", "/").is_ok() {
            return Ok(child);
        }
        let exited = child.try_wait().ok().flatten();
        if exited.is_some() || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let text = std::fs::read_to_string(log).unwrap_or_default();
            return Err(io::Error::other(format!(
                "moto_server did not start on port {port}: {text}"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One unsigned HTTP/1.1 request to moto directly (not through the proxy); returns the
/// status code. moto accepts unsigned requests, which is all bucket creation needs.
fn request(port: u16, method: &str, path: &str) -> io::Result<u16> {
    let mut conn = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        conn,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer)?;
    let head = String::from_utf8_lossy(&answer);
    head.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::other(format!("not an HTTP answer: {head:.80}")))
}

fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("moto_server"))
            .collect::<Vec<_>>()
    });
    let venv = std::env::var_os("MOTO_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/marketdata/moto"))
        })
        .map(|v| v.join("bin/moto_server"));
    on_path.chain(venv).find(|p| p.is_file())
}
