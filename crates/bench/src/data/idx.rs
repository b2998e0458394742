//! The IDX format of MNIST, Fashion-MNIST and EMNIST: big-endian header, raw `u8` data,
//! optionally gzip-compressed.

use std::io::Read;
use std::path::Path;

use crate::BenchError;

/// An IDX file's dimensions and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx {
    /// Sizes of each dimension (`[count]` for labels, `[count, rows, cols]` for images).
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Reads an IDX file of unsigned bytes (type code 0x08), raw or `.gz`, checking the magic
/// number, the dimension count and that the file holds exactly the data it announces.
///
/// # Errors
/// [`BenchError::Io`] if unreadable, [`BenchError::Malformed`] naming the offset and what
/// was expected otherwise.
pub fn read_idx(path: &Path, expected_rank: usize) -> Result<Idx, BenchError> {
    let raw = std::fs::read(path).map_err(BenchError::io(path))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| BenchError::Malformed {
                path: path.to_owned(),
                offset: 0,
                expected: "a valid gzip stream".into(),
                found: e.to_string(),
            })?;
        out
    } else {
        raw
    };
    let malformed = |offset: usize, expected: String, found: String| BenchError::Malformed {
        path: path.to_owned(),
        offset: offset as u64,
        expected,
        found,
    };
    if bytes.len() < 4 {
        return Err(malformed(
            0,
            "a 4-byte IDX magic number".into(),
            format!("{} bytes in the whole file", bytes.len()),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 || bytes[3] as usize != expected_rank {
        return Err(malformed(
            0,
            format!(
                "magic 0x000008{expected_rank:02x} (unsigned bytes, {expected_rank} dimensions)"
            ),
            format!(
                "0x{:02x}{:02x}{:02x}{:02x}",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        ));
    }
    let header = 4 + 4 * expected_rank;
    if bytes.len() < header {
        return Err(malformed(
            4,
            format!("{expected_rank} big-endian u32 dimensions"),
            format!("{} header bytes", bytes.len() - 4),
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let count: usize = dims.iter().product();
    if bytes.len() - header != count {
        return Err(malformed(
            header,
            format!("{count} data bytes for dimensions {dims:?}"),
            format!("{} bytes", bytes.len() - header),
        ));
    }
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Writes an uncompressed IDX file of unsigned bytes (for tests and small exports).
///
/// # Errors
/// [`BenchError::Io`] if the file cannot be written.
pub fn write_idx(path: &Path, dims: &[usize], data: &[u8]) -> Result<(), BenchError> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        bytes.extend((d as u32).to_be_bytes());
    }
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).map_err(BenchError::io(path))
}
