//! Framing: each message travels as its length (u32, little-endian) followed
//! by its encoding.

use std::io::{self, Read, Write};

use parajam_primitives::ProtocolParameters;

use crate::error::ProtocolError;
use crate::message::Message;

/// The default maximum frame size: 128 MiB, far above any tiny-parameter
/// state (a few hundred KiB) yet bounding what a bad length prefix can cost.
/// Frames are read incrementally, so a large announced length alone
/// allocates nothing.
pub const DEFAULT_MAX_FRAME: usize = 128 << 20;

/// Reads `buf.len()` octets unless the stream ends first; returns how many were read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads one frame's body. `Ok(None)` when the stream ends cleanly before a
/// frame starts.
///
/// A length above `max_len` is [`ProtocolError::FrameTooLarge`]; a stream
/// that ends inside a frame is [`ProtocolError::Truncated`]. After either the
/// stream is out of sync and must be closed.
pub fn read_frame(
    reader: &mut impl Read,
    max_len: usize,
) -> Result<Option<Vec<u8>>, ProtocolError> {
    let mut prefix = [0u8; 4];
    let got = read_full(reader, &mut prefix)?;
    if got == 0 {
        return Ok(None);
    }
    if got < prefix.len() {
        return Err(ProtocolError::Truncated {
            expected: prefix.len(),
            got,
        });
    }
    let len = u32::from_le_bytes(prefix);
    let too_large = || ProtocolError::FrameTooLarge {
        len: u64::from(len),
        max: max_len as u64,
    };
    let len = usize::try_from(len).map_err(|_| too_large())?;
    if len > max_len {
        return Err(too_large());
    }
    // Grow with the data actually received rather than trusting `len`.
    let mut body = Vec::with_capacity(len.min(64 << 10));
    reader.take(len as u64).read_to_end(&mut body)?;
    if body.len() < len {
        return Err(ProtocolError::Truncated {
            expected: len,
            got: body.len(),
        });
    }
    Ok(Some(body))
}

/// Reads and decodes one message. `Ok(None)` when the stream ends cleanly
/// before a frame starts.
///
/// Use [`read_frame`] and [`Message::decode`] separately to tell a broken
/// stream (fatal) from a whole frame that does not decode (recoverable; see
/// [`ProtocolError::is_recoverable`]).
pub fn read_message(
    reader: &mut impl Read,
    max_len: usize,
    params: &ProtocolParameters,
) -> Result<Option<Message>, ProtocolError> {
    read_frame(reader, max_len)?
        .map(|frame| Message::decode(&frame, params))
        .transpose()
}

/// Writes `body` as one frame and flushes.
pub fn write_frame(writer: &mut impl Write, body: &[u8]) -> Result<(), ProtocolError> {
    let len = u32::try_from(body.len()).map_err(|_| ProtocolError::FrameTooLarge {
        len: body.len() as u64,
        max: u64::from(u32::MAX),
    })?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(body);
    writer.write_all(&frame)?;
    writer.flush()?;
    Ok(())
}

/// Encodes `message` and writes it as one frame.
pub fn write_message(writer: &mut impl Write, message: &Message) -> Result<(), ProtocolError> {
    write_frame(writer, &message.encode())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut wire = Vec::new();
        write_message(&mut wire, &Message::Error("no".into())).expect("write");
        write_frame(&mut wire, &[]).expect("write");
        assert_eq!(&wire[..4], &[4, 0, 0, 0]);
        let mut r = &wire[..];
        let msg = read_message(&mut r, 100, &ProtocolParameters::TINY).expect("read");
        assert_eq!(msg, Some(Message::Error("no".into())));
        assert_eq!(read_frame(&mut r, 100).expect("empty frame"), Some(vec![]));
        assert!(read_frame(&mut r, 100).expect("clean end").is_none());
    }

    #[test]
    fn broken_frames() {
        let mut r: &[u8] = &[1, 0];
        assert!(matches!(
            read_frame(&mut r, 100),
            Err(ProtocolError::Truncated {
                expected: 4,
                got: 2
            })
        ));
        let mut r: &[u8] = &[5, 0, 0, 0, 1, 2];
        assert!(matches!(
            read_frame(&mut r, 100),
            Err(ProtocolError::Truncated {
                expected: 5,
                got: 2
            })
        ));
        let mut r: &[u8] = &[0xff, 0xff, 0xff, 0xff, 1, 2];
        assert!(matches!(
            read_frame(&mut r, DEFAULT_MAX_FRAME),
            Err(ProtocolError::FrameTooLarge { .. })
        ));
        // Exactly the maximum is fine.
        let mut r: &[u8] = &[2, 0, 0, 0, 1, 2];
        assert_eq!(read_frame(&mut r, 2).expect("at max"), Some(vec![1, 2]));
    }
}
