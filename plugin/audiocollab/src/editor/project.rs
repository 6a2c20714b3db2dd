//! Where the window's changes to the project's preferences go: stored in the plugin state, the
//! targets passed to the live analysis, the language to the assistant. The settings view and the
//! reference loader both write through here.

use std::sync::{PoisonError, RwLock};

use crate::live::AnalysisWorker;
use crate::prefs::Prefs;
use audiocollab_assistant::desk::Desk;

/// What the view acts on, borrowed from the editor for one frame.
pub struct SettingsCtx<'a> {
    /// The project's preferences (plugin state).
    pub prefs: &'a RwLock<Prefs>,
    /// The assistant's thread, if it runs.
    pub desk: Option<&'a Desk>,
    /// The live analysis, if the plugin was activated.
    pub analysis: Option<&'a AnalysisWorker>,
}

/// Stores new preferences and passes them on: the targets to the live analysis (which
/// analyses again), the language to the assistant. Auto-apply is read by the chat panel.
pub fn apply_prefs(ctx: &SettingsCtx<'_>, new: Prefs) {
    let new = new.sanitised();
    let old = std::mem::replace(&mut *ctx.prefs.write().unwrap_or_else(PoisonError::into_inner), new.clone());
    if old.genre != new.genre || old.platform != new.platform || old.reference != new.reference {
        if let Some(analysis) = ctx.analysis {
            analysis.set_options(new.analyze_options());
        }
    }
    if old.lang != new.lang {
        if let Some(desk) = ctx.desk {
            desk.set_lang(new.lang.lang());
        }
    }
}
