//! The client side of the endpoint: one blocking `GET`, for health-check scripts, container
//! `HEALTHCHECK`s written in Rust, and the end-to-end tests of the binaries.
//!
//! ```no_run
//! let addr = "127.0.0.1:9464".parse().unwrap();
//! let (status, body) = ops::probe::get(addr, "/health", std::time::Duration::from_secs(2))?;
//! println!("{status} {body}");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

/// `GET path` on `addr` over HTTP/1.1; returns the status code and the body. `timeout`
/// bounds the connect and each read and write.
///
/// # Errors
///
/// The I/O error of connecting, writing or reading (a timeout is `TimedOut` /
/// `WouldBlock`), or `InvalidData` for an answer that is not HTTP.
pub fn get(addr: SocketAddr, path: &str, timeout: Duration) -> io::Result<(u16, String)> {
    let mut conn = TcpStream::connect_timeout(&addr, timeout)?;
    conn.set_read_timeout(Some(timeout))?;
    conn.set_write_timeout(Some(timeout))?;
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    conn.read_to_string(&mut text)?;
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "not an HTTP/1.1 response");
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(bad)?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(bad)?;
    Ok((status, body.to_owned()))
}

/// Checks a `/metrics` body with Prometheus' own parser and linter, `promtool check
/// metrics` (Debian's `prometheus` package): `Err` with promtool's words if it does not parse
/// or breaks a naming convention (a counter without `_total`, a metric without `# HELP`).
///
/// # Errors
///
/// promtool's own words when the text does not parse or breaks a naming convention, or
/// why promtool could not be run (not installed).
pub fn promtool_check_metrics(text: &str) -> Result<(), String> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run promtool (apt-get install prometheus): {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot feed promtool: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("promtool failed: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "promtool check metrics: {}{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
