//! Errors of the fuzzer protocol: transport, framing, decoding and protocol flow.

use std::io;

use parajam_primitives::codec::DecodeError;

/// Why a message could not be read, decoded, written or answered as expected.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The connection failed.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    /// The peer closed the connection between frames.
    #[error("connection closed by the peer")]
    Closed,
    /// A frame's length prefix exceeds the maximum frame size; the stream
    /// cannot be resynchronised.
    #[error("frame of {len} octets exceeds the maximum of {max}")]
    FrameTooLarge {
        /// The announced length.
        len: u64,
        /// The maximum accepted.
        max: u64,
    },
    /// The connection closed in the middle of a frame (length prefix or body).
    #[error("connection closed after {got} of {expected} octets of a frame")]
    Truncated {
        /// Octets the frame part needed.
        expected: usize,
        /// Octets that arrived.
        got: usize,
    },
    /// A frame with no octets (not even a tag).
    #[error("empty message")]
    EmptyMessage,
    /// The tag octet names no message kind.
    #[error("unknown message tag {0}")]
    UnknownTag(u8),
    /// The payload is not the JAM encoding of the tag's message kind.
    #[error("invalid {kind} message: {source}")]
    Decode {
        /// The message kind the tag announced.
        kind: &'static str,
        /// What the decoder found.
        #[source]
        source: DecodeError,
    },
    /// An `Initialize` message carries more ancestry items than the schema allows.
    #[error("ancestry of {len} items exceeds the maximum of {max}")]
    AncestryTooLong {
        /// Items carried.
        len: usize,
        /// The schema's bound.
        max: usize,
    },
    /// The peer answered with a message kind the request does not allow.
    #[error("unexpected {got} message, expected {expected}")]
    Unexpected {
        /// What the request allows.
        expected: &'static str,
        /// What arrived.
        got: &'static str,
    },
    /// The peer answered a request with an `Error` message.
    #[error("peer answered with an error: {0}")]
    ErrorReply(String),
}

impl ProtocolError {
    /// Whether the error leaves the byte stream in sync (a whole frame was
    /// read, only its contents were wrong), so that the session can go on.
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self,
            Self::EmptyMessage
                | Self::UnknownTag(_)
                | Self::Decode { .. }
                | Self::AncestryTooLong { .. }
                | Self::Unexpected { .. }
                | Self::ErrorReply(_)
        )
    }
}
