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
//! object still there. [`S3Server::black_hole`] plays the other kind of outage: requests
//! accepted and never answered.
//!
//! [`S3Server::start_with`] takes [`S3Options`]: another bucket, a smaller minimum part size
//! (moto's `S3_UPLOAD_PART_MIN_SIZE`, so that a test can exercise multipart uploads with
//! small files), or **authentication**: moto then checks every request's SigV4 signature
//! against its IAM, where the server creates a user with an access key allowed everything
//! (through moto's IAM API, before it switches checking on with `POST /moto-api/reset-auth`);
//! [`S3Server::env`] gives that key, and a wrong secret is refused (`403
//! SignatureDoesNotMatch`) as AWS would. (moto 5.2 checks signatures against a URL with
//! `%2F` and `%3D` decoded, which fails every listing of a prefix; the server patches that
//! check, through a `sitecustomize.py` on moto's `PYTHONPATH`, to see the request as sent.)
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

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::process::Child;
use std::time::Duration;

use crate::tcp_proxy::TcpProxy;

mod moto;
use moto::{binary, http, iam_user, request, spawn_and_wait};

/// How long moto may take to answer after it was spawned (Python imports take a while on a
/// loaded machine).
const START_PATIENCE: Duration = Duration::from_secs(60);

/// The bucket [`S3Server::start`] creates.
pub const BUCKET: &str = "ticks-test";
/// The region the server and the clients are configured for.
pub const REGION: &str = "us-east-1";
/// The dummy access key id (moto accepts any credentials unless [`S3Options::authenticate`]).
pub const ACCESS_KEY_ID: &str = "AKIDTESTONLY";
/// The dummy secret key: tests look for it in output that must not contain secrets.
pub const SECRET_ACCESS_KEY: &str = "test-secret-do-not-print-0123456789";

/// How [`S3Server::start_with`] sets moto up; `S3Options::default()` is what
/// [`S3Server::start`] does.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// The bucket created at start (default [`BUCKET`]).
    pub bucket: String,
    /// Check every request's signature against moto's IAM, with a user and access key made
    /// at start ([`S3Server::env`] gives it) instead of accepting any credentials.
    pub authenticate: bool,
    /// The smallest part (but the last) of a multipart upload moto accepts; `None`: S3's
    /// 5 MiB.
    pub min_part_bytes: Option<u64>,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            bucket: BUCKET.to_owned(),
            authenticate: false,
            min_part_bytes: None,
        }
    }
}

/// A running `moto_server` with one bucket, reachable through a cuttable endpoint; killed on
/// drop.
#[derive(Debug)]
pub struct S3Server {
    proxy: TcpProxy,
    backend_port: u16,
    child: Child,
    dir: tempfile::TempDir,
    bucket: String,
    access_key_id: String,
    secret_access_key: String,
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
        Self::start_with(S3Options {
            bucket: bucket.to_owned(),
            ..S3Options::default()
        })
    }

    /// [`start`](Self::start) as `options` say.
    ///
    /// # Errors
    ///
    /// As [`start_with_bucket`](Self::start_with_bucket), and with
    /// [`S3Options::authenticate`] an error naming the IAM request moto refused.
    pub fn start_with(options: S3Options) -> io::Result<Self> {
        let bucket = options.bucket.as_str();
        let dir = tempfile::tempdir()?;
        let mut env = Vec::new();
        if let Some(bytes) = options.min_part_bytes {
            env.push(("S3_UPLOAD_PART_MIN_SIZE", bytes.to_string()));
        }
        if options.authenticate {
            std::fs::write(
                dir.path().join("sitecustomize.py"),
                moto::RAW_URI_SIGNATURES,
            )?;
            env.push(("PYTHONPATH", dir.path().display().to_string()));
        }
        let program = binary().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "moto_server not found (set MOTO_SERVER, or run scripts/setup-test-env.sh)",
            )
        })?;
        let mut attempts = 0;
        let (child, backend_port) = loop {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
                .local_addr()?
                .port();
            let log = dir.path().join(format!("moto-{port}.log"));
            match spawn_and_wait(&program, port, &log, &env) {
                Ok(child) => break (child, port),
                Err(e) if attempts < 5 && e.to_string().contains("already in use") => {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        };
        let backend = SocketAddr::from((Ipv4Addr::LOCALHOST, backend_port));
        let mut server = S3Server {
            proxy: TcpProxy::start(backend)?,
            backend_port,
            child,
            dir,
            bucket: bucket.to_owned(),
            access_key_id: ACCESS_KEY_ID.to_owned(),
            secret_access_key: SECRET_ACCESS_KEY.to_owned(),
        };
        server.create_bucket(bucket)?;
        if options.authenticate {
            let (id, secret) = iam_user(backend_port)?;
            server.access_key_id = id;
            server.secret_access_key = secret;
            let (status, answer) = http(backend_port, "POST", "/moto-api/reset-auth", &[], "0")?;
            if status != 200 {
                return Err(io::Error::other(format!(
                    "moto_server answered {status} to reset-auth: {answer:.200}"
                )));
            }
        }
        Ok(server)
    }

    /// The access key id [`env`](Self::env) gives: [`ACCESS_KEY_ID`], or with
    /// [`S3Options::authenticate`] the one moto's IAM made.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret key [`env`](Self::env) gives (see [`access_key_id`](Self::access_key_id)).
    pub fn secret_access_key(&self) -> &str {
        &self.secret_access_key
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
    /// `AWS_ALLOW_HTTP=true`, `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (dummies, or the
    /// IAM user's key of an authenticating server), and `AWS_REGION`. Pass it to
    /// `Command::envs`.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_ACCESS_KEY_ID", self.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_access_key.clone()),
            ("AWS_REGION", REGION.to_owned()),
        ]
    }

    /// One variable of [`env`](Self::env) by name (a lookup for configuration readers
    /// such as `dataset::location::S3Config::from_vars`).
    pub fn var(&self, name: &str) -> Option<String> {
        self.env()
            .into_iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// Creates another bucket (a plain, unsigned `PUT /<bucket>`).
    ///
    /// # Errors
    ///
    /// An I/O error when moto cannot be reached or its answer is not HTTP, and an error
    /// naming the status when moto answers anything but 200 (e.g. an invalid bucket name, or
    /// any bucket once an authenticating server checks signatures).
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

    /// Plays a black-holed endpoint ([`TcpProxy::black_hole`]): connections are accepted
    /// and requests read, but nothing is ever answered, until [`restart`](Self::restart).
    /// moto keeps every object.
    pub fn black_hole(&mut self) {
        self.proxy.black_hole();
    }

    /// Ends an outage (a stop or a black hole): the endpoint answers again on the same port with the same objects.
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
