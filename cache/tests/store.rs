//! The object store on a real directory: round trips, damaged entries, concurrency,
//! eviction, clearing, and directories that cannot be written.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use lazyjit_cache::{entry, CacheConfig, EntryError, Key, KeyBuilder, Lookup, ObjectCache};

/// A fresh directory under the target directory's temporary space.
fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cache-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn key(n: u64) -> Key {
    KeyBuilder::new("test").number("n", n).key()
}

#[test]
fn stores_and_finds() {
    let cache = ObjectCache::open(CacheConfig::at(temp_dir("round-trip")));
    assert_eq!(cache.get(key(1)), Lookup::Miss);
    assert!(cache.put(key(1), b"object one"));
    assert_eq!(cache.get(key(1)), Lookup::Hit(b"object one".to_vec()));
    assert_eq!(cache.get(key(2)), Lookup::Miss);
    let path = cache.entry_path(key(1));
    assert!(path.starts_with(cache.dir()), "{}", path.display());
    let hex = key(1).to_hex();
    assert!(path.ends_with(format!("{}/{}", &hex[..2], &hex[2..])), "{}", path.display());
    // Replacing an entry.
    assert!(cache.put(key(1), b"object one, again"));
    assert_eq!(cache.get(key(1)), Lookup::Hit(b"object one, again".to_vec()));
    let c = cache.counters();
    assert_eq!((c.hits.load(Relaxed), c.misses.load(Relaxed), c.stores.load(Relaxed)), (2, 2, 2));
    assert!(cache.take_warnings().is_empty());
    // A second handle (another process, as far as the files go) sees the entries.
    let other = ObjectCache::open(CacheConfig::at(cache.dir()));
    assert_eq!(other.get(key(1)), Lookup::Hit(b"object one, again".to_vec()));
    assert_eq!(other.usage().unwrap().entries, 1);
}

use std::sync::atomic::Ordering::Relaxed;

#[test]
fn damaged_entries_are_rejected_then_rebuilt() {
    let cache = ObjectCache::open(CacheConfig::at(temp_dir("damaged")));
    let good = entry::encode(key(10), b"the right object");
    let mut flipped = good.clone();
    *flipped.last_mut().unwrap() ^= 0x40;
    let mut old_version = good.clone();
    old_version[8..12].copy_from_slice(&(entry::FORMAT_VERSION + 1).to_le_bytes());
    type Case = (&'static str, Vec<u8>, fn(&EntryError) -> bool);
    let cases: Vec<Case> = vec![
        ("zero-length", Vec::new(), |e| matches!(e, EntryError::Truncated(0))),
        ("truncated header", good[..30].to_vec(), |e| matches!(e, EntryError::Truncated(30))),
        ("truncated payload", good[..good.len() - 3].to_vec(), |e| matches!(e, EntryError::Length { .. })),
        ("corrupt", flipped, |e| *e == EntryError::Checksum),
        ("wrong version", old_version, |e| matches!(e, EntryError::Version(_))),
        ("another key's entry", entry::encode(key(11), b"another object"), |e| *e == EntryError::Key(key(11))),
        ("not an entry", [b"\x7fELF".as_slice(), &[0u8; 60]].concat(), |e| *e == EntryError::Magic),
    ];
    for (what, bytes, expected) in cases {
        let path = cache.entry_path(key(10));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, &bytes).unwrap();
        match cache.get(key(10)) {
            Lookup::Rejected(e) => assert!(expected(&e), "{what}: rejected as {e:?}"),
            other => panic!("{what}: {other:?}"),
        }
        assert_eq!(cache.check_all().unwrap().len(), 1, "{what}");
        assert!(cache.put(key(10), b"the right object"), "{what}");
        assert_eq!(cache.get(key(10)), Lookup::Hit(b"the right object".to_vec()), "{what}");
        assert!(cache.check_all().unwrap().is_empty(), "{what}");
    }
    assert_eq!(cache.counters().rejected.load(Relaxed), 7);
}

