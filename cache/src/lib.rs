//! The persistent, content-addressed object-code cache.
//!
//! A compiled function's object bytes are stored under a [`Key`]: an xxh3-128 digest of
//! everything that shaped them (the engine builds it with a [`KeyBuilder`]: the
//! function's MIR, the runtime declarations it uses, its code shape and tier, LLVM's
//! version and options, the target triple and CPU, the framework's build). Equal keys
//! mean interchangeable objects, so a key is looked up before compiling and an object
//! is stored after; the next run of an unchanged program, or of one with a single
//! function edited, finds everything else ready.
//!
//! # On disk
//! One file per entry, `DIR/ab/cdef...` (the key's 32 hex digits, the first two naming
//! a subdirectory so that no directory grows huge). An entry is a header (format
//! version, key, payload length, checksum; see [`entry`]) and the object bytes. Entries
//! are written to a temporary file beside their final name and renamed over it, so a
//! reader sees a whole entry or none, however many processes store the same key at
//! once. An entry that fails any check (truncated, empty, corrupt, another format
//! version, another key's bytes) is reported as [`Lookup::Rejected`], never loaded; the
//! caller compiles and stores, which replaces it. [`ObjectCache::put_later`] leaves the
//! writing to the cache's own thread, so that a compiling thread does not wait for the
//! file system; [`ObjectCache::flush`] (and dropping the cache) waits for it.
//!
//! # Size
//! [`CacheConfig::max_bytes`] bounds the directory: after a process's first store, and
//! after each further eighth of the limit stored, a background thread removes the
//! least recently used entries (by modification time, which a hit refreshes when it is
//! over a minute old) until the entries take at most nine tenths of the limit.
//!
//! # Failures
//! The cache never fails a run. A directory that cannot be created or written to (read
//! only, disk full, removed mid-run) turns storing off for the process with one
//! warning ([`ObjectCache::take_warnings`]); lookups go on and miss.
#![deny(missing_docs)]

pub mod entry;
mod key;

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, Weak};
use std::time::{Duration, SystemTime};

pub use entry::EntryError;
pub use key::{Key, KeyBuilder};

/// Where a cache lives and how large it may grow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// The cache directory (created if missing).
    pub dir: PathBuf,
    /// The most bytes its entries may take before the least recently used are removed.
    pub max_bytes: u64,
}

impl CacheConfig {
    /// The default size limit: 256 MiB (a baseline-tier function's object is a few
    /// kilobytes).
    pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

    /// A cache in `dir` with the default size limit.
    pub fn at(dir: impl Into<PathBuf>) -> CacheConfig {
        CacheConfig { dir: dir.into(), max_bytes: CacheConfig::DEFAULT_MAX_BYTES }
    }

    /// The default directory: `$XDG_CACHE_HOME/lazyjit` if that variable holds an
    /// absolute path, else `$HOME/.cache/lazyjit`; `None` without either.
    pub fn default_dir() -> Option<PathBuf> {
        let absolute = |var: &str| std::env::var_os(var).map(PathBuf::from).filter(|p| p.is_absolute());
        if let Some(xdg) = absolute("XDG_CACHE_HOME") {
            return Some(xdg.join("lazyjit"));
        }
        absolute("HOME").map(|home| home.join(".cache").join("lazyjit"))
    }
}

/// What a lookup found.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The entry's payload.
    Hit(Vec<u8>),
    /// No entry (or none readable).
    Miss,
    /// An entry that failed a check: not loaded; storing the key replaces it.
    Rejected(EntryError),
}

/// What a cache did in this process.
#[derive(Debug, Default)]
pub struct Counters {
    /// Lookups that found a valid entry.
    pub hits: AtomicU64,
    /// Lookups that found none.
    pub misses: AtomicU64,
    /// Lookups that found an entry failing a check.
    pub rejected: AtomicU64,
    /// Entries stored.
    pub stores: AtomicU64,
    /// Entries removed to keep the size limit.
    pub evicted: AtomicU64,
}

/// One entry on disk.
#[derive(Clone, Debug)]
pub struct EntryInfo {
    /// The key its file name spells.
    pub key: Key,
    /// Its file.
    pub path: PathBuf,
    /// Its size, header included.
    pub bytes: u64,
    /// Its last use (store, or a hit refreshing it).
    pub modified: SystemTime,
}

