//! Which code runs the f32 products: OpenBLAS, or initlab-gemm's packed kernel on an
//! instruction set the CPU has. Chosen at run time and handed to each product as an
//! argument ([`Kernel::gemm`], [`Kernel::affine`], [`Kernel::affine_backward`]), so two
//! networks in one process may run on different kernels.

use std::fmt;

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2};

use crate::{AffineGrads, Op, Scalar, ShapeError};

/// The instruction sets the packed kernel has a microkernel for; its bits are the same on
/// both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// AVX-512F: 8 x 32 tiles.
    Avx512,
    /// AVX2 and FMA: 6 x 16 tiles.
    Avx2,
}

impl Isa {
    /// Best first.
    pub(crate) const ALL: [Isa; 2] = [Isa::Avx512, Isa::Avx2];

    /// As CPU manuals name it: `AVX-512` or `AVX2`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx512 => "AVX-512",
            Isa::Avx2 => "AVX2",
        }
    }

    /// What a CPU needs to run it.
    fn needs(self) -> &'static str {
        match self {
            Isa::Avx512 => "AVX-512F",
            Isa::Avx2 => "AVX2 and FMA",
        }
    }
}

/// The CPU features the packed kernel depends on. [`CpuFeatures::detect`] reads this CPU's;
/// a test builds others to see what a CPU without them is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CpuFeatures {
    /// x86-64, the only architecture the packed kernel is written for.
    pub x86_64: bool,
    /// AVX-512 Foundation.
    pub avx512f: bool,
    /// AVX2.
    pub avx2: bool,
    /// Fused multiply-add (FMA3).
    pub fma: bool,
}

impl CpuFeatures {
    /// This CPU's.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            Self {
                x86_64: true,
                avx512f: std::arch::is_x86_feature_detected!("avx512f"),
                avx2: std::arch::is_x86_feature_detected!("avx2"),
                fma: std::arch::is_x86_feature_detected!("fma"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Self::default()
    }

    /// Whether a CPU with these features runs `isa`.
    pub fn runs(self, isa: Isa) -> bool {
        self.x86_64
            && match isa {
                Isa::Avx512 => self.avx512f,
                Isa::Avx2 => self.avx2 && self.fma,
            }
    }

    /// What it has of what the packed kernel needs, for error messages.
    fn summary(self) -> String {
        if !self.x86_64 {
            return "is not x86-64".into();
        }
        let has: Vec<&str> = [
            (self.avx512f, "AVX-512F"),
            (self.avx2, "AVX2"),
            (self.fma, "FMA"),
        ]
        .into_iter()
        .filter_map(|(has, name)| has.then_some(name))
        .collect();
        match has.as_slice() {
            [] => "has none of AVX-512F, AVX2 and FMA".into(),
            has => format!("has only {}", has.join(", ")),
        }
    }
}

/// A kernel asked for that cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// A name that is not a kernel.
    #[error("unknown GEMM kernel {name:?}: expected one of {}", Kernel::NAMES.join(", "))]
    Unknown {
        /// The name given.
        name: String,
    },
    /// The packed kernel on a CPU without the instructions it needs.
    #[error("the GEMM kernel {name} needs {needs}, and this CPU {has}; `openblas` runs anywhere")]
    Unsupported {
        /// The kernel asked for.
        name: String,
        /// What it needs.
        needs: String,
        /// What the CPU has of it.
        has: String,
    },
}

/// The code that runs f32 products. f64 products always run on BLAS, where gradient checks
/// need them, not speed.
///
/// A packed kernel exists only once a CPU's features were checked ([`Kernel::parse`],
/// [`Kernel::packed`]); [`Kernel::default`] is OpenBLAS, the design's default.
///
/// # Examples
/// ```
/// use initlab_gemm::{CpuFeatures, Kernel, Op};
/// use initlab_gemm::ndarray::{array, Array2};
///
/// let kernel = Kernel::parse("openblas", CpuFeatures::detect())?;
/// let (a, b) = (array![[1.0_f32, 2.0]], array![[3.0_f32], [4.0]]);
/// let mut c = Array2::zeros((1, 1));
/// kernel.gemm(1.0, a.view(), Op::Identity, b.view(), Op::Identity, 0.0, c.view_mut())?;
/// assert_eq!(c[[0, 0]], 11.0);
///
/// // A CPU without AVX2 or AVX-512 is told what the packed kernel needs.
/// let old = CpuFeatures { x86_64: true, ..CpuFeatures::default() };
/// let refused = Kernel::parse("packed", old).unwrap_err().to_string();
/// assert!(refused.contains("needs AVX-512F, or AVX2 and FMA"), "{refused}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Kernel(Choice);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
enum Choice {
    #[default]
    OpenBlas,
    Packed(Isa),
}

