//! The fuzzer side: a blocking client for a target's socket.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use parajam_primitives::types::{Block, Header, HeaderHash, KeyValue, StateRoot};
use parajam_primitives::ProtocolParameters;

use crate::error::ProtocolError;
use crate::frame::{read_frame, write_frame, write_message, DEFAULT_MAX_FRAME};
use crate::message::{AncestryItem, Features, Initialize, Message, PeerInfo};

/// A connection to a fuzz target. Each request waits for its reply.
#[derive(Debug)]
pub struct Client {
    stream: UnixStream,
    params: ProtocolParameters,
    max_frame: usize,
    features: Option<Features>,
}

impl Client {
    /// Connects to the target socket at `path`; replies decode under `params`.
    pub fn connect(
        path: impl AsRef<Path>,
        params: ProtocolParameters,
    ) -> Result<Self, ProtocolError> {
        Ok(Self::from_stream(UnixStream::connect(path)?, params))
    }

    /// A client over an already connected stream.
    pub fn from_stream(stream: UnixStream, params: ProtocolParameters) -> Self {
        Self {
            stream,
            params,
            max_frame: DEFAULT_MAX_FRAME,
            features: None,
        }
    }

    /// Limits how long each read and write may block (`None`: forever).
    pub fn set_timeout(&self, timeout: Option<Duration>) -> Result<(), ProtocolError> {
        self.stream.set_read_timeout(timeout)?;
        self.stream.set_write_timeout(timeout)?;
        Ok(())
    }

    /// The features both peers support, once the handshake happened.
    pub fn features(&self) -> Option<Features> {
        self.features
    }

    /// The underlying stream (e.g. to write raw octets in tests).
    pub fn stream_mut(&mut self) -> &mut UnixStream {
        &mut self.stream
    }

    /// Sends `ours` and returns the target's peer info.
    pub fn handshake(&mut self, ours: &PeerInfo) -> Result<PeerInfo, ProtocolError> {
        match self.request(&Message::PeerInfo(ours.clone()))? {
            Message::PeerInfo(theirs) => {
                self.features = Some(ours.features & theirs.features);
                Ok(theirs)
            }
            other => Err(unexpected("peer-info", &other)),
        }
    }

    /// Sets the target's state; returns the root it computed.
    pub fn initialize(
        &mut self,
        header: Header,
        state: Vec<KeyValue>,
        ancestry: Vec<AncestryItem>,
    ) -> Result<StateRoot, ProtocolError> {
        let init = Initialize {
            header,
            state,
            ancestry,
        };
        match self.request(&Message::Initialize(Box::new(init)))? {
            Message::StateRoot(root) => Ok(root),
            other => Err(unexpected("state-root", &other)),
        }
    }

    /// Imports `block`: `Ok(Ok(root))` if the target accepted it,
    /// `Ok(Err(reason))` if it answered with an error (an invalid block).
    pub fn import_block(
        &mut self,
        block: Block,
    ) -> Result<Result<StateRoot, String>, ProtocolError> {
        match self.request(&Message::ImportBlock(Box::new(block)))? {
            Message::StateRoot(root) => Ok(Ok(root)),
            Message::Error(reason) => Ok(Err(reason)),
            other => Err(unexpected("state-root or error", &other)),
        }
    }

    /// The target's full state after the block with hash `header_hash`.
    pub fn get_state(&mut self, header_hash: HeaderHash) -> Result<Vec<KeyValue>, ProtocolError> {
        match self.request(&Message::GetState(header_hash))? {
            Message::State(state) => Ok(state),
            other => Err(unexpected("state", &other)),
        }
    }

    /// Sends one message and reads the reply.
    pub fn request(&mut self, message: &Message) -> Result<Message, ProtocolError> {
        write_message(&mut self.stream, message)?;
        self.receive()
    }

    /// Sends `body` as one frame (any octets) and reads the reply.
    pub fn request_raw(&mut self, body: &[u8]) -> Result<Message, ProtocolError> {
        write_frame(&mut self.stream, body)?;
        self.receive()
    }

    /// Writes `bytes` to the stream as they are, without framing.
    pub fn send_unframed(&mut self, bytes: &[u8]) -> Result<(), ProtocolError> {
        self.stream.write_all(bytes)?;
        self.stream.flush()?;
        Ok(())
    }

    /// Reads one message.
    pub fn receive(&mut self) -> Result<Message, ProtocolError> {
        let frame = read_frame(&mut self.stream, self.max_frame)?.ok_or(ProtocolError::Closed)?;
        Message::decode(&frame, &self.params)
    }
}

fn unexpected(expected: &'static str, got: &Message) -> ProtocolError {
    match got {
        Message::Error(reason) => ProtocolError::ErrorReply(reason.clone()),
        other => ProtocolError::Unexpected {
            expected,
            got: other.kind(),
        },
    }
}
