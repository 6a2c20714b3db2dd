#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need (list: .ci/apt-packages.txt).
# Needs root or sudo. Rust itself comes from rustup (https://rustup.rs); rustc >= 1.88.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
packages=$(grep -v '^\s*#' .ci/apt-packages.txt | grep -v '^\s*$' | tr '\n' ' ')
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $packages >/dev/null
if ! command -v cargo >/dev/null; then
    echo "error: cargo not found. Install Rust with rustup (https://rustup.rs), then re-run." >&2
    exit 1
fi
echo "system packages installed; $(cargo --version)"
