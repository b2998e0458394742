//! Which GEMM kernel a command runs its f32 products on: `--gemm`, or the environment
//! variable [`GEMM_VAR`] that scripts set for every command they run, or OpenBLAS.

use initlab_gemm::{CpuFeatures, Kernel};

/// The environment variable that chooses the kernel where no `--gemm` is given.
pub const GEMM_VAR: &str = "INITLAB_GEMM";

/// The kernel `arg` names (`--gemm`), or else [`GEMM_VAR`], or else OpenBLAS.
///
/// # Errors
/// An unknown name, or a packed kernel this CPU cannot run, naming where it came from and
/// what was expected.
pub fn chosen(arg: Option<&str>) -> Result<Kernel, String> {
    chosen_on(arg, std::env::var(GEMM_VAR), CpuFeatures::detect())
}

/// [`chosen`] with the variable's value and the CPU's features given.
fn chosen_on(
    arg: Option<&str>,
    var: Result<String, std::env::VarError>,
    cpu: CpuFeatures,
) -> Result<Kernel, String> {
    let (name, from) = match (arg, var) {
        (Some(name), _) => (name.to_owned(), "--gemm"),
        (None, Ok(name)) => (name, GEMM_VAR),
        (None, Err(std::env::VarError::NotPresent)) => return Ok(Kernel::OPENBLAS),
        (None, Err(std::env::VarError::NotUnicode(_))) => {
            return Err(format!("{GEMM_VAR}: not UTF-8; expected a kernel's name"));
        }
    };
    Kernel::parse(&name, cpu).map_err(|error| format!("{from}: {error}"))
}

#[cfg(test)]
mod tests {
    use std::env::VarError;

    use super::*;

    const AVX2: CpuFeatures = CpuFeatures {
        x86_64: true,
        avx512f: false,
        avx2: true,
        fma: true,
    };

    #[test]
    fn the_flag_wins_over_the_variable_which_wins_over_openblas() {
        let var = || Ok("packed".to_owned());
        assert_eq!(
            chosen_on(Some("openblas"), var(), AVX2),
            Ok(Kernel::OPENBLAS)
        );
        assert_eq!(
            chosen_on(None, var(), AVX2).unwrap().to_string(),
            "packed-avx2"
        );
        assert_eq!(
            chosen_on(None, Err(VarError::NotPresent), AVX2),
            Ok(Kernel::OPENBLAS)
        );
    }

    #[test]
    fn a_bad_name_says_where_it_came_from() {
        let error = chosen_on(None, Ok("blis".into()), AVX2).unwrap_err();
        assert!(
            error.starts_with("INITLAB_GEMM: unknown GEMM kernel \"blis\""),
            "{error}"
        );
        let error = chosen_on(Some("packed-avx512"), Err(VarError::NotPresent), AVX2).unwrap_err();
        assert!(
            error.starts_with("--gemm: the GEMM kernel packed-avx512 needs AVX-512F"),
            "{error}"
        );
    }
}
