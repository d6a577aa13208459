//! Cache keys: 128-bit xxh3 digests of everything that shaped an object.

use std::fmt;
use std::hash::Hasher;
use std::str::FromStr;

use xxhash_rust::xxh3::Xxh3;

/// The key of one cache entry: an xxh3-128 digest (see [`KeyBuilder`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Key(pub u128);

impl Key {
    /// The key as 32 lowercase hex digits, the spelling of entry file names.
    pub fn to_hex(self) -> String {
        format!("{:032x}", self.0)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// A key spelled as 32 hex digits.
impl FromStr for Key {
    type Err = String;

    fn from_str(s: &str) -> Result<Key, String> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`{s}` is not a cache key (32 hex digits)"));
        }
        u128::from_str_radix(s, 16).map(Key).map_err(|e| e.to_string())
    }
}

/// Builds a [`Key`] from labelled parts.
///
/// Every part is written with its label and its length, so that no two different
/// sequences of parts feed the digest the same bytes (`("ab", "c")` and `("a", "bc")`
/// hash apart). The builder is also a [`Hasher`], so that `Hash` implementations (and
/// hashing walks such as a function's `hash_code`) can feed it directly; what they write
/// goes in unlabelled, so put a [`KeyBuilder::part`] label before them.
///
/// ```
/// use lazyjit_cache::KeyBuilder;
/// let a = KeyBuilder::new("example").part("triple", b"x86_64-pc-linux-gnu").number("opt", 2).key();
/// let b = KeyBuilder::new("example").part("triple", b"x86_64-pc-linux-gnu").number("opt", 0).key();
/// assert_ne!(a, b);
/// assert_eq!(a.to_hex().len(), 32);
/// ```
#[derive(Clone)]
pub struct KeyBuilder {
    state: Xxh3,
}

impl KeyBuilder {
    /// A builder for keys of one kind (`domain` is hashed first: keys of different
    /// kinds never collide by construction).
    pub fn new(domain: &str) -> KeyBuilder {
        let mut b = KeyBuilder { state: Xxh3::new() };
        b.part("domain", domain.as_bytes());
        b
    }

    /// Adds the labelled bytes `data`.
    pub fn part(&mut self, label: &str, data: &[u8]) -> &mut KeyBuilder {
        self.write_len_prefixed(label.as_bytes());
        self.write_len_prefixed(data);
        self
    }

    /// Adds a labelled number.
    pub fn number(&mut self, label: &str, n: u64) -> &mut KeyBuilder {
        self.part(label, &n.to_le_bytes())
    }

    /// The key of the parts added so far (the builder may go on).
    pub fn key(&self) -> Key {
        Key(self.state.digest128())
    }

    fn write_len_prefixed(&mut self, data: &[u8]) {
        self.state.update(&(data.len() as u64).to_le_bytes());
        self.state.update(data);
    }
}

impl Hasher for KeyBuilder {
    fn finish(&self) -> u64 {
        self.state.digest()
    }

    fn write(&mut self, bytes: &[u8]) {
        self.state.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_delimited() {
        let k = |parts: &[(&str, &[u8])]| {
            let mut b = KeyBuilder::new("t");
            for (label, data) in parts {
                b.part(label, data);
            }
            b.key()
        };
        assert_ne!(k(&[("a", b"bc")]), k(&[("ab", b"c")]));
        assert_ne!(k(&[("a", b"b"), ("c", b"")]), k(&[("a", b"bc")]));
        assert_eq!(k(&[("a", b"b")]), k(&[("a", b"b")]));
        assert_ne!(KeyBuilder::new("one").key(), KeyBuilder::new("two").key());
    }

    #[test]
    fn hex_round_trips() {
        let key = KeyBuilder::new("t").number("n", 7).key();
        assert_eq!(key.to_hex().parse::<Key>(), Ok(key));
        assert!("xyz".parse::<Key>().is_err());
        assert!("0".repeat(33).parse::<Key>().is_err());
        assert_eq!(Key(1).to_string(), format!("{}1", "0".repeat(31)));
    }
}
