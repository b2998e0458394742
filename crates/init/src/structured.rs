//! Deterministic structured initializations: the identity matrix and the Dirac kernel.

use ndarray::{ArrayViewMutD, IxDyn};

use crate::{Element, InitError};

/// `gain` on the diagonal of a 2-D tensor, zeros elsewhere.
pub(crate) fn identity<T: Element>(
    tensor: &mut ArrayViewMutD<'_, T>,
    gain: f64,
) -> Result<(), InitError> {
    if tensor.ndim() != 2 {
        return Err(InitError::Rank {
            strategy: "identity",
            expected: "2",
            shape: tensor.shape().to_vec(),
        });
    }
    tensor.fill(T::zero());
    let diagonal = tensor.shape()[0].min(tensor.shape()[1]);
    for i in 0..diagonal {
        tensor[IxDyn(&[i, i])] = T::from_f64_rounded(gain);
    }
    Ok(())
}

/// The Dirac delta of a convolution weight `[out, in / groups, k...]`: within each group,
/// output channel `d` copies input channel `d` at the kernel's center (PyTorch's
/// `dirac_`).
pub(crate) fn dirac<T: Element>(
    tensor: &mut ArrayViewMutD<'_, T>,
    groups: usize,
) -> Result<(), InitError> {
    let shape = tensor.shape().to_vec();
    if shape.len() < 3 {
        return Err(InitError::Rank {
            strategy: "dirac",
            expected: ">= 3 (a convolution weight [out, in / groups, k...])",
            shape,
        });
    }
    if !shape[0].is_multiple_of(groups) {
        return Err(InitError::Parameter {
            strategy: "dirac",
            parameter: "groups",
            value: groups as f64,
            allowed: format!("a divisor of the {} output channels", shape[0]),
        });
    }
    tensor.fill(T::zero());
    let per_group = shape[0] / groups;
    let mut index: Vec<usize> = shape.iter().map(|&k| k / 2).collect();
    for group in 0..groups {
        for d in 0..per_group.min(shape[1]) {
            index[0] = group * per_group + d;
            index[1] = d;
            tensor[IxDyn(&index)] = T::one();
        }
    }
    Ok(())
}
