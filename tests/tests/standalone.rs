//! The standalone build opens the real plugin window without a DAW or audio hardware:
//! `audiocollab-standalone --backend dummy` under a virtual X server (Xvfb), found by its
//! title with xdotool, captured with ImageMagick's `import`, and checked not to be blank.
//!
//! The standalone is built here into its own target directory (`target/standalone`): it
//! needs nice-plug's `standalone` feature, and building that into the shared target directory
//! would overwrite the plugin library the CLAP/VST3 host tests load (cargo gives a cdylib the
//! same file name whatever its features).
//!
//! Needs the Debian packages xvfb, xdotool and imagemagick (`.ci/apt-packages.txt`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The spectrum view in the window's screenshot (1520x760): `WxH+X+Y`.
const SPECTRUM_CROP: &str = "812x196+12+46";

/// Kills a child process when dropped, so a failing assertion never leaves it running.
struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn build_standalone() -> PathBuf {
    let root = workspace_root();
    let target = root.join("target/standalone");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .current_dir(&root)
        .args(["build", "--quiet", "-p", "audiocollab", "--features", "standalone", "--bin", "audiocollab-standalone"])
        .arg("--target-dir")
        .arg(&target)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo}: {e}"));
    assert!(out.status.success(), "building audiocollab-standalone failed:\n{}", String::from_utf8_lossy(&out.stderr));
    target.join("debug/audiocollab-standalone")
}

fn require(tool: &str, package: &str) {
    let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().map(|o| o.status.success());
    assert!(found.unwrap_or(false), "`{tool}` not found: install the Debian package {package}");
}

/// A display number nobody uses (no X socket for it).
fn free_display() -> u32 {
    (90..200)
        .find(|n| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .expect("a free X display number")
}

fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

/// Starts the standalone on `display` with `args` (and `AUDIOCOLLAB_PLAY=play`), logging to
/// `target/standalone/NAME.log`; returns it with its window id once the window exists.
fn launch(bin: &Path, display: &str, name: &str, args: &[&str], play: Option<&Path>) -> (Killed, String, PathBuf) {
    let log = workspace_root().join(format!("target/standalone/{name}.log"));
    let mut command = Command::new(bin);
    command.args(["--backend", "dummy"]).args(args).env("DISPLAY", display).env_remove("AUDIOCOLLAB_PLAY");
    if let Some(file) = play {
        command.env("AUDIOCOLLAB_PLAY", file);
    }
    let mut app = Killed(
        command
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start the standalone"),
    );
    let window = wait_for(Duration::from_secs(120), || {
        if let Ok(Some(status)) = app.0.try_wait() {
            panic!("the standalone exited early ({status}); see {}", log.display());
        }
        let out = Command::new("xdotool")
            .args(["search", "--name", "AudioCollab Assistant"])
            .env("DISPLAY", display)
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).lines().next().map(str::to_string)
    })
    .unwrap_or_else(|| {
        panic!(
            "no window titled 'AudioCollab Assistant' within 120 s (a loaded machine is slow to start it); see {}",
            log.display()
        )
    });
    (app, window, log)
}

