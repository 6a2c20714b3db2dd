//! The Settings view, drawn instead of the parameter groups while it is open.
//!
//! * **This project** (saved in the plugin state with the DAW project, [`Prefs`](crate::prefs::Prefs)): answer
//!   language, genre and platform targets, auto-apply.
//! * **Assistant** (the musician's `config.toml`, for every project): the model of each tier,
//!   API keys (their status only; a password field writes a key to the file), budget caps.
//!   Saving keeps the file's comments ([`config_edit`]) and restarts the assistant's engine
//!   with it ([`Desk::reload`]).
//! * **Usage**: today's and this month's requests and cost against the caps, and the audit
//!   log's last 30 days, per model.
//!
//! Files are read when the view opens, after a save and on "Refresh", never every frame.

use egui::{Color32, ComboBox, DragValue, Grid, RichText, ScrollArea, Ui};
use std::sync::PoisonError;
use zeroize::Zeroize;

use super::project::{apply_prefs, SettingsCtx};
use super::ACCENT;
use crate::prefs::AnswerLang;
use audiocollab_assistant::desk::Desk;
use audiocollab_assistant::llm::{ModelRef, ProviderKind, Task, Tier};
use audiocollab_assistant::route::budget::BudgetLimits;
use audiocollab_assistant::route::config::{self, Config};
use audiocollab_assistant::route::config_edit::{self, EditError, KeyStatus};
use audiocollab_assistant::route::usage::{self, AuditView, BudgetUsage};
use audiocollab_assistant::route::Paths;
use audiocollab_core::analysis::targets;

/// Days of the audit log the view sums up.
pub const AUDIT_DAYS: u32 = 30;

const TIERS: [Tier; 3] = [Tier::Cheap, Tier::Balanced, Tier::Premium];
const KEY_PROVIDERS: [ProviderKind; 3] =
    [ProviderKind::Openai, ProviderKind::Anthropic, ProviderKind::OpenaiCompatible];
const WARN: Color32 = Color32::from_rgb(230, 170, 60);
const ERROR: Color32 = Color32::from_rgb(220, 90, 90);

/// One tier's fields as edited.
#[derive(Clone, Debug, PartialEq)]
struct TierEdit {
    provider: ProviderKind,
    model: String,
    base_url: String,
    /// The provider in the file: a base URL set by hand (a proxy) stays while it is unchanged.
    saved_provider: ProviderKind,
}

impl TierEdit {
    fn of(model: Option<&ModelRef>) -> TierEdit {
        let provider = model.map_or(ProviderKind::Embedded, |m| m.provider);
        TierEdit {
            provider,
            model: model.map(|m| m.model.clone()).unwrap_or_default(),
            base_url: model.and_then(|m| m.base_url.clone()).unwrap_or_default(),
            saved_provider: provider,
        }
    }

    fn model_ref(&self) -> Option<ModelRef> {
        let keep_url = self.provider == ProviderKind::OpenaiCompatible || self.provider == self.saved_provider;
        let url = self.base_url.trim();
        (self.provider != ProviderKind::Embedded).then(|| ModelRef {
            provider: self.provider,
            model: self.model.trim().to_string(),
            base_url: (keep_url && !url.is_empty()).then(|| url.to_string()),
        })
    }
}

/// What the file says, read on open / refresh / save.
#[derive(Debug, Default)]
struct FileView {
    /// The configuration in the file, without the environment's keys.
    config: Config,
    /// Why the file cannot be used (and so cannot be edited here).
    error: Option<String>,
    /// Unknown keys and similar.
    warnings: Vec<String>,
    keys: Vec<(ProviderKind, KeyStatus)>,
}

