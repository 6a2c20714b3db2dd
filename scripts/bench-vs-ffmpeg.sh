#!/usr/bin/env bash
# The offline analysis against ffmpeg's EBU R128 meter on the same 3-minute stereo file, one
# core each, in one run:
#
#   ffmpeg -threads 1 -nostats -i FILE -filter_complex ebur128=peak=true -f null -
#   audiocollab analyze FILE --json        (release build)
#
# Prints each one's wall time as x realtime (seconds of audio per second of wall time) and their
# ratio. The file is assets/demo.flac looped to 3 minutes, resampled to a 48 kHz stereo 24-bit
# WAV in a temporary directory. Both timings include reading and decoding that file; ours also
# includes the whole analysis (loudness, true peak, tempo, key, sections, character, tonal
# balance, findings) and writing the JSON report. The analysis uses one thread.
#
# Needs ffmpeg (Debian: ffmpeg). Uses hyperfine when installed (Debian: hyperfine), else the
# best of RUNS runs timed by the shell. Not part of CI: timings depend on the machine.
#
# Environment: RUNS (default 5), CARGO_TARGET_DIR (default ./target).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
runs=${RUNS:-5}
seconds=180
target_dir=${CARGO_TARGET_DIR:-$root/target}

if ! command -v ffmpeg >/dev/null; then
    echo "error: ffmpeg not found (Debian: apt-get install ffmpeg)" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
file=$work/track-3min.wav
ffmpeg -v error -stream_loop -1 -i assets/demo.flac -t "$seconds" -ar 48000 -ac 2 -c:a pcm_s24le "$file"
echo "file: assets/demo.flac looped to $seconds s, 48 kHz stereo 24-bit WAV ($(du -h "$file" | cut -f1))"

# Wall time of a command in seconds: hyperfine's mean, or the best of $runs shell-timed runs.
time_command() {
    if command -v hyperfine >/dev/null; then
        hyperfine --style none --warmup 1 --runs "$runs" --export-json "$work/hf.json" "$1" >/dev/null
        python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["mean"])' "$work/hf.json"
    else
        local best="" t
        for _ in $(seq "$runs"); do
            t=$( { TIMEFORMAT=%R; time bash -c "$1" >/dev/null 2>&1; } 2>&1 )
            if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
        done
        echo "$best"
    fi
}
if command -v hyperfine >/dev/null; then timer="hyperfine, mean of $runs runs"; else timer="best of $runs runs"; fi

echo "building the release CLI (cargo build --release --bin audiocollab)..."
cargo build --release --quiet -p audiocollab-cli --bin audiocollab
cli=$target_dir/release/audiocollab
# Fail early (set -e) if the command cannot analyse the file.
"$cli" analyze "$file" --json >/dev/null

ffmpeg_cmd="ffmpeg -threads 1 -nostats -hide_banner -i '$file' -filter_complex ebur128=peak=true -f null -"
ffmpeg_s=$(time_command "$ffmpeg_cmd")

ours_what="audiocollab analyze --json (release build; $timer)"
ours_s=$(time_command "'$cli' analyze '$file' --json")

echo
printf '%-68s %8s %12s\n' "one core, $seconds s of 48 kHz stereo" "seconds" "x realtime"
printf '%-68s %8.3f %12.0f\n' "ffmpeg ebur128=peak=true ($timer)" "$ffmpeg_s" "$(awk -v s="$ffmpeg_s" -v d="$seconds" 'BEGIN { print d / s }')"
printf '%-68s %8.3f %12.0f\n' "$ours_what" "$ours_s" "$(awk -v s="$ours_s" -v d="$seconds" 'BEGIN { print d / s }')"
echo "ratio: the full analysis runs $(awk -v a="$ffmpeg_s" -v b="$ours_s" 'BEGIN { printf "%.2f", a / b }') x as fast as ffmpeg's loudness meter alone"
