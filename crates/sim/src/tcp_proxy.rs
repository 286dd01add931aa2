//! A TCP forwarder that can be cut and restored: an outage of the server behind it, played
//! at the network level while the server itself keeps running (and keeps its state).
//!
//! Tests use it where stopping the real server would lose what it holds: `moto_server`
//! keeps its objects only in its own process memory, so killing it would wipe the bucket,
//! which no real object store does when it is unreachable for a while. [`TcpProxy::cut`]
//! closes the listening socket (new connections are refused, exactly like a stopped
//! server) and resets every open connection; [`TcpProxy::restore`] listens again on the
//! same port. The server behind the proxy is real; only the path to it is interrupted.
//!
//! [`TcpProxy::black_hole`] plays the nastier outage: a path that swallows packets. New
//! connections are still accepted and every byte sent is read, but nothing is forwarded in
//! either direction and nothing is ever answered, neither on new nor on open connections,
//! so a client learns of the outage only through its own timeouts. A connection that lost
//! bytes to the black hole stays silent for good (the rest of a half-forwarded request
//! would be garbage to the server); [`TcpProxy::restore`] ends the black hole for every
//! connection opened after it.
//!
//! Plain threads, no async runtime: the proxy works the same under any test harness.
//!
//! ```no_run
//! # fn demo() -> std::io::Result<()> {
//! let backend: std::net::SocketAddr = "127.0.0.1:9000".parse().unwrap();
//! let proxy = sim::tcp_proxy::TcpProxy::start(backend)?;
//! // point the client at proxy.addr() ...
//! proxy.cut(); // connections refused, open ones reset
//! proxy.restore()?; // back on the same port
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the accept loop looks for a new connection (the listener is non-blocking so
/// that [`TcpProxy::cut`] can close it at any moment).
const ACCEPT_POLL: Duration = Duration::from_millis(2);

/// A running forwarder from `127.0.0.1:<port>` to a backend address; stops on drop.
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    backend: SocketAddr,
    /// The listener (None while cut) and the open connections, under one lock so that a
    /// cut never races an accept: after `cut` returns no connection is open or accepted.
    state: Mutex<State>,
    quit: AtomicBool,
    /// While set, nothing is forwarded (see [`TcpProxy::black_hole`]).
    black_hole: AtomicBool,
    next_id: AtomicU64,
    cuts: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    listener: Option<TcpListener>,
    /// Every forwarded connection, by id (removed when both directions ended).
    conns: HashMap<u64, Conn>,
}

#[derive(Debug)]
struct Conn {
    client: TcpStream,
    backend: TcpStream,
    /// Copy threads still running (2, 1, then removed).
    live: u8,
}

/// Set once a connection lost bytes to the black hole: it forwards nothing ever after.
type Swallowed = Arc<AtomicBool>;

