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
/// The header is read first and nothing past the size it promises: a file that never ends
/// (`/dev/zero`), a gzip bomb or a header whose dimensions multiply past memory is refused
/// without reading it whole. `.gz` files may have several members (as `cat a.gz b.gz`
/// makes).
///
/// # Errors
/// [`BenchError::Io`] if unreadable, [`BenchError::Malformed`] naming the offset and what
/// was expected otherwise.
pub fn read_idx(path: &Path, expected_rank: usize) -> Result<Idx, BenchError> {
    let mut file = std::fs::File::open(path).map_err(BenchError::io(path))?;
    let mut magic = [0_u8; 2];
    let sniffed = read_up_to(&mut file, &mut magic).map_err(BenchError::io(path))?;
    let gzip = magic[..sniffed] == [0x1f, 0x8b];
    // The sniffed bytes go back in front instead of seeking, so pipes work too.
    let file = std::io::Read::chain(std::io::Cursor::new(magic[..sniffed].to_vec()), file);
    let malformed = |offset: usize, expected: String, found: String| BenchError::Malformed {
        path: path.to_owned(),
        offset: offset as u64,
        expected,
        found,
    };
    let mut reader: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            file,
        )))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let read_error = |e: std::io::Error| {
        if gzip {
            malformed(0, "a valid gzip stream".into(), e.to_string())
        } else {
            BenchError::io(path)(e)
        }
    };
    let header_len = 4 + 4 * expected_rank;
    let mut header = vec![0_u8; header_len];
    let got = read_up_to(&mut reader, &mut header).map_err(read_error)?;
    if got < 4 {
        return Err(malformed(
            0,
            "a 4-byte IDX magic number".into(),
            format!("{got} bytes in the whole file"),
        ));
    }
    if header[..3] != [0, 0, 0x08] || header[3] as usize != expected_rank {
        return Err(malformed(
            0,
            format!(
                "magic 0x000008{expected_rank:02x} (unsigned bytes, {expected_rank} dimensions)"
            ),
            format!(
                "0x{:02x}{:02x}{:02x}{:02x}",
                header[0], header[1], header[2], header[3]
            ),
        ));
    }
    if got < header_len {
        return Err(malformed(
            4,
            format!("{expected_rank} big-endian u32 dimensions"),
            format!("{} header bytes", got - 4),
        ));
    }
    let dims: Vec<usize> = header[4..]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1_usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_VALUES)
        .ok_or_else(|| {
            malformed(
                4,
                format!("dimensions with at most {MAX_VALUES} values in all"),
                format!("{dims:?}"),
            )
        })?;
    // The bytes, then the f32 features they become.
    crate::memory::check(&path.display().to_string(), (count as u64).checked_mul(5))?;
    if !gzip
        && let Ok(meta) = std::fs::metadata(path)
        && meta.is_file()
        && meta.len() != (header_len + count) as u64
    {
        return Err(malformed(
            header_len,
            format!("{count} data bytes for dimensions {dims:?}"),
            format!("{} bytes", meta.len().saturating_sub(header_len as u64)),
        ));
    }
    // One byte more than promised tells a longer file from an exact one.
    let mut data = Vec::new();
    (&mut reader)
        .take(count as u64 + 1)
        .read_to_end(&mut data)
        .map_err(read_error)?;
    if data.len() != count {
        return Err(malformed(
            header_len,
            format!("{count} data bytes for dimensions {dims:?}"),
            if data.len() > count {
                "more".into()
            } else {
                format!("{} bytes", data.len())
            },
        ));
    }
    Ok(Idx { dims, data })
}

/// The most values an IDX file may hold: 2^32 bytes, 4 GiB as bytes and 16 GiB as the
/// `f32` features they become; the largest public IDX sets (EMNIST) hold under 2^30.
pub(crate) const MAX_VALUES: usize = 1 << 32;

/// Fills as much of `buf` as the reader has, returning how much that was.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
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
