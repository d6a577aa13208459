//! Any bytes as a cache entry file: the loader returns a hit only for a well-formed
//! entry of the key looked up, a rejection or a miss otherwise; the payload of a hit is
//! then checked as an object (what the engine does before linking a cached object):
//! garbage is refused, never linked.
#![no_main]

use std::sync::OnceLock;

use lazyjit_cache::{entry, CacheConfig, Key, Lookup, ObjectCache};
use lazyjit_orc::ObjectBuffer;
use libfuzzer_sys::fuzz_target;

const KEY: Key = Key(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);

fn cache() -> &'static ObjectCache {
    static CACHE: OnceLock<ObjectCache> = OnceLock::new();
    CACHE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("lazyjit-fuzz-cache-{}", std::process::id()));
        ObjectCache::open(CacheConfig::at(dir))
    })
}

fuzz_target!(|data: &[u8]| {
    // The bytes as an entry file on disk.
    let decoded = entry::decode(KEY, data);
    if let Ok(payload) = decoded {
        assert_eq!(entry::decode_any(data), Ok((KEY, payload)));
    }
    let path = cache().entry_path(KEY);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, data).unwrap();
    match (cache().get(KEY), decoded) {
        (Lookup::Hit(payload), Ok(expected)) => assert_eq!(payload, expected),
        (Lookup::Rejected(e), Err(expected)) => assert_eq!(e, expected),
        (got, expected) => panic!("lookup {got:?} for an entry that decodes to {expected:?}"),
    }

    // The bytes as the payload of a well-formed entry: they come back whole, and the
    // object check the engine makes of a cached object before linking it does not
    // crash (it once handed them to LLVM's symbol iterator, which did).
    let wrapped = entry::encode(KEY, data);
    assert_eq!(entry::decode(KEY, &wrapped), Ok(data));
    let object = ObjectBuffer::from_bytes(data.to_vec());
    let _ = object.defines("lzf.fuzz");
});