impl Kernel {
    /// The names [`Kernel::parse`] takes: `packed` is the best instruction set the CPU has.
    pub const NAMES: [&'static str; 4] = ["openblas", "packed", "packed-avx512", "packed-avx2"];

    /// OpenBLAS, for f32 and f64.
    pub const OPENBLAS: Kernel = Kernel(Choice::OpenBlas);

    /// The kernel `name` names (one of [`Kernel::NAMES`], in any case) on a CPU with
    /// `cpu`'s features.
    ///
    /// # Errors
    /// [`KernelError::Unknown`] for any other name; [`KernelError::Unsupported`] for a
    /// packed kernel `cpu` cannot run.
    pub fn parse(name: &str, cpu: CpuFeatures) -> Result<Self, KernelError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "openblas" => Ok(Self::OPENBLAS),
            "packed" => Self::packed(cpu),
            "packed-avx512" => Self::packed_on(Isa::Avx512, cpu),
            "packed-avx2" => Self::packed_on(Isa::Avx2, cpu),
            _ => Err(KernelError::Unknown { name: name.into() }),
        }
    }

    /// The packed kernel on the best instruction set `cpu` runs.
    ///
    /// # Errors
    /// [`KernelError::Unsupported`] where it runs neither.
    pub fn packed(cpu: CpuFeatures) -> Result<Self, KernelError> {
        Isa::ALL
            .into_iter()
            .find(|&isa| cpu.runs(isa))
            .map(|isa| Kernel(Choice::Packed(isa)))
            .ok_or_else(|| KernelError::Unsupported {
                name: "packed".into(),
                needs: "AVX-512F, or AVX2 and FMA, on x86-64".into(),
                has: cpu.summary(),
            })
    }

    /// The packed kernel on `isa`.
    ///
    /// # Errors
    /// [`KernelError::Unsupported`] where `cpu` does not run it.
    pub fn packed_on(isa: Isa, cpu: CpuFeatures) -> Result<Self, KernelError> {
        if cpu.runs(isa) {
            Ok(Kernel(Choice::Packed(isa)))
        } else {
            Err(KernelError::Unsupported {
                name: Kernel(Choice::Packed(isa)).to_string(),
                needs: format!("{}, on x86-64", isa.needs()),
                has: cpu.summary(),
            })
        }
    }

    /// The packed kernel's instruction set, `None` for OpenBLAS.
    pub fn isa(self) -> Option<Isa> {
        match self.0 {
            Choice::OpenBlas => None,
            Choice::Packed(isa) => Some(isa),
        }
    }

    /// The instruction set `T`'s products run on here, `None` where BLAS runs them.
    ///
    /// # Panics
    /// If this kernel was made from features this CPU lacks (a [`CpuFeatures`] built by
    /// hand): running it would execute instructions the CPU does not have.
    pub(crate) fn packed_isa_for<T: Scalar>(self) -> Option<Isa> {
        let isa = self.isa().filter(|_| T::PACKED)?;
        assert!(
            CpuFeatures::detect().runs(isa),
            "the GEMM kernel {self} was made for a CPU with {}, which this one lacks",
            isa.needs()
        );
        Some(isa)
    }

    /// Whether `T`'s products give every output the same bits however a product's columns
    /// are cut into separate calls: true where the packed kernel runs them (each output
    /// one FMA chain in `k` order), false under BLAS, whose kernels round a column block
    /// differently from the whole product.
    pub fn ignores_blocking<T: Scalar>(self) -> bool {
        T::PACKED && self.isa().is_some()
    }

    /// What runs the products, for records of how a result was made: OpenBLAS's kernel
    /// family (as [`blas_info`](crate::blas_info)), or the packed kernel for f32 beside it,
    /// with its instruction set.
    pub fn describe(self) -> String {
        let core = crate::blas_info().core;
        match self.0 {
            Choice::OpenBlas => core,
            Choice::Packed(isa) => {
                format!(
                    "initlab-gemm packed {} for f32, OpenBLAS {core} for f64",
                    isa.name()
                )
            }
        }
    }

    /// `C <- alpha * op(A) * op(B) + beta * C` on this kernel, as [`gemm`](crate::gemm).
    ///
    /// # Errors
    /// As [`gemm`](crate::gemm).
    #[allow(clippy::too_many_arguments)]
    pub fn gemm<T: Scalar>(
        self,
        alpha: T,
        a: ArrayView2<'_, T>,
        op_a: Op,
        b: ArrayView2<'_, T>,
        op_b: Op,
        beta: T,
        c: ArrayViewMut2<'_, T>,
    ) -> Result<(), ShapeError> {
        crate::gemm::gemm_on(self, alpha, a, op_a, b, op_b, beta, c)
    }

    /// `out <- x * w^T + b` on this kernel, as [`affine`](crate::affine).
    ///
    /// # Errors
    /// As [`affine`](crate::affine).
    pub fn affine<T: Scalar>(
        self,
        x: ArrayView2<'_, T>,
        w: ArrayView2<'_, T>,
        b: ArrayView1<'_, T>,
        out: ArrayViewMut2<'_, T>,
    ) -> Result<(), ShapeError> {
        crate::affine::affine_on(self, x, w, b, out)
    }

    /// [`affine`](Self::affine)'s backward pass on this kernel, as
    /// [`affine_backward`](crate::affine_backward).
    ///
    /// # Errors
    /// As [`affine_backward`](crate::affine_backward).
    pub fn affine_backward<T: Scalar>(
        self,
        dy: ArrayView2<'_, T>,
        x: ArrayView2<'_, T>,
        w: ArrayView2<'_, T>,
        grads: AffineGrads<'_, T>,
    ) -> Result<(), ShapeError> {
        crate::affine::affine_backward_on(self, dy, x, w, grads)
    }
}

