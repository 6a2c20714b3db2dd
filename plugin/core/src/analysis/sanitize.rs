//! Non-finite samples (NaN, ±infinity) in decoded audio: counted, located and concealed, one
//! decoded block at a time.
//!
//! A float file can hold samples that are not numbers: a plugin that blew up, a broken export.
//! They are not audio, so no measure may see them. Left in, one of them makes every sum and
//! filter it reaches non-finite; set to zero (what the meters do as a last resort, see
//! [`crate::meter::loudness_grid`]), each becomes a click: 100 of them in a song raised its
//! 2–5 kHz bands by about 17 dB and its air band by 30 dB, and lost its key. So the decoder
//! hands every block to a [`Sanitizer`] before anything else reads it, which:
//!
//! * replaces each run of non-finite samples in a channel by a straight line between the
//!   finite samples on either side: a missing sample is filled from its neighbours, which adds
//!   (almost) nothing to any band. A run that starts a block starts from the previous block's
//!   last sample (from 0 at the start of the stream); a run that ends a block holds its last
//!   finite value, as the samples after it are not decoded yet;
//! * counts them, per 100 ms frame of the analysis timeline ([`frame_of_sample`]), so the
//!   analysis can report where they were ([`super::timeline::Timeline::note_non_finite`])
//!   and `render` can say what it replaced.
//!
//! The analysis conceals them the same way in audio that did not come from the decoder
//! ([`super::track::analyze`], [`super::spectral::Features::compute`]).
//!
//! Memory: one entry per 100 ms frame that holds any (at most 1.2 MB for two hours of nothing
//! but NaN).

use crate::meter::stats::frame_of_sample;

/// What a [`Sanitizer`] found in a stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NonFinite {
    /// Non-finite samples, summed over the channels.
    pub samples: u64,
    /// Samples seen in all (frames × channels).
    pub total: u64,
    /// Sample rate of the stream, Hz (0 before the first block).
    pub sample_rate: u32,
    /// `(frame, count)` for every 100 ms frame of the stream that holds non-finite samples, in
    /// order: frame `n` covers the samples `⌊n·fs/10⌋ .. ⌊(n+1)·fs/10⌋`, as the analysis
    /// timeline's frames do.
    pub frames: Vec<(u64, u32)>,
}

/// A stretch of the stream with non-finite samples, for messages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NonFiniteSpan {
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Non-finite samples in it.
    pub samples: u64,
}

impl NonFinite {
    /// No non-finite sample was found.
    pub fn is_empty(&self) -> bool {
        self.samples == 0
    }

    /// Every sample was non-finite: the stream has no valid samples.
    pub fn all_invalid(&self) -> bool {
        self.total > 0 && self.samples == self.total
    }

    /// The stretches holding non-finite samples: frames less than `merge_s` seconds apart make
    /// one stretch.
    pub fn spans(&self, merge_s: f64) -> Vec<NonFiniteSpan> {
        let rate = f64::from(self.sample_rate.max(1));
        let start_of = |frame: u64| (frame * u64::from(self.sample_rate) / 10) as f64 / rate;
        let mut out: Vec<NonFiniteSpan> = Vec::new();
        for &(frame, count) in &self.frames {
            let (start_s, end_s) = (start_of(frame), start_of(frame + 1));
            match out.last_mut() {
                Some(last) if start_s - last.end_s < merge_s => {
                    last.end_s = end_s;
                    last.samples += u64::from(count);
                }
                _ => out.push(NonFiniteSpan { start_s, end_s, samples: u64::from(count) }),
            }
        }
        out
    }
}

/// Conceals and counts the non-finite samples of a stream, block by block (see the module
/// documentation).
#[derive(Clone, Debug, Default)]
pub struct Sanitizer {
    found: NonFinite,
    /// Last sample of each channel in the previous block (after concealment).
    last: Vec<f32>,
    /// Counts per frame of the block being processed, reused.
    scratch: Vec<u32>,
}

