#!/usr/bin/env bash
# Build times of the test targets on this machine: a clean debug build (dependencies included),
# then an incremental rebuild after touching one window file and one DSP file: the time until
# every test binary is rebuilt (`cargo test --no-run`), as a developer's edit-test loop sees it.
#   usage: scripts/bench-build.sh [WINDOW_FILE DSP_FILE]   (run from the workspace root)
# It deletes the target directory first. To time another commit, run it from a worktree of that
# commit with the files of its layout, e.g. before the crate split (40c4d34):
#   git worktree add /tmp/before 40c4d34 && cd /tmp/before &&
#   bash "$OLDPWD/scripts/bench-build.sh" plugin/src/editor/meters.rs plugin/src/dsp/eq.rs
set -euo pipefail
window_file=${1:-plugin/audiocollab/src/editor/meters.rs}
dsp_file=${2:-plugin/core/src/dsp/eq.rs}
for f in "$window_file" "$dsp_file"; do
    [ -f "$f" ] || { echo "no such file: $f (run from the workspace root)" >&2; exit 1; }
done
build() { cargo test --workspace --locked --all-targets --no-run --quiet >/dev/null 2>&1; }
seconds() {
    local start
    start=$(date +%s.%N)
    "$@"
    awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }'
}
rm -rf "${CARGO_TARGET_DIR:-target}"
cargo fetch --locked --quiet
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); $(rustc --version)"
echo "clean debug build of the test targets: $(seconds build) s"
touch "$window_file"
echo "rebuild after touching $window_file: $(seconds build) s"
touch "$dsp_file"
echo "rebuild after touching $dsp_file: $(seconds build) s"