/// The Settings view's state. Lives with the editor; the window may open and close.
pub struct SettingsView {
    open: bool,
    /// `None` until first opened: [`Paths::system`] then (or what [`SettingsView::with_paths`] gave).
    paths: Option<Option<Paths>>,
    stale: bool,
    file: FileView,
    tiers: [TierEdit; 3],
    budget: BudgetLimits,
    key_provider: ProviderKind,
    /// The key being typed. Wiped once saved.
    key_input: String,
    /// The last save's outcome: `Ok` message or error.
    message: Option<Result<String, String>>,
    usage: Option<BudgetUsage>,
    audit: Option<Result<AuditView, String>>,
    /// Loading a reference track.
    pub reference: super::reference::ReferenceLoader,
}

impl Default for SettingsView {
    fn default() -> Self {
        Self {
            open: false,
            paths: None,
            stale: true,
            file: FileView::default(),
            tiers: [TierEdit::of(None), TierEdit::of(None), TierEdit::of(None)],
            budget: BudgetLimits::default(),
            key_provider: ProviderKind::Openai,
            key_input: String::new(),
            message: None,
            usage: None,
            audit: None,
            reference: Default::default(),
        }
    }
}

impl SettingsView {
    /// A view on the files under `paths` (`None`: no config folder; the assistant settings
    /// cannot be saved). The editor uses the system's folders instead, found when first opened.
    pub fn with_paths(paths: Option<Paths>) -> SettingsView {
        SettingsView { paths: Some(paths), ..SettingsView::default() }
    }

    /// Whether the view is shown.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Shows or hides the view (shown: the files are read again).
    pub fn set_open(&mut self, open: bool) {
        if open && !self.open {
            self.stale = true;
        }
        self.open = open;
    }

    /// The "Settings" toggle of the header.
    pub fn toggle(&mut self, ui: &mut Ui) {
        let mut open = self.open;
        if ui
            .toggle_value(&mut open, "Settings")
            .on_hover_text("language, targets, models, keys, budget, usage")
            .changed()
        {
            self.set_open(open);
        }
    }

    fn paths(&mut self) -> Option<Paths> {
        self.paths.get_or_insert_with(Paths::system).clone()
    }

    /// Reads the config file, the key status, the budget counters and the audit log.
    pub fn refresh(&mut self) {
        self.stale = false;
        let Some(paths) = self.paths() else {
            self.file = FileView {
                error: Some("The system gives no home folder: the assistant settings cannot be saved.".into()),
                ..FileView::default()
            };
            return;
        };
        let loaded = config::load_file(&paths.config_file(), &|_| None);
        let env = |name: &str| std::env::var(name).ok();
        let keys = KEY_PROVIDERS.iter().map(|&p| (p, config_edit::key_status(p, &loaded.config.keys, &env))).collect();
        self.tiers = TIERS.map(|t| TierEdit::of(loaded.config.model_for(t)));
        self.budget = loaded.config.budget;
        self.file = FileView {
            error: loaded.error.map(|e| e.to_string()),
            warnings: loaded.warnings,
            config: loaded.config,
            keys,
        };
        self.refresh_usage();
    }

    /// Reads the budget counters and the audit log again (the edits in progress stay).
    pub fn refresh_usage(&mut self) {
        let Some(paths) = self.paths() else { return };
        let limits = self.file.config.budget;
        self.usage = Some(usage::budget_usage(&paths, limits, jiff::ZonedDateTime::now().date()));
        self.audit = Some(usage::read_audit(&paths, jiff::Timestamp::now(), AUDIT_DAYS));
    }

    /// What the view says about the config file (after [`SettingsView::refresh`]): why it
    /// was not used, if it was not, and its warnings.
    pub fn file_notes(&self) -> (Option<&str>, &[String]) {
        (self.file.error.as_deref(), &self.file.warnings)
    }

    /// Where each provider's key comes from (after [`SettingsView::refresh`]).
    pub fn key_status(&self, provider: ProviderKind) -> Option<KeyStatus> {
        self.file.keys.iter().find(|(p, _)| *p == provider).map(|&(_, s)| s)
    }

    /// The last save's outcome.
    pub fn message(&self) -> Option<&Result<String, String>> {
        self.message.as_ref()
    }

    /// The audit summary read last.
    pub fn audit(&self) -> Option<&Result<AuditView, String>> {
        self.audit.as_ref()
    }

