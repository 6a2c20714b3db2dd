//! API keys: where they come from, and how they are kept out of every message.
//!
//! A key is read from the environment (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`) or from a file
//! only its owner can read (mode 0600 or stricter); the routing config decides which. It lives
//! in an [`ApiKey`], whose `Debug` and `Display` print `sk-…redacted`, whose memory is wiped
//! on drop, and whose text only the HTTP layer of this module can read (to set the header,
//! marked sensitive). Provider error text that comes back from a server goes through
//! [`redact`] before it reaches a message.

use crate::llm::ProviderKind;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// What a key prints as, everywhere.
pub const REDACTED: &str = "sk-…redacted";

/// Largest key file read, bytes: keys are ~200 bytes; anything much larger is not a key file.
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// An API key. Never printed, never serialised, wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Zeroizing<String>);

/// Why no usable key was found. No variant ever holds the key or a part of it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No key anywhere (the router's verdict after the environment and the config file).
    #[error("no API key: set {var} or put the key in the config file")]
    Missing {
        /// The variable looked at.
        var: &'static str,
    },
    /// The text is not a key (empty, or spaces, control or non-ASCII characters inside).
    #[error("the API key is empty or holds characters an API key cannot contain")]
    Invalid,
    /// The key file can be read or written by others.
    #[error("the key file {} can be read by other users (mode {mode:03o}); run `chmod 600 {}`", .path.display(), .path.display())]
    NotPrivate {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file is not a regular file, or is far too large to hold a key.
    #[error("{} is not a key file (a small regular file holding only the key)", .path.display())]
    NotAKeyFile {
        /// The file.
        path: PathBuf,
    },
    /// The key file could not be read.
    #[error("could not read the key file {}: {message}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        message: String,
    },
}

impl ApiKey {
    /// A key from text (surrounding whitespace trimmed). Refuses text that could not be a key
    /// or an HTTP header value: empty, inner whitespace, control or non-ASCII characters.
    pub fn new(text: &str) -> Result<ApiKey, KeyError> {
        let key = text.trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(KeyError::Invalid);
        }
        Ok(ApiKey(Zeroizing::new(key.to_string())))
    }

    /// The key in the provider's usual environment variable (see [`env_var`]): `Ok(None)`
    /// when the variable is unset or empty (the config file may hold the key), an error when
    /// it holds something that is not a key.
    pub fn from_env(provider: ProviderKind) -> Result<Option<ApiKey>, KeyError> {
        env_var(provider).map_or(Ok(None), from_var)
    }

    /// The key stored alone in a file that only its owner may read (see [`ensure_private`]).
    pub fn from_file(path: &Path) -> Result<ApiKey, KeyError> {
        let io = |e: std::io::Error| KeyError::Io { path: path.to_path_buf(), message: e.to_string() };
        let file = std::fs::File::open(path).map_err(io)?;
        // Checked on the open file, so the file read is the file checked.
        check_metadata(path, &file.metadata().map_err(io)?)?;
        let mut text = Zeroizing::new(String::new());
        file.take(MAX_KEY_FILE_BYTES + 1).read_to_string(&mut text).map_err(io)?;
        if text.len() as u64 > MAX_KEY_FILE_BYTES {
            return Err(KeyError::NotAKeyFile { path: path.to_path_buf() });
        }
        ApiKey::new(&text)
    }

    /// The secret itself, for the `Authorization` / `x-api-key` header only.
    pub(super) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({REDACTED})")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

fn from_var(var: &str) -> Result<Option<ApiKey>, KeyError> {
    match std::env::var_os(var) {
        Some(text) => match text.to_str() {
            Some(t) if t.trim().is_empty() => Ok(None),
            Some(t) => ApiKey::new(t).map(Some),
            None => Err(KeyError::Invalid),
        },
        None => Ok(None),
    }
}

/// The environment variable holding `provider`'s key: `OPENAI_API_KEY`, `ANTHROPIC_API_KEY`;
/// `None` for the embedded engine and OpenAI-compatible servers (local ones need no key; a
/// remote one gets its key from the config file).
pub fn env_var(provider: ProviderKind) -> Option<&'static str> {
    match provider {
        ProviderKind::Openai => Some("OPENAI_API_KEY"),
        ProviderKind::Anthropic => Some("ANTHROPIC_API_KEY"),
        ProviderKind::Embedded | ProviderKind::OpenaiCompatible => None,
    }
}

/// Refuses a file (a key file or the config file holding keys) that is not a regular file
/// readable and writable by its owner only (mode 0600, or stricter such as 0400). On systems
/// without Unix permissions only the file type is checked.
pub fn ensure_private(path: &Path) -> Result<(), KeyError> {
    let meta =
        std::fs::metadata(path).map_err(|e| KeyError::Io { path: path.to_path_buf(), message: e.to_string() })?;
    check_metadata(path, &meta)
}

