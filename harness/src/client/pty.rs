//! A pseudo-terminal for clients that insist on one (Claude Code will not log in without a
//! terminal; TUI clients draw their dialogs only on one), and what a client prints (on a terminal
//! or a pipe) as text.
//!
//! The pty comes from `rustix` (already in the tree through `tempfile`, maintained with the Bytecode
//! Alliance's review): plain POSIX calls with typed errors, so the child is still spawned by
//! tokio's `Command` and keeps what the pipe runner guarantees (awaitable exit, kill on drop, the
//! group killed at the end). `portable-pty` would bring its own spawner and a blocking reader
//! thread instead. Escapes are stripped with `vte` (Alacritty's parser), which keeps its state
//! across reads, so a sequence cut in two by a read is still recognised.

use std::io;
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::pin::Pin;
use std::process::Stdio;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use rustix::pty::OpenptFlags;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::process::Command;

/// Wide enough that a client never wraps an authorization URL across lines.
const COLUMNS: u16 = 1000;
const ROWS: u16 = 50;

/// The controlling side of a pseudo-terminal: what the client prints is read from it, what the
/// user types is written to it. Clones share the terminal.
#[derive(Clone)]
pub struct Pty(Arc<AsyncFd<OwnedFd>>);

impl Pty {
    /// Opens a terminal and makes it `command`'s stdin, stdout, stderr and controlling terminal,
    /// in a session of its own (so the child leads its own process group, as piped children do).
    pub fn attach(command: &mut Command) -> io::Result<Self> {
        let master = rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
        rustix::pty::grantpt(&master)?;
        rustix::pty::unlockpt(&master)?;
        let name = rustix::pty::ptsname(&master, Vec::new())?;
        let terminal: OwnedFd =
            std::fs::OpenOptions::new().read(true).write(true).open(name.to_str().map_err(io::Error::other)?)?.into();
        let size = rustix::termios::Winsize { ws_row: ROWS, ws_col: COLUMNS, ws_xpixel: 0, ws_ypixel: 0 };
        rustix::termios::tcsetwinsize(&terminal, size)?;
        command
            .stdin(Stdio::from(terminal.try_clone()?))
            .stdout(Stdio::from(terminal.try_clone()?))
            .stderr(Stdio::from(terminal));
        // SAFETY: between fork and exec the closure only makes two system calls (no allocation,
        // no lock), which is what `pre_exec` allows.
        unsafe {
            command.pre_exec(|| {
                rustix::process::setsid()?;
                rustix::process::ioctl_tiocsctty(BorrowedFd::borrow_raw(0))?;
                Ok(())
            });
        }
        rustix::io::ioctl_fionbio(&master, true)?;
        // SAFETY: the `OwnedFd` moves into the `AsyncFd` and stays open, the same descriptor,
        // until the `AsyncFd` is dropped.
        let master = unsafe { AsyncFd::register(master) }.map_err(|e| e.into_parts().1)?;
        Ok(Self(Arc::new(master)))
    }
}

impl AsyncRead for Pty {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            let mut ready = ready!(self.0.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match ready.try_io(|fd| Ok(rustix::io::read(fd.as_fd(), &mut *unfilled)?)) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // Once the client and everything it started have closed the terminal, Linux says
                // EIO: that is the end of its output.
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => return Poll::Ready(Ok(())),
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for Pty {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            let mut ready = ready!(self.0.poll_write_ready(cx))?;
            match ready.try_io(|fd| Ok(rustix::io::write(fd.as_fd(), bytes)?)) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// What a terminal shows, as text to match: printable characters, newlines and tabs; colours,
/// cursor moves and OSC-8 hyperlinks (their URL; the link's text stays) are dropped, and a cursor
/// moved forward reads as spaces (TUIs skip over blank cells so).
#[derive(Default)]
pub struct Screen {
    parser: vte::Parser,
    text: Text,
}

#[derive(Default)]
struct Text(String);

impl Screen {
    /// The text in the next bytes the client printed.
    pub fn read(&mut self, bytes: &[u8]) -> String {
        self.parser.advance(&mut self.text, bytes);
        std::mem::take(&mut self.text.0)
    }
}

impl vte::Perform for Text {
    fn print(&mut self, c: char) {
        self.0.push(c);
    }

    fn execute(&mut self, byte: u8) {
        if matches!(byte, b'\n' | b'\t') {
            self.0.push(byte as char);
        }
    }

    fn csi_dispatch(&mut self, params: &vte::Params, _: &[u8], _: bool, action: char) {
        if action == 'C' {
            let cells = params.iter().next().and_then(|p| p.first().copied()).unwrap_or(1).clamp(1, COLUMNS);
            self.0.extend(std::iter::repeat_n(' ', usize::from(cells)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_cursor_moves_and_hyperlinks_are_stripped_even_when_split() {
        let printed = "\x1b[1m✔\x1b[22m Connected\r\n\x1b]8;;http://x/authorize?a=1\x1b\\http://x/authorize\x1b]8;;\x1b\\ \x1b[2Cnext\n";
        let mut screen = Screen::default();
        let bytes = printed.as_bytes();
        // Cut inside an escape and inside a multi-byte character.
        let text: String =
            [&bytes[..3], &bytes[3..5], &bytes[5..30], &bytes[30..]].iter().map(|b| screen.read(b)).collect();
        assert_eq!(text, "✔ Connected\nhttp://x/authorize   next\n");
    }
}
