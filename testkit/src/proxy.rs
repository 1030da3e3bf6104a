//! A fault-injecting TCP proxy for tests: put it between a client and a
//! server (or between peers) and switch it between passing traffic, dropping
//! every connection, and holding traffic (bytes wait until released).

use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything.
    Pass,
    /// Close every connection and refuse new ones (a cut link).
    Drop,
    /// Keep connections open but forward nothing until the mode changes (a
    /// paused or partitioned peer).
    Hold,
}

/// A running proxy to one target.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    mode: watch::Sender<Fault>,
    target: watch::Sender<Option<SocketAddr>>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a loopback port the OS picks and forwards to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<Proxy> {
        let proxy = Proxy::start_untargeted().await?;
        proxy.retarget(target);
        Ok(proxy)
    }

    /// Listens on a loopback port the OS picks; connections are refused
    /// until [`Proxy::retarget`] says where to forward them (for a target
    /// whose port is known only once it runs).
    pub async fn start_untargeted() -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (mode, rx) = watch::channel(Fault::Pass);
        let (target, targets) = watch::channel(None);
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Some(target) = *targets.borrow() else {
                    continue;
                };
                if *rx.borrow() == Fault::Drop {
                    continue;
                }
                let rx = rx.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (ri, wi) = inbound.into_split();
                    let (ro, wo) = outbound.into_split();
                    tokio::select! {
                        _ = pump(ri, wo, rx.clone()) => {}
                        _ = pump(ro, wi, rx) => {}
                    }
                });
            }
        });
        Ok(Proxy {
            addr,
            mode,
            target,
            task,
        })
    }

    /// Forwards new connections to `target` from now on.
    pub fn retarget(&self, target: SocketAddr) {
        self.target.send_replace(Some(target));
    }

    /// The address clients should connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The fault mode in force.
    pub fn fault(&self) -> Fault {
        *self.mode.borrow()
    }

    /// Switches the fault mode (applies to open connections at once).
    pub fn set(&self, fault: Fault) {
        self.mode.send_replace(fault);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: watch::Receiver<Fault>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            changed = mode.wait_for(|m| *m == Fault::Drop) => {
                let _ = changed;
                return;
            }
        };
        // Hold: keep the bytes until the link is released (or cut).
        match mode.wait_for(|m| *m != Fault::Hold).await.map(|m| *m) {
            Ok(Fault::Pass) => {}
            _ => return,
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn echo_server() -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Ok(addr)
    }

    #[tokio::test]
    async fn passes_holds_and_drops_traffic() -> std::io::Result<()> {
        let proxy = Proxy::start(echo_server().await?).await?;
        let mut c = TcpStream::connect(proxy.addr()).await?;
        let mut buf = [0u8; 4];
        c.write_all(b"ping").await?;
        c.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"ping");
        proxy.set(Fault::Hold);
        c.write_all(b"held").await?;
        assert!(
            tokio::time::timeout(Duration::from_millis(100), c.read_exact(&mut buf))
                .await
                .is_err(),
            "held"
        );
        proxy.set(Fault::Pass);
        c.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"held", "released bytes arrive");
        proxy.set(Fault::Drop);
        let closed = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf)).await;
        assert!(
            matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
            "dropped connections close"
        );
        Ok(())
    }
}
