//! The project state beside the parameters: the format version of the persisted fields, and
//! the filter that makes a saved state safe before nice-plug loads it. The chat panel and the
//! preferences write the version; the plugin runs the filter ([`crate::AudioCollab`]).

use audiocollab_core::spec::ParamId;
use nice_plug::plugin::ParamValue;
use nice_plug::prelude::PluginState;

/// The format of the fields this version persists with the parameters (`chat`, `prefs`),
/// written as the `version` of each. 0 (no number) is the format before versions, read the same
/// way. Every version reads any version leniently (a field or kind it does not know is
/// skipped), so a later version raises this only when a field changes meaning, and then also
/// commits its own golden state (`plugin/audiocollab/tests/golden/`, see `plugin/audiocollab/tests/state.rs`).
pub const STATE_VERSION: u32 = 1;

/// Makes a saved state safe to load, just before nice-plug loads it: the parameter values of a
/// project are untrusted (a file edited by hand, or a later version with wider ranges). A
/// known parameter's number is clamped into its range; one that is not finite is dropped, so
/// the parameter keeps its value. Unknown ids, and the persisted fields (read leniently by
/// their own types), are left to nice-plug.
pub fn filter_state(state: &mut PluginState) {
    state.params.retain(|id, value| {
        let Some(spec) = ParamId::from_id(id).map(ParamId::spec) else { return true };
        match value {
            ParamValue::F32(v) if !v.is_finite() => false,
            ParamValue::F32(v) => {
                *v = spec.clamp(*v);
                true
            }
            ParamValue::I32(i) => {
                let (min, max) = spec.range();
                *i = (*i).clamp(min as i32, max as i32);
                true
            }
            ParamValue::Bool(_) | ParamValue::String(_) => true,
        }
    });
}
