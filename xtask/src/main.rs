//! `cargo xtask`: nice-plug's bundler, plus one fix-up of its output.
//!
//! nice-plug's bundler copies a package's binary of the same name next to the plugin bundles
//! as a "standalone" named after the plugin. Our `audiocollab` binary is the command-line tool,
//! not the standalone window, so it is renamed back to `audiocollab` to say what it is.

use std::path::PathBuf;

/// Display name in `bundler.toml`, which the bundler gives the copied binary.
const BUNDLE_NAME: &str = "AudioCollab Assistant";
/// What that binary really is.
const CLI_NAME: &str = "audiocollab";

fn main() -> nice_plug_xtask::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    nice_plug_xtask::main_with_args("cargo xtask", args.clone())?;
    if args.first().map(String::as_str) == Some("bundle") {
        // main_with_args has moved to the workspace root.
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
        let bundled = target.join("bundled");
        let copied = bundled.join(BUNDLE_NAME);
        if copied.is_file() {
            std::fs::rename(&copied, bundled.join(CLI_NAME))?;
            println!("Renamed the command-line tool to '{}'", bundled.join(CLI_NAME).display());
        }
    }
    Ok(())
}