impl fmt::Display for Kernel {
    /// The name [`Kernel::parse`] takes back: `openblas`, `packed-avx512` or `packed-avx2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Choice::OpenBlas => "openblas",
            Choice::Packed(Isa::Avx512) => "packed-avx512",
            Choice::Packed(Isa::Avx2) => "packed-avx2",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD_X86: CpuFeatures = CpuFeatures {
        x86_64: true,
        avx512f: false,
        avx2: false,
        fma: false,
    };
    const AVX2_ONLY: CpuFeatures = CpuFeatures {
        avx2: true,
        fma: true,
        ..OLD_X86
    };

    #[test]
    fn names_parse_in_any_case_and_print_back() {
        let all = CpuFeatures {
            avx512f: true,
            ..AVX2_ONLY
        };
        assert_eq!(Kernel::parse("OpenBLAS", OLD_X86), Ok(Kernel::OPENBLAS));
        assert_eq!(Kernel::default(), Kernel::OPENBLAS);
        for (name, printed) in [
            ("packed", "packed-avx512"),
            ("Packed-AVX512", "packed-avx512"),
            ("packed-avx2", "packed-avx2"),
            ("openblas", "openblas"),
        ] {
            let kernel = Kernel::parse(name, all).unwrap();
            assert_eq!(kernel.to_string(), printed);
            assert_eq!(Kernel::parse(printed, all), Ok(kernel));
        }
        assert_eq!(
            Kernel::parse("packed", AVX2_ONLY).unwrap().isa(),
            Some(Isa::Avx2)
        );
    }

    #[test]
    fn an_unknown_name_is_an_error_not_a_fallback() {
        let error = Kernel::parse("mkl", AVX2_ONLY).unwrap_err();
        assert_eq!(error, KernelError::Unknown { name: "mkl".into() });
        assert_eq!(
            error.to_string(),
            "unknown GEMM kernel \"mkl\": expected one of openblas, packed, packed-avx512, \
             packed-avx2"
        );
    }

    #[test]
    fn a_cpu_without_the_instructions_is_told_what_is_missing() {
        assert_eq!(
            Kernel::parse("packed", OLD_X86).unwrap_err().to_string(),
            "the GEMM kernel packed needs AVX-512F, or AVX2 and FMA, on x86-64, and this CPU \
             has none of AVX-512F, AVX2 and FMA; `openblas` runs anywhere"
        );
        assert_eq!(
            Kernel::parse("packed-avx512", AVX2_ONLY)
                .unwrap_err()
                .to_string(),
            "the GEMM kernel packed-avx512 needs AVX-512F, on x86-64, and this CPU has only \
             AVX2, FMA; `openblas` runs anywhere"
        );
        let avx2_without_fma = CpuFeatures {
            fma: false,
            ..AVX2_ONLY
        };
        assert!(Kernel::parse("packed-avx2", avx2_without_fma).is_err());
        let arm = CpuFeatures::default();
        assert!(
            Kernel::parse("packed", arm)
                .unwrap_err()
                .to_string()
                .contains("this CPU is not x86-64")
        );
        assert_eq!(Kernel::parse("openblas", arm), Ok(Kernel::OPENBLAS));
    }

    #[test]
    fn only_f32_products_on_a_packed_kernel_ignore_blocking() {
        assert!(!Kernel::OPENBLAS.ignores_blocking::<f32>());
        if let Ok(packed) = Kernel::packed(CpuFeatures::detect()) {
            assert!(packed.ignores_blocking::<f32>());
            assert!(!packed.ignores_blocking::<f64>());
        }
    }
}
