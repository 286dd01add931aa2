//! A TCP proxy in front of the MariaDB server that the tests switch off and on: "the
//! database is down" without stopping the shared server; or freeze: connections stay
//! open and are accepted, but not a byte goes through (a server that hangs).

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A port that forwards to `upstream` while up, and refuses connections while down.
pub struct Proxy {
    port: u16,
    upstream: SocketAddr,
    running: Option<Running>,
    frozen: Arc<AtomicBool>,
}

struct Running {
    stop: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// A proxy in front of the MariaDB server on 127.0.0.1:3306 (down until
    /// [`Proxy::up`]), and `db_url` (a database on that server) through it.
    pub fn for_mysql(db_url: &str) -> (Proxy, String) {
        let proxy = Proxy::down_on_free_port("127.0.0.1:3306".parse().expect("addr"));
        let url = db_url.replace(":3306/", &format!(":{}/", proxy.port()));
        (proxy, url)
    }

    /// A proxy on a free local port, down until [`Proxy::up`].
    pub fn down_on_free_port(upstream: SocketAddr) -> Proxy {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Proxy {
            port,
            upstream,
            running: None,
            frozen: Arc::new(AtomicBool::new(false)),
        }
    }

    /// From now on nothing is forwarded (open connections stay open, new ones are
    /// accepted and held): the database hangs.
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Forwards again.
    pub fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts accepting and forwarding.
    pub fn up(&mut self) {
        assert!(self.running.is_none(), "proxy already up");
        let listener = bind_with_retry(self.port);
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (stop2, open2, upstream) = (stop.clone(), open.clone(), self.upstream);
        let frozen = self.frozen.clone();
        let accept = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        if let Err(e) = forward(client, upstream, &open2, &frozen) {
                            eprintln!("proxy: {e}");
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(e) => panic!("proxy accept: {e}"),
                }
            }
        });
        self.running = Some(Running { stop, open, accept });
    }

    /// Stops accepting and cuts every open connection, as a server that went away.
    pub fn down(&mut self) {
        let running = self.running.take().expect("proxy is up");
        running.stop.store(true, Ordering::SeqCst);
        running.accept.join().expect("accept thread");
        for s in running.open.lock().expect("lock").drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if self.running.is_some() {
            self.down();
        }
    }
}

fn bind_with_retry(port: u16) -> TcpListener {
    for _ in 0..100 {
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
            return l;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("cannot bind the proxy port {port} again");
}

fn forward(
    client: TcpStream,
    upstream: SocketAddr,
    open: &Mutex<Vec<TcpStream>>,
    frozen: &Arc<AtomicBool>,
) -> io::Result<()> {
    client.set_nonblocking(false)?;
    let server = TcpStream::connect(upstream)?;
    {
        let mut open = open.lock().expect("lock");
        open.push(client.try_clone()?);
        open.push(server.try_clone()?);
    }
    for (mut from, mut to) in [(client.try_clone()?, server.try_clone()?), (server, client)] {
        let frozen = frozen.clone();
        std::thread::spawn(move || {
            let _ = copy_unless_frozen(&mut from, &mut to, &frozen);
            let _ = to.shutdown(Shutdown::Write);
        });
    }
    Ok(())
}

/// `io::copy`, except that while `frozen` what was read is held back.
fn copy_unless_frozen(
    from: &mut TcpStream,
    to: &mut TcpStream,
    frozen: &AtomicBool,
) -> io::Result<()> {
    use std::io::{Read, Write};
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        while frozen.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        to.write_all(&buf[..n])?;
    }
}
