//! Loading a reference track from the settings: its file is decoded and analysed on a thread
//! of its own (a few tenths of a second for a song; the window goes on drawing), and its curve
//! becomes the project's tonal target ([`Reference`]). Only the numbers and the file's name are
//! kept in the project, never the audio or the folder it came from.

use super::project::{apply_prefs, SettingsCtx};
use crate::prefs::Reference;
use egui::{RichText, Ui};
use std::path::Path;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::PoisonError;

/// The reference part of the settings: a path field, Load and Clear.
#[derive(Debug, Default)]
pub struct ReferenceLoader {
    /// The path being typed.
    pub path: String,
    job: Option<Receiver<Result<Reference, String>>>,
    message: Option<Result<String, String>>,
}

impl ReferenceLoader {
    /// Starts loading `path` on its own thread; [`Self::poll`] takes the result.
    pub fn start(&mut self, path: &str) {
        let path = Path::new(path.trim()).to_path_buf();
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new().name("audiocollab-reference".into()).spawn(move || {
            let _ = tx.send(Reference::load(&path));
        });
        match spawned {
            Ok(_) => {
                self.job = Some(rx);
                self.message = None;
            }
            Err(e) => self.message = Some(Err(format!("could not start loading: {e}"))),
        }
    }

    /// Whether a file is being loaded.
    pub fn is_loading(&self) -> bool {
        self.job.is_some()
    }

    /// Takes a finished load into the project's preferences.
    pub fn poll(&mut self, ctx: &SettingsCtx<'_>) {
        let Some(job) = &self.job else { return };
        let result = match job.try_recv() {
            Ok(result) => result,
            Err(TryRecvError::Empty) => return,
            Err(TryRecvError::Disconnected) => Err("the loading thread stopped".into()),
        };
        self.job = None;
        self.message = Some(match result {
            Ok(reference) => {
                let text = format!("judging against {}", reference.name);
                let mut prefs = ctx.prefs.read().unwrap_or_else(PoisonError::into_inner).clone();
                prefs.reference = Some(reference);
                apply_prefs(ctx, prefs);
                Ok(text)
            }
            Err(e) => Err(e),
        });
    }

    /// Draws the field, the buttons and what happened.
    pub fn ui(&mut self, ui: &mut Ui, ctx: &SettingsCtx<'_>) {
        self.poll(ctx);
        let current = ctx.prefs.read().unwrap_or_else(PoisonError::into_inner).reference.clone();
        ui.add_space(4.0);
        ui.label(RichText::new("Reference track").strong());
        match &current {
            Some(r) => ui.label(format!("Tonal target: {} (instead of the genre)", r.name)),
            None => ui.label(RichText::new("None: the genre's curve is the target.").weak()),
        };
        ui.horizontal(|ui| {
            let edit =
                egui::TextEdit::singleline(&mut self.path).hint_text("/path/to/reference.flac").desired_width(220.0);
            ui.add(edit);
            let can_load = !self.is_loading() && !self.path.trim().is_empty();
            if ui.add_enabled(can_load, egui::Button::new("Load")).clicked() {
                let path = self.path.clone();
                self.start(&path);
            }
            if current.is_some() && ui.button("Clear").clicked() {
                let mut prefs = ctx.prefs.read().unwrap_or_else(PoisonError::into_inner).clone();
                prefs.reference = None;
                apply_prefs(ctx, prefs);
                self.message = None;
            }
        });
        if self.is_loading() {
            ui.label(RichText::new("analysing...").italics());
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(50));
        }
        match &self.message {
            Some(Ok(m)) => ui.label(RichText::new(m).small().color(super::ACCENT)),
            Some(Err(e)) => ui.label(RichText::new(e).small().color(egui::Color32::from_rgb(230, 120, 90))),
            None => ui.label(""),
        };
    }
}
