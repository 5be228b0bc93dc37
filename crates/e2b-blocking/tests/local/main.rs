//! Every blocking method against the real local server (`e2b-local`'s
//! testkit): lifecycle and listings, files, commands, terminals and git.
//!
//! Each test kills the sandboxes it creates (also when it fails: the
//! [`Killed`] guard kills on drop). Without a host that can run sandboxes
//! the tests print `SKIPPED` and pass, except under `CI=true`.

mod commands;
mod filesystem;
mod git;
mod lifecycle;
mod pty;

use std::ops::Deref;

use e2b_blocking::{Client, ConnectionConfig, Sandbox};

/// A client of the shared local server, or `None` (after printing why)
/// when this host cannot run sandboxes.
pub(crate) fn client(test: &str) -> Option<Client> {
    let server = e2b_local::testkit::shared_server(test)?;
    Some(Client::new(config(server.api_url(), server.sandbox_url(), server.api_key())))
}

pub(crate) fn config(api_url: &str, sandbox_url: &str, api_key: &str) -> ConnectionConfig {
    ConnectionConfig::builder()
        .api_url(api_url)
        .sandbox_url(sandbox_url)
        .api_key(api_key)
        .build()
        .expect("a valid configuration")
}

/// A sandbox that is killed when the guard is dropped.
pub(crate) struct Killed(pub(crate) Sandbox);

impl Deref for Killed {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.0
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        if let Err(err) = self.0.kill() {
            eprintln!("could not kill sandbox {}: {err}", self.0.sandbox_id());
        }
    }
}

/// A `base` sandbox tagged with the test's name.
pub(crate) fn sandbox(client: &Client, test: &str) -> Killed {
    Killed(client.sandbox().metadata("test", test).create().expect("the sandbox is created"))
}
