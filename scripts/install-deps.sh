#!/usr/bin/env bash
# Installs what initlab needs beyond Rust -- OpenBLAS and pkg-config -- when missing.
# Debian/Ubuntu only (apt); uses sudo when not run as root. Does nothing when both exist.
set -euo pipefail

if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openblas; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "initlab needs OpenBLAS and pkg-config, and this machine has no apt-get." >&2
    echo "Install them with your package manager (e.g. 'dnf install openblas-devel pkgconf'," >&2
    echo "'brew install openblas pkg-config'), or build with --features openblas-static." >&2
    exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
    sudo=(sudo)
fi
echo "install-deps: installing libopenblas-dev and pkg-config with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >/dev/null
"${sudo[@]}" apt-get install -y -q --no-install-recommends libopenblas-dev pkg-config >/dev/null
pkg-config --exists openblas || {
    echo "install-deps: libopenblas-dev is installed but pkg-config cannot find 'openblas'" >&2
    exit 1
}
