//! Links the system OpenBLAS (feature `openblas-system`) through pkg-config, and stops the
//! build with one readable message when it is missing, instead of letting the linker fail
//! later with a wall of undefined `cblas_*` symbols.

use std::path::Path;

const INSTALL_HINT: &str = "OpenBLAS was not found. initlab-gemm links the system OpenBLAS \
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

/// Without a BLAS feature: the library to link by name (`openblas` for an OpenBLAS built by
/// hand), one that exports CBLAS and OpenBLAS's thread functions with 32-bit integers, so
/// that a project linking its own needs no RUSTFLAGS, which rebuild every crate.
const BLAS_LIB_VAR: &str = "INITLAB_GEMM_BLAS_LIB";
/// The folder to search for it, when the linker would not look there.
const BLAS_DIR_VAR: &str = "INITLAB_GEMM_BLAS_DIR";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo::rerun-if-env-changed={BLAS_LIB_VAR}");
    println!("cargo::rerun-if-env-changed={BLAS_DIR_VAR}");
    let feature = |name: &str| std::env::var_os(format!("CARGO_FEATURE_{name}")).is_some();
    let lib = std::env::var(BLAS_LIB_VAR).ok();
    if !feature("OPENBLAS_SYSTEM") && !feature("OPENBLAS_STATIC") {
        if let Some(lib) = lib {
            link_by_name(&lib);
        }
        return;
    }
    if lib.is_some() {
        println!(
            "cargo::warning={BLAS_LIB_VAR} is ignored: a feature of initlab-gemm's links OpenBLAS \
             (build with --no-default-features to link another BLAS)"
        );
    }
    if !feature("OPENBLAS_SYSTEM") || std::env::var_os("DOCS_RS").is_some() {
        return;
    }
    link_system_openblas();
}

/// Links the system OpenBLAS (its BLAS, CBLAS and LAPACK, which `ndarray-linalg` calls
/// too) as pkg-config describes it, or from the first of [`LIBRARY_DIRS`] that holds it:
/// no other crate, download or C compiler involved.
fn link_system_openblas() {
    if pkg_config::Config::new()
        .env_metadata(false)
        .probe("openblas")
        .is_ok()
    {
        return;
    }
    let found = LIBRARY_DIRS.iter().find(|dir| {
        ["libopenblas.so", "libopenblas.dylib", "libopenblas.a"]
            .iter()
            .any(|file| Path::new(dir).join(file).exists())
    });
    match found {
        Some(dir) => {
            println!("cargo::rustc-link-search=native={dir}");
            println!("cargo::rustc-link-lib=openblas");
        }
        None => println!("cargo::error={INSTALL_HINT}"),
    }
}

/// Links `lib` (a library name, as in `-l NAME`) from `INITLAB_GEMM_BLAS_DIR` if set.
fn link_by_name(lib: &str) {
    let valid = !lib.is_empty()
        && !lib.starts_with('-')
        && lib
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+'));
    if !valid {
        println!(
            "cargo::error={BLAS_LIB_VAR}={lib:?}: expected a library name as given to `-l` \
             (`openblas` for libopenblas.so), without `-l`, `lib`, a path or spaces"
        );
        return;
    }
    if let Some(dir) = std::env::var_os(BLAS_DIR_VAR) {
        println!(
            "cargo::rustc-link-search=native={}",
            Path::new(&dir).display()
        );
    }
    println!("cargo::rustc-link-lib={lib}");
}
