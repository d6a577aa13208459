//! Relocatable object code as plain bytes.

/// The bytes of one relocatable object file (ELF on Linux), as produced by
/// [`compile_module`](crate::compile_module).
///
/// Plain owned bytes, so that a cache can store and reload them; emitting one
/// into a session hands LLVM a copy (LLVM takes ownership of its own buffer).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ObjectBuffer {
    bytes: Vec<u8>,
}

impl ObjectBuffer {
    /// Wraps object bytes (e.g. read back from a cache). They are not checked here;
    /// a malformed object is reported by the session when it is emitted.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        ObjectBuffer { bytes }
    }

    /// The object's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Gives the bytes back.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The object's size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the buffer holds no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl From<Vec<u8>> for ObjectBuffer {
    fn from(bytes: Vec<u8>) -> Self {
        ObjectBuffer { bytes }
    }
}

impl std::fmt::Debug for ObjectBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObjectBuffer({} bytes)", self.bytes.len())
    }
}
