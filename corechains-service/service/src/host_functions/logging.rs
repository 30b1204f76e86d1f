//! sp-io's `logging` group (`log`, `max_level`), and the log line every
//! group writes through JIP-1 `log`.

use super::call::{low8, Call, Failed};
use super::MAX_LOG;
use crate::host::{LogLevel, RefineHost};

/// The `max_level` the PVF is told: `Warn`.
pub(crate) const MAX_LEVEL: u64 = 2;

impl<H: RefineHost> Call<'_, H> {
    /// `ext_logging_log_version_1(level, target, message)`: level 0 (error)
    /// ..= 4 (trace) else fails; a target not UTF-8 fails; a message not
    /// UTF-8 is dropped.
    pub(crate) fn log_call(
        &mut self,
        level: u64,
        target: u64,
        message: u64,
    ) -> Result<u64, Failed> {
        let level = match low8(level) {
            0 => LogLevel::Error,
            1 => LogLevel::Warn,
            2 => LogLevel::Info,
            3 => LogLevel::Debug,
            4 => LogLevel::Trace,
            _ => return Err(Failed),
        };
        let target = self.read(target)?;
        let message = self.read(message)?;
        if core::str::from_utf8(&target).is_err() {
            return Err(Failed);
        }
        if core::str::from_utf8(&message).is_ok() {
            self.log(level, &target, &message);
        }
        Ok(0)
    }

    /// JIP-1 `log`, target and message truncated to [`MAX_LOG`].
    pub(crate) fn log(&mut self, level: LogLevel, target: &[u8], message: &[u8]) {
        self.host.log(
            level,
            &target[..target.len().min(MAX_LOG)],
            &message[..message.len().min(MAX_LOG)],
        );
    }
}