#[test]
fn racing_writers_and_readers_see_whole_entries() {
    let cache = Arc::new(ObjectCache::open(CacheConfig::at(temp_dir("race"))));
    let payload = |writer: u64| -> Vec<u8> { (0..64 * 1024).map(|i| (i as u64 * 31 + writer) as u8).collect() };
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let cache = Arc::clone(&cache);
            std::thread::spawn(move || {
                let mut hits = 0;
                for round in 0..40 {
                    if t % 2 == 0 {
                        assert!(cache.put(key(round % 4), &payload(t)));
                    }
                    match cache.get(key(round % 4)) {
                        Lookup::Hit(bytes) => {
                            assert!((0..8).any(|w| bytes == payload(w)), "a torn entry");
                            hits += 1;
                        }
                        Lookup::Miss => {}
                        Lookup::Rejected(e) => panic!("a reader saw a partial entry: {e}"),
                    }
                }
                hits
            })
        })
        .collect();
    let hits: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(hits > 0);
    assert!(cache.check_all().unwrap().is_empty());
    // No temporary file is left behind.
    let (entries, leftovers) = walk(cache.dir());
    assert_eq!(entries, 4);
    assert_eq!(leftovers, Vec::<String>::new());
}

/// Entry files and other files under `dir`.
fn walk(dir: &std::path::Path) -> (usize, Vec<String>) {
    let mut entries = 0;
    let mut other = Vec::new();
    for shard in fs::read_dir(dir).unwrap().flatten() {
        for f in fs::read_dir(shard.path()).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.len() == 30 && !name.starts_with('.') {
                entries += 1;
            } else {
                other.push(name);
            }
        }
    }
    (entries, other)
}

#[test]
fn eviction_removes_the_least_recently_used() {
    let cache = ObjectCache::open(CacheConfig { dir: temp_dir("evict"), max_bytes: 1 << 30 });
    let now = SystemTime::now();
    for n in 0..10u64 {
        assert!(cache.put(key(n), &vec![n as u8; 1000]));
        // Entry n was last used n hours ago... except entry 7, used just now.
        let age = if n == 7 { 0 } else { 3600 * (n + 1) };
        let file = fs::File::options().write(true).open(cache.entry_path(key(n))).unwrap();
        file.set_modified(now - Duration::from_secs(age)).unwrap();
    }
    let size = cache.usage().unwrap().bytes;
    assert_eq!(size, 10 * (entry::HEADER_LEN as u64 + 1000));
    assert_eq!(cache.evict(size).unwrap(), 0, "within the limit: nothing goes");
    let left = || -> Vec<u64> { (0..10).filter(|&n| cache.entry_path(key(n)).exists()).collect() };
    // Down to nine tenths of 6,000 bytes: the five oldest go (9, 8, 6, 5, 4).
    assert_eq!(cache.evict(6000).unwrap(), 5);
    assert_eq!(left(), vec![0, 1, 2, 3, 7]);
    // A hit refreshes an old entry, so it outlives entries used more recently.
    let file = fs::File::options().write(true).open(cache.entry_path(key(3))).unwrap();
    file.set_modified(now - Duration::from_secs(86400)).unwrap();
    assert!(matches!(cache.get(key(3)), Lookup::Hit(_)));
    let refreshed = fs::metadata(cache.entry_path(key(3))).unwrap().modified().unwrap();
    assert!(refreshed >= now, "the hit refreshed entry 3");
    assert_eq!(cache.evict(3000).unwrap(), 3);
    assert_eq!(left(), vec![3, 7]);
    assert_eq!(cache.counters().evicted.load(Relaxed), 8);
}

#[test]
fn clearing_removes_only_cache_files() {
    let dir = temp_dir("clear");
    let cache = ObjectCache::open(CacheConfig::at(&dir));
    for n in 0..5 {
        cache.put(key(n), b"x");
    }
    fs::write(dir.join("notes.txt"), "not the cache's").unwrap();
    fs::create_dir_all(dir.join("zz")).unwrap();
    fs::write(dir.join("zz").join("0123456789abcdef0123456789abcd"), "not in a shard").unwrap();
    assert_eq!(cache.clear().unwrap(), 5);
    assert_eq!(cache.usage().unwrap().entries, 0);
    assert!(dir.join("notes.txt").exists());
    assert!(dir.join("zz").join("0123456789abcdef0123456789abcd").exists());
}

#[test]
fn a_directory_that_cannot_be_created_means_no_storing() {
    // Under a regular file, no directory can be made (whoever runs the test).
    let dir = temp_dir("blocked");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("file"), "").unwrap();
    let cache = ObjectCache::open(CacheConfig::at(dir.join("file").join("cache")));
    assert!(!cache.is_writable());
    assert_eq!(cache.get(key(1)), Lookup::Miss);
    assert!(!cache.put(key(1), b"x"));
    let warnings = cache.take_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("cannot create cache directory"), "{warnings:?}");
}