/// How much a cache directory holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Entries.
    pub entries: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// A persistent object cache in one directory (see the crate documentation). Shared
/// between threads by reference; processes share it through the file system.
#[derive(Debug)]
pub struct ObjectCache {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    max_bytes: u64,
    /// Storing is on (off after a failed store, or a directory that could not be made).
    writable: AtomicBool,
    warnings: Mutex<Vec<String>>,
    counters: Counters,
    /// Bytes stored since the last size check, and whether one was made.
    stored_since_check: AtomicU64,
    checked: AtomicBool,
    /// Numbers temporary files apart within the process.
    temp_seq: AtomicU64,
    /// Stores left to the writer thread ([`ObjectCache::put_later`]).
    writer: Mutex<Writer>,
    /// Signalled when the writer thread has done every store handed to it.
    drained: Condvar,
}

/// The writer thread's queue, made at the first [`ObjectCache::put_later`].
#[derive(Debug, Default)]
struct Writer {
    /// Where stores go (`None` before the first, and after the cache is dropped).
    sender: Option<mpsc::Sender<(Key, Vec<u8>)>>,
    /// Stores handed over and not done yet.
    pending: usize,
}

/// The writer thread: stores what `receiver` brings while the cache lives.
fn writer_thread(inner: &Weak<Inner>, receiver: &mpsc::Receiver<(Key, Vec<u8>)>) {
    while let Ok((key, bytes)) = receiver.recv() {
        let Some(inner) = inner.upgrade() else { return };
        if inner.writable.load(Ordering::Relaxed) {
            Inner::store(&inner, key, &bytes);
        }
        let mut writer = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        writer.pending -= 1;
        if writer.pending == 0 {
            inner.drained.notify_all();
        }
    }
}

impl Drop for ObjectCache {
    /// Finishes the stores left to the writer thread, and ends it.
    fn drop(&mut self) {
        self.flush();
        self.inner.writer.lock().unwrap_or_else(|p| p.into_inner()).sender = None;
    }
}

/// Entries refreshed by a hit only when older than this (a hit is a read; writing the
/// time on every one would cost more than it tells).
const REFRESH_AFTER: Duration = Duration::from_secs(60);

/// Temporary files older than this are left over from a process that died mid-store.
const STALE_TEMP: Duration = Duration::from_secs(3600);