impl Sanitizer {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Conceals the non-finite samples of the next block of the stream in place:
    /// `block[ch][i]` is frame `first_frame + i` of channel `ch` (all channels as long as the
    /// shortest is used), at `sample_rate` Hz.
    pub fn conceal<C: AsMut<[f32]>>(&mut self, block: &mut [C], first_frame: u64, sample_rate: u32) {
        let len = block.iter_mut().map(|c| c.as_mut().len()).min().unwrap_or(0);
        if len == 0 || sample_rate == 0 {
            return;
        }
        self.found.sample_rate = sample_rate;
        self.found.total += (len * block.len()) as u64;
        if self.last.len() < block.len() {
            self.last.resize(block.len(), 0.0);
        }
        let first_seq = frame_of_sample(first_frame, sample_rate);
        let last_seq = frame_of_sample(first_frame + len as u64 - 1, sample_rate);
        self.scratch.clear();
        self.scratch.resize((last_seq - first_seq + 1) as usize, 0);
        for (channel, last) in block.iter_mut().zip(self.last.iter_mut()) {
            let x = &mut channel.as_mut()[..len];
            let mut i = 0;
            while i < len {
                if x[i].is_finite() {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < len && !x[i].is_finite() {
                    let seq = frame_of_sample(first_frame + i as u64, sample_rate);
                    self.scratch[(seq - first_seq) as usize] += 1;
                    i += 1;
                }
                let before = if start > 0 { x[start - 1] } else { *last };
                let after = if i < len { x[i] } else { before };
                let steps = (i - start + 1) as f32;
                for (k, s) in x[start..i].iter_mut().enumerate() {
                    *s = before + (after - before) * ((k + 1) as f32 / steps);
                }
            }
            *last = x[len - 1];
        }
        for (offset, &count) in self.scratch.iter().enumerate().filter(|(_, &c)| c > 0) {
            let seq = first_seq + offset as u64;
            self.found.samples += u64::from(count);
            match self.found.frames.last_mut() {
                Some((last, n)) if *last == seq => *n = n.saturating_add(count),
                _ => self.found.frames.push((seq, count)),
            }
        }
    }

    /// What was found so far.
    pub fn found(&self) -> &NonFinite {
        &self.found
    }

    /// Ends the stream: what was found.
    pub fn finish(self) -> NonFinite {
        self.found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_bridged_by_a_line_and_counted_per_frame() {
        let mut s = Sanitizer::new();
        let mut block = vec![
            vec![0.0, 1.0, f32::NAN, f32::INFINITY, 4.0, 5.0],
            vec![f32::NEG_INFINITY, 2.0, 2.0, 2.0, 2.0, f32::NAN],
        ];
        s.conceal(&mut block, 0, 48_000);
        assert_eq!(block[0], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        // From the stream's start (0) to the next sample; the trailing run holds.
        assert_eq!(block[1], [1.0, 2.0, 2.0, 2.0, 2.0, 2.0]);
        let found = s.finish();
        assert_eq!((found.samples, found.total), (4, 12));
        assert_eq!(found.frames, [(0, 4)]);
        assert!(!found.all_invalid());
    }

    #[test]
    fn a_run_starting_a_block_starts_from_the_previous_block() {
        let mut s = Sanitizer::new();
        let mut a = [vec![0.5f32; 4800]];
        s.conceal(&mut a, 0, 48_000);
        let mut b = [vec![f32::NAN, f32::NAN, f32::NAN, 2.5]];
        s.conceal(&mut b, 4800, 48_000);
        assert_eq!(b[0], [1.0, 1.5, 2.0, 2.5]);
        // 4800 is the first sample of frame 1.
        assert_eq!(s.found().frames, [(1, 3)]);
        let mut c = [vec![f32::NAN; 9600]];
        s.conceal(&mut c, 4804, 48_000);
        assert!(c[0].iter().all(|&x| x == 2.5));
        assert_eq!(s.found().frames, [(1, 3 + 4796), (2, 4800), (3, 4)]);
        let spans = s.found().spans(1.0);
        assert_eq!(spans.len(), 1);
        assert_eq!((spans[0].start_s, spans[0].end_s, spans[0].samples), (0.1, 0.4, 9603));
    }

    #[test]
    fn all_nan_has_no_valid_samples() {
        let mut s = Sanitizer::new();
        let mut block = [vec![f32::NAN; 100], vec![f32::NAN; 100]];
        s.conceal(&mut block, 0, 44_100);
        assert!(block.iter().flatten().all(|&x| x == 0.0));
        assert!(s.finish().all_invalid());
    }
}
