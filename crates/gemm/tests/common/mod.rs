//! Shared helpers for initlab-gemm's tests: operands in every memory layout and a naive
//! reference product in f64.

#![allow(dead_code, unreachable_pub)]

use initlab_gemm::{Op, Scalar};
use ndarray::{Array2, ArrayView2, ShapeBuilder, s};

/// Ways a logical `rows x cols` matrix can sit in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Memory {
    /// Row-major, contiguous.
    COrder,
    /// Column-major, contiguous (what `.t()` of a C-order array looks like).
    FOrder,
    /// A window of a larger C-order array: unit column stride, longer row stride.
    RowSlice,
    /// A window of a larger F-order array: unit row stride, longer column stride.
    ColSlice,
    /// Every other row and column: no unit stride, BLAS cannot read it in place.
    Strided,
    /// Rows in reverse order: a negative stride.
    Reversed,
}

pub const ALL_MEMORY: [Memory; 6] = [
    Memory::COrder,
    Memory::FOrder,
    Memory::RowSlice,
    Memory::ColSlice,
    Memory::Strided,
    Memory::Reversed,
];

/// Owns the storage behind a view of a given [`Memory`] layout.
#[derive(Debug)]
pub struct Placed<T> {
    storage: Array2<T>,
    memory: Memory,
    shape: (usize, usize),
}

impl<T: Scalar> Placed<T> {
    /// Stores `values` (logical row-major order) with the given memory layout; the gaps of
    /// sliced layouts hold `filler`.
    pub fn new(values: &Array2<T>, memory: Memory, filler: T) -> Self {
        let (r, c) = values.dim();
        let storage = match memory {
            Memory::COrder => values.to_owned(),
            Memory::FOrder => {
                let mut f = Array2::from_elem((r, c).f(), filler);
                f.assign(values);
                f
            }
            Memory::RowSlice => {
                let mut big = Array2::from_elem((r + 3, c + 5), filler);
                big.slice_mut(s![1..1 + r, 2..2 + c]).assign(values);
                big
            }
            Memory::ColSlice => {
                let mut big = Array2::from_elem((r + 4, c + 2).f(), filler);
                big.slice_mut(s![3..3 + r, 1..1 + c]).assign(values);
                big
            }
            Memory::Strided => {
                let mut big = Array2::from_elem((2 * r + 1, 2 * c + 1), filler);
                big.slice_mut(s![..;2, ..;2])
                    .slice_mut(s![..r, ..c])
                    .assign(values);
                big
            }
            Memory::Reversed => {
                let mut rev = Array2::from_elem((r, c), filler);
                rev.slice_mut(s![..;-1, ..]).assign(values);
                rev
            }
        };
        Self {
            storage,
            memory,
            shape: (r, c),
        }
    }

    pub fn view(&self) -> ArrayView2<'_, T> {
        let (r, c) = self.shape;
        match self.memory {
            Memory::COrder | Memory::FOrder => self.storage.view(),
            Memory::RowSlice => self.storage.slice(s![1..1 + r, 2..2 + c]),
            Memory::ColSlice => self.storage.slice(s![3..3 + r, 1..1 + c]),
            Memory::Strided => self.storage.slice(s![..;2, ..;2]).slice_move(s![..r, ..c]),
            Memory::Reversed => self.storage.slice(s![..;-1, ..]),
        }
    }

    pub fn view_mut(&mut self) -> ndarray::ArrayViewMut2<'_, T> {
        let (r, c) = self.shape;
        match self.memory {
            Memory::COrder | Memory::FOrder => self.storage.view_mut(),
            Memory::RowSlice => self.storage.slice_mut(s![1..1 + r, 2..2 + c]),
            Memory::ColSlice => self.storage.slice_mut(s![3..3 + r, 1..1 + c]),
            Memory::Strided => self
                .storage
                .slice_mut(s![..;2, ..;2])
                .slice_move(s![..r, ..c]),
            Memory::Reversed => self.storage.slice_mut(s![..;-1, ..]),
        }
    }

    /// The whole backing storage, to check that gaps were left untouched.
    pub fn storage(&self) -> &Array2<T> {
        &self.storage
    }
}

/// Whole numbers in [-4, 4], different for every seed: products and sums of these stay
/// exact in f32 for the sizes tested, so results can be compared with `==`.
pub fn whole<T: Scalar>((rows, cols): (usize, usize), seed: usize) -> Array2<T> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        let v = (i * 7 + j * 13 + seed * 5 + (i * j) % 3) % 9;
        T::from_usize(v).unwrap() - T::from_f64(4.0).unwrap()
    })
}

/// Uniform values in [-1, 1) from a fixed-seed xorshift generator.
pub fn uniform<T: Scalar>((rows, cols): (usize, usize), seed: u64) -> Array2<T> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Array2::from_shape_simple_fn((rows, cols), || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        T::from_f64((state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0).unwrap()
    })
}

/// The stored shape that gives a logical `op(X)` of `rows x cols`.
pub fn stored(op: Op, (rows, cols): (usize, usize)) -> (usize, usize) {
    op.apply((rows, cols))
}

/// `op(X)` as an owned f64 matrix.
pub fn apply_op<T: Scalar>(x: ArrayView2<'_, T>, op: Op) -> Array2<f64> {
    let x = x.mapv(|v| v.to_f64().unwrap());
    match op {
        Op::Identity => x,
        Op::Transpose => x.reversed_axes(),
    }
}

/// `alpha * op(A) * op(B) + beta * C0` by the textbook triple loop, in f64, together with
/// `sum_p |op(A)[i, p] * op(B)[p, j]|` for rounding-error bounds.
pub fn reference<T: Scalar>(
    alpha: f64,
    a: ArrayView2<'_, T>,
    op_a: Op,
    b: ArrayView2<'_, T>,
    op_b: Op,
    beta: f64,
    c0: Option<ArrayView2<'_, T>>,
) -> (Array2<f64>, Array2<f64>) {
    let (a, b) = (apply_op(a, op_a), apply_op(b, op_b));
    let (m, k) = a.dim();
    let n = b.ncols();
    let mut exact = Array2::zeros((m, n));
    let mut magnitude = Array2::zeros((m, n));
    for i in 0..m {
        for j in 0..n {
            let (mut sum, mut abs) = (0.0, 0.0);
            for p in 0..k {
                sum += a[[i, p]] * b[[p, j]];
                abs += (a[[i, p]] * b[[p, j]]).abs();
            }
            let base = c0.map_or(0.0, |c| beta * c[[i, j]].to_f64().unwrap());
            exact[[i, j]] = alpha * sum + base;
            magnitude[[i, j]] = alpha.abs() * abs + base.abs();
        }
    }
    (exact, magnitude)
}
