#!/usr/bin/env bash
# Peak memory and wall time of `audiocollab analyze` and `audiocollab render` on long files:
# the check of issue 9, item 8 (memory flat in the length of the file; goal for 2 hours:
# render <= 100 MB, analyze <= 250 MB).
#
#   /usr/bin/time -v audiocollab analyze FILE --json          > /dev/null
#   /usr/bin/time -v audiocollab render  FILE OUT.wav --set b2_gain=3dB
#
# The files are assets/demo.flac looped with sox to 10 minutes and 2 hours, as 48 kHz mono
# 16-bit WAV (the case the issue measured: 2 h is 691 MB), written under target/bench-memory/
# (never committed) and reused by later runs. "Maximum resident set size" and "Elapsed (wall
# clock) time" come from GNU time; one run each (the 2-hour runs take minutes).
#
# Compares with an older build when BEFORE names its binary, e.g. the release binary of the
# base commit built into another target dir:
#   git archive BASE | tar -x -C /tmp/before && \
#     (cd /tmp/before && CARGO_TARGET_DIR=/tmp/before-target cargo build --release -p audiocollab-cli --bin audiocollab)
#   BEFORE=/tmp/before-target/release/audiocollab scripts/bench-memory.sh
#
# Needs sox (Debian: sox) and GNU time (Debian: time). Environment: BEFORE (optional),
# CARGO_TARGET_DIR (default ./target), LENGTHS (default "600 7200", seconds).
# Not part of CI: it needs 2.5 GB of disk and several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
lengths=${LENGTHS:-600 7200}
work=$target_dir/bench-memory
mkdir -p "$work"

for tool in sox /usr/bin/time; do
    if ! command -v "$tool" >/dev/null; then
        echo "error: $tool not found (Debian: apt-get install sox time)" >&2
        exit 1
    fi
done

echo "building the release CLI (cargo build --release -p audiocollab-cli --bin audiocollab)..."
cargo build --release --quiet -p audiocollab-cli --bin audiocollab
after=$target_dir/release/audiocollab

# assets/demo.flac (18.4 s) looped and cut to $1 seconds, 48 kHz mono 16-bit.
make_file() {
    local seconds=$1 file=$work/demo-${1}s-48k-mono.wav
    if [ ! -s "$file" ]; then
        local repeats=$(((seconds * 10 + 183) / 184))
        sox assets/demo.flac -r 48000 -c 1 -b 16 -t wav "$file.partial" repeat "$repeats" trim 0 "$seconds"
        mv "$file.partial" "$file"
    fi
    echo "$file"
}

# Runs a command under GNU time; prints "peak_MB seconds".
measure() {
    local log=$work/time.log
    /usr/bin/time -v -o "$log" "$@" >/dev/null 2>"$work/stderr.log" || {
        echo "error: $* failed:" >&2
        cat "$work/stderr.log" >&2
        exit 1
    }
    local kb wall
    kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$log")
    # "h:mm:ss" or "m:ss.ss" to seconds.
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$log" |
        awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
    awk -v kb="$kb" -v s="$wall" 'BEGIN { printf "%.0f %.2f\n", kb / 1024, s }'
}

builds=("after:$after")
if [ -n "${BEFORE:-}" ]; then
    builds=("before:$BEFORE" "${builds[@]}")
fi

printf '\n%-8s %-7s %-8s %14s %12s\n' "length" "build" "command" "peak RSS (MB)" "wall (s)"
for seconds in $lengths; do
    file=$(make_file "$seconds")
    label=$(awk -v s="$seconds" 'BEGIN { if (s >= 3600) printf "%g h", s / 3600; else printf "%g min", s / 60 }')
    for build in "${builds[@]}"; do
        name=${build%%:*}
        bin=${build#*:}
        read -r mb s < <(measure "$bin" analyze "$file" --json)
        printf '%-8s %-7s %-8s %14s %12s\n' "$label" "$name" "analyze" "$mb" "$s"
        read -r mb s < <(measure "$bin" render "$file" "$work/out.wav" --set b2_gain=3dB)
        printf '%-8s %-7s %-8s %14s %12s\n' "$label" "$name" "render" "$mb" "$s"
        rm -f "$work/out.wav"
    done
done
