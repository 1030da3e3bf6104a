//! Owns which session the shell talks through: the current client (shared
//! with tab completion and the live prompt), and zkCli's `connect` and
//! `close`, which replace or end it.

use super::exec::{write_lines, Shell, ShellError};
use super::format::{session_line, watcher_block};
use super::notices::Notices;
use client::{Client, Error, SessionEvent};
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

/// The client commands go through, shared by the shell and the line
/// editor's helper; `connect` swaps it. Cheap to clone.
#[derive(Clone)]
pub struct Current(Arc<Mutex<Client>>);

impl Current {
    /// Starts with `client`.
    pub fn new(client: Client) -> Self {
        Current(Arc::new(Mutex::new(client)))
    }

    /// The client now (a cheap handle).
    pub fn get(&self) -> Client {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, client: Client) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = client;
    }
}

impl Shell {
    /// `close`: ends the session; commands then answer "Not connected"
    /// until `connect`. Closing a closed session is "Not connected" too.
    pub(super) async fn close(&mut self, out: &mut dyn Write) -> Result<(), ShellError> {
        let client = self.client();
        if client.state().is_terminal() {
            return Err(ShellError::Client {
                error: Error::Closed,
                path: String::new(),
            });
        }
        let _ = client.close().await;
        if self.notices.is_printing() {
            write_lines(out, [watcher_block(&session_line(SessionEvent::Closed))])?;
        }
        Ok(())
    }

    /// `connect [HOSTS]`: closes the session and opens a new one to `hosts`
    /// (the same servers without), as zkCli does; the prompt follows. Its
    /// watches are gone with the old session.
    pub(super) async fn connect(
        &mut self,
        hosts: Option<String>,
        out: &mut dyn Write,
    ) -> Result<(), ShellError> {
        let hosts = hosts.unwrap_or_else(|| self.server.clone());
        if !self.client().state().is_terminal() {
            self.close(out).await?;
        }
        self.server.clone_from(&hosts);
        let mut builder = Client::builder(hosts.as_str());
        if let Some(tls) = &self.tls {
            builder = builder.tls(tls.clone());
        }
        let client = builder.build().await.map_err(|error| ShellError::Connect {
            hosts: hosts.clone(),
            error,
        })?;
        let is_printing = self.notices.is_printing();
        self.notices = Notices::new(&client, true);
        self.notices.set_printing(is_printing);
        self.current.set(client);
        if is_printing {
            write_lines(out, [watcher_block(&session_line(SessionEvent::Connected))])?;
        }
        Ok(())
    }
}
