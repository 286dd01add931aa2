//! A tiny HTTP server for the body-size caps of the HTTP clients: it answers every request
//! with a fixed head, then either nothing more (the connection is held open: a body that a
//! `Content-Length` announced never comes) or chunks of zeros until the client hangs up (an
//! endless `Transfer-Encoding: chunked` body). A client that reads answers whole waits for
//! its timeout on the first and fills its memory on the second; a capped one refuses both.
//!
//! ```no_run
//! let addr = testkit::http::oversize(testkit::http::DECLARED_1_GIB, false);
//! // ... point the client under test at http://{addr} ...
//! # let _ = addr;
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

/// A 200 whose `Content-Length` announces 1 GiB of JSON, then one byte of it.
pub const DECLARED_1_GIB: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                  content-length: 1073741824\r\n\r\n[";

/// A 200 with a chunked body (the chunks follow when `endless`).
pub const CHUNKED: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                           transfer-encoding: chunked\r\n\r\n";

/// Starts the server on a free local port (threads that live as long as the process) and
/// returns its address: each request gets `head`, then, when `endless`, 64 KiB chunks
/// until the client hangs up, else the connection is held for a minute.
///
/// # Panics
///
/// When no local port can be bound (a test set-up failure).
pub fn oversize(head: &'static str, endless: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        for mut sock in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = sock.read(&mut [0u8; 4096]);
                let mut sent = sock.write_all(head.as_bytes());
                let chunk = format!("10000\r\n{}\r\n", "0".repeat(0x10000));
                while endless && sent.is_ok() {
                    sent = sock.write_all(chunk.as_bytes());
                }
                std::thread::sleep(Duration::from_secs(60));
            });
        }
    });
    addr
}
