//! Stops the build with one readable message when the system OpenBLAS is missing, instead
//! of letting the linker fail later with a wall of undefined `cblas_*` symbols.

use std::path::Path;

const INSTALL_HINT: &str = "OpenBLAS was not found. core-math links the system OpenBLAS \
(feature `openblas-system`, the default). Install it with \
`sudo apt-get install libopenblas-dev pkg-config` on Debian/Ubuntu \
(`dnf install openblas-devel` on Fedora, `brew install openblas` on macOS), \
or build it from source with `--no-default-features --features openblas-static`.";

/// Where distributions put `libopenblas.so` when pkg-config is absent.
const LIBRARY_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
    "/opt/homebrew/opt/openblas/lib",
    "/usr/local/opt/openblas/lib",
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");
    if std::env::var_os("CARGO_FEATURE_OPENBLAS_SYSTEM").is_none()
        || std::env::var_os("DOCS_RS").is_some()
    {
        return;
    }
    // openblas-src emits the link flags; we only check that they will resolve.
    let found_by_pkg_config = pkg_config::Config::new()
        .cargo_metadata(false)
        .env_metadata(false)
        .probe("openblas")
        .is_ok();
    let found_on_disk = LIBRARY_DIRS.iter().any(|dir| {
        ["libopenblas.so", "libopenblas.dylib", "libopenblas.a"]
            .iter()
            .any(|file| Path::new(dir).join(file).exists())
    });
    if !found_by_pkg_config && !found_on_disk {
        println!("cargo::error={INSTALL_HINT}");
    }
}