    /// The key field (a password field in the window).
    pub fn key_input_mut(&mut self) -> &mut String {
        &mut self.key_input
    }

    /// Chooses the provider the key field is for.
    pub fn set_key_provider(&mut self, provider: ProviderKind) {
        self.key_provider = provider;
    }

    /// Writes the typed key to the config file for the chosen provider and wipes it from
    /// memory, whatever the outcome. Returns whether it was saved.
    pub fn save_key(&mut self, desk: Option<&Desk>) -> bool {
        let provider = self.key_provider;
        let mut key = std::mem::take(&mut self.key_input);
        let saved = self.save_with(desk, &format!("Saved the {} key", provider_label(provider)), |t| {
            config_edit::set_key(t, provider, Some(&key))
        });
        key.zeroize();
        saved
    }

    /// Removes the chosen provider's key from the config file.
    pub fn remove_key(&mut self, desk: Option<&Desk>) -> bool {
        let provider = self.key_provider;
        self.save_with(desk, &format!("Removed the {} key", provider_label(provider)), |t| {
            config_edit::set_key(t, provider, None)
        })
    }

    /// Sets `tier`'s model as edited (`None`: the embedded engine) and saves.
    pub fn set_tier(&mut self, tier: Tier, model: Option<ModelRef>, desk: Option<&Desk>) -> bool {
        let i = tier_index(tier);
        self.tiers[i] = TierEdit { saved_provider: self.tiers[i].saved_provider, ..TierEdit::of(model.as_ref()) };
        self.save_tier(tier, desk)
    }

    fn save_tier(&mut self, tier: Tier, desk: Option<&Desk>) -> bool {
        let model = self.tiers[tier_index(tier)].model_ref();
        let name = config_edit::tier_name(tier);
        self.save_with(desk, &format!("Saved the {name} tier"), |t| config_edit::set_tier(t, tier, model.as_ref()))
    }

    /// Sets the budget caps and saves.
    pub fn set_budget(&mut self, limits: BudgetLimits, desk: Option<&Desk>) -> bool {
        self.budget = limits;
        self.save_with(desk, "Saved the budget", |t| config_edit::set_budget(t, &limits))
    }

    /// Saves one edit of the config file (`what`: "Saved the budget"); on success the
    /// assistant restarts with the file and the view reads it again.
    fn save_with(
        &mut self,
        desk: Option<&Desk>,
        what: &str,
        edit: impl FnOnce(&str) -> Result<String, EditError>,
    ) -> bool {
        let Some(paths) = self.paths() else {
            self.message = Some(Err("No config folder on this system: nothing was saved.".into()));
            return false;
        };
        match config_edit::save(&paths, edit) {
            Ok(()) => {
                self.message = Some(Ok(format!("{what} ({}).", paths.config_file().display())));
                if let Some(desk) = desk {
                    desk.reload(Some(paths));
                }
                self.refresh();
                true
            }
            Err(e) => {
                self.message = Some(Err(e.to_string()));
                false
            }
        }
    }

