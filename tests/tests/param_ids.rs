//! Parameter ids are a frozen public API: hosts save automation and presets by id. This test
//! fails if an id is renamed, removed or added without updating the golden list on purpose
//! (and the CHANGELOG saying so).

use audiocollab::params::AudioCollabParams;
use audiocollab_core::spec::PARAMS;
use nice_plug::prelude::Params;

/// Golden list, in table order. Append only.
const GOLDEN: [&str; 38] = [
    "in_gain",
    "hp_on",
    "hp_freq",
    "hp_slope",
    "ls_on",
    "ls_freq",
    "ls_gain",
    "b1_on",
    "b1_freq",
    "b1_gain",
    "b1_q",
    "b2_on",
    "b2_freq",
    "b2_gain",
    "b2_q",
    "hs_on",
    "hs_freq",
    "hs_gain",
    "cmp_on",
    "cmp_thr",
    "cmp_ratio",
    "cmp_att",
    "cmp_rel",
    "cmp_knee",
    "cmp_mkup",
    "cmp_mix",
    "cmp_link",
    "ds_on",
    "ds_freq",
    "ds_thr",
    "ds_range",
    "pan",
    "width",
    "out_gain",
    "bypass",
    "mute",
    "polarity_l",
    "polarity_r",
];

#[test]
fn table_ids_match_the_golden_list() {
    let table: Vec<&str> = PARAMS.iter().map(|p| p.id).collect();
    assert_eq!(table, GOLDEN);
}

#[test]
fn host_visible_ids_match_the_table() {
    let params = AudioCollabParams::default();
    let map = params.param_map();
    let host: Vec<&str> = map.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(host, GOLDEN, "host-visible order or ids differ from the table");
    // Names and groups come from the table too.
    for ((id, ptr, group), spec) in map.iter().zip(PARAMS.iter()) {
        // SAFETY: the pointers come from `params`, which outlives this loop.
        let name = unsafe { ptr.name() };
        assert_eq!(name, spec.name, "{id}");
        assert_eq!(group, spec.group.label(), "{id}");
    }
}

#[test]
fn host_ranges_and_defaults_match_the_table() {
    let params = AudioCollabParams::default();
    let defaults = params.settings();
    for spec in &PARAMS {
        assert_eq!(defaults.get(spec.param), spec.default, "{}", spec.id);
    }
    for (id, ptr, _) in params.param_map() {
        let spec = PARAMS.iter().find(|s| s.id == id).expect("id in table");
        let (min, max) = spec.range();
        // SAFETY: as above.
        let (lo, hi) = unsafe { (ptr.preview_plain(0.0), ptr.preview_plain(1.0)) };
        assert!((lo - min).abs() < 1e-4 && (hi - max).abs() < 1e-3, "{id}: host {lo}..{hi}, table {min}..{max}");
    }
}
