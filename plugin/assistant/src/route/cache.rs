//! The response cache: asking the same thing of the same model twice costs one call.
//!
//! Two layers: an in-memory LRU, and one JSON file per entry in the user cache folder (so the
//! cache survives a restart). Entries expire after a TTL. The key is a 128-bit hash of a
//! canonical JSON of the task, the model and the *normalised* request: whitespace collapsed,
//! and measured values rounded to what a mix decision can tell apart (0.1 dB, 1 Hz, 1 ms, 1 %;
//! see [`normalise_text`]), so an analysis that moved by 0.02 dB asks nothing new.
//!
//! Only completions are stored (errors cannot be, by type). A corrupted, foreign or oversized
//! file is ignored and removed, never a panic. The disk layer keeps at most
//! [`CacheSettings::disk_entries`] files, removing the oldest first.

use super::super::llm::{Completion, ModelRef, Request, Role};
use lru::LruCache;
use serde::{Deserialize, Serialize};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Cache settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CacheSettings {
    /// Whether to use the cache at all.
    pub enabled: bool,
    /// How long an answer stays valid.
    pub ttl: Duration,
    /// Entries kept in memory (0: no memory layer).
    pub memory_entries: usize,
    /// Whether to keep entries on disk too.
    pub disk: bool,
    /// Most files on disk.
    pub disk_entries: usize,
}

impl Default for CacheSettings {
    /// On, 7 days, 256 entries in memory, 2000 on disk (at a few kB each, under 10 MB).
    fn default() -> Self {
        Self {
            enabled: true,
            ttl: Duration::from_secs(7 * 24 * 3600),
            memory_entries: 256,
            disk: true,
            disk_entries: 2000,
        }
    }
}

/// A disk entry larger than this is not ours (a reply is a few kB): ignored and removed.
const MAX_ENTRY_BYTES: u64 = 1 << 20;

/// Prune the disk layer after this many stores (and when the cache opens), not after every one:
/// listing a folder of 2000 files on each answer would be waste.
const PRUNE_EVERY: u32 = 32;

/// The on-disk format version; an entry of another version is a miss (and removed).
const FORMAT: u32 = 1;

/// A cache key: FNV-1a 128 of the canonical request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey(u128);

impl CacheKey {
    /// 32 lowercase hex digits (the file name on disk).
    pub fn hex(&self) -> String {
        format!("{:032x}", self.0)
    }
}

/// FNV-1a with 128-bit state. Parameters from the FNV specification (Fowler, Noll, Vo; IETF
/// draft-eastlake-fnv): offset basis 144066263297769815596495629667062367629, prime
/// 2^88 + 2^8 + 0x3b. Not cryptographic, and it need not be: a key only has to tell apart the
/// requests of one musician, and stays the same across builds and platforms (unlike std's
/// `DefaultHasher`).
fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013b;
    bytes.iter().fold(OFFSET, |h, &b| (h ^ u128::from(b)).wrapping_mul(PRIME))
}

/// The key of `request` sent to `model`.
pub fn cache_key(model: &ModelRef, request: &Request) -> CacheKey {
    CacheKey(fnv1a_128(canonical_request(model, request).as_bytes()))
}

/// The canonical JSON the key hashes: fixed field order, sorted object keys in the schema,
/// normalised text, temperature to 0.01.
pub fn canonical_request(model: &ModelRef, request: &Request) -> String {
    let messages: Vec<serde_json::Value> = request
        .messages
        .iter()
        .map(|m| {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            serde_json::json!([role, normalise_text(&m.content)])
        })
        .collect();
    let temperature =
        if request.temperature.is_finite() { (f64::from(request.temperature) * 100.0).round() / 100.0 } else { 0.0 };
    let value = serde_json::json!({
        "v": FORMAT,
        "task": request.task.name(),
        "provider": model.provider.to_string(),
        "model": model.model,
        "base_url": model.base_url,
        "system": normalise_text(&request.system),
        "messages": messages,
        "schema": request.schema,
        "max_tokens": request.max_tokens,
        "temperature": temperature,
    });
    let mut out = String::new();
    write_canonical(&value, &mut out);
    out
}

