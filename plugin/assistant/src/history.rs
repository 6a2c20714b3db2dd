//! The undo/redo history of applied change sets, shared by the terminal chat and the window.
//!
//! Applying or undoing is the caller's business (the window goes through the host's parameter
//! gestures, the terminal through a [`audiocollab_core::spec::Settings`]); the history only says which
//! set to apply, forwards or inverted.

use super::actions::ChangeSet;

/// A change set that was applied, with the audit id of the model answer it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    /// The changes as applied.
    pub set: ChangeSet,
    /// The audit log's request id, for model answers.
    pub request_id: Option<String>,
}

/// Applied change sets, newest last, and the ones undone since.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    done: Vec<Applied>,
    undone: Vec<Applied>,
}

impl History {
    /// Records a set just applied; forgets what was undone (a new branch).
    pub fn push(&mut self, applied: Applied) {
        self.undone.clear();
        self.done.push(applied);
    }

    /// The set to take back (apply its inverse), moved to the redo side.
    pub fn undo(&mut self) -> Option<&Applied> {
        let last = self.done.pop()?;
        self.undone.push(last);
        self.undone.last()
    }

    /// The set to apply again, moved back to the undo side.
    pub fn redo(&mut self) -> Option<&Applied> {
        let last = self.undone.pop()?;
        self.done.push(last);
        self.done.last()
    }

    /// The newest applied set.
    pub fn last(&self) -> Option<&Applied> {
        self.done.last()
    }

    /// Whether there is something to undo.
    pub fn can_undo(&self) -> bool {
        !self.done.is_empty()
    }

    /// Whether there is something to redo.
    pub fn can_redo(&self) -> bool {
        !self.undone.is_empty()
    }
}
