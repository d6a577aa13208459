//! The bytes of one cache entry: a fixed header, then the payload.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "LZJITOBJ"
//!      8     4  format version (little-endian u32, FORMAT_VERSION)
//!     12     4  reserved, 0
//!     16    16  key (little-endian u128)
//!     32     8  payload length (little-endian u64)
//!     40     8  xxh3-64 of the payload (little-endian u64)
//!     48     -  payload
//! ```
//!
//! An entry is loaded only if every field checks out against the key it was looked up
//! by and the bytes that follow: a truncated file, a flipped bit, an entry of another
//! format version, or another key's entry copied over this one are each told apart.

use xxhash_rust::xxh3::xxh3_64;

use crate::Key;

/// The format version written into every entry; entries of any other are rejected.
pub const FORMAT_VERSION: u32 = 1;

/// The first bytes of every entry.
pub const MAGIC: [u8; 8] = *b"LZJITOBJ";

/// Length of the header before the payload.
pub const HEADER_LEN: usize = 48;

/// Why an entry's bytes were not loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Shorter than a header (an empty file is one).
    #[error("truncated header ({0} bytes)")]
    Truncated(usize),
    /// Does not start with [`MAGIC`].
    #[error("not a lazyjit cache entry")]
    Magic,
    /// Written by another format version.
    #[error("format version {0}, expected {FORMAT_VERSION}")]
    Version(u32),
    /// Holds the entry of another key.
    #[error("holds the entry of key {0}")]
    Key(Key),
    /// The payload is not as long as the header says.
    #[error("payload of {actual} bytes, header says {expected}")]
    Length {
        /// The header's length.
        expected: u64,
        /// The bytes present after the header.
        actual: u64,
    },
    /// The payload's checksum does not match the header's.
    #[error("checksum mismatch")]
    Checksum,
}

/// The entry bytes for `payload` under `key`.
pub fn encode(key: Key, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&key.0.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&xxh3_64(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The payload of entry bytes `bytes`, checked against `key`.
pub fn decode(key: Key, bytes: &[u8]) -> Result<&[u8], EntryError> {
    let header = read_header(bytes)?;
    if header.key != key {
        return Err(EntryError::Key(header.key));
    }
    check_payload(&header, &bytes[HEADER_LEN..])
}

/// The key an entry's bytes say they hold, and their payload, checked (for listing
/// and verifying a cache without knowing its keys).
pub fn decode_any(bytes: &[u8]) -> Result<(Key, &[u8]), EntryError> {
    let header = read_header(bytes)?;
    check_payload(&header, &bytes[HEADER_LEN..]).map(|payload| (header.key, payload))
}

struct Header {
    key: Key,
    length: u64,
    checksum: u64,
}

fn read_header(bytes: &[u8]) -> Result<Header, EntryError> {
    if bytes.len() < HEADER_LEN {
        return Err(EntryError::Truncated(bytes.len()));
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    if bytes[..8] != MAGIC {
        return Err(EntryError::Magic);
    }
    let version = u32_at(8);
    if version != FORMAT_VERSION {
        return Err(EntryError::Version(version));
    }
    Ok(Header {
        key: Key(u128::from_le_bytes(bytes[16..32].try_into().expect("16 bytes"))),
        length: u64_at(32),
        checksum: u64_at(40),
    })
}

fn check_payload<'a>(header: &Header, payload: &'a [u8]) -> Result<&'a [u8], EntryError> {
    if payload.len() as u64 != header.length {
        return Err(EntryError::Length { expected: header.length, actual: payload.len() as u64 });
    }
    if xxh3_64(payload) != header.checksum {
        return Err(EntryError::Checksum);
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_kind_of_damage() {
        let key = Key(0x1234_5678_9abc_def0_0fed_cba9_8765_4321);
        let bytes = encode(key, b"object bytes");
        assert_eq!(decode(key, &bytes), Ok(&b"object bytes"[..]));
        assert_eq!(decode_any(&bytes), Ok((key, &b"object bytes"[..])));
        assert_eq!(decode(key, &[]), Err(EntryError::Truncated(0)));
        assert_eq!(decode(key, &bytes[..20]), Err(EntryError::Truncated(20)));
        assert_eq!(
            decode(key, &bytes[..bytes.len() - 1]),
            Err(EntryError::Length { expected: 12, actual: 11 })
        );
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(decode(key, &flipped), Err(EntryError::Checksum));
        let mut magic = bytes.clone();
        magic[0] = b'X';
        assert_eq!(decode(key, &magic), Err(EntryError::Magic));
        let mut version = bytes.clone();
        version[8] = 9;
        assert_eq!(decode(key, &version), Err(EntryError::Version(9)));
        assert_eq!(decode(Key(1), &bytes), Err(EntryError::Key(key)));
        let empty = encode(key, b"");
        assert_eq!(decode(key, &empty), Ok(&b""[..]));
    }
}
