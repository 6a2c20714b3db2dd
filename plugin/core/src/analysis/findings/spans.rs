//! Turning flagged instants into stretches of time: merging close ones, dropping short ones,
//! and sliding windows over the frames.

use crate::analysis::timeline::FrameStats;

/// A stretch of time, seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Span {
    pub start: f64,
    pub end: f64,
}

impl Span {
    pub fn len(&self) -> f64 {
        self.end - self.start
    }

    /// Length of the overlap with `other`, seconds.
    pub fn overlap(&self, other: &Span) -> f64 {
        (self.end.min(other.end) - self.start.max(other.start)).max(0.0)
    }
}

/// Joins flagged intervals (in time order) into spans: intervals less than `merge_gap` apart
/// become one span; spans shorter than `min_len` are dropped.
pub(super) fn join(items: impl IntoIterator<Item = (f64, f64)>, merge_gap: f64, min_len: f64) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for (start, end) in items {
        match out.last_mut() {
            Some(last) if start - last.end < merge_gap => last.end = last.end.max(end),
            _ => out.push(Span { start, end }),
        }
    }
    out.retain(|s| s.len() >= min_len - 1e-9);
    out
}

/// Slides a window of `len` frames over `frames`, one frame at a time, and returns for each
/// window the interval it stands for and `measure(window)`. The interval is a frame's length
/// around the window's centre or, for the first and last windows, reaches out to the window's
/// outer edge (so a stretch that runs to the edge of the frames reaches it). Fewer frames than
/// `len` make one window.
pub(super) fn windows<T>(
    frames: &[FrameStats],
    len: usize,
    mut measure: impl FnMut(&[FrameStats]) -> T,
) -> Vec<((f64, f64), T)> {
    if frames.is_empty() {
        return Vec::new();
    }
    let len = len.clamp(1, frames.len());
    let count = frames.len() + 1 - len;
    (0..count)
        .map(|i| {
            let w = &frames[i..i + len];
            let centre = 0.5 * (w[0].start_s + w[len - 1].end_s());
            let half = 0.5 * w[len / 2].duration_s;
            let start = if i == 0 { w[0].start_s } else { centre - half };
            let end = if i + 1 == count { w[len - 1].end_s() } else { centre + half };
            ((start, end), measure(w))
        })
        .collect()
}

/// Like [`windows`], but each window stands for its whole extent (first frame's start to last
/// frame's end): for checks whose windows only pass when the whole window has the problem.
pub(super) fn window_extents<T>(
    frames: &[FrameStats],
    len: usize,
    mut measure: impl FnMut(&[FrameStats]) -> T,
) -> Vec<((f64, f64), T)> {
    if frames.is_empty() {
        return Vec::new();
    }
    let len = len.clamp(1, frames.len());
    frames.windows(len).map(|w| ((w[0].start_s, w[len - 1].end_s()), measure(w))).collect()
}

/// The intervals of the windows whose value passes `test`, for [`join`].
pub(super) fn flagged<'a, T>(
    windows: &'a [((f64, f64), T)],
    mut test: impl FnMut(&T) -> bool + 'a,
) -> impl Iterator<Item = (f64, f64)> + 'a {
    windows.iter().filter(move |(_, v)| test(v)).map(|&(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_merges_close_and_drops_short() {
        let s = join([(0.0, 0.1), (0.15, 0.3), (2.0, 2.05), (5.0, 7.0)], 0.1, 0.2);
        assert_eq!(s, vec![Span { start: 0.0, end: 0.3 }, Span { start: 5.0, end: 7.0 }]);
    }
}
