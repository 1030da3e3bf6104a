//! Stop signals: SIGTERM (service managers, containers) and SIGINT (Ctrl-C)
//! both ask for a graceful stop. Installed before a server starts, so a
//! signal that comes during start-up is not fatal: it stops the server as
//! soon as it is up.

use tokio::signal::unix::{signal, Signal, SignalKind};

/// The installed handlers.
pub struct StopSignals {
    terminate: Signal,
    interrupt: Signal,
}

impl StopSignals {
    /// Installs the handlers (the default action, dying, is replaced at once).
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for either signal; returns its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }
}
