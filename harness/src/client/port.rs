//! Loopback ports a client listens on for its OAuth callback: a free one per home, or a turn at a
//! fixed one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use rustix::fs::FlockOperation;

/// A free loopback port (bound, then released, for the client to bind).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_or(0, |a| a.port())
}

/// The use of a fixed port, until dropped. Runs in this process queue for it in order; other
/// harness processes on the machine (two CI jobs, `cargo test` beside a CLI run) are kept out by
/// an exclusive `flock` on a file named for the port, which the kernel releases however this
/// process ends, so a crashed run never leaves the port locked.
pub struct Turn {
    _here: tokio::sync::OwnedMutexGuard<()>,
    _machine: Option<std::fs::File>,
}

/// How often a run waiting for another process's turn looks again.
const RETRY: Duration = Duration::from_millis(100);

impl Turn {
    /// Waits for the port. When the lock file cannot be opened at all (a read-only temporary
    /// directory), runs still take turns within this process.
    pub async fn take(port: u16) -> Self {
        static HERE: LazyLock<Mutex<HashMap<u16, Arc<tokio::sync::Mutex<()>>>>> = LazyLock::new(Mutex::default);
        let here = HERE.lock().unwrap_or_else(PoisonError::into_inner).entry(port).or_default().clone();
        let here = here.lock_owned().await;
        let machine = match lock_file(port) {
            Ok(file) => {
                // Polled rather than blocking: a cancelled run stops waiting at once.
                while rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
                    tokio::time::sleep(RETRY).await;
                }
                Some(file)
            }
            Err(e) => {
                tracing::warn!("port {port} is taken in turns within this process only: {e}");
                None
            }
        };
        Self { _here: here, _machine: machine }
    }
}

/// `<tmp>/mcp-auth-harness.port-<port>.lock`, shared by every harness process on the machine,
/// whoever created it. (Not `mcp-auth-harness-…`: that prefix is the sandboxes', which leak
/// checks count.)
fn lock_file(port: u16) -> std::io::Result<std::fs::File> {
    let path: PathBuf = std::env::temp_dir().join(format!("mcp-auth-harness.port-{port}.lock"));
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .or_else(|_| std::fs::File::open(&path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fixed_port_is_locked_for_other_processes_while_a_turn_lasts() {
        // A port no built-in client uses, so a harness running beside this test is not delayed.
        let port = 1;
        let turn = Turn::take(port).await;
        // What another process sees: its own open file description of the same file.
        let other = lock_file(port).unwrap();
        assert!(rustix::fs::flock(&other, FlockOperation::NonBlockingLockExclusive).is_err());
        drop(turn);
        assert!(rustix::fs::flock(&other, FlockOperation::NonBlockingLockExclusive).is_ok());
    }
}
