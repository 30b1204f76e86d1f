//! The target's Unix-socket server: one session per connection, one
//! connection at a time.

use std::convert::Infallible;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use crate::error::ProtocolError;
use crate::frame::{read_frame, write_message};
use crate::session::{Config, Session, Target};

/// How a session ended.
#[derive(Debug)]
pub enum SessionEnd {
    /// The fuzzer closed the connection between messages (the normal end).
    Closed {
        /// Requests answered.
        requests: u64,
    },
    /// The byte stream broke (frame too large, connection closed or failed
    /// mid-frame, a reply could not be written); the connection was closed.
    Broken {
        /// Requests answered before.
        requests: u64,
        /// What broke.
        error: ProtocolError,
    },
    /// The target panicked on a request; the connection was closed without
    /// a reply and the target dropped.
    TargetPanicked {
        /// Requests answered before.
        requests: u64,
        /// The panic message, if it was a string.
        message: String,
    },
}

/// A bound target socket.
///
/// The socket file is removed when the server is dropped.
#[derive(Debug)]
pub struct Server {
    listener: UnixListener,
    path: PathBuf,
    config: Config,
}

impl Server {
    /// Binds a Unix stream socket at `path`, replacing a stale socket file
    /// there (but no other kind of file).
    pub fn bind(path: impl AsRef<Path>, config: Config) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Ok(meta) = std::fs::symlink_metadata(&path) {
            if meta.file_type().is_socket() {
                std::fs::remove_file(&path)?;
            }
        }
        let listener = UnixListener::bind(&path)?;
        Ok(Self {
            listener,
            path,
            config,
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The configuration every session gets.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Accepts the next connection and serves it to its end with a target
    /// from `make_target`.
    pub fn accept_one<T: Target>(&self, make_target: impl FnOnce() -> T) -> io::Result<SessionEnd> {
        let (stream, _) = self.listener.accept()?;
        Ok(serve_connection(stream, make_target(), self.config.clone()))
    }

    /// Serves connections one after another, forever; every session's end is
    /// logged. Returns only if accepting fails for good.
    pub fn run<T: Target>(&self, mut make_target: impl FnMut() -> T) -> io::Result<Infallible> {
        loop {
            match self.accept_one(&mut make_target) {
                Ok(end) => log_end(&end),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    tracing::debug!(error = %e, "accept interrupted");
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn log_end(end: &SessionEnd) {
    match end {
        SessionEnd::Closed { requests } => tracing::info!(requests, "fuzzer session closed"),
        SessionEnd::Broken { requests, error } => {
            tracing::warn!(requests, %error, "fuzzer session broken");
        }
        SessionEnd::TargetPanicked { requests, message } => {
            tracing::error!(requests, %message, "target panicked; session closed");
        }
    }
}

/// Binds `socket_path` with the default [`Config`] (tiny parameters, parajam's
/// peer info) and serves fuzzer sessions forever, each on a fresh target
/// from `make_target`.
pub fn serve<T: Target>(
    socket_path: impl AsRef<Path>,
    make_target: impl FnMut() -> T,
) -> io::Result<Infallible> {
    Server::bind(socket_path, Config::default())?.run(make_target)
}

/// Serves one connection until the fuzzer closes it or the stream breaks.
///
/// Frames that do not decode are answered with an `Error` and the session
/// goes on; a broken frame or a panicking target closes the connection.
pub fn serve_connection<T: Target>(
    mut stream: UnixStream,
    target: T,
    config: Config,
) -> SessionEnd {
    let max_frame = config.max_frame;
    let mut session = Session::new(target, config);
    let mut requests = 0u64;
    loop {
        let frame = match read_frame(&mut stream, max_frame) {
            Ok(Some(frame)) => frame,
            Ok(None) => return SessionEnd::Closed { requests },
            Err(error) => return SessionEnd::Broken { requests, error },
        };
        let reply = match panic::catch_unwind(AssertUnwindSafe(|| session.handle_frame(&frame))) {
            Ok(reply) => reply,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(ToString::to_string)
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                return SessionEnd::TargetPanicked { requests, message };
            }
        };
        if let Err(error) = write_message(&mut stream, &reply) {
            return SessionEnd::Broken { requests, error };
        }
        requests += 1;
    }
}
