//! The Settings view without a window: the real view, the real config file under a temporary
//! folder, the real assistant thread. Saving a tier restarts the assistant with it (its label
//! changes); a key typed in the password field lands in config.toml (owner-only), is wiped
//! from memory and never reaches the plugin state; a malformed file is refused; the project's
//! preferences round trip and a tampered project loads sanitised; auto-apply applies a turn's
//! proposals through "Apply all", undoably; the answer language is forced; the view draws.

mod common;
use common::{demo_analysis, wait_for_answer};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use audiocollab::editor::project::{apply_prefs, SettingsCtx};
use audiocollab::editor::settings::SettingsView;
use audiocollab::panel::{CardState, ChatLog, Panel};
use audiocollab::params::AudioCollabParams;
use audiocollab::prefs::{AnswerLang, Prefs};
use audiocollab_assistant::desk::Desk;
use audiocollab_assistant::llm::{ModelRef, ProviderKind, Task, Tier};
use audiocollab_assistant::route::budget::BudgetLimits;
use audiocollab_assistant::route::config::{self, CONFIG_FILE, OPENAI_KEY_ENV};
use audiocollab_assistant::route::config_edit::KeyStatus;
use audiocollab_assistant::route::Paths;
use audiocollab_core::spec::{ParamId, Settings};
use nice_plug::prelude::Params;

