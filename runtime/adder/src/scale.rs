//! The little of SCALE the adder reads and writes, without allocating.

/// Reads SCALE values from the front of a slice.
pub(crate) struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { input }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.input.len() {
            return None;
        }
        let (head, tail) = self.input.split_at(n);
        self.input = tail;
        Some(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    /// A `Compact<u32>`, refused unless in its shortest form (as
    /// parity-scale-codec refuses it).
    pub(crate) fn compact_u32(&mut self) -> Option<u32> {
        let [first] = self.array()?;
        match first & 0b11 {
            0 => Some(u32::from(first >> 2)),
            1 => {
                let [second] = self.array()?;
                let value = u32::from(u16::from_le_bytes([first, second]) >> 2);
                (value > 0x3f).then_some(value)
            }
            2 => {
                let [b1, b2, b3] = self.array()?;
                let value = u32::from_le_bytes([first, b1, b2, b3]) >> 2;
                (value > 0x3fff).then_some(value)
            }
            _ => {
                // Big-integer mode: `(first >> 2) + 4` octets follow; a
                // `u32` in its shortest form takes exactly 4.
                if first >> 2 != 0 {
                    return None;
                }
                let value = u32::from_le_bytes(self.array()?);
                (value > 0x3fff_ffff).then_some(value)
            }
        }
    }

    /// A `Vec<u8>`: compact length, then the octets.
    pub(crate) fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.compact_u32()?).ok()?;
        self.take(len)
    }
}

/// Writes SCALE values into a fixed buffer that the caller sized.
pub(crate) struct Writer<'a> {
    out: &'a mut [u8],
    written: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(out: &'a mut [u8]) -> Self {
        Self { out, written: 0 }
    }

    pub(crate) fn written(&self) -> usize {
        self.written
    }

    pub(crate) fn raw(&mut self, data: &[u8]) {
        self.out[self.written..self.written + data.len()].copy_from_slice(data);
        self.written += data.len();
    }

    /// A `Vec<u8>` shorter than 2^14 octets: compact length, then the octets.
    pub(crate) fn bytes(&mut self, data: &[u8]) {
        let len = data.len();
        assert!(len < 1 << 14, "the adder writes short vectors only");
        if len < 1 << 6 {
            self.raw(&[u8::try_from(len << 2).unwrap_or(0)]);
        } else {
            let encoded = u16::try_from((len << 2) | 1).unwrap_or(0);
            self.raw(&encoded.to_le_bytes());
        }
        self.raw(data);
    }
}
