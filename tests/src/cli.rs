//! Running the `audiocollab` command line from the tests.
//!
//! Cargo only exposes `CARGO_BIN_EXE_*` to tests of the binary's own package, so [`binary`]
//! asks cargo to build `audiocollab` (a no-op when it is up to date) next to the test
//! executable; set `AUDIOCOLLAB_BIN` to test another build.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The `audiocollab` binary of the current source tree.
pub fn binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("AUDIOCOLLAB_BIN") {
            return PathBuf::from(bin);
        }
        // A test runs as target/<profile>/deps/<name>-<hash>; the binary belongs in
        // target/<profile>/.
        let exe = std::env::current_exe().expect("current_exe");
        let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps layout");
        let target_dir = profile_dir.parent().expect("target dir");
        let profile = match profile_dir.file_name().and_then(OsStr::to_str) {
            Some("debug") | None => "dev".to_string(),
            Some(other) => other.to_string(),
        };
        // Always ask cargo rather than trusting an existing file: `cargo test -p integration`
        // does not build other packages' binaries, and a stale binary would test old code.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| option_env!("CARGO").unwrap_or("cargo").to_string());
        let out = Command::new(&cargo)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--quiet", "-p", "audiocollab-cli", "--bin", "audiocollab"])
            .args(["--profile", &profile])
            .arg("--target-dir")
            .arg(target_dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run `{cargo}` to build the audiocollab binary: {e}"));
        assert!(
            out.status.success(),
            "building the audiocollab binary failed (run `cargo build -p audiocollab-cli --bin audiocollab`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = profile_dir.join(format!("audiocollab{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.is_file(), "cargo built audiocollab but {} does not exist", bin.display());
        bin
    })
}

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// A fresh directory for one test, removed when dropped unless the test failed (then it is
/// kept for inspection).
pub struct TempDir(PathBuf);

impl TempDir {
    /// `$TMPDIR/audiocollab-<pid>-<name>`, emptied.
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("audiocollab-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    /// A path inside.
    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}
