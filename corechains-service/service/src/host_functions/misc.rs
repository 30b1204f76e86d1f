//! sp-io's `misc` group: `runtime_version` (the embedded version read by
//! [`super::runtime_version`]) and the `print_*` debugging functions, which
//! log at `Debug` under the target `runtime`.

use alloc::vec;
use alloc::vec::Vec;

use parity_scale_codec::Encode;

use super::call::{Call, Failed};
use super::runtime_version;
use super::table::Out;
use super::MAX_LOG;
use crate::host::{LogLevel, RefineHost};

impl<H: RefineHost> Call<'_, H> {
    /// `ext_misc_runtime_version_*(code[, out])`: version 1 allocates
    /// `SCALE(Option<Vec<u8>>)`; version 2 writes it into `out`, truncated,
    /// and returns its full length, or `-1` for none.
    pub(crate) fn runtime_version(
        &mut self,
        out: Out,
        code: u64,
        out_ptr: u64,
    ) -> Result<u64, Failed> {
        let code = self.read(code)?;
        let version = runtime_version::runtime_version(&code);
        match out {
            Out::Allocated => self.allocate_fat(&version.encode()),
            Out::InPlace => {
                let (_, len) = parajam_corechains_types::unpack_ptr_and_len(out_ptr);
                let mut buffer = vec![0; len as usize];
                if let Some(v) = &version {
                    let n = v.len().min(buffer.len());
                    buffer[..n].copy_from_slice(&v[..n]);
                }
                self.write(out_ptr, &buffer)?;
                match version {
                    Some(v) => u64::try_from(v.len()).map_err(|_| Failed),
                    None => Ok(u64::MAX),
                }
            }
        }
    }

    /// `ext_misc_print_utf8_version_1(data)`: logged if it is UTF-8.
    pub(crate) fn print_utf8(&mut self, data: u64) -> Result<u64, Failed> {
        let data = self.read(data)?;
        if core::str::from_utf8(&data).is_ok() {
            self.log(LogLevel::Debug, b"runtime", &data);
        }
        Ok(0)
    }

    /// `ext_misc_print_hex_version_1(data)`: logged in hex.
    pub(crate) fn print_hex(&mut self, data: u64) -> Result<u64, Failed> {
        let data = self.read(data)?;
        self.log(
            LogLevel::Debug,
            b"runtime",
            &hex(&data[..data.len().min(MAX_LOG / 2)]),
        );
        Ok(0)
    }

    /// `ext_misc_print_num_version_1(value)`: logged in decimal.
    pub(crate) fn print_num(&mut self, value: u64) -> u64 {
        let mut text = Vec::new();
        write_decimal(&mut text, value);
        self.log(LogLevel::Debug, b"runtime", &text);
        0
    }
}

pub(crate) fn hex(data: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    data.iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .collect()
}

pub(crate) fn write_decimal(out: &mut Vec<u8>, mut value: u64) {
    let start = out.len();
    loop {
        #[allow(clippy::cast_possible_truncation)] // a digit
        out.push(b'0' + (value % 10) as u8);
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out[start..].reverse();
}