#[test]
fn standalone_opens_the_window_with_the_dummy_backend() {
    require("Xvfb", "xvfb");
    require("xdotool", "xdotool");
    require("import", "imagemagick");
    let bin = build_standalone();

    let display = format!(":{}", free_display());
    let _xvfb = Killed(
        Command::new("Xvfb")
            .args([&display, "-screen", "0", "1920x1080x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb"),
    );
    let socket = format!("/tmp/.X11-unix/X{}", &display[1..]);
    assert!(
        wait_for(Duration::from_secs(10), || Path::new(&socket).exists().then_some(())).is_some(),
        "Xvfb did not start"
    );

    let (mut app, window, log) = launch(&bin, &display, "standalone", &[], None);
    // Let egui draw a few frames, then capture the window.
    std::thread::sleep(Duration::from_secs(2));
    let shot = workspace_root().join("target/standalone/window.png");
    let status = Command::new("import")
        .args(["-window", &window])
        .arg(&shot)
        .env("DISPLAY", &display)
        .status()
        .expect("run import");
    assert!(status.success(), "import failed");
    println!("screenshot: {}", shot.display());

    // Not blank: the window has the size of the editor and many distinct colours (text, meters,
    // the EQ curve), where a blank or black window has one or two.
    let info = Command::new("identify").args(["-format", "%w %h %k"]).arg(&shot).output().expect("run identify");
    let info = String::from_utf8_lossy(&info.stdout).to_string();
    let numbers: Vec<u32> = info.split_whitespace().filter_map(|v| v.parse().ok()).collect();
    let [width, height, colours] = numbers[..] else { panic!("identify printed {info:?}") };
    println!("window {width}x{height}, {colours} distinct colours");
    assert!(width >= 1000 && height >= 600, "window is {width}x{height}");
    assert!(colours > 50, "the window looks blank: {colours} distinct colours");
    assert!(app.0.try_wait().expect("poll").is_none(), "the standalone died while drawing; see {}", log.display());

    // Talk to the assistant: click into the message box (bottom of the chat panel), type in
    // French with accents, press Enter; the embedded engine answers with suggestion cards.
    let xdotool = |args: &[&str]| {
        let status = Command::new("xdotool").args(args).env("DISPLAY", &display).status().expect("run xdotool");
        assert!(status.success(), "xdotool {args:?} failed");
    };
    let (x, y) = ((width - 180).to_string(), (height - 28).to_string());
    xdotool(&["mousemove", "--window", &window, &x, &y, "click", "1"]);
    std::thread::sleep(Duration::from_millis(300));
    xdotool(&["type", "--delay", "20", "rends les voix plus claires"]);
    xdotool(&["key", "Return"]);
    let chat_shot = workspace_root().join("target/standalone/window-chat.png");
    let colours_of = |path: &Path| -> u32 {
        let status = Command::new("import").args(["-window", &window]).arg(path).env("DISPLAY", &display).status();
        assert!(status.expect("run import").success(), "import failed");
        let info = Command::new("identify").args(["-format", "%k"]).arg(path).output().expect("run identify");
        String::from_utf8_lossy(&info.stdout).trim().parse().expect("colour count")
    };
    // The conversation and its cards add colours (text, card frames, buttons) to the panel.
    // Polled, not slept: a loaded machine draws late.
    let after = wait_for(Duration::from_secs(30), || Some(colours_of(&chat_shot)).filter(|&c| c > colours + 50))
        .unwrap_or_else(|| panic!("nothing new was drawn after the message; see {}", chat_shot.display()));
    println!("screenshot after a message: {}; {after} distinct colours (were {colours})", chat_shot.display());

    // Apply all: the EQ curve (drawn from the parameters) bends; Undo: it is flat again. The
    // button positions are those of this answer in this window size (the engine's answer
    // without an analysis is fixed); the curve is compared pixel by pixel.
    let curve = |name: &str| -> PathBuf {
        let path = workspace_root().join(format!("target/standalone/{name}.png"));
        let status = Command::new("import").args(["-window", &window]).arg(&path).env("DISPLAY", &display).status();
        assert!(status.expect("run import").success(), "import failed");
        let crop = workspace_root().join(format!("target/standalone/{name}-curve.png"));
        let status = Command::new("convert").arg(&path).args(["-crop", SPECTRUM_CROP, "+repage"]).arg(&crop).status();
        assert!(status.expect("run convert").success(), "convert failed");
        crop
    };
    let differing = |a: &Path, b: &Path| -> u64 {
        let out = Command::new("compare").args(["-metric", "AE"]).arg(a).arg(b).arg("null:").output().expect("compare");
        let text = String::from_utf8_lossy(&out.stderr).to_string();
        text.split_whitespace().next().and_then(|n| n.parse::<f64>().ok()).unwrap_or_else(|| panic!("compare: {text}"))
            as u64
    };
    let flat = curve("flat");
    xdotool(&["mousemove", "--window", &window, "1222", "484", "click", "1"]);
    let moved = wait_for(Duration::from_secs(20), || Some(differing(&flat, &curve("applied"))).filter(|&n| n > 500))
        .unwrap_or_else(|| panic!("Apply all did not move the EQ curve; see target/standalone/applied.png"));
    println!("after Apply all, {moved} pixels of the EQ curve changed");
    xdotool(&["mousemove", "--window", &window, "1433", "12", "click", "1"]);
    let left =
        wait_for(Duration::from_secs(20), || Some(differing(&flat, &curve("undone"))).filter(|&n| n < moved / 20))
            .unwrap_or_else(|| panic!("Undo did not restore the EQ curve; see target/standalone/undone.png"));
    println!("after Undo, {left} pixels differ from the flat curve");
    assert!(app.0.try_wait().expect("poll").is_none(), "the standalone died while answering; see {}", log.display());
    drop(app);

    // Again, playing the demo through the chain (AUDIOCOLLAB_PLAY): the live spectrum fills the
    // view, the meters and the findings follow, and the assistant answers from measurements.
    // This is the README's screenshot.
    let demo = workspace_root().join("assets/demo.flac");
    let (mut app, window, log) = launch(&bin, &display, "standalone-playing", &["--sample-rate", "44100"], Some(&demo));
    let spectrum_colours = |name: &str| -> u32 {
        let path = workspace_root().join(format!("target/standalone/{name}.png"));
        let status = Command::new("import").args(["-window", &window]).arg(&path).env("DISPLAY", &display).status();
        assert!(status.expect("run import").success(), "import failed");
        let info = Command::new("convert")
            .arg(&path)
            .args(["-crop", SPECTRUM_CROP, "+repage", "-format", "%k", "info:"])
            .output()
            .expect("run convert");
        String::from_utf8_lossy(&info.stdout).trim().parse().expect("colour count")
    };
    let silent = {
        let info = Command::new("identify").args(["-format", "%k"]).arg(&flat).output().expect("run identify");
        String::from_utf8_lossy(&info.stdout).trim().parse::<u32>().expect("colour count")
    };
    let live = wait_for(Duration::from_secs(60), || Some(spectrum_colours("playing")).filter(|&c| c > silent + 200))
        .unwrap_or_else(|| {
            panic!("no live spectrum while playing; see target/standalone/playing.png and {}", log.display())
        });
    println!("spectrum while playing: {live} distinct colours (silent: {silent})");
    // The first analysis comes after 5 s of audio; then ask.
    std::thread::sleep(Duration::from_secs(6));
    let (x, y) = ((width - 180).to_string(), (height - 28).to_string());
    let xdotool = |args: &[&str]| {
        let status = Command::new("xdotool").args(args).env("DISPLAY", &display).status().expect("run xdotool");
        assert!(status.success(), "xdotool {args:?} failed");
    };
    xdotool(&["mousemove", "--window", &window, &x, &y, "click", "1"]);
    std::thread::sleep(Duration::from_millis(300));
    xdotool(&["type", "--delay", "20", "rends les voix plus claires"]);
    xdotool(&["key", "Return"]);
    // Hover the spectrum so the screenshot shows a band read against the target.
    xdotool(&["mousemove", "--window", &window, "300", "120"]);
    let shot = workspace_root().join("target/standalone/window-playing.png");
    let colours_now = || -> u32 {
        let status = Command::new("import").args(["-window", &window]).arg(&shot).env("DISPLAY", &display).status();
        assert!(status.expect("run import").success(), "import failed");
        let info = Command::new("identify").args(["-format", "%k"]).arg(&shot).output().expect("run identify");
        String::from_utf8_lossy(&info.stdout).trim().parse().expect("colour count")
    };
    let before = colours_now();
    let answered = wait_for(Duration::from_secs(30), || Some(colours_now()).filter(|&c| c > before + 50));
    assert!(answered.is_some(), "no answer drawn while playing; see {}", shot.display());
    println!("screenshot while playing, with the answer: {}", shot.display());
    assert!(app.0.try_wait().is_ok_and(|s| s.is_none()), "the standalone died while playing; see {}", log.display());
}