#[test]
fn a_read_only_directory_serves_its_entries_and_warns_once() {
    let dir = temp_dir("read-only");
    let writer = ObjectCache::open(CacheConfig::at(&dir));
    assert!(writer.put(key(1), b"stored earlier"));
    make_read_only(&dir, key(2));
    let cache = ObjectCache::open(CacheConfig::at(&dir));
    assert_eq!(cache.get(key(1)), Lookup::Hit(b"stored earlier".to_vec()));
    assert_eq!(cache.get(key(2)), Lookup::Miss);
    assert!(!cache.put(key(2), b"new"), "the store fails");
    assert!(!cache.put(key(3), b"newer"), "and storing is off");
    let warnings = cache.take_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("compiled code is not cached"), "{warnings:?}");
    assert_eq!(cache.get(key(1)), Lookup::Hit(b"stored earlier".to_vec()), "lookups go on");
}

/// Makes storing `new` in `dir` fail: the directory's permissions say read-only; where
/// they do not bind (the test runs as root), `new`'s shard is made a regular file, so
/// that creating the entry fails the same way.
fn make_read_only(dir: &std::path::Path, new: Key) {
    use std::os::unix::fs::PermissionsExt;
    let set = |path: &std::path::Path, mode: u32| fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    for shard in fs::read_dir(dir).unwrap().flatten() {
        set(&shard.path(), 0o555);
    }
    set(dir, 0o555);
    let probe = dir.join("probe");
    if fs::write(&probe, "").is_ok() {
        let _ = fs::remove_file(probe);
        let shard = dir.join(&new.to_hex()[..2]);
        assert!(!shard.exists(), "test keys share no shard");
        fs::write(shard, "").unwrap();
    }
}

#[test]
fn a_directory_removed_mid_run_is_made_again() {
    let dir = temp_dir("removed");
    let cache = ObjectCache::open(CacheConfig::at(&dir));
    assert!(cache.put(key(1), b"before"));
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(cache.get(key(1)), Lookup::Miss);
    assert!(cache.put(key(2), b"after"), "{:?}", cache.take_warnings());
    assert_eq!(cache.get(key(2)), Lookup::Hit(b"after".to_vec()));
    assert!(cache.take_warnings().is_empty());
}

#[test]
fn stores_left_to_the_writer_thread_land_by_flush_or_drop() {
    let dir = temp_dir("put-later");
    let cache = ObjectCache::open(CacheConfig::at(&dir));
    for n in 0..200 {
        cache.put_later(key(n), format!("object {n}").as_bytes());
    }
    cache.flush();
    assert_eq!(cache.counters().stores.load(Relaxed), 200);
    let other = ObjectCache::open(CacheConfig::at(&dir));
    for n in 0..200 {
        assert_eq!(other.get(key(n)), Lookup::Hit(format!("object {n}").into_bytes()), "entry {n}");
    }
    // Dropping the cache finishes what was handed over.
    for n in 200..300 {
        cache.put_later(key(n), b"late");
    }
    drop(cache);
    for n in 200..300 {
        assert_eq!(other.get(key(n)), Lookup::Hit(b"late".to_vec()), "entry {n}");
    }
    assert!(other.take_warnings().is_empty());
}

#[test]
fn a_failing_writer_thread_warns_once_and_flush_returns() {
    let blocker = temp_dir("put-later-blocked");
    fs::write(&blocker, b"a file where the cache directory would be").unwrap();
    let cache = ObjectCache::open(CacheConfig::at(blocker.join("cache")));
    // Opening warned already and turned storing off: nothing is handed over.
    cache.put_later(key(1), b"x");
    cache.flush();
    assert_eq!(cache.take_warnings().len(), 1);

    // A directory removed and replaced by a file after opening: the writer's store fails.
    let dir = temp_dir("put-later-gone");
    let cache = ObjectCache::open(CacheConfig::at(&dir));
    fs::remove_dir_all(&dir).unwrap();
    fs::write(&dir, b"no longer a directory").unwrap();
    for n in 0..10 {
        cache.put_later(key(n), b"x");
    }
    cache.flush();
    assert_eq!(cache.counters().stores.load(Relaxed), 0);
    assert_eq!(cache.take_warnings().len(), 1, "one warning however many stores failed");
    assert!(!cache.is_writable());
    let _ = fs::remove_file(&dir);
}