    /// Draws the view. Reads the files first if they were not read since it opened.
    pub fn draw(&mut self, ui: &mut Ui, ctx: SettingsCtx<'_>) {
        if self.stale {
            self.refresh();
        }
        self.message_ui(ui);
        ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            ui.columns(3, |cols| {
                section(&mut cols[0], "This project", |ui| {
                    project_ui(ui, &ctx);
                    self.reference.ui(ui, &ctx);
                });
                section(&mut cols[0], "API keys", |ui| self.keys_ui(ui, ctx.desk));
                section(&mut cols[1], "Assistant models", |ui| self.models_ui(ui, ctx.desk));
                section(&mut cols[2], "Budget and usage", |ui| self.budget_ui(ui, ctx.desk));
                section(&mut cols[2], "Last 30 days", |ui| self.audit_ui(ui));
            });
        });
    }

    fn models_ui(&mut self, ui: &mut Ui, desk: Option<&Desk>) {
        ui.label(
            RichText::new("Saved in your config.toml, for every project. A tier left on \"embedded\" is answered offline: nothing leaves this computer.")
                .small()
                .weak(),
        );
        if let Some(error) = &self.file.error {
            ui.label(RichText::new(error).color(ERROR).small());
            ui.label(
                RichText::new("Fix the file by hand (docs/config.md); these settings will not overwrite it.").small(),
            );
        }
        for w in &self.file.warnings {
            ui.label(RichText::new(w).color(WARN).small());
        }
        if let Some(desk) = desk {
            ui.label(format!("Answering now: {}", desk.answering().label));
        }
        let c = &self.file.config;
        for (task, what) in [(Task::Chat, "Chat"), (Task::Suggestion, "Suggestions")] {
            let tier = c.tier_for(task);
            let who = c
                .model_for(tier)
                .map_or("the embedded engine".to_string(), |m| format!("{} ({})", m.model, m.provider));
            ui.label(format!("{what}: {} tier, {who}", config_edit::tier_name(tier)));
        }
        ui.add_space(4.0);
        let editable = self.file.error.is_none();
        let mut save = None;
        Grid::new("audiocollab-tiers").num_columns(2).spacing([8.0, 4.0]).show(ui, |ui| {
            for (i, tier) in TIERS.into_iter().enumerate() {
                let edit = &mut self.tiers[i];
                ui.label(RichText::new(config_edit::tier_name(tier)).strong());
                ComboBox::from_id_salt(("audiocollab-provider", i))
                    .selected_text(provider_label(edit.provider))
                    .show_ui(ui, |ui| {
                        for p in [
                            ProviderKind::Embedded,
                            ProviderKind::Openai,
                            ProviderKind::Anthropic,
                            ProviderKind::OpenaiCompatible,
                        ] {
                            ui.selectable_value(&mut edit.provider, p, provider_label(p));
                        }
                    });
                ui.end_row();
                if edit.provider != ProviderKind::Embedded {
                    ui.label("model");
                    ui.add(egui::TextEdit::singleline(&mut edit.model).hint_text("gpt-4o-mini").desired_width(170.0));
                    ui.end_row();
                }
                if edit.provider == ProviderKind::OpenaiCompatible {
                    ui.label("server");
                    ui.add(
                        egui::TextEdit::singleline(&mut edit.base_url)
                            .hint_text("http://127.0.0.1:8080/v1")
                            .desired_width(170.0),
                    );
                    ui.end_row();
                }
                ui.label("");
                if ui
                    .add_enabled(editable, egui::Button::new(format!("Save {}", config_edit::tier_name(tier))))
                    .clicked()
                {
                    save = Some(tier);
                }
                ui.end_row();
            }
        });
        if let Some(tier) = save {
            self.save_tier(tier, desk);
        }
    }

    fn keys_ui(&mut self, ui: &mut Ui, desk: Option<&Desk>) {
        Grid::new("audiocollab-keys").num_columns(2).show(ui, |ui| {
            for (p, status) in &self.file.keys {
                ui.label(provider_label(*p));
                let colour = if *status == KeyStatus::NotSet { WARN } else { ACCENT };
                ui.label(RichText::new(status.describe()).color(colour));
                ui.end_row();
            }
        });
        ui.add_space(4.0);
        ComboBox::from_id_salt("audiocollab-key-provider").selected_text(provider_label(self.key_provider)).show_ui(
            ui,
            |ui| {
                for p in KEY_PROVIDERS {
                    ui.selectable_value(&mut self.key_provider, p, provider_label(p));
                }
            },
        );
        let id = egui::Id::unique("audiocollab-key-input");
        ui.add(
            egui::TextEdit::singleline(&mut self.key_input)
                .id(id)
                .password(true)
                .hint_text("paste the key")
                .desired_width(ui.available_width()),
        );
        let editable = self.file.error.is_none();
        let mut saved = false;
        ui.horizontal(|ui| {
            if ui.add_enabled(editable && !self.key_input.trim().is_empty(), egui::Button::new("Save key")).clicked() {
                self.save_key(desk);
                saved = true;
            }
            if ui.add_enabled(editable, egui::Button::new("Remove from file")).clicked() {
                self.remove_key(desk);
            }
        });
        if saved {
            // The field's undo history holds copies of what was typed: drop it.
            egui::text_edit::TextEditState::default().store(ui.ctx(), id);
        }
        ui.label(
            RichText::new("The key is written to config.toml (readable by you only), never to the project. A key in the environment wins over the file.")
                .small()
                .weak(),
        );
    }

    fn budget_ui(&mut self, ui: &mut Ui, desk: Option<&Desk>) {
        if let Some(u) = &self.usage {
            let s = &u.state;
            let l = &u.limits;
            ui.label(format!(
                "Today: {} of {} requests, ${:.4} of ${:.2}",
                s.day_requests, l.requests_per_day, s.day_usd, l.usd_per_day
            ));
            ui.label(format!(
                "This month: {} of {} requests, ${:.4} of ${:.2}",
                s.month_requests, l.requests_per_month, s.month_usd, l.usd_per_month
            ));
            if let Some(w) = &u.warning {
                ui.label(RichText::new(w).color(WARN).small());
            }
        }
        ui.add_space(4.0);
        ui.label(RichText::new("Caps (the offline engine answers once one is reached)").small().weak());
        let b = &mut self.budget;
        Grid::new("audiocollab-budget").num_columns(2).show(ui, |ui| {
            ui.label("requests a day");
            ui.add(DragValue::new(&mut b.requests_per_day).range(0..=100_000));
            ui.end_row();
            ui.label("requests a month");
            ui.add(DragValue::new(&mut b.requests_per_month).range(0..=1_000_000));
            ui.end_row();
            ui.label("US dollars a day");
            ui.add(
                DragValue::new(&mut b.usd_per_day)
                    .range(0.0..=1000.0)
                    .speed(0.01)
                    .prefix("$")
                    .min_decimals(2)
                    .max_decimals(4),
            );
            ui.end_row();
            ui.label("US dollars a month");
            ui.add(
                DragValue::new(&mut b.usd_per_month)
                    .range(0.0..=10_000.0)
                    .speed(0.1)
                    .prefix("$")
                    .min_decimals(2)
                    .max_decimals(4),
            );
            ui.end_row();
        });
        if ui.add_enabled(self.file.error.is_none(), egui::Button::new("Save budget")).clicked() {
            let limits = self.budget;
            self.set_budget(limits, desk);
        }
    }

    fn audit_ui(&mut self, ui: &mut Ui) {
        if ui.button("Refresh").on_hover_text("read the budget counters and the audit log again").clicked() {
            self.refresh_usage();
        }
        match &self.audit {
            None => {}
            Some(Err(e)) => {
                ui.label(RichText::new(e).color(ERROR).small());
            }
            Some(Ok(v)) => {
                let s = &v.summary;
                Grid::new("audiocollab-audit").num_columns(2).show(ui, |ui| {
                    let mut row = |k: &str, v: String| {
                        ui.label(k);
                        ui.label(v);
                        ui.end_row();
                    };
                    row(
                        "requests",
                        format!("{} ({} by a model, {} offline)", s.requests, s.answered_by_model, s.answered_offline),
                    );
                    row("tokens in / out", format!("{} / {}", s.input_tokens, s.output_tokens));
                    row("estimated cost", format!("${:.4}", s.usd));
                    row("mean latency", v.mean_latency_ms.map_or("-".into(), |ms| format!("{:.1} s", ms / 1000.0)));
                    row("applied / undone", format!("{} / {}", s.applied, s.undone));
                    row("rated +1 / -1", format!("{} / {}", s.thumbs_up, s.thumbs_down));
                });
                if !v.models.is_empty() {
                    ui.add_space(6.0);
                    Grid::new("audiocollab-audit-models").num_columns(5).striped(true).show(ui, |ui| {
                        for h in ["model", "requests", "tokens", "cost", "latency"] {
                            ui.label(RichText::new(h).strong());
                        }
                        ui.end_row();
                        for m in &v.models {
                            ui.label(&m.model);
                            ui.label(m.requests.to_string());
                            ui.label(format!("{}+{}", m.input_tokens, m.output_tokens));
                            ui.label(format!("${:.4}", m.usd));
                            ui.label(m.mean_latency_ms.map_or("-".into(), |ms| format!("{:.1} s", ms / 1000.0)));
                            ui.end_row();
                        }
                    });
                }
                if s.skipped_lines > 0 {
                    ui.label(
                        RichText::new(format!("{} unreadable lines skipped", s.skipped_lines)).color(WARN).small(),
                    );
                }
            }
        }
    }

    fn message_ui(&self, ui: &mut Ui) {
        match &self.message {
            Some(Ok(m)) => ui.label(RichText::new(m).color(ACCENT).small()),
            Some(Err(e)) => ui.label(RichText::new(e).color(ERROR).small()),
            None => return,
        };
    }
}

