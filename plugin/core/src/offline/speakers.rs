//! Which speaker each decoded channel feeds ([`ChannelLayout`]), from what the file states:
//!
//! * **WAV**: the `dwChannelMask` of a `WAVE_FORMAT_EXTENSIBLE` header, read here
//!   ([`wav_channel_mask`]): symphonia makes up a mask from the channel count for a plain WAV
//!   (0x1F for five channels: a fourth channel that would be an LFE) and silently "fixes" a
//!   mask that does not match the count, so its mask cannot tell a stated layout from none.
//! * **FLAC**: the order the format defines for each channel count (symphonia's channel mask).
//! * **Ogg Vorbis**: the order the Vorbis I specification defines (§4.3.9), which puts the
//!   centre second (L C R …); symphonia reports the speakers but not that order.
//! * Anything else, a mask of 0 ("not stated") or one that does not match the channel count:
//!   the default order for the count, [`ChannelLayout::itu`].

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use symphonia::core::audio::Channels;
use symphonia::core::codecs::{CodecType, CODEC_TYPE_FLAC, CODEC_TYPE_VORBIS};

use crate::meter::{ChannelLayout, Speaker};

/// `WAVE_FORMAT_EXTENSIBLE`.
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// The layout of a decoded stream of `count` channels; `None` for more channels than a meter
/// takes. `wav_mask` is what [`wav_channel_mask`] read, `channels` what symphonia reports.
pub fn layout_of(
    codec: CodecType,
    channels: Option<Channels>,
    wav_mask: Option<u32>,
    count: usize,
) -> Option<ChannelLayout> {
    let stated = match wav_mask {
        Some(mask) => ChannelLayout::from_mask(mask, count),
        None if codec == CODEC_TYPE_VORBIS => vorbis_order(count),
        None if codec == CODEC_TYPE_FLAC => channels.and_then(|c| ChannelLayout::from_mask(c.bits(), count)),
        None => None,
    };
    stated.or_else(|| ChannelLayout::itu(count))
}

/// The Vorbis I channel order (§4.3.9) for up to six channels.
fn vorbis_order(count: usize) -> Option<ChannelLayout> {
    use Speaker::*;
    let speakers: &[Speaker] = match count {
        3 => &[FrontLeft, FrontCentre, FrontRight],
        5 => &[FrontLeft, FrontCentre, FrontRight, BackLeft, BackRight],
        6 => &[FrontLeft, FrontCentre, FrontRight, BackLeft, BackRight, Lfe],
        _ => return ChannelLayout::itu(count),
    };
    ChannelLayout::from_speakers(speakers)
}

/// The channel mask of a WAV (RIFF or RF64) file whose format is `WAVE_FORMAT_EXTENSIBLE`;
/// `None` for any other file or format. Leaves `file` positioned at the start.
pub fn wav_channel_mask(file: &mut File) -> io::Result<Option<u32>> {
    let result = (|| -> io::Result<Option<u32>> {
        let mut header = [0u8; 12];
        if file.read_exact(&mut header).is_err()
            || !matches!(&header[0..4], b"RIFF" | b"RF64")
            || &header[8..12] != b"WAVE"
        {
            return Ok(None);
        }
        let len = file.metadata()?.len();
        let mut pos = 12u64;
        // Chunks are id + little-endian size + data padded to an even length; `fmt ` comes
        // before `data` in any playable file. A damaged size just ends the walk.
        while pos + 8 <= len {
            file.seek(SeekFrom::Start(pos))?;
            let mut chunk = [0u8; 8];
            file.read_exact(&mut chunk)?;
            let size = u64::from(u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]));
            if &chunk[0..4] == b"fmt " {
                // Format tag (2), channels, rate, byte rate, block align, bits, extension size,
                // valid bits (2 each but the rates, 4), then the mask.
                let mut fmt = [0u8; 24];
                if size < 24 || file.read_exact(&mut fmt).is_err() {
                    return Ok(None);
                }
                let tag = u16::from_le_bytes([fmt[0], fmt[1]]);
                return Ok((tag == FORMAT_EXTENSIBLE).then(|| u32::from_le_bytes([fmt[20], fmt[21], fmt[22], fmt[23]])));
            }
            if &chunk[0..4] == b"data" {
                return Ok(None);
            }
            pos += 8 + size + (size & 1);
        }
        Ok(None)
    })();
    file.seek(SeekFrom::Start(0))?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use symphonia::core::codecs::{CODEC_TYPE_MP3, CODEC_TYPE_PCM_F32LE};

    #[test]
    fn stated_layouts_win_and_the_default_fills_in() {
        // A mask that puts the LFE third (4.1 without a centre).
        let l = layout_of(CODEC_TYPE_PCM_F32LE, None, Some(0x3B), 5).unwrap();
        assert_eq!(l.describe(), "L R LFE Lb Rb");
        // A mask of 0, a mask for another count, no mask: the default.
        for mask in [Some(0), Some(0x3F), None] {
            assert_eq!(layout_of(CODEC_TYPE_PCM_F32LE, None, mask, 5).unwrap().describe(), "L R C Ls Rs");
        }
        // Symphonia's made-up mask for a plain WAV is not a statement.
        let made_up = Channels::from_bits(0x1F);
        assert_eq!(layout_of(CODEC_TYPE_PCM_F32LE, made_up, None, 5).unwrap().describe(), "L R C Ls Rs");
        let vorbis = layout_of(CODEC_TYPE_VORBIS, made_up, None, 6).unwrap();
        assert_eq!(vorbis.weights(), [1.0, 1.0, 1.0, 1.41, 1.41, 0.0]);
        let flac = Channels::from_bits(0x3F);
        assert_eq!(layout_of(CODEC_TYPE_FLAC, flac, None, 6).unwrap().describe(), "L R C LFE Lb Rb");
        assert_eq!(layout_of(CODEC_TYPE_MP3, None, None, 2).unwrap().describe(), "L R");
        assert!(layout_of(CODEC_TYPE_PCM_F32LE, None, None, 8).is_none());
    }
}
