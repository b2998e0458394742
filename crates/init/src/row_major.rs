//! Strategies fill tensors in logical row-major order, whatever their memory layout.

use ndarray::ArrayViewMutD;

use crate::InitError;

/// Runs `fill` on the tensor's elements as one row-major slice: in place for a C-order
/// tensor, through a temporary copy otherwise, so the values never depend on the layout.
pub(crate) fn with_row_major<T: Copy>(
    tensor: &mut ArrayViewMutD<'_, T>,
    fill: impl FnOnce(&mut [T]) -> Result<(), InitError>,
) -> Result<(), InitError> {
    if let Some(values) = tensor.as_slice_mut() {
        return fill(values);
    }
    let mut values: Vec<T> = tensor.iter().copied().collect();
    fill(&mut values)?;
    for (slot, value) in tensor.iter_mut().zip(values) {
        *slot = value;
    }
    Ok(())
}
