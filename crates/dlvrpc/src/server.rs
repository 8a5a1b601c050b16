//! The headless server: Delve's JSON-RPC over TCP, one thread per client.
//!
//! Only loopback addresses are served unless remote clients are allowed
//! (anyone who can connect can read the process's memory). Requests are
//! bounded in size; malformed ones get error replies and the connection
//! goes on; a client that disconnects, sends garbage or stalls affects
//! only its own connection.
//!
//! `echo '{"method":...}' | nc HOST PORT` keeps its end open after the
//! request (Debian's `nc` waits for the server to close), so a connection
//! that never introduced itself as a Delve client (`SetApiVersion`, the
//! first call of every Delve front end) is closed once it has been
//! answered and stays quiet for [`ServerOptions::idle_close`].

use std::io::{self, BufWriter, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Error;
use crate::framing::{Item, Splitter};
use crate::rpc::{self, Connection};
use crate::session::Session;

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Serve addresses other than loopback ones.
    pub accept_remote: bool,
    /// Most clients served at once; more are answered with an error.
    pub max_clients: usize,
    /// Largest request, in bytes.
    pub max_request: usize,
    /// Quiet time after which a connection that is not a Delve client
    /// (no `SetApiVersion`) is closed once it has been answered.
    pub idle_close: Duration,
    /// Time a connection may stay silent before its first request.
    pub first_request: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            accept_remote: false,
            max_clients: 16,
            max_request: 1 << 20,
            idle_close: Duration::from_secs(1),
            first_request: Duration::from_secs(60),
        }
    }
}

/// How often a waiting connection looks at the clock and the stop flag.
const POLL: Duration = Duration::from_millis(100);
/// Longest a reply may wait for a client that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// A bound listener.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    opts: ServerOptions,
    stop: Arc<AtomicBool>,
}

/// Stops a running [`Server::serve`] from another thread.
#[derive(Debug, Clone)]
pub struct Stopper {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Stopper {
    /// Asks the server to stop; it returns once its clients are gone
    /// (they notice within a fraction of a second).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept call.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

impl Server {
    /// Binds `addr` (`HOST:PORT`; port 0 picks a free one).
    pub fn bind(addr: &str, opts: ServerOptions) -> Result<Server, Error> {
        let addrs: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|e| Error::BadAddress {
                addr: addr.to_string(),
                why: e.to_string(),
            })?
            .collect();
        if addrs.is_empty() {
            return Err(Error::BadAddress {
                addr: addr.to_string(),
                why: "it resolves to no address".into(),
            });
        }
        if !opts.accept_remote && addrs.iter().any(|a| !a.ip().is_loopback()) {
            return Err(Error::NotLoopback(addr.to_string()));
        }
        let listener = TcpListener::bind(&addrs[..]).map_err(|source| Error::Io {
            addr: addr.to_string(),
            source,
        })?;
        let local = listener.local_addr().map_err(|source| Error::Io {
            addr: addr.to_string(),
            source,
        })?;
        Ok(Server {
            listener,
            addr: local,
            opts,
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The address clients connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle that stops [`Server::serve`].
    pub fn stopper(&self) -> Stopper {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        Stopper {
            addr,
            stop: Arc::clone(&self.stop),
        }
    }

    /// Serves clients until stopped.
    pub fn serve(&self, session: &Session) -> Result<(), Error>
    where
        Session: Sync,
    {
        let active = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for conn in self.listener.incoming() {
                if self.stop.load(Ordering::SeqCst) {
                    break;
                }
                let stream = match conn {
                    Ok(s) => s,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => {
                        // Out of descriptors and the like: let them drain.
                        std::thread::sleep(POLL);
                        continue;
                    }
                };
                let remote_ok = stream
                    .peer_addr()
                    .is_ok_and(|p| self.opts.accept_remote || p.ip().is_loopback());
                if !remote_ok {
                    let _ = stream.shutdown(Shutdown::Both);
                    continue;
                }
                if active.load(Ordering::SeqCst) >= self.opts.max_clients {
                    let mut s = stream;
                    let _ = rpc::write_error(
                        &mut s,
                        &Value::Null,
                        &format!(
                            "too many clients ({} connected); try again later",
                            self.opts.max_clients
                        ),
                    );
                    let _ = s.shutdown(Shutdown::Both);
                    continue;
                }
                active.fetch_add(1, Ordering::SeqCst);
                let active = &active;
                let opts = &self.opts;
                let stop = &*self.stop;
                scope.spawn(move || {
                    // A panic while writing a reply ends this connection
                    // only (and frees its slot).
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        serve_connection(&stream, session, opts, stop)
                    }));
                    let _ = stream.shutdown(Shutdown::Both);
                    active.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Ok(())
    }
}

/// Serves one client until it disconnects, detaches or goes quiet (see
/// the module docs), or the server stops.
fn serve_connection(
    stream: &TcpStream,
    session: &Session,
    opts: &ServerOptions,
    stop: &AtomicBool,
) -> io::Result<()> {
    stream.set_read_timeout(Some(POLL))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let _ = stream.set_nodelay(true);
    let mut w = BufWriter::with_capacity(64 * 1024, stream);
    let mut reader = stream;
    let mut splitter = Splitter::new(opts.max_request);
    let mut conn = Connection::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut last = Instant::now();
    loop {
        let mut wrote = false;
        while let Some(item) = splitter.next_item() {
            wrote = true;
            match item {
                Item::Value(v) => rpc::handle(session, &mut conn, &v, &mut w)?,
                Item::Garbage { skipped, sample } => {
                    conn.answered += 1;
                    rpc::write_error(
                        &mut w,
                        &Value::Null,
                        &format!(
                            "malformed request: {skipped} bytes that do not start a JSON \
                             object ({sample:?}); send {{\"method\":\"RPCServer.X\",\
                             \"params\":[{{...}}],\"id\":N}}"
                        ),
                    )?
                }
                Item::TooLarge { limit } => {
                    rpc::write_error(
                        &mut w,
                        &Value::Null,
                        &format!("request larger than {limit} bytes; closing the connection"),
                    )?;
                    return w.flush();
                }
            }
            if conn.closing {
                return w.flush();
            }
        }
        if wrote {
            w.flush()?;
            last = Instant::now();
        }
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                splitter.push(&buf[..n]);
                last = Instant::now();
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                let quiet = last.elapsed();
                let limit = if !splitter.is_idle() {
                    // Half a request, then nothing.
                    Some(opts.first_request)
                } else if conn.handshaked {
                    None
                } else if conn.answered > 0 {
                    Some(opts.idle_close)
                } else {
                    Some(opts.first_request)
                };
                if limit.is_some_and(|l| quiet >= l) {
                    return Ok(());
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