impl ObjectCache {
    /// Opens (creating it if needed) the cache directory of `config`. Never fails: a
    /// directory that cannot be created gives a cache that stores nothing, and a
    /// warning.
    pub fn open(config: CacheConfig) -> ObjectCache {
        let cache = ObjectCache {
            inner: Arc::new(Inner {
                dir: config.dir,
                max_bytes: config.max_bytes,
                writable: AtomicBool::new(true),
                warnings: Mutex::new(Vec::new()),
                counters: Counters::default(),
                stored_since_check: AtomicU64::new(0),
                checked: AtomicBool::new(false),
                temp_seq: AtomicU64::new(0),
                writer: Mutex::new(Writer::default()),
                drained: Condvar::new(),
            }),
        };
        if let Err(e) = fs::create_dir_all(&cache.inner.dir) {
            cache.inner.stop_storing(format!("cannot create cache directory {}: {e}", cache.inner.dir.display()));
        }
        cache
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The size limit.
    pub fn max_bytes(&self) -> u64 {
        self.inner.max_bytes
    }

    /// This process's counters.
    pub fn counters(&self) -> &Counters {
        &self.inner.counters
    }

    /// Whether stores still happen (false after a failure to write).
    pub fn is_writable(&self) -> bool {
        self.inner.writable.load(Ordering::Relaxed)
    }

    /// Warnings so far (each failure kind once), cleared.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.inner.warnings.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The file an entry of `key` lives in.
    pub fn entry_path(&self, key: Key) -> PathBuf {
        self.inner.entry_path(key)
    }

    /// Looks `key` up.
    pub fn get(&self, key: Key) -> Lookup {
        let counters = &self.inner.counters;
        let path = self.entry_path(key);
        let read = || -> io::Result<(Vec<u8>, SystemTime, fs::File)> {
            let mut file = fs::File::open(&path)?;
            let modified = file.metadata()?.modified()?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            Ok((bytes, modified, file))
        };
        let Ok((mut bytes, modified, file)) = read() else {
            counters.misses.fetch_add(1, Ordering::Relaxed);
            return Lookup::Miss;
        };
        if let Err(e) = entry::decode(key, &bytes) {
            counters.rejected.fetch_add(1, Ordering::Relaxed);
            return Lookup::Rejected(e);
        }
        counters.hits.fetch_add(1, Ordering::Relaxed);
        let now = SystemTime::now();
        if now.duration_since(modified).is_ok_and(|age| age > REFRESH_AFTER) {
            // The entry's age is what eviction goes by; failing to refresh it (a
            // read-only cache) only makes it look older.
            let _ = file.set_modified(now);
        }
        bytes.drain(..entry::HEADER_LEN);
        Lookup::Hit(bytes)
    }

    /// Stores `payload` under `key` (replacing any entry there). Returns whether it was
    /// stored; a failure turns storing off for the process, with a warning.
    pub fn put(&self, key: Key, payload: &[u8]) -> bool {
        if !self.is_writable() {
            return false;
        }
        Inner::store(&self.inner, key, &entry::encode(key, payload))
    }

    /// [`ObjectCache::put`] on the cache's writer thread, so that the caller does not
    /// wait for the file system (creating a file costs a fraction of a millisecond on
    /// some, as much as compiling a small function). The entry is on disk once
    /// [`ObjectCache::flush`] returns; a process that ends without flushing may lose it
    /// (the next run compiles it again).
    pub fn put_later(&self, key: Key, payload: &[u8]) {
        if !self.is_writable() {
            return;
        }
        let bytes = entry::encode(key, payload);
        let mut writer = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        if writer.sender.is_none() {
            let (sender, receiver) = mpsc::channel::<(Key, Vec<u8>)>();
            // The thread holds the cache weakly: it ends when the cache is dropped.
            let inner = Arc::downgrade(&self.inner);
            let spawned = std::thread::Builder::new().name("lazyjit-cache-write".into()).spawn(move || writer_thread(&inner, &receiver));
            if spawned.is_err() {
                drop(writer);
                self.put(key, payload);
                return;
            }
            writer.sender = Some(sender);
        }
        let sent = writer.sender.as_ref().is_some_and(|s| s.send((key, bytes)).is_ok());
        if sent {
            writer.pending += 1;
        }
    }

    /// Waits until every store handed to the writer thread ([`ObjectCache::put_later`])
    /// is done.
    pub fn flush(&self) {
        let mut writer = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        while writer.pending > 0 {
            writer = self.inner.drained.wait(writer).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Every entry on disk (files whose names spell a key; nothing else is looked at).
    pub fn entries(&self) -> io::Result<Vec<EntryInfo>> {
        self.inner.entries().map(|(entries, _)| entries)
    }

    /// The entries' count and size.
    pub fn usage(&self) -> io::Result<Usage> {
        let entries = self.entries()?;
        Ok(Usage { entries: entries.len() as u64, bytes: entries.iter().map(|e| e.bytes).sum() })
    }

    /// Removes least recently used entries until they take at most nine tenths of
    /// `limit` (nothing if they take at most `limit`), and temporary files left by
    /// processes that died while storing. Returns the entries removed.
    pub fn evict(&self, limit: u64) -> io::Result<u64> {
        self.inner.evict(limit)
    }

    /// Removes every entry and temporary file (only files named as the cache names
    /// them, so a directory configured by mistake loses nothing else). Returns the
    /// entries removed.
    pub fn clear(&self) -> io::Result<u64> {
        let (entries, temps) = self.inner.entries()?;
        let mut removed = 0;
        for e in &entries {
            if fs::remove_file(&e.path).is_ok() {
                removed += 1;
            }
        }
        for (path, _) in temps {
            let _ = fs::remove_file(path);
        }
        if let Ok(dirs) = fs::read_dir(&self.inner.dir) {
            for d in dirs.flatten() {
                if is_shard_name(&d.file_name().to_string_lossy()) {
                    // Only empty ones go (another process may be storing).
                    let _ = fs::remove_dir(d.path());
                }
            }
        }
        Ok(removed)
    }

    /// Checks every entry (header, length, checksum, and that it holds the key its name
    /// spells); returns those that fail, with why.
    pub fn check_all(&self) -> io::Result<Vec<(EntryInfo, EntryError)>> {
        let mut bad = Vec::new();
        for e in self.entries()? {
            let Ok(bytes) = fs::read(&e.path) else { continue };
            if let Err(why) = entry::decode(e.key, &bytes) {
                bad.push((e, why));
            }
        }
        Ok(bad)
    }
}

impl Inner {
    fn entry_path(&self, key: Key) -> PathBuf {
        let hex = key.to_hex();
        self.dir.join(&hex[..2]).join(&hex[2..])
    }

    /// Writes an encoded entry of `key` (see [`ObjectCache::put`]).
    fn store(self: &Arc<Self>, key: Key, bytes: &[u8]) -> bool {
        if let Err(e) = self.write_atomically(&self.entry_path(key), bytes) {
            self.stop_storing(format!("cannot store in cache directory {}: {e}; compiled code is not cached", self.dir.display()));
            return false;
        }
        self.counters.stores.fetch_add(1, Ordering::Relaxed);
        let since = self.stored_since_check.fetch_add(bytes.len() as u64, Ordering::Relaxed) + bytes.len() as u64;
        let first = !self.checked.swap(true, Ordering::Relaxed);
        if first || since > self.max_bytes / 8 {
            self.stored_since_check.store(0, Ordering::Relaxed);
            let inner = Arc::clone(self);
            // Eviction reads the whole directory: off the compiling thread. A process
            // that ends meanwhile leaves it half done, which is harmless.
            let spawned = std::thread::Builder::new().name("lazyjit-cache-evict".into()).spawn(move || {
                let _ = inner.evict(inner.max_bytes);
            });
            drop(spawned);
        }
        true
    }

    fn stop_storing(&self, warning: String) {
        if self.writable.swap(false, Ordering::Relaxed) {
            self.warnings.lock().unwrap_or_else(|p| p.into_inner()).push(warning);
        }
    }

    /// Writes `bytes` to a temporary file beside `path` and renames it over `path`.
    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let shard = path.parent().expect("entries live in a shard directory");
        match fs::create_dir(shard) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir_all(shard)?,
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        let name = path.file_name().expect("an entry file name").to_string_lossy();
        let seq = self.temp_seq.fetch_add(1, Ordering::Relaxed);
        let temp = shard.join(format!(".{name}.{}.{seq}.tmp", std::process::id()));
        let written = fs::File::create(&temp).and_then(|mut f| f.write_all(bytes)).and_then(|()| fs::rename(&temp, path));
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }

    /// The entries, and the temporary files with their ages.
    fn entries(&self) -> io::Result<(Vec<EntryInfo>, Vec<TempFile>)> {
        let mut entries = Vec::new();
        let mut temps = Vec::new();
        let now = SystemTime::now();
        for shard in fs::read_dir(&self.dir)?.flatten() {
            let shard_name = shard.file_name().to_string_lossy().into_owned();
            if !is_shard_name(&shard_name) {
                continue;
            }
            let Ok(files) = fs::read_dir(shard.path()) else { continue };
            for file in files.flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                let Ok(meta) = file.metadata() else { continue };
                let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                if name.starts_with('.') && name.ends_with(".tmp") {
                    temps.push((file.path(), now.duration_since(modified).unwrap_or_default()));
                    continue;
                }
                let Ok(key) = format!("{shard_name}{name}").parse::<Key>() else { continue };
                if meta.is_file() {
                    entries.push(EntryInfo { key, path: file.path(), bytes: meta.len(), modified });
                }
            }
        }
        Ok((entries, temps))
    }

    fn evict(&self, limit: u64) -> io::Result<u64> {
        let (mut entries, temps) = self.entries()?;
        for (path, age) in temps {
            if age > STALE_TEMP {
                let _ = fs::remove_file(path);
            }
        }
        let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
        if total <= limit {
            return Ok(0);
        }
        let target = limit / 10 * 9;
        entries.sort_by_key(|e| e.modified);
        let mut removed = 0;
        for e in entries {
            if total <= target {
                break;
            }
            if fs::remove_file(&e.path).is_ok() {
                total = total.saturating_sub(e.bytes);
                removed += 1;
            }
        }
        self.counters.evicted.fetch_add(removed, Ordering::Relaxed);
        Ok(removed)
    }
}

/// A temporary file of a store, and its age.
type TempFile = (PathBuf, Duration);

/// Whether `name` is a shard directory's (two lowercase hex digits).
fn is_shard_name(name: &str) -> bool {
    name.len() == 2 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
