#!/usr/bin/env bash
# Installs the system libraries the package links (OpenBLAS, FFTW single precision, libsndfile)
# when they are missing. Debian/Ubuntu via apt (sudo when not root); macOS via Homebrew.
# Usage: Tools/setup.sh
set -euo pipefail

have_pc() { pkg-config --exists "$1" 2>/dev/null; }

if [[ "$(uname)" == "Darwin" ]]; then
    command -v brew >/dev/null || { echo "Homebrew is required: https://brew.sh" >&2; exit 1; }
    for f in openblas fftw libsndfile pkg-config; do
        brew list "$f" >/dev/null 2>&1 || brew install "$f"
    done
    exit 0
fi

missing=()
command -v pkg-config >/dev/null || missing+=(pkg-config)
have_pc openblas || missing+=(libopenblas-dev)
have_pc fftw3f || missing+=(libfftw3-dev)
have_pc sndfile || missing+=(libsndfile1-dev)
if ((${#missing[@]} == 0)); then
    echo "setup: system libraries present (openblas, fftw3f, sndfile)"
    exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
echo "setup: installing ${missing[*]}"
$SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    $SUDO apt-get update -qq
    $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
}
