//! Routing of language-model requests: which model answers which task, and everything that
//! stands between a request and the network.
//!
//! * [`config`]: the user's TOML file (`docs/config.md`): tasks → tiers → provider and model,
//!   API keys, budgets, rate limits, cache, deadline. No file means everything is answered by
//!   the embedded engine and nothing leaves the machine.
//! * [`router`]: the policy. It looks in the [`cache`], checks the [`budget`] and the
//!   [`ratelimit`] *before* each call, calls the provider through the small [`router::Complete`]
//!   trait, retries or falls back to a cheaper tier, and ends with the embedded engine (and a
//!   note in French and English saying why) when the network cannot answer.
//! * [`prices`]: the price table (`assets/prices.json`) and the token and cost estimates.
//! * [`audit`]: one JSON line per request in the user data directory (never a key, never the
//!   musician's text), and the summary `audiocollab audit` prints.
//! * [`clock`]: time, sleeps and cancellation, behind a trait so the policy is tested with a
//!   manual clock.
//!
//! None of this runs on the audio thread.

pub mod audit;
pub mod budget;
pub mod cache;
pub mod clock;
pub mod config;
pub mod config_edit;
pub mod prices;
pub mod ratelimit;
pub mod router;
pub mod usage;

use std::path::{Path, PathBuf};

/// The folder name under the system's config, cache and data directories.
pub const APP_DIR: &str = "audiocollab";

/// Where the assistant keeps its files. Injectable so tests use temporary directories; the
/// defaults come from the system ([`Paths::system`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// The config folder: `config.toml`, an optional `prices.json` override.
    pub config: PathBuf,
    /// The cache folder: cached responses (safe to delete).
    pub cache: PathBuf,
    /// The data folder: budget counters and the audit log (keep them).
    pub data: PathBuf,
}

impl Paths {
    /// The system's per-user folders, each with an `audiocollab` subfolder: on Linux
    /// `~/.config/audiocollab`, `~/.cache/audiocollab`, `~/.local/share/audiocollab`; on macOS
    /// `~/Library/Application Support/audiocollab` (config and data) and
    /// `~/Library/Caches/audiocollab`; on Windows `%APPDATA%\audiocollab` and
    /// `%LOCALAPPDATA%\audiocollab`. `None` when the system does not say where home is.
    pub fn system() -> Option<Paths> {
        Some(Paths {
            config: dirs::config_dir()?.join(APP_DIR),
            cache: dirs::cache_dir()?.join(APP_DIR),
            data: dirs::data_dir()?.join(APP_DIR),
        })
    }

    /// `root/config`, `root/cache` and `root/data`: everything under one folder (tests, portable
    /// installs).
    pub fn under(root: &Path) -> Paths {
        Paths { config: root.join("config"), cache: root.join("cache"), data: root.join("data") }
    }

    /// The config file.
    pub fn config_file(&self) -> PathBuf {
        self.config.join(config::CONFIG_FILE)
    }

    /// The price table override (used instead of the shipped table when present).
    pub fn prices_file(&self) -> PathBuf {
        self.config.join(prices::PRICES_FILE)
    }

    /// The folder of cached responses.
    pub fn response_cache(&self) -> PathBuf {
        self.cache.join("responses")
    }

    /// The budget counters.
    pub fn budget_file(&self) -> PathBuf {
        self.data.join(budget::BUDGET_FILE)
    }

    /// The audit log.
    pub fn audit_file(&self) -> PathBuf {
        self.data.join(audit::AUDIT_FILE)
    }
}

/// Writes `contents` to `path` through a temporary file and a rename, so a crash never leaves a
/// half-written file, with permissions for the owner only on Unix (0600: budgets, keys and
/// usage are nobody else's business). Creates the parent folder.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    {
        let mut file = private_options().write(true).create(true).truncate(true).open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
    }
    set_private(&tmp)?;
    std::fs::rename(&tmp, path)
}

/// Open options that create files readable and writable by the owner only (Unix).
pub(crate) fn private_options() -> std::fs::OpenOptions {
    #[allow(unused_mut)]
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Makes an existing file owner-only (Unix; a no-op elsewhere). The mode given at creation does
/// not apply to a file that already existed.
pub(crate) fn set_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A fresh, empty folder under the system temp folder for one test, removed when dropped.
#[cfg(test)]
pub(crate) struct TestDir(PathBuf);

#[cfg(test)]
impl std::ops::Deref for TestDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

#[cfg(test)]
impl AsRef<Path> for TestDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

#[cfg(test)]
impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
pub(crate) fn test_dir(name: &str) -> TestDir {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("audiocollab-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    TestDir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_a_root_keep_the_three_folders_apart() {
        let p = Paths::under(Path::new("/tmp/x"));
        assert_eq!(p.config_file(), Path::new("/tmp/x/config/config.toml"));
        assert_eq!(p.response_cache(), Path::new("/tmp/x/cache/responses"));
        assert_eq!(p.audit_file(), Path::new("/tmp/x/data/audit.jsonl"));
        assert_eq!(p.budget_file(), Path::new("/tmp/x/data/budget.json"));
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_owner_only_even_when_they_existed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = test_dir("private");
        let path = dir.join("sub/secret.txt");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!dir.join("sub/secret.txt.tmp").exists());
    }
}