/// A fresh folder under the system temp folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("audiocollab-settings-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn paths(&self) -> Paths {
        Paths::under(&self.0)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn saving_a_tier_restarts_the_assistant_with_the_new_model() {
    let dir = TempDir::new("reload");
    let paths = dir.paths();
    let desk = Desk::spawn(Some(paths.clone())).expect("assistant thread");
    assert_eq!(desk.answering().label, "embedded engine");

    let mut view = SettingsView::with_paths(Some(paths.clone()));
    view.refresh();
    let model = ModelRef { provider: ProviderKind::Openai, model: "gpt-4o-mini".into(), base_url: None };
    assert!(view.set_tier(Tier::Balanced, Some(model.clone()), Some(&desk)), "{:?}", view.message());
    let saved = view.message().unwrap().as_ref().unwrap();
    assert!(saved.starts_with("Saved the balanced tier (") && saved.contains(CONFIG_FILE), "{saved}");

    let text = std::fs::read_to_string(paths.config_file()).unwrap();
    assert!(text.starts_with("# AudioCollab Assistant: language-model settings."), "the template's comments");
    let loaded = config::parse(&text, "config.toml", &|_| None);
    assert!(loaded.error.is_none() && loaded.warnings.is_empty());
    assert_eq!(loaded.config.model_for(loaded.config.tier_for(Task::Chat)), Some(&model));

    let deadline = Instant::now() + Duration::from_secs(30);
    while desk.answering().label != "gpt-4o-mini (openai)" {
        assert!(Instant::now() < deadline, "still {:?}", desk.answering());
        std::thread::sleep(Duration::from_millis(10));
    }

    // Back to the embedded engine.
    assert!(view.set_tier(Tier::Balanced, None, Some(&desk)));
    let deadline = Instant::now() + Duration::from_secs(30);
    while desk.answering().label != "embedded engine" {
        assert!(Instant::now() < deadline, "still {:?}", desk.answering());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_key_goes_to_the_owner_only_file_is_wiped_and_never_reaches_the_plugin_state() {
    const SECRET: &str = "sk-test-settings-0123456789abcdef";
    let dir = TempDir::new("key");
    let paths = dir.paths();
    let mut view = SettingsView::with_paths(Some(paths.clone()));
    view.refresh();
    view.set_key_provider(ProviderKind::Openai);
    view.key_input_mut().push_str(SECRET);
    assert!(view.save_key(None), "{:?}", view.message());
    assert!(view.key_input_mut().is_empty(), "the field is cleared");
    let message = format!("{:?}", view.message());
    assert!(!message.contains("0123456789"), "{message}");

    let text = std::fs::read_to_string(paths.config_file()).unwrap();
    assert!(text.contains(&format!("openai = \"{SECRET}\"")), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(paths.config_file()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let expected = if std::env::var(OPENAI_KEY_ENV).is_ok_and(|v| !v.trim().is_empty()) {
        KeyStatus::Environment(OPENAI_KEY_ENV)
    } else {
        KeyStatus::ConfigFile
    };
    assert_eq!(view.key_status(ProviderKind::Openai), Some(expected));
    assert_eq!(view.key_status(ProviderKind::Anthropic), Some(KeyStatus::NotSet));

    // A key with a space is refused, not written, and not quoted back; the field is cleared too.
    view.set_key_provider(ProviderKind::Anthropic);
    view.key_input_mut().push_str("sk-ant bad-secret");
    assert!(!view.save_key(None));
    assert!(view.key_input_mut().is_empty());
    assert!(!format!("{:?}", view.message()).contains("bad-secret"));
    assert_eq!(std::fs::read_to_string(paths.config_file()).unwrap(), text);

    // The plugin state (what the DAW project saves) holds the conversation and the prefs,
    // never a key.
    let params = AudioCollabParams::default();
    *params.prefs.write().unwrap() = Prefs { auto_apply: true, ..Prefs::default() };
    let state = params.serialize_fields();
    assert!(state.contains_key("prefs") && state.contains_key("chat"), "{state:?}");
    let all: String = state.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    assert!(!all.contains(SECRET) && !all.contains("sk-"), "{all}");
}

#[test]
fn a_malformed_config_file_is_never_overwritten() {
    let dir = TempDir::new("malformed");
    let paths = dir.paths();
    std::fs::create_dir_all(&paths.config).unwrap();
    let broken = "# my notes\n[budget]\nmax_usd_per_day = \"lots\"\n";
    std::fs::write(paths.config_file(), broken).unwrap();
    let mut view = SettingsView::with_paths(Some(paths.clone()));
    view.refresh();
    let limits = BudgetLimits { requests_per_day: 5, ..BudgetLimits::default() };
    assert!(!view.set_budget(limits, None));
    let error = view.message().unwrap().as_ref().unwrap_err();
    assert!(error.contains("line 3") && error.contains("not changed"), "{error}");
    assert_eq!(std::fs::read_to_string(paths.config_file()).unwrap(), broken);

    // Fixed by hand: the same save goes through and keeps the notes.
    std::fs::write(paths.config_file(), "# my notes\n[budget]\nmax_usd_per_day = 1.5 # mine\n").unwrap();
    assert!(view.set_budget(limits, None), "{:?}", view.message());
    let text = std::fs::read_to_string(paths.config_file()).unwrap();
    assert!(text.starts_with("# my notes\n[budget]\nmax_usd_per_day = 0.5 # mine\n"), "{text}");
    assert_eq!(config::load(&paths).config.budget, limits);
}

/// A key that looks real; no 6-character piece of it may ever be shown.
const PASTED_KEY: &str = "sk-proj-Hw4Qz8Lp2Xr6Vn1Bt5Mk9Jc3Dg7Fy0Su";

fn assert_no_piece_of_the_key(shown: &str) {
    for start in 0..=PASTED_KEY.len() - 6 {
        let piece = &PASTED_KEY[start..start + 6];
        assert!(!shown.contains(piece), "{piece:?} of the key is shown: {shown}");
    }
}

#[test]
fn the_window_never_shows_a_key_written_in_the_wrong_place() {
    let dir = TempDir::new("redaction");
    let paths = dir.paths();
    std::fs::create_dir_all(&paths.config).unwrap();
    // (file, the line and key the window names)
    let cases = [
        (format!("keys = \"{PASTED_KEY}\"\n"), "line 1: `keys`"),
        (format!("[budget]\nmax_requests_per_day = \"{PASTED_KEY}\"\n"), "line 2: `budget.max_requests_per_day`"),
        (format!("[tiers.cheap]\nprovider = \"{PASTED_KEY}\"\nmodel = \"m\"\n"), "line 2: `tiers.cheap.provider`"),
        (format!("[keys]\nopenai: {PASTED_KEY}\n"), "line 2: key with no value"),
    ];
    for (text, needle) in &cases {
        std::fs::write(paths.config_file(), text).unwrap();
        let mut view = SettingsView::with_paths(Some(paths.clone()));
        view.refresh();
        let (error, warnings) = view.file_notes();
        let error = error.expect("the file is not used").to_string();
        assert!(error.contains(needle), "{text:?}: {error}");
        assert_no_piece_of_the_key(&format!("{error} {warnings:?}"));
        // Saving is refused with the loader's message: redacted too.
        assert!(!view.set_budget(BudgetLimits::default(), None));
        let refused = view.message().unwrap().as_ref().unwrap_err();
        assert!(refused.contains(needle), "{refused}");
        assert_no_piece_of_the_key(refused);
        // The chat panel's header: what the assistant thread says about the file.
        let desk = Desk::spawn(Some(paths.clone())).expect("assistant thread");
        let warning = desk.answering().warning.expect("a warning");
        assert!(warning.contains(needle), "{warning}");
        assert_no_piece_of_the_key(&warning);
    }
    // The key in the wrong table: a warning naming the line, never the key.
    std::fs::write(paths.config_file(), format!("[budget]\nopenai = \"{PASTED_KEY}\"\n")).unwrap();
    let mut view = SettingsView::with_paths(Some(paths.clone()));
    view.refresh();
    let (error, warnings) = view.file_notes();
    assert_eq!(error, None);
    assert_eq!(warnings, [format!("{}, line 2: unknown key `budget.openai`, ignored", paths.config_file().display())]);
}

#[cfg(unix)]
#[test]
fn a_key_in_a_config_file_others_can_read_is_refused_in_the_window_too() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("open-file");
    let paths = dir.paths();
    std::fs::create_dir_all(&paths.config).unwrap();
    let text = format!(
        "[tiers.balanced]\nprovider = \"openai\"\nmodel = \"gpt-4o-mini\"\n[keys]\nopenai = \"{PASTED_KEY}\"\n"
    );
    std::fs::write(paths.config_file(), text).unwrap();
    std::fs::set_permissions(paths.config_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let chmod = format!("chmod 600 {}", paths.config_file().display());

    let mut view = SettingsView::with_paths(Some(paths.clone()));
    view.refresh();
    let (error, warnings) = view.file_notes();
    assert_eq!(error, None, "the rest of the file applies");
    assert!(warnings[0].contains(&chmod), "{warnings:?}");
    assert_no_piece_of_the_key(&format!("{warnings:?}"));
    if std::env::var(OPENAI_KEY_ENV).is_err() {
        assert_eq!(view.key_status(ProviderKind::Openai), Some(KeyStatus::NotSet));
    }
    let desk = Desk::spawn(Some(paths.clone())).expect("assistant thread");
    let answering = desk.answering();
    assert_eq!(answering.label, "gpt-4o-mini (openai)", "the tier still applies");
    assert!(answering.warning.as_deref().is_some_and(|w| w.contains(&chmod)), "{answering:?}");

    // Owner-only, as the window itself writes it: the key is the file's.
    std::fs::set_permissions(paths.config_file(), std::fs::Permissions::from_mode(0o600)).unwrap();
    view.refresh();
    assert!(view.file_notes().1.is_empty(), "{:?}", view.file_notes());
    if std::env::var(OPENAI_KEY_ENV).is_err() {
        assert_eq!(view.key_status(ProviderKind::Openai), Some(KeyStatus::ConfigFile));
    }
    desk.reload(Some(paths.clone()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while desk.answering().warning.is_some() {
        assert!(Instant::now() < deadline, "the warning stays after the reload");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn prefs_round_trip_in_the_plugin_state_and_a_tampered_project_loads_sanitised() {
    let params = AudioCollabParams::default();
    let chosen = Prefs {
        lang: AnswerLang::French,
        genre: "rock".into(),
        platform: "apple".into(),
        reference: None,
        auto_apply: true,
    };
    *params.prefs.write().unwrap() = chosen.clone();
    let state = params.serialize_fields();

    let restored = AudioCollabParams::default();
    restored.deserialize_fields(&state);
    assert_eq!(*restored.prefs.read().unwrap(), chosen);
    assert_eq!(chosen.analyze_options().genre, "rock");

    let mut tampered = state.clone();
    tampered.insert(
        "prefs".into(),
        r#"{"lang":"es","genre":"../../etc","platform":"apple","auto_apply":1,"key":"sk-x"}"#.into(),
    );
    let loaded = AudioCollabParams::default();
    loaded.deserialize_fields(&tampered);
    let p = loaded.prefs.read().unwrap().clone();
    assert_eq!(p, Prefs { platform: "apple".into(), ..Prefs::default() });
    assert!(!p.auto_apply, "auto-apply only when the project clearly says so");
}

#[test]
fn auto_apply_applies_a_turns_proposals_undoably_and_says_so() {
    let analysis = demo_analysis();
    let desk = Desk::spawn(None).expect("assistant thread");
    let prefs = Arc::new(RwLock::new(Prefs { auto_apply: true, ..Prefs::default() }));
    let mut panel = Panel::new(Arc::new(RwLock::new(ChatLog::default()))).with_prefs(prefs.clone());
    let mut params = Settings::default();

    assert!(panel.ask("rends les voix plus claires", &desk, params, Some(analysis.clone())));
    wait_for_answer(&mut panel, &desk, Some(&mut params));
    let reply = &panel.entries()[1];
    assert!(reply.auto_applied);
    assert!(!reply.cards.is_empty() && reply.cards.iter().all(|c| c.state == CardState::Applied), "{reply:?}");
    // Sized from the measured 2–5 kHz deviation, 1 to 3 dB (the exact size: tests/panel.rs).
    let presence = params.get(ParamId::Bell2Gain);
    assert!((1.0..=3.0).contains(&presence), "the presence boost is on: {presence}");
    assert!(params.on(ParamId::DeessOn));
    assert!(panel.undo(&mut params));
    assert_eq!(params, Settings::default(), "Undo takes auto-applied changes back");

    // Window closed (no writer): the proposals wait, visibly, and apply when it opens.
    assert!(panel.ask("rends les voix plus claires", &desk, params, Some(analysis.clone())));
    wait_for_answer(&mut panel, &desk, None);
    let entries = panel.entries();
    assert!(entries[3].cards.iter().all(|c| c.state == CardState::Waiting));
    panel.apply_waiting(&mut params);
    assert_eq!(params.get(ParamId::Bell2Gain), presence);

    // Off: the next answer's cards wait for a click.
    prefs.write().unwrap().auto_apply = false;
    let before = params;
    assert!(panel.ask("rends les voix plus claires", &desk, params, Some(analysis)));
    wait_for_answer(&mut panel, &desk, Some(&mut params));
    let last = panel.entries().pop().unwrap();
    assert!(!last.auto_applied && last.cards.iter().all(|c| c.state == CardState::Proposed));
    assert_eq!(params, before);
}

#[test]
fn the_answer_language_follows_the_preference() {
    let desk = Desk::spawn(None).expect("assistant thread");
    let prefs = Arc::new(RwLock::new(Prefs::default()));
    let ctx = SettingsCtx { prefs: &prefs, desk: Some(&desk), analysis: None };
    apply_prefs(&ctx, Prefs { lang: AnswerLang::English, ..Prefs::default() });
    assert_eq!(prefs.read().unwrap().lang, AnswerLang::English);
    let mut panel = Panel::new(Arc::new(RwLock::new(ChatLog::default()))).with_prefs(prefs.clone());
    let mut params = Settings::default();
    let analysis = demo_analysis();
    assert!(panel.ask("rends les voix plus claires", &desk, params, Some(analysis.clone())));
    wait_for_answer(&mut panel, &desk, Some(&mut params));
    let english = panel.entries()[1].text.clone();
    assert!(english.contains("Clearer vocals"), "{english}");

    apply_prefs(&ctx, Prefs { lang: AnswerLang::Auto, ..Prefs::default() });
    assert!(panel.ask("rends les voix plus claires", &desk, params, Some(analysis)));
    wait_for_answer(&mut panel, &desk, Some(&mut params));
    let french = panel.entries()[3].text.clone();
    assert!(french.contains("Voix plus claires"), "{french}");
}

#[test]
fn the_view_draws_headless_with_a_configured_tier_and_an_audit_log() {
    let dir = TempDir::new("draw");
    let paths = dir.paths();
    std::fs::create_dir_all(&paths.data).unwrap();
    let now = jiff::Timestamp::now().to_string();
    let line = r#"{"event":"request","id":"r1","time":"NOW","task":"chat","tier":"balanced","provider":"openai","model":"gpt-4o-mini","input_tokens":900,"output_tokens":100,"usd":0.0002,"latency_ms":1800,"cache_checked":true,"cache_hit":false,"outcome":"model","fallback":null,"attempts":1,"errors":0,"request_chars":3000}"#;
    std::fs::write(paths.audit_file(), format!("{}\nnot json\n", line.replace("NOW", &now))).unwrap();
    let mut view = SettingsView::with_paths(Some(paths.clone()));
    view.set_open(true);
    let prefs = RwLock::new(Prefs::default());
    let ctx = egui::Context::default();
    for _ in 0..2 {
        let mut out = ctx.run_ui(egui::RawInput::default(), |ui| {
            view.draw(ui, SettingsCtx { prefs: &prefs, desk: None, analysis: None });
        });
        // No renderer here: the font atlas is not uploaded anywhere.
        out.textures_delta.clear();
    }
    // Drawing read the audit log: one request, one unreadable line.
    let audit = view.audit().unwrap().as_ref().unwrap();
    assert_eq!((audit.summary.requests, audit.summary.skipped_lines), (1, 1));
    assert_eq!((audit.summary.input_tokens, audit.summary.output_tokens), (900, 100));
    assert_eq!(audit.mean_latency_ms, Some(1800.0));
    assert_eq!(audit.models[0].model, "gpt-4o-mini (openai)");
    assert!(!paths.config_file().exists(), "drawing never writes the config file");
}

#[test]
fn a_reference_track_loads_off_the_gui_thread_and_the_project_keeps_its_curve_not_its_path() {
    use audiocollab::editor::reference::ReferenceLoader;
    let params = AudioCollabParams::default();
    let ctx = SettingsCtx { prefs: &params.prefs, desk: None, analysis: None };
    let mut loader = ReferenceLoader::default();
    let demo = common::demo_path();
    loader.start(demo.to_str().expect("utf-8 path"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while loader.is_loading() {
        assert!(Instant::now() < deadline, "the reference never finished loading");
        std::thread::sleep(Duration::from_millis(20));
        loader.poll(&ctx);
    }
    let prefs = params.prefs.read().unwrap().clone();
    let reference = prefs.reference.clone().expect("loaded");
    assert_eq!(reference.name, "demo.flac");
    assert_eq!(reference.levels_db.len(), 31);
    // The analysis now judges against it: the demo against itself is on target in every band.
    let options = prefs.analyze_options();
    assert_eq!(options.reference.as_ref().map(|r| r.id.as_str()), Some("reference"));
    assert_eq!(prefs.target().id, "reference");

    // The project keeps the numbers and the name, not the folder.
    let state = params.serialize_fields();
    let saved = state.get("prefs").expect("prefs saved");
    assert!(saved.contains("demo.flac") && !saved.contains("assets"), "{saved}");
    let restored = AudioCollabParams::default();
    restored.deserialize_fields(&state);
    assert_eq!(restored.prefs.read().unwrap().reference.as_ref(), Some(&reference));

    // A file that is not audio: a clear message, the reference in force stays.
    let mut bad = ReferenceLoader::default();
    bad.start("/nonexistent/reference.wav");
    while bad.is_loading() {
        std::thread::sleep(Duration::from_millis(10));
        bad.poll(&ctx);
    }
    assert_eq!(params.prefs.read().unwrap().reference.as_ref(), Some(&reference));
}