impl TcpProxy {
    /// Listens on a free port of 127.0.0.1 and forwards every connection to `backend`.
    ///
    /// # Errors
    ///
    /// An I/O error when no listening socket can be bound or configured on 127.0.0.1, or
    /// the accept thread cannot be spawned. An unreachable `backend` is not an error here:
    /// connections to the proxy are then closed as they arrive.
    pub fn start(backend: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            backend,
            state: Mutex::new(State {
                listener: Some(listener),
                conns: HashMap::new(),
            }),
            quit: AtomicBool::new(false),
            black_hole: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            cuts: AtomicU64::new(0),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("tcp-proxy-accept".into())
                .spawn(move || accept_loop(&shared))?
        };
        Ok(TcpProxy {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// The address clients connect to (stays the same across cuts).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether the proxy currently accepts connections.
    pub fn is_up(&self) -> bool {
        lock(&self.shared.state).listener.is_some()
    }

    /// How many times [`cut`](Self::cut) took the proxy down.
    pub fn cuts(&self) -> u64 {
        self.shared.cuts.load(Ordering::Relaxed)
    }

    /// Takes the endpoint down: the listening socket is closed (connections are refused)
    /// and every open connection is reset in both directions. Idempotent.
    pub fn cut(&self) {
        let mut state = lock(&self.shared.state);
        if state.listener.take().is_some() {
            self.shared.cuts.fetch_add(1, Ordering::Relaxed);
        }
        for (_, conn) in state.conns.drain() {
            let _ = conn.client.shutdown(Shutdown::Both);
            let _ = conn.backend.shutdown(Shutdown::Both);
        }
    }

    /// Swallows everything from now on: connections are accepted (a client's connect
    /// succeeds) and what clients send is read, but nothing reaches the server and no
    /// answer comes back, on open connections too. Ended by [`restore`](Self::restore).
    pub fn black_hole(&self) {
        self.shared.black_hole.store(true, Ordering::Relaxed);
    }

    /// Listens again on the same port after a [`cut`](Self::cut) (nothing when it is up),
    /// and ends a [`black_hole`](Self::black_hole): connections opened from now on are
    /// forwarded again (those that lost bytes to it stay silent until closed).
    ///
    /// # Errors
    ///
    /// An I/O error (typically [`io::ErrorKind::AddrInUse`]) if another process took the
    /// port meanwhile.
    pub fn restore(&self) -> io::Result<()> {
        let mut state = lock(&self.shared.state);
        self.shared.black_hole.store(false, Ordering::Relaxed);
        if state.listener.is_none() {
            // std sets SO_REUSEADDR on Unix: connections of before the cut that linger in
            // TIME_WAIT do not block the port.
            let listener = TcpListener::bind(self.addr)?;
            listener.set_nonblocking(true)?;
            state.listener = Some(listener);
        }
        Ok(())
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.quit.store(true, Ordering::Relaxed);
        self.cut();
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panicking forwarder thread cannot leave the map half-updated: recover the guard.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn accept_loop(shared: &Arc<Shared>) {
    while !shared.quit.load(Ordering::Relaxed) {
        let mut state = lock(&shared.state);
        let accepted = match &state.listener {
            Some(listener) => listener.accept(),
            None => Err(io::ErrorKind::WouldBlock.into()),
        };
        match accepted {
            Ok((client, _)) => {
                // Registered under the lock: a cut in between cannot miss this connection.
                if let Err(e) = forward(shared, &mut state, client) {
                    log::debug!("tcp proxy: cannot forward a connection: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                drop(state);
                std::thread::sleep(ACCEPT_POLL);
            }
            Err(e) => {
                log::debug!("tcp proxy: accept failed: {e}");
                drop(state);
                std::thread::sleep(ACCEPT_POLL);
            }
        }
    }
}

/// Connects to the backend and starts the two copy threads of one connection. When the
/// backend is not there the client's connection is simply closed, as a dead server would.
fn forward(shared: &Arc<Shared>, state: &mut State, client: TcpStream) -> io::Result<()> {
    client.set_nonblocking(false)?;
    let backend = TcpStream::connect_timeout(&shared.backend, Duration::from_secs(5))?;
    let _ = client.set_nodelay(true);
    let _ = backend.set_nodelay(true);
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let conn = Conn {
        client: client.try_clone()?,
        backend: backend.try_clone()?,
        live: 2,
    };
    state.conns.insert(id, conn);
    let (client_r, backend_w) = (client.try_clone()?, backend.try_clone()?);
    let swallowed = Swallowed::default();
    spawn_copy(
        Arc::clone(shared),
        id,
        client_r,
        backend_w,
        swallowed.clone(),
    )?;
    spawn_copy(Arc::clone(shared), id, backend, client, swallowed)?;
    Ok(())
}

fn spawn_copy(
    shared: Arc<Shared>,
    id: u64,
    mut from: TcpStream,
    mut to: TcpStream,
    swallowed: Swallowed,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("tcp-proxy-copy".into())
        .spawn(move || {
            let _ = copy(&shared, &swallowed, &mut from, &mut to);
            // Half-close: the peer sees end-of-stream in this direction, as it would
            // without the proxy. The other direction ends on its own.
            let _ = to.shutdown(Shutdown::Write);
            let _ = from.shutdown(Shutdown::Read);
            let mut state = lock(&shared.state);
            if let Some(conn) = state.conns.get_mut(&id) {
                conn.live -= 1;
                if conn.live == 0 {
                    state.conns.remove(&id);
                }
            }
        })?;
    Ok(())
}

/// Copies `from` to `to` until end-of-stream or an error, dropping what it reads while the
/// black hole is on or once this connection lost bytes to it.
fn copy(
    shared: &Shared,
    swallowed: &AtomicBool,
    from: &mut TcpStream,
    to: &mut TcpStream,
) -> io::Result<()> {
    use std::io::{Read, Write};
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        if shared.black_hole.load(Ordering::Relaxed) {
            swallowed.store(true, Ordering::Relaxed);
        }
        if !swallowed.load(Ordering::Relaxed) {
            to.write_all(&buf[..n])?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// An echo server on a free port: writes back what it reads, one thread per connection.
    fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let mut conn = conn.unwrap();
                std::thread::spawn(move || {
                    let mut read = conn.try_clone().unwrap();
                    let _ = io::copy(&mut read, &mut conn);
                });
            }
        });
        addr
    }

    fn round_trip(addr: SocketAddr, text: &[u8]) -> io::Result<Vec<u8>> {
        let mut conn = TcpStream::connect(addr)?;
        conn.write_all(text)?;
        let mut back = vec![0; text.len()];
        conn.read_exact(&mut back)?;
        Ok(back)
    }

    #[test]
    fn forwards_refuses_when_cut_and_comes_back_on_the_same_port() {
        let proxy = TcpProxy::start(echo_server()).unwrap();
        assert_eq!(round_trip(proxy.addr(), b"hello").unwrap(), b"hello");

        let mut open = TcpStream::connect(proxy.addr()).unwrap();
        open.write_all(b"x").unwrap();
        let mut one = [0; 1];
        open.read_exact(&mut one).unwrap();

        proxy.cut();
        assert!(!proxy.is_up());
        assert_eq!(proxy.cuts(), 1);
        let refused = TcpStream::connect(proxy.addr()).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
        // The connection open during the cut is gone: end-of-stream or a reset.
        let mut rest = Vec::new();
        let _ = open.write_all(b"y");
        assert!(matches!(open.read_to_end(&mut rest), Ok(0) | Err(_)));

        proxy.restore().unwrap();
        assert!(proxy.is_up());
        assert_eq!(round_trip(proxy.addr(), b"again").unwrap(), b"again");
    }

    #[test]
    fn a_black_hole_accepts_and_reads_but_never_answers_until_restored() {
        let proxy = TcpProxy::start(echo_server()).unwrap();
        let mut open = TcpStream::connect(proxy.addr()).unwrap();
        assert_eq!(round_trip(proxy.addr(), b"before").unwrap(), b"before");

        proxy.black_hole();
        let timeout = Some(Duration::from_millis(300));
        for conn in [&mut open, &mut TcpStream::connect(proxy.addr()).unwrap()] {
            conn.set_read_timeout(timeout).unwrap();
            conn.write_all(b"lost").unwrap();
            let mut one = [0; 1];
            let err = conn.read_exact(&mut one).unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ),
                "{err}"
            );
        }

        proxy.restore().unwrap();
        assert_eq!(round_trip(proxy.addr(), b"after").unwrap(), b"after");
    }

    #[test]
    fn a_dead_backend_closes_the_client_connection() {
        // Port of a listener that is dropped at once: nothing listens there any more.
        let dead = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap();
        let proxy = TcpProxy::start(dead).unwrap();
        assert!(round_trip(proxy.addr(), b"lost").is_err());
    }
}