/// JSON with object keys sorted at every level, whatever map order serde_json was built with.
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The resolution of a measured value by its unit: what a mixing decision can tell apart. A
/// level to 0.1 dB (about the smallest step a listener notices in a level match), a frequency to
/// 1 Hz, a time to 1 ms (or 10 ms in seconds), a tempo to 0.1 BPM, a percentage to 1 %.
fn resolution(unit: &str) -> Option<f64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "db" | "dbfs" | "dbtp" | "lu" | "lufs" | "lkfs" => 0.1,
        "hz" => 1.0,
        "khz" => 0.001,
        "ms" => 1.0,
        "s" => 0.01,
        "bpm" => 0.1,
        "%" => 1.0,
        _ => return None,
    })
}

/// Text as the cache key sees it: whitespace runs collapsed to one space, ends trimmed, and a
/// number followed by a known unit (`-14.23 LUFS`, `3012.7Hz`, `37.4 %`) rounded to the unit's
/// [`resolution`]. Other numbers, times (`1:23`) and the words are kept as they are.
pub fn normalise_text(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = collapsed.chars().collect();
    let mut out = String::with_capacity(collapsed.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_number = chars[i].is_ascii_digit()
            || (matches!(chars[i], '-' | '+' | '−') && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()));
        let after_word = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '.');
        if !starts_number || after_word {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The number: sign, digits, optionally '.' and digits.
        let start = i;
        i += 1;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
        }
        let number: String = chars[start..i].iter().map(|&c| if c == '−' { '-' } else { c }).collect();
        // The unit: after at most one space, letters or '%', ending at a word boundary.
        let unit_start = if chars.get(i) == Some(&' ') { i + 1 } else { i };
        let mut unit_end = unit_start;
        while unit_end < chars.len() && (chars[unit_end].is_ascii_alphabetic() || chars[unit_end] == '%') {
            unit_end += 1;
        }
        let unit: String = chars[unit_start..unit_end].iter().collect();
        let bounded = chars.get(unit_end).is_none_or(|c| !c.is_alphanumeric());
        match (number.parse::<f64>(), resolution(&unit)) {
            (Ok(value), Some(step)) if bounded && !unit.is_empty() => {
                out.push_str(&round_to(value, step));
                out.extend(&chars[i..unit_end]);
                i = unit_end;
            }
            _ => out.extend(&chars[start..i]),
        }
    }
    out
}

/// `value` rounded to a multiple of `step` (a power of ten), printed with the step's decimals
/// and no negative zero.
fn round_to(value: f64, step: f64) -> String {
    let decimals = (-step.log10()).round().max(0.0) as usize;
    let rounded = (value / step).round() * step;
    let text = format!("{rounded:.decimals$}");
    if text.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

/// A stored answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    v: u32,
    /// The key, hex: a file renamed or copied under another name is not served.
    key: String,
    /// When stored, milliseconds since the Unix epoch (wall clock: it outlives the process).
    stored_ms: i64,
    completion: Completion,
}

/// The cache. Not thread-safe by itself: the router keeps it behind its lock.
#[derive(Debug)]
pub struct ResponseCache {
    settings: CacheSettings,
    memory: Option<LruCache<CacheKey, Entry>>,
    dir: Option<PathBuf>,
    stores: u32,
}

impl ResponseCache {
    /// A cache with its disk layer in `dir` (`None`, or `disk = false`: memory only). Removes
    /// leftovers of interrupted writes and prunes old entries.
    pub fn open(settings: CacheSettings, dir: Option<&Path>) -> Self {
        let memory = NonZeroUsize::new(settings.memory_entries).map(LruCache::new);
        let dir = dir.filter(|_| settings.disk && settings.enabled).map(Path::to_path_buf);
        let cache = Self { settings, memory, dir, stores: 0 };
        cache.prune();
        cache
    }

