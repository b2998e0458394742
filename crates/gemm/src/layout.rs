//! How an ndarray view maps onto a row-major BLAS operand without copying.

use ndarray::ArrayView2;

/// A view's memory described the way CBLAS reads it (row-major, leading dimension `ld`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Distance in elements between consecutive rows of the stored matrix.
    pub(crate) ld: usize,
    /// The view is the transpose of the stored row-major matrix (an F-order view).
    pub(crate) transposed: bool,
}

impl Layout {
    /// The layout of a `rows x cols` view with the given strides, or `None` when BLAS
    /// cannot read it in place (negative, zero or doubly non-unit strides).
    ///
    /// Axes of length 0 or 1 have meaningless strides, so they never force a copy.
    pub(crate) fn of(shape: (usize, usize), strides: (isize, isize)) -> Option<Self> {
        Self::unchecked_of(shape, strides).filter(|layout| layout.ld <= i32::MAX as usize)
    }

    fn unchecked_of(shape: (usize, usize), strides: (isize, isize)) -> Option<Self> {
        let (rows, cols) = shape;
        let (row_stride, col_stride) = strides;
        if cols <= 1 || col_stride == 1 {
            if rows <= 1 {
                return Some(Self::row_major(cols.max(1)));
            }
            if row_stride >= cols.max(1) as isize {
                return Some(Self::row_major(row_stride as usize));
            }
        }
        if (rows <= 1 || row_stride == 1) && col_stride >= rows.max(1) as isize {
            return Some(Self {
                ld: col_stride as usize,
                transposed: true,
            });
        }
        None
    }

    /// The layout of a 2-D view, see [`Layout::of`].
    pub(crate) fn of_view<T>(view: &ArrayView2<'_, T>) -> Option<Self> {
        let strides = view.strides();
        Self::of(view.dim(), (strides[0], strides[1]))
    }

    fn row_major(ld: usize) -> Self {
        Self {
            ld,
            transposed: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Layout;

    #[test]
    fn c_order_is_row_major_with_row_stride() {
        assert_eq!(
            Layout::of((3, 4), (4, 1)),
            Some(Layout {
                ld: 4,
                transposed: false
            })
        );
    }

    #[test]
    fn f_order_is_a_transposed_row_major_matrix() {
        assert_eq!(
            Layout::of((3, 4), (1, 3)),
            Some(Layout {
                ld: 3,
                transposed: true
            })
        );
    }

    #[test]
    fn sliced_rows_keep_the_parent_stride() {
        assert_eq!(
            Layout::of((3, 2), (10, 1)),
            Some(Layout {
                ld: 10,
                transposed: false
            })
        );
    }

    #[test]
    fn unusable_strides_ask_for_a_copy() {
        assert_eq!(Layout::of((3, 4), (8, 2)), None);
        assert_eq!(Layout::of((3, 4), (-4, 1)), None);
        assert_eq!(Layout::of((3, 4), (0, 1)), None);
        assert_eq!(Layout::of((3, 4), (2, 1)), None, "overlapping rows");
        assert_eq!(Layout::of((3, 4), (1 << 40, 1)), None, "stride beyond i32");
    }

    #[test]
    fn degenerate_axes_never_force_a_copy() {
        assert!(Layout::of((1, 5), (0, 1)).is_some());
        assert!(Layout::of((5, 1), (1, 0)).is_some());
        assert!(Layout::of((1, 1), (0, 0)).is_some());
        assert!(Layout::of((0, 4), (4, 1)).is_some());
    }
}