fn check_metadata(path: &Path, meta: &std::fs::Metadata) -> Result<(), KeyError> {
    if !meta.is_file() || meta.len() > MAX_KEY_FILE_BYTES * 64 {
        return Err(KeyError::NotAKeyFile { path: path.to_path_buf() });
    }
    match open_to_others(meta) {
        Some(mode) => Err(KeyError::NotPrivate { path: path.to_path_buf(), mode }),
        None => Ok(()),
    }
}

/// The permission bits of a file its group or other users may read, write or run (mode &
/// 0o077 not 0), `None` for an owner-only file. Always `None` on systems without Unix
/// permissions.
pub fn open_to_others(meta: &std::fs::Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Some(mode);
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    None
}

/// Replaces `key` and anything shaped like a provider key (`sk-…`, `sk-ant-…`, at least 16
/// characters) in `text` with [`REDACTED`]. Used on every piece of text a server sends back
/// before it goes into an error message (some servers echo the key they refused).
pub fn redact(text: &str, key: Option<&ApiKey>) -> String {
    let mut text = match key {
        Some(k) => text.replace(k.expose(), REDACTED),
        None => text.to_string(),
    };
    let mut from = 0;
    while let Some(at) = text[from..].find("sk-").map(|i| i + from) {
        let starts_word = text[..at].chars().next_back().is_none_or(|c| !is_key_char(c));
        let end = text[at..].find(|c: char| !is_key_char(c)).map_or(text.len(), |i| i + at);
        if starts_word && end - at >= 16 && &text[at..end] != REDACTED {
            text.replace_range(at..end, REDACTED);
            from = at + REDACTED.len();
        } else {
            from = at + 3;
        }
    }
    text
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "sk-proj-Ab12Cd34Ef56Gh78Ij90";

    #[test]
    fn a_key_never_prints() {
        let key = ApiKey::new(&format!("  {SECRET}\n")).unwrap();
        assert_eq!(key.expose(), SECRET);
        for shown in [format!("{key}"), format!("{key:?}"), format!("{:?}", Some(&key)), format!("{key:#?}")] {
            assert!(!shown.contains("Ab12"), "{shown}");
            assert!(shown.contains(REDACTED));
        }
        assert_eq!(ApiKey::new("  "), Err(KeyError::Invalid));
        assert_eq!(ApiKey::new("sk-a b"), Err(KeyError::Invalid));
        assert_eq!(ApiKey::new("sk-é"), Err(KeyError::Invalid));
        let err = ApiKey::new("sk-\u{7}bell").unwrap_err().to_string();
        assert!(!err.contains("bell"), "{err}");
    }

    #[test]
    fn redact_removes_the_key_and_key_shaped_tokens() {
        let key = ApiKey::new("custom-secret-token-123").unwrap();
        let text =
            format!("Incorrect API key provided: custom-secret-token-123. Also {SECRET}, sk-ant-api03-xyzxyzxyzxyz.");
        let clean = redact(&text, Some(&key));
        assert!(!clean.contains("custom-secret") && !clean.contains("Ab12") && !clean.contains("xyzxyz"), "{clean}");
        assert_eq!(clean.matches(REDACTED).count(), 3, "{clean}");
        // Short or embedded "sk-" words are text, not keys.
        assert_eq!(redact("task-sk-1 and sk-short", None), "task-sk-1 and sk-short");
        assert_eq!(redact(&redact(SECRET, None), None), REDACTED);
    }

    #[test]
    fn keys_from_the_environment() {
        // A variable no other test touches; `from_env` reads OPENAI_API_KEY the same way.
        let var = "AUDIOCOLLAB_TEST_KEY_FROM_ENV";
        std::env::remove_var(var);
        assert_eq!(from_var(var), Ok(None));
        std::env::set_var(var, "  ");
        assert_eq!(from_var(var), Ok(None));
        std::env::set_var(var, format!("{SECRET}\n"));
        assert_eq!(from_var(var).unwrap().unwrap().expose(), SECRET);
        std::env::set_var(var, "two words");
        assert_eq!(from_var(var), Err(KeyError::Invalid));
        std::env::remove_var(var);
        assert_eq!(env_var(ProviderKind::Anthropic), Some("ANTHROPIC_API_KEY"));
        assert_eq!(ApiKey::from_env(ProviderKind::OpenaiCompatible), Ok(None));
    }

    #[cfg(unix)]
    #[test]
    fn key_files_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("audiocollab-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("openai.key");
        std::fs::write(&path, format!("{SECRET}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = ApiKey::from_file(&path).unwrap_err();
        assert_eq!(err, KeyError::NotPrivate { path: path.clone(), mode: 0o644 });
        let msg = err.to_string();
        assert!(msg.contains("mode 644") && msg.contains("chmod 600") && !msg.contains("Ab12"), "{msg}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(ApiKey::from_file(&path).unwrap().expose(), SECRET);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(ensure_private(&path).is_ok());
        assert!(matches!(ApiKey::from_file(&dir), Err(KeyError::NotAKeyFile { .. } | KeyError::Io { .. })));
        assert!(matches!(ApiKey::from_file(&dir.join("missing")), Err(KeyError::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