    /// The answer stored under `key`, if any and younger than the TTL at `now_ms` (wall clock,
    /// milliseconds since the Unix epoch).
    pub fn get(&mut self, key: CacheKey, now_ms: i64) -> Option<Completion> {
        if !self.settings.enabled {
            return None;
        }
        let ttl_ms = i64::try_from(self.settings.ttl.as_millis()).unwrap_or(i64::MAX);
        let fresh = |e: &Entry| now_ms.checked_sub(e.stored_ms).is_some_and(|age| (0..=ttl_ms).contains(&age));
        if let Some(memory) = &mut self.memory {
            match memory.get(&key) {
                Some(entry) if fresh(entry) => return Some(entry.completion.clone()),
                Some(_) => {
                    memory.pop(&key);
                }
                None => {}
            }
        }
        let path = self.dir.as_ref()?.join(format!("{}.json", key.hex()));
        let entry = read_entry(&path, key)?;
        if !fresh(&entry) {
            let _ = std::fs::remove_file(&path);
            return None;
        }
        let completion = entry.completion.clone();
        if let Some(memory) = &mut self.memory {
            memory.put(key, entry);
        }
        Some(completion)
    }

    /// Stores `completion` under `key` at `now_ms`. A failed disk write leaves the memory entry
    /// (the cache is an optimisation, never a reason to fail a request).
    pub fn put(&mut self, key: CacheKey, completion: &Completion, now_ms: i64) {
        if !self.settings.enabled {
            return;
        }
        let entry = Entry { v: FORMAT, key: key.hex(), stored_ms: now_ms, completion: completion.clone() };
        if let Some(dir) = &self.dir {
            if let Ok(text) = serde_json::to_vec(&entry) {
                let _ = super::write_private(&dir.join(format!("{}.json", key.hex())), &text);
            }
            self.stores = self.stores.wrapping_add(1);
            if self.stores.is_multiple_of(PRUNE_EVERY) {
                self.prune();
            }
        }
        if let Some(memory) = &mut self.memory {
            memory.put(key, entry);
        }
    }

    /// Forgets `key` in both layers (an answer the caller could not use).
    pub fn remove(&mut self, key: CacheKey) {
        if let Some(memory) = &mut self.memory {
            memory.pop(&key);
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_file(dir.join(format!("{}.json", key.hex())));
        }
    }

