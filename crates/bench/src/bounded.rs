//! Reading a user's file with limits, so that `/dev/zero`, a pipe that never ends or a file
//! of one endless line is refused instead of filling memory.

use std::io::Read;
use std::path::Path;

use crate::BenchError;

/// A reader that fails once more than `max_total` bytes have been read, or a line runs
/// longer than `max_line` bytes.
#[derive(Debug)]
pub(crate) struct Bounded<R> {
    inner: R,
    max_total: u64,
    max_line: u64,
    total: u64,
    line: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &byte in &buf[..n] {
            self.line = if byte == b'\n' { 0 } else { self.line + 1 };
            if self.line > self.max_line {
                return Err(std::io::Error::other(format!(
                    "a line longer than {}",
                    crate::memory::human(self.max_line)
                )));
            }
        }
        self.total += n as u64;
        if self.total > self.max_total {
            return Err(std::io::Error::other(format!(
                "more than {} in all",
                crate::memory::human(self.max_total)
            )));
        }
        Ok(n)
    }
}

/// Opens `path` for reading at most `max_total` bytes in lines of at most `max_line`.
///
/// # Errors
/// [`BenchError::Io`] naming the file if it cannot be opened.
pub(crate) fn open(
    path: &Path,
    max_total: u64,
    max_line: u64,
) -> Result<Bounded<std::io::BufReader<std::fs::File>>, BenchError> {
    let file = std::fs::File::open(path).map_err(BenchError::io(path))?;
    Ok(Bounded {
        inner: std::io::BufReader::new(file),
        max_total,
        max_line,
        total: 0,
        line: 0,
    })
}

/// Reads a whole text file of at most `max_total` bytes.
///
/// # Errors
/// [`BenchError::Io`] naming the file: unreadable, too long, or not UTF-8.
pub(crate) fn read_to_string(path: &Path, max_total: u64) -> Result<String, BenchError> {
    let mut text = String::new();
    open(path, max_total, u64::MAX)?
        .read_to_string(&mut text)
        .map_err(BenchError::io(path))?;
    Ok(text)
}

/// Reads `path` as JSON of `what`; files past a quarter of the memory available (1 GiB
/// when unknown) are refused before they are parsed, since parsing takes several times
/// the text.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
) -> Result<T, BenchError> {
    let limit = crate::memory::available().map_or(1 << 30, |bytes| bytes / 4);
    let text = read_to_string(path, limit)?;
    serde_json::from_str(&text).map_err(|e| BenchError::Malformed {
        path: path.to_owned(),
        offset: e.line() as u64,
        expected: what.to_owned(),
        found: e.to_string(),
    })
}
