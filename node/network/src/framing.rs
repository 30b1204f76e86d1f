//! JAMNP-S message framing: a message is its size as a little-endian `u32`
//! followed by that many octets of content (JAMNP-S "Messages"). Every read
//! has a limit: a peer announcing a larger message is cut off before the
//! content is read.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why a message could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The announced size is over the limit of the protocol's message.
    #[error("a message of {size} octets, over the limit of {limit}")]
    Oversized {
        /// The announced size.
        size: u32,
        /// The limit.
        limit: usize,
    },
    /// The stream ended inside a message.
    #[error("the stream ended inside a message ({got} of {expected} octets)")]
    Truncated {
        /// Octets expected (size prefix or content).
        expected: usize,
        /// Octets received.
        got: usize,
    },
    /// The stream failed.
    #[error("stream: {0}")]
    Io(String),
    /// A message to send is larger than a `u32` size can say.
    #[error("a message of {0} octets cannot be framed")]
    TooLarge(usize),
}

/// Reads until `buf` is full; the octets read if the stream ended first.
async fn fill<R: AsyncRead + Unpin>(reader: &mut R, buf: &mut [u8]) -> Result<usize, FrameError> {
    let mut got = 0;
    while got < buf.len() {
        let n = reader
            .read(&mut buf[got..])
            .await
            .map_err(|e| FrameError::Io(e.to_string()))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

/// Reads one message of at most `limit` octets; `None` if the stream ended
/// cleanly before one began.
pub async fn read_message<R: AsyncRead + Unpin>(
    reader: &mut R,
    limit: usize,
) -> Result<Option<Vec<u8>>, FrameError> {
    let mut size = [0u8; 4];
    match fill(reader, &mut size).await? {
        0 => return Ok(None),
        4 => {}
        got => return Err(FrameError::Truncated { expected: 4, got }),
    }
    let size = u32::from_le_bytes(size);
    let len = usize::try_from(size).map_err(|_| FrameError::Oversized { size, limit })?;
    if len > limit {
        return Err(FrameError::Oversized { size, limit });
    }
    let mut content = vec![0u8; len];
    let got = fill(reader, &mut content).await?;
    if got != len {
        return Err(FrameError::Truncated { expected: len, got });
    }
    Ok(Some(content))
}

/// Writes `message` with its size prefix.
pub async fn write_message<W: AsyncWrite + Unpin>(
    writer: &mut W,
    message: &[u8],
) -> Result<(), FrameError> {
    let size = u32::try_from(message.len()).map_err(|_| FrameError::TooLarge(message.len()))?;
    writer
        .write_all(&size.to_le_bytes())
        .await
        .map_err(|e| FrameError::Io(e.to_string()))?;
    writer
        .write_all(message)
        .await
        .map_err(|e| FrameError::Io(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(f)
    }

    #[test]
    fn a_message_is_its_le_u32_size_then_its_content() {
        block_on(async {
            let mut wire = Vec::new();
            write_message(&mut wire, b"abc").await.expect("written");
            write_message(&mut wire, b"").await.expect("written");
            assert_eq!(wire, [3, 0, 0, 0, b'a', b'b', b'c', 0, 0, 0, 0]);
            let mut reader = &wire[..];
            assert_eq!(
                read_message(&mut reader, 3).await,
                Ok(Some(b"abc".to_vec()))
            );
            assert_eq!(read_message(&mut reader, 3).await, Ok(Some(Vec::new())));
            assert_eq!(read_message(&mut reader, 3).await, Ok(None));
        });
    }

    #[test]
    fn an_oversized_message_is_refused_before_its_content() {
        block_on(async {
            // Only the size prefix: the reader must not wait for 2^31 octets.
            let wire = (1u32 << 31).to_le_bytes();
            let mut reader = &wire[..];
            assert_eq!(
                read_message(&mut reader, 1024).await,
                Err(FrameError::Oversized {
                    size: 1 << 31,
                    limit: 1024
                })
            );
            let mut wire = Vec::new();
            write_message(&mut wire, &[7; 5]).await.expect("written");
            assert_eq!(
                read_message(&mut &wire[..], 4).await,
                Err(FrameError::Oversized { size: 5, limit: 4 })
            );
        });
    }

    #[test]
    fn a_stream_ending_inside_a_message_is_truncated() {
        block_on(async {
            assert_eq!(
                read_message(&mut &[5u8, 0][..], 10).await,
                Err(FrameError::Truncated {
                    expected: 4,
                    got: 2
                })
            );
            assert_eq!(
                read_message(&mut &[5u8, 0, 0, 0, 1, 2][..], 10).await,
                Err(FrameError::Truncated {
                    expected: 5,
                    got: 2
                })
            );
        });
    }
}