    /// Removes temporary leftovers, and the oldest entries beyond `disk_entries`.
    fn prune(&self) {
        let Some(dir) = &self.dir else { return };
        let Ok(listing) = std::fs::read_dir(dir) else { return };
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
        for item in listing.flatten() {
            let path = item.path();
            match path.extension().and_then(|e| e.to_str()) {
                Some("tmp") => {
                    let _ = std::fs::remove_file(&path);
                }
                Some("json") => {
                    let modified = item.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH);
                    entries.push((modified, path));
                }
                _ => {}
            }
        }
        if entries.len() > self.settings.disk_entries {
            entries.sort();
            let excess = entries.len() - self.settings.disk_entries;
            for (_, path) in entries.into_iter().take(excess) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// Reads one disk entry; anything wrong with it (too big, not JSON, another version, another
/// key) removes the file and reads as a miss.
fn read_entry(path: &Path, key: CacheKey) -> Option<Entry> {
    let too_big = std::fs::metadata(path).ok()?.len() > MAX_ENTRY_BYTES;
    let entry = if too_big {
        None
    } else {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Entry>(&bytes).ok())
            .filter(|e| e.v == FORMAT && e.key == key.hex())
    };
    if entry.is_none() {
        let _ = std::fs::remove_file(path);
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{Message, ProviderKind, Task, Usage};

    fn model() -> ModelRef {
        ModelRef { provider: ProviderKind::Openai, model: "gpt-4o-mini".into(), base_url: None }
    }

    fn request(text: &str) -> Request {
        Request {
            task: Task::Suggestion,
            system: "You are a mixing assistant.".into(),
            messages: vec![Message { role: Role::User, content: text.into() }],
            schema: Some(serde_json::json!({"type": "object", "properties": {"b": {}, "a": {}}})),
            max_tokens: 600,
            temperature: 0.2,
        }
    }

    fn completion(text: &str) -> Completion {
        Completion {
            text: text.into(),
            usage: Usage { input_tokens: 10, output_tokens: 20 },
            model: "gpt-4o-mini".into(),
        }
    }

    #[test]
    fn fnv1a_128_matches_the_specification_vectors() {
        // From the FNV reference test suite: FNV-1a 128 of "" and of "a".
        assert_eq!(fnv1a_128(b""), 0x6c62272e07bb014262b821756295c58d);
        assert_eq!(fnv1a_128(b"a"), 0xd228cb696f1a8caf78912b704e4a8964);
    }

    #[test]
    fn measured_values_are_rounded_by_unit_and_whitespace_collapsed() {
        let text = "Integrated  -14.23 LUFS,\n true peak -0.96dBTP; peak at 3012.7 Hz (2.5kHz region),\twidth 37.4 %, \
                    attack 12.4 ms, tempo 127.96 BPM at 1:23, 3 tracks, version 2.0.14, mp3";
        assert_eq!(
            normalise_text(text),
            "Integrated -14.2 LUFS, true peak -1.0dBTP; peak at 3013 Hz (2.500kHz region), width 37 %, \
             attack 12 ms, tempo 128.0 BPM at 1:23, 3 tracks, version 2.0.14, mp3"
        );
        // No negative zero, the minus sign U+2212 understood, units need a word boundary.
        assert_eq!(normalise_text("−0.04 dB gain, 5 dBs, 40Hzz"), "0.0 dB gain, 5 dBs, 40Hzz");
    }

    #[test]
    fn keys_ignore_what_cannot_matter_and_see_what_can() {
        let m = model();
        let base = cache_key(&m, &request("mud at 250 Hz, +3.02 dB over target"));
        assert_eq!(base, cache_key(&m, &request("  mud at 250.2 Hz,\n+3.04 dB over  target ")));
        assert_ne!(base, cache_key(&m, &request("mud at 250 Hz, +3.2 dB over target")));
        assert_ne!(base, cache_key(&m, &request("Mud at 250 Hz, +3.02 dB over target")));
        let mut other_task = request("mud at 250 Hz, +3.02 dB over target");
        other_task.task = Task::Chat;
        assert_ne!(base, cache_key(&m, &other_task));
        let other_model = ModelRef { model: "gpt-4o".into(), ..m.clone() };
        assert_ne!(base, cache_key(&other_model, &request("mud at 250 Hz, +3.02 dB over target")));
        // Schema key order does not matter.
        let mut reordered = request("mud at 250 Hz, +3.02 dB over target");
        reordered.schema = Some(serde_json::json!({"properties": {"a": {}, "b": {}}, "type": "object"}));
        assert_eq!(base, cache_key(&m, &reordered));
        assert_eq!(base.hex().len(), 32);
    }

    #[test]
    fn memory_entries_expire_with_the_ttl_and_the_lru_evicts_the_oldest() {
        let settings =
            CacheSettings { memory_entries: 2, disk: false, ttl: Duration::from_secs(60), ..Default::default() };
        let mut cache = ResponseCache::open(settings, None);
        let keys: Vec<CacheKey> = (0..3).map(|i| cache_key(&model(), &request(&format!("q{i}")))).collect();
        cache.put(keys[0], &completion("a0"), 1_000);
        cache.put(keys[1], &completion("a1"), 1_000);
        assert_eq!(cache.get(keys[0], 2_000).unwrap().text, "a0");
        cache.put(keys[2], &completion("a2"), 1_000); // evicts keys[1], the least recently used
        assert!(cache.get(keys[1], 2_000).is_none());
        assert_eq!(cache.get(keys[2], 61_000).unwrap().text, "a2", "exactly the TTL is still fresh");
        assert!(cache.get(keys[2], 61_001).is_none());
        assert!(cache.get(keys[0], 500).is_none(), "stored in the future: the clock went back");
    }

    #[test]
    fn the_disk_layer_survives_a_restart_and_drops_bad_files() {
        let dir = super::super::test_dir("cache");
        let settings = CacheSettings { memory_entries: 0, ..Default::default() };
        let key = cache_key(&model(), &request("q"));
        ResponseCache::open(settings, Some(&dir)).put(key, &completion("stored"), 5_000);
        let path = dir.join(format!("{}.json", key.hex()));
        assert!(path.exists());

        let mut cache = ResponseCache::open(settings, Some(&dir));
        assert_eq!(cache.get(key, 6_000).unwrap(), completion("stored"));

        for garbage in [&b"{ truncated"[..], b"\xff\xfe\x00", br#"{"v":1,"key":"00","stored_ms":0,"completion":{"text":"x","usage":{"input_tokens":0,"output_tokens":0},"model":"m"}}"#] {
            std::fs::write(&path, garbage).unwrap();
            assert!(cache.get(key, 6_000).is_none());
            assert!(!path.exists(), "a bad entry is removed");
        }
        std::fs::write(&path, vec![b' '; (MAX_ENTRY_BYTES + 1) as usize]).unwrap();
        assert!(cache.get(key, 6_000).is_none());
        assert!(!path.exists());

        // Expired on disk: removed too.
        cache.put(key, &completion("old"), 0);
        let week_ms = 7 * 24 * 3600 * 1000;
        assert!(cache.get(key, week_ms + 1).is_none());
        assert!(!path.exists());
    }

    #[test]
    fn the_disk_layer_keeps_at_most_its_entry_count() {
        let dir = super::super::test_dir("cache-prune");
        let settings = CacheSettings { memory_entries: 0, disk_entries: 5, ..Default::default() };
        let mut cache = ResponseCache::open(settings, Some(&dir));
        for i in 0..(PRUNE_EVERY as usize) {
            cache.put(cache_key(&model(), &request(&format!("q{i}"))), &completion("a"), 1);
        }
        std::fs::write(dir.join("leftover.json.tmp"), "x").unwrap();
        let count = || std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(count(), 6, "pruned at the 32nd store, then a leftover");
        drop(ResponseCache::open(settings, Some(&dir)));
        assert_eq!(count(), 5, "opening removes the leftover");
    }

    proptest::proptest! {
        /// Text from a measurement-like alphabet: normalising never panics, is idempotent, and
        /// never changes anything but numbers and spaces.
        #[test]
        fn normalising_is_idempotent_and_keeps_the_words(
            text in "([ \t\n]|[-+−]?[0-9]{1,5}(\\.[0-9]{1,4})?|dB|Hz|kHz|ms|s|%|LUFS|BPM|aigus|voix|[a-z:.,é]){0,40}"
        ) {
            let once = normalise_text(&text);
            proptest::prop_assert_eq!(normalise_text(&once), once.clone());
            let letters = |t: &str| t.chars().filter(|c| c.is_alphabetic()).collect::<String>();
            proptest::prop_assert_eq!(letters(&once), letters(&text));
        }

        #[test]
        fn any_text_normalises_without_panicking(text in "\\PC{0,200}") {
            let _ = normalise_text(&text);
        }
    }

    #[test]
    fn a_disabled_cache_stores_nothing() {
        let settings = CacheSettings { enabled: false, ..Default::default() };
        let mut cache = ResponseCache::open(settings, None);
        let key = cache_key(&model(), &request("q"));
        cache.put(key, &completion("a"), 0);
        assert!(cache.get(key, 0).is_none());
    }
}