/// Language, targets and auto-apply: edited on a copy, written back (with its effects) when
/// something changed.
fn project_ui(ui: &mut Ui, ctx: &SettingsCtx<'_>) {
    ui.label(RichText::new("Saved with this DAW project.").small().weak());
    let before = ctx.prefs.read().unwrap_or_else(PoisonError::into_inner).clone();
    let mut p = before.clone();
    Grid::new("audiocollab-prefs").num_columns(2).show(ui, |ui| {
        ui.label("Answer in");
        ComboBox::from_id_salt("audiocollab-lang").selected_text(p.lang.label()).show_ui(ui, |ui| {
            for l in AnswerLang::ALL {
                ui.selectable_value(&mut p.lang, l, l.label());
            }
        });
        ui.end_row();
        ui.label("Genre target");
        let genre = targets::genre(&p.genre).map_or(p.genre.clone(), |g| g.name_en.clone());
        ComboBox::from_id_salt("audiocollab-genre").selected_text(genre).show_ui(ui, |ui| {
            for g in targets::genres() {
                ui.selectable_value(&mut p.genre, g.id.clone(), &g.name_en);
            }
        });
        ui.end_row();
        ui.label("Platform");
        let platform = targets::platform(&p.platform)
            .map_or(p.platform.clone(), |t| format!("{} ({:.0} LUFS)", t.name, t.integrated_lufs));
        ComboBox::from_id_salt("audiocollab-platform").selected_text(platform).show_ui(ui, |ui| {
            for t in targets::platforms() {
                ui.selectable_value(
                    &mut p.platform,
                    t.id.clone(),
                    format!("{} ({:.0} LUFS)", t.name, t.integrated_lufs),
                );
            }
        });
        ui.end_row();
    });
    ui.checkbox(&mut p.auto_apply, "Apply suggestions automatically").on_hover_text(
        "Off: each suggestion waits for Apply. On: they apply as they arrive, and Undo takes them back.",
    );
    if p != before {
        apply_prefs(ctx, p);
    }
}

fn section(ui: &mut Ui, title: &str, add: impl FnOnce(&mut Ui)) {
    egui::Frame::group(ui.style()).inner_margin(8).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new(title).strong().color(ACCENT));
        // Columns stretch their widgets to the full width; buttons read better at their size.
        ui.with_layout(egui::Layout::top_down(egui::Align::Min), add);
    });
    ui.add_space(6.0);
}

fn tier_index(tier: Tier) -> usize {
    match tier {
        Tier::Cheap => 0,
        Tier::Balanced => 1,
        Tier::Premium => 2,
    }
}

fn provider_label(p: ProviderKind) -> &'static str {
    match p {
        ProviderKind::Embedded => "embedded (offline)",
        ProviderKind::Openai => "OpenAI",
        ProviderKind::Anthropic => "Anthropic",
        ProviderKind::OpenaiCompatible => "OpenAI-compatible server",
    }
}
