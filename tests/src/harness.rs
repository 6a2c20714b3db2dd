//! What the CLAP and VST3 harnesses ([`crate::clap_host`], [`crate::vst3_host`]) share: the
//! parameter changes they send while processing, the checks and block cutting of a `process`
//! call, and the scoped audio thread the plugin's processing calls run on.

use std::ops::Range;

use anyhow::{ensure, Result};

/// A parameter change sent while processing: a `CLAP_EVENT_PARAM_VALUE` event in
/// [`crate::clap_host::TestHost::process`], a point in `inputParameterChanges` in
/// [`crate::vst3_host::Vst3Host::process`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamChange {
    /// Sample index in the whole signal passed to `process` (not in a block).
    pub time: usize,
    /// Parameter id: nice-plug's hash of the string id, the same number for CLAP and VST3
    /// ([`crate::clap_host::clap_param_id`]).
    pub id: u32,
    /// New value in the API's units: the CLAP host value or the VST3 normalized value `0..=1`
    /// (see each harness's module docs).
    pub value: f64,
}

/// Checks the arguments of a `process` call for a plugin set up for `channels` channels and
/// blocks of up to `max_block` frames: that many input channels of one length, block sizes
/// within `1..=max_block`, no change past the end. Returns the frame count and the changes
/// sorted by time (stably: points at the same sample keep their order).
pub(crate) fn check_process<S: AsRef<[f32]>>(
    input: &[S],
    channels: usize,
    block_sizes: &[usize],
    max_block: usize,
    changes: &[ParamChange],
) -> Result<(usize, Vec<ParamChange>)> {
    ensure!(input.len() == channels, "{} input channels for a {channels}-channel layout", input.len());
    let frames = input[0].as_ref().len();
    ensure!(input.iter().all(|c| c.as_ref().len() == frames), "input channels differ in length");
    ensure!(
        !block_sizes.is_empty() && block_sizes.iter().all(|&n| (1..=max_block).contains(&n)),
        "block sizes must be within 1..={max_block}: {block_sizes:?}"
    );
    let mut changes = changes.to_vec();
    changes.sort_by_key(|c| c.time);
    ensure!(changes.iter().all(|c| c.time < frames.max(1)), "a parameter change is past the end");
    Ok((frames, changes))
}

/// Cuts `frames` into blocks whose sizes cycle through `block_sizes` (the last one shortened to
/// fit), each with the `changes` (sorted by time) that fall inside it.
pub(crate) fn cut_into_blocks<'a>(
    frames: usize,
    block_sizes: &[usize],
    changes: &'a [ParamChange],
) -> Vec<(Range<usize>, &'a [ParamChange])> {
    let mut blocks = Vec::new();
    let (mut start, mut changes) = (0, changes);
    for &size in block_sizes.iter().cycle() {
        if start >= frames {
            break;
        }
        let end = (start + size).min(frames);
        let (inside, later) = changes.split_at(changes.partition_point(|c| c.time < end));
        blocks.push((start..end, inside));
        (start, changes) = (end, later);
    }
    blocks
}

/// Runs `f` on a new scoped thread, the plugin's audio thread for this call, and returns its
/// result; a panic there (from the plugin) is resumed on the calling thread.
pub(crate) fn on_audio_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
}
